// SPDX-License-Identifier: Apache-2.0
/*
 * Upstream sets and what the daemon counts. A network file's "servers" line (the plugin's
 * dnsServers) and its "cdns" lines (a container's runtimeConfig.dns.servers) name upstream sets
 * by their normalised text; equal texts share one set (interned in d->sets), so containers of one
 * set share their cached answers. After each reload every listener picks its set from the
 * networks that own its address (the network a query came through: a container on several has
 * one resolver address per network, dnsname.h): its container's own first (those networks'
 * "cdns", else any of its view's), else that of the first owner by name that has dnsServers,
 * else resolv.conf's. Records of a build before the addresses put every network of a netns on
 * 127.0.0.11: all of them own it, the first by name with dnsServers wins. The old set of a
 * listener lives on while forwards through it are in flight; when the last reference goes, its
 * cached answers go too.
 *
 * Counters are per network (by name, they outlive reloads); a listener adds to the network whose
 * upstreams it uses (else its first owner by name). Forward latencies go to a log histogram, 4
 * buckets per power of two of microseconds (quarters of it); percentiles are read from it (the
 * bucket's middle).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"

static struct upset *ups_parse(struct dn_ctx *d, const char *text)
{
	struct upset *u = calloc(1, sizeof(*u));
	char buf[256], *save = NULL;

	if (!u)
		return NULL;
	u->id = ++d->set_serial;
	u->refs = 1;
	snprintf(buf, sizeof(buf), "%s", text);
	for (char *t = strtok_r(buf, ",", &save); t && u->n < UP_MAX;
	     t = strtok_r(NULL, ",", &save)) {
		unsigned int sl;

		if (!dn_upstream_parse(t, &u->up[u->n].sa, &sl)) {
			u->up[u->n].len = (socklen_t)sl;
			u->n++;
		}
	}
	return u;
}

struct upset *dn_ups_new(struct dn_ctx *d, const char *text)
{
	for (struct upset *u = d->sets; u; u = u->next)
		if (!strcmp(u->text, text)) {
			u->refs++;
			return u;
		}
	struct upset *u = ups_parse(d, text);

	if (!u)
		return NULL;
	u->text = strdup(text);
	if (!u->text) {
		free(u);
		return NULL;
	}
	u->next = d->sets;
	d->sets = u;
	return u;
}

void dn_ups_put(struct dn_ctx *d, struct upset *u)
{
	if (!u || --u->refs)
		return;
	if (u->text) {
		struct upset **p = &d->sets;

		while (*p && *p != u)
			p = &(*p)->next;
		if (*p)
			*p = u->next;
	}
	dc_flush_set(d->cache, u->id);
	free(u->text);
	free(u);
}

static struct nstat *stat_get(struct dn_ctx *d, const char *name)
{
	struct nstat *s;

	for (s = d->stats; s; s = s->next)
		if (!strcmp(s->name, name))
			return s;
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->name = strdup(name);
	if (!s->name) {
		free(s);
		return NULL;
	}
	s->next = d->stats;
	d->stats = s;
	return s;
}

void dn_ups_assign(struct dn_ctx *d)
{
	const struct snap *sn = d->snap;

	for (struct nstat *s = d->stats; s; s = s->next)
		s->keep = false;
	for (size_t i = 0; sn && i < sn->n; i++) {
		struct nstat *s = stat_get(d, sn->nets[i].name);

		if (s)
			s->keep = true;
	}
	for (size_t b = 0; b < LSN_BUCKETS; b++)
		for (struct lsn *l = d->lsn[b]; l; l = l->next) {
			const struct snet *first = NULL, *withs = NULL;
			const char *text = NULL, *cname = NULL;
			bool cown = false;
			struct upset *u = NULL;

			for (size_t v = 0; v < l->n_view; v++) {
				const struct snet *n = &sn->nets[l->view[v]];
				/* none owns it (beyond VIEW_MAX): as before, the whole view */
				bool own = !l->own || ((l->own >> v) & 1);

				if (own && (!first || strcmp(n->name, first->name) < 0))
					first = n;
				if (own && n->f.servers &&
				    (!withs || strcmp(n->name, withs->name) < 0))
					withs = n;
				/* the container's own: an owner's first, else any network's */
				for (size_t k = 0; k < n->f.n_cdns; k++) {
					const struct dn_cdns *c = &n->f.cdns[k];

					if (c->ns_dev != l->dev || c->ns_ino != l->ino ||
					    (cown && !own))
						continue;
					if (!cname || (own && !cown) || strcmp(n->name, cname) < 0) {
						cname = n->name;
						text = c->servers;
						cown = own;
					}
				}
			}
			if (!text && withs)
				text = withs->f.servers;
			if (text)
				u = dn_ups_new(d, text); /* before the old one goes: kept if equal */
			dn_ups_put(d, l->ups);
			l->ups = u;
			l->st = NULL;
			if (withs || first)
				l->st = stat_get(d, (withs ? withs : first)->name);
		}
	/* counters of networks that are gone */
	for (struct nstat **p = &d->stats; *p;) {
		struct nstat *s = *p;

		if (s->keep) {
			p = &s->next;
			continue;
		}
		for (int i = 0; i < FWD_MAX; i++)
			if (d->fwd[i].st == s)
				d->fwd[i].st = NULL;
		*p = s->next;
		free(s->name);
		free(s);
	}
}

void dn_ups_cleanup(struct dn_ctx *d)
{
	while (d->stats) {
		struct nstat *s = d->stats;

		d->stats = s->next;
		free(s->name);
		free(s);
	}
	dn_ups_put(d, d->resolv_ups);
	d->resolv_ups = NULL;
	dc_free(d->cache);
	d->cache = NULL;
}

/* ---- latency ------------------------------------------------------------------------------------ */

static unsigned int hist_bucket(uint64_t us)
{
	unsigned int msb, b;

	if (us < 4)
		return (unsigned int)us;
	msb = 63u - (unsigned int)__builtin_clzll(us);
	b = 4 * msb + (unsigned int)((us >> (msb - 2)) & 3);
	return b >= HIST_N ? HIST_N - 1 : b;
}

void dn_stat_latency(struct nstat *st, uint64_t us)
{
	if (st)
		st->hist[hist_bucket(us)]++;
}

/* The @p-th percentile in microseconds, 0 when nothing was measured. */
static double hist_pct(const struct nstat *s, double p)
{
	uint64_t total = 0, acc = 0, rank;

	for (int i = 0; i < HIST_N; i++)
		total += s->hist[i];
	if (!total)
		return 0;
	rank = (uint64_t)(p / 100.0 * (double)total + 0.999999);
	if (!rank)
		rank = 1;
	for (int i = 0; i < HIST_N; i++) {
		acc += s->hist[i];
		if (acc >= rank && i < 8)
			return (double)i; /* below 4 us: exact (4-7 unused) */
		if (acc >= rank)
			return (double)(1ull << (i / 4)) * (1.0 + ((double)(i % 4) + 0.5) / 4.0);
	}
	return 0;
}

/* ---- the report ----------------------------------------------------------------------------- */

static size_t net_records(const struct dn_ctx *d, const char *name)
{
	for (size_t i = 0; d->snap && i < d->snap->n; i++)
		if (!strcmp(d->snap->nets[i].name, name))
			return d->snap->nets[i].f.n;
	return 0;
}

static const char *net_servers(const struct dn_ctx *d, const char *name)
{
	for (size_t i = 0; d->snap && i < d->snap->n; i++)
		if (!strcmp(d->snap->nets[i].name, name))
			return d->snap->nets[i].f.servers;
	return NULL;
}

char *dn_status_render(struct dn_ctx *d, bool json)
{
	char *out = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&out, &len);
	struct dc_stats cs;
	bool first = true;

	if (!m)
		return NULL;
	dc_stats(d->cache, &cs);
	if (json)
		fprintf(m, "{\"listeners\":%zu,\"cache\":{\"entries\":%zu,\"bytes\":%zu,"
			   "\"evicted\":%llu},\"networks\":[",
			d->n_lsn, cs.entries, cs.bytes, (unsigned long long)cs.evicted);
	else
		fprintf(m, "listeners %zu, cache %zu entries, %zu bytes, %llu evicted\n", d->n_lsn,
			cs.entries, cs.bytes, (unsigned long long)cs.evicted);
	for (const struct nstat *s = d->stats; s; s = s->next) {
		const char *srv = net_servers(d, s->name);
		double p50 = hist_pct(s, 50) / 1000, p90 = hist_pct(s, 90) / 1000,
		       p99 = hist_pct(s, 99) / 1000;

		if (json)
			fprintf(m,
				"%s{\"name\":\"%s\",\"records\":%zu,\"upstreams\":\"%s\","
				"\"queries\":%llu,\"forwarded\":%llu,\"cache_hits\":%llu,"
				"\"upstream_errors\":%llu,\"latency_ms\":{\"p50\":%.3f,\"p90\":%.3f,"
				"\"p99\":%.3f}}",
				first ? "" : ",", s->name, net_records(d, s->name),
				srv ? srv : "resolv.conf", (unsigned long long)s->queries,
				(unsigned long long)s->forwarded, (unsigned long long)s->hits,
				(unsigned long long)s->errors, p50, p90, p99);
		else
			fprintf(m,
				"network %s: records %zu, upstreams %s, queries %llu, forwarded %llu, "
				"cache hits %llu, upstream errors %llu, forwarded latency ms p50 %.3f "
				"p90 %.3f p99 %.3f\n",
				s->name, net_records(d, s->name), srv ? srv : "resolv.conf",
				(unsigned long long)s->queries, (unsigned long long)s->forwarded,
				(unsigned long long)s->hits, (unsigned long long)s->errors, p50, p90,
				p99);
		first = false;
	}
	if (json)
		fputs("]}\n", m);
	if (fclose(m)) {
		free(out);
		return NULL;
	}
	return out;
}
