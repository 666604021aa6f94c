#!/usr/bin/env bash
# sriov-cni's DPDK mode: VF 1 bound to a userspace driver (uio_pci_generic; vfio-pci
# when the lab runs with --numa-iommu) through driver_override. ADD applies VLAN,
# MAC, spoofchk, trust and a rate through the PF and moves nothing; CHECK passes
# and sees drift; DEL restores the PF's VF table exactly; a refused setting
# (link_state, EOPNOTSUPP on igb) rolls back exactly as for a netdev VF.
source "$LAB_REPO/Tests/lab/suites/cni/_cni.sh"

pf=$(lab_pf)
pfdev=$(lab_pf_netdev "$pf")
lab_enable_vfs 2 "$pf"
vf=$(lab_vf_pci "$pf" 1)
driver=uio_pci_generic
[ "${LAB_NUMA_IOMMU:-0}" = 1 ] && driver=vfio-pci
modprobe "$driver"
echo "$driver" >"/sys/bus/pci/devices/$vf/driver_override"
echo "$vf" >"/sys/bus/pci/devices/$vf/driver/unbind"
echo "$vf" >/sys/bus/pci/drivers_probe
lab_assert_eq "$driver" "$(basename "$(readlink "/sys/bus/pci/devices/$vf/driver")")" "VF 1 driver"
lab_assert_eq "" "$(ls "/sys/bus/pci/devices/$vf/net" 2>/dev/null || true)" "VF 1 has no netdev"
before=$(cni_vf_state "$pf" 1)
lab_pod_create pod-a
pod_links() { ip -n pod-a -o link show | grep -v ': lo:' || true; }

conf=$(cni_conf "$vf" '"vlan":200,"vlanQoS":1,"mac":"02:56:00:00:08:11","spoofchk":"off","trust":"on","max_tx_rate":100')
cni_ok ADD c1 net1 /run/netns/pod-a "$conf"
result=$CNI_STDOUT
lab_vf_get "$pf" 1
lab_assert_eq 200 "${LAB_VF[vlan]}" "VLAN through the PF"
lab_assert_eq 1 "${LAB_VF[qos]}" "QoS through the PF"
lab_assert_eq 02:56:00:00:08:11 "${LAB_VF[address]}" "MAC through the PF"
lab_assert_eq false "${LAB_VF[spoofchk]}" "spoofchk"
lab_assert_eq true "${LAB_VF[trust]}" "trust"
lab_assert_eq 100 "${LAB_VF[max_tx_rate]}" "max_tx_rate"
lab_assert_eq "" "$(pod_links)" "nothing moved into pod-a"
lab_assert_eq "$driver" "$(basename "$(readlink "/sys/bus/pci/devices/$vf/driver")")" "VF 1 still on $driver"
lab_assert_eq "10.56.0.2/24" "$(cni_json 'd["ips"][0]["address"]')" "IPAM allocated"
lab_assert_eq "net1" "$(cni_json 'd["interfaces"][0]["name"]')" "result interface"

check_conf=$("$LAB_PYTHON" -S -c 'import json,sys; c=json.loads(sys.argv[1]); c["prevResult"]=json.loads(sys.argv[2]); print(json.dumps(c))' "$conf" "$result")
cni_ok CHECK c1 net1 /run/netns/pod-a "$check_conf"
ip link set dev "$pfdev" vf 1 vlan 201
cni CHECK c1 net1 /run/netns/pod-a "$check_conf"
lab_assert_eq 104 "$(cni_json 'd["code"]')" "CHECK after a VLAN change"
lab_assert_match "VF 1 has vlan 201" "$(cni_json 'd["details"]')" "CHECK names the drift"

# DEL needs nothing from its config: the record says the VF was on a userspace driver.
cni_ok DEL c1 net1 /run/netns/pod-a "$(cni_conf "$vf")"
lab_assert_eq "$before" "$(cni_vf_state "$pf" 1)" "VF 1 after DEL"
lab_assert_eq "" "$(cni_ipam_ips)" "address released"
cni_ok DEL c1 net1 /run/netns/pod-a "$(cni_conf "$vf")"

conf=$(cni_conf "$vf" '"vlan":300,"mac":"02:56:00:00:08:12","link_state":"enable"')
cni ADD c2 net1 /run/netns/pod-a "$conf"
lab_assert_ne 0 "$CNI_STATUS" "ADD with link_state enable"
lab_assert_match "set VF 1 state enable .* failed: EOPNOTSUPP" "$(cni_json 'd["msg"]')" "error names the setting"
lab_assert_eq "$before" "$(cni_vf_state "$pf" 1)" "VF 1 after the refused link_state"
lab_assert_eq "" "$(cni_ipam_ips)" "no address held"
