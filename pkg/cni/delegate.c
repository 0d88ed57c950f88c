// SPDX-License-Identifier: Apache-2.0
/*
 * Delegation: run another plugin (IPAM, or a meta plugin's delegate) found in CNI_PATH with the
 * same environment and the configuration on stdin, exactly as libcni would, and take back its
 * result or its error object. posix_spawn keeps the cost of the fork small; stdin and stdout are
 * pumped with poll so a large config cannot dead-lock against a chatty child.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <elf.h>

#include "internal.h"
#include "suite_id.h"

extern char **environ;

static int find_in_path(const char *type, const char *path, char **out, struct cni_err *e)
{
	char *copy, *dir, *save;

	if (!type || !*type)
		return cni_fail(e, -EINVAL, CNI_ERR_INVALID_CONFIG, "no plugin name provided");
	if (strchr(type, '/'))
		return cni_fail(e, -EINVAL, CNI_ERR_INVALID_CONFIG,
				"invalid plugin name \"%s\": must not contain a path separator", type);
	copy = cni_strdup(path ? path : "");
	for (dir = strtok_r(copy, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
		char *full = cni_sprintf("%s/%s", dir, type);

		if (access(full, X_OK) == 0) {
			*out = full;
			return 0;
		}
	}
	return cni_fail(e, -ENOENT, CNI_ERR_INVALID_CONFIG,
			"failed to find plugin \"%s\" in path [%s]", type, path ? path : "");
}

/* The caller's environment with CNI_COMMAND replaced. */
static char **child_env(enum cni_cmd cmd)
{
	size_t n = 0, o = 0;
	char **env;

	while (environ[n])
		n++;
	env = cni_alloc((n + 2) * sizeof(char *));
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], "CNI_COMMAND=", 12))
			env[o++] = environ[i];
	env[o++] = cni_sprintf("CNI_COMMAND=%s", cni_cmd_str(cmd));
	env[o] = NULL;
	return env;
}

/* Write all of @in to fd_in while collecting fd_out until EOF. */
static int pump(int fd_in, const char *in, size_t in_len, int fd_out, char **out, size_t *out_len)
{
	size_t cap = 4096, len = 0, off = 0;
	char *buf = cni_alloc(cap + 1);
	struct pollfd p[2];

	p[0] = (struct pollfd){.fd = fd_out, .events = POLLIN};
	p[1] = (struct pollfd){.fd = fd_in, .events = POLLOUT};
	if (!in_len) {
		close(fd_in);
		p[1].fd = -1;
	}
	while (p[0].fd >= 0) {
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (p[1].fd >= 0 && (p[1].revents & (POLLOUT | POLLERR | POLLHUP))) {
			ssize_t n = write(fd_in, in + off, in_len - off);

			if (n > 0)
				off += (size_t)n;
			if ((n < 0 && errno != EAGAIN && errno != EINTR) || off == in_len) {
				close(fd_in);
				p[1].fd = -1;
			}
		}
		if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			ssize_t n;

			if (len == cap) {
				if (cap >= CNI_MAX_INPUT)
					return -EFBIG;
				buf = cni_grow(buf, &cap, cap * 2 + 1, 1);
				cap--;
			}
			n = read(fd_out, buf + len, cap - len);
			if (n < 0 && (errno == EINTR || errno == EAGAIN))
				continue;
			if (n <= 0)
				p[0].fd = -1;
			else
				len += (size_t)n;
		}
	}
	if (p[1].fd >= 0)
		close(fd_in);
	buf[len] = '\0';
	*out = buf;
	*out_len = len;
	return 0;
}

/* The delegate's error object, or a description of how it died. */
static int delegate_error(const char *type, int status, const char *out, size_t len,
			  struct cni_err *e)
{
	json_error_t jerr;
	json_t *o = len ? json_loadb(out, len, 0, &jerr) : NULL;
	json_t *code = cni_json_get(o, "code");

	/* a code no uint holds is no error object (Go's decoder refuses it): never truncated */
	if (json_is_object(o) && json_is_integer(code) && json_integer_value(code) >= 0 &&
	    json_integer_value(code) <= UINT_MAX) {
		const char *msg = json_string_value(cni_json_get(o, "msg"));
		const char *det = json_string_value(cni_json_get(o, "details"));

		cni_fail(e, -EIO, (unsigned int)json_integer_value(code), "%s", msg ? msg : "");
		if (det)
			cni_detail(e, "%s", det);
	} else if (WIFSIGNALED(status)) {
		cni_fail(e, -EIO, CNI_ERR_INTERNAL, "plugin \"%s\" killed by signal %d", type,
			 WTERMSIG(status));
	} else {
		cni_fail(e, -EIO, CNI_ERR_INTERNAL,
			 "netplugin \"%s\" failed with no error message: exit status %d", type,
			 WEXITSTATUS(status));
	}
	json_decref(o);
	return -EIO;
}

/*
 * The note skel.c puts in every plugin: name "cnic", type 0x43494e43, the 16-byte suite id. @p
 * holds @len bytes read from an untrusted file: every size is checked against what is left before
 * it is added to an offset (no sum can wrap) and headers are copied out (no unaligned reads).
 */
static bool note_matches(const uint8_t *p, size_t len)
{
	size_t off = 0;

	while (len - off >= sizeof(Elf64_Nhdr)) {
		Elf64_Nhdr n;
		size_t namesz, descsz, name_off = off + sizeof(n), desc_off;

		memcpy(&n, p + off, sizeof(n));
		namesz = ((size_t)n.n_namesz + 3) & ~(size_t)3;
		descsz = ((size_t)n.n_descsz + 3) & ~(size_t)3;
		if (namesz > len - name_off)
			return false;
		desc_off = name_off + namesz;
		if (descsz > len - desc_off)
			return false;
		if (n.n_type == 0x43494e43 && n.n_namesz == 5 && !memcmp(p + name_off, "cnic", 5) &&
		    n.n_descsz == 16 && !memcmp(p + desc_off, CNIC_SUITE_ID, 16))
			return true;
		off = desc_off + descsz;
	}
	return false;
}

/* True when [off, off + size) lies inside [0, len), without computing a sum that can wrap. */
static bool in_bounds(uint64_t off, uint64_t size, uint64_t len)
{
	return off <= len && size <= len - off;
}

bool cni__same_suite(const char *path)
{
	uint8_t head[4096];
	Elf64_Ehdr eh;
	bool same = false;
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = pread(fd, head, sizeof(head), 0);
	if (n < (ssize_t)sizeof(eh))
		goto out;
	memcpy(&eh, head, sizeof(eh));
	if (memcmp(eh.e_ident, ELFMAG, SELFMAG) || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh.e_phentsize != sizeof(Elf64_Phdr) ||
	    !in_bounds(eh.e_phoff, (uint64_t)eh.e_phnum * sizeof(Elf64_Phdr), (uint64_t)n))
		goto out;
	for (int i = 0; i < eh.e_phnum && !same; i++) {
		Elf64_Phdr ph;
		uint8_t note[512];

		memcpy(&ph, head + eh.e_phoff + (size_t)i * sizeof(ph), sizeof(ph));
		if (ph.p_type != PT_NOTE || ph.p_filesz > sizeof(note) || ph.p_offset > INT64_MAX)
			continue;
		if (in_bounds(ph.p_offset, ph.p_filesz, (uint64_t)n))
			same = note_matches(head + ph.p_offset, ph.p_filesz);
		else if (pread(fd, note, ph.p_filesz, (off_t)ph.p_offset) == (ssize_t)ph.p_filesz)
			same = note_matches(note, ph.p_filesz);
	}
out:
	close(fd);
	return same;
}

/*
 * The delegate is one of ours, compiled into this binary too: run it here, through the same
 * configuration loading and verb code as its own process would, and hand its result through
 * the same encoding in the configuration's version, so nothing differs but the exec.
 */
static int delegate_inproc(struct cni_ctx *ctx, const struct cni_plugin *p, enum cni_cmd cmd,
			   const char *input, size_t len, struct cni_result **out, struct cni_err *e)
{
	struct cni_ctx sub = {.plugin = p, .env = ctx->env, .stdin_buf = input, .stdin_len = len};
	char *text = NULL;
	int r;

	sub.env.cmd = cmd;
	sub.env.command = cni_cmd_str(cmd);
	r = cni__load_conf(&sub, e);
	if (!r)
		r = cni__run_verb(&sub, &text, e);
	if (r < 0) {
		if (!e->code)
			e->code = CNI_ERR_INTERNAL;
		return r;
	}
	if (out && cmd == CNI_CMD_ADD) {
		*out = cni_result_decode(text, strlen(text), e);
		if (!*out)
			return cni_wrap(e, -EINVAL, "plugin \"%s\" returned", p->name);
	}
	return 0;
}

int cni_delegate(struct cni_ctx *ctx, const char *type, enum cni_cmd cmd, const char *stdin_json,
		 struct cni_result **out, struct cni_err *e)
{
	posix_spawn_file_actions_t fa;
	struct sigaction old_pipe;
	int in[2] = {-1, -1}, outp[2] = {-1, -1}, status = 0, r;
	const char *input = stdin_json ? stdin_json : ctx->stdin_buf;
	size_t input_len = stdin_json ? strlen(stdin_json) : ctx->stdin_len;
	char *path = NULL, *buf = NULL, *argv[2];
	size_t len = 0;
	pid_t pid;

	r = find_in_path(type, ctx->env.path, &path, e);
	if (r)
		return r;
	for (const struct cni_plugin *const *p = ctx->plugin ? ctx->plugin->inproc : NULL; p && *p;
	     p++)
		if (!strcmp((*p)->name, type) && cni__same_suite(path))
			return delegate_inproc(ctx, *p, cmd, input, input_len, out, e);
	if (pipe2(in, O_CLOEXEC) || pipe2(outp, O_CLOEXEC)) {
		r = -errno;
		goto close_pipes;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in[0], STDIN_FILENO);
	posix_spawn_file_actions_adddup2(&fa, outp[1], STDOUT_FILENO);
	argv[0] = path;
	argv[1] = NULL;
	/* A freshly installed binary can still be open for writing: libcni retries too. */
	for (int tries = 0;; tries++) {
		r = posix_spawn(&pid, path, &fa, NULL, argv, child_env(cmd));
		if (r != ETXTBSY || tries == 5)
			break;
		usleep(1000u << tries);
	}
	posix_spawn_file_actions_destroy(&fa);
	if (r) {
		r = cni_fail(e, -r, CNI_ERR_INTERNAL, "failed to execute plugin \"%s\": %s", path,
			     strerror(r));
		goto close_pipes;
	}
	close(in[0]);
	close(outp[1]);
	in[0] = outp[1] = -1;
	/* A delegate may exit without reading its stdin: EPIPE, not a fatal SIGPIPE. */
	sigaction(SIGPIPE, &(struct sigaction){.sa_handler = SIG_IGN}, &old_pipe);
	r = pump(in[1], input, input_len, outp[0], &buf, &len);
	sigaction(SIGPIPE, &old_pipe, NULL);
	in[1] = -1; /* closed by pump */
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (r) {
		r = cni_fail(e, r, CNI_ERR_IO, "reading the output of plugin \"%s\": %s", type,
			     strerror(-r));
		goto close_pipes;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		r = delegate_error(type, status, buf, len, e);
		goto close_pipes;
	}
	if (out && cmd == CNI_CMD_ADD) {
		*out = cni_result_decode(buf, len, e);
		if (!*out) {
			r = cni_wrap(e, -EINVAL, "plugin \"%s\" returned", type);
			goto close_pipes;
		}
	}
	r = 0;
close_pipes:
	for (int i = 0; i < 2; i++) {
		if (in[i] >= 0)
			close(in[i]);
		if (outp[i] >= 0)
			close(outp[i]);
	}
	return r;
}

int cni_ipam_add(struct cni_ctx *ctx, struct cni_result **out, struct cni_err *e)
{
	int r = cni_delegate(ctx, ctx->net.ipam_type, CNI_CMD_ADD, NULL, out, e);

	if (r == 0)
		ctx->ipam_added = true;
	return r;
}

int cni_ipam_add_addrs(struct cni_ctx *ctx, struct cni_result **out, struct cni_err *e)
{
	int r = cni_ipam_add(ctx, out, e);

	if (r == 0 && !(*out)->n_ips)
		return cni_fail(e, -EINVAL, 0, "IPAM plugin returned missing IP config");
	return r;
}

int cni_ipam_add_ips(struct cni_ctx *ctx, struct cni_result *res, int iface,
		     struct cni_result **ipam, struct cni_err *e)
{
	struct cni_result *got = NULL;
	int r = cni_ipam_add_addrs(ctx, &got, e);

	if (ipam && got)
		*ipam = got;
	if (r < 0)
		return r;
	cni_result_add_ips(res, got, iface);
	return 0;
}

int cni_ipam_del(struct cni_ctx *ctx, struct cni_err *e)
{
	int r = cni_delegate(ctx, ctx->net.ipam_type, CNI_CMD_DEL, NULL, NULL, e);

	if (r == 0)
		ctx->ipam_added = false;
	return r;
}

int cni_ipam_check(struct cni_ctx *ctx, struct cni_err *e)
{
	return cni_delegate(ctx, ctx->net.ipam_type, CNI_CMD_CHECK, NULL, NULL, e);
}

int cni_ipam_status(struct cni_ctx *ctx, struct cni_err *e)
{
	return cni_delegate(ctx, ctx->net.ipam_type, CNI_CMD_STATUS, NULL, NULL, e);
}

int cni_ipam_gc(struct cni_ctx *ctx, struct cni_err *e)
{
	return cni_delegate(ctx, ctx->net.ipam_type, CNI_CMD_GC, NULL, NULL, e);
}
