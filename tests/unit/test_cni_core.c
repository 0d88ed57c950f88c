// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests of pkg/cni without root: IP math, the config schema parser (Go's key rules), CNI_ARGS,
 * version comparison, and the result encoders of every spec version against golden JSON, with
 * the conversion failures.
 */
#include <errno.h>
#include <limits.h>
#include <jansson.h>

#include "cni/cni.h"
#include "cni/hash.h"
#include "tap.h"

/* Golden comparison in compact form, key order included. */
static void check_json(const char *name, const char *got, const char *want)
{
	json_t *g = got ? json_loads(got, 0, NULL) : NULL;
	char *c = g ? json_dumps(g, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;

	if (c && !strcmp(c, want))
		TAP_OK(name);
	else
		TAP_FAIL(name, "\n   got  %s\n   want %s", c ? c : "(null)", want);
	free(c);
	json_decref(g);
}

/* @r encoded at every version from @from to @to is @fmt, the version for its "%s". */
static void check_encodes(struct cni_result *r, int from, int to, const char *fmt)
{
	struct cni_err e = {0};

	for (int v = from; v <= to; v++) {
		char name[64], want[1024];

		snprintf(name, sizeof(name), "encode %s", cni_version_str(v));
		snprintf(want, sizeof(want), fmt, cni_version_str(v));
		check_json(name, cni_result_encode(r, v, &e), want);
	}
}

static void test_ip(void)
{
	struct cni_prefix p;
	struct cni_ip ip, x;
	char b[CNI_PREFIX_STRLEN];
	bool has;

	CHECK(cni_ip_parse("10.1.2.3", &ip) == 0 && ip.family == AF_INET);
	CHECK(cni_ip_parse("::ffff:10.1.2.3", &ip) == 0 && ip.family == AF_INET);
	CHECK_STR(cni_ip_str(&ip, b), "10.1.2.3");
	CHECK(cni_ip_parse("2001:DB8::1", &ip) == 0 && ip.family == AF_INET6);
	CHECK_STR(cni_ip_str(&ip, b), "2001:db8::1");
	CHECK(cni_ip_parse("10.1.2", &ip) == -EINVAL);
	CHECK(cni_ip_parse("", &ip) == -EINVAL);
	CHECK(cni_prefix_parse("10.1.2.3", &p) == -EINVAL);
	CHECK(cni_prefix_parse("10.1.2.3/33", &p) == -EINVAL);
	CHECK(cni_prefix_parse("10.1.2.3/-1", &p) == -EINVAL);
	CHECK(cni_prefix_parse("10.1.2.3/ 8", &p) == -EINVAL);
	CHECK(cni_prefix_parse("10.1.2.3/24", &p) == 0 && p.len == 24);
	CHECK_STR(cni_prefix_str(&p, b), "10.1.2.3/24");
	CHECK(cni_prefix_has_host_bits(&p));
	x = cni_prefix_network(&p);
	CHECK_STR(cni_ip_str(&x, b), "10.1.2.0");
	x = cni_prefix_last(&p);
	CHECK_STR(cni_ip_str(&x, b), "10.1.2.255");
	CHECK(cni_ip_or_prefix_parse("10.1.2.3", &p, &has) == 0 && !has && p.len == 32);
	CHECK(cni_ip_or_prefix_parse("fd00::5/64", &p, &has) == 0 && has && p.len == 64);
	x = cni_prefix_last(&p);
	CHECK_STR(cni_ip_str(&x, b), "fd00::ffff:ffff:ffff:ffff");
	cni_ip_parse("10.0.0.255", &ip);
	cni_ip_next(&ip);
	CHECK_STR(cni_ip_str(&ip, b), "10.0.1.0");
	cni_ip_parse("255.255.255.255", &ip);
	cni_ip_next(&ip);
	CHECK_STR(cni_ip_str(&ip, b), "0.0.0.0");
	cni_ip_prev(&ip);
	CHECK_STR(cni_ip_str(&ip, b), "255.255.255.255");
	/* Go's text for IPv6, where inet_ntop differs (::/96) and where it agrees. */
	{
		static const char *const cases[][2] = {
			{"::1:2", "::1:2"},	{"::0.1.0.2", "::1:2"},	      {"::", "::"},
			{"::1", "::1"},		{"1::", "1::"},		      {"1:0:0:1:0:0:0:1", "1:0:0:1::1"},
			{"1:0:1:0:1:0:1:0", "1:0:1:0:1:0:1:0"},	      {"2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"},
			{"fd00::10.0.0.1", "fd00::a00:1"}, {"0:0:1::", "0:0:1::"},
		};

		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			cni_ip_parse(cases[i][0], &ip);
			CHECK_STR(cni_ip_str(&ip, b), cases[i][1]);
		}
	}
	cni_ip_parse("::", &ip);
	cni_ip_prev(&ip);
	CHECK_STR(cni_ip_str(&ip, b), "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
	cni_prefix_parse("10.1.0.0/16", &p);
	cni_ip_parse("10.1.200.3", &ip);
	CHECK(cni_prefix_contains(&p, &ip));
	cni_ip_parse("10.2.0.3", &ip);
	CHECK(!cni_prefix_contains(&p, &ip));
	cni_ip_parse("::a01:3", &ip);
	CHECK(!cni_prefix_contains(&p, &ip));
	{
		struct cni_prefix q;

		cni_prefix_parse("10.1.128.0/17", &q);
		CHECK(cni_prefix_overlaps(&p, &q) && cni_prefix_overlaps(&q, &p));
		cni_prefix_parse("10.2.0.0/16", &q);
		CHECK(!cni_prefix_overlaps(&p, &q));
		cni_prefix_parse("::/0", &q);
		CHECK(!cni_prefix_overlaps(&p, &q));
	}
	cni_ip_parse("10.0.0.1", &ip);
	cni_ip_parse("10.0.0.2", &x);
	CHECK(cni_ip_cmp(&ip, &x) < 0 && cni_ip_cmp(&x, &ip) > 0 && cni_ip_cmp(&x, &x) == 0);
}

struct inner {
	char *name;
	int n;
};

struct sample {
	char *str;
	bool flag;
	bool flag_seen;
	int num;
	long long big;
	struct cni_ip ip;
	struct cni_prefix net;
	struct cni_strv list;
	struct inner obj;
	struct cni_vec sets; /* array of arrays of struct inner */
	struct cni_kvv map;
	char *raw;
	char *req;
};

static const struct cni_field inner_fields[] = {
	CNI_FIELD("name", struct inner, CNI_F_STR, name),
	CNI_FIELD("n", struct inner, CNI_F_INT, n, .min = 0, .max = 10),
	CNI_FIELD_END,
};
static const struct cni_field inner_elem = {.type = CNI_F_OBJ, .sub = inner_fields};
static const struct cni_field set_elem = {
	.type = CNI_F_ARRAY, .sub = &inner_elem, .elem_size = sizeof(struct inner)};
static const struct cni_field sample_fields[] = {
	CNI_FIELD("str", struct sample, CNI_F_STR, str),
	CNI_FIELD("flag", struct sample, CNI_F_BOOL, flag, CNI_SEEN(struct sample, flag_seen)),
	CNI_FIELD("num", struct sample, CNI_F_INT, num, .min = -5, .max = 5000),
	CNI_FIELD("big", struct sample, CNI_F_I64, big),
	CNI_FIELD("ip", struct sample, CNI_F_IP, ip),
	CNI_FIELD("net", struct sample, CNI_F_PREFIX, net),
	CNI_FIELD("list", struct sample, CNI_F_STRV, list),
	CNI_FIELD("obj", struct sample, CNI_F_OBJ, obj, .sub = inner_fields),
	CNI_FIELD("sets", struct sample, CNI_F_ARRAY, sets, .sub = &set_elem,
		  .elem_size = sizeof(struct cni_vec)),
	CNI_FIELD("map", struct sample, CNI_F_STRMAP, map),
	CNI_FIELD("raw", struct sample, CNI_F_JSON, raw),
	CNI_FIELD("isGateway", struct sample, CNI_F_STR, req),
	CNI_FIELD_END,
};

static int parse(const char *json, struct sample *s, struct cni_err *e)
{
	memset(s, 0, sizeof(*s));
	cni_err_clear(e);
	return cni_conf_parse(json, strlen(json), sample_fields, s, e);
}

static void test_conf(void)
{
	struct cni_err e = {0};
	struct sample s;
	const struct cni_vec *set;

	CHECK(parse("{\"STR\":\"a\",\"Flag\":true,\"NUM\":42,\"big\":5000000000,"
		    "\"ip\":\"10.0.0.1\",\"net\":\"10.0.0.0/8\",\"list\":[\"x\",\"y\"],"
		    "\"obj\":{\"NAME\":\"o\",\"n\":3},\"sets\":[[{\"name\":\"a\"},{\"name\":\"b\"}],[{\"n\":1}]],"
		    "\"map\":{\"Net.Ipv4.X\":\"1\"},\"raw\":{\"a\":[1,2]},\"unknown\":{\"x\":1}}",
		    &s, &e) == 0);
	CHECK_STR(s.str, "a");
	CHECK(s.flag && s.flag_seen);
	CHECK_INT(s.num, 42);
	CHECK_INT(s.big, 5000000000LL);
	CHECK(s.ip.family == AF_INET && s.net.len == 8);
	CHECK(s.list.n == 2 && !strcmp(s.list.v[1], "y"));
	CHECK_STR(s.obj.name, "o");
	CHECK_INT(s.obj.n, 3);
	CHECK_INT(s.sets.n, 2);
	set = s.sets.v;
	CHECK(set[0].n == 2 && !strcmp(((struct inner *)set[0].v)[1].name, "b"));
	CHECK(set[1].n == 1 && ((struct inner *)set[1].v)[0].n == 1);
	CHECK(s.map.n == 1 && !strcmp(s.map.v[0].key, "Net.Ipv4.X"));
	CHECK_STR(s.raw, "{\"a\":[1,2]}");

	/* Exact match wins over a case-folded one, whatever the order. */
	CHECK(parse("{\"STR\":\"fold\",\"str\":\"exact\",\"Str\":\"fold2\"}", &s, &e) == 0);
	CHECK_STR(s.str, "fold2");
	/* Duplicate keys: the last one wins, as in Go. */
	CHECK(parse("{\"num\":1,\"num\":2}", &s, &e) == 0 && s.num == 2);
	/* null keeps the default and counts as absent. */
	CHECK(parse("{\"flag\":null,\"str\":null}", &s, &e) == 0 && !s.flag_seen && !s.str);
	CHECK(parse("{\"flag\":\"true\"}", &s, &e) == -EINVAL && e.code == CNI_ERR_DECODE);
	CHECK(strstr(e.msg, "flag") != NULL);
	CHECK(parse("{\"num\":5001}", &s, &e) == -ERANGE && e.code == CNI_ERR_INVALID_CONFIG);
	CHECK(strstr(e.msg, "5001") && strstr(e.msg, "num"));
	CHECK(parse("{\"num\":1.5}", &s, &e) == -EINVAL);
	CHECK(parse("{\"num\":2.0}", &s, &e) == 0 && s.num == 2);
	/* Numbers no integer holds: an error naming key and value, never a cast (UB). */
	CHECK(parse("{\"num\":1e300}", &s, &e) == -ERANGE && e.code == CNI_ERR_DECODE);
	CHECK(strstr(e.msg, "1e+300") && strstr(e.msg, "\"num\""));
	CHECK(parse("{\"big\":-1e300}", &s, &e) == -ERANGE && strstr(e.msg, "-1e+300"));
	CHECK(parse("{\"big\":9.3e18}", &s, &e) == -ERANGE && strstr(e.msg, "big"));
	CHECK(parse("{\"big\":9223372036854775808.0}", &s, &e) == -ERANGE);
	CHECK(parse("{\"big\":-9223372036854775808.0}", &s, &e) == 0 && s.big == LLONG_MIN);
	CHECK(parse("{\"big\":4e18}", &s, &e) == 0 && s.big == 4000000000000000000LL);
	CHECK(parse("{\"num\":3e9}", &s, &e) == -ERANGE && strstr(e.msg, "3000000000"));
	CHECK(parse("{\"obj\":{\"n\":-1e19}}", &s, &e) == -ERANGE && strstr(e.msg, "obj.n"));
	CHECK(parse("{\"obj\":{\"n\":11}}", &s, &e) == -ERANGE && strstr(e.msg, "obj.n"));
	CHECK(parse("{\"sets\":[[{\"n\":\"x\"}]]}", &s, &e) == -EINVAL && strstr(e.msg, "sets[0][0].n"));
	CHECK(parse("{\"ip\":\"10.0.0.300\"}", &s, &e) == -EINVAL && strstr(e.msg, "10.0.0.300"));
	CHECK(parse("{\"net\":\"10.0.0.1\"}", &s, &e) == -EINVAL && e.code == CNI_ERR_INVALID_CONFIG);
	CHECK(parse("{\"list\":[1]}", &s, &e) == -EINVAL);
	CHECK(parse("{\"map\":{\"a\":1}}", &s, &e) == -EINVAL);
	CHECK(parse("[1]", &s, &e) == -EINVAL && e.code == CNI_ERR_DECODE);
	CHECK(parse("{\"str\":", &s, &e) == -EINVAL && e.code == CNI_ERR_DECODE);
	CHECK(parse("{\"isgateway\":\"yes\"}", &s, &e) == 0 && !strcmp(s.req, "yes"));
	{
		static const struct cni_field req[] = {
			CNI_FIELD("need", struct inner, CNI_F_STR, name, .flags = CNI_FF_REQUIRED),
			CNI_FIELD_END,
		};
		struct inner in = {0};

		CHECK(cni_conf_parse("{}", 2, req, &in, &e) == -EINVAL && strstr(e.msg, "need"));
		CHECK(cni_conf_parse("{\"NEED\":\"x\"}", 12, req, &in, &e) == 0);
	}
	{
		/* a null element of an array of objects lacks their required keys (the input
		 * matrix: static's "addresses":[null] was taken and its result could not be DELeted) */
		static const struct cni_field req[] = {
			CNI_FIELD("need", struct inner, CNI_F_STR, name, .flags = CNI_FF_REQUIRED),
			CNI_FIELD_END,
		};
		static const struct cni_field elem = {.type = CNI_F_OBJ, .sub = req};
		static const struct cni_field top[] = {
			CNI_FIELD("list", struct sample, CNI_F_ARRAY, sets, .sub = &elem,
				  .elem_size = sizeof(struct inner)),
			CNI_FIELD_END,
		};
		struct sample out = {0};
		const char *j = "{\"list\":[{\"need\":\"x\"},null]}";

		CHECK(cni_conf_parse(j, strlen(j), top, &out, &e) == -EINVAL &&
		      strstr(e.msg, "list[1].need"));
		j = "{\"sets\":[[null]]}"; /* no required key: a zero element, as Go's */
		CHECK(parse(j, &s, &e) == 0);
	}
}

static void test_args(void)
{
	static const char *const known[] = {"IP", "MAC", NULL};
	struct cni_err e = {0};
	struct cni_kvv a;

	CHECK(cni_args_parse("IP=10.0.0.5;MAC=aa:bb", known, &a, &e) == 0 && a.n == 2);
	CHECK_STR(cni_args_get(&a, "MAC"), "aa:bb");
	CHECK(cni_args_get(&a, "ip") == NULL);
	CHECK(cni_args_parse("", known, &a, &e) == 0 && a.n == 0);
	CHECK(cni_args_parse("ip=10.1.0.51", known, &a, &e) == -EINVAL);
	CHECK_STR(e.msg, "ARGS: unknown args [\"ip=10.1.0.51\"]");
	CHECK(cni_args_parse("IgnoreUnknown=1;K8S_POD_NAME=x;IP=1.2.3.4", known, &a, &e) == 0);
	CHECK(cni_args_parse("IgnoreUnknown=True;X=1", known, &a, &e) == 0);
	CHECK(cni_args_parse("IgnoreUnknown=0;X=1", known, &a, &e) == -EINVAL);
	CHECK(cni_args_parse("IgnoreUnknown=yes;X=1", known, &a, &e) == -EINVAL);
	CHECK(cni_args_parse("IP=a=b", known, &a, &e) == -EINVAL && strstr(e.msg, "invalid pair"));
	CHECK(cni_args_parse("IP=1;", known, &a, &e) == -EINVAL);
	CHECK(cni_args_parse("noequals", NULL, &a, &e) == -EINVAL && e.code == CNI_ERR_INVALID_ENV);
	CHECK(cni_args_parse("A=1;B=", NULL, &a, &e) == 0 && !strcmp(cni_args_get(&a, "B"), ""));
}

static void test_versions(void)
{
	bool bad = false;

	CHECK(cni_version_cmp("0.4.0", "1.0.0", &bad) < 0 && !bad);
	CHECK(cni_version_cmp("1.10.0", "1.9.0", &bad) > 0 && !bad);
	CHECK(cni_version_cmp("1.1.0", "1.1.0", &bad) == 0 && !bad);
	cni_version_cmp("1.1", "1.1.0", &bad);
	CHECK(bad);
	CHECK_INT(cni_version_lookup("0.3.1"), CNI_V031);
	CHECK_INT(cni_version_lookup("0.5.0"), -1);
	CHECK_STR(cni_version_str(CNI_V110), "1.1.0");
}

static struct cni_result *sample_result(bool with_v6)
{
	struct cni_result *r = cni_result_new();
	struct cni_prefix p;
	struct cni_ip gw;
	struct cni_route *rt;
	int i;

	i = cni_result_add_iface(r, "cni0", "aa:bb:cc:dd:ee:01", NULL);
	r->ifaces[i].mtu = 1400;
	cni_result_add_iface(r, "eth0", "aa:bb:cc:dd:ee:02", "/run/netns/x");
	r->ifaces[1].socket_path = cni_strdup("/tmp/s");
	cni_prefix_parse("10.1.0.2/24", &p);
	cni_ip_parse("10.1.0.1", &gw);
	cni_result_add_ip(r, &p, &gw, 1);
	cni_prefix_parse("10.2.0.2/24", &p);
	cni_result_add_ip(r, &p, NULL, 0);
	if (with_v6) {
		cni_prefix_parse("fd00::2/64", &p);
		cni_ip_parse("fd00::1", &gw);
		cni_result_add_ip(r, &p, &gw, -1);
	}
	cni_prefix_parse("0.0.0.0/0", &p);
	rt = cni_result_add_route(r, &p, NULL);
	rt->mtu = 1300;
	rt->table = 100;
	rt->scope = 0;
	cni_prefix_parse("10.9.0.0/16", &p);
	cni_ip_parse("10.1.0.254", &gw);
	cni_result_add_route(r, &p, &gw);
	cni_prefix_parse("::/0", &p);
	cni_result_add_route(r, &p, NULL);
	r->dns.nameservers.v = cni_alloc(2 * sizeof(char *));
	r->dns.nameservers.v[0] = cni_strdup("10.1.0.1");
	r->dns.nameservers.n = 1;
	r->dns.domain = cni_strdup("example.com");
	return r;
}

static void test_results(void)
{
	struct cni_result *r = sample_result(true), *d, *empty = cni_result_new();
	struct cni_err e = {0};
	char *s;

	check_json("encode 1.1.0", cni_result_encode(r, CNI_V110, &e),
		   "{\"cniVersion\":\"1.1.0\",\"interfaces\":[{\"name\":\"cni0\",\"mac\":\"aa:bb:cc:dd:ee:01\","
		   "\"mtu\":1400},{\"name\":\"eth0\",\"mac\":\"aa:bb:cc:dd:ee:02\",\"sandbox\":\"/run/netns/x\","
		   "\"socketPath\":\"/tmp/s\"}],\"ips\":[{\"interface\":1,\"address\":\"10.1.0.2/24\","
		   "\"gateway\":\"10.1.0.1\"},{\"interface\":0,\"address\":\"10.2.0.2/24\"},"
		   "{\"address\":\"fd00::2/64\",\"gateway\":\"fd00::1\"}],\"routes\":[{\"dst\":\"0.0.0.0/0\","
		   "\"mtu\":1300,\"table\":100,\"scope\":0},{\"dst\":\"10.9.0.0/16\",\"gw\":\"10.1.0.254\"},"
		   "{\"dst\":\"::/0\"}],\"dns\":{\"nameservers\":[\"10.1.0.1\"],\"domain\":\"example.com\"}}");
	check_json("encode 1.0.0", cni_result_encode(r, CNI_V100, &e),
		   "{\"cniVersion\":\"1.0.0\",\"interfaces\":[{\"name\":\"cni0\",\"mac\":\"aa:bb:cc:dd:ee:01\","
		   "\"mtu\":1400},{\"name\":\"eth0\",\"mac\":\"aa:bb:cc:dd:ee:02\",\"sandbox\":\"/run/netns/x\","
		   "\"socketPath\":\"/tmp/s\"}],\"ips\":[{\"interface\":1,\"address\":\"10.1.0.2/24\","
		   "\"gateway\":\"10.1.0.1\"},{\"interface\":0,\"address\":\"10.2.0.2/24\"},"
		   "{\"address\":\"fd00::2/64\",\"gateway\":\"fd00::1\"}],\"routes\":[{\"dst\":\"0.0.0.0/0\","
		   "\"mtu\":1300,\"table\":100,\"scope\":0},{\"dst\":\"10.9.0.0/16\",\"gw\":\"10.1.0.254\"},"
		   "{\"dst\":\"::/0\"}],\"dns\":{\"nameservers\":[\"10.1.0.1\"],\"domain\":\"example.com\"}}");
	check_encodes(r, CNI_V030, CNI_V040,
		      "{\"cniVersion\":\"%s\",\"interfaces\":[{\"name\":\"cni0\",\"mac\":\"aa:bb:cc:dd:ee:01\"},"
		      "{\"name\":\"eth0\",\"mac\":\"aa:bb:cc:dd:ee:02\",\"sandbox\":\"/run/netns/x\"}],"
		      "\"ips\":[{\"version\":\"4\",\"interface\":1,\"address\":\"10.1.0.2/24\","
		      "\"gateway\":\"10.1.0.1\"},{\"version\":\"4\",\"interface\":0,\"address\":\"10.2.0.2/24\"},"
		      "{\"version\":\"6\",\"address\":\"fd00::2/64\",\"gateway\":\"fd00::1\"}],"
		      "\"routes\":[{\"dst\":\"0.0.0.0/0\",\"mtu\":1300,\"table\":100,\"scope\":0},"
		      "{\"dst\":\"10.9.0.0/16\",\"gw\":\"10.1.0.254\"},{\"dst\":\"::/0\"}],"
		      "\"dns\":{\"nameservers\":[\"10.1.0.1\"],\"domain\":\"example.com\"}}");
	check_encodes(r, CNI_V010, CNI_V020,
		      "{\"cniVersion\":\"%s\",\"ip4\":{\"ip\":\"10.1.0.2/24\",\"gateway\":\"10.1.0.1\","
		      "\"routes\":[{\"dst\":\"0.0.0.0/0\"},{\"dst\":\"10.9.0.0/16\",\"gw\":\"10.1.0.254\"}]},"
		      "\"ip6\":{\"ip\":\"fd00::2/64\",\"gateway\":\"fd00::1\",\"routes\":[{\"dst\":\"::/0\"}]},"
		      "\"dns\":{\"nameservers\":[\"10.1.0.1\"],\"domain\":\"example.com\"}}");
	/* v6 routes are dropped when there is no v6 address in a 0.2.0 result. */
	check_json("encode 0.2.0 v4 only", cni_result_encode(sample_result(false), CNI_V020, &e),
		   "{\"cniVersion\":\"0.2.0\",\"ip4\":{\"ip\":\"10.1.0.2/24\",\"gateway\":\"10.1.0.1\","
		   "\"routes\":[{\"dst\":\"0.0.0.0/0\"},{\"dst\":\"10.9.0.0/16\",\"gw\":\"10.1.0.254\"}]},"
		   "\"dns\":{\"nameservers\":[\"10.1.0.1\"],\"domain\":\"example.com\"}}");
	/* Empty results: 1.x omits everything; 0.3.x-0.4.0 print dns {}; 0.2.0 cannot convert. */
	check_json("encode empty 1.1.0", cni_result_encode(empty, CNI_V110, &e),
		   "{\"cniVersion\":\"1.1.0\"}");
	check_json("encode empty 0.4.0", cni_result_encode(empty, CNI_V040, &e),
		   "{\"cniVersion\":\"0.4.0\",\"dns\":{}}");
	cni_err_clear(&e);
	CHECK(cni_result_encode(empty, CNI_V020, &e) == NULL);
	CHECK_STR(e.msg, "cannot convert: no valid IP addresses");
	CHECK_INT(e.code, CNI_ERR_INCOMPATIBLE_VERSION);
	/* Output format: 4-space indent, no trailing newline. */
	s = cni_result_encode(empty, CNI_V110, &e);
	CHECK_STR(s, "{\n    \"cniVersion\": \"1.1.0\"\n}");

	/* Decoding: every shape back to the model, then re-encoded. */
	s = cni_result_encode(r, CNI_V110, &e);
	d = cni_result_decode(s, strlen(s), &e);
	CHECK(d != NULL);
	if (d) {
		CHECK_STR(cni_result_encode(d, CNI_V110, &e), s);
		CHECK(d->ips[1].iface == 0 && d->ips[2].iface == -1);
		CHECK(d->routes[0].scope == 0 && d->routes[1].scope == -1 && d->routes[0].table == 100);
	}
	s = cni_result_encode(r, CNI_V020, &e);
	d = cni_result_decode(s, strlen(s), &e);
	CHECK(d && d->n_ips == 2 && d->n_routes == 3 && d->n_ifaces == 0);
	if (d)
		check_json("0.2.0 decoded to 1.0.0", cni_result_encode(d, CNI_V100, &e),
			   "{\"cniVersion\":\"1.0.0\",\"ips\":[{\"address\":\"10.1.0.2/24\",\"gateway\":\"10.1.0.1\"},"
			   "{\"address\":\"fd00::2/64\",\"gateway\":\"fd00::1\"}],\"routes\":[{\"dst\":\"0.0.0.0/0\"},"
			   "{\"dst\":\"10.9.0.0/16\",\"gw\":\"10.1.0.254\"},{\"dst\":\"::/0\"}],"
			   "\"dns\":{\"nameservers\":[\"10.1.0.1\"],\"domain\":\"example.com\"}}");
	s = cni_result_encode(r, CNI_V031, &e);
	d = cni_result_decode(s, strlen(s), &e);
	CHECK(d && d->n_ips == 3 && d->ips[0].iface == 1 && d->n_ifaces == 2);
	cni_err_clear(&e);
	CHECK(cni_result_decode("{\"ips\":[{\"address\":\"10.0.0.1\"}]}", 32, &e) == NULL);
	CHECK(e.code == CNI_ERR_DECODE && strstr(e.msg, "10.0.0.1"));
	CHECK(cni_result_decode("{\"routes\":[{\"gw\":\"1.2.3.4\"}]}", 29, &e) == NULL);
	CHECK(cni_result_decode("nope", 4, &e) == NULL && e.code == CNI_ERR_DECODE);
	/* An index or number an int cannot hold is an error, not truncated (4294967296 -> 0). */
	cni_err_clear(&e);
	CHECK(cni_result_decode("{\"interfaces\":[{\"name\":\"a\"}],\"ips\":[{\"address\":"
				"\"10.0.0.1/24\",\"interface\":4294967296}]}", 86, &e) == NULL);
	CHECK(e.code == CNI_ERR_DECODE && strstr(e.msg, "interface 4294967296"));
	cni_err_clear(&e);
	CHECK(cni_result_decode("{\"routes\":[{\"dst\":\"0.0.0.0/0\",\"table\":-2147483649}]}", 52,
				&e) == NULL && strstr(e.msg, "table -2147483649"));
	cni_err_clear(&e);
	CHECK(cni_result_decode("{\"interfaces\":[{\"name\":\"a\",\"mtu\":99999999999}]}", 47, &e) ==
	      NULL && strstr(e.msg, "mtu 99999999999"));
	/* Enough interfaces to move the array while it grows. */
	{
		const char *many = "{\"interfaces\":[{\"name\":\"a\"},{\"name\":\"b\"},{\"name\":\"c\"},"
				   "{\"name\":\"d\"},{\"name\":\"e\",\"mtu\":9000},{\"name\":\"f\"}]}";

		d = cni_result_decode(many, strlen(many), &e);
		CHECK(d && d->n_ifaces == 6 && !strcmp(d->ifaces[5].name, "f") && d->ifaces[4].mtu == 9000);
		if (d)
			CHECK(cni_result_copy(d)->n_ifaces == 6);
	}
	d = cni_result_copy(r);
	CHECK_STR(cni_result_encode(d, CNI_V110, &e), cni_result_encode(r, CNI_V110, &e));
	/* cni_result_addrs(): one interface's addresses, or all of them in order. */
	{
		char b[CNI_PREFIX_STRLEN];
		size_t n;
		struct cni_prefix *a = cni_result_addrs(r, 1, &n);

		CHECK(n == 1 && !strcmp(cni_prefix_str(&a[0], b), "10.1.0.2/24"));
		a = cni_result_addrs(r, -1, &n);
		CHECK(n == 3 && !strcmp(cni_prefix_str(&a[1], b), "10.2.0.2/24") &&
		      !strcmp(cni_prefix_str(&a[2], b), "fd00::2/64"));
		cni_result_addrs(r, 5, &n);
		CHECK(n == 0);
	}
	/* cni_result_iface(): by name and sandbox, NULL for the host's (no or an empty sandbox) */
	{
		struct cni_result *x = cni_result_new();
		static char blank[] = "";
		int idx = -1;

		cni_result_add_iface(x, "eth0", NULL, "/run/netns/a");
		cni_result_add_iface(x, NULL, NULL, NULL);
		cni_result_add_iface(x, "eth0", NULL, "");
		cni_result_add_iface(x, "eth0", NULL, "/run/netns/b");
		CHECK(cni_result_iface(x, "eth0", "/run/netns/b", &idx) == &x->ifaces[3] && idx == 3);
		CHECK(cni_result_iface(x, "eth0", NULL, &idx) == &x->ifaces[2] && idx == 2);
		CHECK(cni_result_iface(x, "eth0", "/run/netns/c", NULL) == NULL);
		CHECK(cni_result_iface(x, "eth1", NULL, NULL) == NULL);
		x->ifaces[2].sandbox = blank;
		CHECK(cni_result_iface(x, "eth0", NULL, NULL) == &x->ifaces[2]);
	}
}

static void test_attachments(void)
{
	struct cni_attachment a[] = {{"c1", "eth0"}, {"c2", NULL}, {NULL, "eth1"}};
	struct cni_ctx ctx = {.net.valid_atts = {.v = a, .n = 3}};

	CHECK(cni_attachment_valid(&ctx, "c1", "eth0"));
	CHECK(!cni_attachment_valid(&ctx, "c1", "eth1"));
	CHECK(!cni_attachment_valid(&ctx, "c2", "eth0")); /* no ifname: no attachment to match */
	CHECK(cni_attachment_valid(&ctx, "c1", NULL));	   /* NULL: any of the container's */
	CHECK(cni_attachment_valid(&ctx, "c2", NULL));
	CHECK(!cni_attachment_valid(&ctx, "c3", NULL));
	ctx.net.valid_atts.n = 0;
	CHECK(!cni_attachment_valid(&ctx, "c1", NULL));
}

/* Golden values verified against the reference plugins' names (cni-anchors appendix A). */
static void test_hash(void)
{
	char b[129];

	CHECK_STR(cni_sha512_hex(b, 16, "unit-test", NULL), "6fd94d501e58f0aa");
	CHECK_STR(cni_sha512_hex(b, 16, "eth0", ":", "one", NULL), "287fc69eff0574a2");
	CHECK_STR(cni_sha512_hex(b, 24, "pm", "cid1", NULL), "5d3212c3d10f687024bef608");
	CHECK_STR(cni_sha512_hex(b, 24, "p", "cid1", NULL), "16653143c97b652ff5dcbab3");
	CHECK_INT(strlen(cni_sha512_hex(b, 200, "x", NULL)), 128);
}

/* The one interface-name rule (pkg/cni/ifname.c): the reference's, the kernel's, no controls. */
static void test_ifname(void)
{
	static const char *const ws = "interface name contains / or : or whitespace characters";
	static const char *const ctl = "interface name contains control characters";
	static const struct {
		const char *name, *want; /* want NULL: usable */
	} cases[] = {
	    {"eth0", NULL},
	    {"123456789012345", NULL},
	    {"e\xc3\xa9", NULL},	  /* é: UTF-8 without a space */
	    {"e\xff\xfe", NULL},	  /* not UTF-8: the reference decodes U+FFFD, no space */
	    {"e\xe2\x80\x8b", NULL}, /* U+200B is not unicode.IsSpace */
	    {"", "interface name is empty"},
	    {NULL, "interface name is empty"},
	    {"1234567890123456", "interface name is too long"},
	    {".", "interface name is . or .."},
	    {"..", "interface name is . or .."},
	    {"...", NULL},
	    {"a/b", ws},
	    {"a:b", ws},
	    {"a b", ws},
	    {"a\tb", ws},
	    {"a\nb", ws},
	    {"a\vb", ws},
	    {"a\rb", ws},
	    {"e\xc2\x85", ws},	     /* NEL */
	    {"e\xc2\xa0", ws},	     /* NBSP */
	    {"\xc3\xa0", ws},	     /* à: its 0xa0 byte is a space to the kernel */
	    {"e\xe1\x9a\x80", ws},     /* U+1680 */
	    {"e\xe2\x80\x80", ws},     /* U+2000 */
	    {"e\xe2\x80\x8a", ws},     /* U+200A */
	    {"e\xe2\x80\xa8", ws},     /* U+2028 */
	    {"e\xe2\x80\xa9", ws},     /* U+2029 */
	    {"e\xe2\x80\xaf", ws},     /* U+202F */
	    {"e\xe2\x81\x9f", ws},     /* U+205F */
	    {"e\xe3\x80\x80", ws},     /* U+3000 */
	    {"\x01", ctl},
	    {"e\x1f", ctl},
	    {"e\x7f", ctl},
	    {"e\x1b[0m", ctl},
	    {"e\xc2\x80", ctl},	     /* C1 */
	    {"e\xc2\x9f", ctl},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *got = cni_ifname_problem(cases[i].name);
		char name[96];

		snprintf(name, sizeof(name), "ifname case %zu", i);
		if (cases[i].want ? got && !strcmp(got, cases[i].want) : !got)
			TAP_OK(name);
		else
			TAP_FAIL(name, "got \"%s\", want \"%s\"", got ? got : "(usable)",
				 cases[i].want ? cases[i].want : "(usable)");
		if (cni_ifname_valid(cases[i].name) != !cases[i].want)
			TAP_FAIL(name, "cni_ifname_valid disagrees");
	}
}

int main(void)
{
	test_hash();
	test_ifname();
	test_ip();
	test_conf();
	test_args();
	test_versions();
	test_results();
	test_attachments();
	cni_arena_release();
	return tap_done();
}
