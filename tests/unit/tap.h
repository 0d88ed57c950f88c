/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A tiny test protocol shared by every C test program: one line per check,
 *   "ok - <name>", "not ok - <name>: <why>", "skip - <name>: <why>",
 * counted by tests/run.sh. A skip is never a pass. Exit status 1 when anything failed.
 */
#ifndef CNIC_TAP_H
#define CNIC_TAP_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int tap_failed;

#define TAP_OK(name) printf("ok - %s\n", (name))
#define TAP_FAIL(name, ...)                                                                        \
	do {                                                                                       \
		printf("not ok - %s: ", (name));                                                   \
		printf(__VA_ARGS__);                                                               \
		printf("  [%s:%d]\n", __FILE__, __LINE__);                                          \
		tap_failed = 1;                                                                    \
	} while (0)
#define TAP_SKIP(name, ...)                                                                        \
	do {                                                                                       \
		printf("skip - %s: ", (name));                                                     \
		printf(__VA_ARGS__);                                                               \
		printf("\n");                                                                      \
	} while (0)

/* Check a condition: one line, named by the condition's text unless a name is given. */
#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (cond)                                                                          \
			TAP_OK(#cond);                                                             \
		else                                                                               \
			TAP_FAIL(#cond, "false");                                                  \
	} while (0)

#define CHECK_STR(a, b)                                                                            \
	do {                                                                                       \
		const char *a_ = (a), *b_ = (b);                                                   \
		if (a_ && b_ && !strcmp(a_, b_))                                                   \
			TAP_OK(#a " == " #b);                                                      \
		else                                                                               \
			TAP_FAIL(#a " == " #b, "got \"%s\", want \"%s\"", a_ ? a_ : "(null)",        \
				 b_ ? b_ : "(null)");                                              \
	} while (0)

#define CHECK_INT(a, b)                                                                            \
	do {                                                                                       \
		long long a_ = (long long)(a), b_ = (long long)(b);                                \
		if (a_ == b_)                                                                      \
			TAP_OK(#a " == " #b);                                                      \
		else                                                                               \
			TAP_FAIL(#a " == " #b, "got %lld, want %lld", a_, b_);                     \
	} while (0)

static inline int tap_done(void)
{
	fflush(stdout);
	return tap_failed ? 1 : 0;
}

#endif
