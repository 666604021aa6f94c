"""The one binary as the plugins the operators install it as (`sriov`, `ib-sriov`,
`rdma`): the type in the config chooses the behaviour. sriov-network-operator renders
`"type": "sriov"` NADs with `capabilities` as a JSON string, and with metaPlugins a
conflist `[sriov, {"type": "rdma"}]`; a runtime runs the list as libcni does: ADD in
order, each with the previous result, DEL in reverse."""
import json

import pytest


def operator_nad(rig, **extra):
    """A NAD config as sriov-network-operator renders it (deviceID as Multus adds it).
    The rig's stand-ins have no PF, so what only a PF can apply (vlan, which the operator
    always renders, spoofchk, trust, link_state) is left out here; the lab suite applies
    them to real VFs."""
    conf = {"cniVersion": "1.0.0", "name": "sriov-net", "type": "sriov", "logLevel": "info",
            "capabilities": '{"mac":true,"ips":true}',
            "ipam": {"type": "host-local", "subnet": "10.56.0.0/24", "dataDir": str(rig.ipam_dir)},
            "deviceID": rig.address(0), "stateDir": str(rig.state_dir)}
    conf.update(extra)
    return conf


def chained(conf, plugin, previous):
    """What libcni hands the next plugin of a list: the list's name and version, the
    plugin's own keys, and prevResult."""
    step = {"cniVersion": conf["cniVersion"], "name": conf["name"], **plugin}
    if previous is not None:
        step["prevResult"] = previous
    return step


def test_type_sriov_as_the_operator_renders_it_attaches_and_restores(rig):
    before = rig.snapshot()
    conf = operator_nad(rig)
    call = rig.cni("ADD", conf)
    assert call.status == 0, call
    assert call.json["interfaces"][0]["name"] == "net1"
    assert call.json["ips"][0]["address"] == "10.56.0.2/24"
    assert rig.link(rig.pod, "net1") is not None
    assert rig.cni("CHECK", dict(conf, prevResult=call.json)).status == 0
    assert rig.cni("DEL", conf).status == 0
    assert rig.snapshot() == before


def test_type_ib_sriov_on_an_ethernet_vf_is_refused_before_anything_changes_and_del_succeeds(rig):
    before = rig.snapshot()
    conf = {"cniVersion": "1.0.0", "name": "ib-net", "type": "ib-sriov", "pkey": "0x7fff", "link_state": "enable",
            "rdmaIsolation": True, "capabilities": '{"infinibandGUID":true}', "deviceID": rig.address(0),
            "stateDir": str(rig.state_dir)}
    call = rig.cni("ADD", conf)
    assert call.status != 0
    assert (call.json["code"], call.json["msg"]) == (7, f"VF {rig.address(0)} netdev vf0 has link type ether, not InfiniBand")
    assert "use type sriov for Ethernet VFs" in call.json["details"]
    assert rig.snapshot() == before
    # The runtime cleans up after a failed ADD: DEL must succeed.
    assert rig.cni("DEL", conf).status == 0
    assert rig.snapshot() == before


def test_type_rdma_outside_a_chain_is_refused(rig):
    conf = {"cniVersion": "1.0.0", "name": "sriov-net", "type": "rdma", "deviceID": rig.address(0),
            "stateDir": str(rig.state_dir)}
    call = rig.cni("ADD", conf)
    assert (call.json["code"], call.json["msg"]) == (7, "type rdma is a chained plugin and needs prevResult")
    assert rig.cni("DEL", conf).status == 0


def test_conflist_sriov_then_rdma_runs_as_libcni_runs_it(rig):
    """The operator's metaPlugins list. The stand-in VF has no RDMA device, so the rdma
    step fails as rdma-cni does, naming the VF; the runtime then DELs the whole list in
    reverse and the host is as it was. With `deviceID` absent from the rdma step, the VF
    comes from prevResult's pciID (a 1.1.0 list; without ipam, since the reference
    host-local installed here stops at 1.0.0)."""
    before = rig.snapshot()
    conflist = {"cniVersion": "1.1.0", "name": "sriov-net",
                "plugins": [{k: v for k, v in operator_nad(rig).items() if k not in ("cniVersion", "name", "ipam")},
                            {"type": "rdma", "stateDir": str(rig.state_dir)}]}
    first = rig.cni("ADD", chained(conflist, conflist["plugins"][0], None))
    assert first.status == 0, first
    assert first.json["interfaces"][0]["pciID"] == rig.address(0)
    second = rig.cni("ADD", chained(conflist, conflist["plugins"][1], first.json))
    assert second.status != 0
    assert second.json["code"] == 101
    assert second.json["msg"] == f"VF {rig.address(0)} (prevResult pciID of net1) has no RDMA device in the host namespace"
    for plugin in reversed(conflist["plugins"]):
        call = rig.cni("DEL", chained(conflist, plugin, first.json))
        assert call.status == 0, call
    assert rig.snapshot() == before


def test_rdma_step_without_a_vf_anywhere_names_what_to_set(rig):
    previous = {"cniVersion": "1.0.0", "interfaces": [{"name": "net1", "sandbox": rig.pod_path}],
                "ips": [{"address": "10.56.0.9/24", "interface": 0}]}
    conf = {"cniVersion": "1.0.0", "name": "sriov-net", "type": "rdma", "prevResult": previous,
            "stateDir": str(rig.state_dir)}
    call = rig.cni("ADD", conf)
    assert (call.json["code"], call.json["msg"]) == (7, "type rdma: no VF to take the RDMA device of")


@pytest.mark.parametrize("capabilities", ['{"mac":true}', {"mac": True}, None])
def test_capabilities_as_a_json_string_or_an_object_is_accepted(rig, capabilities):
    conf = operator_nad(rig, capabilities=capabilities)
    call = rig.cni("ADD", conf)
    assert call.status == 0, call
    assert rig.cni("DEL", conf).status == 0


@pytest.mark.parametrize("keys, named", [
    ({"guid": "02:00:00:00:00:00:00:01"}, "guid"),
    ({"pkey": "0x8001"}, "pkey"),
    ({"runtimeConfig": {"infinibandGUID": "02:00:00:00:00:00:00:01"}}, "runtimeConfig.infinibandGUID"),
])
def test_infiniband_keys_under_an_ethernet_type_are_refused_not_ignored(rig, keys, named):
    """ib-sriov-cni's keys would start a pod whose VF has a GUID nobody set: refused
    (error 7) before anything changes, for ADD and CHECK; DEL still succeeds."""
    before = rig.snapshot()
    for plugin_type in ("sriov-rdma", "sriov"):
        conf = rig.config(type=plugin_type, **keys)
        call = rig.cni("ADD", conf)
        assert call.status != 0, call
        assert call.json["code"] == 7
        assert named in call.json["msg"] and f"cannot be acted on by type {plugin_type}" in call.json["msg"]
        assert call.json["details"] == "InfiniBand VFs are served by type ib-sriov"
        assert rig.snapshot() == before
        assert rig.cni("DEL", conf).status == 0


def test_unknown_keys_are_named_in_a_warning(rig):
    before = rig.snapshot()
    conf = rig.config(l2enable=True, master="ens1f0")
    call = rig.cni("ADD", conf)
    assert call.status == 0, call
    assert "ignoring config keys this plugin does not know: l2enable, master" in call.stderr
    assert rig.cni("DEL", conf).status == 0
    assert rig.snapshot() == before
