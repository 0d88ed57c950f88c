/* SPDX-License-Identifier: Apache-2.0 */
/*
 * IP addresses and prefixes as plain values: parsing, canonical printing and the arithmetic an
 * allocator needs. IPv4 lives in the first 4 bytes of a[]. No kernel, no JSON: shared by
 * pkg/cni (config, results), pkg/netutil (netlink) and the IPAM plugins.
 */
#ifndef CNI_IP_H
#define CNI_IP_H

#include <stdbool.h>
#include <stdint.h>
#include <netinet/in.h>
#include <sys/socket.h>

struct cni_ip {
	uint8_t family; /* AF_INET, AF_INET6, or 0 for "unset" */
	uint8_t a[16];
};

struct cni_prefix {
	struct cni_ip ip; /* may have host bits set (an interface address) */
	uint8_t len;
};

#define CNI_IP_STRLEN INET6_ADDRSTRLEN
#define CNI_PREFIX_STRLEN (INET6_ADDRSTRLEN + 4)

/* Address length in bytes for the family (4 or 16), 0 when unset. */
static inline unsigned int cni_ip_len(const struct cni_ip *ip)
{
	return ip->family == AF_INET ? 4 : ip->family == AF_INET6 ? 16 : 0;
}

static inline unsigned int cni_ip_bits(const struct cni_ip *ip)
{
	return cni_ip_len(ip) * 8;
}

/*
 * cni_ip_parse() - parse a textual IPv4 or IPv6 address. An IPv4-mapped IPv6 address is taken as
 * IPv4, as Go's net.ParseIP does. Returns 0 or -EINVAL.
 */
int cni_ip_parse(const char *s, struct cni_ip *ip);

/* cni_prefix_parse() - "addr/len"; the length is required. Returns 0 or -EINVAL. */
int cni_prefix_parse(const char *s, struct cni_prefix *p);

/*
 * cni_ip_or_prefix_parse() - "addr" or "addr/len"; *has_len tells which (len is then the full
 * width when absent). Returns 0 or -EINVAL.
 */
int cni_ip_or_prefix_parse(const char *s, struct cni_prefix *p, bool *has_len);

/* Canonical text (inet_ntop): returns buf. An unset address prints as "". */
char *cni_ip_str(const struct cni_ip *ip, char buf[CNI_IP_STRLEN]);
char *cni_prefix_str(const struct cni_prefix *p, char buf[CNI_PREFIX_STRLEN]);

/* Total order: family first, then bytes. */
int cni_ip_cmp(const struct cni_ip *x, const struct cni_ip *y);

static inline bool cni_ip_eq(const struct cni_ip *x, const struct cni_ip *y)
{
	return cni_ip_cmp(x, y) == 0;
}

/* Add one / subtract one with wrap-around inside the family. */
void cni_ip_next(struct cni_ip *ip);
void cni_ip_prev(struct cni_ip *ip);

/* Network address (host bits cleared) and last address (host bits set) of a prefix. */
struct cni_ip cni_prefix_network(const struct cni_prefix *p);
struct cni_ip cni_prefix_last(const struct cni_prefix *p);

/* True when the prefix has host bits set. */
bool cni_prefix_has_host_bits(const struct cni_prefix *p);

/* True when ip is of the prefix's family and inside it. */
bool cni_prefix_contains(const struct cni_prefix *p, const struct cni_ip *ip);

/* True when the two prefixes share at least one address. */
bool cni_prefix_overlaps(const struct cni_prefix *x, const struct cni_prefix *y);

/* The default route prefix of a family: 0.0.0.0/0 or ::/0. */
struct cni_prefix cni_prefix_default(int family);

bool cni_ip_is_zero(const struct cni_ip *ip);

#endif
