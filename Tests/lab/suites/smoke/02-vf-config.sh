#!/usr/bin/env bash
# VF MAC, VLAN, spoofchk, trust and max_tx_rate set through the PF read back
# correctly (ip -j -d link show PF), and only on the VF they were set on.
source "$LAB_REPO/Tests/lab/guest/lib.sh"

pf=$(lab_pf)
lab_enable_vfs 2 "$pf"
pfdev=$(lab_pf_netdev "$pf")
vf1dev=$(lab_vf_netdev "$pf" 1)
mac=02:56:00:00:01:01

lab_set_vf_mac "$pf" 1 "$mac"
ip link set dev "$pfdev" vf 1 vlan 100 qos 3
ip link set dev "$pfdev" vf 1 spoofchk off
ip link set dev "$pfdev" vf 1 trust on
ip link set dev "$pfdev" vf 1 max_tx_rate 100

lab_vf_get "$pf" 1
lab_assert_eq "$mac" "${LAB_VF[address]}" "VF 1 mac (through the PF)"
lab_assert_eq "$mac" "$(<"/sys/class/net/$vf1dev/address")" "VF 1 netdev $vf1dev address"
lab_assert_eq 100 "${LAB_VF[vlan]}" "VF 1 vlan"
lab_assert_eq 3 "${LAB_VF[qos]}" "VF 1 vlan qos"
lab_assert_eq false "${LAB_VF[spoofchk]}" "VF 1 spoofchk"
lab_assert_eq true "${LAB_VF[trust]}" "VF 1 trust"
lab_assert_eq 100 "${LAB_VF[max_tx_rate]}" "VF 1 max_tx_rate"
lab_assert_eq 0 "${LAB_VF[min_tx_rate]}" "VF 1 min_tx_rate"
# The same through the plain-text form, as a person would read it.
vf1_line=$(ip -d link show dev "$pfdev" | grep -E '^ +vf 1 ')
lab_assert_match "link/ether $mac .*vlan 100, qos 3, .*max_tx_rate 100Mbps, spoof checking off, .*trust on" "$vf1_line" "ip -d link show: vf 1"

# VF 0 untouched.
lab_vf_get "$pf" 0
lab_assert_eq 0 "${LAB_VF[vlan]}" "VF 0 vlan"
lab_assert_eq true "${LAB_VF[spoofchk]}" "VF 0 spoofchk"
lab_assert_eq false "${LAB_VF[trust]}" "VF 0 trust"
lab_assert_eq 0 "${LAB_VF[max_tx_rate]}" "VF 0 max_tx_rate"

# A second MAC for the same VF, trust off: the PF has set one already, so igb
# refuses the VF's own change unless trusted (lab_set_vf_mac copes).
ip link set dev "$pfdev" vf 1 trust off
mac2=02:56:00:00:01:02
lab_set_vf_mac "$pf" 1 "$mac2"
lab_vf_get "$pf" 1
lab_assert_eq "$mac2" "${LAB_VF[address]}" "VF 1 second mac (through the PF)"
lab_assert_eq "$mac2" "$(<"/sys/class/net/$vf1dev/address")" "VF 1 netdev second address"
lab_assert_eq false "${LAB_VF[trust]}" "VF 1 trust back off"

# Back to the defaults.
ip link set dev "$pfdev" vf 1 vlan 0
ip link set dev "$pfdev" vf 1 spoofchk on
ip link set dev "$pfdev" vf 1 max_tx_rate 0
lab_vf_get "$pf" 1
lab_assert_eq 0 "${LAB_VF[vlan]}" "VF 1 vlan cleared"
lab_assert_eq true "${LAB_VF[spoofchk]}" "VF 1 spoofchk back on"
lab_assert_eq 0 "${LAB_VF[max_tx_rate]}" "VF 1 max_tx_rate cleared"

# What the emulated 82576 refuses (NOTES.md; the product must cope).
lab_assert_fails "min_tx_rate through the PF (EINVAL on igb)" ip link set dev "$pfdev" vf 1 min_tx_rate 10
lab_assert_fails "link state through the PF (EOPNOTSUPP on igb)" ip link set dev "$pfdev" vf 1 state enable
