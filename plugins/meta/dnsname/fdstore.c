// SPDX-License-Identifier: Apache-2.0
/*
 * systemctl restart without loss: systemd's file descriptor store (the unit's
 * FileDescriptorStoreMax=, sd_notify(3)'s FDSTORE=1). Run with --fd-store (or where systemd
 * says the store is on: $FDSTORE, systemd 254 and later), the daemon told to stop gives every
 * listener's UDP and TCP sockets to the service manager, named "dnsname-lsn-DEV-INO" after the
 * netns they serve ("dnsname-lsn-DEV-INO-ADDR" for a resolver address other than 127.0.0.11: a
 * container on several networks, dnsname.h; a daemon of a build before them closes such a
 * socket but leaves it in the store, where it keeps its netns alive until a systemctl stop
 * flushes the store: a downgrade is a stop and a start, README), leaves the port 53 rewrites in place,
 * stops reading the listeners (queries wait in their queues), finishes its forwards in flight
 * and the TCP queries it has (bounded by DRAIN_MS), and exits. systemd keeps the store across
 * the restart and passes it to the next daemon with its control socket (LISTEN_FDNAMES): that
 * one adopts them as the handoff's (handoff.c) as its first reload finds the records naming
 * those netns, then has systemd drop every stored descriptor (FDSTOREREMOVE=1: a socket left
 * there would keep its netns alive), closing the ones no record claims and deleting their
 * rewrites. A "dnsname-lsn-" name this build cannot read (a newer build's) is closed and dropped
 * from the store at once. A systemctl stop flushes the store: the listeners are closed then, as a stop always
 * did, and the rewrites, left, are made again by the next start.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon.h"

#define FDS_PREFIX "dnsname-lsn-"
/* the forwards in flight and TCP answers, bounded: the next daemon starts only once we exit (a
 * plugin's "ping" waits 3 s); one attempt's worth, a forward cut short is asked again */
#define DRAIN_MS (FWD_TRY_MS * 2)
#define FDS_HALF (-2) /* an entry stored without its other socket: not adopted, not "taken" */

static void fds_name(char *buf, size_t cap, uint64_t dev, uint64_t ino, uint32_t addr)
{
	struct dn_rec dflt = {0};
	char ra[16];

	if (addr == dn_resolver_of(&dflt))
		snprintf(buf, cap, FDS_PREFIX "%llu-%llu", (unsigned long long)dev,
			 (unsigned long long)ino);
	else
		snprintf(buf, cap, FDS_PREFIX "%llu-%llu-%s", (unsigned long long)dev,
			 (unsigned long long)ino, dn_resolver_text(addr, ra));
}

static int fds_remove_name(const char *name)
{
	char msg[300];

	snprintf(msg, sizeof(msg), "FDSTOREREMOVE=1\nFDNAME=%s", name);
	return dmn_notify(msg, NULL, 0);
}

static int fds_remove(uint64_t dev, uint64_t ino, uint32_t addr)
{
	char msg[128];

	snprintf(msg, sizeof(msg), "FDSTOREREMOVE=1\nFDNAME=");
	fds_name(msg + strlen(msg), sizeof(msg) - strlen(msg), dev, ino, addr);
	return dmn_notify(msg, NULL, 0);
}

int dn_fdstore_take(struct dn_ctx *d, int n)
{
	int ctl = -1, first;
	const char **names = calloc((size_t)n, sizeof(*names));
	char *nbuf = names ? dmn_listen_names(n, names) : NULL;

	d->adopt = nbuf ? calloc((size_t)n, sizeof(*d->adopt)) : NULL;
	if (!d->adopt) {
		free(nbuf);
		free(names);
		return -ENOMEM;
	}
	first = dmn_listen_take(n);
	for (int i = 0; i < n; i++) {
		unsigned long long dev, ino;
		int fd = first + i, type = 0, used = 0;
		socklen_t len = sizeof(type);
		struct dn_adopt *a = NULL;
		struct dn_rec ar = {0};
		uint32_t addr;

		bool lsn = sscanf(names[i], FDS_PREFIX "%llu-%llu%n", &dev, &ino, &used) == 2;
		const char *tail = lsn ? names[i] + used : "";

		/* "-ADDR": a resolver address other than 127.0.0.11 */
		if (lsn && *tail && (*tail != '-' || dn_resolver_parse(tail + 1, &ar.resolver)))
			lsn = false;
		if (!lsn && !strncmp(names[i], FDS_PREFIX, strlen(FDS_PREFIX))) {
			/* a listener's name this build cannot read: out of the store, or it keeps
			 * its netns alive */
			close(fd);
			if (fds_remove_name(names[i]) <= 0)
				dn_logk(d, DN_LOG_HANDOFF, "fd store: cannot drop %s", names[i]);
			else
				dn_logk(d, DN_LOG_HANDOFF,
					"fd store: dropped %s (not a name of this build)",
					names[i]);
			continue;
		}
		if (!lsn) {
			if (ctl < 0)
				ctl = fd; /* the socket unit's: cni-dnsname.socket */
			else
				close(fd);
			continue;
		}
		d->from_store = true;
		addr = dn_resolver_of(&ar);
		for (size_t k = 0; k < d->n_adopt && !a; k++)
			if (d->adopt[k].dev == dev && d->adopt[k].ino == ino &&
			    d->adopt[k].addr == addr)
				a = &d->adopt[k];
		if (!a) {
			a = &d->adopt[d->n_adopt++];
			*a = (struct dn_adopt){dev, ino, addr, -1, -1};
		}
		getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len);
		if (type == SOCK_DGRAM && a->udp < 0)
			a->udp = fd;
		else if (type == SOCK_STREAM && a->tcp < 0)
			a->tcp = fd;
		else
			close(fd);
	}
	free(nbuf);
	free(names);
	if (!d->from_store) { /* a start with the control socket alone */
		free(d->adopt);
		d->adopt = NULL;
	}
	/* a listener is its two sockets: one alone is not adopted (the record makes it anew) */
	for (size_t k = 0; k < d->n_adopt; k++)
		if (d->adopt[k].udp < 0 || d->adopt[k].tcp < 0) {
			if (d->adopt[k].udp >= 0)
				close(d->adopt[k].udp);
			if (d->adopt[k].tcp >= 0)
				close(d->adopt[k].tcp);
			d->adopt[k].udp = d->adopt[k].tcp = FDS_HALF;
		}
	return ctl >= 0 ? ctl : -ENOTSOCK;
}

void dn_fdstore_confirm(struct dn_ctx *d)
{
	/* as after a handoff: a partial first reload may have missed records that name live netns */
	bool partial = !d->snap || d->snap->err;
	size_t kept = 0;

	if (!d->from_store)
		return;
	for (size_t i = 0; i < d->n_adopt; i++) {
		fds_remove(d->adopt[i].dev, d->adopt[i].ino, d->adopt[i].addr);
		kept += d->adopt[i].udp == -1; /* claimed (FDS_HALF: never was) */
	}
	dn_logk(d, DN_LOG_HANDOFF, "took %zu of %zu listeners back from the fd store", kept,
		d->n_adopt);
	dn_adopt_release(d, !partial);
	d->from_store = false;
}

bool dn_fdstore_give(struct dn_ctx *d)
{
	char msg[128];
	size_t sent = 0;
	int r = 0;

	if (!d->fdstore || d->handed || d->ho_give || d->stored)
		return false;
	for (size_t b = 0; b < LSN_BUCKETS && r >= 0; b++)
		for (struct lsn *l = d->lsn[b]; l && r >= 0; l = l->next) {
			int fds[2] = {l->udp, l->tcp};

			snprintf(msg, sizeof(msg), "FDSTORE=1\nFDNAME=");
			fds_name(msg + strlen(msg), sizeof(msg) - strlen(msg), l->dev, l->ino,
				 l->addr);
			r = dmn_notify(msg, fds, 2);
			r = r > 0 ? 0 : r < 0 ? r : -ENOTCONN;
			if (r >= 0)
				sent++;
		}
	if (r < 0) {
		bool undone = true;

		/* all or nothing: what went is taken back, and we stop as without a store; if that
		 * fails too, the next daemon may get those sockets: every rewrite stays */
		for (size_t b = 0; b < LSN_BUCKETS && sent; b++)
			for (struct lsn *l = d->lsn[b]; l && sent; l = l->next, sent--)
				if (fds_remove(l->dev, l->ino, l->addr) <= 0)
					undone = false;
		d->stored = !undone;
		dn_logk(d, DN_LOG_HANDOFF, "fd store: %s; stopping without it%s", strerror(-r),
			undone ? "" : " (the rewrites kept: some sockets may stay stored)");
		return false;
	}
	dn_lsn_unwatch(d);
	if (d->ctl >= 0)
		dmn_loop_del(&d->loop, d->ctl); /* clients wait in its queue for the next daemon */
	d->stored = true;
	d->exit_idle = false;
	d->idle_check = false;
	d->drain_until = dn_now_ms() + DRAIN_MS;
	dn_logk(d, DN_LOG_HANDOFF,
		"stopping: %zu listeners left in the fd store; finishing %u forwards and %u "
		"connections",
		d->n_lsn, d->n_fwd, d->n_conn);
	return true;
}

bool dn_fdstore_drained(struct dn_ctx *d, uint64_t now)
{
	struct conn *c, *nx;

	if (!d->stored)
		return false;
	/* a connection with nothing of ours to answer or send goes now (RFC 7766 lets a server
	 * close an idle one; the client asks the next daemon) */
	for (c = d->conn_head; c; c = nx) {
		int unread = 0;

		nx = c->next;
		if (!c->pending && c->out_off >= c->out_len && !c->in_len &&
		    !ioctl(c->fd, FIONREAD, &unread) && !unread)
			dn_conn_close(d, c);
	}
	return (!d->n_fwd && !d->conn_head && !d->ctl_head) || now >= d->drain_until;
}
