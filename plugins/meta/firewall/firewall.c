// SPDX-License-Identifier: Apache-2.0
/*
 * firewall: a chained plugin admitting forwarded traffic to and from the container's addresses
 * (prevResult's IPs) and applying an ingress policy to its bridge (prevResult.interfaces[0]).
 * Backends are an ops table: "nftables": the native layout of pkg/netutil/nft_firewall.c, rules
 * keyed by network, interface and container so DEL needs neither netns nor prevResult and GC
 * finds stale attachments' rules; the default (an empty or absent "backend", what podman
 * writes): the same, plus, where the host's iptables filter FORWARD drops, the reference's
 * accepts in CNI-FORWARD, keyed the same way (pkg/netutil/fwd.h); where iptables-legacy's
 * drops (nothing can be written there), the native rules and a warning on stderr;
 * "iptables": the reference's CNI-FORWARD/CNI-ADMIN layout, written natively as iptables-nft
 * does, removed by address on DEL as the reference does. "firewalld" needs a D-Bus firewalld this
 * suite does not talk to: ADD and CHECK refuse it naming the key, DEL and GC have nothing of ours
 * to remove and succeed. The result is prevResult. Versions 0.4.0 and later, as the reference.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cni/cni.h"
#include "netutil/firewall.h"
#include "netutil/fwd.h"
#include "netutil/nft.h"

struct fw_ops {
	const char *name;
	int (*add)(const struct nu_fw *f, struct cni_err *e);
	int (*del)(const struct nu_fw *f, struct cni_err *e);
	int (*check)(const struct nu_fw *f, struct cni_err *e);
};

/*
 * The default backend (absent or ""): the native layout, and where the host's iptables filter
 * FORWARD drops (Docker's policy, hardened hosts), the reference's accepts in its CNI-FORWARD
 * layout too, so traffic passes wherever the reference's would (pkg/netutil/fwd.h). Decided at
 * ADD; CHECK probes again and names a missing accept (Docker started later, a firewall reload
 * flushed the ruleset); ADD again restores them.
 */
#define FW_MAX_ACCEPTS 64

/* The attachment's accepts (two per address) and its owner comment; how many accepts. */
static size_t fw_accepts(const struct nu_fw *f, struct nu_fwd_accept *a, char *owner)
{
	size_t n = 0;

	nu_fwd_comment(owner, "", f->net, f->ifname, f->cid);
	for (size_t i = 0; i < f->n && n + 2 <= FW_MAX_ACCEPTS; i++) {
		a[n++] = (struct nu_fwd_accept){.kind = NU_FWD_FROM, .ip = f->ips[i].ip};
		a[n++] = (struct nu_fwd_accept){.kind = NU_FWD_TO_EST, .ip = f->ips[i].ip};
	}
	return n;
}

static bool fw_has_family(const struct nu_fw *f, int af)
{
	for (size_t i = 0; i < f->n; i++)
		if (f->ips[i].ip.family == af)
			return true;
	return false;
}

static int fw_coexist(const struct nu_fw *f, bool check, struct cni_err *e)
{
	static const int afs[] = {AF_INET, AF_INET6};
	struct nu_fwd_accept a[FW_MAX_ACCEPTS];
	char owner[NU_FWD_COMMENT_MAX + 1];
	size_t n = fw_accepts(f, a, owner);
	int r = 0;

	for (size_t i = 0; r == 0 && i < 2; i++) {
		if (!fw_has_family(f, afs[i]))
			continue;
		r = check ? nu_fwd_verify(afs[i], owner, f->admin_chain, a, n, e)
			  : nu_fwd_sync(afs[i], owner, f->admin_chain, a, n, e);
		/* legacy iptables drops: as before this check, the native rules, and a warning */
		if (r == -EOPNOTSUPP) {
			fprintf(stderr, "firewall: warning: forwarded traffic dropped: %s\n", e->msg);
			cni_err_clear(e);
			r = 0;
		}
	}
	return r;
}

static int fw_nft_del(const struct nu_fw *f, struct cni_err *e);

/*
 * A failed first ADD leaves none of the attachment's rules behind; a failed ADD again (`podman
 * network reload` of a running container) leaves the rules it found in place.
 */
static int fw_auto_add(const struct nu_fw *f, struct cni_err *e)
{
	struct cni_err ignored = {0};
	bool had = nu_fw_check(f, &ignored) == 0;
	int r;

	cni_err_clear(&ignored);
	r = nu_fw_add(f, e);
	if (r == 0 && (r = fw_coexist(f, false, e)) < 0) {
		r = cni_wrap(e, r, "firewall: iptables FORWARD");
		if (!had)
			fw_nft_del(f, &ignored);
		cni_err_clear(&ignored);
	}
	return r;
}

static int fw_auto_check(const struct nu_fw *f, struct cni_err *e)
{
	int r = nu_fw_check(f, e);

	if (r == 0 && (r = fw_coexist(f, true, e)) < 0)
		r = cni_wrap(e, r, "firewall: iptables FORWARD");
	return r;
}

/* The native rules and any accepts an ADD of the default backend left in CNI-FORWARD. */
static int fw_nft_del(const struct nu_fw *f, struct cni_err *e)
{
	char owner[NU_FWD_COMMENT_MAX + 1];
	int r = nu_fw_del(f, e);

	*strchr(nu_fwd_comment(owner, "", f->net, f->ifname, f->cid), ',') = '\0';
	if (r == 0)
		r = nu_fwd_del(nu_fwd_match_prefix, owner, e);
	return r;
}

static const struct fw_ops auto_ops = {"", fw_auto_add, fw_nft_del, fw_auto_check};
static const struct fw_ops nft_ops = {"nftables", nu_fw_add, fw_nft_del, nu_fw_check};
static const struct fw_ops ipt_ops = {"iptables", nu_fw_ipt_add, nu_fw_ipt_del, nu_fw_ipt_check};

struct fw_conf {
	char *backend;
	char *admin_chain;
	char *zone;
	char *ingress_policy;

	/* derived by fw_validate() */
	const struct fw_ops *ops; /* NULL: firewalld */
	enum nu_fw_policy policy;
};

#define F(k, t, m, ...) CNI_FIELD(k, struct fw_conf, t, m, __VA_ARGS__)
static const struct cni_field fields[] = {
	F("backend", CNI_F_STR, backend),
	F("iptablesAdminChainName", CNI_F_STR, admin_chain),
	F("firewalldZone", CNI_F_STR, zone),
	F("ingressPolicy", CNI_F_STR, ingress_policy),
	CNI_FIELD_END,
};

static int fw_validate(struct cni_ctx *ctx, void *conf, struct cni_err *e)
{
	static const char *const policies[] = {"open", "same-bridge", "isolated"};
	struct fw_conf *c = conf;
	const char *b = c->backend ? c->backend : "";
	const char *p = c->ingress_policy ? c->ingress_policy : "";
	size_t i;

	if (!*b) {
		c->ops = &auto_ops;
	} else if (!strcmp(b, "nftables")) {
		c->ops = &nft_ops;
	} else if (!strcmp(b, "iptables")) {
		c->ops = &ipt_ops;
	} else if (!strcmp(b, "firewalld")) {
		c->ops = NULL;
		if (ctx->env.cmd == CNI_CMD_ADD || ctx->env.cmd == CNI_CMD_CHECK)
			return cni_fail(e, -ENOTSUP, CNI_ERR_INVALID_CONFIG,
					"backend \"firewalld\" is not available: this plugin does "
					"not talk to firewalld over D-Bus; use backend \"nftables\" "
					"(the default) or \"iptables\"");
	} else {
		return cni_fail(e, -EINVAL, CNI_ERR_INVALID_CONFIG,
				"unknown backend \"%s\": want \"nftables\" (the default), "
				"\"iptables\" or \"firewalld\"",
				b);
	}
	if (!c->admin_chain || !*c->admin_chain)
		c->admin_chain = "CNI-ADMIN";
	if (strlen(c->admin_chain) > NU_FW_IPT_CHAIN_MAX)
		return cni_fail(e, -EINVAL, CNI_ERR_INVALID_CONFIG,
				"iptablesAdminChainName \"%s\" is longer than %d characters",
				c->admin_chain, NU_FW_IPT_CHAIN_MAX);
	c->policy = NU_FW_OPEN;
	for (i = 0; *p && i < sizeof(policies) / sizeof(policies[0]); i++)
		if (!strcmp(p, policies[i]))
			break;
	c->policy = (enum nu_fw_policy)(*p ? i : 0);
	if (*p && i == sizeof(policies) / sizeof(policies[0]))
		return cni_fail(e, -EINVAL, CNI_ERR_INVALID_CONFIG, "unknown ingress policy: \"%s\"",
				p);
	return 0;
}

/* The attachment from the context and prevResult (NULL: no addresses, no bridge). */
static int fw_from_ctx(struct cni_ctx *ctx, struct nu_fw *f, bool need_bridge, struct cni_err *e)
{
	const struct fw_conf *c = ctx->conf;
	const struct cni_result *prev = ctx->net.prev;
	struct cni_prefix *ips;

	memset(f, 0, sizeof(*f));
	f->net = ctx->net.name;
	f->ifname = ctx->env.ifname;
	f->cid = ctx->env.container_id;
	f->admin_chain = c->admin_chain;
	f->policy = c->policy;
	if (!prev)
		return 0;
	ips = cni_alloc((prev->n_ips + 1) * sizeof(*ips));
	for (size_t i = 0; i < prev->n_ips; i++)
		ips[i] = prev->ips[i].address;
	f->ips = ips;
	f->n = prev->n_ips;
	if (!need_bridge)
		f->policy = NU_FW_OPEN; /* DEL: policy rules are shared and stay */
	if (f->policy == NU_FW_OPEN)
		return 0;
	if (!prev->n_ifaces)
		return cni_fail(e, -EINVAL, CNI_ERR_INVALID_CONFIG,
				"interface needs to be set for ingress policy \"%s\", make sure to "
				"chain \"firewall\" plugin with \"bridge\"",
				c->ingress_policy);
	f->bridge = prev->ifaces[0].name;
	if (!f->bridge || !*f->bridge)
		return cni_fail(e, -EINVAL, CNI_ERR_INVALID_CONFIG, "got empty bridge name");
	/* bridge's result: bridge, host veth, container interface (the one with a sandbox) */
	for (size_t i = 1; i < prev->n_ifaces && !f->port; i++)
		if (!prev->ifaces[i].sandbox && prev->ifaces[i].name && *prev->ifaces[i].name)
			f->port = prev->ifaces[i].name;
	return 0;
}

static int fw_add(struct cni_ctx *ctx, struct cni_result *res, struct cni_err *e)
{
	const struct fw_conf *c = ctx->conf;
	struct nu_fw f;
	int r;

	if (!ctx->net.prev)
		return cni_fail(e, -EINVAL, CNI_ERR_INVALID_CONFIG,
				"missing prevResult from earlier plugin");
	r = fw_from_ctx(ctx, &f, true, e);
	if (r < 0)
		return r;
	r = c->ops->add(&f, e);
	if (r < 0)
		return r;
	*res = *ctx->net.prev;
	return 0;
}

static int fw_del(struct cni_ctx *ctx, struct cni_err *e)
{
	const struct fw_conf *c = ctx->conf;
	struct nu_fw f;

	if (!c->ops)
		return 0; /* firewalld: nothing of ours */
	fw_from_ctx(ctx, &f, false, e);
	/* the iptables layout has no owner on its rules: without addresses there is nothing to find */
	if (c->ops == &ipt_ops && !f.n)
		return 0;
	return c->ops->del(&f, e);
}

static int fw_check(struct cni_ctx *ctx, struct cni_err *e)
{
	const struct fw_conf *c = ctx->conf;
	struct nu_fw f;
	int r;

	if (!ctx->net.prev)
		return cni_fail(e, -EINVAL, CNI_ERR_INVALID_CONFIG,
				"missing prevResult from earlier plugin");
	r = fw_from_ctx(ctx, &f, true, e);
	if (r < 0)
		return r;
	return c->ops->check(&f, e);
}

/*
 * Native rules and the default backend's accepts are keyed by network: ours to collect whatever
 * the backend is now.
 */
static int fw_gc(struct cni_ctx *ctx, struct cni_err *e)
{
	const struct cni_attachment *v = ctx->net.valid_atts.v;
	size_t n = ctx->net.valid_atts.n;
	int r = nu_fw_gc(ctx->net.name, v, n, e);

	return r ? r : nu_fwd_gc("", ctx->net.name, v, n, e);
}

static int fw_status(struct cni_ctx *ctx, struct cni_err *e)
{
	const struct fw_conf *c = ctx->conf;
	int r;

	if (!c->ops)
		return cni_fail(e, -ENOTSUP, CNI_ERR_NOT_AVAILABLE,
				"backend \"firewalld\" is not available");
	r = nu_nft_available();
	if (r < 0)
		return cni_fail(e, r, CNI_ERR_NOT_AVAILABLE, "nftables is not available: %s",
				strerror(-r));
	return 0;
}

static const struct cni_plugin firewall = {
	.name = "firewall",
	.min_version = CNI_V040,
	.fields = fields,
	.conf_size = sizeof(struct fw_conf),
	.conf_validate = fw_validate,
	.add = fw_add,
	.del = fw_del,
	.check = fw_check,
	.status = fw_status,
	.gc = fw_gc,
};

int main(int argc, char **argv)
{
	return cni_main(&firewall, argc, argv);
}
