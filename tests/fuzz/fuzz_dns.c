// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer harness for the DNS wire codec (pkg/wire/dns_wire.c), the parser of every byte a
 * container or an upstream sends to the dnsname daemon: message parsing with EDNS, every name in
 * the message read with compression, lower-case text and reverse-name conversion, and a reply
 * written from what was parsed, which must parse back to the same question.
 * Build: clang -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -Ipkg \
 *        tests/fuzz/fuzz_dns.c pkg/wire/dns_wire.c -o fuzz_dns
 * Corpus: tests/fuzz/corpus/dns/
 * FUZZ_SRC: pkg/wire/dns_wire.c
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wire/dns_wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dns_msg m, back;
	struct dns_name n;
	char text[DNS_TEXT_MAX];
	uint8_t out[DNS_EDNS_CAP], addr[16];
	struct dns_writer w;
	int len;

	if (dns_msg_parse(data, size, true, &m))
		return 0;
	/* every offset may be where a name starts */
	for (size_t off = DNS_HDR_LEN; off < size && off < 600; off++) {
		size_t o = off;

		if (!dns_name_read(data, size, &o, &n)) {
			if (o <= off || o > size)
				abort();
			dns_name_to_lower_text(&n, text);
			dns_arpa_parse(&n, addr);
		}
	}
	if (!m.q_end)
		return 0;
	if (dns_name_to_lower_text(&m.qname, text) >= 0) {
		struct dns_name again;

		if (!dns_name_from_text(text, &again) && !dns_name_eq(&again, &m.qname))
			abort();
	}
	dns_arpa_parse(&m.qname, addr);
	dns_w_init(&w, out, dns_udp_limit(&m), m.id, DNS_F_QR | DNS_F_AA);
	dns_w_question(&w, &m.qname, m.qtype, m.qclass);
	dns_w_rr(&w, DNS_SEC_AN, NULL, DNS_HDR_LEN, DNS_T_A, DNS_C_IN, 0, "\x0a\0\0\x01", 4);
	dns_w_soa(&w, DNS_SEC_NS, &m.qname, 0, 1);
	if (m.edns)
		dns_w_opt(&w, DNS_EDNS_CAP, m.rcode, false);
	len = dns_w_finish(&w);
	if (len > (int)dns_udp_limit(&m))
		abort();
	if (len > 0) {
		if (dns_msg_parse(out, (size_t)len, true, &back) || back.rcode ||
		    !dns_name_eq(&back.qname, &m.qname) || back.qtype != m.qtype)
			abort();
	}
	return 0;
}
