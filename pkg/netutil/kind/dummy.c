// SPDX-License-Identifier: Apache-2.0
/*
 * dummy links (dummy.h): one hand-built RTM_NEWLINK (nu__newlink_*() of link.c), exclusive
 * (NLM_F_EXCL); nothing is deleted here.
 */
#include "netutil/internal.h"
#include "netutil/kind/dummy.h"

int nu_dummy_create(struct nu_nl *nl, const char *name, struct cni_err *e)
{
	struct nu__newlink m;

	nu__newlink_start(&m, "dummy", &(struct nu_link_spec){.name = name, .netns_fd = -1}, e);
	return nu__newlink_send(nl, &m, NULL, e);
}
