// SPDX-License-Identifier: Apache-2.0
/*
 * dummy: gives a container a dummy interface (a link that drops everything it is given) with
 * addresses from IPAM, as the reference plugin does. IPAM is required. ADD creates the dummy named
 * CNI_IFNAME directly in the container netns through a socket opened there (no temporary name:
 * nothing is created on the host, so a host link of the same name is no clash), applies the IPAM
 * result and reports IPAM's routes and DNS. A failed ADD deletes the link; the dispatcher releases
 * IPAM. DEL is idempotent: IPAM DEL, then the link goes with the netns or by name, and only when
 * it is a dummy (an interface of another kind under that name is not ours). The plugin owns no
 * host state, so GC is IPAM's GC and STATUS IPAM's STATUS. The verbs are the link-kind skeleton
 * (plugin/link.h), with the reference's CHECK: the link must be up, routes are not compared.
 */
#include <errno.h>

#include "cni/cni.h"
#include "netutil/iface.h"
#include "netutil/netutil.h"
#include "netutil/tmplink.h"
#include "netutil/kind/dummy.h"
#include "plugin/link.h"

static int dummy_validate(struct cni_ctx *ctx, void *conf, struct cni_err *e)
{
	(void)conf;
	if (ctx->env.cmd == CNI_CMD_DEL || ctx->env.cmd == CNI_CMD_GC)
		return 0;
	if (!ctx->net.ipam_type)
		return cni_fail(e, -EINVAL, CNI_ERR_INVALID_CONFIG,
				"dummy interface requires an IPAM configuration");
	return 0;
}

/* The dummy, named CNI_IFNAME at once: 0, its index is looked up by name. */
static int create(struct cni_ctx *ctx, struct nu_nl *cont, int netns_fd, struct cni_err *e)
{
	int r = nu_dummy_create(cont, ctx->env.ifname, e);

	(void)netns_fd;
	return r < 0 ? cni_wrap(e, r, "failed to create dummy interface") : 0;
}

/* No temporary name; DEL removes only a dummy of that name (an interface of another kind under
 * that name is not ours), and a failed lookup fails the DEL. */
static const struct pl_link_ops ops = {
	.link = {.kind = "dummy"},
	.flags = PL_LINK_IPAM_DNS | PL_LINK_CHECK_UP | PL_LINK_CHECK_NO_ROUTES,
	.del_flags = NU_TMPLINK_ONLY_OURS | NU_TMPLINK_LOOKUP_FAILS,
	.create = create,
};

const struct cni_plugin cni_main_plugin = {
	.name = "dummy",
	.conf_validate = dummy_validate,
	PL_LINK_VERBS,
	.ops = &ops,
	CNI_INPROC_IPAM,
};
