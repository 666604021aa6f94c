"""deploy/Containerfile against the build and the binaries: the build stage installs
every -dev package Package.swift's system libraries name and builds what the
manifests run; the runtime stage installs the Debian package of every shared
library the release binaries load (readelf NEEDED, resolved on this bookworm
machine with dpkg -S); the CNI plugin, which runs on the node itself, needs no
more than docs/install.md tells operators to have there."""
import re
import shutil
import subprocess

import pytest

from conftest import DEPLOY, REPO, binary

CONTAINERFILE = (DEPLOY / "Containerfile").read_text()
# In every Debian base image (libc6 is essential; libgcc-s1 comes with it).
BASE_PACKAGES = {"libc6", "libgcc-s1"}


def stages():
    """[(FROM line, [apt-get install package names])] per stage."""
    result = []
    for stage in re.split(r"^(?=FROM )", CONTAINERFILE, flags=re.M)[1:]:
        joined = stage.replace("\\\n", " ")
        packages = []
        for command in re.findall(r"apt-get install (.*?)(?:&&|$)", joined, flags=re.M):
            packages += [word for word in command.split() if not word.startswith("-")]
        result.append((stage.splitlines()[0], packages))
    return result


def needed(path):
    output = subprocess.run(["readelf", "-d", path], capture_output=True, text=True, check=True).stdout
    return re.findall(r"\(NEEDED\)\s+Shared library: \[(.+?)\]", output)


def debian_package(soname):
    output = subprocess.run(["dpkg", "-S", f"/lib/x86_64-linux-gnu/{soname}"], capture_output=True, text=True)
    if output.returncode != 0:
        output = subprocess.run(["dpkg", "-S", f"/usr/lib/x86_64-linux-gnu/{soname}"], capture_output=True, text=True)
    assert output.returncode == 0, f"no Debian package ships {soname}"
    return output.stdout.split(":")[0]


def test_build_stage_has_every_system_library_and_builds_static_binaries():
    (build_from, build_packages), *_ = stages()
    assert "AS build" in build_from
    providers = re.findall(r'providers: \[\.apt\(\[(.*?)\]\)\]', (REPO / "Package.swift").read_text())
    wanted = {name.strip().strip('"') for group in providers for name in group.split(",")}
    assert wanted == {"libibverbs-dev", "librdmacm-dev", "libnl-3-dev", "libnl-route-3-dev", "libpci-dev", "libcurl4-openssl-dev"}
    assert wanted | {"pkg-config"} <= set(build_packages)
    for product in ["sriov-rdma-dp", "sriov-rdma-cni", "rdma-lat"]:
        assert f"swift build -c release --static-swift-stdlib --product {product}" in CONTAINERFILE


def test_every_image_reference_is_a_base_image():
    """The Containerfile names no registry except in its base images' references."""
    references = re.findall(r"[a-z0-9.-]+\.[a-z]{2,}/[\w./-]+:[\w.-]+", CONTAINERFILE)
    assert references == ["docker.io/library/swift:6.3-bookworm", "docker.io/library/debian:bookworm-slim"]
    assert re.findall(r"^ARG (\w+_IMAGE)=", CONTAINERFILE, flags=re.M) == ["SWIFT_IMAGE", "RUNTIME_IMAGE"]
    assert [line for line in CONTAINERFILE.splitlines() if line.startswith("FROM ")] == [
        "FROM ${SWIFT_IMAGE} AS build", "FROM scratch AS cni", "FROM cni AS ib-cni", "FROM ${RUNTIME_IMAGE}"]


def test_cni_stage_is_the_static_plugin_alone_with_the_installer_as_entry_point():
    """The operators run a CNI image's default entry point with `--no-sleep` and the
    host's bin dir at /host/opt/cni/bin (Tests/cni/test_installer.py runs it so)."""
    cni = re.split(r"^(?=FROM )", CONTAINERFILE, flags=re.M)[2]
    instructions = [line for line in cni.splitlines() if line and not line.startswith("#")]
    assert instructions == [
        "FROM scratch AS cni",
        "COPY --from=build /out/sriov-rdma-cni /usr/bin/sriov-rdma-cni",
        'ENTRYPOINT ["/usr/bin/sriov-rdma-cni", "install"]',
    ]
    # The default build (no --target) is still the daemon's image: the last stage,
    # whose entry point serves with the operators' args alone (test_operator_daemonsets).
    assert CONTAINERFILE.rstrip().splitlines()[-2:] == ['ENTRYPOINT ["/usr/bin/sriovdp"]', 'CMD ["run"]']


@pytest.mark.skipif(shutil.which("dpkg") is None or shutil.which("readelf") is None, reason="needs dpkg and readelf")
@pytest.mark.parametrize("name", ["sriov-rdma-dp", "rdma-lat"])
def test_runtime_stage_installs_what_each_binary_loads(name):
    _, runtime_packages = stages()[-1]
    libraries = [soname for soname in needed(binary(name)) if soname != "ld-linux-x86-64.so.2"]
    swift_runtime = [soname for soname in libraries if soname.startswith(("libswift", "libFoundation", "libdispatch"))]
    assert not swift_runtime, f"{binary(name)} is not a --static-swift-stdlib build (point SRIOV_RDMA_BIN_DIR at .build/release)"
    missing = {soname: debian_package(soname) for soname in libraries}
    missing = {soname: package for soname, package in missing.items() if package not in set(runtime_packages) | BASE_PACKAGES}
    assert missing == {}


@pytest.mark.skipif(shutil.which("dpkg") is None or shutil.which("readelf") is None, reason="needs dpkg and readelf")
def test_cni_plugin_needs_nothing_on_the_node_as_the_install_guide_says():
    """The release CNI is fully static: no shared library and no interpreter."""
    assert needed(binary("sriov-rdma-cni")) == []
    headers = subprocess.run(["readelf", "-lW", binary("sriov-rdma-cni")], capture_output=True, text=True, check=True).stdout
    assert "INTERP" not in headers
    guide = (REPO / "docs" / "install.md").read_text()
    assert "The release `sriov-rdma-cni` is a fully static executable" in guide


def test_the_build_stage_copies_every_file_the_manifest_names():
    """Package.swift hands the compiler and linker paths under the package directory
    (a -L directory, lld's --symbol-ordering-file): each must be in the build stage's
    context, or the image's link fails where this machine's does not."""
    manifest = (REPO / "Package.swift").read_text()
    named = set(re.findall(r'Context\.packageDirectory \+ "/([^/"]+)', manifest))
    assert named, "Package.swift names no file under the package directory any more: drop this test"
    copied = set(re.findall(r"^COPY (?!--)(\S+) ", CONTAINERFILE, flags=re.M))
    for top in sorted(named):
        assert top in copied, f"Package.swift uses {top}/, which deploy/Containerfile does not COPY"
        assert (REPO / top).exists()
