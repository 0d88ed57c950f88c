// SPDX-License-Identifier: Apache-2.0
/*
 * The main() of every plugin: the dispatcher over the table the plugin names cni_main_plugin.
 * It is a member of libcni.a of its own, so the linker takes it only where main() is undefined:
 * a plugin with more than one life (dnsname's and dhcp's "daemon" argument) or whose table other
 * binaries link too (host-local, static) writes its own main() and calls cni_main() from it;
 * the tests, with their own main(), never pull it in.
 */
#include "cni/cni.h"

int main(int argc, char **argv)
{
	return cni_main(&cni_main_plugin, argc, argv);
}
