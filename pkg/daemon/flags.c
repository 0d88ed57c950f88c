// SPDX-License-Identifier: Apache-2.0
/*
 * The daemons' command line (flags.h): Go's flag syntax and GNU's long options, one table per
 * daemon, so that both accept the same forms and print the same kind of --help.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "flags.h"

/* Go's strconv.ParseBool: 1 for true, 0 for false, -1 for anything else. */
static int parse_bool(const char *v)
{
	static const char *const yes[] = {"1", "t", "T", "TRUE", "true", "True"};
	static const char *const no[] = {"0", "f", "F", "FALSE", "false", "False"};

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (!strcmp(v, yes[i]))
			return 1;
		if (!strcmp(v, no[i]))
			return 0;
	}
	return -1;
}

bool dmn_flag_true(const char *v)
{
	return v && parse_bool(v) == 1;
}

int dmn_flags_parse(const struct dmn_flag *flags, int argc, char **argv, char *err,
		    size_t errlen)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *name, *eq;
		const struct dmn_flag *f;
		size_t n;

		if (a[0] != '-' || !a[1] || (a[1] == '-' && !a[2])) {
			snprintf(err, errlen, "unexpected argument \"%s\" (flags only)", a);
			return -EINVAL;
		}
		name = a + (a[1] == '-' ? 2 : 1);
		eq = strchr(name, '=');
		n = eq ? (size_t)(eq - name) : strlen(name);
		if (!eq && (!strcmp(name, "h") || !strcmp(name, "help")))
			return DMN_FLAGS_HELP;
		if (!eq && !strcmp(name, "version"))
			return DMN_FLAGS_VERSION;
		for (f = flags; f->name; f++)
			if (strlen(f->name) == n && !strncmp(f->name, name, n))
				break;
		if (!f->name) {
			snprintf(err, errlen, "unknown flag \"%s\"", a);
			return -EINVAL;
		}
		if (!f->arg) {
			if (eq && parse_bool(eq + 1) < 0) {
				snprintf(err, errlen,
					 "flag -%s: \"%s\" is not a boolean (true, false, 1, 0)",
					 f->name, eq + 1);
				return -EINVAL;
			}
			*f->value = eq ? eq + 1 : "true";
		} else if (eq || i + 1 < argc) {
			const char *v = eq ? eq + 1 : argv[++i];

			if (*v || f->empty_ok) /* empty: the default stays */
				*f->value = v;
		} else {
			snprintf(err, errlen, "flag -%s needs a value (%s)", f->name, f->arg);
			return -EINVAL;
		}
	}
	return DMN_FLAGS_RUN;
}

int dmn_flags_usage(FILE *f, const char *usage, const struct dmn_flag *flags)
{
	int w = 0;

	for (const struct dmn_flag *g = flags; g->name; g++) {
		int n = (int)strlen(g->name) + (g->arg ? (int)strlen(g->arg) + 1 : 0);

		w = n > w ? n : w;
	}
	fprintf(f, "usage: %s\n\nFlags (-flag, --flag, -flag=value, --flag value: all the same):\n",
		usage);
	for (const struct dmn_flag *g = flags; g->name; g++) {
		char left[128];

		snprintf(left, sizeof(left), "%s%s%s", g->name, g->arg ? " " : "",
			 g->arg ? g->arg : "");
		fprintf(f, "  -%-*s  %s\n", w, left, g->help);
	}
	fprintf(f, "  -%-*s  %s\n  -%-*s  %s\n", w, "h, --help", "this text",
		w, "version", "the release, commit, build date and CNI versions");
	return fflush(f) || ferror(f) ? -EIO : 0;
}
