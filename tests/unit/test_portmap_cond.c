// SPDX-License-Identifier: Apache-2.0
/*
 * portmap's conditions parser (nu_pm_cond_parse, the iptables and nftables forms of
 * conditionsV4/V6) on malformed and huge lists: pure parsing, no kernel (issue #14 item 1).
 * tests/kernel/test_portmap_nft.c checks the rules themselves against the kernel.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "../../plugins/meta/portmap/portmap.h"
#include "tap_err.h"

static struct cni_err e;

/*
 * One conditions list: @want 0 parses into @want_n conditions, else the error @want with a clean
 * message (naming what is wrong) and nothing returned.
 */
static void conds(const char *name, char *const *tok, size_t n, bool ipt, int want, size_t want_n)
{
	struct nu_pm_cond *v = NULL;
	size_t n_conds = 7;
	int r;

	cni_err_clear(&e);
	r = nu_pm_cond_parse(tok, n, AF_INET, ipt, &v, &n_conds, &e);
	if (r == want && n_conds == want_n &&
	    (want ? *e.msg && !strstr(e.msg, "(null)") && !v : true))
		TAP_OK(name);
	else
		TAP_FAIL(name, "got %d (want %d), %zu conditions (want %zu), message \"%s\"", r,
			 want, n_conds, want_n, e.msg);
	free(v);
}
static void bad_conds(const char *name, char *const *tok, size_t n, bool ipt, int want)
{
	conds(name, tok, n, ipt, want, 0);
}

static void good_conds(const char *name, char *const *tok, size_t n, bool ipt, size_t want_n)
{
	conds(name, tok, n, ipt, 0, want_n);
}

#define L(...) (char *const[]){ __VA_ARGS__ }, sizeof((char *const[]){ __VA_ARGS__ }) / sizeof(char *)

int main(void)
{
	enum { HUGE = 200000 };
	char **huge = calloc(HUGE + 1, sizeof(*huge));

	bad_conds("ipt: \"!\" alone", L("!"), true, -EINVAL);
	bad_conds("ipt: trailing \"!\"", L("-s", "192.0.2.1", "!"), true, -EINVAL);
	bad_conds("ipt: trailing \"!\" in one string", L("! -s 192.0.2.1 !"), true, -EINVAL);
	bad_conds("ipt: \"!\" then blanks", L("!", "", " "), true, -EINVAL);
	bad_conds("ipt: \"! !\"", L("!", "!"), true, -EOPNOTSUPP);
	bad_conds("ipt: \"! ! -s\"", L("!", "!", "-s", "192.0.2.1"), true, -EOPNOTSUPP);
	bad_conds("ipt: \"-m\" without value", L("-m"), true, -EOPNOTSUPP);
	bad_conds("ipt: \"-m comment\"", L("-m", "comment"), true, -EOPNOTSUPP);
	bad_conds("ipt: \"-s\" without value", L("-s"), true, -EINVAL);
	bad_conds("ipt: \"! -d\" without value", L("!", "-d"), true, -EINVAL);
	bad_conds("ipt: \"-i\" without value", L("-i"), true, -EINVAL);
	bad_conds("ipt: \"-s\" with an empty value", L("-s", ""), true, -EINVAL);
	bad_conds("ipt: \"-s\" with \"\\\"\\\"\"", L("-s", "\"\""), true, -EINVAL);
	bad_conds("ipt: \"-i\" with \"\\\"\\\"\"", L("-i", "\"\""), true, -EINVAL);
	bad_conds("ipt: \"-s !\"", L("-s", "!"), true, -EINVAL);
	bad_conds("ipt: \"-\"", L("-"), true, -EOPNOTSUPP);
	bad_conds("ipt: v6 address in v4", L("-d", "fd00::1"), true, -EINVAL);
	bad_conds("ipt: interface name too long", L("-i", "0123456789abcdef"), true, -EINVAL);
	bad_conds("ipt: same option twice", L("-s", "192.0.2.1", "! -s", "192.0.2.2"), true,
		  -EINVAL);
	good_conds("ipt: empty strings", L("", "", ""), true, 0);
	good_conds("ipt: blanks", L(" ", "\t", "\n"), true, 0);
	good_conds("ipt: all four", L("! -s 192.0.2.0/24", "-d", "192.0.2.1", "-i", "eth+", "!",
				      "-o", "lo"),
		   true, 4);
	bad_conds("nft: \"ip\" alone", L("ip"), false, -EOPNOTSUPP);
	bad_conds("nft: \"ip saddr\"", L("ip", "saddr"), false, -EINVAL);
	bad_conds("nft: \"ip saddr !=\"", L("ip", "saddr", "!="), false, -EINVAL);
	bad_conds("nft: \"iifname\"", L("iifname"), false, -EINVAL);
	bad_conds("nft: \"iifname ==\"", L("iifname", "=="), false, -EINVAL);
	bad_conds("nft: \"!=\"", L("!="), false, -EOPNOTSUPP);
	bad_conds("nft: \"!\"", L("!"), false, -EOPNOTSUPP);
	bad_conds("nft: trailing \"!\"", L("iifname", "eth0", "!"), false, -EOPNOTSUPP);
	bad_conds("nft: empty set", L("ip daddr {", "}"), false, -EOPNOTSUPP);
	bad_conds("nft: empty ifname", L("oifname", "\"\""), false, -EINVAL);
	good_conds("nft: empty strings", L("", ""), false, 0);

	/* huge lists: a clean error (or a parse) in linear time */
	for (size_t i = 0; i < HUGE; i++)
		huge[i] = i % 2 ? "192.0.2.1" : "-s";
	huge[HUGE - 1] = "!";
	bad_conds("ipt: 200000 tokens ending in \"!\"", huge, HUGE, true, -EINVAL);
	bad_conds("ipt: 100000 times \"-s ADDR\"", huge, HUGE - 2, true, -EINVAL);
	for (size_t i = 0; i < HUGE; i++)
		huge[i] = "!";
	bad_conds("ipt: 200000 times \"!\"", huge, HUGE, true, -EOPNOTSUPP);
	for (size_t i = 0; i < HUGE; i++)
		huge[i] = "";
	good_conds("ipt: 200000 empty strings", huge, HUGE, true, 0);
	for (size_t i = 0; i < HUGE; i++)
		huge[i] = i % 2 ? "eth0" : "iifname";
	huge[HUGE - 1] = "!=";
	bad_conds("nft: 200000 tokens ending in \"!=\"", huge, HUGE, false, -EINVAL);
	free(huge);
	return tap_done();
}
