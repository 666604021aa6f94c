"""A network with `"dra"`: the VFs the DRA driver prepared for the pod (its checkpoint,
by K8S_POD_UID), each attached as net1, net2, ... with its claim's mtu, after the
primary plugin's result (prevResult), all detached on DEL. The checkpoint is written
here in the driver's format (Sources/DRACheckpoint; the driver writes it in
Tests/interop/test_dra_plugin.py)."""
import json

import pytest

from conftest import Rig

POD_UID = "5e7a1c2d-pod"
PRIMARY = {"cniVersion": "1.0.0", "interfaces": [{"name": "eth0", "sandbox": "/var/run/netns/x"}],
           "ips": [{"address": "10.244.1.5/24", "interface": 0}], "routes": [{"dst": "0.0.0.0/0", "gw": "10.244.1.1"}],
           "dns": {"nameservers": ["10.96.0.10"]}}


@pytest.fixture
def rig2():
    rig = Rig(vfs=2)
    yield rig
    rig.close()


def write_checkpoint(rig, devices, pod=POD_UID, state="prepared"):
    claim = {"uid": "claim-uid", "namespace": "team", "name": "vfs", "state": state, "pods": [pod],
             "devices": [{"requestNames": ["vf"], "pool": "worker-1/intel.com/vfs", "device": address.replace(":", "-").replace(".", "-"),
                          "id": address, "resource": "intel.com/vfs", "pciAddress": address,
                          "cdiDeviceIDs": [f"sriov-rdma.io/vf=claim-uid-{index}"], "parameters": parameters}
                         for index, (address, parameters) in enumerate(devices)]}
    path = rig.work / "checkpoint.json"
    path.write_text(json.dumps({"version": 1, "claims": [claim]}))
    return str(path)


def dra_config(rig, checkpoint, prev=True):
    conf = rig.config(dra={"checkpoint": checkpoint})
    del conf["deviceID"]
    # Two VFs on one subnet: a route through its gateway could be set on one of them only.
    del conf["ipam"]["routes"]
    if prev:
        conf["prevResult"] = PRIMARY
    return conf


def env(pod=POD_UID):
    return {"CNI_ARGS": f"IgnoreUnknown=1;K8S_POD_NAMESPACE=team;K8S_POD_NAME=p;K8S_POD_UID={pod}"}


def test_the_pods_prepared_vfs_are_attached_after_the_primary_and_detached(rig2):
    rig = rig2
    before = rig.snapshot()
    checkpoint = write_checkpoint(rig, [(rig.address(0), {"mtu": 1400}), (rig.address(1), {})])
    conf = dra_config(rig, checkpoint)
    add = rig.cni("ADD", conf, ifname="eth0", env=env())
    assert add.status == 0, add
    result = add.json
    assert [i["name"] for i in result["interfaces"]] == ["eth0", "net1", "net2"]
    assert [(ip["address"], ip["interface"]) for ip in result["ips"]] == [("10.244.1.5/24", 0), ("10.56.0.2/24", 1),
                                                                         ("10.56.0.3/24", 2)]
    assert result["dns"] == {"nameservers": ["10.96.0.10"]}
    assert rig.link(rig.pod, "net1")["mtu"] == 1400
    assert rig.link(rig.pod, "net2")["mtu"] == 1500
    assert rig.link(rig.host, "vf0") is None and rig.link(rig.host, "vf1") is None
    # What the DRA driver reads for the claims' networkData (Sources/DRADriver/
    # ClaimStatusReporter.swift, NetworkAttachment): one record per VF, phase added, its
    # PCI address, and in its result the interface by name in a sandbox and its addresses.
    records = {r["deviceID"]: r for r in (json.loads(p.read_text()) for p in (rig.state_dir / "attachments").glob("*.json"))}
    for index, ifname, address in [(0, "net1", "10.56.0.2/24"), (1, "net2", "10.56.0.3/24")]:
        record = records[rig.address(index)]
        assert (record["phase"], record["ifname"]) == ("added", ifname)
        interfaces = record["result"]["interfaces"]
        own = [n for n, i in enumerate(interfaces) if i["name"] == ifname and i.get("sandbox")]
        assert len(own) == 1 and interfaces[own[0]]["mac"] == rig.link(rig.pod, ifname)["address"]
        assert [ip["address"] for ip in record["result"]["ips"] if ip.get("interface", 0) == own[0]] == [address]
    check = dict(conf, prevResult=result)
    assert rig.cni("CHECK", check, ifname="eth0", env=env()).status == 0
    assert rig.cni("DEL", conf, ifname="eth0", env=env()).status == 0
    assert rig.snapshot() == before
    assert rig.cni("DEL", conf, ifname="eth0", env=env()).status == 0


def test_a_pod_with_nothing_prepared_passes_prevresult_on(rig2):
    rig = rig2
    before = rig.snapshot()
    checkpoint = write_checkpoint(rig, [(rig.address(0), {})], pod="another-pod")
    add = rig.cni("ADD", dra_config(rig, checkpoint), ifname="eth0", env=env())
    assert add.status == 0, add
    assert add.json["interfaces"] == PRIMARY["interfaces"]
    assert rig.snapshot() == before


def test_a_failed_attach_detaches_the_others_and_fails_add(rig2):
    """The pod must not start without its devices."""
    rig = rig2
    before = rig.snapshot()
    checkpoint = write_checkpoint(rig, [(rig.address(0), {}), ("0000:00:0f.0", {})])
    call = rig.cni("ADD", dra_config(rig, checkpoint), ifname="eth0", env=env())
    assert call.status != 0
    assert call.json["code"] == 101 and "0000:00:0f.0" in call.json["msg"], call.json
    assert rig.snapshot() == before


@pytest.mark.parametrize("args, dra, code, text", [
    ("IgnoreUnknown=1;K8S_POD_NAME=p", None, 7, "dra: CNI_ARGS has no K8S_POD_UID"),
    (None, {"checkpoint": "relative.json"}, 7, "invalid dra.checkpoint"),
    (None, {"ifnamePrefix": "averyveryverylongprefix"}, 7, "invalid dra.ifnamePrefix"),
    (None, "yes", 7, "invalid dra \"yes\""),
    (None, {"checkpoint": "/nonexistent/dir/checkpoint.json"}, None, None),
])
def test_bad_input_is_named(rig2, args, dra, code, text):
    rig = rig2
    before = rig.snapshot()
    conf = dra_config(rig, write_checkpoint(rig, [(rig.address(0), {})]))
    if dra is not None:
        conf["dra"] = dra
    call = rig.cni("ADD", conf, ifname="eth0", env={"CNI_ARGS": args} if args else env())
    if code is None:
        # No checkpoint at all: the driver prepared nothing on this node yet.
        assert call.status == 0, call
    else:
        assert (call.status != 0 and call.json["code"] == code and text in call.json["msg"]), call
    assert rig.snapshot() == before


def test_a_corrupt_checkpoint_fails_add(rig2):
    rig = rig2
    path = rig.work / "checkpoint.json"
    path.write_text("{not json")
    call = rig.cni("ADD", dra_config(rig, str(path)), ifname="eth0", env=env())
    assert call.json["code"] == 101 and call.json["msg"] == "dra: cannot read the DRA driver's checkpoint", call
    assert "is not JSON" in call.json["details"]
