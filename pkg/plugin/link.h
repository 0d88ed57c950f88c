/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The link-kind plugin skeleton: macvlan, ipvlan, vlan, tap and dummy give a container one link of
 * their kind and differ only in how it is made and what CHECK compares. Each is a struct
 * pl_link_ops (its link kind, flags for the reference's quirks, a few hooks) in .ops of its
 * struct cni_plugin, whose verbs are PL_LINK_VERBS: one ADD, DEL, CHECK, STATUS and GC for all.
 *   ADD    the link in the container netns (on a master, or ops->create), its MAC into the
 *          result, IPAM's addresses (or a chained prevResult's), the notify sysctls, addresses
 *          and routes (nu_iface_setup()); a failure deletes the link, the dispatcher releases
 *          IPAM.
 *   DEL    IPAM DEL, then the link (nu_tmplink_remove()); both always run, the first error
 *          is reported; a netns or link already gone is success.
 *   CHECK  IPAM CHECK, prevResult's interface, the link's kind, ops->check, its master, MAC,
 *          addresses and routes, in the reference's order and words.
 *   STATUS the master (host netns), ops->status; then the dispatcher asks IPAM, which has GC
 *          too (CNI_PLUGIN_IPAM_VERBS).
 */
#ifndef PLUGIN_LINK_H
#define PLUGIN_LINK_H

#include "cni/cni.h"
#include "netutil/netutil.h"
#include "netutil/tmplink.h"

/* The keys of a plugin whose link sits on a master: the first member of its configuration. */
struct pl_link_conf {
	char *master; /* NULL or "": the default route's interface */
	int mtu;
	bool link_in_container;
};

/*
 * .on_master of a plugin whose link sits on a master (its configuration starts with a struct
 * pl_link_conf): the master's lookup, behind a pointer so that the others do not link it.
 */
struct pl_link_master;
extern const struct pl_link_master pl_link_master;

/* Flags of struct pl_link_ops. */
enum {
	PL_LINK_CHAINED_IPS = 1 << 0,	   /* no IPAM: prevResult's addresses (ipvlan) */
	PL_LINK_IPAM_DNS = 1 << 1,	   /* the result's DNS is IPAM's; else the config's */
	PL_LINK_CHECK_MASTER_FIRST = 1 << 2, /* CHECK finds the master before the link (macvlan) */
	PL_LINK_CHECK_OUR_MAC = 1 << 3,	   /* our MAC mismatch text, not the reference's (tap) */
	PL_LINK_CHECK_UP = 1 << 4,	   /* CHECK: the link is up (dummy) */
	PL_LINK_CHECK_NO_ROUTES = 1 << 5,  /* CHECK leaves the routes (dummy) */
};

struct pl_link_ops {
	struct nu_tmplink link; /* kind (CHECK compares it), temporary name, creation */
	unsigned int flags;	       /* PL_LINK_* */
	unsigned int notify;	       /* NU_NOTIFY_* at ADD */
	unsigned int del_flags;	       /* NU_TMPLINK_* for nu_tmplink_remove() */
	const struct pl_link_master *on_master; /* &pl_link_master, or NULL: no master */
	/*
	 * Optional, with .on_master: the master's name for ctx->env.cmd into *@name (NULL
	 * or "": the default route's). 0, 1 when it cannot be known (CHECK, STATUS: not judged),
	 * or -errno. Default: the "master" key.
	 */
	int (*master)(const struct cni_ctx *ctx, const char **name, struct cni_err *e);
	/*
	 * ADD without .on_master: create the link in @cont (netns @netns_fd) and return its
	 * ifindex, or 0 when it is CNI_IFNAME; on failure nothing is left. -errno.
	 */
	int (*create)(struct cni_ctx *ctx, struct nu_nl *cont, int netns_fd, struct cni_err *e);
	/* Optional: CHECK of link @cl (of the right kind) in @cont, before its master. */
	int (*check)(const struct cni_ctx *ctx, struct nu_nl *cont, const struct nu_link_info *cl,
		     struct cni_err *e);
	/* Optional: STATUS before IPAM's. */
	int (*status)(struct cni_ctx *ctx, struct cni_err *e);
};

int pl_link_add(struct cni_ctx *ctx, struct cni_result *res, struct cni_err *e);
int pl_link_del(struct cni_ctx *ctx, struct cni_err *e);
int pl_link_check(struct cni_ctx *ctx, struct cni_err *e);
int pl_link_status(struct cni_ctx *ctx, struct cni_err *e);

#define PL_LINK_VERBS                                                                              \
	.add = pl_link_add, .del = pl_link_del, .check = pl_link_check, .status = pl_link_status,  \
	.flags = CNI_PLUGIN_IPAM_VERBS

#endif
