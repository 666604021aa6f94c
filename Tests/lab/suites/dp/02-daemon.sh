#!/usr/bin/env bash
# The daemon on real VFs against a kubelet stand-in: PF down makes every VF
# Unhealthy (rtnetlink events), PF up heals them, sriov_numvfs 4→2→4 shrinks and
# regrows the pool, Allocate writes the device-info file.
source "$LAB_REPO/Tests/lab/guest/lib.sh"

pf=$(lab_pf)
lab_enable_vfs 4 "$pf"
export LAB_PF=$pf LAB_PF_NETDEV=$(lab_pf_netdev "$pf")
"$LAB_REPO/.venv/bin/python" "$LAB_REPO/Tests/lab/suites/dp/_daemon_flow.py"
