/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A container link created under a temporary name and renamed to CNI_IFNAME (macvlan, ipvlan,
 * vlan, tap): the link is born in the container netns (a name taken on the host cannot clash),
 * under a name derived from the attachment (container ID, ifname), so that a DEL, or the next
 * ADD, after an ADD killed between creation and rename finds the leftover and removes it; only a
 * link of the plugin's own kind is ever removed. The kind-specific creation is a callback. A kind
 * created under its final name (dummy) has no @prefix: DEL then only removes @ifname. Every
 * function returns 0 (or an ifindex) or a negative errno with the text in @e.
 */
#ifndef NETUTIL_TMPLINK_H
#define NETUTIL_TMPLINK_H

#include "netutil/netutil.h"

/*
 * How the temporary name's tail is derived from "container ID" and "ifname" (kept per plugin:
 * stable), into @out (13 bytes): functions, so that a plugin links only the hash it uses.
 */
typedef void nu_tmpname_fn(const char *cid, const char *ifname, char *out);
/* 12 hex digits: FNV-1a 64 over "<cid>/<ifname>", low 48 bits */
nu_tmpname_fn nu_tmpname_fnv48;
/* 8 hex digits of SHA-512 over "<cid>:<ifname>" */
nu_tmpname_fn nu_tmpname_sha512;

/*
 * Where a link is created: through @nl (the master's netns), on master @master (an ifindex there,
 * 0: none), with @mtu (0: the kernel's), born in the netns of @netns_fd (-1: @nl's); @conf is the
 * plugin's configuration.
 */
struct nu_tmplink_at {
	struct nu_nl *nl;
	int master;
	unsigned int mtu;
	int netns_fd;
	const void *conf;
};

/* One link kind, as a plugin creates it: a static table. */
struct nu_tmplink {
	const char *kind;     /* IFLA_INFO_KIND of ours ("macvlan", "tun"): others are left alone */
	const char *what;     /* the link in messages ("tap"); NULL: @kind */
	const char *prefix;   /* of the temporary name; NULL: none (created as CNI_IFNAME) */
	nu_tmpname_fn *hash;  /* of the rest of it */
	/* On -EEXIST, random "veth%08x" names tried after the temporary one (kernels that look
	 * for the name in the creating netns too). */
	int random_names;
	/* Create the link @link says (@at's master, MTU and netns under its temporary name) in
	 * the container netns, through @at->nl. 0 or -errno. */
	int (*create)(const struct nu_tmplink_at *at, const struct nu_link_spec *link,
		      struct cni_err *e);
	/* Optional: adjust the new link @ifindex of @cont before its rename. 0 or -errno. */
	int (*prepare)(const struct nu_tmplink_at *at, struct nu_nl *cont, int ifindex,
		       struct cni_err *e);
};

/* nu_tmplink_name() - the temporary name of attachment (@cid, @ifname) into @out. */
void nu_tmplink_name(const struct nu_tmplink *t, const char *cid, const char *ifname,
		     char out[NU_IFNAMSIZ]);

/*
 * nu_tmplink_create() - in the container netns of @cont: remove a leftover of (@cid, @ifname),
 * create the link under its temporary name (t->create with @at), t->prepare it, rename it to
 * @ifname. A failure after creation deletes the link. Returns the ifindex in @cont or -errno
 * ("failed to create <what>: ...", "failed to rename <what> to ...").
 */
int nu_tmplink_create(struct nu_nl *cont, const struct nu_tmplink *t, const char *cid,
		      const char *ifname, const struct nu_tmplink_at *at, struct cni_err *e);

/* Flags of nu_tmplink_on_master() and nu_tmplink_remove(). */
enum {
	NU_TMPLINK_MASTER_IN_CONTAINER = 1 << 0, /* the master is in the container netns */
	/* DEL: @ifname only when it is of kind t->kind; one that cannot be looked up is left */
	NU_TMPLINK_ONLY_OURS = 1 << 1,
	/* with NU_TMPLINK_ONLY_OURS: a failed lookup (not an absent link) fails the DEL */
	NU_TMPLINK_LOOKUP_FAILS = 1 << 2,
};

/* One attachment's link on a master, for nu_tmplink_on_master(). */
struct nu_tmplink_req {
	const char *cid, *ifname; /* the attachment: its temporary name, and the final one */
	const char *master;	  /* nu_master_find(): NULL or "" is the default route's interface */
	unsigned int mtu;	  /* 0: the master's; above it: -EINVAL */
	unsigned int flags;	  /* NU_TMPLINK_MASTER_IN_CONTAINER */
	const void *conf;	  /* the plugin's configuration, for t->create */
};

/*
 * nu_tmplink_on_master() - ADD of a link on a master (macvlan, ipvlan, vlan): @req->master is
 * looked up in the host netns, or in the container's with NU_TMPLINK_MASTER_IN_CONTAINER; an
 * MTU above the master's is -EINVAL (code 7); then nu_tmplink_create() on it, the link born in
 * the container netns (@cont, @netns_fd). Returns the link's ifindex in @cont or -errno.
 */
int nu_tmplink_on_master(struct nu_nl *cont, int netns_fd, const struct nu_tmplink *t,
			 const struct nu_tmplink_req *req, struct cni_err *e);

/*
 * nu_tmplink_del() - delete the leftover temporary link of (@cid, @ifname) in @cont, if it is of
 * kind t->kind. 0 when there is none, or -errno.
 */
int nu_tmplink_del(struct nu_nl *cont, const struct nu_tmplink *t, const char *cid,
		   const char *ifname, struct cni_err *e);

/*
 * nu_tmplink_remove() - DEL in the netns at path @netns: link @ifname (any kind, or as @flags
 * say, NU_TMPLINK_ONLY_OURS...), then a leftover temporary link. A netns that is gone took both
 * along, an absent link is success: 0. Else -errno, "failed to delete container interface ...".
 */
int nu_tmplink_remove(const char *netns, const struct nu_tmplink *t, const char *cid,
		      const char *ifname, unsigned int flags, struct cni_err *e);

#endif
