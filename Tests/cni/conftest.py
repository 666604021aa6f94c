"""CNI conformance and behaviour suite for the sriov-rdma-cni binary.

Each test gets a rig: a scratch "host" network namespace holding veth ends that
stand in for VF netdevs, a scratch "pod" namespace, a fixture sysfs tree naming
the stand-ins' PCI functions (SRIOV_RDMA_SYSFS_ROOT), and temporary state and
host-local directories. The plugin runs as a runtime runs it: `ip netns exec HOST
sriov-rdma-cni` with CNI_* variables and the config on stdin. This machine's own
interfaces are never touched.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CNI_PATH = "/usr/lib/cni"


def plugin_binary() -> Path:
    candidates = []
    if os.environ.get("SRIOV_RDMA_BIN_DIR"):
        candidates.append(Path(os.environ["SRIOV_RDMA_BIN_DIR"]) / "sriov-rdma-cni")
    candidates += [REPO / ".build/release/sriov-rdma-cni", REPO / ".build/debug/sriov-rdma-cni"]
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    pytest.exit("sriov-rdma-cni is not built: swift build -c release --static-swift-stdlib --product sriov-rdma-cni", 2)


def ip(*args: str, check: bool = True) -> str:
    result = subprocess.run(["ip", *args], capture_output=True, text=True)
    if check and result.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: {result.stderr.strip()}")
    return result.stdout


class SysfsTree:
    """A fake sysfs with the kernel's shape: devices/ holds the functions,
    bus/pci/devices and class/net link into it."""

    def __init__(self, root: Path):
        self.root = root

    def write(self, relative: str, text: str) -> None:
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text + "\n")

    def link(self, relative: str, target: str) -> None:
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(target, path)

    def pci_function(self, address: str, device: str = "0x10ca", driver: str = "igbvf") -> str:
        directory = f"devices/pci0000:00/{address}"
        for name, value in (("vendor", "0x8086"), ("device", device), ("class", "0x020000"),
                            ("subsystem_vendor", "0x8086"), ("subsystem_device", "0x0000"), ("numa_node", "-1")):
            self.write(f"{directory}/{name}", value)
        (self.root / f"bus/pci/drivers/{driver}").mkdir(parents=True, exist_ok=True)
        self.link(f"{directory}/driver", "../../../bus/pci/drivers/" + driver)
        self.link(f"bus/pci/devices/{address}", f"../../../{directory}")
        return directory

    def netdev(self, name: str, under: str, mac: str) -> None:
        directory = f"{under}/net/{name}"
        for attribute, value in (("mtu", "1500"), ("address", mac), ("operstate", "up"), ("type", "1"), ("ifindex", "7")):
            self.write(f"{directory}/{attribute}", value)
        self.link(f"{directory}/device", "../..")
        self.link(f"class/net/{name}", f"../../{directory}")


class Rig:
    def __init__(self, vfs: int):
        tag = f"{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self.host = f"cnis-h{tag}"
        self.pod = f"cnis-p{tag}"
        self.extra_namespaces: list[str] = []
        self.work = Path(tempfile.mkdtemp(prefix="cni-suite-"))
        self.sysfs = SysfsTree(self.work / "sys")
        self.state_dir = self.work / "state"
        self.ipam_dir = self.work / "ipam"
        self.binary = plugin_binary()
        ip("netns", "add", self.host)
        ip("netns", "add", self.pod)
        for index in range(vfs):
            self.add_stand_in(index)

    @staticmethod
    def address(index: int) -> str:
        return f"0000:00:0a.{index}" if index < 8 else f"0000:00:0b.{index - 8}"

    def add_stand_in(self, index: int) -> None:
        name = f"vf{index}"
        mac = f"02:56:0a:00:00:{index:02x}"
        ip("-n", self.host, "link", "add", "name", name, "address", mac, "type", "veth", "peer", "name", f"{name}peer")
        ip("-n", self.host, "link", "set", name, "up")
        directory = self.sysfs.pci_function(self.address(index))
        self.sysfs.netdev(name, directory, mac)

    def new_pod(self) -> str:
        name = f"{self.pod}x{len(self.extra_namespaces)}"
        ip("netns", "add", name)
        self.extra_namespaces.append(name)
        return name

    def close(self) -> None:
        for name in [self.pod, self.host, *self.extra_namespaces]:
            ip("netns", "del", name, check=False)
        shutil.rmtree(self.work, ignore_errors=True)

    @property
    def pod_path(self) -> str:
        return f"/var/run/netns/{self.pod}"

    def config(self, version: str = "1.0.0", vf: int = 0, ipam: bool = True, **extra) -> dict:
        conf = {"cniVersion": version, "name": "sriov-net", "type": "sriov-rdma",
                "deviceID": self.address(vf), "stateDir": str(self.state_dir)}
        if ipam:
            conf["ipam"] = {"type": "host-local", "subnet": "10.56.0.0/24", "gateway": "10.56.0.1",
                            "routes": [{"dst": "10.57.0.0/16"}], "dataDir": str(self.ipam_dir)}
        conf.update(extra)
        return conf

    def cni(self, command: str, conf, *, cid: str = "cid1", ifname: str = "net1", netns: str | None = None,
            env: dict | None = None, raw_env: dict | None = None, timeout: float = 60,
            cwd: Path | None = None) -> "Call":
        variables = {"CNI_COMMAND": command, "CNI_CONTAINERID": cid, "CNI_IFNAME": ifname,
                     "CNI_NETNS": self.pod_path if netns is None else netns, "CNI_PATH": CNI_PATH,
                     "SRIOV_RDMA_SYSFS_ROOT": str(self.sysfs.root), "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}
        variables.update(env or {})
        if raw_env is not None:
            variables = raw_env
        stdin = conf if isinstance(conf, (bytes, str)) else json.dumps(conf)
        if isinstance(stdin, str):
            stdin = stdin.encode()
        result = subprocess.run(["ip", "netns", "exec", self.host, str(self.binary)], input=stdin,
                                capture_output=True, env=variables, timeout=timeout, cwd=cwd)
        return Call(result.returncode, result.stdout.decode(), result.stderr.decode())

    def links(self, namespace: str) -> list[dict]:
        return json.loads(ip("-n", namespace, "-j", "-d", "link", "show"))

    def link(self, namespace: str, name: str) -> dict | None:
        return next((link for link in self.links(namespace) if link["ifname"] == name), None)

    def snapshot(self) -> dict:
        def namespace(name: str) -> dict:
            links = sorted(
                (l["ifname"], l.get("address"), l.get("mtu"), tuple(sorted(l.get("flags", []))), l.get("ifalias"),
                 tuple(l.get("altnames", [])))
                for l in self.links(name))
            addresses = sorted(ip("-n", name, "-o", "addr", "show").split("\n"))
            addresses = [a.split(": ", 1)[-1] for a in addresses if a]
            routes = ip("-n", name, "route", "show", "table", "all")
            return {"links": links, "addresses": addresses, "routes": routes}

        def files(root: Path, skip) -> list[str]:
            if not root.exists():
                return []
            return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() and not skip(p))

        return {"host": namespace(self.host), "pod": namespace(self.pod),
                "state": files(self.state_dir, lambda p: "locks" in p.parts),
                "ipam": files(self.ipam_dir, lambda p: p.name == "lock" or p.name.startswith("last_reserved_ip"))}

    def ipam_allocations(self, network: str = "sriov-net") -> list[str]:
        directory = self.ipam_dir / network
        return sorted(p.name for p in directory.iterdir() if p.name[0].isdigit()) if directory.exists() else []


class Call:
    def __init__(self, status: int, stdout: str, stderr: str):
        self.status = status
        self.stdout = stdout
        self.stderr = stderr

    @property
    def json(self) -> dict:
        return json.loads(self.stdout)

    def __repr__(self) -> str:
        return f"Call(status={self.status}, stdout={self.stdout!r}, stderr={self.stderr!r})"


@pytest.fixture
def rig():
    rig = Rig(vfs=1)
    yield rig
    rig.close()


@pytest.fixture
def rig4():
    rig = Rig(vfs=4)
    yield rig
    rig.close()
