#!/usr/bin/env bash
# Two pods, one VF each through the plugin, ping each other across the igb switch.
source "$LAB_REPO/Tests/lab/suites/cni/_cni.sh"

pf=$(lab_pf)
lab_enable_vfs 2 "$pf"
lab_pod_create pod-a
lab_pod_create pod-b
cni_ok ADD ca net1 /run/netns/pod-a "$(cni_conf "$(lab_vf_pci "$pf" 0)" '"mac":"02:56:00:00:09:0a"')"
ip_a=$(cni_json 'd["ips"][0]["address"].split("/")[0]')
cni_ok ADD cb net1 /run/netns/pod-b "$(cni_conf "$(lab_vf_pci "$pf" 1)" '"mac":"02:56:00:00:09:0b"')"
ip_b=$(cni_json 'd["ips"][0]["address"].split("/")[0]')
lab_assert_ne "$ip_a" "$ip_b" "the pods' addresses"
for pair in "pod-a $ip_b" "pod-b $ip_a"; do
  set -- $pair
  out=$(ip netns exec "$1" ping -n -c 3 -i 0.2 -w 15 "$2" 2>&1) || lab_fail "ping $2 from $1 failed: $out"
  lab_assert_match '3 packets transmitted, 3 received' "$(grep 'packets transmitted' <<<"$out")" "ping $2 from $1"
done
cni_ok DEL ca net1 /run/netns/pod-a "$(cni_conf "$(lab_vf_pci "$pf" 0)" '"mac":"02:56:00:00:09:0a"')"
cni_ok DEL cb net1 /run/netns/pod-b "$(cni_conf "$(lab_vf_pci "$pf" 1)" '"mac":"02:56:00:00:09:0b"')"
