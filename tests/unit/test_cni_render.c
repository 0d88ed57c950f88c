// SPDX-License-Identifier: Apache-2.0
/*
 * The delegate-configuration renderer (pkg/cni/render.c): every operation, every error, and the
 * flannel delegate built the way plugins/meta/flannel does, compared with flannel-io/cni-plugin's
 * golden configurations. Comparisons are MatchJSON-like (key order irrelevant): both sides go
 * through the renderer's own canonical form; the flannel golden is also checked byte for byte
 * against what Go's json.Marshal writes.
 */
#include <errno.h>
#include <stdlib.h>

#include "cni/cni.h"
#include "cni/render.h"
#include "tap.h"

/* Canonical text of a JSON object (sorted keys, compact), or "(invalid)". */
static char *canon(const char *json)
{
	struct cni_render *r = NULL;
	struct cni_err e = {0};
	char *s = "(invalid)";

	if (!cni_render_new(&r, "{}", 2, &e) && !cni_render_load(r, json, strlen(json), &e))
		s = cni_render_text(r);
	cni_render_free(r);
	return s;
}

#define CHECK_JSON(name, got, want)                                                                \
	do {                                                                                       \
		char *g_ = (got) ? canon(got) : "(null)", *w_ = canon(want);                       \
		if (!strcmp(g_, w_))                                                               \
			TAP_OK(name);                                                              \
		else                                                                               \
			TAP_FAIL(name, "got %s, want %s", g_, w_);                                 \
	} while (0)

static struct cni_prefix pfx(const char *s)
{
	struct cni_prefix p = {0};

	cni_prefix_parse(s, &p);
	return p;
}

static struct cni_route route(const char *dst)
{
	return (struct cni_route){.dst = pfx(dst), .table = -1, .scope = -1};
}

/* The flannel delegate, as plugins/meta/flannel renders it. */
static int flannel_like(const char *input, const char *const *nets, size_t n_nets,
			const char *const *subnets, size_t n_sub, bool ipmasq, char **out,
			struct cni_err *e)
{
	_cni_render_cleanup_ struct cni_render *d = NULL;
	struct cni_prefix sn[4];
	struct cni_route rt[8];
	char *type;
	int r;

	for (size_t i = 0; i < n_sub; i++)
		sn[i] = pfx(subnets[i]);
	for (size_t i = 0; i < n_nets; i++)
		rt[i] = route(nets[i]);
	if ((r = cni_render_new(&d, input, strlen(input), e)) ||
	    (r = cni_render_base(d, "delegate", e)))
		return r;
	if (cni_render_kind(d, NULL, "name") != CNI_RK_ABSENT)
		return cni_fail(e, -EINVAL, CNI_ERR_INVALID_CONFIG, "name in delegate");
	r = cni_render_copy(d, NULL, "runtimeConfig", "runtimeConfig", CNI_RENDER_OBJECT, e);
	if (r >= 0)
		r = cni_render_set_str(d, NULL, "name", "cni-flannel", 0, e);
	if (r >= 0)
		r = cni_render_set_str(d, NULL, "type", "bridge", CNI_RENDER_IF_ABSENT, e);
	if (r >= 0)
		r = cni_render_set_bool(d, NULL, "ipMasq", !ipmasq, CNI_RENDER_IF_ABSENT, e);
	if (r >= 0)
		r = cni_render_set_int(d, NULL, "mtu", 1472, CNI_RENDER_IF_ABSENT, e);
	type = cni_render_str(d, NULL, "type");
	if (r >= 0 && type && !strcmp(type, "bridge"))
		r = cni_render_set_bool(d, NULL, "isGateway", true, CNI_RENDER_IF_ABSENT, e);
	if (r >= 0)
		r = cni_render_copy(d, NULL, "ipam", "ipam", CNI_RENDER_OBJECT, e);
	if (r >= 0)
		r = cni_render_set_str(d, "ipam", "type", "host-local", CNI_RENDER_IF_ABSENT, e);
	if (r >= 0)
		r = cni_render_set_ranges(d, "ipam", "ranges", sn, n_sub, 0, e);
	if (r >= 0)
		r = cni_render_append_routes(d, "ipam", "routes", rt, n_nets, e);
	if (r < 0)
		return r;
	*out = cni_render_text(d);
	return 0;
}

static void test_flannel_goldens(void)
{
	static const char *const v4[] = {"10.1.0.0/16"}, *v6[] = {"fc00::/48"},
				 *dual[] = {"10.1.0.0/16", "fc00::/48"},
				 *two[] = {"10.1.0.0/16", "192.168.0.0/16"},
				 *sn4[] = {"10.1.17.0/24"}, *sn6[] = {"fc00::/64"},
				 *sndual[] = {"10.1.17.0/24", "fc00::/64"};
	const char *in = "{\"name\":\"cni-flannel\",\"type\":\"flannel\",\"subnetFile\":\"/x\","
			 "\"dataDir\":\"/y\"}";
	const char *ipam_in =
	    "{\"name\":\"cni-flannel\",\"type\":\"flannel\",\"ipam\":{\"type\":\"my-ipam\","
	    "\"unknown-param\":\"unknown-value\",\"routes\":[{\"dst\":\"10.96.0.0/12\"},"
	    "{\"dst\":\"192.168.244.0/24\",\"gw\":\"10.1.17.20\"}]}}";
	struct cni_err e = {0};
	char *out = NULL;

	CHECK(flannel_like(in, dual, 2, sndual, 2, true, &out, &e) == 0);
	/* Byte for byte what Go's json.Marshal of the delegate map writes (cni-anchors §2.15). */
	CHECK_STR(out, "{\"ipMasq\":false,\"ipam\":{\"ranges\":[[{\"subnet\":\"10.1.17.0/24\"}],"
		       "[{\"subnet\":\"fc00::/64\"}]],\"routes\":[{\"dst\":\"10.1.0.0/16\"},"
		       "{\"dst\":\"fc00::/48\"}],\"type\":\"host-local\"},\"isGateway\":true,"
		       "\"mtu\":1472,\"name\":\"cni-flannel\",\"type\":\"bridge\"}");

	out = NULL;
	CHECK(flannel_like(in, v4, 1, sn4, 1, true, &out, &e) == 0);
	CHECK_JSON(
	    "flannel golden: ipv4", out,
	    "{\"ipMasq\": false, \"ipam\": {\"routes\": [{\"dst\": \"10.1.0.0/16\"}],"
	    "\"ranges\": [[{\"subnet\": \"10.1.17.0/24\"}]], \"type\": \"host-local\"},"
	    "\"isGateway\": true, \"mtu\": 1472, \"name\": \"cni-flannel\", \"type\": \"bridge\"}");
	out = NULL;
	CHECK(flannel_like(in, two, 2, sn4, 1, true, &out, &e) == 0);
	CHECK_JSON("flannel golden: ipv4 two networks", out,
		   "{\"ipMasq\": false, \"ipam\": {\"routes\": [{\"dst\": \"10.1.0.0/16\"},"
		   "{\"dst\": \"192.168.0.0/16\"}], \"ranges\": [[{\"subnet\": \"10.1.17.0/24\"}]],"
		   "\"type\": \"host-local\"}, \"isGateway\": true, \"mtu\": 1472,"
		   "\"name\": \"cni-flannel\", \"type\": \"bridge\"}");
	out = NULL;
	CHECK(flannel_like(in, v6, 1, sn6, 1, true, &out, &e) == 0);
	CHECK_JSON(
	    "flannel golden: ipv6", out,
	    "{\"ipMasq\": false, \"ipam\": {\"routes\": [{\"dst\": \"fc00::/48\"}],"
	    "\"ranges\": [[{\"subnet\": \"fc00::/64\"}]], \"type\": \"host-local\"},"
	    "\"isGateway\": true, \"mtu\": 1472, \"name\": \"cni-flannel\", \"type\": \"bridge\"}");

	/* getDelegateIPAM: input ipam kept (type, unknown keys), its routes first. */
	out = NULL;
	CHECK(flannel_like(ipam_in, dual, 2, sndual, 2, false, &out, &e) == 0);
	CHECK_JSON(
	    "flannel golden: input ipam merged (dual stack)", out,
	    "{\"ipMasq\": true, \"isGateway\": true, \"mtu\": 1472, \"name\": \"cni-flannel\","
	    "\"type\": \"bridge\", \"ipam\": {\"type\": \"my-ipam\","
	    "\"unknown-param\": \"unknown-value\", \"routes\": [{\"dst\": \"10.96.0.0/12\"},"
	    "{\"dst\": \"192.168.244.0/24\", \"gw\": \"10.1.17.20\"},"
	    "{\"dst\": \"10.1.0.0/16\"}, {\"dst\": \"fc00::/48\"}],"
	    "\"ranges\": [[{\"subnet\": \"10.1.17.0/24\"}], [{\"subnet\": \"fc00::/64\"}]]}}");

	/* Custom delegate keys pass through; set defaults do not override them. */
	out = NULL;
	CHECK(flannel_like(
		  "{\"name\":\"n\",\"Delegate\":{\"type\":\"ipvlan\",\"master\":\"eth1\","
		  "\"mtu\":9000,\"ipMasq\":true,\"hairpinMode\":true,\"x\":{\"y\":[1,null]}},"
		  "\"runtimeConfig\":{\"portMappings\":[]}}",
		  v4, 1, sn4, 1, true, &out, &e) == 0);
	CHECK_JSON("custom delegate keys kept, no isGateway for non-bridge", out,
		   "{\"type\": \"ipvlan\", \"master\": \"eth1\", \"mtu\": 9000, \"ipMasq\": true,"
		   "\"hairpinMode\": true, \"x\": {\"y\": [1, null]}, \"name\": \"cni-flannel\","
		   "\"runtimeConfig\": {\"portMappings\": []}, \"ipam\": {\"type\": \"host-local\","
		   "\"ranges\": [[{\"subnet\": \"10.1.17.0/24\"}]], \"routes\": [{\"dst\": "
		   "\"10.1.0.0/16\"}]}}");

	cni_err_clear(&e);
	CHECK(flannel_like("{\"delegate\":{\"name\":\"x\"}}", v4, 1, sn4, 1, true, &out, &e) ==
	      -EINVAL);
	cni_err_clear(&e);
	CHECK(flannel_like("{\"delegate\":[]}", v4, 1, sn4, 1, true, &out, &e) == -EINVAL);
	CHECK_STR(e.msg, "cannot unmarshal array into field \"delegate\" of type object");
	CHECK_INT(e.code, CNI_ERR_DECODE);
	cni_err_clear(&e);
	CHECK(flannel_like("{\"runtimeConfig\":5}", v4, 1, sn4, 1, true, &out, &e) == -EINVAL);
	CHECK_STR(e.msg, "cannot unmarshal number into field \"runtimeConfig\" of type object");
}

static void test_setters(void)
{
	_cni_render_cleanup_ struct cni_render *r = NULL;
	struct cni_prefix p = pfx("10.0.0.5/8");
	struct cni_err e = {0};
	const char *in =
	    "{\"name\":\"n\",\"Args\":{\"cni\":{\"ips\":[\"10.0.0.9\"]}},\"nul\":null,"
	    "\"cni.dev/valid-attachments\":[{\"containerID\":\"a\",\"ifname\":\"eth0\"}]}";

	CHECK(cni_render_new(&r, in, strlen(in), &e) == 0);
	CHECK_STR(cni_render_text(r), "{}");
	CHECK_INT(cni_render_set_str(r, NULL, "s", "v", 0, &e), 1);
	CHECK_INT(cni_render_set_str(r, NULL, "s", "w", CNI_RENDER_IF_ABSENT, &e), 0);
	CHECK_INT(cni_render_set_str(r, NULL, "s", "x", 0, &e), 1);
	CHECK_INT(cni_render_set_json(r, NULL, "n", "null", 0, &e), 1);
	CHECK_INT(cni_render_set_bool(r, NULL, "n", true, CNI_RENDER_IF_ABSENT, &e), 0);
	CHECK_INT(cni_render_kind(r, NULL, "n"), CNI_RK_NULL);
	CHECK_INT(cni_render_set_bool(r, NULL, "b", false, 0, &e), 1);
	CHECK_INT(cni_render_set_int(r, NULL, "i", -42, 0, &e), 1);
	CHECK_INT(cni_render_set_prefix(r, NULL, "p", &p, 0, &e), 1);
	CHECK_INT(cni_render_set_json(r, NULL, "j", "[1,{\"b\":2,\"a\":1}]", 0, &e), 1);
	CHECK_INT(cni_render_set_str(r, "o", "k", "v", 0, &e), 1);
	CHECK_INT(cni_render_copy(r, NULL, "args", "args", 0, &e), 1);
	CHECK_INT(cni_render_copy(r, NULL, "none", "absent", 0, &e), 0);
	CHECK_INT(cni_render_copy(r, NULL, "nul", "nul", 0, &e), 0);
	CHECK_INT(cni_render_copy(r, NULL, "cni.dev/valid-attachments", "cni.dev/valid-attachments",
				  0, &e),
		  1);
	CHECK_STR(
	    cni_render_text(r),
	    "{\"args\":{\"cni\":{\"ips\":[\"10.0.0.9\"]}},\"b\":false,\"cni.dev/"
	    "valid-attachments\":"
	    "[{\"containerID\":\"a\",\"ifname\":\"eth0\"}],\"i\":-42,\"j\":[1,{\"a\":1,\"b\":2}],"
	    "\"n\":null,\"o\":{\"k\":\"v\"},\"p\":\"10.0.0.5/8\",\"s\":\"x\"}");

	/* Document keys are exact (a Go map); input keys match like config fields. */
	CHECK_INT(cni_render_kind(r, NULL, "S"), CNI_RK_ABSENT);
	CHECK_INT(cni_render_kind(r, NULL, "s"), CNI_RK_STRING);
	CHECK_INT(cni_render_kind(r, NULL, "b"), CNI_RK_BOOL);
	CHECK_INT(cni_render_kind(r, NULL, "i"), CNI_RK_NUMBER);
	CHECK_INT(cni_render_kind(r, NULL, "o"), CNI_RK_OBJECT);
	CHECK_INT(cni_render_kind(r, NULL, "j"), CNI_RK_ARRAY);
	CHECK_INT(cni_render_kind(r, "o", "k"), CNI_RK_STRING);
	CHECK_INT(cni_render_kind(r, "missing", "k"), CNI_RK_ABSENT);
	CHECK_INT(cni_render_kind(r, "s", "k"), CNI_RK_ABSENT);
	CHECK_STR(cni_render_str(r, NULL, "s"), "x");
	CHECK(cni_render_str(r, NULL, "b") == NULL);
	CHECK(cni_render_str(r, "missing", "s") == NULL);
	CHECK_INT(cni_render_input_kind(r, "args"), CNI_RK_OBJECT);
	CHECK_INT(cni_render_input_kind(r, "NAME"), CNI_RK_STRING);
	CHECK_INT(cni_render_input_kind(r, "nul"), CNI_RK_NULL);
	CHECK_INT(cni_render_input_kind(r, "nope"), CNI_RK_ABSENT);

	/* A copy is deep: editing it leaves the input as it was. */
	CHECK_INT(cni_render_set_str(r, "args", "cni", "replaced", 0, &e), 1);
	CHECK_INT(cni_render_copy(r, NULL, "again", "args", 0, &e), 1);
	CHECK_JSON("deep copy", cni_render_text(r),
		   "{\"args\":{\"cni\":\"replaced\"},\"again\":{\"cni\":{\"ips\":[\"10.0.0.9\"]}},"
		   "\"b\":false,\"cni.dev/"
		   "valid-attachments\":[{\"containerID\":\"a\",\"ifname\":\"eth0\"}],"
		   "\"i\":-42,\"j\":[1,{\"a\":1,\"b\":2}],\"n\":null,\"o\":{\"k\":\"v\"},"
		   "\"p\":\"10.0.0.5/8\",\"s\":\"x\"}");

	CHECK_INT(cni_render_remove(r, NULL, "again"), 1);
	CHECK_INT(cni_render_remove(r, NULL, "again"), 0);
	CHECK_INT(cni_render_remove(r, "o", "k"), 1);
	CHECK_INT(cni_render_remove(r, "missing", "k"), 0);
	CHECK_INT(cni_render_kind(r, "o", "k"), CNI_RK_ABSENT);

	/* Errors. */
	CHECK_INT(cni_render_set_str(r, "s", "k", "v", 0, &e), -EINVAL);
	CHECK_STR(e.msg, "\"s\" is a string, not an object");
	CHECK_INT(e.code, CNI_ERR_INVALID_CONFIG);
	cni_err_clear(&e);
	CHECK_INT(cni_render_set_json(r, NULL, "bad", "{nope", 0, &e), -EINVAL);
	CHECK_INT(e.code, CNI_ERR_DECODE);
	CHECK_INT(cni_render_kind(r, NULL, "bad"), CNI_RK_ABSENT);
	cni_err_clear(&e);
	CHECK_INT(cni_render_copy(r, NULL, "x", "name", CNI_RENDER_OBJECT, &e), -EINVAL);
	CHECK_STR(e.msg, "cannot unmarshal string into field \"name\" of type object");
	cni_err_clear(&e);
	CHECK_INT(cni_render_copy(r, "s", "x", "args", 0, &e), -EINVAL);
	CHECK_INT(cni_render_append_routes(r, "s", "routes", NULL, 0, &e), -EINVAL);
}

static void test_base_load(void)
{
	const char *in = "{\"d\":null,\"o\":{\"a\":1},\"s\":\"x\"}";
	struct cni_render *r = NULL;
	struct cni_err e = {0};

	CHECK_INT(cni_render_new(&r, "{nope", 5, &e), -EINVAL);
	CHECK_INT(e.code, CNI_ERR_DECODE);
	cni_err_clear(&e);
	CHECK_INT(cni_render_new(&r, "[1]", 3, &e), -EINVAL);
	CHECK_STR(e.msg, "the configuration is not a JSON object");
	cni_err_clear(&e);

	CHECK(cni_render_new(&r, in, strlen(in), &e) == 0);
	if (!r)
		return;
	CHECK_INT(cni_render_base(r, "absent", &e), 0);
	CHECK_STR(cni_render_text(r), "{}");
	CHECK_INT(cni_render_base(r, "d", &e), 0);
	CHECK_STR(cni_render_text(r), "{}");
	CHECK_INT(cni_render_base(r, "O", &e), 0);
	CHECK_STR(cni_render_text(r), "{\"a\":1}");
	CHECK_INT(cni_render_base(r, "s", &e), -EINVAL);
	CHECK_STR(e.msg, "cannot unmarshal string into field \"s\" of type object");
	CHECK_STR(cni_render_text(r), "{\"a\":1}");
	cni_err_clear(&e);

	/* A saved text replays as it is. */
	CHECK_INT(cni_render_load(r, "{\"type\":\"bridge\",\"z\":[]}", 24, &e), 0);
	CHECK_STR(cni_render_str(r, NULL, "type"), "bridge");
	CHECK_STR(cni_render_text(r), "{\"type\":\"bridge\",\"z\":[]}");
	CHECK_INT(cni_render_load(r, "{\"type\":", 8, &e), -EINVAL);
	CHECK_INT(e.code, CNI_ERR_DECODE);
	cni_err_clear(&e);
	CHECK_INT(cni_render_load(r, "[1]", 3, &e), -EINVAL);
	CHECK_STR(e.msg, "the saved configuration is not a JSON object");
	CHECK_STR(cni_render_text(r), "{\"type\":\"bridge\",\"z\":[]}");
	cni_render_free(r);
	cni_render_free(NULL);
}

static void test_ranges_routes(void)
{
	_cni_render_cleanup_ struct cni_render *r = NULL;
	struct cni_prefix sn[2] = {pfx("10.1.17.0/24"), pfx("fd00::/64")};
	struct cni_route rt[2] = {route("10.0.0.0/8"), route("::/0")};
	struct cni_err e = {0};
	const char *in = "{}";

	rt[1].gw.family = AF_INET6;
	cni_ip_parse("fd00::1", &rt[1].gw);
	rt[1].mtu = 1400;
	rt[1].advmss = 1300;
	rt[1].priority = 5;
	rt[1].table = 100;
	rt[1].scope = 0;
	CHECK(cni_render_new(&r, in, strlen(in), &e) == 0);
	CHECK_INT(cni_render_set_ranges(r, "ipam", "ranges", sn, 2, 0, &e), 1);
	CHECK_INT(cni_render_set_ranges(r, "ipam", "ranges", sn, 1, CNI_RENDER_IF_ABSENT, &e), 0);
	CHECK_INT(cni_render_append_routes(r, "ipam", "routes", rt, 2, &e), 0);
	CHECK_STR(
	    cni_render_text(r),
	    "{\"ipam\":{\"ranges\":[[{\"subnet\":\"10.1.17.0/24\"}],[{\"subnet\":\"fd00::/64\"}]],"
	    "\"routes\":[{\"dst\":\"10.0.0.0/8\"},{\"advmss\":1300,\"dst\":\"::/"
	    "0\",\"gw\":\"fd00::1\","
	    "\"mtu\":1400,\"priority\":5,\"scope\":0,\"table\":100}]}}");
	/* Appending again keeps what is there, verbatim (unknown keys too). */
	CHECK_INT(cni_render_set_json(
		      r, "ipam", "routes",
		      "[{\"dst\":\"1.2.3.4/32\",\"Gw\":\"1.1.1.1\",\"extra\":true}]", 0, &e),
		  1);
	CHECK_INT(cni_render_append_routes(r, "ipam", "routes", rt, 1, &e), 0);
	CHECK_JSON(
	    "existing routes kept verbatim", cni_render_text(r),
	    "{\"ipam\":{\"ranges\":[[{\"subnet\":\"10.1.17.0/24\"}],[{\"subnet\":\"fd00::/64\"}]],"
	    "\"routes\":[{\"dst\":\"1.2.3.4/32\",\"Gw\":\"1.1.1.1\",\"extra\":true},"
	    "{\"dst\":\"10.0.0.0/8\"}]}}");
	CHECK_INT(cni_render_set_json(r, "ipam", "routes", "null", 0, &e), 1);
	CHECK_INT(cni_render_append_routes(r, "ipam", "routes", rt, 1, &e), 0);
	CHECK_INT(cni_render_append_routes(r, NULL, "top", NULL, 0, &e), 0);
	CHECK_JSON(
	    "null routes are none; no routes is []", cni_render_text(r),
	    "{\"ipam\":{\"ranges\":[[{\"subnet\":\"10.1.17.0/24\"}],[{\"subnet\":\"fd00::/64\"}]],"
	    "\"routes\":[{\"dst\":\"10.0.0.0/8\"}]},\"top\":[]}");
	CHECK_INT(cni_render_set_ranges(r, NULL, "empty", NULL, 0, 0, &e), 1);
	CHECK_INT(cni_render_kind(r, NULL, "empty"), CNI_RK_ARRAY);

	static const struct {
		const char *routes, *msg;
	} bad[] = {
	    {"{}", "failed to parse ipam.routes: cannot unmarshal object into a list of routes"},
	    {"[5]", "failed to parse ipam.routes[0]: cannot unmarshal number into a route"},
	    {"[{\"dst\":\"1.2.3.0/24\"},{\"gw\":\"1.1.1.1\"}]",
	     "failed to parse ipam.routes[1]: missing \"dst\""},
	    {"[{\"dst\":[]}]",
	     "failed to parse ipam.routes[0]: cannot unmarshal array into \"dst\""},
	    {"[{\"dst\":\"1.2.3.4\"}]",
	     "failed to parse ipam.routes[0]: invalid CIDR address \"1.2.3.4\" in \"dst\""},
	    {"[{\"dst\":\"1.2.3.0/24\",\"gw\":\"x\"}]",
	     "failed to parse ipam.routes[0]: invalid IP address \"x\" in \"gw\""},
	    {"[{\"dst\":\"1.2.3.0/24\",\"gw\":7}]",
	     "failed to parse ipam.routes[0]: cannot unmarshal number into \"gw\""},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cni_err_clear(&e);
		cni_render_set_json(r, "ipam", "routes", bad[i].routes, 0, &e);
		CHECK_INT(cni_render_append_routes(r, "ipam", "routes", rt, 1, &e), -EINVAL);
		CHECK_STR(e.msg, bad[i].msg);
		CHECK_INT(e.code, CNI_ERR_DECODE);
		/* A refused list is left as it was. */
		CHECK_INT(cni_render_kind(r, "ipam", "routes"),
			  bad[i].routes[0] == '{' ? CNI_RK_OBJECT : CNI_RK_ARRAY);
	}
}

int main(void)
{
	test_flannel_goldens();
	test_setters();
	test_base_load();
	test_ranges_routes();
	cni_arena_release();
	return tap_done();
}
