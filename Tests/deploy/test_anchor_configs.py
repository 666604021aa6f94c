"""The device-plugin configs the anchors write, each through `discover`, with the
anchor's own verdict as the expectation.

fixtures/anchors/dp/ holds configs collected from sriov-network-device-plugin,
k8s-rdma-shared-dev-plugin, sriov-network-operator and network-operator: README and
docs examples, deployment ConfigMaps, unit-test inputs and the operators' rendered
output (facts taken, files written by us). MANIFEST.json gives each one's source, the
anchor's verdict (accepted or refused, and why) and the resources it declares.
Where we deliberately answer otherwise, DIFFERENCES says why, and docs/migration.md
says the same to users."""
import json
import pathlib
import subprocess

import pytest

from conftest import binary
from node_fixture import ConnectXNode

FIXTURES = pathlib.Path(__file__).resolve().parent / "fixtures" / "anchors" / "dp"
MANIFEST = json.loads((FIXTURES / "MANIFEST.json").read_text())

# file -> (our verdict, why it is not the anchor's)
DIFFERENCES = {
    "sriovdp-missing-selectors.json": (
        "accepted", "SRIOV-DP documents selectors as optional but dereferences nil and panics; "
                    "no selectors is read as `{}`, which SRIOV-DP and the operator accept"),
    "rdmasdp-readme-config.json": (
        "refused", "resourcePrefix \"example_prefix\" is not a DNS subdomain: k8s-rdma-shared-dev-plugin "
                   "loads it and kubelet then refuses that pool's Register"),
    "rdmasdp-hyphen-name.json": (
        "accepted", "one name rule for both formats, SRIOV-DP's ^[a-zA-Z0-9_-]+$; kubelet and "
                    "network-operator's webhook accept hyphens"),
    "rdmasdp-dup-name-different-prefix.json": (
        "accepted", "names are unique per prefix, as k8s-rdma-shared-dev-plugin's README says; "
                    "its code compares the names alone"),
    "nvno-webhook-sriov-hyphen-name.json": (
        "accepted", "the refusal is network-operator's admission webhook; SRIOV-DP itself accepts the name"),
    "nvno-webhook-sriov-empty-selectors.json": (
        "accepted", "the refusal is network-operator's admission webhook; SRIOV-DP accepts `{}` and "
                    "sriov-network-operator renders it"),
}


def expected(entry):
    return DIFFERENCES.get(entry["file"], (entry["verdict"], None))[0]


@pytest.fixture(scope="module")
def node(tmp_path_factory):
    return ConnectXNode(str(tmp_path_factory.mktemp("node")), vfs=10)


def discover(node, entry):
    command = [binary("sriov-rdma-dp"), "discover", "--config", str(FIXTURES / entry["file"]),
               "--sys-root", node.sys, "--dev-root", node.dev, "--json"]
    if entry["anchor"].endswith("sriov-network-operator"):
        # The operator starts the plugin with its own prefix (anchors-2026.md §4).
        command += ["--resource-prefix", "openshift.io"]
    return subprocess.run(command, capture_output=True, text=True, timeout=60)


def test_the_manifest_names_every_fixture_once():
    files = [entry["file"] for entry in MANIFEST]
    assert len(files) == len(set(files))
    assert sorted(files) == sorted(path.name for path in FIXTURES.glob("*.json") if path.name != "MANIFEST.json")
    assert {entry["verdict"] for entry in MANIFEST} == {"accepted", "refused"}
    assert set(DIFFERENCES) <= set(files)


@pytest.mark.parametrize("entry", MANIFEST, ids=[entry["file"][:-5] for entry in MANIFEST])
def test_anchor_config(node, entry):
    result = discover(node, entry)
    if expected(entry) == "accepted":
        assert result.returncode == 0, result.stderr
        report = json.loads(result.stdout)
        pools = [pool["resourceName"] for pool in report["pools"]]
        if entry["file"] in DIFFERENCES:
            assert pools, "a config we accept where the anchor does not still declares its pools"
        else:
            assert pools == entry["resources"]
        # Operator-rendered keys (SelectorObj, IsRdma, ...) are known: nothing to warn about.
        assert report["configWarnings"] == []
    else:
        assert result.returncode != 0, result.stdout
        first = result.stderr.splitlines()[0]
        assert first.startswith(f"Error: {FIXTURES / entry['file']}: config: "), first
        # The message names the resource or the key it is about, or the JSON fault.
        assert "resource \"" in first or "not valid JSON" in first or "List:" in first, first
        assert result.stdout == ""
