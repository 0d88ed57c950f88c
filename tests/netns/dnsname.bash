# SPDX-License-Identifier: Apache-2.0
# Helpers of the dnsname tests (dnsname.sh, dnsname_limits.sh, dnsname_retry.sh,
# dnsname_port53.sh), sourced after lib.sh: the common start (a private host H, scratch RUN and
# DATA, the daemon killed at exit) and the configurations of the chain's two plugins.

# dnsname_setup NAME CMD...: skip without root or any CMD; P, H, RUN, DATA; the daemon of RUN
# killed at exit.
dnsname_setup() {
	need_root "$1"
	need_cmds "$@"
	P=$BIN/dnsname
	mkhost H
	tmpdir RUN
	tmpdir DATA
	on_exit 'kill $(daemon_pid) 2>/dev/null'
}
daemon_pid() { cat "$RUN/dnsname.pid" 2>/dev/null; }

# bridge_conf NET BRIDGE SUBNET: the first plugin's configuration (host-local in $DATA).
bridge_conf() {
	printf '{"cniVersion":"1.0.0","name":"%s","type":"bridge","bridge":"%s","isGateway":true,"ipam":{"type":"host-local","dataDir":"%s","ranges":[[{"subnet":"%s"}]]}}' "$1" "$2" "$DATA" "$3"
}

# dns_conf NET PREV [ALIASES-JSON [EXTRA-JSON]]: dnsname's configuration chained after PREV.
dns_conf() {
	jq -cn --arg n "$1" --argjson p "$2" --arg run "$RUN" --argjson a "${3:-null}" --argjson x "${4:-{\}}" \
		'{cniVersion:"1.0.0",name:$n,type:"dnsname",runDir:$run,resolvConf:($run+"/resolv.conf"),prevResult:$p}
		 + (if $a == null then {} else {runtimeConfig:{aliases:{($n):$a}}} end) + $x'
}
