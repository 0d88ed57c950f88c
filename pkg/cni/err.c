// SPDX-License-Identifier: Apache-2.0
/*
 * Error record helpers: formatting only, no allocation, safe on a struct that is reused.
 */
#include <stdio.h>
#include <string.h>

#include "err.h"

int cni_fail(struct cni_err *e, int err, unsigned int code, const char *fmt, ...)
{
	va_list ap;

	if (code)
		e->code = code;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return err;
}

void cni_detail(struct cni_err *e, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(e->details, sizeof(e->details), fmt, ap);
	va_end(ap);
}

int cni_wrap(struct cni_err *e, int err, const char *fmt, ...)
{
	char prefix[256], old[sizeof(e->msg)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	if (e->msg[0])
		snprintf(old, sizeof(old), "%s", e->msg);
	else
		snprintf(old, sizeof(old), "%s", strerror(err < 0 ? -err : err));
	snprintf(e->msg, sizeof(e->msg), "%s: %s", prefix, old);
	return err;
}

void cni_err_clear(struct cni_err *e)
{
	e->code = 0;
	e->msg[0] = '\0';
	e->details[0] = '\0';
}

void cni_err_keep_first(int r, struct cni_err *one, int *first, struct cni_err *e)
{
	if (r < 0 && !*first) {
		*first = r;
		*e = *one;
	}
	cni_err_clear(one);
}

void cni_err_gather(int r, struct cni_err *one, int *first, struct cni_err *e)
{
	if (r < 0) {
		*first = *first ? *first : r;
		cni_err_append(e, "%s", one->msg);
	}
	cni_err_clear(one);
}

void cni_err_append(struct cni_err *e, const char *fmt, ...)
{
	size_t len = strlen(e->msg);
	va_list ap;

	if (len && len + 2 < sizeof(e->msg)) {
		memcpy(e->msg + len, "; ", 3);
		len += 2;
	}
	if (len >= sizeof(e->msg) - 1)
		return;
	va_start(ap, fmt);
	vsnprintf(e->msg + len, sizeof(e->msg) - len, fmt, ap);
	va_end(ap);
}
