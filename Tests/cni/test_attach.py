"""Attach behaviour through the binary: exact restore, rollback on real failures,
parallel calls on several VFs and on one VF."""

import subprocess
from concurrent.futures import ThreadPoolExecutor


def test_add_then_del_restores_the_host_exactly(rig):
    ip = subprocess.run
    ip(["ip", "-n", rig.host, "link", "set", "vf0", "alias", "uplink-a"], check=True)
    before = rig.snapshot()
    call = rig.cni("ADD", rig.config(mac="02:56:00:00:00:11", mtu=9000))
    assert call.status == 0, call
    link = rig.link(rig.pod, "net1")
    assert link["address"] == "02:56:00:00:00:11" and link["mtu"] == 9000 and "UP" in link["flags"]
    assert link["ifalias"] == "vf0"
    assert rig.ipam_allocations() == ["10.56.0.2"]
    assert rig.cni("DEL", rig.config(mac="02:56:00:00:00:11", mtu=9000)).status == 0
    assert rig.snapshot() == before


def test_a_kernel_refusal_after_ipam_rolls_everything_back(rig):
    before = rig.snapshot()
    conf = rig.config(mac="02:56:00:00:00:11", mtu=9000)
    conf["ipam"]["routes"] = [{"dst": "10.57.0.0/16", "gw": "10.99.0.1"}]
    call = rig.cni("ADD", conf)
    assert call.status != 0
    body = call.json
    assert body["code"] == 101
    assert "add route 10.57.0.0/16 via 10.99.0.1 on net1" in body["msg"]
    assert "ENETUNREACH (Network is unreachable): Nexthop has invalid gateway" in body["msg"]
    assert rig.snapshot() == before
    # The runtime calls DEL after a failed ADD: it succeeds and changes nothing.
    assert rig.cni("DEL", conf).status == 0
    assert rig.snapshot() == before


def test_an_ipam_failure_rolls_everything_back(rig):
    rig.add_stand_in(1)
    tiny = {"type": "host-local", "subnet": "10.58.0.0/30", "dataDir": str(rig.ipam_dir)}
    assert rig.cni("ADD", rig.config(vf=0, ipam=False) | {"ipam": tiny}, cid="first", ifname="net0").status == 0
    before = rig.snapshot()
    call = rig.cni("ADD", rig.config(vf=1, ipam=False, mtu=9000) | {"ipam": tiny}, cid="second")
    assert call.status != 0
    assert call.json["msg"].startswith("host-local ADD: failed to allocate"), call
    assert rig.snapshot() == before


def test_four_parallel_adds_then_dels_on_four_vfs(rig4):
    before = rig4.snapshot()
    pods = [rig4.new_pod() for _ in range(4)]

    def add(index):
        return rig4.cni("ADD", rig4.config(vf=index), cid=f"c{index}", netns=f"/var/run/netns/{pods[index]}")

    def delete(index):
        return rig4.cni("DEL", rig4.config(vf=index), cid=f"c{index}", netns=f"/var/run/netns/{pods[index]}")

    with ThreadPoolExecutor(4) as pool:
        added = list(pool.map(add, range(4)))
    assert all(call.status == 0 for call in added), added
    assert sorted(call.json["ips"][0]["address"] for call in added) == [f"10.56.0.{n}/24" for n in (2, 3, 4, 5)]
    for index, pod in enumerate(pods):
        assert rig4.link(pod, "net1")["ifalias"] == f"vf{index}"
    with ThreadPoolExecutor(4) as pool:
        deleted = list(pool.map(delete, range(4)))
    assert all(call.status == 0 for call in deleted), deleted
    assert rig4.snapshot() == before


def test_parallel_adds_of_one_vf_give_it_to_exactly_one_pod(rig):
    pods = [rig.new_pod() for _ in range(4)]

    def add(index):
        return rig.cni("ADD", rig.config(), cid=f"c{index}", netns=f"/var/run/netns/{pods[index]}")

    with ThreadPoolExecutor(4) as pool:
        calls = list(pool.map(add, range(4)))
    winners = [call for call in calls if call.status == 0]
    assert len(winners) == 1, calls
    assert all(call.json["code"] == 100 for call in calls if call.status != 0), calls
    assert rig.ipam_allocations() == ["10.56.0.2"]


def test_del_after_the_pod_netns_is_deleted(rig):
    assert rig.cni("ADD", rig.config()).status == 0
    subprocess.run(["ip", "netns", "del", rig.pod], check=True)
    call = rig.cni("DEL", rig.config())
    assert call.status == 0, call
    assert rig.ipam_allocations() == []
    assert not (rig.state_dir / "attachments/cid1-net1.json").exists()
