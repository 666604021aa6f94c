#!/usr/bin/env bash
# --rdma-cm: librdmacm resolves the route, connects the RC QPs and carries the
# hello as private data; control messages then ride the test QP. Every test,
# one size and a range.
source "$(dirname "$0")/_pair.sh"
rdmalat_setup

for test in send write read; do
  rdmalat_pair_ok "cm-$test" "$test -R -a --max-size 16384 -n 20 --warmup 4" "$test -R -a --max-size 16384 -n 20 --warmup 4"
  rdmalat_check_rows "$OUT/cm-$test.client.log" "$(rdmalat_sizes 16384)" 20 "$test --rdma-cm client"
  if [ "$test" != read ]; then
    rdmalat_check_rows "$OUT/cm-$test.server.log" "$(rdmalat_sizes 16384)" 20 "$test --rdma-cm server"
  fi
  lab_assert_match 'Exchange +: rdma_cm' "$(grep '^ Exchange' "$OUT/cm-$test.client.log")" "$test: exchanged through rdma_cm"
  lab_assert_match 'Device +: rxe0' "$(grep -o 'Device *: rxe[0-9]' "$OUT/cm-$test.client.log")" "$test: rdma_cm picked rxe0 for the client"
  lab_assert_match 'Device +: rxe1' "$(grep -o 'Device *: rxe[0-9]' "$OUT/cm-$test.server.log")" "$test: rdma_cm picked rxe1 for the server"
done
rdmalat_pair_ok cm-json "send -R --json -n 50" "send -R --json -n 50"
lab_assert_eq "rdma_cm" "$(lab_json 'd["exchange"]' <"$OUT/cm-json.client.log")" "JSON exchange"
lab_assert_eq "1024" "$(lab_json 'd["mtu"]' <"$OUT/cm-json.client.log")" "JSON path MTU under rdma_cm"
