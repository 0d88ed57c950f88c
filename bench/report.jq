# SPDX-License-Identifier: Apache-2.0
# Builds build/bench/results.json from the driver's summaries ($sum), run.sh's scenario metadata
# ($meta), the installed sizes ($sizes) and the environment ($env); evaluates the targets of
# issues 8 and 20. Ratios are cnic / reference (below 1: cnic is faster, smaller or lighter).

def ratio(a; b): if a == null or b == null or b == 0 then null else a / b end;
def find(s; i): [$sum[] | select(.scenario == s and .impl == i)] | .[0];
def rss: if . == null then null else [.add.rss_kb, .del.rss_kb] | map(select(. != null)) | max end;
def errors: if . == null then 0 else (.add.errors // 0) + (.del.errors // 0) end;

def with_results:
  if .status != "ok" then .
  else
    . as $m
    | find($m.scenario; "cnic") as $c
    | find($m.scenario; "reference") as $r
    | . + {cnic: $c, reference: $r}
    | if find($m.scenario; "floor-ip") then
        . + {floor_ip: find($m.scenario; "floor-ip"), floor_exec: find($m.scenario; "floor-exec")}
      else . end
    | . + {ratio: {
        add_median: ratio($c.add.median_ms; $r.add.median_ms),
        add_p99: ratio($c.add.p99_ms; $r.add.p99_ms),
        del_median: ratio($c.del.median_ms; $r.del.median_ms),
        del_p99: ratio($c.del.p99_ms; $r.del.p99_ms),
        cpu_add: ratio($c.add.cpu_ms; $r.add.cpu_ms),
        cpu_del: ratio($c.del.cpu_ms; $r.del.cpu_ms),
        rss: ratio($c | rss; $r | rss),
        size: ratio($m.size.cnic; $m.size.reference),
        throughput_1: ratio($c.throughput.seq_ops_s; $r.throughput.seq_ops_s),
        throughput_n: ratio($c.throughput.par_ops_s; $r.throughput.par_ops_s)
      }}
  end;

def target(name; goal; value; pass; shown):
  {target: name, goal: goal, value: value, shown: shown,
   status: (if value == null then "SKIP" elif pass then "PASS" else "MISS" end)};

def get(s): [.[] | select(.scenario == s and .status == "ok")] | .[0];

# A ratio target: value v (null: why), pass when v <= max (or >= min with ge).
def at_most(what; v; max; why):
  if v == null then target(what; "≤ \(max)×"; null; false; why)
  else target(what; "≤ \(max)×"; v; v <= max; "\(v * 100 | round / 100)×") end;

# Issue 20's scale targets: growth from 1 to N live containers, and DEL against `ip link del`.
def scale_targets($sc; $e):
  ($sc | get("scale")) as $s
  | ($sc | get("scale-masq")) as $m
  | ($sc | get("scale-podman")) as $p
  | ($sc | get("parallel-scale")) as $q
  | ($sc | get("bridge")) as $b
  | "scale mode off or skipped (make bench BENCH_SCALE=1000)" as $off
  | at_most("bridge + host-local ADD at \($e.scale) live within 1.5× of ADD at 1"; $s.cnic.scale.ratio; 1.5; $off),
    (if $s == null or $s.floor_ip == null then target("bridge ADD growth no larger than the `ip` floor's"; "≤ floor"; null; false; $off)
     else ($s.cnic.scale.last_median_ms - $s.cnic.scale.first_median_ms) as $g
     | ($s.floor_ip.scale.last_median_ms - $s.floor_ip.scale.first_median_ms) as $f
     | target("bridge ADD growth from 1 to \($e.scale) live no larger than the `ip` floor's"; "≤ \($f * 100 | round / 100) ms";
              $g; $g <= $f; "\($g * 100 | round / 100) ms") end),
    at_most("bridge + host-local DEL at \($e.scale) live within 1.5× of DEL at 1"; $s.cnic.scale.del_ratio; 1.5; $off),
    (if $s == null or $s.floor_ip == null then target("bridge DEL growth no larger than the `ip` floor's"; "≤ floor"; null; false; $off)
     else ($s.cnic.scale.del_full_median_ms - $s.cnic.scale.del_one_median_ms) as $g
     | ($s.floor_ip.scale.del_full_median_ms - $s.floor_ip.scale.del_one_median_ms) as $f
     | target("bridge DEL growth from 1 to \($e.scale) live no larger than the `ip` floor's"; "≤ \($f * 100 | round / 100) ms";
              $g; $g <= $f; "\($g * 100 | round / 100) ms") end),
    at_most("podman chain ADD at \($p.cnic.n // "N/4") live within 1.3× of the first"; $p.cnic.scale.ratio; 1.3; $off),
    at_most("bridge + ipMasq ADD at \($e.scale) live within 1.5× of the first"; $m.cnic.scale.ratio; 1.5; $off),
    (if $q == null then target("\($e.streams) streams at \($e.scale) live ≥ 3× one stream, no duplicate address"; "≥ 3×"; null; false; $off)
     else ($q.cnic.throughput.ratio) as $v | ($q.cnic.throughput.duplicates) as $d
     | target("\($e.streams) streams at \($q.cnic.throughput.live) live ≥ 3× one stream, no duplicate address"; "≥ 3×, 0 duplicates";
              $v; $v >= 3 and $d == 0; "\($v * 100 | round / 100)×, \($d) duplicates") end),
    (("bridge", "ptp", "macvlan") as $n
     | ($sc | get($n)) as $x
     | at_most("\($n) DEL (median) ≤ 1/3 of `ip link del` (the bridge row's kernel floor)";
               (if $x == null or $b.floor_ip == null then null else ratio($x.cnic.del.median_ms; $b.floor_ip.del.median_ms) end);
               0.33; "no \($n) row or no kernel floor"));

# A speed-up target on scenario s: reference / cnic of field f (ADD median, DEL CPU...).
def speedup($sc; s; what; f; min):
  ([$sc[] | select(.scenario == s)] | .[0]) as $x
  | if $x == null then
      target(what; "≥ \(min)×"; null; false; "not run")
    elif $x.status != "ok" then
      target(what; "≥ \(min)×"; null; false; "skipped: \($x.why)")
    elif ($x.cnic | errors) > 0 then
      {target: what, goal: "≥ \(min)×", value: null, status: "MISS",
       shown: "cnic failed \($x.cnic | errors) operations"}
    else
      (ratio($x.reference | f; $x.cnic | f)) as $v
      | target(what; "≥ \(min)×"; $v; $v >= min; "\($v * 100 | round / 100)×")
    end;

($env[0]) as $e
| ($sizes[0]) as $z
| [$meta[] | with_results] as $sc
| ([$sc[] | select(.scenario == "scale")] | .[0]) as $scale
| ([$sc[] | select(.scenario == "parallel")] | .[0]) as $par
| ([$sc[] | select(.status == "ok" and .cnic != null and .reference != null
       and .mode == "cycle" and .ratio.rss != null)]
   | max_by(.ratio.rss)) as $worst_rss
| {
  environment: $e,
  scenarios: $sc,
  sizes: ($z + {ratio: ratio($z.cnic.stripped; $z.reference.stripped)}),
  targets: [
    speedup($sc; "bridge"; "bridge + host-local ADD (median) faster than the reference"; .add.median_ms; 3),
    speedup($sc; "bridge-masq"; "bridge + host-local + ipMasq ADD (median) faster than the reference"; .add.median_ms; 10),
    speedup($sc; "podman"; "podman chain ADD (median) faster than the reference"; .add.median_ms; 10),
    speedup($sc; "bridge"; "bridge + host-local DEL uses less CPU than the reference"; .del.cpu_ms; 4),
    (if $scale == null then
       target("ADD #1000 within 1.2× of ADD #1 (scale mode)"; "≤ 1.2×"; null; false;
              "scale mode off (make bench BENCH_SCALE=1000)")
     elif $scale.status != "ok" then
       target("ADD at scale within 1.2× of ADD #1"; "≤ 1.2×"; null; false; "skipped: \($scale.why)")
     else
       ($scale.cnic.scale.ratio) as $v
       | target("ADD #\($e.scale) within 1.2× of ADD #1 (medians of the first and last \($scale.cnic.scale.window))";
                "≤ 1.2×"; $v; $v <= 1.2; "\($v * 100 | round / 100)×")
     end),
    (if $par == null or $par.status != "ok" then
       target("\($e.streams) parallel streams vs one (throughput)"; "≥ 1.5×"; null; false; "not run")
     else
       ($par.cnic.throughput.ratio) as $v
       | target("\($e.streams) parallel streams vs one (bridge + host-local throughput)"; "≥ 1.5×";
                $v; $v >= 1.5; "\($v * 100 | round / 100)×")
     end),
    scale_targets($sc; $e),
    (if $worst_rss == null then
       target("peak RSS ≤ 1/5 of the reference's"; "≤ 0.2×"; null; false; "no scenario ran")
     else
       ($worst_rss.ratio.rss) as $v
       | target("peak RSS ≤ 1/5 of the reference's (worst scenario: \($worst_rss.desc))"; "≤ 0.2×";
                $v; $v <= 0.2; "\($v * 100 | round / 100)×")
     end),
    ($z.cnic.stripped) as $b
    | target("all cnic plugins together ≤ 2 MB installed (stripped, \($z.cnic.count) binaries)";
             "≤ 2,000,000 B"; $b; $b <= 2000000; "\($b / 1000 | round) kB")
  ]
}
