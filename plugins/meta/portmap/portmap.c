// SPDX-License-Identifier: Apache-2.0
/*
 * portmap: forwards host ports to a container (runtimeConfig.portMappings), as the reference
 * meta plugin does, chained after the plugin that gave the container its addresses. The
 * container addresses are the first IPv4 and IPv6 of prevResult on CNI_IFNAME inside a sandbox.
 * ADD writes the DNAT rules (and, with snat, the hairpin and localhost masquerade) of both
 * families in one nftables batch, natively in the reference's nftables layout (the default) or
 * in its iptables layout as iptables-nft writes it (backend "iptables", or iptables-only options
 * without a backend); then it sets route_localnet towards a v4 container and flushes the UDP
 * conntrack entries of the mapped host ports, so a flow that went elsewhere is not stuck there.
 * DEL needs neither netns nor prevResult nor addresses: it removes the container's rules by
 * container ID from both layouts, flushes the UDP conntrack entries again (the reference does
 * not: plugins#1277) and succeeds whatever is already gone. CHECK compares every expected rule
 * (and passes for IPv4-only containers, plugins#819). GC removes the rules of this network's
 * attachments that are not in the valid list.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cni/cni.h"
#include "netutil/conntrack.h"
#include "netutil/netutil.h"
#include "nft/fwd.h"
#include "portmap.h"

#define DEFAULT_MARK_BIT 13
/* The owner comment of our accepts in CNI-FORWARD starts so (see pm_coexist()). */
static const char PM_FWD_KIND[] = "hostport ";

struct pm_entry {
	int host_port, cont_port;
	char *protocol;
	char *host_ip;
};

struct portmap_conf {
	bool snat;
	bool masq_all;
	int mark_bit;
	bool mark_seen;
	char *ext_mark;
	bool ext_mark_seen;
	struct cni_strv cond[2]; /* conditionsV4, conditionsV6 */
	bool cond_seen[2];
	char *backend;
	struct {
		struct cni_vec maps; /* struct pm_entry */
	} rc;

	/* derived by portmap_validate() */
	bool iptables;
	struct nu_pm_map *maps;
	size_t n_maps;
	struct nu_pm_cond *conds[2];
	size_t n_conds[2];
};

static const struct cni_field entry_fields[] = {
	CNI_FIELD("hostPort", struct pm_entry, CNI_F_INT, host_port,
	  .help = "port on the host (1..65535)"),
	CNI_FIELD("containerPort", struct pm_entry, CNI_F_INT, cont_port,
	  .help = "port in the container (1..65535)"),
	CNI_FIELD("protocol", struct pm_entry, CNI_F_STR, protocol,
	  .help = "tcp (default), udp or sctp"),
	CNI_FIELD("hostIP", struct pm_entry, CNI_F_STR, host_ip,
	  .help = "only traffic to this host address (default: any)"),
	CNI_FIELD_END,
};
static const struct cni_field entry_elem = {.type = CNI_F_OBJ, .sub = entry_fields};
static const struct cni_field rc_fields[] = {
	{.key = "portMappings",
	 .type = CNI_F_ARRAY,
	 .off = 0,
	 .sub = &entry_elem,
	 .elem_size = sizeof(struct pm_entry),
	   .help = "capability portMappings: the ports to forward"},
	CNI_FIELD_END,
};

#define F(k, t, m, ...) CNI_FIELD(k, struct portmap_conf, t, m, __VA_ARGS__)
static const struct cni_field fields[] = {
	F("snat", CNI_F_BOOL, snat,
	  .help = "masquerade hairpin and localhost traffic to the ports (default true)"),
	F("masqAll", CNI_F_BOOL, masq_all,
	  .help = "masquerade every source to the ports, not only hairpin/localhost"),
	F("markMasqBit", CNI_F_INT, mark_bit, CNI_SEEN(struct portmap_conf, mark_seen),
	  .help = "iptables mark bit 0..31 that asks for masquerade (default 13)"),
	F("externalSetMarkChain", CNI_F_STR, ext_mark,
	  CNI_SEEN(struct portmap_conf, ext_mark_seen),
	    .help = "iptables: an existing chain that sets the masquerade mark"),
	F("conditionsV4", CNI_F_STRV, cond[0], CNI_SEEN(struct portmap_conf, cond_seen[0]),
	  .help = "extra matches on the IPv4 entry rule (iptables syntax if first starts - or !)"),
	F("conditionsV6", CNI_F_STRV, cond[1], CNI_SEEN(struct portmap_conf, cond_seen[1]),
	  .help = "extra matches on the IPv6 entry rule (iptables syntax if first starts - or !)"),
	F("backend", CNI_F_STR, backend, .help = "\"iptables\" or \"nftables\" for the rules"),
	F("runtimeConfig", CNI_F_OBJ, rc, .sub = rc_fields,
	  .help = "the runtime's capability arguments (only portMappings is read)"),
	CNI_FIELD_END,
};

static void portmap_defaults(void *conf)
{
	struct portmap_conf *c = conf;

	c->snat = true;
	c->mark_bit = DEFAULT_MARK_BIT;
}

/* A conditions list in iptables syntax: its first token starts with '-' or '!' (reference). */
static bool ipt_style(const struct cni_strv *v)
{
	return v->n && (v->v[0][0] == '-' || v->v[0][0] == '!');
}

static int parse_maps(struct portmap_conf *c, struct cni_err *e)
{
	const struct pm_entry *in = c->rc.maps.v;

	c->maps = cni_alloc((c->rc.maps.n + 1) * sizeof(*c->maps));
	for (size_t i = 0; i < c->rc.maps.n; i++) {
		struct nu_pm_map *m = &c->maps[c->n_maps++];
		const char *p = in[i].protocol ? in[i].protocol : "";

		if (in[i].cont_port <= 0 || in[i].cont_port > 65535)
			return cni_fail(e, -EINVAL, CNI_ERR_INVALID_CONFIG,
					"Invalid container port number: %d (portMappings[%zu])",
					in[i].cont_port, i);
		if (in[i].host_port <= 0 || in[i].host_port > 65535)
			return cni_fail(e, -EINVAL, CNI_ERR_INVALID_CONFIG,
					"Invalid host port number: %d (portMappings[%zu])",
					in[i].host_port, i);
		if (!strcasecmp(p, "tcp"))
			m->proto = IPPROTO_TCP;
		else if (!strcasecmp(p, "udp"))
			m->proto = IPPROTO_UDP;
		else if (!strcasecmp(p, "sctp"))
			m->proto = IPPROTO_SCTP;
		else
			return cni_fail(e, -EINVAL, CNI_ERR_INVALID_CONFIG,
					"invalid protocol \"%s\" in portMappings[%zu]: must be tcp, "
					"udp or sctp",
					p, i);
		m->host_port = (uint16_t)in[i].host_port;
		m->cont_port = (uint16_t)in[i].cont_port;
		if (in[i].host_ip && *in[i].host_ip && cni_ip_parse(in[i].host_ip, &m->host_ip) < 0)
			return cni_fail(e, -EINVAL, CNI_ERR_INVALID_CONFIG,
					"invalid hostIP \"%s\" in portMappings[%zu]", in[i].host_ip,
					i);
	}
	return 0;
}

static int portmap_validate(struct cni_ctx *ctx, void *conf, struct cni_err *e)
{
	static const char *const cond_keys[] = {"conditionsV4", "conditionsV6"};
	struct portmap_conf *c = conf;
	char keys[96] = "";
	int r;

	if (c->mark_seen && c->ext_mark_seen && c->ext_mark)
		return cni_fail(e, -EINVAL, CNI_ERR_INVALID_CONFIG,
				"Cannot specify externalSetMarkChain and markMasqBit");
	/* an iptables chain name (XT_EXTENSION_MAXNAMELEN): a longer one overran the netlink
	 * batch (a 1 MiB name crashed ADD) */
	if (c->ext_mark && strlen(c->ext_mark) > 28)
		return cni_fail(e, -EINVAL, CNI_ERR_INVALID_CONFIG,
				"externalSetMarkChain \"%.40s...\": longer than 28 bytes, the limit "
				"of an iptables chain name",
				c->ext_mark);
	if (c->mark_bit < 0 || c->mark_bit > 31)
		return cni_fail(e, -EINVAL, CNI_ERR_INVALID_CONFIG,
				"MasqMarkBit must be between 0 and 31");
	if (c->backend && *c->backend && strcmp(c->backend, "iptables") &&
	    strcmp(c->backend, "nftables"))
		return cni_fail(e, -EINVAL, CNI_ERR_INVALID_CONFIG,
				"invalid backend \"%s\": must be \"iptables\" or \"nftables\"",
				c->backend);
	if (c->backend && !strcmp(c->backend, "nftables")) {
		if (c->ext_mark)
			strcat(keys, " externalSetMarkChain");
		for (int f = 0; f < 2; f++)
			if (ipt_style(&c->cond[f]))
				strcat(keys, " "), strcat(keys, cond_keys[f]);
		if (*keys)
			return cni_fail(e, -EINVAL, CNI_ERR_INVALID_CONFIG,
					"nftables backend was requested but configuration contains "
					"iptables-specific options [%s]",
					keys + 1);
		c->iptables = false;
	} else if (c->backend && !strcmp(c->backend, "iptables")) {
		for (int f = 0; f < 2; f++)
			if (c->cond[f].n && !ipt_style(&c->cond[f]))
				strcat(keys, " "), strcat(keys, cond_keys[f]);
		if (*keys)
			return cni_fail(e, -EINVAL, CNI_ERR_INVALID_CONFIG,
					"iptables backend was requested but configuration contains "
					"nftables-specific options [%s]",
					keys + 1);
		c->iptables = true;
	} else {
		/* no backend: ours is nftables, unless only the iptables layout can hold the options */
		c->iptables = c->ext_mark || ipt_style(&c->cond[0]) || ipt_style(&c->cond[1]);
		if (c->iptables)
			for (int f = 0; f < 2; f++)
				if (c->cond[f].n && !ipt_style(&c->cond[f]))
					return cni_fail(e, -EINVAL, CNI_ERR_INVALID_CONFIG,
							"configuration mixes iptables-specific "
							"options and nftables-specific %s",
							cond_keys[f]);
	}
	/*
	 * DEL and GC find rules by container ID, never by condition: a list that ADD refused (or
	 * that changed since) must not keep them from removing what is there (the reference's DEL
	 * does not read the conditions either).
	 */
	for (int f = 0; ctx->env.cmd != CNI_CMD_DEL && ctx->env.cmd != CNI_CMD_GC && f < 2; f++) {
		struct nu_pm_cond *k = NULL;

		r = nu_pm_cond_parse(c->cond[f].v, c->cond[f].n, f ? AF_INET6 : AF_INET, c->iptables,
				     &k, &c->n_conds[f], e);
		if (r < 0) {
			e->code = CNI_ERR_INVALID_CONFIG;
			return cni_wrap(e, r, "%s", cond_keys[f]);
		}
		/* into the arena, which the dispatcher releases */
		c->conds[f] = cni_alloc((c->n_conds[f] + 1) * sizeof(*k));
		if (c->n_conds[f])
			memcpy(c->conds[f], k, c->n_conds[f] * sizeof(*k));
		free(k);
	}
	return parse_maps(c, e);
}

/*
 * The container addresses: the first of each family whose interface (when the index is given
 * and in range) is CNI_IFNAME inside a sandbox.
 */
static void container_ips(const struct cni_ctx *ctx, struct cni_prefix *v4, struct cni_prefix *v6)
{
	const struct cni_result *prev = ctx->net.prev;

	memset(v4, 0, sizeof(*v4));
	memset(v6, 0, sizeof(*v6));
	for (size_t i = 0; prev && i < prev->n_ips; i++) {
		const struct cni_ipcfg *ip = &prev->ips[i];
		struct cni_prefix *dst = ip->address.ip.family == AF_INET ? v4 : v6;
		int idx = ip->iface;

		if (dst->ip.family)
			continue;
		if (idx >= 0 && (size_t)idx < prev->n_ifaces) {
			const struct cni_iface *f = &prev->ifaces[idx];

			if (!f->name || strcmp(f->name, ctx->env.ifname) || !f->sandbox ||
			    !*f->sandbox)
				continue;
		}
		*dst = ip->address;
	}
}

/* One struct nu_pm per family with a container address; returns how many. */
static size_t attachments(struct cni_ctx *ctx, struct nu_pm pm[2])
{
	const struct portmap_conf *c = ctx->conf;
	struct cni_prefix ips[2];
	size_t n = 0;

	container_ips(ctx, &ips[0], &ips[1]);
	for (int f = 0; f < 2; f++) {
		if (!ips[f].ip.family)
			continue;
		pm[n] = (struct nu_pm){
			.net = ctx->net.name,
			.cid = ctx->env.container_id,
			.ifname = ctx->env.ifname,
			.cont = ips[f],
			.maps = c->maps,
			.n_maps = c->n_maps,
			.snat = c->snat,
			.masq_all = c->masq_all,
			.mark = 1u << c->mark_bit,
			.ext_mark_chain = c->ext_mark,
			.conds = c->conds[f],
			.n_conds = c->n_conds[f],
		};
		n++;
	}
	return n;
}

/* UDP flows of the mapped host ports, in family @af: failures are only logged (reference). */
static void flush_udp(const struct portmap_conf *c, int af)
{
	for (size_t i = 0; i < c->n_maps; i++) {
		struct cni_err e = {0};

		if (c->maps[i].proto != IPPROTO_UDP)
			continue;
		if (nu_conntrack_del_dport(af, IPPROTO_UDP, c->maps[i].host_port, &e) < 0)
			fprintf(stderr, "portmap: failed to delete stale UDP conntrack entries: %s\n",
				e.msg);
	}
}

static int remove_rules(struct cni_ctx *ctx, struct cni_err *e)
{
	char owner[NU_FWD_COMMENT_MAX + 1];
	int r = nu_pm_nft_del(ctx->env.container_id, e);

	if (r == 0)
		r = nu_pm_ipt_del(ctx->net.name, ctx->env.container_id, e);
	/* the accepts by their attachment hash: "hostport <hash>" */
	*strchr(nu_fwd_comment(owner, PM_FWD_KIND, ctx->net.name, ctx->env.ifname,
			       ctx->env.container_id),
		',') = '\0';
	if (r == 0)
		r = nu_fwd_del(nu_fwd_match_prefix, owner, e);
	return r;
}

/*
 * Host ports through a FORWARD that drops (fwd.h): where the host's iptables filter FORWARD
 * drops (Docker, hardened hosts), the reference's host ports answer nobody from outside the host
 * (DNATed new connections are dropped). Ours do: per container port, CNI-FORWARD accepts what
 * our DNAT sent (ctstate DNAT) to that address, port and protocol and its replies, nothing else,
 * whatever the backend, in iptables-nft's and/or iptables-legacy's filter table, whichever
 * drops; owned by "hostport <attachment>", removed on DEL and GC.
 */
static size_t pm_accepts(const struct nu_pm *pm, struct nu_fwd_accept *a)
{
	size_t n = 0;

	for (size_t i = 0; i < pm->n_maps; i++) {
		const struct nu_pm_map *m = &pm->maps[i];
		bool dup = false;

		for (size_t j = 0; j < n && !dup; j += 2)
			dup = a[j].proto == m->proto && a[j].port == m->cont_port;
		if (dup)
			continue;
		for (int k = 0; k < 2; k++)
			a[n++] = (struct nu_fwd_accept){.kind = k ? NU_FWD_DNAT_FROM : NU_FWD_DNAT_TO,
							.ip = pm->cont.ip,
							.proto = m->proto,
							.port = m->cont_port};
	}
	return n;
}

static int pm_coexist(struct cni_ctx *ctx, const struct nu_pm *pm, size_t n, bool check,
		      struct cni_err *e)
{
	const struct portmap_conf *c = ctx->conf;
	struct nu_fwd_accept *a = cni_alloc(2 * c->n_maps * sizeof(*a) + 1);
	char owner[NU_FWD_COMMENT_MAX + 1];
	int r = 0;

	nu_fwd_comment(owner, PM_FWD_KIND, ctx->net.name, ctx->env.ifname, ctx->env.container_id);
	for (size_t i = 0; r == 0 && i < n; i++) {
		int af = pm[i].cont.ip.family;
		size_t k = pm_accepts(&pm[i], a);

		r = check ? nu_fwd_verify(af, NU_FWD_ANY, owner, NULL, a, k, e)
			  : nu_fwd_sync(af, NU_FWD_ANY, owner, NULL, a, k, e);
	}
	return r;
}

static int portmap_add(struct cni_ctx *ctx, struct cni_result *res, struct cni_err *e)
{
	const struct portmap_conf *c = ctx->conf;
	struct nu_pm pm[2];
	size_t n;
	int r;

	if (!ctx->net.prev)
		return cni_fail(e, -EINVAL, 0, "must be called as chained plugin");
	*res = *ctx->net.prev;
	if (!c->n_maps)
		return 0;
	n = attachments(ctx, pm);
	if (!n)
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (!c->snat || pm[i].cont.ip.family != AF_INET)
			continue;
		r = nu_route_localnet_enable(&pm[i].cont.ip, e);
		if (r < 0)
			return r;
	}
	r = c->iptables ? nu_pm_ipt_add(pm, n, e) : nu_pm_nft_add(pm, n, e);
	if (r == 0)
		r = pm_coexist(ctx, pm, n, false, e);
	if (r < 0) {
		/* a failed ADD leaves none of its rules behind (one family's, or its DNAT) */
		struct cni_err ignored = {0};

		remove_rules(ctx, &ignored);
		cni_err_clear(&ignored);
		return r;
	}
	/* after the rules, so new packets take them */
	for (size_t i = 0; i < n; i++)
		flush_udp(c, pm[i].cont.ip.family);
	return 0;
}

static int portmap_del(struct cni_ctx *ctx, struct cni_err *e)
{
	const struct portmap_conf *c = ctx->conf;
	int r = remove_rules(ctx, e);

	if (r < 0)
		return r;
	flush_udp(c, AF_INET);
	flush_udp(c, AF_INET6);
	return 0;
}

static int portmap_check(struct cni_ctx *ctx, struct cni_err *e)
{
	const struct portmap_conf *c = ctx->conf;
	struct nu_pm pm[2];
	size_t n;

	if (!ctx->net.prev)
		return cni_fail(e, -EINVAL, 0, "Required prevResult missing");
	if (!c->n_maps)
		return 0;
	n = attachments(ctx, pm);
	for (size_t i = 0; i < n; i++) {
		int r = c->iptables ? nu_pm_ipt_check(&pm[i], e) : nu_pm_nft_check(&pm[i], e);

		if (r < 0)
			return r;
	}
	return pm_coexist(ctx, pm, n, true, e);
}

static int portmap_gc(struct cni_ctx *ctx, struct cni_err *e)
{
	const struct cni_attachment *v = ctx->net.valid_atts.v;
	size_t n = ctx->net.valid_atts.n;
	struct cni_err one = {0};
	int first = 0;

	cni_err_gather(nu_pm_nft_gc(ctx->net.name, v, n, &one), &one, &first, e);
	cni_err_gather(nu_pm_ipt_gc(ctx->net.name, v, n, &one), &one, &first, e);
	cni_err_gather(nu_fwd_gc(PM_FWD_KIND, ctx->net.name, v, n, &one), &one, &first, e);
	return first;
}

const struct cni_plugin cni_main_plugin = {
	.name = "portmap",
	CNI_CONF(fields, struct portmap_conf),
	.conf_defaults = portmap_defaults,
	.conf_validate = portmap_validate,
	CNI_VERBS(portmap),
	.gc = portmap_gc,
};
