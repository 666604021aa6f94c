#!/usr/bin/env bash
# The lab demo (scripts/demo) and the e2e lab suite run this inside the lab VM.
# It prepares the node the way a cluster node with an SR-IOV NIC looks: 4 VFs on
# the igb PF, soft-RoCE (rxe0, rxe1) on VFs 2 and 3, and then hands over to
# demo.py, which plays kubelet, the container runtime and Multus around our three
# binaries and prints what happens, step by step.
source "$LAB_REPO/Tests/lab/guest/lib.sh"

lab_reset >/dev/null
pf=$(lab_pf)
lab_enable_vfs 4 "$pf"
pfdev=$(lab_pf_netdev "$pf")
ip link set dev "$pfdev" up
# rxe rides on VFs 2 and 3, which stay on the host: soft-RoCE only works in the
# initial netns (see shared/lab/NOTES.md), and pods use it in shared mode.
lab_rxe_pair "$pf" 2 3 02:56:00:00:0b:02 02:56:00:00:0b:03 10.57.0.1 10.57.0.2
vf2=$LAB_RXE_DEV0 vf3=$LAB_RXE_DEV1
# Carrier on the PF (VF health follows it) before the daemon starts.
lab_wait_until 30 eval "[ \"\$(cat /sys/class/net/$pfdev/carrier 2>/dev/null)\" = 1 ]" || lab_fail "PF $pfdev has no carrier"

export DEMO_PF=$pf DEMO_PF_NETDEV=$pfdev DEMO_RDMA_NETDEVS="$vf2 $vf3"
status=0
"$LAB_REPO/.venv/bin/python" -u "$LAB_REPO/Tests/lab/e2e/demo.py" || status=$?
lab_reset >/dev/null 2>&1 || true
exit "$status"
