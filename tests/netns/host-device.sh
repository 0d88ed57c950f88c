#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# host-device as a runtime runs it, inside a private "host" namespace: a veth end "hv0" of that
# host (its peer "hv0p" keeps 10.70.0.1) is moved into the container as eth0 and pinged through.
# Every spec version ADD/CHECK/DEL with static IPAM, the original name kept in ifalias and restored
# on DEL (device down, alias cleared); DEL twice, without ADD, with the netns gone, with the device
# gone; every selector (device, hwaddr, and through a fake sysfs tree in CNIC_TEST_SYSFS:
# kernelpath, pciBusID, runtimeConfig deviceID as PCI address and auxiliary device, a DPDK-bound
# PCI device which is not moved); the reference's rollback test (DEL while the original name is
# taken fails, the device stays up in the container, DEL succeeds once the name is free); DEL
# finds a device a killed plugin left under the temporary name, in the container or the host; a
# container that already has CNI_IFNAME is not clobbered; bad configurations are code 7; IPAM
# with host-local for CHECK, STATUS, GC; and a differential run against /usr/lib/cni/host-device
# (Debian 1.1.1, spec <= 1.0.0; it leaves the alias on the host link after DEL, HEAD and we clear
# it; DEL with the device gone, which 1.1.1 fails, is not compared).
. "$(dirname "$0")/lib.sh"
need_root host-device
P=$BIN/host-device
tmpdir DATA

# conf VERSION EXTRA-KEYS [IPAM-JSON]
conf() {
	printf '{"cniVersion":"%s","name":"hd","type":"host-device"%s%s}' "$1" "${2:+,$2}" "${3:+,\"ipam\":$3}"
}
STATIC='{"type":"static","addresses":[{"address":"10.70.0.2/24"}]}'
# mkdev HOSTNS: the veth hv0 (up) whose peer hv0p holds 10.70.0.1
mkdev() {
	in_ns "$1" ip link add hv0 type veth peer name hv0p
	in_ns "$1" ip link set hv0 up
	in_ns "$1" ip link set hv0p up
	in_ns "$1" ip addr add 10.70.0.1/24 dev hv0p
}
link_j() { in_ns "$1" ip -j link show "$2" 2>/dev/null | jq -c ".[0] | $3"; }
is_up() { link_j "$1" "$2" '.flags | any(. == "UP")'; }

# ---- every spec version ------------------------------------------------------------------------
for v in $VERSIONS; do
	mkhost H
	mkdev "$H"
	mkns C
	mac=$(link_j "$H" hv0 .address | tr -d '"')
	Cf=$(conf "$v" '"device":"hv0"' "$STATIC")
	hrun "$H" "$P" ADD "$C" eth0 c1 "$Cf"
	check_eq "$v ADD" "$RC" 0
	R=$OUT
	case $v in
	0.1.0 | 0.2.0) check_eq "$v result ip4" "$(jq -c .ip4.ip <<<"$R")" '"10.70.0.2/24"' ;;
	*) check_eq "$v result interface" "$(jq -c '[.interfaces[0].name, .interfaces[0].mac, .interfaces[0].sandbox, .ips[0].interface, .ips[0].address]' <<<"$R")" \
		"[\"eth0\",\"$mac\",\"$C\",0,\"10.70.0.2/24\"]" ;;
	esac
	check_eq "$v hv0 left the host" "$(has_link "$H" hv0)" no
	check_eq "$v eth0 in the container, up, alias hv0" "$(link_j "$C" eth0 '[.ifalias, (.flags | any(. == "UP"))]')" '["hv0",true]'
	check_eq "$v address" "$(ip_of "$C")" 10.70.0.2
	check "$v container pings the host end" ping_ok "$C" 10.70.0.1
	if [[ $v == 0.4.0 || $v == 1.* ]]; then
		hrun "$H" "$P" CHECK "$C" eth0 c1 "$(with_prev "$Cf" "$R")"
		check_eq "$v CHECK" "$RC:$OUT" "0:"
	fi
	hrun "$H" "$P" ADD "$C" eth0 c1 "$Cf"
	check_eq "$v second ADD fails (device gone from the host)" "$RC" 1
	hrun "$H" "$P" DEL "$C" eth0 c1 "$Cf"
	check_eq "$v DEL" "$RC:$OUT:$(has_link "$C" eth0)" "0::no"
	check_eq "$v hv0 back in the host, down, alias cleared" "$(link_j "$H" hv0 '[.ifname, .ifalias, (.flags | any(. == "UP"))]')" '["hv0",null,false]'
	hrun "$H" "$P" DEL "$C" eth0 c1 "$Cf"
	check_eq "$v second DEL" "$RC:$OUT" "0:"
	mkns C2
	hrun "$H" "$P" DEL "$C2" eth0 c2 "$Cf"
	check_eq "$v DEL without ADD" "$RC:$OUT" "0:"
	hrun "$H" "$P" ADD "$C2" eth0 c2 "$Cf"
	ip netns del "$(basename "$C2")"
	hrun "$H" "$P" DEL "$C2" eth0 c2 "$Cf"
	check_eq "$v DEL after the netns vanished" "$RC:$OUT" "0:"
	hrun "$H" "$P" DEL "" eth0 c2 "$Cf"
	check_eq "$v DEL with an empty CNI_NETNS" "$RC:$OUT" "0:"
done

# ---- DEL when the device is already gone (the reference fails here) --------------------------------
mkhost H
mkdev "$H"
mkns C
Cf=$(conf 1.1.0 '"device":"hv0"')
hrun "$H" "$P" ADD "$C" eth0 c1 "$Cf"
check_eq "no-IPAM ADD" "$RC:$(jq -c '.ips // []' <<<"$OUT")" "0:[]"
in_ns "$C" ip link del eth0
hrun "$H" "$P" DEL "$C" eth0 c1 "$Cf"
check_eq "DEL with the device gone" "$RC:$OUT" "0:"

# ---- rollback: the original name taken on the host -----------------------------------------------
mkhost H
mkdev "$H"
mkns C
hrun "$H" "$P" ADD "$C" eth0 c1 "$Cf"
in_ns "$H" ip link add hv0 type veth peer name hv0x
hrun "$H" "$P" DEL "$C" eth0 c1 "$Cf"
[[ $RC = 1 && $OUT == *'hv0\" is taken'* ]] && ok "DEL fails while hv0 is taken" || fail "DEL with name taken" "$RC $OUT"
check_eq "  device stays up in the container with its alias" "$(link_j "$C" eth0 '[.ifalias, (.flags | any(. == "UP"))]')" '["hv0",true]'
in_ns "$H" ip link del hv0
hrun "$H" "$P" DEL "$C" eth0 c1 "$Cf"
check_eq "  DEL succeeds once the name is free" "$RC:$OUT:$(has_link "$H" hv0):$(has_link "$C" eth0)" "0::yes:no"

# ---- a plugin killed half-way: the device under the temporary name, in the container or the host ----
# (the name is "cnihd" + 10 hex of sha512("<cid>\n<ifname>"); the fault lane kills at every step)
T=cnihd$(printf 'c1\neth0' | sha512sum | cut -c1-10)
for where in container host; do
	mkhost H
	mkdev "$H"
	mkns C
	hrun "$H" "$P" ADD "$C" eth0 c1 "$Cf"
	in_ns "$C" ip link set eth0 down
	in_ns "$C" ip link set eth0 name "$T"
	[[ $where = host ]] && in_ns "$C" ip link set "$T" netns "$H"
	hrun "$H" "$P" DEL "$C" eth0 c1 "$Cf"
	check_eq "DEL finds the device as $T in the $where" "$RC:$OUT:$(link_j "$H" hv0 .ifalias):$(has_link "$C" "$T"):$(has_link "$H" "$T")" "0::null:no:no"
done

# ---- the container already has CNI_IFNAME ------------------------------------------------------------
mkhost H
mkdev "$H"
mkns C
in_ns "$C" ip link add eth0 type veth peer name eth0p
idx=$(link_j "$C" eth0 .ifindex)
hrun "$H" "$P" ADD "$C" eth0 c1 "$Cf"
check_eq "ADD into an existing eth0 refused" "$RC" 1
check_eq "  existing eth0 untouched, hv0 still on the host" "$(link_j "$C" eth0 '[.ifindex, .ifalias]'):$(has_link "$H" hv0)" "[$idx,null]:yes"
hrun "$H" "$P" DEL "$C" eth0 c1 "$Cf"
check_eq "  DEL leaves the container's own eth0" "$RC:$(link_j "$C" eth0 .ifindex)" "0:$idx"

# ---- selectors ---------------------------------------------------------------------------------------
mkhost H
mkdev "$H"
mkns C
mac=$(link_j "$H" hv0 .address | tr -d '"')
sel_case() { # NAME EXTRA-KEYS [SYSFS-ROOT]
	local c
	c=$(conf 1.0.0 "$2" "$STATIC")
	CNIC_TEST_SYSFS=${3:-} hrun "$H" "$P" ADD "$C" eth0 c1 "$c"
	check_eq "$1: ADD moves hv0" "$RC:$(link_j "$C" eth0 .ifalias)" '0:"hv0"'
	CNIC_TEST_SYSFS=${3:-} hrun "$H" "$P" DEL "$C" eth0 c1 "$c"
	check_eq "$1: DEL gives it back" "$RC:$(has_link "$H" hv0)" "0:yes"
}
sel_case hwaddr "\"hwaddr\":\"$(tr a-f A-F <<<"$mac")\""
# a killed ADD left hv0 on the host under the temporary name, alias hv0: ADD again by hwaddr
in_ns "$H" ip link set hv0 down
in_ns "$H" ip link set hv0 alias hv0
in_ns "$H" ip link set hv0 name "$T"
c=$(conf 1.0.0 "\"hwaddr\":\"$mac\"" "$STATIC")
hrun "$H" "$P" ADD "$C" eth0 c1 "$c"
check_eq "hwaddr, device left as $T by a killed ADD: the alias keeps the host name" "$RC:$(link_j "$C" eth0 .ifalias)" '0:"hv0"'
hrun "$H" "$P" DEL "$C" eth0 c1 "$c"
check_eq "  DEL gives it back as hv0" "$RC:$(has_link "$H" hv0):$(has_link "$H" "$T")" "0:yes:no"
tmpdir FS
mkdir -p "$FS/sys/devices/pci0000:00/0000:00:09.0/net/hv0" "$FS/sys/bus/pci/devices/0000:00:0a.0/virtio3/net/hv0" \
	"$FS/sys/bus/auxiliary/devices/mlx5_core.sf.4/net/hv0" "$FS/sys/bus/pci/devices/0000:00:0b.0" "$FS/sys/bus/pci/drivers/vfio-pci"
ln -s "$FS/sys/devices/pci0000:00/0000:00:09.0" "$FS/sys/bus/pci/devices/0000:00:09.0"
ln -s ../../drivers/vfio-pci "$FS/sys/bus/pci/devices/0000:00:0b.0/driver"
sel_case kernelpath '"kernelpath":"/sys/devices/pci0000:00/0000:00:09.0"' "$FS"
sel_case pciBusID '"pciBusID":"0000:00:09.0"' "$FS"
sel_case "pciBusID of a virtio device" '"pciBusID":"0000:00:0a.0"' "$FS"
sel_case "deviceID (PCI) overrides device" '"device":"nope","runtimeConfig":{"deviceID":"0000:00:09.0"}' "$FS"
sel_case "deviceID (auxiliary)" '"runtimeConfig":{"deviceID":"mlx5_core.sf.4"}' "$FS"
c=$(conf 1.0.0 '"pciBusID":"0000:00:0b.0"' "$STATIC")
CNIC_TEST_SYSFS=$FS hrun "$H" "$P" ADD "$C" eth0 c1 "$c"
check_eq "DPDK device: interface without MAC, IPAM result, nothing moved" \
	"$RC:$(jq -c '[.interfaces, .ips[0].address]' <<<"$OUT"):$(has_link "$C" eth0)" \
	"0:[[{\"name\":\"eth0\",\"sandbox\":\"$C\"}],\"10.70.0.2/24\"]:no"
CNIC_TEST_SYSFS=$FS hrun "$H" "$P" CHECK "$C" eth0 c1 "$(with_prev "$c" "$OUT")"
check_eq "DPDK CHECK" "$RC:$OUT" "0:"
CNIC_TEST_SYSFS=$FS hrun "$H" "$P" DEL "$C" eth0 c1 "$c"
check_eq "DPDK DEL" "$RC:$OUT" "0:"
in_ns "$H" ip link set hv0 up # DEL left it down, as the reference does
hrun "$H" "$P" ADD "$C" eth0 c1 "$(conf 1.0.0 '"device":"hv0"' '{"type":"nosuch"}')"
check_eq "IPAM failure: ADD fails, hv0 back on the host, up, no alias" \
	"$RC:$(has_link "$C" eth0):$(link_j "$H" hv0 '[.ifalias, (.flags | any(. == "UP"))]')" '1:no:[null,true]'
hrun "$H" "$P" ADD "$C" eth0 c1 "$(conf 1.0.0 '"device":"nosuch"')"
check_eq "missing device: error, not code 7" "$RC:$(err_code)" "1:999"

# ---- bad configurations: code 7 ------------------------------------------------------------------------
for bad in '' '"device":""' '"device":"a/b"' '"hwaddr":"zz:11"' '"kernelpath":"relative/path"' \
	'"kernelpath":"/etc/passwd"' '"kernelpath":"/sys/devices/../../etc"' '"pciBusID":"../x"' \
	'"runtimeConfig":{"deviceID":"../../x"}'; do
	hrun "$H" "$P" ADD "$C" eth0 c1 "$(conf 1.0.0 "$bad")"
	check_eq "bad config {$bad}: code 7" "$RC:$(err_code):$(has_link "$H" hv0)" "1:7:yes"
done

# ---- host-local: CHECK notices, STATUS, GC --------------------------------------------------------------
HL="{\"type\":\"host-local\",\"dataDir\":\"$DATA\",\"ranges\":[[{\"subnet\":\"10.71.0.0/24\"}]],\"routes\":[{\"dst\":\"10.99.0.0/16\"}]}"
Cf=$(conf 1.1.0 '"device":"hv0"' "$HL")
hrun "$H" "$P" ADD "$C" eth0 c1 "$Cf"
R=$OUT
check_eq "host-local ADD" "$RC:$(files_left)" "0:1"
check_eq "  route" "$(in_ns "$C" ip -j route show 10.99.0.0/16 | jq -r '.[0].gateway')" 10.71.0.1
hrun "$H" "$P" CHECK "$C" eth0 c1 "$(with_prev "$Cf" "$R")"
check_eq "CHECK" "$RC:$OUT" "0:"
in_ns "$C" ip addr flush dev eth0
hrun "$H" "$P" CHECK "$C" eth0 c1 "$(with_prev "$Cf" "$R")"
check_eq "CHECK notices a missing address" "$RC" 1
hrun "$H" "$P" CHECK "$C" eth0 c1 "$(with_prev "$Cf" "$(jq -c '.interfaces[0].mac = "02:00:00:00:00:99"' <<<"$R")")"
check_eq "CHECK notices another MAC" "$RC" 1
hrun "$H" "$P" STATUS "" "" "" "$Cf"
check_eq "STATUS" "$RC:$OUT" "0:"
hrun "$H" "$P" GC "" "" "" "$(jq -c '. + {"cni.dev/valid-attachments":[{"containerID":"c1","ifname":"eth0"}]}' <<<"$Cf")"
check_eq "GC keeps the live reservation" "$RC:$(files_left)" "0:1"
hrun "$H" "$P" GC "" "" "" "$(jq -c '. + {"cni.dev/valid-attachments":[]}' <<<"$Cf")"
check_eq "GC releases a stale one" "$RC:$(files_left)" "0:0"
hrun "$H" "$P" DEL "$C" eth0 c1 "$Cf"
check_eq "DEL after GC" "$RC:$(has_link "$H" hv0)" "0:yes"

# ---- differential against the reference ------------------------------------------------------------------
if [ -x "$REF/host-device" ]; then
	need_ref "host-device differential" host-device
	for v in 0.3.1 0.4.0 1.0.0; do
		mkhost HO
		mkhost HR
		mkdev "$HO"
		mkdev "$HR"
		in_ns "$HR" ip link set hv0 address "$(link_j "$HO" hv0 .address | tr -d '"')"
		mkns CO
		mkns CR
		co=$(conf "$v" '"device":"hv0"' "$STATIC")
		hrun "$HO" "$P" ADD "$CO" eth0 cd "$co"
		ro=$(norm_result "$OUT" "$CO" keep)
		CNI_PATH_OVERRIDE=$REFPATH hrun "$HR" "$REFPATH/host-device" ADD "$CR" eth0 cd "$co"
		rr=$(norm_result "$OUT" "$CR" keep)
		check_eq "diff $v ADD result" "$ro" "$rr"
		so=$(link_j "$CO" eth0 '[.ifname, .ifalias, .address, .flags]')
		sr=$(link_j "$CR" eth0 '[.ifname, .ifalias, .address, .flags]')
		check_eq "diff $v container link" "$so" "$sr"
		check_eq "diff $v address" "$(ip_of "$CO")" "$(ip_of "$CR")"
		hrun "$HO" "$P" DEL "$CO" eth0 cd "$co"
		ro=$RC:$OUT
		CNI_PATH_OVERRIDE=$REFPATH hrun "$HR" "$REFPATH/host-device" DEL "$CR" eth0 cd "$co"
		check_eq "diff $v DEL" "$ro" "$RC:$OUT"
		# 1.1.1 leaves the alias set on the host link; HEAD clears it, and so do we
		check_eq "diff $v host link after DEL" "$(link_j "$HO" hv0 '[.ifname, .flags]')" "$(link_j "$HR" hv0 '[.ifname, .flags]')"
		hrun "$HO" "$P" ADD "$CO" eth0 cd "$(conf "$v" '')"
		ro=$RC
		CNI_PATH_OVERRIDE=$REFPATH hrun "$HR" "$REFPATH/host-device" ADD "$CR" eth0 cd "$(conf "$v" '')"
		check_eq "diff $v no selector: both fail" "$ro" "$RC"
	done
else
	skip "host-device differential" "reference plugins not installed in $REF"
fi
finish
