// SPDX-License-Identifier: Apache-2.0
/*
 * The daemon's lease store: one text file per attachment, <statedir>/<sha512(key)[:32]>.lease,
 * holding everything needed to resume the lease after a restart (attachment, client options,
 * lease, server, wall-clock time it was acquired). Written to a temp file, fsync'd, renamed over
 * the old one and the directory fsync'd, so a crash leaves the old or the new file, never a torn
 * one. Files that do not parse are logged and left in place for inspection (never resumed).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cni/hash.h"
#include "daemon.h"

#define DHCP_STORE_VERSION 1

void dhcp_store_name(struct dhcp_client *c)
{
	char h[33];

	cni_sha512_hex(h, 32, c->cid, "/", c->network, "/", c->ifname, NULL);
	snprintf(c->file, sizeof(c->file), "%s.lease", h);
}

static void dhcp_hex(FILE *f, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%02x", p[i]);
}

static int dhcp_unhex(const char *s, uint8_t *out, size_t cap)
{
	size_t n = strlen(s);

	if (n % 2 || n / 2 > cap)
		return -EINVAL;
	for (size_t i = 0; i < n / 2; i++) {
		unsigned int v;

		if (sscanf(s + 2 * i, "%2x", &v) != 1)
			return -EINVAL;
		out[i] = (uint8_t)v;
	}
	return (int)(n / 2);
}

static void dhcp_ip(FILE *f, const char *k, const uint8_t a[4])
{
	fprintf(f, "%s %u.%u.%u.%u\n", k, a[0], a[1], a[2], a[3]);
}

static int dhcp_parse_ip(const char *s, uint8_t a[4])
{
	unsigned int x[4];
	char tail;

	if (sscanf(s, "%u.%u.%u.%u%c", &x[0], &x[1], &x[2], &x[3], &tail) != 4)
		return -EINVAL;
	for (int i = 0; i < 4; i++) {
		if (x[i] > 255)
			return -EINVAL;
		a[i] = (uint8_t)x[i];
	}
	return 0;
}

int dhcp_store_save(const struct dhcp_client *c)
{
	char tmp[4096 + 96], path[4096 + 96];
	FILE *f;
	int fd, r = 0, dfd;

	snprintf(path, sizeof(path), "%s/%s", dhcp_statedir, c->file);
	snprintf(tmp, sizeof(tmp), "%s/.tmp-%s", dhcp_statedir, c->file);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	f = fdopen(fd, "w");
	if (!f) {
		r = -errno;
		close(fd);
		unlink(tmp);
		return r;
	}
	fprintf(f, "version %d\ncid %s\nnetwork %s\nifname %s\nnetns %s\n", DHCP_STORE_VERSION,
		c->cid, c->network, c->ifname, c->netns);
	fprintf(f, "client-id ");
	dhcp_hex(f, c->client_id, c->client_id_len);
	fprintf(f, "\nrequest ");
	dhcp_hex(f, c->req_opts, c->n_req_opts);
	fprintf(f, "\n");
	for (size_t i = 0; i < c->n_provide; i++) {
		fprintf(f, "provide %u ", c->provide[i].code);
		dhcp_hex(f, c->provide[i].data, c->provide[i].len);
		fprintf(f, "\n");
	}
	fprintf(f, "broadcast %d\ntimeouts %u %u %u\n", c->broadcast, c->timeout_ms,
		c->resend_max_ms, c->resend_timeout_ms);
	fprintf(f, "addr %u.%u.%u.%u/%u\n", c->lease.addr[0], c->lease.addr[1], c->lease.addr[2],
		c->lease.addr[3], c->lease.mask_len);
	if (c->lease.has_gw)
		dhcp_ip(f, "gateway", c->lease.gw);
	for (size_t i = 0; i < c->lease.n_routes; i++) {
		const struct nu_dhcp_route *rt = &c->lease.routes[i];

		fprintf(f, "route %u.%u.%u.%u/%u %u.%u.%u.%u\n", rt->dst[0], rt->dst[1], rt->dst[2],
			rt->dst[3], rt->len, rt->gw[0], rt->gw[1], rt->gw[2], rt->gw[3]);
	}
	dhcp_ip(f, "server-id", c->server_id);
	fprintf(f, "server-mac ");
	dhcp_hex(f, c->server_mac, 6);
	fprintf(f, "\nmac ");
	dhcp_hex(f, c->mac, 6);
	fprintf(f, "\nlease %u %u %u\nacquired %lld\n", c->lease.lease_secs, c->t1_secs,
		c->t2_secs, c->acquired_wall);
	if (fflush(f) || fsync(fd))
		r = -errno;
	if (fclose(f) && !r)
		r = -errno;
	if (!r && rename(tmp, path) < 0)
		r = -errno;
	if (r) {
		unlink(tmp);
		return r;
	}
	dfd = open(dhcp_statedir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	return 0;
}

int dhcp_store_remove(const struct dhcp_client *c)
{
	char path[4096 + 96];

	snprintf(path, sizeof(path), "%s/%s", dhcp_statedir, c->file);
	if (unlink(path) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

/* One "key value" line into @c. 0 or -EINVAL. */
static int dhcp_store_line(struct dhcp_client *c, char *k, char *v, bool *has_addr)
{
	int n;

	if (!strcmp(k, "version"))
		return atoi(v) == DHCP_STORE_VERSION ? 0 : -EINVAL;
	if (!strcmp(k, "cid") || !strcmp(k, "network") || !strcmp(k, "ifname") ||
	    !strcmp(k, "netns")) {
		char *dst = k[0] == 'c' ? c->cid : k[0] == 'i' ? c->ifname : k[3] == 'w' ? c->network
											 : c->netns;
		size_t cap = k[0] == 'c'   ? sizeof(c->cid)
			     : k[0] == 'i' ? sizeof(c->ifname)
			     : k[3] == 'w' ? sizeof(c->network)
					   : sizeof(c->netns);

		if (strlen(v) >= cap)
			return -EINVAL;
		strcpy(dst, v);
		return 0;
	}
	if (!strcmp(k, "client-id")) {
		n = dhcp_unhex(v, c->client_id, sizeof(c->client_id));
		c->client_id_len = n > 0 ? (size_t)n : 0;
		return n < 0 ? n : 0;
	}
	if (!strcmp(k, "request")) {
		n = dhcp_unhex(v, c->req_opts, sizeof(c->req_opts));
		c->n_req_opts = n > 0 ? (size_t)n : 0;
		return n < 0 ? n : 0;
	}
	if (!strcmp(k, "provide")) {
		struct dhcp_provide *p = &c->provide[c->n_provide];
		char *sp = strchr(v, ' ');
		unsigned int code;

		if (c->n_provide >= DHCP_MAX_PROVIDE || !sp || sscanf(v, "%u", &code) != 1 ||
		    code > 255)
			return -EINVAL;
		n = dhcp_unhex(sp + 1, p->data, sizeof(p->data));
		if (n < 0)
			return n;
		p->code = (uint8_t)code;
		p->len = (uint8_t)n;
		c->n_provide++;
		return 0;
	}
	if (!strcmp(k, "broadcast")) {
		c->broadcast = atoi(v) != 0;
		return 0;
	}
	if (!strcmp(k, "timeouts"))
		return sscanf(v, "%u %u %u", &c->timeout_ms, &c->resend_max_ms,
			      &c->resend_timeout_ms) == 3
			   ? 0
			   : -EINVAL;
	if (!strcmp(k, "addr")) {
		char *sl = strchr(v, '/');
		int len;

		if (!sl)
			return -EINVAL;
		*sl = '\0';
		len = atoi(sl + 1);
		if (len < 0 || len > 32 || dhcp_parse_ip(v, c->lease.addr))
			return -EINVAL;
		c->lease.mask_len = (uint8_t)len;
		*has_addr = true;
		return 0;
	}
	if (!strcmp(k, "gateway")) {
		c->lease.has_gw = true;
		return dhcp_parse_ip(v, c->lease.gw);
	}
	if (!strcmp(k, "route")) {
		struct nu_dhcp_route *rt = &c->lease.routes[c->lease.n_routes];
		char *sl = strchr(v, '/'), *sp = strchr(v, ' ');
		int len;

		if (c->lease.n_routes >= DHCP_MAX_ROUTES || !sl || !sp || sp < sl)
			return -EINVAL;
		*sl = *sp = '\0';
		len = atoi(sl + 1);
		if (len < 0 || len > 32 || dhcp_parse_ip(v, rt->dst) || dhcp_parse_ip(sp + 1, rt->gw))
			return -EINVAL;
		rt->len = (uint8_t)len;
		c->lease.n_routes++;
		return 0;
	}
	if (!strcmp(k, "server-id"))
		return dhcp_parse_ip(v, c->server_id);
	if (!strcmp(k, "server-mac"))
		return dhcp_unhex(v, c->server_mac, 6) == 6 ? 0 : -EINVAL;
	if (!strcmp(k, "mac"))
		return dhcp_unhex(v, c->mac, 6) == 6 ? 0 : -EINVAL;
	if (!strcmp(k, "lease"))
		return sscanf(v, "%u %u %u", &c->lease.lease_secs, &c->t1_secs, &c->t2_secs) == 3
			   ? 0
			   : -EINVAL;
	if (!strcmp(k, "acquired"))
		return sscanf(v, "%lld", &c->acquired_wall) == 1 ? 0 : -EINVAL;
	return 0; /* unknown keys: a newer daemon's; ignored */
}

static struct dhcp_client *dhcp_store_read(int dfd, const char *name)
{
	struct dhcp_request rq = {0};
	struct dhcp_client *c;
	char *line = NULL;
	size_t cap = 0;
	bool has_addr = false;
	int fd, r = 0;
	FILE *f;

	fd = openat(dfd, name, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	f = fdopen(fd, "r");
	if (!f) {
		close(fd);
		return NULL;
	}
	c = dhcp_client_new(&rq, 0, 0, 0, false);
	if (!c) {
		fclose(f);
		return NULL;
	}
	while (!r && getline(&line, &cap, f) > 0) {
		char *sp;

		line[strcspn(line, "\n")] = '\0';
		sp = strchr(line, ' ');
		if (!sp) {
			r = -EINVAL;
			break;
		}
		*sp = '\0';
		r = dhcp_store_line(c, line, sp + 1, &has_addr);
	}
	free(line);
	fclose(f);
	if (r || !has_addr || !c->cid[0] || !c->ifname[0] || !c->netns[0] || !c->lease.lease_secs) {
		dhcp_log("lease file %s/%s is malformed; ignored", dhcp_statedir, name);
		dhcp_client_free(c);
		return NULL;
	}
	dhcp_store_name(c);
	if (strcmp(c->file, name)) {
		dhcp_log("lease file %s/%s does not match its attachment; ignored", dhcp_statedir,
			 name);
		dhcp_client_free(c);
		return NULL;
	}
	c->have_lease = true;
	c->state = DHCP_S_BOUND;
	return c;
}

int dhcp_store_load(void (*fn)(struct dhcp_client *c))
{
	struct dirent *d;
	DIR *dir;
	int dfd;

	dfd = open(dhcp_statedir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return errno == ENOENT ? 0 : -errno;
	dir = fdopendir(dfd);
	if (!dir) {
		close(dfd);
		return -errno;
	}
	while ((d = readdir(dir))) {
		size_t n = strlen(d->d_name);
		struct dhcp_client *c;

		if (!strncmp(d->d_name, ".tmp-", 5)) {
			unlinkat(dfd, d->d_name, 0); /* a save interrupted by a crash */
			continue;
		}
		if (n < 7 || strcmp(d->d_name + n - 6, ".lease"))
			continue;
		c = dhcp_store_read(dfd, d->d_name);
		if (c)
			fn(c);
	}
	closedir(dir);
	return 0;
}
