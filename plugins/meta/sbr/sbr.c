// SPDX-License-Identifier: Apache-2.0
/*
 * sbr: source-based routing for a container with several interfaces, as the reference plugin
 * does. Chained (prevResult required). For every address of CNI_IFNAME in prevResult (or without
 * an interface index), inside the container netns: a rule "from <ip>/32 (/128) lookup <T>" where T
 * is the first table from 100 that no rule or route uses (one table per address); a default route
 * via the gateway (the configured "gateways" entry of the family, else the address's gateway) in
 * T; the interface's main-table routes whose source or gateway is in the address's subnet, or that
 * have neither, copied into T with every attribute; then those routes removed from the main table
 * (with addSourceHints: link routes stay there, subnet routes with the address as source hint).
 * With "table" set only the rules are added, to that table. Serialised by an flock on the netns
 * file, as the reference (so both implementations exclude each other). prevResult passes through.
 * ADD is retry-safe: an address that already has its rule keeps that rule's table.
 * DEL deletes the rules whose source is an address of the interface (only those to "table" when
 * set) and, in automatic mode, the interface's routes in the tables those rules pointed to when no
 * other rule uses them; a missing netns or interface is success (the reference fails on a missing
 * netns). Main-table routes are not put back: the main plugin's DEL, next in the chain, deletes the
 * interface. CHECK (a no-op upstream) verifies that every address has its rule and, in automatic
 * mode, that its table routes through the interface, with the default route when there is a
 * gateway.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>

#include "cni/cni.h"
#include "netutil/netutil.h"
#include "netutil/rule.h"

#define FIRST_TABLE 100

struct sbr_conf {
	int table;
	bool table_seen;
	struct cni_vec gateways; /* struct cni_ip */
	bool add_source_hints;

	/* derived by sbr_validate() */
	struct cni_ip gw4, gw6;
};

static const struct cni_field gw_elem = {.type = CNI_F_IP};

#define F(k, t, m, ...) CNI_FIELD(k, struct sbr_conf, t, m, __VA_ARGS__)
static const struct cni_field fields[] = {
	F("table", CNI_F_INT, table, .min = 1, .max = INT_MAX, CNI_SEEN(struct sbr_conf, table_seen),
	  .help = "only add source rules, to this routing table (routes untouched)"),
	F("gateways", CNI_F_ARRAY, gateways, .sub = &gw_elem, .elem_size = sizeof(struct cni_ip),
	  .help = "gateway per family (at most one IPv4, one IPv6) over prevResult's"),
	F("addSourceHints", CNI_F_BOOL, add_source_hints,
	  .help = "keep the subnet routes in main with a source hint"),
	CNI_FIELD_END,
};

static int sbr_validate(struct cni_ctx *ctx, void *conf, struct cni_err *e)
{
	struct sbr_conf *c = conf;
	const struct cni_ip *gw = c->gateways.v;

	(void)ctx;
	for (size_t i = 0; i < c->gateways.n; i++) {
		struct cni_ip *slot = gw[i].family == AF_INET ? &c->gw4 : &c->gw6;

		if (slot->family)
			return cni_fail(e, -EINVAL, CNI_ERR_INVALID_CONFIG,
					"only one IPv%c gateway may be set in \"gateways\"",
					gw[i].family == AF_INET ? '4' : '6');
		*slot = gw[i];
	}
	return 0;
}

/* The addresses sbr works on: those of CNI_IFNAME, or without an interface index, as the
 * reference (an index out of range counts as a match there too). */
static size_t sbr_ips(const struct cni_ctx *ctx, const struct cni_ipcfg **out)
{
	const struct cni_result *prev = ctx->net.prev;
	size_t n = 0;

	for (size_t i = 0; i < prev->n_ips; i++) {
		int k = prev->ips[i].iface;

		if (k >= 0 && (size_t)k < prev->n_ifaces && prev->ifaces[k].name &&
		    strcmp(prev->ifaces[k].name, ctx->env.ifname))
			continue;
		out[n++] = &prev->ips[i];
	}
	return n;
}

static struct cni_prefix host_prefix(const struct cni_ip *ip)
{
	return (struct cni_prefix){.ip = *ip, .len = (uint8_t)cni_ip_bits(ip)};
}

static bool rule_from(const struct nu_rule *r, const struct cni_ip *ip)
{
	return r->action == NU_FR_ACT_TO_TBL && !r->has_selectors && r->src.ip.family &&
	       r->src.len == cni_ip_bits(ip) && cni_ip_eq(&r->src.ip, ip);
}

/* The container netns, locked (flock on the netns file, as the reference's filemutex). */
static int netns_lock(struct cni_ctx *ctx, int *fd, struct cni_err *e)
{
	int r = nu_netns_open(ctx->env.netns, fd, e);

	if (r < 0)
		return r;
	if (flock(*fd, LOCK_EX) < 0)
		return cni_fail(e, -errno, 0, "locking netns \"%s\": %m", ctx->env.netns);
	return 0;
}

/* ADD's and CHECK's start: the locked netns, a socket in it and CNI_IFNAME's index (or -errno). */
static int open_iface(struct cni_ctx *ctx, int *netns_fd, struct nu_nl **nl, struct cni_err *e)
{
	int r = netns_lock(ctx, netns_fd, e);

	if (r < 0)
		return cni_wrap(e, r, "failed to open netns \"%s\"", ctx->env.netns);
	r = nu_nl_open(nl, *netns_fd, e);
	if (r < 0)
		return r;
	r = nu_link_index(*nl, ctx->env.ifname);
	if (r < 0)
		return cni_fail(e, r, 0, "Cannot find network interface %s: %s", ctx->env.ifname,
				strerror(-r));
	return r;
}

struct tables {
	struct nu_rule *rules;
	size_t nrules;
	struct nu_route *routes;
	size_t nroutes;
};

static void tables_free(struct tables *t)
{
	free(t->rules);
	free(t->routes);
}

static bool table_used(const struct tables *t, int table)
{
	for (size_t i = 0; i < t->nrules; i++)
		if ((int)t->rules[i].table == table)
			return true;
	for (size_t i = 0; i < t->nroutes; i++)
		if (t->routes[i].table == table)
			return true;
	return false;
}

static int next_table(const struct tables *t, int from)
{
	while (table_used(t, from))
		from++;
	return from;
}

/* ---- ADD ------------------------------------------------------------------------------------- */

/* Copy into @table the main-table routes of the interface that belong to @ipc. */
static int copy_routes(struct nu_nl *nl, const struct cni_ipcfg *ipc, const struct nu_route_rec *v,
		       size_t n, int table, struct cni_err *e)
{
	for (size_t i = 0; i < n; i++) {
		const struct nu_route_rec *x = &v[i];
		bool src_in = x->prefsrc.family && cni_prefix_contains(&ipc->address, &x->prefsrc);
		bool gw_in = x->r.gw.family && cni_prefix_contains(&ipc->address, &x->r.gw);
		int r;

		if (!src_in && !gw_in && (x->prefsrc.family || x->r.gw.family))
			continue;
		r = nu_route_rec_put(nl, x, table, NULL, e);
		if (r < 0)
			return r;
	}
	return 0;
}

/* The main table after the copy: routes removed, or with addSourceHints link routes kept and
 * subnet routes given the address as preferred source. */
static int tidy_main(struct nu_nl *nl, const struct sbr_conf *c, const struct cni_ipcfg **ips,
		     size_t nips, const struct nu_route_rec *v, size_t n, struct cni_err *e)
{
	for (size_t i = 0; i < n; i++) {
		const struct nu_route_rec *x = &v[i];
		const struct cni_ip *hint = NULL;
		int r;

		if (c->add_source_hints && !x->r.gw.family) {
			for (size_t k = 0; k < nips && !hint; k++)
				if (ips[k]->address.ip.family == x->r.dst.ip.family &&
				    ips[k]->address.len == x->r.dst.len &&
				    cni_prefix_contains(&x->r.dst, &ips[k]->address.ip))
					hint = &ips[k]->address.ip;
			r = hint ? nu_route_rec_put(nl, x, NU_RT_TABLE_MAIN, hint, e) : 0;
		} else {
			r = nu_route_rec_del(nl, x, e);
		}
		if (r < 0)
			return r;
	}
	return 0;
}

static int sbr_add(struct cni_ctx *ctx, struct cni_result *res, struct cni_err *e)
{
	const struct sbr_conf *c = ctx->conf;
	const struct cni_result *prev = ctx->net.prev;
	_nu_nl_cleanup_ struct nu_nl *nl = NULL;
	_nu_fd_cleanup_ int netns_fd = -1;
	const struct cni_ipcfg **ips;
	struct nu_route_rec *main_routes = NULL;
	struct tables t = {0};
	size_t nips, nmain = 0;
	int r, ifindex, table;

	if (!prev)
		return cni_fail(e, -EINVAL, CNI_ERR_INVALID_CONFIG,
				"This plugin must be called as chained plugin");
	*res = *cni_result_copy(prev);
	if (!prev->n_ips)
		return cni_fail(e, -EINVAL, 0, "No IP addresses supplied on interface: %s",
				ctx->env.ifname);
	ips = cni_alloc(prev->n_ips * sizeof(*ips));
	nips = sbr_ips(ctx, ips);

	ifindex = open_iface(ctx, &netns_fd, &nl, e);
	if (ifindex < 0)
		return ifindex;
	r = nu_rule_list(nl, AF_UNSPEC, &t.rules, &t.nrules, e);
	if (r < 0)
		goto out;

	if (c->table_seen) {
		for (size_t i = 0; i < nips && r == 0; i++) {
			struct nu_rule want = {.family = ips[i]->address.ip.family,
					       .src = host_prefix(&ips[i]->address.ip),
					       .table = (uint32_t)c->table};
			bool have = false;

			for (size_t k = 0; k < t.nrules && !have; k++)
				have = rule_from(&t.rules[k], &ips[i]->address.ip) &&
				       t.rules[k].table == want.table;
			if (!have)
				r = nu_rule_add(nl, &want, e);
		}
		goto out;
	}

	r = nu_route_list(nl, AF_UNSPEC, 0, 0, &t.routes, &t.nroutes, e);
	if (r == 0)
		r = nu_route_rec_list(nl, AF_UNSPEC, NU_RT_TABLE_MAIN, ifindex, &main_routes, &nmain, e);
	if (r < 0)
		goto out;
	table = next_table(&t, FIRST_TABLE);
	for (size_t i = 0; i < nips; i++) {
		const struct cni_ipcfg *ipc = ips[i];
		const struct cni_ip *gw = ipc->address.ip.family == AF_INET ? &c->gw4 : &c->gw6;
		struct nu_rule want = {.family = ipc->address.ip.family,
				       .src = host_prefix(&ipc->address.ip)};
		int this_table = table;
		bool have = false;

		/* a retried ADD: the address already has its rule, and its table */
		for (size_t k = 0; k < t.nrules && !have; k++)
			if (rule_from(&t.rules[k], &ipc->address.ip) && t.rules[k].table >= FIRST_TABLE) {
				this_table = (int)t.rules[k].table;
				have = true;
			}
		want.table = (uint32_t)this_table;
		if (!have && (r = nu_rule_add(nl, &want, e)) < 0)
			goto out;
		if (!gw->family)
			gw = &ipc->gateway;
		if (gw->family) {
			struct nu_route def = {.dst = cni_prefix_default(gw->family),
					       .gw = *gw,
					       .oif = ifindex,
					       .table = this_table,
					       .scope = -1};

			r = nu_route_add(nl, &def, e);
			if (r == -EEXIST) {
				cni_err_clear(e);
				r = 0;
			}
			if (r < 0) {
				char s[CNI_IP_STRLEN];

				cni_wrap(e, r, "Failed to add default route to %s",
					 cni_ip_str(gw, s));
				goto out;
			}
		}
		r = copy_routes(nl, ipc, main_routes, nmain, this_table, e);
		if (r < 0)
			goto out;
		if (this_table == table)
			table = next_table(&t, table + 1);
	}
	r = tidy_main(nl, c, ips, nips, main_routes, nmain, e);
out:
	nu_route_rec_free(main_routes, nmain);
	tables_free(&t);
	return r;
}

/* ---- DEL ------------------------------------------------------------------------------------- */

static int sbr_del(struct cni_ctx *ctx, struct cni_err *e)
{
	const struct sbr_conf *c = ctx->conf;
	_nu_nl_cleanup_ struct nu_nl *nl = NULL;
	_nu_fd_cleanup_ int netns_fd = -1;
	struct nu_addr *addrs = NULL;
	struct tables t = {0};
	size_t naddrs = 0;
	int r, ifindex;

	if (!ctx->env.netns || !*ctx->env.netns)
		return 0;
	r = netns_lock(ctx, &netns_fd, e);
	if (r == -ENOENT) {
		cni_err_clear(e);
		return 0; /* the netns is gone, and its rules with it */
	}
	if (r < 0)
		return r;
	r = nu_nl_open(&nl, netns_fd, e);
	if (r < 0)
		return r;
	ifindex = nu_link_index(nl, ctx->env.ifname);
	if (ifindex == -ENODEV)
		return 0;
	if (ifindex < 0)
		return cni_fail(e, ifindex, 0, "Failed to get link %s: %s", ctx->env.ifname,
				strerror(-ifindex));
	r = nu_addr_list(nl, ifindex, AF_UNSPEC, &addrs, &naddrs, e);
	if (r == 0)
		r = nu_rule_list(nl, AF_UNSPEC, &t.rules, &t.nrules, e);
	for (size_t i = 0; r == 0 && i < t.nrules; i++) {
		struct nu_rule *x = &t.rules[i];
		bool ours = false;

		if (c->table_seen && x->table != (uint32_t)c->table)
			continue;
		for (size_t k = 0; k < naddrs && !ours; k++)
			ours = x->src.ip.family && cni_ip_eq(&x->src.ip, &addrs[k].prefix.ip);
		if (ours)
			x->action = 0xff; /* ours: no longer holds its table */
	}
	/*
	 * Automatic tables: the interface's routes there, once no other rule points to the table;
	 * before the rules, which are how a DEL finds the table: a DEL killed in between leaves
	 * rules that the next DEL completes, never routes that nothing leads to.
	 */
	for (size_t i = 0; r == 0 && !c->table_seen && i < t.nrules; i++) {
		struct nu_route_rec *v = NULL;
		uint32_t tb = t.rules[i].table;
		bool held = false;
		size_t n = 0;

		if (t.rules[i].action != 0xff || tb < FIRST_TABLE || tb >= NU_RT_TABLE_COMPAT)
			continue;
		for (size_t k = 0; k < t.nrules && !held; k++)
			held = t.rules[k].action != 0xff && t.rules[k].table == tb;
		if (held)
			continue;
		r = nu_route_rec_list(nl, AF_UNSPEC, (int)tb, ifindex, &v, &n, e);
		for (size_t k = 0; r == 0 && k < n; k++)
			r = nu_route_rec_del(nl, &v[k], e);
		nu_route_rec_free(v, n);
	}
	for (size_t i = 0; r == 0 && i < t.nrules; i++)
		if (t.rules[i].action == 0xff)
			r = nu_rule_del(nl, &t.rules[i], e);
	free(addrs);
	tables_free(&t);
	return r;
}

/* ---- CHECK ----------------------------------------------------------------------------------- */

static int sbr_check(struct cni_ctx *ctx, struct cni_err *e)
{
	const struct sbr_conf *c = ctx->conf;
	_nu_nl_cleanup_ struct nu_nl *nl = NULL;
	_nu_fd_cleanup_ int netns_fd = -1;
	const struct cni_ipcfg **ips;
	struct tables t = {0};
	size_t nips;
	int r, ifindex;

	if (!ctx->net.prev)
		return cni_fail(e, -EINVAL, CNI_ERR_INVALID_CONFIG,
				"This plugin must be called as chained plugin");
	ips = cni_alloc((ctx->net.prev->n_ips + 1) * sizeof(*ips));
	nips = sbr_ips(ctx, ips);
	ifindex = open_iface(ctx, &netns_fd, &nl, e);
	if (ifindex < 0)
		return ifindex;
	r = nu_rule_list(nl, AF_UNSPEC, &t.rules, &t.nrules, e);
	for (size_t i = 0; r == 0 && i < nips; i++) {
		const struct cni_ipcfg *ipc = ips[i];
		const struct cni_ip *gw = ipc->address.ip.family == AF_INET ? &c->gw4 : &c->gw6;
		char s[CNI_IP_STRLEN];
		int table = -1;

		for (size_t k = 0; k < t.nrules && table < 0; k++)
			if (rule_from(&t.rules[k], &ipc->address.ip) &&
			    (c->table_seen ? t.rules[k].table == (uint32_t)c->table
					   : t.rules[k].table >= FIRST_TABLE))
				table = (int)t.rules[k].table;
		if (table < 0) {
			r = cni_fail(e, -ENOENT, 0, "no rule \"from %s\" to %s", cni_ip_str(&ipc->address.ip, s),
				     c->table_seen ? "the configured table" : "a table from 100");
			break;
		}
		if (c->table_seen)
			continue;
		free(t.routes);
		t.routes = NULL;
		r = nu_route_list(nl, ipc->address.ip.family, table, ifindex, &t.routes, &t.nroutes, e);
		if (r < 0)
			break;
		if (!gw->family)
			gw = &ipc->gateway;
		if (!t.nroutes)
			r = cni_fail(e, -ENOENT, 0, "table %d has no route through %s", table,
				     ctx->env.ifname);
		for (size_t k = 0; r == 0 && gw->family; k++) {
			if (k == t.nroutes) {
				r = cni_fail(e, -ENOENT, 0, "table %d has no default route via %s",
					     table, cni_ip_str(gw, s));
				break;
			}
			if (!t.routes[k].dst.len && cni_ip_eq(&t.routes[k].gw, gw))
				break;
		}
	}
	tables_free(&t);
	return r;
}

const struct cni_plugin cni_main_plugin = {
	.name = "sbr",
	CNI_CONF(fields, struct sbr_conf),
	.conf_validate = sbr_validate,
	CNI_VERBS(sbr),
};
