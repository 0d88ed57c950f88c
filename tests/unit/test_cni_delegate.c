// SPDX-License-Identifier: Apache-2.0
/*
 * Delegation (pkg/cni/delegate.c) against real executables: the static plugin from the build and
 * small shell stand-ins for misbehaving plugins. No root needed: the child gets
 * CNI_NETNS_OVERRIDE=1 so our own netns is acceptable to it.
 */
#include <elf.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cni/cni.h"
#include "cni/internal.h"
#include "tap.h"

static char tmp[] = "/tmp/cnic-deleg.XXXXXX";

static void script(const char *name, const char *body)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmp, name);
	f = fopen(path, "w");
	fprintf(f, "#!/bin/sh\n%s\n", body);
	fclose(f);
	chmod(path, 0755);
}

/*
 * A crafted ELF64 file: header, one program header at @phoff (unless it wraps), and @tail (a
 * note, say) behind them. The same-suite check reads such files from CNI_PATH: it must say
 * "not ours" without reading outside what it read (ASan/UBSan builds catch a stray read).
 */
static bool crafted(const char *name, uint64_t phoff, uint16_t phnum, uint64_t p_offset,
		    uint64_t p_filesz, const void *tail, size_t tail_len)
{
	char path[256];
	Elf64_Ehdr eh = {.e_phentsize = sizeof(Elf64_Phdr), .e_phoff = phoff, .e_phnum = phnum};
	Elf64_Phdr ph = {.p_type = PT_NOTE, .p_offset = p_offset, .p_filesz = p_filesz};
	FILE *f;

	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS64;
	snprintf(path, sizeof(path), "%s/%s", tmp, name);
	f = fopen(path, "w");
	fwrite(&eh, sizeof(eh), 1, f);
	fwrite(&ph, sizeof(ph), 1, f);
	if (tail_len)
		fwrite(tail, tail_len, 1, f);
	fclose(f);
	return cni__same_suite(path);
}

static void crafted_elf(const char *build)
{
	const uint64_t ph_end = sizeof(Elf64_Ehdr) + sizeof(Elf64_Phdr);
	uint8_t note[64] = {0};
	uint32_t huge = 0xffffffffu;
	char path[512];

	snprintf(path, sizeof(path), "%s/bin/static", build);
	CHECK(cni__same_suite(path));
	/* program headers whose offset + size wraps to a small number */
	CHECK(!crafted("wrap-phoff", UINT64_MAX - 8, 1, ph_end, 0, NULL, 0));
	CHECK(!crafted("wrap-phnum", UINT64_MAX - 16 * sizeof(Elf64_Phdr), 0xffff, ph_end, 0, NULL,
		       0));
	/* a note whose offset + size wraps: read from before the start of the buffer */
	CHECK(!crafted("wrap-note", sizeof(Elf64_Ehdr), 1, UINT64_MAX - 15, 64, NULL, 0));
	CHECK(!crafted("wrap-note2", sizeof(Elf64_Ehdr), 1, (uint64_t)-4096, 4096 + 32, NULL, 0));
	/* a note past the end of the file, or past what an off_t holds */
	CHECK(!crafted("far-note", sizeof(Elf64_Ehdr), 1, 1ull << 40, 64, NULL, 0));
	CHECK(!crafted("neg-note", sizeof(Elf64_Ehdr), 1, 1ull << 63, 64, NULL, 0));
	/* note headers whose sizes run past the segment, or wrap when rounded up */
	memcpy(note, &huge, 4);
	CHECK(!crafted("namesz", sizeof(Elf64_Ehdr), 1, ph_end, sizeof(note), note, sizeof(note)));
	memcpy(note, "\5\0\0\0", 4);
	memcpy(note + 4, &huge, 4);
	CHECK(!crafted("descsz", sizeof(Elf64_Ehdr), 1, ph_end, sizeof(note), note, sizeof(note)));
	huge = 0xfffffffeu;
	memcpy(note, &huge, 4);
	CHECK(!crafted("namesz-round", sizeof(Elf64_Ehdr), 1, ph_end, sizeof(note), note,
		       sizeof(note)));
	/* a note at an odd offset (read without an unaligned access) and a note cut short */
	CHECK(!crafted("odd", sizeof(Elf64_Ehdr), 1, ph_end + 1, 24, note, sizeof(note)));
	CHECK(!crafted("short", sizeof(Elf64_Ehdr), 1, ph_end, 11, note, sizeof(note)));
}

/* Run the static plugin with stdout on /dev/full: exit 1 and a line on stderr, never 0. */
static void unwritable(const char *build, const char *cmd, const char *conf, const char *want)
{
	char sh[2048], name[128], err[512] = "";
	FILE *f;
	int st;

	snprintf(sh, sizeof(sh),
		 "printf '%%s' '%s' | CNI_COMMAND=%s %s/bin/static >/dev/full 2>%s/stderr", conf, cmd,
		 build, tmp);
	st = system(sh);
	snprintf(sh, sizeof(sh), "%s/stderr", tmp);
	f = fopen(sh, "r");
	if (f) {
		if (!fgets(err, sizeof(err), f))
			err[0] = '\0';
		fclose(f);
	}
	snprintf(name, sizeof(name), "%s with stdout on /dev/full exits 1 and says why", cmd);
	if (WIFEXITED(st) && WEXITSTATUS(st) == 1 && strstr(err, want) &&
	    strstr(err, "No space left on device"))
		TAP_OK(name);
	else
		TAP_FAIL(name, "status %d, stderr \"%s\"", st, err);
}

int main(void)
{
	const char *build = getenv("BUILD") ? getenv("BUILD") : "build";
	struct cni_ctx ctx = {0};
	struct cni_result *res = NULL;
	struct cni_err e = {0};
	char path[512], *big;
	const char *conf = "{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"ipam\":{\"type\":\"static\","
			   "\"addresses\":[{\"address\":\"10.9.0.3/24\",\"gateway\":\"10.9.0.1\"}]}}";
	int r;

	if (!mkdtemp(tmp)) {
		TAP_FAIL("mkdtemp", "%s", strerror(errno));
		return tap_done();
	}
	snprintf(path, sizeof(path), "%s:%s/bin", tmp, build);
	ctx.env.path = path;
	setenv("CNI_CONTAINERID", "c1", 1);
	setenv("CNI_NETNS", "/proc/self/ns/net", 1);
	setenv("CNI_IFNAME", "eth0", 1);
	setenv("CNI_PATH", path, 1);
	setenv("CNI_NETNS_OVERRIDE", "1", 1);
	setenv("CNI_COMMAND", "DEL", 1); /* must be replaced for the child */

	ctx.stdin_buf = conf;
	ctx.stdin_len = strlen(conf);
	ctx.net.ipam_type = "static";
	r = cni_ipam_add(&ctx, &res, &e);
	CHECK(r == 0 && res && res->n_ips == 1);
	CHECK(ctx.ipam_added);
	if (res && res->n_ips) {
		char b[CNI_PREFIX_STRLEN];

		CHECK_STR(cni_prefix_str(&res->ips[0].address, b), "10.9.0.3/24");
	}
	CHECK(cni_ipam_del(&ctx, &e) == 0 && !ctx.ipam_added);

	/* The delegate's own error object comes back with its code. */
	r = cni_delegate(&ctx, "static", CNI_CMD_ADD,
			 "{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"ipam\":{\"type\":\"static\","
			 "\"addresses\":[{\"address\":\"10.9.0.3\"}]}}",
			 &res, &e);
	CHECK(r < 0 && e.code == CNI_ERR_INVALID_CONFIG && strstr(e.msg, "10.9.0.3"));

	cni_err_clear(&e);
	r = cni_delegate(&ctx, "../bin/static", CNI_CMD_ADD, NULL, &res, &e);
	CHECK(r == -EINVAL && strstr(e.msg, "path separator"));
	cni_err_clear(&e);
	r = cni_delegate(&ctx, "no-such-plugin", CNI_CMD_ADD, NULL, &res, &e);
	CHECK(r == -ENOENT && strstr(e.msg, "failed to find plugin \"no-such-plugin\""));
	cni_err_clear(&e);
	r = cni_delegate(&ctx, "", CNI_CMD_ADD, NULL, &res, &e);
	CHECK(r < 0 && strstr(e.msg, "no plugin name"));

	/* A delegate that dies without output, one that reports the command it saw. */
	script("dies", "cat >/dev/null; exit 3");
	cni_err_clear(&e);
	r = cni_delegate(&ctx, "dies", CNI_CMD_ADD, NULL, &res, &e);
	CHECK(r < 0 && e.code == CNI_ERR_INTERNAL && strstr(e.msg, "exit status 3"));
	script("echocmd", "cat >/dev/null; printf '{\"code\":111,\"msg\":\"%s\",\"details\":\"d\"}' "
			  "\"$CNI_COMMAND\"; exit 1");
	cni_err_clear(&e);
	r = cni_delegate(&ctx, "echocmd", CNI_CMD_CHECK, NULL, NULL, &e);
	CHECK(r < 0 && e.code == 111 && !strcmp(e.msg, "CHECK") && !strcmp(e.details, "d"));
	/* An error code no uint holds is not truncated into a real one (4294967300 -> 4). */
	script("bigcode", "cat >/dev/null; echo '{\"code\":4294967300,\"msg\":\"m\"}'; exit 1");
	cni_err_clear(&e);
	r = cni_delegate(&ctx, "bigcode", CNI_CMD_DEL, NULL, NULL, &e);
	CHECK(r < 0 && e.code == CNI_ERR_INTERNAL);
	/* A delegate that does not read its stdin at all must not block us on a large config. */
	script("noread", "exit 0");
	big = cni_alloc(1 << 20);
	memset(big, ' ', (1 << 20) - 1);
	memcpy(big, "{\"a\":1}", 7);
	cni_err_clear(&e);
	r = cni_delegate(&ctx, "noread", CNI_CMD_DEL, big, NULL, &e);
	CHECK(r == 0);
	/* A large config is passed whole to a delegate that does read it. */
	script("count", "n=$(wc -c); [ \"$n\" = 1048575 ] || { printf '{\"code\":100,\"msg\":\"%s\"}' "
			"\"$n\"; exit 1; }");
	cni_err_clear(&e);
	r = cni_delegate(&ctx, "count", CNI_CMD_DEL, big, NULL, &e);
	CHECK(r == 0);
	/* A result that is not JSON is an error naming the plugin. */
	script("garbage", "cat >/dev/null; echo 'not json'");
	cni_err_clear(&e);
	r = cni_delegate(&ctx, "garbage", CNI_CMD_ADD, NULL, &res, &e);
	CHECK(r < 0 && strstr(e.msg, "garbage"));

	crafted_elf(build);
	unwritable(build, "ADD", conf, "writing the result to stdout");
	unwritable(build, "VERSION", conf, "writing the version to stdout");
	unwritable(build, "ADD", "{}", "writing the error to stdout");

	snprintf(path, sizeof(path), "rm -rf %s", tmp);
	if (system(path))
		TAP_FAIL("cleanup", "rm failed");
	cni_arena_release();
	return tap_done();
}
