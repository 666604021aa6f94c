"""Driven from 04-dra-claim.sh inside the lab VM: the DRA driver on real igb VFs, the
API stand-in with --openapi and grpcio with kubelet's protos as in Tests/interop, and
the CNI's dra mode as a runtime calls it."""
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

repo = pathlib.Path(os.environ["LAB_REPO"])
sys.path.insert(0, str(repo / "Tests" / "interop"))
import grpc  # noqa: E402
from grpc_tools import protoc  # noqa: E402
from test_dra_daemon import APIServer, wait_for  # noqa: E402

DRIVER = "sriov-rdma.io"
NODE = "lab"
POOL = f"{NODE}/lab.example.com/igb-vfs"
bin_dir = pathlib.Path(os.environ["LAB_BIN_DIR"])
pf, pf_netdev, vf, vf_netdev = (os.environ[k] for k in ("LAB_PF", "LAB_PF_NETDEV", "LAB_DRA_VF", "LAB_DRA_VF_NETDEV"))
work = pathlib.Path(tempfile.mkdtemp(prefix="dra-lab-"))
out = pathlib.Path(os.environ.get("LAB_CASE_OUT", work))

proto_dir = work / "proto"
proto_dir.mkdir()
modules = {}
for module, proto in {"dra_v1": "dra-v1.proto", "pluginregistration": "pluginregistration.proto"}.items():
    shutil.copy(repo / "Tests" / "interop" / proto, proto_dir / (module + ".proto"))
    assert protoc.main(["protoc", f"-I{proto_dir}", f"--python_out={proto_dir}", f"--grpc_python_out={proto_dir}",
                        str(proto_dir / (module + ".proto"))]) == 0
sys.path.insert(0, str(proto_dir))
for module in ("dra_v1", "pluginregistration"):
    modules[module] = (importlib.import_module(module + "_pb2"), importlib.import_module(module + "_pb2_grpc"))


def vf_entry():
    links = json.loads(subprocess.run(["ip", "-j", "-d", "link", "show", "dev", pf_netdev], capture_output=True, text=True, check=True).stdout)
    entry = next(v for v in links[0]["vfinfo_list"] if v["vf"] == 1)
    return {"vlan": (entry.get("vlan_list") or [{}])[0].get("vlan", 0), "mac": entry.get("address")}


def cni(command, netns, conf, pod_uid):
    env = {"PATH": os.environ["PATH"], "CNI_COMMAND": command, "CNI_CONTAINERID": "c-" + pod_uid, "CNI_IFNAME": "eth0",
           "CNI_NETNS": netns, "CNI_PATH": "/usr/lib/cni",
           "CNI_ARGS": f"IgnoreUnknown=1;K8S_POD_NAMESPACE=team;K8S_POD_NAME=p;K8S_POD_UID={pod_uid}"}
    result = subprocess.run([str(bin_dir / "sriov-rdma-cni")], input=json.dumps(conf), capture_output=True, text=True, env=env)
    print(f"cni {command} {pod_uid} -> {result.returncode}", result.stderr.strip()[-500:])
    return result.returncode, json.loads(result.stdout) if result.stdout.strip() else None


api = APIServer(work)
api.call("POST", "/api/v1/nodes", {"apiVersion": "v1", "kind": "Node", "metadata": {"name": NODE}})
registry, plugin_dir, state = work / "plugins_registry", work / "plugins" / DRIVER, work / "state"
registry.mkdir()
(work / "device-plugins").mkdir()
config = work / "config.json"
config.write_text(json.dumps({"resourceList": [{"resourceName": "igb_vfs", "resourcePrefix": "lab.example.com",
                                                "selectors": {"vendors": ["8086"], "devices": ["10ca"], "drivers": ["igbvf"],
                                                              "isRdma": True}}]}))
log = open(out / "dp.log", "w")
dp = subprocess.Popen([str(bin_dir / "sriov-rdma-dp"), "run", "--config", str(config), "--kubelet-dir", str(work / "device-plugins"),
                       "--plugins-registry-dir", str(registry), "--dra-plugin-dir", str(plugin_dir), "--state-dir", str(state),
                       "--dra-pools", "all", "--node-name", NODE, "--kubeconfig", str(api.kubeconfig), "--log-level", "debug",
                       "--cni-state-dir", str(work / "cni-state")],
                      stdout=log, stderr=subprocess.STDOUT)
try:
    slices = wait_for(lambda: api.slices() or None, "the pool's ResourceSlice", timeout=60)
    devices = {d["name"]: d["attributes"] for s in slices for d in s["spec"]["devices"]}
    device = vf.replace(":", "-").replace(".", "-")
    print("published:", sorted(devices))
    assert list(devices) == [device], devices  # isRdma: only the VF with rxe on it
    assert devices[device][f"{DRIVER}/rdmaDevice"] == {"string": "rxe0"}, devices[device]
    assert devices[device][f"{DRIVER}/netdev"] == {"string": vf_netdev}
    assert devices[device]["resource.kubernetes.io/pcieRoot"]["string"].startswith("pci0000:")

    before = vf_entry()

    def claim(name, parameters, pod_uid):
        created = api.call("POST", "/apis/resource.k8s.io/v1/namespaces/team/resourceclaims", {
            "apiVersion": "resource.k8s.io/v1", "kind": "ResourceClaim", "metadata": {"namespace": "team", "name": name},
            "spec": {"devices": {"requests": [{"name": "vf", "exactly": {"deviceClassName": "igb-vfs"}}]}}})
        api.call("PUT", f"/apis/resource.k8s.io/v1/namespaces/team/resourceclaims/{name}/status", dict(created, status={
            "allocation": {"devices": {
                "results": [{"request": "vf", "driver": DRIVER, "pool": POOL, "device": device}],
                "config": [{"source": "FromClaim", "requests": ["vf"], "opaque": {"driver": DRIVER, "parameters": parameters}}]}},
            "reservedFor": [{"resource": "pods", "name": "p", "uid": pod_uid}]}))
        return created["metadata"]["uid"]

    pb, stubs = modules["pluginregistration"]
    with grpc.insecure_channel(f"unix://{registry}/{DRIVER}-reg.sock") as channel:
        info = stubs.RegistrationStub(channel).GetInfo(pb.InfoRequest(), timeout=10)
        stubs.RegistrationStub(channel).NotifyRegistrationStatus(pb.RegistrationStatus(plugin_registered=True), timeout=10)
    dra_pb, dra_stubs = modules["dra_v1"]
    channel = grpc.insecure_channel(f"unix://{info.endpoint}")
    plugin = dra_stubs.DRAPluginStub(channel)

    def prepare(name, uid, unprepare=False):
        request = (dra_pb.NodeUnprepareResourcesRequest if unprepare else dra_pb.NodePrepareResourcesRequest)(
            claims=[dra_pb.Claim(namespace="team", name=name, uid=uid)])
        return (plugin.NodeUnprepareResources if unprepare else plugin.NodePrepareResources)(request, timeout=60).claims[uid]

    # Claim A: VLAN 100 and a MAC through the PF, the VF into the pod without RDMA isolation.
    uid = claim("vlan-100", {"vlan": 100, "mac": "02:56:00:00:64:01", "rdmaIsolation": False}, "pod-a")
    started = time.monotonic()
    answer = prepare("vlan-100", uid)
    print(f"prepare took {time.monotonic() - started:.2f}s:", answer)
    assert answer.error == "", answer.error
    assert vf_entry() == {"vlan": 100, "mac": "02:56:00:00:64:01"}, vf_entry()
    spec = json.loads((state / "cdi" / f"{DRIVER}-{uid}.json").read_text())
    nodes = [n["path"] for d in spec["devices"] for n in d["containerEdits"]["deviceNodes"]]
    print("CDI device nodes:", nodes)
    assert any(p.startswith("/dev/infiniband/uverbs") for p in nodes), nodes
    wait_for(lambda: (api.call("GET", "/apis/resource.k8s.io/v1/namespaces/team/resourceclaims/vlan-100").get("status") or {}).get("devices"),
             "status.devices", timeout=30)

    conf = {"cniVersion": "1.0.0", "name": "dra-vfs", "type": "sriov-rdma", "stateDir": str(work / "cni-state"),
            "dra": {"checkpoint": str(plugin_dir / "checkpoint.json")},
            "ipam": {"type": "host-local", "subnet": "10.56.0.0/24", "dataDir": str(work / "ipam")}}
    subprocess.run(["ip", "netns", "add", "pod-a"], check=True)
    status, result = cni("ADD", "/run/netns/pod-a", conf, "pod-a")
    assert status == 0, result
    assert [i["name"] for i in result["interfaces"]][-1] == "net1", result
    moved = subprocess.run(["ip", "netns", "exec", "pod-a", "readlink", "-f", "/sys/class/net/net1/device"], capture_output=True, text=True)
    assert moved.stdout.strip().endswith(vf), moved
    # The claim's status follows the attach: the pod's interface, its address and the MAC set at Prepare.
    claim_path = "/apis/resource.k8s.io/v1/namespaces/team/resourceclaims/vlan-100"
    network = wait_for(lambda: ((api.call("GET", claim_path).get("status") or {}).get("devices") or [{}])[0].get("networkData", {})
                       .get("interfaceName") and api.call("GET", claim_path)["status"]["devices"][0]["networkData"],
                       "networkData from the CNI's record", timeout=30)
    print("status networkData after ADD:", network)
    assert network["interfaceName"] == "net1" and network["hardwareAddress"] == "02:56:00:00:64:01", network
    assert [ip for ip in network["ips"]] == [ip["address"] for ip in result["ips"] if ip.get("interface") == len(result["interfaces"]) - 1], (network, result)
    assert cni("DEL", "/run/netns/pod-a", conf, "pod-a")[0] == 0
    wait_for(lambda: "interfaceName" not in api.call("GET", claim_path)["status"]["devices"][0].get("networkData", {}),
             "networkData without the interface after DEL", timeout=30)
    assert pathlib.Path(f"/sys/class/net/{vf_netdev}").exists(), "VF netdev back under its name"
    subprocess.run(["ip", "netns", "delete", "pod-a"], check=True)
    assert prepare("vlan-100", uid, unprepare=True).error == ""
    wait_for(lambda: not (api.call("GET", claim_path).get("status") or {}).get("devices"), "status.devices removed at Unprepare",
             timeout=30)
    assert vf_entry() == before, (vf_entry(), before)
    assert not (state / "cdi" / f"{DRIVER}-{uid}.json").exists()
    print("claim A: prepared (VLAN 100, MAC), attached, detached, unprepared; VF table restored:", before)

    # rxe follows its netdev's unregistration when the netdev changes namespace: rxe0 is
    # gone, so the VF left the isRdma pool and its slice says so. A new rxe brings it back.
    gone = not pathlib.Path("/sys/class/infiniband/rxe0").exists()
    print("rxe0 after the netns round trip:", "gone" if gone else "kept")
    if gone:
        wait_for(lambda: not [d for s in api.slices() for d in s["spec"]["devices"]], "the VF gone from the slice", timeout=30)
        subprocess.run(["rdma", "link", "add", "rxe0", "type", "rxe", "netdev", vf_netdev], check=True)
        wait_for(lambda: [d for s in api.slices() for d in s["spec"]["devices"]], "the VF back in the slice", timeout=30)
        print("slice generation after rxe0 came back:", api.slices()[0]["spec"]["pool"]["generation"])

    # Claim B: RDMA isolation in shared RDMA netns mode: the CNI refuses, nothing moves.
    uid = claim("isolated", {"vlan": 100, "rdmaIsolation": True}, "pod-b")
    answer = prepare("isolated", uid)
    assert answer.error == "", answer.error
    subprocess.run(["ip", "netns", "add", "pod-b"], check=True)
    status, result = cni("ADD", "/run/netns/pod-b", conf, "pod-b")
    assert status != 0 and "shared netns mode" in result["msg"], result
    assert pathlib.Path(f"/sys/class/net/{vf_netdev}").exists() and pathlib.Path("/sys/class/infiniband/rxe0").exists()
    subprocess.run(["ip", "netns", "delete", "pod-b"], check=True)
    assert prepare("isolated", uid, unprepare=True).error == ""
    assert vf_entry() == before
    print("claim B: RDMA isolation refused in shared mode:", result["msg"])
    assert api.rejected() == [], api.rejected()
    channel.close()
finally:
    dp.send_signal(signal.SIGTERM)
    dp.wait(timeout=20)
    api.stop()
