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

# dns_upstream ADDR ANSWER-IP [DNSMASQ-ARG...]: a dnsmasq on ADDR:53 of the host netns H answering
# every name under example.test with ANSWER-IP (TTL 60), plus what the arguments add; its pid in
# UPPID[ADDR], killed at exit.
declare -A UPPID
dns_upstream() {
	local a=$1 ip=$2
	shift 2
	ip netns exec "$H" dnsmasq --keep-in-foreground --no-resolv --no-hosts --user=root --port=53 \
		--listen-address="$a" --bind-interfaces --pid-file="$RUN/up-$a.pid" --local-ttl=60 \
		"$@" --address=/example.test/"$ip" 2>>"$RUN/up.log" &
	UPPID[$a]=$!
	on_exit "kill ${UPPID[$a]} 2>/dev/null"
	poll_until 3000 in_ns "$H" dig +time=1 +tries=1 @"$a" a.example.test ||
		fail "upstream $a" "dnsmasq did not start: $(cat "$RUN/up.log")"
}
