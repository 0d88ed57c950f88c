#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# make bench: cnic (build/bin) against the reference Go plugins (/usr/lib/cni, Debian's
# containernetworking-plugins), on the same configurations, in the same run, interleaved exec by
# exec by bench/cnibench.c. Every implementation gets its own private "host" netns (ip netns add)
# and a fresh container netns per ADD, so nothing touches the machine's network; every netns,
# link and file is removed at exit, also on failure. Writes build/bench/results.{md,json},
# latency.png (and scale.png with BENCH_SCALE), and prints the Markdown table.
# Knobs: BENCH_OUT (the output directory, build/bench), BENCH_TAG (the prefix of its netns
# names, cb<pid>), BENCH_N (cycles per scenario, 200), BENCH_SCALE (live allocations of the scale
# run, 0 = off), BENCH_SCALE_CHAIN (live containers of the podman chain at scale, BENCH_SCALE / 4),
# BENCH_STREAMS (parallel streams, 8), BENCH_ONLY (space-separated scenario names; "dns" adds
# bench/dns.sh, see there), BENCH_PROFILE=1 (cycle scenarios under `perf record`: where each cnic
# plugin's time goes, build/bench/split.md, see bench/split.awk; with BENCH_SCALE, the scale
# scenarios' growth from the first operations to the last by symbol, build/bench/scaleprof-<name>.md,
# see bench/scaleprof.py), BENCH_AB=<git-rev> (the A/B mode: the cycle scenarios of <git-rev>'s
# build against this tree's, interleaved in one driver run, no reference, and with BENCH_SCALE the
# scale scenarios, old, new and the ip floor in one driver run each; writes build/bench/ab.md with
# the ratios, their noise, the installed sizes and the scale table of bench/scaletab.py, plus
# scale.png, and exits 1 on a regression, see bench/ab.py and bench/size.sh).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u

TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build}
case "$BUILD" in /*) ;; *) BUILD="$TOP/$BUILD" ;; esac
BIN="$BUILD/bin"
REF=${REF:-/usr/lib/cni}
OUT=${BENCH_OUT:-$BUILD/bench}
N=${BENCH_N:-200}
SCALE=${BENCH_SCALE:-0}
STREAMS=${BENCH_STREAMS:-8}
ONLY=${BENCH_ONLY:-}
PROFILE=${BENCH_PROFILE:-0}
AB=${BENCH_AB:-}
TAG=${BENCH_TAG:-cb$$}

if [ "$(id -u)" != 0 ]; then
	echo "bench: needs root (network namespaces)" >&2
	exit 1
fi

# ---- tools ------------------------------------------------------------------------------------
need=""
for p in gnuplot-nox containernetworking-plugins jq iptables nftables iproute2 binutils; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || need="$need $p"
done
if [ -n "$need" ]; then
	echo "bench: installing$need" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends $need >/dev/null ||
		{ echo "bench: could not install$need" >&2; exit 1; }
fi

mkdir -p "$OUT"
rm -f "$OUT"/results.md "$OUT"/results.json "$OUT"/latency.png "$OUT"/scale.png "$OUT"/samples.tsv \
	"$OUT"/split.md "$OUT"/split.tsv "$OUT"/scaleprof-*.md "$OUT"/ab.md
if [ "$PROFILE" = 1 ] && ! perf --version >/dev/null 2>&1; then
	echo "bench: BENCH_PROFILE=1 needs perf (Debian package linux-perf); profiling off" >&2
	PROFILE=0
fi
# One perf sample per 100 us of CPU (cpu-clock: VMs rarely expose hardware counters).
PERIOD_NS=100000
CFLAGS_B="-std=gnu11 -D_GNU_SOURCE -O2 -Wall -Wextra -Wshadow -Wformat=2 -Werror"
# Static, so that the driver's own small footprint (which a vfork()ed child's ru_maxrss includes,
# see bench/README.md) stays far below any plugin's.
${CC:-cc} $CFLAGS_B -static -o "$OUT/cnibench" "$TOP/bench/cnibench.c" $(pkg-config --cflags jansson) -ljansson 2>/dev/null ||
	${CC:-cc} $CFLAGS_B -o "$OUT/cnibench" "$TOP/bench/cnibench.c" $(pkg-config --cflags --libs jansson) ||
	{ echo "bench: cannot build bench/cnibench.c" >&2; exit 1; }
${CC:-cc} -O2 -s -static -o "$OUT/true-static" "$TOP/bench/true.c" ||
	{ echo "bench: cannot build a static binary (libc6-dev?)" >&2; exit 1; }

# ---- cleanup ------------------------------------------------------------------------------------
# All scratch files live on tmpfs (/dev/shm): host-local's dataDir is there too.
WORK=$(mktemp -d /dev/shm/cnic-bench.XXXXXX 2>/dev/null || mktemp -d /tmp/cnic-bench.XXXXXX)
HOSTS=""
DRIVER=""
# A snapshot of build/bin (not on /dev/shm, which may be noexec): other builds in the tree cannot
# swap a binary in the middle of a run.
rm -rf "$OUT/bin.snapshot"
mkdir "$OUT/bin.snapshot" && cp -p "$BIN"/* "$OUT/bin.snapshot/" 2>/dev/null
SRCBIN=$BIN
BIN="$OUT/bin.snapshot"
cleanup() {
	local h f
	[ -n "$DRIVER" ] && kill "$DRIVER" 2>/dev/null && wait "$DRIVER" 2>/dev/null
	for h in $HOSTS; do ip netns del "$h" 2>/dev/null; done
	for f in /run/netns/"$TAG"-*; do
		[ -e "$f" ] || continue
		umount -l "$f" 2>/dev/null
		rm -f "$f"
	done
	rm -rf "$WORK" "$OUT/bin.snapshot" "$OUT/bin.old"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# mkhost VAR NAME: a private "host" netns with lo up; its path in VAR.
mkhost() {
	local h="$TAG-h$2"
	ip netns add "$h" || { echo "bench: ip netns add $h failed" >&2; exit 1; }
	HOSTS="$HOSTS $h"
	ip -n "$h" link set lo up
	printf -v "$1" '%s' "/run/netns/$h"
}
rmhosts() {
	local h
	for h in $HOSTS; do ip netns del "$h" 2>/dev/null; done
	HOSTS=""
}

# A/B: the old build in place of the reference, labelled old and new (this tree) in the samples.
if [ -n "$AB" ]; then
	[ "$PROFILE" = 1 ] && { echo "bench: BENCH_AB and BENCH_PROFILE do not mix" >&2; exit 1; }
	AB_COMMIT=$(sh "$TOP/bench/abbuild.sh" "$AB" "$OUT/bin.old") || exit 1
	REF="$OUT/bin.old"
	LA=new LB=old
else
	LA=cnic LB=reference
fi

# ---- configurations ---------------------------------------------------------------------------
# conf_NAME DATADIR prints the conflist of scenario NAME (the same for both implementations but
# for the dataDir). cniVersion 1.0.0: the newest both speak.
hl() { printf '"ipam":{"type":"host-local","dataDir":"%s","ranges":[[{"subnet":"%s"}]]%s}' "$1" "$2" "${3:-}"; }
conf_loopback() { echo '{"cniVersion":"1.0.0","name":"bench-lo","plugins":[{"type":"loopback"}]}'; }
conf_bridge() {
	printf '{"cniVersion":"1.0.0","name":"bench-br","plugins":[{"type":"bridge","bridge":"cni0","isGateway":true,%s}]}' \
		"$(hl "$1" 10.88.0.0/24)"
}
conf_bridge_masq() {
	printf '{"cniVersion":"1.0.0","name":"bench-masq","plugins":[{"type":"bridge","bridge":"cni0","isGateway":true,"ipMasq":true,%s}]}' \
		"$(hl "$1" 10.88.0.0/24)"
}
conf_ptp() {
	printf '{"cniVersion":"1.0.0","name":"bench-ptp","plugins":[{"type":"ptp",%s}]}' "$(hl "$1" 10.89.0.0/24)"
}
conf_macvlan() {
	printf '{"cniVersion":"1.0.0","name":"bench-mv","plugins":[{"type":"macvlan","master":"bm0",%s}]}' \
		"$(hl "$1" 10.90.0.0/24)"
}
# podman's default network of the CNI era, with one published port (-p 8080:80) passed as the
# runtime passes capabilities: runtimeConfig.portMappings.
conf_podman() {
	printf '{"cniVersion":"1.0.0","name":"podman","plugins":[
{"type":"bridge","bridge":"cni-podman0","isGateway":true,"ipMasq":true,"hairpinMode":true,%s},
{"type":"portmap","capabilities":{"portMappings":true},"runtimeConfig":{"portMappings":[{"hostPort":8080,"containerPort":80,"protocol":"tcp"}]}},
{"type":"firewall"},
{"type":"tuning"}]}' "$(hl "$1" 10.88.0.0/16 ',"routes":[{"dst":"0.0.0.0/0"}]')"
}
conf_scale() {
	printf '{"cniVersion":"1.0.0","name":"bench-scale","plugins":[{"type":"bridge","bridge":"cni0","isGateway":true,%s}]}' \
		"$(hl "$1" 10.88.0.0/16)"
}

# The same kernel work as a bridge ADD, one `ip` per step; container-side steps run inside the
# container netns (the driver setns()es the child, so ip's own `-n` mount work is not counted).
cat >"$WORK/floor-ip.script" <<'EOF'
add ip link add %h type veth peer name %i netns %N
add ip link set %h master br0 up
add @c ip addr add %a dev %i
add @c ip link set %i up
add @c ip route add default via 10.77.0.1
del ip link del %h
EOF
echo "add $OUT/true-static" >"$WORK/floor-exec.script"
setup_floor() { ip -n "$(basename "$1")" link add br0 type bridge && ip -n "$(basename "$1")" addr add 10.77.0.1/16 dev br0 &&
	ip -n "$(basename "$1")" link set br0 up; }
setup_macvlan() { ip -n "$(basename "$1")" link add bm0 type veth peer name bm0p &&
	ip -n "$(basename "$1")" link set bm0p up && ip -n "$(basename "$1")" link set bm0 up; }

# ---- sizes --------------------------------------------------------------------------------------
# Stripped size of a binary (what a distribution package installs), bytes.
ssize() {
	strip -o "$WORK/strip.tmp" "$1" 2>/dev/null && stat -c %s "$WORK/strip.tmp" || stat -c %s "$1"
}
# plugins_of CONFLIST: the binaries a conflist execs (types and IPAM types).
plugins_of() { jq -r '[.plugins[] | .type, (.ipam.type // empty)] | unique | .[]' "$1"; }
sizes_of() {
	local dir=$1 conf=$2 t sum=0
	for t in $(plugins_of "$conf"); do sum=$((sum + $(ssize "$dir/$t"))); done
	echo $sum
}

# ---- running ------------------------------------------------------------------------------------
META="$WORK/meta.jsonl"
: >"$META"
: >"$WORK/summary.jsonl"
: >"$WORK/samples.tsv"
SKIPPED=""

wanted() { [ -z "$ONLY" ] || [[ " $ONLY " == *" $1 "* ]]; }

# scenario NAME DESCRIPTION MODE COUNT IFNAME [SETUP-FUNCTION] [floor|floor-ip]: with floor, the
# kernel-floor (ip) and exec-floor rows run interleaved with the plugins; floor-ip only the first.
scenario() {
	local name=$1 desc=$2 mode=$3 count=$4 ifname=$5 setup=${6:-} floor=${7:-} t missing="" impls=()
	wanted "$name" || return 0
	conf_"${name//-/_}" "$WORK/data-$name-cnic" >"$WORK/$name-cnic.json"
	conf_"${name//-/_}" "$WORK/data-$name-ref" >"$WORK/$name-ref.json"
	for t in $(plugins_of "$WORK/$name-cnic.json"); do
		[ -x "$BIN/$t" ] || missing="$missing $t"
		[ -x "$REF/$t" ] || missing="$missing $LB:$t"
	done
	if [ -n "$missing" ]; then
		echo "skipped: $desc: no${missing} in ${SRCBIN#$TOP/}"
		SKIPPED="$SKIPPED $name"
		jq -cn --arg s "$name" --arg d "$desc" --arg w "no${missing} in ${SRCBIN#$TOP/}" \
			'{scenario:$s, desc:$d, status:"skipped", why:$w}' >>"$META"
		return 0
	fi
	local hc hr hf he
	mkhost hc "$name-c"
	mkhost hr "$name-r"
	if [ -n "$setup" ]; then "$setup" "$hc" && "$setup" "$hr" || { echo "bench: setup of $name failed" >&2; exit 1; }; fi
	impls=("label=$LA,host=$hc,bin=$BIN,conf=$WORK/$name-cnic.json,ifname=$ifname"
		"label=$LB,host=$hr,bin=$REF,conf=$WORK/$name-ref.json,ifname=$ifname")
	[ -n "$AB" ] && [ "$mode" = cycle ] && floor=""
	if [ -n "$floor" ]; then
		mkhost hf "$name-f"
		setup_floor "$hf" || { echo "bench: floor setup failed" >&2; exit 1; }
		impls+=("label=floor-ip,host=$hf,script=$WORK/floor-ip.script,ifname=$ifname")
	fi
	if [ "$floor" = floor ]; then
		mkhost he "$name-e"
		impls+=("label=floor-exec,host=$he,script=$WORK/floor-exec.script,ifname=$ifname")
	fi
	printf 'bench: %-46s %s x %d ... ' "$desc" "$mode" "$count"
	local t0=$SECONDS prof=()
	[ "$PROFILE" = 1 ] && [ "$mode" = cycle ] &&
		prof=(perf record -q -g -e cpu-clock -c "$PERIOD_NS" -o "$WORK/$name.perf" --)
	# At scale: samples on CLOCK_MONOTONIC and the driver's operation times, so that
	# bench/scaleprof.py can set the first operations' profile against the last ones'.
	[ "$PROFILE" = 1 ] && [ "$mode" = scale ] &&
		prof=(env CNIBENCH_OPTIMES="$WORK/$name.optimes" perf record -q -g -k CLOCK_MONOTONIC -e cpu-clock
			-c "$PERIOD_NS" -o "$WORK/$name.scaleperf" --)
	"${prof[@]}" "$OUT/cnibench" -s "$name" -m "$mode" -n "$count" -p "$STREAMS" ${HOLD:+-H "$HOLD"} -t "$TAG" -o "$WORK" "${impls[@]}" \
		2>"$WORK/$name.err" &
	DRIVER=$!
	wait "$DRIVER"
	local rc=$?
	DRIVER=""
	echo "$((SECONDS - t0)) s"
	if [ -s "$WORK/$name.err" ]; then sed 's/^/    /' "$WORK/$name.err" | head -40; fi
	[ "$rc" = 0 ] || { echo "bench: the driver failed on $name (exit $rc)" >&2; exit 1; }
	if [ -s "$WORK/$name.perf" ]; then
		perf script -i "$WORK/$name.perf" -F comm,pid,ip,sym,dso 2>/dev/null |
			awk -v scenario="$name" -v period_ms="$(awk -v p="$PERIOD_NS" 'BEGIN {print p / 1e6}')" \
				-v bin="$BIN" -v plugins="$(jq -r '[.plugins[].type] | join(" ")' "$WORK/$name-cnic.json")" \
				-f "$TOP/bench/split.awk" >>"$WORK/split.tsv"
		rm -f "$WORK/$name.perf"
	fi
	if [ -s "$WORK/$name.scaleperf" ]; then
		perf script -i "$WORK/$name.scaleperf" --ns -F comm,tid,time,ip,sym 2>/dev/null |
			python3 "$TOP/bench/scaleprof.py" "$WORK/$name.optimes" "$name" >"$OUT/scaleprof-$name.md" ||
			echo "bench: bench/scaleprof.py failed on $name" >&2
		rm -f "$WORK/$name.scaleperf"
	fi
	rmhosts
	# Let the kernel finish tearing down this scenario's namespaces (cleanup_net runs in a
	# worker) before the next one starts its clock.
	sleep 2
	jq -cn --arg s "$name" --arg d "$desc" --arg m "$mode" \
		--argjson pl "$(plugins_of "$WORK/$name-cnic.json" | jq -R . | jq -cs .)" \
		--argjson ch "$(jq -c '[.plugins[].type]' "$WORK/$name-cnic.json")" \
		--argjson sc "$(sizes_of "$BIN" "$WORK/$name-cnic.json")" \
		--argjson sr "$(sizes_of "$REF" "$WORK/$name-ref.json")" \
		'{scenario:$s, desc:$d, mode:$m, status:"ok", plugins:$pl, chain:$ch, size:{cnic:$sc, reference:$sr}}' >>"$META"
}

echo "bench: N=$N per scenario, $(nproc) CPUs, kernel $(uname -r); host-local dataDir in $WORK ($(df --output=fstype "$WORK" | tail -1))"
scenario loopback "loopback" cycle "$N" lo
scenario bridge "bridge + host-local (isGateway)" cycle "$N" eth0 "" floor
scenario bridge-masq "bridge + host-local + ipMasq" cycle "$N" eth0
scenario ptp "ptp + host-local" cycle "$N" eth0
scenario macvlan "macvlan + host-local" cycle "$N" eth0 setup_macvlan
scenario podman "podman chain: bridge+portmap+firewall+tuning" cycle "$N" eth0
run_scale() {
	[ "$SCALE" -gt 0 ] 2>/dev/null || return 0
	scenario scale "bridge + host-local on a /16, $SCALE live" scale "$SCALE" eth0 "" floor-ip
	# The meta plugins' rules grow with every container (masq_checks, hostports, the firewall's
	# containers chain): the podman chain at scale shows whether an ADD pays for them. A quarter
	# of BENCH_SCALE by default: the reference's chain costs ~70 ms per ADD and ~200 ms per DEL.
	CHAIN_SCALE=${BENCH_SCALE_CHAIN:-$((SCALE / 4))}
	conf_scale_podman() { conf_podman "$@"; }
	scenario scale-podman "podman chain, $CHAIN_SCALE live" scale "$CHAIN_SCALE" eth0
	conf_scale_masq() {
		printf '{"cniVersion":"1.0.0","name":"bench-scale-masq","plugins":[{"type":"bridge","bridge":"cni0","isGateway":true,"ipMasq":true,%s}]}' \
			"$(hl "$1" 10.88.0.0/16)"
	}
	scenario scale-masq "bridge + host-local + ipMasq on a /16, $SCALE live" scale "$SCALE" eth0
	# The bridge's ipv4OnlyNoLinkLocal (cnic only; the reference and an older cnic ignore the
	# key): IPv4-only container ends with no IPv6 link-local address, so nothing of theirs is
	# flooded to every port. Only when BENCH_ONLY names it.
	if [ -n "$ONLY" ] && wanted scale-noll; then
		conf_scale_noll() {
			printf '{"cniVersion":"1.0.0","name":"bench-scale-noll","plugins":[{"type":"bridge","bridge":"cni0","isGateway":true,"ipv4OnlyNoLinkLocal":true,%s}]}' \
				"$(hl "$1" 10.88.0.0/16)"
		}
		scenario scale-noll "bridge + host-local, ipv4OnlyNoLinkLocal, on a /16, $SCALE live" scale "$SCALE" eth0 "" floor-ip
	fi
	# The streams of the parallel scenario with BENCH_SCALE containers alive beside them (added
	# before, deleted after; cnibench -H), each ADD's address checked against the live ones.
	conf_parallel_scale() { conf_scale "$@"; }
	HOLD=$SCALE scenario parallel-scale "bridge + host-local on a /16, 1 vs $STREAMS streams, $SCALE live" parallel "$N" eth0
}
# scale_plot: build/bench/scale.png out of samples.tsv, $LA against $LB and the kernel floor.
scale_plot() {
	grep -q "^scale	" "$WORK/samples.tsv" || return 0
	awk -F'\t' -v l="$LA" '$1=="scale" && $4=="ADD" && $10==1 && $3==l {print $5+1, $6}' "$WORK/samples.tsv" >"$WORK/scale-c.dat"
	awk -F'\t' -v l="$LB" '$1=="scale" && $4=="ADD" && $10==1 && $3==l {print $5+1, $6}' "$WORK/samples.tsv" >"$WORK/scale-r.dat"
	awk -F'\t' '$1=="scale" && $4=="ADD" && $10==1 && $3=="floor-ip" {print $5+1, $6}' "$WORK/samples.tsv" >"$WORK/scale-f.dat"
	gnuplot <<EOF 2>"$WORK/gnuplot.err" || { echo "bench: gnuplot failed:" >&2; cat "$WORK/gnuplot.err" >&2; }
set terminal pngcairo size 1000,550 font ",10"
set output "$OUT/scale.png"
set title "bridge + host-local ADD latency against live allocations (/16)"
set xlabel "ADD number (live allocations + 1)"
set ylabel "ms"
set grid
set key left top
set yrange [0:*]
plot "$WORK/scale-c.dat" using 1:2 with points pt 7 ps 0.35 lc rgb "#2a7ab0" title "$LA", \
     "$WORK/scale-r.dat" using 1:2 with points pt 7 ps 0.35 lc rgb "#c0504d" title "$LB", \
     "$WORK/scale-f.dat" using 1:2 with points pt 7 ps 0.35 lc rgb "#999999" title "kernel floor (ip)", \
     "$WORK/scale-c.dat" using 1:2 smooth bezier lw 2 lc rgb "#104060" title "$LA (smoothed)", \
     "$WORK/scale-r.dat" using 1:2 smooth bezier lw 2 lc rgb "#702020" title "$LB (smoothed)", \
     "$WORK/scale-f.dat" using 1:2 smooth bezier lw 2 lc rgb "#555555" title "kernel floor (smoothed)"
EOF
}
if [ -n "$AB" ]; then
	run_scale
	# Per-operation samples only: the throughput and scale modes have no pairs to compare.
	cp "$WORK/samples.tsv" "$OUT/samples.tsv"
	{
		echo "# A/B: $(git -C "$TOP" rev-parse --short "$AB_COMMIT") (old) against this tree (new)"
		echo
		echo "new = $(git -C "$TOP" describe --always --dirty 2>/dev/null) (build/bin), old = $AB ($AB_COMMIT);" \
			"N=$N cycles per scenario, old and new interleaved in one cnibench run per scenario" \
			"(the order flips every iteration); $(nproc) CPUs, load average at the end" \
			"$(cut -d' ' -f1-3 /proc/loadavg); $(date -u +%Y-%m-%dT%H:%MZ)."
		echo
		echo "## Latency"
		echo
		python3 "$TOP/bench/ab.py" "$OUT/samples.tsv" old new
		echo "## Installed size (stripped, as \`make install\`)"
		echo
		sh "$TOP/bench/size.sh" "$REF" "$BIN"
		if grep -q "^scale" "$WORK/samples.tsv"; then
			echo
			echo "## Scale (BENCH_SCALE=$SCALE): the fewest live allocations against the most"
			echo
			python3 "$TOP/bench/scaletab.py" "$WORK/samples.tsv"
		fi
	} >"$OUT/ab.md"
	scale_plot
	echo
	cat "$OUT/ab.md"
	echo
	echo "bench: wrote ${OUT#$TOP/}/ab.md, samples.tsv"
	grep -q '^FAIL' "$OUT/ab.md" && exit 1
	exit 0
fi
if wanted parallel; then
	conf_parallel() { conf_bridge "$@"; }
	scenario parallel "bridge + host-local, 1 vs $STREAMS streams" parallel "$N" eth0
fi
run_scale
cp "$WORK/samples.tsv" "$OUT/samples.tsv"
if [ -s "$WORK/split.tsv" ]; then
	cp "$WORK/split.tsv" "$OUT/split.tsv"
	awk -F'\t' -v n="$N" -v period="$PERIOD_NS" '
		BEGIN {
			split("k_ct k_nft k_rtnl k_sysctl k_proc k_other u_cpuid u_ld u_libc u_own", cats, " ")
			print "## Where cnic'"'"'s time goes (perf, cpu-clock every " period / 1000 " us, N=" n ")\n"
			print "ms per operation; perf itself slows every process a little, so read the shares. Kernel: the"
			print "conntrack table walk a netns'"'"'s first NAT user triggers, nf_tables, rtnetlink, /proc/sys,"
			print "exec + page faults + exit, the rest. User space: glibc'"'"'s CPU feature and cache probing (CPUID"
			print "instructions, each a VM exit on a VM), the rest of ld.so, libc, the plugin with its libraries.\n"
			print "| scenario | plugin | op | total | k: conntrack walk | k: nf_tables | k: rtnetlink | k: /proc/sys | k: exec, memory, exit | k: other | u: CPU probing | u: ld.so | u: libc | u: plugin + libs |"
			print "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
		}
		{ key = $1 "|" $2 "|" $3; if (!(key in seen)) { seen[key] = ++nk; keys[nk] = key } v[key, $5] = $6; tot[key] += $6 }
		END {
			for (i = 1; i <= nk; i++) {
				k = keys[i]; split(k, f, "|")
				line = sprintf("| %s | %s | %s | %.2f", f[1], f[2], f[3], tot[k])
				for (c = 1; c <= 10; c++) line = line sprintf(" | %.2f", v[k, cats[c]])
				print line " |"
			}
		}' "$WORK/split.tsv" >"$OUT/split.md"
fi
# What dnsname's port 53 rewrite adds to a dnsname ADD (issue 16: at most 0.3 ms): the nftables
# batch of nu_nft_dnsport_add() in a fresh netns, timed in-process (bench/dnsport.c).
if wanted dnsport; then
	if ${CC:-cc} $CFLAGS_B -I "$TOP/pkg" -I "$BUILD/gen" -o "$OUT/dnsport" "$TOP/bench/dnsport.c" \
		"$BUILD/obj/plugins/meta/dnsname/nft.o" "$BUILD/libnft.a" "$BUILD/libnetutil.a" "$BUILD/libcni.a" \
		$(pkg-config --libs libnftnl libmnl jansson) -lmd &&
		"$OUT/dnsport" "$N" >"$WORK/dnsport.json"; then
		echo "bench: dnsname port 53 rewrite: $(jq -c . "$WORK/dnsport.json")"
	else
		echo "bench: bench/dnsport.c failed" >&2
	fi
fi
# dnsname's resolver against dnsmasq and aardvark-dns (bench/dns.sh, its own report build/bench/
# dns.{md,json}): only when BENCH_ONLY names it, the full run takes about 3 minutes.
if [ -n "$ONLY" ] && wanted dns; then
	BUILD=$BUILD bash "$TOP/bench/dns.sh" || echo "bench: bench/dns.sh failed" >&2
fi

# ---- sizes of everything ------------------------------------------------------------------------
all_sizes() {
	local dir=$1 f sum=0 raw=0 n=0
	for f in "$dir"/*; do
		[ -f "$f" ] && [ -x "$f" ] || continue
		sum=$((sum + $(ssize "$f")))
		raw=$((raw + $(stat -c %s "$f")))
		n=$((n + 1))
	done
	echo "{\"count\":$n,\"stripped\":$sum,\"raw\":$raw}"
}
# Shared libraries our plugins need beyond libc (the Go plugins need only libc).
libs_bytes=0
libs_names=""
for l in $(for f in "$BIN"/*; do ldd "$f" 2>/dev/null; done | awk '$3 ~ /^\// {print $3}' | sort -u); do
	case "$(basename "$l")" in libc.so* | ld-linux* | libm.so* | libpthread* | libdl*) continue ;; esac
	libs_bytes=$((libs_bytes + $(stat -L -c %s "$l")))
	libs_names="$libs_names $(basename "$l")"
done
jq -n --argjson c "$(all_sizes "$BIN")" --argjson r "$(all_sizes "$REF")" \
	--argjson lb "$libs_bytes" --arg ln "${libs_names# }" \
	'{cnic:$c, reference:$r, cnic_shared_libs:{bytes:$lb, names:($ln | split(" "))}}' >"$WORK/sizes.json"

jq -n --arg n "$N" --arg scale "$SCALE" --arg streams "$STREAMS" --arg cpus "$(nproc)" \
	--arg kernel "$(uname -r)" --arg cpu "$(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)" \
	--arg refv "$(dpkg-query -W -f='${Version}' containernetworking-plugins 2>/dev/null)" \
	--arg datadir "$(df --output=fstype "$WORK" | tail -1) ($(dirname "$WORK"))" \
	--arg date "$(date -u +%Y-%m-%dT%H:%M:%SZ)" --arg commit "$(git -C "$TOP" rev-parse --short HEAD 2>/dev/null)" \
	'{n:($n|tonumber), scale:($scale|tonumber), streams:($streams|tonumber), cpus:($cpus|tonumber),
	  kernel:$kernel, cpu:$cpu, reference_version:$refv, date:$date, commit:$commit,
	  datadir:$datadir}' >"$WORK/env.json"

# ---- results.json, results.md, plots ------------------------------------------------------------
jq -n --slurpfile meta "$META" --slurpfile sum "$WORK/summary.jsonl" --slurpfile sizes "$WORK/sizes.json" \
	--slurpfile env "$WORK/env.json" -f "$TOP/bench/report.jq" >"$OUT/results.json" ||
	{ echo "bench: report failed" >&2; exit 1; }
jq -r -f "$TOP/bench/markdown.jq" "$OUT/results.json" >"$OUT/results.md" || { echo "bench: markdown failed" >&2; exit 1; }

jq -r '.scenarios[] | select(.status == "ok" and .mode == "cycle" and .cnic.add.median_ms != null) |
	"\"\(.desc)\" \(.cnic.add.median_ms) \(.reference.add.median_ms)"' "$OUT/results.json" >"$WORK/latency.dat"
if [ -s "$WORK/latency.dat" ]; then
	gnuplot <<EOF 2>"$WORK/gnuplot.err" || { echo "bench: gnuplot failed:" >&2; cat "$WORK/gnuplot.err" >&2; }
set terminal pngcairo size 1100,600 font ",10"
set output "$OUT/latency.png"
set title "CNI ADD latency, median of $N (lower is better) - $(nproc) CPUs"
set ylabel "ms"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set xtics rotate by -20 noenhanced
set bmargin 7
set rmargin 12
set key left top
set grid ytics
set yrange [0:*]
plot "$WORK/latency.dat" using 2:xtic(1) title "cnic" lc rgb "#2a7ab0", \
     "" using 3 title "reference 1.1.1 (Go)" lc rgb "#c0504d"
EOF
fi
scale_plot

if [ -s "$WORK/dnsport.json" ]; then
	jq -r '"\nThe dnsname plugin'"'"'s port 53 rewrite (nu_nft_dnsport_add(), one nftables batch in a fresh container netns, n=\(.n)): median \(.wall_ms.median) ms wall (p10 \(.wall_ms.p10), p90 \(.wall_ms.p90)), \(.cpu_ms) ms CPU; budget 0.3 ms per dnsname ADD."' \
		"$WORK/dnsport.json" >>"$OUT/results.md"
fi
echo
cat "$OUT/results.md"
echo
echo "bench: wrote ${OUT#$TOP/}/results.md, results.json, samples.tsv, latency.png$([ "$SCALE" -gt 0 ] 2>/dev/null && echo ', scale.png')"
