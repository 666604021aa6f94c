#!/usr/bin/env bash
# rdma-lat write (RDMA WRITE ping-pong, arrival seen on the last byte) over the
# TCP side channel: one size, all sizes 2 B..64 KiB, and 1 MiB; both sides report.
source "$(dirname "$0")/_pair.sh"
rdmalat_setup

rdmalat_pair_ok write-2B "write -n 200" "write -n 200"
for side in server client; do
  rdmalat_check_rows "$OUT/write-2B.$side.log" "2" 200 "write 2 B $side"
done
rdmalat_pair_ok write-all "write -a --max-size 65536 -n 20 --warmup 4" "write -a --max-size 65536 -n 20 --warmup 4"
for side in server client; do
  rdmalat_check_rows "$OUT/write-all.$side.log" "$(rdmalat_sizes 65536)" 20 "write --all $side"
done
rdmalat_pair_ok write-1M "write -s 1048576 -n 5 --warmup 1" "write -s 1048576 -n 5 --warmup 1"
rdmalat_check_rows "$OUT/write-1M.client.log" "1048576" 5 "write 1 MiB client"
# An odd size: the polled byte is the last one, not a power-of-two boundary.
rdmalat_pair_ok write-odd "write -s 1000 -n 50" "write -s 1000 -n 50"
rdmalat_check_rows "$OUT/write-odd.client.log" "1000" 50 "write 1000 B client"
