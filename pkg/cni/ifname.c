// SPDX-License-Identifier: Apache-2.0
/*
 * The one rule for interface names, shared by every layer that takes one: the dispatcher
 * (CNI_IFNAME), pkg/netutil (every link name it is given), host-local's store (the owner of a
 * reservation) and GC's attachment matching. A name accepted here must be accepted by each of
 * them and by the kernel, or state is created that DEL cannot find again.
 *
 * The union of
 * - the reference (containernetworking/plugins pkg/utils ValidateInterfaceName, called by the
 *   skel): not empty, at most 15 bytes, not "." or "..", no '/', ':' or unicode.IsSpace rune
 *   (ASCII whitespace, U+0085, U+00A0, U+1680, U+2000-U+200A, U+2028, U+2029, U+202F, U+205F,
 *   U+3000), all code 4 "invalid environment variables";
 * - the kernel (dev_valid_name()): its isspace() is Latin-1, so a byte 0xa0 anywhere (NBSP's
 *   second byte, 'à' = c3 a0 too) makes it refuse the name;
 * - control characters (C0, DEL, C1 as UTF-8): the kernel takes them, but they break the line
 *   formats of host-local's index and the dhcp lease files.
 * Bytes that are not valid UTF-8 are accepted, as by the reference (Go decodes them to U+FFFD).
 * No jansson here: netutil links this file.
 */
#include <string.h>

#include "cni/cni.h"

/* True when @p starts a unicode.IsSpace rune beyond ASCII (as UTF-8). */
static bool wide_space(const unsigned char *p)
{
	if (p[0] == 0xc2 && (p[1] == 0x85 || p[1] == 0xa0)) /* U+0085 NEL, U+00A0 NBSP */
		return true;
	if (p[0] == 0xe1 && p[1] == 0x9a && p[2] == 0x80) /* U+1680 */
		return true;
	if (p[0] == 0xe2 && p[1] == 0x80 &&
	    ((p[2] >= 0x80 && p[2] <= 0x8a) || p[2] == 0xa8 || p[2] == 0xa9 || p[2] == 0xaf))
		return true; /* U+2000-U+200A, U+2028, U+2029, U+202F */
	if (p[0] == 0xe2 && p[1] == 0x81 && p[2] == 0x9f) /* U+205F */
		return true;
	if (p[0] == 0xe3 && p[1] == 0x80 && p[2] == 0x80) /* U+3000 */
		return true;
	return false;
}

const char *cni_ifname_problem(const char *name)
{
	size_t len = name ? strlen(name) : 0;

	if (!len)
		return "interface name is empty";
	if (len > CNI_IFNAME_MAX)
		return "interface name is too long";
	if (!strcmp(name, ".") || !strcmp(name, ".."))
		return "interface name is . or ..";
	for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
		/* a lead byte never hides in a continuation: matching bytes is decoding runes */
		if (*p == '/' || *p == ':' || *p == ' ' || (*p >= '\t' && *p <= '\r') || *p == 0xa0 ||
		    wide_space(p))
			return "interface name contains / or : or whitespace characters";
		if (*p < 0x20 || *p == 0x7f || (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f))
			return "interface name contains control characters";
	}
	return NULL;
}

bool cni_ifname_valid(const char *name)
{
	return !cni_ifname_problem(name);
}
