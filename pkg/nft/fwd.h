/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The host's iptables filter FORWARD chain, seen from the plugins that must get forwarded
 * traffic through it (fwd.c): firewall (the container's own traffic, default backend) and
 * portmap (new connections its DNAT sent to a container).
 *
 * A FORWARD chain "drops" when its policy is DROP or its last rule ends in DROP or REJECT (any
 * matches: such a rule is how firewalld's iptables backend and hardened hosts end the chain).
 * iptables-nft's chain is table ip|ip6 filter, base chain FORWARD in nf_tables; iptables-legacy's
 * is the x_tables table "filter" (through libiptc, only when /proc/net/ip[6]_tables_names lists
 * it, so nothing loads or instantiates a legacy table). Where both drop, both get the accepts.
 *
 * Where iptables-nft or iptables-legacy drops, the accepts go where the reference's firewall puts
 * them: chain CNI-FORWARD (created when absent), jumped to first thing in FORWARD by
 * `-m comment --comment "CNI firewall plugin rules" -j CNI-FORWARD` (inserted when absent),
 * optionally the admin chain's jump first in CNI-FORWARD, then the owner's rules, each with an xt
 * comment naming its owner (iptables -S shows them, iptables-save/-restore keep them): DEL and GC
 * remove rules by that comment, never the host's chains, its policy, FORWARD's other rules, the
 * shared jump or the chains (the reference leaves them too). Legacy x_tables is changed under the
 * xtables lock, as iptables -w does, one IPT_SO_SET_REPLACE per change. Functions work in the
 * calling thread's netns and return 0 or a negative errno with the text in @e.
 */
#ifndef NFT_FWD_H
#define NFT_FWD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cni/cni.h"
#include "cni/err.h"
#include "cni/ip.h"

/* Bits: which iptables' FORWARD drops; where nu_fwd_sync() and nu_fwd_verify() look. */
enum nu_fwd_state {
	NU_FWD_OPEN = 0,   /* no iptables FORWARD chain drops forwarded traffic */
	NU_FWD_NFT = 1,	   /* iptables-nft's ip|ip6 filter FORWARD drops */
	NU_FWD_LEGACY = 2, /* iptables-legacy's filter FORWARD drops */
	NU_FWD_ANY = NU_FWD_NFT | NU_FWD_LEGACY,
};

/* nu_fwd_probe() - what drops forwarded traffic of @af (AF_INET/AF_INET6), a mask of
 * enum nu_fwd_state; @why says how. */
int nu_fwd_probe(int af, char *why, size_t len, struct cni_err *e);

/* One accept in CNI-FORWARD. */
struct nu_fwd_accept {
	enum {
		NU_FWD_FROM,	  /* -s <ip> -j ACCEPT */
		NU_FWD_TO_EST,	  /* -d <ip> -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT */
		NU_FWD_DNAT_TO,	  /* -d <ip> -p <p> --dport <port> -m conntrack --ctstate DNAT */
		NU_FWD_DNAT_FROM, /* -s <ip> -p <p> --sport <port> -m conntrack --ctstate DNAT */
	} kind;
	struct cni_ip ip;
	uint8_t proto; /* DNAT_*: IPPROTO_TCP, _UDP or _SCTP */
	uint16_t port;
};

/* Longest owner comment (the attachment comment of att.c: cut there). */
#define NU_FWD_COMMENT_MAX 128

/*
 * nu_fwd_comment() - "<kind><h16(net)>-<h16(ifname:cid)>, net: <net>, if: <ifname>, id: <cid>",
 * cut at NU_FWD_COMMENT_MAX: the owner comment of an attachment's accepts (@kind "" for the
 * firewall, "hostport " for portmap). Returns @out.
 */
char *nu_fwd_comment(char out[NU_FWD_COMMENT_MAX + 1], const char *kind, const char *net,
		     const char *ifname, const char *cid);

/*
 * nu_fwd_set() - iptables-nft only, in family @af, one batch: the rules commented @owner in
 * CNI-FORWARD are replaced by @a (@n of them, those of other families skipped); with any, the
 * chain, the FORWARD jump and, with @admin, the admin chain and its jump are made when absent.
 * Nothing is made when @n is 0.
 */
int nu_fwd_set(int af, const char *owner, const char *admin, const struct nu_fwd_accept *a,
	       size_t n, struct cni_err *e);

/* nu_fwd_check() - 0 when nu_fwd_set()'s rules are in place, else -ENOENT naming one. */
int nu_fwd_check(int af, const char *owner, const char *admin, const struct nu_fwd_accept *a,
		 size_t n, struct cni_err *e);

/*
 * nu_fwd_sync() - ADD's decision in family @af, in each iptables of @where (enum nu_fwd_state
 * bits): where its FORWARD drops, the accepts @a replace the owner's earlier ones (the chain, the
 * FORWARD jump and, with @admin, the admin chain and its jump made when absent); where it does
 * not, the owner's earlier accepts go. Legacy is probed and changed in one snapshot under the
 * xtables lock. nu_fwd_verify() - CHECK's: 0 when every iptables of @where that drops has the
 * accepts, else -ENOENT naming one and why the chain drops.
 */
int nu_fwd_sync(int af, unsigned int where, const char *owner, const char *admin,
		const struct nu_fwd_accept *a, size_t n, struct cni_err *e);
int nu_fwd_verify(int af, unsigned int where, const char *owner, const char *admin,
		  const struct nu_fwd_accept *a, size_t n, struct cni_err *e);

/*
 * nu_fwd_del() - remove from CNI-FORWARD of both families, nf_tables and legacy, every rule whose
 * comment @match takes.
 */
int nu_fwd_del(bool (*match)(const char *comment, void *arg), void *arg, struct cni_err *e);

/* Matches for nu_fwd_del(): comment starts with @arg (a string). */
bool nu_fwd_match_prefix(const char *comment, void *arg);

/*
 * nu_fwd_gc() - remove the comments "<kind><hash>, ..." of network @net whose hash is none of
 * the @n attachments @valid's (those without a container ID or ifname count for none). The hash
 * decides, so a comment cut at NU_FWD_COMMENT_MAX (a 64-hex container ID, a long network name)
 * is collected too.
 */
int nu_fwd_gc(const char *kind, const char *net, const struct cni_attachment *valid, size_t n,
	      struct cni_err *e);

#endif
