#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# What each plugin answers when CNI_NETNS names a namespace that does not exist, as cnic(7)
# documents it (EXIT STATUS AND ERROR CODES, 999): ADD fails with 999 "... does not exist" where
# the plugin enters the namespace, loopback answers 3, flannel 5 (subnet.env first), dhcp 11
# without its daemon, and host-local, static, portmap and firewall never enter it and succeed;
# DEL succeeds everywhere. Every plugin of plugins/ must have its line here. The plugins run in
# a namespace of the test's own ("the host"), so the bridges, rules and sysctls an ADD makes
# before it opens CNI_NETNS go with it.
. "$(dirname "$0")/lib.sh"
need_root missing_netns
mkns HOSTNS
H=$(basename "$HOSTNS")
tmpdir T
GONE=$T/gone-netns
# veths as the masters and the device (dummy, vlan, ipvlan and vrf need modules this host may
# lack: those plugins fail before they create anything)
ip -n "$H" link add cnicm0 type veth peer name cnicm0p && ip -n "$H" link add cnicm1 type veth peer name cnicm1p &&
	ip -n "$H" link set cnicm0 up || { fail "dummies in the test's host namespace"; exit 1; }
on_exit "[ -s $T/dns/dnsname.pid ] && kill \$(cat $T/dns/dnsname.pid)"

hl='"ipam":{"type":"host-local","dataDir":"'$T'/ipam","subnet":"10.99.0.0/24"}'
prev='"prevResult":{"cniVersion":"1.1.0","interfaces":[{"name":"br0"},{"name":"veth1"},{"name":"eth0","sandbox":"'$GONE'"}],"ips":[{"address":"10.99.0.2/24","gateway":"10.99.0.1","interface":2}]}'
declare -A CONF WANT
CONF[bridge]='{"type":"bridge","bridge":"cnicmbr0",'$hl'}'
CONF[ptp]='{"type":"ptp",'$hl'}'
CONF[macvlan]='{"type":"macvlan","master":"cnicm0",'$hl'}'
CONF[ipvlan]='{"type":"ipvlan","master":"cnicm0",'$hl'}'
CONF[vlan]='{"type":"vlan","master":"cnicm0","vlanId":5,'$hl'}'
CONF[host-device]='{"type":"host-device","device":"cnicm1"}'
CONF[tap]='{"type":"tap",'$hl'}'
CONF[dummy]='{"type":"dummy",'$hl'}'
CONF[loopback]='{"type":"loopback"}'
CONF[host-local]='{"type":"host-local",'$hl'}'
CONF[static]='{"type":"static","ipam":{"type":"static","addresses":[{"address":"10.99.0.5/24"}]}}'
CONF[dhcp]='{"type":"dhcp","ipam":{"type":"dhcp","daemonSocketPath":"'$T'/dhcp.sock"}}'
CONF[bandwidth]='{"type":"bandwidth","ingressRate":1000000,"ingressBurst":100000,'$prev'}'
CONF[firewall]='{"type":"firewall","backend":"nftables",'$prev'}'
CONF[portmap]='{"type":"portmap","runtimeConfig":{"portMappings":[{"hostPort":8080,"containerPort":80,"protocol":"tcp"}]},'$prev'}'
CONF[sbr]='{"type":"sbr",'$prev'}'
CONF[tuning]='{"type":"tuning","mtu":1400,"dataDir":"'$T'/tuning",'$prev'}'
CONF[vrf]='{"type":"vrf","vrfname":"red",'$prev'}'
CONF[dnsname]='{"type":"dnsname","runDir":"'$T'/dns",'$prev'}'
CONF[flannel]='{"type":"flannel","subnetFile":"'$T'/subnet.env","dataDir":"'$T'/flannel"}'
for p in loopback; do WANT[$p]=3; done
for p in flannel; do WANT[$p]=5; done
for p in dhcp; do WANT[$p]=11; done
for p in host-local static portmap firewall; do WANT[$p]=0; done

run() { # PLUGIN COMMAND CONF
	OUT=$(printf '%s' "$3" | ip netns exec "$H" env CNI_COMMAND="$2" CNI_NETNS="$GONE" CNI_IFNAME=eth0 \
		CNI_CONTAINERID=c-missing CNI_PATH="$BIN" "$BIN/$1" 2>/dev/null)
	RC=$?
}

for d in "$TOP"/plugins/*/*/; do
	p=$(basename "$d")
	if [ -z "${CONF[$p]:-}" ]; then
		fail "$p has a case here" "add it to tests/netns/missing_netns.sh and to cnic(7)"
		continue
	fi
	conf=$(printf '%s' "${CONF[$p]}" | jq -c '. + {cniVersion:"1.1.0",name:"missing-netns"}')
	links=$(ip -n "$H" -o link show | awk -F': ' '{print $2}' | sort)
	run "$p" ADD "$conf"
	want=${WANT[$p]:-999}
	if [ "$want" != 0 ]; then # a failed ADD leaves no link behind (bridge made its bridge first)
		check_eq "$p's failed ADD leaves no link in the host" \
			"$(ip -n "$H" -o link show | awk -F': ' '{print $2}' | sort)" "$links"
	fi
	if [ "$want" = 0 ]; then
		check_eq "$p ADD with a missing netns succeeds (never enters it)" "$RC" 0
	else
		got=$(printf '%s' "$OUT" | jq -r .code 2>/dev/null)
		check_eq "$p ADD with a missing netns is code $want" "$RC/$got" "1/$want"
		if [ "$want" = 999 ]; then
			case $(printf '%s' "$OUT" | jq -r .msg) in
			*"does not exist"*) ok "$p names the missing netns" ;;
			*) fail "$p names the missing netns" "$OUT" ;;
			esac
		fi
	fi
	run "$p" DEL "$conf"
	check_eq "$p DEL with a missing netns succeeds" "$RC" 0
done
exit $T_FAILED
