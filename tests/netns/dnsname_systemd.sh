#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# dnsname's systemd unit under systemd itself (issue 21): Debian's systemd 252 runs as PID 1 of a
# private pid, mount, cgroup, UTS and IPC namespace, inside a host netns of the test, with
# contrib/systemd's two units as `make install` writes them (a drop-in only turns their default
# dependencies off, so that nothing of the machine's boot is pulled in, and sends the daemon's
# log to a file). The first plugin ADD starts the daemon through the socket; then, while a
# container sends 5,000 queries a second (1 in 50 forwarded to the network's upstream), a new
# binary is installed and `systemctl restart cni-dnsname.service` run: the old daemon leaves
# its listeners in systemd's fd store, the new one takes the same sockets back, and no query is
# lost. Then `systemctl stop` (the store flushed, the listeners closed) and a start make them
# anew; `systemctl reload` is the unit's ExecReload. A restart with SYSTEMD_SCALE more
# containers (520: more than 1024 stored sockets, past the default descriptor limit systemd
# applies before it passes them on) takes every listener back. Container a is on a second
# network too (#21: its own resolver address, 127.0.0.12, a listener of its own stored as
# dnsname-lsn-DEV-INO-127.0.0.12): both of its addresses come back. Knobs: SYSTEMD_RATE (5000),
# SYSTEMD_SECS (3), SYSTEMD_SCALE (520).
. "$(dirname "$0")/lib.sh"
need_root dnsname_systemd
SYSTEMD=${SYSTEMD:-/lib/systemd/systemd}
[ -x "$SYSTEMD" ] || { skip dnsname_systemd "no $SYSTEMD (Debian package systemd)"; exit 0; }
for t in dig nft python3 jq nsenter unshare ss; do
	command -v $t >/dev/null || { skip dnsname_systemd "$t is not installed"; exit 0; }
done
unshare --cgroup true 2>/dev/null || { skip dnsname_systemd "no cgroup namespaces"; exit 0; }
RATE=${SYSTEMD_RATE:-5000}
SECS=${SYSTEMD_SECS:-3}
SCALE=${SYSTEMD_SCALE:-520}
# the sanitizer pass: the same code paths, without the 2 minutes of the scale case
asan_build "$BIN/dnsname" && SCALE=${SYSTEMD_SCALE:-0}
HERE=$(cd "$(dirname "$0")" && pwd)

tmpdir T
tmpdir DATA
# The unit's binary, in the /run of systemd's namespace (made by inner.sh, gone with it): not
# under /tmp (the unit has PrivateTmp=yes, and the tree may be a clone there) nor in the
# machine's own directories.
SB=/run/cnic-test

mkhost H
ip netns exec "$H" python3 "$HERE/dnsslow.py" 127.0.0.54 50 300 >"$T/up.log" 2>&1 &
on_exit "kill $!"
poll_until 5000 grep -q ready "$T/up.log" || { fail "upstream" "$(cat "$T/up.log")"; finish; }
declare -A NS
for n in a b; do
	mkns v
	NS[$n]=$v
done

# systemd's namespace: /run its own (its netns bind mounts moved in: the containers'), the units
# in /run/systemd/system
sed "s|@CNI_BIN_DIR@|$SB/bin|g" "$TOP/contrib/systemd/cni-dnsname.service.in" >"$T/cni-dnsname.service"
cp "$TOP/contrib/systemd/cni-dnsname.socket" "$T/"
# the drop-in: no default dependencies, the log to a file, and a test hook: with $SB/drop-b
# present, b's record goes while no daemon runs (a listener in the store that no record claims)
cat >"$T/service.conf" <<EOF
[Unit]
DefaultDependencies=no
[Service]
StandardOutput=append:$T/daemon.log
StandardError=append:$T/daemon.log
ExecStartPre=/bin/sh -c '[ ! -e $SB/drop-b ] || sed -i "/^rec b /d" /run/cni/dnsname/networks/sd'
# and with $SB/store-future present, a socket stored under a listener's name this build cannot
# read (a newer build's), after the daemon's start (NotifyAccess=all: from the unit's processes)
NotifyAccess=all
ExecStartPost=-/bin/sh -c '[ ! -e $SB/store-future ] || python3 $SB/storefd.py'
EOF
cat >"$T/storefd.py" <<'EOF'
import array, os, socket, time
a = os.environ.get("NOTIFY_SOCKET", "/run/systemd/notify")
a = "\0" + a[1:] if a.startswith("@") else a
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.sendmsg([b"FDSTORE=1\nFDNAME=dnsname-lsn-1-2-future"],
          [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [u.fileno()]))], 0, a)
time.sleep(1) # systemd finds the sender's unit by its pid: alive while it reads the message
EOF
cat >"$T/inner.sh" <<EOF
# a slave: the host's mounts (netns made later) propagate in, nothing of ours goes out
mount --make-rslave /
mkdir -p "$T/netns"
mount --rbind /run/netns "$T/netns"
mount -t tmpfs -o mode=755 tmpfs /run
mkdir -p /run/netns /run/systemd/system/cni-dnsname.socket.d /run/systemd/system/cni-dnsname.service.d
mount --move "$T/netns" /run/netns
cp "$T/cni-dnsname.service" "$T/cni-dnsname.socket" /run/systemd/system/
mkdir -p "$SB/bin"
cp "$BIN/dnsname" "$SB/bin/dnsname"
cp "$T/storefd.py" "$SB/"
printf '[Unit]\nDefaultDependencies=no\n' >/run/systemd/system/cni-dnsname.socket.d/test.conf
cp "$T/service.conf" /run/systemd/system/cni-dnsname.service.d/test.conf
printf '[Unit]\nDefaultDependencies=no\nWants=cni-dnsname.socket\n' >/run/systemd/system/cnic-test.target
exec env -i container=cnic-test PATH=/usr/sbin:/usr/bin:/sbin:/bin "$SYSTEMD" --unit=cnic-test.target \
	--log-level=notice
EOF
# our cgroup in each hierarchy (systemd's cgroup namespace is rooted there): what systemd makes
# below them, and only that, is removed after it
cgdirs() {
	python3 - <<'PY'
import os
mine = {}
for line in open("/proc/self/cgroup"):
    hid, ctl, path = line.rstrip("\n").split(":", 2)
    mine[ctl] = path
for line in open("/proc/self/mountinfo"):
    pre, post = line.split(" - ")
    fstype, _, opts = post.split()[:3]
    mnt, root = pre.split()[4], pre.split()[3]
    if fstype == "cgroup2":
        key = ""
    elif fstype == "cgroup":
        o = opts.split(",")
        key = ",".join(x for x in o if x not in ("rw", "ro") and (x.startswith("name=") or x in
              ("cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "net_cls", "blkio",
               "perf_event", "net_prio", "hugetlb", "pids", "rdma", "misc")))
    else:
        continue
    for ctl, path in mine.items():
        if set(ctl.split(",")) == set(key.split(",")) and path.startswith(root):
            print(os.path.join(mnt, path[len(root):].lstrip("/")))
PY
}
CGD=$(cgdirs | sort -u)
CG0=$(for d in $CGD; do find "$d" -mindepth 1 -type d 2>/dev/null; done | sort)
nsenter --net="/run/netns/$H" unshare --propagation slave --pid --fork --mount --cgroup --uts --ipc --mount-proc bash "$T/inner.sh" \
	>"$T/systemd.log" 2>&1 &
US=$!
SD=""
poll_until 5000 eval 'SD=$(pgrep -P $US)' || true
SD=$(pgrep -P "$US")
on_exit "kill -9 $SD 2>/dev/null; wait $US 2>/dev/null"
# what systemd made under the cgroup roots: removed after it (deepest first)
on_exit 'for d in $CGD; do find "$d" -mindepth 1 -type d 2>/dev/null; done | sort | comm -13 <(printf "%s\n" "$CG0") - | sort -r | while read -r d; do rmdir "$d" 2>/dev/null; done'
sd() { nsenter -t "$SD" -m -n -p -- "$@"; }
sctl() { sd systemctl "$@"; }
check "systemd runs (PID 1 of its namespace)" poll_until 20000 eval \
	'[ "$(sctl is-active cni-dnsname.socket 2>/dev/null)" = active ]'
[ "$T_FAILED" = 0 ] || { sed 's/^/# /' "$T/systemd.log"; finish; }

# srun PLUGIN CMD NETNS CID CONF [ARGS]: a plugin in systemd's mount namespace and netns H
srun() {
	local conf=$5 args=${6:-}
	OUT=$(printf '%s' "$conf" | nsenter -t "$SD" -m -n -p -- env CNI_COMMAND="$2" CNI_NETNS="$3" \
		CNI_IFNAME="${IFN:-eth0}" CNI_CONTAINERID="$4" CNI_PATH="$BIN" CNI_ARGS="$args" "$1" 2>"$LAST_STDERR")
	RC=$?
}
NET=$(printf '{"cniVersion":"1.0.0","name":"sd","type":"bridge","bridge":"brsd","isGateway":true,"ipam":{"type":"host-local","dataDir":"%s","ranges":[[{"subnet":"198.18.57.0/24"}]]}}' "$DATA")
declare -A DCONF
for n in a b; do
	srun "$BIN/bridge" ADD "${NS[$n]}" "$n" "$NET"
	check_eq "$n: bridge ADD" "$RC" 0
	[ "$RC" = 0 ] || echo "# $OUT"
	DCONF[$n]=$(jq -cn --argjson p "$OUT" \
		'{cniVersion:"1.0.0",name:"sd",type:"dnsname",dnsServers:["127.0.0.54"],prevResult:$p}')
	srun "$SB/bin/dnsname" ADD "${NS[$n]}" "$n" "${DCONF[$n]}" "IgnoreUnknown=1;K8S_POD_NAME=pod-$n"
	check_eq "$n: dnsname ADD (the socket starts the daemon) $(head -c 300 "$LAST_STDERR")" "$RC" 0
done
# a on a second network (eth1): its own resolver address
NET2=$(printf '{"cniVersion":"1.0.0","name":"sd2","type":"bridge","bridge":"brsd2","isGateway":true,"ipam":{"type":"host-local","dataDir":"%s","ranges":[[{"subnet":"198.18.59.0/24"}]]}}' "$DATA")
IFN=eth1 srun "$BIN/bridge" ADD "${NS[a]}" a "$NET2"
check_eq "a: bridge ADD on sd2" "$RC" 0
DCONF2=$(jq -cn --argjson p "$OUT" '{cniVersion:"1.0.0",name:"sd2",type:"dnsname",dnsServers:["127.0.0.54"],prevResult:$p,runtimeConfig:{aliases:{sd2:["a2"]}}}')
IFN=eth1 srun "$SB/bin/dnsname" ADD "${NS[a]}" a "$DCONF2"
check_eq "a: dnsname ADD on sd2: 127.0.0.12" "$RC:$(jq -r '.dns.nameservers[0]' <<<"$OUT")" 0:127.0.0.12
ipv4() { in_ns "${NS[$1]}" ip -j -4 addr show dev "${2:-eth0}" | jq -r '.[0].addr_info[0].local // "none"'; }
q() { in_ns "${NS[$1]}" dig +time=2 +tries=1 +short "${@:3}" @127.0.0.11 "$2" 2>&1 | head -1; }
q12() { in_ns "${NS[a]}" dig +time=2 +tries=1 +short @127.0.0.12 "$1" 2>&1 | head -1; }
mainpid() { sctl show -p MainPID --value cni-dnsname.service; }
lsn_ino() { in_ns "${NS[$1]}" ss -Hulne "src ${2:-127.0.0.11}:61053" 2>/dev/null | grep -o 'ino:[0-9]*'; }
rewrite() { in_ns "${NS[$1]}" nft list table ip cnic_dnsname >/dev/null 2>&1 && echo y || echo n; }
check_eq "the unit's daemon is active (Type=notify: READY=1)" "$(sctl is-active cni-dnsname.service)" active
check_eq "a resolves pod-b" "$(q a pod-b)" "$(ipv4 b)"
check_eq "a forwards through the network's upstream" "$(q a fast.example)" 192.0.2.7
OLD=$(mainpid)
INO_A=$(lsn_ino a)
INO_B=$(lsn_ino b)
INO_A2=$(lsn_ino a 127.0.0.12)
check "a's (two) and b's listener sockets" test -n "$INO_A" -a -n "$INO_B" -a -n "$INO_A2" -a "$INO_A" != "$INO_A2"
check_eq "a @127.0.0.12 resolves a2 (sd2)" "$(q12 a2)" "$(ipv4 a eth1)"

# install a new binary (as dpkg does: a new file renamed over the old), restart under load
in_ns "${NS[a]}" python3 "$HERE/dnsload.py" --rate "$RATE" --secs "$SECS" --name pod-b \
	--ext fast.example --ext-every 50 --wait 4 >"$T/load.out" 2>&1 &
LP=$!
check "the query stream started" poll_until 5000 grep -q started "$T/load.out"
sleep 1 # mid-stream
sd sh -c "cp '$BIN/dnsname' '$SB/bin/.dnsname.new' && mv '$SB/bin/.dnsname.new' '$SB/bin/dnsname'"
OUTR=$(sctl restart cni-dnsname.service 2>&1)
check_eq "systemctl restart cni-dnsname.service ($OUTR)" "$?" 0
check "  over while the stream still ran" kill -0 $LP
wait $LP
out=$(tail -1 "$T/load.out")
check_eq "$RATE q/s across systemctl restart, none lost ($out)" \
	"$(jq -r '"\(.lost) \(.bad) \(.sent > 0)"' <<<"$out" 2>/dev/null)" "0 0 true"
NEW=$(mainpid)
check "a new main process" test -n "$NEW" -a "$NEW" != "$OLD" -a "$NEW" != 0
check_eq "  running the new binary" "$(sd stat -L -c %i "/proc/$NEW/exe" 2>/dev/null)" "$(sd stat -c %i "$SB/bin/dnsname")"
check_eq "  the same listener sockets (from the fd store)" "$(lsn_ino a) $(lsn_ino b) $(lsn_ino a 127.0.0.12)" "$INO_A $INO_B $INO_A2"
check_eq "  the old one said where they went" "$(grep -c 'stopped (listeners in the fd store)' "$T/daemon.log")" 1
check_eq "  the new one took all three back" "$(grep -c 'took 3 of 3 listeners back from the fd store' "$T/daemon.log")" 1
check_eq "  a @127.0.0.12 still resolves a2 and pod-b" "$(q12 a2) $(q12 pod-b)" "$(ipv4 a eth1) $(ipv4 b)"
check_eq "  and systemd's store is empty again (no netns kept alive by it)" \
	"$(sctl show -p NFileDescriptorStore --value cni-dnsname.service)" 0
check_eq "  b resolves pod-a" "$(q b pod-a)" "$(ipv4 a)"
check_eq "  over TCP too" "$(q b pod-a +tcp)" "$(ipv4 a)"

# reload: the unit's ExecReload
sctl reload cni-dnsname.service
check_eq "systemctl reload" "$?" 0
check_eq "  the same daemon" "$(mainpid)" "$NEW"

# a listener in the store that no record claims any more (b's record gone while no daemon ran):
# closed, its rewrite deleted, and not kept by systemd either
sd touch "$SB/drop-b"
sctl restart cni-dnsname.service
check_eq "restart, b's record removed meanwhile" "$?" 0
sd rm -f "$SB/drop-b"
check_eq "  the new one took a's 2 of the 3 listeners back" "$(grep -c 'took 2 of 3 listeners back from the fd store' "$T/daemon.log")" 1
check_eq "  b's listener closed, a's the same sockets" "$(lsn_ino b):$(lsn_ino a):$(lsn_ino a 127.0.0.12)" ":$INO_A:$INO_A2"
check_eq "  b's rewrite deleted, a's kept" "$(rewrite b)$(rewrite a)" ny
check_eq "  systemd's store empty" "$(sctl show -p NFileDescriptorStore --value cni-dnsname.service)" 0
check_eq "  a resolves itself" "$(q a pod-a)" "$(ipv4 a)"

# a listener's name this build cannot read (a newer build's) in the store: dropped from it, or it
# would keep its netns alive
sd touch "$SB/store-future"
sctl restart cni-dnsname.service
check_eq "restart, then a socket stored as dnsname-lsn-1-2-future" "$?" 0
sd rm -f "$SB/store-future"
check "  systemd's store holds it" poll_until 5000 eval \
	'[ "$(sctl show -p NFileDescriptorStore --value cni-dnsname.service)" = 1 ]'
sctl restart cni-dnsname.service
check_eq "restart" "$?" 0
check_eq "  the new daemon dropped it" "$(grep -c 'dropped dnsname-lsn-1-2-future' "$T/daemon.log")" 1
check_eq "  systemd's store empty" "$(sctl show -p NFileDescriptorStore --value cni-dnsname.service)" 0
check_eq "  a resolves itself, and a2 on 127.0.0.12" "$(q a pod-a) $(q12 a2)" "$(ipv4 a) $(ipv4 a eth1)"

if [ "$SCALE" -gt 0 ]; then
# many containers: more stored sockets than the descriptor limit systemd applies by default.
# Their netns made in one process (ip netns add and a loopback up, SCALE times over, took 40 s
# on a loaded host): unshare, bind the netns to /run/netns/NAME as ip does, loopback up.
ALLNS=$(python3 - "$SCALE" "cnic-s-$T_TAG" <<'PY'
import ctypes, fcntl, os, socket, struct, sys
libc = ctypes.CDLL(None, use_errno=True)
CLONE_NEWNET, MS_BIND = 0x40000000, 4096
for i in range(int(sys.argv[1])):
    name = "/run/netns/%s-%d" % (sys.argv[2], i)
    if libc.unshare(CLONE_NEWNET):
        sys.exit("unshare: " + os.strerror(ctypes.get_errno()))
    open(name, "x").close()
    if libc.mount(b"/proc/self/ns/net", name.encode(), None, MS_BIND, None):
        os.unlink(name)
        sys.exit("mount: " + os.strerror(ctypes.get_errno()))
    print(name, flush=True)
    with socket.socket() as s:  # lo up: SIOCGIFFLAGS, SIOCSIFFLAGS with IFF_UP
        ifr = fcntl.ioctl(s, 0x8913, struct.pack("16sH22x", b"lo", 0))
        flags = struct.unpack("16sH22x", ifr)[1] | 1
        fcntl.ioctl(s, 0x8914, struct.pack("16sH22x", b"lo", flags))
PY
)
ALLNS=$(tr '\n' ' ' <<<"$ALLNS")
for v in $ALLNS; do T_NS="$T_NS $(basename "$v")"; done
check_eq "$SCALE more netns" "$(wc -w <<<"$ALLNS")" "$SCALE"
cat >"$T/scale.sh" <<EOF
i=0
for ns in "\$@"; do
	i=\$((i + 1))
	conf=\$(printf '{"cniVersion":"1.0.0","name":"sd","type":"dnsname","dnsServers":["127.0.0.54"],"prevResult":{"cniVersion":"1.0.0","interfaces":[{"name":"eth0","sandbox":"%s"}],"ips":[{"address":"198.18.%d.%d/16","interface":0}]}}' \
		"\$ns" \$((60 + i / 250)) \$((i % 250 + 2)))
	if out=\$(printf '%s' "\$conf" | env CNI_COMMAND=ADD CNI_NETNS="\$ns" CNI_IFNAME=eth0 CNI_CONTAINERID=s\$i \
		CNI_PATH="$BIN" CNI_ARGS="IgnoreUnknown=1;K8S_POD_NAME=pod-s\$i" "$SB/bin/dnsname" 2>&1); then
		echo "ADD s\$i ok"
	else
		echo "ADD s\$i failed: \$out"
	fi
done
EOF
# shellcheck disable=SC2086 # the paths, one word each
sd bash "$T/scale.sh" $ALLNS >"$T/scale.out" 2>&1
NOK=$(grep -c '^ADD s[0-9]* ok$' "$T/scale.out")
check_eq "$SCALE more containers added" "$NOK" "$SCALE"
[ "$NOK" = "$SCALE" ] || grep -v ' ok$' "$T/scale.out" | head -5 | sed 's/^/# scale: /'
LAST=$(wc -w <<<"$ALLNS"); LAST=$(cut -d' ' -f"$LAST" <<<"$ALLNS")
qs() { ip netns exec "$(basename "$LAST")" dig +time=2 +tries=1 +short @127.0.0.11 "$1" 2>&1 | head -1; }
check_eq "  the last one resolves a" "$(qs pod-a)" "$(ipv4 a)"
INO_L=$(ip netns exec "$(basename "$LAST")" ss -Hulne 'sport = 61053' 2>/dev/null | grep -o 'ino:[0-9]*')
N=$((SCALE + 2)) # listeners: a's two, the scale containers'
sctl restart cni-dnsname.service
check_eq "restart with $((SCALE + 1)) containers ($((2 * N)) sockets stored)" "$?" 0
check_eq "  the new one took all $N back" "$(grep -c "took $N of $N listeners back from the fd store" "$T/daemon.log")" 1
check_eq "  the last one's listener the same socket" \
	"$(ip netns exec "$(basename "$LAST")" ss -Hulne 'sport = 61053' 2>/dev/null | grep -o 'ino:[0-9]*')" "$INO_L"
check_eq "  and it resolves a" "$(qs pod-a)" "$(ipv4 a)"
check_eq "  systemd's store empty" "$(sctl show -p NFileDescriptorStore --value cni-dnsname.service)" 0
else
	skip "restart with many containers" "SYSTEMD_SCALE=0 (the sanitizer pass)"
fi

# stop: the store flushed, the listeners closed; a start makes them anew
sctl stop cni-dnsname.service 2>/dev/null
check_eq "systemctl stop" "$?" 0
check_eq "  no listener left (the store flushed)" "$(lsn_ino a)" ""
check_eq "  a query is not answered" "$(q a pod-b | grep -c "^[0-9]")" 0
sctl start cni-dnsname.service
check_eq "systemctl start" "$?" 0
check_eq "  a resolves itself again" "$(q a pod-a)" "$(ipv4 a)"
check "  on a new socket" test "$(lsn_ino a)" != "$INO_A"

check_eq "  a @127.0.0.12 too" "$(q12 a2)" "$(ipv4 a eth1)"

IFN=eth1 srun "$SB/bin/dnsname" DEL "${NS[a]}" a "$DCONF2"
check_eq "a: dnsname DEL on sd2" "$RC" 0
check_eq "  its listener gone, the other kept" "$(lsn_ino a 127.0.0.12):$(test -n "$(lsn_ino a)" && echo kept)" ":kept"
IFN=eth1 srun "$BIN/bridge" DEL "${NS[a]}" a "$NET2"
for n in a b; do
	srun "$SB/bin/dnsname" DEL "${NS[$n]}" "$n" "${DCONF[$n]}"
	check_eq "$n: dnsname DEL" "$RC" 0
	srun "$BIN/bridge" DEL "${NS[$n]}" "$n" "$NET"
done
check_eq "no rewrite left" "$(rewrite a)$(rewrite b)" nn
check_eq "the daemons' log has no sanitizer report" "$(grep -c 'Sanitizer\|runtime error' "$T/daemon.log")" 0
[ "$T_FAILED" = 0 ] || sed 's/^/# daemon: /' "$T/daemon.log" | tail -40
sctl poweroff --no-block >/dev/null 2>&1
poll_until 10000 eval '! kill -0 $SD 2>/dev/null' || kill -9 "$SD" 2>/dev/null
wait "$US" 2>/dev/null
finish
