/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The daemon's log limiter: a token bucket per kind of event, so that an event repeated a
 * thousand times a second (a listener that cannot be made, a reload that keeps failing) writes
 * at most a burst and then a few lines a second, and one "suppressed K messages" line when it
 * calms down. The clock is the caller's (milliseconds), so the unit test injects its own. libc
 * alone: tests/unit/test_dnsname_ratelim.c links ratelim.c by itself.
 */
#ifndef DNSNAME_RATELIM_H
#define DNSNAME_RATELIM_H

#include <stdbool.h>
#include <stdint.h>

struct dn_rl {
	uint32_t rate;	     /* lines per second once the burst is spent */
	uint32_t burst;	     /* lines at once */
	uint64_t tokens_ms;  /* tokens in thousandths: rate x elapsed ms refills it */
	uint64_t last;	     /* the clock at the last refill */
	uint32_t suppressed; /* lines dropped since the last one written */
	bool started;
};

/* A full bucket of @burst lines refilled at @rate lines per second. */
void dn_rl_init(struct dn_rl *rl, uint32_t rate, uint32_t burst);
/*
 * May a line be written at @now_ms? True: write it, and before it, when *@suppressed is not 0,
 * the "suppressed K messages" line (the count is reset). False: the line is dropped (counted).
 */
bool dn_rl_admit(struct dn_rl *rl, uint64_t now_ms, uint32_t *suppressed);

#endif
