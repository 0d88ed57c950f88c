/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pkg/nft, the nftables side of cnic, through libnftnl over libmnl (never the nft or iptables
 * binaries): the layouts several plugins share, IP masquerade for bridge/ptp and the bridge MAC
 * spoof check (a plugin's own layout is in its folder: plugins/meta/{portmap,firewall,dnsname}), in
 * exactly the layout the reference Go plugins write, so a host moves between them and cnic without
 * leaking or losing rules. Objects: table inet cni_plugins_masquerade (chains masq_checks,
 * postrouting), the iptables-nft layout in ip/ip6 nat (chain CNI-<hash>, POSTROUTING jumps), table
 * bridge nat (chain PREROUTING, chains cni-br-iface-<cid>-<ifname>[-mac]). Rules are identified by
 * their comment, never by address, so an IP reused by another container is safe. Every change is
 * one atomic batch (retried when a rule it deletes vanished meanwhile); tables and chains are
 * created with "add" semantics, so concurrent plugins are safe. Deletes and GC are idempotent: an
 * absent table, chain or rule is success. Functions work in the calling thread's netns and return 0
 * or a negative errno, with the text in @e.
 */
#ifndef NFT_NFT_H
#define NFT_NFT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cni/err.h"
#include "cni/ip.h"

/* GC functions take the runtime's valid attachments (cni.dev/valid-attachments) as a list. */
struct cni_attachment;

/* nu_nft_available() - 0 when nf_tables answers in this netns, else a negative errno. */
int nu_nft_available(void);

/*
 * nu_nft_masq_add() - masquerade traffic from each of the @n addresses @ips (their prefix length
 * gives the container subnet) to anything outside that subnet, for attachment (@net, @ifname,
 * @cid). Creates the table and chains when absent, rewrites postrouting, replaces the rules a
 * previous ADD of the same attachment left. One batch. Returns 0 or -errno.
 */
int nu_nft_masq_add(const char *net, const char *ifname, const char *cid,
		    const struct cni_prefix *ips, size_t n, struct cni_err *e);

/* nu_nft_masq_del() - remove the attachment's rules (whatever their address). Absent: 0. */
int nu_nft_masq_del(const char *net, const char *ifname, const char *cid, struct cni_err *e);

/*
 * nu_nft_masq_gc() - remove every rule of network @net whose attachment is none of the @n
 * @valid ones, by the attachment hash that starts each comment (so a comment cut at 128 bytes,
 * long names, is collected too). Returns 0 or -errno.
 */
int nu_nft_masq_gc(const char *net, const struct cni_attachment *valid, size_t n,
		   struct cni_err *e);

/* nu_nft_masq_check() - 0 when the attachment has a rule for each of @ips, else -ENOENT. */
int nu_nft_masq_check(const char *net, const char *ifname, const char *cid,
		      const struct cni_prefix *ips, size_t n, struct cni_err *e);

/*
 * nu_nft_masq_iptables_chain() - the reference's iptables chain name for (@net, @cid):
 * "CNI-" + 24 hex of sha512(net + cid), written to @out (29 bytes). Returns @out.
 */
char *nu_nft_masq_iptables_chain(char out[29], const char *net, const char *cid);

/*
 * nu_nft_masq_del_iptables() - remove the reference's iptables masquerade layout for (@net, @cid)
 * from tables ip nat and ip6 nat, as iptables-nft wrote it: every POSTROUTING rule jumping to
 * chain CNI-<hash>, then that chain. The addresses are not needed (so this works when the netns
 * is gone). Absent: 0.
 */
int nu_nft_masq_del_iptables(const char *net, const char *cid, struct cni_err *e);

/*
 * nu_nft_masq_add_iptables() - the reference's iptables masquerade layout for (@net, @cid) and
 * each of @ips, written as iptables-nft 1.8.9 writes it (ip/ip6 nat: chain CNI-<hash> with
 * "-d <subnet> -j ACCEPT" and "! -d <multicast> -j MASQUERADE", POSTROUTING
 * "-s <ip> -j CNI-<hash>", all commented 'name: "<net>" id: "<cid>"'). Like the reference's
 * AppendUnique, a rule already present is not added again. One batch per family. Returns 0 or
 * -errno (-EINVAL for a comment iptables would refuse).
 */
int nu_nft_masq_add_iptables(const char *net, const char *cid, const struct cni_prefix *ips,
			     size_t n, struct cni_err *e);

/*
 * nu_nft_masq_check_iptables() - 0 when the chain and the three rules of each of @ips are in
 * place, else -ENOENT with the missing chain or rule (in iptables -S syntax) in @e.
 */
int nu_nft_masq_check_iptables(const char *net, const char *cid, const struct cni_prefix *ips,
			       size_t n, struct cni_err *e);

/* The masquerade layout ipMasqBackend chose: native nftables (our default), or the reference's. */
enum nu_masq_layout {
	NU_MASQ_NFT,
	NU_MASQ_IPTABLES,
};

/* nu_nft_masq_add() or nu_nft_masq_add_iptables(), by @layout. */
int nu_nft_masq_add_as(enum nu_masq_layout layout, const char *net, const char *ifname,
		       const char *cid, const struct cni_prefix *ips, size_t n, struct cni_err *e);
/*
 * nu_nft_masq_del_any() - nu_nft_masq_del() and nu_nft_masq_del_iptables() both, as the reference
 * tries: whichever backend made the rules, they go. The first failure.
 */
int nu_nft_masq_del_any(const char *net, const char *ifname, const char *cid, struct cni_err *e);
/* nu_nft_masq_check() or nu_nft_masq_check_iptables(), by @layout. */
int nu_nft_masq_check_as(enum nu_masq_layout layout, const char *net, const char *ifname,
			 const char *cid, const struct cni_prefix *ips, size_t n,
			 struct cni_err *e);

/*
 * nu_nft_spoofchk_add() - drop frames entering the bridge from @host_veth whose source MAC is not
 * @mac, for attachment (@cid, @ifname). Creates table bridge nat and its PREROUTING chain when
 * absent; replaces the attachment's previous rules. One batch. Returns 0 or -errno.
 */
int nu_nft_spoofchk_add(const char *cid, const char *ifname, const char *host_veth,
			const uint8_t mac[6], struct cni_err *e);

/* nu_nft_spoofchk_del() - remove the attachment's PREROUTING rule and both chains. Absent: 0. */
int nu_nft_spoofchk_del(const char *cid, const char *ifname, struct cni_err *e);

/* Callback of spoof-check GC: true when host veth @host_veth is the calling network's to judge. */
typedef bool (*nu_nft_owns_fn)(void *arg, const char *host_veth);

/*
 * nu_nft_spoofchk_gc() - remove the rules and chains of every attachment that is none of the
 * @n @valid ones: a name is kept when it is one of theirs as ADD makes it ("<cid>-<ifname>", or
 * its hashed form for a long pair). The rules are not keyed by network, so with @owns (may be
 * NULL) an attachment whose PREROUTING rule matches a host veth that @owns rejects (another
 * network's) is kept, rules and chains.
 */
int nu_nft_spoofchk_gc(const struct cni_attachment *valid, size_t n, nu_nft_owns_fn owns,
		       void *arg, struct cni_err *e);

/*
 * nu_nft_spoofchk_check() - 0 when the PREROUTING jump for @host_veth and the MAC chain for @mac
 * are in place, else -ENOENT with the missing part in @e.
 */
int nu_nft_spoofchk_check(const char *cid, const char *ifname, const char *host_veth,
			  const uint8_t mac[6], struct cni_err *e);

#endif
