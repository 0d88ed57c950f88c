// SPDX-License-Identifier: Apache-2.0
/*
 * cnibench: the measuring driver of `make bench`. It runs CNI plugins exactly as a runtime does
 * (CNI_* environment, the configuration on stdin, a conflist run plugin by plugin with prevResult
 * and DEL in reverse order) and times every exec with clock_gettime(CLOCK_MONOTONIC); CPU time
 * and peak RSS come from wait4()'s rusage of the child, which on Linux also covers the
 * descendants the child waited for (the IPAM delegate, iptables execs).
 *
 * Kernel objects: one fresh container netns per ADD, made before the timed loop (unshare +
 * bind mount on /run/netns/<prefix>-<impl>-<i>) and removed after it. The driver lives in a
 * private mount namespace, so those bind mounts vanish with it even if it is killed; run.sh
 * removes the empty files. Each implementation runs inside its own "host" netns (made by run.sh
 * with `ip netns add`): the driver setns()es into it outside the timed region, so a plugin is
 * measured without the cost of `ip netns exec`. Implementations are interleaved iteration by
 * iteration (the order flips every iteration) so that drift and background load hit all alike.
 *
 * Usage: cnibench -s SCENARIO -m cycle|scale|parallel -n N [-p STREAMS] [-H HOLD] -t PREFIX -o OUTDIR
 *        IMPL...
 *   IMPL is label=L,host=NETNS-PATH,bin=DIR,conf=CONFLIST,ifname=IF   (plugins)
 *        or label=L,host=NETNS-PATH,script=FILE,ifname=IF             (commands, see below)
 * A script has lines "add|del [@c] ARGV...": @c runs the command inside the container netns;
 * %n is the container netns path, %N its name in /run/netns, %h a host interface name unique per
 * index, %i the ifname, %a an address 10.77.x.y/16 unique per index.
 * -H (parallel mode): HOLD containers are added first and deleted last, so the streams run
 * with HOLD live attachments; N counts the cycles after them. In parallel mode every ADD's first
 * address and the time its container was live are kept, and two containers alive at once with
 * one address are counted as duplicates (summary: throughput.duplicates).
 * Appends one JSON summary line per implementation to OUTDIR/summary.jsonl and the samples to
 * OUTDIR/samples.tsv. Exit status 0 unless the driver itself failed (plugin errors are counted).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#define MAX_IMPLS 8
#define MAX_STEPS 16
#define MAX_ARGS 24
#define EXEC_TIMEOUT_MS 60000
#define MAX_REPORTED_ERRORS 3

enum op { OP_ADD, OP_DEL };
static const char *const op_name[] = {"ADD", "DEL"};

struct sample {
	int64_t wall_ns;
	int64_t cpu_us, sys_us;
	long rss_kb;
	int execs;
	int ok; /* 1 ok, 0 failed, -1 not run */
	int64_t step_ns[MAX_STEPS]; /* wall time of each exec, in the order they ran */
};

struct step {
	bool in_container;
	int argc;
	char *argv[MAX_ARGS];
};

struct impl {
	char label[32];
	char host[PATH_MAX];
	int hostfd;
	char bin[PATH_MAX];
	char ifname[16];
	json_t *plugins; /* conflist plugins, each with name and cniVersion merged in */
	struct step add[MAX_STEPS], del[MAX_STEPS];
	int n_add, n_del;
	bool script;
	json_t **results;    /* per index: ADD result of a chain, the prevResult of its DEL */
	struct sample *s[2]; /* per op, per index; shared memory (parallel workers write it) */
	int reported;
};

static struct impl impls[MAX_IMPLS];
static int n_impls;
static int n_iter = 200, streams = 8, hold;
static const char *scenario = "?", *mode = "cycle", *prefix = "cnicb", *outdir = ".";
static int origfd = -1;
static char **nspaths; /* [impl * n_iter + i] */
static int *created;

/* Parallel mode's duplicate check, shared with the workers: [impl * n_iter + i]. */
struct live {
	char addr[64]; /* the ADD result's first ips[].address, "" when none */
	int64_t from, to; /* ADD returned, DEL started */
};
static struct live *lives;

__attribute__((format(printf, 1, 2), noreturn)) static void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "cnibench: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(2);
}

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void *shared_alloc(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		die("mmap: %s", strerror(errno));
	return p;
}

/* ---- netns ----------------------------------------------------------------------------------- */

static const char *nspath(int k, int i)
{
	return nspaths[(size_t)k * n_iter + i];
}

static void mkns(int k, int i)
{
	char *p;
	int fd;

	if (asprintf(&p, "/run/netns/%s-%d-%d", prefix, k, i) < 0)
		die("out of memory");
	nspaths[(size_t)k * n_iter + i] = p;
	fd = open(p, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444);
	if (fd < 0)
		die("create %s: %s", p, strerror(errno));
	close(fd);
	created[(size_t)k * n_iter + i] = 1;
	if (unshare(CLONE_NEWNET) < 0)
		die("unshare(CLONE_NEWNET): %s", strerror(errno));
	if (mount("/proc/thread-self/ns/net", p, "none", MS_BIND, NULL) < 0)
		die("bind mount %s: %s", p, strerror(errno));
	if (setns(origfd, CLONE_NEWNET) < 0)
		die("setns back: %s", strerror(errno));
}

static void rmns_all(void)
{
	for (size_t j = 0; nspaths && j < (size_t)n_impls * n_iter; j++) {
		if (!created[j])
			continue;
		umount2(nspaths[j], MNT_DETACH);
		unlink(nspaths[j]);
		created[j] = 0;
	}
}

static void enter(int fd)
{
	if (setns(fd, CLONE_NEWNET) < 0)
		die("setns: %s", strerror(errno));
}

/* ---- one exec ------------------------------------------------------------------------------- */

struct buf {
	char *p;
	size_t len, cap;
};

static void buf_read(struct buf *b, int fd, bool *eof)
{
	if (b->cap - b->len < 4096) {
		b->cap = b->cap ? b->cap * 2 : 8192;
		b->p = realloc(b->p, b->cap);
		if (!b->p)
			die("out of memory");
	}
	ssize_t r = read(fd, b->p + b->len, b->cap - b->len - 1);
	if (r > 0)
		b->len += (size_t)r;
	else if (r == 0 || errno != EINTR)
		*eof = true;
	b->p[b->len] = 0;
}

struct run {
	struct buf out, err;
	int status;
	int64_t wall_ns, cpu_us, sys_us;
	long rss_kb;
};

/*
 * Runs argv[0] with envp, stdin fed from `in`, inside the netns nsfd in the child (-1: the
 * driver's current one). Fills r; returns 0 when the child exited 0.
 */
static int run_exec(char *const argv[], char *const envp[], const char *in, int nsfd, struct run *r)
{
	int pin[2], pout[2], perr[2];
	size_t inlen = in ? strlen(in) : 0;
	struct rusage ru;
	pid_t pid;

	memset(r, 0, sizeof(*r));
	if (pipe2(pin, O_CLOEXEC) < 0 || pipe2(pout, O_CLOEXEC) < 0 || pipe2(perr, O_CLOEXEC) < 0)
		die("pipe: %s", strerror(errno));
	if (inlen >= 65536)
		die("stdin document too large (%zu bytes)", inlen);
	/* The document fits the pipe: write it whole before the clock starts. */
	if (inlen && write(pin[1], in, inlen) != (ssize_t)inlen)
		die("write stdin: %s", strerror(errno));
	close(pin[1]);

	int64_t t0 = now_ns();
	pid = vfork();
	if (pid < 0)
		die("vfork: %s", strerror(errno));
	if (pid == 0) {
		if (nsfd >= 0 && setns(nsfd, CLONE_NEWNET) < 0)
			_exit(126);
		if (dup2(pin[0], 0) < 0 || dup2(pout[1], 1) < 0 || dup2(perr[1], 2) < 0)
			_exit(126);
		execve(argv[0], argv, envp);
		_exit(127);
	}
	close(pin[0]);
	close(pout[1]);
	close(perr[1]);

	bool eo = false, ee = false;
	while (!eo || !ee) {
		struct pollfd pf[2] = {{eo ? -1 : pout[0], POLLIN, 0},
				       {ee ? -1 : perr[0], POLLIN, 0}};
		int n = poll(pf, 2, EXEC_TIMEOUT_MS);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			fprintf(stderr, "cnibench: %s timed out after %d ms, killed\n", argv[0],
				EXEC_TIMEOUT_MS);
			kill(pid, SIGKILL);
			break;
		}
		if (!eo && pf[0].revents)
			buf_read(&r->out, pout[0], &eo);
		if (!ee && pf[1].revents)
			buf_read(&r->err, perr[0], &ee);
	}
	while (wait4(pid, &r->status, 0, &ru) < 0)
		if (errno != EINTR)
			die("wait4: %s", strerror(errno));
	r->wall_ns = now_ns() - t0;
	close(pout[0]);
	close(perr[0]);
	r->cpu_us = (int64_t)ru.ru_utime.tv_sec * 1000000 + ru.ru_utime.tv_usec +
		    (int64_t)ru.ru_stime.tv_sec * 1000000 + ru.ru_stime.tv_usec;
	r->sys_us = (int64_t)ru.ru_stime.tv_sec * 1000000 + ru.ru_stime.tv_usec;
	r->rss_kb = ru.ru_maxrss;
	if (!r->out.p)
		buf_read(&r->out, -1, &eo); /* allocate an empty string */
	if (!r->err.p)
		buf_read(&r->err, -1, &ee);
	return WIFEXITED(r->status) && WEXITSTATUS(r->status) == 0 ? 0 : -1;
}

static void run_free(struct run *r)
{
	free(r->out.p);
	free(r->err.p);
}

static void report_failure(struct impl *im, enum op op, int i, const char *what, struct run *r)
{
	if (im->reported++ >= MAX_REPORTED_ERRORS)
		return;
	fprintf(stderr,
		"cnibench: %s/%s %s #%d: %s failed (%s %d)\n  stdout: %.600s\n  stderr: %.600s\n",
		scenario, im->label, op_name[op], i, what, WIFEXITED(r->status) ? "exit" : "signal",
		WIFEXITED(r->status) ? WEXITSTATUS(r->status) : WTERMSIG(r->status), r->out.p,
		r->err.p);
}

static void account(struct sample *s, struct run *r)
{
	if (s->execs < MAX_STEPS)
		s->step_ns[s->execs] = r->wall_ns;
	s->wall_ns += r->wall_ns;
	s->cpu_us += r->cpu_us;
	s->sys_us += r->sys_us;
	if (r->rss_kb > s->rss_kb)
		s->rss_kb = r->rss_kb;
	s->execs++;
}

/* ---- one ADD or DEL ----------------------------------------------------------------------------
 */

/* After an ADD: the address the result (@res, or the text @out) gave and when it returned. */
static void note_live(int k, enum op op, int i, struct sample *s, json_t *res, const char *out)
{
	struct live *l = &lives[(size_t)k * n_iter + i];
	json_t *own = NULL;
	const char *a;

	if (op != OP_ADD)
		return;
	l->from = now_ns();
	l->to = INT64_MAX;
	l->addr[0] = 0;
	if (s->ok != 1)
		return;
	if (!res && out)
		res = own = json_loads(out, 0, NULL);
	a = json_string_value(json_object_get(json_array_get(json_object_get(res, "ips"), 0),
					      "address"));
	if (a)
		snprintf(l->addr, sizeof(l->addr), "%s", a);
	json_decref(own);
}

static void op_plugins(struct impl *im, enum op op, int k, int i, struct sample *s)
{
	char e_cmd[32], e_cid[64], e_ns[PATH_MAX + 16], e_if[48], e_path[PATH_MAX + 16];
	char *envp[] = {e_cmd,
			e_cid,
			e_ns,
			e_if,
			e_path,
			"CNI_ARGS=",
			"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
			NULL};
	size_t np = json_array_size(im->plugins);
	bool chain = np > 1;
	char *last_out = NULL;

	if (lives && op == OP_DEL)
		lives[(size_t)k * n_iter + i].to = now_ns();

	snprintf(e_cmd, sizeof(e_cmd), "CNI_COMMAND=%s", op_name[op]);
	snprintf(e_cid, sizeof(e_cid), "CNI_CONTAINERID=bench-%s-%d", im->label, i);
	snprintf(e_ns, sizeof(e_ns), "CNI_NETNS=%s", nspath(k, i));
	snprintf(e_if, sizeof(e_if), "CNI_IFNAME=%s", im->ifname);
	snprintf(e_path, sizeof(e_path), "CNI_PATH=%s", im->bin);

	memset(s, 0, sizeof(*s));
	s->ok = 1;
	json_t *prev = NULL;
	for (size_t j = 0; j < np; j++) {
		size_t idx = op == OP_ADD ? j : np - 1 - j;
		json_t *conf = json_deep_copy(json_array_get(im->plugins, idx));
		char type[64], exe[PATH_MAX + 80];
		struct run r;

		if (chain && op == OP_ADD && prev)
			json_object_set(conf, "prevResult", prev);
		if (chain && op == OP_DEL && im->results[i])
			json_object_set(conf, "prevResult", im->results[i]);
		snprintf(type, sizeof(type), "%s",
			 json_string_value(json_object_get(conf, "type")));
		char *doc = json_dumps(conf, JSON_COMPACT);
		json_decref(conf);
		snprintf(exe, sizeof(exe), "%s/%s", im->bin, type);
		char *argv[] = {exe, NULL};
		int rc = run_exec(argv, envp, doc, -1, &r);
		free(doc);
		account(s, &r);
		if (lives && op == OP_ADD && !chain && rc == 0) {
			last_out = r.out.p;
			r.out.p = NULL;
		}
		if (rc < 0) {
			s->ok = 0;
			report_failure(im, op, i, type, &r);
		} else if (chain && op == OP_ADD) {
			json_decref(prev);
			prev = json_loads(r.out.p, 0, NULL);
			if (!prev) {
				s->ok = 0;
				report_failure(im, op, i, "result parse", &r);
			}
		}
		run_free(&r);
		/* A runtime stops a failed ADD chain (and then DELs); a DEL goes on through all. */
		if (!s->ok && op == OP_ADD)
			break;
	}
	if (lives)
		note_live(k, op, i, s, chain ? prev : NULL, last_out);
	free(last_out);
	if (chain && op == OP_ADD) {
		json_decref(im->results[i]);
		im->results[i] = prev;
	}
}

static char *subst(const char *tmpl, struct impl *im, int k, int i)
{
	static char out[4][PATH_MAX];
	static int slot;
	char *o = out[slot++ % 4], *e = o + PATH_MAX - 1;
	char *w = o;

	for (const char *p = tmpl; *p && w < e; p++) {
		char tmp[PATH_MAX];
		const char *v = NULL;
		if (p[0] == '%' && p[1]) {
			switch (p[1]) {
			case 'n':
				v = nspath(k, i);
				break;
			case 'N':
				v = strrchr(nspath(k, i), '/') + 1;
				break;
			case 'h':
				snprintf(tmp, sizeof(tmp), "bf%d", i);
				v = tmp;
				break;
			case 'i':
				v = im->ifname;
				break;
			case 'a':
				snprintf(tmp, sizeof(tmp), "10.77.%d.%d/16", (i + 2) / 250,
					 (i + 2) % 250 + 2);
				v = tmp;
				break;
			}
		}
		if (v) {
			size_t l = strlen(v);
			if (l > (size_t)(e - w))
				l = (size_t)(e - w);
			memcpy(w, v, l);
			w += l;
			p++;
		} else {
			*w++ = *p;
		}
	}
	*w = 0;
	return o;
}

static void op_script(struct impl *im, enum op op, int k, int i, struct sample *s)
{
	struct step *steps = op == OP_ADD ? im->add : im->del;
	int n = op == OP_ADD ? im->n_add : im->n_del;
	char *envp[] = {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", NULL};

	memset(s, 0, sizeof(*s));
	s->ok = n ? 1 : -1;
	for (int j = 0; j < n; j++) {
		char *argv[MAX_ARGS + 1];
		struct run r;
		int nsfd = -1;

		for (int a = 0; a < steps[j].argc; a++)
			argv[a] = strdup(subst(steps[j].argv[a], im, k, i));
		argv[steps[j].argc] = NULL;
		if (steps[j].in_container) {
			nsfd = open(nspath(k, i), O_RDONLY | O_CLOEXEC);
			if (nsfd < 0)
				die("open %s: %s", nspath(k, i), strerror(errno));
		}
		int rc = run_exec(argv, envp, NULL, nsfd, &r);
		if (nsfd >= 0)
			close(nsfd);
		account(s, &r);
		if (rc < 0) {
			s->ok = 0;
			report_failure(im, op, i, argv[0], &r);
		}
		run_free(&r);
		for (int a = 0; a < steps[j].argc; a++)
			free(argv[a]);
	}
}

/*
 * With CNIBENCH_OPTIMES=FILE, one line per operation "label op i start_ns end_ns" (CLOCK_MONOTONIC):
 * run.sh's BENCH_PROFILE=1 matches perf samples (`perf record -k CLOCK_MONOTONIC`) to operations.
 */
static FILE *optimes;

static void do_op(int k, enum op op, int i)
{
	struct impl *im = &impls[k];
	struct sample *s = &im->s[op][i];
	int64_t t0 = now_ns();

	if (im->script)
		op_script(im, op, k, i, s);
	else
		op_plugins(im, op, k, i, s);
	if (optimes)
		fprintf(optimes, "%s\t%s\t%d\t%lld\t%lld\n", im->label, op_name[op], i,
			(long long)t0, (long long)now_ns());
}

/* ---- statistics --------------------------------------------------------------------------------
 */

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of the wall times of samples [from, to) that succeeded, in ms. */
static double pct(struct sample *s, int from, int to, double q, int *count)
{
	int64_t *v = malloc(sizeof(*v) * (size_t)(to - from + 1));
	int n = 0;
	for (int i = from; i < to; i++)
		if (s[i].ok == 1)
			v[n++] = s[i].wall_ns;
	if (count)
		*count = n;
	if (!n) {
		free(v);
		return -1;
	}
	qsort(v, (size_t)n, sizeof(*v), cmp_i64);
	int rank = (int)(q * n + 0.999999);
	if (rank < 1)
		rank = 1;
	if (rank > n)
		rank = n;
	double r = v[rank - 1] / 1e6;
	free(v);
	return r;
}

/* Median wall time of each exec (the plugins of a chain, in run order) over samples [from, to). */
static json_t *step_medians(struct sample *s, int from, int to)
{
	int64_t *v = malloc(sizeof(*v) * (size_t)(to - from + 1));
	json_t *steps = json_array();

	for (int j = 0; j < MAX_STEPS; j++) {
		int m = 0;

		for (int i = from; i < to; i++)
			if (s[i].ok == 1 && s[i].execs > j)
				v[m++] = s[i].step_ns[j];
		if (!m)
			break;
		qsort(v, (size_t)m, sizeof(*v), cmp_i64);
		json_array_append_new(steps, json_real(v[(m - 1) / 2] / 1e6));
	}
	free(v);
	return steps;
}

static json_t *op_stats(struct sample *s, int n)
{
	int cnt = 0, fails = 0;
	double cpu = 0, sys = 0, wall = 0;
	long rss = 0;
	int64_t *rs = malloc(sizeof(*rs) * (size_t)(n + 1));
	int execs = 0;

	for (int i = 0; i < n; i++) {
		if (s[i].ok == 0)
			fails++;
		if (s[i].ok != 1)
			continue;
		cpu += s[i].cpu_us / 1e3;
		sys += s[i].sys_us / 1e3;
		wall += s[i].wall_ns / 1e6;
		if (s[i].rss_kb > rss)
			rss = s[i].rss_kb;
		rs[cnt++] = s[i].rss_kb;
		execs = s[i].execs;
	}
	if (!cnt) {
		free(rs);
		return json_pack("{s:i,s:i}", "n", 0, "errors", fails);
	}
	qsort(rs, (size_t)cnt, sizeof(*rs), cmp_i64);
	json_t *steps = step_medians(s, 0, n);
	json_t *o =
	    json_pack("{s:i,s:i,s:f,s:f,s:f,s:f,s:f,s:f,s:I,s:I,s:i}", "n", cnt, "errors", fails,
		      "median_ms", pct(s, 0, n, 0.5, NULL), "p99_ms", pct(s, 0, n, 0.99, NULL),
		      "min_ms", pct(s, 0, n, 0.0, NULL), "mean_ms", wall / cnt, "cpu_ms", cpu / cnt,
		      "sys_ms", sys / cnt, "rss_kb", (json_int_t)rss, "rss_kb_median",
		      (json_int_t)rs[cnt / 2], "execs", execs);
	json_object_set_new(o, "step_median_ms", steps);
	free(rs);
	return o;
}

static void write_outputs(json_t *extra[])
{
	char path[PATH_MAX];
	FILE *f;

	snprintf(path, sizeof(path), "%s/samples.tsv", outdir);
	f = fopen(path, "a");
	if (!f)
		die("open %s: %s", path, strerror(errno));
	for (int k = 0; k < n_impls; k++)
		for (int op = 0; op < 2; op++)
			for (int i = 0; i < n_iter; i++) {
				struct sample *s = &impls[k].s[op][i];
				if (s->ok < 0)
					continue;
				fprintf(f, "%s\t%s\t%s\t%s\t%d\t%.3f\t%.3f\t%.3f\t%ld\t%d\t",
					scenario, mode, impls[k].label, op_name[op], i,
					s->wall_ns / 1e6, s->cpu_us / 1e3, s->sys_us / 1e3,
					s->rss_kb, s->ok);
				for (int j = 0; j < s->execs && j < MAX_STEPS; j++)
					fprintf(f, "%s%.3f", j ? "," : "", s->step_ns[j] / 1e6);
				fputc('\n', f);
			}
	fclose(f);

	snprintf(path, sizeof(path), "%s/summary.jsonl", outdir);
	f = fopen(path, "a");
	if (!f)
		die("open %s: %s", path, strerror(errno));
	for (int k = 0; k < n_impls; k++) {
		json_t *o = json_pack("{s:s,s:s,s:s,s:i,s:o,s:o}", "scenario", scenario, "mode",
				      mode, "impl", impls[k].label, "n", n_iter, "add",
				      op_stats(impls[k].s[OP_ADD], n_iter), "del",
				      op_stats(impls[k].s[OP_DEL], n_iter));
		if (extra[k])
			json_object_update(o, extra[k]);
		char *line = json_dumps(o, JSON_COMPACT);
		fprintf(f, "%s\n", line);
		free(line);
		json_decref(o);
	}
	fclose(f);
}

/* ---- modes -------------------------------------------------------------------------------------
 */

static int order(int i, int j)
{
	return i % 2 ? n_impls - 1 - j : j;
}

static void mode_cycle(void)
{
	for (int i = 0; i < n_iter; i++)
		for (int j = 0; j < n_impls; j++) {
			int k = order(i, j);
			enter(impls[k].hostfd);
			do_op(k, OP_ADD, i);
			do_op(k, OP_DEL, i);
		}
}

/* Live allocations grow: all ADDs first (ADD #i finds i-1 attachments alive), then all DELs. */
static void mode_scale(json_t *extra[])
{
	for (int i = 0; i < n_iter; i++)
		for (int j = 0; j < n_impls; j++) {
			int k = order(i, j);
			enter(impls[k].hostfd);
			do_op(k, OP_ADD, i);
		}
	for (int i = 0; i < n_iter; i++)
		for (int j = 0; j < n_impls; j++) {
			int k = order(i, j);
			enter(impls[k].hostfd);
			do_op(k, OP_DEL, i);
		}
	int w = n_iter / 20 > 0 ? n_iter / 20 : 1;
	for (int k = 0; k < n_impls; k++) {
		double first = pct(impls[k].s[OP_ADD], 0, w, 0.5, NULL);
		double last = pct(impls[k].s[OP_ADD], n_iter - w, n_iter, 0.5, NULL);
		/* DELs run in ADD order: the first ones find n_iter live, the last ones one. */
		double del_full = pct(impls[k].s[OP_DEL], 0, w, 0.5, NULL);
		double del_one = pct(impls[k].s[OP_DEL], n_iter - w, n_iter, 0.5, NULL);
		extra[k] = json_pack("{s:{s:i,s:f,s:f,s:f,s:o,s:o,s:f,s:f,s:f}}", "scale", "window",
				     w, "first_median_ms", first, "last_median_ms", last, "ratio",
				     first > 0 ? last / first : -1, "first_steps_ms",
				     step_medians(impls[k].s[OP_ADD], 0, w), "last_steps_ms",
				     step_medians(impls[k].s[OP_ADD], n_iter - w, n_iter),
				     "del_full_median_ms", del_full, "del_one_median_ms", del_one,
				     "del_ratio", del_one > 0 ? del_full / del_one : -1);
	}
}

/* Held containers [0, hold): added before the streams, deleted after them. */
static void hold_all(enum op op)
{
	for (int i = 0; i < hold; i++)
		for (int j = 0; j < n_impls; j++) {
			int k = order(i, j);
			enter(impls[k].hostfd);
			do_op(k, op, i);
		}
}

static int cmp_live(const void *a, const void *b)
{
	const struct live *x = a, *y = b;
	int c = strcmp(x->addr, y->addr);

	return c ? c : (x->from > y->from) - (x->from < y->from);
}

/* Pairs of containers of impl k that held one address at the same time. */
static int duplicates(int k)
{
	struct live *v = malloc(sizeof(*v) * (size_t)n_iter);
	int n = 0, dups = 0;

	if (!v)
		die("out of memory");
	for (int i = 0; i < n_iter; i++)
		if (lives[(size_t)k * n_iter + i].addr[0])
			v[n++] = lives[(size_t)k * n_iter + i];
	qsort(v, (size_t)n, sizeof(*v), cmp_live);
	for (int a = 0; a < n; a++)
		for (int b = a + 1; b < n && !strcmp(v[a].addr, v[b].addr); b++)
			if (v[b].from < v[a].to && v[a].from < v[b].to) {
				if (dups++ < MAX_REPORTED_ERRORS)
					fprintf(stderr, "cnibench: %s: %s given twice at once\n",
						impls[k].label, v[a].addr);
			}
	free(v);
	return dups;
}

/* Runs cycles [from, to) of impl k on `nstreams` worker processes; returns the wall time in s. */
static double block(int k, int from, int to, int nstreams)
{
	pid_t pids[64];
	int64_t t0 = now_ns();

	for (int w = 0; w < nstreams; w++) {
		pids[w] = fork();
		if (pids[w] < 0)
			die("fork: %s", strerror(errno));
		if (pids[w] == 0) {
			enter(impls[k].hostfd);
			for (int i = from + w; i < to; i += nstreams) {
				do_op(k, OP_ADD, i);
				do_op(k, OP_DEL, i);
			}
			fflush(stderr);
			_exit(0);
		}
	}
	for (int w = 0; w < nstreams; w++) {
		int st;
		while (waitpid(pids[w], &st, 0) < 0)
			if (errno != EINTR)
				die("waitpid: %s", strerror(errno));
		if (!WIFEXITED(st) || WEXITSTATUS(st))
			die("worker %d of %s failed", w, impls[k].label);
	}
	return (now_ns() - t0) / 1e9;
}

/*
 * Throughput in ADD+DEL cycles per second, one stream against `streams` streams, alternating
 * implementations and the two kinds of block in 2 rounds; each block has n/4 cycles.
 */
static void mode_parallel(json_t *extra[])
{
	int rounds = 2, per = (n_iter - hold) / (2 * rounds);
	double seq_t[MAX_IMPLS] = {0}, par_t[MAX_IMPLS] = {0};
	int seq_n = 0, par_n = 0;

	if (per < streams)
		die("parallel mode needs n >= %d", 4 * streams);
	hold_all(OP_ADD);
	for (int r = 0; r < rounds; r++) {
		int base = hold + r * 2 * per;
		for (int j = 0; j < n_impls; j++) {
			int k = order(r, j);
			seq_t[k] += block(k, base, base + per, 1);
			par_t[k] += block(k, base + per, base + 2 * per, streams);
		}
		seq_n += per;
		par_n += per;
	}
	hold_all(OP_DEL);
	for (int k = 0; k < n_impls; k++) {
		double s = seq_n / seq_t[k], p = par_n / par_t[k];
		extra[k] = json_pack("{s:{s:i,s:i,s:f,s:f,s:f,s:i}}", "throughput", "streams",
				     streams, "live", hold, "seq_ops_s", s, "par_ops_s", p, "ratio",
				     p / s, "duplicates", impls[k].script ? -1 : duplicates(k));
	}
}

/* ---- setup -------------------------------------------------------------------------------------
 */

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "re");
	if (!f)
		die("open %s: %s", path, strerror(errno));
	char *p = NULL;
	size_t cap = 0, len = 0;
	for (;;) {
		if (cap - len < 4096) {
			cap = cap ? cap * 2 : 8192;
			p = realloc(p, cap);
			if (!p)
				die("out of memory");
		}
		size_t r = fread(p + len, 1, cap - len - 1, f);
		len += r;
		if (r == 0)
			break;
	}
	p[len] = 0;
	fclose(f);
	return p;
}

/* execve() does not search PATH: resolve a bare command name once, outside the timed region. */
static void resolve(char **cmd)
{
	static const char *const dirs[] = {"/usr/local/sbin", "/usr/local/bin", "/usr/sbin",
					   "/usr/bin",	      "/sbin",		"/bin"};
	char p[PATH_MAX];

	if (strchr(*cmd, '/'))
		return;
	for (size_t d = 0; d < sizeof(dirs) / sizeof(dirs[0]); d++) {
		snprintf(p, sizeof(p), "%s/%s", dirs[d], *cmd);
		if (access(p, X_OK) == 0) {
			free(*cmd);
			*cmd = strdup(p);
			return;
		}
	}
	die("%s: not found in PATH", *cmd);
}

static void load_script(struct impl *im, const char *path)
{
	char *text = slurp(path), *save = NULL;

	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *tsave = NULL, *tok = strtok_r(line, " \t", &tsave);
		struct step *st;
		if (!tok || tok[0] == '#')
			continue;
		if (!strcmp(tok, "add")) {
			if (im->n_add >= MAX_STEPS)
				die("%s: too many steps", path);
			st = &im->add[im->n_add++];
		} else if (!strcmp(tok, "del")) {
			if (im->n_del >= MAX_STEPS)
				die("%s: too many steps", path);
			st = &im->del[im->n_del++];
		} else {
			die("%s: line must start with add or del", path);
		}
		while ((tok = strtok_r(NULL, " \t", &tsave))) {
			if (!strcmp(tok, "@c") && !st->argc) {
				st->in_container = true;
				continue;
			}
			if (st->argc >= MAX_ARGS)
				die("%s: too many arguments", path);
			st->argv[st->argc++] = strdup(tok);
		}
		if (!st->argc)
			die("%s: empty command", path);
		resolve(&st->argv[0]);
	}
	free(text);
}

static void load_conflist(struct impl *im, const char *path)
{
	json_error_t err;
	json_t *list = json_load_file(path, 0, &err);
	if (!list)
		die("%s: %s", path, err.text);
	json_t *plugins = json_object_get(list, "plugins");
	if (!json_is_array(plugins) || !json_array_size(plugins))
		die("%s: no plugins", path);
	im->plugins = json_array();
	size_t j;
	json_t *p;
	json_array_foreach(plugins, j, p)
	{
		json_t *c = json_deep_copy(p);
		json_object_set(c, "name", json_object_get(list, "name"));
		json_object_set(c, "cniVersion", json_object_get(list, "cniVersion"));
		if (!json_is_string(json_object_get(c, "type")))
			die("%s: plugin %zu has no type", path, j);
		json_array_append_new(im->plugins, c);
	}
	json_decref(list);
}

static void parse_impl(struct impl *im, char *spec)
{
	char *save = NULL;

	snprintf(im->ifname, sizeof(im->ifname), "eth0");
	for (char *kv = strtok_r(spec, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
		char *v = strchr(kv, '=');
		if (!v)
			die("bad implementation key %s", kv);
		*v++ = 0;
		if (!strcmp(kv, "label"))
			snprintf(im->label, sizeof(im->label), "%s", v);
		else if (!strcmp(kv, "host"))
			snprintf(im->host, sizeof(im->host), "%s", v);
		else if (!strcmp(kv, "bin"))
			snprintf(im->bin, sizeof(im->bin), "%s", v);
		else if (!strcmp(kv, "ifname"))
			snprintf(im->ifname, sizeof(im->ifname), "%s", v);
		else if (!strcmp(kv, "conf"))
			load_conflist(im, v);
		else if (!strcmp(kv, "script")) {
			im->script = true;
			load_script(im, v);
		} else
			die("unknown implementation key %s", kv);
	}
	if (!im->label[0] || !im->host[0] || (!im->script && (!im->bin[0] || !im->plugins)))
		die("implementation needs label, host and either bin+conf or script");
	im->hostfd = open(im->host, O_RDONLY | O_CLOEXEC);
	if (im->hostfd < 0)
		die("open host netns %s: %s", im->host, strerror(errno));
}

static void on_signal(int sig)
{
	(void)sig;
	_exit(3); /* the private mount namespace takes the bind mounts along; run.sh the files */
}

int main(int argc, char **argv)
{
	int c;

	while ((c = getopt(argc, argv, "s:m:n:p:H:t:o:")) != -1) {
		switch (c) {
		case 's':
			scenario = optarg;
			break;
		case 'm':
			mode = optarg;
			break;
		case 'n':
			n_iter = atoi(optarg);
			break;
		case 'p':
			streams = atoi(optarg);
			break;
		case 'H':
			hold = atoi(optarg);
			break;
		case 't':
			prefix = optarg;
			break;
		case 'o':
			outdir = optarg;
			break;
		default:
			die("usage: cnibench -s SCENARIO -m cycle|scale|parallel -n N [-p STREAMS] "
			    "[-H HOLD] -t PREFIX -o OUTDIR IMPL...");
		}
	}
	if (n_iter < 1 || streams < 1 || streams > 64 || hold < 0 || optind >= argc ||
	    argc - optind > MAX_IMPLS)
		die("bad arguments");
	if (hold && strcmp(mode, "parallel"))
		die("-H goes with -m parallel");
	n_iter += hold;
	if (strcmp(mode, "cycle") && strcmp(mode, "scale") && strcmp(mode, "parallel"))
		die("unknown mode %s", mode);

	/* A private mount namespace: the netns bind mounts made below die with this process. */
	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		die("private mount namespace: %s", strerror(errno));
	origfd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (origfd < 0)
		die("open own netns: %s", strerror(errno));
	mkdir("/run/netns", 0755);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGPIPE, SIG_IGN);
	struct rlimit rl = {65536, 65536};
	setrlimit(RLIMIT_NOFILE, &rl);

	for (int a = optind; a < argc; a++)
		parse_impl(&impls[n_impls++], argv[a]);
	if (getenv("CNIBENCH_OPTIMES")) {
		optimes = fopen(getenv("CNIBENCH_OPTIMES"), "we");
		if (!optimes)
			die("open %s: %s", getenv("CNIBENCH_OPTIMES"), strerror(errno));
		setvbuf(optimes, NULL, _IOLBF, 0); /* parallel mode forks */
	}

	nspaths = calloc((size_t)n_impls * n_iter, sizeof(*nspaths));
	if (!strcmp(mode, "parallel"))
		lives = shared_alloc(sizeof(*lives) * (size_t)n_impls * n_iter);
	created = shared_alloc(sizeof(*created) * (size_t)n_impls * n_iter);
	for (int k = 0; k < n_impls; k++) {
		impls[k].results = calloc((size_t)n_iter, sizeof(json_t *));
		for (int op = 0; op < 2; op++) {
			impls[k].s[op] = shared_alloc(sizeof(struct sample) * (size_t)n_iter);
			for (int i = 0; i < n_iter; i++)
				impls[k].s[op][i].ok = -1;
		}
	}
	/* Every container netns exists before the clock runs. */
	for (int k = 0; k < n_impls; k++)
		for (int i = 0; i < n_iter; i++)
			mkns(k, i);

	json_t *extra[MAX_IMPLS] = {0};
	if (!strcmp(mode, "cycle"))
		mode_cycle();
	else if (!strcmp(mode, "scale"))
		mode_scale(extra);
	else
		mode_parallel(extra);
	enter(origfd);
	rmns_all();
	write_outputs(extra);
	return 0;
}
