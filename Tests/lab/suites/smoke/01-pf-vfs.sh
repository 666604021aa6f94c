#!/usr/bin/env bash
# The igb PF is found by vendor:device; sriov_numvfs=4 yields 4 igbvf VFs
# (8086:10ca) with virtfnN/physfn links and one netdev each.
source "$LAB_REPO/Tests/lab/guest/lib.sh"

expected_pfs=$((1 + ${LAB_SECOND_NIC:-0}))
lab_assert_eq "$expected_pfs" "$(lab_pfs | wc -l)" "number of 8086:10c9 PFs"
pf=$(lab_pf)
d=$SYS_PCI/$pf
lab_assert_eq 0x8086 "$(<"$d/vendor")" "PF $pf vendor"
lab_assert_eq 0x10c9 "$(<"$d/device")" "PF $pf device"
lab_assert_link "$d/driver" igb "PF $pf driver"
lab_assert_eq 7 "$(<"$d/sriov_totalvfs")" "PF $pf sriov_totalvfs"
lab_assert_eq 0 "$(<"$d/sriov_numvfs")" "PF $pf sriov_numvfs after reset"
pfdev=$(lab_pci_netdev "$pf")
lab_log "PF $pf netdev $pfdev"

lab_enable_vfs 4 "$pf"
lab_assert_eq 4 "$(<"$d/sriov_numvfs")" "PF $pf sriov_numvfs"
for i in 0 1 2 3; do
  lab_assert_exists "$d/virtfn$i" "virtfn$i link"
  vf=$(lab_vf_pci "$pf" "$i")
  vd=$SYS_PCI/$vf
  lab_assert_link "$vd/physfn" "$pf" "VF $i ($vf) physfn"
  lab_assert_eq 0x8086 "$(<"$vd/vendor")" "VF $i vendor"
  lab_assert_eq 0x10ca "$(<"$vd/device")" "VF $i device"
  lab_assert_link "$vd/driver" igbvf "VF $i driver"
  lab_assert_eq 1 "$(ls "$vd/net" | wc -l)" "VF $i number of netdevs"
  vfdev=$(lab_vf_netdev "$pf" "$i")
  lab_assert_eq "$vf" "$(basename "$(readlink -f "/sys/class/net/$vfdev/device")")" "netdev $vfdev device"
  lab_assert_eq igbvf "$(ethtool -i "$vfdev" | awk '$1 == "driver:" {print $2}')" "ethtool driver of $vfdev"
done
lab_assert_fails "no virtfn4 with 4 VFs" test -e "$d/virtfn4"
n_igbvf=0
for n in /sys/class/net/*; do
  if [ "$(basename "$(readlink -f "$n/device/driver" 2>/dev/null)")" = igbvf ]; then n_igbvf=$((n_igbvf + 1)); fi
done
lab_assert_eq 4 "$n_igbvf" "igbvf netdevs in the initial netns"
