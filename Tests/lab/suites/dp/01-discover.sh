#!/usr/bin/env bash
# discover finds the real igb PF, its VFs and the rxe devices, and agrees with
# lspci, ip link and rdma link.
source "$LAB_REPO/Tests/lab/guest/lib.sh"

pf=$(lab_pf)
lab_enable_vfs 4 "$pf"
dev0=$(lab_vf_netdev "$pf" 0); dev1=$(lab_vf_netdev "$pf" 1)
ip link set dev "$dev0" up; ip link set dev "$dev1" up
lab_rxe_add rxe0 "$dev0"
lab_rxe_add rxe1 "$dev1"

out=${LAB_CASE_OUT:-/tmp}
"$LAB_BIN_DIR/sriov-rdma-dp" discover >"$out/discover.txt"
"$LAB_BIN_DIR/sriov-rdma-dp" discover --json >"$out/discover.json"
cat "$out/discover.txt"

/usr/bin/python3 - "$out/discover.json" "$pf" <<'PY'
import json, subprocess, sys
report = json.load(open(sys.argv[1]))
pf = sys.argv[2]
devices = {d["address"]: d for d in report["pciDevices"]}
lspci_vfs = sorted(line.split()[0] for line in subprocess.run(["lspci", "-n", "-D", "-d", "8086:10ca"], capture_output=True, text=True, check=True).stdout.splitlines())
ours_vfs = sorted(a for a, d in devices.items() if d["device"] == "10ca")
assert ours_vfs == lspci_vfs, f"VFs: ours {ours_vfs} lspci {lspci_vfs}"
assert devices[pf]["sriov"]["numVFs"] == 4 and devices[pf]["sriov"]["totalVFs"] == 7, devices[pf]
assert devices[pf]["driver"] == "igb"
assert [devices[a]["vfIndex"] for a in ours_vfs] == [0, 1, 2, 3], [devices[a].get("vfIndex") for a in ours_vfs]
assert all(devices[a]["pf"] == pf and devices[a]["driver"] == "igbvf" for a in ours_vfs)
links = json.loads(subprocess.run(["ip", "-j", "link", "show"], capture_output=True, text=True, check=True).stdout)
ip_names = {l["ifname"]: l.get("address") for l in links}
for netdev in report["netdevs"]:
    assert netdev["name"] in ip_names, netdev
    if netdev["mac"]:
        assert netdev["mac"] == ip_names[netdev["name"]], (netdev, ip_names[netdev["name"]])
rdma = json.loads(subprocess.run(["rdma", "-j", "link", "show"], capture_output=True, text=True, check=True).stdout)
rdma_netdevs = {l["ifname"]: l.get("netdev") for l in rdma}
ours_rdma = {d["name"]: d for d in report["rdmaDevices"]}
assert set(ours_rdma) == set(rdma_netdevs) == {"rxe0", "rxe1"}, (ours_rdma.keys(), rdma_netdevs)
for name, device in ours_rdma.items():
    assert device["pciAddress"] is None and device["netdevs"] == [rdma_netdevs[name]], device
    assert any(c.endswith("/uverbs" + str(i)) for i in range(4) for c in device["charDevices"]), device
# Each rxe lands on its VF.
by_netdev = {d["netdevs"][0]: a for a, d in devices.items() if d["netdevs"]}
for name in ("rxe0", "rxe1"):
    assert name in devices[by_netdev[rdma_netdevs[name]]]["rdmaDevices"]
print("discover agrees with lspci, ip link and rdma link")
PY
