/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Rendering a delegate's configuration: a meta plugin (flannel, and later tuning or portmap
 * when they call another plugin) builds the JSON it hands to its delegate from the incoming
 * configuration text plus overrides given as plain C values, so that JSON stays in pkg/cni.
 *
 * A struct cni_render holds two documents: the input (the plugin's own stdin, read-only, the
 * source of copies) and the document being built (empty, a member of the input, or a saved text).
 * Keys of the built document are matched exactly, as Go's map[string]interface{} does for the
 * maps a reference meta plugin edits ("delegate", "ipam"); keys looked up in the input are
 * configuration fields and match like them (exact first, then case-insensitive). Operations
 * address a key at the top level (obj NULL) or inside one top-level object member (obj "ipam"),
 * which set operations create when absent. Output is compact with sorted keys: byte for byte what
 * Go's json.Marshal writes for a map. Nothing here touches the kernel or the filesystem.
 */
#ifndef CNI_RENDER_H
#define CNI_RENDER_H

#include <stdbool.h>
#include <stddef.h>

#include "cni.h"

struct cni_render;

/* What a key holds in the built document (ABSENT when the key or its object is missing). */
enum cni_render_kind {
	CNI_RK_ABSENT,
	CNI_RK_NULL,
	CNI_RK_STRING,
	CNI_RK_BOOL,
	CNI_RK_NUMBER,
	CNI_RK_OBJECT,
	CNI_RK_ARRAY,
};

enum {
	/* Set only when the key is absent (a null counts as present: Go's hasKey). */
	CNI_RENDER_IF_ABSENT = 1 << 0,
	/* Copy: the input's value must be an object (or null). */
	CNI_RENDER_OBJECT = 1 << 1,
};

/*
 * cni_render_new() - a renderer over the input configuration @input (@len bytes, a JSON object),
 * with an empty document. Returns 0 and *@out (free with cni_render_free()), or a negative errno
 * with @e filled (CNI_ERR_DECODE for bad JSON).
 */
int cni_render_new(struct cni_render **out, const char *input, size_t len, struct cni_err *e);
void cni_render_free(struct cni_render *r);
static inline void cni_render_freep(struct cni_render **r)
{
	cni_render_free(*r);
}
#define _cni_render_cleanup_ __attribute__((cleanup(cni_render_freep)))

/*
 * cni_render_base() - the document becomes a deep copy of the input's member @key (e.g.
 * "delegate"); absent or null gives {}. A non-object is CNI_ERR_DECODE naming the key.
 * Returns 0 or a negative errno.
 */
int cni_render_base(struct cni_render *r, const char *key, struct cni_err *e);

/* cni_render_load() - the document becomes the JSON object @text (a saved rendering). */
int cni_render_load(struct cni_render *r, const char *text, size_t len, struct cni_err *e);

/* Queries on the built document; obj NULL is the top level. */
enum cni_render_kind cni_render_kind(const struct cni_render *r, const char *obj, const char *key);
/* An arena copy of a string value, NULL when absent or not a string. */
char *cni_render_str(const struct cni_render *r, const char *obj, const char *key);
/* The kind of the input's member @key (configuration-field matching). */
enum cni_render_kind cni_render_input_kind(const struct cni_render *r, const char *key);

/*
 * Setters: obj.key = value, replacing what is there unless CNI_RENDER_IF_ABSENT is given.
 * obj is created as {} when absent; an obj that holds something else is CNI_ERR_INVALID_CONFIG.
 * Return 1 when the value was set, 0 when IF_ABSENT kept an existing one, or a negative errno.
 */
int cni_render_set_str(struct cni_render *r, const char *obj, const char *key, const char *v,
		       unsigned int flags, struct cni_err *e);
int cni_render_set_bool(struct cni_render *r, const char *obj, const char *key, bool v,
			unsigned int flags, struct cni_err *e);
int cni_render_set_int(struct cni_render *r, const char *obj, const char *key, long long v,
		       unsigned int flags, struct cni_err *e);
/* A prefix as its canonical "addr/len" text (host bits kept as given). */
int cni_render_set_prefix(struct cni_render *r, const char *obj, const char *key,
			  const struct cni_prefix *v, unsigned int flags, struct cni_err *e);
/* Any JSON value given as text (CNI_ERR_DECODE when it does not parse). */
int cni_render_set_json(struct cni_render *r, const char *obj, const char *key, const char *json,
			unsigned int flags, struct cni_err *e);

/*
 * cni_render_copy() - obj.key = a deep copy of the input's member @from. An absent or null input
 * member leaves the document alone (returns 0); with CNI_RENDER_OBJECT a non-object is
 * CNI_ERR_DECODE. Returns 1 when copied, 0 when not, or a negative errno.
 */
int cni_render_copy(struct cni_render *r, const char *obj, const char *key, const char *from,
		    unsigned int flags, struct cni_err *e);

/* cni_render_remove() - delete obj.key if present. Returns 1 when removed, else 0. */
int cni_render_remove(struct cni_render *r, const char *obj, const char *key);

/*
 * cni_render_set_ranges() - obj.key = host-local range sets, one set of one range per subnet:
 * [[{"subnet": s0}], [{"subnet": s1}], ...]. Returns as the setters.
 */
int cni_render_set_ranges(struct cni_render *r, const char *obj, const char *key,
			  const struct cni_prefix *subnets, size_t n, unsigned int flags,
			  struct cni_err *e);

/*
 * cni_render_append_routes() - obj.key = the routes already there (absent or null: none; each
 * must be an object with a valid "dst" prefix and an optional valid "gw", and is kept verbatim)
 * followed by @routes, each written as {"dst", "gw" when set, "mtu"/"advmss"/"priority" when not
 * 0, "table"/"scope" when not -1}. A bad existing list is CNI_ERR_DECODE naming obj.key and the
 * entry. Returns 0 or a negative errno.
 */
int cni_render_append_routes(struct cni_render *r, const char *obj, const char *key,
			     const struct cni_route *routes, size_t n, struct cni_err *e);

/* cni_render_text() - the document as compact JSON with sorted keys, in the arena. */
char *cni_render_text(const struct cni_render *r);

#endif
