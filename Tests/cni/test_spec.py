"""The CNI spec (1.1.0, results converted for 1.0.0, 0.4.0, 0.3.x) as a runtime sees
the plugin: environment and error codes, error JSON on stdout, VERSION, result
formats, DEL rules, CHECK right after ADD, STATUS and GC."""

import json

import pytest

SUPPORTED = ["0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"]


def error(call, code):
    assert call.status != 0, call
    body = call.json
    assert body["code"] == code, call
    return body


@pytest.mark.parametrize("version", SUPPORTED)
def test_version_echoes_the_config_version_and_lists_what_is_served(rig, version):
    call = rig.cni("VERSION", {"cniVersion": version})
    assert call.status == 0, call
    assert call.json == {"cniVersion": version, "supportedVersions": SUPPORTED}


def test_version_needs_only_cni_command(rig):
    call = rig.cni("VERSION", b"", raw_env={"CNI_COMMAND": "VERSION"})
    assert call.json == {"cniVersion": "1.1.0", "supportedVersions": SUPPORTED}


@pytest.mark.parametrize("command,missing", [
    ("ADD", ["CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME", "CNI_PATH"]),
    ("CHECK", ["CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME", "CNI_PATH"]),
    ("DEL", ["CNI_CONTAINERID", "CNI_IFNAME", "CNI_PATH"]),
    ("GC", ["CNI_PATH"]),
])
def test_missing_environment_is_code_4_naming_the_variables(rig, command, missing):
    body = error(rig.cni(command, rig.config(), raw_env={"CNI_COMMAND": command}), 4)
    assert body["msg"] == f"required env variables [{','.join(missing)}] missing"
    assert body["cniVersion"] == "1.0.0"


def test_unknown_command_is_code_4(rig):
    assert "unknown CNI_COMMAND: FROB" in error(rig.cni("FROB", rig.config()), 4)["msg"]


@pytest.mark.parametrize("variable,value", [
    ("CNI_CONTAINERID", "-starts-with-dash"), ("CNI_CONTAINERID", "has space"), ("CNI_IFNAME", "sixteen-chars-xx"),
    ("CNI_IFNAME", "a/b"), ("CNI_IFNAME", ".."), ("CNI_IFNAME", "eth:0"), ("CNI_NETNS", "relative/netns"),
    ("CNI_ARGS", "NOEQUALS"),
])
def test_invalid_environment_is_code_4_naming_the_variable(rig, variable, value):
    before = rig.snapshot()
    body = error(rig.cni("ADD", rig.config(), env={variable: value}), 4)
    assert body["msg"] == f"invalid env variables [{variable}]"
    assert rig.snapshot() == before


def test_undecodable_config_is_code_6(rig):
    error(rig.cni("ADD", b"{not json"), 6)
    error(rig.cni("ADD", b"[1,2]"), 6)


@pytest.mark.parametrize("version", ["2.0.0", "0.0.1"])
def test_unserved_versions_are_code_1(rig, version):
    conf = rig.config()
    conf["cniVersion"] = version
    body = error(rig.cni("ADD", conf), 1)
    assert "incompatible CNI versions" in body["msg"]


@pytest.mark.parametrize("version", ["0.1.0", "0.2.0", None])
def test_a_pre_0_3_network_without_ipam_is_refused_before_anything_changes(rig, version):
    """A 0.1.0/0.2.0 result must carry an IP (libcni cannot convert one without);
    sriov-cni finds that out after attaching the VF, we before touching it."""
    conf = rig.config()
    conf.pop("ipam", None)
    if version is None:
        del conf["cniVersion"]  # an absent version is 0.1.0
    else:
        conf["cniVersion"] = version
    before = rig.snapshot()
    body = error(rig.cni("ADD", conf), 1)
    assert body["msg"] == f"a result in the {version or '0.1.0'} format needs an IP address, and this network has no ipam"
    assert rig.snapshot() == before


@pytest.mark.parametrize("command,version", [("CHECK", "0.3.1"), ("STATUS", "1.0.0"), ("GC", "0.4.0")])
def test_commands_newer_than_the_config_are_code_1(rig, command, version):
    error(rig.cni(command, rig.config(version=version)), 1)


@pytest.mark.parametrize("field,value", [
    ("vlan", 5000), ("vlanQoS", 9), ("spoofchk", "maybe"), ("link_state", "up"), ("mac", "not-a-mac"),
    ("deviceID", "0000:zz:00.0"), ("mtu", 10),
])
def test_invalid_config_is_code_7_naming_key_and_value(rig, field, value):
    before = rig.snapshot()
    conf = rig.config(**{field: value})
    if field == "vlanQoS":
        conf["vlan"] = 1
    body = error(rig.cni("ADD", conf), 7)
    assert field in body["msg"] and json.dumps(value) in body["msg"], body
    assert rig.snapshot() == before


def test_netns_that_is_not_a_namespace_is_code_8(rig):
    bogus = rig.work / "not-a-netns"
    bogus.write_text("")
    error(rig.cni("ADD", rig.config(), netns=str(bogus)), 8)
    error(rig.cni("ADD", rig.config(), netns="/var/run/netns/does-not-exist"), 8)


def test_the_plugins_own_netns_is_code_8(rig):
    body = error(rig.cni("ADD", rig.config(), netns=f"/var/run/netns/{rig.host}"), 8)
    assert "plugin's own network namespace" in body["msg"]


@pytest.mark.parametrize("version", ["0.3.0", "0.3.1", "0.4.0", "1.0.0"])
def test_add_result_is_in_the_config_version(rig, version):
    call = rig.cni("ADD", rig.config(version=version, mac="02:56:00:00:00:11"))
    assert call.status == 0, call
    result = call.json
    assert result["cniVersion"] == version
    assert result["interfaces"] == [{"name": "net1", "mac": "02:56:00:00:00:11", "sandbox": rig.pod_path}]
    ip = {"interface": 0, "address": "10.56.0.2/24", "gateway": "10.56.0.1"}
    if version < "1.0.0":
        ip["version"] = "4"
    assert result["ips"] == [ip]
    assert result["routes"] == [{"dst": "10.57.0.0/16"}]
    assert rig.cni("DEL", rig.config(version=version)).status == 0


@pytest.mark.parametrize("version", ["0.2.0", "0.1.0", None])
def test_add_result_in_0_2_0_and_without_a_version_is_ip4_as_libcni_prints_it(rig, version):
    """Three NADs in SRIOV-DP's docs have no cniVersion: libcni and sriov-cni take that
    as 0.1.0 and print the ip4/ip6 result; host-local answers in that format too."""
    before = rig.snapshot()
    conf = rig.config(mac="02:56:00:00:00:12")
    if version is None:
        del conf["cniVersion"]
    else:
        conf["cniVersion"] = version
    call = rig.cni("ADD", conf)
    assert call.status == 0, call
    assert call.json == {"cniVersion": version or "0.1.0",
                         "ip4": {"ip": "10.56.0.2/24", "gateway": "10.56.0.1", "routes": [{"dst": "10.57.0.0/16"}]},
                         "dns": {}}
    assert rig.cni("DEL", conf).status == 0
    assert rig.snapshot() == before


def test_add_result_in_1_1_0_carries_pci_id_and_mtu(rig):
    call = rig.cni("ADD", rig.config(version="1.1.0", ipam=False, mtu=9000))
    assert call.status == 0, call
    assert call.json == {"cniVersion": "1.1.0", "interfaces": [
        {"name": "net1", "mac": "02:56:0a:00:00:00", "mtu": 9000, "sandbox": rig.pod_path, "pciID": "0000:00:0a.0"}],
        "dns": {}}


def test_errors_are_json_on_stdout_and_logs_go_to_stderr_or_log_file(rig):
    call = rig.cni("ADD", rig.config(deviceID="0000:00:1f.7"))
    body = error(call, 101)
    assert body["msg"] == "VF 0000:00:1f.7 (deviceID) does not exist on this node"
    assert "[error]" in call.stderr
    log = rig.work / "plugin.log"
    call = rig.cni("ADD", rig.config(logFile=str(log), logLevel="debug"))
    assert call.status == 0 and call.stderr == "", call
    text = log.read_text()
    assert "ADD cid1 net1: attached VF 0000:00:0a.0 (vf0) as net1" in text


def test_add_must_fail_when_the_interface_exists(rig):
    rig.cni("ADD", rig.config()).json
    error(rig.cni("ADD", rig.config(vf=0), cid="cid2", ifname="net9"), 100)  # the VF is taken
    rig.add_stand_in(1)
    body = error(rig.cni("ADD", rig.config(vf=1), cid="cid2"), 101)
    assert body["msg"] == f"interface net1 already exists in {rig.pod_path}"


def test_del_is_idempotent_and_needs_no_netns_or_prev_result(rig):
    before = rig.snapshot()
    assert rig.cni("DEL", rig.config()).status == 0  # nothing was added
    assert rig.cni("ADD", rig.config()).status == 0
    for _ in range(2):
        call = rig.cni("DEL", rig.config())
        assert call.status == 0 and call.stdout == "", call
    assert rig.snapshot() == before
    assert rig.cni("DEL", rig.config(), netns="").status == 0


def test_del_with_empty_netns_still_restores_and_releases(rig):
    before = rig.snapshot()
    assert rig.cni("ADD", rig.config()).status == 0
    assert rig.cni("DEL", rig.config(), netns="").status == 0
    assert rig.snapshot() == before


def test_del_with_a_prev_result_is_fine(rig):
    result = rig.cni("ADD", rig.config()).json
    assert rig.cni("DEL", rig.config(prevResult=result)).status == 0
    assert rig.ipam_allocations() == []


@pytest.mark.parametrize("version", ["0.4.0", "1.0.0"])
def test_check_right_after_add_passes_and_delegates_to_ipam(rig, version):
    result = rig.cni("ADD", rig.config(version=version)).json
    call = rig.cni("CHECK", rig.config(version=version, prevResult=result))
    assert call.status == 0, call
    # host-local CHECK fails when its allocation is gone: proof that CHECK reached it.
    for path in (rig.ipam_dir / "sriov-net").iterdir():
        if path.name[0].isdigit():
            path.unlink()
    body = error(rig.cni("CHECK", rig.config(version=version, prevResult=result)), 999)
    assert body["msg"].startswith("host-local CHECK"), body


def test_check_reports_missing_routes_and_addresses(rig):
    result = rig.cni("ADD", rig.config()).json
    subprocess_ip = __import__("subprocess").run
    subprocess_ip(["ip", "-n", rig.pod, "route", "del", "10.57.0.0/16"], check=True)
    body = error(rig.cni("CHECK", rig.config(prevResult=result)), 104)
    assert body["details"] == "route 10.57.0.0/16 is missing"


def test_status_is_ready_and_gc_cleans_what_the_runtime_dropped(rig):
    rig.add_stand_in(1)
    conf = rig.config(version="1.1.0", ipam=False)
    assert rig.cni("STATUS", conf).status == 0
    assert rig.cni("ADD", rig.config(version="1.1.0", vf=0, ipam=False), cid="keep").status == 0
    assert rig.cni("ADD", rig.config(version="1.1.0", vf=1, ipam=False), cid="gone", ifname="net2").status == 0
    gc = dict(conf, **{"cni.dev/valid-attachments": [{"containerID": "keep", "ifname": "net1"}]})
    call = rig.cni("GC", gc, raw_env={"CNI_COMMAND": "GC", "CNI_PATH": "/usr/lib/cni",
                                      "SRIOV_RDMA_SYSFS_ROOT": str(rig.sysfs.root)})
    assert call.status == 0, call
    assert rig.link(rig.pod, "net1") is not None
    assert rig.link(rig.pod, "net2") is None
    assert rig.link(rig.host, "vf1") is not None


def test_status_reports_50_when_the_state_dir_is_unusable(rig):
    blocker = rig.work / "blocker"
    blocker.write_text("")
    error(rig.cni("STATUS", rig.config(version="1.1.0", ipam=False, stateDir=str(blocker / "state"))), 50)
