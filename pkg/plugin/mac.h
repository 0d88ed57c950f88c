/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The container MAC a runtime asks for: runtimeConfig.mac, args.cni.mac, CNI_ARGS MAC and the
 * "mac" key, taken in each plugin's order, the reference's, kept here as data (one table per
 * plugin, each with its unit test in tests/unit/test_plugin.c). Nothing is allocated; the
 * chosen text stays the caller's.
 */
#ifndef PLUGIN_MAC_H
#define PLUGIN_MAC_H

#include <stdbool.h>
#include <stdint.h>

#include "cni/cni.h"

/* Where a MAC may come from. */
enum pl_mac_src {
	PL_MAC_END = 0,
	PL_MAC_RUNTIME,	 /* runtimeConfig.mac (capability "mac") */
	PL_MAC_ARGS,	 /* args.cni.mac */
	PL_MAC_CNI_ARGS, /* CNI_ARGS MAC */
	PL_MAC_CONF,	 /* the plugin's "mac" key */
};

/* One step of an order: a non-empty value is taken; with PL_MAC_SET, an empty one too (and then
 * the link keeps the kernel's MAC: the later sources are not asked). */
enum { PL_MAC_SET = 1 << 0 };

/* Flags of an order. */
enum {
	PL_MAC_SAY_SOURCE = 1 << 0, /* the error names the source ("... in runtimeConfig.mac") */
	/* tuning's error text ("invalid args <text> for MAC addr: a 6-byte MAC address is
	 * required"), and a multicast MAC is not refused here (the kernel judges it) */
	PL_MAC_TUNING_TEXT = 1 << 1,
};

struct pl_mac_order {
	struct {
		enum pl_mac_src src;
		unsigned int flags; /* PL_MAC_SET */
	} steps[5];		    /* up to PL_MAC_END */
	unsigned int flags;	    /* PL_MAC_SAY_SOURCE, PL_MAC_TUNING_TEXT */
};

/* The reference plugins' orders. */
extern const struct pl_mac_order pl_mac_macvlan, pl_mac_tap, pl_mac_bridge, pl_mac_tuning;

/* The MAC keys of a configuration: runtimeConfig.mac, args.cni.mac, "mac" (NULL: absent). */
struct pl_mac_keys {
	char *runtime, *args, *conf;
};

/*
 * The "args" ({"cni": {"mac"}}) and "runtimeConfig" ({"mac"}) entries of a field table of
 * configuration struct @t, into its struct pl_mac_keys @k; a "mac" key is the plugin's to list.
 */
extern const struct cni_field pl_mac_args_fields[], pl_mac_rc_fields[];
#define PL_MAC_FIELDS(t, k)                                                                        \
	CNI_FIELD("args", t, CNI_F_OBJ, k.args, .sub = pl_mac_args_fields,                        \
		  .help = "the runtime's args (only args.cni.mac is read)"),                       \
	    CNI_FIELD("runtimeConfig", t, CNI_F_OBJ, k.runtime, .sub = pl_mac_rc_fields,          \
		      .help = "the runtime's capability arguments (only mac is read)")

/* The CNI_ARGS keys of such a plugin, for its .args_keys. */
extern const char *const pl_mac_args_keys[];

struct pl_mac {
	uint8_t addr[6];
	bool set;
	const char *text; /* when set: the text it was parsed from (the caller's) */
};

/*
 * pl_mac_pick() - the text the order @o takes from @k and CNI_ARGS @cni_args (may be NULL), with
 * its source's name in *@from ("mac", "runtimeConfig.mac"...). NULL or "" when no MAC is asked
 * for.
 */
const char *pl_mac_pick(const struct pl_mac_order *o, const struct pl_mac_keys *k,
			const struct cni_kvv *cni_args, const char **from);

/*
 * pl_mac_decide() - pl_mac_pick(), then the text parsed into @out (out->set false when none).
 * Returns 0, or -EINVAL (code 7) for a text that is not a unicast MAC: "invalid MAC address
 * \"<text>\"", with " in <source>" under PL_MAC_SAY_SOURCE (PL_MAC_TUNING_TEXT: tuning's text,
 * for a text that is not a MAC).
 */
int pl_mac_decide(const struct pl_mac_order *o, const struct pl_mac_keys *k,
		  const struct cni_kvv *cni_args, struct pl_mac *out, struct cni_err *e);

#endif
