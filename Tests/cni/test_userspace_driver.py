"""VFs on a userspace driver (sriov-cni's DPDK mode): no netdev, nothing moved, IPAM
allocates only, DEL releases it whatever the DEL's config says. The VF settings
through a real PF are the lab's (Tests/lab/suites/cni/08-userspace-driver.sh); here
the function is a PCI device bound to vfio-pci (or uio_pci_generic) in the fixture
sysfs, with no PF."""
import json

import pytest

from conftest import Rig

VFIO_ADDRESS = "0000:00:0c.0"


@pytest.fixture(params=["vfio-pci", "uio_pci_generic", "igb_uio"])
def dpdk_rig(request):
    rig = Rig(vfs=1)  # vf0, a netdev stand-in, stays untouched by every call below
    rig.sysfs.pci_function(VFIO_ADDRESS, driver=request.param)
    rig.driver = request.param
    yield rig
    rig.close()


def dpdk_config(rig, **extra):
    return rig.config(deviceID=VFIO_ADDRESS, **extra)


def test_add_check_del_without_a_netdev(dpdk_rig):
    rig = dpdk_rig
    before = rig.snapshot()
    add = rig.cni("ADD", dpdk_config(rig))
    assert add.status == 0, add
    result = add.json
    assert result["interfaces"] == [{"name": "net1", "sandbox": rig.pod_path}]
    assert [ip["address"] for ip in result["ips"]] == ["10.56.0.2/24"]
    assert result["ips"][0]["interface"] == 0
    assert rig.ipam_allocations() == ["10.56.0.2"]
    # Nothing moved or configured: the pod has no new link, no address.
    after_add = rig.snapshot()
    assert after_add["pod"] == before["pod"]
    assert after_add["host"] == before["host"]
    record = json.loads((rig.state_dir / "attachments/cid1-net1.json").read_text())
    assert record["userspaceDriver"] == rig.driver and "host" not in record and record["phase"] == "added"
    assert f"on {rig.driver}" in add.stderr and "nothing moved" in add.stderr

    check = rig.cni("CHECK", dict(dpdk_config(rig), prevResult=result))
    assert check.status == 0, check

    delete = rig.cni("DEL", dpdk_config(rig))
    assert delete.status == 0, delete
    assert rig.snapshot() == before
    assert rig.ipam_allocations() == []


def test_a_1_1_0_result_names_the_device(dpdk_rig):
    """pciID is how the pod learns which device it got (a 1.1.0 result field;
    Debian's host-local stops at 1.0.0, so no IPAM here)."""
    rig = dpdk_rig
    before = rig.snapshot()
    add = rig.cni("ADD", rig.config(version="1.1.0", ipam=False, deviceID=VFIO_ADDRESS))
    assert add.status == 0, add
    assert add.json["interfaces"] == [{"name": "net1", "sandbox": rig.pod_path, "pciID": VFIO_ADDRESS}]
    assert add.json["cniVersion"] == "1.1.0"
    assert rig.cni("DEL", rig.config(version="1.1.0", ipam=False, deviceID=VFIO_ADDRESS)).status == 0
    assert rig.snapshot() == before


def test_del_is_led_by_the_record_not_by_the_config(dpdk_rig):
    """sriov-cni's DEL fails for a vfio VF because it does not remember the mode
    (sriov-cni PR #346). Ours reads it from the record: a DEL whose config lost the
    deviceID, or names another device, still releases the VF and its address."""
    rig = dpdk_rig
    before = rig.snapshot()
    assert rig.cni("ADD", dpdk_config(rig)).status == 0
    config = rig.config()
    del config["deviceID"]
    delete = rig.cni("DEL", config)
    assert delete.status == 0, delete
    assert rig.snapshot() == before
    # Twice is fine too.
    assert rig.cni("DEL", config).status == 0


def test_check_reports_a_rebound_vf(dpdk_rig):
    rig = dpdk_rig
    add = rig.cni("ADD", dpdk_config(rig))
    assert add.status == 0, add
    link = rig.sysfs.root / f"devices/pci0000:00/{VFIO_ADDRESS}/driver"
    link.unlink()
    (rig.sysfs.root / "bus/pci/drivers/igbvf").mkdir(parents=True, exist_ok=True)
    link.symlink_to("../../../bus/pci/drivers/igbvf")
    check = rig.cni("CHECK", dict(dpdk_config(rig), prevResult=add.json))
    assert check.status != 0
    assert check.json["code"] == 104  # CHECK failed
    assert f"bound to igbvf, not {rig.driver}" in check.json["details"]


def test_settings_that_need_a_pf_are_refused_and_nothing_is_left(dpdk_rig):
    rig = dpdk_rig
    before = rig.snapshot()
    add = rig.cni("ADD", dpdk_config(rig, vlan=100))
    assert add.status != 0
    assert add.json["code"] == 7
    assert "not an SR-IOV VF" in add.json["msg"]
    assert rig.snapshot() == before
    assert rig.ipam_allocations() == []


def test_mtu_is_said_to_be_ignored(dpdk_rig):
    rig = dpdk_rig
    add = rig.cni("ADD", dpdk_config(rig, mtu=9000))
    assert add.status == 0, add
    assert "mtu 9000 is not applied" in add.stderr and "has no netdev" in add.stderr
    assert rig.cni("DEL", dpdk_config(rig)).status == 0


def test_an_ipam_failure_rolls_back(dpdk_rig):
    rig = dpdk_rig
    before = rig.snapshot()
    config = dpdk_config(rig)
    config["ipam"]["subnet"] = "10.56.0.0/31"  # no usable address
    config["ipam"].pop("gateway")
    add = rig.cni("ADD", config)
    assert add.status != 0, add
    assert rig.snapshot() == before
    assert not (rig.state_dir / f"allocations/{VFIO_ADDRESS}.json").exists()


def test_a_kernel_driver_without_netdev_is_told_what_to_do(rig):
    rig.sysfs.pci_function(VFIO_ADDRESS, driver="mlx5_core")
    add = rig.cni("ADD", rig.config(deviceID=VFIO_ADDRESS))
    assert add.status != 0
    assert "has no network interface" in add.json["msg"]
    assert "vfio-pci" in add.json["details"] and "DPDK mode" in add.json["details"]
