"""The operator docs against the binaries: every config error quoted in
docs/config-reference.md is what the real parser prints for such a config, every
key the parser accepts is documented, every flag of `run`, `discover` and `health`
is documented, and README links the docs."""
import json
import re
import subprocess

import pytest

from conftest import REPO, binary

DOCS = REPO / "docs"
REFERENCE = (DOCS / "config-reference.md").read_text()


def pool(**keys):
    return {"resourceList": [{"resourceName": "a", **keys}]}


def selector(**keys):
    return pool(selectors=[keys])


# (config, the message after "config: ")
CASES = [
    ("[1]", 'the top level must be an object with "resourceList"'),
    ({"resources": []}, 'unknown key "resources"'),
    ({}, 'missing required key "resourceList"'),
    ({"resourceList": 5}, "resourceList: must be a list of resources"),
    ({"resourceList": [5]}, "resourceList[0]: must be an object"),
    ({"resourceList": [{"resourceName": "a"}, {"resourceName": "a"}]}, 'resource "a": "intel.com/a" is defined twice'),
    ({"resourceList": [{}]}, 'missing required key "resourceName"'),
    ({"resourceList": [{"resourceName": 5}]}, "resourceName: must be a string, not 5"),
    ({"resourceList": [{"resourceName": "a b"}]}, 'resource "a b": resourceName: "a b" must match ^[a-zA-Z0-9_-]+$'),
    (pool(isRdma=True), 'resource "a": unknown key "isRdma"'),
    (pool(deviceType="netdevice"), 'resource "a": deviceType: "netdevice" is not one of netDevice, accelerator, auxNetDevice, rdmaShared'),
    (pool(deviceType="auxNetDevice", selectors={"auxTypes": ["eth"]}),
     'resource "a": selectors.auxTypes: "eth" is not a supported auxiliary device type (only "sf", scalable functions)'),
    (pool(deviceType="auxNetDevice", additionalInfo={"mlx5_core.sf": {}}),
     'resource "a": additionalInfo: key "mlx5_core.sf" is neither "*" nor a PCI address nor an auxiliary device name'),
    (pool(resourcePrefix="Example.com"), 'resource "a": resourcePrefix: "Example.com" is not a DNS subdomain, and kubelet refuses resource names under it'),
    (pool(resourcePrefix=5), 'resource "a": resourcePrefix: must be a string, not 5'),
    (pool(excludeTopology="true"), 'resource "a": excludeTopology: must be true or false, not "true"'),
    (pool(allocationPolicy="balanced"), 'resource "a": allocationPolicy: "balanced" is not one of spread, pack'),
    (pool(deviceType="netDevice", rdmaHcaMax=4), 'resource "a": rdmaHcaMax: only applies to deviceType rdmaShared'),
    (pool(rdmaHcaMax=-1), 'resource "a": rdmaHcaMax: -1 is not a whole number from 0 to 10000'),
    (pool(deviceType="rdmaShared"), 'resource "a": missing required key "rdmaHcaMax"'),
    (pool(additionalInfo=[]), 'resource "a": additionalInfo: must be an object'),
    (pool(additionalInfo={"eth0": {}}), 'resource "a": additionalInfo: key "eth0" is neither "*" nor a PCI address'),
    (pool(additionalInfo={"*": "x"}), 'resource "a": additionalInfo.*: must be an object'),
    (pool(additionalInfo={"*": {"mode": 1}}), 'resource "a": additionalInfo.*.mode: must be a string, not 1'),
    (pool(selectors="all"), 'resource "a": selectors: must be an object or a list of objects, not "all"'),
    (pool(selectors=[5]), 'resource "a": selectors[0]: must be an object'),
    (pool(selectors={"isRdma": True, "vdpaType": "vhost"}), 'resource "a": selectors: isRdma and vdpaType cannot be combined'),
    (selector(pfName=["ens1f0"]), 'resource "a": selectors[0]: unknown key "pfName"'),
    (selector(vendors="15b3"), 'resource "a": selectors[0].vendors: must be a list of strings, not "15b3"'),
    (selector(drivers=[5]), 'resource "a": selectors[0].drivers: must be a list of strings; 5 is not a string'),
    (selector(vendors=["15b"]), 'resource "a": selectors[0].vendors: "15b" is not a 4-digit hex ID such as "8086"'),
    (selector(pciAddresses=["0000:3b:02"]),
     'resource "a": selectors[0].pciAddresses: "0000:3b:02" is not a PCI address such as "0000:3b:02.0"'),
    (selector(rootDevices=["ens1f0"]),
     'resource "a": selectors[0].rootDevices: "ens1f0" is not a PF\'s PCI address such as "0000:3b:00.0", optionally with #<VF ranges>'),
    (selector(acpiIndexes=["0"]), 'resource "a": selectors[0].acpiIndexes: "0" is not a positive ACPI index'),
    (selector(pfNames=["ens1f0#1#2"]), 'resource "a": selectors[0].pfNames: "ens1f0#1#2" is not <pf> or <pf>#<ranges>'),
    (selector(pfNames=["ens1f0#x"]), 'resource "a": selectors[0].pfNames: "ens1f0#x" has an invalid VF index range "x"'),
    (pool(selectors={"pfNames": ["ens1f0#3-1"]}), 'resource "a": selectors.pfNames: "ens1f0#3-1" has a descending range 3-1'),
    (selector(isRdma="yes"), 'resource "a": selectors[0].isRdma: must be true or false, not "yes"'),
    (selector(vdpaType="vdpa"), 'resource "a": selectors[0].vdpaType: "vdpa" is not one of vhost, virtio'),
]


@pytest.mark.parametrize("config, message", CASES, ids=[message for _, message in CASES])
def test_quoted_error_is_what_the_parser_prints(scratch, config, message):
    path = scratch / "config.json"
    path.write_text(config if isinstance(config, str) else json.dumps(config))
    # Strict, so that the unknown-key cases are refused as --strict-config refuses them.
    result = subprocess.run([binary("sriov-rdma-dp"), "discover", "--strict-config", "--config", str(path), "--sys-root", str(scratch)],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode != 0
    assert result.stderr.splitlines()[0] == f"Error: {path}: config: {message}"
    assert f"`config: {message}`" in REFERENCE


UNKNOWN_KEYS = [
    ({"resources": [], "resourceList": [{"resourceName": "a"}]}, 'config: unknown key "resources" ignored'),
    (pool(isRdma=True), 'config: resource "a": unknown key "isRdma" ignored'),
    (selector(pfName=["ens1f0"]), 'config: resource "a": selectors[0]: unknown key "pfName" ignored'),
]


@pytest.mark.parametrize("config, warning", UNKNOWN_KEYS, ids=[warning for _, warning in UNKNOWN_KEYS])
def test_unknown_keys_are_ignored_with_a_warning_as_the_go_plugins_ignore_them(scratch, config, warning):
    path = scratch / "config.json"
    path.write_text(json.dumps(config))
    result = subprocess.run([binary("sriov-rdma-dp"), "discover", "--config", str(path), "--sys-root", str(scratch)],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    assert f"  {warning}\n" in result.stdout
    as_json = subprocess.run([binary("sriov-rdma-dp"), "discover", "--json", "--config", str(path), "--sys-root", str(scratch)],
                             capture_output=True, text=True, timeout=30)
    assert json.loads(as_json.stdout)["configWarnings"] == [warning]


def test_run_refuses_a_name_kubelet_would_refuse(scratch):
    path = scratch / "config.json"
    path.write_text(json.dumps(pool(resourcePrefix="kubernetes.io")))
    result = subprocess.run([binary("sriov-rdma-dp"), "run", "--config", str(path), "--kubelet-dir", str(scratch / "kubelet"),
                             "--state-dir", str(scratch / "state"), "--sys-root", str(scratch)], capture_output=True, text=True, timeout=30)
    assert result.returncode == 1
    assert f'{path}: resource kubernetes.io/a: kubelet would refuse it: "kubernetes.io/a" must not be in the kubernetes.io namespace' \
        in result.stderr
    assert '`"kubernetes.io/a" must not be in the kubernetes.io namespace`' in REFERENCE


def swift_string_set(source, declaration):
    """The string literals of a Swift array or dictionary literal that closes on a
    line of its own at the declaration's indentation."""
    match = re.search(rf"^( *){re.escape(declaration)}[^=]*= \[(.*?)^\1\]", source, flags=re.S | re.M)
    return set(re.findall(r'"(\w+)"', match.group(2)))


def test_every_key_the_parser_accepts_is_documented():
    parser = (REPO / "Sources" / "ResourcePools" / "ConfigParser.swift").read_text()
    selectors = (REPO / "Sources" / "ResourcePools" / "SelectorParser.swift").read_text()
    top = set(re.search(r'known: \[("resourceList".*?)\]', parser).group(1).replace('"', "").replace(" ", "").split(","))
    pool_keys = swift_string_set(parser, "private static let poolKeys")
    selector_keys = swift_string_set(selectors, "static let keys")
    assert top == {"resourceList", "configList", "periodicUpdateInterval"}
    assert {"resourceName", "rdmaHcaMax", "allocationPolicy"} <= pool_keys
    assert {"pfNames", "deviceIDs", "rdmaDevices", "ifNames"} <= selector_keys
    for key in top | pool_keys | selector_keys:
        assert re.search(rf"^\| `{key}` \|", REFERENCE, flags=re.M), f"{key} has no row in docs/config-reference.md"


@pytest.mark.parametrize("subcommand", ["run", "discover", "health"])
def test_every_flag_is_documented(subcommand):
    help_text = subprocess.run([binary("sriov-rdma-dp"), subcommand, "--help"], capture_output=True, text=True).stdout
    flags = set(re.findall(r"^  (--[a-z-]+)", help_text, flags=re.M)) - {"--help", "--version"}
    assert flags
    docs = "".join(path.read_text() for path in DOCS.glob("*.md"))
    for flag in flags:
        assert f"`{flag}" in docs, f"{subcommand} {flag} is not documented"


def test_readme_links_every_doc_and_keeps_its_two_commands():
    readme = (REPO / "README.md").read_text()
    for path in DOCS.glob("*.md"):
        assert f"(docs/{path.name})" in readme, f"README does not link docs/{path.name}"
    assert "scripts/demo" in readme and "scripts/test" in readme
