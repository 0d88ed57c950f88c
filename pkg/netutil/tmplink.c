// SPDX-License-Identifier: Apache-2.0
/*
 * Container links created under a temporary name and renamed (tmplink.h). Only the create
 * callback knows the kind; lookups, deletion and rename go through the generic link API, by
 * ifindex once the link exists. A leftover is recognised by name and IFLA_INFO_KIND only.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "cni/hash.h"
#include "netutil/link_extra.h"
#include "netutil/tmplink.h"

void nu_tmpname_sha512(const char *cid, const char *ifname, char *out)
{
	cni_sha512_hex(out, 8, cid, ":", ifname, NULL);
}

void nu_tmpname_fnv48(const char *cid, const char *ifname, char *out)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (const char *p = cid; *p; p++)
		h = (h ^ (uint8_t)*p) * 0x100000001b3ULL;
	h = (h ^ '/') * 0x100000001b3ULL;
	for (const char *p = ifname; *p; p++)
		h = (h ^ (uint8_t)*p) * 0x100000001b3ULL;
	snprintf(out, 13, "%012llx", (unsigned long long)(h & 0xffffffffffffULL));
}

void nu_tmplink_name(const struct nu_tmplink *t, const char *cid, const char *ifname,
		     char out[NU_IFNAMSIZ])
{
	char tail[13];

	t->hash(cid ? cid : "", ifname ? ifname : "", tail);
	snprintf(out, NU_IFNAMSIZ, "%s%s", t->prefix, tail);
}

int nu_tmplink_del(struct nu_nl *cont, const struct nu_tmplink *t, const char *cid,
		   const char *ifname, struct cni_err *e)
{
	struct nu_link_info li;
	char tmp[NU_IFNAMSIZ];

	nu_tmplink_name(t, cid, ifname, tmp);
	if (nu_link_get(cont, tmp, 0, &li, NULL) < 0 || strcmp(li.kind, t->kind))
		return 0; /* none, or not ours */
	return nu_link_del_index(cont, li.ifindex, e);
}

int nu_tmplink_create(struct nu_nl *cont, const struct nu_tmplink *t, const char *cid,
		      const char *ifname, const struct nu_tmplink_at *at, struct cni_err *e)
{
	const char *what = t->what ? t->what : t->kind;
	char tmp[NU_IFNAMSIZ];
	int r, ifindex;

	r = nu_tmplink_del(cont, t, cid, ifname, e);
	if (r < 0)
		return r;
	nu_tmplink_name(t, cid, ifname, tmp);
	for (int attempt = 0; attempt <= t->random_names; attempt++) {
		uint32_t rnd;

		if (attempt) {
			if (getrandom(&rnd, sizeof(rnd), 0) != sizeof(rnd))
				return cni_fail(e, -errno, 0,
						"failed to generate a random name: %s",
						strerror(errno));
			snprintf(tmp, sizeof(tmp), "veth%08x", rnd);
		}
		cni_err_clear(e);
		r = t->create(at,
			      &(struct nu_link_spec){.name = tmp,
						     .master = at->master,
						     .mtu = at->mtu,
						     .netns_fd = at->netns_fd},
			      e);
		if (r != -EEXIST)
			break;
	}
	if (r < 0)
		return cni_wrap(e, r, "failed to create %s", what);
	ifindex = nu_link_index(cont, tmp);
	if (ifindex < 0)
		return cni_fail(e, ifindex, 0, "%s \"%s\" not found after creation", what, tmp);
	if (t->prepare) {
		r = t->prepare(at, cont, ifindex, e);
		if (r < 0)
			goto del_link;
	}
	r = nu_link_rename(cont, ifindex, ifname, e);
	if (r < 0) {
		cni_wrap(e, r, "failed to rename %s to \"%s\"", what, ifname);
		goto del_link;
	}
	return ifindex;

del_link:
	nu_link_del_index(cont, ifindex, NULL);
	return r;
}

int nu_tmplink_on_master(struct nu_nl *cont, int netns_fd, const struct nu_tmplink *t,
			 const struct nu_tmplink_req *req, struct cni_err *e)
{
	_nu_nl_cleanup_ struct nu_nl *host = NULL;
	struct nu_tmplink_at at = {.nl = cont, .mtu = req->mtu, .netns_fd = -1, .conf = req->conf};
	struct nu_link_info m;
	int r;

	if (!(req->flags & NU_TMPLINK_MASTER_IN_CONTAINER)) {
		r = nu_nl_open(&host, -1, e);
		if (r < 0)
			return r;
		at.nl = host;
		at.netns_fd = netns_fd;
	}
	r = nu_master_find(at.nl, req->master, &m, e);
	if (r < 0)
		return r;
	if (req->mtu > m.mtu)
		return cni_fail(e, -EINVAL, CNI_ERR_INVALID_CONFIG,
				"invalid MTU %u, must be [0, master MTU(%u)]", req->mtu, m.mtu);
	at.master = m.ifindex;
	return nu_tmplink_create(cont, t, req->cid, req->ifname, &at, e);
}

int nu_tmplink_remove(const char *netns, const struct nu_tmplink *t, const char *cid,
		      const char *ifname, unsigned int flags, struct cni_err *e)
{
	_nu_fd_cleanup_ int netns_fd = -1;
	_nu_nl_cleanup_ struct nu_nl *cont = NULL;
	struct nu_link_info li;
	int r;

	r = nu_netns_open(netns, &netns_fd, e);
	if (r == -ENOENT)
		return 0; /* the netns is gone, and the link with it */
	if (r == 0)
		r = nu_nl_open(&cont, netns_fd, e);
	if (r == 0 && !(flags & NU_TMPLINK_ONLY_OURS)) {
		r = nu_link_del(cont, ifname, e); /* absent: 0 */
	} else if (r == 0) {
		r = nu_link_get(cont, ifname, 0, &li, flags & NU_TMPLINK_LOOKUP_FAILS ? e : NULL);
		if (r == 0 && !strcmp(li.kind, t->kind))
			r = nu_link_del_index(cont, li.ifindex, e);
		else if (r == -ENODEV || !(flags & NU_TMPLINK_LOOKUP_FAILS))
			r = 0;
	}
	if (r == 0 && t->prefix)
		r = nu_tmplink_del(cont, t, cid, ifname, e); /* an ADD killed before its rename */
	if (r < 0)
		return cni_wrap(e, r, "failed to delete container interface %s", ifname);
	return 0;
}
