"""The DaemonSet's container, as far as it can be reproduced without a cluster:
`sriov-rdma-dp run` with exactly the manifest's arguments (each path re-rooted into
a scratch directory), as uid 0 with every capability dropped and no_new_privs, in a
mount namespace where the whole file system is read-only except the re-rooted
paths of the container's writable volumeMounts (readOnlyRootFilesystem), against a
grpcio kubelet stand-in. Every pool must register and stream, and the manifest's
own probe command must pass."""
import importlib
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile

import pytest

from conftest import REPO, binary
from node_fixture import ConnectXNode

sys.path.insert(0, str(REPO / "Tests" / "interop"))
from kubelet_standin import Kubelet, wait_for  # noqa: E402

pytestmark = [
    pytest.mark.timeout(120),
    pytest.mark.skipif(os.geteuid() != 0 or shutil.which("setpriv") is None or shutil.which("unshare") is None,
                       reason="needs root, setpriv and unshare to run the daemon as the manifest's securityContext says"),
]

PATH_FLAGS = ["--config", "--kubelet-dir", "--sys-root", "--dev-root", "--state-dir"]


@pytest.fixture(scope="module")
def api():
    """api_pb2 and api_pb2_grpc from the device-plugin proto, as the interop suite builds them."""
    from grpc_tools import protoc

    out = tempfile.mkdtemp(prefix="deploy-proto-")
    shutil.copy(REPO / "Tests" / "interop" / "deviceplugin-v1beta1.proto", os.path.join(out, "api.proto"))
    assert protoc.main(["protoc", f"-I{out}", f"--python_out={out}", f"--grpc_python_out={out}",
                        os.path.join(out, "api.proto")]) == 0
    sys.path.insert(0, out)
    yield importlib.import_module("api_pb2"), importlib.import_module("api_pb2_grpc")
    shutil.rmtree(out, ignore_errors=True)


def rerooted(argument, base):
    """`--flag=/abs/path` → `--flag=<base>/abs/path` for the path flags."""
    name, _, value = argument.partition("=")
    return f"{name}={base}{value}" if name in PATH_FLAGS else argument


def capabilities(pid):
    with open(f"/proc/{pid}/status") as status:
        fields = dict(line.split(":", 1) for line in status if ":" in line)
    return {name: int(fields[name].strip(), 16) for name in ["CapEff", "CapPrm", "CapBnd"]} | {
        "NoNewPrivs": int(fields["NoNewPrivs"].strip())}


def test_daemon_serves_every_pool_without_capabilities_on_a_read_only_root(manifests, api, scratch):
    base = str(scratch / "node")
    node = ConnectXNode(base, vfs=10)
    flags = manifests.daemon_flags()
    # The host paths the volumes provide, under the scratch root.
    os.makedirs(base + flags["--kubelet-dir"], mode=0o750)
    os.makedirs(os.path.dirname(base + flags["--config"]))
    with open(base + flags["--config"], "w") as handle:
        handle.write(manifests.config_text)
    # The fixture's trees are where the re-rooted --sys-root and --dev-root point.
    assert (node.sys, node.dev) == (base + flags["--sys-root"], base + flags["--dev-root"])

    container = manifests.daemon_container
    writable = [base + mount["mountPath"] for mount in container["volumeMounts"] if not mount.get("readOnly", False)]
    for directory in writable:
        os.makedirs(directory, exist_ok=True)
    kubelet = Kubelet(api, base + flags["--kubelet-dir"])
    kubelet.start()
    command = [binary("sriov-rdma-dp")] + [rerooted(argument, base) for argument in container["args"]]
    # Bind mounts made before the root is remounted read-only keep their own rw flag.
    setup = " && ".join([f"mount --bind {shlex.quote(d)} {shlex.quote(d)}" for d in writable] + ["mount -o remount,bind,ro /"])
    dropped = ["setpriv", "--no-new-privs", "--bounding-set=-all", "--inh-caps=-all", "--ambient-caps=-all", "--"]
    log = open(scratch / "dp.log", "w")
    daemon = subprocess.Popen(["unshare", "--mount", "--propagation", "private", "sh", "-c",
                               f"{setup} && exec {shlex.join(dropped + command)}"], stdout=log, stderr=subprocess.STDOUT)
    try:
        # setpriv execs the daemon in place: wait for that, then read its credentials.
        wait_for(lambda: os.readlink(f"/proc/{daemon.pid}/exe") == os.path.realpath(command[0]), what="the daemon to start")
        caps = capabilities(daemon.pid)
        assert caps == {"CapEff": 0, "CapPrm": 0, "CapBnd": 0, "NoNewPrivs": 1}

        names = ["example.com/sriov_cx6", "rdma/hca_shared"]
        for name in names:
            resource = wait_for(lambda: kubelet.resources.get(name) if kubelet.resources.get(name)
                                and kubelet.resources[name].latest else None, what=f"{name} registered with devices")
            assert set(resource.health().values()) == {"Healthy"}
        assert len(kubelet.resources["example.com/sriov_cx6"].latest.devices) == 8
        assert len(kubelet.resources["rdma/hca_shared"].latest.devices) == 100

        probe = container["livenessProbe"]["exec"]["command"]
        probe = [binary("sriov-rdma-dp")] + [rerooted(argument, base) for argument in probe[1:]]

        def probe_passes():
            result = subprocess.run(["setpriv", "--no-new-privs", "--bounding-set=-all", "--"] + probe,
                                    capture_output=True, text=True)
            return result if result.returncode == 0 else None

        result = wait_for(probe_passes, what="the manifest's probe command to pass")
        assert result.stdout == "healthy: 2 pools registered and streaming\n"
    finally:
        daemon.send_signal(signal.SIGTERM)
        status = daemon.wait(timeout=10)
        kubelet.stop()
        log.close()
    log_text = (scratch / "dp.log").read_text()
    assert status == 0, log_text
    # inotify and the rtnetlink link-event socket work without capabilities too: the
    # daemon warns when it has to fall back to polling.
    assert " warning " not in log_text and " error " not in log_text, log_text
    # SIGTERM cleaned up what the pod's volumes expose to the host.
    assert [entry for entry in os.listdir(base + flags["--kubelet-dir"]) if entry != "kubelet.sock"] == []
