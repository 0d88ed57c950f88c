/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Not yet moved (#17): the DNS codec lives in pkg/wire/dns_wire.h. The dnsname plugin and daemon
 * still include it by this old path; the next wave points them at "wire/dns_wire.h" and deletes
 * this file. Add nothing here.
 */
#include "wire/dns_wire.h"
