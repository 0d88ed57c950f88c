// SPDX-License-Identifier: Apache-2.0
/*
 * ipvlan: gives a container an interface that shares the MAC address of a host interface (the
 * master) and is told apart by IP address, as the reference plugin does, key for key, plus the
 * kernel's ipvlan flags (bridge, private, vepa). ADD finds the master (configured; else, when
 * chained, the single interface of prevResult; else the interface of the default route; in the
 * host netns or, with linkInContainer, in the container's), creates the ipvlan under a temporary
 * name directly in the container netns (a name taken on the host cannot clash) and renames it to
 * CNI_IFNAME there; the temporary name is derived from the attachment, so a link left by an ADD
 * killed before the rename is found and removed by DEL or the next ADD. Addresses come from IPAM or, chained without IPAM, from
 * prevResult; with neither the link is only set up (L2 only, which the reference refuses). A
 * failed ADD deletes the link; the dispatcher releases IPAM.
 * DEL is idempotent and depends on neither the master, a default route nor prevResult (the
 * reference's DEL resolves the master first and fails without a default route or with a
 * multi-interface prevResult): IPAM DEL runs when IPAM is configured, then the link (and a
 * temporary one) goes with the netns or by name. The plugin owns no host state, so GC is IPAM's GC.
 * The verbs are the link-kind skeleton (plugin/link.h); here are the keys, the master's name, the
 * creation of the ipvlan and the CHECK of its mode and flag.
 */
#include <errno.h>
#include <string.h>

#include "cni/cni.h"
#include "netutil/iface.h"
#include "netutil/kind/ipvlan.h"
#include "netutil/netutil.h"
#include "netutil/tmplink.h"
#include "plugin/link.h"

struct ipvlan_conf {
	struct pl_link_conf link; /* master, mtu, linkInContainer */
	char *mode;
	char *flag;

	/* derived by ipvlan_validate() */
	uint16_t mode_val, flags_val;
};

#define F(k, t, m, ...) CNI_FIELD(k, struct ipvlan_conf, t, m, __VA_ARGS__)
static const struct cni_field fields[] = {
	F("master", CNI_F_STR, link.master,
	  .help = "parent interface (default: prevResult's chained, else the default route's)"),
	F("mode", CNI_F_STR, mode, .help = "ipvlan mode: l2 (default), l3 or l3s"),
	F("flag", CNI_F_STR, flag, .help = "ipvlan flag: bridge (default), private or vepa"),
	F("mtu", CNI_F_INT, link.mtu, .min = 0, .max = 65535,
	  .help = "MTU of the ipvlan interface (default: the kernel's)"),
	F("linkInContainer", CNI_F_BOOL, link.link_in_container,
	  .help = "master is in the container's netns, not the host's"),
	CNI_FIELD_END,
};

struct named {
	const char *name;
	uint16_t val;
};

static const struct named modes[] = {
	{"l2", NU_IPVLAN_MODE_L2},
	{"l3", NU_IPVLAN_MODE_L3},
	{"l3s", NU_IPVLAN_MODE_L3S},
};

/* The kernel's flags: bridge (0) lets ipvlans of one master talk, private forbids it, vepa sends
 * it out through the master to an external switch. */
static const struct named flags[] = {
	{"bridge", 0},
	{"private", NU_IPVLAN_F_PRIVATE},
	{"vepa", NU_IPVLAN_F_VEPA},
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

static const char *val_name(const struct named *t, size_t n, uint16_t v)
{
	for (size_t i = 0; i < n; i++)
		if (t[i].val == v)
			return t[i].name;
	return "unknown";
}

/* -1 when @s names nothing in @t; "" and NULL are the first entry (the default). */
static int val_of(const struct named *t, size_t n, const char *s)
{
	if (!s || !*s)
		return t[0].val;
	for (size_t i = 0; i < n; i++)
		if (!strcmp(s, t[i].name))
			return t[i].val;
	return -1;
}

static int ipvlan_validate(struct cni_ctx *ctx, void *conf, struct cni_err *e)
{
	struct ipvlan_conf *c = conf;
	int v;

	/* DEL needs none of these keys: a config that failed ADD must still be deletable. */
	if (ctx->env.cmd == CNI_CMD_DEL)
		return 0;
	if (c->link.master && *c->link.master && !nu_ifname_valid(c->link.master))
		return cni_fail(e, -EINVAL, CNI_ERR_INVALID_CONFIG,
				"invalid \"master\" \"%s\": not an interface name", c->link.master);
	v = val_of(modes, N(modes), c->mode);
	if (v < 0)
		return cni_fail(e, -EINVAL, CNI_ERR_INVALID_CONFIG, "unknown ipvlan mode: \"%s\"",
				c->mode);
	c->mode_val = (uint16_t)v;
	v = val_of(flags, N(flags), c->flag);
	if (v < 0)
		return cni_fail(e, -EINVAL, CNI_ERR_INVALID_CONFIG,
				"unknown ipvlan flag: \"%s\" (must be bridge, private or vepa)",
				c->flag);
	c->flags_val = (uint16_t)v;
	return 0;
}

/*
 * The master's name into *@name. ADD: configured; else the single named interface of prevResult
 * when there is one (chained); else NULL, the default route's interface. CHECK: configured, or
 * the default route's interface, unless a chained ADD took it from a prevResult that has since
 * become ours (1: not checkable). STATUS: only a configured one (an unset master may come from a
 * prevResult at ADD time, which STATUS does not have: not judged).
 */
static int master_name(const struct cni_ctx *ctx, const char **name, struct cni_err *e)
{
	const struct ipvlan_conf *c = ctx->conf;
	const struct cni_result *prev = ctx->net.prev;
	bool configured = c->link.master && *c->link.master;

	if (ctx->env.cmd == CNI_CMD_CHECK)
		return configured || ctx->net.ipam_type || !prev ? 0 : 1;
	if (ctx->env.cmd != CNI_CMD_ADD)
		return configured ? 0 : 1;
	*name = configured ? c->link.master : NULL;
	if (!*name && prev) {
		if (prev->n_ifaces != 1 || !prev->ifaces[0].name || !*prev->ifaces[0].name)
			return cni_fail(e, -EINVAL, CNI_ERR_INVALID_CONFIG,
					"chained master failure. PrevResult lacks a single named "
					"interface");
		*name = prev->ifaces[0].name;
	}
	return 0;
}

static int create(const struct nu_tmplink_at *at, const struct nu_link_spec *link,
		  struct cni_err *e)
{
	const struct ipvlan_conf *c = at->conf;

	return nu_ipvlan_create(at->nl, &(struct nu_ipvlan_spec){*link, c->mode_val, c->flags_val},
				e);
}

/* CHECK: the link's mode and flag are the configured ones. */
static int check(const struct cni_ctx *ctx, struct nu_nl *cont, const struct nu_link_info *cl,
		 struct cni_err *e)
{
	const struct ipvlan_conf *c = ctx->conf;
	uint16_t mode, fl;
	int r = nu_ipvlan_get(cont, ctx->env.ifname, &mode, &fl, e);

	(void)cl;
	if (r < 0)
		return r;
	if (mode != c->mode_val)
		return cni_fail(e, -EINVAL, 0,
				"Container IPVlan mode %s does not match expected value: %s",
				val_name(modes, N(modes), mode), val_name(modes, N(modes), c->mode_val));
	if (fl != c->flags_val)
		return cni_fail(e, -EINVAL, 0,
				"Container IPVlan flag %s does not match expected value: %s",
				val_name(flags, N(flags), fl), val_name(flags, N(flags), c->flags_val));
	return 0;
}

/*
 * The temporary name: "veth" and 8 hex digits, as the reference's random ones, but derived from
 * the attachment, so that DEL finds a link an ADD killed between creation and rename left.
 * Addresses: IPAM's, or prevResult's when chained. The shared MAC moves between hosts' views:
 * the addresses are announced on link up.
 */
static const struct pl_link_ops ops = {
	.link = {.kind = "ipvlan", .prefix = "veth", .hash = nu_tmpname_sha512, .create = create},
	.flags = PL_LINK_CHAINED_IPS,
	.on_master = &pl_link_master,
	.notify = NU_NOTIFY_ARP | NU_NOTIFY_NDISC,
	.master = master_name,
	.check = check,
};

const struct cni_plugin cni_main_plugin = {
	.name = "ipvlan",
	CNI_CONF(fields, struct ipvlan_conf),
	.conf_validate = ipvlan_validate,
	PL_LINK_VERBS,
	.ops = &ops,
};
