// SPDX-License-Identifier: Apache-2.0
/*
 * The process arena: every allocation handed out by pkg/cni is a malloc'd block chained to the
 * previous one, released all at once when the dispatcher exits. One block per allocation keeps
 * AddressSanitizer exact; plugins make a few hundred allocations at most.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cni.h"

struct block {
	struct block *prev;
	max_align_t data[];
};

static struct block *arena_top;

void *cni_alloc(size_t size)
{
	struct block *b = calloc(1, sizeof(*b) + size);

	if (!b) {
		fputs("cnic: out of memory\n", stderr);
		abort();
	}
	b->prev = arena_top;
	arena_top = b;
	return b->data;
}

char *cni_strdup(const char *s)
{
	size_t n;
	char *d;

	if (!s)
		return NULL;
	n = strlen(s);
	d = cni_alloc(n + 1);
	memcpy(d, s, n);
	return d;
}

char *cni_sprintf(const char *fmt, ...)
{
	va_list ap;
	int n;
	char *s;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	s = cni_alloc((size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(s, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return s;
}

void *cni_grow(void *arr, size_t *cap, size_t want, size_t elem)
{
	size_t ncap;
	void *n;

	if (want <= *cap)
		return arr;
	ncap = *cap ? *cap * 2 : 4;
	while (ncap < want)
		ncap *= 2;
	n = cni_alloc(ncap * elem);
	if (arr && *cap)
		memcpy(n, arr, *cap * elem);
	*cap = ncap;
	return n;
}

void cni_arena_release(void)
{
	while (arena_top) {
		struct block *p = arena_top->prev;

		free(arena_top);
		arena_top = p;
	}
}
