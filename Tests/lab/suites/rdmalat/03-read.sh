#!/usr/bin/env bash
# rdma-lat read: the client measures RDMA READ round trips, the server only
# serves them and says so. One size, all sizes 2 B..64 KiB, and 1 MiB.
source "$(dirname "$0")/_pair.sh"
rdmalat_setup

rdmalat_pair_ok read-2B "read -n 200" "read -n 200"
rdmalat_check_rows "$OUT/read-2B.client.log" "2" 200 "read 2 B client"
lab_assert_eq "" "$(rdmalat_rows "$OUT/read-2B.server.log")" "read server prints no rows"
grep -q 'the client measures RDMA read latency' "$OUT/read-2B.server.log" \
  || lab_fail "read server does not say who measures: $(cat "$OUT/read-2B.server.log")"
lab_assert_match 'Latency +: the full round trip of an RDMA read' "$(grep '^ Latency' "$OUT/read-2B.client.log")" "read reports the full round trip"

rdmalat_pair_ok read-all "read -a --max-size 65536 -n 20 --warmup 4" "read -a --max-size 65536 -n 20 --warmup 4"
rdmalat_check_rows "$OUT/read-all.client.log" "$(rdmalat_sizes 65536)" 20 "read --all client"
rdmalat_pair_ok read-1M "read -s 1048576 -n 5 --warmup 1" "read -s 1048576 -n 5 --warmup 1"
rdmalat_check_rows "$OUT/read-1M.client.log" "1048576" 5 "read 1 MiB client"
