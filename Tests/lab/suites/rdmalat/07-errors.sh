#!/usr/bin/env bash
# Errors a user can act on: an unknown device (with the list of real ones), a
# port that is down, no usable GID, an empty GID index, a server that is not
# there (bounded by --timeout), and a peer that vanishes mid-run.
source "$(dirname "$0")/_pair.sh"
rdmalat_setup

# rdmalat_fails WHAT REGEX CMD...: CMD fails and its output matches REGEX.
rdmalat_fails() {
  local what=$1 regex=$2 out rc=0; shift 2
  out=$("$@" 2>&1) || rc=$?
  [ "$rc" != 0 ] || lab_fail "$what: '$*' succeeded: $out"
  lab_assert_match "$regex" "$out" "$what"
}

rdmalat_fails "unknown device" "RDMA device 'rxe9' not found; available: rxe0, rxe1" "$RDMALAT" send -d rxe9
rdmalat_fails "empty GID index" "no usable GID at index 9 on rxe0 port 1" "$RDMALAT" send -d rxe0 -x 9

# No server: the client retries until --timeout, then says the peer is unreachable.
start=$(lab_now_ms)
rdmalat_fails "no server" "peer 10.56.0.2:18515 unreachable: no rdma-lat server answered within 3 s \(last attempt: Connection refused\)" \
  "$RDMALAT" send -d rxe0 --timeout 3 10.56.0.2
elapsed=$(( $(lab_now_ms) - start ))
[ "$elapsed" -ge 2900 ] && [ "$elapsed" -lt 10000 ] || lab_fail "no server: gave up after $elapsed ms, expected about 3000"
rdmalat_fails "no rdma_cm server" "peer 10.56.0.2:18515 unreachable: .*within 3 s" "$RDMALAT" send -R -d rxe0 --timeout 3 10.56.0.2

# A peer that disappears mid-run: the server gives up within --timeout, saying
# why (a wait that timed out, the side channel closing, or a failed completion,
# depending on where the client was when it died).
"$RDMALAT" send -d rxe1 -a -n 200 --timeout 3 >"$OUT/vanish.server.log" 2>&1 &
server=$!
"$RDMALAT" send -d rxe0 -a -n 200 --timeout 3 10.56.0.2 >"$OUT/vanish.client.log" 2>&1 &
client=$!
# Killed once the first size is done, so the server is inside the run.
lab_wait_until 60 eval "rdmalat_rows '$OUT/vanish.server.log' | grep -q ." || lab_fail "vanish: no first row: $(cat "$OUT/vanish.server.log")"
kill -KILL "$client"
rc=0
lab_wait_until 30 eval "! kill -0 $server 2>/dev/null" || lab_fail "vanish: the server still runs 30 s after its peer died"
wait "$server" || rc=$?
lab_assert_ne 0 "$rc" "vanish: server exit status"
lab_assert_match "timed out after 3 s waiting for|the peer closed the connection during|completion failed" \
  "$(tail -n 1 "$OUT/vanish.server.log")" "vanish: server says why"

# No IPv4 address on rxe1's netdev: no RoCE v2 IPv4 GID is left.
ip addr del 10.56.0.2/24 dev "$DEV1"
lab_wait_until 30 eval "! grep -q '^0000:0000:0000:0000:0000:ffff:' /sys/class/infiniband/rxe1/ports/1/gids/*" \
  || lab_fail "rxe1 keeps an IPv4 GID without an address"
rdmalat_fails "no usable GID" "no usable GID on rxe1 port 1: no RoCE v2 GID with an IPv4 address" "$RDMALAT" send -d rxe1
ip addr add 10.56.0.2/24 dev "$DEV1"

# The netdev down: the port goes DOWN.
ip link set dev "$DEV1" down
lab_wait_until 30 eval "rdma link show rxe1/1 | grep -q 'state DOWN'" || lab_fail "rxe1 did not go DOWN: $(rdma link show rxe1/1)"
rdmalat_fails "port down" "rxe1 port 1 is DOWN, not ACTIVE" "$RDMALAT" send -d rxe1
ip link set dev "$DEV1" up
