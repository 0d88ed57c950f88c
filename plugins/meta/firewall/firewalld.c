// SPDX-License-Identifier: Apache-2.0
/*
 * firewalld over D-Bus, for the firewall plugin: whether org.fedoraproject.FirewallD1 has an
 * owner on the system bus (NameHasOwner), and the zone methods the reference's "firewalld"
 * backend calls on /org/fedoraproject/FirewallD1, interface org.fedoraproject.FirewallD1.zone:
 * addSource, removeSource, querySource (zone, source). It creates no kernel object: firewalld
 * binds the source to the zone in its runtime configuration (lost when firewalld reloads).
 * sd-bus is loaded with dlopen("libsystemd.so.0") only when a system bus socket exists, so a
 * host without D-Bus maps nothing more and its firewall runs exactly as it did; libsystemd is
 * not linked (it would cost every start-up). Each call, the connection's authentication
 * included, is answered within FWD_TIMEOUT_USEC or fails with ETIMEDOUT.
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <systemd/sd-bus.h>
#include <time.h>

#include "cni/cni.h"
#include "firewalld.h"

#define FWD_TIMEOUT_USEC (2 * 1000000ULL)
#define FWD_NAME "org.fedoraproject.FirewallD1"
#define FWD_PATH "/org/fedoraproject/FirewallD1"
#define FWD_ZONE FWD_NAME ".zone"
#define FWD_DEFAULT_BUS "/run/dbus/system_bus_socket"

/* The sd-bus functions used, typed by libsystemd's own header, resolved once. */
#define FWD_SD_FUNCS(X)                                                                            \
	X(sd_bus_open_system)                                                                      \
	X(sd_bus_close_unref)                                                                      \
	X(sd_bus_message_new_method_call)                                                          \
	X(sd_bus_message_append)                                                                   \
	X(sd_bus_message_unref)                                                                    \
	X(sd_bus_call_async)                                                                       \
	X(sd_bus_slot_unref)                                                                       \
	X(sd_bus_process)                                                                          \
	X(sd_bus_wait)                                                                             \
	X(sd_bus_message_get_error)                                                                \
	X(sd_bus_message_read_basic)

static struct {
#define X(f) __typeof__(f) *f;
	FWD_SD_FUNCS(X)
#undef X
} sd;

struct fwd {
	sd_bus *bus;
	int broken; /* <0: a call timed out or the connection failed; later calls fail at once */
	char why[160];
};

static bool is_socket(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISSOCK(st.st_mode);
}

/*
 * Whether a system bus may be there. DBUS_SYSTEM_BUS_ADDRESS is a ';'-separated list of
 * "transport:key=value,..." entries: a unix path is looked at; an abstract socket, another
 * transport or an escaped path cannot be told without trying, so it counts as present.
 */
static bool fwd_bus_present(void)
{
	const char *a = getenv("DBUS_SYSTEM_BUS_ADDRESS");

	if (!a || !*a)
		return is_socket(FWD_DEFAULT_BUS);
	while (*a) {
		size_t n = strcspn(a, ";");
		char one[512];
		char *p;

		if (n && n < sizeof(one)) {
			memcpy(one, a, n);
			one[n] = '\0';
			if (strncmp(one, "unix:", 5) != 0)
				return true;
			for (p = strtok(one + 5, ","); p && strncmp(p, "path=", 5);
			     p = strtok(NULL, ","))
				;
			if (!p || strchr(p, '%') || is_socket(p + 5))
				return true;
		} else if (n) {
			return true;
		}
		a += n + (a[n] == ';');
	}
	return false;
}

static int fwd_load(struct cni_err *e)
{
	void *h = dlopen("libsystemd.so.0", RTLD_NOW | RTLD_LOCAL);

	if (!h)
		return cni_fail(e, -ENOENT, 0, "cannot load libsystemd.so.0: %s", dlerror());
#define X(f)                                                                                       \
	if (!(sd.f = (__typeof__(sd.f))dlsym(h, #f)))                                              \
		return cni_fail(e, -ENOSYS, 0, "libsystemd.so.0 has no %s", #f);
	FWD_SD_FUNCS(X)
#undef X
	return 0;
}

static uint64_t now_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000ULL + (uint64_t)ts.tv_nsec / 1000;
}

struct fwd_reply {
	bool done, want_bool;
	int r;	   /* 0, or a negative errno: a D-Bus error reply (name, msg) or a bad answer */
	int value; /* want_bool: the answer */
	char name[128]; /* the D-Bus error's name and message */
	char msg[256];
};

/* The errno of a D-Bus error reply: the bus's own names where one fits, else EIO. */
static int fwd_errno(const char *name)
{
	if (strstr(name, ".NoReply") || strstr(name, ".Timeout"))
		return -ETIMEDOUT;
	if (strstr(name, ".ServiceUnknown") || strstr(name, ".NameHasNoOwner"))
		return -ESRCH;
	return -EIO;
}

/* What went wrong with a call: the D-Bus error's "name: message", or why no reply came. */
static const char *fwd_why(const struct fwd *b, const struct fwd_reply *rep, int r, char *buf,
			   size_t size)
{
	if (rep->name[0])
		snprintf(buf, size, "%s%s%s", rep->name, rep->msg[0] ? ": " : "", rep->msg);
	else
		snprintf(buf, size, "%s", b->broken ? b->why : strerror(-r));
	return buf;
}

static int fwd_on_reply(sd_bus_message *m, void *arg, sd_bus_error *unused)
{
	struct fwd_reply *rep = arg;
	const sd_bus_error *err = sd.sd_bus_message_get_error(m);

	(void)unused;
	rep->done = true;
	if (err) {
		snprintf(rep->name, sizeof(rep->name), "%s", err->name ? err->name : "");
		snprintf(rep->msg, sizeof(rep->msg), "%s", err->message ? err->message : "");
		rep->r = fwd_errno(rep->name);
	} else if (rep->want_bool) {
		int b = 0;

		rep->r = sd.sd_bus_message_read_basic(m, 'b', &b);
		rep->r = rep->r > 0 ? 0 : rep->r < 0 ? rep->r : -EBADMSG;
		rep->value = b;
	}
	return 0;
}

/*
 * One method call with one or two string arguments (@sig "s" or "ss"), its reply in @rep within
 * FWD_TIMEOUT_USEC. Returns 0 when a reply came (rep->r tells whether it is an error), or a
 * negative errno when none did (the connection is then marked broken). Not sd_bus_call(): its
 * timeout starts after the connection's authentication, which sd-bus grants 90 s (systemd 252);
 * an asynchronous call and this loop bound both.
 */
static int fwd_call(struct fwd *b, const char *dest, const char *path, const char *iface,
		    const char *method, const char *sig, const char *a1, const char *a2,
		    struct fwd_reply *rep)
{
	uint64_t end = now_usec() + FWD_TIMEOUT_USEC;
	sd_bus_message *m = NULL;
	sd_bus_slot *slot = NULL;
	int r;

	if (b->broken)
		return b->broken;
	r = sd.sd_bus_message_new_method_call(b->bus, &m, dest, path, iface, method);
	if (r >= 0)
		r = sd.sd_bus_message_append(m, sig, a1, a2);
	if (r >= 0)
		r = sd.sd_bus_call_async(b->bus, &slot, m, fwd_on_reply, rep, FWD_TIMEOUT_USEC);
	sd.sd_bus_message_unref(m);
	while (r >= 0 && !rep->done) {
		uint64_t t = now_usec();

		if (t >= end)
			r = -ETIMEDOUT;
		else if ((r = sd.sd_bus_process(b->bus, NULL)) == 0)
			r = sd.sd_bus_wait(b->bus, end - t);
	}
	sd.sd_bus_slot_unref(slot); /* a call left unanswered is cancelled */
	if (r < 0) {
		b->broken = r;
		snprintf(b->why, sizeof(b->why), "%s",
			 r == -ETIMEDOUT ? "no answer within 2 s" : strerror(-r));
		return r;
	}
	return 0;
}

int fwd_open(struct fwd **b, struct cni_err *e)
{
	static bool loaded;
	const char *a = getenv("DBUS_SYSTEM_BUS_ADDRESS");
	struct fwd *f;
	int r;

	*b = NULL;
	if (!fwd_bus_present())
		return 0;
	if (!loaded && (r = fwd_load(e)) < 0)
		return r;
	loaded = true;
	f = cni_alloc(sizeof(*f));
	memset(f, 0, sizeof(*f));
	r = sd.sd_bus_open_system(&f->bus);
	if (r < 0)
		return cni_fail(e, r, 0, "system bus %s: %s", a && *a ? a : FWD_DEFAULT_BUS,
				strerror(-r));
	*b = f;
	return 0;
}

void fwd_close(struct fwd *b)
{
	if (b)
		sd.sd_bus_close_unref(b->bus);
}

int fwd_running(struct fwd *b, struct cni_err *e)
{
	struct fwd_reply rep = {.want_bool = true};
	char why[400];
	int r = fwd_call(b, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
			 "NameHasOwner", "s", FWD_NAME, NULL, &rep);

	if (r == 0)
		r = rep.r;
	if (r < 0)
		return cni_fail(e, r, 0, "system bus: NameHasOwner(\"%s\"): %s", FWD_NAME,
				fwd_why(b, &rep, r, why, sizeof(why)));
	return rep.value != 0;
}

int fwd_source(struct fwd *b, enum fwd_method m, const char *zone, const char *src,
	       struct cni_err *e)
{
	static const char *const methods[] = {"addSource", "removeSource", "querySource"};
	struct fwd_reply rep = {.want_bool = m == FWD_QUERY_SOURCE};
	char why[400];
	int r = fwd_call(b, FWD_NAME, FWD_PATH, FWD_ZONE, methods[m], "ss", zone, src, &rep);

	if (r == 0)
		r = rep.r;
	/* firewalld's exception names its error code first: "ZONE_ALREADY_SET: ..." */
	if (r < 0 && m == FWD_ADD_SOURCE && strstr(rep.msg, "ZONE_ALREADY_SET"))
		return 0;
	if (r < 0)
		return cni_fail(e, r, r == -ETIMEDOUT ? CNI_ERR_TRY_LATER : 0,
				"firewalld %s(zone \"%s\", source \"%s\"): %s", methods[m], zone,
				src, fwd_why(b, &rep, r, why, sizeof(why)));
	return m == FWD_QUERY_SOURCE ? rep.value != 0 : 1;
}
