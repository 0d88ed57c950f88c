// SPDX-License-Identifier: Apache-2.0
/*
 * SHA-512 text digests over concatenated strings (libmd).
 */
#include <stdarg.h>
#include <stdint.h>
#include <string.h>
#include <sha512.h>

#include "hash.h"

char *cni_sha512_hex(char *out, size_t nhex, ...)
{
	static const char hex[] = "0123456789abcdef";
	uint8_t digest[SHA512_DIGEST_LENGTH];
	SHA2_CTX ctx;
	const char *s;
	va_list ap;

	SHA512Init(&ctx);
	va_start(ap, nhex);
	while ((s = va_arg(ap, const char *)))
		SHA512Update(&ctx, (const uint8_t *)s, strlen(s));
	va_end(ap);
	SHA512Final(digest, &ctx);
	if (nhex > 2 * sizeof(digest))
		nhex = 2 * sizeof(digest);
	for (size_t i = 0; i < nhex; i++)
		out[i] = hex[(digest[i / 2] >> (i % 2 ? 0 : 4)) & 0xf];
	out[nhex] = '\0';
	return out;
}
