/* SPDX-License-Identifier: Apache-2.0 */
/*
 * firewalld over D-Bus (firewalld.c): whether firewalld runs, and the zone methods the reference's
 * "firewalld" backend calls. No kernel object and no JSON: firewalld changes its own rules at our
 * request. Functions return 0/1 or a negative errno with the text in @e.
 */
#ifndef FIREWALL_FIREWALLD_H
#define FIREWALL_FIREWALLD_H

#include "cni/err.h"

struct fwd;

enum fwd_method {
	FWD_ADD_SOURCE,	   /* addSource(zone, source) */
	FWD_REMOVE_SOURCE, /* removeSource(zone, source) */
	FWD_QUERY_SOURCE,  /* querySource(zone, source) */
};

/*
 * fwd_open() - connect to the system bus. 0 with *@b NULL: no system bus here (no socket where
 * DBUS_SYSTEM_BUS_ADDRESS's unix path or /run/dbus/system_bus_socket says; libsystemd is not
 * even loaded); 0 with *@b set: connected, release with fwd_close(); a negative errno with @e when
 * a bus is there but cannot be used (libsystemd.so.0 missing, connection refused).
 */
int fwd_open(struct fwd **b, struct cni_err *e);
void fwd_close(struct fwd *b);

/* fwd_running() - 1 when org.fedoraproject.FirewallD1 has an owner, 0 when not, <0 with @e. */
int fwd_running(struct fwd *b, struct cni_err *e);

/*
 * fwd_source() - call zone method @m for @src ("10.88.0.2/32") and @zone. Returns 1 (added,
 * removed, or query: bound), 0 (add: ZONE_ALREADY_SET; query: not bound), or a negative errno
 * with @e naming method, zone, source and the D-Bus error's name and message. After a timeout or
 * a broken connection every later call fails at once with the same error.
 */
int fwd_source(struct fwd *b, enum fwd_method m, const char *zone, const char *src,
	       struct cni_err *e);

#endif
