#!/usr/bin/env bash
# type ib-sriov on igb. The lab has no InfiniBand, so what it shows is the kernel's
# answer to the GUID request the plugin sends through a real PF: EOPNOTSUPP from a
# driver without VF GUID support (igb has no ndo_set_vf_guid), where a malformed
# attribute would get ERANGE or EINVAL from the netlink policy. ADD then rolls back
# and the PF's VF table is as before. An Ethernet netdev VF under ib-sriov is refused
# before anything changes; a VF on a userspace driver with no GUID asked for attaches
# and detaches.
source "$LAB_REPO/Tests/lab/suites/cni/_cni.sh"

pf=$(lab_pf)
lab_enable_vfs 2 "$pf"
vf0=$(lab_vf_pci "$pf" 0)
vf1=$(lab_vf_pci "$pf" 1)
ib_conf() { cni_conf "$@" | sed 's/"type":"sriov-rdma"/"type":"ib-sriov"/'; }
lab_pod_create pod-a

before0=$(cni_vf_state "$pf" 0)
cni ADD c0 net1 /run/netns/pod-a "$(ib_conf "$vf0" '"guid":"02:00:00:00:00:00:00:2a"')"
lab_assert_eq 7 "$(cni_json 'd["code"]')" "ib-sriov on an Ethernet VF"
lab_assert_match "has link type ether, not InfiniBand" "$(cni_json 'd["msg"]')" "the refusal names the link type"
lab_assert_eq "$before0" "$(cni_vf_state "$pf" 0)" "VF 0 untouched"

modprobe uio_pci_generic
echo uio_pci_generic >"/sys/bus/pci/devices/$vf1/driver_override"
echo "$vf1" >"/sys/bus/pci/devices/$vf1/driver/unbind"
echo "$vf1" >/sys/bus/pci/drivers_probe
lab_assert_eq uio_pci_generic "$(basename "$(readlink "/sys/bus/pci/devices/$vf1/driver")")" "VF 1 driver"
before1=$(cni_vf_state "$pf" 1)

cni ADD c1 net1 /run/netns/pod-a "$(ib_conf "$vf1" '"guid":"02:00:00:00:00:00:00:2a"')"
lab_assert_eq 101 "$(cni_json 'd["code"]')" "GUID through igb"
lab_assert_eq "the driver of PF $(lab_pf_netdev "$pf") cannot set VF GUIDs (EOPNOTSUPP)" "$(cni_json 'd["msg"]')" "the kernel's answer"
lab_assert_match "set VF 1 node_guid 02:00:00:00:00:00:00:2a on .* failed: EOPNOTSUPP" "$(cni_json 'd["details"]')" "the request named"
lab_assert_eq "$before1" "$(cni_vf_state "$pf" 1)" "VF 1 after the refused GUID"
lab_assert_eq "" "$(cni_ipam_ips)" "no address held"
cni_ok DEL c1 net1 /run/netns/pod-a "$(ib_conf "$vf1")"

# No GUID asked for: the VF's GUID cannot be read on igb, so nothing is set or checked.
cni_ok ADD c2 net1 /run/netns/pod-a "$(ib_conf "$vf1")"
lab_assert_eq "10.56.0.2/24" "$(cni_json 'd["ips"][0]["address"]')" "IPAM allocated"
cni_ok DEL c2 net1 /run/netns/pod-a "$(ib_conf "$vf1")"
lab_assert_eq "$before1" "$(cni_vf_state "$pf" 1)" "VF 1 after DEL"
lab_assert_eq "" "$(cni_ipam_ips)" "address released"
