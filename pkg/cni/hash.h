/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The hashes the reference plugins put into kernel object names and rule comments (chain names
 * "CNI-" + sha512(net+cid), nft masquerade comments, bandwidth IFB names): identical values let a
 * host move between the Go plugins and cnic without leaking or losing rules. SHA-512 from libmd.
 */
#ifndef CNI_HASH_H
#define CNI_HASH_H

#include <stddef.h>

/*
 * cni_sha512_hex() - the first @nhex lowercase hex digits of SHA-512 over the concatenation of
 * the NULL-terminated list of strings, written to @out (nhex + 1 bytes, NUL-terminated).
 * nhex is at most 128. Returns @out.
 */
char *cni_sha512_hex(char *out, size_t nhex, ...) __attribute__((sentinel));

#endif
