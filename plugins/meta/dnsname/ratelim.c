// SPDX-License-Identifier: Apache-2.0
/* The log limiter's token bucket (ratelim.h). */
#include "ratelim.h"

void dn_rl_init(struct dn_rl *rl, uint32_t rate, uint32_t burst)
{
	*rl = (struct dn_rl){.rate = rate, .burst = burst ? burst : 1};
	rl->tokens_ms = (uint64_t)rl->burst * 1000;
}

bool dn_rl_admit(struct dn_rl *rl, uint64_t now_ms, uint32_t *suppressed)
{
	uint64_t cap = (uint64_t)rl->burst * 1000;

	*suppressed = 0;
	if (!rl->started) {
		rl->started = true;
		rl->last = now_ms;
	}
	if (now_ms > rl->last) { /* a clock that goes back refills nothing */
		uint64_t add = (now_ms - rl->last) * rl->rate;

		rl->tokens_ms = add >= cap - rl->tokens_ms ? cap : rl->tokens_ms + add;
		rl->last = now_ms;
	}
	if (rl->tokens_ms < 1000) {
		if (rl->suppressed < UINT32_MAX)
			rl->suppressed++;
		return false;
	}
	rl->tokens_ms -= 1000;
	*suppressed = rl->suppressed;
	rl->suppressed = 0;
	return true;
}
