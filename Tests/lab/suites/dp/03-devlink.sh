#!/usr/bin/env bash
# devlink through our own generic-netlink client on a real kernel: the family
# resolves and the device-info dump lists what `devlink dev info` lists, also for a
# user with no capabilities (the DaemonSet drops them all); a ddpProfiles selector
# says why the igb VFs have no DDP package. Debian's kernel builds no netdevsim and
# QEMU emulates no devlink-capable NIC, so the list is empty here: the parsing of
# versions is covered by NetlinkTests on replies laid out as the kernel lays them.
source "$LAB_REPO/Tests/lab/guest/lib.sh"

pf=$(lab_pf)
lab_enable_vfs 2 "$pf"

out=${LAB_CASE_OUT:-/tmp}
cat >"$out/ddp.json" <<'JSON'
{"resourceList": [{"resourceName": "comms", "resourcePrefix": "lab.example.com",
                   "selectors": {"drivers": ["igbvf"], "ddpProfiles": ["ICE COMMS Package"]}}]}
JSON
chmod 644 "$out/ddp.json"
"$LAB_BIN_DIR/sriov-rdma-dp" discover --config "$out/ddp.json" >"$out/discover.txt"
"$LAB_BIN_DIR/sriov-rdma-dp" discover --config "$out/ddp.json" --json >"$out/discover.json"
# nobody, no capabilities at all: what the DaemonSet's container has. The config goes
# where nobody can read it: the case's output directory may sit below a clone that
# mktemp made 0700.
readable=$(mktemp -d /tmp/ddp.XXXXXX)
chmod 755 "$readable"
install -m 644 "$out/ddp.json" "$readable/ddp.json"
setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all --bounding-set=-all \
  "$LAB_BIN_DIR/sriov-rdma-dp" discover --config "$readable/ddp.json" --json >"$out/discover-nobody.json"
devlink -j dev info >"$out/devlink-info.json"
cat "$out/discover.txt"
echo "devlink -j dev info: $(cat "$out/devlink-info.json")"

/usr/bin/python3 - "$out/discover.json" "$out/discover-nobody.json" "$out/devlink-info.json" "$pf" <<'PY'
import json, sys
reports = [json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))]
theirs = json.load(open(sys.argv[3])).get("info", {})
pf = sys.argv[4]
for report in reports:
    assert report["devlink"]["status"] == "read", report["devlink"]
    ours = {f'{d["bus"]}/{d["device"]}': d for d in report["devlink"]["devices"]}
    assert set(ours) == set(theirs), (sorted(ours), sorted(theirs))
    for handle, info in theirs.items():
        assert ours[handle]["driver"] == info.get("driver"), (handle, ours[handle], info)
    # igb registers no devlink instance: the VFs are left out, saying so.
    vfs = [d["address"] for d in report["pciDevices"] if d.get("pf") == pf]
    assert len(vfs) == 2, vfs
    assert all(d["ddpProfile"] is None for d in report["pciDevices"])
    reasons = {e["address"]: e["reasons"] for e in report["excluded"]}
    for vf in vfs:
        assert reasons[vf] == [f'lab.example.com/comms: no DDP profile (no devlink device for {vf} or its PF {pf}): ddpProfiles ["ICE COMMS Package"]'], reasons[vf]
    assert report["pools"][0]["devices"] == [], report["pools"]
print(f"devlink read as root and as nobody without capabilities: {len(theirs)} devices, as devlink dev info says")
PY
lab_assert_eq "devlink: no devices." "$(grep '^devlink:' "$out/discover.txt")" "the text report's devlink line"
