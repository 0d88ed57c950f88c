// SPDX-License-Identifier: Apache-2.0
/*
 * --version and --help of every binary. --version is the same two lines everywhere (about.h).
 * --help of a plugin is generated from its struct cni_field tables: one line per key the plugin
 * reads, nested keys with their path ("ipam.ranges[][].subnet"), the JSON type and bounds the
 * parser enforces, and the .help text written beside the key, so the help and the parser cannot
 * drift apart. A key without .help prints "(no description)" (tests/unit/test_version.sh fails
 * on it).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "about.h"
#include "cni.h"
#include "version.h" /* CNIC_VERSION, CNIC_COMMIT, CNIC_BUILD_DATE: build/gen/, the Makefile's */

static int flush_status(void)
{
	int err = 0;

	if (fflush(stdout) == EOF || ferror(stdout))
		err = errno ? errno : EIO;
	if (!err)
		return 0;
	fprintf(stderr, "writing to stdout: %s\n", strerror(err));
	return 1;
}

static void print_versions(FILE *f, int min_version)
{
	int first = min_version < 0 ? 0 : min_version;

	for (int v = first; v < CNI_V_COUNT; v++)
		fprintf(f, "%s%s", v > first ? ", " : "", cni_version_str(v));
}

int cni_print_version(const char *prog, int min_version)
{
	errno = 0;
	printf("%s (cnic) %s, commit %s, built %s\nCNI protocol versions supported: ", prog,
	       CNIC_VERSION, CNIC_COMMIT, CNIC_BUILD_DATE);
	print_versions(stdout, min_version);
	putchar('\n');
	return flush_status();
}

/* ---- --help ---------------------------------------------------------------------------------- */

static const char *const type_names[] = {
	[CNI_F_STR] = "string",
	[CNI_F_BOOL] = "boolean",
	[CNI_F_INT] = "integer",
	[CNI_F_I64] = "integer",
	[CNI_F_IP] = "IP address",
	[CNI_F_PREFIX] = "CIDR",
	[CNI_F_IPPREFIX] = "IP or CIDR",
	[CNI_F_STRV] = "strings",
	[CNI_F_OBJ] = "object",
	[CNI_F_ARRAY] = "array",
	[CNI_F_STRMAP] = "string map",
	[CNI_F_JSON] = "any JSON",
};

/* "array of array of object", "integer 0..65535, required": the type column of @f. */
static void type_text(const struct cni_field *f, char *buf, size_t len)
{
	size_t o = 0;

	buf[0] = '\0';
	while (f->type == CNI_F_ARRAY && f->sub && o < len) {
		o += (size_t)snprintf(buf + o, len - o, "array of ");
		f = f->sub;
	}
	if (o < len)
		o += (size_t)snprintf(buf + o, len - o, "%s",
				      (unsigned int)f->type < sizeof(type_names) / sizeof(type_names[0])
					      ? type_names[f->type]
					      : "?");
	if ((f->type == CNI_F_INT || f->type == CNI_F_I64) && f->min < f->max && o < len)
		o += (size_t)snprintf(buf + o, len - o, " %lld..%lld", f->min, f->max);
	if ((f->flags & CNI_FF_REQUIRED) && o < len)
		o += (size_t)snprintf(buf + o, len - o, ", required");
	if ((f->flags & CNI_FF_NONEMPTY) && o < len)
		snprintf(buf + o, len - o, ", non-empty");
}

struct help_walk {
	FILE *out; /* NULL: measure only */
	int wkey, wtype;
	int missing;
	int keys;
};

static void walk(struct help_walk *w, const struct cni_field *fields, const char *prefix,
		 int depth)
{
	char path[256], type[96];

	if (!fields || depth > 8)
		return;
	for (const struct cni_field *f = fields; f->key; f++) {
		const struct cni_field *elem = f;
		int n = snprintf(path, sizeof(path), "%s%s", prefix, f->key);

		type_text(f, type, sizeof(type));
		if (!w->out) {
			w->wkey = n > w->wkey ? n : w->wkey;
			w->wtype = (int)strlen(type) > w->wtype ? (int)strlen(type) : w->wtype;
			w->missing += !f->help || !*f->help;
			w->keys++;
		} else {
			fprintf(w->out, "  %-*s  %-*s  %s\n", w->wkey, path, w->wtype, type,
				f->help && *f->help ? f->help : "(no description)");
		}
		if (f->type == CNI_F_OBJ) {
			snprintf(path + n, sizeof(path) - (size_t)n, ".");
			walk(w, f->sub, path, depth + 1);
			continue;
		}
		/* an array's elements: "[]" per level, then the keys of an object element */
		while (elem->type == CNI_F_ARRAY && elem->sub && (size_t)n + 3 < sizeof(path)) {
			n += snprintf(path + n, sizeof(path) - (size_t)n, "[]");
			elem = elem->sub;
		}
		if (elem != f && elem->type == CNI_F_OBJ) {
			snprintf(path + n, sizeof(path) - (size_t)n, ".");
			walk(w, elem->sub, path, depth + 1);
		}
	}
}

int cni_help_fields(FILE *out, const struct cni_field *fields, const char *prefix, int *keys)
{
	struct help_walk w = {0};

	walk(&w, fields, prefix ? prefix : "", 0);
	if (keys)
		*keys = w.keys;
	w.out = out;
	if (out)
		walk(&w, fields, prefix ? prefix : "", 0);
	return w.missing;
}

int cni_print_help(const struct cni_plugin *p)
{
	errno = 0;
	printf("usage: %s   (run by a runtime: CNI_COMMAND and the other CNI_* variables set, the\n"
	       "       network configuration on stdin)\n"
	       "       %s --version | --help\n\n",
	       p->name, p->name);
	if (p->help)
		printf("%s\n\n", p->help);
	printf("Environment: CNI_COMMAND (ADD, DEL, CHECK, STATUS, GC, VERSION), CNI_CONTAINERID,\n"
	       "CNI_NETNS, CNI_IFNAME, CNI_ARGS, CNI_PATH. Without CNI_COMMAND: the versions spoken.\n");
	if (p->args_keys) {
		printf("CNI_ARGS keys read (any other is an error unless IgnoreUnknown=1):");
		for (const char *const *k = p->args_keys; *k; k++)
			printf(" %s", *k);
		putchar('\n');
	}
	printf("\nKeys of the network configuration (besides every plugin's cniVersion, name, type,\n"
	       "ipam.type, dns, prevResult and cni.dev/valid-attachments):\n");
	if (p->fields)
		cni_help_fields(stdout, p->fields, "", NULL);
	else
		printf("  (none)\n");
	printf("\nCNI protocol versions supported: ");
	print_versions(stdout, p->min_version);
	putchar('\n');
	return flush_status();
}
