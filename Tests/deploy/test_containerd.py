"""The images under a real runtime, driven through CRI as kubelet drives it: Debian
trixie's containerd 1.7 (scripts/setup unpacks it into .build/trixie; CDI through
`enable_cdi`), bookworm's runc, in a scratch network namespace with its own root,
state, socket, CNI and CDI directories. A small grpcio CRI client (cri-api's
runtime/v1 api.proto) does what kubelet does:

- the daemon's container from our image, with the DaemonSet's command, args, mounts and
  security context, against a fixture node and the kubelet stand-in: its pools register;
- a workload container created with the CDI device names the daemon's Allocate returned
  (CRI's CDI_devices): the device nodes of our CDI spec are in it;
- a pod sandbox whose network is our CNI (containerd's CNI conf dir, a veth stand-in):
  the pod gets the interface, and removing the sandbox puts the stand-in back exactly.

Every step is bounded in time; only what the test started is stopped."""
import importlib
import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid

import pytest

from conftest import REPO, binary
from node_fixture import ConnectXNode, vf_address

sys.path.insert(0, str(REPO / "Tests" / "interop"))
from kubelet_standin import Kubelet, wait_for  # noqa: E402
from test_operator_daemonsets import allocate, apis, serving  # noqa: E402,F401

CONTAINERD = REPO / ".build" / "trixie" / "root" / "usr" / "bin"
VERSION = (REPO / "VERSION").read_text().strip()
IMAGES = os.environ.get("SRIOV_RDMA_IMAGES_DIR", str(REPO / ".build" / "images"))
PAUSE = "localhost/sriov-rdma-test-pause:1"

pytestmark = [
    pytest.mark.timeout(300),
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root to run containerd"),
]


def ip(*args):
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=True).stdout


@pytest.fixture(scope="module")
def cri():
    """runtime/v1 messages and stubs, from cri-api's api.proto."""
    from grpc_tools import protoc

    out = tempfile.mkdtemp(prefix="cri-proto-")
    shutil.copy(REPO / "Tests" / "deploy" / "cri-api-v1.proto", os.path.join(out, "cri_api.proto"))
    assert protoc.main(["protoc", f"-I{out}", f"--python_out={out}", f"--grpc_python_out={out}",
                        os.path.join(out, "cri_api.proto")]) == 0
    sys.path.insert(0, out)
    return importlib.import_module("cri_api_pb2"), importlib.import_module("cri_api_pb2_grpc")


def pause_image(directory):
    """A sandbox image without a registry: busybox-static sleeping (kubelet's pause is
    not in Debian)."""
    layout, bundle = os.path.join(directory, "pause-layout"), os.path.join(directory, "pause-bundle")
    run = lambda *command: subprocess.run(command, check=True, capture_output=True, timeout=60)  # noqa: E731
    run("umoci", "init", "--layout", layout)
    run("umoci", "new", "--image", f"{layout}:1")
    run("umoci", "unpack", "--image", f"{layout}:1", bundle)
    os.makedirs(os.path.join(bundle, "rootfs", "bin"), exist_ok=True)
    shutil.copy("/bin/busybox", os.path.join(bundle, "rootfs", "bin", "busybox"))
    run("umoci", "repack", "--image", f"{layout}:1", bundle)
    run("umoci", "config", "--image", f"{layout}:1", "--os", "linux", "--architecture", "amd64",
        "--config.entrypoint=/bin/busybox", "--config.entrypoint=sleep", "--config.entrypoint=2147483647")
    archive = os.path.join(directory, "pause.oci.tar")
    run("skopeo", "copy", "--quiet", f"oci:{layout}:1", f"oci-archive:{archive}:{PAUSE}")
    return archive


class Containerd:
    def __init__(self, work, host_netns):
        self.work = work
        self.netns = host_netns
        self.socket = os.path.join(work, "containerd.sock")
        for name in ["root", "state", "cdi", "cni-bin", "cni-conf"]:
            os.makedirs(os.path.join(work, name))
        config = f'''version = 2
root = "{work}/root"
state = "{work}/state"
[grpc]
  address = "{self.socket}"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "{PAUSE}"
  enable_cdi = true
  cdi_spec_dirs = ["{work}/cdi"]
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "native"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "{work}/cni-bin"
    conf_dir = "{work}/cni-conf"
'''
        with open(os.path.join(work, "config.toml"), "w") as handle:
            handle.write(config)
        self.log = open(os.path.join(work, "containerd.log"), "w")
        self.process = None

    def start(self, sysfs_root, devices):
        """containerd in a mount namespace of its own, where /dev is an overlay on this
        machine's /dev holding `devices` too ({path: (major, minor)}): the host device
        nodes a fixture node's CDI spec names, which the runtime stats and creates in
        containers. Nothing is created in this machine's /dev."""
        environment = {"PATH": f"{CONTAINERD}:/usr/sbin:/usr/bin:/sbin:/bin", "SRIOV_RDMA_SYSFS_ROOT": sysfs_root}
        upper, scratch = os.path.join(self.work, "dev-upper"), os.path.join(self.work, "dev-work")
        os.makedirs(upper)
        os.makedirs(scratch)
        steps = ["set -e",
                 f"mount -t overlay sriov-rdma-test-dev -o lowerdir=/dev,upperdir={upper},workdir={scratch} /dev",
                 "mount -t devpts -o newinstance,ptmxmode=0666 devpts /dev/pts",
                 "mount -t tmpfs shm /dev/shm"]
        for path, (major, minor) in devices.items():
            steps += [f"mkdir -p {os.path.dirname(path)}", f"rm -f {path}", f"mknod -m 0666 {path} c {major} {minor}"]
        # nsenter, not `ip netns exec`: that remounts /sys, and runc then finds no cgroup mount.
        steps.append(f"exec nsenter --net=/var/run/netns/{self.netns} {CONTAINERD}/containerd --config {self.work}/config.toml")
        self.process = subprocess.Popen(["unshare", "--mount", "--propagation", "private", "sh", "-c", "\n".join(steps)],
                                        stdout=self.log, stderr=subprocess.STDOUT, env=environment)
        wait_for(lambda: os.path.exists(self.socket), timeout=30, what="containerd's socket")

    def ctr(self, *args):
        return subprocess.run([str(CONTAINERD / "ctr"), "--address", self.socket, "-n", "k8s.io", *args],
                              capture_output=True, text=True, timeout=120, check=True).stdout

    def remove_sandboxes(self, cri):
        """What a failed test left running: every sandbox this containerd made, stopped
        and removed through CRI (its containers, CNI DEL and netns with it)."""
        import grpc

        pb, pb_grpc = cri
        with grpc.insecure_channel(f"unix://{self.socket}") as channel:
            service = pb_grpc.RuntimeServiceStub(channel)
            for sandbox in service.ListPodSandbox(pb.ListPodSandboxRequest(), timeout=30).items:
                service.StopPodSandbox(pb.StopPodSandboxRequest(pod_sandbox_id=sandbox.id), timeout=60)
                service.RemovePodSandbox(pb.RemovePodSandboxRequest(pod_sandbox_id=sandbox.id), timeout=60)

    def stop(self):
        if self.process is not None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        # Shims of our sandboxes outlive containerd: end the ones it started.
        subprocess.run(["pkill", "-KILL", "-f", f"containerd-shim-runc-v2 .*-address {self.socket}"], check=False)
        if self.process is not None and self.process.returncode not in (0, -signal.SIGTERM):
            print(open(os.path.join(self.work, "containerd.log")).read()[-4000:])
        self.log.close()
        # containerd's own mounts went with its mount namespace; any below the work
        # directory in this one (none expected) are detached.
        with open("/proc/self/mountinfo") as mountinfo:
            points = [line.split()[4] for line in mountinfo if line.split()[4].startswith(self.work + "/")]
        for point in sorted(points, key=len, reverse=True):
            subprocess.run(["umount", "-l", point], capture_output=True, check=False)


@pytest.fixture
def runtime(scratch, cri):
    if not (CONTAINERD / "containerd").exists():
        pytest.fail(f"{CONTAINERD}/containerd is missing: scripts/setup unpacks containerd 1.7 from trixie there")
    host = f"ctd-{uuid.uuid4().hex[:8]}"
    ip("netns", "add", host)
    ip("-n", host, "link", "set", "lo", "up")
    runtime = Containerd(str(scratch / "containerd"), host)
    try:
        yield runtime
    finally:
        if runtime.process is not None and runtime.process.poll() is None:
            try:
                runtime.remove_sandboxes(cri)
            finally:
                runtime.stop()
        else:
            runtime.stop()
        ip("netns", "del", host)


def test_containerd_runs_the_daemon_image_applies_its_cdi_spec_and_calls_our_cni(runtime, cri, apis, manifests, scratch):
    import grpc

    pb, pb_grpc = cri
    api, _ = apis
    node = ConnectXNode(str(scratch / "node"), vfs=4)
    # The fixture's /dev stands in for the host's, mounted read-only at /dev: runc mounts
    # shm, pts and mqueue below it and binds its default devices onto what is there.
    for name in ["shm", "pts", "mqueue"]:
        os.makedirs(os.path.join(node.dev, name), exist_ok=True)
    for name in ["null", "zero", "full", "random", "urandom", "tty", "ptmx"]:
        open(os.path.join(node.dev, name), "a").close()
    # Char devices the runtime can create from the CDI spec: /dev/null's numbers.
    for name in os.listdir(os.path.join(node.dev, "infiniband")):
        path = os.path.join(node.dev, "infiniband", name)
        os.unlink(path)
        os.mknod(path, 0o666 | 0o020000, os.makedev(1, 3))

    # The CNI's VF stand-in lives in containerd's network namespace, with the fixture
    # sysfs naming it as VF 0 (SRIOV_RDMA_SYSFS_ROOT reaches the plugin through
    # containerd's environment, as libcni passes it on).
    cni_sys = scratch / "cni-sys"
    bench = importlib.util.spec_from_file_location("cni_bench", REPO / "benchmarks" / "cni" / "bench.py")
    module = importlib.util.module_from_spec(bench)
    bench.loader.exec_module(module)
    module.make_sysfs(cni_sys, [("0000:00:0a.0", "vf0", "02:56:0a:00:00:00")])   # igbvf
    ip("-n", runtime.netns, "link", "add", "name", "vf0", "address", "02:56:0a:00:00:00", "type", "veth", "peer", "name", "vf0peer")
    ip("-n", runtime.netns, "link", "set", "vf0", "up")
    shutil.copy(binary("sriov-rdma-cni"), os.path.join(runtime.work, "cni-bin", "sriov-rdma"))
    for plugin in ["host-local", "loopback"]:   # containerd runs loopback for every pod
        shutil.copy(f"/usr/lib/cni/{plugin}", os.path.join(runtime.work, "cni-bin", plugin))
    with open(os.path.join(runtime.work, "cni-conf", "10-sriov-rdma.conflist"), "w") as handle:
        json.dump({"cniVersion": "1.0.0", "name": "sriov-net", "plugins": [
            {"type": "sriov-rdma", "deviceID": "0000:00:0a.0", "stateDir": str(scratch / "cni-state"),
             "ipam": {"type": "host-local", "subnet": "10.56.0.0/24", "dataDir": str(scratch / "ipam")}}]}, handle)
    host_links_before = ip("-n", runtime.netns, "-br", "link", "show")

    runtime.start(str(cni_sys), {os.path.join("/dev/infiniband", name): (1, 3)
                                 for name in os.listdir(os.path.join(node.dev, "infiniband"))})
    runtime.ctr("images", "import", pause_image(str(scratch)))
    # ctr keeps an archive's unqualified name, which CRI cannot resolve (it looks names
    # up normalized): the image is imported under a qualified local reference, as
    # docs/install.md says to.
    archive = os.path.join(IMAGES, f"sriov-rdma-{VERSION}.oci.tar")
    if not os.path.isfile(archive):
        pytest.fail(f"{archive} is missing: run scripts/images")
    qualified = str(scratch / "sriov-rdma.oci.tar")
    subprocess.run(["skopeo", "copy", "--quiet", f"oci-archive:{archive}",
                    f"oci-archive:{qualified}:localhost/sriov-rdma:{VERSION}"], check=True, timeout=120)
    runtime.ctr("images", "import", qualified)
    channel = grpc.insecure_channel(f"unix://{runtime.socket}")
    service = pb_grpc.RuntimeServiceStub(channel)
    images = pb_grpc.ImageServiceStub(channel)
    assert service.Version(pb.VersionRequest(), timeout=10).runtime_name == "containerd"
    assert images.ImageStatus(pb.ImageStatusRequest(image=pb.ImageSpec(image=f"localhost/sriov-rdma:{VERSION}")),
                              timeout=10).image.id

    # 1. The daemon: hostNetwork sandbox, the DaemonSet's container.
    container = manifests.daemon_container
    hosts = {}
    mounts = []
    for mount in container["volumeMounts"]:
        host = {"sys": node.sys, "dev": node.dev}.get(mount["name"]) or str(scratch / "volumes" / mount["name"])
        os.makedirs(host, exist_ok=True)
        hosts[mount["name"]] = host
        mounts.append(pb.Mount(container_path=mount["mountPath"], host_path=host, readonly=mount.get("readOnly", False)))
    with open(os.path.join(hosts["config"], "config.json"), "w") as handle:
        handle.write(manifests.config_text)
    # CDI: the daemon writes its specs where containerd reads them.
    mounts = [m if m.container_path != "/var/run/cdi" else pb.Mount(container_path="/var/run/cdi",
                                                                     host_path=os.path.join(runtime.work, "cdi"))
              for m in mounts]
    kubelet = Kubelet(api, hosts["device-plugins"])
    kubelet.start()
    metadata = pb.PodSandboxMetadata(name="sriov-rdma-dp", namespace="sriov-rdma", uid=uuid.uuid4().hex, attempt=0)
    host_network = pb.NamespaceOption(network=pb.NODE, pid=pb.CONTAINER, ipc=pb.POD)
    sandbox_config = pb.PodSandboxConfig(metadata=metadata, log_directory=str(scratch / "logs" / "dp"),
                                         linux=pb.LinuxPodSandboxConfig(security_context=pb.LinuxSandboxSecurityContext(
                                             namespace_options=host_network)))
    os.makedirs(str(scratch / "logs" / "dp"))
    daemon_sandbox = service.RunPodSandbox(pb.RunPodSandboxRequest(config=sandbox_config), timeout=60).pod_sandbox_id
    security = pb.LinuxContainerSecurityContext(
        namespace_options=host_network, run_as_user=pb.Int64Value(value=0), readonly_rootfs=True,
        no_new_privs=True, capabilities=pb.Capability(drop_capabilities=["ALL"]))
    args = [arg for arg in container["args"]] + ["--use-cdi"]
    daemon_config = pb.ContainerConfig(
        metadata=pb.ContainerMetadata(name="sriov-rdma-dp"), image=pb.ImageSpec(image=f"localhost/sriov-rdma:{VERSION}"),
        command=container["command"], args=args, mounts=mounts, log_path="sriov-rdma-dp.log",
        linux=pb.LinuxContainerConfig(security_context=security))
    daemon_id = service.CreateContainer(pb.CreateContainerRequest(pod_sandbox_id=daemon_sandbox, config=daemon_config,
                                                                  sandbox_config=sandbox_config), timeout=60).container_id
    service.StartContainer(pb.StartContainerRequest(container_id=daemon_id), timeout=60)
    workload_sandbox = pod_sandbox = None
    try:
        resource = serving(kubelet, "example.com/sriov_cx6", 4)
        response = allocate(api, resource, [vf_address(1)])
        cdi_names = [device.name for device in response.cdi_devices]
        assert cdi_names == [f"example.com/sriov_cx6={vf_address(1)}"]

        # 2. A workload container with those CDI devices, in a sandbox on our CNI.
        pod_metadata = pb.PodSandboxMetadata(name="workload", namespace="default", uid=uuid.uuid4().hex, attempt=0)
        os.makedirs(str(scratch / "logs" / "pod"))
        pod_config = pb.PodSandboxConfig(metadata=pod_metadata, log_directory=str(scratch / "logs" / "pod"))
        pod_sandbox = service.RunPodSandbox(pb.RunPodSandboxRequest(config=pod_config), timeout=90).pod_sandbox_id
        status = service.PodSandboxStatus(pb.PodSandboxStatusRequest(pod_sandbox_id=pod_sandbox), timeout=10).status
        assert status.network.ip.startswith("10.56.0."), status
        host_links = [line.split()[0] for line in ip("-n", runtime.netns, "-br", "link", "show").splitlines()]
        assert "vf0" not in host_links and "vf0peer@if3" in host_links, host_links
        workload = service.CreateContainer(pb.CreateContainerRequest(
            pod_sandbox_id=pod_sandbox, sandbox_config=pod_config, config=pb.ContainerConfig(
                metadata=pb.ContainerMetadata(name="workload"), image=pb.ImageSpec(image=f"localhost/sriov-rdma:{VERSION}"),
                command=["/bin/sleep", "600"], log_path="workload.log",
                CDI_devices=[pb.CDIDevice(name=name) for name in cdi_names])), timeout=60).container_id
        service.StartContainer(pb.StartContainerRequest(container_id=workload), timeout=60)
        listing = service.ExecSync(pb.ExecSyncRequest(container_id=workload, cmd=["/bin/ls", "/dev/infiniband"], timeout=20),
                                   timeout=30)
        assert listing.exit_code == 0, listing
        spec = json.load(open(os.path.join(runtime.work, "cdi", "sriov-rdma_example.com_sriov_cx6.json")))
        device = next(d for d in spec["devices"] if d["name"] == vf_address(1))
        expected = sorted(os.path.basename(n["path"]) for n in device["containerEdits"]["deviceNodes"])
        assert sorted(listing.stdout.decode().split()) == expected
        addresses = service.ExecSync(pb.ExecSyncRequest(container_id=workload, cmd=["/bin/cat", "/proc/net/dev"], timeout=20),
                                     timeout=30)
        assert "eth0" in addresses.stdout.decode()
    finally:
        if pod_sandbox:
            service.StopPodSandbox(pb.StopPodSandboxRequest(pod_sandbox_id=pod_sandbox), timeout=60)
            service.RemovePodSandbox(pb.RemovePodSandboxRequest(pod_sandbox_id=pod_sandbox), timeout=60)
        service.StopContainer(pb.StopContainerRequest(container_id=daemon_id, timeout=10), timeout=30)
        service.StopPodSandbox(pb.StopPodSandboxRequest(pod_sandbox_id=daemon_sandbox), timeout=60)
        service.RemovePodSandbox(pb.RemovePodSandboxRequest(pod_sandbox_id=daemon_sandbox), timeout=60)
        kubelet.stop()
        channel.close()
    # Removing the sandbox put the stand-in back exactly.
    assert ip("-n", runtime.netns, "-br", "link", "show") == host_links_before
