#!/usr/bin/env bash
# The DRA driver end to end on real igb VFs (issue #21): sriov-rdma-dp run
# --dra-pools against the validating API stand-in and grpcio kubelet publishes the
# VFs (rxe on one of them: its RDMA device is in the slice and in the claim's CDI
# spec); a claim for that VF with VLAN 100 and a MAC is prepared (the PF's VF table
# shows them), the CNI's dra mode moves the VF into the pod and back, unprepare
# restores the VF table; a claim asking RDMA isolation is refused by the CNI in
# shared RDMA netns mode with the VF untouched.
source "$LAB_REPO/Tests/lab/guest/lib.sh"

pf=$(lab_pf)
lab_enable_vfs 2 "$pf"
dev=$(lab_vf_netdev "$pf" 1)
ip link set dev "$dev" up
lab_rxe_add rxe0 "$dev"
export LAB_PF=$pf LAB_PF_NETDEV=$(lab_pf_netdev "$pf") LAB_DRA_VF=$(lab_vf_pci "$pf" 1) LAB_DRA_VF_NETDEV=$dev
"$LAB_REPO/.venv/bin/python" "$LAB_REPO/Tests/lab/suites/dp/_dra_flow.py"
