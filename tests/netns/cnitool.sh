#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# cnitool (cmd/cnitool on pkg/runtime) with upstream's command line and environment, in a private
# "host" namespace: conf/examples/portmap.conflist (bridge + host-local + portmap) through add,
# check, del, del again, gc, status, the libcni cache file appearing (upstream's container id, cniCacheV1) and
# disappearing; a chain whose last plugin fails leaves nothing after DEL; a plugin not found and a
# plugin printing garbage, killed or hanging (past CNITOOL_TIMEOUT) give a clear error, a non-zero
# exit and no cache file; a result written to a full stdout is an error; an unreadable directory or file (run as nobody) is named; validate.
. "$(dirname "$0")/lib.sh"
need_root cnitool
for p in cnitool bridge host-local portmap; do
	if [ ! -x "$BIN/$p" ]; then
		skip cnitool "$p is not built"
		exit 0
	fi
done
tmpdir D
mkhost H
mkns C
mkdir -p "$D/net.d" "$D/fake"
jq --arg d "$D/ipam" '.plugins[0].ipam.dataDir = $d' "$TOP/conf/examples/portmap.conflist" \
	>"$D/net.d/10-portmap.conflist"
export NETCONFPATH="$D/net.d" CNI_PATH="$BIN:$D/fake" CNITOOL_CACHE_DIR="$D/cache"
unset CNI_IFNAME CNI_ARGS CAP_ARGS

# tool ARGS...: cnitool in the host namespace $H (lib.sh).

CID="cnitool-$(printf '%s' "$C" | sha512sum | cut -c1-20)"
CACHE="$D/cache/results/portmap-example-$CID-eth0"
caps='{"portMappings":[{"hostPort":8080,"containerPort":80,"protocol":"tcp"}]}'

tool -h
check_eq "cnitool -h exits 0" "$RC" 0
case $OUT in *"add    <net> <netns>"*) ok "cnitool -h prints the usage" ;; *) fail "cnitool -h prints the usage" "$OUT" ;; esac
case $OUT in *" ls "*"--version"*) ok "cnitool -h lists ls and --version" ;; *) fail "cnitool -h lists ls and --version" "$OUT" ;; esac
tool add
check_eq "cnitool without arguments exits 1" "$RC" 1
tool --version
check_eq "cnitool --version exits 0" "$RC" 0
case $OUT in "cnitool (cnic) "?*", commit "?*", built "?*"
CNI protocol versions supported: 0.1.0, 0.2.0, 0.3.0, 0.3.1, 0.4.0, 1.0.0, 1.1.0") ok "cnitool --version: release, commit, spec versions" ;;
*) fail "cnitool --version: release, commit, spec versions" "$OUT" ;; esac

# ls: the networks in libcni's order (a later file of the same name shadowed), bad files named
cp "$D/net.d/10-portmap.conflist" "$D/net.d/15-again.conflist"
printf '{"name": "broken",' >"$D/net.d/05-broken.conflist"
jq -n '{cniVersion: "0.4.0", name: "single", type: "loopback"}' >"$D/net.d/40-single.conf"
tool ls
check_eq "ls exits 0 with a bad file" "$RC" 0
check_eq "ls: one line per network file, then the bad one" \
	"$(printf '%s\n' "$OUT" | awk '$1 == "error:" {print $1, $2, $3, $4; next} {print $1, $2, $3, $4, $5, $6, $7}' | sed 's/ *$//')" \
	"$(printf '%s\n' "NAME VERSION PLUGINS FILE" \
		"portmap-example 1.0.0 bridge,portmap $D/net.d/10-portmap.conflist" \
		"portmap-example 1.0.0 bridge,portmap $D/net.d/15-again.conflist (shadowed by $D/net.d/10-portmap.conflist)" \
		"single 0.4.0 loopback $D/net.d/40-single.conf" \
		"error: $D/net.d/05-broken.conflist: line 1:")"
rm -f "$D/net.d/15-again.conflist" "$D/net.d/05-broken.conflist" "$D/net.d/40-single.conf"
NETCONFPATH="$D/none" tool ls
check_eq "ls of a missing directory exits 0" "$RC" 0
case $ERR in *"no network configurations in $D/none"*) ok "ls of a missing directory says so" ;; *) fail "ls of a missing directory says so" "$ERR" ;; esac

CAP_ARGS=$caps tool add portmap-example "$C"
check_eq "add exits 0" "$RC" 0
[ "$RC" = 0 ] || echo "# $ERR"
ip4=$(printf '%s' "$OUT" | jq -r '[.ips[].address | select(test("\\."))][0]' 2>/dev/null)
case $ip4 in 10.86.*) ok "add prints the result" ;; *) fail "add prints the result" "$OUT" ;; esac
check_eq "the container has the address" "$(ip_of "$C")/16" "$ip4"
if [ -f "$CACHE" ]; then
	ok "the cache file is libcni's path"
	check_eq "cache kind" "$(jq -r .kind "$CACHE")" cniCacheV1
	check_eq "cache containerId is upstream's" "$(jq -r .containerId "$CACHE")" "$CID"
	check_eq "cache netns" "$(jq -r .netns "$CACHE")" "$C"
	check_eq "cache networkName/ifName" "$(jq -r '.networkName + "/" + .ifName' "$CACHE")" portmap-example/eth0
	check_eq "cache config is the file's bytes" \
		"$(jq -r .config "$CACHE" | base64 -d | sha256sum)" "$(sha256sum <"$D/net.d/10-portmap.conflist")"
	check_eq "cache capabilityArgs" "$(jq -cS .capabilityArgs "$CACHE")" "$(jq -cS . <<<"$caps")"
	check_eq "cache result is the printed one" "$(jq -cS .result "$CACHE")" "$(printf '%s' "$OUT" | jq -cS .)"
	check_eq "cache file mode" "$(stat -c %a "$CACHE")" 600
else
	fail "the cache file is libcni's path" "$(ls -R "$D/cache" 2>&1)"
fi

tool check portmap-example "$C"
check_eq "check exits 0" "$RC" 0
[ "$RC" = 0 ] || echo "# $ERR"

tool del portmap-example "$C"
check_eq "del exits 0" "$RC" 0
[ "$RC" = 0 ] || echo "# $ERR"
check_eq "del removes the cache file" "$([ -e "$CACHE" ] && echo yes || echo no)" no
check_eq "del removes eth0" "$(has_link "$C" eth0)" no
DATA="$D/ipam"
check_eq "del releases the address" "$(files_left)" 0
tool del portmap-example "$C"
check_eq "del again exits 0" "$RC" 0

# A result that cannot be written (stdout full) is no silent success: exit 1 naming stdout (the
# attachment is made: the caller DELs it). Fault lane: runtime add, write EIO at the result.
CAP_ARGS=$caps ip netns exec "$H" "$BIN/cnitool" add portmap-example "$C" >/dev/full 2>"$D/full.err"
check_eq "add with stdout full exits 1" "$?" 1
case $(cat "$D/full.err") in *"cnitool: writing to stdout: No space left on device"*) ok "add with stdout full names it" ;;
*) fail "add with stdout full names it" "$(cat "$D/full.err")" ;; esac
check_eq "add with stdout full left its cache file (for del)" "$([ -e "$CACHE" ] && echo yes || echo no)" yes
tool del portmap-example "$C"
check_eq "del after it exits 0" "$RC" 0
check_eq "del after it removes the cache file" "$([ -e "$CACHE" ] && echo yes || echo no)" no
check_eq "del after it releases the address" "$(files_left)" 0

# A chain whose last plugin fails: ADD fails naming it with its code; DEL leaves nothing.
cat >"$D/fake/failer" <<'EOF'
#!/bin/sh
cat >/dev/null
[ "$CNI_COMMAND" = ADD ] || exit 0
echo '{"cniVersion":"1.0.0","code":7,"msg":"the failer fails","details":"on purpose"}'
exit 1
EOF
cat >"$D/fake/garbage" <<'EOF'
#!/bin/sh
cat >/dev/null
echo 'this is not JSON'
EOF
# killed by a signal during ADD; hanging during ADD (past CNITOOL_TIMEOUT: killed and reaped)
printf '%s\n' '#!/bin/sh' 'cat >/dev/null' '[ "$CNI_COMMAND" = ADD ] && kill -KILL $$' 'exit 0' >"$D/fake/killer"
printf '%s\n' '#!/bin/sh' 'cat >/dev/null' '[ "$CNI_COMMAND" = ADD ] && exec sleep 37.5' 'exit 0' >"$D/fake/hanger"
chmod 0755 "$D/fake/failer" "$D/fake/garbage" "$D/fake/killer" "$D/fake/hanger"
mk() { # NAME THIRD-PLUGIN-TYPE: bridge + host-local, portmap, then THIRD (none: no third)
	jq -n --arg n "$1" --arg t "$2" --arg d "$D/ipam" '{cniVersion: "1.0.0", name: $n, plugins: [
		{type: "bridge", bridge: "cni-f0", isGateway: true,
		 ipam: {type: "host-local", dataDir: $d, ranges: [[{subnet: "10.87.0.0/24"}]]}},
		{type: "portmap", capabilities: {portMappings: true}},
		{type: $t}]}' >"$D/net.d/20-$1.conflist"
	if [ "$2" = none ]; then
		jq '.plugins |= .[:2]' "$D/net.d/20-$1.conflist" >"$D/l"
		mv "$D/l" "$D/net.d/20-$1.conflist"
	fi
}
for t in failer nosuchplugin garbage killer hanger; do
	mk "chain-$t" "$t"
	cache="$D/cache/results/chain-$t-$CID-eth0"
	t0=$(date +%s)
	CAP_ARGS=$caps CNITOOL_TIMEOUT=2 tool add "chain-$t" "$C"
	check_eq "$t: add exits 1" "$RC" 1
	if [ "$t" = hanger ]; then
		check "hanger: add returns at the timeout" test "$(($(date +%s) - t0))" -lt 15
		check_eq "hanger: the plugin is killed and reaped" "$(pgrep -fc 'sleep 37[.]5')" 0
	fi
	case $t in
	killer) want='plugin type="killer" failed (ADD): killed by signal 9' ;;
	hanger) want='plugin type="hanger" failed (ADD): timed out after 2000 ms, killed' ;;
	failer) want='plugin type="failer" failed (ADD): the failer fails (CNI error code 7)' ;;
	nosuchplugin) want='failed to find plugin "nosuchplugin"' ;;
	garbage) want='plugin type="garbage" failed (ADD): its output is not a JSON result: "this is not JSON' ;;
	esac
	case $ERR in *"$want"*) ok "$t: the error names the plugin" ;; *) fail "$t: the error names the plugin" "$ERR" ;; esac
	check_eq "$t: nothing cached" "$([ -e "$cache" ] && echo yes || echo no)" no
	check_eq "$t: the first plugins ran" "$(has_link "$C" eth0)" yes
	if [ "$t" = nosuchplugin ]; then
		# as libcni: DEL stops at the missing plugin (the last, run first), naming it; the
		# admin drops it from the list and DEL cleans the rest
		tool del "chain-$t" "$C"
		check_eq "$t: del exits 1" "$RC" 1
		case $ERR in *"$want"*) ok "$t: del names the plugin" ;; *) fail "$t: del names the plugin" "$ERR" ;; esac
		mk "chain-$t" none
	fi
	tool del "chain-$t" "$C"
	check_eq "$t: del exits 0" "$RC" 0
	[ "$RC" = 0 ] || echo "# $ERR"
	check_eq "$t: del leaves no eth0" "$(has_link "$C" eth0)" no
	check_eq "$t: del leaves no reservation" "$(files_left)" 0
	check_eq "$t: del leaves no host veth" "$(in_ns "$H" ip -o link show type veth | wc -l)" 0
	rm -f "$D/net.d/20-chain-$t.conflist"
done

# gc: every cached attachment of the network is DELeted (upstream's cnitool knows no valid one)
CAP_ARGS=$caps tool add portmap-example "$C"
check_eq "add before gc exits 0" "$RC" 0
tool gc portmap-example
check_eq "gc exits 0" "$RC" 0
[ "$RC" = 0 ] || echo "# $ERR"
check_eq "gc removes the cache file" "$([ -e "$CACHE" ] && echo yes || echo no)" no
check_eq "gc removes eth0" "$(has_link "$C" eth0)" no
check_eq "gc releases the address" "$(files_left)" 0
tool status portmap-example
check_eq "status of a 1.0.0 list exits 0 (runs nothing)" "$RC" 0
jq --arg d "$D/ipam" '.plugins[0].ipam.dataDir = $d' "$TOP/conf/examples/bridge.conflist" \
	>"$D/net.d/30-bridge.conflist"
tool status bridge-example
check_eq "status of a 1.1.0 list (bridge, host-local) exits 0" "$RC" 0
[ "$RC" = 0 ] || echo "# $ERR"
printf '%s\n' '#!/bin/sh' 'cat >/dev/null' \
	'echo "{\"code\":50,\"msg\":\"not ready: $CNI_COMMAND\"}"; exit 1' >"$D/fake/unready"
chmod 0755 "$D/fake/unready"
jq '.plugins += [{type: "unready"}]' "$D/net.d/30-bridge.conflist" >"$D/l"
mv "$D/l" "$D/net.d/30-bridge.conflist"
tool status bridge-example
check_eq "status of an unready plugin exits 1" "$RC" 1
case $ERR in *'plugin type="unready" failed (STATUS): not ready: STATUS (CNI error code 50)'*) ok "status names the unready plugin" ;; *) fail "status names the unready plugin" "$ERR" ;; esac

# 8 cnitool ADDs at once on one network: 8 addresses, 8 cache files; then 8 DELs at once.
NS8=()
for i in 1 2 3 4 5 6 7 8; do
	mkns P8
	NS8+=("$P8")
done
for n in "${NS8[@]}"; do
	ip netns exec "$H" "$BIN/cnitool" add portmap-example "$n" >"$D/par.$(basename "$n")" 2>&1 &
done
wait
addrs=$(for n in "${NS8[@]}"; do ip_of "$n"; done | sort -u | grep -c .)
check_eq "8 parallel adds: 8 distinct addresses" "$addrs" 8
[ "$addrs" = 8 ] || cat "$D"/par.* | sed 's/^/# /' | head -20
check_eq "8 parallel adds: 8 cache files" "$(find "$D/cache/results" -name 'portmap-example-*' | wc -l)" 8
for n in "${NS8[@]}"; do
	ip netns exec "$H" "$BIN/cnitool" del portmap-example "$n" >/dev/null 2>&1 &
done
wait
check_eq "8 parallel dels: no cache file" "$(find "$D/cache/results" -name 'portmap-example-*' | wc -l)" 0
check_eq "8 parallel dels: no reservation" "$(files_left)" 0
check_eq "8 parallel dels: no host veth" "$(in_ns "$H" ip -o link show type veth | wc -l)" 0

tool version portmap-example
check_eq "version exits 0" "$RC" 0
check_eq "version: one line per plugin with 1.1.0 supported" \
	"$(printf '%s\n' "$OUT" | while IFS= read -r line; do
		printf '%s %s\n' "${line%%:*}" "$(printf '%s' "${line#*: }" | jq -r '.supportedVersions | index("1.1.0") != null')"
	done)" "$(printf 'bridge true\nportmap true')"

# An unreadable configuration directory (root reads every directory: the run is as nobody, in a
# directory nobody may traverse but not list), then an unreadable file in a readable directory.
nobody() { OUT=$(setpriv --reuid=65534 --regid=65534 --clear-groups env NETCONFPATH="$1" \
	CNI_PATH="$BIN" CNITOOL_CACHE_DIR="$D/nobody-cache" "$BIN/cnitool" "${@:2}" 2>"$D/stderr"); RC=$?; ERR=$(cat "$D/stderr"); }
if command -v setpriv >/dev/null 2>&1; then
	chmod 0711 "$D"
	mkdir -p "$D/unreadable"
	cp "$D/net.d/10-portmap.conflist" "$D/unreadable/"
	chmod 0755 "$D/unreadable"
	nobody "$D/unreadable" ls
	case $OUT in *portmap-example*) ok "nobody lists a readable directory (the control)" ;; *) fail "nobody lists a readable directory (the control)" "$OUT $ERR" ;; esac
	chmod 0000 "$D/unreadable"
	for v in add ls; do
		if [ $v = add ]; then nobody "$D/unreadable" add portmap-example "$C"; else nobody "$D/unreadable" ls; fi
		check_eq "unreadable directory: $v exits 1" "$RC" 1
		case $ERR in *"cannot read $D/unreadable: Permission denied"*) ok "unreadable directory: $v names it" ;;
		*) fail "unreadable directory: $v names it" "$ERR" ;; esac
	done
	chmod 0755 "$D/unreadable"
	chmod 0000 "$D/unreadable/10-portmap.conflist"
	nobody "$D/unreadable" add portmap-example "$C"
	check_eq "unreadable file: add exits 1" "$RC" 1
	case $ERR in *"error reading $D/unreadable/10-portmap.conflist: Permission denied"*) ok "unreadable file: add names it" ;;
	*) fail "unreadable file: add names it" "$ERR" ;; esac
	check_eq "unreadable: nothing cached, nothing attached" \
		"$([ -e "$D/nobody-cache" ] && echo cache)$(has_link "$C" eth0)" no
	chmod 0700 "$D"
else
	skip "unreadable directory" "setpriv is not installed"
fi

# validate (libcni's ValidateNetworkList): the capabilities; a missing plugin and a plugin without
# the list's version named, exit 1
tool validate portmap-example
check_eq "validate exits 0" "$RC" 0
check_eq "validate prints the capabilities" "$OUT" portMappings
printf '%s\n' '#!/bin/sh' 'cat >/dev/null' \
	'[ "$CNI_COMMAND" = VERSION ] && echo "{\"cniVersion\":\"0.2.0\",\"supportedVersions\":[\"0.1.0\",\"0.2.0\"]}"' >"$D/fake/old"
chmod 0755 "$D/fake/old"
mk chain-validate old
tool validate chain-validate
check_eq "validate of an old plugin exits 1" "$RC" 1
case $ERR in *'plugin old does not support config version "1.0.0"'*) ok "validate names the old plugin" ;; *) fail "validate names the old plugin" "$ERR" ;; esac
mk chain-validate nosuchplugin
tool validate chain-validate
check_eq "validate of a missing plugin exits 1" "$RC" 1
case $ERR in *'failed to find plugin "nosuchplugin"'*) ok "validate names the missing plugin" ;; *) fail "validate names the missing plugin" "$ERR" ;; esac
rm -f "$D/net.d/20-chain-validate.conflist"
tool -h
case $OUT in *"validate <net>"*) ok "-h lists validate" ;; *) fail "-h lists validate" "$OUT" ;; esac

tool add no-such-network "$C"
check_eq "unknown network exits 1" "$RC" 1
case $ERR in *'no net configuration with name "no-such-network"'*) ok "unknown network is named" ;; *) fail "unknown network is named" "$ERR" ;; esac
CNI_ARGS="A=1;broken" tool add portmap-example "$C"
check_eq "bad CNI_ARGS exits 1" "$RC" 1
case $ERR in *'invalid CNI_ARGS pair "broken"'*) ok "bad CNI_ARGS is named" ;; *) fail "bad CNI_ARGS is named" "$ERR" ;; esac
check_eq "nothing left in the cache" "$(find "$D/cache" -type f | wc -l)" 0
finish
