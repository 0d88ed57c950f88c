// SPDX-License-Identifier: Apache-2.0
/*
 * The dhcp executable: `dhcp daemon [flags]` runs the long-lived DHCP client daemon (daemon.c),
 * anything else is the CNI IPAM plugin (plugin.c) that forwards each verb to that daemon.
 */
#include <string.h>

#include "cni/cni.h"
#include "dhcp.h"

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "daemon"))
		return dhcp_daemon_main(argc - 1, argv + 1);
	return cni_main(&dhcp_cni_plugin, argc, argv);
}
