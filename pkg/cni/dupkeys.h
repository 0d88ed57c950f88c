/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Duplicate keys in a configuration object. A JSON parser keeps the last of duplicate keys, so
 * they are invisible once a configuration is parsed; a plugin that must refuse them (tuning's
 * "duplicated sysctl keys are not allowed") asks here, on the configuration text itself.
 */
#ifndef CNI_DUPKEYS_H
#define CNI_DUPKEYS_H

#include <stddef.h>

/*
 * cni_json_dup_key() - the first key that occurs twice among the keys of the object member
 * @member of the top-level JSON object @json (@len bytes). @member matches as configuration keys
 * do (ASCII case-insensitively); when it occurs more than once, the keys of all its occurrences
 * count together (Go decodes them into one map). Keys are compared decoded and case-sensitively.
 * A member that is absent or not an object has no duplicates. Returns 1 with *@dup set (arena
 * text), 0 when there is none, -EINVAL when @json is not a well-formed JSON object.
 */
int cni_json_dup_key(const char *json, size_t len, const char *member, char **dup);

#endif
