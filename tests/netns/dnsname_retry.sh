#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# dnsname's daemon retries a container's listener that it could not make: with its descriptors
# exhausted (prlimit) a container's dnsname ADD fails, code 50 naming the cause; once descriptors
# are back, the next ADD of that container makes the listener and its names answer. (The fault
# lane's socket #2 EMFILE point cannot show this: strace counts per thread, and every listener is
# made on a thread of its own, so there every attempt fails.)
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/dnsname.bash"
dnsname_setup dnsname_retry dig prlimit
printf 'nameserver 127.0.0.53\n' >"$RUN/resolv.conf"

NC=$(bridge_conf netr brr 198.18.41.0/24)
declare -A DC
bridge() { # KEY NS
	hrun "$H" "$BIN/bridge" ADD "$2" eth0 "$1" "$NC"
	check_eq "$1: bridge ADD" "$RC" 0
	DC[$1]=$(dns_conf netr "$OUT")
}
dns_add() { hrun "$H" "$P" ADD "$2" eth0 "$1" "${DC[$1]}" "IgnoreUnknown=1;K8S_POD_NAME=$3"; }
qs() { in_ns "$1" dig +time=1 +tries=1 +short @127.0.0.11 "$2" 2>&1; }

mkns CA
mkns CB
bridge ca "$CA"
bridge cb "$CB"
dns_add ca "$CA" pod-a
check_eq "pod-a: dnsname ADD" "$RC" 0
AA=$(in_ns "$CA" ip -j -4 addr show dev eth0 | jq -r '.[0].addr_info[0].local')

pid=$(daemon_pid)
nfd=$(ls "/proc/$pid/fd" | wc -l)
soft=$(prlimit --pid "$pid" --nofile -o SOFT --noheadings | tr -d ' ')
# one spare: the plugin's control connection is accepted, nothing more opens (the soft limit
# only: raising a hard limit again needs CAP_SYS_RESOURCE)
prlimit --pid "$pid" --nofile=$((nfd + 1)):
dns_add cb "$CB" pod-b
check_eq "descriptors exhausted: pod-b's ADD fails, code 50" "$RC:$(jq -r .code <<<"$OUT")" "1:50"
# the cause is named whichever descriptor the daemon could not get (the netns, a socket)
case $(jq -r .msg <<<"$OUT") in
*"Too many open files"*) ok "  naming the cause" ;;
*) fail "  naming the cause" "$OUT" ;;
esac
# a reload that cannot read the network files keeps the old records: pod-a's listener stays
check_eq "  pod-a still resolves itself while descriptors are out" "$(qs "$CA" pod-a)" "$AA"
prlimit --pid "$pid" --nofile="$soft":
dns_add cb "$CB" pod-b
check_eq "descriptors back: pod-b's next ADD makes its listener" "$RC" 0
check_eq "  and pod-b resolves pod-a" "$(qs "$CB" pod-a)" "$AA"
check_eq "no sanitizer report from the daemon" "$(cat "$RUN"/dnsname.log* 2>/dev/null | grep -c 'Sanitizer')" 0
finish
