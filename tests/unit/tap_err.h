/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Checks of negative-errno results over tap.h, for the C tests of pkg/netutil and the plugins'
 * kernel-side code (tests/unit and tests/kernel): on a failure they show the recorded error
 * message. The macros read the test file's `static struct cni_err e`, which every call fills.
 */
#ifndef CNIC_TAP_ERR_H
#define CNIC_TAP_ERR_H

#include <string.h>

#include "cni/err.h"
#include "tap.h"

/* Check a negative-errno result; on failure show the recorded error message. */
#define CHECK_R(expr, want)                                                                        \
	do {                                                                                       \
		cni_err_clear(&e);                                                                 \
		int r_ = (expr), w_ = (want);                                                      \
		if (r_ == w_)                                                                      \
			TAP_OK(#expr " == " #want);                                                \
		else                                                                               \
			TAP_FAIL(#expr " == " #want, "got %d (%s), want %d; msg: %s", r_,          \
				 r_ < 0 ? strerror(-r_) : "ok", w_, e.msg);                        \
	} while (0)

/* The recorded error message contains @needle (shown as a comment line when it does). */
#define CHECK_MSG(needle)                                                                          \
	do {                                                                                       \
		if (strstr(e.msg, (needle))) {                                                     \
			TAP_OK("message has " #needle);                                            \
			printf("# %s\n", e.msg);                                                   \
		} else                                                                             \
			TAP_FAIL("message has " #needle, "message: \"%s\"", e.msg);                \
	} while (0)

#endif
