#!/usr/bin/env bash
# Four ADDs at once on four VFs of one PF, then four DELs at once: every call
# succeeds, each pod gets its VF and its own address, and every VF ends as before.
source "$LAB_REPO/Tests/lab/suites/cni/_cni.sh"

pf=$(lab_pf)
lab_enable_vfs 4 "$pf"
declare -a before vfs
for i in 0 1 2 3; do
  vfs[$i]=$(lab_vf_pci "$pf" "$i")
  before[$i]=$(cni_vf_state "$pf" "$i")
  lab_pod_create "pod-$i"
done
conf_for() { cni_conf "${vfs[$1]}" "\"vlan\":$((400 + $1)),\"mac\":\"02:56:00:00:08:0$1\",\"spoofchk\":\"off\""; }

run_all() {  # run_all COMMAND: the command on all four at once; fails if any failed
  local i pids=() status=0
  for i in 0 1 2 3; do
    ( cni "$1" "c$i" net1 "/run/netns/pod-$i" "$(conf_for "$i")"
      printf '%s' "$CNI_STDOUT" >"$CNI_WORK/$1-$i.out"; exit "$CNI_STATUS" ) &
    pids+=($!)
  done
  for i in 0 1 2 3; do
    wait "${pids[$i]}" || { status=1; lab_log "$1 c$i failed: $(cat "$CNI_WORK/$1-$i.out")"; }
  done
  return $status
}

start=$(lab_now_ms)
run_all ADD || lab_fail "a parallel ADD failed"
lab_log "4 parallel ADDs: $(( $(lab_now_ms) - start )) ms"
addresses=""
for i in 0 1 2 3; do
  lab_assert_eq "${vfs[$i]}" "$(basename "$(ip netns exec "pod-$i" readlink -f /sys/class/net/net1/device)")" "pod-$i has VF $i"
  lab_vf_get "$pf" "$i"
  lab_assert_eq $((400 + i)) "${LAB_VF[vlan]}" "VF $i vlan"
  addresses+="$(ip -n "pod-$i" -o -4 addr show net1 | awk '{print $4}') "
done
lab_assert_eq "10.56.0.2/24 10.56.0.3/24 10.56.0.4/24 10.56.0.5/24" "$(tr ' ' '\n' <<<"$addresses" | grep . | sort -V | tr '\n' ' ' | sed 's/ $//')" "four distinct addresses"

start=$(lab_now_ms)
run_all DEL || lab_fail "a parallel DEL failed"
lab_log "4 parallel DELs: $(( $(lab_now_ms) - start )) ms"
for i in 0 1 2 3; do
  lab_assert_eq "${before[$i]}" "$(cni_vf_state "$pf" "$i")" "VF $i after DEL"
done
lab_assert_eq "" "$(cni_ipam_ips)" "host-local allocations after DEL"
