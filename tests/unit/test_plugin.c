// SPDX-License-Identifier: Apache-2.0
/*
 * pkg/plugin without a kernel: each plugin's MAC precedence (pl_mac_pick(), pl_mac_decide()),
 * the reference's order kept per plugin. No root.
 */
#include <errno.h>
#include <string.h>

#include "plugin/mac.h"
#include "tap.h"

#define NONE ((const char *)0)

/* One case: runtimeConfig.mac, args.cni.mac, CNI_ARGS MAC, "mac" (NONE: absent) -> the text
 * taken and its source (NONE: no MAC). */
static void pick(const char *plugin, const struct pl_mac_order *o, const char *rt,
		 const char *args, const char *cni_args, const char *conf, const char *want,
		 const char *want_from)
{
	struct cni_kv kv = {.key = "MAC", .value = (char *)cni_args};
	struct cni_kvv kvv = {.v = &kv, .n = cni_args ? 1 : 0};
	struct pl_mac_keys k = {.runtime = (char *)rt, .args = (char *)args, .conf = (char *)conf};
	const char *from, *got = pl_mac_pick(o, &k, &kvv, &from);
	char name[256];

	snprintf(name, sizeof(name), "%s: runtime %s, args %s, CNI_ARGS %s, mac %s -> %s", plugin,
		 rt ? rt : "-", args ? args : "-", cni_args ? cni_args : "-", conf ? conf : "-",
		 want && *want ? want : "none");
	if (got && !*got)
		got = NONE; /* "" asks for no MAC, as absent */
	if (!want || !*want) {
		if (got)
			TAP_FAIL(name, "got \"%s\" from %s", got, from);
		else
			TAP_OK(name);
	} else if (!got || strcmp(got, want) || !from || strcmp(from, want_from)) {
		TAP_FAIL(name, "got \"%s\" from %s, want %s", got ? got : "(none)",
			 from ? from : "-", want_from);
	} else {
		TAP_OK(name);
	}
}

static void invalid(const char *plugin, const struct pl_mac_order *o, const char *rt,
		    const char *want_msg)
{
	struct pl_mac_keys k = {.runtime = (char *)rt, .conf = "02:00:00:00:00:01"};
	struct cni_err e = {0};
	struct pl_mac m;
	char name[128];
	int r = pl_mac_decide(o, &k, NULL, &m, &e);

	snprintf(name, sizeof(name), "%s: runtimeConfig.mac \"%s\" is refused", plugin, rt);
	if (r != -EINVAL || e.code != CNI_ERR_INVALID_CONFIG || strcmp(e.msg, want_msg) || m.set)
		TAP_FAIL(name, "got %d, code %u, \"%s\"", r, e.code, e.msg);
	else
		TAP_OK(name);
}

static const char A[] = "02:00:00:00:00:0a", B[] = "02:00:00:00:00:0b",
		  C[] = "02:00:00:00:00:0c", D[] = "02:00:00:00:00:0d";

/* macvlan and tap: runtimeConfig > args.cni.mac > CNI_ARGS MAC > "mac"; empty runtimeConfig
 * and args values are passed over, an empty CNI_ARGS MAC stops the search. */
static void link_order(const char *plugin, const struct pl_mac_order *o)
{
	pick(plugin, o, A, B, C, D, A, "runtimeConfig.mac");
	pick(plugin, o, NONE, B, C, D, B, "args.cni.mac");
	pick(plugin, o, "", B, C, D, B, "args.cni.mac");
	pick(plugin, o, NONE, NONE, C, D, C, "CNI_ARGS MAC");
	pick(plugin, o, "", "", C, D, C, "CNI_ARGS MAC");
	pick(plugin, o, NONE, NONE, NONE, D, D, "mac");
	pick(plugin, o, NONE, NONE, "", D, NONE, NONE);
	pick(plugin, o, NONE, NONE, NONE, "", NONE, NONE);
	pick(plugin, o, NONE, NONE, NONE, NONE, NONE, NONE);
	invalid(plugin, o, "01:00:5e:00:00:01",
		"invalid MAC address \"01:00:5e:00:00:01\" in runtimeConfig.mac");
	invalid(plugin, o, "nope", "invalid MAC address \"nope\" in runtimeConfig.mac");
}

int main(void)
{
	link_order("macvlan", &pl_mac_macvlan);
	link_order("tap", &pl_mac_tap);

	/* bridge: runtimeConfig > args.cni.mac > CNI_ARGS MAC, the first present wins even empty;
	 * no "mac" key; the error does not name the source. */
	pick("bridge", &pl_mac_bridge, A, B, C, D, A, "runtimeConfig.mac");
	pick("bridge", &pl_mac_bridge, NONE, B, C, D, B, "args.cni.mac");
	pick("bridge", &pl_mac_bridge, "", B, C, D, NONE, NONE);
	pick("bridge", &pl_mac_bridge, NONE, "", C, D, NONE, NONE);
	pick("bridge", &pl_mac_bridge, NONE, NONE, C, D, C, "CNI_ARGS MAC");
	pick("bridge", &pl_mac_bridge, NONE, NONE, NONE, D, NONE, NONE);
	invalid("bridge", &pl_mac_bridge, "01:00:5e:00:00:01",
		"invalid MAC address \"01:00:5e:00:00:01\"");

	/* tuning: args.cni.mac (present, even empty) > runtimeConfig > CNI_ARGS MAC > "mac" (the
	 * reference's "config < CNI_ARGS MAC < runtimeConfig.mac < args.cni.mac"); empty
	 * runtimeConfig and CNI_ARGS values are passed over; its own error text, multicast let
	 * through (the kernel judges it). */
	pick("tuning", &pl_mac_tuning, A, B, C, D, B, "args.cni.mac");
	pick("tuning", &pl_mac_tuning, A, "", C, D, NONE, NONE);
	pick("tuning", &pl_mac_tuning, A, NONE, C, D, A, "runtimeConfig.mac");
	pick("tuning", &pl_mac_tuning, "", NONE, C, D, C, "CNI_ARGS MAC");
	pick("tuning", &pl_mac_tuning, NONE, NONE, C, D, C, "CNI_ARGS MAC");
	pick("tuning", &pl_mac_tuning, NONE, NONE, "", D, D, "mac");
	pick("tuning", &pl_mac_tuning, NONE, NONE, NONE, D, D, "mac");
	pick("tuning", &pl_mac_tuning, NONE, NONE, NONE, "", NONE, NONE);
	pick("tuning", &pl_mac_tuning, NONE, NONE, NONE, NONE, NONE, NONE);
	invalid("tuning", &pl_mac_tuning, "nope",
		"invalid args nope for MAC addr: a 6-byte MAC address is required");
	{
		struct pl_mac_keys k = {.runtime = "01:00:5e:00:00:01"};
		struct cni_err e = {0};
		struct pl_mac m;

		CHECK(pl_mac_decide(&pl_mac_tuning, &k, NULL, &m, &e) == 0 && m.set &&
		      m.addr[0] == 1 && !strcmp(m.text, "01:00:5e:00:00:01"));
	}

	/* a valid MAC is parsed */
	{
		struct pl_mac_keys k = {.args = (char *)B};
		struct cni_err e = {0};
		struct pl_mac m;

		CHECK(pl_mac_decide(&pl_mac_macvlan, &k, NULL, &m, &e) == 0 && m.set &&
		      m.addr[0] == 2 && m.addr[5] == 0x0b);
		k.args = NULL;
		CHECK(pl_mac_decide(&pl_mac_macvlan, &k, NULL, &m, &e) == 0 && !m.set);
	}
	return tap_done();
}
