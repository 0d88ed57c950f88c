// SPDX-License-Identifier: Apache-2.0
/*
 * The process arena: every allocation handed out by pkg/cni is a malloc'd block chained to the
 * previous one, released all at once when the dispatcher exits. One block per allocation keeps
 * AddressSanitizer exact; plugins make a few hundred allocations at most.
 *
 * Out of memory: callers never see NULL (none could do better than fail, and hundreds of call
 * sites checking would be hundreds of untested paths). The allocation is served from a static
 * reserve instead, bump by bump, and the first refusal is remembered; the plugin runs on to the
 * end of its verb, and the dispatcher then answers an error "out of memory" and undoes an ADD
 * with the plugin's own DEL, as for a result it cannot encode. No longjmp: the plugin's own undo
 * paths run as written. Only with the reserve spent too is there nothing sound left to do: the
 * error is written straight to stdout and the process exits 1.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cni.h"

struct block {
	struct block *prev;
	max_align_t data[];
};

static struct block *arena_top;

#define RESERVE_SIZE (256 * 1024)
static max_align_t reserve[RESERVE_SIZE / sizeof(max_align_t)];
static size_t reserve_used; /* in max_align_t units */
static const char *oom_who;
static size_t oom_size;

static _Noreturn void reserve_spent(const char *who, size_t size)
{
	char buf[512];
	int n;

	n = snprintf(buf, sizeof(buf),
		     "{\n    \"cniVersion\": \"%s\",\n    \"code\": %d,\n"
		     "    \"msg\": \"out of memory: %s: %zu bytes\"\n}",
		     cni_version_str(CNI_V_LATEST), CNI_ERR_INTERNAL, who, size);
	fflush(stdout);
	if (n > 0 && write(STDOUT_FILENO, buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1))
		(void)0;
	_exit(1);
}

static void *from_reserve(size_t size, const char *who)
{
	size_t units = (size + sizeof(max_align_t) - 1) / sizeof(max_align_t);
	void *p;

	if (!oom_who) {
		oom_who = who;
		oom_size = size;
	}
	if (size > RESERVE_SIZE || units > sizeof(reserve) / sizeof(reserve[0]) - reserve_used)
		reserve_spent(who, size);
	p = &reserve[reserve_used]; /* zero: static and never handed out twice */
	reserve_used += units ? units : 1;
	return p;
}

void *cni__alloc(size_t size, const char *who)
{
	struct block *b = NULL;

	if (size <= SIZE_MAX - sizeof(*b))
		b = calloc(1, sizeof(*b) + size);
	if (!b)
		return from_reserve(size, who);
	b->prev = arena_top;
	arena_top = b;
	return b->data;
}

const char *cni_arena_oom(size_t *size)
{
	if (size)
		*size = oom_size;
	return oom_who;
}

char *cni__strdup(const char *s, const char *who)
{
	size_t n;
	char *d;

	if (!s)
		return NULL;
	n = strlen(s);
	d = cni__alloc(n + 1, who);
	memcpy(d, s, n);
	return d;
}

char *cni__sprintf(const char *who, const char *fmt, ...)
{
	va_list ap;
	int n;
	char *s;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	s = cni__alloc((size_t)n + 1, who);
	va_start(ap, fmt);
	vsnprintf(s, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return s;
}

void *cni__grow(void *arr, size_t *cap, size_t want, size_t elem, const char *who)
{
	size_t ncap;
	void *n;

	if (want <= *cap)
		return arr;
	ncap = *cap ? *cap * 2 : 4;
	while (ncap < want)
		ncap *= 2;
	n = cni__alloc(ncap * elem, who);
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
