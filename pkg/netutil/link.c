// SPDX-License-Identifier: Apache-2.0
/*
 * Links: lookup by name or index (RTM_GETLINK for one link, never a dump), attribute changes,
 * deletion, and creation of the kinds the plugins need: veth pairs spanning two netns, bridges
 * and macvlans. Lookups and veth use libnl's link objects; bridge and macvlan requests are built
 * by hand because libnl 3.7 has no IFLA_BR_VLAN_FILTERING or IFLA_MACVLAN_BC_QUEUE_LEN setter.
 * Creation is exclusive (NLM_F_EXCL: an existing name is never modified by accident); deletion of
 * a missing link is success; nu_bridge_ensure() reuses a bridge that already exists.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/ipv6.h>
#include <linux/rtnetlink.h>
#include <netlink/attr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/inet.h>
#include <netlink/route/link/inet6.h>
#include <netlink/route/link/veth.h>

#include "netutil/internal.h"

_Static_assert(NU_IFNAMSIZ == IFNAMSIZ, "NU_IFNAMSIZ");

static void link_put(struct rtnl_link **l)
{
	if (*l)
		rtnl_link_put(*l);
}
#define _link_cleanup_ __attribute__((cleanup(link_put)))

static void link_fill(struct rtnl_link *l, struct nu_link_info *out)
{
	struct nl_addr *a = rtnl_link_get_addr(l);
	const char *s;
	int32_t nsid;

	memset(out, 0, sizeof(*out));
	out->ifindex = rtnl_link_get_ifindex(l);
	s = rtnl_link_get_name(l);
	snprintf(out->name, sizeof(out->name), "%s", s ? s : "");
	out->mtu = rtnl_link_get_mtu(l);
	if (a && nl_addr_get_len(a) <= sizeof(out->mac)) {
		out->mac_len = nl_addr_get_len(a);
		memcpy(out->mac, nl_addr_get_binary_addr(a), out->mac_len);
	}
	out->flags = rtnl_link_get_flags(l);
	out->master = rtnl_link_get_master(l);
	s = rtnl_link_get_type(l);
	snprintf(out->kind, sizeof(out->kind), "%s", s ? s : "");
	out->link = rtnl_link_get_link(l);
	out->link_netnsid = rtnl_link_get_link_netnsid(l, &nsid) < 0 ? -1 : nsid;
	out->operstate = rtnl_link_get_operstate(l);
	out->promiscuity = rtnl_link_get_promiscuity(l);
}

struct link_answer {
	struct rtnl_link *l;
	int err;
	bool acked;
};

static void link_keep(struct nl_object *obj, void *arg)
{
	struct link_answer *a = arg;

	if (!a->l) {
		nl_object_get(obj);
		a->l = (struct rtnl_link *)obj;
	}
}

static int link_answer_valid(struct nl_msg *msg, void *arg)
{
	struct link_answer *a = arg;
	int r;

	if (nlmsg_hdr(msg)->nlmsg_type == RTM_NEWLINK && !a->l && !a->err) {
		r = nl_msg_parse(msg, link_keep, a);
		if (r < 0)
			a->err = nu_errno_from_nl(r);
	}
	return NL_OK;
}

static int link_answer_ack(struct nl_msg *msg, void *arg)
{
	(void)msg;
	((struct link_answer *)arg)->acked = true;
	return NL_STOP;
}

/*
 * One RTM_GETLINK: the link and then the ack, both read here. libnl's rtnl_link_get_kernel()
 * ignores a failure to read the ack (and returns success with no link when the first answer was
 * something else), which left answers queued for the next request.
 */
int nu__link_kernel(struct nu_nl *nl, int ifindex, const char *name, struct rtnl_link **out)
{
	struct link_answer a = {0};
	struct nl_msg *msg = NULL;
	struct nl_cb *s_cb, *cb;
	int r;

	*out = NULL;
	nu__reset(nl);
	r = rtnl_link_build_get_request(ifindex, name, &msg);
	if (r < 0)
		return nu_errno_from_nl(r);
	s_cb = nl_socket_get_cb(nl->sk);
	cb = nl_cb_clone(s_cb);
	nl_cb_put(s_cb);
	if (!cb) {
		nlmsg_free(msg);
		return -ENOMEM;
	}
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, link_answer_valid, &a);
	nl_cb_set(cb, NL_CB_ACK, NL_CB_CUSTOM, link_answer_ack, &a);
	r = nl_send_auto(nl->sk, msg);
	nlmsg_free(msg);
	/* two datagrams, the link and the ack; a few more reads at most before calling it lost */
	for (int i = 0; r >= 0 && !a.acked && i < 4; i++)
		r = nl_recvmsgs(nl->sk, cb);
	nl_cb_put(cb);
	if (r >= 0 && !a.acked)
		r = -NLE_MSG_TRUNC;
	r = nu__result(nl, r);
	if (!r && !a.l)
		r = a.err ? a.err : -EBADMSG;
	if (r < 0) {
		if (a.l)
			rtnl_link_put(a.l);
		return r;
	}
	*out = a.l;
	return 0;
}

static int link_get(struct nu_nl *nl, const char *name, int ifindex, struct rtnl_link **l)
{
	if (name && !nu_ifname_valid(name))
		return -EINVAL;
	if (!name && ifindex <= 0)
		return -ENODEV;
	return nu__link_kernel(nl, name ? 0 : ifindex, name, l);
}

struct nu__label nu__link_label(struct nu_nl *nl, int ifindex)
{
	_link_cleanup_ struct rtnl_link *l = NULL;
	struct nu__label lb;
	char extack[sizeof(nl->extack)];
	int kerr = nl->kerr;

	memcpy(extack, nl->extack, sizeof(extack));
	if (link_get(nl, NULL, ifindex, &l) == 0)
		snprintf(lb.s, sizeof(lb.s), "\"%s\"", rtnl_link_get_name(l));
	else
		snprintf(lb.s, sizeof(lb.s), "#%d", ifindex);
	nl->kerr = kerr;
	memcpy(nl->extack, extack, sizeof(extack));
	return lb;
}

int nu_link_index(struct nu_nl *nl, const char *name)
{
	_link_cleanup_ struct rtnl_link *l = NULL;
	int r;

	r = link_get(nl, name, 0, &l);
	return r < 0 ? r : rtnl_link_get_ifindex(l);
}

int nu_link_get(struct nu_nl *nl, const char *name, int ifindex, struct nu_link_info *out,
		struct cni_err *e)
{
	_link_cleanup_ struct rtnl_link *l = NULL;
	int r;

	r = link_get(nl, name, ifindex, &l);
	if (r < 0) {
		if (name)
			return nu__fail(nl, e, r, "looking up link \"%s\"", name);
		return nu__fail(nl, e, r, "looking up link #%d", ifindex);
	}
	link_fill(l, out);
	return 0;
}

int nu__link_change(struct nu_nl *nl, int ifindex, struct rtnl_link *chg)
{
	_link_cleanup_ struct rtnl_link *orig = rtnl_link_alloc();
	int r;

	if (!orig || !chg) {
		if (chg)
			rtnl_link_put(chg);
		return -ENOMEM;
	}
	rtnl_link_set_ifindex(orig, ifindex);
	nu__reset(nl);
	r = nu__result(nl, rtnl_link_change(nl->sk, orig, chg, 0));
	rtnl_link_put(chg);
	return r;
}

static int link_set_flag(struct nu_nl *nl, int ifindex, unsigned int flag, bool on,
			 struct cni_err *e, const char *what)
{
	struct rtnl_link *chg = rtnl_link_alloc();
	int r;

	/* the kernel applies only the bits of ifi_change, so the other flags are left alone */
	if (chg) {
		if (on)
			rtnl_link_set_flags(chg, flag);
		else
			rtnl_link_unset_flags(chg, flag);
	}
	r = nu__link_change(nl, ifindex, chg);
	return r < 0 ? nu__fail(nl, e, r, "%s link %s", what, LINK(nl, ifindex)) : 0;
}

int nu_link_set_up(struct nu_nl *nl, int ifindex, struct cni_err *e)
{
	return link_set_flag(nl, ifindex, IFF_UP, true, e, "setting up");
}

int nu_link_set_down(struct nu_nl *nl, int ifindex, struct cni_err *e)
{
	return link_set_flag(nl, ifindex, IFF_UP, false, e, "setting down");
}

int nu_link_set_promisc(struct nu_nl *nl, int ifindex, bool on, struct cni_err *e)
{
	return link_set_flag(nl, ifindex, IFF_PROMISC, on, e,
			     on ? "turning promiscuous mode on for"
				: "turning promiscuous mode off for");
}

int nu_link_set_mtu(struct nu_nl *nl, int ifindex, unsigned int mtu, struct cni_err *e)
{
	struct rtnl_link *chg = rtnl_link_alloc();
	int r;

	if (chg)
		rtnl_link_set_mtu(chg, mtu);
	r = nu__link_change(nl, ifindex, chg);
	return r < 0 ? nu__fail(nl, e, r, "setting MTU %u on link %s", mtu, LINK(nl, ifindex)) : 0;
}

int nu_link_set_inet_conf(struct nu_nl *nl, int ifindex, unsigned int key, uint32_t value,
			  struct cni_err *e)
{
	struct rtnl_link *chg = rtnl_link_alloc();
	int r;

	if (chg && rtnl_link_inet_set_conf(chg, key, value) < 0) {
		rtnl_link_put(chg);
		return nu__failx(e, -EINVAL, "IPv4 device setting %u out of range", key);
	}
	r = nu__link_change(nl, ifindex, chg);
	return r < 0 ? nu__fail(nl, e, r, "setting IPv4 device setting %u of link %s", key,
				LINK(nl, ifindex))
		     : 0;
}

int nu_link_set_addr_gen_none(struct nu_nl *nl, int ifindex, struct cni_err *e)
{
	struct rtnl_link *chg = rtnl_link_alloc();
	int r;

	if (chg)
		rtnl_link_inet6_set_addr_gen_mode(chg, IN6_ADDR_GEN_MODE_NONE);
	r = nu__link_change(nl, ifindex, chg);
	return r < 0 ? nu__fail(nl, e, r, "setting IPv6 addr_gen_mode none on link %s",
				LINK(nl, ifindex))
		     : 0;
}

int nu_link_set_mac(struct nu_nl *nl, int ifindex, const uint8_t *mac, size_t len,
		    struct cni_err *e)
{
	struct rtnl_link *chg = rtnl_link_alloc();
	struct nl_addr *a = nl_addr_build(AF_LLC, mac, len);
	int r;

	if (chg && a)
		rtnl_link_set_addr(chg, a);
	if (a)
		nl_addr_put(a);
	else if (chg)
		rtnl_link_put(chg), chg = NULL;
	r = nu__link_change(nl, ifindex, chg);
	return r < 0 ? nu__fail(nl, e, r, "setting the MAC address of link %s", LINK(nl, ifindex))
		     : 0;
}

int nu_link_rename(struct nu_nl *nl, int ifindex, const char *name, struct cni_err *e)
{
	struct rtnl_link *chg;
	int r;

	if (!nu_ifname_valid(name))
		return nu__failx(e, -EINVAL, "renaming link #%d: invalid name \"%s\"", ifindex,
				 name ? name : "");
	chg = rtnl_link_alloc();
	if (chg)
		rtnl_link_set_name(chg, name);
	r = nu__link_change(nl, ifindex, chg);
	return r < 0 ? nu__fail(nl, e, r, "renaming link %s to \"%s\"", LINK(nl, ifindex), name)
		     : 0;
}

int nu_link_set_master(struct nu_nl *nl, int ifindex, int master, struct cni_err *e)
{
	struct rtnl_link *chg = rtnl_link_alloc();
	int r;

	if (chg)
		rtnl_link_set_master(chg, master);
	r = nu__link_change(nl, ifindex, chg);
	if (r < 0 && master)
		return nu__fail(nl, e, r, "attaching link %s to master %s", LINK(nl, ifindex),
				LINK(nl, master));
	if (r < 0)
		return nu__fail(nl, e, r, "detaching link %s from its master", LINK(nl, ifindex));
	return 0;
}

int nu_link_set_netns(struct nu_nl *nl, int ifindex, int netns_fd, struct cni_err *e)
{
	struct rtnl_link *chg = rtnl_link_alloc();
	int r;

	if (chg)
		rtnl_link_set_ns_fd(chg, netns_fd);
	r = nu__link_change(nl, ifindex, chg);
	return r < 0 ? nu__fail(nl, e, r, "moving link %s to another netns", LINK(nl, ifindex)) : 0;
}

/* ---- alias, lookup by hardware address ------------------------------------------------------ */

int nu_link_alias_get(struct nu_nl *nl, int ifindex, char *buf, size_t len, struct cni_err *e)
{
	_link_cleanup_ struct rtnl_link *l = NULL;
	const char *a;
	int r;

	if (ifindex <= 0)
		return nu__failx(e, -ENODEV, "looking up link #%d", ifindex);
	r = nu__link_kernel(nl, ifindex, NULL, &l);
	if (r < 0)
		return nu__fail(nl, e, r, "looking up link #%d", ifindex);
	a = rtnl_link_get_ifalias(l);
	if (!a)
		a = "";
	if (strlen(a) >= len)
		return nu__failx(e, -ENAMETOOLONG, "alias of link #%d too long", ifindex);
	strcpy(buf, a);
	return 0;
}

int nu_link_alias_set(struct nu_nl *nl, int ifindex, const char *alias, struct cni_err *e)
{
	struct rtnl_link *chg = rtnl_link_alloc();
	int r;

	/* "" is sent as a one-byte attribute: the kernel stores an empty alias and stops
	 * reporting IFLA_IFALIAS, the same as cleared. */
	if (chg)
		rtnl_link_set_ifalias(chg, alias);
	r = nu__link_change(nl, ifindex, chg);
	return r < 0 ? nu__fail(nl, e, r, "setting alias \"%s\" on link %s", alias,
				LINK(nl, ifindex))
		     : 0;
}

struct mac_find {
	const uint8_t *mac;
	size_t len;
	int ifindex;
};

static int mac_parse(struct nlmsghdr *nlh, void *arg)
{
	struct mac_find *f = arg;
	struct nlattr *tb[IFLA_MAX + 1];
	struct ifinfomsg *ifi = nlmsg_data(nlh);
	struct nlattr *a;

	if (f->ifindex || nlh->nlmsg_type != RTM_NEWLINK ||
	    nlmsg_parse(nlh, sizeof(*ifi), tb, IFLA_MAX, NULL) < 0)
		return 0;
	a = tb[IFLA_ADDRESS];
	if (a && (size_t)nla_len(a) == f->len && !memcmp(nla_data(a), f->mac, f->len))
		f->ifindex = ifi->ifi_index;
	return 0;
}

static void mac_reset(void *arg)
{
	((struct mac_find *)arg)->ifindex = 0;
}

int nu_link_by_mac(struct nu_nl *nl, const uint8_t *mac, size_t len, struct cni_err *e)
{
	struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC};
	struct mac_find f = {.mac = mac, .len = len};
	struct nl_msg *msg;
	int r;

	msg = nlmsg_alloc_simple(RTM_GETLINK, NLM_F_DUMP);
	if (!msg || nlmsg_append(msg, &ifi, sizeof(ifi), NLMSG_ALIGNTO) < 0) {
		nlmsg_free(msg);
		return nu__failx(e, -ENOMEM, "listing links");
	}
	r = nu__dump(nl, msg, mac_parse, mac_reset, &f);
	nlmsg_free(msg);
	if (r < 0)
		return nu__fail(nl, e, r, "listing links");
	if (!f.ifindex)
		return nu__failx(e, -ENODEV, "no link with that hardware address");
	return f.ifindex;
}

static int link_del(struct nu_nl *nl, const char *name, int ifindex)
{
	_link_cleanup_ struct rtnl_link *l = rtnl_link_alloc();

	if (!l)
		return -ENOMEM;
	if (name)
		rtnl_link_set_name(l, name);
	else
		rtnl_link_set_ifindex(l, ifindex);
	nu__reset(nl);
	return nu__result(nl, rtnl_link_delete(nl->sk, l));
}

int nu_link_del(struct nu_nl *nl, const char *name, struct cni_err *e)
{
	int r;

	if (!nu_ifname_valid(name))
		return nu__failx(e, -EINVAL, "deleting link: invalid name \"%s\"",
				 name ? name : "");
	r = link_del(nl, name, 0);
	if (r == -ENODEV || r == -ENOENT)
		return 0;
	return r < 0 ? nu__fail(nl, e, r, "deleting link \"%s\"", name) : 0;
}

int nu_link_del_index(struct nu_nl *nl, int ifindex, struct cni_err *e)
{
	int r;

	if (ifindex <= 0)
		return 0;
	r = link_del(nl, NULL, ifindex);
	if (r == -ENODEV || r == -ENOENT)
		return 0;
	return r < 0 ? nu__fail(nl, e, r, "deleting link #%d", ifindex) : 0;
}

int nu_link_del_netns(const char *netns, const char *name, struct cni_err *e)
{
	_nu_fd_cleanup_ int fd = -1;
	_nu_nl_cleanup_ struct nu_nl *nl = NULL;
	int r = nu_netns_open(netns, &fd, e);

	if (r == -ENOENT)
		return 0;
	if (r == 0)
		r = nu_nl_open(&nl, fd, e);
	if (r == 0)
		r = nu_link_del(nl, name, e);
	return r;
}

/* ---- veth ---------------------------------------------------------------------------------- */

static int random_veth_name(char name[NU_IFNAMSIZ])
{
	uint32_t v;

	if (getrandom(&v, sizeof(v), 0) != sizeof(v))
		return -errno;
	snprintf(name, NU_IFNAMSIZ, "veth%08x", v);
	return 0;
}

static int veth_add(struct nu_nl *nl, const char *ifname, const char *peer_name, unsigned int mtu,
		    const uint8_t *mac, int peer_netns_fd)
{
	struct rtnl_link *l = rtnl_link_veth_alloc(), *peer;
	struct nl_addr *a = NULL;
	int r = -ENOMEM;

	if (!l)
		return -ENOMEM;
	peer = rtnl_link_veth_get_peer(l);
	rtnl_link_set_name(l, ifname);
	rtnl_link_set_name(peer, peer_name);
	if (mtu) {
		rtnl_link_set_mtu(l, mtu);
		rtnl_link_set_mtu(peer, mtu);
	}
	if (mac) {
		a = nl_addr_build(AF_LLC, mac, 6);
		if (!a)
			goto out;
		rtnl_link_set_addr(l, a);
	}
	/* IFLA_NET_NS_FD inside VETH_INFO_PEER: the peer is born in the host netns */
	rtnl_link_set_ns_fd(peer, peer_netns_fd);
	nu__reset(nl);
	r = nu__result(nl, rtnl_link_add(nl->sk, l, NLM_F_CREATE | NLM_F_EXCL));
out:
	if (a)
		nl_addr_put(a);
	rtnl_link_put(peer); /* rtnl_link_veth_get_peer() took a reference */
	rtnl_link_veth_release(l);
	return r;
}

/*
 * A bridge port's host end, still down: enslaved, with IPv6 address generation off (no link-local
 * address, so no DAD, MLD report, router solicitation or fe80::/64 route for it in the host netns)
 * in one RTM_SETLINK. A down link gets no NETDEV_CHANGE for it. Without IPv6 in the kernel the
 * AF_INET6 part is refused (EAFNOSUPPORT) and the link is only enslaved.
 */
static int port_prepare(struct nu_nl *nl, int ifindex, int master, struct cni_err *e)
{
	struct rtnl_link *chg = rtnl_link_alloc();
	int r;

	if (chg) {
		rtnl_link_set_master(chg, master);
		rtnl_link_inet6_set_addr_gen_mode(chg, IN6_ADDR_GEN_MODE_NONE);
	}
	r = nu__link_change(nl, ifindex, chg);
	if (r == -EAFNOSUPPORT) {
		chg = rtnl_link_alloc();
		if (chg)
			rtnl_link_set_master(chg, master);
		r = nu__link_change(nl, ifindex, chg);
	}
	return r < 0 ? nu__fail(nl, e, r, "attaching link %s to master %s", LINK(nl, ifindex),
				LINK(nl, master))
		     : 0;
}

static int veth_create(struct nu_nl *nl_cont, const char *ifname, unsigned int mtu,
		       const uint8_t *mac, int host_netns_fd, int master, char host_name[NU_IFNAMSIZ],
		       struct cni_err *e)
{
	_nu_nl_cleanup_ struct nu_nl *nl_host = NULL;
	_nu_fd_cleanup_ int self_fd = -1;
	bool random_name = host_name[0] == '\0';
	char accept_ra[64];
	int r, host_fd = host_netns_fd, host_idx;

	if (!nu_ifname_valid(ifname))
		return nu__failx(e, -EINVAL,
				 "creating veth: invalid container interface name \"%s\"",
				 ifname ? ifname : "");
	if (!random_name && !nu_ifname_valid(host_name))
		return nu__failx(e, -EINVAL, "creating veth: invalid host interface name \"%s\"",
				 host_name);
	if (host_fd < 0) {
		r = nu_netns_open("/proc/thread-self/ns/net", &self_fd, e);
		if (r < 0)
			return r;
		host_fd = self_fd;
	}
	r = nu_nl_open(&nl_host, host_fd, e);
	if (r < 0)
		return r;

	for (int attempt = 0;; attempt++) {
		if (random_name) {
			/* 10 tries, as the reference: 4 random bytes rarely collide twice */
			if (attempt == 10)
				return nu__failx(e, -EEXIST,
						 "creating veth \"%s\": no free host name", ifname);
			r = random_veth_name(host_name);
			if (r < 0)
				return nu__failx(e, r, "creating veth \"%s\": getrandom", ifname);
		}
		r = veth_add(nl_cont, ifname, host_name, mtu, mac, host_fd);
		if (r != -EEXIST)
			break;
		/*
		 * The kernel says EEXIST for either name and nothing tells which: the container
		 * name is checked first (NLM_F_EXCL), so look there, then at the host side.
		 */
		if (nu_link_index(nl_cont, ifname) > 0)
			return nu__failx(e, r,
					 "container veth name \"%s\" (peer \"%s\") already exists",
					 ifname, host_name);
		if (random_name && nu_link_index(nl_host, host_name) > 0)
			continue;
		if (!random_name)
			return nu__failx(e, r,
					 "host veth name \"%s\" (container \"%s\") already exists",
					 host_name, ifname);
		break;
	}
	if (r < 0)
		return nu__fail(nl_cont, e, r, "creating veth \"%s\" with peer \"%s\"", ifname,
				host_name);

	/* the host end's ifindex changed on the way to its netns: look it up there */
	host_idx = nu_link_index(nl_host, host_name);
	if (host_idx < 0) {
		r = nu__failx(e, host_idx, "looking up host veth \"%s\"", host_name);
		goto del_veth;
	}
	if (master > 0) {
		/*
		 * A bridge port never hands a frame to its own IP stack (br_handle_frame() takes
		 * them all), and this one is a port before it is up: no router advertisement can
		 * reach it, so its accept_ra is left alone (a /proc/sys write costs O(netns)).
		 */
		r = port_prepare(nl_host, host_idx, master, e);
		if (r == 0)
			r = nu_link_set_up(nl_host, host_idx, e);
		if (r < 0)
			goto del_veth;
		return host_idx;
	}
	r = nu_link_set_up(nl_host, host_idx, e);
	if (r < 0)
		goto del_veth;
	/* a router advertisement must not configure the host side; no IPv6 is fine */
	snprintf(accept_ra, sizeof(accept_ra), "net/ipv6/conf/%s/accept_ra", host_name);
	r = nu_sysctl_set(host_fd, accept_ra, "0", e);
	if (r == -ENOENT && e)
		cni_err_clear(e);
	else if (r < 0)
		goto del_veth;
	return host_idx;

del_veth:
	nu_link_del(nl_cont, ifname, NULL);
	return r;
}

int nu_veth_create(struct nu_nl *nl_cont, const char *ifname, unsigned int mtu, const uint8_t *mac,
		   int host_netns_fd, char host_name[NU_IFNAMSIZ], struct cni_err *e)
{
	return veth_create(nl_cont, ifname, mtu, mac, host_netns_fd, 0, host_name, e);
}

int nu_veth_create_port(struct nu_nl *nl_cont, const char *ifname, unsigned int mtu,
			const uint8_t *mac, int host_netns_fd, int master,
			char host_name[NU_IFNAMSIZ], struct cni_err *e)
{
	if (master <= 0)
		return nu__failx(e, -EINVAL, "creating veth \"%s\": invalid bridge index %d", ifname,
				 master);
	return veth_create(nl_cont, ifname, mtu, mac, host_netns_fd, master, host_name, e);
}

/* ---- bridge -------------------------------------------------------------------------------- */

static int bridge_add(struct nu_nl *nl, const char *name, unsigned int mtu, bool vlan_filtering)
{
	struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC};
	struct nl_msg *msg = nlmsg_alloc_simple(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
	struct nlattr *li, *data;

	if (!msg)
		return -ENOMEM;
	if (nlmsg_append(msg, &ifi, sizeof(ifi), NLMSG_ALIGNTO) < 0 ||
	    nla_put_string(msg, IFLA_IFNAME, name) < 0 ||
	    (mtu && nla_put_u32(msg, IFLA_MTU, mtu) < 0))
		goto nomem;
	li = nla_nest_start(msg, IFLA_LINKINFO | NLA_F_NESTED);
	if (!li || nla_put_string(msg, IFLA_INFO_KIND, "bridge") < 0)
		goto nomem;
	if (vlan_filtering) {
		data = nla_nest_start(msg, IFLA_INFO_DATA | NLA_F_NESTED);
		if (!data || nla_put_u8(msg, IFLA_BR_VLAN_FILTERING, 1) < 0)
			goto nomem;
		nla_nest_end(msg, data);
	}
	nla_nest_end(msg, li);
	return nu__talk(nl, msg);
nomem:
	nlmsg_free(msg);
	return -EMSGSIZE;
}

int nu_bridge_ensure(struct nu_nl *nl, const char *name, unsigned int mtu, bool vlan_filtering,
		     bool promisc, struct nu_link_info *out, struct cni_err *e)
{
	struct nu_link_info info;
	bool created = false;
	int r;

	if (!nu_ifname_valid(name))
		return nu__failx(e, -EINVAL, "invalid bridge name \"%s\"", name ? name : "");
	r = nu_link_get(nl, name, 0, &info, e);
	if (r == -ENODEV) {
		r = bridge_add(nl, name, mtu, vlan_filtering);
		/* EEXIST: another plugin instance created it meanwhile; use theirs */
		if (r < 0 && r != -EEXIST)
			return nu__fail(nl, e, r, "creating bridge \"%s\"%s", name,
					vlan_filtering ? " with VLAN filtering" : "");
		created = r == 0;
		r = nu_link_get(nl, name, 0, &info, e);
	}
	if (r < 0)
		return r;
	if (strcmp(info.kind, "bridge"))
		return nu__failx(e, -EEXIST, "%s already exists but is not a bridge", name);
	if (promisc && !(info.flags & IFF_PROMISC)) {
		r = nu_link_set_promisc(nl, info.ifindex, true, e);
		if (r < 0)
			return r;
	}
	if (!(info.flags & IFF_UP)) {
		r = nu_link_set_up(nl, info.ifindex, e);
		if (r < 0)
			return r;
	}
	if (out) {
		r = nu_link_get(nl, NULL, info.ifindex, out, e);
		if (r < 0)
			return r;
	}
	return created;
}

/* ---- hand-built links (internal.h) ----------------------------------------------------------- */

int nu__newlink_start(struct nu__newlink *m, const char *kind, const struct nu_link_spec *s,
		      struct cni_err *e)
{
	const char *name = s->name;
	struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC};

	*m = (struct nu__newlink){.kind = kind, .name = name, .master = s->master};
	if (!nu_ifname_valid(name))
		return m->err = nu__failx(e, -EINVAL, "creating %s: invalid name \"%s\"", kind,
					  name ? name : "");
	m->msg = nlmsg_alloc_simple(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
	if (!m->msg)
		return m->err = nu__failx(e, -ENOMEM, "creating %s \"%s\"", kind, name);
	if (nlmsg_append(m->msg, &ifi, sizeof(ifi), NLMSG_ALIGNTO) < 0 ||
	    nla_put_string(m->msg, IFLA_IFNAME, name) < 0 ||
	    (s->master && nla_put_u32(m->msg, IFLA_LINK, s->master) < 0) ||
	    (s->mtu && nla_put_u32(m->msg, IFLA_MTU, s->mtu) < 0) ||
	    (s->mac && nla_put(m->msg, IFLA_ADDRESS, 6, s->mac) < 0) ||
	    (s->netns_fd >= 0 && nla_put_u32(m->msg, IFLA_NET_NS_FD, s->netns_fd) < 0) ||
	    !(m->li = nla_nest_start(m->msg, IFLA_LINKINFO | NLA_F_NESTED)) ||
	    nla_put_string(m->msg, IFLA_INFO_KIND, kind) < 0) {
		nlmsg_free(m->msg);
		m->msg = NULL;
		return m->err = nu__failx(e, -EMSGSIZE, "creating %s \"%s\": message too long",
					  kind, name);
	}
	return 0;
}

void nu__newlink_put(struct nu__newlink *m, int type, const void *data, int len)
{
	if (m->err)
		return;
	if (!m->data && !m->full)
		m->data = nla_nest_start(m->msg, IFLA_INFO_DATA | NLA_F_NESTED);
	if (!m->data || nla_put(m->msg, type, len, data) < 0)
		m->full = true;
}

int nu__newlink_send(struct nu_nl *nl, struct nu__newlink *m, const char *detail, struct cni_err *e)
{
	_msg_cleanup_ struct nl_msg *msg = m->msg;
	int r;

	m->msg = NULL;
	if (m->err)
		return m->err;
	if (m->full)
		return nu__failx(e, -EMSGSIZE, "creating %s \"%s\": message too long", m->kind,
				 m->name);
	if (m->data)
		nla_nest_end(msg, m->data);
	nla_nest_end(msg, m->li);
	r = nu__talk(nl, msg);
	msg = NULL; /* nu__talk() freed it */
	if (r < 0)
		return nu__fail(nl, e, r, "creating %s \"%s\"%s%s%s%s", m->kind, m->name,
				detail ? " " : "", detail ? detail : "",
				m->master ? " on link " : "", m->master ? LINK(nl, m->master) : "");
	return 0;
}

int nu__getlink(struct nu_nl *nl, const char *name, int (*fn)(struct nlmsghdr *nlh, void *arg),
		void *arg, const bool *found, struct cni_err *e)
{
	struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC};
	_msg_cleanup_ struct nl_msg *msg = NULL;
	int r;

	if (!nu_ifname_valid(name))
		return nu__failx(e, -EINVAL, "invalid link name \"%s\"", name ? name : "");
	msg = nlmsg_alloc_simple(RTM_GETLINK, 0);
	if (!msg || nlmsg_append(msg, &ifi, sizeof(ifi), NLMSG_ALIGNTO) < 0 ||
	    nla_put_string(msg, IFLA_IFNAME, name) < 0)
		return nu__failx(e, -ENOMEM, "looking up link \"%s\"", name);
	/* nu__dump() takes the single answer too; the ack behind it is collected after */
	r = nu__dump(nl, msg, fn, NULL, arg);
	if (r == 0 && *found)
		r = nu__result(nl, nl_wait_for_ack(nl->sk));
	else if (r == 0)
		r = -ENODEV;
	if (r < 0)
		return nu__fail(nl, e, r, "looking up link \"%s\"", name);
	return 0;
}

struct inet6_conf {
	int key;
	int32_t *val;
	bool found;
};

static int inet6_conf_parse(struct nlmsghdr *nlh, void *arg)
{
	struct nlattr *tb[IFLA_MAX + 1], *af[AF_MAX + 1] = {NULL}, *in6[IFLA_INET6_MAX + 1];
	struct inet6_conf *ic = arg;

	if (nlh->nlmsg_type != RTM_NEWLINK ||
	    nlmsg_parse(nlh, sizeof(struct ifinfomsg), tb, IFLA_MAX, NULL) < 0)
		return 0;
	ic->found = true;
	if (tb[IFLA_AF_SPEC] && nla_parse_nested(af, AF_MAX, tb[IFLA_AF_SPEC], NULL) == 0 &&
	    af[AF_INET6] && nla_parse_nested(in6, IFLA_INET6_MAX, af[AF_INET6], NULL) == 0 &&
	    in6[IFLA_INET6_CONF] &&
	    nla_len(in6[IFLA_INET6_CONF]) >= (ic->key + 1) * (int)sizeof(int32_t))
		memcpy(ic->val, (char *)nla_data(in6[IFLA_INET6_CONF]) + ic->key * sizeof(int32_t),
		       sizeof(int32_t));
	return 0;
}

int nu_link_accept_ra_off(struct nu_nl *nl, int netns_fd, const char *name, struct cni_err *e)
{
	char key[64];
	int32_t ra = -1;
	struct inet6_conf ic = {DEVCONF_ACCEPT_RA, &ra, false};
	int r;

	if (nu__getlink(nl, name, inet6_conf_parse, &ic, &ic.found, NULL) == 0 && ra == 0)
		return 0;
	snprintf(key, sizeof(key), "net/ipv6/conf/%s/accept_ra", name);
	r = nu_sysctl_ensure(netns_fd, key, "0", e);
	return r < 0 ? r : 0;
}

struct link_data {
	const char *kind;
	int maxtype;
	void (*fn)(struct nlattr **d, void *arg);
	void *arg;
	bool found, is_kind;
};

static int link_data_parse(struct nlmsghdr *nlh, void *arg)
{
	struct nlattr *tb[IFLA_MAX + 1], *li[IFLA_INFO_MAX + 1], *d[32] = {NULL};
	struct link_data *ld = arg;
	int len = (int)strlen(ld->kind) + 1;

	if (nlh->nlmsg_type != RTM_NEWLINK ||
	    nlmsg_parse(nlh, sizeof(struct ifinfomsg), tb, IFLA_MAX, NULL) < 0)
		return 0;
	ld->found = true;
	if (!tb[IFLA_LINKINFO] || nla_parse_nested(li, IFLA_INFO_MAX, tb[IFLA_LINKINFO], NULL) < 0)
		return 0;
	if (!li[IFLA_INFO_KIND] || nla_len(li[IFLA_INFO_KIND]) < len ||
	    strncmp(nla_data(li[IFLA_INFO_KIND]), ld->kind, (size_t)len))
		return 0;
	ld->is_kind = true;
	if (li[IFLA_INFO_DATA] && nla_parse_nested(d, ld->maxtype, li[IFLA_INFO_DATA], NULL) < 0)
		memset(d, 0, sizeof(d));
	ld->fn(d, ld->arg);
	return 0;
}

int nu__link_data_get(struct nu_nl *nl, const char *name, const char *kind, const char *a_kind,
		      int maxtype, void (*fn)(struct nlattr **d, void *arg), void *arg,
		      struct cni_err *e)
{
	struct link_data ld = {.kind = kind, .maxtype = maxtype, .fn = fn, .arg = arg};
	int r = nu__getlink(nl, name, link_data_parse, &ld, &ld.found, e);

	if (r < 0)
		return r;
	if (!ld.is_kind)
		return nu__failx(e, -EMEDIUMTYPE, "link \"%s\" is not %s", name, a_kind);
	return 0;
}
