"""sriov-rdma-dp run against a grpcio kubelet stand-in, on a generated sysfs tree:
registration, ListAndWatch through health changes and rescans, Allocate, config
reloads, kubelet restarts, the health probe and SIGTERM clean-up."""
import json
import os
import pathlib
import shutil
import signal
import subprocess
import tempfile
import time

import pytest

from conftest import REPO
from kubelet_standin import Kubelet, wait_for
from sysfs_fixture import SysfsTree

pytestmark = pytest.mark.timeout(120)

CONFIG = {"resourceList": [
    {"resourceName": "igb_vfs", "resourcePrefix": "example.com", "selectors": {"vendors": ["8086"], "devices": ["10ca"], "drivers": ["igbvf"]}},
]}


def dp_binary():
    path = pathlib.Path(os.environ.get("SRIOV_RDMA_DEBUG_BIN_DIR", str(REPO / ".build" / "debug"))) / "sriov-rdma-dp"
    if not path.exists():
        pytest.fail(f"{path} is missing: run `swift build --product sriov-rdma-dp` first (scripts/test does)")
    return str(path)


class Node:
    def __init__(self, base, api, watcher_api=None, registry=None):
        self.base = base
        self.kubelet_dir = os.path.join(base, "kdp")
        self.state_dir = os.path.join(base, "state")
        self.config_dir = os.path.join(base, "config")
        os.makedirs(self.kubelet_dir)
        os.makedirs(self.config_dir)
        self.config = os.path.join(self.config_dir, "config.json")
        self.write_config(CONFIG)
        self.sysfs = SysfsTree(os.path.join(base, "sys"))
        os.makedirs(os.path.join(base, "dev"))
        self.kubelet = Kubelet(api, self.kubelet_dir, watcher_api=watcher_api, registry=registry)
        self.kubelet.start()
        self.process = None

    def write_config(self, config):
        # The way a ConfigMap update lands: a new file renamed over the old one.
        temporary = self.config + ".new"
        with open(temporary, "w") as handle:
            json.dump(config, handle)
        os.rename(temporary, self.config)

    def start(self):
        self.log = open(os.path.join(self.base, "dp.log"), "w")
        self.process = subprocess.Popen([dp_binary(), "run", "--config", self.config, "--kubelet-dir", self.kubelet_dir,
                                         "--sys-root", os.path.join(self.base, "sys"), "--dev-root", os.path.join(self.base, "dev"),
                                         "--state-dir", self.state_dir, "--poll-interval", "0.2", "--log-level", "debug"],
                                        stdout=self.log, stderr=subprocess.STDOUT)

    def health(self):
        return subprocess.run([dp_binary(), "health", "--state-dir", self.state_dir], capture_output=True, text=True)

    def resource(self, name="example.com/igb_vfs"):
        return wait_for(lambda: self.kubelet.resources.get(name) if self.kubelet.resources.get(name) and self.kubelet.resources[name].latest else None,
                        what=f"{name} registered with a device list")

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        self.kubelet.stop()


@pytest.fixture
def node(api):
    base = tempfile.mkdtemp(prefix="dpd-", dir="/tmp")
    node = Node(base, api)
    yield node
    node.stop()
    if os.environ.get("KEEP_DP_LOGS"):
        print(open(os.path.join(base, "dp.log")).read())
    shutil.rmtree(base, ignore_errors=True)


def test_registers_and_streams_devices_with_topology(node):
    assert node.health().returncode == 1
    node.start()
    resource = node.resource()
    assert resource.options.get_preferred_allocation_available is True
    assert resource.endpoint.startswith("sriov-rdma-example.com_igb_vfs-") and resource.endpoint.endswith(".sock")
    assert [(d.ID, d.health, [n.ID for n in d.topology.nodes]) for d in resource.latest.devices] == [
        ("0000:01:10.0", "Healthy", [0]), ("0000:01:10.2", "Healthy", [0]), ("0000:01:10.4", "Healthy", [0])]
    assert oct(os.stat(os.path.join(node.kubelet_dir, resource.endpoint)).st_mode & 0o777) == "0o600"
    wait_for(lambda: node.health().returncode == 0, what="health probe to pass")


def test_health_follows_pf_carrier(node):
    node.start()
    resource = node.resource()
    node.sysfs.set_pf_carrier(False)
    wait_for(lambda: set(resource.health().values()) == {"Unhealthy"}, what="VFs unhealthy")
    node.sysfs.set_pf_carrier(True)
    wait_for(lambda: set(resource.health().values()) == {"Healthy"}, what="VFs healthy again")
    healthy_counts = [sum(d.health == "Healthy" for d in m.devices) for m in resource.lists]
    assert healthy_counts[0] == 3 and 0 in healthy_counts and healthy_counts[-1] == 3


def test_rescan_drops_and_adds_devices(node):
    node.start()
    resource = node.resource()
    node.sysfs.remove_vf(2)
    wait_for(lambda: [d.ID for d in resource.latest.devices] == ["0000:01:10.0", "0000:01:10.2"], what="VF removed")
    node.sysfs.add_vf(2)
    node.sysfs.add_vf(3)
    wait_for(lambda: len(resource.latest.devices) == 4, what="VFs added")
    assert not resource.ended.is_set()


def test_allocate_and_preferred_allocation(node, api):
    pb2, _ = api
    node.start()
    resource = node.resource()
    response = resource.stub.Allocate(pb2.AllocateRequest(container_requests=[pb2.ContainerAllocateRequest(devices_ids=["0000:01:10.2"])]), timeout=10)
    envs = dict(response.container_responses[0].envs)
    assert envs["PCIDEVICE_EXAMPLE_COM_IGB_VFS"] == "0000:01:10.2"
    assert json.loads(envs["PCIDEVICE_EXAMPLE_COM_IGB_VFS_INFO"]) == {"0000:01:10.2": {"generic": {"deviceID": "0000:01:10.2"}}}
    info = os.path.join(node.state_dir, "k8s.cni.cncf.io/devinfo/dp/example.com-igb_vfs-0000:01:10.2-device.json")
    assert json.load(open(info)) == {"type": "pci", "version": "1.1.0", "pci": {"pci-address": "0000:01:10.2"}}
    preferred = resource.stub.GetPreferredAllocation(pb2.PreferredAllocationRequest(container_requests=[
        pb2.ContainerPreferredAllocationRequest(available_deviceIDs=["0000:01:10.4", "0000:01:10.0"], must_include_deviceIDs=[], allocation_size=1)]), timeout=10)
    assert list(preferred.container_responses[0].deviceIDs) == ["0000:01:10.0"]
    import grpc
    with pytest.raises(grpc.RpcError) as error:
        resource.stub.Allocate(pb2.AllocateRequest(container_requests=[pb2.ContainerAllocateRequest(devices_ids=["0000:99:00.0"])]), timeout=10)
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error.value.details() == 'device "0000:99:00.0" is not in pool example.com/igb_vfs'
    node.sysfs.set_pf_carrier(False)
    wait_for(lambda: set(resource.health().values()) == {"Unhealthy"}, what="VFs unhealthy")
    with pytest.raises(grpc.RpcError) as error:
        resource.stub.Allocate(pb2.AllocateRequest(container_requests=[pb2.ContainerAllocateRequest(devices_ids=["0000:01:10.0"])]), timeout=10)
    assert error.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "unhealthy: PF enp1s0 has no carrier" in error.value.details()


def test_scalable_function_pool_registers_allocates_and_rescans(node, api):
    pb2, _ = api
    for number in (1, 2):
        node.sysfs.add_sf(number)
    node.write_config({"resourceList": CONFIG["resourceList"] + [
        {"resourceName": "sfs", "resourcePrefix": "example.com", "deviceType": "auxNetDevice",
         "selectors": {"auxTypes": ["sf"], "pfNames": ["enp1s0#1-2"]}}]})
    node.start()
    sfs = node.resource("example.com/sfs")
    assert [(d.ID, d.health, [n.ID for n in d.topology.nodes]) for d in sfs.latest.devices] == [
        ("mlx5_core.sf.3", "Healthy", [0]), ("mlx5_core.sf.4", "Healthy", [0])]
    assert len(node.resource().latest.devices) == 3, "the VF pool is unchanged"
    response = sfs.stub.Allocate(pb2.AllocateRequest(container_requests=[pb2.ContainerAllocateRequest(devices_ids=["mlx5_core.sf.4"])]), timeout=10)
    envs = dict(response.container_responses[0].envs)
    assert envs["PCIDEVICE_EXAMPLE_COM_SFS"] == "mlx5_core.sf.4"
    assert json.loads(envs["PCIDEVICE_EXAMPLE_COM_SFS_INFO"]) == {"mlx5_core.sf.4": {"generic": {"deviceID": "mlx5_core.sf.4"}}}
    assert not os.path.exists(os.path.join(node.state_dir, "k8s.cni.cncf.io/devinfo/dp/example.com-sfs-mlx5_core.sf.4-device.json"))
    node.sysfs.remove_sf(2)
    node.sysfs.add_sf(0)
    wait_for(lambda: [d.ID for d in sfs.latest.devices] == ["mlx5_core.sf.3"], what="SF 2 dropped, SF 0 out of range")
    node.sysfs.set_pf_carrier(False)
    wait_for(lambda: set(sfs.health().values()) == {"Unhealthy"}, what="SFs unhealthy with the PF's carrier")


def test_config_change_adds_and_removes_pools(node):
    node.start()
    first = node.resource()
    node.write_config({"resourceList": [
        {"resourceName": "low", "resourcePrefix": "example.com", "selectors": {"pfNames": ["enp1s0#0"]}},
        {"resourceName": "high", "resourcePrefix": "example.com", "selectors": {"pfNames": ["enp1s0#1-2"]}},
    ]})
    low = node.resource("example.com/low")
    high = node.resource("example.com/high")
    assert [d.ID for d in low.latest.devices] == ["0000:01:10.0"]
    assert [d.ID for d in high.latest.devices] == ["0000:01:10.2", "0000:01:10.4"]
    wait_for(lambda: first.ended.is_set(), what="the removed pool's stream to end")
    assert not os.path.exists(os.path.join(node.kubelet_dir, first.endpoint))
    # A broken config is refused and the running pools stay.
    with open(node.config, "w") as handle:
        handle.write('{"resourceList": [{"resourceName": "x", "selectors": {"vendors": "8086"}}]}')
    time.sleep(0)  # nothing to wait for: the next check polls
    wait_for(lambda: "config reload failed" in open(os.path.join(node.base, "dp.log")).read(), what="reload error logged")
    assert not low.ended.is_set() and not high.ended.is_set()


def test_kubelet_restart_triggers_prompt_reregistration(node):
    node.start()
    before = node.resource()
    registrations = len(node.kubelet.registrations)
    restarted = time.monotonic()
    node.kubelet.restart()
    wait_for(lambda: len(node.kubelet.registrations) > registrations, what="re-registration")
    when, name, endpoint = node.kubelet.registrations[-1]
    print(f"re-registered {when - restarted:.3f}s after the kubelet restart")
    assert name == "example.com/igb_vfs"
    assert endpoint != before.endpoint  # a new socket for the new server instance
    after = node.resource()
    wait_for(lambda: after.latest is not None and len(after.latest.devices) == 3, what="device list after restart")


def test_lost_kubelet_connection_triggers_reregistration(node):
    node.start()
    before = node.resource()
    count = len(node.kubelet.registrations)
    before.channel.close()  # kubelet's side of the stream goes away
    wait_for(lambda: len(node.kubelet.registrations) > count, what="re-registration after the stream dropped")
    assert node.kubelet.registrations[-1][2] != before.endpoint


def test_sigterm_removes_sockets_device_info_and_status(node, api):
    pb2, _ = api
    node.start()
    resource = node.resource()
    resource.stub.Allocate(pb2.AllocateRequest(container_requests=[pb2.ContainerAllocateRequest(devices_ids=["0000:01:10.0"])]), timeout=10)
    info_dir = os.path.join(node.state_dir, "k8s.cni.cncf.io/devinfo/dp")
    assert os.listdir(info_dir) == ["example.com-igb_vfs-0000:01:10.0-device.json"]
    node.process.send_signal(signal.SIGTERM)
    assert node.process.wait(timeout=10) == 0
    assert sorted(os.listdir(node.kubelet_dir)) == ["kubelet.sock"]
    assert os.listdir(info_dir) == []
    assert node.health().returncode == 1


def test_invalid_config_at_start_is_a_clear_error(node):
    with open(node.config, "w") as handle:
        handle.write('{"resourceList": [{"resourceName": "a", "selectors": {"vendors": ["zz"]}}]}')
    node.start()
    assert node.process.wait(timeout=10) == 1
    log = open(os.path.join(node.base, "dp.log")).read()
    assert 'resource "a": selectors.vendors: "zz" is not a 4-digit hex ID' in log


@pytest.mark.timeout(600)
def test_one_hundred_kubelet_restarts_with_random_timing_every_pool_watched_again_after_one_registration(node):
    """kubelet restarted 100 times, with random pauses between its death and its new
    start and between restarts. After each, every pool is allocatable again after exactly
    one Register, and stays so: no second registration (whose failure or teardown leaves a
    pool at 0), no re-registration after a wait. How long it took is printed, not judged:
    a wall-clock bound would fail on a loaded machine, not on a wrong daemon."""
    import random
    rng = random.Random(20261204)
    two_pools = {"resourceList": [
        {"resourceName": "low", "resourcePrefix": "example.com", "selectors": {"pfNames": ["enp1s0#0"]}},
        {"resourceName": "high", "resourcePrefix": "example.com", "selectors": {"pfNames": ["enp1s0#1-2"]}},
    ]}
    expected = {"example.com/low": 1, "example.com/high": 2}
    node.write_config(two_pools)
    node.start()
    kubelet = node.kubelet
    wait_for(lambda: all(kubelet.allocatable(name) == count for name, count in expected.items()), what="both pools allocatable")
    slow = []
    for attempt in range(100):
        registrations = len(kubelet.registrations)
        kubelet.restart(pause=rng.choice([0.0, 0.0, rng.uniform(0.0, 0.3)]))
        started = time.monotonic()
        try:
            wait_for(lambda: all(kubelet.allocatable(name) == count for name, count in expected.items()), timeout=30.0,
                     what=f"both pools allocatable after restart {attempt + 1}")
        except AssertionError as error:
            # What the daemon and the stand-in saw, for the one who reads the failure.
            log = open(os.path.join(node.base, "dp.log")).read().splitlines()
            sockets = sorted(entry for entry in os.listdir(kubelet.directory) if entry.endswith(".sock"))
            raise AssertionError(f"{error}\nregistrations since: {kubelet.registrations[registrations:]}\n"
                                 f"devices: {kubelet.devices}\nsockets in the kubelet directory: {sockets}\n"
                                 f"daemon log, last 40 lines:\n" + "\n".join(log[-40:])) from None
        back = time.monotonic() - started
        slow.append(back)
        # Stay watched: a late teardown of a superseded client would drop a pool to 0 here.
        stable_until = time.monotonic() + rng.uniform(0.1, 0.4)
        while time.monotonic() < stable_until:
            assert all(kubelet.allocatable(name) == count for name, count in expected.items()), \
                f"a pool lost its devices after restart {attempt + 1}: {kubelet.devices}"
            time.sleep(0.02)
        new = [name for _, name, _ in kubelet.registrations[registrations:]]
        assert sorted(new) == sorted(expected), f"restart {attempt + 1}: registrations {new}"
    log = open(os.path.join(node.base, "dp.log")).read()
    assert " error " not in log and "Register failed" not in log, "error-level lines during kubelet restarts"
    print(f"100 restarts: back after median {sorted(slow)[50] * 1000:.0f} ms, max {max(slow) * 1000:.0f} ms")


TWO_POOLS = {"resourceList": [
    {"resourceName": "low", "resourcePrefix": "example.com", "selectors": {"pfNames": ["enp1s0#0"]}},
    {"resourceName": "high", "resourcePrefix": "example.com", "selectors": {"pfNames": ["enp1s0#1-2"]}},
]}


@pytest.fixture
def watcher_node(api, watcher_api):
    base = tempfile.mkdtemp(prefix="dpw-", dir="/tmp")
    registry = os.path.join(base, "plugins_registry")  # beside --kubelet-dir, where the daemon looks by default
    os.makedirs(registry)
    node = Node(base, api, watcher_api=watcher_api, registry=registry)
    node.registry = registry
    yield node
    node.stop()
    if os.environ.get("KEEP_DP_LOGS"):
        print(open(os.path.join(base, "dp.log")).read())
    shutil.rmtree(base, ignore_errors=True)


@pytest.mark.timeout(300)
def test_through_the_plugin_watcher_kubelet_finds_the_pools_after_each_restart(watcher_node):
    """With plugins_registry present (both operators mount it), the pools' sockets go
    there and kubelet's plugin watcher registers them, after its restarts too: the same
    socket is found again, once per restart, and nothing is sent to kubelet.sock."""
    import random
    rng = random.Random(4)
    node = watcher_node
    expected = {"example.com/low": 1, "example.com/high": 2}
    node.write_config(TWO_POOLS)
    node.start()
    kubelet = node.kubelet
    wait_for(lambda: all(kubelet.allocatable(name) == count for name, count in expected.items()), what="both pools allocatable")
    endpoints = {name: kubelet.resources[name].endpoint for name in expected}
    assert all(os.path.exists(os.path.join(node.registry, endpoint)) for endpoint in endpoints.values())
    assert [entry for entry in os.listdir(node.kubelet_dir) if entry != "kubelet.sock"] == []
    for attempt in range(30):
        registrations = len(kubelet.registrations)
        kubelet.restart(pause=rng.uniform(0.0, 0.3))
        wait_for(lambda: all(kubelet.allocatable(name) == count for name, count in expected.items()), timeout=1.5,
                 what=f"both pools allocatable after restart {attempt + 1}")
        time.sleep(rng.uniform(0.1, 0.3))
        assert all(kubelet.allocatable(name) == count for name, count in expected.items())
        new = kubelet.registrations[registrations:]
        assert sorted(name for _, name, _ in new) == sorted(expected), f"restart {attempt + 1}: {new}"
        assert {name: endpoint for _, name, endpoint in new} == endpoints, "the same sockets are found again"
    log = open(os.path.join(node.base, "dp.log")).read()
    assert "registering through kubelet's plugin watcher" in log
    assert " error " not in log
    # SIGTERM: the sockets go, and the watcher deregisters the pools.
    node.process.terminate()
    node.process.wait(timeout=10)
    wait_for(lambda: all(kubelet.allocatable(name) == 0 for name in expected), timeout=2, what="pools gone after SIGTERM")
    assert os.listdir(node.registry) == []
