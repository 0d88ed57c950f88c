#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Failures the kernel or the runtime can hand a bridge ADD (with host-local and ipMasq):
# - every netlink receive failing in turn with ENOBUFS, then ENOMEM (strace fault injection on
#   recvmsg, both rtnetlink and nftables): exit 0 or 1 only, a CNI error on 1, everything made
#   on 0, and the runtime's DEL afterwards (no injection) leaves no veth, address, masquerade
#   rule or reservation. An answer left unread after a failed receive was once taken as the
#   answer to the next request (a NULL link, SIGSEGV at 19 of the first 45 points);
# - a result that cannot be written (stdout on /dev/full): exit 1 with the reason on stderr, as
#   the reference (which undoes nothing either), and DEL cleans up.
. "$(dirname "$0")/lib.sh"
need_root bridge_faults
command -v strace >/dev/null || { skip "bridge_faults" "strace not installed"; finish; }
tmpdir DATA
tmpdir T
mkhost H
MAX=${FAULT_POINTS:-60}
C=$(printf '{"cniVersion":"1.1.0","name":"faults","type":"bridge","bridge":"brf","isGateway":true,"ipMasq":true,"ipam":{"type":"host-local","dataDir":"%s","ranges":[[{"subnet":"198.18.77.0/24"}],[{"subnet":"fd00:77::/64"}]]}}' "$DATA")

leftovers() {
	local veths rules
	veths=$(in_ns "$H" ip -j link show type veth | jq length)
	rules=$(masq_rules "$H")
	echo "veths=$veths masq=${rules:-0} reservations=$(files_left)"
}

is_result() { printf '%s' "$1" | jq -e '.interfaces and (has("code") | not)'; }
is_error() { printf '%s' "$1" | jq -e '(.code | type == "number") and (.msg | length > 0)'; }

# del_clean LABEL NS CID: the runtime's DEL succeeds and nothing of the attachment is left.
del_clean() {
	hrun "$H" "$BIN/bridge" DEL "$2" eth0 "$3" "$C"
	if [ "$RC" != 0 ]; then
		fail "$1: DEL failed" "$OUT"
		return
	fi
	check_eq "$1: nothing left after DEL" "$(leftovers)" "veths=0 masq=0 reservations=0"
	check_eq "$1: no eth0 in the container" "$(has_link "$2" eth0)" no
}

# One container netns for the whole sweep: each DEL is checked to leave it empty.
mkns CN
sweep() { # ERRNO STEP: fail receive #1, #1+STEP, ... up to $MAX (or the last one of the ADD)
	local err=$1 step=$2 n rc out injected=1 crashed=0 runs=0 label
	for n in $(seq 1 "$step" "$MAX"); do
		out=$(printf '%s' "$C" | ip netns exec "$H" env CNI_COMMAND=ADD CNI_NETNS="$CN" \
			CNI_IFNAME=eth0 CNI_CONTAINERID="f$n" CNI_PATH="$BIN" \
			ASAN_OPTIONS=detect_leaks=0 strace -f -qq -o "$T/trace" \
			-e trace=recvmsg -e inject=recvmsg:error="$err":when="$n" "$BIN/bridge" \
			2>"$T/stderr")
		rc=$?
		injected=$(grep -c INJECTED "$T/trace")
		runs=$((runs + 1))
		label="recvmsg #$n fails with $err"
		case "$rc" in
		0)
			check "$label: ADD succeeded with a result" is_result "$out"
			# success means done: the addresses of the result and both masquerade rules
			check_eq "$label: ADD's work is all there" \
				"$(ip_of "$CN" eth0) $(ip_of "$CN" eth0 inet6) $(masq_rules "$H")" \
				"$(printf '%s' "$out" | jq -r '[.ips[].address | sub("/.*"; "")] | join(" ")') 2" ;;
		1) check "$label: ADD failed with a CNI error" is_error "$out" ;;
		*)
			crashed=$((crashed + 1))
			fail "$label: ADD exit status $rc" "$(tail -3 "$T/stderr")" ;;
		esac
		del_clean "$label" "$CN" "f$n"
		# past the last receive of an ADD: nothing more to inject
		[ "$injected" = 0 ] && break
	done
	echo "# $err: $runs ADDs with one receive failing (step ${step}, up to #$n), $crashed crashes"
}
# A bridge+ipMasq ADD makes ~90 receives; FAULT_POINTS=100 covers them all.
sweep ENOBUFS 1
sweep ENOMEM 3

# A result nobody can read is a failure.
printf '%s' "$C" | ip netns exec "$H" env CNI_COMMAND=ADD CNI_NETNS="$CN" CNI_IFNAME=eth0 \
	CNI_CONTAINERID=full CNI_PATH="$BIN" "$BIN/bridge" >/dev/full 2>"$T/stderr"
check_eq "ADD with stdout on /dev/full: exit 1" "$?" 1
check "ADD with stdout on /dev/full: the reason on stderr" \
	grep -q 'writing the result to stdout: No space left on device' "$T/stderr"
del_clean "ADD with stdout on /dev/full" "$CN" full
finish
