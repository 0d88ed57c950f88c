// SPDX-License-Identifier: Apache-2.0
/*
 * Error texts, interface-name checks and the dumps' growing array every pkg/netutil file
 * shares. Kept apart from nl.c so that a plugin that never opens an rtnetlink socket (one that writes nftables only) does not
 * load libnl: the linker keeps a shared library for any object that references it, even when
 * --gc-sections later drops the referencing code.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cni/cni.h"
#include "netutil/internal.h"

bool nu_ifname_valid(const char *name)
{
	return cni_ifname_valid(name);
}

static void vfail(struct nu_nl *nl, struct cni_err *e, int err, const char *fmt, va_list ap)
{
	char what[320];

	if (!e)
		return;
	vsnprintf(what, sizeof(what), fmt, ap);
	if (nl && nl->extack[0])
		cni_fail(e, err, 0, "%s: %s (%s)", what, strerror(-err), nl->extack);
	else
		cni_fail(e, err, 0, "%s: %s", what, strerror(-err));
}

int nu__fail(struct nu_nl *nl, struct cni_err *e, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfail(nl, e, err, fmt, ap);
	va_end(ap);
	return err;
}

int nu__failx(struct cni_err *e, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfail(NULL, e, err, fmt, ap);
	va_end(ap);
	return err;
}

void *nu__push(void *vecp, size_t *n, size_t *cap, size_t elem, size_t first)
{
	void *v, *x;

	memcpy(&v, vecp, sizeof(v)); /* the caller's `T *`: same representation as void * */
	if (*n == *cap) {
		size_t c = *cap ? *cap * 2 : first;

		v = realloc(v, c * elem);
		if (!v)
			return NULL;
		memcpy(vecp, &v, sizeof(v));
		*cap = c;
	}
	x = (char *)v + (*n)++ * elem;
	return x;
}
