/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Policy routing for the sbr plugin: ip rules (RTM_NEWRULE / RTM_DELRULE / dumps) and routes kept
 * as the kernel dumped them, so that one can be put again into another table with every attribute
 * it had (preferred source, scope, protocol, metric, metrics), as `ip route replace ... table N`
 * after `ip route show` would. Rules added without a priority get the kernel's (the next one below
 * the lowest existing); deleting a missing rule or route is success.
 */
#ifndef NETUTIL_RULE_H
#define NETUTIL_RULE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "netutil/netutil.h"

/* The kernel's values (linux/rtnetlink.h, linux/fib_rules.h; rule.c asserts they match), so that
 * plugins need no netlink header. */
#define NU_RT_TABLE_COMPAT 252
#define NU_RT_TABLE_MAIN 254
#define NU_FR_ACT_TO_TBL 1

struct nu_rule {
	int family;		/* AF_INET or AF_INET6 */
	struct cni_prefix src;	/* "from": family 0 for all */
	uint32_t table;		/* FR_ACT_TO_TBL target */
	uint32_t priority;	/* "pref" */
	bool has_priority;	/* add: false lets the kernel choose */
	uint8_t action;		/* FR_ACT_*: list only (add always uses FR_ACT_TO_TBL) */
	bool has_selectors;	/* list: the rule has more than "from" (dst, iif, fwmark, ...) */
};

/* nu_rule_add() - "from <src> lookup <table> [pref <priority>]". -EEXIST if the same exists. */
int nu_rule_add(struct nu_nl *nl, const struct nu_rule *r, struct cni_err *e);

/* nu_rule_del() - delete the rule with these fields (priority only when has_priority); 0 if
 * there is none. */
int nu_rule_del(struct nu_nl *nl, const struct nu_rule *r, struct cni_err *e);

/* nu_rule_list() - the rules of @family (AF_UNSPEC: both); *@out malloc()ed, the caller frees. */
int nu_rule_list(struct nu_nl *nl, int family, struct nu_rule **out, size_t *n, struct cni_err *e);

/* A route as the kernel dumped it. */
struct nu_route_rec {
	struct nu_route r;     /* its fields, parsed (table, dst, gw, oif, scope, proto, priority) */
	struct cni_ip prefsrc; /* RTA_PREFSRC, family 0 if none */
	void *raw;	       /* the RTM_NEWROUTE message */
	size_t len;
};

/*
 * nu_route_rec_list() - routes of @family (AF_UNSPEC: both) in @table (0: all) through @oif
 * (0: any), cloned entries left out. Free the array with nu_route_rec_free().
 */
int nu_route_rec_list(struct nu_nl *nl, int family, int table, int oif, struct nu_route_rec **out,
		      size_t *n, struct cni_err *e);
void nu_route_rec_free(struct nu_route_rec *v, size_t n);

/*
 * nu_route_rec_put() - @rec again, in @table (NLM_F_CREATE | NLM_F_REPLACE, route flags cleared,
 * everything else as dumped), with @prefsrc instead of its preferred source when non-NULL.
 */
int nu_route_rec_put(struct nu_nl *nl, const struct nu_route_rec *rec, int table,
		     const struct cni_ip *prefsrc, struct cni_err *e);

/* nu_route_rec_del() - delete @rec from its table; 0 if it is not there. */
int nu_route_rec_del(struct nu_nl *nl, const struct nu_route_rec *rec, struct cni_err *e);

#endif
