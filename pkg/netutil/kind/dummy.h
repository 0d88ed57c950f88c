/* SPDX-License-Identifier: Apache-2.0 */
/*
 * dummy links: creation in the netns of a struct nu_nl. Creation is exclusive (an existing name
 * is -EEXIST); deletion is the generic nu_link_del().
 */
#ifndef NETUTIL_KIND_DUMMY_H
#define NETUTIL_KIND_DUMMY_H

#include "netutil/netutil.h"

/* nu_dummy_create() - a dummy link @name in the netns of @nl. 0, -EEXIST, or -errno. */
int nu_dummy_create(struct nu_nl *nl, const char *name, struct cni_err *e);

#endif
