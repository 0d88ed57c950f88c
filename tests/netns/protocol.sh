#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The dispatcher as a runtime sees it, through the static plugin (it touches no kernel object):
# environment validation, stdin bounds, version negotiation, error objects and codes, VERSION,
# the about text, and our netns refused. Compared with the reference static plugin where the two
# agree; where they differ by design the reference line is noted.
. "$(dirname "$0")/lib.sh"
need_root protocol
mkns NS
P=$BIN/static
CONF='{"cniVersion":"1.0.0","name":"net1","type":"static","ipam":{"type":"static","addresses":[{"address":"10.10.0.1/24"}]}}'

# err_is NAME CODE MSG-SUBSTRING: the last run failed with that code and message.
err_is() {
	local code msg
	code=$(printf '%s' "$OUT" | jq -r '.code' 2>/dev/null)
	msg=$(printf '%s' "$OUT" | jq -r '.msg' 2>/dev/null)
	if [ "$RC" = 1 ] && [ "$code" = "$2" ] && [[ "$msg" == *"$3"* ]]; then
		ok "$1"
	else
		fail "$1" "rc=$RC out=$OUT (want code $2, msg ~ '$3')"
	fi
}

run_env() { # run with an explicit environment: run_env 'VAR=x ...' stdin
	OUT=$(printf '%s' "$2" | env -i PATH="$PATH" $1 "$P" 2>/dev/null)
	RC=$?
}

# Environment: every missing variable named at once (code 4), as the reference does.
run_env "CNI_COMMAND=ADD" "$CONF"
err_is "ADD without env names all missing" 4 "required env variables [CNI_CONTAINERID,CNI_NETNS,CNI_IFNAME,CNI_PATH] missing"
run_env "CNI_COMMAND=DEL" "$CONF"
err_is "DEL needs no netns" 4 "[CNI_CONTAINERID,CNI_IFNAME,CNI_PATH] missing"
run_env "CNI_COMMAND=GC" "$CONF"
err_is "GC needs CNI_PATH" 4 "[CNI_PATH] missing"
run_env "CNI_COMMAND=STATUS CNI_PATH=/x" '{"cniVersion":"1.1.0","name":"n","ipam":{"type":"static"}}'
check_eq "STATUS with CNI_PATH only succeeds" "$RC" 0
cni_run "$P" ADD "$NS" eth0 'bad/id' "$CONF"
err_is "container id with a slash" 4 "invalid characters in containerID"
cni_run "$P" ADD "$NS" "abcdefghijklmnop" c1 "$CONF"
err_is "ifname too long" 4 "interface name is too long"
cni_run "$P" ADD "$NS" ".." c1 "$CONF"
err_is "ifname .." 4 "interface name is . or .."
cni_run "$P" ADD "$NS" "et:h0" c1 "$CONF"
err_is "ifname with a colon" 4 "contains / or : or whitespace"
cni_run "$P" FOO "$NS" eth0 c1 "$CONF"
err_is "unknown command" 4 "unknown CNI_COMMAND: FOO"

# stdin
cni_run "$P" ADD "$NS" eth0 c1 '{"name": '
err_is "invalid JSON" 6 "error unmarshall network config"
cni_run "$P" ADD "$NS" eth0 c1 '[1,2]'
err_is "JSON that is not an object" 6 "error unmarshall network config"
cni_run "$P" ADD "$NS" eth0 c1 '{"cniVersion":"1.0.0","ipam":{"type":"static"}}'
err_is "missing network name" 7 "missing network name"
cni_run "$P" ADD "$NS" eth0 c1 '{"cniVersion":"1.0.0","name":"../etc","ipam":{"type":"static"}}'
err_is "path trick in network name" 7 "invalid characters found in network name"
check_eq "  details name the network" "$(printf '%s' "$OUT" | jq -r .details)" "../etc"
cni_run "$P" ADD "$NS" eth0 c1 '{"cniVersion":"1.0.0","name":"n","ipam":{"type":"static","addresses":"x"}}'
err_is "wrong type names the key" 6 "ipam.addresses"
cni_run "$P" ADD "$NS" eth0 c1 '{"cniVersion":1,"name":"n","ipam":{"type":"static"}}'
err_is "cniVersion of the wrong type" 6 "cniVersion"
big=$(head -c 5000000 /dev/zero | tr '\0' ' ')
OUT=$( { printf '%s' "$CONF"; printf '%s' "$big"; } | CNI_COMMAND=ADD CNI_NETNS=$NS CNI_IFNAME=eth0 CNI_CONTAINERID=c1 CNI_PATH=$BIN $P 2>/dev/null)
RC=$?
err_is "oversized stdin refused" 5 "larger than"

# Versions
cni_run "$P" ADD "$NS" eth0 c1 '{"cniVersion":"9.9.9","name":"n","ipam":{"type":"static","addresses":[{"address":"10.0.0.1/24"}]}}'
err_is "unknown version" 1 "incompatible CNI versions"
check_eq "  details list the supported versions" "$(printf '%s' "$OUT" | jq -r .details)" \
	'config is "9.9.9", plugin supports ["0.1.0" "0.2.0" "0.3.0" "0.3.1" "0.4.0" "1.0.0" "1.1.0"]'
check_eq "  the error object carries cniVersion" "$(printf '%s' "$OUT" | jq -r .cniVersion)" "9.9.9"
cni_run "$P" ADD "$NS" eth0 c1 '{"name":"n","ipam":{"type":"static","addresses":[{"address":"10.0.0.1/24"}]}}'
check_eq "missing cniVersion means 0.1.0" "$(printf '%s' "$OUT" | jq -r .cniVersion)" "0.1.0"
cni_run "$P" ADD "$NS" eth0 c1 '{"cniVersions":["0.4.0","1.0.0","7.0.0"],"name":"n","ipam":{"type":"static","addresses":[{"address":"10.0.0.1/24"}]}}'
check_eq "cniVersions: highest known version" "$(printf '%s' "$OUT" | jq -r .cniVersion)" "1.0.0"
for v in 0.1.0 0.2.0 0.3.0 0.3.1; do
	cni_run "$P" CHECK "$NS" eth0 c1 "{\"cniVersion\":\"$v\",\"name\":\"n\",\"ipam\":{\"type\":\"static\"}}"
	err_is "CHECK refused at $v" 1 "config version does not allow CHECK"
done
for cmd in GC STATUS; do
	cni_run "$P" $cmd "" "" "" '{"cniVersion":"1.0.0","name":"n","ipam":{"type":"static"}}'
	err_is "$cmd refused at 1.0.0" 1 "config version does not allow $cmd"
done

# VERSION never reads stdin: with a stdin that never ends, it must still answer.
OUT=$(CNI_COMMAND=VERSION timeout 5 "$P" < <(sleep 10) 2>/dev/null)
RC=$?
check_eq "VERSION does not read stdin" "$RC" 0
check_eq "VERSION output" "$OUT" '{"cniVersion":"1.1.0","supportedVersions":["0.1.0","0.2.0","0.3.0","0.3.1","0.4.0","1.0.0","1.1.0"]}'
ERR=$(env -u CNI_COMMAND "$P" 2>&1 >/dev/null </dev/null)
RC=$?
[[ "$RC" = 0 && "$ERR" == *"CNI protocol versions supported"* ]] && ok "about text without CNI_COMMAND" || fail "about text" "$ERR"

# Our own netns is refused before any work; CNI_NETNS_OVERRIDE lifts it.
cni_run "$P" ADD /proc/self/ns/net eth0 c1 "$CONF"
err_is "own netns refused" 8 "should not be the same"
OUT=$(printf '%s' "$CONF" | CNI_NETNS_OVERRIDE=1 CNI_COMMAND=ADD CNI_NETNS=/proc/self/ns/net CNI_IFNAME=eth0 CNI_CONTAINERID=c1 CNI_PATH=$BIN $P 2>/dev/null)
check_eq "CNI_NETNS_OVERRIDE=1 lifts the check" "$?" 0

# Result and error layout: 4-space indent, no trailing newline (byte-compatible with Go).
cni_run "$P" ADD "$NS" eth0 c1 "$CONF"
check_eq "result starts with an indented key" "$(printf '%s' "$OUT" | sed -n 2p)" '    "cniVersion": "1.0.0",'
last=$(printf '%s' "$CONF" | CNI_COMMAND=ADD CNI_NETNS=$NS CNI_IFNAME=eth0 CNI_CONTAINERID=c1 CNI_PATH=$BIN $P | tail -c 1 | od -An -c | tr -d ' ')
check_eq "no trailing newline" "$last" "}"

# Differential with the reference static plugin at every version: same result JSON.
if [ -x "$REF/static" ]; then
	SCONF='"ipam":{"type":"static","addresses":[{"address":"10.10.0.1/24","gateway":"10.10.0.254"},{"address":"3ffe:ffff:0:01ff::1/64","gateway":"3ffe:ffff:0::1"}],"routes":[{"dst":"0.0.0.0/0"},{"dst":"192.168.0.0/16","gw":"10.10.5.1"},{"dst":"3ffe:ffff:0:01ff::1/64"}],"dns":{"nameservers":["8.8.8.8"],"domain":"example.com","search":["example.com"]}}'
	for v in $VERSIONS; do
		c="{\"cniVersion\":\"$v\",\"name\":\"net1\",\"type\":\"x\",$SCONF}"
		cni_run "$P" ADD "$NS" eth0 c1 "$c"
		ours=$(printf '%s' "$OUT" | norm)
		cni_run "$REF/static" ADD "$NS" eth0 c1 "$c"
		ref=$(printf '%s' "$OUT" | norm)
		if [ "$v" = 1.1.0 ] && [[ "$ref" == *'"code":1'* ]]; then
			# Debian's 1.1.1 plugins stop at spec 1.0.0: compare with their 1.0.0 answer.
			cni_run "$REF/static" ADD "$NS" eth0 c1 "${c/1.1.0/1.0.0}"
			ref=$(printf '%s' "$OUT" | norm | sed 's/"1.0.0"/"1.1.0"/')
		fi
		check_eq "static result matches the reference at $v" "$ours" "$ref"
	done
	# CNI_ARGS IP+GATEWAY, args.cni.ips and runtimeConfig.ips precedence.
	c='{"cniVersion":"1.0.0","name":"net1","ipam":{"type":"static","addresses":[{"address":"10.0.0.5/24"}]}}'
	for a in "IP=10.1.0.7/24,10.2.0.7/16;GATEWAY=10.1.0.1,10.2.0.1" "IgnoreUnknown=1;IP=10.1.0.8/24;K8S_POD_NAME=x"; do
		cni_run "$P" ADD "$NS" eth0 c1 "$c" "$a"
		ours=$(printf '%s' "$OUT" | norm)
		cni_run "$REF/static" ADD "$NS" eth0 c1 "$c" "$a"
		check_eq "CNI_ARGS '$a' as the reference" "$ours" "$(printf '%s' "$OUT" | norm)"
	done
	c='{"cniVersion":"1.0.0","name":"net1","args":{"cni":{"ips":["10.3.0.1/24"]}},"runtimeConfig":{"ips":["10.4.0.1/24"]},"ipam":{"type":"static","addresses":[{"address":"10.0.0.5/24"}]}}'
	cni_run "$P" ADD "$NS" eth0 c1 "$c" "IP=10.1.0.7/24"
	ours=$(printf '%s' "$OUT" | norm)
	check_eq "runtimeConfig.ips wins" "$(printf '%s' "$ours" | jq -r '.ips[0].address')" "10.4.0.1/24"
	cni_run "$REF/static" ADD "$NS" eth0 c1 "$c" "IP=10.1.0.7/24"
	check_eq "precedence as the reference" "$ours" "$(printf '%s' "$OUT" | norm)"
	c='{"cniVersion":"0.2.0","name":"net1","ipam":{"type":"static","addresses":[{"address":"10.0.0.5/24"},{"address":"10.0.1.5/24"}]}}'
	cni_run "$P" ADD "$NS" eth0 c1 "$c"
	err_is "two v4 addresses refused at 0.2.0" 7 "does not support more than 1 address per family"
else
	skip "static differential" "reference plugins not installed in $REF"
fi
cni_run "$P" ADD "$NS" eth0 c1 '{"cniVersion":"1.0.0","name":"n"}'
err_is "static without ipam" 7 "missing 'ipam'"
cni_run "$P" ADD "$NS" eth0 c1 '{"cniVersion":"1.0.0","name":"n","ipam":{"type":"static","addresses":[{"address":"10.0.0.1"}]}}'
err_is "static address without prefix" 7 "10.0.0.1"
cni_run "$P" ADD "$NS" eth0 c1 "$CONF" "IP=10.1.0.7"
err_is "CNI_ARGS IP without prefix" 4 "10.1.0.7"
cni_run "$P" ADD "$NS" eth0 c1 "$CONF" "FOO=1"
err_is "unknown CNI_ARGS key" 4 'ARGS: unknown args ["FOO=1"]'
for i in 1 2; do
	cni_run "$P" DEL "$NS" eth0 c1 "$CONF"
	check_eq "static DEL #$i succeeds" "$RC" 0
done
cni_run "$P" DEL "" eth0 never-added "$CONF"
check_eq "static DEL without ADD and without netns" "$RC:$OUT" "0:"
c='{"cniVersion":"1.1.0","name":"n","ipam":{"type":"static","addresses":[{"address":"10.0.0.1/24","gateway":"10.0.0.254"}]},"prevResult":{"cniVersion":"1.1.0","ips":[{"address":"10.0.0.1/24","gateway":"10.0.0.254"}]}}'
cni_run "$P" CHECK "$NS" eth0 c1 "$c"
check_eq "static CHECK with a matching prevResult" "$RC" 0
cni_run "$P" CHECK "$NS" eth0 c1 "${c/\"gateway\":\"10.0.0.254\"\}\]\}/\"gateway\":\"10.0.0.9\"\}\]\}}"
check_eq "static CHECK with another gateway fails" "$RC" 1
finish
