"""Driven from 02-daemon.sh inside the lab VM: sriov-rdma-dp run on the real igb VFs,
watched by the grpcio kubelet stand-in from Tests/interop."""
import json
import os
import subprocess
import sys
import tempfile
import time

repo = os.environ["LAB_REPO"]
sys.path.insert(0, os.path.join(repo, "Tests", "interop"))
from grpc_tools import protoc  # noqa: E402
from kubelet_standin import Kubelet, wait_for  # noqa: E402

pf, pf_netdev = os.environ["LAB_PF"], os.environ["LAB_PF_NETDEV"]
work = tempfile.mkdtemp(prefix="dp-lab-")
proto_dir = os.path.join(work, "proto")
os.makedirs(proto_dir)
import shutil  # noqa: E402
shutil.copy(os.path.join(repo, "Tests/interop/deviceplugin-v1beta1.proto"), os.path.join(proto_dir, "api.proto"))
assert protoc.main(["protoc", f"-I{proto_dir}", f"--python_out={proto_dir}", f"--grpc_python_out={proto_dir}", os.path.join(proto_dir, "api.proto")]) == 0
sys.path.insert(0, proto_dir)
import api_pb2, api_pb2_grpc  # noqa: E402

kubelet_dir = os.path.join(work, "device-plugins")
os.makedirs(kubelet_dir)
config = os.path.join(work, "config.json")
json.dump({"resourceList": [{"resourceName": "igb_vfs", "resourcePrefix": "lab.example.com",
                             "selectors": {"vendors": ["8086"], "devices": ["10ca"], "drivers": ["igbvf"]}}]}, open(config, "w"))
kubelet = Kubelet((api_pb2, api_pb2_grpc), kubelet_dir)
kubelet.start()
log = open(os.path.join(os.environ.get("LAB_CASE_OUT", work), "dp.log"), "w")
dp = subprocess.Popen([os.path.join(os.environ["LAB_BIN_DIR"], "sriov-rdma-dp"), "run", "--config", config, "--kubelet-dir", kubelet_dir,
                       "--state-dir", os.path.join(work, "state"), "--log-level", "debug"], stdout=log, stderr=subprocess.STDOUT)
try:
    resource = wait_for(lambda: kubelet.resources.get("lab.example.com/igb_vfs") if kubelet.resources.get("lab.example.com/igb_vfs") and kubelet.resources["lab.example.com/igb_vfs"].latest else None,
                        timeout=30, what="registration")
    vfs = sorted(d.ID for d in resource.latest.devices)
    print("registered with", vfs)
    assert len(vfs) == 4, vfs

    started = time.monotonic()
    subprocess.run(["ip", "link", "set", pf_netdev, "down"], check=True)
    wait_for(lambda: set(resource.health().values()) == {"Unhealthy"}, timeout=10, what="VFs Unhealthy after PF down")
    print(f"PF down -> all VFs Unhealthy in {time.monotonic() - started:.2f}s")
    started = time.monotonic()
    subprocess.run(["ip", "link", "set", pf_netdev, "up"], check=True)
    wait_for(lambda: set(resource.health().values()) == {"Healthy"}, timeout=20, what="VFs Healthy after PF up")
    print(f"PF up -> all VFs Healthy in {time.monotonic() - started:.2f}s")

    numvfs = f"/sys/bus/pci/devices/{pf}/sriov_numvfs"
    for count in (0, 2):
        open(numvfs, "w").write(str(count))
    wait_for(lambda: len(resource.latest.devices) == 2, timeout=20, what="pool shrinks to 2")
    print("sriov_numvfs 2 -> pool", sorted(d.ID for d in resource.latest.devices))
    for count in (0, 4):
        open(numvfs, "w").write(str(count))
    wait_for(lambda: len(resource.latest.devices) == 4, timeout=20, what="pool regrows to 4")
    print("sriov_numvfs 4 -> pool", sorted(d.ID for d in resource.latest.devices))
    assert not resource.ended.is_set(), "ListAndWatch ended"

    response = resource.stub.Allocate(api_pb2.AllocateRequest(container_requests=[api_pb2.ContainerAllocateRequest(devices_ids=[vfs[1]])]), timeout=10)
    envs = dict(response.container_responses[0].envs)
    assert envs["PCIDEVICE_LAB_EXAMPLE_COM_IGB_VFS"] == vfs[1], envs
    info = os.path.join(work, "state/k8s.cni.cncf.io/devinfo/dp", f"lab.example.com-igb_vfs-{vfs[1]}-device.json")
    assert json.load(open(info))["pci"]["pci-address"] == vfs[1]
    health = subprocess.run([os.path.join(os.environ["LAB_BIN_DIR"], "sriov-rdma-dp"), "health", "--state-dir", os.path.join(work, "state")],
                            capture_output=True, text=True)
    assert health.returncode == 0, health.stdout
    print("allocate and health probe ok:", health.stdout.strip())
finally:
    dp.terminate()
    dp.wait(timeout=10)
    kubelet.stop()
