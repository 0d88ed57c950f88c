// SPDX-License-Identifier: Apache-2.0
/*
 * pkg/netutil's tbf arithmetic, without a kernel: rate, buffer and limit from a rate and a burst,
 * checked against values observed from the Go plugin (nu_tbf_params_go keeps its arithmetic,
 * overflows included). tests/kernel/test_tc.c checks the qdiscs themselves.
 */
#include <errno.h>
#include <stdint.h>

#include "netutil/tc.h"
#include "tap_err.h"

static struct cni_err e;

int main(void)
{
	struct nu_tbf t;

	/* `tbf rate 1Mbit burst 12500b lat 25ms`, as the Go plugin makes it */
	CHECK_R(nu_tbf_params(1000000, 100000, &t), 0);
	CHECK_INT(t.rate, 125000);
	CHECK_INT(t.buffer, 1562500);
	CHECK_INT(t.limit, 15625);
	CHECK_R(nu_tbf_params(123456789, 999999, &t), 0);
	CHECK_INT(t.rate, 15432098);
	CHECK_INT(t.limit, 385802 + 124999);
	CHECK_R(nu_tbf_params(0, 100, &t), -EINVAL);
	CHECK_R(nu_tbf_params(100, 0, &t), -EINVAL);
	/* 4 GB and more, which the reference refuses: 2^32-1 bytes */
	CHECK_R(nu_tbf_params(8000, 34359738360ULL, &t), 0);
	CHECK_INT(t.limit, 4294967295U);
	CHECK_R(nu_tbf_params(8000000000ULL, INT64_MAX, &t), 0);
	CHECK_INT(t.buffer, 67108859); /* 4294967 us at 1 GB/s */
	CHECK_R(nu_tbf_params_go(8000, 34359738360ULL, &t), -ERANGE);
	/* 64-bit rates (above 34 Gbit/s) */
	CHECK_R(nu_tbf_params(100000000000ULL, 8000000, &t), 0);
	CHECK_INT(t.rate, 12500000000ULL);

	/*
	 * containerd's burst for a rate-only annotation, 2^32-1 bits, at 10 Mbit/s: 429.5 s of
	 * buffer, more than 2^32-1 ticks (274.9 s): saturated, where the Go plugin wraps to 154.6 s
	 */
	CHECK_R(nu_tbf_params(10000000, 4294967295ULL, &t), 0);
	CHECK_INT(t.rate, 1250000);
	CHECK_INT(t.buffer, 4294967295U);
	CHECK_INT(t.limit, 31250 + 536870911);
	CHECK_R(nu_tbf_params_go(10000000, 4294967295ULL, &t), 0);
	CHECK_INT(t.buffer, 2415919079U);
	CHECK_INT(t.limit, 31250 + 536870911);
	/* CRI-O's burst, 2^35-9 bits, at 1 kbit/s: Go's limit sum wraps to 1 byte; ours saturates */
	CHECK_R(nu_tbf_params(1000, 34359738359ULL, &t), 0);
	CHECK_INT(t.buffer, 4294967295U);
	CHECK_INT(t.limit, 4294967295U);
	CHECK_R(nu_tbf_params_go(1000, 34359738359ULL, &t), 0);
	CHECK_INT(t.limit, 1);
	/* 1 bit/s and 1 bit: one byte each (the kernel's unit), one byte per second is 1e6 us */
	CHECK_R(nu_tbf_params(1, 1, &t), 0);
	CHECK_INT(t.rate, 1);
	CHECK_INT(t.buffer, 15625000);
	CHECK_INT(t.limit, 1);
	CHECK_R(nu_tbf_params_go(7, 100, &t), -EINVAL);
	/* the largest rate, 2^63-1 bits/s with the smallest burst: one tick, enough for a byte */
	CHECK_R(nu_tbf_params(INT64_MAX, 1, &t), 0);
	CHECK_INT(t.rate, (uint64_t)INT64_MAX / 8);
	CHECK_INT(t.buffer, 1);
	CHECK_INT(t.limit, 4294967295U);
	/* 1 Pbit/s (kubelet's largest) with a 1-byte burst: 0 us in the reference's whole
	 * microseconds (EINVAL from the kernel there); here the one tick that holds a byte */
	CHECK_R(nu_tbf_params(1000000000000000ULL, 8, &t), 0);
	CHECK_INT(t.buffer, 1);
	/* 10 Mbit/s with a 1-byte burst: 0.8 us, raised to the 13 ticks (832 ns) holding a byte */
	CHECK_R(nu_tbf_params(10000000, 8, &t), 0);
	CHECK_INT(t.buffer, 13);
	return tap_done();
}
