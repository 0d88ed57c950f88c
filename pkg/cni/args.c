// SPDX-License-Identifier: Apache-2.0
/*
 * CNI_ARGS: "K1=V1;K2=V2", keys matched case-sensitively as the reference plugins' struct
 * fields are, unknown keys refused unless IgnoreUnknown is true.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cni.h"

const char *cni_args_get(const struct cni_kvv *args, const char *key)
{
	for (size_t i = 0; i < args->n; i++)
		if (!strcmp(args->v[i].key, key))
			return args->v[i].value;
	return NULL;
}

static bool known_key(const char *const *known, const char *key)
{
	for (; *known; known++)
		if (!strcmp(*known, key))
			return true;
	return false;
}

int cni_args_parse(const char *s, const char *const *known, struct cni_kvv *out,
		   struct cni_err *e)
{
	char unknown[512] = "";
	size_t n = 1, len = 0;
	const char *ign;
	char *copy, *save = NULL, *pair;

	memset(out, 0, sizeof(*out));
	if (!s || !*s)
		return 0;
	for (const char *p = s; *p; p++)
		n += *p == ';';
	out->v = cni_alloc(n * sizeof(*out->v));
	copy = cni_strdup(s);
	/* strtok would merge empty pairs; Go's split keeps them and refuses them. */
	for (pair = copy; pair; pair = save) {
		char *eq, *semi = strchr(pair, ';');

		save = semi ? semi + 1 : NULL;
		if (semi)
			*semi = '\0';
		eq = strchr(pair, '=');
		if (!eq || strchr(eq + 1, '='))
			return cni_fail(e, -EINVAL, CNI_ERR_INVALID_ENV,
					"ARGS: invalid pair \"%s\"", pair);
		*eq = '\0';
		out->v[out->n].key = pair;
		out->v[out->n].value = eq + 1;
		out->n++;
	}
	if (!known)
		return 0;
	ign = cni_args_get(out, "IgnoreUnknown");
	if (ign) {
		if (!strcmp(ign, "1") || !strcmp(ign, "true") || !strcmp(ign, "True"))
			return 0;
		if (strcmp(ign, "0") && strcmp(ign, "false") && strcmp(ign, "False"))
			return cni_fail(e, -EINVAL, CNI_ERR_INVALID_ENV,
					"ARGS: IgnoreUnknown: boolean unmarshal error: invalid input %s",
					ign);
	}
	for (size_t i = 0; i < out->n; i++) {
		const char *k = out->v[i].key;

		if (!strcmp(k, "IgnoreUnknown") || known_key(known, k))
			continue;
		len += (size_t)snprintf(unknown + len, len < sizeof(unknown) ? sizeof(unknown) - len : 0,
					"%s\"%s=%s\"", len ? " " : "", k, out->v[i].value);
		if (len >= sizeof(unknown))
			len = sizeof(unknown) - 1;
	}
	if (len)
		return cni_fail(e, -EINVAL, CNI_ERR_INVALID_ENV, "ARGS: unknown args [%s]", unknown);
	return 0;
}
