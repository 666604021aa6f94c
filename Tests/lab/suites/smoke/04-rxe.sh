#!/usr/bin/env bash
# rxe (soft-RoCE) on two VFs passes ib_send_lat -F -n 200, RoCE v2 over IPv4
# (GID index 1), the traffic crossing the igb switch (lab_wire_pair).
source "$LAB_REPO/Tests/lab/guest/lib.sh"

pf=$(lab_pf)
lab_enable_vfs 2 "$pf"
dev0=$(lab_vf_netdev "$pf" 0); dev1=$(lab_vf_netdev "$pf" 1)
lab_set_vf_mac "$pf" 0 02:56:00:00:04:00
lab_set_vf_mac "$pf" 1 02:56:00:00:04:01
ip addr add 10.56.0.1/24 dev "$dev0"
ip addr add 10.56.0.2/24 dev "$dev1"
ip link set dev "$dev0" up
ip link set dev "$dev1" up
lab_wire_pair "$dev0" 10.56.0.1 "$dev1" 10.56.0.2
lab_assert_match "dev $dev0 table 101" "$(ip route get 10.56.0.2 from 10.56.0.1 | head -n1)" "route 10.56.0.1 -> 10.56.0.2"

lab_rxe_add rxe0 "$dev0"
lab_rxe_add rxe1 "$dev1"
lab_rxe_wait_ipv4_gid rxe0 1
lab_rxe_wait_ipv4_gid rxe1 1
lab_assert_eq 0000:0000:0000:0000:0000:ffff:0a38:0001 "$(lab_rxe_gid rxe0 1)" "rxe0 GID 1"
lab_assert_eq 0000:0000:0000:0000:0000:ffff:0a38:0002 "$(lab_rxe_gid rxe1 1)" "rxe1 GID 1"
lab_assert_eq "RoCE v2" "$(</sys/class/infiniband/rxe0/ports/1/gid_attrs/types/1)" "rxe0 GID 1 type"
lab_assert_eq "$dev0" "$(</sys/class/infiniband/rxe0/ports/1/gid_attrs/ndevs/1)" "rxe0 GID 1 netdev"
lab_wait_until 30 eval "rdma link show rxe0/1 | grep -q 'state ACTIVE'" || lab_fail "rxe0 not ACTIVE: $(rdma link show rxe0/1)"
lab_wait_until 30 eval "rdma link show rxe1/1 | grep -q 'state ACTIVE'" || lab_fail "rxe1 not ACTIVE: $(rdma link show rxe1/1)"
lab_assert_match "netdev $dev0( |$)" "$(rdma link show rxe0/1)" "rdma link rxe0"
lab_assert_match "netdev $dev1( |$)" "$(rdma link show rxe1/1)" "rdma link rxe1"
lab_assert_exists /dev/infiniband/uverbs0 "uverbs device"

out=${LAB_CASE_OUT:-/tmp}
# send_lat_once PORT: one ib_send_lat pair on PORT, both sides bounded so a
# client that dies cannot leave the server waiting for its receives forever.
# Sets rc (client) and src (server).
send_lat_once() {
  timeout 40 ib_send_lat -d rxe0 -x 1 -F -n 200 -p "$1" >"$out/server.log" 2>&1 &
  local server=$!
  rc=0 src=0
  if ! lab_wait_until 20 lab_tcp_listening "$1"; then
    kill "$server" 2>/dev/null || true
    wait "$server" || true
    lab_fail "ib_send_lat server not listening on $1: $(cat "$out/server.log")"
  fi
  timeout 30 ib_send_lat -d rxe1 -x 1 -F -n 200 -p "$1" 10.56.0.1 >"$out/client.log" 2>&1 || rc=$?
  wait "$server" || src=$?
}
send_lat_once 18515
if [ "$rc" != 0 ] || [ "$src" != 0 ]; then
  # Under TCG the emulated igb switch has been seen to stall one run in ~20
  # (a CI run: the case hung with the server waiting). The first attempt is
  # shown in the case log, and the second one must pass.
  lab_log "ib_send_lat attempt 1 failed (client $rc, server $src); client log: $(tail -n 5 "$out/client.log"); server log: $(tail -n 5 "$out/server.log")"
  send_lat_once 18516
fi
lab_assert_eq 0 "$rc" "ib_send_lat client exit status (log: $(tail -n 5 "$out/client.log"))"
lab_assert_eq 0 "$src" "ib_send_lat server exit status (log: $(tail -n 5 "$out/server.log"))"
for side in server client; do
  # The result row: #bytes #iterations t_min t_max t_typical t_avg ...
  row=$(awk '/#bytes/ {getline; print; exit}' "$out/$side.log")
  lab_assert_eq "2 200" "$(awk '{print $1, $2}' <<<"$row")" "ib_send_lat $side bytes/iterations"
  lab_log "ib_send_lat $side: t_typical $(awk '{print $5}' <<<"$row") us, t_avg $(awk '{print $6}' <<<"$row") us"
done
lab_assert_match 'GID index +: 1' "$(grep 'GID index' "$out/client.log")" "client GID index"
