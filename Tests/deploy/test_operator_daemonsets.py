"""sriov-rdma-dp as each operator's DaemonSet starts the Go plugin it replaces
(anchors-2026.md §4): the image's binary name, the container's exact arguments, its
volume mounts at their container paths, a read-only root file system, and the
operator's config as it renders it. Each run builds that container's file system in a
private mount namespace (a read-only tmpfs root holding only the libraries, the binary
and the volumes), chroots into it and serves a grpcio kubelet stand-in outside it.

- sriov-network-operator: `/usr/bin/sriovdp --log-level=10 --resource-prefix=openshift.io
  --config-file=/etc/pcidp/<node> --use-cdi`, plugins_registry mounted.
- network-operator, SRIOV-DP: `--log-dir=sriovdp --log-level=10`, the default
  /etc/pcidp/config.json, host /var/log mounted at /var/log.
- network-operator, RDMA shared plugin: `/bin/k8s-rdma-shared-dp`, config at
  /k8s-rdma-shared-dev-plugin/config.json, host /dev at /dev, kubelet.sock only.
"""
import importlib
import json
import os
import shutil
import sys
import tempfile

import pytest

from conftest import REPO
from container import Container
from node_fixture import PF0, ConnectXNode, vf_address

sys.path.insert(0, str(REPO / "Tests" / "interop"))
from kubelet_standin import Kubelet, wait_for  # noqa: E402

pytestmark = [
    pytest.mark.timeout(120),
    pytest.mark.skipif(os.geteuid() != 0 or shutil.which("unshare") is None or shutil.which("chroot") is None,
                       reason="needs root, unshare and chroot to build the container's file system"),
]


def compiled(proto, module):
    """The generated modules, under the names test_daemon_privileges uses (protobuf
    keeps one descriptor pool per process: the same proto may be loaded once)."""
    if f"{module}_pb2" not in sys.modules:
        from grpc_tools import protoc

        out = tempfile.mkdtemp(prefix="operator-proto-")
        shutil.copy(REPO / "Tests" / "interop" / proto, os.path.join(out, f"{module}.proto"))
        assert protoc.main(["protoc", f"-I{out}", f"--python_out={out}", f"--grpc_python_out={out}",
                            os.path.join(out, f"{module}.proto")]) == 0
        sys.path.insert(0, out)
    return importlib.import_module(f"{module}_pb2"), importlib.import_module(f"{module}_pb2_grpc")


@pytest.fixture(scope="module")
def apis():
    return compiled("deviceplugin-v1beta1.proto", "api"), compiled("pluginregistration.proto", "pluginregistration")


# sriov-network-operator writes SRIOV-DP's Go types without JSON tags (IsRdma,
# NeedVhostNet, SelectorObj), one key per node in the device-plugin-config ConfigMap.
SNO_CONFIG = {"resourceList": [
    {"resourceName": "cx6_vfs", "selectors": {"vendors": ["15b3"], "devices": ["101e"], "pfNames": ["ens1f0#0-7"],
                                                "rootDevices": [PF0], "linkTypes": ["ether"], "IsRdma": True,
                                                "NeedVhostNet": False},
     "excludeTopology": False, "SelectorObj": None}]}

# network-operator's NicClusterPolicy sriovDevicePlugin.config, its webhook's form.
NO_SRIOVDP_CONFIG = {"resourceList": [
    {"resourceName": "hostdev", "resourcePrefix": "nvidia.com",
     "selectors": {"vendors": ["15b3"], "devices": ["101e"], "isRdma": True}}]}

# network-operator's rdmaSharedDevicePlugin.config.
NO_RDMA_CONFIG = {"periodicUpdateInterval": 300, "configList": [
    {"resourceName": "rdma_shared_device_a", "rdmaHcaMax": 63, "selectors": {"vendors": ["15b3"], "deviceIDs": ["101d"],
                                                                           "ifNames": ["ens1f1"]}}]}


def directories(scratch, *names):
    paths = {}
    for name in names:
        path = scratch / "host" / name
        path.mkdir(parents=True, exist_ok=True)
        paths[name] = str(path)
    return paths


def serving(kubelet, name, count):
    def check():
        resource = kubelet.resources.get(name)
        return resource if resource and resource.latest and len(resource.latest.devices) == count else None
    return wait_for(check, what=f"{name} registered with {count} devices")


def allocate(api, resource, ids):
    pb2, _ = api
    return resource.stub.Allocate(pb2.AllocateRequest(container_requests=[pb2.ContainerAllocateRequest(devices_ids=ids)]),
                                  timeout=10).container_responses[0]


def quiet(log):
    """No warning or error line, and nothing the read-only root refused but the status
    file, which no operator gives a volume: said once, as a notice."""
    status = [line for line in log.splitlines() if " notice " in line and "status not written to /var/run/sriov-rdma-dp/status.json "
              "(creating the directory /var/run" in line and ": Read-only file system)" in line]
    assert len(status) == 1, log
    lines = [line for line in log.splitlines() if line not in status and (
        " warning " in line or " error " in line or " critical " in line or "Read-only file system" in line)]
    assert lines == [], log


def test_as_sriov_network_operator_starts_it(apis, scratch):
    api, watcher = apis
    node = ConnectXNode(str(scratch / "node"), vfs=10)
    host = directories(scratch, "device-plugins", "plugins_registry", "pcidp", "devinfo", "cdi")
    with open(os.path.join(host["pcidp"], "worker-1"), "w") as handle:
        json.dump(SNO_CONFIG, handle, separators=(",", ":"))
    kubelet = Kubelet(api, host["device-plugins"], watcher_api=watcher, registry=host["plugins_registry"])
    kubelet.start()
    container = Container(scratch, node, "/usr/bin/sriovdp",
                          ["--log-level=10", "--resource-prefix=openshift.io", "--config-file=/etc/pcidp/worker-1", "--use-cdi"],
                          {host["device-plugins"]: ("/var/lib/kubelet/device-plugins", False),
                           host["plugins_registry"]: ("/var/lib/kubelet/plugins_registry", False),
                           host["pcidp"]: ("/etc/pcidp", True),
                           host["devinfo"]: ("/var/run/k8s.cni.cncf.io/devinfo/dp", False),
                           host["cdi"]: ("/var/run/cdi", False)},
                          "sriovdp.log")
    container.start()
    try:
        resource = serving(kubelet, "openshift.io/cx6_vfs", 8)
        # Through the plugin watcher, as the operator's mount of plugins_registry asks.
        assert [name for _, name, _ in kubelet.registrations] == ["openshift.io/cx6_vfs"]
        assert os.listdir(host["plugins_registry"]) != []
        assert set(resource.health().values()) == {"Healthy"}
        response = allocate(api, resource, [vf_address(3)])
        assert response.envs["PCIDEVICE_OPENSHIFT_IO_CX6_VFS"] == vf_address(3)
        assert [device.name for device in response.cdi_devices] == [f"openshift.io/cx6_vfs={vf_address(3)}"]
        # What Multus and the runtime read, in the host directories the volumes expose.
        info = json.loads(open(os.path.join(host["devinfo"], f"openshift.io-cx6_vfs-{vf_address(3)}-device.json")).read())
        assert info["pci"]["pci-address"] == vf_address(3)
        assert os.listdir(host["cdi"]) != []
    finally:
        status, log = container.stop()
        kubelet.stop()
    assert status == 0, log
    quiet(log)
    assert os.listdir(host["plugins_registry"]) == []


def test_as_network_operator_starts_sriov_dp(apis, scratch):
    api, _ = apis
    node = ConnectXNode(str(scratch / "node"), vfs=4)
    host = directories(scratch, "device-plugins", "pcidp", "devinfo", "log")
    with open(os.path.join(host["pcidp"], "config.json"), "w") as handle:
        json.dump(NO_SRIOVDP_CONFIG, handle)
    kubelet = Kubelet(api, host["device-plugins"])
    kubelet.start()
    container = Container(scratch, node, "/usr/bin/sriovdp", ["--log-dir=sriovdp", "--log-level=10"],
                          {host["device-plugins"]: ("/var/lib/kubelet/device-plugins", False),
                           host["pcidp"]: ("/etc/pcidp", True),
                           host["devinfo"]: ("/var/run/k8s.cni.cncf.io/devinfo/dp", False),
                           host["log"]: ("/var/log", False)},
                          "nvno-sriovdp.log")
    container.start()
    try:
        resource = serving(kubelet, "nvidia.com/hostdev", 4)
        response = allocate(api, resource, [vf_address(0)])
        # isRdma: the VF's RDMA char devices go into the container.
        assert any(spec.container_path.startswith("/dev/infiniband/") for spec in response.devices)
    finally:
        status, log = container.stop()
        kubelet.stop()
    assert status == 0, log
    quiet(log)
    # --log-dir=sriovdp: the log goes to /var/log/sriovdp on the host, as glog's does.
    file_log = open(os.path.join(host["log"], "sriovdp", "sriov-rdma-dp.log")).read()
    assert "nvidia.com/hostdev" in file_log


def test_as_network_operator_starts_the_rdma_shared_plugin(apis, scratch):
    api, _ = apis
    node = ConnectXNode(str(scratch / "node"), vfs=2)
    host = directories(scratch, "device-plugins", "rdma-config")
    with open(os.path.join(host["rdma-config"], "config.json"), "w") as handle:
        json.dump(NO_RDMA_CONFIG, handle)
    kubelet = Kubelet(api, host["device-plugins"])
    kubelet.start()
    container = Container(scratch, node, "/bin/k8s-rdma-shared-dp", [],
                          {host["device-plugins"]: ("/var/lib/kubelet/device-plugins", False),
                           host["rdma-config"]: ("/k8s-rdma-shared-dev-plugin", True),
                           node.dev: ("/dev", False)},
                          "nvno-rdma.log")
    container.start()
    try:
        resource = serving(kubelet, "rdma/rdma_shared_device_a", 63)
        response = allocate(api, resource, ["0"])
        assert any(spec.host_path.startswith("/dev/infiniband/uverbs") for spec in response.devices)
    finally:
        status, log = container.stop()
        kubelet.stop()
    assert status == 0, log
    quiet(log)
