"""The example networks' configs through the real sriov-rdma-cni. ADD validates
the whole config before it touches anything, then opens the pod's netns: with a
netns path that does not exist, a config the plugin accepts fails with error 8
(invalid netns), and one it refuses fails earlier with error 7. deviceID is added
as Multus adds it from the device plugin's allocation."""
import json
import subprocess

import pytest

from conftest import binary
from node_fixture import vf_address

CNI_PATH = "/usr/lib/cni"  # Debian's containernetworking-plugins (host-local), as in Tests/cni


def add(config, scratch):
    environment = {"CNI_COMMAND": "ADD", "CNI_CONTAINERID": "deploy-example", "CNI_NETNS": str(scratch / "no-such-netns"),
                   "CNI_IFNAME": "net1", "CNI_PATH": CNI_PATH, "SRIOV_RDMA_SYSFS_ROOT": str(scratch / "sys"), "PATH": "/usr/bin:/bin"}
    result = subprocess.run([binary("sriov-rdma-cni")], input=json.dumps(config), env=environment,
                            capture_output=True, text=True, timeout=30)
    assert result.returncode != 0
    return json.loads(result.stdout)


def multus_config(nad, scratch):
    config = json.loads(nad["spec"]["config"])
    config["deviceID"] = vf_address(0)
    config["stateDir"] = str(scratch / "state")
    return config


@pytest.mark.parametrize("network", ["sriov-vlan100", "sriov-rdma"])
def test_plugin_accepts_the_example_network(manifests, scratch, network):
    config = multus_config(manifests.one("NetworkAttachmentDefinition", network), scratch)
    error = add(config, scratch)
    assert (error["code"], error["msg"]) == (8, f"cannot use CNI_NETNS {scratch / 'no-such-netns'}")
    assert error["cniVersion"] == config["cniVersion"]
    # Nothing was written: the config check and the netns check come first.
    assert not (scratch / "state").exists()


@pytest.mark.parametrize("key, value, message", [
    ("vlan", 4095, "invalid vlan 4095: must be in 0...4094"),
    ("spoofchk", "yes", 'invalid spoofchk "yes": must be "on" or "off"'),
    ("rdmaIsolation", "true", 'invalid rdmaIsolation "true": must be true or false'),
])
def test_plugin_refuses_a_broken_variant_with_error_7(manifests, scratch, key, value, message):
    """The control: the same path does reject bad values, so error 8 above means the
    config was read and accepted."""
    config = multus_config(manifests.one("NetworkAttachmentDefinition", "sriov-vlan100"), scratch)
    config[key] = value
    error = add(config, scratch)
    assert (error["code"], error["msg"]) == (7, message)
