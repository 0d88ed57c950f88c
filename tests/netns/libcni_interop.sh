#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# cnitool against Go's libcni itself (Debian's golang-github-appc-cni-dev, built offline in GOPATH
# mode from tests/netns/libcni/). For every example conflist this kernel runs (the selection of
# cnitool_examples.sh), in a private host namespace:
#   A. ADD by libcni, CHECK and DEL by cnitool;   B. ADD by cnitool, CHECK and DEL by libcni;
#   C. ADD by libcni, GC by cnitool;              (libcni's own GC/STATUS: only in libcni >= 1.2)
# after each, nothing of the container is left: no cache file, no eth0, no host-local reservation,
# the host's links and nftables ruleset as before the ADD. The two ADD results (each on a fresh
# dataDir, so host-local hands out the same addresses) must be equal but for MACs, host veth names
# and the netns path; the two cache files must have the same kind, keys (libcni 1.1.2 writes no
# "netns": the one difference, libcni >= 1.2 writes it), container id, ifName, network, config
# and (normalised) result. Finally `cnitool validate` and libcni's ValidateNetworkList agree.
. "$(dirname "$0")/lib.sh"
need_root libcni_interop
need_cmds libcni_interop jq nft
if [ ! -x "$BIN/cnitool" ]; then
	skip libcni_interop "cnitool is not built"
	exit 0
fi
LIBCNI_SRC=${LIBCNI_SRC:-/usr/share/gocode}
if ! command -v go >/dev/null 2>&1 || [ ! -d "$LIBCNI_SRC/src/github.com/containernetworking/cni/libcni" ]; then
	skip libcni_interop "go or libcni's source missing (apt-get install golang-go golang-github-appc-cni-dev)"
	exit 0
fi
RUNNER="$BUILD/libcni-go/libcni-run"
mkdir -p "$BUILD/libcni-go"
if ! (cd "$TOP" && GO111MODULE=off GOPATH="$LIBCNI_SRC" GOFLAGS= GOPROXY=off \
	GOCACHE="$BUILD/libcni-go/cache" go build -o "$RUNNER" ./tests/netns/libcni/) >"$BUILD/libcni-go/build.log" 2>&1; then
	fail "libcni runner builds" "$(head -3 "$BUILD/libcni-go/build.log")"
	finish
fi
ok "libcni runner builds (GOPATH mode, offline)"
# libcni < 1.2.0 (Debian 12's 1.1.2) runs spec 1.0.0 at most: the examples of cniVersion 1.1.0
# run at its newest version, through both sides alike (GC and STATUS are 1.1.0's: cnitool only).
SPEC=$("$RUNNER" spec)
case "$SPEC" in 1.1.*) ;; *) skip "libcni interop at spec 1.1.0" "libcni runs spec $SPEC at most: 1.1.0 examples run at $SPEC" ;; esac

tmpdir D
DATA="$D/data"
mkdir -p "$D/net.d" "$DATA"
example_host H
CACHE="$D/cache"
export NETCONFPATH="$D/net.d" CNI_PATH="$BIN" CNITOOL_CACHE_DIR="$CACHE"
unset CNI_IFNAME CNI_ARGS CAP_ARGS

# tool ARGS / go_ ARGS: cnitool (lib.sh) / the libcni runner in the host namespace $H.
go_() { hexec "$H" "$RUNNER" "$@"; }
step() { # NAME WANT-RC tool|go_ ARGS...
	local name=$1 want=$2
	shift 2
	"$@"
	check_eq "$name" "$RC" "$want"
	[ "$RC" = "$want" ] || printf '%s\n' "$ERR" | sed 's/^/# /' | head -5
}
# host_state: the host's links (names, no veth peers' random suffixes lost) and its ruleset
host_state() {
	in_ns "$H" ip -o link show | awk -F': ' '{print $2}' | sed 's/@.*//' | sort
	in_ns "$H" nft -s list ruleset 2>/dev/null
}
# left NAME CONTAINER CACHEFILE BEFORE: nothing of the container left
left() {
	check_eq "$1: no cache file" "$([ -e "$3" ] && echo yes || echo no)" no
	check_eq "$1: no eth0 in the container" "$(has_link "$2" eth0)" no
	check_eq "$1: no host-local reservation" "$(files_left)" 0
	local now
	now=$(host_state)
	if [ "$now" = "$4" ]; then ok "$1: host links and nftables rules as before"
	else fail "$1: host links and nftables rules as before" "$(diff <(printf '%s\n' "$4") <(printf '%s\n' "$now") | grep '^[<>]' | head -5 | tr '\n' ' ')"; fi
}
# the cache file's comparable parts: kind, keys in order, ids, config, the result normalised
cache_view() {
	jq -c '{kind, keys: keys_unsorted, containerId, ifName, networkName, config,
		cniArgs, capabilityArgs}' "$1" 2>/dev/null
	norm "$(jq -c .result "$1" 2>/dev/null)" "$2"
}
# norm RESULT NETNS: norm_result's placeholders (MACs, host veths, the netns, bandwidth's ifb named
# after the container id), keys sorted, but an empty "dns" kept: libcni always writes one.
norm() {
	jq -cS --arg ns "$2" 'if .interfaces then .interfaces |= map(
		(if .mac then .mac = "MAC" else . end)
		| (if (.name | test("^veth[0-9a-f]{8}$")) then .name = "VETH" else . end)
		| (if (.name | test("^bwp[0-9a-f]{12}$")) then .name = "IFB" else . end)
		| (if .sandbox == $ns then .sandbox = "NETNS" else . end)) else . end' <<<"$1" 2>/dev/null
}
fresh_data() { rm -rf "$DATA" && mkdir -p "$DATA"; }
cid_of() { printf 'cnitool-%s' "$(printf '%s' "$1" | sha512sum | cut -c1-20)"; }

for f in "$TOP"/conf/examples/*; do
	name=$(basename "$f")
	if ! example_load "$f" "$H"; then
		fail "$name is valid JSON" "jq cannot read it"
		continue
	fi
	if [ -n "$missing" ]; then
		skip "libcni interop $name" "$missing"
		continue
	fi
	rm -f "$D/net.d"/*
	jq --arg d "$DATA" --arg spec "$SPEC" 'def dd: (if .ipam.dataDir then .ipam.dataDir = $d else . end)
		| (if .dataDir then .dataDir = $d else . end);
		(if .plugins then .plugins |= map(dd) else dd end)
		| if (.cniVersion | split(".") | map(tonumber)) > ($spec | split(".") | map(tonumber))
		  then .cniVersion = $spec else . end' "$f" >"$D/net.d/$name"
	# warm up: what stays by design after a DEL (a bridge, tables) exists before the snapshot
	mkns W
	tool add "$net" "$W"
	tool del "$net" "$W"
	fresh_data
	before=$(host_state)

	# A. ADD by libcni, CHECK and DEL by cnitool
	mkns CA
	cid=$(cid_of "$CA")
	cache="$CACHE/results/$net-$cid-eth0"
	step "$name: libcni add" 0 go_ add "$D/net.d" "$net" "$CA" "$cid" eth0 "$CACHE"
	RA=$OUT
	viewA=$(cache_view "$cache" "$CA")
	rawA=$(cat "$cache" 2>/dev/null)
	step "$name: cnitool check of libcni's add" 0 tool check "$net" "$CA"
	step "$name: cnitool del of libcni's add" 0 tool del "$net" "$CA"
	left "$name: libcni add, cnitool del" "$CA" "$cache" "$before"
	fresh_data

	# B. ADD by cnitool, CHECK and DEL by libcni
	mkns CB
	cid=$(cid_of "$CB")
	cache="$CACHE/results/$net-$cid-eth0"
	step "$name: cnitool add" 0 tool add "$net" "$CB"
	RB=$OUT
	viewB=$(cache_view "$cache" "$CB")
	rawB=$(cat "$cache" 2>/dev/null)
	step "$name: libcni check of cnitool's add" 0 go_ check "$D/net.d" "$net" "$CB" "$cid" eth0 "$CACHE"
	step "$name: libcni del of cnitool's add" 0 go_ del "$D/net.d" "$net" "$CB" "$cid" eth0 "$CACHE"
	left "$name: cnitool add, libcni del" "$CB" "$cache" "$before"
	fresh_data

	# the results and the cache files compared
	nA=$(norm "$RA" "$CA")
	nB=$(norm "$RB" "$CB")
	[ -n "$nA" ] && [ "$nA" != null ] && check_eq "$name: same result through libcni and cnitool" "$nB" "$nA" ||
		fail "$name: same result through libcni and cnitool" "libcni gave none"
	check_eq "$name: libcni's cache is cniCacheV1" "$(jq -r .kind <<<"$rawA" 2>/dev/null)" cniCacheV1
	# libcni 1.1.2 has no "netns" (>= 1.2.0 writes it after networkName, as cnitool does)
	if jq -e 'has("netns")' <<<"$rawA" >/dev/null 2>&1; then vB=$viewB
	else vB=$(sed '1s/"netns",//' <<<"$viewB"); fi
	check_eq "$name: same cache file fields as libcni's" \
		"$(sed "1s/$(cid_of "$CB")/CID/" <<<"$vB")" "$(sed "1s/$(cid_of "$CA")/CID/" <<<"$viewA")"
	check_eq "$name: cnitool's cache has the netns" "$(jq -r .netns <<<"$rawB" 2>/dev/null)" "$CB"

	# C. ADD by libcni, GC by cnitool (no valid attachments: the stale one is DELeted). A cache
	# file without "netns" (libcni < 1.2.0) gives GC's DEL no netns: the stale container is gone
	# first, as a stale attachment's is, and its links with it.
	mkns CC
	cid=$(cid_of "$CC")
	cache="$CACHE/results/$net-$cid-eth0"
	step "$name: libcni add before gc" 0 go_ add "$D/net.d" "$net" "$CC" "$cid" eth0 "$CACHE"
	if ! jq -e 'has("netns")' "$cache" >/dev/null 2>&1 && [ "${types[0]}" = host-device ]; then
		# the device would die with the namespace (a veth): nothing can give it back
		skip "$name: cnitool gc of libcni's add" "libcni < 1.2.0 caches no netns: GC cannot return a host device"
		tool del "$net" "$CC"
	elif ! jq -e 'has("netns")' "$cache" >/dev/null 2>&1; then
		ip netns del "$(basename "$CC")"
		mkns CC
		# the old namespace's links go with it, asynchronously
		poll_until 5000 bash -c "[ \"\$(ip netns exec $H ip -o link show | grep -c veth)\" = \"$(printf '%s\n' "$before" | grep -c veth)\" ]"
	fi
	if [ "${types[0]}" != host-device ] || jq -e 'has("netns")' "$cache" >/dev/null 2>&1; then
		step "$name: cnitool gc of libcni's add" 0 tool gc "$net"
		left "$name: libcni add, cnitool gc" "$CC" "$cache" "$before"
	fi
	fresh_data
	for v in gc status; do
		go_ "$v" "$D/net.d" "$net" "$CACHE"
		if [ "$RC" = 3 ]; then skip "$name: libcni $v" "this libcni has none (GC and STATUS came in libcni 1.2.0)"
		else check_eq "$name: libcni $v" "$RC" 0; fi
	done
	step "$name: cnitool status" 0 tool status "$net"

	# D. validate: the same capabilities, and the same verdict on a missing plugin
	go_ validate "$D/net.d" "$net" "$CACHE"
	want=$OUT
	step "$name: cnitool validate" 0 tool validate "$net"
	check_eq "$name: validate: same capabilities as libcni's ValidateNetworkList" "$OUT" "$want"
	OUT=$(ip netns exec "$H" env CNI_PATH=/nonexistent "$RUNNER" validate "$D/net.d" "$net" "$CACHE" 2>&1)
	RC=$?
	OUT2=$(ip netns exec "$H" env CNI_PATH=/nonexistent "$BIN/cnitool" validate "$net" 2>&1)
	check_eq "$name: validate without plugins fails in both" "$RC/$?" "1/1"
	t0=$(jq -r '.plugins[0].type' <<<"$list")
	case "$OUT2" in *"failed to find plugin \"$t0\""*) ok "$name: validate names the missing plugin" ;;
	*) fail "$name: validate names the missing plugin" "$OUT2" ;; esac
	for n in "$W" "$CA" "$CB" "$CC"; do ip netns del "$(basename "$n")"; done
done
check_eq "nothing left in the cache" "$(find "$CACHE" -type f 2>/dev/null | wc -l)" 0

# E. What each plugin is given: a chain of two logging fake plugins, a 0.4.0 result in a 1.0.0
# list (converted for CHECK and DEL), CNI_ARGS and capability arguments; every plugin's stdin and
# CNI_* environment, and the cache file, the same through libcni and cnitool (but for "netns").
FK="$D/fk"
mkdir -p "$FK/bin" "$FK/net.d"
printf '%s\n' '#!/bin/sh' "d=$FK" 'n=$(ls "$d" | grep -c "^in\.")' 'cat >"$d/in.$n.$CNI_COMMAND"' \
	'env | grep "^CNI_" | sort >"$d/env.$n.$CNI_COMMAND"' \
	'[ "$CNI_COMMAND" = VERSION ] && { echo "{\"cniVersion\":\"1.0.0\",\"supportedVersions\":[\"0.4.0\",\"1.0.0\"]}"; exit 0; }' \
	'[ "$CNI_COMMAND" = ADD ] && echo "{\"cniVersion\":\"0.4.0\",\"interfaces\":[{\"name\":\"eth0\",\"sandbox\":\"/run/netns/fk\"}],\"ips\":[{\"version\":\"4\",\"address\":\"10.1.0.2/24\",\"interface\":0}]}"' \
	'exit 0' >"$FK/bin/fk"
chmod 0755 "$FK/bin/fk"
echo '{"cniVersion":"1.0.0","name":"fk","plugins":[{"type":"fk","capabilities":{"portMappings":true,"mac":true}},{"type":"fk"}]}' >"$FK/net.d/fk.conflist"
fkid=$(cid_of /run/netns/fk)
# fk_side NAME VERB-RUNNER: add, copy the cache file, check, del; each plugin run's stdin and env
fk_side() {
	local n=$1 f
	rm -f "$FK"/in.* "$FK"/env.*
	export CNI_PATH="$FK/bin" CNI_ARGS="IgnoreUnknown=1;K8S_POD_NAME=p" NETCONFPATH="$FK/net.d" \
		CAP_ARGS='{"portMappings":[{"hostPort":8080,"containerPort":80,"protocol":"tcp"}],"mac":"02:00:00:00:00:09","other":1}'
	if [ "$n" = A ]; then
		for v in add check del; do
			"$RUNNER" $v "$FK/net.d" fk /run/netns/fk "$fkid" eth0 "$FK/ca" >/dev/null
			[ $v = add ] && cp "$FK/ca/results/fk-$fkid-eth0" "$FK/cache.A"
		done
	else
		for v in add check del; do
			CNITOOL_CACHE_DIR="$FK/cb" "$BIN/cnitool" $v fk /run/netns/fk >/dev/null
			[ $v = add ] && cp "$FK/cb/results/fk-$fkid-eth0" "$FK/cache.B"
		done
	fi
	export CNI_PATH="$BIN" NETCONFPATH="$D/net.d"
	unset CNI_ARGS CAP_ARGS
	for f in $(ls "$FK" | grep '^in\.' | sort -t. -k2n); do
		echo "${f##*.}"
		jq -cS . "$FK/$f"
		cat "$FK/env.${f#in.}"
	done >"$FK/$n.log"
}
fk_side A
fk_side B
check_eq "fake chain: six plugin runs through each" "$(grep -c '^[A-Z]*$' "$FK/A.log")/$(grep -c '^[A-Z]*$' "$FK/B.log")" 6/6
if cmp -s "$FK/A.log" "$FK/B.log"; then ok "fake chain: every plugin's stdin and CNI_* as libcni gives them"
else fail "fake chain: every plugin's stdin and CNI_* as libcni gives them" "$(diff "$FK/A.log" "$FK/B.log" | head -6 | tr '\n' ' ')"; fi
# libcni < 1.2.0 writes no "netns" (>= 1.2.0 writes it after networkName, as cnitool does)
if jq -e 'has("netns")' "$FK/cache.A" >/dev/null 2>&1; then want=$(cat "$FK/cache.A")
else want=$(sed 's|"networkName":"fk",|&"netns":"/run/netns/fk",|' "$FK/cache.A"); fi
check_eq "fake chain: the cache file byte for byte as libcni's" "$(cat "$FK/cache.B")" "$want"
check_eq "fake chain: nothing cached after del" "$(find "$FK/ca" "$FK/cb" -type f | wc -l)" 0
finish
