// SPDX-License-Identifier: Apache-2.0
/*
 * The container MAC's precedence (mac.h): each plugin's order as a table, one walk over it.
 */
#include <errno.h>

#include "netutil/iface.h"
#include "plugin/mac.h"

/*
 * macvlan and tap: runtimeConfig over args over CNI_ARGS over the "mac" key; a CNI_ARGS "MAC="
 * stops the search (no MAC), an empty runtimeConfig or args value does not.
 */
const struct pl_mac_order pl_mac_macvlan = {
    .steps = {{PL_MAC_RUNTIME}, {PL_MAC_ARGS}, {PL_MAC_CNI_ARGS, PL_MAC_SET}, {PL_MAC_CONF}},
    .flags = PL_MAC_SAY_SOURCE,
};
const struct pl_mac_order pl_mac_tap = {
    .steps = {{PL_MAC_RUNTIME}, {PL_MAC_ARGS}, {PL_MAC_CNI_ARGS, PL_MAC_SET}, {PL_MAC_CONF}},
    .flags = PL_MAC_SAY_SOURCE,
};
/* bridge: runtimeConfig over args over CNI_ARGS, the first one present (even empty) wins; no
 * "mac" key. */
const struct pl_mac_order pl_mac_bridge = {
    .steps = {{PL_MAC_RUNTIME, PL_MAC_SET}, {PL_MAC_ARGS, PL_MAC_SET},
	      {PL_MAC_CNI_ARGS, PL_MAC_SET}},
};

/* tuning: args.cni.mac (present, even empty: an empty one asks for no MAC) over runtimeConfig
 * over CNI_ARGS over the "mac" key, the reference's "config < CNI_ARGS MAC < runtimeConfig.mac <
 * args.cni.mac"; its own error text, multicast left to the kernel. */
const struct pl_mac_order pl_mac_tuning = {
    .steps = {{PL_MAC_ARGS, PL_MAC_SET}, {PL_MAC_RUNTIME}, {PL_MAC_CNI_ARGS}, {PL_MAC_CONF}},
    .flags = PL_MAC_TUNING_TEXT,
};

/* Both objects hold one string at offset 0: "mac", and "cni" with "mac" in it. */
const struct cni_field pl_mac_rc_fields[] = {
	{.key = "mac", .type = CNI_F_STR, .help = "MAC address of the container's interface"},
	CNI_FIELD_END,
};
const struct cni_field pl_mac_args_fields[] = {
	{.key = "cni", .type = CNI_F_OBJ, .sub = pl_mac_rc_fields,
	  .help = "the args of the CNI conventions (only mac is read)"},
	CNI_FIELD_END,
};
const char *const pl_mac_args_keys[] = {"MAC", NULL};

const char *pl_mac_pick(const struct pl_mac_order *o, const struct pl_mac_keys *k,
			const struct cni_kvv *cni_args, const char **from)
{
	static const char *const names[] = {
	    [PL_MAC_RUNTIME] = "runtimeConfig.mac",
	    [PL_MAC_ARGS] = "args.cni.mac",
	    [PL_MAC_CNI_ARGS] = "CNI_ARGS MAC",
	    [PL_MAC_CONF] = "mac",
	};

	for (size_t i = 0; i < sizeof(o->steps) / sizeof(o->steps[0]) && o->steps[i].src; i++) {
		enum pl_mac_src src = o->steps[i].src;
		const char *v = src == PL_MAC_RUNTIME ? k->runtime
				: src == PL_MAC_ARGS  ? k->args
				: src == PL_MAC_CONF  ? k->conf
				: cni_args	      ? cni_args_get(cni_args, "MAC")
						      : NULL;

		if (v && (*v || (o->steps[i].flags & PL_MAC_SET))) {
			*from = names[src];
			return v;
		}
	}
	*from = NULL;
	return NULL;
}

int pl_mac_decide(const struct pl_mac_order *o, const struct pl_mac_keys *k,
		  const struct cni_kvv *cni_args, struct pl_mac *out, struct cni_err *e)
{
	const char *from, *mac = pl_mac_pick(o, k, cni_args, &from);

	out->set = false;
	if (!mac || !*mac)
		return 0;
	if (o->flags & PL_MAC_TUNING_TEXT) {
		if (nu_mac_parse(mac, out->addr))
			return cni_fail(e, -EINVAL, CNI_ERR_INVALID_CONFIG,
					"invalid args %s for MAC addr: a 6-byte MAC address is required",
					mac);
	} else if (nu_mac_parse(mac, out->addr) || (out->addr[0] & 1)) {
		return cni_fail(e, -EINVAL, CNI_ERR_INVALID_CONFIG, "invalid MAC address \"%s\"%s%s",
				mac, o->flags & PL_MAC_SAY_SOURCE ? " in " : "",
				o->flags & PL_MAC_SAY_SOURCE ? from : "");
	}
	out->set = true;
	out->text = mac;
	return 0;
}
