// SPDX-License-Identifier: Apache-2.0
/*
 * Running one plugin: found on the search path, given a clean environment and its config on
 * stdin, its stdout and stderr read until it exits or the deadline passes (then SIGKILL and
 * reaped: no zombie is left), its output turned into a result or a struct cnr_err. The plugin
 * gets SIGKILL when the thread that runs it dies (PR_SET_PDEATHSIG): no orphan outlives a
 * killed runtime.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "runtime/internal.h"

#define MAX_OUT (8u << 20)
#define MAX_ERR 4096

/* The first executable regular file named @type in the ':'-separated @path (FindInPath). */
static int find_plugin(const char *type, const char *path, char *buf, size_t size,
		       struct cnr_err *e)
{
	const char *p = path ? path : "";

	if (strchr(type, '/'))
		return cnr_fail(e, -EINVAL, CNR_ERR_PLUGIN_MISSING, "invalid plugin name: %s", type);
	while (*p) {
		size_t n = strcspn(p, ":");
		struct stat st;

		if (n && snprintf(buf, size, "%.*s/%s", (int)n, p, type) < (int)size &&
		    stat(buf, &st) == 0 && S_ISREG(st.st_mode) && access(buf, X_OK) == 0)
			return 0;
		p += n + (p[n] == ':');
	}
	return cnr_fail(e, -ENOENT, CNR_ERR_PLUGIN_MISSING, "failed to find plugin \"%s\" in path [%s]",
			type, path ? path : "");
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static int append(char **buf, size_t *n, size_t *cap, const char *p, size_t len, size_t max)
{
	if (*n + len > max)
		len = max - *n;
	if (*n + len + 1 > *cap) {
		size_t nc = (*n + len + 1) * 2;
		char *nb = realloc(*buf, nc);

		if (!nb)
			return -ENOMEM;
		*buf = nb;
		*cap = nc;
	}
	memcpy(*buf + *n, p, len);
	*n += len;
	(*buf)[*n] = 0;
	return 0;
}

/* The environment of a plugin: the CNI variables, PATH and rt->env; nothing else. */
static char **build_env(const char *verb, const struct cnr_rt *rt)
{
	size_t nextra = 0, k = 0, alen = 1;
	char **env, *args;
	const char *path = getenv("PATH");

	while (rt->env && rt->env[nextra])
		nextra++;
	for (size_t i = 0; i < rt->nargs; i++)
		alen += strlen(rt->args[2 * i]) + strlen(rt->args[2 * i + 1]) + 2;
	if (!(args = calloc(1, alen)))
		return NULL;
	for (size_t i = 0; i < rt->nargs; i++)
		sprintf(args + strlen(args), "%s%s=%s", i ? ";" : "", rt->args[2 * i],
			rt->args[2 * i + 1]);
	if (!(env = calloc(8 + nextra, sizeof(*env)))) {
		free(args);
		return NULL;
	}
	if (asprintf(&env[k++], "CNI_COMMAND=%s", verb) < 0 ||
	    asprintf(&env[k++], "CNI_CONTAINERID=%s", rt->container_id ? rt->container_id : "") <
		    0 ||
	    asprintf(&env[k++], "CNI_NETNS=%s", rt->netns ? rt->netns : "") < 0 ||
	    asprintf(&env[k++], "CNI_ARGS=%s", args) < 0 ||
	    asprintf(&env[k++], "CNI_IFNAME=%s", rt->ifname ? rt->ifname : "") < 0 ||
	    asprintf(&env[k++], "CNI_PATH=%s", rt->path ? rt->path : "") < 0 ||
	    asprintf(&env[k++], "PATH=%s", path ? path : "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin") < 0)
		goto fail;
	for (size_t i = 0; i < nextra; i++)
		if (!(env[k++] = strdup(rt->env[i])))
			goto fail;
	free(args);
	return env;
fail:
	free(args);
	for (size_t i = 0; i < k; i++)
		free(env[i]);
	free(env);
	return NULL;
}

static void free_env(char **env)
{
	for (char **p = env; p && *p; p++)
		free(*p);
	free(env);
}

/* The plugin's error object in @out (non-zero exit) into @e, the way invoke's pluginErr does. */
static void plugin_error(const char *type, const char *verb, const char *out,
			 const char *err, int status, struct cnr_err *e)
{
	json_t *o = out && *out ? json_loads(out, 0, NULL) : NULL;
	json_t *code = json_object_get(o, "code"), *msg = json_object_get(o, "msg");
	json_t *det = json_object_get(o, "details");

	if (json_is_integer(code)) {
		cnr_fail(e, -EPROTO, (int)json_integer_value(code),
			 "plugin type=\"%s\" failed (%s): %s", type, verb,
			 json_is_string(msg) ? json_string_value(msg) : "");
		snprintf(e->details, sizeof(e->details), "%s",
			 json_is_string(det) ? json_string_value(det) : "");
	} else if (out && *out) {
		cnr_fail(e, -EPROTO, CNR_ERR_OUTPUT,
			 "plugin type=\"%s\" failed (%s): netplugin failed: \"%.300s\"", type, verb,
			 out);
	} else if (err && *err) {
		cnr_fail(e, -EPROTO, CNR_ERR_EXEC, "plugin type=\"%s\" failed (%s): netplugin failed: \"%.300s\"",
			 type, verb, err);
	} else {
		cnr_fail(e, -EPROTO, CNR_ERR_EXEC,
			 "plugin type=\"%s\" failed (%s): netplugin failed with no error message: exit status %d",
			 type, verb, status);
	}
	if (e && !e->details[0] && err)
		snprintf(e->details, sizeof(e->details), "%s", err);
	json_decref(o);
}

int cnr_exec(const struct cnr_list *l, size_t idx, const char *verb, const char *stdin_json,
	     const struct cnr_rt *rt, char **out, struct cnr_err *e)
{
	const char *type = cnr_list_plugin_type(l, idx);
	char bin[4096], **env = NULL, *obuf = NULL, *ebuf = NULL;
	size_t on = 0, ocap = 0, en = 0, ecap = 0, in_len = strlen(stdin_json), in_off = 0;
	int in[2] = { -1, -1 }, o[2] = { -1, -1 }, er[2] = { -1, -1 }, r, status = 0;
	int timeout = rt->timeout_ms > 0 ? rt->timeout_ms : CNR_DEFAULT_TIMEOUT_MS;
	bool timed_out = false, pipe_pending;
	int poll_errno = 0, io_errno = 0;
	const char *io_what = NULL;
	sigset_t pipe_set, old_set, pend;
	long long deadline;
	pid_t pid, self = getpid();

	*out = NULL;
	if (e) {
		snprintf(e->plugin, sizeof(e->plugin), "%s", type);
		e->plugin_index = (int)idx;
	}
	if ((r = find_plugin(type, rt->path, bin, sizeof(bin), e)) < 0)
		return r;
	if (!(env = build_env(verb, rt)))
		return cnr_fail(e, -ENOMEM, CNR_ERR_EXEC, "out of memory");
	if (pipe2(in, O_CLOEXEC) || pipe2(o, O_CLOEXEC) || pipe2(er, O_CLOEXEC)) {
		r = cnr_fail(e, -errno, CNR_ERR_EXEC, "pipe: %s", strerror(errno));
		goto out;
	}
	/* A plugin that exits without reading its stdin must not kill us with SIGPIPE. */
	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	sigpending(&pend);
	pipe_pending = sigismember(&pend, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe_set, &old_set);
	pid = fork();
	if (pid < 0) {
		r = cnr_fail(e, -errno, CNR_ERR_EXEC, "fork: %s", strerror(errno));
		pthread_sigmask(SIG_SETMASK, &old_set, NULL);
		goto out;
	}
	if (pid == 0) {
		/*
		 * The plugin dies with its runtime: one left running when the runtime is killed would
		 * race the runtime's next DEL (an ADD finishing after it leaves its work behind for
		 * good). Checked after the prctl: a parent already gone sent nothing.
		 */
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != self)
			_exit(127);
		pthread_sigmask(SIG_SETMASK, &old_set, NULL);
		if (dup2(in[0], 0) < 0 || dup2(o[1], 1) < 0 || dup2(er[1], 2) < 0)
			_exit(127);
		/* none of the caller's descriptors reach the plugin, close-on-exec or not */
		close_range(3, ~0U, 0);
		execve(bin, (char *const[]){ bin, NULL }, env);
		dprintf(2, "exec %s: %s", bin, strerror(errno));
		_exit(127);
	}
	close(in[0]);
	close(o[1]);
	close(er[1]);
	in[0] = o[1] = er[1] = -1;
	fcntl(in[1], F_SETFL, O_NONBLOCK);
	deadline = now_ms() + timeout;
	while (o[0] >= 0 || er[0] >= 0) {
		struct pollfd pf[3] = { { o[0], POLLIN, 0 }, { er[0], POLLIN, 0 },
					{ in[1], POLLOUT, 0 } };
		long long left = deadline - now_ms();
		char buf[65536];

		if (left <= 0) {
			timed_out = true;
			break;
		}
		if (poll(pf, 3, (int)left) < 0) {
			if (errno == EINTR)
				continue;
			poll_errno = errno; /* the plugin is killed, never waited for unbounded */
			break;
		}
		if (pf[2].revents) {
			ssize_t w = write(in[1], stdin_json + in_off, in_len - in_off);

			if (w > 0)
				in_off += (size_t)w;
			/* EPIPE: the plugin exited without reading it all, its answer says why */
			if (w < 0 && errno != EAGAIN && errno != EINTR && errno != EPIPE && !io_errno) {
				io_errno = errno;
				io_what = "writing its config to its stdin";
			}
			if ((w < 0 && errno != EAGAIN && errno != EINTR) || in_off == in_len) {
				close(in[1]);
				in[1] = -1;
			}
		}
		for (int i = 0; i < 2; i++) {
			int *fd = i ? &er[0] : &o[0];
			ssize_t n;

			if (!pf[i].revents)
				continue;
			n = read(*fd, buf, sizeof(buf));
			if (n > 0) {
				/* past the bound the rest is read and dropped; out of memory, the
				 * answer is lost: named (stdout) */
				if (i)
					append(&ebuf, &en, &ecap, buf, (size_t)n, MAX_ERR);
				else if (append(&obuf, &on, &ocap, buf, (size_t)n, MAX_OUT) < 0 &&
					 !io_errno) {
					io_errno = ENOMEM;
					io_what = "keeping its stdout";
				}
			} else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
				/* a read that fails loses the plugin's answer: named, not taken for
				 * its end (the plugin, writing to a closed pipe, dies of SIGPIPE) */
				if (n < 0 && !io_errno) {
					io_errno = errno;
					io_what = i ? "reading its stderr" : "reading its stdout";
				}
				close(*fd);
				*fd = -1;
			}
		}
	}
	if (timed_out || poll_errno)
		kill(pid, SIGKILL);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	/* Swallow a SIGPIPE our write raised, unless one was pending before. */
	sigpending(&pend);
	if (!pipe_pending && sigismember(&pend, SIGPIPE))
		sigtimedwait(&pipe_set, NULL, &(struct timespec){ 0, 0 });
	pthread_sigmask(SIG_SETMASK, &old_set, NULL);
	if (timed_out) {
		r = cnr_fail(e, -ETIMEDOUT, CNR_ERR_TIMEOUT,
			     "plugin type=\"%s\" failed (%s): timed out after %d ms, killed", type,
			     verb, timeout);
		goto out;
	}
	if (poll_errno) {
		r = cnr_fail(e, -poll_errno, CNR_ERR_EXEC, "plugin type=\"%s\" failed (%s): poll: %s",
			     type, verb, strerror(poll_errno));
		goto out;
	}
	if (io_errno) {
		r = cnr_fail(e, -io_errno, CNR_ERR_EXEC, "plugin type=\"%s\" failed (%s): %s: %s", type,
			     verb, io_what, strerror(io_errno));
		if (e && ebuf)
			snprintf(e->details, sizeof(e->details), "%s", ebuf);
		goto out;
	}
	if (WIFSIGNALED(status)) {
		r = cnr_fail(e, -EPROTO, CNR_ERR_EXEC,
			     "plugin type=\"%s\" failed (%s): killed by signal %d", type, verb,
			     WTERMSIG(status));
		goto out;
	}
	if (WEXITSTATUS(status) != 0) {
		plugin_error(type, verb, obuf, ebuf, WEXITSTATUS(status), e);
		r = -EPROTO;
		goto out;
	}
	*out = obuf ? obuf : strdup("");
	obuf = NULL;
	r = *out ? 0 : -ENOMEM;
out:
	for (int i = 0; i < 2; i++) {
		if (in[i] >= 0)
			close(in[i]);
		if (o[i] >= 0)
			close(o[i]);
		if (er[i] >= 0)
			close(er[i]);
	}
	free(obuf);
	free(ebuf);
	free_env(env);
	return r;
}
