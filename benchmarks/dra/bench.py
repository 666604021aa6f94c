"""NodePrepareResources through sriov-rdma-dp --dra-pools (release build) against the
validating API stand-in and grpcio with kubelet's dra v1 protos, and the same node's
pool through the device plugin (Allocate, ListAndWatch) in the same run.

Per claim size (1 and 8 VFs), `--rounds` claims are created and allocated as the
scheduler would (not timed), then each is prepared and unprepared, timed from the
gRPC call to its answer: the claim GET over HTTPS, the checkpoint written before and
after, the CDI spec. The comparison is Allocate of the same number of devices on the
device-plugin path that pods take today (no API call, no checkpoint).

Slice update: a VF removed or added in the fixture's sysfs, timed until the API
server holds the new device list; beside it, the same change timed until the kubelet
stand-in's ListAndWatch has it. Both daemons rescan every 0.2 s, so both numbers are
mostly that interval; the ratio shows what the API write adds."""
import argparse
import datetime
import importlib
import json
import os
import pathlib
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

REPO = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "Tests" / "interop"))
import grpc  # noqa: E402
from grpc_tools import protoc  # noqa: E402
from kubelet_standin import Kubelet, wait_for  # noqa: E402
from sysfs_fixture import SysfsTree  # noqa: E402
from test_dra_daemon import APIServer  # noqa: E402

DRIVER = "sriov-rdma.io"
NODE = "bench"
POOL = f"{NODE}/bench.example.com/vfs"
DP = REPO / ".build" / "release" / "sriov-rdma-dp"
CONFIG = {"resourceList": [{"resourceName": "vfs", "resourcePrefix": "bench.example.com", "selectors": {"drivers": ["igbvf"]}}]}


def compile_protos(work):
    out = work / "proto"
    out.mkdir()
    names = {"dra_v1": "dra-v1.proto", "pluginregistration": "pluginregistration.proto", "api": "deviceplugin-v1beta1.proto"}
    for module, proto in names.items():
        shutil.copy(REPO / "Tests" / "interop" / proto, out / (module + ".proto"))
        assert protoc.main(["protoc", f"-I{out}", f"--python_out={out}", f"--grpc_python_out={out}", str(out / (module + ".proto"))]) == 0
    sys.path.insert(0, str(out))
    return {m: (importlib.import_module(m + "_pb2"), importlib.import_module(m + "_pb2_grpc")) for m in names}


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def summary(values):
    return {"p50": percentile(values, 0.5) * 1000, "p99": percentile(values, 0.99) * 1000}


def devices(api):
    return sorted(d["name"] for s in api.slices() for d in s["spec"]["devices"])


def bench_dra(work, protos, rounds):
    api = APIServer(work)
    api.call("POST", "/api/v1/nodes", {"apiVersion": "v1", "kind": "Node", "metadata": {"name": NODE}})
    node = work / "dra-node"
    tree = SysfsTree(str(node / "sys"), vfs=8)
    (node / "dev").mkdir()
    registry = work / "plugins_registry"
    registry.mkdir()
    (work / "dra-kdp").mkdir()
    config = work / "dra-config.json"
    config.write_text(json.dumps(CONFIG))
    dp = subprocess.Popen([str(DP), "run", "--config", str(config), "--kubelet-dir", str(work / "dra-kdp"),
                           "--plugins-registry-dir", str(registry), "--dra-plugin-dir", str(work / "dra-plugin"),
                           "--sys-root", str(node / "sys"), "--dev-root", str(node / "dev"), "--state-dir", str(work / "dra-state"),
                           "--poll-interval", "0.2", "--log-level", "warning", "--dra-pools", "all", "--node-name", NODE,
                           "--kubeconfig", str(api.kubeconfig)])
    results = {}
    try:
        wait_for(lambda: len(devices(api)) == 8, timeout=30, what="8 devices published")
        pb, stubs = protos["pluginregistration"]
        with grpc.insecure_channel(f"unix://{registry}/{DRIVER}-reg.sock") as channel:
            info = stubs.RegistrationStub(channel).GetInfo(pb.InfoRequest(), timeout=10)
            stubs.RegistrationStub(channel).NotifyRegistrationStatus(pb.RegistrationStatus(plugin_registered=True), timeout=10)
        dra_pb, dra_stubs = protos["dra_v1"]
        channel = grpc.insecure_channel(f"unix://{info.endpoint}")
        plugin = dra_stubs.DRAPluginStub(channel)
        names = devices(api)
        for size in (1, 8):
            claims = []
            for index in range(rounds):
                name = f"c{size}-{index}"
                created = api.call("POST", "/apis/resource.k8s.io/v1/namespaces/bench/resourceclaims", {
                    "apiVersion": "resource.k8s.io/v1", "kind": "ResourceClaim", "metadata": {"namespace": "bench", "name": name},
                    "spec": {"devices": {"requests": [{"name": "vf", "exactly": {"deviceClassName": "vfs", "count": size}}]}}})
                results_ = [{"request": "vf", "driver": DRIVER, "pool": POOL, "device": names[(index + k) % 8]} for k in range(size)]
                api.call("PUT", f"/apis/resource.k8s.io/v1/namespaces/bench/resourceclaims/{name}/status",
                         dict(created, status={"allocation": {"devices": {"results": results_}},
                                               "reservedFor": [{"resource": "pods", "name": "p", "uid": f"pod-{name}"}]}))
                claims.append(dra_pb.Claim(namespace="bench", name=name, uid=created["metadata"]["uid"]))
            prepare, unprepare = [], []
            for claim in claims:
                started = time.perf_counter()
                answer = plugin.NodePrepareResources(dra_pb.NodePrepareResourcesRequest(claims=[claim]), timeout=30)
                prepare.append(time.perf_counter() - started)
                assert answer.claims[claim.uid].error == "", answer.claims[claim.uid].error
                assert len(answer.claims[claim.uid].devices) == size
                started = time.perf_counter()
                answer = plugin.NodeUnprepareResources(dra_pb.NodeUnprepareResourcesRequest(claims=[claim]), timeout=30)
                unprepare.append(time.perf_counter() - started)
                assert answer.claims[claim.uid].error == ""
            results[f"prepare{size}"] = summary(prepare)
            results[f"unprepare{size}"] = summary(unprepare)
        channel.close()
        assert api.rejected() == [], api.rejected()
        changes = []
        for index in range(10):
            expected = 7 if index % 2 == 0 else 8
            started = time.perf_counter()
            tree.remove_vf(7) if index % 2 == 0 else tree.add_vf(7)
            wait_for(lambda: len(devices(api)) == expected, timeout=10, what="slice update")
            changes.append(time.perf_counter() - started)
        results["slice"] = summary(changes)
    finally:
        dp.terminate()
        dp.wait(timeout=20)
        api.stop()
    return results


def bench_device_plugin(work, protos, rounds):
    pb, stubs = protos["api"]
    node = work / "dp-node"
    tree = SysfsTree(str(node / "sys"), vfs=8)
    (node / "dev").mkdir()
    kubelet_dir = work / "dp-kubelet" / "device-plugins"  # no plugins_registry beside it: Register through kubelet.sock
    kubelet_dir.mkdir(parents=True)
    config = work / "dp-config.json"
    config.write_text(json.dumps(CONFIG))
    kubelet = Kubelet((pb, stubs), str(kubelet_dir))
    kubelet.start()
    dp = subprocess.Popen([str(DP), "run", "--config", str(config), "--kubelet-dir", str(kubelet_dir),
                           "--sys-root", str(node / "sys"), "--dev-root", str(node / "dev"), "--state-dir", str(work / "dp-state"),
                           "--poll-interval", "0.2", "--log-level", "warning"])
    results = {}
    try:
        name = "bench.example.com/vfs"
        resource = wait_for(lambda: kubelet.resources.get(name) if kubelet.resources.get(name) and kubelet.resources[name].latest
                            and len(kubelet.resources[name].latest.devices) == 8 else None, timeout=30, what="registration")
        ids = sorted(d.ID for d in resource.latest.devices)
        for size in (1, 8):
            times = []
            for index in range(rounds):
                request = pb.AllocateRequest(container_requests=[pb.ContainerAllocateRequest(
                    devices_ids=[ids[(index + k) % 8] for k in range(size)])])
                started = time.perf_counter()
                resource.stub.Allocate(request, timeout=30)
                times.append(time.perf_counter() - started)
            results[f"allocate{size}"] = summary(times)
        changes = []
        for index in range(10):
            expected = 7 if index % 2 == 0 else 8
            started = time.perf_counter()
            tree.remove_vf(7) if index % 2 == 0 else tree.add_vf(7)
            wait_for(lambda: len(resource.latest.devices) == expected, timeout=10, what="ListAndWatch update")
            changes.append(time.perf_counter() - started)
        results["list"] = summary(changes)
    finally:
        dp.terminate()
        dp.wait(timeout=20)
        kubelet.stop()
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=200, help="claims (and Allocate calls) per size")
    parser.add_argument("--no-record", action="store_true", help="do not append to RESULTS.md")
    arguments = parser.parse_args()
    work = pathlib.Path(tempfile.mkdtemp(prefix="dra-bench-", dir="/tmp"))
    try:
        protos = compile_protos(work)
        dra = bench_dra(work, protos, arguments.rounds)
        dp = bench_device_plugin(work, protos, arguments.rounds)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    lines = []
    for size in (1, 8):
        p, a = dra[f"prepare{size}"], dp[f"allocate{size}"]
        u = dra[f"unprepare{size}"]
        lines.append(f"- {size} VF: NodePrepareResources p50 {p['p50']:.2f} ms, p99 {p['p99']:.2f} ms; "
                     f"NodeUnprepareResources p50 {u['p50']:.2f} ms, p99 {u['p99']:.2f} ms; "
                     f"device-plugin Allocate p50 {a['p50']:.2f} ms, p99 {a['p99']:.2f} ms; "
                     f"Prepare/Allocate p50 {p['p50'] / a['p50']:.1f}x")
    s, l = dra["slice"], dp["list"]
    lines.append(f"- device change to ResourceSlice update p50 {s['p50']:.0f} ms, p99 {s['p99']:.0f} ms; "
                 f"to ListAndWatch update p50 {l['p50']:.0f} ms, p99 {l['p99']:.0f} ms (rescan every 200 ms); "
                 f"slice/ListAndWatch p50 {s['p50'] / l['p50']:.2f}x")
    print("\n".join(lines))
    if not arguments.no_record:
        load = os.getloadavg()[0]
        commit = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
        cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), "?")
        with open(REPO / "benchmarks" / "dra" / "RESULTS.md", "a") as out:
            out.write(f"\n## {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC, commit {commit}, "
                      f"{os.cpu_count()} cores, {cpu}, kernel {platform.release()}, load {load:.2f}, {arguments.rounds} rounds\n\n"
                      + "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
