#!/usr/bin/env bash
# Runs inside the lab VM: run-suite.sh SUITE_DIR CASE...
# For each case: lab_reset, then the case script with a deadline
# ($LAB_CASE_TIMEOUT s), output to $LAB_SUITE_OUT/CASE/output.log. Prints
# "@@LAB case NAME STATUS SECONDS RESET_SECONDS" on the console for the host
# and appends "NAME<TAB>STATUS<TAB>SECONDS<TAB>RESET_SECONDS" to
# $LAB_SUITE_OUT/results.tsv. SECONDS includes the reset before the case.
# STATUS: PASS, FAIL, TIMEOUT (the case ran past its deadline), RESET (lab_reset
# before the case failed; the case did not run).
set -uo pipefail
suite_dir=$1; shift
: "${LAB_SUITE_OUT:?}" "${LAB_REPO:?}"
case_timeout=${LAB_CASE_TIMEOUT:-120}
results=$LAB_SUITE_OUT/results.tsv
: >"$results"

# Quiet kernel messages on the console so they cannot split marker lines.
dmesg -n 1 2>/dev/null || true

reset_env() {
  # A subshell: lib.sh's `set -e` and lab_fail must not end the runner.
  ( source "$LAB_REPO/Tests/lab/guest/lib.sh"; lab_reset )
}

failed=0
for name in "$@"; do
  case_out=$LAB_SUITE_OUT/$name
  mkdir -p "$case_out"
  log=$case_out/output.log
  start=$(date +%s%N)
  reset_ok=1
  reset_env >"$log" 2>&1 || reset_ok=0
  reset_ms=$(( ($(date +%s%N) - start) / 1000000 ))
  if [ "$reset_ok" = 0 ]; then
    status=RESET
  else
    echo "--- $name" >>"$log"
    # timeout(1) puts the case in its own process group: whatever the case left
    # running in the background is killed with the group afterwards.
    LAB_CASE=$name LAB_CASE_OUT=$case_out \
      timeout -k 5 "$case_timeout" bash "$suite_dir/$name.sh" >>"$log" 2>&1 </dev/null &
    pg=$!
    wait "$pg"
    rc=$?
    kill -KILL -- "-$pg" 2>/dev/null || true
    case $rc in
      0) status=PASS ;;
      124 | 137) status=TIMEOUT; echo "TIMEOUT: the case ran past ${case_timeout} s" >>"$log" ;;
      *) status=FAIL; echo "(exit status $rc)" >>"$log" ;;
    esac
  fi
  ms=$(( ($(date +%s%N) - start) / 1000000 ))
  secs=$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))
  reset_secs=$(printf '%d.%03d' $((reset_ms / 1000)) $((reset_ms % 1000)))
  [ "$status" = PASS ] || failed=$((failed + 1))
  printf '%s\t%s\t%s\t%s\n' "$name" "$status" "$secs" "$reset_secs" >>"$results"
  sync "$results" 2>/dev/null || true
  echo "@@LAB case $name $status $secs $reset_secs"
done
# Leave the guest clean for whoever looks at it last.
reset_env >/dev/null 2>&1 || true
echo "@@LAB done $failed"
[ "$failed" = 0 ]
