"""A DaemonSet container reproduced without a runtime: a root file system (an image's
unpacked rootfs, or the pieces of one), the volumes at their container paths, a
read-only root, and the command, in a private mount namespace and a chroot. Used by
test_operator_daemonsets and test_images."""
import os
import shlex
import signal
import subprocess

from conftest import binary


class Container:
    """One DaemonSet container: its volumes (host directory → container path), its
    executable and arguments, run on a read-only root in a private mount namespace.
    The root is an image's unpacked rootfs (`image_root`), or else a tmpfs holding only
    this machine's libraries and the daemon binary at `executable`."""

    def __init__(self, scratch, node, executable, args, volumes, log_name, image_root=None):
        self.root = str(scratch / "root")
        os.makedirs(self.root)
        self.executable, self.args, self.volumes = executable, args, volumes
        self.node = node
        self.image_root = image_root
        self.log_path = scratch / log_name
        self.process = None

    def script(self):
        root = shlex.quote(self.root)
        if self.image_root is not None:
            steps = ["set -e", f"mount --rbind {shlex.quote(str(self.image_root))} {root}"]
        else:
            steps = ["set -e", f"mount -t tmpfs -o mode=0755 container-root {root}"]

        def bind(source, target, read_only, is_file=False):
            target = self.root + self.resolved(target)
            steps.append(f"mkdir -p {shlex.quote(os.path.dirname(target))}")
            steps.append(f"touch {shlex.quote(target)}" if is_file else f"mkdir -p {shlex.quote(target)}")
            steps.append(f"mount --rbind {shlex.quote(source)} {shlex.quote(target)}")
            if read_only:
                steps.append(f"mount -o remount,bind,ro {shlex.quote(target)}")

        if self.image_root is None:
            # In place of an image: the C libraries (and the Swift toolchain's, for a debug
            # build), the loader's cache and the verbs provider files; /bin and /lib as
            # Debian links them; the daemon at the image's path.
            for directory in ["/usr/lib", "/usr/lib64", "/opt"]:
                if os.path.isdir(directory):
                    bind(directory, directory, True)
            for name in ["bin", "lib", "lib64", "sbin"]:
                steps.append(f"ln -s usr/{name} {root}/{name}")
            bind("/etc/ld.so.cache", "/etc/ld.so.cache", True, is_file=True)
            if os.path.isdir("/etc/libibverbs.d"):
                bind("/etc/libibverbs.d", "/etc/libibverbs.d", True)
            bind(os.path.realpath(binary("sriov-rdma-dp")), self.executable.replace("/bin/", "/usr/bin/", 1)
                 if self.executable.startswith("/bin/") else self.executable, True, is_file=True)
        steps.append(f"mkdir -p {root}/proc && mount -t proc proc {root}/proc")
        # privileged: the node's /sys (here the fixture's); /dev as the DaemonSet mounts it or not.
        if self.node is not None:
            bind(self.node.sys, "/sys", False)
        for source, (target, read_only) in self.volumes.items():
            bind(source, target, read_only)
        # readOnlyRootFilesystem: everything but the volumes is read-only.
        steps.append(f"mount -o remount,bind,ro {root}")
        steps.append("exec chroot " + " ".join(shlex.quote(part) for part in [self.root, self.executable, *self.args]))
        return "\n".join(steps)

    def resolved(self, path):
        """`path` with the image's symbolic links followed inside its root, as a runtime
        resolves a mount target (Debian's /var/run -> /run is absolute: followed from
        outside the chroot it would lead into this machine's /run)."""
        if self.image_root is None:
            return path
        parts, resolved, hops = [p for p in path.split("/") if p], "", 0
        while parts:
            part = parts.pop(0)
            candidate = f"{resolved}/{part}"
            full = str(self.image_root) + candidate
            if os.path.islink(full):
                hops += 1
                assert hops < 40, f"too many links resolving {path} in {self.image_root}"
                link = os.readlink(full)
                parts = [p for p in link.split("/") if p] + parts
                resolved = "" if link.startswith("/") else resolved
            else:
                resolved = candidate
        return resolved or "/"

    def start(self):
        self.log = open(self.log_path, "w")
        self.process = subprocess.Popen(["unshare", "--mount", "--propagation", "private", "sh", "-c", self.script()],
                                        stdout=self.log, stderr=subprocess.STDOUT)

    def stop(self):
        self.process.send_signal(signal.SIGTERM)
        try:
            status = self.process.wait(timeout=15)
        finally:
            self.log.close()
        log = self.log_path.read_text()
        if os.environ.get("KEEP_DP_LOGS"):
            print(f"--- {self.executable} {self.args}\n{log}")
        return status, log
