"""The manifests under deploy/ agree with one another and with the binaries' flags:
names and namespaces, selectors and labels, volumes and mounts, the paths the
daemon is told and the host paths behind them, probes, images, the CNI install
target and network types, resource names and the pod's requests."""
import json
import os
import posixpath
import shlex
import shutil
import subprocess

import pytest

from conftest import DEPLOY, REPO
from pools import pool_names

NAMESPACED = {"ServiceAccount", "ConfigMap", "DaemonSet", "NetworkAttachmentDefinition", "Pod"}
VERSION = (REPO / "VERSION").read_text().strip()
KUBELET_DEVICE_PLUGINS = "/var/lib/kubelet/device-plugins"  # hard-coded in kubelet (v1beta1 DevicePluginPath)
MULTUS_DEVICE_INFO = "/var/run/k8s.cni.cncf.io/devinfo/dp"  # where Multus looks for device-info files
CDI_SPEC_DIR = "/var/run/cdi"                                # a directory CDI runtimes read
CNI_BIN_DIR = "/opt/cni/bin"


def pod_spec(manifests):
    return manifests.daemonset["spec"]["template"]["spec"]


def volumes(manifests):
    return {volume["name"]: volume for volume in pod_spec(manifests)["volumes"]}


def host_path_of(manifests, mount):
    return volumes(manifests)[mount["name"]]["hostPath"]["path"]


def test_every_document_is_named_and_unique(manifests):
    seen = set()
    for path, document in manifests.documents:
        if document["kind"] == "Kustomization":
            continue
        assert {"apiVersion", "kind", "metadata"} <= document.keys(), path
        key = (document["kind"], document["metadata"].get("namespace"), document["metadata"]["name"])
        if document["kind"] in NAMESPACED:
            assert key[1], f"{path}: {key[0]} {key[2]} has no namespace"
        assert key not in seen, f"{path}: {key} defined twice"
        seen.add(key)
    assert {kind for kind, _, _ in seen} == NAMESPACED | {"Namespace"}


@pytest.mark.parametrize("directory", ["", "examples"])
def test_kustomization_lists_exactly_its_manifests(manifests, directory):
    base = DEPLOY / directory
    listed = next(document for path, document in manifests.documents
                  if path == (base / "kustomization.yaml").relative_to(DEPLOY))["resources"]
    present = sorted(path.name for path in base.glob("*.yaml") if path.name != "kustomization.yaml")
    assert sorted(listed) == present


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")
def test_kustomize_renders_the_manifests():
    rendered = subprocess.run(["kubectl", "kustomize", str(DEPLOY)], capture_output=True, text=True)
    assert rendered.returncode == 0, rendered.stderr
    kinds = [line.split(": ", 1)[1] for line in rendered.stdout.splitlines() if line.startswith("kind: ")]
    assert sorted(kinds) == ["ConfigMap", "DaemonSet", "Namespace", "ServiceAccount"]


def test_daemon_objects_share_one_namespace_that_exists(manifests):
    namespace = manifests.one("Namespace")["metadata"]["name"]
    for kind in ["ServiceAccount", "ConfigMap", "DaemonSet"]:
        for document in manifests.all(kind):
            assert document["metadata"]["namespace"] == namespace, (kind, document["metadata"]["name"])
    # hostPath and hostNetwork are refused below the "privileged" Pod Security level.
    assert manifests.one("Namespace")["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "privileged"


def test_selector_matches_template_and_account_exists(manifests):
    daemonset = manifests.daemonset
    selector = daemonset["spec"]["selector"]["matchLabels"]
    labels = daemonset["spec"]["template"]["metadata"]["labels"]
    assert selector and selector.items() <= labels.items()
    account = manifests.one("ServiceAccount", pod_spec(manifests)["serviceAccountName"])
    assert account["automountServiceAccountToken"] is False
    assert pod_spec(manifests)["automountServiceAccountToken"] is False


def test_every_mount_has_a_volume_and_every_volume_is_mounted(manifests):
    spec = pod_spec(manifests)
    mounted = set()
    for container in spec["initContainers"] + spec["containers"]:
        paths = [mount["mountPath"] for mount in container["volumeMounts"]]
        assert len(paths) == len(set(paths)), f"{container['name']} mounts a path twice"
        for mount in container["volumeMounts"]:
            assert mount["name"] in volumes(manifests), f"{container['name']}: no volume {mount['name']}"
            assert "subPath" not in mount, "a subPath mount never sees ConfigMap updates or new host entries"
            mounted.add(mount["name"])
    assert mounted == set(volumes(manifests))


def test_daemon_flags_are_the_ones_run_accepts(manifests):
    flags = manifests.daemon_flags()
    accepted = {"--config", "--resource-prefix", "--kubelet-dir", "--sys-root", "--dev-root", "--state-dir",
                "--use-cdi", "--poll-interval", "--log-level"}
    assert set(flags) <= accepted
    # The path flags are all spelled out, so a changed default cannot move a path
    # away from its mount unnoticed.
    assert {"--config", "--kubelet-dir", "--sys-root", "--dev-root", "--state-dir"} <= set(flags)
    assert flags["--log-level"] in {"trace", "debug", "info", "notice", "warning", "error", "critical"}
    assert float(flags["--poll-interval"]) >= 0.1


def test_kubelet_directory_is_kubelets(manifests):
    flags = manifests.daemon_flags()
    mount = manifests.mount_for(flags["--kubelet-dir"])
    assert mount["mountPath"] == flags["--kubelet-dir"]
    assert host_path_of(manifests, mount) == KUBELET_DEVICE_PLUGINS
    assert not mount.get("readOnly", False)


def test_sysfs_and_dev_are_the_hosts_read_only(manifests):
    flags = manifests.daemon_flags()
    for flag, host in [("--sys-root", "/sys"), ("--dev-root", "/dev")]:
        mount = manifests.mount_for(flags[flag])
        assert mount["mountPath"] == flags[flag], flag
        assert host_path_of(manifests, mount) == host, flag
        assert mount["readOnly"] is True, flag
    # The daemon maps what it finds under --dev-root to /dev/... for kubelet; the
    # manifest keeps the host's /dev at /dev so the logs and discover show real paths.
    assert flags["--dev-root"] == "/dev"


def test_state_dir_children_land_where_their_readers_look(manifests):
    state = manifests.daemon_flags()["--state-dir"]
    for child, host in [("k8s.cni.cncf.io/devinfo/dp", MULTUS_DEVICE_INFO), ("cdi", CDI_SPEC_DIR)]:
        path = posixpath.join(state, child)
        mount = manifests.mount_for(path)
        assert mount["mountPath"] == path
        assert host_path_of(manifests, mount) == host
        assert not mount.get("readOnly", False)
    status = manifests.mount_for(posixpath.join(state, "sriov-rdma-dp/status.json"))
    assert status["mountPath"] == posixpath.join(state, "sriov-rdma-dp")
    assert "emptyDir" in volumes(manifests)[status["name"]]
    assert not status.get("readOnly", False)


def test_config_comes_from_the_configmap_as_a_directory(manifests):
    flags = manifests.daemon_flags()
    mount = manifests.mount_for(flags["--config"])
    assert mount["readOnly"] is True
    name = volumes(manifests)[mount["name"]]["configMap"]["name"]
    configmap = manifests.one("ConfigMap", name)
    assert manifests.config_key() in configmap["data"]
    assert posixpath.dirname(flags["--config"]) == mount["mountPath"]


def test_read_only_root_leaves_every_written_path_on_a_writable_mount(manifests):
    container = manifests.daemon_container
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    flags = manifests.daemon_flags()
    state = flags["--state-dir"]
    written = [flags["--kubelet-dir"] + "/x.sock", state + "/k8s.cni.cncf.io/devinfo/dp/x-device.json",
               state + "/cdi/x.json", state + "/sriov-rdma-dp/status.json", container["terminationMessagePath"]]
    for path in written:
        assert not manifests.mount_for(path).get("readOnly", False), path


def test_no_privileges_beyond_what_the_daemon_uses(manifests):
    spec = pod_spec(manifests)
    assert spec["hostNetwork"] is True
    assert not spec.get("hostPID") and not spec.get("hostIPC")
    for container in spec["initContainers"] + spec["containers"]:
        context = container["securityContext"]
        assert context["privileged"] is False, container["name"]
        assert context["allowPrivilegeEscalation"] is False, container["name"]
        assert context["capabilities"] == {"drop": ["ALL"]}, container["name"]
        assert context["readOnlyRootFilesystem"] is True, container["name"]


@pytest.mark.parametrize("probe", ["livenessProbe", "readinessProbe"])
def test_probes_run_health_on_the_daemons_state_dir(manifests, probe):
    container = manifests.daemon_container
    command = container[probe]["exec"]["command"]
    assert command[0] == container["command"][0]
    assert command[1] == "health"
    options = dict(arg.partition("=")[::2] for arg in command[2:])
    assert set(options) <= {"--state-dir", "--max-age"}
    assert options["--state-dir"] == manifests.daemon_flags()["--state-dir"]
    # The daemon rewrites its status at least every --poll-interval.
    assert float(options["--max-age"]) >= 10 * float(manifests.daemon_flags()["--poll-interval"])
    assert container[probe]["timeoutSeconds"] < container[probe]["periodSeconds"]


def test_images_are_this_version_without_a_registry(manifests):
    spec = pod_spec(manifests)
    images = [c["image"] for c in spec["initContainers"] + spec["containers"]]
    images += [c["image"] for pod in manifests.all("Pod") for c in pod["spec"]["containers"]]
    assert images and set(images) == {f"sriov-rdma:{VERSION}"}


def test_cni_plugin_is_installed_under_the_networks_type(manifests):
    init = next(c for c in pod_spec(manifests)["initContainers"] if c["name"] == "install-cni")
    script = init["command"][-1]
    words = shlex.split(script)
    source = words[words.index("install") + 3]
    target = words[-1]
    assert source == "/usr/local/bin/sriov-rdma-cni"
    assert f"COPY --from=build /out/sriov-rdma-dp /out/sriov-rdma-cni /out/rdma-lat {posixpath.dirname(source)}/" \
        in (DEPLOY / "Containerfile").read_text()
    mount = next(m for m in init["volumeMounts"] if target.startswith(m["mountPath"] + "/"))
    assert host_path_of(manifests, mount) == CNI_BIN_DIR
    assert posixpath.dirname(target) == mount["mountPath"]
    types = {json.loads(nad["spec"]["config"])["type"] for nad in manifests.all("NetworkAttachmentDefinition")}
    assert types == {posixpath.basename(target)}
    # Renamed into place: a CNI call never runs a half-copied binary.
    assert words[words.index("mv"):] == ["mv", "-f", words[words.index("install") + 4], target]


def test_network_resource_names_are_configured_pools(manifests):
    pools = pool_names(manifests.config_text, manifests.daemon_flags().get("--resource-prefix", "intel.com"))
    assert pools == ["example.com/sriov_cx6", "rdma/hca_shared"]
    nads = manifests.all("NetworkAttachmentDefinition")
    assert len(nads) == 2
    for nad in nads:
        assert nad["metadata"]["annotations"]["k8s.v1.cni.cncf.io/resourceName"] in pools
        config = json.loads(nad["spec"]["config"])
        assert config["name"] == nad["metadata"]["name"]
        assert config["cniVersion"] in {"1.1.0", "1.0.0", "0.4.0", "0.3.1", "0.3.0"}
        assert config["ipam"]["type"] == "host-local"
    vlan = manifests.one("NetworkAttachmentDefinition", "sriov-vlan100")
    assert json.loads(vlan["spec"]["config"])["vlan"] == 100
    isolated = manifests.one("NetworkAttachmentDefinition", "sriov-rdma")
    assert json.loads(isolated["spec"]["config"])["rdmaIsolation"] is True


def test_pod_requests_one_device_per_attachment(manifests):
    for pod in manifests.all("Pod"):
        namespace = pod["metadata"]["namespace"]
        attachments = [name.strip() for name in pod["metadata"]["annotations"]["k8s.v1.cni.cncf.io/networks"].split(",")]
        needed = {}
        for attachment in attachments:
            nad = manifests.one("NetworkAttachmentDefinition", attachment)
            assert nad["metadata"]["namespace"] == namespace, attachment
            resource = nad["metadata"]["annotations"]["k8s.v1.cni.cncf.io/resourceName"]
            needed[resource] = needed.get(resource, 0) + 1
        container = pod["spec"]["containers"][0]
        requests = {k: int(v) for k, v in container["resources"]["requests"].items() if "/" in k}
        limits = {k: int(v) for k, v in container["resources"]["limits"].items() if "/" in k}
        assert requests == limits == needed
