// SPDX-License-Identifier: Apache-2.0
/*
 * The arena out of memory: an allocation the heap refuses comes from the reserve and is
 * remembered, the verb then fails "out of memory" naming the caller (an ADD undone by the
 * plugin's DEL); the reserve spent too, the process exits 1 with the error object on stdout.
 * The heap is made to refuse by RLIMIT_AS in a child; no root.
 */
#include <errno.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cni/cni.h"
#include "cni/internal.h"
#include "tap.h"

#define BIG (200 * 1024) /* beyond malloc's mmap threshold, within the reserve */

static int deleted;

/* The address space as it is now, plus a little: any new mapping of BIG fails. */
static void starve(void)
{
	struct rlimit rl;
	unsigned long pages = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (!f || fscanf(f, "%lu", &pages) != 1)
		_exit(3);
	fclose(f);
	rl.rlim_cur = rl.rlim_max = (rlim_t)pages * (rlim_t)sysconf(_SC_PAGESIZE) + 64 * 1024;
	if (setrlimit(RLIMIT_AS, &rl))
		_exit(3);
}

static int fake_add(struct cni_ctx *ctx, struct cni_result *res, struct cni_err *e)
{
	unsigned char *p;

	(void)ctx, (void)res, (void)e;
	starve();
	p = cni_alloc(BIG);
	for (size_t i = 0; i < BIG; i++)
		if (p[i])
			return -EFAULT; /* reserve memory not zeroed */
	memset(p, 0xaa, BIG);
	return 0;
}

static int fake_del(struct cni_ctx *ctx, struct cni_err *e)
{
	(void)ctx, (void)e;
	deleted++;
	return 0;
}

/* In a child: an ADD whose allocation came from the reserve fails, undone. */
static void child_add(int out)
{
	static const struct cni_plugin p = {.name = "fake", .add = fake_add, .del = fake_del};
	struct cni_ctx ctx = {.plugin = &p};
	struct cni_err e = {0};
	char *text = NULL;
	int r;

	ctx.env.cmd = CNI_CMD_ADD;
	r = cni__run_verb(&ctx, &text, &e);
	dprintf(out, "%d %u %d %s|%s", r, e.code, deleted, text ? "text" : "none", e.msg);
	_exit(0);
}

/* In a child: the reserve spent, the process exits with the error printed. */
static void child_spent(void)
{
	starve();
	for (;;)
		(void)cni_alloc(BIG);
}

static int run(void (*fn)(int), char *buf, size_t len, int *status)
{
	int pfd[2];
	pid_t pid;
	ssize_t n, got = 0;

	if (pipe(pfd))
		return -1;
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		close(pfd[0]);
		dup2(pfd[1], STDOUT_FILENO);
		fn(pfd[1]);
		_exit(2);
	}
	close(pfd[1]);
	while ((n = read(pfd[0], buf + got, len - 1 - (size_t)got)) > 0)
		got += n;
	buf[got] = 0;
	close(pfd[0]);
	waitpid(pid, status, 0);
	return 0;
}

static void spent(int out)
{
	(void)out;
	child_spent();
}

int main(void)
{
	char buf[1024], want[128];
	int status;

#if defined(__SANITIZE_ADDRESS__)
	TAP_SKIP("arena out of memory", "AddressSanitizer's shadow does not live under RLIMIT_AS");
	return tap_done();
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
	TAP_SKIP("arena out of memory", "AddressSanitizer's shadow does not live under RLIMIT_AS");
	return tap_done();
#endif
#endif
	run(child_add, buf, sizeof(buf), &status);
	snprintf(want, sizeof(want), "%d %u 1 none|out of memory: fake_add: %d bytes", -ENOMEM,
		 (unsigned int)CNI_ERR_INTERNAL, BIG);
	if (WIFEXITED(status) && !WEXITSTATUS(status) && !strcmp(buf, want))
		TAP_OK("ADD out of memory: error 999 naming the caller, undone by DEL");
	else
		TAP_FAIL("ADD out of memory: error 999 naming the caller, undone by DEL",
			 "status %#x, got \"%s\", want \"%s\"", status, buf, want);

	run(spent, buf, sizeof(buf), &status);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 1 && strstr(buf, "\"code\": 999") &&
	    strstr(buf, "\"msg\": \"out of memory: child_spent: 204800 bytes\""))
		TAP_OK("reserve spent: exit 1 with the error object on stdout");
	else
		TAP_FAIL("reserve spent: exit 1 with the error object on stdout",
			 "status %#x, stdout \"%s\"", status, buf);
	return tap_done();
}
