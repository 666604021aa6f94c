#!/usr/bin/env python3
"""CNI benchmark (issue #7): sriov-rdma-cni against Debian's host-device plugin.

Both plugins move the same kind of netdev (one end of a veth pair, standing in for
a VF netdev) from a scratch "host" namespace into a scratch "pod" namespace and
back: ADD then DEL, timed as wall time from spawn to exit, alternating the plugins
call by call so load changes hit both alike. VERSION start-up is timed the same
way. Nothing of this machine's own network is touched.

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
VF_ADDRESS = "0000:00:0a.0"


def ip(*args: str, check: bool = True) -> str:
    result = subprocess.run(["ip", *args], capture_output=True, text=True)
    if check and result.returncode != 0:
        raise SystemExit(f"ip {' '.join(args)}: {result.stderr.strip()}")
    return result.stdout


def make_sysfs(root: Path, netdev: str, mac: str) -> None:
    """The VF stand-in's PCI function, so our plugin finds the netdev by deviceID."""
    directory = root / "devices/pci0000:00" / VF_ADDRESS
    for name, value in (("vendor", "0x8086"), ("device", "0x10ca"), ("class", "0x020000")):
        (directory / name).parent.mkdir(parents=True, exist_ok=True)
        (directory / name).write_text(value + "\n")
    net = directory / "net" / netdev
    net.mkdir(parents=True)
    for name, value in (("address", mac), ("mtu", "1500"), ("ifindex", "2"), ("type", "1")):
        (net / name).write_text(value + "\n")
    os.symlink("../..", net / "device")
    (root / "bus/pci/devices").mkdir(parents=True)
    os.symlink(f"../../../devices/pci0000:00/{VF_ADDRESS}", root / "bus/pci/devices" / VF_ADDRESS)
    (root / "class/net").mkdir(parents=True)
    os.symlink(f"../../devices/pci0000:00/{VF_ADDRESS}/net/{netdev}", root / "class/net" / netdev)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


# ---------------------------------------------------------------- inner (in the host netns)

def inner(args) -> None:
    work = Path(args.work)
    pod_path = f"/var/run/netns/{args.pod}"
    base_env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "CNI_CONTAINERID": "bench1", "CNI_NETNS": pod_path,
                "CNI_IFNAME": "net1", "CNI_PATH": "/usr/lib/cni"}
    ipam = {"type": "host-local", "subnet": "10.56.0.0/24", "dataDir": str(work / "ipam")} if args.ipam else None
    plugins = {
        "ours": (args.ours, dict(base_env, SRIOV_RDMA_SYSFS_ROOT=str(work / "sys")),
                 {"cniVersion": "1.0.0", "name": "bench", "type": "sriov-rdma", "deviceID": VF_ADDRESS,
                  "stateDir": args.state}),
        "peer": (str(PEER), dict(base_env),
                 {"cniVersion": "1.0.0", "name": "bench", "type": "host-device", "device": "vf0"}),
    }
    for _, _, conf in plugins.values():
        if ipam:
            conf["ipam"] = ipam

    def call(name: str, command: str) -> tuple[float, float]:
        """Wall time and the process's user + system CPU (wait4's rusage, which
        counts the descendants it reaped, such as an IPAM plugin), both in ms."""
        binary, env, conf = plugins[name]
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

    samples = {name: {"ADD": [], "DEL": [], "ADD+DEL": [], "VERSION": [], "CPU ADD+DEL": []} for name in plugins}
    # Warm-up: page cache, first-touch costs of both binaries.
    for name in plugins:
        for _ in range(args.warmup):
            call(name, "ADD")
            call(name, "DEL")
            call(name, "VERSION")
    order = ["ours", "peer"]
    for iteration in range(args.iterations):
        for name in (order if iteration % 2 == 0 else order[::-1]):
            add, add_cpu = call(name, "ADD")
            delete, delete_cpu = call(name, "DEL")
            samples[name]["ADD"].append(add)
            samples[name]["DEL"].append(delete)
            samples[name]["ADD+DEL"].append(add + delete)
            samples[name]["CPU ADD+DEL"].append(add_cpu + delete_cpu)
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
    host, pod = f"cnib-h{tag}", f"cnib-p{tag}"
    work = Path(tempfile.mkdtemp(prefix="cni-bench-"))
    # The plugin's state where its default stateDir (/run/sriov-rdma/cni) is on a node:
    # tmpfs, which systemd mounts on /run. This machine's /run is on its root file
    # system, so the records go to a tmpfs of their own.
    state = Path(tempfile.mkdtemp(prefix="cni-bench-state-", dir="/run"))
    load_start = os.getloadavg()[0]
    started = time.time()
    # A node running workloads: CPUs kept busy by processes of nice 19, which take CPU
    # from neither plugin but keep those CPUs from idling. An idle CPU holds up the end
    # of the RCU grace period that each namespace move waits for (rcu_barrier) until the
    # grace-period kthread's next scan, a busy one reports at its next tick.
    spinners = [subprocess.Popen([sys.executable, "-c", "import os\nos.nice(19)\nwhile True: pass"])
                for _ in range(args.busy_cpus)]
    try:
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m,mode=0700", "tmpfs", str(state)], check=True)
        ip("netns", "add", host)
        ip("netns", "add", pod)
        ip("-n", host, "link", "add", "name", "vf0", "address", "02:56:0a:00:00:00", "type", "veth", "peer", "name", "vf0peer")
        ip("-n", host, "link", "set", "vf0", "up")
        make_sysfs(work / "sys", "vf0", "02:56:0a:00:00:00")
        command = ["ip", "netns", "exec", host, sys.executable, __file__, "--inner", "--work", str(work), "--state", str(state), "--pod", pod,
                   "--ours", str(ours), "--iterations", str(args.iterations), "--warmup", str(args.warmup),
                   "--version-calls", str(args.version_calls), "--jitter-ms", str(args.jitter_ms)] + (["--ipam"] if args.ipam else [])
        result = subprocess.run(command, capture_output=True, text=True, timeout=1800)
        if result.returncode != 0:
            raise SystemExit(f"benchmark failed: {result.stdout} {result.stderr}")
        samples = json.loads(result.stdout)
    finally:
        for spinner in spinners:
            spinner.kill()
            spinner.wait()
        ip("netns", "del", pod, check=False)
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

    def verdict(ratio, target):
        return f"≤ {target} ({'meets' if ratio <= target else 'misses'})"
    lines = [
        f"## {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, commit {commit}",
        "",
        f"- Machine: {platform.node() or 'unknown host'}, nproc {os.cpu_count()}, CPU {cpu}, kernel {platform.release()}; "
        f"1-min load average {load_start:.2f} at start, {load_end:.2f} at the end; {seconds:.0f} s in all",
        f"- ours: `{os.path.relpath(args.ours, Path(__file__).resolve().parents[2])}` (release, fully static); peer: `{PEER}` (containernetworking-plugins {peer_version})",
        f"- Work: one veth end (VF stand-in) from a scratch host netns into a scratch pod netns and back; "
        f"our state records on a tmpfs, as in the default stateDir under a node's /run; both executables evicted from the page cache first; "
        f"{'host-local IPAM for both' if args.ipam else 'no IPAM'}; {args.warmup} warm-up pairs each, "
        f"then {args.iterations} timed ADD+DEL pairs per plugin alternating call by call; {args.version_calls} VERSION calls each, alternating",
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
        "How long the move waits for RCU grace periods depends on what the CPUs do meanwhile:",
        "on an idle node the Go peer's runtime (its sysmon thread wakes about every 0.1 ms while",
        "the call waits) shortens its own moves; with a CPU busy anyway (`--busy-cpus`) both",
        "plugins get the short wait.",
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
