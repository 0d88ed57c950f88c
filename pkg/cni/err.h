/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The error record shared by every layer. Functions return a negative errno; the human side of a
 * failure (what was being done, the key and value at fault, the kernel's extack text) is written
 * into a caller-provided struct cni_err, which the dispatcher turns into the CNI error object.
 * No JSON and no kernel knowledge here, so pkg/netutil may use it too.
 */
#ifndef CNI_ERR_H
#define CNI_ERR_H

#include <stdarg.h>
#include <stdbool.h>

/* CNI well-known error codes (spec 1.1.0 §"Error", plus the Go library's 8 and 999). */
enum {
	CNI_ERR_UNKNOWN = 0,
	CNI_ERR_INCOMPATIBLE_VERSION = 1,
	CNI_ERR_UNSUPPORTED_FIELD = 2,
	CNI_ERR_UNKNOWN_CONTAINER = 3,
	CNI_ERR_INVALID_ENV = 4,
	CNI_ERR_IO = 5,
	CNI_ERR_DECODE = 6,
	CNI_ERR_INVALID_CONFIG = 7,
	CNI_ERR_INVALID_NETNS = 8,
	CNI_ERR_TRY_LATER = 11,
	CNI_ERR_NOT_AVAILABLE = 50,
	CNI_ERR_LIMITED_CONNECTIVITY = 51,
	CNI_ERR_INTERNAL = 999,
};

struct cni_err {
	unsigned int code; /* 0 until set: reported as CNI_ERR_INTERNAL */
	char msg[512];
	char details[1024];
};

/*
 * cni_fail() - record a failure and return @err (a negative errno) for tail calls:
 *	return cni_fail(e, -EINVAL, CNI_ERR_INVALID_CONFIG, "bad %s", key);
 * A code of 0 keeps the code already recorded (or leaves it to the dispatcher).
 * The message replaces any previous one.
 */
int cni_fail(struct cni_err *e, int err, unsigned int code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* cni_detail() - set the details text; returns nothing, never fails. */
void cni_detail(struct cni_err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * cni_wrap() - prefix context to the message already recorded ("adding route: <old>"); if no
 * message is recorded yet, the errno text of @err is used. Returns @err.
 */
int cni_wrap(struct cni_err *e, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* cni_err_clear() - forget a recorded failure (after a tolerated error). */
void cni_err_clear(struct cni_err *e);

/*
 * cni_err_keep_first() - for a sequence of steps that all run even when one fails (DEL): when @r
 * is a failure and none was kept yet, keep @r in *@first and the step's record @one in @e. @one
 * is cleared for the next step either way.
 */
void cni_err_keep_first(int r, struct cni_err *one, int *first, struct cni_err *e);

/*
 * cni_err_gather() - the same for steps whose failures are all reported (GC): when @r is a
 * failure, keep it in *@first unless one was kept, and append @one's message to @e. @one is
 * cleared for the next step either way.
 */
void cni_err_gather(int r, struct cni_err *one, int *first, struct cni_err *e);

/* cni_err_set() - true once a message was recorded. */
static inline bool cni_err_set(const struct cni_err *e)
{
	return e->msg[0] != '\0';
}

/* Append to a recorded message "; <text>" (GC collects every failure). */
void cni_err_append(struct cni_err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
