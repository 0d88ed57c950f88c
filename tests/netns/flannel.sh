#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# flannel, the binary as a runtime runs it. First without root, against a stand-in delegate named
# "bridge" that records what it is given: the delegate configuration for IPv4, IPv4 with two
# networks, IPv6 and dual stack compared with flannel-io/cni-plugin's golden JSON (key order
# irrelevant), custom delegate keys, input IPAM merging, cniVersion/runtimeConfig carried over,
# every error (missing keys named together, delegate with name/ipam, bad subnet.env lines), the
# saved configuration (0600, replayed byte for byte by DEL even after subnet.env vanished, kept
# when the delegate's DEL fails), CHECK, STATUS and GC. Then, as root, with the real bridge and
# host-local delegates in a private host namespace: dual-stack pods, CHECK, GC, and DEL leaving
# nothing behind. The multi-node overlay is tests/netns/flannel_multinode.sh.
. "$(dirname "$0")/lib.sh"
P=$BIN/flannel
[ -x "$P" ] || { fail "flannel binary" "$P missing"; finish; }
tmpdir W
export FAKE_DIR=$W/rec
mkdir -p "$W/fake" "$FAKE_DIR"
# The stand-in delegate: records stdin per verb, fails a verb when told to.
cat >"$W/fake/bridge" <<'EOF'
#!/bin/sh
cat >"$FAKE_DIR/$CNI_COMMAND.json"
echo "$CNI_CONTAINERID $CNI_IFNAME" >"$FAKE_DIR/$CNI_COMMAND.env"
if [ -e "$FAKE_DIR/fail.$CNI_COMMAND" ]; then
	echo '{"code":11,"msg":"delegate says no"}'
	exit 1
fi
[ "$CNI_COMMAND" = ADD ] && echo '{"cniVersion":"1.0.0","interfaces":[{"name":"eth0","sandbox":"/x"}],"ips":[{"address":"10.1.17.2/24","gateway":"10.1.17.1","interface":0}],"routes":[{"dst":"10.1.0.0/16"}]}'
exit 0
EOF
cp "$W/fake/bridge" "$W/fake/other"
chmod +x "$W/fake/bridge" "$W/fake/other"
FAKE_PATH=$W/fake
DATA=$W/data

env_file() { # NAME CONTENT: a subnet.env, path in $W/NAME
	printf '%s' "$2" >"$W/$1"
}
env_file v4 $'FLANNEL_NETWORK=10.1.0.0/16\nFLANNEL_SUBNET=10.1.17.1/24\nFLANNEL_MTU=1472\nFLANNEL_IPMASQ=true\n'
env_file v4two $'FLANNEL_NETWORK=10.1.0.0/16,192.168.0.0/16\nFLANNEL_SUBNET=10.1.17.1/24\nFLANNEL_MTU=1472\nFLANNEL_IPMASQ=true\n'
env_file v6 $'FLANNEL_IPV6_NETWORK=fc00::/48\nFLANNEL_IPV6_SUBNET=fc00::1/64\nFLANNEL_MTU=1472\nFLANNEL_IPMASQ=true\n'
env_file dual $'FLANNEL_NETWORK=10.1.0.0/16\nFLANNEL_SUBNET=10.1.17.1/24\nFLANNEL_IPV6_NETWORK=fc00::/48\nFLANNEL_IPV6_SUBNET=fc00::1/64\nFLANNEL_MTU=1472\nFLANNEL_IPMASQ=true\n'

# conf SUBNET-ENV-NAME [EXTRA-KEYS]: the upstream test's input (no cniVersion).
conf() {
	printf '{"name":"cni-flannel","type":"flannel","subnetFile":"%s","dataDir":"%s"%s}' \
		"$W/$1" "$DATA" "${2:+,$2}"
}
run() { # COMMAND CONTAINERID CONFIG: the plugin with the stand-in delegates
	rm -f "$FAKE_DIR"/*.json
	CNI_PATH_OVERRIDE=$FAKE_PATH cni_run "$P" "$1" /var/run/netns/none eth0 "$2" "$3"
}
sorted() { jq -S . "$@" 2>/dev/null || echo INVALID; }
# check_json NAME GOT-TEXT WANT-TEXT: MatchJSON.
check_json() {
	local g w
	g=$(printf '%s' "$2" | jq -cS . 2>/dev/null || echo "INVALID: $2")
	w=$(printf '%s' "$3" | jq -cS .)
	check_eq "$1" "$g" "$w"
}
msg() { printf '%s' "$OUT" | jq -r '.msg // empty' 2>/dev/null; }

# ---- goldens (flannel_linux_test.go) ---------------------------------------------------------------
golden() { # IPAM-ROUTES IPAM-RANGES
	printf '{"ipMasq":false,"ipam":{"routes":%s,"ranges":%s,"type":"host-local"},"isGateway":true,"mtu":1472,"name":"cni-flannel","type":"bridge"}' "$1" "$2"
}
for t in "v4|[{\"dst\":\"10.1.0.0/16\"}]|[[{\"subnet\":\"10.1.17.0/24\"}]]" \
	"v4two|[{\"dst\":\"10.1.0.0/16\"},{\"dst\":\"192.168.0.0/16\"}]|[[{\"subnet\":\"10.1.17.0/24\"}]]" \
	"v6|[{\"dst\":\"fc00::/48\"}]|[[{\"subnet\":\"fc00::/64\"}]]" \
	"dual|[{\"dst\":\"10.1.0.0/16\"},{\"dst\":\"fc00::/48\"}]|[[{\"subnet\":\"10.1.17.0/24\"}],[{\"subnet\":\"fc00::/64\"}]]"; do
	IFS='|' read -r name routes ranges <<<"$t"
	cid=some-container-id-$name
	run ADD "$cid" "$(conf "$name")"
	check_eq "$name ADD" "$RC" 0
	check_eq "$name result is the delegate's (0.1.0 here)" "$(printf '%s' "$OUT" | jq -c '[.ip4.ip, .ip4.gateway]')" '["10.1.17.2/24","10.1.17.1"]'
	check_json "$name saved delegate config is flannel's golden" "$(cat "$DATA/$cid" 2>/dev/null)" "$(golden "$routes" "$ranges")"
	check_eq "$name delegate got exactly the saved bytes" "$(cmp "$DATA/$cid" "$FAKE_DIR/ADD.json" && echo same)" same
	check_eq "$name saved file is 0600" "$(stat -c %a "$DATA/$cid")" 600
	check_eq "$name dataDir is 0700" "$(stat -c %a "$DATA")" 700
	check_eq "$name delegate env" "$(cat "$FAKE_DIR/ADD.env")" "$cid eth0"
	cp "$DATA/$cid" "$W/saved"
	run DEL "$cid" "$(conf "$name")"
	check_eq "$name DEL" "$RC:$OUT" "0:"
	check_eq "$name DEL replays the saved bytes" "$(cmp "$W/saved" "$FAKE_DIR/DEL.json" && echo same)" same
	check_eq "$name DEL removes the saved config" "$(ls "$DATA")" ""
	run DEL "$cid" "$(conf "$name")"
	check_eq "$name second DEL" "$RC:$OUT" "0:"
	check_eq "$name second DEL does not call the delegate" "$(ls "$FAKE_DIR"/DEL.json 2>/dev/null)" ""
done
check_eq "saved config is compact with sorted keys, as Go's json.Marshal" "$(
	run ADD c-bytes "$(conf dual)"
	cat "$DATA/c-bytes"
	run DEL c-bytes "$(conf dual)"
)" '{"ipMasq":false,"ipam":{"ranges":[[{"subnet":"10.1.17.0/24"}],[{"subnet":"fc00::/64"}]],"routes":[{"dst":"10.1.0.0/16"},{"dst":"fc00::/48"}],"type":"host-local"},"isGateway":true,"mtu":1472,"name":"cni-flannel","type":"bridge"}'
run DEL never-added "$(conf v4)"
check_eq "DEL without ADD" "$RC:$OUT" "0:"
# An ADD killed between its temporary file and the rename (SIGKILL at its fsync): DEL removes the
# temporary file too (it was ".<cid>.<pid>.tmp", which nothing ever removed).
if command -v strace >/dev/null; then
	OUT=$(conf v4 | env CNI_COMMAND=ADD CNI_CONTAINERID=killed CNI_NETNS=/var/run/netns/none \
		CNI_IFNAME=eth0 CNI_PATH="$FAKE_PATH" ASAN_OPTIONS=detect_leaks=0 \
		strace -f -qq -o /dev/null -e trace=fsync -e inject=fsync:signal=KILL:when=1 "$P" 2>/dev/null)
	RC=$?
	check_eq "an ADD killed while saving leaves a temporary file" \
		"$([ "$RC" != 0 ] && echo killed):$(cd "$DATA" && ls -A | sed 's/[0-9]*\.tmp$/.tmp/')" "killed:.killed.tmp"
	run DEL killed "$(conf v4)"
	check_eq "DEL of the killed ADD leaves no file" "$RC:$OUT:$(ls -A "$DATA")" "0::"
else
	skip "flannel killed while saving" "strace not installed"
fi
run DEL never-added '{"name":"cni-flannel","type":"flannel","dataDir":"/nonexistent/dir"}'
check_eq "DEL without ADD, dataDir absent" "$RC:$OUT" "0:"

# ---- the rules of doCmdAdd ---------------------------------------------------------------------------
IPAM_IN='"ipam":{"type":"my-ipam","unknown-param":"unknown-value","routes":[{"dst":"10.96.0.0/12"},{"dst":"192.168.244.0/24","gw":"10.1.17.20"}]}'
run ADD c-ipam "$(conf dual "$IPAM_IN")"
check_json "input ipam merged: type, unknown keys, routes first (getDelegateIPAM)" "$(cat "$FAKE_DIR/ADD.json")" \
	'{"ipMasq":false,"isGateway":true,"mtu":1472,"name":"cni-flannel","type":"bridge","ipam":{"type":"my-ipam","unknown-param":"unknown-value","routes":[{"dst":"10.96.0.0/12"},{"dst":"192.168.244.0/24","gw":"10.1.17.20"},{"dst":"10.1.0.0/16"},{"dst":"fc00::/48"}],"ranges":[[{"subnet":"10.1.17.0/24"}],[{"subnet":"fc00::/64"}]]}}'
run ADD c-ipam2 "$(conf v4 '"ipam":{"routes":[{"dst":"10.96.0.0/12"}],"ranges":[[{"subnet":"1.2.3.0/24"}]]}')"
check_json "ipam without type: host-local, ranges replaced" "$(jq -c .ipam "$FAKE_DIR/ADD.json")" \
	'{"type":"host-local","routes":[{"dst":"10.96.0.0/12"},{"dst":"10.1.0.0/16"}],"ranges":[[{"subnet":"10.1.17.0/24"}]]}'
run ADD c-custom "$(conf v4 '"cniVersion":"1.0.0","runtimeConfig":{"portMappings":[{"hostPort":80}]},"delegate":{"hairpinMode":true,"ipMasq":true,"mtu":1400,"isGateway":false,"bridge":"cni1","x":{"y":[1,null]}}')"
check_eq "ADD at 1.0.0" "$RC" 0
check_eq "1.0.0 result is the delegate's" "$(printf '%s' "$OUT" | jq -c '[.cniVersion, .ips[0].address, .routes[0].dst]')" '["1.0.0","10.1.17.2/24","10.1.0.0/16"]'
check_json "custom delegate keys kept over the defaults; cniVersion and runtimeConfig carried" "$(cat "$FAKE_DIR/ADD.json")" \
	'{"cniVersion":"1.0.0","hairpinMode":true,"ipMasq":true,"mtu":1400,"isGateway":false,"bridge":"cni1","x":{"y":[1,null]},"name":"cni-flannel","type":"bridge","runtimeConfig":{"portMappings":[{"hostPort":80}]},"ipam":{"type":"host-local","ranges":[[{"subnet":"10.1.17.0/24"}]],"routes":[{"dst":"10.1.0.0/16"}]}}'
run ADD c-other "$(conf v4 '"delegate":{"type":"other"},"runtimeConfig":null')"
check_eq "non-bridge delegate: no isGateway, no runtimeConfig for null" "$(jq -c '[.type, has("isGateway"), has("runtimeConfig")]' "$FAKE_DIR/ADD.json")" '["other",false,false]'
env_file nomasq $'FLANNEL_NETWORK=10.1.0.0/16,10.1.0.0/16,10.1.5.5/16\r\n# comment\nOTHER=x\n\nFLANNEL_SUBNET=10.1.17.1/24\r\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=TRUE'
run ADD c-nomasq "$(conf nomasq)"
check_eq "IPMASQ other than \"true\": the delegate masquerades; CRLF, comments, duplicates" \
	"$(jq -c '[.ipMasq, .mtu, .ipam.routes]' "$FAKE_DIR/ADD.json")" '[true,1450,[{"dst":"10.1.0.0/16"}]]'
for c in c-ipam c-ipam2 c-custom c-other c-nomasq; do run DEL $c "$(conf v4)"; done
check_eq "DELs leave no saved config" "$(ls "$DATA")" ""

# ---- errors ------------------------------------------------------------------------------------------
# bad NAME ENV-CONTENT WANT-MSG [EXTRA-KEYS]
bad() {
	env_file bad "$2"
	run ADD c-bad "$(conf bad "${4:-}")"
	check_eq "$1" "$RC:$(msg)" "1:$3"
	check_eq "$1: nothing saved, delegate not called" "$(ls "$DATA")$(ls "$FAKE_DIR"/ADD.json 2>/dev/null)" ""
}
bad "every missing key named at once" 'foo=bar' \
	"loadFlannelSubnetEnv failed: $W/bad is missing FLANNEL_NETWORK, FLANNEL_IPV6_NETWORK, FLANNEL_SUBNET, FLANNEL_IPV6_SUBNET, FLANNEL_MTU, FLANNEL_IPMASQ"
bad "missing MTU and IPMASQ" $'FLANNEL_IPV6_NETWORK=fc00::/48\nFLANNEL_SUBNET=10.1.17.1/24\n' \
	"loadFlannelSubnetEnv failed: $W/bad is missing FLANNEL_MTU, FLANNEL_IPMASQ"
bad "missing subnets" $'FLANNEL_NETWORK=10.1.0.0/16\nFLANNEL_MTU=1\nFLANNEL_IPMASQ=false' \
	"loadFlannelSubnetEnv failed: $W/bad is missing FLANNEL_SUBNET, FLANNEL_IPV6_SUBNET"
bad "bad network in a list" $'FLANNEL_NETWORK=10.1.0.0/16,10.2.0.0\n' \
	"loadFlannelSubnetEnv failed: $W/bad:1: invalid CIDR address \"10.2.0.0\" in FLANNEL_NETWORK"
bad "empty network list item" $'\nFLANNEL_IPV6_NETWORK=fc00::/48,\n' \
	"loadFlannelSubnetEnv failed: $W/bad:2: invalid CIDR address \"\" in FLANNEL_IPV6_NETWORK"
bad "bad subnet" $'FLANNEL_SUBNET=10.1.17.1/33\n' \
	"loadFlannelSubnetEnv failed: $W/bad:1: invalid CIDR address \"10.1.17.1/33\" in FLANNEL_SUBNET"
bad "bad IPv6 subnet" $'FLANNEL_IPV6_SUBNET= fc00::/64\n' \
	"loadFlannelSubnetEnv failed: $W/bad:1: invalid CIDR address \" fc00::/64\" in FLANNEL_IPV6_SUBNET"
for m in abc -1 +1 1e3 4294967296 ''; do
	bad "bad MTU '$m'" "FLANNEL_MTU=$m" "loadFlannelSubnetEnv failed: $W/bad:1: invalid FLANNEL_MTU \"$m\""
done
bad "known key without a value (upstream panics)" $'FLANNEL_NETWORK=10.1.0.0/16\nFLANNEL_MTU\n' \
	"loadFlannelSubnetEnv failed: $W/bad:2: FLANNEL_MTU has no value"
bad "delegate with name" "$(cat "$W/v4")" \
	"'delegate' dictionary must not have 'name' field, it'll be set by flannel" '"delegate":{"name":"x"}'
bad "delegate with ipam" "$(cat "$W/v4")" \
	"'delegate' dictionary must not have 'ipam' field, it'll be set by flannel" '"delegate":{"ipam":{}}'
bad "delegate with a non-string type" "$(cat "$W/v4")" \
	"'delegate' dictionary, if present, must have (string) 'type' field" '"delegate":{"type":null}'
bad "delegate not an object" "$(cat "$W/v4")" \
	'failed to load netconf: cannot unmarshal string into field "delegate" of type object' '"delegate":"bridge"'
bad "bad input ipam routes" "$(cat "$W/v4")" \
	'failed to assemble Delegate IPAM: failed to parse ipam.routes[0]: invalid CIDR address "nope" in "dst"' '"ipam":{"routes":[{"dst":"nope"}]}'
run ADD c-bad "$(conf absent)"
check_eq "subnet.env missing" "$RC:$(msg)" "1:loadFlannelSubnetEnv failed: open $W/absent: no such file or directory"
check_eq "case-sensitive delegate keys: \"Name\" is not \"name\" (a Go map)" "$(
	run ADD c-case "$(conf v4 '"delegate":{"Name":"x"}')"
	echo "$RC"
	run DEL c-case "$(conf v4)"
)" 0

# ---- DEL replays, keeps the file when the delegate fails ----------------------------------------------
cp "$W/dual" "$W/moving"
run ADD c-replay "$(conf moving '"cniVersion":"1.1.0"')"
cp "$DATA/c-replay" "$W/saved"
printf 'FLANNEL_NETWORK=10.9.0.0/16\nFLANNEL_SUBNET=10.9.1.1/24\nFLANNEL_MTU=1\nFLANNEL_IPMASQ=true\n' >"$W/moving"
run CHECK c-replay "$(conf moving '"cniVersion":"1.1.0","prevResult":{"cniVersion":"1.1.0","ips":[{"address":"10.1.17.2/24"}]}')"
check_eq "CHECK" "$RC:$OUT" "0:"
check_json "CHECK: saved config + prevResult" "$(cat "$FAKE_DIR/CHECK.json")" \
	"$(jq -c '. + {"prevResult":{"cniVersion":"1.1.0","ips":[{"address":"10.1.17.2/24"}]}}' "$W/saved")"
touch "$FAKE_DIR/fail.DEL"
run DEL c-replay "$(conf moving)"
check_eq "delegate DEL failure is reported" "$RC:$(err_code):$(msg)" "1:11:delegate says no"
check_eq " and the saved config stays" "$(cmp "$W/saved" "$DATA/c-replay" && echo same)" same
rm -f "$FAKE_DIR/fail.DEL" "$W/moving"
run DEL c-replay "$(conf moving)"
check_eq "DEL after subnet.env changed and vanished" "$RC:$OUT" "0:"
check_eq " replays the bytes saved at ADD" "$(cmp "$W/saved" "$FAKE_DIR/DEL.json" && echo same)" same
check_eq " and removes them" "$(ls "$DATA")" ""
touch "$FAKE_DIR/fail.ADD"
run ADD c-failadd "$(conf v4)"
check_eq "delegate ADD failure" "$RC:$(err_code):$(msg)" "1:11:failed to delegate add: delegate says no"
check_eq " keeps the saved config for the runtime's DEL" "$(ls "$DATA")" c-failadd
rm -f "$FAKE_DIR/fail.ADD"
run DEL c-failadd "$(conf v4)"
check_eq " which replays it" "$RC:$(ls "$DATA")" "0:"
printf '{not json' >"$DATA/c-junk"
run DEL c-junk "$(conf v4)"
check_eq "unparsable saved config: DEL succeeds (upstream)" "$RC:$OUT" "0:"
rm -f "$DATA/c-junk"
run CHECK c-none "$(conf v4 '"cniVersion":"1.0.0"')"
check_eq "CHECK without a saved config" "$RC:$(err_code)" "1:3"

# ---- STATUS and GC ----------------------------------------------------------------------------------------
run STATUS "" "$(conf v4 '"cniVersion":"1.1.0"')"
check_eq "STATUS" "$RC:$OUT" "0:"
check_eq "STATUS renders the delegate from subnet.env" "$(jq -c '[.cniVersion, .ipam.ranges]' "$FAKE_DIR/STATUS.json")" '["1.1.0",[[{"subnet":"10.1.17.0/24"}]]]'
run STATUS "" "$(conf absent '"cniVersion":"1.1.0"')"
check_eq "STATUS without subnet.env: not available (50)" "$RC:$(err_code)" "1:50"
for c in ga gb gc; do run ADD $c "$(conf v4 '"cniVersion":"1.1.0"')"; done
printf '{"name":"another-net","type":"bridge"}' >"$DATA/gx"
printf '{"name":"cni-flannel"}' >"$DATA/.gd.1.tmp"
GCC=$(conf v4 '"cniVersion":"1.1.0","cni.dev/valid-attachments":[{"containerID":"gb","ifname":"eth1"}]')
touch "$FAKE_DIR/fail.GC"
run GC "" "$GCC"
check_eq "GC: delegate failure reported, nothing removed" "$RC:$(ls "$DATA" | tr '\n' ' ')" "1:ga gb gc gx "
rm -f "$FAKE_DIR/fail.GC"
run GC "" "$GCC"
check_eq "GC" "$RC:$OUT" "0:"
check_eq "GC forwards the valid attachments to the delegate" "$(jq -c '[.type, .name, .cniVersion, ."cni.dev/valid-attachments"]' "$FAKE_DIR/GC.json")" \
	'["bridge","cni-flannel","1.1.0",[{"containerID":"gb","ifname":"eth1"}]]'
check_eq "GC keeps the valid container's config (any ifname), another network's and temp files" \
	"$(ls -A "$DATA" | tr '\n' ' ')" ".gd.1.tmp gb gx "
run DEL gb "$(conf v4)"
rm -rf "$DATA"

# ---- real delegates (bridge + host-local) in a private host namespace -------------------------------------
if [ "$(id -u)" != 0 ] || ! ip netns add "cnic-probe-$T_TAG" 2>/dev/null; then
	skip "flannel with bridge + host-local" "needs root and network namespaces"
	finish
fi
ip netns del "cnic-probe-$T_TAG"
mkhost H
mkns A
mkns B
IPAMDIR=$W/ipam
# reservations CID: host-local's files (named by address) held by a container.
reservations() { grep -l "^$1" "$IPAMDIR"/*/[0-9a-f]* 2>/dev/null | wc -l; }
RC_CONF=$(conf dual "\"cniVersion\":\"1.1.0\",\"ipam\":{\"dataDir\":\"$IPAMDIR\"}")
hrun "$H" "$P" ADD "$A" eth0 pod-a "$RC_CONF"
check_eq "real ADD a" "$RC" 0
RA=$OUT
hrun "$H" "$P" ADD "$B" eth0 pod-b "$RC_CONF"
check_eq "real ADD b" "$RC" 0
check_eq "result: bridge cni0, the veth, eth0 in the pod" "$(printf '%s' "$RA" | jq -c '[.interfaces[0].name, .interfaces[2].name, .interfaces[2].sandbox]')" "[\"cni0\",\"eth0\",\"$A\"]"
check_eq "pod addresses from the node subnets" "$(printf '%s' "$RA" | jq -c '[.ips[].address | test("^10\\.1\\.17\\.|^fc00::")] | all')" true
check_eq "pod MTU from subnet.env" "$(in_ns "$A" ip -j link show eth0 | jq '.[0].mtu')" 1472
check_eq "route to the cluster network" "$(in_ns "$A" ip -j route show 10.1.0.0/16 | jq -r '.[0].gateway')" 10.1.17.1
check_eq "cni0 is the gateway" "$(in_ns "$H" ip -j addr show cni0 | jq -r '[.[0].addr_info[] | select(.family=="inet") | .local][0]')" 10.1.17.1
b4=$(in_ns "$B" ip -j addr show eth0 | jq -r '[.[0].addr_info[] | select(.family=="inet") | .local][0]')
check "pod a pings pod b" ping_ok "$A" "$b4"
hrun "$H" "$P" CHECK "$A" eth0 pod-a "$(with_prev "$RC_CONF" "$RA")"
check_eq "real CHECK" "$RC:$OUT" "0:"
hrun "$H" "$P" STATUS "" "" "" "$RC_CONF"
check_eq "real STATUS" "$RC:$OUT" "0:"
# Pod b's container vanished without a DEL (its netns with it): GC collects what is left.
ip netns del "$(basename "$B")"
hrun "$H" "$P" GC "" "" "" "$(printf '%s' "$RC_CONF" | jq -c '. + {"cni.dev/valid-attachments":[{"containerID":"pod-a","ifname":"eth0"}]}')"
check_eq "real GC" "$RC:$OUT" "0:"
check_eq "GC released pod b's addresses and saved config, kept pod a's" \
	"$(reservations pod-b):$(reservations pod-a):$(ls "$DATA" | tr '\n' ' ')" "0:2:pod-a "
hrun "$H" "$P" DEL "$B" eth0 pod-b "$RC_CONF"
check_eq "DEL b after GC" "$RC" 0
rm -f "$W/dual"
hrun "$H" "$P" DEL "$A" eth0 pod-a "$RC_CONF"
check_eq "real DEL a without subnet.env" "$RC:$OUT" "0:"
hrun "$H" "$P" DEL "$A" eth0 pod-a "$RC_CONF"
check_eq "real DEL a twice" "$RC:$OUT" "0:"
check_eq "no veth left on the host" "$(in_ns "$H" ip -j link show type veth | jq length)" 0
check_eq "no eth0 left in pod a" "$(in_ns "$A" ip link show eth0 2>/dev/null)" ""
check_eq "no reservation left" "$(reservations pod-)" 0
check_eq "no saved config left" "$(ls -A "$DATA" 2>/dev/null)" ""
finish
