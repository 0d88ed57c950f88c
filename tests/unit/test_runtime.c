// SPDX-License-Identifier: Apache-2.0
/*
 * pkg/runtime without root: loading a configuration directory as libcni does, the plugin stdin
 * (name, cniVersion, prevResult, runtimeConfig from capabilities), libcni's cniCacheV1 file
 * byte for byte, and whole chains over fake plugins (shell scripts) that log what they were
 * given: order of ADD/CHECK/DEL, the clean environment, errors, garbage, a missing plugin and a
 * hanging one (killed at the timeout, reaped).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "runtime/cnic-runtime.h"
#include "tap.h"

static char top[256];

static void put(const char *rel, const char *text, mode_t mode)
{
	char p[512];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", top, rel);
	f = fopen(p, "w");
	if (!f) {
		perror(p);
		exit(1);
	}
	fputs(text, f);
	fclose(f);
	chmod(p, mode);
}

static char *slurp(const char *rel)
{
	static char buf[65536];
	char p[512];
	FILE *f;
	size_t n;

	snprintf(p, sizeof(p), "%s/%s", top, rel);
	if (!(f = fopen(p, "r")))
		return NULL;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = 0;
	fclose(f);
	return buf;
}

static bool exists(const char *rel)
{
	char p[512];

	snprintf(p, sizeof(p), "%s/%s", top, rel);
	return access(p, F_OK) == 0;
}

static void sub(const char *rel)
{
	char p[512];

	snprintf(p, sizeof(p), "%s/%s", top, rel);
	mkdir(p, 0755);
}

static int load(const char *dirrel, const char *name, struct cnr_list **l, struct cnr_err *e)
{
	char d[512];

	snprintf(d, sizeof(d), "%s/%s", top, dirrel);
	*e = (struct cnr_err){ 0 };
	return cnr_load_dir(d, name, l, e);
}

static void test_loading(void)
{
	struct cnr_list *l = NULL;
	struct cnr_err e;
	const char *b;
	size_t n;
	int r;

	sub("d");
	put("d/20-b.conflist", "{\"cniVersion\":\"1.0.0\",\"name\":\"net\",\"plugins\":[{\"type\":\"b\"}]}", 0644);
	put("d/10-a.conflist", "{\"cniVersion\":\"1.0.0\",\"name\":\"net\",\"plugins\":[{\"type\":\"a\"},{\"type\":\"a2\"}]}", 0644);
	/* a .conf of the same name loses to any .conflist, whatever its file name */
	put("d/00-c.conf", "{\"cniVersion\":\"0.4.0\",\"name\":\"net\",\"type\":\"c\"}", 0644);
	put("d/30-single.conf", "{\"name\":\"single\",\"type\":\"s\",\"cniVersion\":\"0.4.0\",\"x\":1}", 0644);
	put("d/25-json.json", "{\"name\":\"single\",\"type\":\"j\",\"cniVersion\":\"0.4.0\"}", 0644);
	put("d/05-bad.conflist", "{\"name\": \"net\", oops", 0644);
	put("d/06-badbool.conflist", "{\"name\":\"other\",\"disableCheck\":\"maybe\",\"plugins\":[{\"type\":\"x\"}]}", 0644);
	put("d/README", "not a config", 0644);
	sub("d/skipdir.conflist");

	r = load("d", "net", &l, &e);
	CHECK_INT(r, 0);
	if (l) {
		CHECK_STR(cnr_list_file(l) + strlen(top), "/d/10-a.conflist");
		CHECK_INT(cnr_list_plugins(l), 2);
		CHECK_STR(cnr_list_plugin_type(l, 0), "a");
		CHECK_STR(cnr_list_plugin_type(l, 1), "a2");
		CHECK(strstr(e.msg, "05-bad.conflist") != NULL);
		CHECK(strstr(e.msg, "06-badbool.conflist") && strstr(e.msg, "invalid value \"maybe\" for disableCheck"));
		CHECK_INT(e.code, 0);
		cnr_list_free(l);
		l = NULL;
	}
	/* .conf and .json sorted together: 25-json.json before 30-single.conf */
	r = load("d", "single", &l, &e);
	CHECK_INT(r, 0);
	if (l) {
		CHECK_STR(cnr_list_plugin_type(l, 0), "j");
		CHECK_STR(cnr_list_bytes(l, &n),
			  "{\"cniVersion\":\"0.4.0\",\"name\":\"single\",\"plugins\":[{\"cniVersion\":\"0.4.0\",\"name\":\"single\",\"type\":\"j\"}]}");
		cnr_list_free(l);
		l = NULL;
	}
	r = load("d", "nosuch", &l, &e);
	CHECK_INT(r, -ENOENT);
	CHECK_INT(e.code, CNR_ERR_NOT_FOUND);
	CHECK(strstr(e.msg, "no net configuration with name \"nosuch\"") != NULL);
	CHECK(strstr(e.msg, "05-bad.conflist") != NULL);
	CHECK(l == NULL);

	r = load("missing-dir", "net", &l, &e);
	CHECK_INT(r, -ENOENT);
	CHECK(strstr(e.msg, "no net configurations found in") != NULL);

	/* every list key */
	sub("k");
	put("k/a.conflist",
	    "{\"cniVersion\":\"0.3.1\",\"cniVersions\":[\"0.4.0\",\"1.0.0\",\"9.9.9\"],\"name\":\"k\","
	    "\"disableCheck\":\"TRUE\",\"disableGC\":true,\"plugins\":[{\"type\":\"p\"}]}",
	    0644);
	sub("k/k");
	put("k/k/1.conf", "{\"type\":\"fromdir\"}", 0644);
	put("k/k/0.json", "{\"type\":\"ignored\"}", 0644);
	r = load("k", "k", &l, &e);
	CHECK_INT(r, 0);
	if (l) {
		CHECK_STR(cnr_list_version(l), "1.0.0");
		CHECK(cnr_list_disable_check(l));
		CHECK(cnr_list_disable_gc(l));
		CHECK(!cnr_list_load_only_inlined(l));
		CHECK_INT(cnr_list_plugins(l), 2);
		CHECK_STR(cnr_list_plugin_type(l, 1), "fromdir");
		cnr_list_free(l);
		l = NULL;
	}
	put("k/a.conflist",
	    "{\"cniVersion\":\"1.0.0\",\"name\":\"k\",\"loadOnlyInlinedPlugins\":true,"
	    "\"plugins\":[{\"type\":\"p\"}]}",
	    0644);
	r = load("k", "k", &l, &e);
	CHECK_INT(r, 0);
	if (l) {
		CHECK(cnr_list_load_only_inlined(l));
		CHECK_INT(cnr_list_plugins(l), 1);
		cnr_list_free(l);
		l = NULL;
	}
	/* the file that defines the network is bad: an error naming it, nothing loaded */
	put("k/a.conflist", "{\"cniVersion\":\"1.0.0\",\"name\":\"k\",\"plugins\":[{\"notype\":1}]}", 0644);
	r = load("k", "k", &l, &e);
	CHECK_INT(r, -ENOENT);
	CHECK(strstr(e.msg, "a.conflist: plugin 0: missing 'type'") != NULL);
	put("k/a.conflist", "{\"cniVersion\":\"1.0.0\",\"name\":\"k\",\"loadOnlyInlinedPlugins\":true}", 0644);
	r = load("k", "k", &l, &e);
	CHECK(r < 0 && strstr(e.msg, "`loadOnlyInlinedPlugins` is true, and no 'plugins' key"));
	/* no plugins key: the plugins come from the directory alone */
	put("k/a.conflist", "{\"cniVersion\":\"1.0.0\",\"name\":\"k\"}", 0644);
	r = load("k", "k", &l, &e);
	CHECK_INT(r, 0);
	if (l) {
		CHECK_INT(cnr_list_plugins(l), 1);
		CHECK_STR(cnr_list_plugin_type(l, 0), "fromdir");
		cnr_list_free(l);
		l = NULL;
	}
	b = "{\"name\":\"x\",\"plugins\":[]}";
	r = cnr_load_bytes(b, strlen(b), false, "bytes", &l, &e);
	CHECK(r == -EINVAL && strstr(e.msg, "bytes: no plugins in list"));
}

/* cnr_scan_dir over test_loading's directory "d": every file in libcni's order, bad ones kept. */
static void test_scan(void)
{
	static const char *const want[] = { "05-bad.conflist", "06-badbool.conflist", "10-a.conflist",
					    "20-b.conflist",   "00-c.conf",	     "25-json.json",
					    "30-single.conf" };
	struct cnr_err e = { 0 };
	struct cnr_dir_entry *v = NULL;
	char d[512];
	size_t n = 0;
	int r;

	snprintf(d, sizeof(d), "%s/d", top);
	r = cnr_scan_dir(d, &v, &n, &e);
	CHECK_INT(r, 0);
	CHECK_INT(n, 7);
	for (size_t i = 0; i < n && i < 7; i++)
		CHECK_STR(strrchr(v[i].file, '/') + 1, want[i]);
	if (n == 7) {
		CHECK(!v[0].list && v[0].err.code == CNR_ERR_CONFIG &&
		      strstr(v[0].err.msg, "05-bad.conflist: line 1"));
		CHECK(!v[1].list && strstr(v[1].err.msg, "invalid value \"maybe\" for disableCheck"));
		CHECK(v[2].list && !strcmp(cnr_list_name(v[2].list), "net") &&
		      cnr_list_plugins(v[2].list) == 2 && v[2].shadowed_by == -1);
		CHECK_INT(v[3].shadowed_by, 2);
		CHECK_INT(v[4].shadowed_by, 2);
		CHECK(v[4].list && !strcmp(cnr_list_version(v[4].list), "0.4.0") &&
		      !strcmp(cnr_list_plugin_type(v[4].list, 0), "c"));
		CHECK_INT(v[5].shadowed_by, -1);
		CHECK_INT(v[6].shadowed_by, 5);
	}
	cnr_scan_free(v, n);

	/* the plugin files of <dir>/<name>/ are read, and a bad one makes the list's file bad */
	snprintf(d, sizeof(d), "%s/k", top);
	put("k/a.conflist", "{\"cniVersion\":\"1.0.0\",\"name\":\"k\",\"plugins\":[{\"type\":\"p\"}]}", 0644);
	r = cnr_scan_dir(d, &v, &n, &e);
	CHECK(r == 0 && n == 1 && v[0].list && cnr_list_plugins(v[0].list) == 2);
	cnr_scan_free(v, n);
	put("k/k/2.conf", "{\"notype\":1}", 0644);
	r = cnr_scan_dir(d, &v, &n, &e);
	CHECK(r == 0 && n == 1 && !v[0].list && strstr(v[0].err.msg, "2.conf"));
	cnr_scan_free(v, n);
	unlink(strcat(d, "/k/2.conf"));

	snprintf(d, sizeof(d), "%s/missing-dir", top);
	r = cnr_scan_dir(d, &v, &n, &e);
	CHECK(r == 0 && n == 0);
	cnr_scan_free(v, n);
	/* a directory that cannot be read (root reads it anyway) */
	if (geteuid() != 0) {
		sub("unreadable");
		snprintf(d, sizeof(d), "%s/unreadable", top);
		chmod(d, 0);
		r = cnr_scan_dir(d, &v, &n, &e);
		CHECK(r == -EACCES && e.code == CNR_ERR_CONFIG && strstr(e.msg, "cannot read"));
		chmod(d, 0755);
	} else {
		TAP_SKIP("cnr_scan_dir of an unreadable directory", "root reads every directory");
	}

	/* the spec versions, oldest first, ending at CNR_SPEC_VERSION */
	CHECK_STR(cnr_spec_version(0), "0.1.0");
	for (n = 0; cnr_spec_version(n + 1); n++)
		;
	CHECK_STR(cnr_spec_version(n), CNR_SPEC_VERSION);
	CHECK_INT(n, 6);
}

static void test_plugin_conf(void)
{
	const char *b = "{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"plugins\":["
			"{\"type\":\"pm\",\"name\":\"other\",\"cniVersion\":\"0.1.0\","
			"\"capabilities\":{\"portMappings\":true,\"bandwidth\":false}},"
			"{\"type\":\"plain\",\"runtimeConfig\":{\"kept\":1}}]}";
	struct cnr_rt rt = { .cap_args = "{\"portMappings\":[{\"hostPort\":80}],\"bandwidth\":{\"a\":1},\"ips\":[\"x\"]}" };
	struct cnr_list *l = NULL;
	struct cnr_err e = { 0 };
	char *c;

	if (cnr_load_bytes(b, strlen(b), false, "t", &l, &e) < 0) {
		TAP_FAIL("plugin_conf load", "%s", e.msg);
		return;
	}
	c = cnr_plugin_conf(l, 0, "{\"cniVersion\":\"1.0.0\",\"ips\":[]}", &rt, &e);
	CHECK_STR(c, "{\"type\":\"pm\",\"name\":\"n\",\"cniVersion\":\"1.0.0\",\"capabilities\":"
		     "{\"portMappings\":true,\"bandwidth\":false},\"prevResult\":{\"cniVersion\":"
		     "\"1.0.0\",\"ips\":[]},\"runtimeConfig\":{\"portMappings\":[{\"hostPort\":80}]}}");
	free(c);
	/* no capability declared: no runtimeConfig injected, the file's own kept (as libcni) */
	c = cnr_plugin_conf(l, 1, NULL, &rt, &e);
	CHECK_STR(c, "{\"type\":\"plain\",\"runtimeConfig\":{\"kept\":1},\"name\":\"n\",\"cniVersion\":\"1.0.0\"}");
	free(c);
	rt.cap_args = "[1]";
	c = cnr_plugin_conf(l, 0, NULL, &rt, &e);
	CHECK(c == NULL && e.code == CNR_ERR_ARGS);
	free(c);
	cnr_list_free(l);
}

static void test_cache(void)
{
	const char *b = "{\"cniVersion\":\"1.0.0\",\"name\":\"net\",\"plugins\":[{\"type\":\"a\"}]}";
	const char *kv[] = { "K8S_POD_NAME", "p1", "IgnoreUnknown", "1" };
	struct cnr_rt rt = { .container_id = "c1", .ifname = "eth0", .netns = "/run/netns/x",
			     .args = kv, .nargs = 2, .cap_args = "{\"portMappings\":[{\"protocol\":\"tcp\",\"hostPort\":8080}]}" };
	/* libcni's cachedInfo as encoding/json writes it: struct fields in order, maps sorted */
	const char *want =
		"{\"kind\":\"cniCacheV1\",\"containerId\":\"c1\",\"config\":"
		"\"eyJjbmlWZXJzaW9uIjoiMS4wLjAiLCJuYW1lIjoibmV0IiwicGx1Z2lucyI6W3sidHlwZSI6ImEifV19\","
		"\"ifName\":\"eth0\",\"networkName\":\"net\",\"netns\":\"/run/netns/x\",\"cniArgs\":"
		"[[\"K8S_POD_NAME\",\"p1\"],[\"IgnoreUnknown\",\"1\"]],\"capabilityArgs\":{\"portMappings\":"
		"[{\"hostPort\":8080,\"protocol\":\"tcp\"}]},\"result\":{\"cniVersion\":\"1.0.0\","
		"\"interfaces\":[{\"name\":\"eth0\"}],\"ips\":[{\"address\":\"10.0.0.2/24\"}]}}";
	struct cnr_list *l = NULL;
	struct cnr_err e = { 0 };
	char dir[512], path[1024], *res = NULL, *cfg = NULL, *got;
	struct stat st;

	snprintf(dir, sizeof(dir), "%s/cache", top);
	rt.cache_dir = dir;
	if (cnr_load_bytes(b, strlen(b), false, "t", &l, &e) < 0) {
		TAP_FAIL("cache load", "%s", e.msg);
		return;
	}
	CHECK_INT(cnr_cache_path("net", &rt, path, sizeof(path)), (int)strlen(path));
	CHECK_STR(path + strlen(top), "/cache/results/net-c1-eth0");
	CHECK_INT(cnr_cache_write(l, &rt,
				  "{\"ips\":[{\"address\":\"10.0.0.2/24\"}],\"cniVersion\":\"1.0.0\","
				  "\"interfaces\":[{\"name\":\"eth0\"}]}",
				  &e),
		  0);
	got = slurp("cache/results/net-c1-eth0");
	CHECK_STR(got, want);
	CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
	snprintf(path, sizeof(path), "%s/cache/results", top);
	CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0700);

	/* a file written by libcni (pretty-printed, other key order) reads back */
	put("cache/results/net-c2-eth0",
	    "{\n  \"result\": {\"cniVersion\": \"1.0.0\", \"ips\": []},\n  \"networkName\": \"net\",\n"
	    "  \"ifName\": \"eth0\",\n  \"config\": \"eyJjbmlWZXJzaW9uIjoiMS4wLjAiLCJuYW1lIjoibmV0IiwicGx1Z2lucyI6W3sidHlwZSI6ImEifV19\",\n"
	    "  \"containerId\": \"c2\",\n  \"kind\": \"cniCacheV1\"\n}\n",
	    0600);
	rt.container_id = "c2";
	CHECK_INT(cnr_cache_read("net", &rt, &res, &cfg, &e), 0);
	CHECK_STR(res, "{\"cniVersion\":\"1.0.0\",\"ips\":[]}");
	CHECK_STR(cfg, b);
	free(res);
	free(cfg);
	res = cfg = NULL;
	/* libcni's legacy file (before cniCacheV1): the result alone, no config */
	put("cache/results/net-c2-eth0", "{\"cniVersion\":\"0.4.0\",\"ips\":[]}", 0600);
	CHECK_INT(cnr_cache_read("net", &rt, &res, &cfg, &e), 0);
	CHECK_STR(res, "{\"cniVersion\":\"0.4.0\",\"ips\":[]}");
	CHECK(cfg == NULL);
	free(res);
	res = NULL;
	put("cache/results/net-c2-eth0", "[1]", 0600);
	CHECK_INT(cnr_cache_read("net", &rt, &res, NULL, &e), -EINVAL);
	put("cache/results/net-c2-eth0", "{\"kind\":\"cniCacheV1\",\"result\":[]}", 0600);
	CHECK_INT(cnr_cache_read("net", &rt, &res, NULL, &e), -EINVAL);
	CHECK(strstr(e.msg, "\"result\" is not an object") != NULL);
	CHECK_INT(cnr_cache_remove("net", &rt), 0);
	CHECK_INT(cnr_cache_remove("net", &rt), 0);
	rt.container_id = "none";
	CHECK_INT(cnr_cache_read("net", &rt, &res, NULL, &e), 0);
	CHECK(res == NULL);
	/* the temporary files a cnr_cache_write() killed before its rename left go with the
	 * attachment's cache file (fault lane: runtime add, fsync #1 SIGKILL); another
	 * attachment's (a longer ifname, a longer suffix) stay */
	rt.container_id = "c1";
	put("cache/results/net-c1-eth0.tmpAb12Cd", "{\"kind\":\"cniCacheV1\"", 0600);
	put("cache/results/net-c1-eth0.tmpXyZ987", "", 0600);
	put("cache/results/net-c1-eth00.tmpAb12Cd", "", 0600);
	put("cache/results/net-c1-eth0.tmpAb12Cde", "", 0600);
	CHECK_INT(cnr_cache_remove("net", &rt), 0);
	CHECK(!exists("cache/results/net-c1-eth0") && !exists("cache/results/net-c1-eth0.tmpAb12Cd") &&
	      !exists("cache/results/net-c1-eth0.tmpXyZ987"));
	CHECK(exists("cache/results/net-c1-eth00.tmpAb12Cd") &&
	      exists("cache/results/net-c1-eth0.tmpAb12Cde"));
	CHECK_INT(cnr_cache_remove("net", &rt), 0);
	unlink(strcat(strcpy(path, top), "/cache/results/net-c1-eth00.tmpAb12Cd"));
	unlink(strcat(strcpy(path, top), "/cache/results/net-c1-eth0.tmpAb12Cde"));
	/* no temporary file left beside the cache */
	snprintf(path, sizeof(path), "%s/cache/results", top);
	CHECK(rmdir(path) == 0);
	cnr_list_free(l);
}

static void test_small(void)
{
	char buf[64], id[40];
	const char *kv[8];
	struct cnr_err e = { 0 };

	strcpy(buf, "A=1;B=two");
	CHECK_INT(cnr_parse_cni_args(buf, kv, 4, &e), 2);
	CHECK_STR(kv[3], "two");
	strcpy(buf, "A=1;");
	CHECK_INT(cnr_parse_cni_args(buf, kv, 4, &e), -EINVAL);
	CHECK_STR(e.msg, "invalid CNI_ARGS pair \"\"");
	strcpy(buf, "A=1=2");
	CHECK_INT(cnr_parse_cni_args(buf, kv, 4, &e), -EINVAL);
	/* upstream cnitool's id for "ip netns add testing" (SHA-512 computed independently) */
	CHECK_STR(cnr_cnitool_container_id("/var/run/netns/testing", id, sizeof(id)),
		  "cnitool-77383ca0a0715733ca6f");
}

/* A fake plugin: logs "<name> <verb>" and its stdin, env; prints a result naming itself. */
static void fake(const char *name, const char *extra)
{
	char rel[128], text[2048];

	snprintf(rel, sizeof(rel), "bin/%s", name);
	snprintf(text, sizeof(text),
		 "#!/bin/sh\n"
		 "cd %s || exit 9\n"
		 "echo \"%s $CNI_COMMAND\" >> log\n"
		 "cat > in.%s.$CNI_COMMAND\n"
		 "env | sort > env.%s\n"
		 "%s\n"
		 "[ \"$CNI_COMMAND\" = ADD ] && printf '{\"cniVersion\":\"1.0.0\",\"interfaces\":[{\"name\":\"%s\"}]}'\n"
		 "exit 0\n",
		 top, name, name, name, extra ? extra : "", name);
	put(rel, text, 0755);
}

static int run(const char *conflist, const char *verb, struct cnr_rt *rt, char **res,
	       struct cnr_err *e)
{
	struct cnr_list *l = NULL;
	int r = cnr_load_bytes(conflist, strlen(conflist), false, "t", &l, e);

	if (r < 0)
		return r;
	if (!strcmp(verb, "ADD"))
		r = cnr_add(l, rt, res, e);
	else if (!strcmp(verb, "CHECK"))
		r = cnr_check(l, rt, e);
	else if (!strcmp(verb, "DEL"))
		r = cnr_del(l, rt, e);
	else
		r = cnr_status(l, rt, e);
	cnr_list_free(l);
	return r;
}

static void test_chain(void)
{
	const char *chain = "{\"cniVersion\":\"1.1.0\",\"name\":\"ch\",\"plugins\":[{\"type\":\"p1\"},"
			    "{\"type\":\"p2\",\"capabilities\":{\"mac\":true}},{\"type\":\"p3\"}]}";
	const char *kv[] = { "K", "V", "K2", "V2" };
	char bin[512], cache[512], *res = NULL, *s;
	struct cnr_rt rt = { .container_id = "ctr1", .ifname = "eth0", .netns = "/run/netns/none",
			     .args = kv, .nargs = 2, .cap_args = "{\"mac\":\"02:00:00:00:00:01\"}",
			     .timeout_ms = 20000 };
	struct cnr_err e;
	long long t0;
	int r;

	sub("bin");
	snprintf(bin, sizeof(bin), "/nonexistent:%s/bin", top);
	snprintf(cache, sizeof(cache), "%s/ccache", top);
	rt.path = bin;
	rt.cache_dir = cache;
	fake("p1", NULL);
	fake("p2", NULL);
	fake("p3", NULL);
	setenv("CNR_TEST_LEAK", "1", 1);

	r = run(chain, "ADD", &rt, &res, &e);
	CHECK_INT(r, 0);
	CHECK_STR(res, "{\"cniVersion\":\"1.0.0\",\"interfaces\":[{\"name\":\"p3\"}],\"dns\":{}}");
	free(res);
	res = NULL;
	CHECK_STR(slurp("log"), "p1 ADD\np2 ADD\np3 ADD\n");
	CHECK(exists("ccache/results/ch-ctr1-eth0"));
	s = slurp("in.p1.ADD");
	CHECK(s && !strstr(s, "prevResult") && !strstr(s, "runtimeConfig"));
	s = slurp("in.p2.ADD");
	CHECK(s && strstr(s, "\"prevResult\":{\"cniVersion\":\"1.0.0\",\"interfaces\":[{\"name\":\"p1\"}],\"dns\":{}}") &&
	      strstr(s, "\"runtimeConfig\":{\"mac\":\"02:00:00:00:00:01\"}"));
	s = slurp("env.p2");
	CHECK(s && !strstr(s, "CNR_TEST_LEAK") && strstr(s, "CNI_ARGS=K=V;K2=V2\n") &&
	      strstr(s, "CNI_COMMAND=ADD\n") && strstr(s, "CNI_CONTAINERID=ctr1\n") &&
	      strstr(s, "CNI_IFNAME=eth0\n") && strstr(s, "CNI_NETNS=/run/netns/none\n"));
	CHECK(s && strstr(s, "CNI_PATH=/nonexistent:"));

	put("log", "", 0644);
	r = run(chain, "CHECK", &rt, NULL, &e);
	CHECK_INT(r, 0);
	CHECK_STR(slurp("log"), "p1 CHECK\np2 CHECK\np3 CHECK\n");
	s = slurp("in.p1.CHECK");
	/* the cached 1.0.0 result converted to the list's 1.1.0, as libcni's getCachedResult */
	CHECK(s && strstr(s, "\"prevResult\":{\"cniVersion\":\"1.1.0\",\"dns\":{},\"interfaces\":[{\"name\":\"p3\"}]}"));

	put("log", "", 0644);
	r = run(chain, "DEL", &rt, NULL, &e);
	CHECK_INT(r, 0);
	CHECK_STR(slurp("log"), "p3 DEL\np2 DEL\np1 DEL\n");
	s = slurp("in.p1.DEL");
	CHECK(s && strstr(s, "\"prevResult\":{\"cniVersion\":\"1.1.0\",\"dns\":{},\"interfaces\":[{\"name\":\"p3\"}]}"));
	CHECK(!exists("ccache/results/ch-ctr1-eth0"));
	/* DEL again: no cache, no prevResult, success */
	r = run(chain, "DEL", &rt, NULL, &e);
	CHECK_INT(r, 0);
	s = slurp("in.p1.DEL");
	CHECK(s && !strstr(s, "prevResult"));

	put("log", "", 0644);
	r = run(chain, "STATUS", &rt, NULL, &e);
	CHECK_INT(r, 0);
	CHECK_STR(slurp("log"), "p1 STATUS\np2 STATUS\np3 STATUS\n");

	/* the second plugin fails with a CNI error: named, its code and message; nothing cached */
	fake("p2", "[ \"$CNI_COMMAND\" = ADD ] && { echo '{\"cniVersion\":\"1.0.0\",\"code\":11,\"msg\":\"try later\",\"details\":\"busy\"}'; echo noise >&2; exit 1; }");
	put("log", "", 0644);
	e = (struct cnr_err){ 0 };
	r = run(chain, "ADD", &rt, &res, &e);
	CHECK(r < 0 && res == NULL);
	CHECK_INT(e.code, 11);
	CHECK_STR(e.plugin, "p2");
	CHECK_INT(e.plugin_index, 1);
	CHECK(strstr(e.msg, "plugin type=\"p2\" failed (ADD): try later") != NULL);
	CHECK_STR(e.details, "busy");
	CHECK_STR(slurp("log"), "p1 ADD\np2 ADD\n");
	CHECK(!exists("ccache/results/ch-ctr1-eth0"));

	/* garbage on stdout with exit 0 */
	fake("p2", "[ \"$CNI_COMMAND\" = ADD ] && { echo 'hello, I am not JSON'; exit 0; }");
	r = run(chain, "ADD", &rt, &res, &e);
	CHECK(r < 0 && e.code == CNR_ERR_OUTPUT && !strcmp(e.plugin, "p2"));
	CHECK(strstr(e.msg, "hello, I am not JSON") != NULL);
	CHECK(!exists("ccache/results/ch-ctr1-eth0"));
	/* garbage with a failure exit and nothing on stdout: stderr is the message */
	fake("p2", "[ \"$CNI_COMMAND\" = ADD ] && { echo 'segfault-ish' >&2; exit 2; }");
	r = run(chain, "ADD", &rt, &res, &e);
	CHECK(r < 0 && e.code == CNR_ERR_EXEC && strstr(e.msg, "segfault-ish"));

	/* a plugin not on the path */
	fake("p2", NULL);
	unlink(strcat(strcpy(bin, top), "/bin/p3"));
	snprintf(bin, sizeof(bin), "/nonexistent:%s/bin", top);
	r = run(chain, "ADD", &rt, &res, &e);
	CHECK(r == -ENOENT && e.code == CNR_ERR_PLUGIN_MISSING && !strcmp(e.plugin, "p3"));
	CHECK(strstr(e.msg, "failed to find plugin \"p3\"") != NULL);
	CHECK(!exists("ccache/results/ch-ctr1-eth0"));

	/* a hanging plugin: killed at the deadline and reaped */
	fake("p3", "exec sleep 30");
	/* (the bound is each plugin's: p1 and p2, shell scripts too, must fit it on a loaded machine) */
	rt.timeout_ms = 3000;
	t0 = time(NULL);
	r = run(chain, "ADD", &rt, &res, &e);
	CHECK(r == -ETIMEDOUT && e.code == CNR_ERR_TIMEOUT && !strcmp(e.plugin, "p3"));
	if (r != -ETIMEDOUT || e.code != CNR_ERR_TIMEOUT)
		printf("# %d %d %s %s\n", r, e.code, e.plugin, e.msg);
	CHECK(time(NULL) - t0 < 20);
	CHECK(waitpid(-1, NULL, WNOHANG) < 0 && errno == ECHILD);
	CHECK(!exists("ccache/results/ch-ctr1-eth0"));

	/* the runtime killed while a plugin runs: the plugin dies with it (PR_SET_PDEATHSIG), no
	 * orphan left to race the runtime's next DEL (fault lane: runtime add, poll #4 SIGKILL).
	 * This process is the subreaper: the orphaned plugin comes back here to be waited for. */
	fake("p3", "echo $$ > p3.pid; exec sleep 30");
	{
		char pidf[600];

		snprintf(pidf, sizeof(pidf), "%s/p3.pid", top);
		unlink(pidf);
	}
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) == 0) {
		pid_t rtpid = fork(), ppid = 0;
		int st = 0;

		if (rtpid == 0) {
			rt.timeout_ms = 60000;
			_exit(run(chain, "ADD", &rt, &res, &e) == 0 ? 0 : 3);
		}
		for (int i = 0; i < 2000 && !ppid; i++) {
			s = slurp("p3.pid");
			if (s && *s && strchr(s, '\n'))
				ppid = atoi(s);
			else
				usleep(10000);
		}
		CHECK(ppid > 0);
		kill(rtpid, SIGKILL);
		waitpid(rtpid, NULL, 0);
		/* the plugin, now ours: killed by SIGKILL at once, not left to sleep its 30 s */
		st = 0;
		for (int i = 0; ppid > 0 && i < 500; i++) {
			if (waitpid(ppid, &st, WNOHANG) == ppid)
				break;
			st = -1;
			usleep(10000);
		}
		CHECK(ppid > 0 && st != -1 && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
		if (ppid > 0 && st == -1) {
			kill(ppid, SIGKILL);
			waitpid(ppid, NULL, 0);
		}
		prctl(PR_SET_CHILD_SUBREAPER, 0);
	} else {
		TAP_FAIL("runtime killed: the plugin dies with it", "PR_SET_CHILD_SUBREAPER: %s",
			 strerror(errno));
	}
	CHECK(waitpid(-1, NULL, WNOHANG) < 0 && errno == ECHILD);

	/* a plugin killed by a signal */
	fake("p3", "kill -9 $$");
	rt.timeout_ms = 20000;
	r = run(chain, "ADD", &rt, &res, &e);
	CHECK(r < 0 && e.code == CNR_ERR_EXEC && strstr(e.msg, "killed by signal 9"));

	/* VERSION: the plugin's answer, checked */
	fake("p3", "[ \"$CNI_COMMAND\" = VERSION ] && { echo '{\"cniVersion\":\"1.1.0\",\"supportedVersions\":[\"1.0.0\",\"1.1.0\"]}'; exit 0; }");
	{
		struct cnr_list *vl = NULL;
		char *info = NULL;

		if (cnr_load_bytes(chain, strlen(chain), false, "t", &vl, &e) == 0) {
			CHECK_INT(cnr_version_info(vl, 2, &rt, &info, &e), 0);
			CHECK(info && strstr(info, "\"supportedVersions\":[\"1.0.0\",\"1.1.0\"]"));
			free(info);
			info = NULL;
			s = slurp("in.p3.VERSION");
			CHECK_STR(s, "{\"cniVersion\":\"1.1.0\"}");
			s = slurp("env.p3");
			CHECK(s && strstr(s, "CNI_COMMAND=VERSION\n") && strstr(s, "CNI_CONTAINERID=\n"));
			/* p1 answers nothing on VERSION: an error naming it */
			CHECK_INT(cnr_version_info(vl, 0, &rt, &info, &e), -EPROTO);
			CHECK(info == NULL && e.code == CNR_ERR_OUTPUT && !strcmp(e.plugin, "p1"));
			cnr_list_free(vl);
		}
	}

	/* bad attachment arguments never reach a plugin */
	rt.ifname = "a/b";
	r = run(chain, "ADD", &rt, &res, &e);
	CHECK(r == -EINVAL && e.code == CNR_ERR_ARGS);
	rt.ifname = "eth0";
	rt.container_id = "-bad";
	r = run(chain, "DEL", &rt, NULL, &e);
	CHECK(r == -EINVAL && e.code == CNR_ERR_ARGS);

	/* CHECK before 0.4.0 is refused; disableCheck runs nothing */
	r = run("{\"cniVersion\":\"0.3.1\",\"name\":\"o\",\"plugins\":[{\"type\":\"p1\"}]}", "CHECK",
		&rt, NULL, &e);
	CHECK(r == -EOPNOTSUPP && e.code == CNR_ERR_UNSUPPORTED);
	put("log", "", 0644);
	rt.container_id = "ctr1";
	r = run("{\"cniVersion\":\"1.0.0\",\"name\":\"o\",\"disableCheck\":true,\"plugins\":[{\"type\":\"p1\"}]}",
		"CHECK", &rt, NULL, &e);
	CHECK(r == 0 && !strcmp(slurp("log"), ""));
	unsetenv("CNR_TEST_LEAK");
}

static void test_gc(void)
{
	const char *list = "{\"cniVersion\":\"1.1.0\",\"name\":\"g\",\"plugins\":[{\"type\":\"p1\"},"
			   "{\"type\":\"p2\",\"capabilities\":{\"mac\":true}}]}";
	const char *kv[] = { "K", "stale" }, *valid[] = { "keep", "eth0" };
	char bin[512], cache[512], *s;
	struct cnr_rt rt = { .ifname = "eth0", .netns = "/run/netns/g", .timeout_ms = 20000 };
	struct cnr_list *l = NULL;
	struct cnr_err e;

	snprintf(bin, sizeof(bin), "%s/bin", top);
	snprintf(cache, sizeof(cache), "%s/gcache", top);
	rt.path = bin;
	rt.cache_dir = cache;
	fake("p1", NULL);
	fake("p2", NULL);
	if (cnr_load_bytes(list, strlen(list), false, "t", &l, &e) < 0) {
		TAP_FAIL("gc load", "%s", e.msg);
		return;
	}
	rt.container_id = "keep";
	CHECK_INT(cnr_add(l, &rt, NULL, &e), 0);
	rt.container_id = "stale";
	rt.args = kv;
	rt.nargs = 1;
	rt.cap_args = "{\"mac\":\"02:00:00:00:00:02\"}";
	CHECK_INT(cnr_add(l, &rt, NULL, &e), 0);
	/* another network's attachment and a foreign file are left alone */
	put("gcache/results/other-x-eth0", "{\"kind\":\"cniCacheV1\",\"containerId\":\"x\",\"ifName\":\"eth0\",\"networkName\":\"other\"}", 0600);
	put("gcache/results/junk", "junk", 0600);
	put("log", "", 0644);
	rt = (struct cnr_rt){ .path = bin, .cache_dir = cache, .timeout_ms = 20000 };
	CHECK_INT(cnr_gc(l, &rt, valid, 1, &e), 0);
	CHECK_STR(slurp("log"), "p2 DEL\np1 DEL\np1 GC\np2 GC\n");
	CHECK(exists("gcache/results/g-keep-eth0"));
	CHECK(!exists("gcache/results/g-stale-eth0"));
	CHECK(exists("gcache/results/other-x-eth0") && exists("gcache/results/junk"));
	/* an incomplete temporary file of a cache write killed a minute ago goes (the lane:
	 * runtime add, write #5 SIGKILL, where nothing DELs it); a fresh one (a write in flight),
	 * another network's, and an old complete-looking name of a longer suffix stay */
	put("gcache/results/g-dead-eth0.tmpAb12Cd", "", 0600);
	put("gcache/results/g-live-eth0.tmpAb12Cd", "{\"kind\":", 0600);
	put("gcache/results/other-dead-eth0.tmpAb12Cd", "", 0600);
	put("gcache/results/g-dead-eth0.tmpAb12Cde", "", 0600);
	{
		const char *old[] = { "g-dead-eth0.tmpAb12Cd", "other-dead-eth0.tmpAb12Cd",
				      "g-dead-eth0.tmpAb12Cde" };

		for (size_t i = 0; i < 3; i++) {
			char p[700];

			snprintf(p, sizeof(p), "%s/gcache/results/%s", top, old[i]);
			utimes(p, (struct timeval[]){ { time(NULL) - 3600, 0 }, { time(NULL) - 3600, 0 } });
		}
	}
	CHECK_INT(cnr_gc(l, &rt, valid, 1, &e), 0);
	CHECK(!exists("gcache/results/g-dead-eth0.tmpAb12Cd"));
	CHECK(exists("gcache/results/g-live-eth0.tmpAb12Cd") &&
	      exists("gcache/results/other-dead-eth0.tmpAb12Cd") &&
	      exists("gcache/results/g-dead-eth0.tmpAb12Cde"));
	CHECK(exists("gcache/results/g-keep-eth0"));
	s = slurp("in.p2.DEL");
	CHECK(s && strstr(s, "\"runtimeConfig\":{\"mac\":\"02:00:00:00:00:02\"}"));
	s = slurp("env.p1");
	CHECK(s && strstr(s, "CNI_COMMAND=GC\n") && strstr(s, "CNI_CONTAINERID=\n"));
	s = slurp("in.p1.GC");
	CHECK(s && strstr(s, "\"cni.dev/valid-attachments\":[{\"containerID\":\"keep\",\"ifname\":\"eth0\"}]"));
	/* the stale one's DEL had its cached CNI_ARGS and netns */
	put("log", "", 0644);
	rt.container_id = "stale2";
	rt.ifname = "eth1";
	rt.netns = "/run/netns/s2";
	rt.args = kv;
	rt.nargs = 1;
	CHECK_INT(cnr_add(l, &rt, NULL, &e), 0);
	rt = (struct cnr_rt){ .path = bin, .cache_dir = cache, .timeout_ms = 20000 };
	/* no valid list: every attachment of the network is stale, no valid-attachments key */
	CHECK_INT(cnr_gc(l, &rt, NULL, 0, &e), 0);
	CHECK(!exists("gcache/results/g-keep-eth0") && !exists("gcache/results/g-stale2-eth1"));
	s = slurp("in.p1.GC");
	CHECK(s && !strstr(s, "valid-attachments"));
	/* a failing DEL is reported and GC still runs */
	rt.container_id = "c3";
	rt.ifname = "eth0";
	CHECK_INT(cnr_add(l, &rt, NULL, &e), 0);
	fake("p1", "[ \"$CNI_COMMAND\" = DEL ] && { echo '{\"code\":11,\"msg\":\"busy\"}'; exit 1; }");
	put("log", "", 0644);
	rt = (struct cnr_rt){ .path = bin, .cache_dir = cache, .timeout_ms = 20000 };
	CHECK(cnr_gc(l, &rt, NULL, 0, &e) < 0);
	CHECK(strstr(e.msg, "failed to delete stale attachment c3 eth0: plugin type=\"p1\" failed (DEL): busy") != NULL);
	CHECK_STR(slurp("log"), "p2 DEL\np1 DEL\np1 GC\np2 GC\n");
	CHECK(exists("gcache/results/g-c3-eth0"));
	cnr_list_free(l);
	/* disableGC: nothing at all */
	list = "{\"cniVersion\":\"1.1.0\",\"name\":\"g\",\"disableGC\":true,\"plugins\":[{\"type\":\"p1\"}]}";
	if (cnr_load_bytes(list, strlen(list), false, "t", &l, &e) == 0) {
		put("log", "", 0644);
		CHECK_INT(cnr_gc(l, &rt, NULL, 0, &e), 0);
		CHECK_STR(slurp("log"), "");
		CHECK(exists("gcache/results/g-c3-eth0"));
		cnr_list_free(l);
	}
}

/* cnr_result_convert: libcni's GetAsVersion between the three result shapes. */
/*
 * A cache file DEL cannot remove fails the DEL, naming it (libcni ignores it: the attachment
 * would be DELeted again at every GC, its caller told it was gone); a cache path that cannot be
 * read is named as such, not as JSON that does not parse (fault lane: runtime del, unlink #1).
 */
static void test_del_cache(void)
{
	const char *list = "{\"cniVersion\":\"1.1.0\",\"name\":\"dc\",\"plugins\":[{\"type\":\"p1\"}]}";
	char bin[512], cache[512], *res = NULL;
	struct cnr_rt rt = { .container_id = "ctrd", .ifname = "eth0", .netns = "/run/netns/none",
			     .timeout_ms = 20000 };
	struct cnr_err e;

	snprintf(bin, sizeof(bin), "%s/bin", top);
	snprintf(cache, sizeof(cache), "%s/dcache", top);
	rt.path = bin;
	rt.cache_dir = cache;
	fake("p1", NULL);
	sub("dcache");
	sub("dcache/results");
	sub("dcache/results/dc-ctrd-eth0");
	put("dcache/results/dc-ctrd-eth0/x", "", 0644);
	CHECK_INT(cnr_cache_read("dc", &rt, &res, NULL, &e), -EISDIR);
	CHECK(strstr(e.msg, "reading ") && strstr(e.msg, "dc-ctrd-eth0: Is a directory"));
	put("log", "", 0644);
	CHECK(run(list, "DEL", &rt, NULL, &e) == -EISDIR && e.code == CNR_ERR_CACHE);
	CHECK(strstr(e.msg, "removing the cache file ") && strstr(e.msg, "dc-ctrd-eth0: Is a directory"));
	CHECK_STR(slurp("log"), "p1 DEL\n");
	unlink(strcat(strcpy(bin, top), "/dcache/results/dc-ctrd-eth0/x"));
	rmdir(strcat(strcpy(bin, top), "/dcache/results/dc-ctrd-eth0"));
	snprintf(bin, sizeof(bin), "%s/bin", top);
	CHECK_INT(run(list, "DEL", &rt, NULL, &e), 0);
}

static void test_convert(void)
{
	static const struct {
		const char *in, *to, *want;
	} t[] = {
		/* within a shape only cniVersion changes (first) */
		{ "{\"ips\":[],\"cniVersion\":\"1.0.0\",\"x\":1}", "1.1.0",
		  "{\"cniVersion\":\"1.1.0\",\"ips\":[],\"x\":1,\"dns\":{}}" },
		/* 1.x to 0.4.0: version per ip, interfaces' 1.1.0 keys dropped, dns always */
		{ "{\"cniVersion\":\"1.1.0\",\"interfaces\":[{\"name\":\"eth0\",\"mac\":\"02:00:00:00:00:01\",\"mtu\":1400,"
		  "\"sandbox\":\"/n\",\"socketPath\":\"/s\"}],\"ips\":[{\"interface\":0,\"address\":\"10.0.0.2/24\","
		  "\"gateway\":\"10.0.0.1\"},{\"address\":\"fd00::2/64\"}],\"routes\":[{\"dst\":\"0.0.0.0/0\",\"mtu\":1300}]}",
		  "0.4.0",
		  "{\"cniVersion\":\"0.4.0\",\"interfaces\":[{\"name\":\"eth0\",\"mac\":\"02:00:00:00:00:01\",\"sandbox\":\"/n\"}],"
		  "\"ips\":[{\"version\":\"4\",\"interface\":0,\"address\":\"10.0.0.2/24\",\"gateway\":\"10.0.0.1\"},"
		  "{\"version\":\"6\",\"address\":\"fd00::2/64\"}],\"routes\":[{\"dst\":\"0.0.0.0/0\",\"mtu\":1300}],\"dns\":{}}" },
		/* 0.3.1 to 1.0.0: no version, dns kept ({}: Go never omits it, libcni 1.1.2 passes it on) */
		{ "{\"cniVersion\":\"0.3.1\",\"ips\":[{\"version\":\"4\",\"address\":\"10.0.0.2/24\"}],\"dns\":{}}", "1.0.0",
		  "{\"cniVersion\":\"1.0.0\",\"ips\":[{\"address\":\"10.0.0.2/24\"}],\"dns\":{}}" },
		/* to 0.2.0: the first address of each family, routes under their family */
		{ "{\"cniVersion\":\"1.0.0\",\"ips\":[{\"address\":\"fd00::2/64\",\"gateway\":\"fd00::1\"},{\"address\":\"10.0.0.2/24\"},"
		  "{\"address\":\"10.0.0.3/24\"}],\"routes\":[{\"dst\":\"::/0\"},{\"dst\":\"10.1.0.0/16\",\"gw\":\"10.0.0.1\",\"mtu\":9}],"
		  "\"dns\":{\"nameservers\":[\"10.0.0.1\"]}}",
		  "0.2.0",
		  "{\"cniVersion\":\"0.2.0\",\"ip4\":{\"ip\":\"10.0.0.2/24\",\"routes\":[{\"dst\":\"10.1.0.0/16\",\"gw\":\"10.0.0.1\"}]},"
		  "\"ip6\":{\"ip\":\"fd00::2/64\",\"gateway\":\"fd00::1\",\"routes\":[{\"dst\":\"::/0\"}]},\"dns\":{\"nameservers\":[\"10.0.0.1\"]}}" },
		/* from 0.2.0 (and a result without cniVersion is 0.1.0) */
		{ "{\"ip4\":{\"ip\":\"10.0.0.2/24\",\"gateway\":\"10.0.0.1\",\"routes\":[{\"dst\":\"0.0.0.0/0\"}]},"
		  "\"ip6\":{\"ip\":\"fd00::2/64\"}}",
		  "1.1.0",
		  "{\"cniVersion\":\"1.1.0\",\"ips\":[{\"address\":\"10.0.0.2/24\",\"gateway\":\"10.0.0.1\"},{\"address\":\"fd00::2/64\"}],"
		  "\"routes\":[{\"dst\":\"0.0.0.0/0\"}],\"dns\":{}}" },
		{ "{\"cniVersion\":\"0.2.0\",\"ip4\":{\"ip\":\"10.0.0.2/24\"}}", "0.4.0",
		  "{\"cniVersion\":\"0.4.0\",\"ips\":[{\"version\":\"4\",\"address\":\"10.0.0.2/24\"}],\"dns\":{}}" },
	};
	struct cnr_err e = { 0 };
	char *out = NULL;

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		CHECK_INT(cnr_result_convert(t[i].in, t[i].to, &out, &e), 0);
		CHECK_STR(out ? out : "(null)", t[i].want);
		free(out);
		out = NULL;
	}
	CHECK_INT(cnr_result_convert("{\"cniVersion\":\"1.0.0\",\"interfaces\":[]}", "0.2.0", &out, &e), -EINVAL);
	CHECK(out == NULL && e.code == CNR_ERR_UNSUPPORTED && !strcmp(e.msg, "cannot convert: no valid IP addresses"));
	CHECK_INT(cnr_result_convert("{\"cniVersion\":\"9.9.9\"}", "1.0.0", &out, &e), -EINVAL);
	CHECK(e.code == CNR_ERR_OUTPUT && strstr(e.msg, "unsupported CNI result version \"9.9.9\""));
	CHECK_INT(cnr_result_convert("{\"cniVersion\":\"1.0.0\"}", "2.0.0", &out, &e), -EINVAL);
	CHECK_INT(e.code, CNR_ERR_UNSUPPORTED);
	CHECK_INT(cnr_result_convert("[]", "1.0.0", &out, &e), -EINVAL);
}

/* Versions over a chain: an ADD result without cniVersion, an unknown one, CHECK/DEL of a legacy
 * cache file written by an older libcni, and a cached result that cannot be converted. */
static void test_chain_versions(void)
{
	const char *list = "{\"cniVersion\":\"1.0.0\",\"name\":\"vv\",\"plugins\":[{\"type\":\"v1\"},{\"type\":\"v2\"}]}";
	char bin[512], cache[512], *res = NULL, *s;
	struct cnr_rt rt = { .container_id = "ctrv", .ifname = "eth0", .netns = "/run/netns/none",
			     .timeout_ms = 20000 };
	struct cnr_err e = { 0 };
	int r;

	snprintf(bin, sizeof(bin), "%s/bin", top);
	snprintf(cache, sizeof(cache), "%s/vcache", top);
	rt.path = bin;
	rt.cache_dir = cache;
	/* v1 answers an 0.4.0 result: passed on and cached as it is, as libcni (no conversion on ADD) */
	fake("v1", "[ \"$CNI_COMMAND\" = ADD ] && { printf '{\"cniVersion\":\"0.4.0\",\"ips\":[{\"version\":\"4\",\"address\":\"10.0.0.2/24\"}],\"dns\":{}}'; exit 0; }");
	/* v2 answers without cniVersion: it gets the list's */
	fake("v2", "[ \"$CNI_COMMAND\" = ADD ] && { printf '{\"ips\":[{\"address\":\"10.0.0.3/24\"}]}'; exit 0; }");
	r = run(list, "ADD", &rt, &res, &e);
	CHECK_INT(r, 0);
	CHECK_STR(res ? res : "(null)", "{\"ips\":[{\"address\":\"10.0.0.3/24\"}],\"cniVersion\":\"1.0.0\",\"dns\":{}}");
	free(res);
	res = NULL;
	s = slurp("in.v2.ADD");
	CHECK(s && strstr(s, "\"prevResult\":{\"cniVersion\":\"0.4.0\",\"ips\":[{\"version\":\"4\","));
	s = slurp("vcache/results/vv-ctrv-eth0");
	CHECK(s && strstr(s, "\"result\":{\"cniVersion\":\"1.0.0\",\"dns\":{},\"ips\":[{\"address\":\"10.0.0.3/24\"}]}"));

	/* an unknown result version fails the ADD, naming the plugin; nothing cached */
	CHECK_INT(run(list, "DEL", &rt, NULL, &e), 0);
	fake("v2", "[ \"$CNI_COMMAND\" = ADD ] && { printf '{\"cniVersion\":\"7.0.0\"}'; exit 0; }");
	r = run(list, "ADD", &rt, &res, &e);
	CHECK(r < 0 && e.code == CNR_ERR_OUTPUT && !strcmp(e.plugin, "v2") &&
	      strstr(e.msg, "plugin type=\"v2\" failed (ADD): unsupported CNI result version \"7.0.0\""));
	CHECK(res == NULL && !exists("vcache/results/vv-ctrv-eth0"));
	fake("v2", NULL);

	/* a legacy cache file (an 0.3.1 result alone, as libcni wrote before cniCacheV1): CHECK and
	 * DEL get it as prevResult converted to the list's 1.0.0, DEL removes it */
	sub("vcache/results");
	put("vcache/results/vv-ctrv-eth0",
	    "{\"cniVersion\":\"0.3.1\",\"ips\":[{\"version\":\"4\",\"address\":\"10.0.0.9/24\"}],\"dns\":{}}", 0600);
	CHECK_INT(run(list, "CHECK", &rt, NULL, &e), 0);
	s = slurp("in.v1.CHECK");
	CHECK(s && strstr(s, "\"prevResult\":{\"cniVersion\":\"1.0.0\",\"ips\":[{\"address\":\"10.0.0.9/24\"}],\"dns\":{}}"));
	CHECK_INT(run(list, "DEL", &rt, NULL, &e), 0);
	s = slurp("in.v1.DEL");
	CHECK(s && strstr(s, "\"prevResult\":{\"cniVersion\":\"1.0.0\",\"ips\":[{\"address\":\"10.0.0.9/24\"}],\"dns\":{}}"));
	CHECK(!exists("vcache/results/vv-ctrv-eth0"));

	/* a cached result that cannot be converted: CHECK fails saying so, DEL runs without it */
	put("vcache/results/vv-ctrv-eth0", "{\"cniVersion\":\"8.0.0\",\"ips\":[]}", 0600);
	r = run(list, "CHECK", &rt, NULL, &e);
	CHECK(r < 0 && strstr(e.msg, "failed to convert cached result to config version \"1.0.0\": "
				   "unsupported CNI result version \"8.0.0\""));
	CHECK_INT(run(list, "DEL", &rt, NULL, &e), 0);
	s = slurp("in.v1.DEL");
	CHECK(s && !strstr(s, "prevResult"));
	CHECK(!exists("vcache/results/vv-ctrv-eth0"));
	/* a cache file that is not JSON: the same */
	put("vcache/results/vv-ctrv-eth0", "garbage", 0600);
	CHECK(run(list, "CHECK", &rt, NULL, &e) < 0 && e.code == CNR_ERR_CACHE);
	CHECK_INT(run(list, "DEL", &rt, NULL, &e), 0);
	CHECK(!exists("vcache/results/vv-ctrv-eth0"));
}

/* cnr_result_parse: every version's shape gives the same structs. */
static void test_result_parse(void)
{
	static const char *const v020[] = { "0.1.0", "0.2.0" };
	static const char *const v030[] = { "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0" };
	struct cnr_result *r = NULL;
	struct cnr_err e;
	char buf[2048];

	for (size_t i = 0; i < 2; i++) {
		snprintf(buf, sizeof(buf),
			 "{\"cniVersion\":\"%s\",\"ip4\":{\"ip\":\"10.1.0.5/24\",\"gateway\":\"10.1.0.1\","
			 "\"routes\":[{\"dst\":\"0.0.0.0/0\"}]},\"ip6\":{\"ip\":\"fd00::5/64\","
			 "\"routes\":[{\"dst\":\"::/0\",\"gw\":\"fd00::1\"}]},\"dns\":{\"nameservers\":"
			 "[\"10.1.0.1\"],\"domain\":\"d.test\",\"search\":[\"a.test\",\"b.test\"]}}",
			 v020[i]);
		CHECK_INT(cnr_result_parse(buf, &r, &e), 0);
		if (!r)
			continue;
		CHECK_STR(r->cni_version, v020[i]);
		CHECK_INT((int)r->n_interfaces, 0);
		CHECK_INT((int)r->n_ips, 2);
		CHECK_INT((int)r->n_routes, 2);
		if (r->n_ips == 2 && r->n_routes == 2) {
			CHECK_INT(r->ips[0].address.family, AF_INET);
			CHECK_INT(r->ips[0].address.prefix, 24);
			CHECK(!memcmp(r->ips[0].address.bytes, "\x0a\x01\x00\x05", 4));
			CHECK_STR(r->ips[0].address.text, "10.1.0.5/24");
			CHECK_INT(r->ips[0].gateway.family, AF_INET);
			CHECK_INT(r->ips[0].gateway.prefix, -1);
			CHECK_INT(r->ips[0].interface, -1);
			CHECK_INT(r->ips[1].address.family, AF_INET6);
			CHECK_INT(r->ips[1].address.prefix, 64);
			CHECK_INT(r->ips[1].gateway.family, 0);
			CHECK_STR(r->routes[0].dst.text, "0.0.0.0/0");
			CHECK_INT(r->routes[0].gw.family, 0);
			CHECK_STR(r->routes[1].gw.text, "fd00::1");
			CHECK_INT(r->routes[1].mtu, -1);
		}
		CHECK(r->dns.nameservers && r->dns.nameservers[0] &&
		      !strcmp(r->dns.nameservers[0], "10.1.0.1") && !r->dns.nameservers[1]);
		CHECK_STR(r->dns.domain, "d.test");
		CHECK(r->dns.search && r->dns.search[1] && !strcmp(r->dns.search[1], "b.test") &&
		      !r->dns.search[2]);
		CHECK(!r->dns.options);
		cnr_result_free(r);
		r = NULL;
	}
	for (size_t i = 0; i < 5; i++) {
		bool v11 = !strcmp(v030[i], "1.1.0"), v03 = v030[i][0] == '0';

		snprintf(buf, sizeof(buf),
			 "{\"cniVersion\":\"%s\",\"interfaces\":[{\"name\":\"cni0\",\"mac\":\"02:00:00:00:00:01\"},"
			 "{\"name\":\"eth0\",\"mac\":\"02:00:00:00:00:02\",\"sandbox\":\"/run/netns/x\"%s}],"
			 "\"ips\":[{%s\"address\":\"10.1.0.5/24\",\"gateway\":\"10.1.0.1\",\"interface\":1},"
			 "{%s\"address\":\"fd00::5/64\"}],"
			 "\"routes\":[{\"dst\":\"0.0.0.0/0\",\"gw\":\"10.1.0.1\"%s}],"
			 "\"dns\":{\"nameservers\":[\"10.1.0.1\"],\"options\":[\"ndots:2\"]}}",
			 v030[i],
			 v11 ? ",\"mtu\":1400,\"socketPath\":\"/run/s.sock\",\"pciID\":\"0000:00:01.0\"" : "",
			 v03 ? "\"version\":\"4\"," : "", v03 ? "\"version\":\"6\"," : "",
			 v11 ? ",\"mtu\":1300,\"advmss\":1260,\"priority\":10,\"table\":100,\"scope\":253" : "");
		CHECK_INT(cnr_result_parse(buf, &r, &e), 0);
		if (!r)
			continue;
		CHECK_STR(r->cni_version, v030[i]);
		CHECK_INT((int)r->n_interfaces, 2);
		CHECK_INT((int)r->n_ips, 2);
		CHECK_INT((int)r->n_routes, 1);
		if (r->n_interfaces == 2 && r->n_ips == 2 && r->n_routes == 1) {
			CHECK_STR(r->interfaces[0].name, "cni0");
			CHECK(!r->interfaces[0].sandbox);
			CHECK_STR(r->interfaces[1].sandbox, "/run/netns/x");
			CHECK_STR(r->interfaces[1].mac, "02:00:00:00:00:02");
			CHECK_INT(r->interfaces[1].mtu, v11 ? 1400 : 0);
			CHECK(v11 ? r->interfaces[1].socket_path && r->interfaces[1].pci_id &&
					    !strcmp(r->interfaces[1].pci_id, "0000:00:01.0")
				  : !r->interfaces[1].socket_path && !r->interfaces[1].pci_id);
			CHECK_INT(r->ips[0].interface, 1);
			CHECK_INT(r->ips[1].interface, -1);
			CHECK_INT(r->ips[1].address.family, AF_INET6);
			CHECK_STR(r->ips[0].gateway.text, "10.1.0.1");
			CHECK_INT(r->routes[0].mtu, v11 ? 1300 : -1);
			CHECK_INT(r->routes[0].advmss, v11 ? 1260 : -1);
			CHECK_INT(r->routes[0].priority, v11 ? 10 : -1);
			CHECK_INT(r->routes[0].table, v11 ? 100 : -1);
			CHECK_INT(r->routes[0].scope, v11 ? 253 : -1);
		}
		CHECK(r->dns.options && r->dns.options[0] && !strcmp(r->dns.options[0], "ndots:2"));
		CHECK(!r->dns.domain && !r->dns.search);
		cnr_result_free(r);
		r = NULL;
	}
	/* no cniVersion: 0.1.0's shape, as libcni */
	CHECK_INT(cnr_result_parse("{\"ip4\":{\"ip\":\"10.2.0.2/16\"}}", &r, &e), 0);
	if (r) {
		CHECK_STR(r->cni_version, "0.1.0");
		CHECK_INT((int)r->n_ips, 1);
		CHECK(!r->dns.nameservers);
		cnr_result_free(r);
		r = NULL;
	}
	/* the longest IPv6 CIDR text (45 + "/128") fits */
	CHECK_INT(cnr_result_parse("{\"cniVersion\":\"1.1.0\",\"ips\":[{\"address\":"
				   "\"0000:0000:0000:0000:0000:ffff:192.168.100.200/128\"}]}", &r, &e), 0);
	if (r) {
		CHECK_INT(r->ips[0].address.prefix, 128);
		CHECK_STR(r->ips[0].address.text, "0000:0000:0000:0000:0000:ffff:192.168.100.200/128");
		cnr_result_free(r);
		r = NULL;
	}
	/* bad input: the key and the value named, nothing returned */
	static const struct {
		const char *json, *msg;
	} bad[] = {
		{ "[]", "not a JSON object" },
		{ "{\"cniVersion\":\"9.9.9\"}", "9.9.9" },
		{ "{\"cniVersion\":1}", "string cniVersion" },
		{ "{\"cniVersion\":\"1.0.0\",\"ips\":[{\"address\":\"10.0.0.300/24\"}]}",
		  "ips[0].address: \"10.0.0.300/24\" is not a CIDR" },
		{ "{\"cniVersion\":\"1.0.0\",\"ips\":[{\"address\":\"10.0.0.3\"}]}", "ips[0].address" },
		{ "{\"cniVersion\":\"1.0.0\",\"ips\":[{\"address\":\"10.0.0.3/33\"}]}", "ips[0].address" },
		{ "{\"cniVersion\":\"1.0.0\",\"ips\":[{\"address\":\"10.0.0.3/8\",\"interface\":0}]}",
		  "ips[0].interface: 0 is not an index into interfaces" },
		{ "{\"cniVersion\":\"1.0.0\",\"ips\":[{\"address\":\"10.0.0.3/8\",\"gateway\":\"x\"}]}",
		  "ips[0].gateway: \"x\" is not an IP address" },
		{ "{\"cniVersion\":\"1.1.0\",\"routes\":[{\"dst\":\"::/0\",\"mtu\":\"9000\"}]}",
		  "routes[0].mtu: \"9000\" is not a non-negative integer" },
		{ "{\"cniVersion\":\"1.1.0\",\"routes\":[{\"gw\":\"10.0.0.1\"}]}", "routes[0].dst: null" },
		{ "{\"cniVersion\":\"1.1.0\",\"interfaces\":[{\"name\":7}]}", "interfaces[0].name: 7" },
		{ "{\"cniVersion\":\"1.1.0\",\"dns\":{\"search\":[\"a\",1]}}", "dns.search[1]: 1" },
		{ "{\"cniVersion\":\"1.1.0\",\"interfaces\":{}}", "interfaces: {} is not an array" },
		/* a prefix of digits only, as Go's ParseCIDR */
		{ "{\"cniVersion\":\"1.1.0\",\"ips\":[{\"address\":\"10.0.0.2/+24\"}]}", "10.0.0.2/+24" },
		{ "{\"cniVersion\":\"1.1.0\",\"ips\":[{\"address\":\"10.0.0.2/ 24\"}]}", "10.0.0.2/ 24" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char name[160];

		r = (struct cnr_result *)1;
		snprintf(name, sizeof(name), "result_parse rejects %s", bad[i].json);
		if (cnr_result_parse(bad[i].json, &r, &e) == -EINVAL && !r &&
		    e.code == CNR_ERR_OUTPUT && strstr(e.msg, bad[i].msg))
			TAP_OK(name);
		else
			TAP_FAIL(name, "msg \"%s\" code %d, want \"%s\"", e.msg, e.code, bad[i].msg);
	}
}

/* A fake plugin answering VERSION with @versions (a JSON array) and failing nothing else. */
static void fake_version(const char *name, const char *versions)
{
	char rel[128], text[1024];

	snprintf(rel, sizeof(rel), "vbin/%s", name);
	snprintf(text, sizeof(text),
		 "#!/bin/sh\n"
		 "[ \"$CNI_COMMAND\" = VERSION ] && printf '{\"cniVersion\":\"1.0.0\",\"supportedVersions\":%s}'\n"
		 "exit 0\n",
		 versions);
	put(rel, text, 0755);
}

/* cnr_validate: libcni's ValidateNetworkList. */
static void test_validate(void)
{
	char bin[512], **caps = NULL;
	struct cnr_rt rt = { .timeout_ms = 20000 };
	struct cnr_list *l = NULL;
	struct cnr_err e;
	const char *good = "{\"cniVersion\":\"1.0.0\",\"name\":\"v\",\"plugins\":[{\"type\":\"va\","
			   "\"capabilities\":{\"portMappings\":true,\"mac\":false}},{\"type\":\"vb\","
			   "\"capabilities\":{\"ips\":true,\"portMappings\":true}}]}";

	sub("vbin");
	snprintf(bin, sizeof(bin), "/nonexistent:%s/vbin", top);
	rt.path = bin;
	fake_version("va", "[\"0.4.0\",\"1.0.0\"]");
	fake_version("vb", "[\"1.0.0\",\"1.1.0\"]");
	fake_version("old", "[\"0.1.0\",\"0.2.0\"]");
	put("vbin/garbage", "#!/bin/sh\necho not json\n", 0755);
	/* an error object with code 0: still a failure (the code is ours then) */
	put("vbin/zero", "#!/bin/sh\necho '{\"code\":0,\"msg\":\"broken\"}'\nexit 1\n", 0755);

	CHECK_INT(cnr_load_bytes(good, strlen(good), false, "t", &l, &e), 0);
	CHECK_INT(cnr_validate(l, &rt, &caps, &e), 2);
	CHECK(caps && caps[0] && caps[1] && !caps[2] && !strcmp(caps[0], "ips") &&
	      !strcmp(caps[1], "portMappings"));
	for (size_t i = 0; caps && caps[i]; i++)
		free(caps[i]);
	free(caps);
	CHECK_INT(cnr_validate(l, &rt, NULL, &e), 2);
	cnr_list_free(l);

	static const struct {
		const char *list, *plugin, *msg;
		int index, code, ret;
	} bad[] = {
		{ "{\"cniVersion\":\"1.1.0\",\"name\":\"v\",\"plugins\":[{\"type\":\"vb\"},{\"type\":\"va\"}]}",
		  "va", "plugin va does not support config version \"1.1.0\"", 1, CNR_ERR_UNSUPPORTED,
		  -EINVAL },
		{ "{\"cniVersion\":\"1.0.0\",\"name\":\"v\",\"plugins\":[{\"type\":\"va\"},{\"type\":\"nope\"}]}",
		  "nope", "failed to find plugin \"nope\"", 1, CNR_ERR_PLUGIN_MISSING, -ENOENT },
		{ "{\"cniVersion\":\"1.0.0\",\"name\":\"v\",\"plugins\":[{\"type\":\"garbage\"}]}",
		  "garbage", "garbage", 0, 0, -EINVAL },
		{ "{\"cniVersion\":\"1.0.0\",\"name\":\"v\",\"plugins\":[{\"type\":\"va\"},{\"type\":\"zero\"}]}",
		  "zero", "broken", 1, CNR_ERR_EXEC, -EINVAL },
		/* no cniVersion: 0.1.0, as libcni's validatePlugin */
		{ "{\"name\":\"v\",\"plugins\":[{\"type\":\"old\"},{\"type\":\"va\"}]}", "va",
		  "does not support config version \"0.1.0\"", 1, CNR_ERR_UNSUPPORTED, -EINVAL },
		/* every failure listed, the first one named */
		{ "{\"cniVersion\":\"1.1.0\",\"name\":\"v\",\"plugins\":[{\"type\":\"nope\"},{\"type\":\"va\"}]}",
		  "nope", "\"nope\" in path", 0, CNR_ERR_PLUGIN_MISSING, -ENOENT },
		{ "{\"cniVersion\":\"1.1.0\",\"name\":\"v\",\"plugins\":[{\"type\":\"nope\"},{\"type\":\"va\"}]}",
		  "nope", "; plugin va does not support config version \"1.1.0\"", 0,
		  CNR_ERR_PLUGIN_MISSING, -ENOENT },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char name[300];
		int r;

		l = NULL;
		caps = (char **)1;
		snprintf(name, sizeof(name), "validate %s: %s", bad[i].list, bad[i].msg);
		if (cnr_load_bytes(bad[i].list, strlen(bad[i].list), false, "t", &l, &e) < 0) {
			TAP_FAIL(name, "load: %s", e.msg);
			continue;
		}
		r = cnr_validate(l, &rt, &caps, &e);
		if (r == bad[i].ret && !caps && !strcmp(e.plugin, bad[i].plugin) &&
		    e.plugin_index == bad[i].index && (!bad[i].code || e.code == bad[i].code) &&
		    e.code && strstr(e.msg, bad[i].msg))
			TAP_OK(name);
		else
			TAP_FAIL(name, "r %d plugin \"%s\" #%d code %d msg \"%s\"", r, e.plugin,
				 e.plugin_index, e.code, e.msg);
		cnr_list_free(l);
	}
}

int main(void)
{
	char cmd[300];

	signal(SIGCHLD, SIG_DFL);
	snprintf(top, sizeof(top), "/tmp/cnic-test-runtime.XXXXXX");
	if (!mkdtemp(top)) {
		perror("mkdtemp");
		return 1;
	}
	test_loading();
	test_scan();
	test_plugin_conf();
	test_cache();
	test_small();
	test_chain();
	test_convert();
	test_chain_versions();
	test_gc();
	test_del_cache();
	test_result_parse();
	test_validate();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", top);
	if (system(cmd) != 0)
		TAP_FAIL("cleanup", "%s", cmd);
	return tap_done();
}
