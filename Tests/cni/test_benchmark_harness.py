"""benchmarks/cni runs: its report has every row for both plugins, and it leaves no
namespace, link or mount behind. Only that it works; its numbers are the benchmark's
business (benchmarks/cni/RESULTS.md), not a test's."""
import re
import subprocess
import sys

import pytest

from conftest import REPO, plugin_binary

BENCH = REPO / "benchmarks" / "cni" / "bench.py"


def leftovers():
    netns = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True).stdout
    mounts = open("/proc/self/mounts").read()
    return ([line.split()[0] for line in netns.splitlines() if line.startswith("cnib-")],
            [line.split()[1] for line in mounts.splitlines() if "cni-bench-state-" in line])


@pytest.mark.parametrize("pattern", [["--pods", "2"], ["--back-to-back"]], ids=["pods", "back-to-back"])
def test_the_cni_benchmark_runs_both_plugins_and_cleans_up(pattern):
    before = leftovers()
    result = subprocess.run([sys.executable, str(BENCH), "--ours", str(plugin_binary()), "--iterations", "4",
                             "--warmup", "1", "--version-calls", "2", *pattern],
                            capture_output=True, text=True, timeout=110)
    assert result.returncode == 0, result.stdout + result.stderr
    report = result.stdout
    for metric, count in [("ADD", 4), ("DEL", 4), ("ADD+DEL", 4), ("CPU ADD+DEL", 4), ("VERSION", 2)]:
        for plugin in ["ours", "peer"]:
            row = re.search(rf"^\| {re.escape(metric)} \| {plugin} \|(.*)\| (\d+) \|$", report, re.MULTILINE)
            assert row, f"no {metric} row for {plugin} in:\n{report}"
            assert int(row.group(2)) == count, row.group(0)
    for ratio in ["ADD+DEL wall time", "ADD+DEL user + system CPU of the plugin process", "VERSION start-up (wall)"]:
        assert re.search(rf"^\| {re.escape(ratio)} \| \d+\.\d\d \| ≤ [\d.]+ \((meets|misses)\) \|$", report, re.MULTILINE), ratio
    if "--back-to-back" in pattern:
        assert "back to back" in report
    else:
        assert "in rounds of 2 pods each" in report
    assert leftovers() == before
