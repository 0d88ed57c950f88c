// SPDX-License-Identifier: Apache-2.0
/*
 * The host-local executable. The plugin itself (plugin.c, store.c, alloc.c) is also linked into
 * the main plugins, which run it in-process when CNI_PATH's host-local is this same build.
 */
#include "cni/cni.h"

int main(int argc, char **argv)
{
	return cni_main(&cni_hostlocal_plugin, argc, argv);
}
