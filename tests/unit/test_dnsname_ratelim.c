// SPDX-License-Identifier: Apache-2.0
/*
 * dnsname's log limiter (ratelim.c) on an injected clock: the burst, the refill rate, the count
 * of suppressed lines handed to the next line written, a clock that stands still or goes back,
 * a long silence that refills no more than the burst. No root needed.
 */
#include "../../plugins/meta/dnsname/ratelim.h"
#include "tap.h"

/* Lines admitted out of @n tries at @now_ms, the last suppressed count seen in *@sup. */
static int admit_n(struct dn_rl *rl, uint64_t now_ms, int n, uint32_t *sup)
{
	int ok = 0;

	for (int i = 0; i < n; i++) {
		uint32_t s;

		if (dn_rl_admit(rl, now_ms, &s)) {
			ok++;
			if (s)
				*sup = s;
		}
	}
	return ok;
}

int main(void)
{
	struct dn_rl rl;
	uint32_t sup = 0, s;

	dn_rl_init(&rl, 5, 10);
	/* the burst at once, then nothing while the clock stands still */
	CHECK_INT(admit_n(&rl, 1000, 100, &sup), 10);
	CHECK_INT(sup, 0);
	CHECK_INT(rl.suppressed, 90);
	/* 199 ms at 5 lines/s: not a whole token yet */
	CHECK(!dn_rl_admit(&rl, 1199, &s));
	/* 200 ms: one line, and it carries the 91 suppressed ones */
	CHECK(dn_rl_admit(&rl, 1200, &s));
	CHECK_INT(s, 91);
	CHECK_INT(rl.suppressed, 0);
	/* one second: five lines */
	CHECK_INT(admit_n(&rl, 2200, 50, &sup), 5);
	/* a clock that goes back refills nothing and does not break the bucket */
	CHECK_INT(admit_n(&rl, 100, 10, &sup), 0);
	sup = 0;
	CHECK_INT(admit_n(&rl, 2400, 10, &sup), 1);
	CHECK_INT(sup, 45 + 10); /* dropped at 2200 and at 100 */
	/* an hour of silence refills the burst, no more */
	sup = 0;
	CHECK_INT(admit_n(&rl, 2400 + 3600u * 1000, 1000, &sup), 10);
	CHECK_INT(sup, 9); /* the 9 dropped at 2400: the first line written after says so */

	/* a steady flood of 1000 lines/s for 10 s writes burst + rate x 10 lines */
	dn_rl_init(&rl, 5, 10);
	{
		int ok = 0;
		uint64_t dropped = 0;

		for (uint64_t t = 0; t < 10000; t++) {
			if (dn_rl_admit(&rl, t, &s))
				ok++, dropped += s;
		}
		CHECK(ok >= 10 + 49 && ok <= 10 + 50);
		/* every line not written is reported by a later one, but the last run's */
		CHECK_INT(dropped + rl.suppressed + (uint64_t)ok, 10000);
	}
	/* a zero burst means one line at a time */
	dn_rl_init(&rl, 1, 0);
	CHECK_INT(admit_n(&rl, 0, 5, &sup), 1);
	return tap_done();
}
