/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pkg/cni internals shared between its files: the jansson side of the schema parser and of the
 * result codecs. Never included outside pkg/cni.
 */
#ifndef CNI_INTERNAL_H
#define CNI_INTERNAL_H

#include <jansson.h>

#include "cni.h"

/* Bound on stdin and on a delegate's stdout. */
#define CNI_MAX_INPUT (4u << 20)

/* Object member by key: exact match first, then ASCII case-insensitive (Go's rule). */
json_t *cni_json_get(json_t *obj, const char *key);

/* Fill @dst from object @obj with @fields; @path names the object in messages ("" = top). */
int cni_fields_parse(json_t *obj, const struct cni_field *fields, void *dst, const char *path,
		     struct cni_err *e);

json_t *cni_dns_to_json(const struct cni_dns *d);
/* A route as the spec writes it: "dst" and "gw"; with @full, mtu, advmss, priority, table, scope. */
json_t *cni_route_to_json(const struct cni_route *rt, bool full);

/* Load JSON text; on error fills e with CNI_ERR_DECODE and @what as prefix. */
json_t *cni_json_load(const char *text, size_t len, const char *what, struct cni_err *e);

/* Arena copy of json_dumps() output. */
char *cni_json_dump(json_t *v, size_t flags);

struct cni_result *cni_result_from_json(json_t *root, struct cni_err *e);

/* The dispatcher's two halves, shared with in-process delegation (delegate.c). */
int cni__load_conf(struct cni_ctx *ctx, struct cni_err *e);
int cni__run_verb(struct cni_ctx *ctx, char **text, struct cni_err *e);

/* True when the executable at @path was built from the same cnic sources as this process. */
bool cni__same_suite(const char *path);

#endif
