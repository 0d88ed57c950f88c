// SPDX-License-Identifier: Apache-2.0
/*
 * firewall: a chained plugin admitting forwarded traffic to and from the container's addresses
 * (prevResult's IPs) and applying an ingress policy to its bridge (prevResult.interfaces[0]).
 * Backends are an ops table: "nftables": the native layout of nft.c, rules
 * keyed by network, interface and container so DEL needs neither netns nor prevResult and GC
 * finds stale attachments' rules; the default (an empty or absent "backend", what podman
 * writes): the same, plus, where the host's iptables filter FORWARD drops, the reference's
 * accepts in CNI-FORWARD, keyed the same way (pkg/nft/fwd.h), in iptables-nft's and/or
 * iptables-legacy's filter table, whichever drops; "iptables": the reference's
 * CNI-FORWARD/CNI-ADMIN layout, written natively as iptables-nft does, removed by address on DEL
 * as the reference does, and where iptables-legacy's FORWARD drops the same accepts there, keyed
 * as the default backend's. "firewalld": the reference's D-Bus backend (firewalld.c), the
 * addresses made sources of firewalldZone; the default backend adds them too when firewalld runs
 * (see fw_fwd_add()). The result is prevResult. Versions 0.4.0 and later, as the reference.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cni/cni.h"
#include "firewalld.h"
#include "firewall.h"
#include "nft/fwd.h"
#include "nft/nft.h"

struct fw_ops {
	const char *name;
	int (*add)(const struct nu_fw *f, struct cni_err *e);
	int (*del)(const struct nu_fw *f, struct cni_err *e);
	int (*check)(const struct nu_fw *f, struct cni_err *e);
};

/*
 * The default backend (absent or ""): the native layout, and where the host's iptables filter
 * FORWARD drops (Docker's policy, hardened hosts), the reference's accepts in its CNI-FORWARD
 * layout too, so traffic passes wherever the reference's would (pkg/nft/fwd.h). Decided at
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

static int fw_coexist(const struct nu_fw *f, unsigned int where, bool check, struct cni_err *e)
{
	static const int afs[] = {AF_INET, AF_INET6};
	struct nu_fwd_accept a[FW_MAX_ACCEPTS];
	char owner[NU_FWD_COMMENT_MAX + 1];
	size_t n = fw_accepts(f, a, owner);
	int r = 0;

	for (size_t i = 0; r == 0 && i < 2; i++) {
		if (!fw_has_family(f, afs[i]))
			continue;
		r = check ? nu_fwd_verify(afs[i], where, owner, f->admin_chain, a, n, e)
			  : nu_fwd_sync(afs[i], where, owner, f->admin_chain, a, n, e);
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
	if (r == 0 && (r = fw_coexist(f, NU_FWD_ANY, false, e)) < 0) {
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

	if (r == 0 && (r = fw_coexist(f, NU_FWD_ANY, true, e)) < 0)
		r = cni_wrap(e, r, "firewall: iptables FORWARD");
	return r;
}

/* The accepts an ADD of the default backend (or "iptables" on legacy) left in CNI-FORWARD. */
static int fw_accepts_del(const struct nu_fw *f, struct cni_err *e)
{
	char owner[NU_FWD_COMMENT_MAX + 1];

	*strchr(nu_fwd_comment(owner, "", f->net, f->ifname, f->cid), ',') = '\0';
	return nu_fwd_del(nu_fwd_match_prefix, owner, e);
}

/* The native rules and any accepts an ADD of the default backend left in CNI-FORWARD. */
static int fw_nft_del(const struct nu_fw *f, struct cni_err *e)
{
	int r = nu_fw_del(f, e);

	return r < 0 ? r : fw_accepts_del(f, e);
}

/*
 * "iptables": the reference's layout in iptables-nft's filter table, and where iptables-legacy's
 * FORWARD drops (a host whose iptables is legacy, as the reference would write there), the
 * accepts there too, owned by the attachment so DEL finds them without addresses.
 */
static int fw_ipt_add(const struct nu_fw *f, struct cni_err *e)
{
	struct cni_err ignored = {0};
	int r = nu_fw_ipt_add(f, e);

	if (r == 0 && (r = fw_coexist(f, NU_FWD_LEGACY, false, e)) < 0) {
		r = cni_wrap(e, r, "firewall: iptables-legacy FORWARD");
		nu_fw_ipt_del(f, &ignored);
		cni_err_clear(&ignored);
		fw_accepts_del(f, &ignored);
		cni_err_clear(&ignored);
	}
	return r;
}

static int fw_ipt_del(const struct nu_fw *f, struct cni_err *e)
{
	/* the iptables layout has no owner on its rules: without addresses there is nothing to find */
	int r = f->n ? nu_fw_ipt_del(f, e) : 0;

	return r < 0 ? r : fw_accepts_del(f, e);
}

static int fw_ipt_check(const struct nu_fw *f, struct cni_err *e)
{
	int r = nu_fw_ipt_check(f, e);

	if (r == 0 && (r = fw_coexist(f, NU_FWD_LEGACY, true, e)) < 0)
		r = cni_wrap(e, r, "firewall: iptables-legacy FORWARD");
	return r;
}

static const struct fw_ops auto_ops = {"", fw_auto_add, fw_nft_del, fw_auto_check};
static const struct fw_ops nft_ops = {"nftables", nu_fw_add, fw_nft_del, nu_fw_check};
static const struct fw_ops ipt_ops = {"iptables", fw_ipt_add, fw_ipt_del, fw_ipt_check};

/* Whether firewalld takes part (fw_fwd_add()): never, when it runs (the default), required. */
enum fw_fwd { FW_FWD_NO, FW_FWD_IF_RUNNING, FW_FWD_REQUIRED };

struct fw_conf {
	char *backend;
	char *admin_chain;
	char *zone;
	char *ingress_policy;

	/* derived by fw_validate() */
	const struct fw_ops *ops; /* the kernel's rules; NULL: none ("firewalld", policy open) */
	enum fw_fwd fwd;
	enum nu_fw_policy policy;
};

#define F(k, t, m, ...) CNI_FIELD(k, struct fw_conf, t, m, __VA_ARGS__)
static const struct cni_field fields[] = {
	F("backend", CNI_F_STR, backend,
	  .help = "nftables, iptables, firewalld; absent: nftables and CNI-FORWARD accepts if needed"),
	F("iptablesAdminChainName", CNI_F_STR, admin_chain,
	  .help = "iptables backend: the admin chain evaluated first (default CNI-ADMIN)"),
	F("firewalldZone", CNI_F_STR, zone,
	  .help = "firewalld: the zone the container's IPs join (default trusted)"),
	F("ingressPolicy", CNI_F_STR, ingress_policy,
	  .help = "open (default), same-bridge or isolated: who may reach the container"),
	CNI_FIELD_END,
};

static int fw_validate(struct cni_ctx *ctx, void *conf, struct cni_err *e)
{
	static const char *const policies[] = {"open", "same-bridge", "isolated"};
	struct fw_conf *c = conf;
	const char *b = c->backend ? c->backend : "";
	const char *p = c->ingress_policy ? c->ingress_policy : "";
	size_t i;

	(void)ctx;
	if (!*b) {
		c->ops = &auto_ops;
		c->fwd = FW_FWD_IF_RUNNING;
	} else if (!strcmp(b, "nftables")) {
		c->ops = &nft_ops;
	} else if (!strcmp(b, "iptables")) {
		c->ops = &ipt_ops;
	} else if (!strcmp(b, "firewalld")) {
		c->fwd = FW_FWD_REQUIRED; /* with a policy, also the native rules (below) */
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
	if (c->fwd == FW_FWD_REQUIRED)
		c->ops = c->policy == NU_FW_OPEN ? NULL : &nft_ops;
	if (!c->zone || !*c->zone)
		c->zone = "trusted";
	return 0;
}

/*
 * firewalld (firewalld.c), as the reference's "firewalld" backend: the attachment's addresses
 * become sources of firewalldZone ("trusted"), so firewalld's own rules (table inet firewalld,
 * or its iptables chains), which reject forwarded traffic of other sources, let them through.
 * Backend "firewalld" requires it (with an ingress policy, the native rules carry the policy);
 * the default backend asks the bus at every ADD, CHECK and DEL and, when firewalld owns its
 * name (the reference's default then is firewalld), adds the sources in front of its own rules.
 * Sources are firewalld's runtime state: a reload of firewalld drops them, CHECK names the
 * missing one, ADD again restores it. A source names no owner: GC leaves firewalld alone, as the
 * reference has no GC for it.
 */

/*
 * 1 with *@bus open when firewalld takes part; 0 when not (no bus, firewalld not running, or, for
 * the default backend, a bus that does not answer: a warning, then as without firewalld); <0
 * with @e when backend "firewalld" finds no firewalld (try again later).
 */
static int fw_fwd_open(const struct fw_conf *c, struct fwd **bus, struct cni_err *e)
{
	struct cni_err w = {0};
	int r = fwd_open(bus, &w);
	bool no_bus = r == 0 && !*bus;

	if (r == 0 && *bus)
		r = fwd_running(*bus, &w);
	if (r == 1)
		return 1;
	fwd_close(*bus);
	*bus = NULL;
	if (c->fwd == FW_FWD_IF_RUNNING) {
		if (r < 0)
			fprintf(stderr,
				"firewall: warning: firewalld not asked, going on without it: %s\n",
				w.msg);
		return 0;
	}
	if (r < 0)
		return cni_fail(e, r, CNI_ERR_TRY_LATER, "backend \"firewalld\": %s", w.msg);
	return cni_fail(e, -ESRCH, CNI_ERR_TRY_LATER,
			"backend \"firewalld\": firewalld is not running (%s)",
			no_bus ? "no D-Bus system bus"
			       : "org.fedoraproject.FirewallD1 has no owner on the system bus");
}

/* firewalld's source for an address: "10.88.0.2/32", "fd00::2/128". */
static const char *fw_source(const struct cni_ip *ip, char buf[CNI_PREFIX_STRLEN])
{
	char a[CNI_IP_STRLEN];

	snprintf(buf, CNI_PREFIX_STRLEN, "%s/%u", cni_ip_str(ip, a), cni_ip_bits(ip));
	return buf;
}

/* A failed ADD removes the sources it added (not those already set: a running container's). */
static int fw_fwd_add(const struct fw_conf *c, const struct nu_fw *f, struct cni_err *e)
{
	struct cni_err ignored = {0};
	char src[CNI_PREFIX_STRLEN];
	struct fwd *bus;
	bool *added;
	int r = fw_fwd_open(c, &bus, e);

	if (r <= 0)
		return r < 0 ? r : c->ops->add(f, e);
	added = cni_alloc(f->n + 1);
	memset(added, 0, f->n + 1);
	for (size_t i = 0; r >= 0 && i < f->n; i++) {
		r = fwd_source(bus, FWD_ADD_SOURCE, c->zone, fw_source(&f->ips[i].ip, src), e);
		added[i] = r == 1;
	}
	if (r >= 0 && c->ops)
		r = c->ops->add(f, e);
	for (size_t i = 0; r < 0 && i < f->n; i++)
		if (added[i])
			fwd_source(bus, FWD_REMOVE_SOURCE, c->zone, fw_source(&f->ips[i].ip, src),
				   &ignored);
	fwd_close(bus);
	return r < 0 ? r : 0;
}

/* As the reference: removeSource's errors are ignored, and no firewalld means nothing to remove. */
static int fw_fwd_del(const struct fw_conf *c, const struct nu_fw *f, struct cni_err *e)
{
	struct cni_err ignored = {0};
	char src[CNI_PREFIX_STRLEN];
	struct fwd *bus = NULL;

	if (f->n && fw_fwd_open(c, &bus, &ignored) == 1)
		for (size_t i = 0; i < f->n; i++)
			fwd_source(bus, FWD_REMOVE_SOURCE, c->zone, fw_source(&f->ips[i].ip, src),
				   &ignored);
	fwd_close(bus);
	return c->ops ? c->ops->del(f, e) : 0;
}

/* A failed querySource is an error, and so (unlike the reference) is a source not bound. */
static int fw_fwd_check(const struct fw_conf *c, const struct nu_fw *f, struct cni_err *e)
{
	char src[CNI_PREFIX_STRLEN];
	struct fwd *bus;
	int r = fw_fwd_open(c, &bus, e);

	if (r <= 0)
		return r < 0 ? r : c->ops->check(f, e);
	for (size_t i = 0; r >= 0 && i < f->n; i++) {
		r = fwd_source(bus, FWD_QUERY_SOURCE, c->zone, fw_source(&f->ips[i].ip, src), e);
		if (r == 0)
			r = cni_fail(e, -ENOENT, 0,
				     "firewalld: source \"%s\" is not in zone \"%s\" (firewalld "
				     "reloaded?); ADD again restores it",
				     src, c->zone);
	}
	fwd_close(bus);
	if (r >= 0 && c->ops)
		r = c->ops->check(f, e);
	return r < 0 ? r : 0;
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

/* ADD and CHECK: prevResult, then the attachment with its bridge. */
static int fw_chained(struct cni_ctx *ctx, struct nu_fw *f, struct cni_err *e)
{
	if (!ctx->net.prev)
		return cni_fail(e, -EINVAL, CNI_ERR_INVALID_CONFIG,
				"missing prevResult from earlier plugin");
	return fw_from_ctx(ctx, f, true, e);
}

static int fw_add(struct cni_ctx *ctx, struct cni_result *res, struct cni_err *e)
{
	const struct fw_conf *c = ctx->conf;
	struct nu_fw f;
	int r = fw_chained(ctx, &f, e);

	if (r == 0)
		r = c->fwd != FW_FWD_NO ? fw_fwd_add(c, &f, e) : c->ops->add(&f, e);
	if (r < 0)
		return r;
	*res = *ctx->net.prev;
	return 0;
}

static int fw_del(struct cni_ctx *ctx, struct cni_err *e)
{
	const struct fw_conf *c = ctx->conf;
	struct nu_fw f;

	fw_from_ctx(ctx, &f, false, e);
	if (c->fwd != FW_FWD_NO)
		return fw_fwd_del(c, &f, e);
	return c->ops->del(&f, e);
}

static int fw_check(struct cni_ctx *ctx, struct cni_err *e)
{
	const struct fw_conf *c = ctx->conf;
	struct nu_fw f;
	int r = fw_chained(ctx, &f, e);

	if (r < 0)
		return r;
	return c->fwd != FW_FWD_NO ? fw_fwd_check(c, &f, e) : c->ops->check(&f, e);
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

	if (c->fwd == FW_FWD_REQUIRED) {
		struct fwd *bus;

		r = fw_fwd_open(c, &bus, e);
		fwd_close(bus);
		if (r < 0)
			e->code = CNI_ERR_NOT_AVAILABLE;
		if (r < 0 || !c->ops)
			return r < 0 ? r : 0;
	}
	r = nu_nft_available();
	if (r < 0)
		return cni_fail(e, r, CNI_ERR_NOT_AVAILABLE, "nftables is not available: %s",
				strerror(-r));
	return 0;
}

const struct cni_plugin cni_main_plugin = {
	.name = "firewall",
	.min_version = CNI_V040,
	CNI_CONF(fields, struct fw_conf),
	.conf_validate = fw_validate,
	CNI_VERBS(fw),
	.status = fw_status,
	.gc = fw_gc,
};
