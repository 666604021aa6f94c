# Shared by the rdmalat cases (not a case: the name starts with "_").
# rdmalat_setup: two VFs of the igb PF wired across its switch (lab_wire_pair),
# rxe0 on VF 0 (10.56.0.1) and rxe1 on VF 1 (10.56.0.2), both ACTIVE with their
# RoCE v2 IPv4 GID at index 1. Sets RDMALAT (the binary) and OUT (logs).
source "$LAB_REPO/Tests/lab/guest/lib.sh"

RDMALAT=${LAB_BIN_DIR:?}/rdma-lat
OUT=${LAB_CASE_OUT:-/tmp}
[ -x "$RDMALAT" ] || lab_fail "$RDMALAT is missing: swift build -c release --static-swift-stdlib --product rdma-lat"

rdmalat_setup() {
  local pf
  pf=$(lab_pf)
  lab_enable_vfs 2 "$pf"
  lab_rxe_pair "$pf" 0 1 02:56:00:00:08:00 02:56:00:00:08:01 10.56.0.1 10.56.0.2
  DEV0=$LAB_RXE_DEV0 DEV1=$LAB_RXE_DEV1
}

# rdmalat_pair NAME "SERVER ARGS" "CLIENT ARGS": the server on rxe1 in the
# background, the client on rxe0 against 10.56.0.2. Arguments are split on
# spaces. Logs: $OUT/NAME.server.log and .client.log; statuses in SERVER_RC and
# CLIENT_RC. The server gives up after 60 s without a client, so a client that
# fails early cannot leave it hanging.
rdmalat_pair() {
  local name=$1 server_args=$2 client_args=$3 server
  # shellcheck disable=SC2086
  "$RDMALAT" $server_args -d rxe1 --listen-timeout 60 >"$OUT/$name.server.log" 2>&1 &
  server=$!
  CLIENT_RC=0
  # shellcheck disable=SC2086
  timeout 150 "$RDMALAT" $client_args -d rxe0 10.56.0.2 >"$OUT/$name.client.log" 2>&1 || CLIENT_RC=$?
  SERVER_RC=0
  wait "$server" || SERVER_RC=$?
  lab_log "$name: client exit $CLIENT_RC, server exit $SERVER_RC"
}

# rdmalat_pair_ok NAME "SERVER ARGS" "CLIENT ARGS": both sides must succeed.
rdmalat_pair_ok() {
  rdmalat_pair "$@"
  [ "$CLIENT_RC" = 0 ] || lab_fail "$1: client exited $CLIENT_RC:
$(tail -n 20 "$OUT/$1.client.log")
server:
$(tail -n 20 "$OUT/$1.server.log")"
  [ "$SERVER_RC" = 0 ] || lab_fail "$1: server exited $SERVER_RC:
$(tail -n 20 "$OUT/$1.server.log")"
}

# rdmalat_rows LOG: the result rows of a text report (bytes, iterations, then
# seven microsecond columns).
rdmalat_rows() {
  awk '/#bytes #iterations/ {rows = 1; next} rows && /^ [0-9]+ +[0-9]+ / {print}' "$1"
}

# rdmalat_check_rows LOG "SIZES" ITERATIONS WHAT: one row per size in order,
# each with the iterations asked for and ordered statistics:
# 0 < t_min <= t_typical <= t_max, t_min <= t_avg, t_typical <= 99% <= 99.9%.
rdmalat_check_rows() {
  local log=$1 sizes=$2 iterations=$3 what=$4 rows
  rows=$(rdmalat_rows "$log")
  lab_assert_eq "$sizes" "$(awk '{printf "%s%s", sep, $1; sep = " "}' <<<"$rows")" "$what: sizes"
  lab_assert_eq "" "$(awk -v n="$iterations" '$2 != n {print "row " NR ": " $2 " iterations"}' <<<"$rows")" "$what: iterations"
  lab_assert_eq "" "$(awk '!($3 > 0 && $3 <= $5 && $5 <= $4 && $3 <= $6 && $5 <= $8 && $8 <= $9) {print "row " NR " out of order: " $0}' <<<"$rows")" \
    "$what: statistics ordered"
  lab_log "$what: $(awk '{printf "%s B t_typical %s us; ", $1, $5}' <<<"$rows" | head -c 400)"
}

# Powers of two from 2 to MAX, space-separated.
rdmalat_sizes() {
  local size=2 out=""
  while [ "$size" -le "$1" ]; do out+="${out:+ }$size"; size=$((size * 2)); done
  echo "$out"
}
