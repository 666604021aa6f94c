#!/usr/bin/env bash
# Two sides asking for different runs both fail, each saying what differs from
# its own point of view: the test, the size, the iteration count; over the TCP
# side channel and over rdma_cm (the hello rides in the connect request and
# the server's rejection).
source "$(dirname "$0")/_pair.sh"
rdmalat_setup

# rdmalat_mismatch NAME "SERVER ARGS" "CLIENT ARGS" SERVER_SAYS CLIENT_SAYS
rdmalat_mismatch() {
  rdmalat_pair "$1" "$2" "$3"
  lab_assert_ne 0 "$SERVER_RC" "$1: server exit status"
  lab_assert_ne 0 "$CLIENT_RC" "$1: client exit status"
  grep -qF 'the two sides asked for different tests or sizes' "$OUT/$1.server.log" \
    || lab_fail "$1: the server does not report the mismatch: $(cat "$OUT/$1.server.log")"
  grep -qF 'the two sides asked for different tests or sizes' "$OUT/$1.client.log" \
    || lab_fail "$1: the client does not report the mismatch: $(cat "$OUT/$1.client.log")"
  grep -qF "$4" "$OUT/$1.server.log" || lab_fail "$1: server log lacks '$4': $(cat "$OUT/$1.server.log")"
  grep -qF "$5" "$OUT/$1.client.log" || lab_fail "$1: client log lacks '$5': $(cat "$OUT/$1.client.log")"
  lab_assert_eq "" "$(rdmalat_rows "$OUT/$1.client.log")" "$1: no results"
  echo "ok: $1: both sides report: $(grep -o 'different tests.*' "$OUT/$1.client.log" | head -c 200)"
}

rdmalat_mismatch test "send" "write" "test: this side send, peer write" "test: this side write, peer send"
rdmalat_mismatch size "send -s 2" "send -s 64" "size: this side 2 B, peer 64 B" "size: this side 64 B, peer 2 B"
rdmalat_mismatch all "write -a --max-size 1024" "write -s 1024" \
  "size: this side all sizes 2 B to 1024 B, peer 1024 B" "size: this side 1024 B, peer all sizes 2 B to 1024 B"
rdmalat_mismatch iterations "read -n 100" "read -n 200" "iterations: this side 100, peer 200" "iterations: this side 200, peer 100"
rdmalat_mismatch cm-test "send -R" "read -R" "test: this side send, peer read" "test: this side read, peer send"
rdmalat_mismatch cm-size "write -R -s 8" "write -R -s 16" "size: this side 8 B, peer 16 B" "size: this side 16 B, peer 8 B"
