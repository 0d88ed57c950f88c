#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# tuning on a container interface (a veth in a throwaway netns): every attribute (mac, mtu,
# promisc, allmulti, txQLen) set from the configuration, from args.cni, MAC from CNI_ARGS and
# runtimeConfig, read back with ip -j and restored after DEL; sysctls with IFNAME, keys outside
# net refused, duplicate keys refused, the allowlist honoured (in a private mount namespace, /etc
# overlaid; Debian's reference 1.1.1 has neither the allowlist nor the duplicate-key check);
# CHECK; DEL twice, without ADD, after the netns vanished; GC of stale backups; every spec
# version; results, backup files and cross-implementation DEL compared with the reference binary.
. "$(dirname "$0")/lib.sh"
P=$BIN/tuning
HAVE_REF=0
[ -x "$REF/tuning" ] && HAVE_REF=1

# ---- the allowlist, run in a private mount namespace (re-executed by the main run below) --------
if [ "${1:-}" = --allowlist ]; then
	T=$2
	mkdir -p "$T/u/cni/tuning" "$T/w"
	mount -t overlay overlay -o "lowerdir=/etc,upperdir=$T/u,workdir=$T/w" /etc || exit 3
	printf '%s\n' '^net\.ipv4\.conf\.IFNAME\.[a-z_]*$' '' '  ^net\.core\.somaxconn$  ' >/etc/cni/tuning/allowlist.conf
	mkns C
	ip -n "$(basename "$C")" link add eth0 type veth peer name peer0
	prev=$(printf '{"cniVersion":"1.0.0","interfaces":[{"name":"eth0","sandbox":"%s"}],"ips":[]}' "$C")
	# Debian's reference (1.1.1) predates the allowlist: ours alone.
	for impl in "$P"; do
		n=$([ "$impl" = "$P" ] && echo ours || echo reference)
		cni_run "$impl" ADD "$C" eth0 c1 "$(jq -nc --argjson p "$prev" '{cniVersion:"1.0.0",name:"t",type:"tuning",dataDir:"/tmp/x",sysctl:{"net.ipv4.conf.IFNAME.arp_notify":"1","net.core.somaxconn":"512"},prevResult:$p}')"
		check_eq "allowlist ($n): allowed keys pass" "$RC" 0
		check_eq "allowlist ($n): and are written" "$(in_ns "$C" cat /proc/sys/net/ipv4/conf/eth0/arp_notify)" 1
		# A new netns takes IPv4's forwarding from the host's (devconf_inherit_init_net 0): 0 first.
		in_ns "$C" sysctl -qw net.ipv4.ip_forward=0
		cni_run "$impl" ADD "$C" eth0 c1 "$(jq -nc --argjson p "$prev" '{cniVersion:"1.0.0",name:"t",type:"tuning",sysctl:{"net.ipv4.ip_forward":"1"},prevResult:$p}')"
		check_eq "allowlist ($n): a key not on the list is refused" "$RC:$(printf '%s' "$OUT" | jq -r .msg | grep -c 'Sysctl net.ipv4.ip_forward is not allowed')" 1:1
		check_eq "allowlist ($n): and not written" "$(in_ns "$C" cat /proc/sys/net/ipv4/ip_forward)" 0
	done
	finish
fi

need_root tuning
tmpdir DATA

# conf VERSION EXTRA-KEYS PREVRESULT
conf() {
	if [ -n "${3:-}" ]; then
		printf '{"cniVersion":"%s","name":"tnet","type":"tuning","dataDir":"%s"%s}' "$1" "$DATA" "${2:+,$2}" |
			jq -c --argjson p "$3" '. + {prevResult: $p}'
	else
		printf '{"cniVersion":"%s","name":"tnet","type":"tuning","dataDir":"%s"%s}' "$1" "$DATA" "${2:+,$2}"
	fi
}
# mkcont VAR: a netns with eth0 (one end of a veth pair whose other end stays there too).
mkcont() {
	local n
	mkns "$1"
	n=$(basename "${!1}")
	ip -n "$n" link add eth0 type veth peer name peer0
	ip -n "$n" link set eth0 up
}
prev_of() { # VERSION NETNS
	local mac
	mac=$(in_ns "$2" ip -j link show eth0 | jq -r '.[0].address')
	case $1 in
	0.1.0 | 0.2.0) printf '{"cniVersion":"%s","ip4":{"ip":"10.9.0.2/24"}}' "$1" ;;
	*) printf '{"cniVersion":"%s","interfaces":[{"name":"eth0","mac":"%s","sandbox":"%s"}],"ips":[{"address":"10.9.0.2/24","interface":0}]}' "$1" "$mac" "$2" ;;
	esac
}
link() { in_ns "$1" ip -j -d link show eth0 | jq -c '.[0] | {address, mtu, txqlen, promisc: (.flags | index("PROMISC") != null), allmulti: (.flags | index("ALLMULTI") != null)}'; }
backup() { jq -cS . "$DATA/$1_eth0.json" 2>/dev/null || echo none; }

ALL='"mac":"02:11:22:33:44:55","mtu":1400,"promisc":true,"allmulti":true'
WANT='{"address":"02:11:22:33:44:55","mtu":1400,"txqlen":1000,"promisc":true,"allmulti":true}'

# ---- every spec version: all attributes, CHECK, DEL restores, DEL twice -----------------------------
for v in $VERSIONS; do
	mkcont C
	orig=$(link "$C")
	origmac=$(printf '%s' "$orig" | jq -r .address)
	PREV=$(prev_of "$v" "$C")
	CF=$(conf "$v" "$ALL,\"sysctl\":{\"net.ipv4.conf.IFNAME.arp_notify\":\"1\"}" "$PREV")
	cni_run "$P" ADD "$C" eth0 c1 "$CF"
	check_eq "$v ADD" "$RC" 0
	R=$OUT
	check_eq "$v attributes set" "$(link "$C")" "$WANT"
	check_eq "$v sysctl with IFNAME written" "$(in_ns "$C" cat /proc/sys/net/ipv4/conf/eth0/arp_notify)" 1
	check_eq "$v backup holds the original values" "$(backup c1)" "{\"allmulti\":false,\"mac\":\"$origmac\",\"mtu\":1500,\"promisc\":false}"
	case $v in
	0.1.0 | 0.2.0) check_eq "$v result" "$(printf '%s' "$R" | jq -r .ip4.ip)" 10.9.0.2/24 ;;
	*) check_eq "$v result has the new MAC" "$(printf '%s' "$R" | jq -r .interfaces[0].mac)" 02:11:22:33:44:55 ;;
	esac
	if [ "$HAVE_REF" = 1 ]; then
		mkcont CR
		PR=$(prev_of "$v" "$CR")
		cni_run "$REF/tuning" ADD "$CR" eth0 c1 "$(conf "$v" "$ALL" "$PR" | sed "s|$DATA|$DATA/ref|")"
		RR=$OUT
		cni_run "$P" ADD "$CR" eth0 c1 "$(conf "$v" "$ALL" "$(prev_of "$v" "$CR")" | sed "s|$DATA|$DATA/ref|")"
		check_eq "$v ADD of an already tuned interface" "$RC" 0
		cni_run "$P" ADD "$C" eth0 c2 "$(conf "$v" "$ALL" "$(printf '%s' "$PR" | sed "s|$CR|$C|g")")"
		if [ "$(printf '%s' "$RR" | jq -r '.code // 0')" = 1 ]; then
			skip "$v result as the reference's" "the reference does not speak $v"
		else
			check_eq "$v result as the reference's" "$(printf '%s' "$OUT" | norm)" "$(printf '%s' "$RR" | sed "s|$CR|$C|g" | norm)"
		fi
		rm -f "$DATA/c2_eth0.json" "$DATA/ref/c1_eth0.json"
	fi
	if [[ $v == 0.4.0 || $v == 1.* ]]; then
		cni_run "$P" CHECK "$C" eth0 c1 "$(conf "$v" "$ALL,\"sysctl\":{\"net.ipv4.conf.IFNAME.arp_notify\":\"1\"}" "$R")"
		check_eq "$v CHECK" "$RC:$OUT" "0:"
		in_ns "$C" ip link set eth0 mtu 1300
		cni_run "$P" CHECK "$C" eth0 c1 "$(conf "$v" "$ALL" "$R")"
		check_eq "$v CHECK notices a changed MTU" "$RC:$(printf '%s' "$OUT" | jq -r .msg | grep -c MTU)" 1:1
		in_ns "$C" ip link set eth0 mtu 1400
		cni_run "$P" CHECK "$C" eth0 c1 "$(conf "$v" '"promisc":false' "$R")"
		check_eq "$v CHECK: promisc false means off" "$RC" 1
	fi
	cni_run "$P" DEL "$C" eth0 c1 "$CF"
	check_eq "$v DEL" "$RC:$OUT" "0:"
	check_eq "$v original attributes restored" "$(link "$C")" "$orig"
	check_eq "$v backup removed" "$(backup c1)" none
	cni_run "$P" DEL "$C" eth0 c1 "$CF"
	check_eq "$v second DEL" "$RC:$OUT" "0:"
	cni_run "$P" DEL "" eth0 never "$(conf "$v" "$ALL" "$PREV")"
	check_eq "$v DEL without ADD or netns" "$RC:$OUT" "0:"
done

# ---- each attribute alone, from the configuration and from args.cni ----------------------------------
for src in conf args; do
	for kv in '"mac":"02:00:00:00:00:09"' '"mtu":1280' '"promisc":true' '"allmulti":true' '"allmulti":false' '"txQLen":77'; do
		mkcont C
		in_ns "$C" ip link set eth0 allmulticast on
		orig=$(link "$C")
		key=$(printf '{%s}' "$kv" | jq -r 'keys[0]')
		val=$(printf '{%s}' "$kv" | jq -c '.[]')
		if [ $src = conf ]; then ex=$kv; else ex="\"args\":{\"cni\":{$kv}}"; fi
		cni_run "$P" ADD "$C" eth0 a1 "$(conf 1.0.0 "$ex" "$(prev_of 1.0.0 "$C")")"
		field=$(case $key in mac) echo address ;; txQLen) echo txqlen ;; *) echo "$key" ;; esac)
		check_eq "$src $key set" "$RC:$(link "$C" | jq -c ".$field")" "0:$val"
		check_eq "$src $key: only it is saved" "$(jq -c 'keys' "$DATA/a1_eth0.json")" "[\"$key\"]"
		cni_run "$P" CHECK "$C" eth0 a1 "$(conf 1.0.0 "$ex" "$(prev_of 1.0.0 "$C")")"
		check_eq "$src $key CHECK" "$RC:$OUT" "0:"
		cni_run "$P" DEL "$C" eth0 a1 "$(conf 1.0.0 "$ex" "$(prev_of 1.0.0 "$C")")"
		check_eq "$src $key restored after DEL" "$(link "$C")" "$orig"
	done
done

# ---- MAC precedence: config < CNI_ARGS MAC < runtimeConfig.mac < args.cni.mac -------------------------
mkcont C
PREV=$(prev_of 1.0.0 "$C")
cni_run "$P" ADD "$C" eth0 m1 "$(conf 1.0.0 '"mac":"02:00:00:00:00:01"' "$PREV")" "MAC=02:00:00:00:00:02"
check_eq "CNI_ARGS MAC over config" "$RC:$(link "$C" | jq -r .address)" "0:02:00:00:00:00:02"
cni_run "$P" ADD "$C" eth0 m1 "$(conf 1.0.0 '"mac":"02:00:00:00:00:01","runtimeConfig":{"mac":"02:00:00:00:00:03"}' "$PREV")" "MAC=02:00:00:00:00:02"
check_eq "runtimeConfig.mac over CNI_ARGS" "$RC:$(link "$C" | jq -r .address)" "0:02:00:00:00:00:03"
cni_run "$P" ADD "$C" eth0 m1 "$(conf 1.0.0 '"runtimeConfig":{"mac":"02:00:00:00:00:03"},"args":{"cni":{"mac":"02:00:00:00:00:04"}}' "$PREV")" "MAC=02:00:00:00:00:02"
check_eq "args.cni.mac over runtimeConfig" "$RC:$(link "$C" | jq -r .address)" "0:02:00:00:00:00:04"
cni_run "$P" ADD "$C" eth0 m1 "$(conf 1.0.0 '"mac":"02:00:00:00:00:01"' "$PREV")" "K8S_POD_NAME=x"
check_eq "unknown CNI_ARGS refused without IgnoreUnknown" "$RC" 1
cni_run "$P" ADD "$C" eth0 m1 "$(conf 1.0.0 '"mac":"zz"' "$PREV")"
check_eq "bad MAC refused" "$RC:$(err_code)" 1:7
cni_run "$P" DEL "$C" eth0 m1 "$(conf 1.0.0 "" "$PREV")"

# ---- sysctls ------------------------------------------------------------------------------------------
mkcont C
PREV=$(prev_of 1.0.0 "$C")
cni_run "$P" ADD "$C" eth0 s1 "$(conf 1.0.0 '"sysctl":{"net.ipv4.conf.eth0.arp_ignore":"1"},"args":{"cni":{"sysctl":{"net.ipv4.conf.eth0.arp_ignore":"2","net.ipv4.conf.IFNAME.arp_announce":"2"}}}' "$PREV")"
check_eq "args.cni.sysctl merged over sysctl" "$RC:$(in_ns "$C" cat /proc/sys/net/ipv4/conf/eth0/arp_ignore):$(in_ns "$C" cat /proc/sys/net/ipv4/conf/eth0/arp_announce)" 0:2:2
check_eq "sysctls alone leave no backup" "$(backup s1)" none
cni_run "$P" ADD "$C" eth0 s1 "$(conf 1.0.0 '"sysctl":{"kernel.hostname":"x"}' "$PREV")"
check_eq "a key outside net refused" "$RC:$(printf '%s' "$OUT" | jq -r .msg | grep -c 'invalid net sysctl key')" 1:1
cni_run "$P" ADD "$C" eth0 s1 "$(conf 1.0.0 '"sysctl":{"net.ipv4/../../kernel.hostname":"x"}' "$PREV")"
check_eq "a key escaping net refused" "$RC" 1
DUP=$(printf '{"cniVersion":"1.0.0","name":"tnet","type":"tuning","sysctl":{"net.ipv4.conf.eth0.arp_ignore":"1","net.ipv4.conf.eth0.arp_ignore":"0"},"prevResult":%s}' "$PREV")
cni_run "$P" ADD "$C" eth0 s1 "$DUP"
check_eq "duplicate sysctl keys refused on ADD" "$RC:$(printf '%s' "$OUT" | jq -r .msg)" "1:duplicated sysctl keys are not allowed"
cni_run "$P" CHECK "$C" eth0 s1 "$DUP"
check_eq "duplicate sysctl keys refused on CHECK" "$RC:$(printf '%s' "$OUT" | jq -r .msg)" "1:duplicated sysctl keys are not allowed"
cni_run "$P" ADD "$C" eth0 s1 "$(printf '{"cniVersion":"1.0.0","name":"tnet","type":"tuning","sysctl":{"net.a":"1"},"x":{"sysctl":1,"sysctl":2}}')"
check_eq "duplicates elsewhere are not sysctl keys" "$(printf '%s' "$OUT" | jq -r .msg)" "Required prevResult missing"
CNI_IFNAME_BAD="a/b"
cni_run "$P" ADD "$C" "$CNI_IFNAME_BAD" s1 "$(conf 1.0.0 "" "$PREV")"
check_eq "ifname with a path separator refused" "$RC" 1
cni_run "$P" CHECK "$C" eth0 s1 "$(conf 1.0.0 '"sysctl":{"net.ipv4.conf.eth0.arp_ignore":"3"}' "$PREV")"
check_eq "CHECK notices a different sysctl" "$RC" 1
cni_run "$P" ADD "$C" eth0 s1 "$(conf 1.0.0 '"mtu":1400' "")"
check_eq "ADD without prevResult refused" "$RC:$(printf '%s' "$OUT" | jq -r .msg)" "1:Required prevResult missing"

if command -v unshare >/dev/null && [ -d /etc ]; then
	tmpdir AL
	out=$(unshare -m bash "$0" --allowlist "$AL" 2>&1)
	rc=$?
	if [ $rc = 3 ]; then
		skip "allowlist" "no overlayfs to stage /etc/cni/tuning privately"
	else
		printf '%s\n' "$out" | grep -E '^(ok|not ok|skip) - '
		[ $rc = 0 ] || T_FAILED=1
	fi
else
	skip "allowlist" "no unshare"
fi

# ---- DEL after the netns vanished, reference interoperability, GC --------------------------------------
mkcont C
cni_run "$P" ADD "$C" eth0 g1 "$(conf 1.0.0 '"mtu":1400' "$(prev_of 1.0.0 "$C")")"
ip netns del "$(basename "$C")"
cni_run "$P" DEL "$C" eth0 g1 "$(conf 1.0.0 '"mtu":1400')"
check_eq "DEL after the netns vanished succeeds and removes the backup" "$RC:$(backup g1)" 0:none

if [ "$HAVE_REF" = 1 ]; then
	mkcont C
	orig=$(link "$C")
	cni_run "$REF/tuning" ADD "$C" eth0 x1 "$(conf 1.0.0 "$ALL" "$(prev_of 1.0.0 "$C")")"
	refb=$(backup x1)
	cni_run "$P" DEL "$C" eth0 x1 "$(conf 1.0.0 "$ALL" "$(prev_of 1.0.0 "$C")")"
	check_eq "our DEL restores from the reference's backup" "$RC:$(link "$C"):$(backup x1)" "0:$orig:none"
	cni_run "$P" ADD "$C" eth0 x1 "$(conf 1.0.0 "$ALL" "$(prev_of 1.0.0 "$C")")"
	check_eq "our backup equals the reference's (as JSON)" "$(backup x1)" "$refb"
	cni_run "$REF/tuning" DEL "$C" eth0 x1 "$(conf 1.0.0 "$ALL" "$(prev_of 1.0.0 "$C")")"
	check_eq "the reference's DEL restores from our backup" "$RC:$(link "$C"):$(backup x1)" "0:$orig:none"
else
	skip "tuning differential" "no $REF/tuning"
fi

mkcont C
for c in k1 k_2 k3; do
	cni_run "$P" ADD "$C" eth0 $c "$(conf 1.1.0 '"txQLen":500' "$(prev_of 1.1.0 "$C")")"
done
cni_run "$P" GC "" "" "" "$(printf '{"cniVersion":"1.1.0","name":"tnet","type":"tuning","dataDir":"%s","cni.dev/valid-attachments":[{"containerID":"k_2","ifname":"eth0"}]}' "$DATA")"
check_eq "GC" "$RC:$OUT" "0:"
check_eq "GC keeps the valid attachment's backup ('_' in its ID), removes the stale ones" "$(backup k1):$(backup k_2 | jq -c keys):$(backup k3)" 'none:["txQLen"]:none'

# A writer killed between its temporary file and the rename (the fault lane's SIGKILL at the
# fsync): DEL removes the temporary file too; GC removes a stale attachment's (before, they were
# named ".tmp<pid>" and nothing ever removed them) and keeps a valid one's.
if command -v strace >/dev/null; then
	mkcont C
	OUT=$(conf 1.1.0 '"mtu":1400' "$(prev_of 1.1.0 "$C")" | env CNI_COMMAND=ADD CNI_CONTAINERID=s1 \
		CNI_NETNS="$C" CNI_IFNAME=eth0 CNI_PATH="$BIN" ASAN_OPTIONS=detect_leaks=0 \
		strace -f -qq -o /dev/null -e trace=fsync -e inject=fsync:signal=KILL:when=1 "$P" 2>/dev/null)
	RC=$?
	check_eq "an ADD killed while saving its backup leaves a temporary file" \
		"$([ "$RC" != 0 ] && echo killed):$(cd "$DATA" && ls -d s1_* | sed 's/[0-9]*$//')" "killed:s1_eth0.json.tmp"
	cni_run "$P" DEL "$C" eth0 s1 "$(conf 1.1.0 '"mtu":1400')"
	check_eq "DEL of the killed ADD leaves no file" "$RC:$OUT:$(cd "$DATA" && ls -d s1_* 2>/dev/null)" "0::"
else
	skip "tuning killed while saving" "strace not installed"
fi
touch "$DATA/k9_eth0.json.tmp12345" "$DATA/k_2_eth0.json.tmp"
cni_run "$P" GC "" "" "" "$(printf '{"cniVersion":"1.1.0","name":"tnet","type":"tuning","dataDir":"%s","cni.dev/valid-attachments":[{"containerID":"k_2","ifname":"eth0"}]}' "$DATA")"
check_eq "GC removes a stale attachment's temporary file, keeps a valid one's" "$RC:$(cd "$DATA" && ls -p | grep -v / | tr '\n' ' ')" "0:k_2_eth0.json k_2_eth0.json.tmp "
finish
