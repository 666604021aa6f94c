#!/usr/bin/env bash
# rdma-lat send over the TCP side channel between rxe1 (server) and rxe0
# (client): one size, all sizes 2 B..64 KiB, and a 1 MiB message (1024 packets
# at MTU 1024). Both sides report perftest's columns.
source "$(dirname "$0")/_pair.sh"
rdmalat_setup

rdmalat_pair_ok send-2B "send -n 200" "send -n 200"
for side in server client; do
  rdmalat_check_rows "$OUT/send-2B.$side.log" "2" 200 "send 2 B $side"
done
grep -q 'Clock *: CLOCK_MONOTONIC_RAW' "$OUT/send-2B.client.log" || lab_fail "the clock is not stated: $(head -n 20 "$OUT/send-2B.client.log")"
lab_assert_match 'GID index +: 1 \(0000:0000:0000:0000:0000:ffff:0a38:0001, RoCE v2\)' \
  "$(grep 'GID index' "$OUT/send-2B.client.log")" "client picks the RoCE v2 IPv4 GID"
lab_assert_match 'Mtu +: 1024\[B\]' "$(grep -o 'Mtu *: [0-9]*\[B\]' "$OUT/send-2B.client.log")" "path MTU from the port"

rdmalat_pair_ok send-all "send -a --max-size 65536 -n 20 --warmup 4" "send -a --max-size 65536 -n 20 --warmup 4"
for side in server client; do
  rdmalat_check_rows "$OUT/send-all.$side.log" "$(rdmalat_sizes 65536)" 20 "send --all $side"
done

rdmalat_pair_ok send-1M "send -s 1048576 -n 5 --warmup 1" "send -s 1048576 -n 5 --warmup 1"
rdmalat_check_rows "$OUT/send-1M.client.log" "1048576" 5 "send 1 MiB client"
