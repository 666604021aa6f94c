#!/usr/bin/env bash
# --events: completions through a completion channel instead of busy polling
# (send and read, as perftest's -e), over both connection methods.
source "$(dirname "$0")/_pair.sh"
rdmalat_setup

rdmalat_pair_ok events-send "send -e -a --max-size 4096 -n 30" "send -e -a --max-size 4096 -n 30"
for side in server client; do
  rdmalat_check_rows "$OUT/events-send.$side.log" "$(rdmalat_sizes 4096)" 30 "send --events $side"
  lab_assert_match 'Completions +: completion events' "$(grep '^ Completions' "$OUT/events-send.$side.log")" "send --events $side header"
done
rdmalat_pair_ok events-read "read -e -n 100" "read -e -n 100"
rdmalat_check_rows "$OUT/events-read.client.log" "2" 100 "read --events client"
rdmalat_pair_ok events-send-cm "send -e -R -n 50" "send -e -R -n 50"
rdmalat_check_rows "$OUT/events-send-cm.client.log" "2" 50 "send --events --rdma-cm client"
# A write sees arrivals by polling memory: --events is refused up front.
out=$("$RDMALAT" write -e -d rxe0 2>&1) && lab_fail "write --events succeeded: $out"
lab_assert_match 'does not apply to write' "$out" "write --events refused"
