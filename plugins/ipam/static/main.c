// SPDX-License-Identifier: Apache-2.0
/*
 * The static executable. The plugin (static.c) is also linked into the main plugins, which run it
 * in-process when CNI_PATH's static is this same build.
 */
#include "cni/cni.h"

int main(int argc, char **argv)
{
	return cni_main(&cni_static_plugin, argc, argv);
}
