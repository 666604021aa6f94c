"""Shared helpers for the deploy suite: the manifests under deploy/ parsed once, the
binaries the suite runs, and a ConnectX-like node fixture."""
import os
import pathlib
import shutil
import tempfile

import pytest
import yaml

REPO = pathlib.Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"


def binary(name):
    """$SRIOV_RDMA_BIN_DIR (scripts/test sets it to .build/release), else this
    checkout's release or debug build."""
    candidates = []
    if os.environ.get("SRIOV_RDMA_BIN_DIR"):
        candidates.append(pathlib.Path(os.environ["SRIOV_RDMA_BIN_DIR"]) / name)
    candidates += [REPO / ".build" / "release" / name, REPO / ".build" / "debug" / name]
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    pytest.fail(f"{name} is not built (looked in {', '.join(map(str, candidates))}): "
                "run `swift build -c release --static-swift-stdlib` or set SRIOV_RDMA_BIN_DIR")


class Manifests:
    """Every YAML document under deploy/, with the file it came from."""

    def __init__(self, root):
        self.documents = []
        for path in sorted(root.rglob("*.yaml")):
            if path.relative_to(root).parts[0] == "dra":
                continue  # the DRA variant: Tests/deploy/test_dra_manifests.py
            for document in yaml.safe_load_all(path.read_text()):
                if document is not None:
                    self.documents.append((path.relative_to(root), document))

    def all(self, kind):
        return [document for _, document in self.documents if document["kind"] == kind]

    def one(self, kind, name=None):
        found = [document for document in self.all(kind) if name is None or document["metadata"]["name"] == name]
        assert len(found) == 1, f"expected one {kind} {name or ''}, found {len(found)}"
        return found[0]

    @property
    def daemonset(self):
        return self.one("DaemonSet", "sriov-rdma-dp")

    @property
    def daemon_container(self):
        containers = self.daemonset["spec"]["template"]["spec"]["containers"]
        return next(container for container in containers if container["name"] == "sriov-rdma-dp")

    def daemon_flags(self):
        """`run`'s flags from the container args, as {"--name": value}."""
        args = self.daemon_container["args"]
        assert args[0] == "run", args
        flags = {}
        for arg in args[1:]:
            assert arg.startswith("--"), f"unexpected argument {arg}"
            name, _, value = arg.partition("=")
            flags[name] = value if value else True
        return flags

    @property
    def config_text(self):
        configmap = self.one("ConfigMap", self.config_map_name())
        return configmap["data"][self.config_key()]

    def config_map_name(self):
        volumes = {v["name"]: v for v in self.daemonset["spec"]["template"]["spec"]["volumes"]}
        mount = self.mount_for(self.daemon_flags()["--config"])
        return volumes[mount["name"]]["configMap"]["name"]

    def config_key(self):
        mount = self.mount_for(self.daemon_flags()["--config"])
        return os.path.relpath(self.daemon_flags()["--config"], mount["mountPath"])

    def mount_for(self, path):
        """The daemon container's volumeMount holding `path` (the deepest one)."""
        mounts = [m for m in self.daemon_container["volumeMounts"]
                  if path == m["mountPath"] or path.startswith(m["mountPath"].rstrip("/") + "/")]
        assert mounts, f"no volumeMount holds {path}"
        return max(mounts, key=lambda m: len(m["mountPath"]))


@pytest.fixture(scope="session")
def manifests():
    return Manifests(DEPLOY)


@pytest.fixture
def scratch():
    path = tempfile.mkdtemp(prefix="deploy-", dir="/tmp")
    yield pathlib.Path(path)
    shutil.rmtree(path, ignore_errors=True)
