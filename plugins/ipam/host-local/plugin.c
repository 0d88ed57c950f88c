// SPDX-License-Identifier: Apache-2.0
/*
 * host-local: IPAM from range sets, one address per set, reservations kept as files under
 * <dataDir>/<network>/ in the reference plugin's exact format (store.c). No kernel objects.
 * ADD hands out one address per range set (requested ones from CNI_ARGS IP, args.cni.ips and
 * runtimeConfig.ips first) and releases everything it took when any part fails. DEL is
 * idempotent (unknown attachments succeed). CHECK succeeds when the attachment holds an address.
 * Beyond the reference: GC releases reservations of attachments not in the valid list, STATUS
 * answers 50 when every range set is exhausted.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hostlocal.h"

#define DEFAULT_DATA_DIR "/var/lib/cni/networks"

struct hl_route {
	struct cni_prefix dst;
	struct cni_ip gw;
	long long mtu, advmss, priority, table, scope;
	bool table_seen, scope_seen;
};

struct hl_ipam {
	struct hl_range legacy; /* the old single-range keys at the top of ipam */
	struct cni_vec ranges;	/* of struct hl_set */
	struct cni_vec routes;	/* of struct hl_route */
	char *data_dir;
	char *resolv_conf;
};

struct hl_conf {
	char *cni_version; /* as given: the reference's message prints "" when absent */
	struct hl_ipam ipam;
	bool ipam_seen;
	struct {
		struct cni_vec ip_ranges; /* of struct hl_set */
		struct cni_vec ips;	  /* of struct cni_prefix */
	} rt;
	struct {
		struct {
			struct cni_vec ips; /* of struct cni_prefix */
		} cni;
	} args;

	/* Derived by validation. */
	struct hl_set *sets;
	size_t n_sets;
	struct cni_ip *requested;
	size_t n_requested;
	const struct cni_ip **set_req; /* per set: the requested address it hands out, or NULL */
	const char *dir;
};

static const struct cni_field range_fields[] = {
    CNI_FIELD("subnet", struct hl_range, CNI_F_PREFIX, subnet,
      .help = "the range's subnet, a network address (required)"),
    CNI_FIELD("rangeStart", struct hl_range, CNI_F_IP, start,
      .help = "first address handed out (default: subnet's second)"),
    CNI_FIELD("rangeEnd", struct hl_range, CNI_F_IP, end,
      .help = "last address handed out (default: IPv4 broadcast-1, IPv6 last)"),
    CNI_FIELD("gateway", struct hl_range, CNI_F_IP, gw,
      .help = "gateway of the result, never handed out (default: subnet's first)"),
    CNI_FIELD_END,
};
static const struct cni_field range_elem = {.type = CNI_F_OBJ, .sub = range_fields};
static const struct cni_field set_elem = {
    .type = CNI_F_ARRAY, .sub = &range_elem, .elem_size = sizeof(struct hl_range)};

static const struct cni_field route_fields[] = {
    CNI_FIELD("dst", struct hl_route, CNI_F_PREFIX, dst, .flags = CNI_FF_REQUIRED,
      .help = "destination of a route of the result"),
    CNI_FIELD("gw", struct hl_route, CNI_F_IP, gw, .help = "the route's gateway"),
    CNI_FIELD("mtu", struct hl_route, CNI_F_INT, mtu, .help = "the route's MTU"),
    CNI_FIELD("advmss", struct hl_route, CNI_F_INT, advmss, .help = "the route's advertised MSS"),
    CNI_FIELD("priority", struct hl_route, CNI_F_INT, priority, .help = "the route's metric"),
    CNI_FIELD("table", struct hl_route, CNI_F_INT, table, CNI_SEEN(struct hl_route, table_seen),
      .help = "the route's table"),
    CNI_FIELD("scope", struct hl_route, CNI_F_INT, scope, CNI_SEEN(struct hl_route, scope_seen),
      .help = "the route's scope"),
    CNI_FIELD_END,
};
static const struct cni_field route_elem = {.type = CNI_F_OBJ, .sub = route_fields};
static const struct cni_field ip_elem = {.type = CNI_F_IPPREFIX};

static const struct cni_field ipam_fields[] = {
    CNI_FIELD("subnet", struct hl_ipam, CNI_F_PREFIX, legacy.subnet,
      .help = "old single-range form: a range set of its own before ranges"),
    CNI_FIELD("rangeStart", struct hl_ipam, CNI_F_IP, legacy.start,
      .help = "old single-range form: first address"),
    CNI_FIELD("rangeEnd", struct hl_ipam, CNI_F_IP, legacy.end,
      .help = "old single-range form: last address"),
    CNI_FIELD("gateway", struct hl_ipam, CNI_F_IP, legacy.gw,
      .help = "old single-range form: gateway"),
    CNI_FIELD("ranges", struct hl_ipam, CNI_F_ARRAY, ranges, .sub = &set_elem,
	      .elem_size = sizeof(struct hl_set),
	        .help = "range sets: one address is allocated from each set"),
    CNI_FIELD("routes", struct hl_ipam, CNI_F_ARRAY, routes, .sub = &route_elem,
	      .elem_size = sizeof(struct hl_route), .help = "routes of the result"),
    CNI_FIELD("dataDir", struct hl_ipam, CNI_F_STR, data_dir,
      .help = "the allocations (default /var/lib/cni/networks)"),
    CNI_FIELD("resolvConf", struct hl_ipam, CNI_F_STR, resolv_conf,
      .help = "a resolv.conf file read into the result's DNS"),
    CNI_FIELD_END,
};

static const struct cni_field rt_fields[] = {
    CNI_FIELD("ipRanges", typeof(((struct hl_conf *)0)->rt), CNI_F_ARRAY, ip_ranges,
	      .sub = &set_elem, .elem_size = sizeof(struct hl_set),
	        .help = "capability ipRanges: range sets put before ranges"),
    CNI_FIELD("ips", typeof(((struct hl_conf *)0)->rt), CNI_F_ARRAY, ips, .sub = &ip_elem,
	      .elem_size = sizeof(struct cni_prefix),
	        .help = "capability ips: the addresses asked for"),
    CNI_FIELD_END,
};

static const struct cni_field args_cni_fields[] = {
    CNI_FIELD("ips", typeof(((struct hl_conf *)0)->args.cni), CNI_F_ARRAY, ips, .sub = &ip_elem,
	      .elem_size = sizeof(struct cni_prefix),
	        .help = "the addresses asked for (with CNI_ARGS IP and runtimeConfig.ips)"),
    CNI_FIELD_END,
};

static const struct cni_field args_fields[] = {
    CNI_FIELD("cni", typeof(((struct hl_conf *)0)->args), CNI_F_OBJ, cni, .sub = args_cni_fields,
      .help = "the args of the CNI conventions (only ips is read)"),
    CNI_FIELD_END,
};

static const struct cni_field conf_fields[] = {
    CNI_FIELD("cniVersion", struct hl_conf, CNI_F_STR, cni_version,
      .help = "spec version (before 0.3.0: at most one range set per family)"),
    CNI_FIELD("ipam", struct hl_conf, CNI_F_OBJ, ipam, .sub = ipam_fields,
	      CNI_SEEN(struct hl_conf, ipam_seen), .help = "the IPAM section (type host-local)"),
    CNI_FIELD("runtimeConfig", struct hl_conf, CNI_F_OBJ, rt, .sub = rt_fields,
      .help = "the runtime's capability arguments"),
    CNI_FIELD("args", struct hl_conf, CNI_F_OBJ, args, .sub = args_fields,
      .help = "the runtime's args (only args.cni.ips is read)"),
    CNI_FIELD_END,
};

/* ---- configuration ----------------------------------------------------------------------------
 */

static void add_requested(struct hl_conf *c, const struct cni_ip *ip)
{
	/* The reference keys them by text in a map: duplicates collapse. */
	for (size_t i = 0; i < c->n_requested; i++)
		if (cni_ip_eq(&c->requested[i], ip))
			return;
	c->requested[c->n_requested++] = *ip;
}

/*
 * Which set each requested address goes to: the first set containing it takes the first such
 * address. Everything the reference finds out half-way through ADD (unusable or unassigned
 * addresses) is refused here, before the store is touched.
 */
static int assign_requested(struct hl_conf *c, struct cni_err *e)
{
	bool *used = cni_alloc((c->n_requested + 1) * sizeof(*used));
	char a[CNI_IP_STRLEN];
	int r = 0;

	c->set_req = cni_alloc(c->n_sets * sizeof(*c->set_req));
	for (size_t i = 0; i < c->n_sets; i++) {
		const struct hl_range *rg;

		for (size_t k = 0; k < c->n_requested && !c->set_req[i]; k++) {
			if (used[k] || !hl_set_range_for(&c->sets[i], &c->requested[k]))
				continue;
			used[k] = true;
			c->set_req[i] = &c->requested[k];
		}
		if (!c->set_req[i])
			continue;
		rg = hl_set_range_for(&c->sets[i], c->set_req[i]);
		cni_ip_str(c->set_req[i], a);
		if (cni_ip_eq(c->set_req[i], &rg->gw))
			return cni_fail(
			    e, -EINVAL, CNI_ERR_INVALID_CONFIG,
			    "failed to allocate for range %zu: requested ip %s is subnet's gateway",
			    i, a);
		if (hl_range_reserved(rg, c->set_req[i]))
			return cni_fail(e, -EINVAL, CNI_ERR_INVALID_CONFIG,
					"failed to allocate for range %zu: requested ip %s is the "
					"subnet's network or broadcast address",
					i, a);
	}
	for (size_t k = 0; k < c->n_requested; k++) {
		if (used[k])
			continue;
		if (!r)
			r = cni_fail(e, -EINVAL, CNI_ERR_INVALID_CONFIG,
				     "failed to allocate all requested IPs:");
		snprintf(e->msg + strlen(e->msg), sizeof(e->msg) - strlen(e->msg), " %s",
			 cni_ip_str(&c->requested[k], a));
	}
	return r;
}

static int hl_validate(struct cni_ctx *ctx, void *conf, struct cni_err *e)
{
	struct hl_conf *c = conf;
	const struct cni_prefix *pv;
	const char *arg_ip = cni_args_get(&ctx->args, "IP");
	size_t n = 0, nv4 = 0, nv6 = 0;
	bool legacy;
	int r;

	if (!c->ipam_seen)
		return cni_fail(e, -EINVAL, CNI_ERR_INVALID_CONFIG,
				"IPAM config missing 'ipam' key");

	/* Requested addresses: CNI_ARGS, then args, then runtimeConfig; any prefix is ignored. */
	c->requested = cni_alloc((1 + c->args.cni.ips.n + c->rt.ips.n) * sizeof(*c->requested));
	if (arg_ip) {
		struct cni_prefix p;

		if (cni_ip_or_prefix_parse(arg_ip, &p, NULL))
			return cni_fail(
			    e, -EINVAL, CNI_ERR_INVALID_ENV,
			    "ARGS: error parsing value of \"IP\": invalid IP address \"%s\"",
			    arg_ip);
		add_requested(c, &p.ip);
	}
	pv = c->args.cni.ips.v;
	for (size_t i = 0; i < c->args.cni.ips.n; i++)
		if (pv[i].ip.family)
			add_requested(c, &pv[i].ip);
	pv = c->rt.ips.v;
	for (size_t i = 0; i < c->rt.ips.n; i++)
		if (pv[i].ip.family)
			add_requested(c, &pv[i].ip);

	/* runtimeConfig.ipRanges, then the legacy single range, then ranges. */
	legacy = c->ipam.legacy.subnet.ip.family != 0;
	c->n_sets = c->rt.ip_ranges.n + legacy + c->ipam.ranges.n;
	if (!c->n_sets)
		return cni_fail(e, -EINVAL, CNI_ERR_INVALID_CONFIG, "no IP ranges specified");
	c->sets = cni_alloc(c->n_sets * sizeof(*c->sets));
	if (c->rt.ip_ranges.n)
		memcpy(c->sets, c->rt.ip_ranges.v, c->rt.ip_ranges.n * sizeof(*c->sets));
	n = c->rt.ip_ranges.n;
	if (legacy) {
		c->sets[n].r = &c->ipam.legacy;
		c->sets[n].n = 1;
		n++;
	}
	if (c->ipam.ranges.n)
		memcpy(c->sets + n, c->ipam.ranges.v, c->ipam.ranges.n * sizeof(*c->sets));

	for (size_t i = 0; i < c->n_sets; i++) {
		r = hl_set_canonicalize(&c->sets[i], e);
		if (r) {
			e->code = CNI_ERR_INVALID_CONFIG;
			return cni_wrap(e, r, "invalid range set %zu", i);
		}
		if (hl_set_family(&c->sets[i]) == AF_INET)
			nv4++;
		else
			nv6++;
	}
	r = cni_one_addr_per_family(ctx, nv4, nv6, c->cni_version ? c->cni_version : "", e);
	if (r < 0)
		return r;
	for (size_t i = 0; i + 1 < c->n_sets; i++)
		for (size_t j = i + 1; j < c->n_sets; j++)
			if (hl_set_overlaps(&c->sets[i], &c->sets[j]))
				return cni_fail(e, -EINVAL, CNI_ERR_INVALID_CONFIG,
						"range set %zu overlaps with %zu", i, j);
	c->dir = c->ipam.data_dir && *c->ipam.data_dir ? c->ipam.data_dir : DEFAULT_DATA_DIR;
	/* The reference ignores requested addresses on the other verbs. */
	return ctx->env.cmd == CNI_CMD_ADD ? assign_requested(c, e) : 0;
}

/* ---- resolv.conf --------------------------------------------------------------------------------
 */

static void strv_push(struct cni_strv *v, const char *s)
{
	char **nv = cni_alloc((v->n + 2) * sizeof(char *));

	if (v->n)
		memcpy(nv, v->v, v->n * sizeof(char *));
	nv[v->n++] = cni_strdup(s);
	v->v = nv;
}

/* nameserver, domain, search, options; '#' and ';' comment lines; as the reference reads it. */
static int parse_resolv_conf(const char *path, struct cni_dns *dns, struct cni_err *e)
{
	FILE *f = fopen(path, "re");
	char *line = NULL;
	size_t cap = 0;

	if (!f)
		return cni_fail(e, -errno, 0, "open %s: %s", path, strerror(errno));
	while (getline(&line, &cap, f) > 0) {
		char *tok[64], *save = NULL, *p = line;
		size_t n = 0;

		while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n' || *p == '\v' ||
		       *p == '\f')
			p++;
		if (!*p || *p == '#' || *p == ';')
			continue;
		for (char *t = strtok_r(p, " \t\r\n\v\f", &save); t && n < 64;
		     t = strtok_r(NULL, " \t\r\n\v\f", &save))
			tok[n++] = t;
		if (n < 2)
			continue;
		if (!strcmp(tok[0], "nameserver")) {
			strv_push(&dns->nameservers, tok[1]);
		} else if (!strcmp(tok[0], "domain")) {
			dns->domain = cni_strdup(tok[1]);
		} else if (!strcmp(tok[0], "search")) {
			for (size_t i = 1; i < n; i++)
				strv_push(&dns->search, tok[i]);
		} else if (!strcmp(tok[0], "options")) {
			for (size_t i = 1; i < n; i++)
				strv_push(&dns->options, tok[i]);
		}
	}
	free(line);
	fclose(f);
	return 0;
}

/* ---- verbs --------------------------------------------------------------------------------------
 */

/* One address from set @idx for the attachment, into *out with its range. */
static int alloc_one(struct hl_store *st, const struct hl_set *set, int idx, const char *cid,
		     const char *ifname, const struct cni_ip *req, struct cni_ip *out,
		     const struct hl_range **rout, struct cni_err *e)
{
	char a[CNI_IP_STRLEN], sbuf[1024];
	const struct hl_range *r;
	struct hl_names held = {0};
	struct hl_iter it;
	struct cni_ip last, ip;
	int ret;

	if (req) {
		r = hl_set_range_for(set, req);
		cni_ip_str(req, a);
		ret = hl_store_reserve(st, cid, ifname, req, idx, e);
		if (ret < 0)
			return ret;
		if (!ret)
			return cni_fail(e, -EADDRINUSE, 0,
					"requested IP address %s is not available in range set %s",
					a, hl_set_str(set, sbuf, sizeof(sbuf)));
		*out = *req;
		*rout = r;
		return 0;
	}

	/* One address per set and attachment: the spec forbids a second ADD. */
	ret = hl_store_owned(st, cid, ifname, true, &held, e);
	for (size_t i = 0; !ret && i < held.n; i++) {
		if (!cni_ip_parse(held.v[i], &ip) && hl_set_range_for(set, &ip))
			ret = cni_fail(
			    e, -EEXIST, 0,
			    "%s has been allocated to %s, duplicate allocation is not allowed",
			    cni_ip_str(&ip, a), cid);
	}
	hl_names_free(&held);
	if (ret)
		return ret;

	hl_iter_init(&it, set, hl_store_last_reserved(st, idx, &last) ? NULL : &last);
	while (hl_iter_next(&it, &ip, &r)) {
		ret = hl_store_reserve(st, cid, ifname, &ip, idx, e);
		if (ret < 0)
			return ret;
		if (ret) {
			*out = ip;
			*rout = r;
			return 0;
		}
	}
	return cni_fail(e, -ENOSPC, 0, "no IP addresses available in range set: %s",
			hl_set_str(set, sbuf, sizeof(sbuf)));
}

static int hl_add(struct cni_ctx *ctx, struct cni_result *res, struct cni_err *e)
{
	const struct hl_conf *c = ctx->conf;
	const char *cid = ctx->env.container_id, *ifname = ctx->env.ifname;
	struct cni_ip *got = cni_alloc(c->n_sets * sizeof(*got));
	char **last = cni_alloc(c->n_sets * sizeof(*last));
	struct hl_store st;
	size_t n_got = 0;
	int r;

	if (c->ipam.resolv_conf && *c->ipam.resolv_conf) {
		r = parse_resolv_conf(c->ipam.resolv_conf, &res->dns, e);
		if (r)
			return r;
	}
	r = hl_store_open(&st, c->dir, ctx->net.name, e);
	if (r)
		return r;
	for (size_t i = 0; i < c->n_sets; i++) {
		const struct hl_range *rg;
		struct cni_prefix addr;

		last[i] = hl_store_last_raw(&st, (int)i);
		r = alloc_one(&st, &c->sets[i], (int)i, cid, ifname, c->set_req[i], &got[n_got],
			      &rg, e);
		if (r) {
			cni_wrap(e, r, "failed to allocate for range %zu", i);
			goto release;
		}
		addr.ip = got[n_got++];
		addr.len = rg->subnet.len;
		cni_result_add_ip(res, &addr, &rg->gw, -1);
	}
	hl_store_close(&st);

	for (size_t i = 0; i < c->ipam.routes.n; i++) {
		const struct hl_route *rt = (const struct hl_route *)c->ipam.routes.v + i;
		struct cni_route *o;

		if (!rt->dst.ip.family)
			continue;
		o = cni_result_add_route(res, &rt->dst, rt->gw.family ? &rt->gw : NULL);
		o->mtu = (int)rt->mtu;
		o->advmss = (int)rt->advmss;
		o->priority = (int)rt->priority;
		if (rt->table_seen)
			o->table = (int)rt->table;
		if (rt->scope_seen)
			o->scope = (int)rt->scope;
	}
	return 0;

release:
	/*
	 * Only what this call took, and the round-robin cursors put back: a failed ADD leaves the
	 * directory as it found it (the reference releases an earlier ADD's addresses too and keeps
	 * the moved cursors).
	 */
	for (size_t i = n_got; i-- > 0;) {
		hl_store_unreserve(&st, cid, ifname, &got[i]);
		hl_store_last_restore(&st, (int)i, last[i]);
	}
	hl_store_last_restore(&st, (int)n_got, last[n_got]);
	hl_store_close(&st);
	return r;
}

static bool gc_valid(void *arg, const char *cid, const char *ifname)
{
	/* A legacy file names only the container (@ifname NULL): valid while any attachment is. */
	return cni_attachment_valid(arg, cid, ifname);
}

/* DEL releases this attachment's addresses; GC (also .gc) those of every attachment not valid. */
static int hl_del(struct cni_ctx *ctx, struct cni_err *e)
{
	const struct hl_conf *c = ctx->conf;
	struct hl_store st;
	int r;

	r = hl_store_open(&st, c->dir, ctx->net.name, e);
	if (r)
		return r;
	if (ctx->env.cmd == CNI_CMD_GC)
		r = hl_store_gc(&st, gc_valid, ctx, e);
	else
		r = hl_store_release(&st, ctx->env.container_id, ctx->env.ifname, c->n_sets, e);
	hl_store_close(&st);
	return r < 0 ? r : 0;
}

static int hl_check(struct cni_ctx *ctx, struct cni_err *e)
{
	const struct hl_conf *c = ctx->conf;
	struct hl_names held = {0};
	struct hl_store st;
	int r;

	r = hl_store_open(&st, c->dir, ctx->net.name, e);
	if (r)
		return r;
	r = hl_store_owned(&st, ctx->env.container_id, ctx->env.ifname, true, &held, e);
	hl_store_close(&st);
	if (!r && !held.n)
		r = cni_fail(e, -ENOENT, 0,
			     "host-local: Failed to find address added by container %s",
			     ctx->env.container_id);
	hl_names_free(&held);
	return r;
}

static int hl_status(struct cni_ctx *ctx, struct cni_err *e)
{
	const struct hl_conf *c = ctx->conf;
	char *msg = cni_strdup("");
	struct hl_store st;
	int r;

	r = hl_store_open(&st, c->dir, ctx->net.name, e);
	if (r)
		return r;
	for (size_t i = 0; i < c->n_sets; i++) {
		struct hl_iter it;
		struct cni_ip ip;
		bool free_ip = false;
		char sbuf[1024];

		hl_iter_init(&it, &c->sets[i], NULL);
		while (!free_ip && hl_iter_next(&it, &ip, NULL))
			free_ip = !hl_store_taken(&st, &ip);
		if (free_ip) {
			hl_store_close(&st);
			return 0;
		}
		msg = cni_sprintf("%s%s%s", msg, i ? "; " : "",
				  hl_set_str(&c->sets[i], sbuf, sizeof(sbuf)));
	}
	hl_store_close(&st);
	return cni_fail(e, -ENOSPC, CNI_ERR_NOT_AVAILABLE,
			"no IP addresses available in any range set: %s", msg);
}

static const char *const hl_args_keys[] = {"IP", NULL};

const struct cni_plugin cni_hostlocal_plugin = {
    .name = "host-local",
    CNI_CONF(conf_fields, struct hl_conf),
    .conf_validate = hl_validate,
    .args_keys = hl_args_keys,
    CNI_VERBS(hl),
    .status = hl_status,
    .gc = hl_del,
};
