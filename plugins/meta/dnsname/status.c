// SPDX-License-Identifier: Apache-2.0
/*
 * "dnsname status [--json] [--run-dir DIR]": the daemon's per-network counters (records,
 * queries, forwarded, cache hits, upstream errors, forwarded latency percentiles) asked on its
 * control socket and printed as it renders them (text, or JSON with --json). Exit 0, 1 when no
 * daemon answers (or one of a build without "status"), 2 for a usage error.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dnsname.h"

#define STATUS_MAX (4u << 20)

int dn_status_main(int argc, char **argv)
{
	const char *run_dir = dn_run_dir_default();
	bool json = false;
	char *reply;
	int r;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json")) {
			json = true;
		} else if (!strcmp(argv[i], "--run-dir") && i + 1 < argc) {
			run_dir = argv[++i];
		} else {
			fprintf(stderr, "usage: dnsname status [--json] [--run-dir DIR]\n");
			return 2;
		}
	}
	reply = malloc(STATUS_MAX);
	if (!reply) {
		fprintf(stderr, "dnsname status: out of memory\n");
		return 1;
	}
	r = dn_ctl(run_dir, json ? "status json" : "status", reply, STATUS_MAX, 5000);
	if (r) {
		fprintf(stderr, "dnsname status: no daemon answers on %s/dnsname.sock: %s\n", run_dir,
			strerror(-r));
		free(reply);
		return 1;
	}
	if (!strncmp(reply, "err ", 4)) {
		fprintf(stderr, "dnsname status: the daemon says: %s\n", reply + 4);
		free(reply);
		return 1;
	}
	fputs(reply, stdout);
	free(reply);
	return 0;
}
