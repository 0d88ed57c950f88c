/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The kernel side of the portmap plugin: host-port DNAT and hairpin/localhost masquerade in the
 * two layouts the reference plugin writes, both through libnftnl (never the nft or iptables
 * binaries), plus the route_localnet switch on the host interface towards a container.
 *  - nftables (the default): tables ip/ip6 cni_hostport, chains hostports, hostip_hostports
 *    (legacy, kept), hostports_all, base chains prerouting, output (nat, dstnat) and masquerading
 *    (nat, srcnat). Per-container rules carry the container ID as their comment (the identity the
 *    reference's DEL uses, so an IP reused by another container is safe) and, ours only, two
 *    extra userdata TLVs naming network and interface so GC can attribute them.
 *  - iptables (as iptables-nft 1.8.9 writes the Go plugin's commands): tables ip/ip6 nat, chains
 *    CNI-HOSTPORT-SETMARK, CNI-HOSTPORT-MASQ, CNI-HOSTPORT-DNAT, CNI-DN-<21 hex of
 *    sha512(net + cid)>, entry rules commented 'dnat name: "<net>" id: "<cid>"'.
 * ADD is one batch per family and never lists a chain whose size grows with the number of
 * containers. Deletes and GC are idempotent (absent tables, chains, rules: success). Functions
 * return 0 or a negative errno, with the text in @e.
 */
#ifndef PORTMAP_H
#define PORTMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cni/err.h"
#include "cni/ip.h"
#include "nft/nft.h"

struct nu_pm_map {
	uint16_t host_port, cont_port;
	uint8_t proto;	       /* IPPROTO_TCP, IPPROTO_UDP or IPPROTO_SCTP */
	struct cni_ip host_ip; /* family 0: no hostIP given */
};

/* One compiled condition (conditionsV4/V6): an address or interface match. */
struct nu_pm_cond {
	enum { NU_PM_COND_ADDR, NU_PM_COND_IFNAME } kind;
	bool dst, neq; /* ADDR: daddr (else saddr); both: != */
	bool out;      /* IFNAME: oifname (else iifname) */
	bool wildcard; /* IFNAME: iptables "eth+" (prefix match) */
	struct cni_prefix addr;
	char ifname[16];
};

/*
 * nu_pm_cond_parse() - compile the condition tokens @tok of address family @af (AF_INET,
 * AF_INET6) in nftables syntax ("ip daddr != 10.0.0.0/8", "iifname eth0") or, with @iptables,
 * iptables syntax ("-d 10.0.0.0/8", "! -i eth0"). Tokens are joined with spaces and split again,
 * as the reference joins them. The supported subset is addresses and interface names; anything
 * else is -EOPNOTSUPP with the token named. *@out is malloc'd (caller frees).
 */
int nu_pm_cond_parse(char *const *tok, size_t n, int af, bool iptables, struct nu_pm_cond **out,
		     size_t *n_out, struct cni_err *e);

/* One attachment in one address family (the container address's). */
struct nu_pm {
	const char *net, *cid, *ifname;
	struct cni_prefix cont; /* container address with its subnet's prefix length */
	const struct nu_pm_map *maps;
	size_t n_maps;
	bool snat, masq_all;
	uint32_t mark;		    /* iptables: 1 << markMasqBit */
	const char *ext_mark_chain; /* iptables: externalSetMarkChain, NULL: ours */
	const struct nu_pm_cond *conds;
	size_t n_conds;
};

/*
 * nu_pm_nft_add() - the attachment's rules and the shared structure for each of the @n (one per
 * family) in one batch: all or nothing.
 */
int nu_pm_nft_add(const struct nu_pm *pm, size_t n, struct cni_err *e);

/* nu_pm_nft_check() - 0 when every rule nu_pm_nft_add() writes is in place, else -ENOENT. */
int nu_pm_nft_check(const struct nu_pm *pm, struct cni_err *e);

/*
 * nu_pm_nft_comment() - the comment of container @cid's rules in the nftables layout: @cid, or
 * for one over 253 bytes "<its first 32 bytes>:sha512:<64 hex>" in @out. Returns one of them.
 */
#define NU_PM_COMMENT_LEN (32 + 8 + 64)
const char *nu_pm_nft_comment(char out[NU_PM_COMMENT_LEN + 1], const char *cid);

/* nu_pm_nft_del() - remove the rules of container @cid from both families. Absent: 0. */
int nu_pm_nft_del(const char *cid, struct cni_err *e);

/*
 * nu_pm_nft_gc() - remove the rules of network @net (our ownership TLV) whose attachment (TLV
 * ifname, comment) is none of the @n @valid ones' (a long ID's comment is its hash). Rules
 * without the TLV (written by the reference) cannot be attributed: kept.
 */
int nu_pm_nft_gc(const char *net, const struct cni_attachment *valid, size_t n,
		 struct cni_err *e);

/* "CNI-DN-" + 21 hex of sha512(net + cid): @out holds 29 bytes. Returns @out. */
char *nu_pm_ipt_chain(char out[29], const char *net, const char *cid);

/*
 * nu_pm_ipt_add() - the reference's iptables layout for each of the @n (at most 2, one per
 * family) in one batch. Like the Go plugin's InsertUnique, rules already present are not added.
 */
int nu_pm_ipt_add(const struct nu_pm *pm, size_t n, struct cni_err *e);

/* nu_pm_ipt_check() - 0 when the chain, its rules and the entry rules exist, else -ENOENT. */
int nu_pm_ipt_check(const struct nu_pm *pm, struct cni_err *e);

/*
 * nu_pm_ipt_del() - remove chain CNI-DN-<hash> (and the legacy CNI-SN-<hash>) of (@net, @cid)
 * and every entry rule jumping to it, in both families. Shared chains stay. Absent: 0.
 */
int nu_pm_ipt_del(const char *net, const char *cid, struct cni_err *e);

/*
 * nu_pm_ipt_gc() - for every entry rule of CNI-HOSTPORT-DNAT commented for network @net whose
 * chain CNI-DN-<hash> is no container's of the @n @valid ones (any ifname: the layout does not
 * record it), remove it and its chain. The chain's hash decides, so an entry whose comment was
 * cut at 255 bytes (a long ID) is collected too.
 */
int nu_pm_ipt_gc(const char *net, const struct cni_attachment *valid, size_t n,
		 struct cni_err *e);

#endif
