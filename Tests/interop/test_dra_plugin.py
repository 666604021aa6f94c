"""The DRA kubelet plugin against grpcio with kubelet's own protos (dra v1 and v1beta1,
dra-health v1, pluginregistration), as kubelet drives it: the plugin watcher finds
`<driver>-reg.sock` in plugins_registry, GetInfo, NotifyRegistrationStatus, then
NodePrepareResources and NodeUnprepareResources on the endpoint GetInfo named, with
retries and across a plugin restart, and NodeWatchResources. The node is a fixture
(sysfs_fixture), the claims are files as the API server would return them
(dp-interop-server dra; the API client is issue #21's next part)."""
import importlib
import json
import os
import pathlib
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import grpc
import pytest

from conftest import REPO, interop_binary
from sysfs_fixture import SysfsTree

DRIVER = "sriov-rdma.io"
POOL = "worker-1/openshift.io/igb-vfs"
CONFIG = {"resourceList": [{"resourceName": "igb_vfs", "resourcePrefix": "openshift.io", "selectors": {"drivers": ["igbvf"]}}]}


@pytest.fixture(scope="module")
def protos():
    from grpc_tools import protoc

    out = tempfile.mkdtemp(prefix="dra-proto-")
    names = {"dra_v1": "dra-v1.proto", "dra_v1beta1": "dra-v1beta1.proto", "dra_health": "dra-health-v1.proto",
             "pluginregistration": "pluginregistration.proto"}
    for module, proto in names.items():
        shutil.copy(REPO / "Tests" / "interop" / proto, os.path.join(out, module + ".proto"))
        assert protoc.main(["protoc", f"-I{out}", f"--python_out={out}", f"--grpc_python_out={out}",
                            os.path.join(out, module + ".proto")]) == 0
    sys.path.insert(0, out)
    return {module: (importlib.import_module(module + "_pb2"), importlib.import_module(module + "_pb2_grpc")) for module in names}


class Node:
    def __init__(self, base):
        self.base = base
        self.sys = base / "sys"
        self.dev = base / "dev"
        self.dev.mkdir(parents=True)
        self.tree = SysfsTree(str(self.sys), vfs=3)
        self.claims = base / "claims"
        self.registry = base / "registry"
        self.plugin_dir = base / "plugin"
        self.cdi = base / "cdi"
        self.config = base / "config.json"
        self.config.write_text(json.dumps(CONFIG))
        self.process = None

    def claim(self, name, uid, devices, configs=(), namespace="team"):
        results = [{"request": "vf", "driver": DRIVER, "pool": POOL, "device": device} for device in devices]
        body = {"apiVersion": "resource.k8s.io/v1", "kind": "ResourceClaim",
                "metadata": {"namespace": namespace, "name": name, "uid": uid},
                "status": {"allocation": {"devices": {"results": results, "config": list(configs)}},
                           "reservedFor": [{"resource": "pods", "name": "pod-" + name, "uid": "pod-" + uid}]}}
        path = self.claims / namespace / (name + ".json")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(body))

    def start(self):
        self.process = subprocess.Popen(
            [interop_binary(), "dra", "--config", str(self.config), "--sys-root", str(self.sys), "--dev-root", str(self.dev),
             "--claims", str(self.claims), "--plugins-registry", str(self.registry), "--plugin-dir", str(self.plugin_dir),
             "--cdi-dir", str(self.cdi)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.process.stdout.readline()
        assert line.startswith("serving"), self.process.stderr.read() if self.process.poll() is not None else line
        return self

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            assert self.process.wait(timeout=20) == 0, self.process.stderr.read()


@pytest.fixture
def node():
    base = pathlib.Path(tempfile.mkdtemp(prefix="dra-", dir="/tmp"))
    node = Node(base)
    yield node
    node.stop()
    shutil.rmtree(base, ignore_errors=True)


def register(node, protos):
    """What kubelet's plugin watcher does with a socket in plugins_registry."""
    pb, stubs = protos["pluginregistration"]
    socket = node.registry / f"{DRIVER}-reg.sock"
    with grpc.insecure_channel(f"unix://{socket}") as channel:
        registration = stubs.RegistrationStub(channel)
        info = registration.GetInfo(pb.InfoRequest(), timeout=10)
        registration.NotifyRegistrationStatus(pb.RegistrationStatus(plugin_registered=True), timeout=10)
    return info


def prepare(channel, module, claims, unprepare=False):
    pb, stubs = module
    stub = stubs.DRAPluginStub(channel)
    request = (pb.NodeUnprepareResourcesRequest if unprepare else pb.NodePrepareResourcesRequest)(
        claims=[pb.Claim(namespace=ns, name=name, uid=uid) for ns, name, uid in claims])
    call = stub.NodeUnprepareResources if unprepare else stub.NodePrepareResources
    return call(request, timeout=30)


def test_registration_prepare_retry_restart_unprepare(node, protos):
    node.claim("claim-a", "uid-a", ["0000-01-10-0", "0000-01-10-2"])
    node.start()
    info = register(node, protos)
    assert (info.type, info.name, info.endpoint) == ("DRAPlugin", DRIVER, str(node.plugin_dir / "dra.sock"))
    assert list(info.supported_versions) == ["v1.DRAPlugin", "v1beta1.DRAPlugin", "v1alpha1.DRAResourceHealth",
                                             "v1.DRAResourceHealth"]
    claim = ("team", "claim-a", "uid-a")
    with grpc.insecure_channel(f"unix://{info.endpoint}") as channel:
        response = prepare(channel, protos["dra_v1"], [claim])
        entry = response.claims["uid-a"]
        assert entry.error == ""
        assert [(list(d.request_names), d.pool_name, d.device_name, list(d.cdi_device_ids)) for d in entry.devices] == [
            (["vf"], POOL, "0000-01-10-0", [f"{DRIVER}/vf=uid-a-0000-01-10-0"]),
            (["vf"], POOL, "0000-01-10-2", [f"{DRIVER}/vf=uid-a-0000-01-10-2"]),
        ]
        assert not entry.devices[0].HasField("share_id")
        spec = json.loads((node.cdi / f"{DRIVER}-uid-a.json").read_text())
        assert spec["kind"] == f"{DRIVER}/vf"
        assert [d["name"] for d in spec["devices"]] == ["uid-a-0000-01-10-0", "uid-a-0000-01-10-2"]
        assert spec["containerEdits"]["env"] == ["PCIDEVICE_OPENSHIFT_IO_IGB_VFS=0000:01:10.0,0000:01:10.2"]
        # kubelet retries: the same answer.
        assert prepare(channel, protos["dra_v1"], [claim]) == response
    node.stop()

    # A restarted plugin answers from its checkpoint, v1beta1 as well, even with the claim gone from the API.
    (node.claims / "team" / "claim-a.json").unlink()
    node.start()
    info = register(node, protos)
    with grpc.insecure_channel(f"unix://{info.endpoint}") as channel:
        again = prepare(channel, protos["dra_v1beta1"], [claim]).claims["uid-a"]
        assert [d.device_name for d in again.devices] == ["0000-01-10-0", "0000-01-10-2"]
        assert prepare(channel, protos["dra_v1"], [claim], unprepare=True).claims["uid-a"].error == ""
        assert not (node.cdi / f"{DRIVER}-uid-a.json").exists()
        # Unprepare again: nothing left, no error.
        assert prepare(channel, protos["dra_v1"], [claim], unprepare=True).claims["uid-a"].error == ""
    checkpoint = json.loads((node.plugin_dir / "checkpoint.json").read_text())
    assert checkpoint == {"version": 1, "claims": []}


def test_each_claim_gets_its_own_answer(node, protos):
    node.claim("good", "uid-good", ["0000-01-10-4"])
    node.claim("other-node", "uid-other", ["0000-99-00-0"])
    node.claim("params", "uid-params", ["0000-01-10-0"], configs=[
        {"source": "FromClaim", "opaque": {"driver": DRIVER, "parameters": {"vlan": 5000}}}])
    node.start()
    info = register(node, protos)
    with grpc.insecure_channel(f"unix://{info.endpoint}") as channel:
        response = prepare(channel, protos["dra_v1"], [("team", "good", "uid-good"), ("team", "other-node", "uid-other"),
                                                      ("team", "params", "uid-params"), ("team", "missing", "uid-missing"),
                                                      ("team", "good", "uid-recreated")])
    claims = response.claims
    assert claims["uid-good"].error == "" and len(claims["uid-good"].devices) == 1
    assert claims["uid-other"].error == f"ResourceClaim team/other-node: device 0000-99-00-0 is not in pool {POOL} now"
    assert "invalid vlan 5000: must be an integer in 0...4094" in claims["uid-params"].error
    assert claims["uid-missing"].error.startswith("ResourceClaim team/missing: cannot be read: ")
    assert "has UID uid-good, kubelet asked for uid-recreated" in claims["uid-recreated"].error
    assert sorted(os.listdir(node.cdi)) == [f"{DRIVER}-uid-good.json"]


def test_health_stream_lists_every_device_and_follows_changes(node, protos):
    node.start()
    info = register(node, protos)
    pb, stubs = protos["dra_health"]
    with grpc.insecure_channel(f"unix://{info.endpoint}") as channel:
        stream = stubs.DRAResourceHealthStub(channel).NodeWatchResources(pb.NodeWatchResourcesRequest(), timeout=30)
        first = next(stream)
        assert sorted((d.device.pool_name, d.device.device_name, d.health) for d in first.devices) == [
            (POOL, "0000-01-10-0", pb.HEALTHY), (POOL, "0000-01-10-2", pb.HEALTHY), (POOL, "0000-01-10-4", pb.HEALTHY)]
        assert all(d.last_updated_time > 1_700_000_000 for d in first.devices)
        node.tree.add_vf(3)
        node.process.send_signal(signal.SIGUSR1)
        second = next(stream)
        assert len(second.devices) == 4
        stream.cancel()
