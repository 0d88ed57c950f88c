// SPDX-License-Identifier: Apache-2.0
/*
 * The resolver's records: every network file of RUN_DIR/networks parsed into one immutable
 * snapshot (struct snap), each network with a hash index of its names and one of its addresses
 * (PTR), and the reload that builds a new snapshot, opens the listeners of the netns it names
 * anew, closes those it no longer names and swaps it in; unchanged listeners are untouched, so no
 * query is dropped. A failure of ours (descriptors, memory) keeps the old snapshot.
 */
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"

static void snet_free(struct snet *n)
{
	free(n->name);
	dn_netfile_free(&n->f);
	free(n->hb);
	free(n->pb);
	free(n->he);
	free(n->pe);
}

void dn_snap_free(struct snap *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++)
		snet_free(&s->nets[i]);
	free(s->nets);
	free(s);
}

static int snet_index(struct snet *n)
{
	size_t names = 0, addrs = 0;

	for (size_t i = 0; i < n->f.n; i++) {
		names += n->f.recs[i].n_names;
		addrs += n->f.recs[i].n_addrs;
	}
	/* at most one entry per two buckets, each table sized by its own entries */
	for (n->nb = 16; n->nb < 2 * names; n->nb <<= 1)
		;
	for (n->nbp = 16; n->nbp < 2 * addrs; n->nbp <<= 1)
		;
	n->hb = calloc(n->nb, sizeof(uint32_t));
	n->pb = calloc(n->nbp, sizeof(uint32_t));
	n->he = calloc(names + 1, sizeof(*n->he));
	n->pe = calloc(addrs + 1, sizeof(*n->pe));
	if (!n->hb || !n->pb || !n->he || !n->pe)
		return -ENOMEM;
	for (size_t i = 0; i < n->f.n; i++) {
		const struct dn_rec *r = &n->f.recs[i];

		for (size_t k = 0; k < r->n_names; k++) {
			uint32_t b = dn_hash_str(r->names[k]) & (uint32_t)(n->nb - 1);

			n->he[n->nhe] = (struct hent){r->names[k], (uint32_t)i, n->hb[b]};
			n->hb[b] = (uint32_t)++n->nhe;
		}
		/* PTR: the first record that claims an address names it */
		for (size_t k = 0; k < r->n_addrs && r->n_names; k++) {
			uint32_t b = dn_hash_addr(&r->addrs[k]) & (uint32_t)(n->nbp - 1);

			n->pe[n->npe] = (struct pent){&r->addrs[k], (uint32_t)i, 0};
			/* append at the chain's end to keep file order */
			if (!n->pb[b]) {
				n->pb[b] = (uint32_t)++n->npe;
			} else {
				uint32_t j = n->pb[b];

				while (n->pe[j - 1].next)
					j = n->pe[j - 1].next;
				n->pe[j - 1].next = (uint32_t)++n->npe;
			}
		}
	}
	return 0;
}

/* One network file into a new entry of @s; false when @s cannot grow. */
static bool snap_add(struct dn_ctx *d, struct snap *s, size_t *cap, const char *name)
{
	struct snet n = {0};
	int r = dn_netfile_read(d->netsfd, name, &n.f, DN_READ_VERBOSE | DN_READ_SERVE);

	if (r == -EMFILE || r == -ENFILE || r == -ENOMEM) { /* ours, not the file's: keep the old */
		s->err = r;
		return false;
	}
	if (r)
		return true;
	n.name = strdup(name);
	if (!n.name || dns_name_from_text(n.f.domain, &n.zone) || snet_index(&n)) {
		snet_free(&n);
		return true;
	}
	n.dlen = strlen(n.f.domain);
	if (s->n == *cap) {
		void *v = realloc(s->nets, (*cap ? *cap * 2 : 8) * sizeof(*s->nets));

		if (!v) {
			snet_free(&n);
			s->err = -ENOMEM;
			return false;
		}
		s->nets = v;
		*cap = *cap ? *cap * 2 : 8;
	}
	s->nets[s->n++] = n;
	return true;
}

struct snap_fill {
	struct dn_ctx *d;
	struct snap *s;
	size_t cap;
};

static bool snap_fill_one(const char *name, void *arg)
{
	struct snap_fill *sf = arg;

	return sf->s->n < DN_MAX_NETS && snap_add(sf->d, sf->s, &sf->cap, name);
}

static struct snap *snap_load(struct dn_ctx *d)
{
	struct snap *s = calloc(1, sizeof(*s));
	struct snap_fill sf = {d, s, 0};
	int n;

	if (!s)
		return NULL;
	s->serial = ++d->snap_serial;
	n = dn_netfiles_each(d->netsfd, snap_fill_one, &sf);
	if (n < 0)
		s->err = n;
	s->files = n > 0 ? (size_t)n : 0;
	return s;
}

/* ---- reload ----------------------------------------------------------------------------------- */

void dn_reload(struct dn_ctx *d)
{
	struct snap *s = snap_load(d), *old;

	if (!s) {
		dn_logk(d, DN_LOG_RELOAD, "reload: out of memory, keeping the old records");
		return;
	}
	if (s->err && d->snap) { /* fds or memory ran out: closing every listener would be worse */
		snprintf(d->last_err, sizeof(d->last_err), "reading the network files: %s",
			 strerror(-s->err));
		dn_logk(d, DN_LOG_RELOAD, "reload: %s, keeping the old records", d->last_err);
		dn_snap_free(s);
		return;
	}
	d->last_err[0] = 0;
	for (size_t b = 0; b < LSN_BUCKETS; b++)
		for (struct lsn *l = d->lsn[b]; l; l = l->next) {
			l->keep = false;
			l->fresh = false;
			l->n_view = 0;
			l->own = 0;
		}
	/* a listener per netns and resolver address; the networks of its records own it */
	for (size_t i = 0; i < s->n; i++) {
		for (size_t k = 0; k < s->nets[i].f.n; k++) {
			const struct dn_rec *r = &s->nets[i].f.recs[k];
			struct lsn *l = dn_lsn_find(d, r->ns_dev, r->ns_ino, dn_resolver_of(r));

			if (!l) {
				l = dn_lsn_open(d, r);
				if (!l)
					continue;
			}
			l->keep = true;
			dn_lsn_view_add(l, (uint16_t)i, true);
		}
	}
	/* every address of a netns resolves the names of all its networks */
	for (size_t i = 0; i < s->n; i++)
		for (size_t k = 0; k < s->nets[i].f.n; k++)
			dn_lsn_view_ns(d, s->nets[i].f.recs[k].ns_dev, s->nets[i].f.recs[k].ns_ino,
				       (uint16_t)i);
	for (size_t b = 0; b < LSN_BUCKETS; b++) {
		struct lsn *l = d->lsn[b], *nx;

		for (; l; l = nx) {
			nx = l->next;
			if (!l->keep)
				dn_lsn_close(d, l);
		}
	}
	old = d->snap;
	d->snap = s;
	dn_ups_assign(d); /* upstream sets and counters by the new views */
	dn_snap_free(old);
	d->idle_check = d->exit_idle && !s->files;
	malloc_trim(0); /* the old snapshot's pages back to the kernel, not kept as free heap */
}
