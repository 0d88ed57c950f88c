// SPDX-License-Identifier: Apache-2.0
/*
 * One DHCP client per attachment, RFC 2131: SELECTING -> REQUESTING -> BOUND, renew at T1 by
 * unicast, rebind at T2 by broadcast, at expiry the address is removed from the interface and the
 * lease re-acquired in the background for resendTimeout. Its client-id is
 * "<containerID>/<network>/<ifname>" (type 0, as the reference), so every attachment is its own
 * client even when MACs are shared (ipvlan).
 *
 * Sockets: an AF_PACKET SOCK_DGRAM socket bound to the interface, made inside the container's
 * netns by a short-lived helper thread (the event loop never setns()). It receives the server's
 * replies whatever their destination (unicast to an address the interface does not have yet,
 * broadcast), so the broadcast flag is not needed; several clients in one netns never fight over
 * UDP port 68; and it needs no address on the interface. We build IPv4+UDP ourselves
 * (dhcp_wire.c): broadcast to ff:ff:ff:ff:ff:ff, unicast (renew, release) to the MAC the server's
 * last reply came from. While bound the socket is closed: no fd pins the container's netns, and a
 * vanished netns or interface is noticed at T1 and the lease forgotten.
 * Kernel objects: the interface is set up if down (ADD); on lease loss the address is removed;
 * after a background re-acquisition it is added again.
 */
#include <errno.h>
#include <fcntl.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <linux/filter.h>
#include <linux/if_packet.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "daemon.h"
#include "netutil/netutil.h"

#define DHCP_RETRY_FIRST_MS 1000
#define DHCP_RENEW_MIN_MS 5000 /* RFC 2131 §4.4.5 says 60 s; short test leases need less */
#define DHCP_INFINITE (1LL << 60)

static const uint8_t dhcp_bcast_mac[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
static const uint8_t dhcp_bcast_ip[4] = {255, 255, 255, 255};
static const uint8_t dhcp_zero_ip[4];

/* ---- work inside the container netns, on a helper thread ------------------------------------ */

enum dhcp_job_kind {
	DHCP_JOB_OPEN,	   /* look up the link (set it up if asked), make the packet socket */
	DHCP_JOB_ADDR_DEL, /* remove the lease's address */
	DHCP_JOB_ADDR_ADD, /* add it back */
};

struct dhcp_job {
	enum dhcp_job_kind kind;
	const char *netns, *ifname;
	bool set_up;
	struct cni_prefix addr;
	/* out */
	int r;
	int fd, ifindex;
	uint8_t mac[6];
	struct cni_err e;
};

/* Replies to the client port only, not fragments: offsets from the IP header (SOCK_DGRAM). */
static struct sock_filter dhcp_bpf[] = {
    BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 9),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 17, 0, 5),
    BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 6),
    BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, 0x1fff, 3, 0),
    BPF_STMT(BPF_LDX | BPF_B | BPF_MSH, 0),
    BPF_STMT(BPF_LD | BPF_H | BPF_IND, 2),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, NU_DHCP_CLIENT_PORT, 1, 0),
    BPF_STMT(BPF_RET | BPF_K, 0),
    BPF_STMT(BPF_RET | BPF_K, 0xffff),
};

static int dhcp_job_open(struct dhcp_job *j)
{
	_nu_nl_cleanup_ struct nu_nl *nl = NULL;
	struct sock_fprog prog = {.len = sizeof(dhcp_bpf) / sizeof(dhcp_bpf[0]), .filter = dhcp_bpf};
	struct sockaddr_ll sll = {.sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_IP)};
	struct nu_link_info li;
	int r, fd;

	r = nu_nl_open(&nl, -1, &j->e);
	if (r)
		return r;
	r = nu_link_get(nl, j->ifname, 0, &li, &j->e);
	if (r)
		return r;
	if (li.mac_len != 6)
		return cni_fail(&j->e, -EOPNOTSUPP, 0, "interface %s has no Ethernet address",
				j->ifname);
	if (j->set_up && !(li.flags & IFF_UP)) {
		r = nu_link_set_up(nl, li.ifindex, &j->e);
		if (r)
			return r;
	}
	/* Protocol 0 until the filter is attached: nothing unfiltered is queued meanwhile. */
	fd = socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return cni_fail(&j->e, -errno, 0, "packet socket: %s", strerror(errno));
	sll.sll_ifindex = li.ifindex;
	if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)) < 0 ||
	    bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
		r = -errno;
		close(fd);
		return cni_fail(&j->e, r, 0, "packet socket on %s: %s", j->ifname, strerror(-r));
	}
	j->fd = fd;
	j->ifindex = li.ifindex;
	memcpy(j->mac, li.mac, 6);
	return 0;
}

static int dhcp_job_addr(struct dhcp_job *j)
{
	_nu_nl_cleanup_ struct nu_nl *nl = NULL;
	int r, idx;

	r = nu_nl_open(&nl, -1, &j->e);
	if (r)
		return r;
	idx = nu_link_index(nl, j->ifname);
	if (idx < 0)
		return cni_fail(&j->e, idx, 0, "interface %s: %s", j->ifname, strerror(-idx));
	if (j->kind == DHCP_JOB_ADDR_DEL)
		return nu_addr_del(nl, idx, &j->addr, &j->e);
	r = nu_addr_add(nl, idx, &j->addr, &j->e);
	return r == -EEXIST ? 0 : r;
}

static void *dhcp_job_thread(void *arg)
{
	struct dhcp_job *j = arg;
	int fd;

	/* non-blocking, and only a file of nsfs or procfs: a FIFO must not hang the loop */
	j->r = nu_netns_open(j->netns, &fd, &j->e);
	if (j->r)
		return NULL;
	/* Only this helper thread changes netns; it ends right after. */
	if (setns(fd, CLONE_NEWNET) < 0) {
		j->r = cni_fail(&j->e, -errno, 0, "entering netns %s: %s", j->netns,
				strerror(errno));
		close(fd);
		return NULL;
	}
	close(fd);
	j->r = j->kind == DHCP_JOB_OPEN ? dhcp_job_open(j) : dhcp_job_addr(j);
	return NULL;
}

static int dhcp_job_run(struct dhcp_client *c, struct dhcp_job *j)
{
	char path[8192];
	pthread_t t;
	int r;

	snprintf(path, sizeof(path), "%s%s", dhcp_hostprefix, c->netns);
	j->netns = path;
	j->ifname = c->ifname;
	j->fd = -1;
	r = pthread_create(&t, NULL, dhcp_job_thread, j);
	if (r)
		return cni_fail(&j->e, -r, 0, "helper thread: %s", strerror(r));
	pthread_join(t, NULL);
	return j->r;
}

/* ---- client lifecycle ------------------------------------------------------------------------ */

static uint32_t dhcp_rand32(void)
{
	uint32_t v;

	if (getrandom(&v, sizeof(v), GRND_NONBLOCK) != sizeof(v))
		v = (uint32_t)dhcp_boot_ms() * 2654435761u;
	return v;
}

struct dhcp_client *dhcp_client_new(const struct dhcp_request *rq, uint32_t def_timeout,
				    uint32_t def_resend_max, uint32_t def_resend_timeout,
				    bool def_broadcast)
{
	struct dhcp_client *c = calloc(1, sizeof(*c));
	int n;

	if (!c)
		return NULL;
	c->pkt_fd = -1;
	c->timer_fd = timerfd_create(CLOCK_BOOTTIME, TFD_CLOEXEC | TFD_NONBLOCK);
	if (c->timer_fd < 0) {
		free(c);
		return NULL;
	}
	c->pkt_ev = (struct dmn_ev){.kind = DHCP_EV_PKT, .owner = c};
	c->timer_ev = (struct dmn_ev){.kind = DHCP_EV_TIMER, .owner = c};
	/* an unwatched timer never fires: no retry, no timeout, no renewal */
	if (epoll_ctl(dhcp_epfd, EPOLL_CTL_ADD, c->timer_fd,
		      &(struct epoll_event){.events = EPOLLIN, .data.ptr = &c->timer_ev})) {
		close(c->timer_fd);
		free(c);
		return NULL;
	}

	strcpy(c->cid, rq->cid);
	strcpy(c->network, rq->network);
	strcpy(c->ifname, rq->ifname);
	strcpy(c->netns, rq->netns);
	memcpy(c->req_opts, rq->req_opts, rq->n_req_opts);
	c->n_req_opts = rq->n_req_opts;
	c->broadcast = rq->broadcast || def_broadcast;
	c->timeout_ms = rq->timeout_ms ? rq->timeout_ms : def_timeout;
	c->resend_max_ms = rq->resend_max_ms ? rq->resend_max_ms : def_resend_max;
	c->resend_timeout_ms = rq->resend_timeout_ms ? rq->resend_timeout_ms : def_resend_timeout;

	/* Type 0 and "<cid>/<network>/<ifname>" cut to 254 bytes, unless provided explicitly. */
	n = snprintf((char *)c->client_id + 1, sizeof(c->client_id) - 1, "%s/%s/%s", rq->cid,
		     rq->network, rq->ifname);
	c->client_id[0] = 0;
	c->client_id_len = 1 + (n < 0 ? 0 : (size_t)n > 253 ? 253 : (size_t)n);
	for (size_t i = 0; i < rq->n_provide; i++) {
		const struct dhcp_provide *p = &rq->provide[i];

		if (p->code == NU_DHCP_OPT_CLIENT_ID && p->len) {
			memcpy(c->client_id, p->data, p->len);
			c->client_id_len = p->len;
		} else if (c->n_provide < DHCP_MAX_PROVIDE) {
			c->provide[c->n_provide++] = *p;
		}
	}
	dhcp_store_name(c);
	return c;
}

void dhcp_client_free(struct dhcp_client *c)
{
	if (!c)
		return;
	if (c->pkt_fd >= 0)
		close(c->pkt_fd);
	if (c->timer_fd >= 0)
		close(c->timer_fd);
	free(c);
}

void dhcp_client_forget(struct dhcp_client *c, const char *why)
{
	if (why)
		dhcp_log("%s/%s/%s: %s; lease forgotten", c->cid, c->network, c->ifname, why);
	if (c->waiter)
		dhcp_answer(c, EIO, why ? why : "lease forgotten");
	dhcp_store_remove(c);
	dhcp_client_unlink(c);
	dhcp_client_free(c);
}

bool dhcp_client_live(const struct dhcp_client *c)
{
	return c->have_lease && !c->lost &&
	       (c->state == DHCP_S_BOUND || c->state == DHCP_S_RENEWING ||
		c->state == DHCP_S_REBINDING);
}

static void dhcp_arm(struct dhcp_client *c, long long at)
{
	struct itimerspec its = {0};

	if (at <= 0)
		at = 1;
	its.it_value.tv_sec = at / 1000;
	its.it_value.tv_nsec = (at % 1000) * 1000000;
	timerfd_settime(c->timer_fd, TFD_TIMER_ABSTIME, &its, NULL);
}

static void dhcp_close_sock(struct dhcp_client *c)
{
	if (c->pkt_fd < 0)
		return;
	epoll_ctl(dhcp_epfd, EPOLL_CTL_DEL, c->pkt_fd, NULL);
	close(c->pkt_fd);
	c->pkt_fd = -1;
}

/* The packet socket, opened in the container netns when not open. 0 or -errno with @e. */
static int dhcp_open_sock(struct dhcp_client *c, bool set_up, struct cni_err *e)
{
	struct dhcp_job j = {.kind = DHCP_JOB_OPEN, .set_up = set_up};
	int r;

	if (c->pkt_fd >= 0)
		return 0;
	r = dhcp_job_run(c, &j);
	if (r) {
		*e = j.e;
		return r;
	}
	if (epoll_ctl(dhcp_epfd, EPOLL_CTL_ADD, j.fd,
		      &(struct epoll_event){.events = EPOLLIN, .data.ptr = &c->pkt_ev})) {
		/* an unwatched socket never hears the server's answer */
		r = -errno;
		close(j.fd);
		return cni_fail(e, r, 0, "watching the packet socket of %s: epoll_ctl: %s",
				c->ifname, strerror(-r));
	}
	c->pkt_fd = j.fd;
	c->ifindex = j.ifindex;
	memcpy(c->mac, j.mac, 6);
	return 0;
}

static void dhcp_lease_addr(const struct dhcp_client *c, struct cni_prefix *p)
{
	memset(p, 0, sizeof(*p));
	p->ip.family = AF_INET;
	memcpy(p->ip.a, c->lease.addr, 4);
	p->len = c->lease.mask_len;
}

/* ---- sending ---------------------------------------------------------------------------------- */

static int dhcp_send(struct dhcp_client *c, uint8_t type)
{
	struct nu_dhcp_msg *m = calloc(1, sizeof(*m));
	static const uint8_t maxsize[2] = {NU_DHCP_MAX_LEN >> 8, NU_DHCP_MAX_LEN & 0xff};
	uint8_t buf[NU_DHCP_MAX_LEN];
	struct sockaddr_ll sll = {.sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_IP)};
	bool unicast = (type == NU_DHCP_REQUEST && c->state == DHCP_S_RENEWING) ||
		       type == NU_DHCP_RELEASE;
	bool has_ciaddr = unicast || c->state == DHCP_S_REBINDING;
	const uint8_t *dmac = dhcp_bcast_mac;
	long long secs;
	int n;

	if (!m)
		return -ENOMEM;
	m->op = NU_DHCP_BOOTREQUEST;
	m->htype = 1;
	m->hlen = 6;
	m->xid = c->xid;
	secs = (dhcp_boot_ms() - c->xid_start) / 1000;
	m->secs = (uint16_t)(secs > 65535 ? 65535 : secs);
	if (c->broadcast && !has_ciaddr)
		m->flags = NU_DHCP_FLAG_BROADCAST;
	if (has_ciaddr)
		memcpy(m->ciaddr, c->lease.addr, 4);
	memcpy(m->chaddr, c->mac, 6);

	nu_dhcp_add_opt(m, NU_DHCP_OPT_CLIENT_ID, c->client_id, c->client_id_len);
	if (type == NU_DHCP_RELEASE) {
		nu_dhcp_add_opt(m, NU_DHCP_OPT_SERVER_ID, c->server_id, 4);
	} else {
		if (type == NU_DHCP_REQUEST && c->state == DHCP_S_REQUESTING) {
			nu_dhcp_add_opt(m, NU_DHCP_OPT_REQUESTED_IP, c->offered, 4);
			nu_dhcp_add_opt(m, NU_DHCP_OPT_SERVER_ID, c->offer_server, 4);
		}
		/* RENEWING/REBINDING: no requested-ip or server-id (RFC 2131 §4.3.6, plugins#1092) */
		nu_dhcp_add_opt(m, NU_DHCP_OPT_MAX_SIZE, maxsize, 2);
		if (c->n_req_opts)
			nu_dhcp_add_opt(m, NU_DHCP_OPT_PARAM_REQ, c->req_opts, c->n_req_opts);
		for (size_t i = 0; i < c->n_provide; i++) {
			uint8_t code = c->provide[i].code;

			if (code == NU_DHCP_OPT_REQUESTED_IP || code == NU_DHCP_OPT_SERVER_ID ||
			    code == NU_DHCP_OPT_PARAM_REQ || code == NU_DHCP_OPT_MAX_SIZE ||
			    code == NU_DHCP_OPT_MSG_TYPE || code == NU_DHCP_OPT_PAD ||
			    code == NU_DHCP_OPT_END)
				continue;
			nu_dhcp_add_opt(m, code, c->provide[i].data, c->provide[i].len);
		}
	}
	n = nu_dhcp_build(m, type, buf + NU_DHCP_IPUDP_LEN, sizeof(buf) - NU_DHCP_IPUDP_LEN);
	free(m);
	if (n < 0)
		return n;
	n = nu_dhcp_frame_build(buf, sizeof(buf), has_ciaddr ? c->lease.addr : dhcp_zero_ip,
				unicast ? c->server_id : dhcp_bcast_ip, NU_DHCP_CLIENT_PORT,
				NU_DHCP_SERVER_PORT, buf + NU_DHCP_IPUDP_LEN, (size_t)n);
	if (n < 0)
		return n;
	if (unicast && memcmp(c->server_mac, "\0\0\0\0\0\0", 6))
		dmac = c->server_mac;
	sll.sll_ifindex = c->ifindex;
	sll.sll_halen = 6;
	memcpy(sll.sll_addr, dmac, 6);
	if (sendto(c->pkt_fd, buf, (size_t)n, 0, (struct sockaddr *)&sll, sizeof(sll)) < 0)
		return -errno;
	return 0;
}

/* ---- state transitions ----------------------------------------------------------------------- */

static long long dhcp_jitter(long long ms)
{
	/* +-10 %, so clients started together do not stay in lockstep */
	long long j = ms / 10;

	return j ? ms - j + (long long)(dhcp_rand32() % (uint32_t)(2 * j + 1)) : ms;
}

static void dhcp_new_xid(struct dhcp_client *c)
{
	c->xid = dhcp_rand32();
	c->xid_start = dhcp_boot_ms();
}

static void dhcp_discover(struct dhcp_client *c)
{
	int r;

	c->state = DHCP_S_SELECTING;
	dhcp_new_xid(c);
	c->interval = DHCP_RETRY_FIRST_MS;
	r = dhcp_send(c, NU_DHCP_DISCOVER);
	if (r)
		dhcp_log("%s/%s: sending DISCOVER: %s", c->cid, c->ifname, strerror(-r));
	dhcp_arm(c, c->xid_start + dhcp_jitter(c->interval));
}

int dhcp_client_start(struct dhcp_client *c, char *msg, size_t msglen)
{
	struct cni_err e = {0};
	int r;

	r = dhcp_open_sock(c, true, &e);
	if (r) {
		snprintf(msg, msglen, "dhcp: %s: %s", c->ifname, e.msg[0] ? e.msg : strerror(-r));
		return r;
	}
	c->deadline = dhcp_boot_ms() + c->timeout_ms;
	dhcp_discover(c);
	return 0;
}

int dhcp_client_resume(struct dhcp_client *c)
{
	long long now = dhcp_boot_ms(), wall = dhcp_wall_ms();

	/* The lease clock in boottime: wall-clock age, never negative. */
	c->acquired = now - (wall > c->acquired_wall ? wall - c->acquired_wall : 0);
	c->state = DHCP_S_BOUND;
	dhcp_arm(c, now);
	return 0;
}

static long long dhcp_t(const struct dhcp_client *c, uint32_t secs)
{
	if (c->lease.lease_secs == 0xffffffffu)
		return DHCP_INFINITE;
	return c->acquired + (long long)secs * 1000;
}

static void dhcp_lost(struct dhcp_client *c, const char *why)
{
	struct dhcp_job j = {.kind = DHCP_JOB_ADDR_DEL};
	char a[CNI_PREFIX_STRLEN];
	int r;

	dhcp_lease_addr(c, &j.addr);
	dhcp_log("%s/%s/%s: lease of %s lost (%s); address removed, re-acquiring", c->cid,
		 c->network, c->ifname, cni_prefix_str(&j.addr, a), why);
	r = dhcp_job_run(c, &j);
	if (r == -ENOENT || r == -ENODEV) {
		dhcp_client_forget(c, "the interface or its netns is gone");
		return;
	}
	if (r)
		dhcp_log("%s/%s: removing %s: %s", c->cid, c->ifname, a, j.e.msg);
	c->lost = true;
	c->give_up = dhcp_boot_ms() + c->resend_timeout_ms;
	if (dhcp_open_sock(c, false, &j.e)) {
		dhcp_client_forget(c, j.e.msg);
		return;
	}
	dhcp_discover(c);
}

/* Bound, renewing, rebinding: what the lease clock says now. */
static void dhcp_lease_tick(struct dhcp_client *c)
{
	long long now = dhcp_boot_ms();
	long long t1 = dhcp_t(c, c->t1_secs), t2 = dhcp_t(c, c->t2_secs);
	long long exp = dhcp_t(c, c->lease.lease_secs);
	long long next, end;
	struct cni_err e = {0};
	int r;

	if (now >= exp) {
		dhcp_lost(c, "expired");
		return;
	}
	if (now < t1) {
		dhcp_close_sock(c);
		c->state = DHCP_S_BOUND;
		dhcp_arm(c, t1);
		return;
	}
	r = dhcp_open_sock(c, false, &e);
	if (r == -ENOENT || r == -ENODEV) {
		dhcp_client_forget(c, "the interface or its netns is gone");
		return;
	}
	if (r) {
		dhcp_log("%s/%s: %s; retrying", c->cid, c->ifname, e.msg);
		dhcp_arm(c, now + DHCP_RENEW_MIN_MS);
		return;
	}
	if (now >= t2 && c->state != DHCP_S_REBINDING) {
		c->state = DHCP_S_REBINDING;
		dhcp_new_xid(c);
		dhcp_log("%s/%s/%s: T2 passed, rebinding", c->cid, c->network, c->ifname);
	} else if (now < t2 && c->state == DHCP_S_BOUND) {
		c->state = DHCP_S_RENEWING;
		dhcp_new_xid(c);
	}
	r = dhcp_send(c, NU_DHCP_REQUEST);
	if (r == -ENXIO || r == -ENODEV || r == -ENETDOWN) {
		dhcp_client_forget(c, "the interface is gone");
		return;
	}
	if (r)
		dhcp_log("%s/%s: sending REQUEST: %s", c->cid, c->ifname, strerror(-r));
	/* Retransmit at half the time left to the next state change (RFC 2131 §4.4.5). */
	end = c->state == DHCP_S_RENEWING ? t2 : exp;
	next = now + (end - now) / 2;
	if (next < now + DHCP_RENEW_MIN_MS)
		next = now + DHCP_RENEW_MIN_MS;
	dhcp_arm(c, next < end ? next : end);
}

void dhcp_client_on_timer(struct dhcp_client *c)
{
	uint64_t x;
	long long now = dhcp_boot_ms(), next;
	int r;

	while (read(c->timer_fd, &x, sizeof(x)) > 0)
		;
	if (c->state >= DHCP_S_BOUND) {
		dhcp_lease_tick(c);
		return;
	}
	/* Acquiring. */
	if (c->waiter && now >= c->deadline) {
		char msg[256];

		snprintf(msg, sizeof(msg), "dhcp: no DHCP lease on %s within %u ms (%s)", c->ifname,
			 c->timeout_ms,
			 c->state == DHCP_S_SELECTING ? "no offer" : "offer not acknowledged");
		dhcp_answer(c, ETIMEDOUT, msg);
		if (!c->have_lease) {
			dhcp_client_forget(c, NULL);
			return;
		}
	}
	if (!c->waiter && !c->have_lease) {
		/* The ADD went away (its plugin was killed) before a lease came. */
		dhcp_client_forget(c, NULL);
		return;
	}
	if (c->lost && !c->waiter && c->give_up && now >= c->give_up) {
		dhcp_client_forget(c, "no lease re-acquired within resendTimeout");
		return;
	}
	c->interval *= 2;
	if (c->interval > c->resend_max_ms)
		c->interval = c->resend_max_ms;
	if (c->state == DHCP_S_REQUESTING && ++c->tries > 3) {
		dhcp_discover(c);
		return;
	}
	r = dhcp_send(c, c->state == DHCP_S_SELECTING ? NU_DHCP_DISCOVER : NU_DHCP_REQUEST);
	if (r == -ENXIO || r == -ENODEV) {
		dhcp_client_forget(c, "the interface is gone");
		return;
	}
	next = now + dhcp_jitter(c->interval);
	if (c->waiter && next > c->deadline)
		next = c->deadline;
	dhcp_arm(c, next);
}

/* An ACK for our REQUEST: the lease, or -EINVAL with @why when it is unusable. */
static int dhcp_take_ack(struct dhcp_client *c, const struct nu_dhcp_msg *m, const uint8_t src[4],
			 const uint8_t smac[6], const char **why)
{
	struct dhcp_lease_info li = {0};
	uint8_t mask[4];
	uint32_t lt = 3600, t1, t2;
	int r;

	if (nu_dhcp_opt_ip(m, NU_DHCP_OPT_SUBNET_MASK, mask) || (r = nu_dhcp_mask_len(mask)) < 0) {
		*why = "the ACK has no valid subnet mask";
		return -EINVAL;
	}
	memcpy(li.addr, m->yiaddr, 4);
	li.mask_len = (uint8_t)r;
	li.has_gw = nu_dhcp_opt_ip(m, NU_DHCP_OPT_ROUTER, li.gw) == 0;
	if (dhcp_lease_routes(m, &li)) {
		*why = "the ACK's route options are malformed";
		return -EINVAL;
	}
	nu_dhcp_opt_u32(m, NU_DHCP_OPT_LEASE_TIME, &lt);
	if (!lt) {
		*why = "the ACK's lease time is 0";
		return -EINVAL;
	}
	t1 = lt / 2;
	t2 = (uint32_t)((uint64_t)lt * 7 / 8);
	nu_dhcp_opt_u32(m, NU_DHCP_OPT_T1, &t1);
	nu_dhcp_opt_u32(m, NU_DHCP_OPT_T2, &t2);
	if (t2 > lt || !t2)
		t2 = (uint32_t)((uint64_t)lt * 7 / 8);
	if (t1 > t2)
		t1 = t2 / 2 ? t2 / 2 : t2;
	li.lease_secs = lt;

	c->lease = li;
	c->t1_secs = t1;
	c->t2_secs = t2;
	if (nu_dhcp_opt_ip(m, NU_DHCP_OPT_SERVER_ID, c->server_id))
		memcpy(c->server_id, src, 4);
	memcpy(c->server_mac, smac, 6);
	c->acquired = c->xid_start;
	c->acquired_wall = dhcp_wall_ms() - (dhcp_boot_ms() - c->xid_start);
	return 0;
}

static void dhcp_bound(struct dhcp_client *c, bool was_lost)
{
	char a[CNI_PREFIX_STRLEN];
	struct cni_prefix p;
	int r;

	c->have_lease = true;
	c->lost = false;
	c->give_up = 0;
	c->state = DHCP_S_BOUND;
	dhcp_lease_addr(c, &p);
	r = dhcp_store_save(c);
	if (r)
		dhcp_log("%s/%s: saving the lease to %s: %s", c->cid, c->ifname, dhcp_statedir,
			 strerror(-r));
	if (was_lost) {
		struct dhcp_job j = {.kind = DHCP_JOB_ADDR_ADD, .addr = p};

		if (dhcp_job_run(c, &j))
			dhcp_log("%s/%s: adding %s back: %s", c->cid, c->ifname,
				 cni_prefix_str(&p, a), j.e.msg);
		else
			dhcp_log("%s/%s/%s: lease re-acquired: %s", c->cid, c->network, c->ifname,
				 cni_prefix_str(&p, a));
	}
	if (c->waiter)
		dhcp_answer(c, 0, NULL);
	dhcp_close_sock(c);
	dhcp_arm(c, dhcp_t(c, c->t1_secs));
}

void dhcp_client_on_packet(struct dhcp_client *c)
{
	uint8_t buf[2048], src[4], dst[4];
	struct sockaddr_ll sll;
	socklen_t sl = sizeof(sll);
	struct nu_dhcp_msg *m;
	const uint8_t *pl;
	uint16_t sport, dport;
	size_t plen;
	ssize_t n;
	int type;

	m = malloc(sizeof(*m));
	if (!m)
		return;
	/* Drain: each datagram is judged alone; state changes may close the socket. */
	while (c->pkt_fd >= 0 &&
	       (n = recvfrom(c->pkt_fd, buf, sizeof(buf), 0, (struct sockaddr *)&sll, &sl)) > 0) {
		const char *why = NULL;
		bool was_lost;

		sl = sizeof(sll);
		if (sll.sll_pkttype == PACKET_OUTGOING)
			continue;
		if (nu_dhcp_frame_parse(buf, (size_t)n, &pl, &plen, src, dst, &sport, &dport) ||
		    dport != NU_DHCP_CLIENT_PORT)
			continue;
		type = nu_dhcp_parse(pl, plen, m);
		if (type < 0 || m->op != NU_DHCP_BOOTREPLY || m->xid != c->xid ||
		    memcmp(m->chaddr, c->mac, 6))
			continue;

		switch (c->state) {
		case DHCP_S_SELECTING:
			if (type != NU_DHCP_OFFER)
				break;
			memcpy(c->offered, m->yiaddr, 4);
			if (nu_dhcp_opt_ip(m, NU_DHCP_OPT_SERVER_ID, c->offer_server))
				memcpy(c->offer_server, src, 4);
			c->state = DHCP_S_REQUESTING;
			c->tries = 0;
			c->interval = DHCP_RETRY_FIRST_MS;
			if (dhcp_send(c, NU_DHCP_REQUEST) == 0)
				c->tries = 1;
			dhcp_arm(c, dhcp_boot_ms() + dhcp_jitter(c->interval));
			break;
		case DHCP_S_REQUESTING:
			if (type == NU_DHCP_NAK) {
				dhcp_log("%s/%s: NAK for the offered address; discovering again",
					 c->cid, c->ifname);
				dhcp_discover(c);
				break;
			}
			if (type != NU_DHCP_ACK)
				break;
			if (dhcp_take_ack(c, m, src, sll.sll_addr, &why)) {
				dhcp_log("%s/%s: %s", c->cid, c->ifname, why);
				if (c->waiter)
					dhcp_answer(c, EPROTO, why);
				break;
			}
			was_lost = c->lost;
			dhcp_bound(c, was_lost);
			break;
		case DHCP_S_RENEWING:
		case DHCP_S_REBINDING:
			if (type == NU_DHCP_NAK) {
				dhcp_lost(c, "the server sent NAK");
				free(m);
				return;
			}
			if (type != NU_DHCP_ACK)
				break;
			if (memcmp(m->yiaddr, c->lease.addr, 4)) {
				dhcp_lost(c, "the server acknowledged another address");
				free(m);
				return;
			}
			if (dhcp_take_ack(c, m, src, sll.sll_addr, &why)) {
				dhcp_log("%s/%s: %s", c->cid, c->ifname, why);
				break;
			}
			dhcp_log("%s/%s/%s: lease renewed (%s, %u s)", c->cid, c->network, c->ifname,
				 c->state == DHCP_S_RENEWING ? "unicast" : "broadcast",
				 c->lease.lease_secs);
			dhcp_bound(c, false);
			break;
		case DHCP_S_BOUND:
			break;
		}
	}
	free(m);
}

void dhcp_client_release(struct dhcp_client *c)
{
	struct cni_err e = {0};
	int r;

	if (!c->have_lease || c->lost)
		return;
	r = dhcp_open_sock(c, false, &e);
	if (r) {
		dhcp_log("%s/%s/%s: no DHCPRELEASE sent: %s", c->cid, c->network, c->ifname, e.msg);
		return;
	}
	dhcp_new_xid(c);
	r = dhcp_send(c, NU_DHCP_RELEASE);
	if (r)
		dhcp_log("%s/%s/%s: sending DHCPRELEASE: %s", c->cid, c->network, c->ifname,
			 strerror(-r));
	else
		dhcp_log("%s/%s/%s: released %u.%u.%u.%u", c->cid, c->network, c->ifname,
			 c->lease.addr[0], c->lease.addr[1], c->lease.addr[2], c->lease.addr[3]);
}
