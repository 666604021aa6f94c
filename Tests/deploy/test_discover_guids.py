"""InfiniBand VFs with no GUID (network-operator #1825, ib-sriov-cni #66): ib-sriov-cni
refuses ADD on a VF whose node GUID is all zeros unless the network brings one, and
the pod stays in ContainerCreating. `discover` names each such VF with its RDMA
device, the reason and what to do; `health` prints the daemon's notes and still
passes. RoCE devices need no GUID and are never named."""
import json
import subprocess

import pytest

from conftest import binary
from node_fixture import ConnectXNode, vf_address

IB_PF = "0000:af:00.0"
# VF 0 never got a GUID, VF 1 has one, VF 2 has the all-ones ib-sriov-cni's DEL writes back.
IB_VFS = [("0000:af:00.2", "mlx5_11", "0000:0000:0000:0000"),
          ("0000:af:00.3", "mlx5_12", "0c42:a103:005e:0003"),
          ("0000:af:00.4", "mlx5_13", "ffff:ffff:ffff:ffff")]
ZERO_REASON = ("InfiniBand RDMA device mlx5_11 has node GUID 00:00:00:00:00:00:00:00, all zeros (none assigned): "
               'an ib-sriov ADD fails (ib-sriov-cni: "GUID is not valid") unless the network gives the VF a GUID')
ONES_REASON = ("InfiniBand RDMA device mlx5_13 has node GUID ff:ff:ff:ff:ff:ff:ff:ff, all ones (ib-sriov-cni's \"none\", "
               'left by a DEL): an ib-sriov ADD fails (ib-sriov-cni: "GUID is not valid") unless the network gives the VF a GUID')


@pytest.fixture
def node(scratch):
    """The ConnectX RoCE node (its first VF's RDMA device with a zero node GUID, which
    RoCE never reads) plus an InfiniBand PF with three VFs."""
    node = ConnectXNode(str(scratch), vfs=2)
    node.write(f"devices/pci0000:3a/0000:3a:00.0/{vf_address(0)}/infiniband/mlx5_2/node_guid", "0000:0000:0000:0000")
    pf = node.function(IB_PF, "0x101b", "mlx5_core", numa=0)
    node.write(f"{pf}/sriov_totalvfs", "8")
    node.write(f"{pf}/sriov_numvfs", str(len(IB_VFS)))
    node.netdev("ibp94s0", pf, "00:00:10:49:fe:80:00:00:00:00:00:00:0c:42:a1:03:00:5e:00:00")
    node.rdma("mlx5_10", pf, "ibp94s0", link_layer="InfiniBand", node_guid="0c42:a103:005e:0000")
    for index, (address, rdma, guid) in enumerate(IB_VFS):
        directory = node.function(address, "0x101c", "mlx5_core", numa=0)
        node.link(f"{pf}/virtfn{index}", f"../{address}")
        node.link(f"{directory}/physfn", f"../{IB_PF}")
        name = f"ibp94s0v{index}"
        node.netdev(name, directory, "00:00:10:49:fe:80:00:00:00:00:00:00:0c:42:a1:03:00:5e:00:%02x" % (2 + index))
        node.rdma(rdma, directory, name, link_layer="InfiniBand", node_guid=guid)
    return node


def discover(node, *flags):
    result = subprocess.run([binary("sriov-rdma-dp"), "discover", "--sys-root", node.sys, "--dev-root", node.dev, *flags],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_discover_text_warns_about_each_infiniband_vf_without_a_guid(node):
    lines = discover(node).splitlines()
    warnings = [line.strip() for line in lines if "warning:" in line]
    assert warnings == [f"warning: VF 0000:af:00.2: {ZERO_REASON}", f"warning: VF 0000:af:00.4: {ONES_REASON}"]
    # Each under its RDMA device's line, which shows the node GUID.
    zero = next(index for index, line in enumerate(lines) if line.startswith("  mlx5_11: "))
    assert lines[zero].startswith("  mlx5_11: PCI 0000:af:00.2, no netdev, node GUID 00:00:00:00:00:00:00:00, char devices: ")
    assert lines[zero + 2].strip() == f"warning: VF 0000:af:00.2: {ZERO_REASON}"
    # A VF with a GUID, and a RoCE VF with a zero one, show it and are not warned about.
    assert any(line.startswith("  mlx5_12: PCI 0000:af:00.3, no netdev, node GUID 0c:42:a1:03:00:5e:00:03, ") for line in lines)
    assert any(line.startswith(f"  mlx5_2: PCI {vf_address(0)}, no netdev, node GUID 00:00:00:00:00:00:00:00, ") for line in lines)
    # What to do, once.
    advice = [line for line in lines if line.startswith("InfiniBand GUIDs:")]
    assert len(advice) == 1
    assert advice[0].startswith("InfiniBand GUIDs: 2 functions have none (warnings above). To fix: give the network a GUID")
    for remedy in ['ib-sriov config "guid"', "runtimeConfig.infinibandGUID", "CNI_ARGS guid=", '"assignGUID": true']:
        assert remedy in advice[0]


def test_discover_json_has_every_node_guid_and_the_warnings(node):
    report = json.loads(discover(node, "--json"))
    guids = {device["name"]: device["nodeGUID"] for device in report["rdmaDevices"]}
    assert guids["mlx5_10"] == "0c:42:a1:03:00:5e:00:00"
    assert guids["mlx5_11"] == "00:00:00:00:00:00:00:00"
    assert guids["mlx5_12"] == "0c:42:a1:03:00:5e:00:03"
    assert guids["mlx5_0"] is None  # no node_guid file
    warnings = report["infiniBandGUIDWarnings"]
    assert [(w["function"], w["rdmaDevice"], w["nodeGUID"], w["reason"]) for w in warnings] == [
        ("VF 0000:af:00.2", "mlx5_11", "00:00:00:00:00:00:00:00", ZERO_REASON),
        ("VF 0000:af:00.4", "mlx5_13", "ff:ff:ff:ff:ff:ff:ff:ff", ONES_REASON),
    ]
    assert '"assignGUID": true' in warnings[0]["remedy"]


def test_a_node_whose_vfs_all_have_guids_gets_no_warning(node):
    for address, rdma, _ in IB_VFS:
        node.write(f"devices/pci0000:3a/0000:3a:00.0/{address}/infiniband/{rdma}/node_guid", "0c42:a103:005e:0009")
    text = discover(node)
    assert "warning:" not in text and "InfiniBand GUIDs:" not in text
    assert json.loads(discover(node, "--json"))["infiniBandGUIDWarnings"] == []


def test_health_prints_the_daemons_notes_and_passes(scratch):
    """The notes are reporting only: the probe stays green."""
    status = scratch / "sriov-rdma-dp" / "status.json"
    status.parent.mkdir()
    pool = {"registered": True, "streaming": True, "socket": "/k/ib.sock", "devices": 3,
            "notes": [{"device": "0000:af:00.2", "reason": ZERO_REASON}]}
    # pid 0: no daemon to look for; maxAge large enough for any clock.
    status.write_text(json.dumps({"pid": 0, "updated": 0, "pools": {"nvidia.com/ib_vfs": pool},
                                  "configuredPools": ["nvidia.com/ib_vfs"]}))
    result = subprocess.run([binary("sriov-rdma-dp"), "health", "--state-dir", str(scratch), "--max-age", "1e12"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == ("healthy: 1 pools registered and streaming\n"
                             f"note: nvidia.com/ib_vfs: 0000:af:00.2: {ZERO_REASON}\n")
