#!/usr/bin/env bash
# ADD applies VLAN (with QoS), MAC, spoofchk, trust and max rate through the PF and
# moves the VF into the pod (renamed, MTU, address, up); CHECK passes; DEL puts the
# VF's settings and netdev back exactly as they were and releases the address.
source "$LAB_REPO/Tests/lab/suites/cni/_cni.sh"

pf=$(lab_pf)
lab_enable_vfs 2 "$pf"
vf=$(lab_vf_pci "$pf" 1)
dev=$(lab_vf_netdev "$pf" 1)
before=$(cni_vf_state "$pf" 1)
lab_pod_create pod-a
mac=02:56:00:00:07:01
conf=$(cni_conf "$vf" "\"vlan\":100,\"vlanQoS\":3,\"mac\":\"$mac\",\"spoofchk\":\"off\",\"trust\":\"on\",\"max_tx_rate\":100,\"mtu\":1400")

cni_ok ADD c1 net1 /run/netns/pod-a "$conf"
lab_assert_eq "$mac" "$(cni_json 'd["interfaces"][0]["mac"]')" "result interface mac"
lab_assert_eq "10.56.0.2/24" "$(cni_json 'd["ips"][0]["address"]')" "result address"
lab_vf_get "$pf" 1
lab_assert_eq 100 "${LAB_VF[vlan]}" "VF vlan"
lab_assert_eq 3 "${LAB_VF[qos]}" "VF vlan qos"
lab_assert_eq "$mac" "${LAB_VF[address]}" "VF administrative MAC"
lab_assert_eq false "${LAB_VF[spoofchk]}" "VF spoofchk"
lab_assert_eq true "${LAB_VF[trust]}" "VF trust"
lab_assert_eq 100 "${LAB_VF[max_tx_rate]}" "VF max_tx_rate"
lab_assert_eq "$vf" "$(basename "$(ip netns exec pod-a readlink -f /sys/class/net/net1/device)")" "pod net1 is the VF"
lab_assert_eq "$mac" "$(ip netns exec pod-a cat /sys/class/net/net1/address)" "pod net1 MAC"
lab_assert_eq 1400 "$(ip netns exec pod-a cat /sys/class/net/net1/mtu)" "pod net1 MTU"
lab_assert_eq "$dev" "$(ip -n pod-a -j link show net1 | lab_json 'd[0]["ifalias"]')" "pod net1 alias"
lab_assert_match "inet 10.56.0.2/24" "$(ip -n pod-a -o addr show net1)" "pod net1 address"
lab_assert_fails "$dev gone from the host" ip link show dev "$dev"

# CHECK right after ADD, with the result as prevResult; the PCI parent is checked too.
result=$CNI_STDOUT
check_conf=$("$LAB_PYTHON" -S -c 'import json,sys; c=json.loads(sys.argv[1]); c["prevResult"]=json.loads(sys.argv[2]); print(json.dumps(c))' "$conf" "$result")
cni_ok CHECK c1 net1 /run/netns/pod-a "$check_conf"
# ... and CHECK sees a VLAN changed behind the plugin's back.
ip link set dev "$(lab_pf_netdev "$pf")" vf 1 vlan 101 qos 3
cni CHECK c1 net1 /run/netns/pod-a "$check_conf"
lab_assert_eq 104 "$(cni_json 'd["code"]')" "CHECK after a VLAN change"
lab_assert_match "VF 1 has vlan 101" "$(cni_json 'd["details"]')" "CHECK names the drift"
ip link set dev "$(lab_pf_netdev "$pf")" vf 1 vlan 100 qos 3

cni_ok DEL c1 net1 /run/netns/pod-a "$conf"
lab_assert_eq "$before" "$(cni_vf_state "$pf" 1)" "VF 1 after DEL"
lab_assert_eq "" "$(cni_ipam_ips)" "host-local allocations after DEL"
lab_assert_eq "" "$(ip -n pod-a -o link show | grep -v ': lo:' || true)" "pod-a holds nothing"
# DEL again: nothing to do, success.
cni_ok DEL c1 net1 /run/netns/pod-a "$conf"
