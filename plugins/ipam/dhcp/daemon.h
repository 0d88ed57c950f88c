/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The daemon's internals shared by daemon.c (event loop, unix socket, requests), client.c (one
 * DHCP client per attachment: RFC 2131 state machine, its packet socket made in the container's
 * netns by a short-lived helper thread) and store.c (one lease file per attachment, written
 * temp + fsync + rename). Times are CLOCK_BOOTTIME milliseconds (leases keep running while the
 * host sleeps); the store keeps wall-clock times, which survive a daemon restart.
 */
#ifndef DHCP_DAEMON_H
#define DHCP_DAEMON_H

#include "daemon/daemon.h"
#include "dhcp.h"

/* The kinds of the loop's events (struct dmn_ev of pkg/daemon). */
enum dhcp_ev_kind {
	DHCP_EV_LISTEN,
	DHCP_EV_SIGNAL,
	DHCP_EV_CONN,
	DHCP_EV_PKT,
	DHCP_EV_TIMER,
};

enum dhcp_state {
	DHCP_S_SELECTING,  /* DISCOVER sent, waiting for an OFFER */
	DHCP_S_REQUESTING, /* REQUEST for an offer sent, waiting for the ACK */
	DHCP_S_BOUND,	   /* lease held, no socket open, timer at T1 */
	DHCP_S_RENEWING,   /* T1 passed: unicast REQUEST to the server */
	DHCP_S_REBINDING,  /* T2 passed: broadcast REQUEST */
};

struct dhcp_conn;

struct dhcp_client {
	struct dhcp_client *next;
	char cid[256], network[256], ifname[16], netns[4096];
	char file[80]; /* lease file name in the state dir */
	uint8_t client_id[255];
	size_t client_id_len;
	uint8_t req_opts[255];
	size_t n_req_opts;
	struct dhcp_provide provide[DHCP_MAX_PROVIDE];
	size_t n_provide;
	bool broadcast;
	uint32_t timeout_ms, resend_max_ms, resend_timeout_ms;

	enum dhcp_state state;
	struct dmn_ev pkt_ev, timer_ev;
	int pkt_fd; /* AF_PACKET socket in the container netns; -1 while bound */
	int timer_fd;
	int ifindex;
	uint8_t mac[6];
	uint32_t xid;
	long long xid_start;  /* when this exchange began */
	long long interval;   /* current retransmission interval */
	long long deadline;   /* ADD: answer the waiter by then */
	long long give_up;    /* background re-acquisition ends here (0: none) */
	int tries;	      /* REQUESTs sent for the current offer */
	struct dhcp_conn *waiter; /* the ADD waiting for this client, if any */

	uint8_t offered[4], offer_server[4];
	bool have_lease, lost;
	struct dhcp_lease_info lease;
	uint8_t server_id[4], server_mac[6];
	uint32_t t1_secs, t2_secs;
	long long acquired;	 /* boottime ms the lease's clock started */
	long long acquired_wall; /* the same instant, wall-clock ms */
};

/* ---- daemon.c ---------------------------------------------------------------------------------*/
extern int dhcp_epfd;
extern const char *dhcp_hostprefix;
extern const char *dhcp_statedir;
long long dhcp_boot_ms(void);
long long dhcp_wall_ms(void);
void dhcp_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Answer the waiting ADD of @c (lease on success, else @err and @msg) and detach it. */
void dhcp_answer(struct dhcp_client *c, int err, const char *msg);

/* ---- client.c ---------------------------------------------------------------------------------*/
/* A new client (not started) from an ADD request; NULL on out-of-memory or no timerfd. */
struct dhcp_client *dhcp_client_new(const struct dhcp_request *rq, uint32_t def_timeout,
				    uint32_t def_resend_max, uint32_t def_resend_timeout,
				    bool def_broadcast);
/* Start acquiring: open the socket in the netns, send DISCOVER. 0 or -errno with @msg. */
int dhcp_client_start(struct dhcp_client *c, char *msg, size_t msglen);
/* Resume a loaded lease: the timer fires at once and decides between bound/renew/rebind/lost. */
int dhcp_client_resume(struct dhcp_client *c);
void dhcp_client_on_packet(struct dhcp_client *c);
void dhcp_client_on_timer(struct dhcp_client *c);
/* DEL: send DHCPRELEASE when a lease is held and the interface still exists. Never fails. */
void dhcp_client_release(struct dhcp_client *c);
/* Close the client's fds and free it (does not touch the store or the list). */
void dhcp_client_free(struct dhcp_client *c);
/* Remove the client from the daemon list, its lease file, and free it. */
void dhcp_client_forget(struct dhcp_client *c, const char *why);
/* A lease is live: held and not expired. */
bool dhcp_client_live(const struct dhcp_client *c);

/* ---- daemon.c: the client list --------------------------------------------------------------- */
extern struct dhcp_client *dhcp_clients;
void dhcp_client_unlink(struct dhcp_client *c);

/* ---- store.c ----------------------------------------------------------------------------------*/
/* The lease file name of an attachment ("<hash>.lease") into c->file. */
void dhcp_store_name(struct dhcp_client *c);
/* Write @c's lease atomically. 0 or -errno (logged by the caller). */
int dhcp_store_save(const struct dhcp_client *c);
/* Remove @c's lease file; a missing file is success. */
int dhcp_store_remove(const struct dhcp_client *c);
/* Load every lease file of the state dir, calling @fn for each client made from one. */
int dhcp_store_load(void (*fn)(struct dhcp_client *c));

#endif
