#!/usr/bin/env python3
"""The lab VM harness (issue #3).

Boots Debian's 6.12 kernel under QEMU 10 with virtme-ng (TCG: KVM is not usable
here). The guest sees the host's root read-only over 9p, so the host's tools and
the project's binaries run in it unchanged; the output directory is shared
read-write. The guest has an emulated Intel 82576 (igb, 8086:10c9) behind a PCIe
root port on an isolated QEMU hub (no host network), so SR-IOV VFs are real
igbvf devices, and rdma_rxe gives soft-RoCE on top of them.

  lab.py run   [options] -- COMMAND [ARG...]
  lab.py suite [options] NAME [CASE...]
  lab.py list

A single COMMAND argument is run by bash -c (so it may hold shell syntax);
several arguments are run as an argument vector. `run` returns the guest
command's exit status. `suite` boots once, runs every case script of
Tests/lab/suites/NAME/ in order with lab_reset before each, prints the boot time
and each case's status and time, and ends with `lab-NAME: N passed, M failed`.

Exit statuses of the harness itself: 2 = a tool is missing (run scripts/setup)
or bad usage, 124 = the guest was killed at --timeout, 125 = the guest never
reached the command (boot failure).
"""

from __future__ import annotations

import argparse
import collections
import fcntl
import glob
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
LAB = REPO / "Tests" / "lab"
SUITES = LAB / "suites"
GUEST = LAB / "guest"

# Drivers the guest does not need; blacklisting them shortens the TCG boot.
# irqbypass stays loadable: vfio-pci needs it (DPDK mode, --numa-iommu).
MODULE_BLACKLIST = (
    "kvm,kvm_amd,kvm_intel,ahci,libahci,lpc_ich,i2c_i801,iTCO_wdt,"
    "i6300esb,pcspkr,joydev,evdev,psmouse,serio_raw,sg,ccp,sp5100_tco"
)
GUEST_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
MARKER = re.compile(r"@@LAB (\S+)(?: (.*))?$")
# Console lines that are expected noise, not guest output.
NOISE = re.compile(r"qemu-system-x86_64: warning: hub \d+ is not connected to host network")
TAIL_LINES = 40

EXIT_SETUP = 2
EXIT_TIMEOUT = 124
EXIT_NO_BOOT = 125


class SetupError(Exception):
    """A tool the lab needs is missing; the message names scripts/setup."""


def log(msg: str) -> None:
    print(f"lab: {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- preflight


def find_tools() -> dict:
    """Locate QEMU, the kernel, virtme-ng and busybox, or raise SetupError."""
    qemu_name = os.environ.get("LAB_QEMU", "qemu-system-x86_64")
    qemu = shutil.which(qemu_name)
    if not qemu:
        raise SetupError(f"{qemu_name} not found (QEMU 10 from bookworm-backports); run scripts/setup")
    try:
        devices = subprocess.run([qemu, "-device", "help"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.TimeoutExpired) as e:
        raise SetupError(f"{qemu} does not run ({e}); run scripts/setup") from e
    if '"igb"' not in devices:
        raise SetupError(f"{qemu} has no -device igb (needs QEMU >= 8, from bookworm-backports); run scripts/setup")

    kernel_glob = os.environ.get("LAB_KERNEL", "/boot/vmlinuz-6.1[2-9]*")
    kernels = sorted(glob.glob(kernel_glob))
    if not kernels:
        raise SetupError(f"no kernel matching {kernel_glob} (linux-image-amd64 from bookworm-backports); run scripts/setup")
    kernel = kernels[-1]
    release = Path(kernel).name.removeprefix("vmlinuz-")
    if not Path(f"/lib/modules/{release}/modules.dep").is_file():
        raise SetupError(f"kernel {kernel} has no modules in /lib/modules/{release}; run scripts/setup")

    venv = Path(os.environ.get("LAB_VENV", REPO / ".venv"))
    vng = venv / "bin" / "vng"
    if not (os.access(vng, os.X_OK) and os.access(venv / "bin" / "virtme-run", os.X_OK)):
        raise SetupError(f"virtme-ng (vng) not found in {venv}/bin; run scripts/setup")

    if not any(shutil.which(b) for b in ("busybox-static", "busybox.static", "busybox")):
        raise SetupError("busybox not found (virtme-ng builds the guest initramfs with it; "
                         "Debian package busybox-static); run scripts/setup")
    return {"qemu": qemu, "kernel": kernel, "release": release, "venv": venv, "vng": vng}


# ---------------------------------------------------------------- VM options


def parse_mem_mib(text: str) -> int:
    m = re.fullmatch(r"(\d+)\s*([GgMm]?)i?[Bb]?", text.strip())
    if not m:
        raise ValueError(f"bad --memory {text!r} (use e.g. 2G or 2048M)")
    n, unit = int(m.group(1)), m.group(2).upper()
    return n * 1024 if unit == "G" else n


def cpu_range(first: int, last: int) -> str:
    return str(first) if first == last else f"{first}-{last}"


def vng_command(tools: dict, opts, out: Path, exec_script: Path) -> list[str]:
    """The vng command line for one boot."""
    mem = parse_mem_mib(opts.memory)
    if not str(opts.cpus).isdigit() or int(opts.cpus) < 1:
        raise ValueError(f"bad --cpus {opts.cpus!r} (a whole number >= 1)")
    cpus = int(opts.cpus)
    if mem < 256:
        raise ValueError(f"--memory {opts.memory} is too small for the lab guest (>= 256M)")
    append = [f"module_blacklist={MODULE_BLACKLIST}"]
    qemu = ["-machine", "q35"]
    numa: list[str] = []
    if opts.numa_iommu:
        if cpus < 2 or mem < 512:
            raise ValueError("--numa-iommu needs at least 2 CPUs and 512M")
        half_cpu, half_mem = cpus // 2, mem // 2
        numa = ["--numa", f"{half_mem}M,cpus={cpu_range(0, half_cpu - 1)}",
                "--numa", f"{mem - half_mem}M,cpus={cpu_range(half_cpu, cpus - 1)}"]
        append.append("intel_iommu=on")
        # The IOMMU first, then an expander bridge on NUMA node 1 with the first
        # NIC's root port behind it.
        qemu += ["-device", "intel-iommu",
                 "-device", "pxb-pcie,id=pxb1,bus_nr=0x80,numa_node=1,bus=pcie.0",
                 "-device", "pcie-root-port,id=rp1,chassis=1,slot=1,bus=pxb1"]
    else:
        qemu += ["-device", "pcie-root-port,id=rp1,chassis=1,slot=1,bus=pcie.0"]
    qemu += ["-netdev", "hubport,id=n0,hubid=0",
             "-device", "igb,netdev=n0,bus=rp1,mac=52:54:00:56:00:01"]
    if opts.second_nic:
        # Its own root port on the root complex (NUMA node 0); same isolated hub,
        # so the two NICs share a wire.
        qemu += ["-device", "pcie-root-port,id=rp2,chassis=2,slot=2,bus=pcie.0",
                 "-netdev", "hubport,id=n1,hubid=0",
                 "-device", "igb,netdev=n1,bus=rp2,mac=52:54:00:56:00:02"]
    cmd = [str(tools["vng"]), "--run", tools["kernel"], "--user", "root",
           "--disable-kvm", "--disable-microvm",
           "--memory", f"{mem}M", "--cpus", str(cpus), *numa,
           "--append", " ".join(append),
           "--qemu-opts=" + shlex.join(qemu),
           f"--rwdir={out}", "--cwd", str(REPO),
           "--exec", f"bash {shlex.quote(str(exec_script))}"]
    if "LAB_QEMU" in os.environ:
        cmd[1:1] = ["--qemu", tools["qemu"]]
    return cmd


def write_exec_script(path: Path, opts, out: Path, bin_dir: Path, command: str, extra_env: dict) -> None:
    env = {
        "PATH": GUEST_PATH,
        "LAB_GUEST": "1",
        "LAB_REPO": str(REPO),
        "LAB_OUT": str(out),
        "LAB_BIN_DIR": str(bin_dir),
        "SRIOV_RDMA_BIN_DIR": str(bin_dir),
        "LAB_SECOND_NIC": "1" if opts.second_nic else "0",
        "LAB_NUMA_IOMMU": "1" if opts.numa_iommu else "0",
        **extra_env,
    }
    lines = ["#!/bin/bash", "# Written by Tests/lab/lab.py for one guest boot."]
    lines += [f"export {k}={shlex.quote(v)}" for k, v in env.items()]
    lines += [f"cd {shlex.quote(str(REPO))}",
              'echo "@@LAB ready $(cut -d" " -f1 /proc/uptime)"',
              command, ""]
    path.write_text("\n".join(lines))


# ---------------------------------------------------------------- the VM


class Guest:
    """One vng process: streams the console to a log and to a callback, kills
    the whole process group at the deadline."""

    def __init__(self, cmd: list[str], env: dict, console_log: Path, on_line):
        self.cmd, self.env, self.console_log, self.on_line = cmd, env, console_log, on_line
        self.tail: collections.deque[str] = collections.deque(maxlen=TAIL_LINES)
        self.started = 0.0
        self.ready_at: float | None = None
        self.guest_uptime: str | None = None
        self.timed_out = False

    def _reader(self, proc: subprocess.Popen) -> None:
        with open(self.console_log, "w", encoding="utf-8") as logf:
            for raw in proc.stdout:
                line = raw.decode("utf-8", "replace").rstrip("\r\n").replace("\r", "")
                logf.write(line + "\n")
                logf.flush()
                if NOISE.search(line):
                    continue
                self.tail.append(line)
                m = MARKER.search(line)
                if m and m.group(1) == "ready" and self.ready_at is None:
                    self.ready_at = time.monotonic()
                    self.guest_uptime = m.group(2)
                self.on_line(line, m)

    def run(self, timeout: float) -> int:
        self.started = time.monotonic()
        proc = subprocess.Popen(self.cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, env=self.env, cwd=REPO,
                                start_new_session=True)
        reader = threading.Thread(target=self._reader, args=(proc,), daemon=True)
        reader.start()
        try:
            rc = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.timed_out = True
            self._kill(proc)
            rc = EXIT_TIMEOUT
        except KeyboardInterrupt:
            self._kill(proc)
            raise
        reader.join(timeout=10)
        return rc

    @staticmethod
    def _kill(proc: subprocess.Popen) -> None:
        """vng, virtme-run and QEMU share the session's process group."""
        for sig, grace in ((signal.SIGTERM, 5), (signal.SIGKILL, 5)):
            try:
                os.killpg(proc.pid, sig)
            except ProcessLookupError:
                return
            try:
                proc.wait(timeout=grace)
                # Children may outlive the leader for a moment; make sure.
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                return
            except subprocess.TimeoutExpired:
                continue
            return

    def boot_seconds(self) -> float | None:
        return None if self.ready_at is None else self.ready_at - self.started

    def print_tail(self, why: str) -> None:
        log(f"{why}; last {len(self.tail)} lines of the console (full log: {self.console_log}):")
        for line in self.tail:
            print(f"  | {line}", file=sys.stderr)
        sys.stderr.flush()


def lock_out_dir(out: Path):
    """One VM per output directory (and with 2 cores, one at a time anyway)."""
    fd = os.open(out / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        owner = os.read(fd, 64).decode(errors="replace").strip() or "?"
        log(f"another lab VM is using {out} (harness pid {owner}); wait for it or pass --out")
        sys.exit(EXIT_SETUP)
    os.ftruncate(fd, 0)
    os.write(fd, str(os.getpid()).encode())
    return fd


def prepare(opts) -> tuple[dict, Path, Path, dict]:
    tools = find_tools()
    out = Path(opts.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    bin_dir = Path(opts.bin_dir or os.environ.get("SRIOV_RDMA_BIN_DIR") or REPO / ".build" / "release")
    bin_dir = bin_dir if bin_dir.is_absolute() else (Path.cwd() / bin_dir)
    env = dict(os.environ)
    env["PATH"] = f"{tools['venv']}/bin:{env.get('PATH', '/usr/bin:/bin')}"
    return tools, out, bin_dir.resolve(), env


# ---------------------------------------------------------------- commands


def cmd_run(opts) -> int:
    if not opts.command:
        log("run: no command (usage: scripts/lab run [options] -- COMMAND [ARG...])")
        return EXIT_SETUP
    tools, out, bin_dir, env = prepare(opts)
    _lock = lock_out_dir(out)
    run_dir = out / "run"
    run_dir.mkdir(exist_ok=True)
    if len(opts.command) == 1:
        command = f"exec bash -c {shlex.quote(opts.command[0])}"
    else:
        command = "exec " + shlex.join(opts.command)
    script = run_dir / "exec.sh"
    write_exec_script(script, opts, out, bin_dir, command, {"LAB_RUN_OUT": str(run_dir)})

    def on_line(line, m):
        if m and m.group(1) == "ready":
            return
        print(line, flush=True)

    guest = Guest(vng_command(tools, opts, out, script), env, run_dir / "console.log", on_line)
    rc = guest.run(opts.timeout)
    boot = guest.boot_seconds()
    if guest.timed_out:
        guest.print_tail(f"timeout: the guest was killed after {opts.timeout:g} s")
        return EXIT_TIMEOUT
    if boot is None:
        guest.print_tail(f"the guest never reached the command (vng exit status {rc})")
        return EXIT_NO_BOOT
    if opts.verbose:
        log(f"boot {boot:.1f} s (guest uptime {guest.guest_uptime} s), total {time.monotonic() - guest.started:.1f} s, exit {rc}")
    if rc == 255:
        guest.print_tail("the guest ended unexpectedly (vng exit status 255: kernel panic or QEMU died?)")
    return rc


def read_suite_conf(suite_dir: Path) -> dict:
    """suite.conf: KEY=VALUE lines (# comments). Keys: second_nic, numa_iommu
    (yes/no), timeout (whole VM, seconds), case_timeout (seconds), memory, cpus."""
    conf = {}
    path = suite_dir / "suite.conf"
    if path.is_file():
        for n, raw in enumerate(path.read_text().splitlines(), 1):
            line = raw.split("#", 1)[0].strip()
            if not line:
                continue
            if "=" not in line:
                raise ValueError(f"{path}:{n}: expected KEY=VALUE, got {raw!r}")
            k, v = (s.strip() for s in line.split("=", 1))
            conf[k] = v.strip("'\"")
    return conf


def truthy(v: str) -> bool:
    return v.lower() in ("1", "yes", "true", "on")


def suite_cases(suite_dir: Path) -> list[str]:
    """Case scripts run in name order; files starting with _ are helpers."""
    return sorted(p.stem for p in suite_dir.glob("*.sh") if not p.name.startswith("_"))


def cmd_list(opts) -> int:
    for d in sorted(p for p in SUITES.iterdir() if p.is_dir()):
        conf = read_suite_conf(d)
        extra = " ".join(f"{k}={v}" for k, v in conf.items())
        print(f"{d.name}{'  (' + extra + ')' if extra else ''}")
        for c in suite_cases(d):
            print(f"  {c}")
    return 0


def cmd_suite(opts) -> int:
    # NAME is a folder of Tests/lab/suites/, or a path to a suite folder elsewhere.
    suite_dir = SUITES / opts.name
    if "/" in opts.name and Path(opts.name).is_dir():
        suite_dir = Path(opts.name).resolve()
        opts.name = suite_dir.name
    if not suite_dir.is_dir():
        log(f"no suite {opts.name!r} (have: {', '.join(sorted(p.name for p in SUITES.iterdir() if p.is_dir()))})")
        return EXIT_SETUP
    conf = read_suite_conf(suite_dir)
    cases = suite_cases(suite_dir)
    if opts.cases:
        unknown = [c for c in opts.cases if c not in cases]
        if unknown:
            log(f"suite {opts.name} has no case {', '.join(unknown)} (cases: {', '.join(cases)})")
            return EXIT_SETUP
        cases = [c for c in cases if c in opts.cases]
    if not cases:
        log(f"suite {opts.name} has no case scripts in {suite_dir}")
        return EXIT_SETUP
    # suite.conf turns options on; the command line can add but not remove them.
    opts.second_nic = opts.second_nic or truthy(conf.get("second_nic", "no"))
    opts.numa_iommu = opts.numa_iommu or truthy(conf.get("numa_iommu", "no"))
    if opts.memory is None:
        opts.memory = conf.get("memory", "2G")
    if opts.cpus is None:
        opts.cpus = conf.get("cpus", "2")
    if opts.timeout is None:
        opts.timeout = float(conf.get("timeout", 900))
    case_timeout = str(int(float(conf.get("case_timeout", 120))))

    tools, out, bin_dir, env = prepare(opts)
    _lock = lock_out_dir(out)
    suite_out = out / opts.name
    if suite_out.exists():
        shutil.rmtree(suite_out)
    suite_out.mkdir(parents=True)
    results = suite_out / "results.tsv"
    script = suite_out / "exec.sh"
    runner = GUEST / "run-suite.sh"
    write_exec_script(script, opts, out, bin_dir,
                      f"exec bash {shlex.quote(str(runner))} " + shlex.join([str(suite_dir), *cases]),
                      {"LAB_SUITE": opts.name, "LAB_SUITE_OUT": str(suite_out),
                       "LAB_CASE_TIMEOUT": case_timeout})

    flags = [f for f, on in (("second-nic", opts.second_nic), ("numa-iommu", opts.numa_iommu)) if on]
    print(f"lab-{opts.name}: booting {Path(tools['kernel']).name}, {opts.cpus} CPUs, {opts.memory}"
          f"{', ' + ', '.join(flags) if flags else ''}; {len(cases)} cases; timeout {opts.timeout:g} s", flush=True)
    width = max(len(c) for c in cases)

    def on_line(line, m):
        if not m:
            if opts.verbose:
                print(f"  console| {line}", flush=True)
            return
        kind, rest = m.group(1), (m.group(2) or "")
        if kind == "ready":
            print(f"boot: {time.monotonic() - guest.started:.1f} s (guest uptime {rest} s)", flush=True)
        elif kind == "case":
            name, status, secs, reset = (rest.split() + ["?"] * 4)[:4]
            print(f"  {status:<7} {name:<{width}}  {secs} s  (reset {reset} s)", flush=True)
            if status != "PASS" or opts.verbose:
                logf = suite_out / name / "output.log"
                try:
                    text = logf.read_text(errors="replace").splitlines()
                except OSError:
                    text = ["(no output log)"]
                for l in (text if opts.verbose else text[-TAIL_LINES:]):
                    print(f"          | {l}", flush=True)
                print(f"          (full log: {logf})", flush=True)

    guest = Guest(vng_command(tools, opts, out, script), env, suite_out / "console.log", on_line)
    rc = guest.run(opts.timeout)
    total = time.monotonic() - guest.started

    got: dict[str, tuple[str, str]] = {}
    if results.is_file():
        for line in results.read_text().splitlines():
            parts = line.split("\t")
            if len(parts) >= 3:
                got[parts[0]] = (parts[1], parts[2])
    missing = [c for c in cases if c not in got]
    if guest.timed_out:
        guest.print_tail(f"timeout: the guest was killed after {opts.timeout:g} s")
    elif guest.boot_seconds() is None:
        guest.print_tail(f"the guest never reached the suite runner (vng exit status {rc})")
    elif missing:
        guest.print_tail(f"the guest stopped before all cases ran (vng exit status {rc})")
    for c in missing:
        print(f"  {'NOT-RUN':<7} {c}", flush=True)
    passed = sum(1 for c in cases if got.get(c, ("",))[0] == "PASS")
    failed = len(cases) - passed
    boot = guest.boot_seconds()
    case_secs = sum(float(v[1]) for v in got.values() if re.fullmatch(r"[\d.]+", v[1]))
    print(f"total: {total:.1f} s (boot {boot:.1f} s, cases {case_secs:.1f} s); logs in {suite_out}"
          if boot is not None else f"total: {total:.1f} s; logs in {suite_out}", flush=True)
    qemu_fault = next((l for l in guest.tail if l.startswith("qemu-system") and "Assertion" in l), None)
    if missing and qemu_fault and not guest.timed_out and not getattr(opts, "qemu_retried", False):
        # QEMU itself aborted (seen once under TCG: physmem.c iotlb_to_section), which
        # says nothing of the cases: the suite runs once more, whole, in a new VM.
        print(f"lab-{opts.name}: QEMU failed on the host ({qemu_fault.strip()}); "
              f"running the suite once more in a new VM", flush=True)
        opts.qemu_retried = True
        os.close(_lock)
        return cmd_suite(opts)
    print(f"lab-{opts.name}: {passed} passed, {failed} failed", flush=True)
    if guest.timed_out:
        return EXIT_TIMEOUT
    if failed or rc != 0:
        return 1
    return 0


def main(argv: list[str]) -> int:
    common = argparse.ArgumentParser(add_help=False)
    g = common.add_argument_group("VM options")
    g.add_argument("--second-nic", action="store_true", help="a second igb NIC on its own root port (same isolated hub)")
    g.add_argument("--numa-iommu", action="store_true",
                   help="2 NUMA nodes, intel-iommu (intel_iommu=on), first NIC behind a pxb-pcie on node 1")
    g.add_argument("--timeout", type=float, default=None, metavar="SECONDS",
                   help="kill the guest after this long (run: 600; suite: suite.conf timeout or 900)")
    g.add_argument("--out", default=os.environ.get("LAB_OUT_DIR", str(REPO / "lab-out")), metavar="DIR",
                   help="logs and results, shared read-write with the guest (default: lab-out/ in the repo)")
    g.add_argument("--bin-dir", default=None, metavar="DIR",
                   help="the project's binaries (default: $SRIOV_RDMA_BIN_DIR or .build/release)")
    g.add_argument("--memory", default=None, help="guest memory (default 2G)")
    g.add_argument("--cpus", default=None, help="guest CPUs (default 2)")
    g.add_argument("-v", "--verbose", action="store_true",
                   help="suite: show every case's output and the console; run: print boot and total time")

    p = argparse.ArgumentParser(prog="scripts/lab", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run", parents=[common], help="run a command in the guest as root")
    r.add_argument("command", nargs=argparse.REMAINDER, help="-- COMMAND [ARG...]")
    s = sub.add_parser("suite", parents=[common], help="boot once and run a suite's cases")
    s.add_argument("name", help="a folder of Tests/lab/suites/ (or a path to a suite folder)")
    s.add_argument("cases", nargs="*", help="only these cases (default: all)")
    sub.add_parser("list", help="list the suites and their cases")
    opts = p.parse_args(argv)

    if opts.cmd == "list":
        return cmd_list(opts)
    if opts.cmd == "run":
        if opts.command and opts.command[0] == "--":
            opts.command = opts.command[1:]
        opts.memory = opts.memory or "2G"
        opts.cpus = opts.cpus or "2"
        opts.timeout = opts.timeout if opts.timeout is not None else 600.0
    try:
        return cmd_run(opts) if opts.cmd == "run" else cmd_suite(opts)
    except SetupError as e:
        log(str(e))
        return EXIT_SETUP
    except ValueError as e:
        log(str(e))
        return EXIT_SETUP
    except KeyboardInterrupt:
        log("interrupted; the guest was killed")
        return 130


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
