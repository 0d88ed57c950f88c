// SPDX-License-Identifier: Apache-2.0
/*
 * A scanner over JSON text that sees what a parser hides: duplicate keys of one member object
 * (see dupkeys.h). It only walks the text (strings with their escapes, nesting, literals); each
 * key is decoded by jansson so escaped and plain spellings of one key compare equal. Nesting is
 * bounded; nothing is allocated outside the arena.
 */
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "dupkeys.h"
#include "internal.h"

#define MAX_DEPTH 512

struct scan {
	const char *p, *end;
};

static void ws(struct scan *s)
{
	while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
		s->p++;
}

/* A string token at s->p: its span (quotes included) in *start and *n. */
static int string_tok(struct scan *s, const char **start, size_t *n)
{
	const char *b = s->p;

	if (s->p >= s->end || *s->p != '"')
		return -EINVAL;
	for (s->p++; s->p < s->end; s->p++) {
		if (*s->p == '\\') {
			s->p++;
			continue;
		}
		if (*s->p == '"') {
			s->p++;
			*start = b;
			*n = (size_t)(s->p - b);
			return 0;
		}
	}
	return -EINVAL;
}

/* The decoded text of a string token, in the arena; NULL when it does not decode. */
static char *decode(const char *tok, size_t n)
{
	json_t *v = json_loadb(tok, n, JSON_DECODE_ANY, NULL);
	char *r = json_is_string(v) ? cni_strdup(json_string_value(v)) : NULL;

	json_decref(v);
	return r;
}

static int skip_value(struct scan *s, int depth);

/* After a member or an element: 1 past a ',' (another follows), 0 past @close, else -EINVAL. */
static int next(struct scan *s, char close)
{
	ws(s);
	if (s->p < s->end && *s->p == ',') {
		s->p++;
		return 1;
	}
	if (s->p < s->end && *s->p == close) {
		s->p++;
		return 0;
	}
	return -EINVAL;
}

/*
 * An object at s->p. With @keys, every key is decoded and checked against (then added to) the
 * set; a repeated one is returned in *dup. With @member, values of keys matching it are scanned
 * as member objects into @keys instead of skipped.
 */
static int object(struct scan *s, int depth, const char *member, struct cni_strv *keys,
		  size_t *cap, char **dup)
{
	if (depth > MAX_DEPTH || s->p >= s->end || *s->p != '{')
		return -EINVAL;
	s->p++;
	ws(s);
	if (s->p < s->end && *s->p == '}') {
		s->p++;
		return 0;
	}
	for (;;) {
		const char *tok;
		size_t n;
		char *key = NULL;
		int r;

		ws(s);
		if (string_tok(s, &tok, &n) < 0)
			return -EINVAL;
		ws(s);
		if (s->p >= s->end || *s->p != ':')
			return -EINVAL;
		s->p++;
		ws(s);
		if (member || keys) {
			key = decode(tok, n);
			if (!key)
				return -EINVAL;
		}
		if (member && !strcasecmp(key, member) && s->p < s->end && *s->p == '{') {
			r = object(s, depth + 1, NULL, keys, cap, dup);
		} else {
			if (!member && keys) {
				for (size_t i = 0; !*dup && i < keys->n; i++)
					if (!strcmp(keys->v[i], key))
						*dup = key;
				keys->v = cni_grow(keys->v, cap, keys->n + 1, sizeof(char *));
				keys->v[keys->n++] = key;
			}
			r = skip_value(s, depth + 1);
		}
		if (r < 0)
			return r;
		r = next(s, '}');
		if (r <= 0)
			return r;
	}
}

static int skip_value(struct scan *s, int depth)
{
	const char *tok;
	size_t n;

	ws(s);
	if (depth > MAX_DEPTH || s->p >= s->end)
		return -EINVAL;
	switch (*s->p) {
	case '{':
		return object(s, depth, NULL, NULL, NULL, NULL);
	case '[':
		s->p++;
		ws(s);
		if (s->p < s->end && *s->p == ']') {
			s->p++;
			return 0;
		}
		for (;;) {
			int r = skip_value(s, depth + 1);

			if (r < 0)
				return r;
			r = next(s, ']');
			if (r <= 0)
				return r;
		}
	case '"':
		return string_tok(s, &tok, &n);
	default:
		/* number or literal: up to the next delimiter */
		tok = s->p;
		while (s->p < s->end && !strchr(",}] \t\r\n", *s->p))
			s->p++;
		return s->p > tok ? 0 : -EINVAL;
	}
}

int cni_json_dup_key(const char *json, size_t len, const char *member, char **dup)
{
	struct scan s = {json, json + len};
	struct cni_strv keys = {0};
	size_t cap = 0;
	int r;

	*dup = NULL;
	ws(&s);
	r = object(&s, 0, member, &keys, &cap, dup);
	if (r < 0)
		return r;
	ws(&s);
	if (s.p != s.end)
		return -EINVAL;
	return *dup ? 1 : 0;
}
