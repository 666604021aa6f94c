#!/usr/bin/env bash
# The guest half of benchmarks/rdmalat/run (see there). Runs as root in the lab VM.
source "$LAB_REPO/Tests/lab/suites/rdmalat/_pair.sh"
TESTS=${BENCH_TESTS:-send write read}
SIZES=${BENCH_SIZES:-2 4096 65536}
ITERS=${BENCH_ITERS:-200}
ROUNDS=${BENCH_ROUNDS:-10}
# ours: rdma-lat (busy polling); events: rdma-lat --events (not for write);
# perftest: ib_<test>_lat -F (busy polling); perftest-again: the same once more,
# an A/A control that shows how far two runs of one tool drift apart here.
#
# Both run the same configuration, as perftest actually applies it on rxe:
# - GID index 1 (the RoCE v2 IPv4 GID), given explicitly to both (-x 1);
# - no warm-up: perftest's latency tests time every iteration, so rdma-lat runs
#   with --warmup 0 (its default of 16 untimed iterations would drop the cold
#   first round trips that perftest keeps in t_max and 99.9%);
# - no inline data: perftest says "Device not recognized to implement inline
#   feature. Disabling it" for rxe and reports Max inline data 0, so rdma-lat
#   gets -I 0 (its default would be perftest's nominal 236/220);
# - -F for both (rdma-lat accepts and ignores it: it reads CLOCK_MONOTONIC_RAW);
# - RC, TCP side channel on port 18515, busy polling, the port's MTU.
# Each row records the GID index, inline size and MTU each tool reported.
TOOLS=${BENCH_TOOLS:-ours perftest}
OUT=${BENCH_OUT:-$LAB_OUT}
mkdir -p "$OUT"
results=$OUT/results.tsv
printf 'round\ttest\tbytes\ttool\tt_typical\tp99_9\tseconds\tgid\tinline\tmtu\tmhz_note\n' >"$results"

rdmalat_setup
lab_log "guest: kernel $(uname -r), $(nproc) vCPUs, clocksource $(cat /sys/devices/system/clocksource/clocksource0/current_clocksource)"

# bench_one TOOL TEST SIZE ROUND: one server/client pair; appends the client's row.
bench_one() {
  local tool=$1 test=$2 size=$3 round=$4 server client_rc=0 server_rc=0 start row
  local log=$OUT/r$round-$test-$size-$tool
  local -a server_cmd client_cmd
  # --events does not apply to write (ib_write_lat has no -e either).
  if [ "$tool" = events ] && [ "$test" = write ]; then return 0; fi
  if [ "$tool" != perftest ] && [ "$tool" != perftest-again ]; then
    local -a extra=()
    [ "$tool" = events ] && extra=(--events)
    server_cmd=("$RDMALAT" "$test" -d rxe1 -x 1 -F -I 0 --warmup 0 -s "$size" -n "$ITERS" "${extra[@]}" --listen-timeout 120)
    client_cmd=("$RDMALAT" "$test" -d rxe0 -x 1 -F -I 0 --warmup 0 -s "$size" -n "$ITERS" "${extra[@]}" 10.56.0.2)
  else
    server_cmd=("ib_${test}_lat" -d rxe1 -x 1 -F -s "$size" -n "$ITERS")
    client_cmd=("ib_${test}_lat" -d rxe0 -x 1 -F -s "$size" -n "$ITERS" 10.56.0.2)
  fi
  "${server_cmd[@]}" >"$log.server" 2>&1 &
  server=$!
  # perftest's client does not retry: wait for the server's side channel first (both tools, alike).
  lab_wait_until 60 lab_tcp_listening 18515 || lab_fail "$tool $test $size: server not listening: $(cat "$log.server")"
  start=$(lab_now_ms)
  timeout 600 "${client_cmd[@]}" >"$log.client" 2>&1 || client_rc=$?
  wait "$server" || server_rc=$?
  [ "$client_rc" = 0 ] && [ "$server_rc" = 0 ] \
    || lab_fail "$tool $test $size round $round: client $client_rc, server $server_rc: $(tail -n 5 "$log.client") / $(tail -n 5 "$log.server")"
  row=$(rdmalat_rows "$log.client" | tail -n 1)
  [ -n "$row" ] || lab_fail "$tool $test $size: no result row in $log.client"
  # What each tool says it ran with (the header lines differ in spacing only).
  local gid inline mtu note
  gid=$(sed -n 's/^ *GID index *: *\([0-9]*\).*/\1/p' "$log.client" | head -n 1)
  inline=$(sed -n 's/.*Max inline data *: *\([0-9]*\).*/\1/p' "$log.client" | head -n 1)
  mtu=$(sed -n 's/^ *Mtu *: *\([0-9]*\).*/\1/p' "$log.client" | head -n 1)
  # perftest converts cycles with a sampled frequency; under TCG the sampling
  # can fail (r^2 < 0.9: the row reads inf) or differ from /proc/cpuinfo.
  note=$(grep -c -E 'Correlation coefficient|timestamp frequency|Conflicting CPU' "$log.client" || true)
  # Columns: bytes iterations t_min t_max t_typical t_avg t_stdev 99% 99.9%
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$round" "$test" "$size" "$tool" \
    "$(awk '{print $5}' <<<"$row")" "$(awk '{print $9}' <<<"$row")" "$(( ($(lab_now_ms) - start) / 1000 ))" \
    "${gid:-?}" "${inline:-?}" "${mtu:-?}" "$note" >>"$results"
  printf '  round %s %-5s %7s B %-8s t_typical %10s us  99.9%% %10s us\n' "$round" "$test" "$size" "$tool" \
    "$(awk '{print $5}' <<<"$row")" "$(awk '{print $9}' <<<"$row")"
}

for ((round = 1; round <= ROUNDS; round++)); do
  # Rotate who goes first, so that a drift in the VM favours none.
  read -r -a tools <<<"$TOOLS"
  shift_by=$(( (round - 1) % ${#tools[@]} ))
  order="${tools[*]:shift_by} ${tools[*]:0:shift_by}"
  for test in $TESTS; do
    for size in $SIZES; do
      for tool in $order; do bench_one "$tool" "$test" "$size" "$round"; done
    done
  done
done

"$LAB_PYTHON" -S - "$results" <<'PY'
import csv, math, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
# A row perftest could not convert (its frequency sampling failed: inf) is no
# measurement; that round's pair is left out of both medians and counted.
bad = [r for r in rows if not (math.isfinite(float(r["t_typical"])) and math.isfinite(float(r["p99_9"])))]
rows = [r for r in rows if r not in bad]
keys = []
for r in rows:
    k = (r["test"], int(r["bytes"]))
    if k not in keys: keys.append(k)
rounds = sorted({int(r["round"]) for r in rows})
def value(test, size, tool, col, rnd):
    for r in rows:
        if r["test"] == test and int(r["bytes"]) == size and r["tool"] == tool and int(r["round"]) == rnd:
            return float(r[col])
    return None
print()
for tool in sorted({r["tool"] for r in rows}):
    configs = sorted({(r["test"], r["gid"], r["inline"], r["mtu"]) for r in rows if r["tool"] == tool})
    print("%-8s ran with (test, GID index, max inline, MTU): %s" % (tool, ", ".join("/".join(c) for c in configs)))
notes = sum(int(r["mhz_note"] or 0) for r in rows + bad if r["tool"].startswith("perftest"))
print("perftest frequency-sampling warnings: %d; rows left out (inf): %s" % (
    notes, ", ".join("r%s %s %s %s" % (r["round"], r["test"], r["bytes"], r["tool"]) for r in bad) or "none"))
print()
print("client side, usec, %d rounds; ratio = tool / perftest:" % len(rounds))
print("  'of medians' divides the medians over rounds; 'paired' is the median of the per-round ratios;")
print("  'lower' counts the rounds in which the first tool's figure was below perftest's")
variants = [t for t in ("ours", "events", "perftest-again") if any(r["tool"] == t for r in rows)]
names = {"ours": "rdma-lat", "events": "rdma-lat --events", "perftest-again": "perftest (A/A control: perftest again)"}
for v in variants:
    print()
    print("%s vs perftest" % names[v])
    print("%-6s %8s | %10s %10s %8s %8s %6s | %10s %10s %8s %8s %6s" % ("test", "bytes", "t_typical", "perftest", "of med.",
                                                                        "paired", "lower", "99.9%", "perftest", "of med.",
                                                                        "paired", "lower"))
    worst = {"t_typical": [0, 0], "p99_9": [0, 0]}
    every = {"t_typical": [], "p99_9": []}
    for test, size in keys:
        line = "%-6s %8d" % (test, size)
        for col in ("t_typical", "p99_9"):
            pairs = [(value(test, size, v, col, n), value(test, size, "perftest", col, n)) for n in rounds]
            pairs = [(a, b) for a, b in pairs if a is not None and b is not None]
            if not pairs:
                line += " | %10s %10s %8s %8s %6s" % ("-", "-", "-", "-", "-")
                continue
            every[col] += pairs
            ours, theirs = statistics.median(a for a, _ in pairs), statistics.median(b for _, b in pairs)
            paired = statistics.median(a / b for a, b in pairs)
            worst[col] = [max(worst[col][0], ours / theirs), max(worst[col][1], paired)]
            lower = "%d/%d" % (sum(1 for a, b in pairs if a < b), len(pairs))
            line += " | %10.2f %10.2f %8.3f %8.3f %6s" % (ours, theirs, ours / theirs, paired, lower)
        print(line)
    print("worst ratio of medians: t_typical %.3f (target <= 1.00), 99.9%% %.3f (target <= 1.05)"
          % (worst["t_typical"][0], worst["p99_9"][0]))
    print("worst paired ratio:     t_typical %.3f, 99.9%% %.3f" % (worst["t_typical"][1], worst["p99_9"][1]))
    for col, name in (("t_typical", "t_typical"), ("p99_9", "99.9%")):
        pairs = every[col]
        if pairs:
            mean = math.exp(statistics.fmean(math.log(a / b) for a, b in pairs))
            print("all tests and sizes, %-9s: geometric mean of the per-round ratios %.3f; %s lower in %d of %d"
                  % (name, mean, v, sum(1 for a, b in pairs if a < b), len(pairs)))
PY
