"""sriov-rdma-dp run --dra-pools: the daemon serving a pool through DRA, against an API
server stand-in that checks every write against resource.k8s.io/v1's published OpenAPI
schema and kube-apiserver's validation rules (Tests/KubeAPITests/apiserver_standin.py
--openapi), and grpcio with kubelet's protos as kubelet (plugins_registry, dra v1).

The daemon publishes the node's ResourceSlices (owner: the Node), follows a VF added
and removed with a new generation, adopts its slices after a restart without writing,
prepares a claim the way the scheduler allocated it (GET from the API, CDI spec,
status.devices written with server-side apply), unprepares it, keeps device-plugin pools
beside DRA pools without serving one name both ways, and deletes the slices of a pool
the config no longer has."""
import json
import os
import pathlib
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.request

import grpc
import pytest

from conftest import REPO
from sysfs_fixture import SysfsTree
from test_daemon import dp_binary
from test_dra_plugin import protos, prepare, register  # noqa: F401 (protos is a fixture)

DRIVER = "sriov-rdma.io"
NODE = "worker-1"
POOL = f"{NODE}/openshift.io/igb-vfs"
SLICES = "/apis/resource.k8s.io/v1/resourceslices"
TOKEN = "dra-daemon-test-token"
STANDIN = REPO / "Tests" / "KubeAPITests" / "apiserver_standin.py"
OPENAPI = REPO / "Tests" / "interop" / "resource-v1-openapi.json"


def wait_for(condition, what, timeout=30, node=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    pytest.fail(f"timed out waiting for {what}" + (f"; daemon log:\n{node.logs()}" if node else ""))


class APIServer:
    """The stand-in on 127.0.0.1 with a certificate made for this test."""

    def __init__(self, base):
        self.base = base
        ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        run = lambda *args: subprocess.run(["openssl", *args], cwd=base, check=True, capture_output=True)
        run("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.crt", "-days", "2", "-subj", "/CN=dra-test-ca")
        run("req", "-new", *ec, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1")
        (base / "server.ext").write_text("subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n")
        run("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
            "-out", "server.crt", "-days", "2", "-extfile", "server.ext")
        self.process = subprocess.Popen(
            [sys.executable, str(STANDIN), "--cert", str(base / "server.crt"), "--key", str(base / "server.key"),
             "--token", TOKEN, "--openapi", str(OPENAPI)], stdout=subprocess.PIPE, text=True)
        self.port = int(self.process.stdout.readline())
        self.context = ssl.create_default_context(cafile=str(base / "ca.crt"))
        self.kubeconfig = base / "kubeconfig"
        self.kubeconfig.write_text(json.dumps({
            "apiVersion": "v1", "kind": "Config", "current-context": "test",
            "clusters": [{"name": "test", "cluster": {"server": f"https://127.0.0.1:{self.port}",
                                                      "certificate-authority": str(base / "ca.crt")}}],
            "users": [{"name": "dp", "user": {"token": TOKEN}}],
            "contexts": [{"name": "test", "context": {"cluster": "test", "user": "dp"}}]}))

    def call(self, method, path, body=None, content_type="application/json"):
        request = urllib.request.Request(f"https://127.0.0.1:{self.port}{path}", method=method,
                                         data=None if body is None else json.dumps(body).encode(),
                                         headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": content_type})
        try:
            with urllib.request.urlopen(request, context=self.context, timeout=10) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as error:
            return json.loads(error.read())

    def slices(self):
        return sorted(self.call("GET", SLICES)["items"], key=lambda s: s["metadata"]["name"])

    def requests(self):
        return self.call("GET", "/_control/requests")["requests"]

    def rejected(self):
        return [(r["method"], r["path"], r["answer"], r["body"][:300]) for r in self.requests() if r.get("answer") == 422]

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=10)


class Node:
    def __init__(self, base, api, config):
        self.base = base
        self.api = api
        self.sysfs = SysfsTree(str(base / "sys"))
        (base / "dev").mkdir()
        self.kubelet_dir = base / "kubelet" / "device-plugins"
        self.registry = base / "kubelet" / "plugins_registry"
        self.plugin_dir = base / "kubelet" / "plugins" / DRIVER
        self.kubelet_dir.mkdir(parents=True)
        self.registry.mkdir(parents=True)
        self.state = base / "state"
        self.cni_state = base / "cni-state"
        self.config = base / "config.json"
        self.write_config(config)
        self.process = None
        self.log = None

    def write_config(self, config):
        temporary = self.config.with_suffix(".new")
        temporary.write_text(json.dumps(config))
        os.rename(temporary, self.config)

    def start(self, dra_pools="igb_vfs"):
        self.log = open(self.base / "dp.log", "a")
        self.process = subprocess.Popen(
            [dp_binary(), "run", "--config", str(self.config), "--kubelet-dir", str(self.kubelet_dir),
             "--plugins-registry-dir", str(self.registry), "--sys-root", str(self.base / "sys"),
             "--dev-root", str(self.base / "dev"), "--state-dir", str(self.state), "--poll-interval", "0.2",
             "--log-level", "debug", "--dra-pools", dra_pools, "--node-name", NODE, "--kubeconfig", str(self.api.kubeconfig),
             "--cni-state-dir", str(self.cni_state)],
            stdout=self.log, stderr=subprocess.STDOUT)

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            assert self.process.wait(timeout=20) == 0, self.logs()

    def logs(self):
        return (self.base / "dp.log").read_text()[-6000:]


CONFIG = {"resourceList": [{"resourceName": "igb_vfs", "resourcePrefix": "openshift.io", "selectors": {"drivers": ["igbvf"]}}]}


@pytest.fixture
def cluster():
    base = pathlib.Path(tempfile.mkdtemp(prefix="dra-dp-", dir="/tmp"))
    api = APIServer(base)
    node = Node(base, api, CONFIG)
    created = api.call("POST", "/api/v1/nodes", {"apiVersion": "v1", "kind": "Node", "metadata": {"name": NODE}})
    node.uid = created["metadata"]["uid"]
    yield api, node
    node.stop()
    api.stop()
    if os.environ.get("KEEP_DP_LOGS"):
        print(node.logs())
    shutil.rmtree(base, ignore_errors=True)


def devices_of(slices):
    return sorted(d["name"] for s in slices for d in s["spec"]["devices"])


def test_slices_published_followed_and_adopted(cluster):
    api, node = cluster
    node.start()
    slices = wait_for(lambda: api.slices() or None, "the pool's ResourceSlice", timeout=30)
    assert len(slices) == 1, slices
    spec = slices[0]["spec"]
    assert (spec["driver"], spec["nodeName"], spec["pool"]) == (DRIVER, NODE, {"name": POOL, "generation": 1, "resourceSliceCount": 1})
    assert slices[0]["metadata"]["ownerReferences"] == [
        {"apiVersion": "v1", "kind": "Node", "name": NODE, "uid": node.uid, "controller": True}]
    assert slices[0]["metadata"]["name"].startswith(f"{NODE}-{DRIVER}-")
    assert devices_of(slices) == ["0000-01-10-0", "0000-01-10-2", "0000-01-10-4"]
    first = spec["devices"][0]["attributes"]
    assert first["resource.kubernetes.io/pciBusID"] == {"string": "0000:01:10.0"}
    assert first["resource.kubernetes.io/pcieRoot"] == {"string": "pci0000:00"}
    assert first[f"{DRIVER}/resourceName"] == {"string": "openshift.io/igb_vfs"}
    assert first[f"{DRIVER}/pfName"] == {"string": "enp1s0"} and first[f"{DRIVER}/vfIndex"] == {"int": 0}
    # No device-plugin socket for a pool served through DRA.
    assert not [name for name in os.listdir(node.registry) if name.startswith("sriov-rdma-openshift.io")]

    # A VF appears: the same slice, updated in place with the next generation.
    node.sysfs.add_vf(3)
    wait_for(lambda: devices_of(api.slices()) == ["0000-01-10-0", "0000-01-10-2", "0000-01-10-4", "0000-01-10-6"],
             "the new VF in the slice")
    after = api.slices()
    assert [s["metadata"]["name"] for s in after] == [slices[0]["metadata"]["name"]]
    assert after[0]["spec"]["pool"]["generation"] == 2
    node.sysfs.remove_vf(3)
    wait_for(lambda: api.slices()[0]["spec"]["pool"]["generation"] == 3, "generation 3 without the VF")
    assert devices_of(api.slices()) == ["0000-01-10-0", "0000-01-10-2", "0000-01-10-4"]

    # A restarted daemon adopts its slices: nothing written while the node is unchanged.
    node.stop()
    writes_before = len([r for r in api.requests() if r["method"] != "GET"])
    node.start()
    wait_for(lambda: "igb-vfs: generation 3, 3 devices in 1 ResourceSlices, current" in node.logs(),
             "the restarted daemon to adopt its slices", node=node)
    writes = [(r["method"], r["path"]) for r in api.requests() if r["method"] != "GET"]
    assert len(writes) == writes_before, writes[writes_before:]
    lists = [r for r in api.requests() if r["method"] == "GET" and r["path"] == SLICES]
    assert lists[-1]["query"]["fieldSelector"] == f"spec.nodeName={NODE},spec.driver={DRIVER}"

    # A config that would move the pool to the device plugin (a shared pool) is refused; the slices stay.
    node.write_config({"resourceList": [{"resourceName": "igb_vfs", "resourcePrefix": "openshift.io", "deviceType": "rdmaShared", "rdmaHcaMax": 10,
                                         "selectors": {"drivers": ["igbvf"]}}]})
    wait_for(lambda: "config reload failed, keeping the previous config: --dra-pools: openshift.io/igb_vfs is a shared RDMA pool"
             in node.logs(), "the reload refused", node=node)
    assert devices_of(api.slices()) == ["0000-01-10-0", "0000-01-10-2", "0000-01-10-4"]

    # The config drops the pool (keeping another, served through the device plugin): its slices go.
    node.write_config({"resourceList": [{"resourceName": "cx6", "selectors": {"drivers": ["mlx5_core"]}}]})
    wait_for(lambda: api.slices() == [], "the pool's slices deleted", node=node)
    assert api.rejected() == []


def test_slices_deleted_by_kubelet_come_back_when_it_registers_the_driver(cluster, protos):
    """kubelet deletes every ResourceSlice of its node when it starts, then registers plugins again."""
    api, node = cluster
    node.start()
    slices = wait_for(lambda: api.slices() or None, "the pool's ResourceSlice")
    for item in slices:
        api.call("DELETE", f"{SLICES}/{item['metadata']['name']}")
    assert api.slices() == []
    register(node, protos)
    again = wait_for(lambda: api.slices() or None, "the slices published again", node=node)
    assert devices_of(again) == devices_of(slices)
    assert again[0]["spec"]["pool"]["generation"] == 1


def allocate_claim(api, name, parameters=None, gpu=False):
    """A claim for one VF (and with `gpu` a GPU of another driver), allocated as the
    scheduler does it (a device of the published slice, the claim's opaque config),
    reserved for pod `pod-uid-1`: its UID."""
    requests = [{"name": "vf", "exactly": {"deviceClassName": "igb-vfs", "count": 1}}]
    results = [{"request": "vf", "driver": DRIVER, "pool": POOL, "device": "0000-01-10-2"}]
    if gpu:
        requests.append({"name": "gpu", "exactly": {"deviceClassName": "gpus", "count": 1}})
        results.append({"request": "gpu", "driver": "gpu.example.com", "pool": NODE, "device": "gpu-0"})
    claim = {"apiVersion": "resource.k8s.io/v1", "kind": "ResourceClaim",
             "metadata": {"namespace": "team", "name": name}, "spec": {"devices": {"requests": requests}}}
    created = api.call("POST", "/apis/resource.k8s.io/v1/namespaces/team/resourceclaims", claim)
    allocated = api.call("PUT", f"/apis/resource.k8s.io/v1/namespaces/team/resourceclaims/{name}/status", dict(created, status={
        "allocation": {"devices": {
            "results": results,
            "config": [{"source": "FromClaim", "requests": ["vf"],
                        "opaque": {"driver": DRIVER, "parameters": parameters or {}}}]},
            "nodeSelector": {"nodeSelectorTerms": [{"matchFields": [{"key": "metadata.name", "operator": "In", "values": [NODE]}]}]}},
        "reservedFor": [{"resource": "pods", "name": "trainer", "uid": "pod-uid-1"}]}))
    assert allocated["kind"] == "ResourceClaim", allocated
    return created["metadata"]["uid"]


def test_claim_prepared_from_the_api_with_status_then_unprepared(cluster, protos):
    api, node = cluster
    node.start()
    wait_for(lambda: api.slices() or None, "the pool's ResourceSlice")
    uid = allocate_claim(api, "vf-claim", {"mtu": 9000, "rdmaIsolation": True}, gpu=True)

    info = register(node, protos)
    assert info.endpoint == str(node.plugin_dir / "dra.sock")
    with grpc.insecure_channel(f"unix://{info.endpoint}") as channel:
        response = prepare(channel, protos["dra_v1"], [("team", "vf-claim", uid)]).claims[uid]
        assert response.error == ""
        assert [(d.pool_name, d.device_name, list(d.cdi_device_ids)) for d in response.devices] == [
            (POOL, "0000-01-10-2", [f"{DRIVER}/vf={uid}-0000-01-10-2"])]
        spec = json.loads((node.state / "cdi" / f"{DRIVER}-{uid}.json").read_text())
        assert spec["containerEdits"]["env"] == ["PCIDEVICE_OPENSHIFT_IO_IGB_VFS=0000:01:10.2"]

        claim_path = "/apis/resource.k8s.io/v1/namespaces/team/resourceclaims/vf-claim"

        def status_devices():
            return (api.call("GET", claim_path).get("status") or {}).get("devices")
        devices = wait_for(status_devices, "status.devices written", node=node)
        assert [(d["driver"], d["pool"], d["device"]) for d in devices] == [(DRIVER, POOL, "0000-01-10-2")]
        ready = devices[0]["conditions"][0]
        assert (ready["type"], ready["status"], ready["reason"]) == ("Ready", "True", "Prepared")
        assert devices[0]["data"]["pciAddress"] == "0000:01:10.2"
        assert devices[0]["data"]["parameters"] == {"rdmaIsolation": True, "mtu": 9000}
        assert devices[0]["data"]["attributes"]["resource.kubernetes.io/pciBusID"] == {"string": "0000:01:10.2"}
        assert "networkData" not in devices[0]
        def applies():
            return [r for r in api.requests() if r["method"] == "PATCH" and r["path"] == claim_path + "/status"]
        assert applies()[0]["contentType"] == "application/apply-patch+yaml"
        assert applies()[0]["query"] == {"fieldManager": DRIVER, "force": "true"}

        # Another driver's entry in the same claim is left alone throughout.
        other = {"driver": "gpu.example.com", "pool": NODE, "device": "gpu-0",
                 "conditions": [{"type": "Ready", "status": "True", "reason": "Prepared", "message": "",
                                 "lastTransitionTime": "2026-12-06T00:00:00Z"}]}
        api.call("PATCH", claim_path + "/status?fieldManager=gpu.example.com&force=true",
                 {"apiVersion": "resource.k8s.io/v1", "kind": "ResourceClaim", "metadata": {"name": "vf-claim", "namespace": "team"},
                  "status": {"devices": [other]}}, content_type="application/apply-patch+yaml")

        # Our CNI attached the VF (its state record, as Tests/cni/test_dra.py shows our CNI
        # writes it): the entry gets the pod's interface, addresses and MAC.
        records = node.cni_state / "attachments"
        records.mkdir(parents=True)
        (records / "c0ffee-net1.json").write_text(json.dumps({
            "version": 1, "phase": "added", "network": "dra-vfs", "containerID": "c0ffee", "ifname": "net1",
            "netns": "/var/run/netns/p", "deviceID": "0000:01:10.2",
            "result": {"cniVersion": "1.0.0",
                       "interfaces": [{"name": "eth0", "sandbox": "/var/run/netns/p"},
                                      {"name": "net1", "mac": "02:00:00:00:10:02", "sandbox": "/var/run/netns/p"}],
                       "ips": [{"address": "10.244.1.5/24", "interface": 0}, {"address": "10.56.0.2/24", "interface": 1}]}}))
        mine = lambda: [d for d in status_devices() or [] if d["driver"] == DRIVER]
        attached = wait_for(lambda: [d for d in mine() if "networkData" in d], "networkData from the CNI record", node=node)
        assert attached[0]["networkData"] == {"interfaceName": "net1", "ips": ["10.56.0.2/24"], "hardwareAddress": "02:00:00:00:10:02"}
        assert attached[0]["conditions"] == devices[0]["conditions"]

        # A retried Prepare and a restarted daemon: the same answer, the same status,
        # nothing applied that changes it (lastTransitionTime stays).
        count = len(applies())
        assert prepare(channel, protos["dra_v1"], [("team", "vf-claim", uid)]).claims[uid].devices == response.devices
    node.stop()
    node.start()
    wait_for(lambda: (node.registry / f"{DRIVER}-reg.sock").exists(), "the restarted daemon's registration socket", node=node)
    info = register(node, protos)
    with grpc.insecure_channel(f"unix://{info.endpoint}") as channel:
        assert prepare(channel, protos["dra_v1"], [("team", "vf-claim", uid)]).claims[uid].devices == response.devices
        wait_for(lambda: len(applies()) > count, "the restarted daemon's apply", node=node)
        assert mine() == attached

        # The CNI detached the VF: the interface and addresses go.
        (records / "c0ffee-net1.json").unlink()
        wait_for(lambda: all("networkData" not in d for d in mine()), "networkData removed", node=node)

        # The checkpoint the CNI reads names the pod the claim is reserved for.
        checkpoint = json.loads((node.plugin_dir / "checkpoint.json").read_text())
        assert [(c["uid"], c["pods"]) for c in checkpoint["claims"]] == [(uid, ["pod-uid-1"])]

        # Unprepared while the claim stays allocated: our entries go, the GPU driver's stay.
        assert prepare(channel, protos["dra_v1"], [("team", "vf-claim", uid)], unprepare=True).claims[uid].error == ""
        assert not (node.state / "cdi" / f"{DRIVER}-{uid}.json").exists()
        wait_for(lambda: status_devices() == [other], "our status.devices entries removed", node=node)
    assert api.rejected() == []


def test_claim_status_is_retried_until_the_api_server_takes_it(cluster, protos):
    api, node = cluster
    node.start()
    wait_for(lambda: api.slices() or None, "the pool's ResourceSlice")
    uid = allocate_claim(api, "retried")
    info = register(node, protos)
    # The API server fails the claim's first three status applies.
    path = "/apis/resource.k8s.io/v1/namespaces/team/resourceclaims/retried"
    api.call("POST", "/_control/faults", {"faults": [{"status": 503, "path": path + "/status"}] * 3})
    with grpc.insecure_channel(f"unix://{info.endpoint}") as channel:
        assert prepare(channel, protos["dra_v1"], [("team", "retried", uid)]).claims[uid].error == ""
    devices = wait_for(lambda: (api.call("GET", path).get("status") or {}).get("devices"), "status.devices after 503s",
                       timeout=30, node=node)
    assert devices[0]["conditions"][0]["status"] == "True"
    answers = [r.get("answer") for r in api.requests() if r["method"] == "PATCH" and r["path"] == path + "/status"]
    assert answers[:3] == [503, 503, 503] and answers[-1] == 200, answers
    assert "status.devices not written (again in" in node.logs()


def test_device_plugin_and_dra_pools_side_by_side(cluster):
    api, node = cluster
    node.write_config({"resourceList": [
        {"resourceName": "igb_vfs", "resourcePrefix": "openshift.io", "selectors": {"drivers": ["igbvf"], "pfNames": ["enp1s0#0-1"]}},
        {"resourceName": "igb_dp", "resourcePrefix": "openshift.io", "selectors": {"drivers": ["igbvf"], "pfNames": ["enp1s0#2"]}}]})
    node.start(dra_pools="openshift.io/igb_vfs")
    wait_for(lambda: api.slices() or None, "the DRA pool's slice")
    assert devices_of(api.slices()) == ["0000-01-10-0", "0000-01-10-2"]
    # The other pool is a device-plugin socket in plugins_registry, and DRA never publishes it.
    wait_for(lambda: [n for n in os.listdir(node.registry) if n.startswith("sriov-rdma-openshift.io_igb_dp-")],
             "the device-plugin pool's socket")
    assert not [n for n in os.listdir(node.registry) if n.startswith("sriov-rdma-openshift.io_igb_vfs-")]
    assert {s["spec"]["pool"]["name"] for s in api.slices()} == {POOL}
    assert api.rejected() == []


def test_unusable_dra_flags_are_refused_by_name(cluster):
    api, node = cluster
    result = subprocess.run([dp_binary(), "run", "--config", str(node.config), "--dra-pools", "all",
                             "--kubeconfig", str(api.kubeconfig)], capture_output=True, text=True, timeout=30,
                            env={k: v for k, v in os.environ.items() if k != "NODE_NAME"})
    assert result.returncode != 0
    assert "--dra-pools needs this node's name: set --node-name or NODE_NAME" in result.stderr
    result = subprocess.run([dp_binary(), "run", "--config", str(node.config), "--dra-pools", "all", "--node-name", NODE,
                             "--kubeconfig", str(node.base / "missing-kubeconfig")], capture_output=True, text=True, timeout=30)
    assert result.returncode != 0 and "--dra-pools needs the API server" in result.stderr
    result = subprocess.run([dp_binary(), "run", "--config", str(node.config), "--node-name", NODE], capture_output=True,
                            text=True, timeout=30)
    assert result.returncode != 0 and "--node-name only applies with --dra-pools, which is not given" in result.stderr
    result = subprocess.run([dp_binary(), "run", "--config", str(node.config), "--dra-pools", "all,igb_vfs"], capture_output=True,
                            text=True, timeout=30)
    assert result.returncode != 0 and "`all` stands alone, or name the pools" in result.stderr
    result = subprocess.run([dp_binary(), "run", "--config", str(node.config), "--dra-pools", "all", "--node-name", "Not_A_Node",
                             "--kubeconfig", str(api.kubeconfig)], capture_output=True, text=True, timeout=30)
    assert result.returncode != 0 and "node name \"Not_A_Node\" is not a DNS subdomain" in result.stderr
