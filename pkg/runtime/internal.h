/* SPDX-License-Identifier: Apache-2.0 */
/* What the files of pkg/runtime share; not installed. */
#ifndef CNIC_RUNTIME_INTERNAL_H
#define CNIC_RUNTIME_INTERNAL_H

#include <jansson.h>

#include "runtime/cnic-runtime.h"

struct cnr_list {
	char *name;
	char *version;
	char *file;
	bool disable_check, disable_gc, load_only_inlined;
	json_t *plugins; /* array of plugin objects */
	char *bytes;	 /* cached as "config" */
	size_t nbytes;
};

__attribute__((format(printf, 4, 5))) int cnr_fail(struct cnr_err *e, int err, int code,
						     const char *fmt, ...);

/* Compare two "x.y.z" versions: <0, 0, >0; -2 in *bad when one does not parse. */
int cnr_version_cmp(const char *a, const char *b, bool *bad);

/* Run one plugin: @verb with @stdin_json; stdout into *out (malloc'd, NUL-terminated). */
int cnr_exec(const struct cnr_list *l, size_t idx, const char *verb, const char *stdin_json,
	     const struct cnr_rt *rt, char **out, struct cnr_err *e);

/* The paths of the entries of @dir ending in one of @exts (NULL: all), sorted, no directories;
 * a missing @dir has none; a listing that fails part way is an error (-errno). Release with
 * cnr_free_files(). */
int cnr_dir_files(const char *dir, const char *const *exts, char ***out, size_t *n);
void cnr_free_files(char **v, size_t n);

/* A parse that failed for want of memory, not for bad JSON (jansson leaves the error empty, line
 * -1, when an allocation fails inside its lexer). */
static inline bool cnr_json_oom(const json_error_t *je)
{
	return json_error_code(je) == json_error_out_of_memory || !je->text[0];
}

/* The whole file at @path, NUL-terminated (its length in *len), or NULL with -errno in *err. */
char *cnr_read_file(const char *path, size_t *len, int *err);

/* base64 (Go's StdEncoding, padded) of @len bytes; decode returns the length or -1. */
char *cnr_b64_encode(const unsigned char *p, size_t len);
long cnr_b64_decode(const char *s, unsigned char *out, size_t size);

#endif
