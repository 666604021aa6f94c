#!/usr/bin/env bash
# discover finds the real igb PF, its VFs and the rxe devices, and agrees with
# lspci, ip link and rdma link; the rxe ports' state, MTU and GIDs come from
# libibverbs and agree with sysfs, rdma link and ibv_devinfo.
source "$LAB_REPO/Tests/lab/guest/lib.sh"

pf=$(lab_pf)
lab_enable_vfs 4 "$pf"
dev0=$(lab_vf_netdev "$pf" 0); dev1=$(lab_vf_netdev "$pf" 1)
ip addr add 10.56.0.1/24 dev "$dev0"; ip addr add 10.56.0.2/24 dev "$dev1"
ip link set dev "$dev0" up; ip link set dev "$dev1" up
lab_rxe_add rxe0 "$dev0"
lab_rxe_add rxe1 "$dev1"
# GID 1 is the IPv4 address's RoCE v2 GID; the ports turn ACTIVE with the carrier.
lab_rxe_wait_ready rxe0
lab_rxe_wait_ready rxe1

out=${LAB_CASE_OUT:-/tmp}
"$LAB_BIN_DIR/sriov-rdma-dp" discover >"$out/discover.txt"
"$LAB_BIN_DIR/sriov-rdma-dp" discover --json >"$out/discover.json"
cat "$out/discover.txt"

/usr/bin/python3 - "$out/discover.json" "$pf" <<'PY'
import ipaddress, json, os, re, subprocess, sys
report = json.load(open(sys.argv[1]))
pf = sys.argv[2]
devices = {d["address"]: d for d in report["pciDevices"]}
lspci_vfs = sorted(line.split()[0] for line in subprocess.run(["lspci", "-n", "-D", "-d", "8086:10ca"], capture_output=True, text=True, check=True).stdout.splitlines())
ours_vfs = sorted(a for a, d in devices.items() if d["device"] == "10ca")
assert ours_vfs == lspci_vfs, f"VFs: ours {ours_vfs} lspci {lspci_vfs}"
assert devices[pf]["sriov"]["numVFs"] == 4 and devices[pf]["sriov"]["totalVFs"] == 7, devices[pf]
assert devices[pf]["driver"] == "igb"
assert [devices[a]["vfIndex"] for a in ours_vfs] == [0, 1, 2, 3], [devices[a].get("vfIndex") for a in ours_vfs]
# The VF list comes from the 82576's offset and stride, and agrees with the kernel's virtfnN links.
sriov_attr = lambda name: int(open(f"/sys/bus/pci/devices/{pf}/{name}").read())
assert devices[pf]["sriov"]["vfListSource"] == "routingIDs", devices[pf]["sriov"]
assert devices[pf]["sriov"]["firstVFOffset"] == sriov_attr("sriov_offset") and devices[pf]["sriov"]["vfStride"] == sriov_attr("sriov_stride")
for a in ours_vfs:
    assert os.path.basename(os.readlink(f"/sys/bus/pci/devices/{pf}/virtfn{devices[a]['vfIndex']}")) == a, a
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
# Port facts through libibverbs: the same as sysfs, rdma link and ibv_devinfo say.
rdma_ports = {(l["ifname"], l["port"]): l for l in rdma}
for name, device in sorted(ours_rdma.items()):
    assert len(device["ports"]) == 1, device
    port = device["ports"][0]
    sysfs = f"/sys/class/infiniband/{name}/ports/1"
    read = lambda attribute: open(f"{sysfs}/{attribute}").read().strip()
    assert port["source"] == "verbs", port
    assert port["state"] == "ACTIVE" == rdma_ports[(name, 1)]["state"] == read("state").split(": ")[1], (port, rdma_ports[(name, 1)])
    assert port["physicalState"] == "LinkUp" == read("phys_state").split(": ")[1], port
    assert rdma_ports[(name, 1)]["physical_state"] == "LINK_UP", rdma_ports[(name, 1)]
    assert port["linkLayer"] == "Ethernet" == read("link_layer"), port
    gids = {g["index"]: g for g in port["gids"]}
    assert gids[1]["gid"] == read("gids/1"), (gids[1], read("gids/1"))
    assert gids[1]["type"] == "RoCE v2" == read("gid_attrs/types/1"), gids[1]
    # Every GID sysfs has (non-zero, so valid), and no other.
    sysfs_gids = {int(i): read(f"gids/{i}") for i in os.listdir(f"{sysfs}/gids")}
    assert {i: g["gid"] for i, g in gids.items()} == {i: g for i, g in sysfs_gids.items() if g != "0000:0000:0000:0000:0000:0000:0000:0000"}, (gids, sysfs_gids)
    # ibv_devinfo -v, libibverbs's own tool: active_mtu and GID[1] (printed compressed).
    info = subprocess.run(["ibv_devinfo", "-v", "-d", name], capture_output=True, text=True, check=True).stdout
    mtu = re.search(r"active_mtu:\s*(\d+)", info)
    assert mtu and port["activeMTU"] == int(mtu.group(1)), (port["activeMTU"], info)
    gid1 = re.search(r"GID\[\s*1\]:\s*([0-9a-f:.]+), (RoCE v[12]|IB)", info)
    assert gid1 and ipaddress.IPv6Address(gids[1]["gid"]) == ipaddress.IPv6Address(gid1.group(1)) and gid1.group(2) == "RoCE v2", (gids[1], info)
    print(f"{name} port 1: {port['state']} {port['physicalState']} {port['linkLayer']} MTU {port['activeMTU']} GID 1 {gids[1]['gid']} {gids[1]['type']} from {port['source']}")
print("discover agrees with lspci, ip link, rdma link, sysfs and ibv_devinfo")
PY
grep -q "port 1: ACTIVE, LinkUp, Ethernet, MTU [0-9]*, [0-9]* GIDs (libibverbs)" "$out/discover.txt" \
  || lab_fail "discover's text does not report rxe ports from libibverbs"
