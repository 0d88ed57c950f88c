// SPDX-License-Identifier: Apache-2.0
/*
 * dhcp, the IPAM plugin side: reads the reference's ipam keys, turns them into one request of our
 * protocol (dhcp.h) and hands it to the daemon over its unix socket; creates no kernel objects
 * itself (the daemon does the DHCP, the main plugin configures the address). ADD returns the
 * leased address, the router as gateway and the routes of options 121 or 33 (+ default route);
 * DEL releases and always succeeds, also when the daemon is not running (its lease store is
 * resumed and the lease dropped once the netns is gone, or by GC); CHECK asks the daemon whether
 * the lease is live; STATUS fails with code 50 when the daemon cannot be reached; GC releases the
 * leases of the network's attachments that are not in the valid list.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "cni/cni.h"
#include "dhcp.h"
#include "netutil/netutil.h"

struct dhcp_req_opt {
	bool skip_default;
	char *option; /* JSON text: "name" or a number */
};

struct dhcp_prov_opt {
	char *option;
	char *value;
	bool value_seen;
	char *from_arg;
};

struct dhcp_conf {
	struct {
		char *socket;
		struct cni_vec request; /* of struct dhcp_req_opt */
		struct cni_vec provide; /* of struct dhcp_prov_opt */
		long long priority;
		bool broadcast;
		char *timeout, *resend_max, *resend_timeout; /* JSON text */
	} ipam;
	bool ipam_seen;

	/* derived */
	uint8_t req[255];
	size_t n_req;
	struct dhcp_provide prov[DHCP_MAX_PROVIDE];
	size_t n_prov;
	uint32_t timeout_ms, resend_max_ms, resend_timeout_ms;
};

#define IPAM_T typeof(((struct dhcp_conf *)0)->ipam)

static const struct cni_field dhcp_req_fields[] = {
    CNI_FIELD("skipDefault", struct dhcp_req_opt, CNI_F_BOOL, skip_default,
      .help = "leave out the default request list (routers, subnet-mask)"),
    CNI_FIELD("option", struct dhcp_req_opt, CNI_F_JSON, option,
      .help = "option to request: a name (routers...) or a number 0..255"),
    CNI_FIELD_END,
};
static const struct cni_field dhcp_req_elem = {.type = CNI_F_OBJ, .sub = dhcp_req_fields};

static const struct cni_field dhcp_prov_fields[] = {
    CNI_FIELD("option", struct dhcp_prov_opt, CNI_F_JSON, option,
      .help = "option to send: a name (host-name...) or a number 0..255"),
    CNI_FIELD("value", struct dhcp_prov_opt, CNI_F_STR, value,
	      CNI_SEEN(struct dhcp_prov_opt, value_seen),
	        .help = "the option's value (at most 255 bytes)"),
    CNI_FIELD("fromArg", struct dhcp_prov_opt, CNI_F_STR, from_arg,
      .help = "a CNI_ARGS key whose value is sent (K8S_POD_NAME)"),
    CNI_FIELD_END,
};
static const struct cni_field dhcp_prov_elem = {.type = CNI_F_OBJ, .sub = dhcp_prov_fields};

static const struct cni_field dhcp_ipam_fields[] = {
    CNI_FIELD("daemonSocketPath", IPAM_T, CNI_F_STR, socket,
      .help = "the daemon's socket (default /run/cni/dhcp.sock)"),
    CNI_FIELD("request", IPAM_T, CNI_F_ARRAY, request, .sub = &dhcp_req_elem,
	      .elem_size = sizeof(struct dhcp_req_opt),
	        .help = "options asked of the server (parameter request list)"),
    CNI_FIELD("provide", IPAM_T, CNI_F_ARRAY, provide, .sub = &dhcp_prov_elem,
	      .elem_size = sizeof(struct dhcp_prov_opt), .help = "options sent to the server"),
    CNI_FIELD("priority", IPAM_T, CNI_F_I64, priority, .min = 0, .max = 0xffffffffLL,
      .help = "metric of every route of the lease"),
    CNI_FIELD("broadcast", IPAM_T, CNI_F_BOOL, broadcast,
      .help = "ask the server to broadcast its replies"),
    CNI_FIELD("timeout", IPAM_T, CNI_F_JSON, timeout,
      .help = "one exchange's timeout, a duration (\"10s\"; default: the daemon's)"),
    CNI_FIELD("resendMax", IPAM_T, CNI_F_JSON, resend_max,
      .help = "longest wait between retransmissions (default: the daemon's)"),
    CNI_FIELD("resendTimeout", IPAM_T, CNI_F_JSON, resend_timeout,
      .help = "give up acquiring after this long (default: the daemon's)"),
    CNI_FIELD_END,
};

static const struct cni_field dhcp_conf_fields[] = {
    CNI_FIELD("ipam", struct dhcp_conf, CNI_F_OBJ, ipam, .sub = dhcp_ipam_fields,
	      CNI_SEEN(struct dhcp_conf, ipam_seen), .help = "the IPAM section (type dhcp)"),
    CNI_FIELD_END,
};

/* A JSON string or number as plain text (no escapes expected in option names or durations). */
static char *dhcp_json_text(const char *j)
{
	size_t n;

	if (!j || !strcmp(j, "null"))
		return NULL;
	n = strlen(j);
	if (n >= 2 && j[0] == '"' && j[n - 1] == '"')
		return cni_sprintf("%.*s", (int)(n - 2), j + 1);
	return cni_strdup(j);
}

static int dhcp_opt_of(const char *json, const char *what, size_t i, struct cni_err *e)
{
	char *t = dhcp_json_text(json);
	int code = t ? nu_dhcp_option_code(t) : -EINVAL;

	if (code < 0 || code == NU_DHCP_OPT_PAD || code == NU_DHCP_OPT_END)
		return cni_fail(e, -EINVAL, CNI_ERR_INVALID_CONFIG,
				"ipam.%s[%zu]: unknown DHCP option \"%s\"", what, i, t ? t : "");
	return code;
}

static int dhcp_dur(const char *json, const char *key, uint32_t *out, struct cni_err *e)
{
	char *t = dhcp_json_text(json);
	long long ms;

	*out = 0;
	if (!t)
		return 0;
	ms = dhcp_duration_ms(t);
	if (ms < 0 || ms > 0xffffffffLL)
		return cni_fail(e, -EINVAL, CNI_ERR_INVALID_CONFIG, "ipam.%s: invalid duration \"%s\"",
				key, t);
	*out = (uint32_t)ms;
	return 0;
}

static int dhcp_validate(struct cni_ctx *ctx, void *conf, struct cni_err *e)
{
	struct dhcp_conf *c = conf;
	const struct dhcp_req_opt *rq = c->ipam.request.v;
	const struct dhcp_prov_opt *pv = c->ipam.provide.v;
	static const uint8_t defaults[] = {NU_DHCP_OPT_SUBNET_MASK, NU_DHCP_OPT_ROUTER,
					   NU_DHCP_OPT_CLASSLESS_ROUTES, NU_DHCP_OPT_STATIC_ROUTES};
	struct cni_kvv args = {0};
	bool skip = false, have[256] = {false};
	int r;

	if (!c->ipam_seen)
		return cni_fail(e, -EINVAL, CNI_ERR_INVALID_CONFIG, "IPAM config missing 'ipam' key");
	if (!c->ipam.socket || !*c->ipam.socket)
		c->ipam.socket = DHCP_DEFAULT_SOCKET;
	if ((r = dhcp_dur(c->ipam.timeout, "timeout", &c->timeout_ms, e)) ||
	    (r = dhcp_dur(c->ipam.resend_max, "resendMax", &c->resend_max_ms, e)) ||
	    (r = dhcp_dur(c->ipam.resend_timeout, "resendTimeout", &c->resend_timeout_ms, e)))
		return r;

	/* Parameter Request List: the defaults unless an entry says skipDefault, then the rest. */
	for (size_t i = 0; i < c->ipam.request.n; i++)
		skip |= rq[i].skip_default;
	if (!skip)
		for (size_t i = 0; i < sizeof(defaults); i++) {
			c->req[c->n_req++] = defaults[i];
			have[defaults[i]] = true;
		}
	for (size_t i = 0; i < c->ipam.request.n; i++) {
		int code;

		if (!rq[i].option) /* {skipDefault: true} alone */
			continue;
		code = dhcp_opt_of(rq[i].option, "request", i, e);
		if (code < 0)
			return code;
		if (!have[code] && c->n_req < sizeof(c->req)) {
			have[code] = true;
			c->req[c->n_req++] = (uint8_t)code;
		}
	}

	if (c->ipam.provide.n > DHCP_MAX_PROVIDE)
		return cni_fail(e, -EINVAL, CNI_ERR_INVALID_CONFIG,
				"ipam.provide: at most %d options", DHCP_MAX_PROVIDE);
	if (c->ipam.provide.n && ctx->env.args && *ctx->env.args) {
		r = cni_args_parse(ctx->env.args, NULL, &args, e);
		if (r)
			return r;
	}
	for (size_t i = 0; i < c->ipam.provide.n; i++) {
		const char *val = pv[i].value;
		int code = dhcp_opt_of(pv[i].option, "provide", i, e);
		size_t n;

		if (code < 0)
			return code;
		if (pv[i].from_arg && *pv[i].from_arg) {
			const char *a = cni_args_get(&args, pv[i].from_arg);

			/* The reference falls back to the literal value when the arg is absent. */
			if (a)
				val = a;
		}
		if (!val)
			continue;
		n = strlen(val);
		if (n > 255)
			return cni_fail(e, -EINVAL, CNI_ERR_INVALID_CONFIG,
					"ipam.provide[%zu]: value of option %d longer than 255 bytes",
					i, code);
		c->prov[c->n_prov].code = (uint8_t)code;
		c->prov[c->n_prov].len = (uint8_t)n;
		memcpy(c->prov[c->n_prov].data, val, n);
		c->n_prov++;
	}
	return 0;
}

/* ---- talking to the daemon ------------------------------------------------------------------ */

static long long dhcp_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Connected socket to the daemon or -errno (ENOENT, ECONNREFUSED: not running). */
static int dhcp_connect(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int r = -errno;

		close(fd);
		return r;
	}
	return fd;
}

/* Wait for @fd to become readable until @deadline (monotonic ms). */
static int dhcp_wait(int fd, long long deadline)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	long long left = deadline - dhcp_now_ms();
	int r;

	if (left <= 0)
		return -ETIMEDOUT;
	r = poll(&p, 1, left > 0x7fffffff ? 0x7fffffff : (int)left);
	if (r < 0)
		return errno == EINTR ? 0 : -errno;
	return r ? 0 : -ETIMEDOUT;
}

/*
 * Send request @b, read the reply into *body (malloc()ed, caller frees). -errno on transport
 * failure, with @e naming the socket.
 */
static int dhcp_call(const char *path, struct dhcp_buf *b, long long wait_ms, uint8_t **body,
		     size_t *blen, struct cni_err *e)
{
	_nu_fd_cleanup_ int fd = -1;
	long long deadline = dhcp_now_ms() + wait_ms;
	uint8_t hdr[4];
	size_t got = 0, want = 4;
	uint8_t *buf = NULL;
	int r;

	*body = NULL;
	r = dhcp_buf_finish(b);
	if (r)
		return cni_fail(e, r, 0, "dhcp: request too large");
	fd = dhcp_connect(path);
	if (fd < 0)
		return cni_fail(e, fd, CNI_ERR_TRY_LATER,
				"dhcp: cannot reach the DHCP daemon at %s: %s (is \"dhcp daemon\" "
				"running?)",
				path, strerror(-fd));
	for (size_t off = 0; off < b->len;) {
		ssize_t n = send(fd, b->p + off, b->len - off, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return cni_fail(e, -errno, CNI_ERR_IO, "dhcp: writing to %s: %s", path,
					strerror(errno));
		off += (size_t)n;
	}
	while (got < want) {
		ssize_t n;

		r = dhcp_wait(fd, deadline);
		if (r) {
			free(buf);
			return cni_fail(e, r, CNI_ERR_IO, "dhcp: no answer from the daemon at %s: %s",
					path, strerror(-r));
		}
		n = read(fd, buf ? buf + got - 4 : hdr + got, want - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			free(buf);
			return cni_fail(e, n < 0 ? -errno : -EPIPE, CNI_ERR_IO,
					"dhcp: the daemon at %s closed the connection", path);
		}
		got += (size_t)n;
		if (!buf && got == 4) {
			size_t len = dhcp_u32(hdr);

			if (len > DHCP_PROTO_MAX || len < 5)
				return cni_fail(e, -EPROTO, CNI_ERR_IO,
						"dhcp: malformed reply from %s", path);
			buf = malloc(len);
			if (!buf)
				return cni_fail(e, -ENOMEM, 0, "dhcp: out of memory");
			want = 4 + len;
		}
	}
	*body = buf;
	*blen = want - 4;
	return 0;
}

static void dhcp_req_common(struct cni_ctx *ctx, struct dhcp_buf *b, int verb)
{
	const struct dhcp_conf *c = ctx->conf;
	const char *ns = ctx->env.netns;

	dhcp_buf_init(b);
	dhcp_put_u8(b, DHCP_T_VERB, (uint8_t)verb);
	dhcp_put_str(b, DHCP_T_CID, ctx->env.container_id);
	dhcp_put_str(b, DHCP_T_IFNAME, ctx->env.ifname);
	dhcp_put_str(b, DHCP_T_NETWORK, ctx->net.name);
	if (ns && *ns) {
		char cwd[4096];

		/* The daemon runs elsewhere: a relative path is made absolute, as the reference. */
		if (ns[0] != '/' && getcwd(cwd, sizeof(cwd)))
			ns = cni_sprintf("%s/%s", cwd, ns);
		dhcp_put_str(b, DHCP_T_NETNS, ns);
	}
	dhcp_put(b, DHCP_T_REQUEST, c->req, c->n_req);
	for (size_t i = 0; i < c->n_prov; i++) {
		uint8_t v[256];

		v[0] = c->prov[i].code;
		memcpy(v + 1, c->prov[i].data, c->prov[i].len);
		dhcp_put(b, DHCP_T_PROVIDE, v, 1 + (size_t)c->prov[i].len);
	}
	dhcp_put_u8(b, DHCP_T_BROADCAST, c->ipam.broadcast);
	if (c->timeout_ms)
		dhcp_put_u32(b, DHCP_T_TIMEOUT_MS, c->timeout_ms);
	if (c->resend_max_ms)
		dhcp_put_u32(b, DHCP_T_RESEND_MAX_MS, c->resend_max_ms);
	if (c->resend_timeout_ms)
		dhcp_put_u32(b, DHCP_T_RESEND_TIMEOUT_MS, c->resend_timeout_ms);
}

struct dhcp_reply {
	int err; /* positive errno from the daemon */
	char msg[512];
	struct dhcp_lease_info lease;
	bool has_addr;
};

/* One TLV of the daemon's reply into the struct dhcp_reply at @arg: 0 or -EPROTO. */
static int reply_tlv(uint16_t t, const uint8_t *v, size_t vl, void *arg)
{
	struct dhcp_reply *rep = arg;

	switch (t) {
	case DHCP_T_ERRNO:
		if (vl != 4)
			return -EPROTO;
		rep->err = (int)dhcp_u32(v);
		break;
	case DHCP_T_MESSAGE:
		snprintf(rep->msg, sizeof(rep->msg), "%.*s", (int)vl, (const char *)v);
		break;
	case DHCP_T_ADDR:
		if (vl != 5 || v[4] > 32)
			return -EPROTO;
		memcpy(rep->lease.addr, v, 4);
		rep->lease.mask_len = v[4];
		rep->has_addr = true;
		break;
	case DHCP_T_GATEWAY:
		if (vl != 4)
			return -EPROTO;
		memcpy(rep->lease.gw, v, 4);
		rep->lease.has_gw = true;
		break;
	case DHCP_T_ROUTE: {
		struct nu_dhcp_route *rt;

		if (vl != 9 || v[4] > 32 || rep->lease.n_routes >= DHCP_MAX_ROUTES)
			return -EPROTO;
		rt = &rep->lease.routes[rep->lease.n_routes++];
		memcpy(rt->dst, v, 4);
		rt->len = v[4];
		memcpy(rt->gw, v + 5, 4);
		break;
	}
	case DHCP_T_LEASE:
		if (vl == 4)
			rep->lease.lease_secs = dhcp_u32(v);
		break;
	default:
		break;
	}
	return 0;
}

static int dhcp_reply_decode(const uint8_t *body, size_t len, struct dhcp_reply *rep)
{
	memset(rep, 0, sizeof(*rep));
	return dhcp_tlv_each(body, len, reply_tlv, rep);
}

/* One exchange: request of @verb, reply decoded; a daemon-side error becomes @e's message. */
static int dhcp_exchange(struct cni_ctx *ctx, struct dhcp_buf *b, struct dhcp_reply *rep,
			 struct cni_err *e)
{
	const struct dhcp_conf *c = ctx->conf;
	/* The daemon answers within the attachment's timeout; a margin for its own work. */
	long long wait = (long long)(c->timeout_ms ? c->timeout_ms : 60000) + 5000;
	uint8_t *body;
	size_t len = 0;
	int r;

	r = dhcp_call(c->ipam.socket, b, wait, &body, &len, e);
	dhcp_buf_free(b);
	if (r)
		return r;
	r = dhcp_reply_decode(body, len, rep);
	free(body);
	if (r)
		return cni_fail(e, r, CNI_ERR_IO, "dhcp: malformed reply from the daemon");
	if (rep->err)
		return cni_fail(e, -rep->err, 0, "%s",
				rep->msg[0] ? rep->msg : strerror(rep->err));
	return 0;
}

static int dhcp_add(struct cni_ctx *ctx, struct cni_result *res, struct cni_err *e)
{
	const struct dhcp_conf *c = ctx->conf;
	struct dhcp_reply rep;
	struct dhcp_buf b;
	struct cni_prefix addr = {.ip.family = AF_INET};
	struct cni_ip gw = {.family = AF_INET};
	int r;

	if (!ctx->env.netns || !*ctx->env.netns)
		return cni_fail(e, -EINVAL, CNI_ERR_INVALID_ENV, "dhcp: CNI_NETNS is required");
	dhcp_req_common(ctx, &b, DHCP_V_ADD);
	r = dhcp_exchange(ctx, &b, &rep, e);
	if (r)
		return r;
	if (!rep.has_addr)
		return cni_fail(e, -EPROTO, CNI_ERR_IO, "dhcp: the daemon returned no address");
	memcpy(addr.ip.a, rep.lease.addr, 4);
	addr.len = rep.lease.mask_len;
	memcpy(gw.a, rep.lease.gw, 4);
	cni_result_add_ip(res, &addr, rep.lease.has_gw ? &gw : NULL, -1);
	for (size_t i = 0; i < rep.lease.n_routes; i++) {
		const struct nu_dhcp_route *rt = &rep.lease.routes[i];
		struct cni_prefix dst = {.ip.family = AF_INET, .len = rt->len};
		struct cni_ip rgw = {.family = AF_INET};
		bool onlink = !(rt->gw[0] | rt->gw[1] | rt->gw[2] | rt->gw[3]);
		struct cni_route *o;

		memcpy(dst.ip.a, rt->dst, 4);
		memcpy(rgw.a, rt->gw, 4);
		o = cni_result_add_route(res, &dst, onlink ? NULL : &rgw);
		if (onlink)
			o->scope = 253; /* RT_SCOPE_LINK, as the reference */
		o->priority = (int)c->ipam.priority;
	}
	return 0;
}

/* An exchange of @verb with the common TLVs only (DEL, CHECK, STATUS); the reply is not used. */
static int dhcp_verb(struct cni_ctx *ctx, int verb, struct cni_err *e)
{
	struct dhcp_reply rep;
	struct dhcp_buf b;

	dhcp_req_common(ctx, &b, verb);
	return dhcp_exchange(ctx, &b, &rep, e);
}

static int dhcp_del(struct cni_ctx *ctx, struct cni_err *e)
{
	int r = dhcp_verb(ctx, DHCP_V_DEL, e);

	if (r == -ENOENT || r == -ECONNREFUSED) {
		/* No daemon: nothing to release now; a restarted daemon drops leases of dead netns. */
		fprintf(stderr, "dhcp: %s; DEL succeeds without a release\n", e->msg);
		cni_err_clear(e);
		return 0;
	}
	return r;
}

static int dhcp_check(struct cni_ctx *ctx, struct cni_err *e)
{
	return dhcp_verb(ctx, DHCP_V_CHECK, e);
}

static int dhcp_status(struct cni_ctx *ctx, struct cni_err *e)
{
	int r = dhcp_verb(ctx, DHCP_V_STATUS, e);

	if (r)
		e->code = CNI_ERR_NOT_AVAILABLE;
	return r;
}

static int dhcp_gc(struct cni_ctx *ctx, struct cni_err *e)
{
	const struct cni_attachment *a = ctx->net.valid_atts.v;
	struct dhcp_reply rep;
	struct dhcp_buf b;

	dhcp_req_common(ctx, &b, DHCP_V_GC);
	for (size_t i = 0; i < ctx->net.valid_atts.n; i++) {
		const char *cid = a[i].container_id ? a[i].container_id : "";
		const char *ifn = a[i].ifname ? a[i].ifname : "";
		char *v = cni_sprintf("%s%c%s", cid, 0, ifn);

		/* %c of 0 stops nothing in cni_sprintf's buffer, but strlen would: size by hand. */
		dhcp_put(&b, DHCP_T_VALID, v, strlen(cid) + 1 + strlen(ifn));
	}
	return dhcp_exchange(ctx, &b, &rep, e);
}

const struct cni_plugin dhcp_cni_plugin = {
    .name = "dhcp",
    .help = "IPAM by DHCP: every verb goes to the daemon, which holds the leases (dhcp daemon\n"
	    "--help; it must run, as a systemd unit or by hand).",
    CNI_CONF(dhcp_conf_fields, struct dhcp_conf),
    .conf_validate = dhcp_validate,
    CNI_VERBS(dhcp),
    .status = dhcp_status,
    .gc = dhcp_gc,
};
