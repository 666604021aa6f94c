"""Starts sriov-rdma-dp (release) on a generated node of 8 PFs x 128 VFs with 8 pools
(one per PF), lets the grpcio kubelet stand-in register them all, then reports the
time to full registration and the daemon's RSS, and appends to RESULTS.md."""
import datetime
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(REPO, "Tests", "interop"))
from grpc_tools import protoc  # noqa: E402
from kubelet_standin import Kubelet, wait_for  # noqa: E402


def rss_kib(pid, key="VmRSS"):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


def main():
    work = tempfile.mkdtemp(prefix="dp-bench-")
    proto = os.path.join(work, "proto")
    os.makedirs(proto)
    shutil.copy(os.path.join(REPO, "Tests/interop/deviceplugin-v1beta1.proto"), os.path.join(proto, "api.proto"))
    assert protoc.main(["protoc", f"-I{proto}", f"--python_out={proto}", f"--grpc_python_out={proto}", os.path.join(proto, "api.proto")]) == 0
    sys.path.insert(0, proto)
    import api_pb2, api_pb2_grpc  # noqa: E401

    sys_root, dev_root = subprocess.run([os.path.join(REPO, ".build/release/discovery-bench"), "fixture", "8", "128"],
                                        capture_output=True, text=True, check=True).stdout.split()
    pools = [{"resourceName": f"pf{pf}", "resourcePrefix": "bench.example.com", "selectors": {"pfNames": [f"ens{pf}f0"]}} for pf in range(8)]
    config = os.path.join(work, "config.json")
    json.dump({"resourceList": pools}, open(config, "w"))
    kubelet_dir = os.path.join(work, "kdp")
    os.makedirs(kubelet_dir)
    kubelet = Kubelet((api_pb2, api_pb2_grpc), kubelet_dir)
    kubelet.start()
    started = time.monotonic()
    dp = subprocess.Popen([os.path.join(REPO, ".build/release/sriov-rdma-dp"), "run", "--config", config, "--kubelet-dir", kubelet_dir,
                           "--sys-root", sys_root, "--dev-root", dev_root, "--state-dir", os.path.join(work, "state"),
                           "--poll-interval", "1", "--log-level", "warning"])
    try:
        names = [f"bench.example.com/pf{pf}" for pf in range(8)]
        wait_for(lambda: all(kubelet.resources.get(n) and kubelet.resources[n].latest for n in names), timeout=60, what="all pools")
        registered = time.monotonic() - started
        devices = sum(len(kubelet.resources[n].latest.devices) for n in names)
        time.sleep(5)  # a few rescans at the default interval, so RSS includes steady state
        rss, anon, file_rss = rss_kib(dp.pid), rss_kib(dp.pid, "RssAnon"), rss_kib(dp.pid, "RssFile")
    finally:
        dp.terminate()
        dp.wait(timeout=10)
        kubelet.stop()
        shutil.rmtree(sys_root, ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)
    print(f"devices served: {devices} in 8 pools")
    print(f"start -> all 8 pools registered and listed: {registered * 1000:.0f} ms")
    print(f"RSS: {rss / 1024:.1f} MiB (anon {anon / 1024:.1f} MiB, file-backed {file_rss / 1024:.1f} MiB); target <= 20 MiB")
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    with open(os.path.join(REPO, "benchmarks/daemon/RESULTS.md"), "a") as out:
        out.write(f"\n## {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores, {cpu}, kernel {platform.release()}\n\n"
                  f"- devices: {devices} in 8 pools (8 PFs x 128 VFs, generated sysfs)\n"
                  f"- start to all pools registered and listed: {registered * 1000:.0f} ms\n"
                  f"- RSS {rss / 1024:.1f} MiB (anon {anon / 1024:.1f}, file {file_rss / 1024:.1f}); target <= 20 MiB\n")


if __name__ == "__main__":
    main()
