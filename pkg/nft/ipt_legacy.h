/* SPDX-License-Identifier: Apache-2.0 */
/*
 * iptables-legacy (x_tables) filter table of one family, through libiptc (ipt_legacy.c): the
 * kernel side of the CNI-FORWARD layout of fwd.c where the host's iptables is legacy.
 * Internal to pkg/nft. Rules are described as iptables prints them (struct ipt_rule) and
 * encoded as iptables-legacy 1.8.9 encodes them, so `iptables-legacy -S/-C/-D` and
 * -save/-restore see the same rule. A change runs under the xtables lock (/run/xtables.lock, or
 * $XTABLES_LOCKFILE, as iptables -w) on a fresh snapshot and is committed as one
 * IPT_SO_SET_REPLACE; a commit that finds the table changed (EAGAIN) is redone on a new snapshot.
 * Nothing here loads a module or instantiates a table: a family whose filter table is not listed
 * in /proc/net/ip[6]_tables_names is left alone.
 */
#ifndef NFT_IPT_LEGACY_H
#define NFT_IPT_LEGACY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cni/err.h"
#include "cni/ip.h"

/* [-s|-d <ip>/32|128] [-p <proto> -m <proto> --sport|--dport <port>] [-m conntrack --ctstate
 * <mask>] [-m comment --comment <comment>] -j <target> */
struct ipt_rule {
	const struct cni_ip *ip; /* NULL: any address */
	bool dst;		 /* -d (else -s) */
	uint8_t proto;		 /* 0: any; IPPROTO_TCP, _UDP, _SCTP with a port */
	uint16_t port;
	bool dport;	     /* --dport (else --sport) */
	uint16_t ctstate;    /* XT_CONNTRACK_STATE_* mask, 0: no conntrack match */
	const char *comment; /* NULL: no comment match */
	const char *target;  /* "ACCEPT" or a chain of the table */
};

struct ipt_legacy;

/* Is the family's legacy filter table instantiated in this netns. */
bool ipt_legacy_exists(int af);

/*
 * ipt_legacy_run() - @fn on a snapshot of @af's legacy filter table: 1 without such a table
 * (@fn not called), else @fn's result when negative, else 0. With @write, under the xtables lock,
 * and the snapshot is committed when @fn returns > 0 (it changed something).
 */
int ipt_legacy_run(int af, bool write,
		   int (*fn)(struct ipt_legacy *t, void *arg, struct cni_err *e), void *arg,
		   struct cni_err *e);

/* "DROP"/"REJECT" when @chain's policy or last rule drops (*@policy says which), else NULL. */
const char *ipt_legacy_drops(struct ipt_legacy *t, const char *chain, bool *policy);

bool ipt_legacy_has_chain(struct ipt_legacy *t, const char *chain);
int ipt_legacy_new_chain(struct ipt_legacy *t, const char *chain, struct cni_err *e);

/* 1 when @chain holds @r (as `iptables -C`), 0 when not, -errno. */
int ipt_legacy_has(struct ipt_legacy *t, const char *chain, const struct ipt_rule *r,
		   struct cni_err *e);
/* @r first in @chain (@head), else last. */
int ipt_legacy_add(struct ipt_legacy *t, const char *chain, const struct ipt_rule *r, bool head,
		   struct cni_err *e);
/* Delete every rule of @chain whose comment @match takes: how many, or -errno. */
int ipt_legacy_del_owned(struct ipt_legacy *t, const char *chain,
			 bool (*match)(const char *comment, void *arg), void *arg,
			 struct cni_err *e);

#endif
