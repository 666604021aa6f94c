"""Fixtures for the gRPC interop suite: grpcio stubs generated from the device-plugin
proto at test time, and our dp-interop-server started on a temporary socket."""
import importlib
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import time

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
PROTO = REPO / "Tests" / "interop" / "deviceplugin-v1beta1.proto"


def interop_binary():
    bin_dir = os.environ.get("SRIOV_RDMA_DEBUG_BIN_DIR", str(REPO / ".build" / "debug"))
    path = pathlib.Path(bin_dir) / "dp-interop-server"
    if not path.exists():
        pytest.fail(f"{path} is missing: run `swift build --product dp-interop-server` first (scripts/test does)")
    return str(path)


@pytest.fixture(scope="session")
def api():
    """api_pb2 and api_pb2_grpc, compiled from the proto with grpcio-tools."""
    from grpc_tools import protoc

    out = tempfile.mkdtemp(prefix="dp-proto-")
    # protoc names modules after the file; copy the proto to a valid module name.
    shutil.copy(PROTO, os.path.join(out, "api.proto"))
    status = protoc.main(["protoc", f"-I{out}", f"--python_out={out}", f"--grpc_python_out={out}", os.path.join(out, "api.proto")])
    assert status == 0, "protoc failed"
    sys.path.insert(0, out)
    pb2 = importlib.import_module("api_pb2")
    grpc_mod = importlib.import_module("api_pb2_grpc")
    return pb2, grpc_mod


@pytest.fixture(scope="session")
def watcher_api():
    """The plugin watcher's pluginregistration messages and stubs."""
    from grpc_tools import protoc

    out = tempfile.mkdtemp(prefix="watcher-proto-")
    shutil.copy(REPO / "Tests" / "interop" / "pluginregistration.proto", os.path.join(out, "pluginregistration.proto"))
    status = protoc.main(["protoc", f"-I{out}", f"--python_out={out}", f"--grpc_python_out={out}", os.path.join(out, "pluginregistration.proto")])
    assert status == 0, "protoc failed"
    sys.path.insert(0, out)
    return importlib.import_module("pluginregistration_pb2"), importlib.import_module("pluginregistration_pb2_grpc")


class Server:
    def __init__(self, socket_path, process):
        self.socket = socket_path
        self.process = process

    @property
    def target(self):
        return f"unix://{self.socket}"

    def rss_kib(self):
        with open(f"/proc/{self.process.pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        raise AssertionError("no VmRSS")

    def alive(self):
        return self.process.poll() is None


@pytest.fixture
def short_tmp():
    """A short directory: a Unix socket path must fit in 108 bytes."""
    path = tempfile.mkdtemp(prefix="dp-", dir="/tmp")
    yield pathlib.Path(path)
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def start_server(short_tmp):
    tmp_path = short_tmp
    started = []

    def start(devices=2, updates=0, args=(), preexec_fn=None):
        """`args` go to `dp-interop-server serve`; `preexec_fn` runs in the child (to lower a limit, say)."""
        socket_path = str(tmp_path / f"dp-{len(started)}.sock")
        process = subprocess.Popen(
            [interop_binary(), "serve", "--socket", socket_path, "--devices", str(devices), "--updates", str(updates), *args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=preexec_fn)
        started.append(process)
        line = process.stdout.readline()
        assert line.startswith("serving"), f"server did not start: {line!r} {process.stderr.read() if process.poll() is not None else ''}"
        return Server(socket_path, process)

    yield start
    for process in started:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture
def server(start_server):
    return start_server()
