#!/usr/bin/env python3
"""CNI benchmark (issue #7): sriov-rdma-cni against Debian's host-device plugin.

Both plugins move the same kind of netdev (one end of a veth pair, standing in for
a VF netdev) from a scratch "host" namespace into a pod namespace and back, each
call timed as wall time from spawn to exit, the plugins taking turns call by call
so load changes hit both alike. In rounds of pods (20 per plugin): ADD for every
pod, then DEL for every pod, so a pod lives about a second before its DEL, as pods
do; `--back-to-back` is the earlier pattern, each DEL right after its ADD. VERSION
start-up is timed the same way. Nothing of this machine's own network is touched.

The driver re-executes itself inside the host namespace (`ip netns exec`), so the
plugins are spawned there directly, as a runtime would spawn them.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PEER = Path("/usr/lib/cni/host-device")


def vf_address(index: int) -> str:
    """The PCI address of the index-th VF stand-in in our plugin's sysfs fixture."""
    return f"0000:01:{index // 8:02x}.{index % 8}"


def netdev(args, name: str, index: int) -> str:
    """Each plugin's own VF stand-ins, vf0, vf1, ... for ours and hd0, hd1, ... for the
    peer; back to back, both plugins take turns with vf0."""
    return "vf0" if args.back_to_back else f"{'vf' if name == 'ours' else 'hd'}{index}"


def pod(args, name: str, index: int) -> str:
    """The pod namespace of one plugin's index-th VF stand-in (one for all, back to back)."""
    return f"{args.pod}-0" if args.back_to_back else f"{args.pod}-{name}{index}"


def stand_ins(args) -> list[tuple[str, str, int]]:
    """(plugin, netdev, index) of every VF stand-in and pod the run needs."""
    if args.back_to_back:
        return [("ours", "vf0", 0)]
    return [(name, netdev(args, name, index), index) for name in ("ours", "peer") for index in range(args.pods)]


def ip(*args: str, check: bool = True) -> str:
    result = subprocess.run(["ip", *args], capture_output=True, text=True)
    if check and result.returncode != 0:
        raise SystemExit(f"ip {' '.join(args)}: {result.stderr.strip()}")
    return result.stdout


def make_sysfs(root: Path, functions: list[tuple[str, str, str]]) -> None:
    """The VF stand-ins' PCI functions (address, netdev, MAC), so our plugin finds each
    netdev by its deviceID."""
    (root / "bus/pci/devices").mkdir(parents=True)
    (root / "class/net").mkdir(parents=True)
    for address, name, mac in functions:
        directory = root / "devices/pci0000:00" / address
        directory.mkdir(parents=True)
        for attribute, value in (("vendor", "0x8086"), ("device", "0x10ca"), ("class", "0x020000")):
            (directory / attribute).write_text(value + "\n")
        net = directory / "net" / name
        net.mkdir(parents=True)
        for attribute, value in (("address", mac), ("mtu", "1500"), ("ifindex", "2"), ("type", "1")):
            (net / attribute).write_text(value + "\n")
        os.symlink("../..", net / "device")
        os.symlink(f"../../../devices/pci0000:00/{address}", root / "bus/pci/devices" / address)
        os.symlink(f"../../devices/pci0000:00/{address}/net/{name}", root / "class/net" / name)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


# ---------------------------------------------------------------- inner (in the host netns)

def inner(args) -> None:
    work = Path(args.work)
    base_env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "CNI_IFNAME": "net1", "CNI_PATH": "/usr/lib/cni"}
    ipam = {"type": "host-local", "subnet": "10.56.0.0/24", "dataDir": str(work / "ipam")} if args.ipam else None
    binaries = {"ours": args.ours, "peer": str(PEER)}

    def plugin(name: str, index: int) -> tuple[str, dict, dict]:
        """Binary, environment and network config of one plugin's call for its
        index-th VF stand-in, which goes into a pod namespace of its own."""
        env = dict(base_env, CNI_CONTAINERID=f"{name}{index}", CNI_NETNS=f"/var/run/netns/{pod(args, name, index)}")
        if name == "ours":
            env["SRIOV_RDMA_SYSFS_ROOT"] = str(work / "sys")
            conf = {"cniVersion": "1.0.0", "name": "bench", "type": "sriov-rdma", "deviceID": vf_address(index),
                    "stateDir": args.state}
        else:
            conf = {"cniVersion": "1.0.0", "name": "bench", "type": "host-device", "device": netdev(args, name, index)}
        if ipam:
            conf["ipam"] = ipam
        return binaries[name], env, conf

    def set_host_links(up: bool) -> None:
        """Every VF stand-in up (or down) in the host before a round's ADDs, as a host
        may leave a VF netdev either way: the same for both plugins."""
        lines = "".join(f"link set {device} {'up' if up else 'down'}\n" for _, device, _ in stand_ins(args))
        subprocess.run(["ip", "-batch", "-"], input=lines, text=True, check=True)

    def call(name: str, command: str, index: int = 0) -> tuple[float, float]:
        """Wall time and the process's user + system CPU (wait4's rusage, which
        counts the descendants it reaped, such as an IPAM plugin), both in ms."""
        binary, env, conf = plugin(name, index)
        env = dict(env, CNI_COMMAND=command)
        stdin = json.dumps(conf if command != "VERSION" else {"cniVersion": "1.0.0"}).encode()
        if args.jitter_ms:
            time.sleep(random.uniform(0, args.jitter_ms) / 1e3)
        start = time.perf_counter_ns()
        process = subprocess.Popen([binary], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        process.stdin.write(stdin)
        process.stdin.close()
        stdout, stderr = process.stdout.read(), process.stderr.read()
        _, status, usage = os.wait4(process.pid, 0)
        elapsed = (time.perf_counter_ns() - start) / 1e6
        process.returncode = os.waitstatus_to_exitcode(status)
        process.stdout.close()
        process.stderr.close()
        if process.returncode != 0:
            raise SystemExit(f"{name} {command} failed ({process.returncode}): {stdout.decode()} {stderr.decode()}")
        return elapsed, (usage.ru_utime + usage.ru_stime) * 1e3

    samples = {name: {"ADD": [], "DEL": [], "ADD+DEL": [], "VERSION": [], "CPU ADD+DEL": []} for name in binaries}
    # Warm-up: page cache, first-touch costs of both binaries.
    for name in binaries:
        for _ in range(args.warmup):
            call(name, "ADD")
            call(name, "DEL")
            call(name, "VERSION")
    order = ["ours", "peer"]

    def record(name: str, add: tuple[float, float], delete: tuple[float, float]) -> None:
        samples[name]["ADD"].append(add[0])
        samples[name]["DEL"].append(delete[0])
        samples[name]["ADD+DEL"].append(add[0] + delete[0])
        samples[name]["CPU ADD+DEL"].append(add[1] + delete[1])

    if args.back_to_back:
        # Each DEL right after its ADD, on the one VF stand-in both plugins take turns with.
        for iteration in range(args.iterations):
            for name in (order if iteration % 2 == 0 else order[::-1]):
                add = call(name, "ADD")
                record(name, add, call(name, "DEL"))
    else:
        # Rounds of pods: ADD for each plugin's VF stand-ins in turn, then DEL for each in
        # the same turn, so a pod lives for the round's other calls (about a second with
        # 20 pods) before its DEL, as pods do; the host links up in every other round.
        done = 0
        while done < args.iterations:
            count = min(args.pods, args.iterations - done)
            set_host_links(up=(done // args.pods) % 2 == 0)
            turns = [(index, order if index % 2 == 0 else order[::-1]) for index in range(count)]
            adds = {(name, index): call(name, "ADD", index) for index, names in turns for name in names}
            for index, names in turns:
                for name in names:
                    record(name, adds[(name, index)], call(name, "DEL", index))
            done += count
    for iteration in range(args.version_calls):
        for name in (order if iteration % 2 == 0 else order[::-1]):
            samples[name]["VERSION"].append(call(name, "VERSION")[0])
    json.dump(samples, sys.stdout)


# ---------------------------------------------------------------- outer

def evict_from_page_cache(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
        os.posix_fadvise(descriptor, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(descriptor)


def outer(args) -> None:
    ours = Path(args.ours)
    if not os.access(ours, os.X_OK):
        raise SystemExit(f"{ours} is missing: swift build -c release --static-swift-stdlib --product sriov-rdma-cni")
    if not os.access(PEER, os.X_OK):
        raise SystemExit(f"{PEER} is missing: apt-get install containernetworking-plugins (scripts/setup)")
    # Both executables loaded the same way, from disk: how the page cache came to hold
    # a file (a linker's writes through a mapping, readahead of an installed package)
    # changed our start-up by a sixth (118 against 102 page faults per call).
    for binary in (ours, PEER):
        evict_from_page_cache(binary)
    tag = f"{os.getpid()}-{uuid.uuid4().hex[:4]}"
    host = f"cnib-h{tag}"
    args.pod = f"cnib-p{tag}"
    pods = sorted({pod(args, name, index) for name, _, index in stand_ins(args)})
    work = Path(tempfile.mkdtemp(prefix="cni-bench-"))
    # The plugin's state where its default stateDir (/run/sriov-rdma/cni) is on a node:
    # tmpfs, which systemd mounts on /run. This machine's /run is on its root file
    # system, so the records go to a tmpfs of their own.
    state = Path(tempfile.mkdtemp(prefix="cni-bench-state-", dir="/run"))
    load_start = os.getloadavg()[0]
    started = time.time()
    # A node running workloads: CPUs kept busy by processes of nice 19, which take CPU
    # from neither plugin but keep those CPUs from idling; each namespace move waits for
    # RCU grace periods, and those end sooner then (RESULTS.md).
    spinners = [subprocess.Popen([sys.executable, "-c", "import os\nos.nice(19)\nwhile True: pass"])
                for _ in range(args.busy_cpus)]
    try:
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m,mode=0700", "tmpfs", str(state)], check=True)
        ip("netns", "add", host)
        for name in pods:
            ip("netns", "add", name)
        fixture = []
        for number, (name, device, index) in enumerate(stand_ins(args)):
            mac = f"02:56:0a:00:{number // 256:02x}:{number % 256:02x}"
            ip("-n", host, "link", "add", "name", device, "address", mac, "type", "veth", "peer", "name", device + "peer")
            ip("-n", host, "link", "set", device, "up")
            if name == "ours":
                fixture.append((vf_address(index), device, mac))
        make_sysfs(work / "sys", fixture)
        command = ["ip", "netns", "exec", host, sys.executable, __file__, "--inner", "--work", str(work), "--state", str(state), "--pod", args.pod,
                   "--ours", str(ours), "--iterations", str(args.iterations), "--warmup", str(args.warmup), "--pods", str(args.pods),
                   "--version-calls", str(args.version_calls), "--jitter-ms", str(args.jitter_ms)]
        command += (["--ipam"] if args.ipam else []) + (["--back-to-back"] if args.back_to_back else [])
        result = subprocess.run(command, capture_output=True, text=True, timeout=1800)
        if result.returncode != 0:
            raise SystemExit(f"benchmark failed: {result.stdout} {result.stderr}")
        samples = json.loads(result.stdout)
    finally:
        for spinner in spinners:
            spinner.kill()
            spinner.wait()
        for name in pods:
            ip("netns", "del", name, check=False)
        ip("netns", "del", host, check=False)
        shutil.rmtree(work, ignore_errors=True)
        subprocess.run(["umount", str(state)], check=False)
        shutil.rmtree(state, ignore_errors=True)
    report = render(args, samples, load_start, os.getloadavg()[0], time.time() - started)
    print(report)
    if args.record:
        with open(args.record, "a") as file:
            file.write("\n" + report)


def render(args, samples, load_start, load_end, seconds) -> str:
    def row(name, metric):
        values = samples[name][metric]
        return (f"| {metric} | {name} | {statistics.median(values):.2f} | {statistics.mean(values):.2f} | {percentile(values, 0.9):.2f} "
                f"| {min(values):.2f} | {len(values)} |")

    median = {name: {m: statistics.median(v) for m, v in metrics.items()} for name, metrics in samples.items()}
    cpu = "unknown"
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    commit = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    peer_version = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", "containernetworking-plugins"],
                                  capture_output=True, text=True).stdout.strip() or "unknown"
    ratio_pair = median["ours"]["ADD+DEL"] / median["peer"]["ADD+DEL"]
    ratio_cpu = median["ours"]["CPU ADD+DEL"] / median["peer"]["CPU ADD+DEL"]
    ratio_version = median["ours"]["VERSION"] / median["peer"]["VERSION"]

    # A pod lives for the calls between its ADD and its DEL: of a round's 2 × pods ADDs
    # and as many DELs, the 2 × pods − 1 that come between.
    calls = [value for name in samples for metric in ("ADD", "DEL") for value in samples[name][metric]]
    pod_life = (2 * min(args.pods, args.iterations) - 1) * statistics.mean(calls) / 1e3

    def verdict(ratio, target):
        return f"≤ {target} ({'meets' if ratio <= target else 'misses'})"
    lines = [
        f"## {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, commit {commit}",
        "",
        f"- Machine: {platform.node() or 'unknown host'}, nproc {os.cpu_count()}, CPU {cpu}, kernel {platform.release()}; "
        f"1-min load average {load_start:.2f} at start, {load_end:.2f} at the end; {seconds:.0f} s in all",
        f"- ours: `{os.path.relpath(args.ours, Path(__file__).resolve().parents[2])}` (release, fully static); peer: `{PEER}` (containernetworking-plugins {peer_version})",
        f"- Work: veth ends (VF stand-ins) from a scratch host netns into pod netns and back; "
        f"our state records on a tmpfs, as in the default stateDir under a node's /run; both executables evicted from the page cache first; "
        f"{'host-local IPAM for both' if args.ipam else 'no IPAM'}; {args.warmup} warm-up pairs each, "
        + (f"then {args.iterations} timed ADD+DEL pairs per plugin back to back (each DEL right after its ADD, one veth end both take turns with), "
           f"alternating call by call; " if args.back_to_back else
           f"then {args.iterations} timed ADD+DEL pairs per plugin in rounds of {args.pods} pods each: ADD for every pod, the plugins taking turns, "
           f"then DEL for every pod in the same turns (a pod lives about {pod_life:.1f} s), the host links up before every other round; ")
        + f"{args.version_calls} VERSION calls each, alternating",
        f"- Node: {f'{args.busy_cpus} CPU(s) kept busy by a spinning process of nice 19 throughout (a node running workloads)' if args.busy_cpus else 'nothing else running (an idle node)'}"
        + (f"; each call starts after an untimed pause drawn evenly from 0–{args.jitter_ms:g} ms (calls arriving at random times)" if args.jitter_ms else ""),
        "",
        "| call (ms) | plugin | median | mean | p90 | min | n |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for metric in ("ADD", "DEL", "ADD+DEL", "CPU ADD+DEL", "VERSION"):
        lines += [row("ours", metric), row("peer", metric)]
    lines += [
        "",
        "| ratio ours/peer (medians) | value | target |",
        "|---|---:|---|",
        f"| ADD+DEL wall time | {ratio_pair:.2f} | {verdict(ratio_pair, 1.0)} |",
        f"| ADD+DEL user + system CPU of the plugin process | {ratio_cpu:.2f} | {verdict(ratio_cpu, 0.5)} |",
        f"| VERSION start-up (wall) | {ratio_version:.2f} | {verdict(ratio_version, 0.7)} |",
        f"| ADD | {median['ours']['ADD'] / median['peer']['ADD']:.2f} | – |",
        f"| DEL | {median['ours']['DEL'] / median['peer']['DEL']:.2f} | – |",
        f"| ADD+DEL wall time, ratio of means, not medians (a call's wall time steps with the kernel's RCU grace periods) | "
        f"{statistics.mean(samples['ours']['ADD+DEL']) / statistics.mean(samples['peer']['ADD+DEL']):.2f} | – |",
        "",
        "The kernel's move of a netdev between namespaces is most of either plugin's ADD and DEL.",
        "How long a move waits for RCU grace periods depends on what the CPUs do meanwhile (a",
        "CPU kept busy, `--busy-cpus`, shortens it for both plugins) and on what came just",
        "before it: a DEL within a few ms of its ADD waits longer after our ADD than after the",
        "peer's (RESULTS.md, \"Pods that live\"), which is why pods live a while here.",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ours", default=str(REPO / ".build/release/sriov-rdma-cni"))
    parser.add_argument("--iterations", type=int, default=200, help="timed ADD+DEL pairs per plugin")
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--version-calls", type=int, default=300)
    parser.add_argument("--ipam", action="store_true", help="give both plugins host-local IPAM")
    parser.add_argument("--pods", type=int, default=20,
                        help="VF stand-ins (and pods) per plugin in a round: ADD for each, then DEL for each, "
                             "so each pod lives for the round's other calls")
    parser.add_argument("--back-to-back", action="store_true",
                        help="each DEL right after its ADD on one VF stand-in that the plugins take turns with "
                             "(this benchmark's pattern before December 2026)")
    parser.add_argument("--jitter-ms", type=float, default=0,
                        help="pause each call by an untimed random 0..N ms first: calls at random times rather than in "
                             "step with the previous call's end (which a move's grace period sets)")
    parser.add_argument("--busy-cpus", type=int, default=0,
                        help="keep this many CPUs busy with nice-19 spinning processes during the run (a node running workloads)")
    parser.add_argument("--record", help="append the report to this file")
    parser.add_argument("--inner", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--work", help=argparse.SUPPRESS)
    parser.add_argument("--state", help=argparse.SUPPRESS)
    parser.add_argument("--pod", help=argparse.SUPPRESS)
    args = parser.parse_args()
    inner(args) if args.inner else outer(args)


if __name__ == "__main__":
    main()
