# SPDX-License-Identifier: Apache-2.0
# Renders build/bench/results.json as build/bench/results.md (jq -r).

def fixed(d):
  if . == null then "–"
  else
    (. * pow(10; d) | round) as $i
    | ($i | if . < 0 then -. else . end | tostring) as $s
    | (if ($s | length) <= d then ("0" * (d + 1 - ($s | length))) + $s else $s end) as $p
    | (if $i < 0 then "-" else "" end) + $p[0:($p | length) - d]
      + (if d > 0 then "." + $p[($p | length) - d:] else "" end)
  end;
def ms: if . == null then "–" else (if . < 10 then fixed(2) elif . < 100 then fixed(1) else fixed(0) end) + " ms" end;
def x: if . == null then "–" else (if . < 0.1 then fixed(3) else fixed(2) end) + "×" end;
def mb: if . == null then "–" else (. / 1000 | fixed(1)) + " MB" end;     # from kB
def kb: if . == null then "–" else (. / 1000 | round | tostring) + " kB" end; # from bytes
def rss: if . == null then null else [.add.rss_kb, .del.rss_kb] | map(select(. != null)) | max end;
def errs: if . == null then "" else ((.add.errors // 0) + (.del.errors // 0)) as $n
  | if $n > 0 then " (**\($n) failed**)" else "" end end;

def row(name; impl; r; size):
  "| \(name) | \(impl)\(r | errs) | \(r.add.median_ms | ms) | \(r.add.p99_ms | ms) | \(r.del.median_ms | ms) | \(r.del.p99_ms | ms) | \(r.add.cpu_ms | ms) | \(r.del.cpu_ms | ms) | \(r | rss | mb) | \(size) |";

.environment as $e
| "### cnic vs the reference plugins (`make bench`)",
  "",
  "\($e.n) ADD/DEL cycles per scenario, each ADD in a fresh container netns, cnic and the reference interleaved exec by exec, each in its own private host netns. Machine: \($e.cpus) CPUs (\($e.cpu)), kernel \($e.kernel). Reference: Debian containernetworking-plugins \($e.reference_version) (Go). host-local dataDir on \($e.datadir). Commit \($e.commit // "?"), \($e.date). Ratios are cnic / reference: below 1× is better for cnic.",
  "",
  "| scenario | implementation | ADD p50 | ADD p99 | DEL p50 | DEL p99 | CPU/ADD | CPU/DEL | peak RSS | size |",
  "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
  (.scenarios[] | select(.status == "ok" and .mode == "cycle") |
    row(.desc; "cnic"; .cnic; (.size.cnic | kb)),
    row(""; "reference"; .reference; (.size.reference | kb)),
    "| | **cnic / ref** | **\(.ratio.add_median | x)** | \(.ratio.add_p99 | x) | **\(.ratio.del_median | x)** | \(.ratio.del_p99 | x) | \(.ratio.cpu_add | x) | \(.ratio.cpu_del | x) | \(.ratio.rss | x) | \(.ratio.size | x) |",
    (if .floor_ip then
       row("↳ kernel floor: the same veth work by `ip` (5 execs), DEL `ip link del`"; "ip"; .floor_ip; "–"),
       (if .floor_exec then row("↳ exec floor: one static no-op binary"; "no-op"; .floor_exec; "–") else empty end)
     else empty end)),
  "",
  (.scenarios[] | select(.status == "ok" and .mode == "cycle" and ((.chain // []) | length) > 1) |
    "| \(.desc): ADD p50 per plugin | \(.chain | join(" | ")) |",
    "|---|\(.chain | map("---:") | join("|"))|",
    "| cnic | \(.cnic.add.step_median_ms | map(ms) | join(" | ")) |",
    "| reference | \(.reference.add.step_median_ms | map(ms) | join(" | ")) |",
    ""),
  (.scenarios[] | select(.status == "ok" and .mode == "parallel") |
    "| throughput: \(.desc) | 1 stream | \($e.streams) streams | \($e.streams) / 1 |",
    "|---|---:|---:|---:|",
    "| cnic\(.cnic | errs) | \(.cnic.throughput.seq_ops_s | fixed(1)) cycles/s | \(.cnic.throughput.par_ops_s | fixed(1)) cycles/s | \(.cnic.throughput.ratio | x) |",
    "| reference\(.reference | errs) | \(.reference.throughput.seq_ops_s | fixed(1)) cycles/s | \(.reference.throughput.par_ops_s | fixed(1)) cycles/s | \(.reference.throughput.ratio | x) |",
    "| cnic / ref | \(.ratio.throughput_1 | x) | \(.ratio.throughput_n | x) | |",
    (if (.cnic.throughput.live // 0) > 0 then "| | \(.cnic.throughput.live) live during the streams; addresses given twice at once: cnic \(.cnic.throughput.duplicates), reference \(.reference.throughput.duplicates) | | |" else empty end),
    ""),
  (.scenarios[] | select(.status == "ok" and .mode == "scale") |
    "| \(.desc) | ADD p50, first \(.cnic.scale.window) | ADD p50, last \(.cnic.scale.window) | last / first | DEL p50, all live | DEL p50, last ones | all / last |",
    "|---|---:|---:|---:|---:|---:|---:|",
    (("cnic", "reference", "floor_ip") as $i | .[$i] as $r | select($r != null)
     | "| \({cnic: "cnic", reference: "reference", floor_ip: "kernel floor (`ip`)"}[$i])\($r | errs) | \($r.scale.first_median_ms | ms) | \($r.scale.last_median_ms | ms) | \($r.scale.ratio | x) | \($r.scale.del_full_median_ms | ms) | \($r.scale.del_one_median_ms | ms) | \($r.scale.del_ratio | x) |"),
    (if ((.chain // []) | length) > 1 then
       (.chain) as $c
       | ("cnic", "reference") as $i
       | .[$i].scale as $s
       | "| ↳ \($i) per plugin | \([range($c | length)] | map("\($c[.]) \($s.first_steps_ms[.] | ms)") | join(", ")) | \([range($c | length)] | map("\($s.last_steps_ms[.] | ms)") | join(", ")) | | |"
     else empty end),
    ""),
  "| installed size (stripped) | cnic | reference | cnic / ref |",
  "|---|---:|---:|---:|",
  "| all plugins | \(.sizes.cnic.stripped | kb) (\(.sizes.cnic.count) binaries) | \(.sizes.reference.stripped | kb) (\(.sizes.reference.count) binaries) | \(.sizes.ratio | x) |",
  "",
  "cnic's binaries as built (with debug info) take \(.sizes.cnic.raw | kb); they also load shared libraries the Go plugins do not need (\(.sizes.cnic_shared_libs.names | join(", ")): \(.sizes.cnic_shared_libs.bytes | kb), usually already on a host). Peak RSS is the child's ru_maxrss, which covers the descendants it waited for (IPAM delegate, iptables), and counts shared library pages touched.",
  "",
  (.scenarios[] | select(.status == "skipped") | "- skipped: \(.desc): \(.why)"),
  "",
  "Targets (issues 8 and 20):",
  "",
  (.targets[] | "- \(.status) \(.target): \(.shown) (target \(.goal))")
