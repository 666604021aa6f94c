#!/usr/bin/env bash
# The plugin's state file is lost: DEL still releases the address, recognises the
# VF in the pod by its PCI parent and returns it under the name kept in its alias.
source "$LAB_REPO/Tests/lab/suites/cni/_cni.sh"

pf=$(lab_pf)
lab_enable_vfs 2 "$pf"
vf=$(lab_vf_pci "$pf" 0)
dev=$(lab_vf_netdev "$pf" 0)
lab_pod_create pod-a
conf=$(cni_conf "$vf" '"mtu":1400')
cni_ok ADD c1 net1 /run/netns/pod-a "$conf"
rm "$CNI_STATE/attachments/c1-net1.json"
cni_ok DEL c1 net1 /run/netns/pod-a "$conf"
lab_assert_eq "$dev" "$(lab_vf_netdev "$pf" 0)" "VF 0 back under its name"
lab_assert_eq "" "$(cni_ipam_ips)" "host-local allocations after DEL"
lab_assert_eq "" "$(ip -n pod-a -o link show | grep -v ': lo:' || true)" "pod-a holds nothing"
