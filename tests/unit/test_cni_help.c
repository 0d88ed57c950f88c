// SPDX-License-Identifier: Apache-2.0
/*
 * --help's key lines (pkg/cni/about.c, cni_help_fields()) from a table of every shape the plugins
 * use: nested objects with their path, arrays of objects ("[]."), arrays of arrays of objects
 * ("[][]."), arrays of scalars (one line, "array of <type>"), bounds and the required flag in the
 * type column; a key without .help is counted and printed as "(no description)".
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cni/cni.h"
#include "tap.h"

struct inner {
	int port;
};
struct conf {
	char *name;
	int mtu;
	struct cni_vec list, sets, ips;
	struct {
		char *mac;
	} rc;
};

static const struct cni_field inner_fields[] = {
	CNI_FIELD("port", struct inner, CNI_F_INT, port, .min = 1, .max = 65535,
		  .flags = CNI_FF_REQUIRED, .help = "a port"),
	CNI_FIELD_END,
};
static const struct cni_field inner_elem = {.type = CNI_F_OBJ, .sub = inner_fields};
static const struct cni_field set_elem = {.type = CNI_F_ARRAY, .sub = &inner_elem,
					  .elem_size = sizeof(struct inner)};
static const struct cni_field ip_elem = {.type = CNI_F_IP};
static const struct cni_field rc_fields[] = {
	{.key = "mac", .type = CNI_F_STR, .help = "a MAC"},
	CNI_FIELD_END,
};
static const struct cni_field fields[] = {
	CNI_FIELD("name", struct conf, CNI_F_STR, name, .help = "a name"),
	CNI_FIELD("mtu", struct conf, CNI_F_INT, mtu, .min = 0, .max = 9000, .help = "an MTU"),
	CNI_FIELD("list", struct conf, CNI_F_ARRAY, list, .sub = &inner_elem,
		  .elem_size = sizeof(struct inner), .help = "a list"),
	CNI_FIELD("sets", struct conf, CNI_F_ARRAY, sets, .sub = &set_elem,
		  .elem_size = sizeof(struct cni_vec), .help = "sets"),
	CNI_FIELD("ips", struct conf, CNI_F_ARRAY, ips, .sub = &ip_elem,
		  .elem_size = sizeof(struct cni_ip)), /* no help: counted */
	CNI_FIELD("runtimeConfig", struct conf, CNI_F_OBJ, rc, .sub = rc_fields, .help = ""),
	CNI_FIELD_END,
};

/* The line of @path in @text, copied into @line; false when there is none. */
static bool line_of(const char *text, const char *path, char *line, size_t len)
{
	char want[128];
	const char *end;

	snprintf(want, sizeof(want), "  %s ", path);
	for (const char *p = text; *p; p = end + 1) {
		end = strchr(p, '\n');
		if (!end)
			end = p + strlen(p) - 1;
		if (!strncmp(p, want, strlen(want))) {
			snprintf(line, len, "%.*s", (int)(end - p + (*end != '\n')), p);
			return true;
		}
	}
	return false;
}

/* @path's line has @type and then @help, in that order, separated by blanks. */
static void check_line(const char *text, const char *path, const char *type, const char *help)
{
	char line[512], name[160];
	const char *t, *h;

	snprintf(name, sizeof(name), "%s: %s, %s", path, type, help);
	if (!line_of(text, path, line, sizeof(line))) {
		TAP_FAIL(name, "no line in:\n%s", text);
		return;
	}
	t = strstr(line + 2 + strlen(path), type);
	h = t ? strstr(t + strlen(type), help) : NULL;
	if (t && h && !strcmp(h, help))
		TAP_OK(name);
	else
		TAP_FAIL(name, "got \"%s\"", line);
}

int main(void)
{
	char buf[8192] = "";
	int keys = -1, missing;
	FILE *f = fmemopen(buf, sizeof(buf) - 1, "w");

	if (!f) {
		TAP_FAIL("fmemopen", "%s", strerror(errno));
		return tap_done();
	}
	missing = cni_help_fields(f, fields, "ipam.", &keys);
	fclose(f);
	CHECK_INT(missing, 2);
	/* name, mtu, list, list[].port, sets, sets[][].port, ips, runtimeConfig, runtimeConfig.mac */
	CHECK_INT(keys, 9);
	check_line(buf, "ipam.name", "string", "a name");
	check_line(buf, "ipam.mtu", "integer 0..9000", "an MTU");
	check_line(buf, "ipam.list", "array of object", "a list");
	check_line(buf, "ipam.list[].port", "integer 1..65535, required", "a port");
	check_line(buf, "ipam.sets", "array of array of object", "sets");
	check_line(buf, "ipam.sets[][].port", "integer 1..65535, required", "a port");
	check_line(buf, "ipam.ips", "array of IP address", "(no description)");
	check_line(buf, "ipam.runtimeConfig", "object", "(no description)");
	check_line(buf, "ipam.runtimeConfig.mac", "string", "a MAC");
	CHECK(strstr(buf, "ipam.ips[]") == NULL);
	/* one line per key, columns aligned: every type starts in the same column */
	{
		int lines = 0, col = -1, same = 1;

		for (const char *p = buf; *p; p = strchr(p, '\n') + 1) {
			const char *sp = strstr(p + 2, "  ");
			int c;

			while (sp && sp[0] == ' ')
				sp++;
			c = sp ? (int)(sp - p) : -1;
			same &= col < 0 || c == col;
			col = c;
			lines++;
			if (!strchr(p, '\n'))
				break;
		}
		CHECK_INT(lines, 9);
		CHECK(same);
	}
	/* counting only */
	CHECK_INT(cni_help_fields(NULL, fields, NULL, &keys), 2);
	CHECK_INT(keys, 9);
	CHECK_INT(cni_help_fields(NULL, rc_fields, NULL, &keys), 0);
	CHECK_INT(keys, 1);
	return tap_done();
}
