"""`"type": "ib-sriov"`: InfiniBand VFs as ib-sriov-cni serves them. There is no
InfiniBand hardware here, so the VF is a fixture: a ConnectX VF in InfiniBand mode in
the fixture sysfs (an IPoIB netdev of link type 32 whose 20-byte address carries the
port GUID, an RDMA device with node_guid, link_layer InfiniBand and a P_Key table,
and a PF with its own RDMA device), whose netdev is a veth stand-in in the scratch
host namespace. The stand-in PF is a veth too: it has no VF table, so a GUID change
through it is refused by the plugin before anything changes, which is what these
tests check of that path; the GUID request's bytes and the kernel's answer to it are
Tests/NetlinkTests/VirtualFunctionGUIDTests and the lab's cni/09-infiniband-guid."""
import json

import pytest

from conftest import Rig, ip

PF_ADDRESS = "0000:00:09.0"
PF_NODE_GUID = "0c42:a103:0050:6a00"
VALID_GUID = "0c:42:a1:03:00:50:6a:01"
ZERO_GUID = "00:00:00:00:00:00:00:00"
VFIO_PF = "0000:00:0d.0"


def ipoib_address(guid: str) -> str:
    # QPN flags and number (4 bytes), the subnet prefix fe80:: (8 bytes), the port GUID (8 bytes).
    return "00:00:01:07:fe:80:00:00:00:00:00:00:" + guid


class IBRig(Rig):
    """vf0 as an InfiniBand VF of PF 0000:00:09.0 (netdev pf0), mlx5_1 its RDMA device."""

    def __init__(self, vf_guid: str = VALID_GUID, pkeys=("0xffff", "0x8005")):
        super().__init__(vfs=0)
        tree = self.sysfs
        ip("-n", self.host, "link", "add", "name", "pf0", "type", "veth", "peer", "name", "pf0peer")
        pf = tree.pci_function(PF_ADDRESS, device="0x101b", driver="mlx5_core")
        tree.write(f"{pf}/sriov_totalvfs", "8")
        tree.write(f"{pf}/sriov_numvfs", "1")
        tree.netdev("pf0", pf, "80:00:00:48:fe:80:00:00:00:00:00:00:0c:42:a1:03:00:50:6a:00")
        tree.write(f"{pf}/net/pf0/type", "32")
        self.rdma_device("mlx5_0", pf, PF_NODE_GUID, pkeys=("0xffff",))

        name, address = "vf0", self.address(0)
        ip("-n", self.host, "link", "add", "name", name, "type", "veth", "peer", "name", f"{name}peer")
        ip("-n", self.host, "link", "set", name, "up")
        vf = tree.pci_function(address, device="0x101c", driver="mlx5_core")
        tree.link(f"{vf}/physfn", f"../{PF_ADDRESS}")
        tree.link(f"{pf}/virtfn0", f"../{address}")
        tree.netdev(name, vf, ipoib_address(vf_guid))
        tree.write(f"{vf}/net/{name}/type", "32")
        node_guid = vf_guid.replace(":", "")
        self.rdma_device("mlx5_1", vf, ":".join(node_guid[i:i + 4] for i in range(0, 16, 4)), pkeys=pkeys)

    def rdma_device(self, name: str, function: str, node_guid: str, pkeys) -> None:
        directory = f"{function}/infiniband/{name}"
        self.sysfs.write(f"{directory}/node_guid", node_guid)
        self.sysfs.write(f"{directory}/node_type", "1: CA")
        self.sysfs.write(f"{directory}/ports/1/link_layer", "InfiniBand")
        self.sysfs.write(f"{directory}/ports/1/state", "4: ACTIVE")
        for index, key in enumerate(pkeys):
            self.sysfs.write(f"{directory}/ports/1/pkeys/{index}", key)
        self.sysfs.link(f"{directory}/device", "../..")
        self.sysfs.link(f"class/infiniband/{name}", f"../../{directory}")

    def ib_config(self, **extra) -> dict:
        conf = self.config(type="ib-sriov", name="ib-net")
        conf.update(extra)
        return conf


@pytest.fixture
def ib_rig():
    rig = IBRig()
    yield rig
    rig.close()


def record(rig) -> dict:
    files = list((rig.state_dir / "attachments").glob("*.json"))
    assert len(files) == 1, files
    return json.loads(files[0].read_text())


def test_add_check_del_moves_the_ipoib_netdev_and_puts_it_back(ib_rig):
    rig = ib_rig
    before = rig.snapshot()
    conf = rig.ib_config(pkey="0x8005")
    add = rig.cni("ADD", conf)
    assert add.status == 0, add
    result = add.json
    assert [(i["name"], i["sandbox"]) for i in result["interfaces"]] == [("net1", rig.pod_path)]
    assert [ip["address"] for ip in result["ips"]] == ["10.56.0.2/24"]
    assert rig.link(rig.pod, "net1") is not None and rig.link(rig.host, "vf0") is None
    saved = record(rig)["infiniBand"]
    # The VF keeps its own GUID: nothing set, nothing to rebind; what it had is recorded.
    assert saved == {"originalNodeGUID": VALID_GUID, "originalPortGUID": VALID_GUID, "pkey": "0x8005", "rebound": False}
    assert "does not hold partition" not in add.stderr
    assert rig.cni("CHECK", dict(conf, prevResult=result)).status == 0
    assert rig.cni("DEL", conf).status == 0
    assert rig.snapshot() == before


def test_a_pkey_the_vf_table_lacks_is_said(ib_rig):
    rig = ib_rig
    conf = rig.ib_config(pkey="0x0007")
    add = rig.cni("ADD", conf)
    assert add.status == 0, add
    assert "pkey 0x0007: the P_Key table of 0000:00:0a.0 (0xffff 0x8005) does not hold partition 0x7 yet" in add.stderr
    assert "this plugin does not program P_Keys" in add.stderr
    assert rig.cni("DEL", conf).status == 0


def test_a_vf_with_a_zero_guid_fails_before_anything_changes_and_says_what_to_do():
    rig = IBRig(vf_guid=ZERO_GUID)
    try:
        before = rig.snapshot()
        conf = rig.ib_config()
        call = rig.cni("ADD", conf)
        assert call.status != 0
        error = call.json
        assert (error["code"], error["msg"]) == (7, f"VF {rig.address(0)} has no usable GUID ({ZERO_GUID}) and the network gives it none")
        for hint in ("network-operator #1825", "runtimeConfig.infinibandGUID", "CNI_ARGS guid=", "\"assignGUID\": true"):
            assert hint in error["details"], error
        assert rig.snapshot() == before
        assert rig.ipam_allocations() == []
        assert rig.cni("DEL", conf).status == 0
        assert rig.snapshot() == before
    finally:
        rig.close()


def test_assign_guid_derives_one_and_needs_the_pf_to_set_it():
    """assignGUID derives the GUID from the PF's node GUID; setting it goes through the
    PF's VF table, which the stand-in PF does not have: refused, nothing changed."""
    rig = IBRig(vf_guid=ZERO_GUID)
    try:
        before = rig.snapshot()
        call = rig.cni("ADD", rig.ib_config(assignGUID=True))
        assert call.status != 0
        assert "assigning " in call.stderr and "from PF node GUID 0c:42:a1:03:00:50:6a:00 and VF 0" in call.stderr
        assert (call.json["code"], call.json["msg"]) == (101, f"PF pf0 reports no VF 0 for {rig.address(0)}")
        assert rig.snapshot() == before
    finally:
        rig.close()


@pytest.mark.parametrize("where", ["runtimeConfig", "args", "config"])
def test_a_guid_from_each_source_goes_through_the_pf(ib_rig, where):
    rig = ib_rig
    guid = "02:00:00:00:00:00:00:2a"
    env = {}
    conf = rig.ib_config()
    if where == "runtimeConfig":
        conf["runtimeConfig"] = {"infinibandGUID": guid}
        env = {"CNI_ARGS": "guid=02:00:00:00:00:00:00:99"}  # runtimeConfig wins, as in ib-sriov-cni
    elif where == "args":
        env = {"CNI_ARGS": f"IgnoreUnknown=1;guid={guid}"}
    else:
        conf["guid"] = guid
    before = rig.snapshot()
    call = rig.cni("ADD", conf, env=env)
    assert call.status != 0
    assert (call.json["code"], call.json["msg"]) == (101, f"PF pf0 reports no VF 0 for {rig.address(0)}")
    assert rig.snapshot() == before


@pytest.mark.parametrize("extra, code, text", [
    ({"guid": ZERO_GUID}, 7, "invalid guid \"00:00:00:00:00:00:00:00\": is not a usable GUID"),
    ({"guid": "ff:ff:ff:ff:ff:ff:ff:ff"}, 7, "is not a usable GUID"),
    ({"guid": "02:00:00:00:00:00:01"}, 7, "is not a GUID"),
    ({"runtimeConfig": {"infinibandGUID": "zz:00:00:00:00:00:00:01"}}, 7, "invalid runtimeConfig.infinibandGUID"),
    ({"pkey": "0x10000"}, 7, "invalid pkey \"0x10000\""),
    ({"pkey": "0x8000"}, 7, "is not a partition key"),
    ({"vlan": 100}, 7, "vlan cannot be applied to an InfiniBand VF"),
    ({"mac": "02:00:00:00:00:01", "spoofchk": "on"}, 7, "mac, spoofchk cannot be applied to an InfiniBand VF"),
    ({"vfioPciMode": "yes"}, 7, "invalid vfioPciMode \"yes\""),
    ({"assignGUID": True, "ibKubernetesEnabled": True}, 7, "conflicts with ibKubernetesEnabled"),
    ({"ipam": {"type": "dhcp"}}, 7, "ipam type dhcp is not supported on InfiniBand"),
    ({"vfioPciMode": True}, 7, "vfioPciMode is set, but 0000:00:0a.0 is bound to mlx5_core"),
])
def test_bad_config_is_refused_before_anything_changes(ib_rig, extra, code, text):
    rig = ib_rig
    before = rig.snapshot()
    conf = rig.ib_config(**extra)
    call = rig.cni("ADD", conf)
    assert call.status != 0
    assert call.json["code"] == code and text in call.json["msg"], call.json
    assert rig.snapshot() == before
    assert rig.cni("DEL", conf).status == 0


def test_ib_kubernetes_is_waited_for_and_must_give_a_guid(ib_rig):
    rig = ib_rig
    before = rig.snapshot()
    conf = rig.ib_config(ibKubernetesEnabled=True)
    call = rig.cni("ADD", conf)
    assert (call.json["code"], call.json["msg"]) == (11, "ibKubernetesEnabled: ib-kubernetes has not configured this pod yet")
    assert "mellanox.infiniband.app is absent" in call.json["details"]
    call = rig.cni("ADD", conf, env={"CNI_ARGS": "mellanox.infiniband.app=configured"})
    assert (call.json["code"], call.json["msg"]) == (7, "ibKubernetesEnabled: no GUID from ib-kubernetes")
    assert rig.snapshot() == before


def test_an_ethernet_netdev_is_refused(rig):
    conf = rig.config(type="ib-sriov")
    call = rig.cni("ADD", conf)
    assert call.json["code"] == 7 and "has link type ether, not InfiniBand" in call.json["msg"]


def test_a_pf_on_vfio_pci_is_passed_through_and_del_succeeds():
    """ib-sriov-cni's PF passthrough: a PF (no physfn) bound to vfio-pci, nothing set
    or moved; IPAM allocates as for any VF on a userspace driver. Without vfio-pci a
    PF is refused."""
    rig = IBRig()
    try:
        rig.sysfs.pci_function(VFIO_PF, device="0x101b", driver="vfio-pci")
        before = rig.snapshot()
        conf = rig.ib_config(deviceID=VFIO_PF, vfioPciMode=True)
        add = rig.cni("ADD", conf)
        assert add.status == 0, add
        assert add.json["interfaces"] == [{"name": "net1", "sandbox": rig.pod_path}]
        assert record(rig)["userspaceDriver"] == "vfio-pci"
        assert rig.snapshot()["pod"] == before["pod"]
        assert rig.cni("CHECK", dict(conf, prevResult=add.json)).status == 0
        assert rig.cni("DEL", conf).status == 0
        assert rig.snapshot() == before

        call = rig.cni("ADD", rig.ib_config(deviceID=PF_ADDRESS))
        assert (call.json["code"], call.json["msg"]) == (7, f"device {PF_ADDRESS} is not an SR-IOV VF (it has no physfn)")
    finally:
        rig.close()
