"""The ConfigMap's config through the real parser: `sriov-rdma-dp discover --config
... --json` with the DaemonSet's --resource-prefix, on a generated node shaped like
the one the example is written for. The pools it reports are the ones the networks
and the pod name."""
import json
import os
import shutil
import subprocess

import pytest

from conftest import binary
from node_fixture import PF0, PF1, ConnectXNode, vf_address
from pools import pool_names


@pytest.fixture
def node(scratch):
    return ConnectXNode(str(scratch), vfs=10)


def discover(manifests, scratch, node, config_text):
    config = scratch / "config.json"
    config.write_text(config_text)
    command = [binary("sriov-rdma-dp"), "discover", "--config", str(config), "--sys-root", node.sys, "--dev-root", node.dev, "--json"]
    prefix = manifests.daemon_flags().get("--resource-prefix")
    if prefix:
        command += ["--resource-prefix", prefix]
    return subprocess.run(command, capture_output=True, text=True, timeout=60)


def test_configmap_pools_as_the_parser_builds_them(manifests, scratch, node):
    result = discover(manifests, scratch, node, manifests.config_text)
    assert result.returncode == 0, result.stderr
    pools = {pool["resourceName"]: pool for pool in json.loads(result.stdout)["pools"]}
    assert list(pools) == ["example.com/sriov_cx6", "rdma/hca_shared"]

    vfs = pools["example.com/sriov_cx6"]
    assert vfs["deviceType"] == "netDevice"
    # pfNames ens1f0#0-7: VFs 8 and 9 stay out.
    assert [device["id"] for device in vfs["devices"]] == [vf_address(index) for index in range(8)]
    assert [device["rdmaDevices"] for device in vfs["devices"]] == [[f"mlx5_{index + 2}"] for index in range(8)]
    assert [device["netdevs"] for device in vfs["devices"]] == [[f"ens1f0v{index}"] for index in range(8)]
    assert {device["numaNode"] for device in vfs["devices"]} == {0}

    shared = pools["rdma/hca_shared"]
    assert shared["deviceType"] == "rdmaShared"
    assert [device["id"] for device in shared["devices"]] == [str(slot) for slot in range(100)]
    assert {tuple(device["rdmaDevices"]) for device in shared["devices"]} == {("mlx5_1",)}

    excluded = {entry["address"]: entry["reasons"] for entry in json.loads(result.stdout)["excluded"]}
    assert excluded[vf_address(8)][0] == "example.com/sriov_cx6: PF ens1f0#8 not in pfNames"
    # PF 1 carries mlx5_1, which the shared pool hands out: in use, not left out.
    assert PF1 not in excluded


def test_resource_names_agree_with_the_parser(manifests, scratch, node):
    result = discover(manifests, scratch, node, manifests.config_text)
    assert result.returncode == 0, result.stderr
    reported = [pool["resourceName"] for pool in json.loads(result.stdout)["pools"]]
    assert reported == pool_names(manifests.config_text, manifests.daemon_flags().get("--resource-prefix", "intel.com"))
    for nad in manifests.all("NetworkAttachmentDefinition"):
        assert nad["metadata"]["annotations"]["k8s.v1.cni.cncf.io/resourceName"] in reported
    for pod in manifests.all("Pod"):
        for container in pod["spec"]["containers"]:
            assert {name for name in container["resources"]["limits"] if "/" in name} <= set(reported)


def test_the_configmap_survives_a_strict_reading(manifests, scratch, node):
    """A typo in the example would be reported: the parser warns of unknown keys, so
    the example's keys are all real ones (no warning for the example itself)."""
    result = discover(manifests, scratch, node, manifests.config_text)
    assert json.loads(result.stdout)["configWarnings"] == []
    config = json.loads(manifests.config_text)
    config["resourceList"][0]["selectors"][0]["pfName"] = ["ens1f0"]
    result = discover(manifests, scratch, node, json.dumps(config))
    assert result.returncode == 0
    assert json.loads(result.stdout)["configWarnings"] == ['config: resource "sriov_cx6": selectors[0]: unknown key "pfName" ignored']


def test_discover_json_says_what_the_table_says(manifests, scratch, node):
    """`--json` carries the flags the table prints: a VF whose netdev a pod has (the
    kernel leaves its `net/` empty here), a switchdev representor beside its PF's
    uplink, and carrier and phys_port_name."""
    vf = node.vfs[3]
    vf_dir = f"devices/pci0000:3a/0000:3a:00.0/{vf}"
    shutil.rmtree(os.path.join(node.sys, vf_dir, "net", "ens1f0v3"))
    os.unlink(os.path.join(node.sys, "class/net/ens1f0v3"))
    pf_dir = "devices/pci0000:3a/0000:3a:00.0/0000:3b:00.0"
    node.netdev("pf0vf0rep", pf_dir, "5a:00:00:00:00:01")
    node.write(f"{pf_dir}/net/pf0vf0rep/phys_port_name", "pf0vf0")
    node.write(f"{pf_dir}/net/ens1f0/phys_port_name", "p0")
    result = discover(manifests, scratch, node, manifests.config_text)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    devices = {device["address"]: device for device in report["pciDevices"]}
    assert devices[vf]["netdevNotVisible"] is True and devices[vf]["netdevs"] == []
    assert devices[node.vfs[2]]["netdevNotVisible"] is False
    netdevs = {netdev["name"]: netdev for netdev in report["netdevs"]}
    assert netdevs["pf0vf0rep"]["representor"] is True and netdevs["pf0vf0rep"]["physPortName"] == "pf0vf0"
    assert netdevs["ens1f0"]["representor"] is False and netdevs["ens1f0"]["physPortName"] == "p0"
    assert netdevs["ens1f0"]["carrier"] is True
    assert devices[PF0]["sriov"]["pfName"] == "ens1f0"
