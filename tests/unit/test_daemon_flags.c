// SPDX-License-Identifier: Apache-2.0
/*
 * pkg/daemon/flags.c, the daemons' one command-line parser: every form of a flag (-flag value,
 * -flag=value, --flag value, --flag=value, a boolean bare or =true/=false/=1/=0), --help, -h,
 * -help, --version, -version, and each error naming its argument (unknown flag, missing value,
 * a boolean's bad value, a non-flag argument, "--"); the usage lists every flag.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "daemon/flags.h"
#include "tap.h"

static const char *path, *on, *prefix;
static const struct dmn_flag flags[] = {
	{"socketpath", "PATH", "where it listens", &path},
	{"broadcast", NULL, "a boolean", &on},
	{"hostprefix", "PREFIX", "may be empty", &prefix, true},
	{NULL},
};

/* Parses the NULL-ended arguments after a program name; the result, the error in @err. */
static int parse(char *err, size_t len, ...)
{
	char *argv[16] = {"daemon"};
	int argc = 1;
	va_list ap;

	path = on = prefix = NULL;
	err[0] = '\0';
	va_start(ap, len);
	while (argc < 15 && (argv[argc] = va_arg(ap, char *)))
		argc++;
	va_end(ap);
	return dmn_flags_parse(flags, argc, argv, err, len);
}

#define P(...) parse(err, sizeof(err), __VA_ARGS__, (char *)NULL)

int main(void)
{
	static const char *const forms[][2] = {
		{"-socketpath", "/a"}, {"--socketpath", "/a"}, {"-socketpath=/a", NULL},
		{"--socketpath=/a", NULL},
	};
	char err[256], buf[4096];
	FILE *f;

	for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		int r = forms[i][1] ? P((char *)forms[i][0], (char *)forms[i][1])
				    : P((char *)forms[i][0]);

		if (r == DMN_FLAGS_RUN && path && !strcmp(path, "/a"))
			TAP_OK(forms[i][0]);
		else
			TAP_FAIL(forms[i][0], "r %d, path %s, err %s", r, path ? path : "-", err);
	}
	/* an empty value keeps the default (Go's dhcp daemon: an empty -socketpath is the default;
	 * dnsname's --run-dir= would otherwise write into "/"), unless the flag takes one */
	CHECK_INT(P("--socketpath="), DMN_FLAGS_RUN);
	CHECK(path == NULL);
	CHECK_INT(P("-socketpath", ""), DMN_FLAGS_RUN);
	CHECK(path == NULL);
	CHECK_INT(P("-hostprefix="), DMN_FLAGS_RUN);
	CHECK(prefix && !strcmp(prefix, ""));
	/* Go's strconv.ParseBool spellings, as the reference daemon takes them */
	{
		static const char *const t[] = {"1", "t", "T", "TRUE", "true", "True"};
		static const char *const n[] = {"0", "f", "F", "FALSE", "false", "False"};
		char arg[32];

		for (size_t i = 0; i < 6; i++) {
			snprintf(arg, sizeof(arg), "-broadcast=%s", t[i]);
			if (P(arg) != DMN_FLAGS_RUN || !dmn_flag_true(on))
				TAP_FAIL(arg, "not true: %s", err);
			else
				TAP_OK(arg);
			snprintf(arg, sizeof(arg), "-broadcast=%s", n[i]);
			if (P(arg) != DMN_FLAGS_RUN || dmn_flag_true(on))
				TAP_FAIL(arg, "not false: %s", err);
			else
				TAP_OK(arg);
		}
	}
	CHECK_INT(P("-broadcast"), DMN_FLAGS_RUN);
	CHECK(dmn_flag_true(on));
	CHECK_INT(P("--broadcast", "-socketpath", "/b"), DMN_FLAGS_RUN);
	CHECK(dmn_flag_true(on) && !strcmp(path, "/b"));
	CHECK_INT(P("--broadcast=false"), DMN_FLAGS_RUN);
	CHECK(!dmn_flag_true(on) && on && !strcmp(on, "false"));
	CHECK_INT(P("-broadcast=1"), DMN_FLAGS_RUN);
	CHECK(dmn_flag_true(on));
	CHECK_INT(P("-broadcast=0"), DMN_FLAGS_RUN);
	CHECK(!dmn_flag_true(on));
	CHECK(!dmn_flag_true(NULL));
	/* a boolean takes no separate value: the next argument is not eaten */
	CHECK_INT(P("-broadcast", "false"), -EINVAL);
	CHECK(strstr(err, "\"false\"") != NULL);
	/* the last of a repeated flag wins, as Go's flag package */
	CHECK_INT(P("-socketpath", "/1", "--socketpath=/2"), DMN_FLAGS_RUN);
	CHECK_STR(path, "/2");

	CHECK_INT(P("--help"), DMN_FLAGS_HELP);
	CHECK_INT(P("-h"), DMN_FLAGS_HELP);
	CHECK_INT(P("-help"), DMN_FLAGS_HELP);
	CHECK_INT(P("-socketpath", "/a", "--help"), DMN_FLAGS_HELP);
	CHECK_INT(P("--version"), DMN_FLAGS_VERSION);
	CHECK_INT(P("-version"), DMN_FLAGS_VERSION);
	CHECK_INT(P("--version=1"), -EINVAL);

	CHECK_INT(P("--bogus"), -EINVAL);
	CHECK(strstr(err, "\"--bogus\"") != NULL);
	CHECK_INT(P("-bogus=1"), -EINVAL);
	CHECK(strstr(err, "\"-bogus=1\"") != NULL);
	/* a prefix of a flag is not the flag */
	CHECK_INT(P("-socket", "/a"), -EINVAL);
	CHECK(strstr(err, "\"-socket\"") != NULL);
	CHECK_INT(P("-socketpath"), -EINVAL);
	CHECK(strstr(err, "-socketpath") && strstr(err, "PATH"));
	CHECK_INT(P("--broadcast=yes"), -EINVAL);
	CHECK(strstr(err, "-broadcast") && strstr(err, "\"yes\""));
	CHECK_INT(P("extra"), -EINVAL);
	CHECK(strstr(err, "\"extra\"") != NULL);
	CHECK_INT(P("--"), -EINVAL);
	CHECK_INT(P("-"), -EINVAL);
	CHECK_INT(parse(err, sizeof(err), (char *)NULL), DMN_FLAGS_RUN);

	f = fmemopen(buf, sizeof(buf), "w");
	if (!f) {
		TAP_FAIL("fmemopen", "%s", strerror(errno));
		return tap_done();
	}
	CHECK_INT(dmn_flags_usage(f, "x daemon [flags]", flags), 0);
	fclose(f);
	CHECK(!strncmp(buf, "usage: x daemon [flags]\n", 24));
	CHECK(strstr(buf, "\n  -socketpath PATH    where it listens\n") != NULL);
	CHECK(strstr(buf, "\n  -broadcast          a boolean\n") != NULL);
	CHECK(strstr(buf, "--help") && strstr(buf, "-version"));
	/* a usage that cannot be written is an error (--help >/dev/full exits 1) */
	f = fopen("/dev/full", "w");
	if (f) {
		CHECK_INT(dmn_flags_usage(f, "x daemon [flags]", flags), -EIO);
		fclose(f);
	}
	return tap_done();
}
