// SPDX-License-Identifier: Apache-2.0
/*
 * Spec versions: the seven this suite speaks, and semantic-version comparison for cniVersions.
 */
#include <stdlib.h>
#include <string.h>

#include "cni.h"

static const char *const names[CNI_V_COUNT] = {
	"0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0",
};

const char *cni_version_str(enum cni_version v)
{
	return (unsigned int)v < CNI_V_COUNT ? names[v] : "";
}

int cni_version_lookup(const char *s)
{
	for (int i = 0; i < CNI_V_COUNT; i++)
		if (s && !strcmp(s, names[i]))
			return i;
	return -1;
}

/* major.minor.patch, each a decimal number; anything else is invalid. */
static bool parse_semver(const char *s, unsigned long out[3])
{
	for (int i = 0; i < 3; i++) {
		char *end;

		if (!s || *s < '0' || *s > '9')
			return false;
		out[i] = strtoul(s, &end, 10);
		if (i < 2 && *end != '.')
			return false;
		if (i == 2 && *end != '\0')
			return false;
		s = end + 1;
	}
	return true;
}

int cni_version_cmp(const char *a, const char *b, bool *bad)
{
	unsigned long x[3], y[3];

	if (!parse_semver(a, x) || !parse_semver(b, y)) {
		*bad = true;
		return 0;
	}
	for (int i = 0; i < 3; i++)
		if (x[i] != y[i])
			return x[i] < y[i] ? -1 : 1;
	return 0;
}

const char *cni_cmd_str(enum cni_cmd c)
{
	static const char *const cmds[] = {"", "ADD", "DEL", "CHECK", "STATUS", "GC", "VERSION"};

	return (unsigned int)c < sizeof(cmds) / sizeof(cmds[0]) ? cmds[c] : "";
}
