/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The firewall meta plugin's kernel side (nft.c): rules admitting forwarded traffic to
 * and from container addresses, an admin chain left to the administrator, and the ingress
 * policies that keep bridges (and, "isolated", the ports of one bridge) apart. Two layouts, one
 * ops table each: the native nftables layout (table inet cni_firewall, rules identified by a
 * comment naming network, interface and container) and the reference plugin's iptables layout
 * (ip/ip6 filter: CNI-FORWARD, the admin chain, CNI-ISOLATION-STAGE-1/2) written through libnftnl
 * as iptables-nft 1.8.9 writes it. Every change is one nftables batch per table; functions work in
 * the calling thread's netns and return 0 or a negative errno with the text in @e. Deletes are
 * idempotent (an absent table, chain or rule is success).
 */
#ifndef FIREWALL_H
#define FIREWALL_H

#include <stdbool.h>
#include <stddef.h>

#include "cni/err.h"
#include "cni/ip.h"
#include "nft/nft.h"

enum nu_fw_policy {
	NU_FW_OPEN,	   /* no ingress restriction */
	NU_FW_SAME_BRIDGE, /* forwarded traffic between two policy bridges is dropped */
	NU_FW_ISOLATED,	   /* same-bridge, and traffic between ports of the bridge too */
};

/* One attachment as the firewall sees it. */
struct nu_fw {
	const char *net, *ifname, *cid;
	const struct cni_prefix *ips; /* the container's addresses (prefix lengths ignored) */
	size_t n;
	enum nu_fw_policy policy;
	const char *bridge;	 /* the policy's bridge (prevResult.interfaces[0]); NULL when open */
	const char *port;	 /* native, isolated: the attachment's bridge port, NULL if unknown */
	const char *admin_chain; /* iptables layout: the admin chain ("CNI-ADMIN") */
};

/* Longest admin chain name iptables accepts (XT_EXTENSION_MAXNAMELEN - 1). */
#define NU_FW_IPT_CHAIN_MAX 28

/*
 * Native layout. nu_fw_add() creates the table and chains when absent, rewrites the base chain's
 * three jumps, replaces the attachment's earlier rules and adds the bridge's policy rules when
 * missing (policy rules are shared by every attachment of the bridge and stay on DEL).
 * nu_fw_del() removes the attachment's rules by their comment (no addresses needed).
 * nu_fw_check() is 0 when chains, jumps, the attachment's rules for each address and the
 * policy rules are in place, else -ENOENT naming the missing part. With "isolated" and a known
 * @port, the port's rules in the bridge family belong to the attachment (removed on DEL).
 * nu_fw_gc() removes the rules of network @net whose attachment is none of the @n @valid ones,
 * by the attachment hash that starts each comment (a comment cut after it is collected too).
 */
int nu_fw_add(const struct nu_fw *f, struct cni_err *e);
int nu_fw_del(const struct nu_fw *f, struct cni_err *e);
int nu_fw_check(const struct nu_fw *f, struct cni_err *e);
int nu_fw_gc(const char *net, const struct cni_attachment *valid, size_t n, struct cni_err *e);

/*
 * The reference's iptables layout, per family of @f->ips: chains CNI-FORWARD and the admin
 * chain, "-m comment --comment "CNI firewall plugin rules" -j CNI-FORWARD" first in FORWARD and
 * the admin jump first in CNI-FORWARD (each only when absent), per address
 * "-d <ip> -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT" and "-s <ip> -j ACCEPT" appended
 * unless present; with a policy the CNI-ISOLATION-STAGE-1/2 chains and rules. The rules carry no
 * owner: _del() removes the first rule matching each address (as `iptables -D` does) and leaves
 * chains and policy rules; _check() names the first missing chain or rule in iptables -S syntax.
 */
int nu_fw_ipt_add(const struct nu_fw *f, struct cni_err *e);
int nu_fw_ipt_del(const struct nu_fw *f, struct cni_err *e);
int nu_fw_ipt_check(const struct nu_fw *f, struct cni_err *e);

#endif
