// SPDX-License-Identifier: Apache-2.0
/*
 * macvlan: gives a container its own MAC address on a host interface (the master), as the
 * reference plugin does, key for key. ADD finds the master (configured, or the interface of the
 * default route, in the host netns or, with linkInContainer, in the container's), creates the
 * macvlan under a temporary name directly in the container netns (a name taken on the host
 * cannot clash; predictable from the attachment, so a DEL after an ADD killed before the rename
 * finds it) and renames it to CNI_IFNAME there; with IPAM it turns on ARP/ND notification and
 * configures addresses and routes, without IPAM (absent or empty) it only sets the link up. A
 * failed ADD deletes the link; the dispatcher releases IPAM.
 * DEL is idempotent and depends on neither the master (the reference failed with "Link not found"
 * when the master had gone: plugins#953), the netns nor prevResult: IPAM DEL always runs, then the
 * link goes with the netns or by name. The plugin owns no host state, so GC is IPAM's GC.
 * The verbs are the link-kind skeleton (plugin/link.h); here are the keys, the creation of the
 * macvlan and the CHECK of its mode.
 */
#include <errno.h>
#include <string.h>

#include "cni/cni.h"
#include "netutil/iface.h"
#include "netutil/kind/macvlan.h"
#include "netutil/netutil.h"
#include "netutil/tmplink.h"
#include "plugin/link.h"
#include "plugin/mac.h"

struct macvlan_conf {
	struct pl_link_conf link; /* master, mtu, linkInContainer */
	char *mode;
	long long bcqueuelen;
	struct pl_mac_keys mac; /* "mac", args.cni.mac, runtimeConfig.mac */

	/* derived by macvlan_validate() */
	uint32_t mode_val;
	struct pl_mac mac_val;
};

#define F(k, t, m, ...) CNI_FIELD(k, struct macvlan_conf, t, m, __VA_ARGS__)
static const struct cni_field fields[] = {
	F("master", CNI_F_STR, link.master),
	F("mode", CNI_F_STR, mode),
	F("mtu", CNI_F_INT, link.mtu, .min = 0, .max = 65535),
	F("mac", CNI_F_STR, mac.conf),
	F("linkInContainer", CNI_F_BOOL, link.link_in_container),
	F("bcqueuelen", CNI_F_I64, bcqueuelen, .min = 0, .max = UINT32_MAX),
	PL_MAC_FIELDS(struct macvlan_conf, mac),
	CNI_FIELD_END,
};

/* One entry per mode: the reference's four plus "source" (frames selected by source MAC). */
static const struct {
	const char *name;
	uint32_t mode;
} modes[] = {
	{"bridge", NU_MACVLAN_MODE_BRIDGE}, {"private", NU_MACVLAN_MODE_PRIVATE},
	{"vepa", NU_MACVLAN_MODE_VEPA},	 {"passthru", NU_MACVLAN_MODE_PASSTHRU},
	{"source", NU_MACVLAN_MODE_SOURCE},
};

static const char *mode_name(uint32_t mode)
{
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
		if (modes[i].mode == mode)
			return modes[i].name;
	return "unknown";
}

static int macvlan_validate(struct cni_ctx *ctx, void *conf, struct cni_err *e)
{
	struct macvlan_conf *c = conf;
	size_t i;

	if (c->link.master && !nu_ifname_valid(c->link.master))
		return cni_fail(e, -EINVAL, CNI_ERR_INVALID_CONFIG,
				"invalid \"master\" \"%s\": not an interface name", c->link.master);
	c->mode_val = NU_MACVLAN_MODE_BRIDGE; /* absent or "" */
	if (c->mode && *c->mode) {
		for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
			if (!strcmp(c->mode, modes[i].name))
				break;
		if (i == sizeof(modes) / sizeof(modes[0]))
			return cni_fail(e, -EINVAL, CNI_ERR_INVALID_CONFIG,
					"unknown macvlan mode \"%s\": \"mode\" must be bridge, "
					"private, vepa, passthru or source",
					c->mode);
		c->mode_val = modes[i].mode;
	}
	return pl_mac_decide(&pl_mac_macvlan, &c->mac, &ctx->args, &c->mac_val, e);
}

static int create(const struct nu_tmplink_at *at, const struct nu_link_spec *link,
		  struct cni_err *e)
{
	const struct macvlan_conf *c = at->conf;
	struct nu_macvlan_spec s = {*link, c->mode_val, (uint32_t)c->bcqueuelen};

	s.link.mac = c->mac_val.set ? c->mac_val.addr : NULL;
	return nu_macvlan_create(at->nl, &s, e);
}

/* CHECK: the link's mode is the configured one. */
static int check(const struct cni_ctx *ctx, struct nu_nl *cont, const struct nu_link_info *cl,
		 struct cni_err *e)
{
	const struct macvlan_conf *c = ctx->conf;
	uint32_t mode;
	int r = nu_macvlan_mode(cont, ctx->env.ifname, &mode, e);

	(void)cl;
	if (r < 0)
		return r;
	if (mode != c->mode_val)
		return cni_fail(e, -EINVAL, 0,
				"Container macvlan mode %s does not match expected value: %s",
				mode_name(mode), mode_name(c->mode_val));
	return 0;
}

/*
 * The temporary name: "mvl" + 48 bits of FNV-1a over (container ID, ifname). If a name is taken
 * on the host side (the kernel checks both namespaces on some versions), random "veth%08x" names
 * are tried, as the reference does. Neighbours learn the new MAC at once: gratuitous ARP and NA
 * on link up. CHECK looks for the master before the link, as the reference. Without a master in
 * the host netns STATUS fails (the reference leaves this as a TODO).
 */
static const struct pl_link_ops ops = {
	.link = {.kind = "macvlan",
		 .prefix = "mvl",
		 .hash = nu_tmpname_fnv48,
		 .random_names = 9,
		 .create = create},
	.flags = PL_LINK_CHECK_MASTER_FIRST,
	.on_master = &pl_link_master,
	.notify = NU_NOTIFY_ARP | NU_NOTIFY_NDISC,
	.check = check,
};

const struct cni_plugin cni_main_plugin = {
	.name = "macvlan",
	CNI_CONF(fields, struct macvlan_conf),
	.conf_validate = macvlan_validate,
	.args_keys = pl_mac_args_keys,
	PL_LINK_VERBS,
	.ops = &ops,
	CNI_INPROC_IPAM,
};
