"""The CNI network configs the anchors write, each through the real sriov-rdma-cni as
a runtime calls it, with the anchor's verdict as the expectation.

fixtures/anchors/cni/ holds configs collected from sriov-cni, rdma-cni, ib-sriov-cni,
sriov-network-device-plugin's docs, sriov-network-operator (templates rendered, golden
files) and network-operator (facts taken, files written by us); MANIFEST.json gives
each one's source and the anchor's verdict. As in test_cni_netconf, ADD checks the
whole config before it touches anything and then opens the pod's netns: with a netns
path that does not exist, a config the plugin accepts fails with error 8 and one it
refuses fails earlier (7 for a bad value, 6 for bad JSON). deviceID is added to each
of our plugins' steps, as Multus adds it to a config and to every plugin of a list;
a chained step gets a prevResult, as libcni hands it on. Where we answer otherwise
than the anchor, DIFFERENCES says why (docs/migration.md says the same)."""
import json
import pathlib
import subprocess

import pytest

from conftest import binary
from node_fixture import vf_address

FIXTURES = pathlib.Path(__file__).resolve().parent / "fixtures" / "anchors" / "cni"
MANIFEST = json.loads((FIXTURES / "MANIFEST.json").read_text())
CNI_PATH = "/usr/lib/cni"
OURS = {"sriov", "rdma", "ib-sriov", "sriov-rdma"}

# file -> (our verdict, why it is not the anchor's)
DIFFERENCES = {
    "sriovdp-dpdk-net2000-no-cniversion.json": (
        "refused", "no cniVersion is 0.1.0, whose result needs an IP address, and there is no ipam: sriov-cni "
                   "attaches the VF and then fails printing the result (libcni: \"cannot convert: no valid IP "
                   "addresses\"); we refuse before anything changes"),
    "sriovdp-rdma-intel-no-cniversion.json": (
        "refused", "as sriovdp-dpdk-net2000-no-cniversion"),
    "rdmacni-readme-standalone.json": (
        "refused", "outside a list (no name, no prevResult) rdma-cni's ADD refuses it too: \"RDMA-CNI is "
                   "expected to be called as part of a plugin chain\""),
    "rdmacni-test-cmdadd-auxdev.json": (
        "refused", "the rdma step for a scalable function (deviceID mlx5_core.sf.6) is not served: only PCI VFs"),
}
# rdma-cni's DEL test config: run as DEL, which succeeds with nothing to undo.
DELETES = {"rdmacni-test-cmddel.json"}


def expected(entry):
    return DIFFERENCES.get(entry["file"], (entry["verdict"], None))[0]


def call(command, text, scratch):
    environment = {"CNI_COMMAND": command, "CNI_CONTAINERID": "anchor-fixture", "CNI_NETNS": str(scratch / "no-such-netns"),
                   "CNI_IFNAME": "net1", "CNI_PATH": CNI_PATH, "SRIOV_RDMA_SYSFS_ROOT": str(scratch / "sys"),
                   "PATH": "/usr/bin:/bin"}
    return subprocess.run([binary("sriov-rdma-cni")], input=text, env=environment, capture_output=True, text=True, timeout=30)


def steps(entry, config):
    """Our plugins' steps as the runtime hands them over: a list's name and version with
    each plugin's own keys, deviceID as Multus adds it, prevResult for a chained step."""
    converted = "CONVERTED from Go test" in (entry.get("notes") or "")
    plugins = config["plugins"] if "plugins" in config else [config]
    found = []
    for index, plugin in enumerate(plugins):
        if plugin.get("type") not in OURS:
            continue
        step = dict(plugin)
        if "plugins" in config:
            step = {"name": config.get("name"), **plugin}
            if "cniVersion" in config:
                step["cniVersion"] = config["cniVersion"]
        if converted and "cniVersion" not in step:
            # The Go tests hand LoadConf configs without a version; it does not read one.
            step["cniVersion"] = "1.0.0"
        step.setdefault("deviceID", vf_address(0))
        if index > 0:
            step["prevResult"] = {"cniVersion": step.get("cniVersion", "1.0.0"),
                                  "interfaces": [{"name": "net1", "sandbox": "/var/run/netns/pod"}], "ips": []}
        found.append(step)
    return found


def test_the_manifest_names_every_fixture_once():
    files = [entry["file"] for entry in MANIFEST]
    assert len(files) == len(set(files))
    assert sorted(files) == sorted(path.name for path in FIXTURES.glob("*.json") if path.name != "MANIFEST.json")
    assert set(DIFFERENCES) | DELETES <= set(files)


@pytest.mark.parametrize("entry", MANIFEST, ids=[entry["file"][:-5] for entry in MANIFEST])
def test_anchor_netconf(entry, scratch):
    text = (FIXTURES / entry["file"]).read_text()
    try:
        config = json.loads(text)
    except json.JSONDecodeError:
        assert entry["verdict"] == "refused"
        result = call("ADD", text, scratch)
        assert result.returncode != 0
        assert json.loads(result.stdout)["code"] == 6
        return
    calls = steps(entry, config)
    assert calls, "the fixture has a step of ours"
    for step in calls:
        step["stateDir"] = str(scratch / "state")
        if entry["file"] in DELETES:
            result = call("DEL", json.dumps(step), scratch)
            assert (result.returncode, result.stdout) == (0, ""), result
            continue
        result = call("ADD", json.dumps(step), scratch)
        assert result.returncode != 0
        error = json.loads(result.stdout)
        if expected(entry) == "accepted":
            assert (error["code"], error["msg"]) == (8, f"cannot use CNI_NETNS {scratch / 'no-such-netns'}"), error
            assert error["cniVersion"] == step.get("cniVersion", "0.1.0")
        else:
            assert error["code"] in (1, 7), error
            assert error["msg"], error
            if entry["verdict"] == "refused" and "vlan" in entry["why"].lower():
                # The same reason as sriov-cni's LoadConf: the vlan settings.
                assert error["msg"].startswith("invalid vlan"), error
    # Nothing was written for a config we refuse or before the netns was opened.
    assert not (scratch / "state").exists() or entry["file"] in DELETES
