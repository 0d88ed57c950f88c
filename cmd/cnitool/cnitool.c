// SPDX-License-Identifier: Apache-2.0
/*
 * cnitool: run a network configuration by hand, upstream's command line on libcnic-runtime.
 *   cnitool add|check|del <network> <netns-path>
 *   cnitool gc|status <network>
 *   cnitool version <network>     (not upstream: each plugin's supported spec versions)
 *   cnitool validate <network>    (not upstream: libcni's ValidateNetworkList)
 *   cnitool ls                    (not upstream: the networks of NETCONFPATH, bad files named)
 *   cnitool --version             (this build: release, commit, spec versions)
 * Environment as upstream: NETCONFPATH (default /etc/cni/net.d), CNI_PATH, CNI_IFNAME (default
 * eth0), CNI_ARGS ("K=V;K=V"), CAP_ARGS (a JSON object). The container id is upstream's:
 * "cnitool-" and the first 10 bytes, in hex, of the SHA-512 of the absolute netns path.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cni/about.h" /* cni_print_version(): every binary's --version */
#include "runtime/cnic-runtime.h"

#define MAX_ARGS 64

static void usage(FILE *f, const char *exe)
{
	fprintf(f,
		"%s: Add, check, or remove network interfaces from a network namespace\n"
		"  %s add    <net> <netns>\n"
		"  %s check  <net> <netns>\n"
		"  %s del    <net> <netns>\n"
		"  %s gc     <net>    (DEL every cached attachment of <net>, then GC its plugins)\n"
		"  %s status <net>\n"
		"  %s version <net>   (each plugin of <net>: the spec versions it supports)\n"
		"  %s validate <net>  (every plugin of <net> found and supporting its cniVersion, as\n"
		"                         libcni's ValidateNetworkList; prints the capabilities, one a line)\n"
		"  %s ls              (the networks of NETCONFPATH: name, cniVersion, plugins, file;\n"
		"                         files that do not load, with their error)\n"
		"  %s --version       (cnitool's release, commit, build date and CNI spec versions)\n"
		"  %s -h | --help\n"
		"Environment: NETCONFPATH (default /etc/cni/net.d), CNI_PATH, CNI_IFNAME (default eth0),\n"
		"CNI_ARGS (K=V;K=V), CAP_ARGS (JSON object), CNITOOL_TIMEOUT (seconds per plugin, 60),\n"
		"CNITOOL_CACHE_DIR (default /var/lib/cni).\n",
		exe, exe, exe, exe, exe, exe, exe, exe, exe, exe, exe);
}

/* @e's message; a failure that left none (out of memory on the way) is named by @r, -errno */
static int fail(const struct cnr_err *e, int r)
{
	if (!e->msg[0])
		fprintf(stderr, "cnitool: %s\n", strerror(r < 0 ? -r : ENOMEM));
	else if (e->code > 0 && e->code < 1000)
		fprintf(stderr, "cnitool: %s (CNI error code %d)\n", e->msg, e->code);
	else
		fprintf(stderr, "cnitool: %s\n", e->msg);
	if (e->details[0])
		fprintf(stderr, "cnitool: details: %s\n", e->details);
	return 1;
}

/*
 * What was printed reached stdout, or exit 1 naming why: an add whose result could not be written
 * is done but unknown to its caller, who has to DEL it (or retry).
 */
static int flush_out(int rc)
{
	if (fflush(stdout) == EOF || ferror(stdout)) {
		fprintf(stderr, "cnitool: writing to stdout: %s\n", strerror(errno));
		return 1;
	}
	return rc;
}

/*
 * ls: one line per network file in libcni's order of precedence, "NAME VERSION PLUGINS FILE" in
 * columns (PLUGINS: each plugin's type, comma-separated); a file whose network an earlier file
 * defines is marked "(shadowed by FILE)"; then each file that does not load: "error: MSG" (the
 * message names the file). Exits 0 when the directory could be read, bad files or not.
 */
static int list_networks(const char *dir)
{
	struct cnr_err e = { .plugin_index = -1 };
	struct cnr_dir_entry *v;
	size_t n, wname = 4, wver = 7, wpl = 7;
	char **pl;
	int r = cnr_scan_dir(dir, &v, &n, &e);

	if (r < 0)
		return fail(&e, r);
	if (!(pl = calloc(n + 1, sizeof(*pl))))
		return fail(&e, -ENOMEM);
	for (size_t i = 0; i < n; i++) {
		size_t len = 0, k;

		if (!v[i].list)
			continue;
		for (k = 0; k < cnr_list_plugins(v[i].list); k++)
			len += strlen(cnr_list_plugin_type(v[i].list, k)) + 1;
		if (!(pl[i] = calloc(1, len + 1)))
			break;
		for (k = 0; k < cnr_list_plugins(v[i].list); k++)
			strcat(strcat(pl[i], k ? "," : ""), cnr_list_plugin_type(v[i].list, k));
		wname = strlen(cnr_list_name(v[i].list)) > wname ? strlen(cnr_list_name(v[i].list)) : wname;
		wver = strlen(cnr_list_version(v[i].list)) > wver ? strlen(cnr_list_version(v[i].list)) : wver;
		wpl = strlen(pl[i]) > wpl ? strlen(pl[i]) : wpl;
	}
	if (!n)
		fprintf(stderr, "cnitool: no network configurations in %s\n", dir);
	else
		printf("%-*s  %-*s  %-*s  %s\n", (int)wname, "NAME", (int)wver, "VERSION", (int)wpl,
		       "PLUGINS", "FILE");
	for (size_t i = 0; i < n; i++) {
		if (!v[i].list)
			continue;
		printf("%-*s  %-*s  %-*s  %s", (int)wname, cnr_list_name(v[i].list), (int)wver,
		       cnr_list_version(v[i].list), (int)wpl, pl[i] ? pl[i] : "?", v[i].file);
		if (v[i].shadowed_by >= 0)
			printf(" (shadowed by %s)", v[v[i].shadowed_by].file);
		printf("\n");
	}
	for (size_t i = 0; i < n; i++)
		if (!v[i].list)
			printf("error: %s\n", v[i].err.msg);
	for (size_t i = 0; i < n; i++)
		free(pl[i]);
	free(pl);
	cnr_scan_free(v, n);
	return flush_out(0);
}

/* filepath.Abs: an absolute, lexically cleaned path (no symlinks resolved). */
static int abs_path(const char *p, char *out, size_t size)
{
	char tmp[PATH_MAX * 2], *seg, *save;
	size_t n = 0;

	if (p[0] == '/')
		snprintf(tmp, sizeof(tmp), "%s", p);
	else {
		char cwd[PATH_MAX];

		if (!getcwd(cwd, sizeof(cwd)))
			return -errno;
		snprintf(tmp, sizeof(tmp), "%s/%s", cwd, p);
	}
	out[0] = 0;
	for (seg = strtok_r(tmp, "/", &save); seg; seg = strtok_r(NULL, "/", &save)) {
		if (!strcmp(seg, "."))
			continue;
		if (!strcmp(seg, "..")) {
			char *s = strrchr(out, '/');

			n = s ? (size_t)(s - out) : 0;
			out[n] = 0;
			continue;
		}
		if (n + strlen(seg) + 2 > size)
			return -ENAMETOOLONG;
		n += (size_t)sprintf(out + n, "/%s", seg);
	}
	if (!n)
		snprintf(out, size, "/");
	return 0;
}

int main(int argc, char **argv)
{
	const char *exe = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
	const char *cmd = argc > 1 ? argv[1] : "", *dir = getenv("NETCONFPATH");
	const char *kv[2 * MAX_ARGS], *env[3] = { NULL };
	char netns[PATH_MAX] = "", cid[64] = "", *args_buf = NULL, *result = NULL;
	struct cnr_err e = { .plugin_index = -1 };
	struct cnr_list *l = NULL;
	struct cnr_rt rt = { 0 };
	int r, nargs = 0, nenv = 0;
	bool status = !strcmp(cmd, "status"), gc = !strcmp(cmd, "gc");
	bool version = !strcmp(cmd, "version"), validate = !strcmp(cmd, "validate");

	if (argc > 1 && (!strcmp(cmd, "-h") || !strcmp(cmd, "--help"))) {
		usage(stdout, exe);
		putchar('\n');
		return cni_print_version("cnitool", 0);
	}
	if (argc == 2 && !strcmp(cmd, "--version"))
		return cni_print_version("cnitool", 0);
	if (argc == 2 && !strcmp(cmd, "ls"))
		return list_networks(dir && *dir ? dir : "/etc/cni/net.d");
	if (((status || gc || version || validate) && argc != 3) ||
	    (!status && !gc && !version && !validate && (argc != 4 || (strcmp(cmd, "add") && strcmp(cmd, "check") &&
				       strcmp(cmd, "del"))))) {
		usage(stderr, exe);
		return 1;
	}
	if (!dir || !*dir)
		dir = "/etc/cni/net.d";
	r = cnr_load_dir(dir, argv[2], &l, &e);
	if (r < 0)
		return fail(&e, r);
	if (e.msg[0])
		fprintf(stderr, "cnitool: warning: %s\n", e.msg);

	rt.path = getenv("CNI_PATH");
	rt.cap_args = getenv("CAP_ARGS");
	rt.cache_dir = getenv("CNITOOL_CACHE_DIR");
	if (getenv("CNITOOL_TIMEOUT"))
		rt.timeout_ms = atoi(getenv("CNITOOL_TIMEOUT")) * 1000;
	/* What the plugins see of ours besides CNI_*: the system bus of the firewall plugin. */
	if (getenv("DBUS_SYSTEM_BUS_ADDRESS") &&
	    asprintf((char **)&env[nenv++], "DBUS_SYSTEM_BUS_ADDRESS=%s",
		     getenv("DBUS_SYSTEM_BUS_ADDRESS")) < 0)
		return fail(&e, -ENOMEM);
	rt.env = env;
	if (rt.cap_args && *rt.cap_args) {
		/* upstream unmarshals CAP_ARGS first: a bad one fails before any plugin runs */
		struct cnr_err ce = { 0 };
		char *probe = cnr_plugin_conf(l, 0, NULL, &rt, &ce);

		if (!probe)
			return fail(&ce, -ENOMEM);
		free(probe);
	}
	if (getenv("CNI_ARGS") && *getenv("CNI_ARGS")) {
		args_buf = strdup(getenv("CNI_ARGS"));
		if (!args_buf || (nargs = cnr_parse_cni_args(args_buf, kv, MAX_ARGS, &e)) < 0)
			return fail(&e, args_buf ? nargs : -ENOMEM);
		rt.args = kv;
		rt.nargs = (size_t)nargs;
	}
	rt.ifname = getenv("CNI_IFNAME") ? getenv("CNI_IFNAME") : "eth0";

	if (status) {
		r = cnr_status(l, &rt, &e);
		goto done;
	}
	if (version) {
		/* one line per plugin: its type and the JSON it answered */
		for (size_t i = 0; i < cnr_list_plugins(l); i++) {
			char *info = NULL;

			if ((r = cnr_version_info(l, i, &rt, &info, &e)) < 0)
				break;
			printf("%s: %s\n", cnr_list_plugin_type(l, i), info);
			free(info);
		}
		goto done;
	}
	if (validate) {
		char **caps = NULL;

		if ((r = cnr_validate(l, &rt, &caps, &e)) >= 0) {
			for (size_t i = 0; caps[i]; i++) {
				printf("%s\n", caps[i]);
				free(caps[i]);
			}
			free(caps);
		}
		goto done;
	}
	if (gc) {
		/* as upstream: no valid attachments known, every cached one of the network goes */
		r = cnr_gc(l, &rt, NULL, 0, &e);
		goto done;
	}
	if ((r = abs_path(argv[3], netns, sizeof(netns))) < 0) {
		fprintf(stderr, "cnitool: %s: %s\n", argv[3], strerror(-r));
		return 1;
	}
	cnr_cnitool_container_id(netns, cid, sizeof(cid));
	rt.container_id = cid;
	rt.netns = netns;
	if (!strcmp(cmd, "add")) {
		r = cnr_add(l, &rt, &result, &e);
		if (r == 0) {
			/* upstream prints the result indented */
			printf("%s\n", result);
			free(result);
		}
	} else if (!strcmp(cmd, "check")) {
		r = cnr_check(l, &rt, &e);
	} else {
		r = cnr_del(l, &rt, &e);
	}
done:
	cnr_list_free(l);
	free(args_buf);
	free((char *)env[0]);
	return r < 0 ? fail(&e, r) : flush_out(0);
}
