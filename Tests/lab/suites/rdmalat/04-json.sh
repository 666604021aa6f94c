#!/usr/bin/env bash
# --json: one JSON document per side that python3's json module parses, with the
# run's settings and one result per size; numbers agree with their order.
source "$(dirname "$0")/_pair.sh"
rdmalat_setup

rdmalat_pair_ok json-send "send --json -a --max-size 64 -n 30" "send --json -a --max-size 64 -n 30"
for side in server client; do
  json=$OUT/json-send.$side.log
  lab_assert_eq "send" "$(lab_json 'd["test"]' <"$json")" "JSON $side test"
  lab_assert_eq "$side" "$(lab_json 'd["role"]' <"$json")" "JSON $side role"
  lab_assert_eq "CLOCK_MONOTONIC_RAW" "$(lab_json 'd["clock"]' <"$json")" "JSON $side clock"
  lab_assert_eq "half round trip" "$(lab_json 'd["latency"]' <"$json")" "JSON $side latency semantics"
  lab_assert_eq "1" "$(lab_json 'd["gid_index"]' <"$json")" "JSON $side GID index"
  lab_assert_eq "[2, 4, 8, 16, 32, 64]" "$(lab_json '[r["bytes"] for r in d["results"]]' <"$json")" "JSON $side sizes"
  lab_assert_eq "true" "$(lab_json 'all(r["iterations"] == 30 for r in d["results"])' <"$json")" "JSON $side iterations"
  lab_assert_eq "true" \
    "$(lab_json 'all(0 < r["t_min"] <= r["t_typical"] <= r["t_max"] and r["t_typical"] <= r["p99"] <= r["p99_9"] and r["t_stdev"] >= 0 for r in d["results"])' <"$json")" \
    "JSON $side statistics ordered"
done
lab_assert_eq "$(lab_json 'd["device"]' <"$OUT/json-send.client.log")" "rxe0" "JSON client device"

rdmalat_pair_ok json-read "read --json -n 20" "read --json -n 20"
lab_assert_eq "[]" "$(lab_json 'd["results"]' <"$OUT/json-read.server.log")" "JSON read server has no results"
lab_assert_eq "round trip" "$(lab_json 'd["latency"]' <"$OUT/json-read.client.log")" "JSON read latency semantics"
lab_assert_eq "1" "$(lab_json 'len(d["results"])' <"$OUT/json-read.client.log")" "JSON read client results"
