/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The command-line flags of both daemons, one parser: each flag is accepted Go's way (the
 * reference's dhcp daemon: -flag, -flag value, -flag=value) and GNU's (--flag, --flag value,
 * --flag=value); a flag without an argument (a boolean) takes no separate value but accepts
 * =value with Go's strconv.ParseBool spellings (1, t, T, TRUE, true, True and 0, f, F, FALSE,
 * false, False). An empty value (-flag= or -flag "") leaves the flag at its default, as Go's
 * daemon treats an empty -socketpath, unless the flag says empty_ok (-hostprefix ""). -h, -help and --help ask for the usage, -version and --version for the
 * version (the caller prints them: cni_print_version()). libc alone.
 */
#ifndef DAEMON_FLAGS_H
#define DAEMON_FLAGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct dmn_flag {
	const char *name; /* without dashes: "socketpath" */
	const char *arg;  /* the value's name in the usage ("PATH"); NULL: a boolean flag */
	const char *help; /* one line: what it does, its default */
	const char **value; /* where the text given goes ("true"/"false" for a boolean) */
	bool empty_ok;	    /* an empty value is a value; otherwise -flag= keeps the default */
};

enum {
	DMN_FLAGS_RUN = 0,   /* flags parsed: run the daemon */
	DMN_FLAGS_HELP = 1,  /* -h, -help, --help */
	DMN_FLAGS_VERSION = 2, /* -version, --version */
};

/*
 * dmn_flags_parse() - @argv[1..@argc) against @flags (ended by a NULL name). Returns
 * DMN_FLAGS_RUN, _HELP or _VERSION, or -EINVAL with @err (of @errlen bytes) naming the argument:
 * an unknown flag, a flag without its value, a boolean's value that is not one of ParseBool's, or
 * an argument that is not a flag.
 */
int dmn_flags_parse(const struct dmn_flag *flags, int argc, char **argv, char *err,
		    size_t errlen);

/* The boolean a flag's text says (ParseBool's true spellings: true; NULL or the rest: false). */
bool dmn_flag_true(const char *v);

/*
 * dmn_flags_usage() - "usage: <@usage>" then one line per flag: "  -name ARG  help" (both styles
 * are said to work), on @f, flushed. Returns 0, or -EIO when @f could not be written.
 */
int dmn_flags_usage(FILE *f, const char *usage, const struct dmn_flag *flags);

#endif
