// SPDX-License-Identifier: Apache-2.0
/*
 * cni_json_dup_key(): duplicate keys of one member object found in configuration text, as the
 * tuning plugin needs them ("duplicated sysctl keys are not allowed"). No kernel, no root.
 */
#include <errno.h>
#include <string.h>

#include "cni/cni.h"
#include "cni/dupkeys.h"
#include "tap.h"

static void dup(const char *name, const char *json, int want, const char *want_key)
{
	char *key = NULL;
	int r = cni_json_dup_key(json, strlen(json), "sysctl", &key);

	if (r != want)
		TAP_FAIL(name, "got %d, want %d", r, want);
	else if (want_key && (!key || strcmp(key, want_key)))
		TAP_FAIL(name, "duplicate \"%s\", want \"%s\"", key ? key : "(null)", want_key);
	else
		TAP_OK(name);
}

int main(void)
{
	dup("no sysctl", "{\"a\":1}", 0, NULL);
	dup("distinct keys", "{\"sysctl\":{\"net.a\":\"1\",\"net.b\":\"1\"}}", 0, NULL);
	dup("a duplicate", "{\"sysctl\":{\"net.a\":\"1\",\"net.b\":\"2\",\"net.a\":\"0\"}}", 1,
	    "net.a");
	dup("keys compared case-sensitively", "{\"sysctl\":{\"net.a\":\"1\",\"NET.A\":\"1\"}}", 0,
	    NULL);
	dup("member matched case-insensitively", "{\"SysCtl\":{\"k\":\"1\",\"k\":\"1\"}}", 1, "k");
	dup("escaped and plain spellings are one key",
	    "{\"sysctl\":{\"ab\":\"1\",\"a\\u0062\":\"1\"}}", 1, "ab");
	dup("duplicates elsewhere do not count",
	    "{\"x\":{\"k\":1,\"k\":2},\"sysctl\":{\"k\":\"1\"},\"prevResult\":{\"ips\":[{\"k\":1,\"k\":2}]}}",
	    0, NULL);
	dup("nested values skipped",
	    "{\"sysctl\":{\"a\":{\"a\":[1,{\"a\":\"}\"}]},\"b\":\"\\\"a\\\"\"}}", 0, NULL);
	dup("two sysctl members count together", "{\"sysctl\":{\"k\":\"1\"},\"sysctl\":{\"k\":\"2\"}}",
	    1, "k");
	dup("a non-object sysctl has no keys", "{\"sysctl\":[\"k\",\"k\"]}", 0, NULL);
	dup("whitespace everywhere", " { \"sysctl\" : { \"k\" : \"1\" , \"k\" : \"1\" } } ", 1, "k");
	dup("empty objects", "{\"sysctl\":{},\"x\":[]}", 0, NULL);
	dup("not an object", "[1]", -EINVAL, NULL);
	dup("truncated", "{\"sysctl\":{\"k\":\"1\"", -EINVAL, NULL);
	dup("trailing garbage", "{} x", -EINVAL, NULL);
	dup("unterminated string", "{\"sysctl\":{\"k", -EINVAL, NULL);
	cni_arena_release();
	return tap_done();
}
