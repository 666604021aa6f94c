"""`sriov-rdma-cni install`, the CNI image's entry point, run as sriov-network-operator
runs the upstream CNI images in its init containers: `--no-sleep`, the host's CNI bin
dir at /host/opt/cni/bin (here --cni-bin-dir), and the upstream scripts' flags."""
import os
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from conftest import plugin_binary


@pytest.fixture
def bin_dir():
    with tempfile.TemporaryDirectory(prefix="cni-bin-") as directory:
        yield Path(directory)


def install(*arguments, timeout=30):
    return subprocess.run([str(plugin_binary()), "install", *arguments], capture_output=True, text=True, timeout=timeout)


def version(binary):
    return subprocess.run([str(binary)], input='{"cniVersion":"1.0.0"}', env={"CNI_COMMAND": "VERSION"},
                          capture_output=True, text=True, timeout=10)


def test_installs_itself_under_the_names_it_serves(bin_dir):
    result = install(f"--cni-bin-dir={bin_dir}", "--no-sleep")
    assert result.returncode == 0, result.stderr
    assert sorted(os.listdir(bin_dir)) == ["rdma", "sriov", "sriov-rdma"]
    original = plugin_binary().read_bytes()
    for name in ["rdma", "sriov", "sriov-rdma"]:
        path = bin_dir / name
        assert path.read_bytes() == original
        assert os.stat(path).st_mode & 0o777 == 0o755
        answer = version(path)
        assert answer.returncode == 0 and '"supportedVersions"' in answer.stdout, answer
    assert result.stdout.count("installed ") == 3


def test_names_chooses_them_and_ib_sriov_only_when_asked(bin_dir):
    assert install(f"--cni-bin-dir={bin_dir}", "--names=sriov,ib-sriov", "--no-sleep").returncode == 0
    assert sorted(os.listdir(bin_dir)) == ["ib-sriov", "sriov"]
    for bad in ["--names=", "--names=a/b", "--names=.."]:
        result = install(f"--cni-bin-dir={bin_dir}", bad, "--no-sleep")
        assert result.returncode == 1 and "--names" in result.stderr, (bad, result)


def test_upstream_bin_file_flags_copy_that_file_under_its_own_name(bin_dir, tmp_path):
    source = tmp_path / "sriov"
    source.write_bytes(b"#!/bin/sh\necho upstream\n")
    result = install(f"--cni-bin-dir={bin_dir}", f"--sriov-bin-file={source}", "--no-sleep")
    assert result.returncode == 0, result.stderr
    assert os.listdir(bin_dir) == ["sriov"]
    assert (bin_dir / "sriov").read_bytes() == source.read_bytes()


def test_unknown_arguments_and_a_missing_bin_dir_fail_as_upstream_does(bin_dir):
    # The upstream scripts take `--flag=value` only.
    spaced = install("--cni-bin-dir", str(bin_dir))
    assert spaced.returncode == 1
    assert spaced.stderr == "Error: --cni-bin-dir needs a value: --cni-bin-dir=...\n", spaced.stderr
    unknown = install(f"--cni-bin-dir={bin_dir}", "--sleep")
    assert unknown.returncode == 1
    assert unknown.stderr.startswith('Error: unknown argument "--sleep"'), unknown.stderr
    missing = install(f"--cni-bin-dir={bin_dir}/absent", "--no-sleep")
    assert missing.returncode == 1
    assert f"CNI bin dir {bin_dir}/absent does not exist" in missing.stderr
    assert os.listdir(bin_dir) == []


def test_without_no_sleep_it_waits_for_sigterm_and_a_reinstall_replaces_a_running_binary(bin_dir):
    """The installed plugin keeps running from the bin dir while the next version is
    installed: a rename, not `cp -f`, which fails with ETXTBSY on a running binary."""
    assert install(f"--cni-bin-dir={bin_dir}", "--no-sleep").returncode == 0
    running = subprocess.Popen([str(bin_dir / "sriov"), "install", f"--cni-bin-dir={bin_dir}"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 10
        line = running.stdout.readline()
        while "waiting for SIGTERM" not in line and time.monotonic() < deadline:
            line = running.stdout.readline()
        assert "waiting for SIGTERM" in line
        assert running.poll() is None
        again = install(f"--cni-bin-dir={bin_dir}", "--no-sleep")
        assert again.returncode == 0, again.stderr
    finally:
        running.send_signal(signal.SIGTERM)
        status = running.wait(timeout=10)
    assert status == 0
