"""Paths and input a runtime (or a netconf) hands the plugin that are not what they
should be: a device, a FIFO, the plugin's own stdout, a relative path, a huge stdin,
state temporaries left by a killed call. Each call must end promptly (a hang fails
the test through its timeout, it never blocks the suite) with the spec's error code
naming the path and the reason, and must leave the host as it was."""

import json
import os
import shutil
import subprocess
import threading
import time

import pytest

PROMPT = 10  # seconds: every refusal here takes milliseconds; a hang would be forever


def error(call, code):
    assert call.status != 0, call
    body = call.json
    assert body["code"] == code, call
    return body


def device_info_conf(rig, path):
    conf = rig.config()
    del conf["deviceID"]
    conf["runtimeConfig"] = {"CNIDeviceInfoFile": str(path)}
    return conf


def fifo(rig, name):
    path = rig.work / name
    os.mkfifo(path)
    return path


def test_dev_zero_as_device_info_file_is_refused_without_reading_it(rig):
    before = rig.snapshot()
    started = time.monotonic()
    body = error(rig.cni("ADD", device_info_conf(rig, "/dev/zero"), timeout=PROMPT), 7)
    assert time.monotonic() - started < PROMPT
    assert body["msg"] == "cannot read device-info file /dev/zero"
    assert body["details"] == "is a character device, not a regular file"
    assert rig.snapshot() == before


def test_fifo_as_device_info_file_is_refused_at_once(rig):
    path = fifo(rig, "devinfo")
    body = error(rig.cni("ADD", device_info_conf(rig, path), timeout=PROMPT), 7)
    assert body["msg"] == f"cannot read device-info file {path}"
    assert body["details"] == "is a FIFO, not a regular file"


def test_oversized_device_info_file_is_refused(rig):
    path = rig.work / "devinfo.json"
    path.write_text(json.dumps({"type": "pci", "version": "1.1.0", "pci": {"pci-address": rig.address(0)}}) + " " * 65536)
    body = error(rig.cni("ADD", device_info_conf(rig, path), timeout=PROMPT), 7)
    assert body["details"] == "is larger than 65536 bytes"


def test_fifo_as_log_file_fails_add_and_lets_del_succeed(rig):
    path = fifo(rig, "plugin.log")
    before = rig.snapshot()
    body = error(rig.cni("ADD", rig.config(logFile=str(path)), timeout=PROMPT), 7)
    assert body["msg"] == f'invalid logFile "{path}": is a FIFO, not a regular file'
    assert rig.snapshot() == before
    call = rig.cni("DEL", rig.config(logFile=str(path)), timeout=PROMPT)
    assert call.status == 0 and call.stdout == "", call
    assert "logging to stderr" in call.stderr
    assert rig.ipam_allocations() == []


def test_fifo_as_netns_is_code_8_for_add_and_del_still_succeeds(rig):
    path = fifo(rig, "netns")
    before = rig.snapshot()
    body = error(rig.cni("ADD", rig.config(), netns=str(path), timeout=PROMPT), 8)
    assert body["msg"] == f"cannot use CNI_NETNS {path}"
    assert body["details"] == "EINVAL (Invalid argument): is a FIFO, not a network namespace file"
    assert rig.snapshot() == before
    assert rig.cni("DEL", rig.config(), netns=str(path), timeout=PROMPT).status == 0
    assert rig.cni("CHECK", rig.config(), netns=str(path), timeout=PROMPT).status != 0


def test_regular_file_as_netns_is_code_8_at_once(rig):
    path = rig.work / "netns-file"
    path.write_text("x" * 100)
    body = error(rig.cni("ADD", rig.config(), netns=str(path), timeout=PROMPT), 8)
    assert body["details"] == "EINVAL (Invalid argument): not a network namespace file"


def test_log_file_that_is_stdout_is_refused_and_the_output_stays_one_json_document(rig):
    before = rig.snapshot()
    for path in ("/dev/stdout", "/proc/self/fd/1", "/dev/stderr"):
        call = rig.cni("ADD", rig.config(logFile=path, logLevel="debug"), timeout=PROMPT)
        body = error(call, 7)  # call.json parses the whole of stdout: nothing else was mixed in
        assert body["msg"].startswith(f'invalid logFile "{path}": '), body
    # stdout redirected to a regular file, as a test harness might: refused by identity.
    out = rig.work / "stdout.txt"
    with open(out, "wb") as stdout:
        env = {"CNI_COMMAND": "ADD", "CNI_CONTAINERID": "cid1", "CNI_IFNAME": "net1", "CNI_NETNS": rig.pod_path,
               "CNI_PATH": "/usr/lib/cni", "SRIOV_RDMA_SYSFS_ROOT": str(rig.sysfs.root)}
        status = subprocess.run(["ip", "netns", "exec", rig.host, str(rig.binary)], stdout=stdout, stderr=subprocess.PIPE,
                                input=json.dumps(rig.config(logFile=str(out))).encode(), env=env, timeout=PROMPT).returncode
    assert status != 0
    body = json.loads(out.read_text())
    assert body["code"] == 7 and body["msg"] == f'invalid logFile "{out}": is the plugin\'s standard output', body
    assert rig.snapshot() == before


def test_relative_log_file_is_refused_like_a_relative_state_dir(rig):
    body = error(rig.cni("ADD", rig.config(logFile="plugin.log"), cwd=rig.work, timeout=PROMPT), 7)
    assert body["msg"] == 'invalid logFile "plugin.log": must be an absolute path'
    assert not (rig.work / "plugin.log").exists()
    body = error(rig.cni("ADD", rig.config(stateDir="state"), cwd=rig.work, timeout=PROMPT), 7)
    assert body["msg"] == 'invalid stateDir "state": must be an absolute path'


def test_50_mb_on_stdin_is_refused_after_1_mib_with_a_small_peak_rss(rig):
    if not shutil.which("time", path="/usr/bin"):
        pytest.skip("/usr/bin/time is not installed")
    payload = b"[" + b"0," * (25 * 1024 * 1024) + b"0]"
    env = {"CNI_COMMAND": "ADD", "CNI_CONTAINERID": "cid1", "CNI_IFNAME": "net1", "CNI_NETNS": rig.pod_path,
           "CNI_PATH": "/usr/lib/cni", "SRIOV_RDMA_SYSFS_ROOT": str(rig.sysfs.root)}
    # /usr/bin/time forks from its own small process, so %M is the plugin's peak (ip
    # netns exec execs the plugin in place), not this test's, which a fork would inherit.
    peak_file = rig.work / "peak-rss"
    process = subprocess.Popen(["/usr/bin/time", "-o", str(peak_file), "-f", "%M",
                                "ip", "netns", "exec", rig.host, str(rig.binary)],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)

    def feed():
        try:
            process.stdin.write(payload)
            process.stdin.close()
        except BrokenPipeError:
            pass  # the plugin stopped reading at its limit, as it must

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    hang = threading.Timer(PROMPT, process.kill)
    hang.start()
    stdout = process.stdout.read()
    process.wait()
    hang.cancel()
    writer.join(PROMPT)
    assert process.returncode != 0
    body = json.loads(stdout)
    assert body == {"cniVersion": "1.1.0", "code": 7, "msg": "the network config on stdin is larger than 1048576 bytes"}
    peak_mib = int(peak_file.read_text().split()[-1]) / 1024
    print(f"peak RSS with {len(payload) / 1e6:.0f} MB on stdin: {peak_mib:.1f} MiB")
    assert peak_mib < 32, peak_mib


def ended_pid() -> int:
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


def test_state_temporaries_of_ended_calls_are_removed_and_those_of_live_ones_kept(rig):
    allocations = rig.state_dir / "allocations"
    attachments = rig.state_dir / "attachments"
    allocations.mkdir(parents=True)
    attachments.mkdir(parents=True)
    dead = allocations / f"{rig.address(0)}.json.tmp{ended_pid()}.Ab12Cd"
    live = attachments / f"cid9-net1.json.tmp{os.getpid()}.Ef34Gh"  # this test process: alive
    for path in (dead, live):
        path.write_text("{")
    # ADD leaves them (two directory listings per ADD for a rare file); DEL sweeps.
    assert rig.cni("ADD", rig.config(logLevel="info"), timeout=PROMPT).status == 0
    assert dead.exists() and live.exists()
    dead_again = attachments / f"cid1-net1.json.tmp{ended_pid()}.Ij56Kl"
    dead_again.write_text("{")
    call = rig.cni("DEL", rig.config(logLevel="info"), timeout=PROMPT)
    assert call.status == 0, call
    assert f"removed {dead}, left by a call that has ended" in call.stderr
    assert not dead.exists() and not dead_again.exists()
    assert live.exists()
