#!/usr/bin/env bash
# Settings igb refuses (link_state: EOPNOTSUPP; min_tx_rate: EINVAL) fail ADD with
# the kernel's reason, after VLAN and MAC were already applied: the VF ends exactly
# as before (sriov-cni#119 left the half-applied settings behind).
source "$LAB_REPO/Tests/lab/suites/cni/_cni.sh"

pf=$(lab_pf)
lab_enable_vfs 2 "$pf"
vf=$(lab_vf_pci "$pf" 0)
before=$(cni_vf_state "$pf" 0)
lab_pod_create pod-a

conf=$(cni_conf "$vf" '"vlan":300,"mac":"02:56:00:00:07:02","spoofchk":"off","link_state":"enable"')
cni ADD c1 net1 /run/netns/pod-a "$conf"
lab_assert_ne 0 "$CNI_STATUS" "ADD with link_state enable"
lab_assert_eq 101 "$(cni_json 'd["code"]')" "error code"
lab_assert_match "set VF 0 state enable on .* \(PF\) in this process's netns failed: EOPNOTSUPP" "$(cni_json 'd["msg"]')" "error names the setting and the kernel's reason"
lab_assert_eq "$before" "$(cni_vf_state "$pf" 0)" "VF 0 after the refused link_state"
lab_assert_eq "" "$(cni_ipam_ips)" "no address held"
# The runtime's DEL after a failed ADD changes nothing.
cni_ok DEL c1 net1 /run/netns/pod-a "$conf"
lab_assert_eq "$before" "$(cni_vf_state "$pf" 0)" "VF 0 after DEL of the failed ADD"

conf=$(cni_conf "$vf" '"vlan":300,"vlanQoS":2,"mac":"02:56:00:00:07:03","min_tx_rate":10,"max_tx_rate":100')
cni ADD c1 net1 /run/netns/pod-a "$conf"
lab_assert_ne 0 "$CNI_STATUS" "ADD with min_tx_rate"
lab_assert_match "set VF 0 min_tx_rate 10 max_tx_rate 100 .* failed: EINVAL" "$(cni_json 'd["msg"]')" "error for min_tx_rate"
lab_assert_eq "$before" "$(cni_vf_state "$pf" 0)" "VF 0 after the refused min_tx_rate"
lab_assert_eq "" "$(ip -n pod-a -o link show | grep -v ': lo:' || true)" "pod-a holds nothing"
