#!/usr/bin/env bash
# A VF with an RDMA device (rxe on its netdev): in shared RDMA netns mode ADD fails
# with a clear message before touching anything; in exclusive mode the device is
# moved first, and rxe's refusal (EOPNOTSUPP) fails ADD with the VF untouched; with
# "rdmaIsolation": false the VF alone is attached. (rxe cannot change namespaces:
# ../shared/lab/NOTES.md.)
source "$LAB_REPO/Tests/lab/suites/cni/_cni.sh"

pf=$(lab_pf)
lab_enable_vfs 2 "$pf"
vf=$(lab_vf_pci "$pf" 1)
dev=$(lab_vf_netdev "$pf" 1)
ip link set dev "$dev" up
lab_rxe_add rxe0 "$dev"
before=$(cni_vf_state "$pf" 1)
conf=$(cni_conf "$vf" '"vlan":500,"mac":"02:56:00:00:0a:01"')

# Shared mode (the default).
lab_assert_match "netns shared" "$(rdma system show)" "RDMA netns mode"
lab_pod_create pod-a
cni ADD c1 net1 /run/netns/pod-a "$conf"
lab_assert_eq 103 "$(cni_json 'd["code"]')" "ADD in shared mode"
lab_assert_match "RDMA device rxe0 of VF $vf cannot be isolated: the RDMA subsystem is in shared netns mode" "$(cni_json 'd["msg"]')" "shared-mode message"
lab_assert_eq "$before" "$(cni_vf_state "$pf" 1)" "VF 1 after the shared-mode refusal"
lab_assert_exists /sys/class/infiniband/rxe0 "rxe0 after the shared-mode refusal"

# Exclusive mode can only be entered while no other netns exists.
ip netns delete pod-a
rdma system set netns exclusive
lab_assert_match "netns exclusive" "$(rdma system show)" "RDMA netns mode"
lab_pod_create pod-a
cni ADD c1 net1 /run/netns/pod-a "$conf"
lab_assert_eq 103 "$(cni_json 'd["code"]')" "ADD in exclusive mode with rxe"
lab_assert_match "RDMA device rxe0 of VF $vf cannot move into the pod" "$(cni_json 'd["msg"]')" "exclusive-mode message"
lab_assert_match "EOPNOTSUPP" "$(cni_json 'd["details"]')" "the kernel's reason"
lab_assert_eq "$before" "$(cni_vf_state "$pf" 1)" "VF 1 after the refused RDMA move"
lab_assert_exists /sys/class/infiniband/rxe0 "rxe0 after the refused RDMA move"

# Without isolation the VF moves alone.
conf=$(cni_conf "$vf" '"vlan":500,"mac":"02:56:00:00:0a:01","rdmaIsolation":false')
cni_ok ADD c1 net1 /run/netns/pod-a "$conf"
lab_assert_eq "$vf" "$(basename "$(ip netns exec pod-a readlink -f /sys/class/net/net1/device)")" "pod net1 is the VF"
cni_ok DEL c1 net1 /run/netns/pod-a "$conf"
lab_assert_eq "$dev" "$(lab_vf_netdev "$pf" 1)" "VF 1 back under its name"
