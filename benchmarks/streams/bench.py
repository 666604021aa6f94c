"""Starts the release dp-interop-server with ListAndWatch latest-only (as the daemon
registers it) and one health change every --interval-ms per stream, opens 200
ListAndWatch streams that never read (25 per connection on 8 connections: window 0
on half of them, a socket nobody reads on the rest) and one grpcio stream that reads
(kubelet's), then reports the server's RSS growth over --seconds and how promptly
the reading stream got its updates."""
import argparse
import datetime
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

import grpc
from grpc_tools import protoc
from hpack import Encoder
from hyperframe.frame import DataFrame, HeadersFrame, SettingsFrame

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
REQUEST = [(":method", "POST"), (":scheme", "http"), (":path", "/v1beta1.DevicePlugin/ListAndWatch"),
           (":authority", "localhost"), ("content-type", "application/grpc"), ("te", "trailers")]
CONNECTIONS, STREAMS_PER_CONNECTION = 8, 25


def rss_kib(pid, key="VmRSS"):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


def stalled_connection(path, window_zero):
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(path)
    settings = {SettingsFrame.INITIAL_WINDOW_SIZE: 0} if window_zero else {}
    data = PREFACE + SettingsFrame(0, settings=settings).serialize()
    encoder = Encoder()
    for stream in range(1, 2 * STREAMS_PER_CONNECTION, 2):
        headers = HeadersFrame(stream, encoder.encode(REQUEST))
        headers.flags.add("END_HEADERS")
        data += headers.serialize() + DataFrame(stream, b"\0\0\0\0\0", flags=["END_STREAM"]).serialize()
    sock.sendall(data)
    return sock


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--interval-ms", type=int, default=100)
    parser.add_argument("--every-message", action="store_true", help="register ListAndWatch without latest-only, for contrast")
    parser.add_argument("--record", help="append the results to this RESULTS.md")
    options = parser.parse_args()

    work = tempfile.mkdtemp(prefix="dp-streams-", dir="/tmp")
    shutil.copy(os.path.join(REPO, "Tests/interop/deviceplugin-v1beta1.proto"), os.path.join(work, "api.proto"))
    assert protoc.main(["protoc", f"-I{work}", f"--python_out={work}", f"--grpc_python_out={work}", os.path.join(work, "api.proto")]) == 0
    sys.path.insert(0, work)
    import api_pb2, api_pb2_grpc  # noqa: E401

    path = os.path.join(work, "dp.sock")
    mode = [] if options.every_message else ["--latest-only"]
    server = subprocess.Popen([os.path.join(REPO, ".build/release/dp-interop-server"), "serve", "--socket", path, "--devices", "8",
                               "--update-interval-ms", str(options.interval_ms), *mode], stdout=subprocess.PIPE, text=True)
    assert server.stdout.readline().startswith("serving")
    load_start = os.getloadavg()[0]
    stalled = [stalled_connection(path, index % 2 == 0) for index in range(CONNECTIONS)]
    arrivals = []
    channel = grpc.insecure_channel(f"unix://{path}")
    updates = api_pb2_grpc.DevicePluginStub(channel).ListAndWatch(api_pb2.Empty())

    def read():
        try:
            for _ in updates:
                arrivals.append(time.monotonic())
        except grpc.RpcError:
            pass

    threading.Thread(target=read, daemon=True).start()
    try:
        time.sleep(5)  # streams open, socket buffers and windows filled
        baseline, started = rss_kib(server.pid), time.monotonic()
        samples = []
        while time.monotonic() - started < options.seconds:
            time.sleep(5)
            samples.append(rss_kib(server.pid))
        final, anon, hwm = rss_kib(server.pid), rss_kib(server.pid, "RssAnon"), rss_kib(server.pid, "VmHWM")
    finally:
        updates.cancel()
        channel.close()
        for sock in stalled:
            sock.close()
        server.terminate()
        server.wait(timeout=10)
        shutil.rmtree(work, ignore_errors=True)
    load_end = os.getloadavg()[0]
    recent = [t for t in arrivals if t >= started]
    gaps = [b - a for a, b in zip(recent, recent[1:])]
    sent = CONNECTIONS * STREAMS_PER_CONNECTION * options.seconds * 1000 // options.interval_ms
    mode_text = "every message" if options.every_message else "latest-only"
    lines = [
        f"- ListAndWatch {mode_text}; {CONNECTIONS * STREAMS_PER_CONNECTION} unread streams ({CONNECTIONS} connections, window 0 on half), "
        f"one update every {options.interval_ms} ms per stream, {options.seconds} s after 5 s of warm-up",
        f"- RSS {baseline / 1024:.1f} -> {final / 1024:.1f} MiB: **growth {(final - baseline) / 1024:.2f} MiB** (target <= 2 MiB); "
        f"RssAnon {anon / 1024:.1f} MiB, VmHWM {hwm / 1024:.1f} MiB; every 5 s: {' '.join(f'{s / 1024:.1f}' for s in samples)}",
        f"- about {sent:,} messages offered to the unread streams, {(final - baseline) * 1024 / max(sent, 1):.2f} B of growth per message",
        f"- the reading stream (kubelet's): {len(recent)} updates, longest gap {max(gaps, default=float('nan')) * 1000:.0f} ms",
        f"- 1-min load average {load_start:.2f} at start, {load_end:.2f} at the end",
    ]
    print("\n".join(lines))
    if options.record:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True).stdout.strip()
        cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
        with open(options.record, "a") as out:
            out.write(f"\n## {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC, commit {commit}, "
                      f"{os.cpu_count()} cores, {cpu}, kernel {platform.release()}\n\n" + "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
