// SPDX-License-Identifier: Apache-2.0
/*
 * pkg/daemon without root: the loop's tagged events and its batch that ends after a handler that
 * may free (the rest come back at the next turn), signals through the signalfd (and SIGPIPE
 * ignored), systemd socket activation from a fake LISTEN_PID/LISTEN_FDS, the locked pid file
 * (create, held, stale, a loose mode tightened, no symlink followed) and the written one, and the
 * spare descriptor that sheds a connection when descriptors run out; LISTEN_FDNAMES read by index,
 * and sd_notify's protocol (a message with descriptors to a fake $NOTIFY_SOCKET, path and abstract).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <stddef.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "daemon/daemon.h"
#include "tap.h"

static char dir[] = "/tmp/cnic-test-daemon.XXXXXX";

struct obj {
	struct dmn_ev ev;
	int fd;
	int seen;
	uint32_t got; /* the events of its last call */
};

struct turn {
	int calls;
	struct obj *last;
	uint32_t events;
	bool stop_after; /* the handler "frees": end the batch */
};

static bool on_ev(void *arg, struct dmn_ev *ev, uint32_t events)
{
	struct turn *t = arg;
	struct obj *o = ev->owner;

	t->calls++;
	t->last = o;
	t->events = events;
	o->seen++;
	o->got = events;
	return t->stop_after;
}

static void test_loop(void)
{
	struct dmn_loop l;
	int a[2], b[2];
	struct obj oa = {.ev = {.kind = 7}}, ob = {.ev = {.kind = 8}};
	struct turn t = {0};
	char c;

	CHECK_INT(dmn_loop_open(&l), 0);
	CHECK(fcntl(l.ep, F_GETFD) & FD_CLOEXEC);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, a) ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, b)) {
		TAP_FAIL("socketpair", "%s", strerror(errno));
		return;
	}
	oa.ev.owner = &oa;
	oa.fd = a[0];
	ob.ev.owner = &ob;
	ob.fd = b[0];
	CHECK_INT(dmn_loop_add(&l, a[0], &oa.ev, EPOLLIN), 0);
	CHECK_INT(dmn_loop_add(&l, b[0], &ob.ev, EPOLLIN), 0);
	CHECK_INT(dmn_loop_add(&l, b[0], &ob.ev, EPOLLIN), -EEXIST);

	/* nothing ready: the timeout, no call */
	CHECK_INT(dmn_loop_turn(&l, 0, 64, on_ev, &t), 0);
	CHECK_INT(t.calls, 0);

	/* both ready, the handler keeps the batch going: both handed over, tags intact */
	CHECK(write(a[1], "x", 1) == 1 && write(b[1], "y", 1) == 1);
	CHECK_INT(dmn_loop_turn(&l, 1000, 64, on_ev, &t), 2);
	CHECK_INT(t.calls, 2);
	CHECK_INT(oa.seen, 1);
	CHECK_INT(ob.seen, 1);
	CHECK_INT(oa.ev.kind, 7);

	/* a handler that may free ends the batch; the other (level-triggered) comes back */
	t = (struct turn){.stop_after = true};
	CHECK_INT(dmn_loop_turn(&l, 1000, 64, on_ev, &t), 1);
	CHECK_INT(t.calls, 1);
	{
		struct obj *first = t.last, *other = first == &oa ? &ob : &oa;

		/* "free" the first: its event leaves the loop, as a closed connection's does */
		dmn_loop_del(&l, first->fd);
		t = (struct turn){.stop_after = true};
		CHECK_INT(dmn_loop_turn(&l, 1000, 64, on_ev, &t), 1);
		CHECK(t.last == other);
		CHECK(read(other->fd, &c, 1) == 1);
		t = (struct turn){0};
		CHECK_INT(dmn_loop_turn(&l, 0, 64, on_ev, &t), 0);
		CHECK_INT(t.calls, 0);
		TAP_OK("a batch ended by a freeing handler: the rest come back, the freed one not");
		CHECK(read(first->fd, &c, 1) == 1);
		CHECK_INT(dmn_loop_add(&l, first->fd, &first->ev, EPOLLIN), 0);
	}

	/* max bounds the batch; mod changes the mask */
	CHECK(write(a[1], "x", 1) == 1 && write(b[1], "z", 1) == 1);
	t = (struct turn){0};
	CHECK_INT(dmn_loop_turn(&l, 1000, 1, on_ev, &t), 1);
	CHECK_INT(dmn_loop_mod(&l, b[0], &ob.ev, EPOLLOUT), 0);
	t = (struct turn){0};
	oa.got = ob.got = 0;
	CHECK_INT(dmn_loop_turn(&l, 1000, 64, on_ev, &t), 2); /* a: "x" unread; b: writable */
	CHECK_INT(oa.got, EPOLLIN);
	CHECK_INT(ob.got, EPOLLOUT);
	CHECK_INT(dmn_loop_mod(&l, 999, &ob.ev, EPOLLIN), -EBADF);

	dmn_loop_close(&l);
	CHECK_INT(l.ep, -1);
	dmn_loop_close(&l); /* twice: harmless */
	close(a[0]), close(a[1]), close(b[0]), close(b[1]);
}

static void test_signals(void)
{
	static const int sigs[] = {SIGUSR1, SIGUSR2};
	struct dmn_loop l;
	struct obj o = {.ev = {.kind = 1}};
	struct turn t = {0};
	int sfd = dmn_signals(sigs, 2), p[2];

	o.ev.owner = &o;
	CHECK(sfd >= 0);
	if (sfd < 0)
		return;
	CHECK(fcntl(sfd, F_GETFD) & FD_CLOEXEC);
	CHECK(fcntl(sfd, F_GETFL) & O_NONBLOCK);
	CHECK_INT(dmn_signal_next(sfd), 0);
	CHECK_INT(dmn_loop_open(&l), 0);
	CHECK_INT(dmn_loop_add(&l, sfd, &o.ev, EPOLLIN), 0);
	/* blocked: delivered to the signalfd, not as a signal (the default would kill us) */
	CHECK_INT(kill(getpid(), SIGUSR2), 0);
	CHECK_INT(dmn_loop_turn(&l, 1000, 64, on_ev, &t), 1);
	CHECK(t.last == &o);
	CHECK_INT(dmn_signal_next(sfd), SIGUSR2);
	CHECK_INT(dmn_signal_next(sfd), 0);
	CHECK_INT(kill(getpid(), SIGUSR1), 0);
	CHECK_INT(dmn_signal_next(sfd), SIGUSR1);
	dmn_loop_close(&l);
	close(sfd);

	/* SIGPIPE ignored: a write to a closed peer fails with EPIPE instead of killing */
	CHECK_INT(socketpair(AF_UNIX, SOCK_STREAM, 0, p), 0);
	close(p[1]);
	CHECK(write(p[0], "x", 1) < 0 && errno == EPIPE);
	close(p[0]);
}

static void test_activation(void)
{
	char pid[32];
	int saved = fcntl(3, F_DUPFD_CLOEXEC, 10), s[2];

	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	CHECK(dmn_listen_fds() == NULL);
	setenv("LISTEN_FDS", "1", 1);
	CHECK(dmn_listen_fds() == NULL); /* no LISTEN_PID */
	snprintf(pid, sizeof(pid), "%d", (int)getpid() + 1);
	setenv("LISTEN_PID", pid, 1);
	CHECK(dmn_listen_fds() == NULL); /* another process's */
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	setenv("LISTEN_PID", pid, 1);
	setenv("LISTEN_FDS", "2", 1);
	CHECK_STR(dmn_listen_fds(), "2");
	setenv("LISTEN_FDS", "1", 1);
	setenv("LISTEN_FDNAMES", "ctl", 1);
	CHECK_STR(dmn_listen_fds(), "1");

	/* the passed socket at 3, inheritable and blocking as systemd leaves it */
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, s) || dup2(s[0], 3) != 3) {
		TAP_FAIL("socket at fd 3", "%s", strerror(errno));
		return;
	}
	CHECK_INT(fcntl(3, F_GETFD) & FD_CLOEXEC, 0);
	CHECK_INT(dmn_listen_take(1), 3);
	CHECK(fcntl(3, F_GETFD) & FD_CLOEXEC);
	CHECK(fcntl(3, F_GETFL) & O_NONBLOCK);
	CHECK(!getenv("LISTEN_PID") && !getenv("LISTEN_FDS") && !getenv("LISTEN_FDNAMES"));
	CHECK(dmn_listen_fds() == NULL); /* taken once */
	close(s[0]);
	close(s[1]);
	close(3);
	if (saved >= 0) {
		dup2(saved, 3);
		close(saved);
	}
}

static void read_file(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY);
	ssize_t n = fd >= 0 ? read(fd, buf, size - 1) : -1;

	buf[n > 0 ? n : 0] = 0;
	if (fd >= 0)
		close(fd);
}

static void test_pidfile(void)
{
	char path[128], link[128], want[32], got[64];
	struct stat st;
	int fd, fd2;

	snprintf(path, sizeof(path), "%s/d.pid", dir);
	snprintf(link, sizeof(link), "%s/link.pid", dir);
	snprintf(want, sizeof(want), "%d\n", (int)getpid());

	/* create, write, held */
	fd = dmn_pidfile_lock(path);
	CHECK(fd >= 0);
	CHECK(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	CHECK_INT(dmn_pidfile_put(fd), 0);
	read_file(path, got, sizeof(got));
	CHECK_STR(got, want);
	CHECK(!stat(path, &st) && (st.st_mode & 0777) == 0600);
	/* a second open file description conflicts even in this process: as another daemon would */
	CHECK_INT(dmn_pidfile_lock(path), -EWOULDBLOCK);
	close(fd);

	/* stale (its holder gone), longer contents, a loose mode: taken over, tightened, rewritten
	 */
	fd = open(path, O_WRONLY | O_TRUNC);
	CHECK(fd >= 0 && write(fd, "123456789012\n", 13) == 13);
	close(fd);
	chmod(path, 0644);
	fd = dmn_pidfile_lock(path);
	CHECK(fd >= 0);
	CHECK(!stat(path, &st) && (st.st_mode & 0777) == 0600);
	CHECK_INT(dmn_pidfile_put(fd), 0);
	read_file(path, got, sizeof(got));
	CHECK_STR(got, want);
	close(fd);

	/* a symlink is not followed */
	CHECK_INT(symlink(path, link), 0);
	CHECK_INT(dmn_pidfile_lock(link), -ELOOP);
	unlink(link);

	/* the written one: atomic, no temp file left, a symlink replaced rather than followed */
	CHECK_INT(symlink("nowhere", link), 0);
	CHECK_INT(dmn_pidfile_write(link), 0);
	CHECK(!lstat(link, &st) && S_ISREG(st.st_mode));
	read_file(link, got, sizeof(got));
	CHECK_STR(got, want);
	snprintf(got, sizeof(got), "%s.tmp", link);
	CHECK(access(got, F_OK) && errno == ENOENT);
	snprintf(got, sizeof(got), "%s/no/such/dir.pid", dir);
	CHECK_INT(dmn_pidfile_write(got), -ENOENT);
	/* a held lock does not stop the unlocked kind, nor the reverse: they are separate uses */
	fd2 = dmn_pidfile_lock(path);
	CHECK(fd2 >= 0);
	close(fd2);
	unlink(path);
	unlink(link);
}

static void test_shed(void)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct rlimit old, rl;
	int lfd, cfd, spare = -1, fill[256], nfill = 0, fd;
	char c;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/l.sock", dir);
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	cfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0 || cfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) || listen(lfd, 4) ||
	    connect(cfd, (struct sockaddr *)&sa, sizeof(sa))) {
		TAP_FAIL("listener", "%s", strerror(errno));
		return;
	}
	CHECK(!dmn_accept_shed(lfd, &spare)); /* no spare: nothing to give up */
	spare = dmn_spare_open();
	CHECK(spare >= 0);

	/* out of descriptors: the limit just above what is open, the rest filled */
	getrlimit(RLIMIT_NOFILE, &old);
	rl = old;
	rl.rlim_cur = (rlim_t)(spare > cfd ? spare : cfd) + 1 + 8;
	if (rl.rlim_cur > old.rlim_cur || setrlimit(RLIMIT_NOFILE, &rl)) {
		TAP_SKIP("shedding out of descriptors", "cannot lower RLIMIT_NOFILE");
		close(spare), close(lfd), close(cfd);
		return;
	}
	while (nfill < 256 && (fd = open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0)
		fill[nfill++] = fd;
	fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	CHECK(fd < 0 && errno == EMFILE);
	CHECK(dmn_accept_shed(lfd, &spare));
	CHECK(spare >= 0);		      /* taken again */
	CHECK(recv(cfd, &c, 1, 0) == 0);      /* the client sees its connection closed */
	CHECK(!dmn_accept_shed(lfd, &spare)); /* nothing waiting: false, the spare kept */
	CHECK(spare >= 0);
	while (nfill)
		close(fill[--nfill]);
	setrlimit(RLIMIT_NOFILE, &old);
	close(spare);
	close(lfd);
	close(cfd);
	unlink(sa.sun_path);
}

static void test_names_notify(void)
{
	char buf[64], sp[108], got[64], *nb;
	const char *nm[4];
	int s, r[2], fds[2];
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	union {
		char b[CMSG_SPACE(sizeof(int) * 4)];
		struct cmsghdr align;
	} u;
	struct iovec iov = {.iov_base = got, .iov_len = sizeof(got) - 1};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.b,
			    .msg_controllen = sizeof(u.b)};
	struct cmsghdr *cm;
	ssize_t n;

	setenv("LISTEN_FDNAMES", "cni-dnsname.socket:dnsname-lsn-1-2:dnsname-lsn-1-3", 1);
	nb = dmn_listen_names(4, nm);
	CHECK(nb != NULL);
	CHECK_STR(nm[0], "cni-dnsname.socket");
	CHECK_STR(nm[1], "dnsname-lsn-1-2");
	CHECK_STR(nm[2], "dnsname-lsn-1-3");
	CHECK_STR(nm[3], ""); /* past the list */
	CHECK_STR(getenv("LISTEN_FDNAMES"), "cni-dnsname.socket:dnsname-lsn-1-2:dnsname-lsn-1-3");
	free(nb);
	unsetenv("LISTEN_FDNAMES");
	nb = dmn_listen_names(1, nm);
	CHECK_STR(nm[0], "");
	free(nb);

	unsetenv("NOTIFY_SOCKET");
	CHECK_INT(dmn_notify("READY=1", NULL, 0), 0); /* no manager */
	setenv("NOTIFY_SOCKET", "relative/path", 1);
	CHECK_INT(dmn_notify("READY=1", NULL, 0), 0);
	snprintf(sp, sizeof(sp), "%s/notify", dir);
	s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sp);
	CHECK_INT(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
	setenv("NOTIFY_SOCKET", sp, 1);
	CHECK_INT(socketpair(AF_UNIX, SOCK_STREAM, 0, r), 0);
	CHECK_INT(dmn_notify("FDSTORE=1\nFDNAME=x", r, 2), 1);
	n = recvmsg(s, &mh, MSG_DONTWAIT);
	CHECK_INT((int)n, 18);
	got[n > 0 ? n : 0] = 0;
	CHECK_STR(got, "FDSTORE=1\nFDNAME=x");
	cm = CMSG_FIRSTHDR(&mh);
	CHECK(cm && cm->cmsg_type == SCM_RIGHTS && cm->cmsg_len == CMSG_LEN(2 * sizeof(int)));
	if (cm && cm->cmsg_len == CMSG_LEN(2 * sizeof(int))) {
		memcpy(fds, CMSG_DATA(cm), sizeof(fds));
		CHECK_INT((int)write(fds[0], "y", 1), 1); /* the received pair is the same pair */
		CHECK_INT((int)read(r[1], buf, 1), 1);
		close(fds[0]);
		close(fds[1]);
	}
	close(s);
	unlink(sp);
	CHECK_INT(dmn_notify("READY=1", NULL, 0), -ENOENT); /* nobody there: said */
	/* abstract: "@name" */
	s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	n = snprintf(sa.sun_path + 1, sizeof(sa.sun_path) - 1, "cnic-test-notify-%d", (int)getpid());
	CHECK_INT(bind(s, (struct sockaddr *)&sa, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n)), 0);
	snprintf(sp, sizeof(sp), "@%s", sa.sun_path + 1);
	setenv("NOTIFY_SOCKET", sp, 1);
	CHECK_INT(dmn_notify("READY=1", NULL, 0), 1);
	mh.msg_controllen = sizeof(u.b);
	n = recvmsg(s, &mh, MSG_DONTWAIT);
	CHECK_INT((int)n, 7);
	close(s);
	close(r[0]);
	close(r[1]);
	unsetenv("NOTIFY_SOCKET");
}

int main(void)
{
	if (!mkdtemp(dir)) {
		TAP_FAIL("mkdtemp", "%s", strerror(errno));
		return 1;
	}
	test_loop();
	test_signals();
	test_activation();
	test_names_notify();
	test_pidfile();
	test_shed();
	rmdir(dir);
	return tap_done();
}
