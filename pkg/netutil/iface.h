/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Applying an IPAM result to a container interface, and checking it again: what every main
 * plugin (bridge, ptp, macvlan, ipvlan, vlan, host-device, ...) does after IPAM ADD and on CHECK.
 * Uses the result model of pkg/cni (a plain struct: no JSON here).
 */
#ifndef NETUTIL_IFACE_H
#define NETUTIL_IFACE_H

#include "cni/cni.h"
#include "netutil/netutil.h"

/*
 * nu_iface_configure() - on link @ifname of @nl's netns (@netns_fd, for sysctls): every result IP
 * whose interface index names @ifname is added (an index that is out of range or names another
 * interface is an error; IPs without an index are skipped, as the reference does); IPv6 is
 * enabled on lo and the link first when needed, with keep_addr_on_down; the link is set up; with
 * an IPv6 gateway, duplicate address detection is waited for (bounded); then every route is added
 * through the link, with the route's gateway or else the first gateway of its family.
 * Returns 0 or -errno with @e naming the address or route and the kernel's message.
 */
int nu_iface_configure(struct nu_nl *nl, int netns_fd, const char *ifname,
		       const struct cni_result *res, struct cni_err *e);

/* Neighbour notifications nu_iface_setup() turns on. */
enum {
	NU_NOTIFY_ARP = 1,   /* net.ipv4.conf.<if>.arp_notify: gratuitous ARP on link up */
	NU_NOTIFY_NDISC = 2, /* net.ipv6.conf.<if>.ndisc_notify: unsolicited NA on link up */
};

/* net/ipv4/conf/IFNAME/arp_notify = 1 (gratuitous ARP when the link comes up or changes MAC),
 * best effort as the reference. */
void nu_iface_arp_notify(struct nu_nl *nl, int netns_fd, const char *ifname, int ifindex);

/*
 * nu_iface_setup() - the end of ADD for a new container link @ifindex named @ifname: when @res
 * has addresses, the sysctls of @notify (NU_NOTIFY_*, best effort: neighbours learn a new or
 * shared MAC at once) and nu_iface_configure(); without addresses the link is only set up.
 * Returns 0 or -errno with @e filled.
 */
int nu_iface_setup(struct nu_nl *nl, int netns_fd, const char *ifname, int ifindex,
		   const struct cni_result *res, unsigned int notify, struct cni_err *e);

/*
 * nu_iface_check_open() - the start of a link plugin's CHECK: nu_nl_open_netns() on @netns, then
 * link @ifname there into *@cl ("Container Interface name in prevResult: IFNAME not found", the
 * reference's words, when it is missing). 0 or -errno.
 */
int nu_iface_check_open(const char *netns, const char *ifname, int *netns_fd, struct nu_nl **nl,
			struct nu_link_info *cl, struct cni_err *e);

/*
 * nu_iface_check_veth() - the container end of a veth pair in CHECK (bridge, ptp): as
 * nu_iface_check_open() ("container interface IFNAME" when missing), then the link must be a
 * veth with MAC @mac (nu_iface_check_mac()). 0 or -errno.
 */
int nu_iface_check_veth(const char *netns, const char *ifname, const char *mac, int *netns_fd,
			struct nu_nl **nl, struct nu_link_info *cl, struct cni_err *e);

/*
 * nu_iface_check_ips() - every IP of @res attached to @ifname must be on the link with the same
 * prefix length. Returns 0, -ENOENT with the missing address named, or -errno.
 */
int nu_iface_check_ips(struct nu_nl *nl, const char *ifname, const struct cni_result *res,
		       struct cni_err *e);

/*
 * nu_iface_check_routes() - every route of @res must exist in the netns (same destination, and
 * the same gateway when the result names one). Returns 0, -ENOENT naming the route, or -errno.
 */
int nu_iface_check_routes(struct nu_nl *nl, const struct cni_result *res, struct cni_err *e);

/* nu_iface_check_result() - nu_iface_check_ips(), then nu_iface_check_routes(): CHECK's L3 part. */
int nu_iface_check_result(struct nu_nl *nl, const char *ifname, const struct cni_result *res,
			  struct cni_err *e);

/*
 * nu_iface_check_mac() - link @li (named @name in the message) has MAC @want, compared without
 * case; a NULL or empty @want (a result without "mac") matches any. Returns 0 or -EINVAL.
 */
int nu_iface_check_mac(const char *want, const struct nu_link_info *li, const char *name,
		       struct cni_err *e);

/*
 * nu_iface_check_mac_ref() - nu_iface_check_mac() with the reference plugins' text ("Interface
 * <name> Mac <want> doesn't match container Mac: <have>"), for the CHECKs that mirror theirs
 * (macvlan, ipvlan, vlan, dummy). Returns 0 or -EINVAL.
 */
int nu_iface_check_mac_ref(const char *want, const struct nu_link_info *li, const char *name,
			   struct cni_err *e);

/* nu_mac_parse() / nu_mac_str() - "aa:bb:cc:dd:ee:ff" <-> 6 bytes. 0 or -EINVAL. */
int nu_mac_parse(const char *s, uint8_t mac[6]);
char *nu_mac_str(const uint8_t *mac, unsigned int len, char buf[3 * 32]);

#endif
