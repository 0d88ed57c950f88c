// SPDX-License-Identifier: Apache-2.0
/*
 * cnic-run: the smallest container runtime's network side on libcnic-runtime, as a C runtime
 * would write it. It attaches a container to a network, checks the attachment, prints the
 * result and the container's addresses (read from it as C structs), and detaches it again:
 *
 *   cnic-run <config-dir> <network> <netns-path> <container-id> [ifname]
 *
 * Plugins are looked for in CNI_PATH, the result cache is CNI_CACHE_DIR (default
 * /var/lib/cni). Build it against an installed library:
 *
 *   cc -o cnic-run cnic-run.c $(pkg-config --cflags --libs --static cnic-runtime)
 */
#include <stdio.h>
#include <stdlib.h>

#include <cnic-runtime.h>

static int failed(const char *what, const struct cnr_err *e)
{
	fprintf(stderr, "cnic-run: %s: %s", what, e->msg);
	if (e->plugin_index >= 0)
		fprintf(stderr, " (plugin %d, type %s, code %d)", e->plugin_index, e->plugin, e->code);
	fputc('\n', stderr);
	return 1;
}

int main(int argc, char **argv)
{
	struct cnr_err e = { .plugin_index = -1 };
	struct cnr_list *net = NULL;
	char *result = NULL;
	int rc = 1;

	if (argc < 5 || argc > 6) {
		fprintf(stderr, "usage: %s <config-dir> <network> <netns-path> <container-id> [ifname]\n",
			argv[0]);
		return 2;
	}
	/* 1. the network, by name, from the configuration directory */
	if (cnr_load_dir(argv[1], argv[2], &net, &e) < 0)
		return failed("load", &e);
	printf("network %s (cniVersion %s, %zu plugins) from %s\n", cnr_list_name(net),
	       cnr_list_version(net), cnr_list_plugins(net), cnr_list_file(net));

	/* 2. the attachment */
	struct cnr_rt rt = {
		.container_id = argv[4],
		.netns = argv[3],
		.ifname = argc > 5 ? argv[5] : "eth0",
		.path = getenv("CNI_PATH"),
		.cache_dir = getenv("CNI_CACHE_DIR"),
	};

	/* 3. ADD, CHECK, DEL: a failed ADD is undone with DEL, as a runtime must */
	if (cnr_add(net, &rt, &result, &e) < 0) {
		struct cnr_err de = { .plugin_index = -1 };

		failed("add", &e);
		if (cnr_del(net, &rt, &de) < 0)
			failed("del after a failed add", &de);
		goto out;
	}
	printf("result: %s\n", result);
	/* 4. the result as structs: the container's addresses (those on an interface inside its
	 * netns, or every address when the result does not say which interface holds it) */
	struct cnr_result *res;

	if (cnr_result_parse(result, &res, &e) < 0) {
		failed("result", &e);
		goto undo;
	}
	for (size_t i = 0; i < res->n_ips; i++) {
		const struct cnr_ip *ip = &res->ips[i];
		const struct cnr_interface *f = ip->interface >= 0 ? &res->interfaces[ip->interface] : NULL;

		if (f && !f->sandbox)
			continue; /* a host-side address */
		printf("address: %s on %s", ip->address.text, f ? (f->name ? f->name : "?") : rt.ifname);
		if (ip->gateway.family)
			printf(" gateway %s", ip->gateway.text);
		printf("\n");
	}
	cnr_result_free(res);
	if (cnr_check(net, &rt, &e) < 0) {
		failed("check", &e);
		goto undo;
	}
	printf("check: ok\n");
	if (cnr_del(net, &rt, &e) < 0) {
		failed("del", &e);
		goto out;
	}
	printf("del: ok\n");
	rc = 0;
	goto out;
undo: /* the attachment made: a runtime that gives up on it still deletes it */
	if (cnr_del(net, &rt, &e) < 0)
		failed("del after a failure", &e);
out:
	free(result);
	cnr_list_free(net);
	return rc;
}
