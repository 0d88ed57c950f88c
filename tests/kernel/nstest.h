/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Helpers of the C tests that check pkg/netutil against the real kernel from inside a network
 * namespace of their own (test_netutil, test_nft, test_firewall_nft, test_portmap_nft, test_tc):
 * shell commands (nft, ip, tc, iptables, jq) run in the test's current netns with their output or
 * status read back (the negative-errno checks CHECK_R and CHECK_MSG are ../unit/tap_err.h's).
 */
#ifndef CNIC_NSTEST_H
#define CNIC_NSTEST_H

#include <errno.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "cni/cni.h"
#include "../unit/tap_err.h"

/* Output of a shell command (malloc'd, "" on failure). */
static inline char *run(const char *cmd)
{
	FILE *f = popen(cmd, "r");
	size_t len = 0, cap = 4096;
	char *buf = malloc(cap);

	buf[0] = '\0';
	if (!f)
		return buf;
	for (size_t n; (n = fread(buf + len, 1, cap - len - 1, f)) > 0;) {
		len += n;
		if (cap - len < 1024)
			buf = realloc(buf, cap *= 2);
	}
	buf[len] = '\0';
	pclose(f);
	return buf;
}

/* Exit status of a shell command, -1 when it did not exit. */
static inline int sh(const char *cmd)
{
	int st = system(cmd);

	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* The number a shell command prints (a `| wc -l`, a `jq length`), 0 when it prints none. */
static inline int count(const char *cmd)
{
	char *out = run(cmd);
	int n = atoi(out);

	free(out);
	return n;
}

/*
 * First line of a shell command's output (a jq-reduced `tc -j` / `ip -j`), "" on failure. The
 * buffer is static: valid until the next call.
 */
static inline const char *sh_line(const char *cmd)
{
	static char buf[512];
	FILE *f = popen(cmd, "r");

	buf[0] = '\0';
	if (!f)
		return buf;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	pclose(f);
	return buf;
}

/* Load @text with `nft -f -`: the CLI's exit status. */
static inline int nft_load(const char *text)
{
	FILE *f = popen("nft -f -", "w");

	if (!f)
		return -1;
	fputs(text, f);
	return pclose(f);
}

/*
 * Check that @got (ours) is @want (written by @whom, a CLI) and not empty; on failure show both.
 * Frees both.
 */
static inline void check_same(const char *name, char *got, char *want, const char *whom)
{
	if (!strcmp(got, want) && *got)
		TAP_OK(name);
	else
		TAP_FAIL(name, "\n--- ours\n%s--- %s\n%s", got, whom, want);
	free(got);
	free(want);
}

/*
 * The main() of a test of nftables layouts: @tests (NULL-terminated) run in order inside a
 * network namespace of the process's own in which nf_tables (@nft_available, i.e.
 * nu_nft_available) and the nft CLI answer; when any of these fails, a skip line naming @what
 * and nothing run. Returns the exit status.
 */
static inline int nft_test_main(const char *what, int (*nft_available)(void),
				void (*const tests[])(void))
{
	const char *why = NULL;

	if (unshare(CLONE_NEWNET) < 0)
		why = strerror(errno);
	else if (nft_available() < 0)
		why = "nf_tables does not answer in a new netns";
	else if (sh("nft list ruleset >/dev/null 2>&1"))
		why = "the nft CLI (used to read the ruleset back) is missing";
	if (why) {
		printf("skip - %s: %s\n", what, why);
		return 0;
	}
	for (size_t i = 0; tests[i]; i++)
		tests[i]();
	return tap_done();
}

/* A GC's one valid attachment (the netutil GC functions take a list). */
#define ONE_VALID(cid, ifname) (&(struct cni_attachment){ (char *)(cid), (char *)(ifname) }), 1

/*
 * A container ID of @len bytes in @out (@len + 1 bytes): @prefix, 'x's, then @last as its last
 * byte, so two of them differ in that byte only. Returns @out.
 */
static inline char *long_id(char *out, size_t len, const char *prefix, char last)
{
	size_t pl = strlen(prefix);

	memcpy(out, prefix, pl);
	memset(out + pl, 'x', len - pl - 1);
	out[len - 1] = last;
	out[len] = '\0';
	return out;
}

#endif
