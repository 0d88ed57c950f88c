#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# dnsname's reload as the systemd unit does it (issue 21): the daemon started by the unit's
# ExecStart, then the unit's ExecReload (with $MAINPID) run as systemd runs it. The changes are
# made where inotify does not see them (a network file rewritten in place through a hard link
# from another directory, resolv.conf a symlink whose target changes), so only the reload can
# bring them: before it the old record and upstream answer, after it the new ones.
. "$(dirname "$0")/lib.sh"
need_root dnsname_reload
for t in dig python3 jq; do
	command -v $t >/dev/null || { skip dnsname_reload "$t is not installed"; exit 0; }
done
HERE=$(cd "$(dirname "$0")" && pwd)
UNIT=$TOP/contrib/systemd/cni-dnsname.service.in
tmpdir RUN
tmpdir DATA
tmpdir ELSE
mkhost H
on_exit 'kill $(cat "$RUN/dnsname.pid" 2>/dev/null) 2>/dev/null'
for u in 54:192.0.2.7 55:192.0.2.8; do
	ip netns exec "$H" python3 "$HERE/dnsslow.py" "127.0.0.${u%%:*}" 10 10 "${u#*:}" >"$RUN/up${u%%:*}.log" 2>&1 &
	on_exit "kill $!"
	poll_until 5000 grep -q ready "$RUN/up${u%%:*}.log" || fail "upstream ${u%%:*}" "$(cat "$RUN/up${u%%:*}.log")"
done
printf 'nameserver 127.0.0.54\n' >"$ELSE/resolv.conf"
ln -s "$ELSE/resolv.conf" "$RUN/resolv.conf"

# the unit's command lines, its paths made ours
unit_cmd() { sed -n "s/^$1=//p" "$UNIT" | sed -e "s|@CNI_BIN_DIR@/dnsname|$BIN/dnsname|" \
	-e "s|/run/cni/dnsname|$RUN|" -e "s|/etc/resolv.conf|$RUN/resolv.conf|"; }
START=$(unit_cmd ExecStart)
RELOAD=$(unit_cmd ExecReload)
check "the unit has an ExecReload" test -n "$RELOAD"
# shellcheck disable=SC2086 # the unit's words, split as systemd splits them (no quotes there)
ip netns exec "$H" $START 2>>"$RUN/daemon.log" &
MAINPID=$!
on_exit "kill $MAINPID"
poll_until 5000 test -S "$RUN/dnsname.sock" || { fail "daemon start" "$(cat "$RUN/daemon.log")"; finish; }

mkns C
hrun "$H" "$BIN/bridge" ADD "$C" eth0 c "$(printf '{"cniVersion":"1.0.0","name":"rl","type":"bridge","bridge":"brrl","isGateway":true,"ipam":{"type":"host-local","dataDir":"%s","ranges":[[{"subnet":"198.18.59.0/24"}]]}}' "$DATA")"
CONF=$(jq -cn --argjson p "$OUT" --arg run "$RUN" \
	'{cniVersion:"1.0.0",name:"rl",type:"dnsname",runDir:$run,resolvConf:($run+"/resolv.conf"),prevResult:$p}')
hrun "$H" "$BIN/dnsname" ADD "$C" eth0 c "$CONF" "IgnoreUnknown=1;K8S_POD_NAME=pod-old"
check_eq "ADD" "$RC" 0
q() { in_ns "$C" dig +time=2 +tries=1 +short @127.0.0.11 "$1" 2>&1 | head -1; }
IP=$(in_ns "$C" ip -j -4 addr show dev eth0 | jq -r '.[0].addr_info[0].local')
check_eq "before: pod-old resolves" "$(q pod-old.dns.podman)" "$IP"
check_eq "before: forwarded to 127.0.0.54" "$(q www.example)" 192.0.2.7

# the changes inotify does not see
ln "$RUN/networks/rl" "$ELSE/rl"
python3 - "$ELSE/rl" "$ELSE/resolv.conf" <<'PY'
import sys
for path, a, b in ((sys.argv[1], "pod-old", "pod-new"), (sys.argv[2], "127.0.0.54", "127.0.0.55")):
    with open(path, "r+") as f:  # in place: the same inode, no rename
        s = f.read().replace(a, b)
        f.seek(0); f.write(s); f.truncate()
PY
check_eq "unseen before the reload: pod-new unknown" "$(q pod-new.dns.podman)" ""
check_eq "  and the old upstream still used" "$(q www2.example)" 192.0.2.7
# shellcheck disable=SC2086
MAINPID=$MAINPID eval "$RELOAD"
check_eq "the unit's ExecReload ($RELOAD) ran" "$?" 0
check "after it: pod-new resolves" poll_until 3000 eval '[ "$(q pod-new.dns.podman)" = "$IP" ]'
check_eq "  pod-old is gone" "$(q pod-old.dns.podman)" ""
check_eq "  forwarded to the new upstream 127.0.0.55" "$(q www3.example)" 192.0.2.8
check_eq "  the daemon still runs (reload, not restart)" "$(kill -0 $MAINPID && echo yes)" yes
rm -f "$ELSE/rl"
hrun "$H" "$BIN/dnsname" DEL "$C" eth0 c "$CONF"
check_eq "DEL" "$RC" 0
finish
