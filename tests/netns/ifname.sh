#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# CNI_IFNAME: one rule for every layer (pkg/cni/ifname.c). A name the dispatcher took but
# host-local's store could not read back leaked its reservation on DEL, and GC freed the address
# of a live attachment; with NBSP the kernel refused the name after the bridge was made.
# - control characters (C0, DEL), the reference's Unicode whitespace (NEL, NBSP, U+3000) and
#   what the kernel's Latin-1 isspace() refuses (a byte 0xa0: 'à') are refused with code 4 by
#   ADD and DEL, leaving no link, veth or reservation;
# - unusual names that every layer takes ('é', a byte that is not UTF-8) work end to end;
# - GC keeps the addresses of the attachments it is told are valid.
. "$(dirname "$0")/lib.sh"
need_root ifname
tmpdir DATA
mkhost H
mkns CN
C=$(printf '{"cniVersion":"1.1.0","name":"ifn","type":"bridge","bridge":"brn","isGateway":true,"ipam":{"type":"host-local","dataDir":"%s","ranges":[[{"subnet":"198.18.78.0/24"}]]}}' "$DATA")
IPAM=$(printf '{"cniVersion":"1.1.0","name":"ifn","type":"host-local","ipam":{"type":"host-local","dataDir":"%s","ranges":[[{"subnet":"198.18.78.0/24"}]]}}' "$DATA")

state() {
	echo "veths=$(in_ns "$H" ip -j link show type veth | jq length)" \
		"container=$(in_ns "$CN" ip -j link show | jq '[.[] | select(.ifname != "lo")] | length')" \
		"reservations=$(files_left)"
}

for name in $'\x01' $'e\x01' $'e\x7f' $'e\x1b' $'e\xc2\x85' $'e\xc2\xa0' $'\xc3\xa0' $'e\xe3\x80\x80' \
	$'e\xe2\x80\xa8'; do
	label="ifname $(printf '%q' "$name")"
	hrun "$H" "$BIN/bridge" ADD "$CN" "$name" c1 "$C"
	check_eq "$label: bridge ADD refused with code 4" "$RC $(err_code)" "1 4"
	check_eq "$label: nothing made" "$(state)" "veths=0 container=0 reservations=0"
	hrun "$H" "$BIN/host-local" ADD "$CN" "$name" c1 "$IPAM"
	check_eq "$label: host-local ADD refused with code 4" "$RC $(err_code)" "1 4"
	check_eq "$label: no reservation" "$(files_left)" 0
	hrun "$H" "$BIN/bridge" DEL "$CN" "$name" c1 "$C"
	check_eq "$label: DEL refused with code 4" "$RC $(err_code)" "1 4"
done
hrun "$H" "$BIN/bridge" ADD "$CN" $'e\xc2\x85' c1 "$C"
check_eq "NEL: the reference's message" "$(printf '%s' "$OUT" | jq -r .msg)" \
	"interface name contains / or : or whitespace characters"
hrun "$H" "$BIN/bridge" ADD "$CN" $'e\x01' c1 "$C"
check_eq "control byte: says so" "$(printf '%s' "$OUT" | jq -r .msg)" \
	"interface name contains control characters"

# Names every layer takes: ADD makes them, DEL finds everything again.
for name in $'e\xc3\xa9' $'e\xff' 'eth-0.x_1'; do
	label="ifname $(printf '%q' "$name")"
	hrun "$H" "$BIN/bridge" ADD "$CN" "$name" c2 "$C"
	check_eq "$label: ADD" "$RC" 0
	check_eq "$label: the link in the container" "$(has_link "$CN" "$name")" yes
	check_eq "$label: one reservation" "$(files_left)" 1
	hrun "$H" "$BIN/bridge" DEL "$CN" "$name" c2 "$C"
	check_eq "$label: DEL" "$RC" 0
	check_eq "$label: nothing left after DEL" "$(state)" "veths=0 container=0 reservations=0"
done

# GC: the valid attachments keep their addresses, whatever else the list holds.
hrun "$H" "$BIN/host-local" ADD "$CN" eth0 g1 "$IPAM"
hrun "$H" "$BIN/host-local" ADD "$CN" $'e\xc3\xa9' g2 "$IPAM"
hrun "$H" "$BIN/host-local" ADD "$CN" eth1 g3 "$IPAM"
check_eq "GC: three reservations" "$(files_left)" 3
gc=$(printf '%s' "$IPAM" | jq -c '. + {"cni.dev/valid-attachments": [
	{"containerID": "g1", "ifname": "eth0"}, {"containerID": "g2", "ifname": "e\u00e9"},
	{"containerID": "g3", "ifname": "\u0001"}, {"containerID": "g4", "ifname": "e\u00a0"}]}')
OUT=$(printf '%s' "$gc" | ip netns exec "$H" env CNI_COMMAND=GC CNI_PATH="$BIN" "$BIN/host-local")
check_eq "GC: exit 0" "$?" 0
owners() { # the owners of the reservations, sorted, "<cid>/<ifname>"
	find "$DATA" -type f ! -name lock ! -name 'last_reserved_ip.*' ! -name '.cnic*' \
		-exec sh -c 'tr "\r\n" "/ " <"$1"; echo' _ {} \; | sort | tr '\n' ' '
}
check_eq "GC: the two valid attachments keep their addresses" "$(owners)" $'g1/ eth0 g2/ e\xc3\xa9 '

finish
