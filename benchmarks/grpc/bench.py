#!/usr/bin/env python3
"""Runs the gRPC benchmark: one client (dp-bench-client, grpc-go) against our
dp-interop-server and against the grpc-go peer (dp-peer-server), alternating over
several rounds. Each round starts a fresh server, runs the client once (Allocate
latency, then ListAndWatch throughput on the same channel), reads the server's
VmRSS and VmHWM, and stops the server. Prints per-round rows, medians and the
ratios ours/peer; with --record, appends them to RESULTS.md.

Standard library only. benchmarks/grpc/run builds the binaries and calls this."""
import argparse
import datetime
import json
import os
import pathlib
import platform
import select
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parents[1]

# Targets from issue #4 (ours/peer).
LATENCY_TARGET = 1.0
RSS_TARGET = 0.5


def status_kib(pid, field):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"no {field} for pid {pid}")


class Server:
    """A server process on a fresh socket, started and stopped per round."""

    def __init__(self, name, argv, log_path):
        self.name = name
        self.log_path = log_path
        self.log = open(log_path, "w")
        self.process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=self.log, text=True)
        # Both servers print and flush "serving PATH" once they listen.
        ready, _, _ = select.select([self.process.stdout], [], [], 15)
        line = self.process.stdout.readline() if ready else ""
        if not line.startswith("serving"):
            self.stop()
            raise RuntimeError(f"{name} did not start: {line!r}; log {log_path}:\n{pathlib.Path(log_path).read_text()}")
        self.idle_rss = status_kib(self.process.pid, "VmRSS")

    def memory(self):
        """VmRSS, VmHWM (peak), RssAnon (heap, stacks) and RssFile (mapped binary and libraries) in KiB."""
        if self.process.poll() is not None:
            raise RuntimeError(f"{self.name} exited with {self.process.returncode}; log {self.log_path}:\n"
                               f"{pathlib.Path(self.log_path).read_text()}")
        return {field: status_kib(self.process.pid, field) for field in ("VmRSS", "VmHWM", "RssAnon", "RssFile")}

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


def run_one(name, argv_for, client, args, tmp, round_no):
    sock = os.path.join(tmp, f"{name}-{round_no}.sock")
    server = Server(name, argv_for(sock), os.path.join(tmp, f"{name}-{round_no}.log"))
    try:
        result = subprocess.run(
            [client, "-socket", sock, "-calls", str(args.calls), "-warmup", str(args.warmup),
             "-updates", str(args.updates), "-devices", str(args.devices), "-ids", str(args.ids),
             "-deadline", args.deadline, "-timeout", f"{args.timeout}s"],
            capture_output=True, text=True, timeout=args.timeout + 15)
        if result.returncode != 0:
            raise RuntimeError(f"client against {name} failed ({result.returncode}):\n{result.stderr}\n"
                               f"server log:\n{pathlib.Path(server.log_path).read_text()}")
        data = json.loads(result.stdout)
        memory = server.memory()
        return {
            "server": name, "round": round_no,
            "p50": data["allocate"]["p50_us"], "p90": data["allocate"]["p90_us"],
            "p99": data["allocate"]["p99_us"], "mean": data["allocate"]["mean_us"],
            "max": data["allocate"]["max_us"],
            "rate": data["listandwatch"]["per_s"], "watch_s": data["listandwatch"]["seconds"],
            "list_bytes": data["listandwatch"]["bytes_per_list"],
            "idle_rss": server.idle_rss, "rss": memory["VmRSS"], "hwm": memory["VmHWM"],
            "anon": memory["RssAnon"], "file": memory["RssFile"],
        }
    finally:
        server.stop()


def machine():
    model = "unknown"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"nproc {os.cpu_count()}, CPU {model}, kernel {platform.release()}"


def git_describe():
    try:
        head = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True).stdout.strip()
        return head + ("+dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def grpc_go_version():
    try:
        return subprocess.run(["dpkg-query", "-W", "-f=${Version}", "golang-google-grpc-dev"],
                              capture_output=True, text=True).stdout.strip() or "unknown"
    except OSError:
        return "unknown"


def fmt_row(r):
    mib = {k: r[k] / 1024 for k in ("idle_rss", "rss", "anon", "file", "hwm")}
    return (f"| {r['round']} | {r['server']} | {r['p50']:.1f} | {r['p90']:.1f} | {r['p99']:.1f} "
            f"| {r['rate']:,.0f} | {mib['idle_rss']:.1f} | {mib['rss']:.1f} | {mib['anon']:.1f} | {mib['file']:.1f} "
            f"| {mib['hwm']:.1f} |")


def summarize(rows, args, started, elapsed, loads):
    med = {}
    for name in ("ours", "peer"):
        mine = [r for r in rows if r["server"] == name]
        med[name] = {k: statistics.median(r[k] for r in mine) for k in ("p50", "p90", "p99", "mean", "rate", "idle_rss", "rss", "anon", "file", "hwm")}
        med[name]["round"] = "median"
        med[name]["server"] = name
    o, p = med["ours"], med["peer"]

    def verdict(value, target):
        return "meets" if value <= target else "misses"

    ratios = {
        "p50": o["p50"] / p["p50"], "p99": o["p99"] / p["p99"],
        "rate": o["rate"] / p["rate"], "rss": o["rss"] / p["rss"], "hwm": o["hwm"] / p["hwm"],
        "anon": o["anon"] / p["anon"], "file": o["file"] / p["file"],
    }
    lines = [
        f"## {started:%Y-%m-%d %H:%M} UTC, commit {git_describe()}",
        "",
        f"- Machine: {machine()}; 1-min load average {loads[0]:.2f} at start, {loads[1]:.2f} at the end",
        f"- Servers: ours = `.build/release/dp-interop-server serve` (Swift {swift_version()}, release, "
        f"static Swift stdlib as shipped; hand-written stack); "
        f"peer = `dp-peer-server` (grpc-go {grpc_go_version()}, Debian golang-google-grpc-dev, Go {go_version()})",
        f"- Client: `dp-bench-client` (grpc-go, kubelet-style Unix dialer), one channel per round",
        f"- Work per round and server: {args.warmup} warm-up + {args.calls} timed sequential Allocate calls "
        f"(1 container, {args.ids} device IDs, {deadline_text(args.deadline)}); ListAndWatch first list + {args.updates} updates of "
        f"{rows[0]['list_bytes']} bytes ({args.devices} devices); {args.rounds} rounds alternating the order; "
        f"{elapsed:.0f} s in all",
        "",
        "| round | server | Allocate p50 µs | p90 µs | p99 µs | ListAndWatch msg/s | RSS idle MiB | RSS after MiB "
        "| of which anon MiB | of which file MiB | VmHWM MiB |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    lines += [fmt_row(r) for r in rows]
    lines += [fmt_row(o), fmt_row(p), ""]
    lines += [
        "| ratio ours/peer (medians) | value | target |",
        "|---|---:|---|",
        f"| Allocate latency p50 | {ratios['p50']:.2f} | ≤ {LATENCY_TARGET} ({verdict(ratios['p50'], LATENCY_TARGET)}) |",
        f"| Allocate latency p99 | {ratios['p99']:.2f} | ≤ {LATENCY_TARGET} ({verdict(ratios['p99'], LATENCY_TARGET)}) |",
        f"| RSS after the runs | {ratios['rss']:.2f} | ≤ {RSS_TARGET} ({verdict(ratios['rss'], RSS_TARGET)}) |",
        f"| anonymous RSS (RssAnon) after the runs | {ratios['anon']:.2f} | – |",
        f"| file-backed RSS (RssFile) after the runs | {ratios['file']:.2f} | – |",
        f"| peak RSS (VmHWM) | {ratios['hwm']:.2f} | – |",
        f"| ListAndWatch throughput | {ratios['rate']:.3f} | – (higher is better) |",
        "",
    ]
    return "\n".join(lines), ratios


def deadline_text(deadline):
    return "no deadline" if deadline in ("0", "0s", "") else f"{deadline} deadline each"


def swift_version():
    try:
        out = subprocess.run(["swift", "--version"], capture_output=True, text=True).stdout.split()
        return out[out.index("version") + 1] if "version" in out else "unknown"
    except OSError:
        return "unknown"


def go_version():
    try:
        out = subprocess.run(["go", "version"], capture_output=True, text=True).stdout.split()
        return out[2].removeprefix("go") if len(out) > 2 else "unknown"
    except OSError:
        return "unknown"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ours", default=str(REPO / ".build" / "release" / "dp-interop-server"))
    parser.add_argument("--bin", default=str(REPO / ".build" / "bench-grpc" / "bin"),
                        help="directory with dp-peer-server and dp-bench-client")
    parser.add_argument("--rounds", type=int, default=6, help="rounds; the order alternates, so keep it even")
    parser.add_argument("--calls", type=int, default=20000, help="timed Allocate calls per round")
    parser.add_argument("--warmup", type=int, default=2000, help="untimed Allocate calls first")
    parser.add_argument("--updates", type=int, default=20000, help="ListAndWatch updates per round")
    parser.add_argument("--devices", type=int, default=8, help="devices in each ListAndWatch list")
    parser.add_argument("--ids", type=int, default=2, help="device IDs per Allocate request")
    parser.add_argument("--deadline", default="0",
                        help="per-call Allocate deadline sent as grpc-timeout, e.g. 30s (default 0: none, as kubelet)")
    parser.add_argument("--timeout", type=int, default=180, help="seconds one client run may take")
    parser.add_argument("--record", metavar="FILE", help="append the results to this Markdown file")
    args = parser.parse_args()

    peer = os.path.join(args.bin, "dp-peer-server")
    client = os.path.join(args.bin, "dp-bench-client")
    for path in (args.ours, peer, client):
        if not os.access(path, os.X_OK):
            sys.exit(f"bench.py: {path} is missing (benchmarks/grpc/run builds it)")

    argv = {
        "ours": lambda sock: [args.ours, "serve", "--socket", sock, "--devices", str(args.devices), "--updates", str(args.updates)],
        "peer": lambda sock: [peer, "-socket", sock, "-devices", str(args.devices), "-updates", str(args.updates)],
    }
    started = datetime.datetime.now(datetime.timezone.utc)
    t0 = time.monotonic()
    load_start = os.getloadavg()[0]
    tmp = tempfile.mkdtemp(prefix="dpbench-", dir="/tmp")  # a Unix socket path must fit in 108 bytes
    rows = []
    try:
        for round_no in range(1, args.rounds + 1):
            order = ("ours", "peer") if round_no % 2 else ("peer", "ours")
            for name in order:
                row = run_one(name, argv[name], client, args, tmp, round_no)
                rows.append(row)
                print(f"round {round_no}/{args.rounds} {name}: Allocate p50 {row['p50']:.1f} µs p99 {row['p99']:.1f} µs, "
                      f"ListAndWatch {row['rate']:,.0f} msg/s, RSS {row['rss'] / 1024:.1f} MiB", flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    report, _ = summarize(rows, args, started, time.monotonic() - t0, (load_start, os.getloadavg()[0]))
    print()
    print(report)
    if args.record:
        with open(args.record, "a") as out:
            out.write("\n" + report)
        print(f"appended to {args.record}")


if __name__ == "__main__":
    main()
