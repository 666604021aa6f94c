"""The OCI image archives scripts/images builds, run as deploy/ and the operators run
them: each archive unpacked with umoci, its rootfs the container's read-only root, its
entry point and command from the image config, the volumes at their container paths
(Tests/deploy/container.py), against the grpcio kubelet stand-in and a fixture node.

scripts/test builds the archives before this suite; by hand: `scripts/images`
(SRIOV_RDMA_IMAGES_DIR points elsewhere)."""
import json
import os
import shutil
import subprocess
import sys

import pytest

from conftest import REPO
from container import Container
from node_fixture import ConnectXNode

sys.path.insert(0, str(REPO / "Tests" / "interop"))
from kubelet_standin import Kubelet, wait_for  # noqa: E402
from test_operator_daemonsets import SNO_CONFIG, allocate, apis, serving  # noqa: E402,F401

pytestmark = [
    pytest.mark.timeout(180),
    pytest.mark.skipif(os.geteuid() != 0 or shutil.which("umoci") is None or shutil.which("skopeo") is None,
                       reason="needs root, umoci and skopeo (scripts/setup installs them)"),
]

VERSION = (REPO / "VERSION").read_text().strip()
IMAGES = os.environ.get("SRIOV_RDMA_IMAGES_DIR", str(REPO / ".build" / "images"))


class Image:
    def __init__(self, name, directory):
        archive = os.path.join(IMAGES, f"{name}-{VERSION}.oci.tar")
        if not os.path.isfile(archive):
            pytest.fail(f"{archive} is missing: run scripts/images")
        self.archive = archive
        inspected = subprocess.run(["skopeo", "inspect", "--config", f"oci-archive:{archive}"],
                                   capture_output=True, text=True, check=True)
        self.config = json.loads(inspected.stdout)["config"]
        layout = os.path.join(directory, "layout")
        os.makedirs(layout)
        subprocess.run(["tar", "-C", layout, "-xf", archive], check=True)
        self.ref = json.load(open(os.path.join(layout, "index.json")))["manifests"][0]["annotations"][
            "org.opencontainers.image.ref.name"]
        bundle = os.path.join(directory, "bundle")
        subprocess.run(["umoci", "unpack", "--image", f"{layout}:{self.ref}", bundle], check=True, capture_output=True)
        self.rootfs = os.path.join(bundle, "rootfs")

    @property
    def command(self):
        return (self.config.get("Entrypoint") or []) + (self.config.get("Cmd") or [])


@pytest.fixture(scope="module")
def daemon_image(tmp_path_factory):
    return Image("sriov-rdma", str(tmp_path_factory.mktemp("daemon-image")))


@pytest.fixture(scope="module")
def cni_image(tmp_path_factory):
    return Image("sriov-rdma-cni", str(tmp_path_factory.mktemp("cni-image")))


@pytest.fixture(scope="module")
def ib_cni_image(tmp_path_factory):
    return Image("sriov-rdma-ib-cni", str(tmp_path_factory.mktemp("ib-cni-image")))


def test_the_images_hold_what_deploy_and_the_operators_start(daemon_image, cni_image):
    assert daemon_image.ref == f"sriov-rdma:{VERSION}"
    assert daemon_image.command == ["/usr/bin/sriovdp", "run"]
    root = daemon_image.rootfs
    for path in ["usr/local/bin/sriov-rdma-dp", "usr/local/bin/sriov-rdma-cni", "usr/local/bin/rdma-lat"]:
        assert os.access(os.path.join(root, path), os.X_OK), path
    assert os.readlink(os.path.join(root, "usr/bin/sriovdp")) == "/usr/local/bin/sriov-rdma-dp"
    assert os.readlink(os.path.join(root, "usr/bin/k8s-rdma-shared-dp")) == "/usr/local/bin/sriov-rdma-dp"
    assert os.readlink(os.path.join(root, "bin")) == "usr/bin"     # so /bin/k8s-rdma-shared-dp resolves
    # rdma-core's providers and pci.ids, which discover and rdma-lat load.
    assert os.path.isfile(os.path.join(root, "usr/share/misc/pci.ids"))
    assert os.path.isfile(os.path.join(root, "etc/libibverbs.d/mlx5.driver"))

    assert cni_image.ref == f"sriov-rdma-cni:{VERSION}"
    assert cni_image.command == ["/usr/bin/sriov-rdma-cni", "install"]
    files = sorted(os.path.relpath(os.path.join(directory, name), cni_image.rootfs)
                   for directory, _, names in os.walk(cni_image.rootfs) for name in names)
    assert files == ["usr/bin/sriov-rdma-cni"]


def manifest_volumes(manifests, scratch, node, container):
    """The manifest container's volumeMounts, each backed by a scratch host directory
    (the fixture's for sys and dev)."""
    volumes, hosts = {}, {}
    for mount in container["volumeMounts"]:
        name = mount["name"]
        host = {"sys": node.sys, "dev": node.dev}.get(name) or str(scratch / "host" / name)
        os.makedirs(host, exist_ok=True)
        volumes[host] = (mount["mountPath"], mount.get("readOnly", False))
        hosts[name] = host
    return volumes, hosts


def test_daemon_image_runs_as_the_daemonset_runs_it(manifests, apis, daemon_image, scratch):
    api, _ = apis
    node = ConnectXNode(str(scratch / "node"), vfs=10)
    spec = manifests.daemonset["spec"]["template"]["spec"]

    # The init container installs the CNI from the image into the host's bin dir.
    init = spec["initContainers"][0]
    volumes, hosts = manifest_volumes(manifests, scratch / "init", node, init)
    installer = Container(scratch / "init", None, init["command"][0], init["command"][1:], volumes, "init.log",
                          image_root=daemon_image.rootfs)
    installer.start()
    assert installer.process.wait(timeout=30) == 0, installer.log_path.read_text()
    installer.log.close()
    installed = os.path.join(hosts["cni-bin"], "sriov-rdma")
    answer = subprocess.run([installed], input='{"cniVersion":"1.0.0"}', env={"CNI_COMMAND": "VERSION"},
                            capture_output=True, text=True, timeout=10)
    assert answer.returncode == 0 and '"supportedVersions"' in answer.stdout, answer

    container = manifests.daemon_container
    volumes, hosts = manifest_volumes(manifests, scratch / "main", node, container)
    with open(os.path.join(hosts["config"], "config.json"), "w") as handle:
        handle.write(manifests.config_text)
    kubelet = Kubelet(api, hosts["device-plugins"])
    kubelet.start()
    daemon = Container(scratch / "main", node, container["command"][0], container["args"], volumes, "daemon.log",
                       image_root=daemon_image.rootfs)
    daemon.start()
    try:
        serving(kubelet, "example.com/sriov_cx6", 8)
        serving(kubelet, "rdma/hca_shared", 100)
        status = wait_for(lambda: json.load(open(path)) if os.path.exists(path := os.path.join(hosts["status"], "status.json"))
                          else None, what="the status file the probes read")
        assert set(status["pools"]) == {"example.com/sriov_cx6", "rdma/hca_shared"}
    finally:
        code, log = daemon.stop()
        kubelet.stop()
    assert code == 0, log
    assert " error " not in log and " warning " not in log, log


def test_daemon_image_entry_point_takes_sriov_network_operators_args(apis, daemon_image, scratch):
    """sriov-network-operator sets args only: the image's entry point serves with them."""
    api, watcher = apis
    node = ConnectXNode(str(scratch / "node"), vfs=10)
    hosts = {name: str(scratch / "host" / name) for name in ["device-plugins", "plugins_registry", "pcidp", "devinfo"]}
    for host in hosts.values():
        os.makedirs(host)
    with open(os.path.join(hosts["pcidp"], "worker-1"), "w") as handle:
        json.dump(SNO_CONFIG, handle)
    kubelet = Kubelet(api, hosts["device-plugins"], watcher_api=watcher, registry=hosts["plugins_registry"])
    kubelet.start()
    entrypoint = daemon_image.config["Entrypoint"]
    daemon = Container(scratch, node, entrypoint[0],
                       entrypoint[1:] + ["--log-level=10", "--resource-prefix=openshift.io", "--config-file=/etc/pcidp/worker-1"],
                       {hosts["device-plugins"]: ("/var/lib/kubelet/device-plugins", False),
                        hosts["plugins_registry"]: ("/var/lib/kubelet/plugins_registry", False),
                        hosts["pcidp"]: ("/etc/pcidp", True),
                        hosts["devinfo"]: ("/var/run/k8s.cni.cncf.io/devinfo/dp", False)},
                       "sno.log", image_root=daemon_image.rootfs)
    daemon.start()
    try:
        resource = serving(kubelet, "openshift.io/cx6_vfs", 8)
        assert allocate(api, resource, [node.vfs[0]]).envs["PCIDEVICE_OPENSHIFT_IO_CX6_VFS"] == node.vfs[0]
    finally:
        code, log = daemon.stop()
        kubelet.stop()
    assert code == 0, log


def test_cni_image_installs_the_plugin_as_the_operator_runs_it(cni_image, scratch):
    """sriov-network-operator's init container: the image's entry point, `--no-sleep`,
    the host's /opt/cni/bin at /host/opt/cni/bin."""
    bin_dir = scratch / "host-cni-bin"
    bin_dir.mkdir()
    entrypoint = cni_image.config["Entrypoint"]
    installer = Container(scratch, None, entrypoint[0], entrypoint[1:] + ["--no-sleep"],
                          {str(bin_dir): ("/host/opt/cni/bin", False)}, "cni.log", image_root=cni_image.rootfs)
    installer.start()
    assert installer.process.wait(timeout=30) == 0, installer.log_path.read_text()
    installer.log.close()
    assert sorted(os.listdir(bin_dir)) == ["rdma", "sriov", "sriov-rdma"]
    answer = subprocess.run([str(bin_dir / "sriov")], input='{"cniVersion":"1.0.0"}', env={"CNI_COMMAND": "VERSION"},
                            capture_output=True, text=True, timeout=10)
    assert answer.returncode == 0 and '"supportedVersions"' in answer.stdout, answer


def test_ib_cni_image_installs_the_plugin_as_ib_sriov_only(ib_cni_image, scratch):
    """In ib-sriov-cni's image's place, run as sriov-network-operator runs that image
    (`--no-sleep`): the plugin lands as ib-sriov and nothing else."""
    assert ib_cni_image.ref == f"sriov-rdma-ib-cni:{VERSION}"
    assert ib_cni_image.command == ["/usr/bin/sriov-rdma-cni", "install", "--names=ib-sriov"]
    bin_dir = scratch / "host-cni-bin"
    bin_dir.mkdir()
    entrypoint = ib_cni_image.config["Entrypoint"]
    installer = Container(scratch, None, entrypoint[0], entrypoint[1:] + ["--no-sleep"],
                          {str(bin_dir): ("/host/opt/cni/bin", False)}, "ib-cni.log", image_root=ib_cni_image.rootfs)
    installer.start()
    assert installer.process.wait(timeout=30) == 0, installer.log_path.read_text()
    installer.log.close()
    assert sorted(os.listdir(bin_dir)) == ["ib-sriov"]
