#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# firewall (default backend and "iptables") and portmap next to an iptables-LEGACY (x_tables)
# filter FORWARD that drops, in private "host" namespaces: the accepts written into the legacy
# table (libiptc), traffic through it (egress, cross-network, a host port from a third netns),
# the rules as iptables-legacy prints and checks them (-S, -C with the exact text, save/restore),
# the reference firewall's rules through iptables-legacy compared line by line, CHECK after a
# flush and after a firewall restart, ADD again, legacy DROP set later, both iptables dropping,
# DEL and GC (long IDs by hash) leaving the host's policy and foreign chains, 8 parallel ADDs,
# the xtables lock waited for, IPv6, and failing getsockopt/setsockopt leaving nothing.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/coexist.bash"
need_root legacy_coexist
P=$BIN/firewall
PM=$BIN/portmap
B=$BIN/bridge
tmpdir DATA
need_cmds legacy_coexist iptables-legacy ip6tables-legacy iptables-legacy-save socat flock
if ! unshare -n iptables-legacy -S >/dev/null 2>&1 || ! unshare -n ip6tables-legacy -S >/dev/null 2>&1; then
	skip legacy_coexist "iptables-legacy does not work here (no ip_tables module)"
	exit 0
fi
PIDS=""
on_exit 'for p in $PIDS; do kill $p 2>/dev/null; done'
IPT=iptables-legacy
# the owner comment iptables prints, for exact -C lines
owner_of() { ipt_s "$1" CNI-FORWARD | sed -n "s/.* -s $2\/[0-9]* -m comment --comment \"\([^\"]*\)\".*/\1/p" | head -1; }
# no_owner: save output without counters, owner comments and the header/footer lines
no_owner() { grep -E '^(:|-A)' | sed -e 's/ \[[0-9]*:[0-9]*\]$//' -e 's/ -m comment --comment "[0-9a-f]\{16\}-[0-9a-f]\{16\}[^"]*"//' | sort; }

# ---- the scenario of firewall_coexist.sh, in the legacy table ---------------------------------
TAG="legacy: "
WHY="ip legacy iptables (x_tables) filter FORWARD: policy DROP"
NOTFOUND="not found in ip legacy iptables filter"
restart() { in_ns "$H" $IPT -F; in_ns "$H" $IPT -X; }
drop_host
# -C compares the entry byte for byte with what iptables-legacy itself builds from the text
o1=$(owner_of "$H" "$a1")
check_eq "legacy: the owner comment names the attachment" "${o1#*, }" "net: net1, if: eth0, id: c1"
check "legacy -C: egress accept as iptables builds it" in_ns "$H" $IPT -C CNI-FORWARD -s "$a1/32" -m comment --comment "$o1" -j ACCEPT
check "legacy -C: return accept as iptables builds it" in_ns "$H" $IPT -C CNI-FORWARD -d "$a1/32" -m conntrack --ctstate RELATED,ESTABLISHED -m comment --comment "$o1" -j ACCEPT
check "legacy -C: host port accept tcp 80" in_ns "$H" $IPT -C CNI-FORWARD -d "$a1/32" -p tcp -m tcp --dport 80 -m conntrack --ctstate DNAT -m comment --comment "hostport $o1" -j ACCEPT
check "legacy -C: host port reply udp 53" in_ns "$H" $IPT -C CNI-FORWARD -s "$a1/32" -p udp -m udp --sport 53 -m conntrack --ctstate DNAT -m comment --comment "hostport $o1" -j ACCEPT
check "legacy -C: the jump" in_ns "$H" $IPT -C FORWARD -m comment --comment "CNI firewall plugin rules" -j CNI-FORWARD
check_eq "legacy: nothing written in iptables-nft (its FORWARD does not drop)" "$(in_ns "$H" iptables-nft -S 2>/dev/null | grep -c CNI-FORWARD)" 0
# one accept removed by hand: CHECK names exactly it
in_ns "$H" $IPT -D CNI-FORWARD -s "$a1/32" -m comment --comment "$o1" -j ACCEPT
hrun "$H" "$P" CHECK "$C1" eth0 c1 "$(fwconf net1 "" "$BR1")"
check_err "legacy: CHECK names the removed accept" "expected rule -A CNI-FORWARD -s $a1 -j ACCEPT" "$NOTFOUND" "$WHY"
hrun "$H" "$P" ADD "$C1" eth0 c1 "$(fwconf net1 "" "$BR1")"
check "legacy: ADD again puts it back" in_ns "$H" $IPT -C CNI-FORWARD -s "$a1/32" -m comment --comment "$o1" -j ACCEPT
drop_host_end
# a 64-hex container ID and "k8s-pod-network" cut the owner comment: GC goes by the hash
KA=$(printf 'a%.0s' $(seq 64))
KB=$(printf 'b%.0s' $(seq 64))
for k in "$KA:198.18.7.2" "$KB:198.18.7.3"; do
	prev=$(printf '{"cniVersion":"1.0.0","interfaces":[{"name":"kbr0"},{"name":"v9"},{"name":"eth0","sandbox":"/x"}],"ips":[{"address":"%s/24","interface":2}]}' "${k#*:}")
	fwconf k8s-pod-network "" "$prev" | ip netns exec "$H" env CNI_COMMAND=ADD CNI_NETNS=/x CNI_IFNAME=eth0 \
		CNI_CONTAINERID="${k%%:*}" CNI_PATH="$BIN" "$P" >/dev/null
done
by_ip() { ipt_s "$H" CNI-FORWARD | grep -c -- " $1/32 "; }
check_eq "legacy long names: accepts of both" "$(by_ip 198.18.7.2):$(by_ip 198.18.7.3)" "2:2"
hrun "$H" "$P" GC "" "" "" "$(gcconf k8s-pod-network firewall "[{\"containerID\":\"$KA\",\"ifname\":\"eth0\"}]")"
check_eq "legacy long names: GC removed the leaked one's, kept the valid one's" "$(by_ip 198.18.7.2):$(by_ip 198.18.7.3)" "2:0"
hrun "$H" "$P" GC "" "" "" "$(gcconf k8s-pod-network firewall '[]')"
check_eq "legacy: nothing of ours left" "$(ipt_s "$H" CNI-FORWARD | grep -c -- '-j ACCEPT')" 0

# ---- legacy DROP set later ("Docker starts later"), no legacy table before ----------------------
drop_later
in_ns "$H2" $IPT -A FORWARD -j REJECT

# ---- both iptables drop: both get the accepts --------------------------------------------------
in_ns "$H2" iptables-nft -P FORWARD DROP
hrun "$H2" "$PM" ADD "$D1" eth0 d1 "$(pmconf net1 "$MAPS" "$BRD")"
hrun "$H2" "$P" ADD "$D1" eth0 d1 "$(fwconf net1 "" "$BRD")"
check_eq "both drop: ADD" "$RC" 0
check_eq "both drop: accepts in legacy" "$(ours "$H2" d1)" 6
check_eq "both drop: accepts in iptables-nft" "$(IPT=iptables-nft ours "$H2" d1)" 6
check "both drop: egress" ping_ok "$D1" 198.18.100.2
check_eq "both drop: host port from outside" "$(ask "$PEER2" 198.18.100.1 8080)" d1
in_ns "$H2" iptables-nft -F CNI-FORWARD
hrun "$H2" "$P" CHECK "$D1" eth0 d1 "$(fwconf net1 "" "$BRD")"
check_err "both drop: CHECK names the iptables-nft accept" "not found in ip filter" "ip filter FORWARD (iptables-nft)"
hrun "$H2" "$PM" DEL "$D1" eth0 d1 "$(pmconf net1 "$MAPS")"
hrun "$H2" "$P" DEL "$D1" eth0 d1 "$(fwconf net1 "")"
check_eq "both drop: DEL leaves nothing in either" "$(ours "$H2" d1):$(IPT=iptables-nft ours "$H2" d1)" "0:0"

# ---- backend "iptables": the reference's layout in iptables-nft, the accepts in legacy ----------
hrun "$H2" "$P" ADD "$D1" eth0 d1 "$(fwconf net1 '"backend":"iptables"' "$BRD")"
check_eq "backend iptables on legacy DROP: ADD" "$RC" 0
check_eq "backend iptables: legacy accepts written" "$(ours_fw "$H2" d1)" 2
check "backend iptables: egress" ping_ok "$D1" 198.18.100.2
hrun "$H2" "$P" CHECK "$D1" eth0 d1 "$(fwconf net1 '"backend":"iptables"' "$BRD")"
check_eq "backend iptables: CHECK" "$RC" 0
in_ns "$H2" $IPT -F CNI-FORWARD
hrun "$H2" "$P" CHECK "$D1" eth0 d1 "$(fwconf net1 '"backend":"iptables"' "$BRD")"
check_err "backend iptables: CHECK names the legacy accept" "not found in ip legacy iptables filter"
hrun "$H2" "$P" ADD "$D1" eth0 d1 "$(fwconf net1 '"backend":"iptables"' "$BRD")"
hrun "$H2" "$P" DEL "$D1" eth0 d1 "$(fwconf net1 '"backend":"iptables"')"
check_eq "backend iptables: DEL without prevResult removes the legacy accepts" "$(ours_fw "$H2" d1)" 0
hrun "$H2" "$P" ADD "$D1" eth0 d1 "$(fwconf net1 '"backend":"nftables"' "$BRD")"
check_eq "backend nftables: nothing in legacy" "$(ours_fw "$H2" d1)" 0
hrun "$H2" "$P" DEL "$D1" eth0 d1 "$(fwconf net1 '"backend":"nftables"')"

# ---- 8 parallel ADDs: the xtables lock keeps every rule ----------------------------------------
mkhost H6
in_ns "$H6" $IPT -P FORWARD DROP
parallel_adds "$H6"
check_eq "legacy: 8 parallel ADDs succeed" "$NFAIL" 0
check_eq "legacy parallel ADDs: one jump from FORWARD" "$(ipt_s "$H6" FORWARD | grep -c -- '-j CNI-FORWARD')" 1
check_eq "legacy parallel ADDs: one admin jump" "$(ipt_s "$H6" CNI-FORWARD | grep -c -- '-j CNI-ADMIN')" 1
check_eq "legacy parallel ADDs: every accept" "$(ipt_s "$H6" CNI-FORWARD | grep -c 'id: p[1-8]"')" 16
# the lock held (a private lock file: XTABLES_LOCKFILE, as iptables reads it): ADD waits in flock
LOCK=$DATA/xtables.lock
exec 9>"$LOCK"
flock 9
prev='{"cniVersion":"1.0.0","interfaces":[{"name":"br9"},{"name":"v9"},{"name":"eth0","sandbox":"/x"}],"ips":[{"address":"198.18.9.20/24","interface":2}]}'
fwconf net1 "" "$prev" | ip netns exec "$H6" env XTABLES_LOCKFILE="$LOCK" CNI_COMMAND=ADD CNI_NETNS=/x \
	CNI_IFNAME=eth0 CNI_CONTAINERID=plock CNI_PATH="$BIN" "$P" >/dev/null 2>&1 &
lockpid=$!
PIDS="$PIDS $lockpid"
ino=$(stat -c %i "$LOCK")
waiting() { grep -q -- "-> FLOCK .*:$ino " /proc/locks; }
check "ADD waits for the xtables lock" poll_until 5000 waiting
check_eq "nothing written while the lock is held" "$(ipt_s "$H6" CNI-FORWARD | grep -c 'id: plock"')" 0
flock -u 9
exec 9>&-
wait "$lockpid"
check_eq "ADD done once the lock is released" "$?:$(ipt_s "$H6" CNI-FORWARD | grep -c 'id: plock"')" 0:2

# ---- IPv6: ip6tables-legacy FORWARD DROP ------------------------------------------------------
v6_host ip6tables-legacy
check_eq "ip6 legacy FORWARD DROP: dual stack ADD" "$RC" 0
v6=$(ip_of "$V1" eth0 inet6)
o6=$(in_ns "$H5" ip6tables-legacy -S CNI-FORWARD | sed -n "s/.* -s $v6\/128 -m comment --comment \"\([^\"]*\)\".*/\1/p")
check "ip6 legacy -C: the return accept" in_ns "$H5" ip6tables-legacy -C CNI-FORWARD -d "$v6/128" -m conntrack --ctstate RELATED,ESTABLISHED -m comment --comment "$o6" -j ACCEPT
check "ip6 legacy -C: the host port accept" in_ns "$H5" ip6tables-legacy -C CNI-FORWARD -d "$v6/128" -p tcp -m tcp --dport 80 -m conntrack --ctstate DNAT -m comment --comment "hostport $o6" -j ACCEPT
check_eq "ip legacy untouched (v4 does not drop)" "$(ipt_s "$H5" | grep -c CNI-FORWARD)" 0
check "IPv6 egress through ip6 legacy FORWARD DROP" ping_ok "$V1" fd00:c0e::2
hrun "$H5" "$P" CHECK "$V1" eth0 v1 "$(fwconf net6 "" "$BRV")"
check_eq "ip6 legacy: CHECK" "$RC" 0
hrun "$H5" "$PM" DEL "$V1" eth0 v1 "$(pmconf net6 "$MAPS")"
hrun "$H5" "$P" DEL "$V1" eth0 v1 "$(fwconf net6 "")"
check_eq "ip6 legacy: DEL leaves no accept" "$(in_ns "$H5" ip6tables-legacy -S CNI-FORWARD | grep -c 'id: v1')" 0

# ---- the reference firewall through iptables-legacy: the same lines ---------------------------
if [ -x "$REF/firewall" ]; then
	mkdir -p "$DATA/legacy-path"
	for t in iptables ip6tables iptables-save ip6tables-save iptables-restore ip6tables-restore; do
		ln -sf "$(command -v "${t%%-*}-legacy${t#${t%%-*}}")" "$DATA/legacy-path/$t"
	done
	prev='{"cniVersion":"1.0.0","interfaces":[{"name":"br9"},{"name":"v9"},{"name":"eth0","sandbox":"/x"}],"ips":[{"address":"198.18.11.2/24","interface":2},{"address":"fd00:c11::2/64","interface":2}]}'
	save() { in_ns "$1" iptables-legacy-save -t filter | no_owner; in_ns "$1" ip6tables-legacy-save -t filter | no_owner; }
	for who in ref ours; do
		mkhost HR
		in_ns "$HR" $IPT -P FORWARD DROP
		in_ns "$HR" ip6tables-legacy -P FORWARD DROP
		if [ $who = ref ]; then
			fwconf net1 '"backend":"iptables"' "$prev" | ip netns exec "$HR" env PATH="$DATA/legacy-path:$PATH" \
				CNI_COMMAND=ADD CNI_NETNS=/x CNI_IFNAME=eth0 CNI_CONTAINERID=r1 CNI_PATH="$REF" "$REF/firewall" >/dev/null 2>&1
		else
			fwconf net1 "" "$prev" | ip netns exec "$HR" env CNI_COMMAND=ADD CNI_NETNS=/x CNI_IFNAME=eth0 \
				CNI_CONTAINERID=r1 CNI_PATH="$BIN" "$P" >/dev/null 2>&1
		fi
		save "$HR" >"$DATA/$who.rules"
	done
	check "reference wrote its rules through iptables-legacy" grep -q -- "-A CNI-FORWARD -s 198.18.11.2/32 -j ACCEPT" "$DATA/ref.rules"
	check_eq "ours print as the reference's in iptables-legacy-save (owner comments aside)" \
		"$(cat "$DATA/ours.rules")" "$(cat "$DATA/ref.rules")"
else
	skip "reference differential" "reference firewall not installed in $REF"
fi

# ---- faults in the new path: a failing read or commit leaves nothing of a first ADD -------------
if command -v strace >/dev/null 2>&1; then
	inject() { # NAME PLUGIN SYSCALL INJECT: PLUGIN run with the fault (no LSan under ptrace)
		printf '#!/bin/sh\nASAN_OPTIONS=detect_leaks=0 exec strace -f -qq -o /dev/null -e inject=%s:%s %s\n' "$3" "$4" "$2" >"$DATA/$1"
		chmod +x "$DATA/$1"
	}
	# replace_at PLUGIN CID CONF: which setsockopt call of an ADD is IPT_SO_SET_REPLACE (the
	# others are netlink's socket options, the same in every run)
	replace_at() {
		ip netns exec "$H7" env CNI_COMMAND=ADD CNI_NETNS="$F1" CNI_IFNAME=eth0 CNI_CONTAINERID="$2" \
			CNI_PATH="$BIN" ASAN_OPTIONS=detect_leaks=0 strace -f -qq -o "$DATA/trace" -e trace=setsockopt "$1" <<<"$3" >/dev/null 2>&1
		grep -n IPT_SO_SET_REPLACE "$DATA/trace" | head -1 | cut -d: -f1
	}
	mkhost H7
	mkns F1
	in_ns "$H7" $IPT -P FORWARD DROP
	hrun "$H7" "$B" ADD "$F1" eth0 f1 "$(brconf net1 fbr1 198.18.12.0/24)"
	FBR=$OUT
	# GET_ENTRIES answers EAGAIN once (the table changed size since GET_INFO): libiptc reads again
	inject fw-eagain "$P" getsockopt error=EAGAIN:when=2
	hrun "$H7" "$DATA/fw-eagain" ADD "$F1" eth0 f1 "$(fwconf net1 "" "$FBR")"
	check_eq "legacy: EAGAIN while reading: ADD reads again and succeeds" "$RC:$(ours "$H7" f1)" 0:2
	# the commit (IPT_SO_SET_REPLACE) answers EAGAIN once (a writer that takes no lock): done again
	at=$(replace_at "$P" f1 "$(fwconf net1 "" "$FBR")")
	inject fw-commit-eagain "$P" setsockopt "error=EAGAIN:when=$at"
	hrun "$H7" "$DATA/fw-commit-eagain" ADD "$F1" eth0 f1 "$(fwconf net1 "" "$FBR")"
	check_eq "legacy: EAGAIN from the commit: ADD redoes it and succeeds" "$RC:$(ours "$H7" f1)" 0:2
	hrun "$H7" "$P" DEL "$F1" eth0 f1 "$(fwconf net1 "" "$FBR")"
	before=$(in_ns "$H7" nft list ruleset; ipt_s "$H7")
	inject fw-eio "$P" getsockopt error=EIO
	hrun "$H7" "$DATA/fw-eio" ADD "$F1" eth0 f1g "$(fwconf net1 "" "$FBR")"
	check_err "legacy: reading failing: firewall ADD fails naming the table" "legacy iptables filter"
	check_eq "legacy: the failed firewall ADD left nothing" "$(in_ns "$H7" nft list ruleset; ipt_s "$H7")" "$before"
	inject fw-commit-eperm "$P" setsockopt "error=EPERM:when=$at+"
	hrun "$H7" "$DATA/fw-commit-eperm" ADD "$F1" eth0 f1g "$(fwconf net1 "" "$FBR")"
	check_err "legacy: commit failing: firewall ADD fails naming the table and errno" "committing in ip legacy iptables filter" "not permitted"
	check_eq "legacy: the failed commit left nothing" "$(in_ns "$H7" nft list ruleset; ipt_s "$H7")" "$before"
	at=$(replace_at "$PM" f1 "$(pmconf net1 "$MAPS" "$FBR")")
	hrun "$H7" "$PM" DEL "$F1" eth0 f1 "$(pmconf net1 "$MAPS" "$FBR")"
	before=$(in_ns "$H7" nft list ruleset; ipt_s "$H7") # portmap's tables stay, as after any DEL
	inject pm-commit-eperm "$PM" setsockopt "error=EPERM:when=$at+"
	hrun "$H7" "$DATA/pm-commit-eperm" ADD "$F1" eth0 f1p "$(pmconf net1 "$MAPS" "$FBR")"
	check_err "legacy: portmap commit failing: ADD fails" "legacy iptables filter"
	check_eq "legacy: the failed portmap ADD left nothing" "$(in_ns "$H7" nft list ruleset; ipt_s "$H7")" "$before"
else
	skip "legacy faults" "strace is not installed"
fi
finish
