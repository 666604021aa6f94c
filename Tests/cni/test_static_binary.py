"""The plugin as a node of any distribution runs it: a fully static executable (no
interpreter, no shared library), so it starts on RHEL 8/9, RHCOS or Ubuntu 20.04 hosts
whose glibc is older than the one it was built with. Proven by running it in an empty
chroot: the binary alone, plus /proc (the Swift runtime reads /proc/self at start), the
fixture sysfs, its state directory and the pod's netns file bound in."""
import json
import os
import shlex
import shutil
import subprocess

import pytest

from conftest import REPO, plugin_binary

pytestmark = pytest.mark.skipif(shutil.which("readelf") is None, reason="needs binutils' readelf")


def elf(binary, flag):
    return subprocess.run(["readelf", flag, "-W", str(binary)], capture_output=True, text=True, check=True).stdout


def test_the_release_binary_is_fully_static(rig):
    if rig.binary.parent.name != "release":
        pytest.skip("debug builds are dynamic; the release build is the one nodes get")
    assert "INTERP" not in elf(rig.binary, "-l")
    assert "(NEEDED)" not in elf(rig.binary, "-d")


def chrooted(rig, command, conf):
    """`ip netns exec HOST` the plugin chrooted into a directory holding nothing but
    itself and the mount points it is handed."""
    root = rig.work / "root"
    if not root.exists():
        for name in ["proc", "sys", "state", "netns"]:
            (root / name).mkdir(parents=True)
        (root / "netns" / "pod").touch()
        shutil.copy2(rig.binary, root / "sriov-rdma-cni")
        rig.state_dir.mkdir(parents=True, exist_ok=True)
    script = "\n".join([
        "set -e",
        f"mount --bind {shlex.quote(str(rig.sysfs.root))} {root}/sys",
        f"mount --bind {shlex.quote(str(rig.state_dir))} {root}/state",
        f"mount --bind {shlex.quote(rig.pod_path)} {root}/netns/pod",
        f"mount -t proc proc {root}/proc",
        f"exec chroot {root} /sriov-rdma-cni",
    ])
    variables = {"CNI_COMMAND": command, "CNI_CONTAINERID": "cid1", "CNI_IFNAME": "net1", "CNI_NETNS": "/netns/pod",
                 "CNI_PATH": "/", "SRIOV_RDMA_SYSFS_ROOT": "/sys", "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}
    result = subprocess.run(["ip", "netns", "exec", rig.host, "sh", "-c", script], input=conf, capture_output=True,
                            text=True, env=variables, timeout=60)
    return result, sorted(os.listdir(root))


def test_version_add_and_del_in_an_empty_chroot(rig):
    if rig.binary.parent.name != "release":
        pytest.skip("debug builds need the toolchain's shared runtime")
    before = rig.snapshot()
    text = json.dumps(rig.config(ipam=False, stateDir="/state"))

    version, contents = chrooted(rig, "VERSION", text)
    assert contents == ["netns", "proc", "sriov-rdma-cni", "state", "sys"]
    assert version.returncode == 0, version.stderr
    assert json.loads(version.stdout)["supportedVersions"][-1] == "1.1.0"

    add, _ = chrooted(rig, "ADD", text)
    assert add.returncode == 0, add
    assert json.loads(add.stdout)["interfaces"][0]["name"] == "net1"
    assert rig.link(rig.pod, "net1") is not None
    assert rig.link(rig.host, "vf0") is None

    delete, _ = chrooted(rig, "DEL", text)
    assert delete.returncode == 0, delete
    assert rig.snapshot() == before


OUR_MODULES = ("$s3CNI", "$s8VFAttach", "$s7Netlink", "$s11HostDevices", "$s13SystemSupport", "$s9JSONValue",
               "$s14DeviceInfoSpec", "$s13DRACheckpoint", "$s14sriov_rdma_cni")


def test_the_code_a_call_runs_is_linked_first_in_the_order_calls_run_it():
    """The release link orders the functions a call runs as scripts/cni-symbol-order/
    symbols.txt lists them (issue #19: a call faults in fewer code pages). Ours are each
    in a section of their own, so they must appear in the binary in the list's order,
    ahead of the rest of our code; and the list must still name what the binary has,
    else it needs regenerating."""
    binary = plugin_binary()
    if binary.parent.name != "release":
        pytest.skip("the ordering is the release link's")
    names = (REPO / "scripts/cni-symbol-order/symbols.txt").read_text().split()
    listing = subprocess.run(["nm", "--defined-only", str(binary)], capture_output=True, text=True, check=True).stdout
    if not listing.strip():
        pytest.skip(f"{binary} is stripped")
    addresses = {}
    for line in listing.splitlines():
        fields = line.split()
        if len(fields) == 3 and fields[1] in "TtWw":
            addresses.setdefault(fields[2], []).append(int(fields[0], 16))
    found = [name for name in names if name in addresses]
    assert len(found) >= 0.9 * len(names), (
        f"{len(names) - len(found)} of the {len(names)} functions in symbols.txt are gone from the binary: "
        "run scripts/cni-symbol-order/generate")
    # Names several objects define (local helpers) have no one place: left out.
    listed = [addresses[name][0] for name in found if name.startswith(OUR_MODULES) and len(addresses[name]) == 1]
    assert len(listed) > 200
    out_of_order = [(a, b) for a, b in zip(listed, listed[1:]) if b < a]
    assert len(out_of_order) <= 0.02 * len(listed), f"{len(out_of_order)} of {len(listed)} out of order: the list was not used"
    # First: the rest of our own code comes after the listed functions.
    found_names = set(found)
    unlisted = [spots[0] for name, spots in addresses.items()
                if name.startswith(OUR_MODULES) and name not in found_names and len(spots) == 1]
    behind = sum(1 for address in unlisted if address > max(listed))
    assert behind >= 0.95 * len(unlisted), f"only {behind} of {len(unlisted)} unlisted functions of ours follow the listed ones"
