// SPDX-License-Identifier: Apache-2.0
/*
 * dnsname's network record files and control-socket client, shared by the plugin and the daemon
 * (format in dnsname.h). A file is only ever replaced whole: written to a temporary name in the
 * same directory, fsync'ed, renamed over the old one, and the directory fsync'ed, so the daemon
 * (which reads without any lock) sees either the old or the new file, never a half-written one.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "dnsname.h"

bool dn_name_valid(const char *s)
{
	size_t total = strlen(s), l = 0;

	/* "-" alone stands for "no names" in a network file */
	if (!total || total > 253 || s[0] == '.' || s[total - 1] == '.' || !strcmp(s, "-"))
		return false;
	for (const char *p = s; *p; p++) {
		if (*p == '.') {
			if (!l)
				return false;
			l = 0;
			continue;
		}
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '-' || *p == '_'))
			return false;
		if (++l > 63)
			return false;
	}
	return true;
}

bool dn_token_valid(const char *s)
{
	if (!s || !*s || strlen(s) > 4096)
		return false;
	for (; *s; s++)
		if ((unsigned char)*s <= ' ' || *s == ',' || *s == 0x7f)
			return false;
	return true;
}

void dn_rec_free(struct dn_rec *r)
{
	free(r->mem);
	memset(r, 0, sizeof(*r));
}

void dn_netfile_free(struct dn_netfile *f)
{
	for (size_t i = 0; i < f->n; i++)
		dn_rec_free(&f->recs[i]);
	free(f->recs);
	free(f->domain);
	free(f->servers);
	for (size_t i = 0; i < f->n_cdns; i++) {
		free(f->cdns[i].cid);
		free(f->cdns[i].ifname);
		free(f->cdns[i].servers);
	}
	free(f->cdns);
	memset(f, 0, sizeof(*f));
}

/* ---- upstreams ------------------------------------------------------------------------------ */

unsigned int dn_zone_index(const char *zone)
{
	char *end;
	unsigned long id;

	if (!*zone || strlen(zone) >= IF_NAMESIZE || strpbrk(zone, " ,]/"))
		return 0;
	id = strtoul(zone, &end, 10);
	if (!*end)
		return id > UINT32_MAX ? 0 : (unsigned int)id;
	return if_nametoindex(zone);
}

int dn_upstream_parse(const char *s, struct sockaddr_storage *sa, unsigned int *salen)
{
	char host[64], *zone;
	const char *port = NULL;
	unsigned long p = 53;
	size_t hl;

	memset(sa, 0, sizeof(*sa));
	if (s[0] == '[') {
		const char *e = strchr(s, ']');

		if (!e || (e[1] && e[1] != ':') || (e[1] == ':' && !e[2]))
			return -EINVAL;
		hl = (size_t)(e - s - 1);
		if (hl >= sizeof(host))
			return -EINVAL;
		memcpy(host, s + 1, hl);
		host[hl] = 0;
		port = e[1] ? e + 2 : NULL;
	} else {
		const char *c = strchr(s, ':');

		if (c && !strchr(c + 1, ':')) { /* one colon: IPv4 with a port */
			hl = (size_t)(c - s);
			port = c + 1;
		} else {
			hl = strlen(s);
		}
		if (hl >= sizeof(host))
			return -EINVAL;
		memcpy(host, s, hl);
		host[hl] = 0;
	}
	if (port) {
		char *end;

		if (!*port || *port < '0' || *port > '9')
			return -EINVAL;
		p = strtoul(port, &end, 10);
		if (*end || !p || p > 65535)
			return -EINVAL;
	}
	zone = strchr(host, '%');
	if (zone)
		*zone++ = 0;
	if (!zone && inet_pton(AF_INET, host, &((struct sockaddr_in *)sa)->sin_addr) == 1) {
		struct sockaddr_in *v4 = (struct sockaddr_in *)sa;

		if (s[0] == '[')
			return -EINVAL;
		v4->sin_family = AF_INET;
		v4->sin_port = htons((uint16_t)p);
		*salen = sizeof(*v4);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &((struct sockaddr_in6 *)sa)->sin6_addr) == 1) {
		struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)sa;

		if (port && s[0] != '[')
			return -EINVAL;
		if (zone) { /* only a link-local address has a zone: its interface on the host */
			if (!IN6_IS_ADDR_LINKLOCAL(&v6->sin6_addr))
				return -EINVAL;
			v6->sin6_scope_id = dn_zone_index(zone);
			if (!v6->sin6_scope_id)
				return -EINVAL;
		}
		v6->sin6_family = AF_INET6;
		v6->sin6_port = htons((uint16_t)p);
		*salen = sizeof(*v6);
		return 0;
	}
	return -EINVAL;
}

int dn_upstreams_norm(const char *const *addrs, size_t n, char *out, size_t cap)
{
	size_t len = 0;

	if (cap)
		out[0] = 0;
	for (size_t i = 0; i < n; i++) {
		struct sockaddr_storage sa;
		unsigned int sl;
		char ip[INET6_ADDRSTRLEN];
		int w;

		if (i >= DN_MAX_UPSTREAMS)
			return -1 - (int)i;
		if (dn_upstream_parse(addrs[i], &sa, &sl))
			return (int)i + 1;
		if (sa.ss_family == AF_INET)
			w = snprintf(out + len, cap - len, "%s%s:%u", i ? "," : "",
				     inet_ntop(AF_INET, &((struct sockaddr_in *)&sa)->sin_addr, ip,
					       sizeof(ip)),
				     ntohs(((struct sockaddr_in *)&sa)->sin_port));
		else {
			/* the zone as given (an interface name or number), not its index now */
			const char *z = strchr(addrs[i], '%');
			int zl = z ? (int)strcspn(z, "]") : 0;

			w = snprintf(out + len, cap - len, "%s[%s%.*s]:%u", i ? "," : "",
				     inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&sa)->sin6_addr, ip,
					       sizeof(ip)),
				     zl, z ? z : "", ntohs(((struct sockaddr_in6 *)&sa)->sin6_port));
		}
		if (w < 0 || (size_t)w >= cap - len)
			return (int)i + 1;
		len += (size_t)w;
	}
	return 0;
}

const char *dn_upstream_unusable(const struct sockaddr_storage *sa, bool container)
{
	if (sa->ss_family == AF_INET) {
		const struct in_addr *a = &((const struct sockaddr_in *)sa)->sin_addr;
		struct in_addr own;

		if (inet_pton(AF_INET, DN_RESOLVER_ADDR, &own) == 1 && a->s_addr == own.s_addr)
			return "the resolver's own address (" DN_RESOLVER_ADDR "): a loop";
		if (container && ((const uint8_t *)a)[0] == 127)
			return "a loopback address of the container: the daemon forwards from the host";
		return NULL;
	}
	if (sa->ss_family == AF_INET6) {
		const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)sa;

		if (IN6_IS_ADDR_V4MAPPED(&v6->sin6_addr)) {
			struct sockaddr_storage v4 = {.ss_family = AF_INET};

			memcpy(&((struct sockaddr_in *)&v4)->sin_addr, &v6->sin6_addr.s6_addr[12], 4);
			return dn_upstream_unusable(&v4, container);
		}
		if (container && IN6_IS_ADDR_LOOPBACK(&v6->sin6_addr))
			return "a loopback address of the container: the daemon forwards from the host";
		if (IN6_IS_ADDR_LINKLOCAL(&v6->sin6_addr) && !v6->sin6_scope_id)
			return "a link-local address needs the host interface as zone "
			       "(fe80::1%eth0)";
		return NULL;
	}
	return "not an IP address";
}

int dn_resolver_parse(const char *s, uint32_t *a)
{
	struct in_addr in;
	const uint8_t *b = (const uint8_t *)&in;

	if (inet_pton(AF_INET, s, &in) != 1 || b[0] != 127 || b[1] || b[2] ||
	    b[3] < DN_RESOLVER_FIRST || b[3] > DN_RESOLVER_LAST || DN_RESOLVER_SKIP(b[3]))
		return -EINVAL;
	*a = b[3] == DN_RESOLVER_FIRST ? 0 : in.s_addr;
	return 0;
}

uint32_t dn_resolver_of(const struct dn_rec *r)
{
	struct in_addr in;

	if (r->resolver)
		return r->resolver;
	inet_pton(AF_INET, DN_RESOLVER_ADDR, &in);
	return in.s_addr;
}

const char *dn_resolver_text(uint32_t a, char buf[16])
{
	if (!a)
		return strcpy(buf, DN_RESOLVER_ADDR);
	return inet_ntop(AF_INET, &a, buf, 16);
}

static bool upstreams_valid(const char *s)
{
	char buf[256], *save = NULL;
	int n = 0;

	if (strlen(s) >= sizeof(buf) || !*s)
		return false;
	strcpy(buf, s);
	for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		struct sockaddr_storage sa;
		unsigned int sl;

		if (++n > DN_MAX_UPSTREAMS || dn_upstream_parse(t, &sa, &sl))
			return false;
	}
	return n > 0;
}

int dn_netfile_set_cdns(struct dn_netfile *f, const struct dn_cdns *c)
{
	struct dn_cdns n = {0};
	void *v;

	for (size_t i = 0; i < f->n_cdns; i++) {
		if (strcmp(f->cdns[i].cid, c->cid) || strcmp(f->cdns[i].ifname, c->ifname))
			continue;
		free(f->cdns[i].cid);
		free(f->cdns[i].ifname);
		free(f->cdns[i].servers);
		f->cdns[i] = f->cdns[--f->n_cdns];
		break;
	}
	if (!c->servers)
		return 0;
	if (f->n_cdns >= DN_MAX_RECS)
		return -E2BIG;
	v = realloc(f->cdns, (f->n_cdns + 1) * sizeof(*f->cdns));
	if (!v)
		return -ENOMEM;
	f->cdns = v;
	n = *c;
	n.cid = strdup(c->cid);
	n.ifname = strdup(c->ifname);
	n.servers = strdup(c->servers);
	if (!n.cid || !n.ifname || !n.servers) {
		free(n.cid);
		free(n.ifname);
		free(n.servers);
		return -ENOMEM;
	}
	f->cdns[f->n_cdns++] = n;
	return 0;
}

static char *lower_dup(const char *s)
{
	char *d = strdup(s);

	for (char *p = d; p && *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p += 32;
	return d;
}

/* Copy @src into @dst as one block: name pointers, addresses, then the strings. */
static int rec_pack(const struct dn_rec *src, struct dn_rec *dst)
{
	size_t size = src->n_names * sizeof(char *) + src->n_addrs * sizeof(struct dn_addr);
	const char *strs[3] = {src->cid, src->ifname, src->netns};
	char *p, **names;

	for (size_t i = 0; i < 3; i++)
		size += strlen(strs[i]) + 1;
	for (size_t i = 0; i < src->n_names; i++)
		size += strlen(src->names[i]) + 1;
	names = malloc(size ? size : 1);
	if (!names)
		return -ENOMEM;
	*dst = *src;
	dst->mem = names;
	dst->names = names;
	dst->addrs = (struct dn_addr *)(names + src->n_names);
	if (src->n_addrs)
		memcpy(dst->addrs, src->addrs, src->n_addrs * sizeof(struct dn_addr));
	p = (char *)(dst->addrs + src->n_addrs);
	for (size_t i = 0; i < 3 + src->n_names; i++) {
		const char *from = i < 3 ? strs[i] : src->names[i - 3];
		size_t n = strlen(from) + 1;

		if (i == 0)
			dst->cid = p;
		else if (i == 1)
			dst->ifname = p;
		else if (i == 2)
			dst->netns = p;
		else
			names[i - 3] = p;
		memcpy(p, from, n);
		if (i >= 3)
			for (char *c = p; *c; c++)
				if (*c >= 'A' && *c <= 'Z')
					*c += 32;
		p += n;
	}
	return 0;
}

int dn_netfile_add(struct dn_netfile *f, const struct dn_rec *r)
{
	int ret;

	if (f->n >= DN_MAX_RECS)
		return -E2BIG;
	if (f->n == f->cap) {
		size_t cap = f->cap ? f->cap * 2 : 8;
		void *v = realloc(f->recs, cap * sizeof(*f->recs));

		if (!v)
			return -ENOMEM;
		f->recs = v;
		f->cap = cap;
	}
	ret = rec_pack(r, &f->recs[f->n]);
	if (!ret)
		f->n++;
	return ret;
}

size_t dn_netfile_remove(struct dn_netfile *f, const char *cid, const char *ifname)
{
	size_t k = 0, gone = 0;

	for (size_t i = 0; i < f->n; i++) {
		if (!strcmp(f->recs[i].cid, cid) && !strcmp(f->recs[i].ifname, ifname)) {
			dn_rec_free(&f->recs[i]);
			gone++;
			continue;
		}
		f->recs[k++] = f->recs[i];
	}
	f->n = k;
	dn_netfile_set_cdns(f, &(struct dn_cdns){.cid = (char *)cid, .ifname = (char *)ifname});
	return gone;
}

int dn_netfiles_each(int dirfd, bool (*fn)(const char *name, void *arg), void *arg)
{
	/* getdents64 into 4 KiB, not readdir's 32 KiB block: a daemon reload's peak is its RSS */
	union {
		struct dirent64 de;
		char b[4096];
	} u;
	int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC), n = 0;
	bool more = true;
	ssize_t got;

	if (fd < 0)
		return -errno;
	while (more && (got = getdents64(fd, u.b, sizeof(u.b))) > 0)
		for (ssize_t off = 0; more && off < got;) {
			const struct dirent64 *de = (const struct dirent64 *)(u.b + off);

			off += de->d_reclen;
			if (de->d_name[0] == '.')
				continue;
			n++;
			more = fn(de->d_name, arg);
		}
	close(fd);
	return n;
}

static bool stop_at_first(const char *name, void *arg)
{
	(void)name;
	(void)arg;
	return false;
}

int dn_netfiles_any(int dirfd)
{
	return dn_netfiles_each(dirfd, stop_at_first, NULL);
}

static int parse_addrs(char *s, struct dn_rec *r)
{
	char *save = NULL;

	if (!strcmp(s, "-"))
		return 0;
	for (char *t = strtok_r(s, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		struct dn_addr *a;

		if (r->n_addrs >= DN_MAX_ADDRS)
			return -EINVAL;
		a = &r->addrs[r->n_addrs];
		if (inet_pton(AF_INET, t, a->a) == 1)
			a->family = AF_INET;
		else if (inet_pton(AF_INET6, t, a->a) == 1)
			a->family = AF_INET6;
		else
			return -EINVAL;
		r->n_addrs++;
	}
	return 0;
}

static int parse_names(char *s, struct dn_rec *r)
{
	char *save = NULL;

	if (!strcmp(s, "-"))
		return 0;
	for (char *t = strtok_r(s, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		if (r->n_names >= DN_MAX_NAMES || !dn_name_valid(t))
			return -EINVAL;
		r->names[r->n_names++] = t;
	}
	return 0;
}

/* A "rec" line into @r, whose addrs and names point at caller arrays of the maximum sizes; the
 * strings point into @line. */
static int parse_rec(char *line, struct dn_rec *r)
{
	char *f[8], *save = NULL;
	int n = 0;

	for (char *t = strtok_r(line, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
		if (n == 8)
			return -EINVAL;
		f[n++] = t;
	}
	if (n != 8 || strcmp(f[0], "rec"))
		return -EINVAL;
	r->cid = f[1];
	r->ifname = f[2];
	r->netns = f[3];
	r->ns_dev = strtoull(f[4], NULL, 10);
	r->ns_ino = strtoull(f[5], NULL, 10);
	if (parse_addrs(f[6], r))
		return -EINVAL;
	return parse_names(f[7], r);
}

/* Line @lineno (the first is the header) of a network file into @f. */
/*
 * What a "cdns" line must match: a record of the same attachment (container id, ifname) in the
 * same netns (dev, inode). A reader of DN_READ_SERVE drops a record's ids, so it keeps their hash
 * here until the file is read.
 */
struct rec_keys {
	uint64_t *h;
	size_t n, cap;
	struct {
		uint64_t h;
		uint32_t a;
	} *addr; /* "addr" lines, matched to their records once the file is read */
	size_t n_addr, cap_addr;
};

static uint64_t att_hash(const char *cid, const char *ifname, uint64_t dev, uint64_t ino)
{
	uint64_t h = 14695981039346656037ull;
	const char *s[2] = {cid, ifname};

	for (int i = 0; i < 2; i++) {
		for (const char *p = s[i]; *p; p++)
			h = (h ^ (uint8_t)*p) * 1099511628211ull;
		h = (h ^ 0xffu) * 1099511628211ull; /* a byte no token holds */
	}
	for (int i = 0; i < 8; i++)
		h = (h ^ ((dev >> (8 * i)) & 0xff)) * 1099511628211ull;
	for (int i = 0; i < 8; i++)
		h = (h ^ ((ino >> (8 * i)) & 0xff)) * 1099511628211ull;
	return h;
}

static bool cdns_has_rec(const struct dn_netfile *f, const struct dn_cdns *c,
			 const struct rec_keys *keys)
{
	uint64_t h;

	if (!keys) {
		for (size_t i = 0; i < f->n; i++)
			if (!strcmp(f->recs[i].cid, c->cid) &&
			    !strcmp(f->recs[i].ifname, c->ifname) && f->recs[i].ns_dev == c->ns_dev &&
			    f->recs[i].ns_ino == c->ns_ino)
				return true;
		return false;
	}
	h = att_hash(c->cid, c->ifname, c->ns_dev, c->ns_ino);
	for (size_t i = 0; i < keys->n; i++)
		if (keys->h[i] == h)
			return true;
	return false;
}

/* Drop the "cdns" entries no record of theirs backs (a stale line: its netns may be reused). */
static void cdns_prune(struct dn_netfile *f, const struct rec_keys *keys)
{
	size_t k = 0;

	for (size_t i = 0; i < f->n_cdns; i++) {
		if (cdns_has_rec(f, &f->cdns[i], keys)) {
			f->cdns[k++] = f->cdns[i];
			continue;
		}
		free(f->cdns[i].cid);
		free(f->cdns[i].ifname);
		free(f->cdns[i].servers);
	}
	f->n_cdns = k;
}

static int read_line(char *line, int lineno, struct dn_netfile *f, unsigned int flags,
		     struct rec_keys *keys)
{
	if (lineno == 1)
		return strcmp(line, "cnic-dnsname 1") ? -EINVAL : 0;
	if (!strncmp(line, "domain ", 7)) {
		free(f->domain);
		f->domain = lower_dup(line + 7);
		if (!f->domain || (*f->domain && !dn_name_valid(f->domain)))
			return -EINVAL;
	} else if (!strncmp(line, "ttl ", 4)) {
		unsigned long v = strtoul(line + 4, NULL, 10);

		f->ttl = v > DN_MAX_TTL ? DN_MAX_TTL : (unsigned int)v;
	} else if (!strncmp(line, "rec ", 4)) {
		struct dn_addr addrs[DN_MAX_ADDRS];
		char *names[DN_MAX_NAMES];
		struct dn_rec rec = {.addrs = addrs, .names = names};
		int r = parse_rec(line, &rec);

		if (r)
			return r;
		/* every record's key, in file order (= the index of f->recs): "addr" lines find
		 * theirs by it */
		if (keys->n == keys->cap) {
			size_t cap = keys->cap ? keys->cap * 2 : 16;
			uint64_t *v = realloc(keys->h, cap * sizeof(*v));

			if (!v)
				return -ENOMEM;
			keys->h = v;
			keys->cap = cap;
		}
		keys->h[keys->n++] = att_hash(rec.cid, rec.ifname, rec.ns_dev, rec.ns_ino);
		if (flags & DN_READ_SERVE)
			rec.cid = rec.ifname = "";
		return dn_netfile_add(f, &rec);
	} else if (!strncmp(line, "servers ", 8)) {
		/* a writer's own check made it valid: a broken one is ignored, not the network */
		free(f->servers);
		f->servers = upstreams_valid(line + 8) ? strdup(line + 8) : NULL;
	} else if (!strncmp(line, "cdns ", 5)) {
		char *t[6], *save = NULL;
		int n = 0;

		for (char *x = strtok_r(line, " ", &save); x && n < 6; x = strtok_r(NULL, " ", &save))
			t[n++] = x;
		if (n == 6 && upstreams_valid(t[5]))
			return dn_netfile_set_cdns(
			    f, &(struct dn_cdns){.cid = t[1], .ifname = t[2], .servers = t[5],
						 .ns_dev = strtoull(t[3], NULL, 10),
						 .ns_ino = strtoull(t[4], NULL, 10)});
	} else if (!strncmp(line, "addr ", 5)) {
		char *t[7], *save = NULL;
		uint32_t a;
		int n = 0;

		for (char *x = strtok_r(line, " ", &save); x && n < 7; x = strtok_r(NULL, " ", &save))
			t[n++] = x;
		/* a broken one is ignored: its record is served at DN_RESOLVER_ADDR */
		if (n != 6 || dn_resolver_parse(t[5], &a))
			return 0;
		if (keys->n_addr == keys->cap_addr) {
			size_t cap = keys->cap_addr ? keys->cap_addr * 2 : 8;
			void *v = realloc(keys->addr, cap * sizeof(*keys->addr));

			if (!v)
				return -ENOMEM;
			keys->addr = v;
			keys->cap_addr = cap;
		}
		keys->addr[keys->n_addr].h = att_hash(t[1], t[2], strtoull(t[3], NULL, 10),
						      strtoull(t[4], NULL, 10));
		keys->addr[keys->n_addr++].a = a;
	} /* unknown lines: a newer writer's keys, ignored */
	return 0;
}

/*
 * Each "addr" line onto its record (same attachment, same netns); one without a record goes.
 * Our writer puts them in the order of their records: the search goes on from the last match,
 * so a file of thousands of them is read in one pass.
 */
static void addr_apply(struct dn_netfile *f, const struct rec_keys *keys)
{
	size_t n = f->n < keys->n ? f->n : keys->n, at = 0;

	for (size_t k = 0; k < keys->n_addr && n; k++)
		for (size_t j = 0; j < n; j++) {
			size_t i = (at + j) % n;

			if (keys->h[i] == keys->addr[k].h) {
				f->recs[i].resolver = keys->addr[k].a;
				at = i + 1;
				break;
			}
		}
}

/*
 * The file is read in blocks and parsed line by line: the daemon reads every file of a reload
 * while the old snapshot still lives, and a thousand records are 150 KB of text it need not hold.
 * A block grows only for a line longer than itself.
 */
#ifdef READ_BLOCK_TEST
#define READ_BLOCK READ_BLOCK_TEST /* the fuzzer's: every short input crosses blocks */
#else
#define READ_BLOCK (16u << 10)
#endif
/* The longest line we write is ~30 KB (64 names of 253 bytes, 4 KB tokens): a longer one is not
 * ours, and must not grow a reload's memory. */
#define READ_LINE_MAX (64u << 10)

/*
 * A "rec" or "addr" line of another netns than @ns ({dev, ino}): its netns fields (after @skip
 * tokens) read, nothing else. One too short to tell is not (the parser judges it).
 */
static bool other_ns(const char *line, size_t ll, int skip, const uint64_t *ns)
{
	const char *p = line, *end = line + ll;
	uint64_t v[2];

	for (int i = 0; i < skip; i++) {
		p = memchr(p, ' ', (size_t)(end - p));
		if (!p)
			return false;
		p++;
	}
	for (int i = 0; i < 2; i++) {
		char *e;

		v[i] = strtoull(p, &e, 10);
		if (e == p || e >= end || *e != ' ')
			return false;
		p = e + 1;
	}
	return v[0] != ns[0] || v[1] != ns[1];
}

/* @ns (dn_netfile_read_ns()): {dev, ino}, the netns whose "rec" and "addr" lines are read */
static int netfile_read(int dirfd, const char *name, struct dn_netfile *f, unsigned int flags,
			const uint64_t *ns)
{
	size_t cap = READ_BLOCK, len = 0, off;
	struct rec_keys keys = {0};
	struct stat st;
	int fd, r = 0, lineno = 0;
	bool eof = false;
	char *buf;

	memset(f, 0, sizeof(*f));
	fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st)) {
		r = -errno;
		close(fd);
		return r;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > DN_MAX_FILE) {
		close(fd);
		return S_ISREG(st.st_mode) ? -EFBIG : -EINVAL;
	}
	buf = malloc(cap);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	while (!r && !eof) {
		ssize_t got;
		char *nl;

		if (len == cap - 1) { /* a line longer than the block */
			char *v = cap >= READ_LINE_MAX ? NULL : realloc(buf, cap * 2);

			if (!v) {
				r = cap >= READ_LINE_MAX ? -EFBIG : -ENOMEM;
				break;
			}
			buf = v;
			cap *= 2;
		}
		got = read(fd, buf + len, cap - 1 - len);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			r = -errno;
			break;
		}
		eof = got == 0;
		len += (size_t)got;
		buf[len] = 0;
		for (off = 0; !r && off < len;) {
			char *line = buf + off;
			size_t ll;

			nl = memchr(line, '\n', len - off);
			if (!nl && !eof)
				break; /* the rest of this line comes with the next block */
			ll = nl ? (size_t)(nl - line) : len - off;
			off += ll + (nl ? 1 : 0);
			line[ll] = 0;
			if (memchr(line, 0, ll)) {
				r = -EINVAL; /* a NUL byte: not a file we wrote */
				lineno++;
			} else if (ns && ((!strncmp(line, "rec ", 4) && other_ns(line, ll, 4, ns)) ||
					  (!strncmp(line, "addr ", 5) && other_ns(line, ll, 3, ns)))) {
				lineno++; /* another netns' line: not parsed */
			} else if (ll) { /* empty lines are skipped, not counted */
				r = read_line(line, ++lineno, f, flags, &keys);
			}
		}
		memmove(buf, buf + off, len - off);
		len -= off;
	}
	close(fd);
	free(buf);
	if (!r) {
		addr_apply(f, &keys);
		cdns_prune(f, (flags & DN_READ_SERVE) ? &keys : NULL);
	}
	free(keys.h);
	free(keys.addr);
	if (!r && f->n && f->n < f->cap) { /* the doubling's slack, for as long as the file lives */
		void *v = realloc(f->recs, f->n * sizeof(*f->recs));

		if (v) {
			f->recs = v;
			f->cap = f->n;
		}
	}
	if (!r && !f->domain)
		f->domain = strdup(DN_DOMAIN);
	if (r) {
		if ((flags & DN_READ_VERBOSE) && r == -EINVAL)
			fprintf(stderr, "dnsname: network file %s: line %d is malformed\n", name,
				lineno);
		else if (flags & DN_READ_VERBOSE)
			fprintf(stderr, "dnsname: network file %s: %s\n", name, strerror(-r));
		dn_netfile_free(f);
	}
	return r;
}

int dn_netfile_read(int dirfd, const char *name, struct dn_netfile *f, unsigned int flags)
{
	return netfile_read(dirfd, name, f, flags, NULL);
}

int dn_netfile_read_ns(int dirfd, const char *name, struct dn_netfile *f, uint64_t dev,
		       uint64_t ino)
{
	const uint64_t ns[2] = {dev, ino};

	return netfile_read(dirfd, name, f, 0, ns);
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/*
 * Temporary files a killed writer left behind (".<network>.<pid>.tmp"): the daemon skips them,
 * nothing else ever removes them. Writers hold the run directory's lock, so the caller's own
 * network has no other writer and every temporary file of it is stale; another network's is
 * removed once its writer is gone (kill(pid, 0): ESRCH), whatever lock a writer of it holds.
 */
static void sweep_tmp(int dirfd, const char *name)
{
	int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	size_t nlen = strlen(name);
	struct dirent *de;
	DIR *d;

	if (fd < 0)
		return;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return;
	}
	while ((de = readdir(d))) {
		const char *n = de->d_name, *dot;
		char *end;
		long pid;

		if (n[0] != '.' || strlen(n) < 7 || strcmp(n + strlen(n) - 4, ".tmp"))
			continue;
		dot = memrchr(n, '.', strlen(n) - 4); /* the dot before the pid */
		if (!dot || dot == n)
			continue;
		pid = strtol(dot + 1, &end, 10);
		if (end != n + strlen(n) - 4 || end == dot + 1 || pid <= 0 || pid == getpid())
			continue;
		if (((size_t)(dot - n - 1) == nlen && !memcmp(n + 1, name, nlen)) ||
		    (kill((pid_t)pid, 0) && errno == ESRCH))
			unlinkat(dirfd, n, 0);
	}
	closedir(d);
}

int dn_netfile_write(int dirfd, const char *name, const struct dn_netfile *f)
{
	char tmp[300], ip[INET6_ADDRSTRLEN];
	char *text = NULL;
	size_t tlen = 0;
	FILE *m;
	int fd, r;

	sweep_tmp(dirfd, name);
	if (!f->n) {
		if (unlinkat(dirfd, name, 0) && errno != ENOENT)
			return -errno;
		fsync(dirfd);
		return 0;
	}
	m = open_memstream(&text, &tlen);
	if (!m)
		return -ENOMEM;
	fprintf(m, "cnic-dnsname 1\ndomain %s\nttl %u\n", f->domain ? f->domain : DN_DOMAIN, f->ttl);
	for (size_t i = 0; i < f->n; i++) {
		const struct dn_rec *rec = &f->recs[i];

		fprintf(m, "rec %s %s %s %llu %llu ", rec->cid, rec->ifname, rec->netns,
			(unsigned long long)rec->ns_dev, (unsigned long long)rec->ns_ino);
		for (size_t k = 0; k < rec->n_addrs; k++)
			fprintf(m, "%s%s", k ? "," : "",
				inet_ntop(rec->addrs[k].family, rec->addrs[k].a, ip, sizeof(ip)));
		fputs(rec->n_addrs ? " " : "- ", m);
		for (size_t k = 0; k < rec->n_names; k++)
			fprintf(m, "%s%s", k ? "," : "", rec->names[k]);
		fputs(rec->n_names ? "\n" : "-\n", m);
	}
	if (f->servers)
		fprintf(m, "servers %s\n", f->servers);
	for (size_t i = 0; i < f->n_cdns; i++)
		if (cdns_has_rec(f, &f->cdns[i], NULL))
			fprintf(m, "cdns %s %s %llu %llu %s\n", f->cdns[i].cid, f->cdns[i].ifname,
				(unsigned long long)f->cdns[i].ns_dev,
				(unsigned long long)f->cdns[i].ns_ino, f->cdns[i].servers);
	for (size_t i = 0; i < f->n; i++) {
		const struct dn_rec *rec = &f->recs[i];
		char ra[16];

		if (rec->resolver)
			fprintf(m, "addr %s %s %llu %llu %s\n", rec->cid, rec->ifname,
				(unsigned long long)rec->ns_dev, (unsigned long long)rec->ns_ino,
				dn_resolver_text(rec->resolver, ra));
	}
	if (fclose(m)) {
		free(text);
		return -ENOMEM;
	}
	snprintf(tmp, sizeof(tmp), ".%s.%d.tmp", name, (int)getpid());
	/* 0600: container ids, netns paths, names and addresses are root's (networks/ is 0700) */
	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		free(text);
		return -errno;
	}
	r = write_all(fd, text, tlen);
	free(text);
	if (!r && fsync(fd))
		r = -errno;
	if (close(fd) && !r)
		r = -errno;
	if (!r && renameat(dirfd, tmp, dirfd, name))
		r = -errno;
	if (r)
		unlinkat(dirfd, tmp, 0);
	else
		fsync(dirfd);
	return r;
}

int dn_ctl(const char *run_dir, const char *req, char *reply, size_t len, int timeout_ms)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct pollfd pfd;
	ssize_t n;
	int fd, r;

	if ((size_t)snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/dnsname.sock", run_dir) >=
	    sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		r = -errno;
		close(fd);
		return r;
	}
	if (send(fd, req, strlen(req), MSG_NOSIGNAL) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	pfd = (struct pollfd){.fd = fd, .events = POLLIN};
	r = poll(&pfd, 1, timeout_ms);
	if (r <= 0) {
		close(fd);
		return r ? -errno : -ETIMEDOUT;
	}
	n = recv(fd, reply, len - 1, 0);
	r = n < 0 ? -errno : n == 0 ? -ECONNRESET : 0;
	close(fd);
	if (!r)
		reply[n] = 0;
	return r;
}

const char *dn_run_dir_default(void)
{
	static char buf[96];
	const char *x = getenv("XDG_RUNTIME_DIR");
	bool have = !access("/run/cni", F_OK);

	if ((have && !access("/run/cni", W_OK)) || (!have && !access("/run", W_OK)))
		return DN_RUN_DIR;
	if (!x || x[0] != '/' ||
	    (size_t)snprintf(buf, sizeof(buf), "%s/cni/dnsname", x) > 80)
		return DN_RUN_DIR; /* nothing better: its failure will name it */
	return buf;
}
