#!/usr/bin/env bash
# The pod's netns is deleted before DEL (a force-deleted pod): the kernel returns
# the VF to the initial netns on its own, under some name. DEL finds it by PCI
# address, names it back, restores MAC, MTU and the PF-side settings, and releases
# the address (sriov-cni#126, #349; host-device fails here).
source "$LAB_REPO/Tests/lab/suites/cni/_cni.sh"

pf=$(lab_pf)
lab_enable_vfs 2 "$pf"
vf=$(lab_vf_pci "$pf" 1)
dev=$(lab_vf_netdev "$pf" 1)
before=$(cni_vf_state "$pf" 1)
lab_pod_create pod-a
conf=$(cni_conf "$vf" '"vlan":200,"mac":"02:56:00:00:07:04","trust":"on","mtu":1400')
cni_ok ADD c1 net1 /run/netns/pod-a "$conf"

ip netns delete pod-a
lab_assert_fails "pod-a is gone" test -e /run/netns/pod-a
cni_ok DEL c1 net1 /run/netns/pod-a "$conf"
lab_assert_eq "$dev" "$(lab_vf_netdev "$pf" 1)" "VF 1 netdev name after DEL"
lab_assert_eq "$before" "$(cni_vf_state "$pf" 1)" "VF 1 after DEL"
lab_assert_eq "" "$(cni_ipam_ips)" "host-local allocations after DEL"
lab_assert_eq "" "$(find "$CNI_STATE/attachments" "$CNI_STATE/allocations" -type f)" "no state left"
# The log says what the VF came back as and what DEL did about it.
lab_log "VF 1 after DEL: $(cni_vf_state "$pf" 1)"
