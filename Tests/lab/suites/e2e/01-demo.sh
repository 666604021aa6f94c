#!/usr/bin/env bash
# The lab demo end to end: discover, daemon + kubelet stand-in, Allocate for two
# pods, CNI ADD/CHECK with VLAN, MAC and host-local, ping, rdma-lat between the
# pods over shared rxe devices, DEL restoring both VFs, SIGTERM clean-up.
# demo.py checks every step itself; here the account must also be complete.
source "$LAB_REPO/Tests/lab/guest/lib.sh"

out=${LAB_CASE_OUT:-/tmp}/demo.log
status=0
bash "$LAB_REPO/Tests/lab/e2e/demo-guest.sh" >"$out" 2>&1 || status=$?
cat "$out"
[ "$status" = 0 ] || lab_fail "the demo exited $status"
for n in 1 2 3 4 5 6 7 8 9; do
  grep -q "^== $n/9 " "$out" || lab_fail "step $n/9 missing from the demo's account"
done
lab_assert_eq 4 "$(grep -cE '^   (send|write|read) +[0-9]+ +[0-9]+ +[0-9.]+ +[0-9.]+' "$out")" "rows in the latency table"
lab_assert_eq 2 "$(grep -c 'restored: identical to before ADD' "$out")" "VFs restored after DEL"
grep -q '^DEMO OK in ' "$out" || lab_fail "no 'DEMO OK' line"
lab_log "$(grep '^DEMO OK' "$out")"
