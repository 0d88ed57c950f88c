/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The kernel side of cnic: network namespaces, rtnetlink (links, veth, bridge and its ports and
 * VLANs, addresses, routes; the other link kinds in kind/) and sysctls. Every function returns
 * >= 0 on success and a negative errno on failure, with the human text (what was attempted, the
 * object's name, the kernel's strerror and netlink extended-ack message) written into an
 * optional struct cni_err.
 * Netlink work goes through a struct nu_nl: a socket created inside a target netns and then used
 * from wherever the caller is, so a plugin never has to live in the container's netns. Objects are
 * always fetched by name or index, never by dumping every link or route of a host. Delete
 * functions are idempotent (a missing object is success); *_ensure() functions create or reuse.
 */
#ifndef NETUTIL_NETUTIL_H
#define NETUTIL_NETUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>

#include "cni/err.h"
#include "cni/ip.h"

/* IFNAMSIZ without <net/if.h> or <linux/if.h>: which one an includer wants is its own business,
 * and the two cannot be included in the wrong order. */
#define NU_IFNAMSIZ 16

/*
 * nu_errno_from_nl() - the one mapping from libnl's -NLE_* codes (or positive NLE_*) to a negative
 * errno. 0 maps to 0. Kernel errors are normally reported with their exact errno (the socket
 * records the nlmsgerr), so this is only the fallback for libnl's own failures.
 */
int nu_errno_from_nl(int nle);

/* nu_ifname_valid() - true for a usable interface name: cni_ifname_valid(), the one rule. */
bool nu_ifname_valid(const char *name);

/* Close an fd (if >= 0) when the variable goes out of scope. */
static inline void nu_fd_closep(int *fd)
{
	if (*fd >= 0)
		close(*fd);
}
#define _nu_fd_cleanup_ __attribute__((cleanup(nu_fd_closep)))

/* ---- network namespaces -------------------------------------------------------------------- */

/*
 * nu_netns_open() - open a netns file (O_RDONLY|O_CLOEXEC|O_NONBLOCK: a FIFO does not block) into
 * *fd, owned by the caller.
 * -ENOENT when the path does not exist (DEL treats it as success), -EINVAL when the file is not on
 * nsfs or procfs ("unknown FS magic"), other -errno from open/fstatfs.
 */
int nu_netns_open(const char *path, int *fd, struct cni_err *e);

/*
 * nu_netns_enter() - setns() into the netns of @fd; *orig_fd receives an fd of the netns we left,
 * to be handed to nu_netns_leave(). Returns 0 or -errno (nothing changed on failure).
 */
int nu_netns_enter(int fd, int *orig_fd, struct cni_err *e);

/* nu_netns_leave() - go back to @orig_fd's netns and close it; retried, and if it still fails
 * the process writes an error object and exits 1, because continuing in the wrong netns would
 * damage the host. */
void nu_netns_leave(int orig_fd);

/*
 * nu_netns_temp() - a new anonymous netns, as an fd in *@fd owned by the caller (close it to
 * destroy the namespace: physical devices still inside go back to the initial netns, virtual
 * ones are destroyed), to rename devices in without racing udev or NetworkManager on the host.
 * The calling thread's netns is unchanged on return.
 */
int nu_netns_temp(int *fd, struct cni_err *e);

/* nu_netns_is_current() - 1 when @path is the calling thread's netns, 0 if not, -errno. */
int nu_netns_is_current(const char *path);

/* ---- netlink sockets ----------------------------------------------------------------------- */

struct nu_nl;

/*
 * nu_nl_open() - a NETLINK_ROUTE socket created inside the netns of @netns_fd (-1: the current
 * one), close-on-exec, with extended acks and strict dump checking enabled when the kernel knows
 * them. The caller's netns is unchanged on return; @netns_fd stays owned by the caller.
 */
int nu_nl_open(struct nu_nl **nl, int netns_fd, struct cni_err *e);
void nu_nl_close(struct nu_nl *nl);

static inline void nu_nl_closep(struct nu_nl **nl)
{
	if (*nl)
		nu_nl_close(*nl);
}
#define _nu_nl_cleanup_ __attribute__((cleanup(nu_nl_closep)))

/*
 * nu_nl_open_netns() - the netns file at @path into *@netns_fd and a NETLINK_ROUTE socket inside
 * it into *@nl, both owned by the caller (also when the socket fails). 0 or -errno, the netns
 * failure as "failed to open netns "PATH"".
 */
int nu_nl_open_netns(const char *path, int *netns_fd, struct nu_nl **nl, struct cni_err *e);

/* ---- links --------------------------------------------------------------------------------- */

struct nu_link_info {
	int ifindex;
	char name[NU_IFNAMSIZ];
	unsigned int mtu;
	uint8_t mac[32]; /* MAX_ADDR_LEN: not every link type has a 6-byte address */
	unsigned int mac_len;
	unsigned int flags;	  /* IFF_UP, IFF_PROMISC, ... */
	int master;		  /* ifindex of the master (bridge), 0 if none */
	char kind[32];		  /* IFLA_INFO_KIND: "veth", "bridge", "macvlan"; "" if none */
	int link;		  /* IFLA_LINK: veth peer / macvlan lower ifindex, 0 if none */
	int link_netnsid;	  /* netnsid of @link's netns as seen from here, -1 if the same */
	unsigned int operstate;	  /* IF_OPER_* */
	unsigned int promiscuity; /* promiscuity counter */
};

/* nu_link_index() - ifindex (> 0) of @name, -ENODEV if absent, -EINVAL for a bad name. */
int nu_link_index(struct nu_nl *nl, const char *name);

/* nu_link_get() - one link, by @name when non-NULL, else by @ifindex. -ENODEV if absent. */
int nu_link_get(struct nu_nl *nl, const char *name, int ifindex, struct nu_link_info *out,
		struct cni_err *e);

/* Link changes, by ifindex. 0 or -errno. */
int nu_link_set_up(struct nu_nl *nl, int ifindex, struct cni_err *e);
int nu_link_set_down(struct nu_nl *nl, int ifindex, struct cni_err *e);
int nu_link_set_promisc(struct nu_nl *nl, int ifindex, bool on, struct cni_err *e);
int nu_link_set_mtu(struct nu_nl *nl, int ifindex, unsigned int mtu, struct cni_err *e);
/*
 * nu_link_accept_ra_off() - net/ipv6/conf/<@name>/accept_ra = 0 in the netns of @nl (@netns_fd,
 * -1 for the caller's): read over rtnetlink first, since opening /proc/sys costs 0.1-0.6 ms
 * (more with every link of the netns), and written only when not 0 already. 0 or -errno (the
 * sysctl's, -ENOENT when the link has no IPv6).
 */
int nu_link_accept_ra_off(struct nu_nl *nl, int netns_fd, const char *name, struct cni_err *e);
/* Set one IPv4 per-device setting (IPV4_DEVCONF_*, <linux/ip.h>) over rtnetlink, as the
 * net/ipv4/conf/<dev>/ sysctl would. */
int nu_link_set_inet_conf(struct nu_nl *nl, int ifindex, unsigned int key, uint32_t value,
			  struct cni_err *e);
/*
 * nu_link_set_addr_gen_none() - IPv6 addr_gen_mode "none" on a link (RTM_SETLINK, IFLA_AF_SPEC):
 * set while the link is down, it gets no link-local address when it comes up. -EAFNOSUPPORT
 * without IPv6. A link that is up gets NETDEV_CHANGE: set it before.
 */
int nu_link_set_addr_gen_none(struct nu_nl *nl, int ifindex, struct cni_err *e);

int nu_link_set_mac(struct nu_nl *nl, int ifindex, const uint8_t *mac, size_t len,
		    struct cni_err *e);
int nu_link_rename(struct nu_nl *nl, int ifindex, const char *name, struct cni_err *e);
/* @master 0 detaches the link from its master. */
int nu_link_set_master(struct nu_nl *nl, int ifindex, int master, struct cni_err *e);
/* Moves the link to the netns of @netns_fd (still owned by the caller); the ifindex may change
 * there, so look it up again by name through a socket of that netns. */
int nu_link_set_netns(struct nu_nl *nl, int ifindex, int netns_fd, struct cni_err *e);

/* nu_link_alias_get() - IFLA_IFALIAS of @ifindex into @buf ("" when none): where host-device
 * keeps a moved device's original name. */
int nu_link_alias_get(struct nu_nl *nl, int ifindex, char *buf, size_t len, struct cni_err *e);
/* nu_link_alias_set() - set IFLA_IFALIAS; "" clears it. */
int nu_link_alias_set(struct nu_nl *nl, int ifindex, const char *alias, struct cni_err *e);

/*
 * nu_link_by_mac() - ifindex (> 0) of the first link whose hardware address is @mac (@len
 * bytes). One RTM_GETLINK dump: the only way to select by address. -ENODEV when none matches.
 */
int nu_link_by_mac(struct nu_nl *nl, const uint8_t *mac, size_t len, struct cni_err *e);

/* Delete a link; a missing link is success (0). Deleting one end of a veth deletes both. */
int nu_link_del(struct nu_nl *nl, const char *name, struct cni_err *e);
int nu_link_del_index(struct nu_nl *nl, int ifindex, struct cni_err *e);
/*
 * Delete link @name inside the netns at path @netns (DEL of a container interface): a netns that
 * is gone took the link with it, and a missing link is success (0). -errno of the step that
 * failed (opening the netns, a socket in it, the delete) otherwise.
 */
int nu_link_del_netns(const char *netns, const char *name, struct cni_err *e);
/*
 * nu_link_del_deferred() - delete link @name of @nl, a socket in the netns of @netns_fd, and
 * return as soon as the kernel has taken it out of that netns: closed, unlisted, its addresses,
 * routes and bridge port dropped, its name free (the RTM_DELLINK notification), without waiting
 * for the kernel to free it (an RCU barrier and its references: half of a deletion's time or
 * more under load). A forked child sends the request and waits for that; it keeps no file of
 * the caller open (stdin/out/err are /dev/null) and exits on its own; a long-lived caller reaps
 * it. A missing link is success (0); -errno of the kernel's refusal, or -ETIMEDOUT after 30 s.
 * Without fork() it deletes synchronously.
 */
int nu_link_del_deferred(struct nu_nl *nl, int netns_fd, const char *name, struct cni_err *e);

/*
 * nu_veth_create() - a veth pair whose end @ifname is created in the netns of @nl_container and
 * whose peer is created directly in the netns of @host_netns_fd (-1: the caller's netns), both with
 * @mtu (0: kernel default); @mac (6 bytes or NULL) is the container end's address. @host_name is
 * in/out: "" asks for a random "veth%08x" name (retried up to 10 times on a collision), otherwise
 * that exact name is used; on return it holds the host end's name. The host end is set up and its
 * IPv6 accept_ra set to 0 when IPv6 exists. Returns the host end's ifindex (> 0) or -errno:
 * -EEXIST with a message naming the colliding side. Nothing is left behind on failure.
 */
int nu_veth_create(struct nu_nl *nl_container, const char *ifname, unsigned int mtu,
		   const uint8_t *mac, int host_netns_fd, char host_name[NU_IFNAMSIZ],
		   struct cni_err *e);

/*
 * nu_veth_create_port() - nu_veth_create() for a bridge port: the host end is enslaved to bridge
 * @master (an ifindex in the host netns) and gets IPv6 addr_gen_mode "none" (no link-local
 * address, so no IPv6 traffic of its own and no fe80::/64 route per port in the host netns)
 * before it is set up; its accept_ra is not written (a port's own IP stack never sees a frame).
 * Same returns; -EINVAL for @master <= 0.
 */
int nu_veth_create_port(struct nu_nl *nl_container, const char *ifname, unsigned int mtu,
			const uint8_t *mac, int host_netns_fd, int master,
			char host_name[NU_IFNAMSIZ], struct cni_err *e);

/*
 * nu_bridge_ensure() - create bridge @name (with @mtu if non-zero and VLAN filtering if asked) or
 * reuse an existing bridge of that name as it is; then set promiscuous mode when @promisc and bring
 * it up. @out (may be NULL) receives the final state. Returns 1 if created, 0 if reused, -EEXIST
 * when @name exists but is not a bridge, other -errno.
 */
int nu_bridge_ensure(struct nu_nl *nl, const char *name, unsigned int mtu, bool vlan_filtering,
		     bool promisc, struct nu_link_info *out, struct cni_err *e);

/* nu_bridge_port_set() - hairpin mode and isolation of a bridge port: 1 on, 0 off, -1 keep. */
int nu_bridge_port_set(struct nu_nl *nl, int ifindex, int hairpin, int isolated, struct cni_err *e);

/*
 * nu_bridge_vlan_add() / _del() - VLAN @vid (1..4094) on bridge port @ifindex, or on the bridge
 * device itself when @self (with @ifindex the bridge). _del of a VLAN that is not there is 0.
 */
int nu_bridge_vlan_add(struct nu_nl *nl, int ifindex, uint16_t vid, bool pvid, bool untagged,
		       bool self, struct cni_err *e);
int nu_bridge_vlan_del(struct nu_nl *nl, int ifindex, uint16_t vid, bool self, struct cni_err *e);

/*
 * What every hand-built link kind (kind/: macvlan, ipvlan, vlan, dummy, vrf) is created with:
 * name @name, on lower device @master (an ifindex in the netns of the socket, 0: none), @mtu (0:
 * the kernel's, that is the master's), MAC @mac (6 bytes; NULL: the kernel's), born directly in
 * the netns of @netns_fd (-1: the socket's). The first member of each kind's spec.
 */
struct nu_link_spec {
	const char *name;
	int master;
	unsigned int mtu;
	const uint8_t *mac;
	int netns_fd;
};

/* ---- addresses ----------------------------------------------------------------------------- */

struct nu_addr {
	int ifindex;
	struct cni_prefix prefix;
	uint32_t flags; /* IFA_F_TENTATIVE, IFA_F_DADFAILED, IFA_F_PERMANENT, ... */
	uint8_t scope;	/* RT_SCOPE_* */
};

/* nu_addr_add() - add an address (IPv4 with the broadcast address, as iproute2 and the Go plugins
 * do). -EEXIST if it is already there. */
int nu_addr_add(struct nu_nl *nl, int ifindex, const struct cni_prefix *p, struct cni_err *e);
/* The kernel's IFA_F_NODAD (linux/if_addr.h; addr.c asserts it), so that plugins need no netlink
 * header. */
#define NU_IFA_F_NODAD 0x02
/* The same with IFA_F_* flags (NU_IFA_F_NODAD: usable at once, no duplicate address detection). */
int nu_addr_add_flags(struct nu_nl *nl, int ifindex, const struct cni_prefix *p, uint32_t flags,
		      struct cni_err *e);

/* nu_addr_del() - remove an address; absent address or link is success (0). */
int nu_addr_del(struct nu_nl *nl, int ifindex, const struct cni_prefix *p, struct cni_err *e);

/*
 * nu_addr_list() - the addresses of @ifindex (0: every link) of @family (AF_UNSPEC: both).
 * *out is a malloc()ed array the caller free()s (NULL when *n is 0).
 */
int nu_addr_list(struct nu_nl *nl, int ifindex, int family, struct nu_addr **out, size_t *n,
		 struct cni_err *e);

/*
 * nu_addr_wait_settled() - wait until no IPv6 address of @ifindex is tentative (DAD running),
 * polling with exponential back-off from 1 ms. -EADDRINUSE naming the address when DAD failed;
 * -ETIMEDOUT after @timeout_ms if still tentative while the link is operationally up (a link
 * without carrier never finishes DAD, which is not an error).
 */
int nu_addr_wait_settled(struct nu_nl *nl, int ifindex, int timeout_ms, struct cni_err *e);

/* ---- routes -------------------------------------------------------------------------------- */

/* The kernel's RT_SCOPE_* a plugin's routes take (linux/rtnetlink.h; route.c asserts them), so
 * that plugins need no netlink header. */
#define NU_RT_SCOPE_LINK 253
#define NU_RT_SCOPE_HOST 254

struct nu_route {
	struct cni_prefix dst; /* family 0: take the family from gw */
	struct cni_ip gw;      /* family 0: no gateway */
	int oif;	       /* 0: none */
	int table;	       /* 0: main (add, del); list: see nu_route_list() */
	int scope;	       /* RT_SCOPE_*; -1: universe on add, any on del */
	int priority;	       /* metric; 0: none (kernel default on add, any on del) */
	int mtu;	       /* RTAX_MTU; 0: none */
	int advmss;	       /* RTAX_ADVMSS; 0: none */
	int proto;	       /* RTPROT_*; 0: RTPROT_BOOT on add, any on del */
};

/*
 * nu_route_add() - add a unicast route with NLM_F_CREATE but not NLM_F_EXCL, so the same
 * destination through another gateway is allowed; an identical route gives -EEXIST.
 */
int nu_route_add(struct nu_nl *nl, const struct nu_route *r, struct cni_err *e);

/* nu_route_del() - delete the first route matching the given fields; no such route is 0. */
int nu_route_del(struct nu_nl *nl, const struct nu_route *r, struct cni_err *e);

/*
 * nu_route_list() - routes of @family (AF_UNSPEC: both) in @table (0: every table) through @oif
 * (0: any), filtered by the kernel when it supports strict dump checks. Cloned (cache) entries
 * are left out. *out is a malloc()ed array the caller free()s.
 */
int nu_route_list(struct nu_nl *nl, int family, int table, int oif, struct nu_route **out,
		  size_t *n, struct cni_err *e);

/* ---- sysctl -------------------------------------------------------------------------------- */

/*
 * nu_sysctl_path() - "/proc/sys/..." for a sysctl name written with dots or slashes; when the
 * first separator is a dot, dots and slashes swap ("net.ipv4.conf.eth0/100.forwarding" is
 * /proc/sys/net/ipv4/conf/eth0.100/forwarding). -EINVAL for empty, ".", ".." components or
 * -ENAMETOOLONG.
 */
int nu_sysctl_path(const char *name, char *buf, size_t len);

/*
 * nu_sysctl_get() / _set() - read (trailing newline stripped) or write a sysctl of the netns of
 * @netns_fd (-1: the caller's). The file is opened inside that netns, which is what selects the
 * netns. -ENOENT when the sysctl does not exist there.
 */
int nu_sysctl_get(int netns_fd, const char *name, char *buf, size_t len, struct cni_err *e);
int nu_sysctl_set(int netns_fd, const char *name, const char *value, struct cni_err *e);

/* nu_sysctl_ensure() - write @value only if the current value differs: 1 written, 0 unchanged. */
int nu_sysctl_ensure(int netns_fd, const char *name, const char *value, struct cni_err *e);

/*
 * nu_ip_forward_enable() - turn on forwarding in the caller's netns for AF_INET, AF_INET6 or
 * AF_UNSPEC (both); writes only when not already on. @nl (a socket in the caller's netns, may
 * be NULL) reads the current value over rtnetlink instead of /proc/sys (netconf.c says why).
 */
int nu_ip_forward_enable(struct nu_nl *nl, int family, struct cni_err *e);

/*
 * nu_route_localnet_enable() - set net.ipv4.conf.<if>.route_localnet=1 on the interface the host
 * routes @ip through (so 127.0.0.1-sourced connections can be DNATed to it). No route: 0.
 */
int nu_route_localnet_enable(const struct cni_ip *ip, struct cni_err *e);

#endif
