#!/usr/bin/env bash
# A VF netdev moved into a netns (renamed there) and back keeps working; two
# netns, one VF each, ping each other across the igb internal switch.
source "$LAB_REPO/Tests/lab/guest/lib.sh"

# ping_ok NETNS ADDR: 3 echo replies (ping keeps going until 3 or 15 s).
ping_ok() {
  local out
  out=$(ip netns exec "$1" ping -n -c 3 -i 0.2 -w 15 "$2" 2>&1) || lab_fail "ping $2 from $1 failed:
$out"
  lab_assert_match '3 packets transmitted, 3 received' "$(grep 'packets transmitted' <<<"$out")" "ping $2 from $1"
}

pf=$(lab_pf)
lab_enable_vfs 2 "$pf"
vf0=$(lab_vf_pci "$pf" 0); vf1=$(lab_vf_pci "$pf" 1)
dev0=$(lab_vf_netdev "$pf" 0); dev1=$(lab_vf_netdev "$pf" 1)
lab_set_vf_mac "$pf" 0 02:56:00:00:03:00
lab_set_vf_mac "$pf" 1 02:56:00:00:03:01

lab_pod_create pod-a
lab_pod_create pod-b
ip link set dev "$dev0" netns pod-a
ip link set dev "$dev1" netns pod-b
lab_assert_fails "$dev0 gone from the initial netns" ip link show dev "$dev0"
# In the pod: rename (as a CNI plugin does), address, up.
ip -n pod-a link set dev "$dev0" name net1
ip -n pod-a link set dev net1 mtu 1400
ip -n pod-a addr add 10.56.0.1/24 dev net1
ip -n pod-a link set dev net1 up
ip -n pod-b addr add 10.56.0.2/24 dev "$dev1"
ip -n pod-b link set dev "$dev1" up
lab_assert_eq "$vf0" "$(basename "$(ip netns exec pod-a readlink -f /sys/class/net/net1/device)")" "pod-a net1 is VF 0"
lab_assert_eq 02:56:00:00:03:00 "$(ip netns exec pod-a cat /sys/class/net/net1/address)" "pod-a net1 address"
lab_assert_eq 1400 "$(ip netns exec pod-a cat /sys/class/net/net1/mtu)" "pod-a net1 mtu"
ping_ok pod-a 10.56.0.2
ping_ok pod-b 10.56.0.1

# Back to the initial netns, old name: it keeps its MAC and still carries traffic.
ip -n pod-a link set dev net1 down
ip -n pod-a link set dev net1 netns 1
ip link set dev net1 name "$dev0"
lab_assert_eq "$vf0" "$(basename "$(readlink -f "/sys/class/net/$dev0/device")")" "$dev0 back, VF 0"
lab_assert_eq "$dev0" "$(lab_vf_netdev "$pf" 0)" "VF 0 netdev name in the initial netns"
lab_assert_eq 02:56:00:00:03:00 "$(<"/sys/class/net/$dev0/address")" "$dev0 address after the round trip"
ip link set dev "$dev0" mtu 1500
ip addr add 10.56.0.1/24 dev "$dev0"
ip link set dev "$dev0" up
ping_ok pod-b 10.56.0.1
out=$(ping -n -c 3 -i 0.2 -w 15 10.56.0.2 2>&1) || lab_fail "ping 10.56.0.2 from the initial netns failed:
$out"
lab_assert_match '3 packets transmitted, 3 received' "$(grep 'packets transmitted' <<<"$out")" "ping pod-b from the initial netns"

# Destroying a pod returns its VF to the initial netns.
lab_pod_destroy pod-b
lab_assert_eq "$dev1" "$(lab_vf_netdev "$pf" 1)" "VF 1 back in the initial netns after lab_pod_destroy"
