// SPDX-License-Identifier: Apache-2.0
/*
 * Delegation (pkg/cni/delegate.c) against real executables: the static plugin from the build and
 * small shell stand-ins for misbehaving plugins. No root needed: the child gets
 * CNI_NETNS_OVERRIDE=1 so our own netns is acceptable to it.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cni/cni.h"
#include "tap.h"

static char tmp[] = "/tmp/cnic-deleg.XXXXXX";

static void script(const char *name, const char *body)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmp, name);
	f = fopen(path, "w");
	fprintf(f, "#!/bin/sh\n%s\n", body);
	fclose(f);
	chmod(path, 0755);
}

int main(void)
{
	const char *build = getenv("BUILD") ? getenv("BUILD") : "build";
	struct cni_ctx ctx = {0};
	struct cni_result *res = NULL;
	struct cni_err e = {0};
	char path[512], *big;
	const char *conf = "{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"ipam\":{\"type\":\"static\","
			   "\"addresses\":[{\"address\":\"10.9.0.3/24\",\"gateway\":\"10.9.0.1\"}]}}";
	int r;

	if (!mkdtemp(tmp)) {
		TAP_FAIL("mkdtemp", "%s", strerror(errno));
		return tap_done();
	}
	snprintf(path, sizeof(path), "%s:%s/bin", tmp, build);
	ctx.env.path = path;
	setenv("CNI_CONTAINERID", "c1", 1);
	setenv("CNI_NETNS", "/proc/self/ns/net", 1);
	setenv("CNI_IFNAME", "eth0", 1);
	setenv("CNI_PATH", path, 1);
	setenv("CNI_NETNS_OVERRIDE", "1", 1);
	setenv("CNI_COMMAND", "DEL", 1); /* must be replaced for the child */

	ctx.stdin_buf = conf;
	ctx.stdin_len = strlen(conf);
	ctx.net.ipam_type = "static";
	r = cni_ipam_add(&ctx, &res, &e);
	CHECK(r == 0 && res && res->n_ips == 1);
	CHECK(ctx.ipam_added);
	if (res && res->n_ips) {
		char b[CNI_PREFIX_STRLEN];

		CHECK_STR(cni_prefix_str(&res->ips[0].address, b), "10.9.0.3/24");
	}
	CHECK(cni_ipam_del(&ctx, &e) == 0 && !ctx.ipam_added);

	/* The delegate's own error object comes back with its code. */
	r = cni_delegate(&ctx, "static", CNI_CMD_ADD,
			 "{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"ipam\":{\"type\":\"static\","
			 "\"addresses\":[{\"address\":\"10.9.0.3\"}]}}",
			 &res, &e);
	CHECK(r < 0 && e.code == CNI_ERR_INVALID_CONFIG && strstr(e.msg, "10.9.0.3"));

	cni_err_clear(&e);
	r = cni_delegate(&ctx, "../bin/static", CNI_CMD_ADD, NULL, &res, &e);
	CHECK(r == -EINVAL && strstr(e.msg, "path separator"));
	cni_err_clear(&e);
	r = cni_delegate(&ctx, "no-such-plugin", CNI_CMD_ADD, NULL, &res, &e);
	CHECK(r == -ENOENT && strstr(e.msg, "failed to find plugin \"no-such-plugin\""));
	cni_err_clear(&e);
	r = cni_delegate(&ctx, "", CNI_CMD_ADD, NULL, &res, &e);
	CHECK(r < 0 && strstr(e.msg, "no plugin name"));

	/* A delegate that dies without output, one that reports the command it saw. */
	script("dies", "cat >/dev/null; exit 3");
	cni_err_clear(&e);
	r = cni_delegate(&ctx, "dies", CNI_CMD_ADD, NULL, &res, &e);
	CHECK(r < 0 && e.code == CNI_ERR_INTERNAL && strstr(e.msg, "exit status 3"));
	script("echocmd", "cat >/dev/null; printf '{\"code\":111,\"msg\":\"%s\",\"details\":\"d\"}' "
			  "\"$CNI_COMMAND\"; exit 1");
	cni_err_clear(&e);
	r = cni_delegate(&ctx, "echocmd", CNI_CMD_CHECK, NULL, NULL, &e);
	CHECK(r < 0 && e.code == 111 && !strcmp(e.msg, "CHECK") && !strcmp(e.details, "d"));
	/* A delegate that does not read its stdin at all must not block us on a large config. */
	script("noread", "exit 0");
	big = cni_alloc(1 << 20);
	memset(big, ' ', (1 << 20) - 1);
	memcpy(big, "{\"a\":1}", 7);
	cni_err_clear(&e);
	r = cni_delegate(&ctx, "noread", CNI_CMD_DEL, big, NULL, &e);
	CHECK(r == 0);
	/* A large config is passed whole to a delegate that does read it. */
	script("count", "n=$(wc -c); [ \"$n\" = 1048575 ] || { printf '{\"code\":100,\"msg\":\"%s\"}' "
			"\"$n\"; exit 1; }");
	cni_err_clear(&e);
	r = cni_delegate(&ctx, "count", CNI_CMD_DEL, big, NULL, &e);
	CHECK(r == 0);
	/* A result that is not JSON is an error naming the plugin. */
	script("garbage", "cat >/dev/null; echo 'not json'");
	cni_err_clear(&e);
	r = cni_delegate(&ctx, "garbage", CNI_CMD_ADD, NULL, &res, &e);
	CHECK(r < 0 && strstr(e.msg, "garbage"));

	snprintf(path, sizeof(path), "rm -rf %s", tmp);
	if (system(path))
		TAP_FAIL("cleanup", "rm failed");
	cni_arena_release();
	return tap_done();
}
