"""deploy/dra (the DaemonSet in DRA mode, RBAC, DeviceClasses) and its examples agree
with the binaries' flags, with kubelet's and the CDI runtimes' paths, with deploy/'s
ConfigMap and DaemonSet, with what the daemon asks of the API server, and with
resource.k8s.io/v1's published OpenAPI schema (checked by the API stand-in's validator)."""
import json
import posixpath
import re
import subprocess
import sys

import pytest
import yaml

from conftest import DEPLOY, REPO, binary

sys.path.insert(0, str(REPO / "Tests" / "KubeAPITests"))
from apiserver_standin import Validator  # noqa: E402

DRA = DEPLOY / "dra"
DRIVER = "sriov-rdma.io"
VERSION = (REPO / "VERSION").read_text().strip()


def documents(directory):
    found = []
    for path in sorted(directory.glob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text()):
            if document is not None and document.get("kind") != "Kustomization":
                found.append(document)
    return found


@pytest.fixture(scope="module")
def dra():
    return documents(DRA)


@pytest.fixture(scope="module")
def examples():
    return documents(DRA / "examples")


@pytest.fixture(scope="module")
def validator():
    return Validator(str(REPO / "Tests" / "interop" / "resource-v1-openapi.json"))


def one(docs, kind, name=None):
    found = [d for d in docs if d["kind"] == kind and (name is None or d["metadata"]["name"] == name)]
    assert len(found) == 1, (kind, name, len(found))
    return found[0]


def container(dra):
    spec = one(dra, "DaemonSet")["spec"]["template"]["spec"]
    return next(c for c in spec["containers"] if c["name"] == "sriov-rdma-dp")


def flags(dra):
    args = container(dra)["args"]
    assert args[0] == "run"
    return {name: value or True for name, _, value in (arg.partition("=") for arg in args[1:])}


def mount_for(dra, path):
    mounts = container(dra)["volumeMounts"]
    best = max((m for m in mounts if path == m["mountPath"] or path.startswith(m["mountPath"].rstrip("/") + "/")),
               key=lambda m: len(m["mountPath"]), default=None)
    assert best is not None, f"nothing mounted at {path}"
    volumes = {v["name"]: v for v in one(dra, "DaemonSet")["spec"]["template"]["spec"]["volumes"]}
    return best, volumes[best["name"]]


def test_kustomizations_list_exactly_their_manifests():
    for directory in (DRA, DRA / "examples"):
        listed = yaml.safe_load((directory / "kustomization.yaml").read_text())["resources"]
        assert sorted(listed) == sorted(p.name for p in directory.glob("*.yaml") if p.name != "kustomization.yaml")


def test_flags_are_ones_run_accepts_and_paths_are_kubelets(dra):
    help_text = subprocess.run([binary("sriov-rdma-dp"), "run", "--help"], capture_output=True, text=True, check=True).stdout
    accepted = set(re.findall(r"--[a-z][a-z-]+", help_text))
    given = flags(dra)
    assert set(given) <= accepted, set(given) - accepted
    assert given["--dra-pools"] == "all" and given["--dra-driver-name"] == DRIVER
    # kubelet's fixed directories, and the endpoint directory named after the driver (the Go helper's layout).
    for flag, host in [("--kubelet-dir", "/var/lib/kubelet/device-plugins"),
                       ("--plugins-registry-dir", "/var/lib/kubelet/plugins_registry"),
                       ("--dra-plugin-dir", f"/var/lib/kubelet/plugins/{DRIVER}"),
                       ("--sys-root", "/sys"), ("--dev-root", "/dev")]:
        mount, volume = mount_for(dra, given[flag])
        assert mount["mountPath"] == given[flag] and volume["hostPath"]["path"] == host, flag
    mount, volume = mount_for(dra, posixpath.join(given["--state-dir"], "cdi", "x.json"))
    assert volume["hostPath"]["path"] == "/var/run/cdi" and not mount.get("readOnly")
    assert "--use-cdi" in given
    # The CNI's records on the host (its default stateDir), read for the claims' networkData.
    mount, volume = mount_for(dra, given["--cni-state-dir"])
    assert (mount["mountPath"], volume["hostPath"]["path"], mount.get("readOnly")) == (
        "/run/sriov-rdma/cni", "/run/sriov-rdma/cni", True)
    env = {e["name"]: e for e in container(dra)["env"]}
    assert env["NODE_NAME"]["valueFrom"]["fieldRef"]["fieldPath"] == "spec.nodeName"


def test_every_mount_has_a_volume_and_every_volume_is_mounted(dra):
    spec = one(dra, "DaemonSet")["spec"]["template"]["spec"]
    mounted = {m["name"] for c in spec["initContainers"] + spec["containers"] for m in c["volumeMounts"]}
    assert mounted == {v["name"] for v in spec["volumes"]}


def test_same_configmap_namespace_and_images_as_the_device_plugin(dra):
    base = documents(DEPLOY)
    spec = one(dra, "DaemonSet")["spec"]["template"]["spec"]
    configmap = one(base, "ConfigMap")
    assert next(v for v in spec["volumes"] if v["name"] == "config")["configMap"]["name"] == configmap["metadata"]["name"]
    namespace = one(base, "Namespace")["metadata"]["name"]
    for document in dra:
        if document["kind"] in ("ServiceAccount", "DaemonSet"):
            assert document["metadata"]["namespace"] == namespace
    assert {c["image"] for c in spec["initContainers"] + spec["containers"]} == {f"sriov-rdma:{VERSION}"}


def test_nodes_move_between_the_two_daemonsets_by_label(dra):
    dp = one(documents(DEPLOY), "DaemonSet", "sriov-rdma-dp")["spec"]["template"]["spec"]
    terms = dp["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
    assert terms == [{"matchExpressions": [{"key": "sriov-rdma.io/mode", "operator": "NotIn", "values": ["dra"]}]}]
    assert one(dra, "DaemonSet")["spec"]["template"]["spec"]["nodeSelector"]["sriov-rdma.io/mode"] == "dra"
    # No surge: two daemons on a node would both register the driver.
    assert one(dra, "DaemonSet")["spec"]["updateStrategy"]["rollingUpdate"]["maxSurge"] == 0


def test_privileges_are_what_the_driver_uses(dra):
    spec = one(dra, "DaemonSet")["spec"]["template"]["spec"]
    context = container(dra)["securityContext"]
    # VF settings through the PF over rtnetlink: CAP_NET_ADMIN, and nothing else.
    assert context["capabilities"] == {"drop": ["ALL"], "add": ["NET_ADMIN"]}
    assert context["privileged"] is False and context["allowPrivilegeEscalation"] is False
    assert context["readOnlyRootFilesystem"] is True
    assert spec["hostNetwork"] is True and not spec.get("hostPID")


def test_rbac_grants_every_call_the_driver_makes_and_no_more(dra):
    account = one(dra, "ServiceAccount")
    spec = one(dra, "DaemonSet")["spec"]["template"]["spec"]
    assert spec["serviceAccountName"] == account["metadata"]["name"]
    assert spec["automountServiceAccountToken"] is True
    binding = one(dra, "ClusterRoleBinding")
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": account["metadata"]["name"],
                                    "namespace": account["metadata"]["namespace"]}]
    role = one(dra, "ClusterRole", binding["roleRef"]["name"])
    granted = {(group, resource, verb, tuple(rule.get("resourceNames", ())))
               for rule in role["rules"] for group in rule["apiGroups"] for resource in rule["resources"] for verb in rule["verbs"]}
    # What SlicePublisher, KubeClaimReader and ClaimStatusWriter send.
    needed = {("resource.k8s.io", "resourceslices", verb, ()) for verb in ("list", "watch", "create", "update", "delete")}
    needed |= {("resource.k8s.io", "resourceclaims", "get", ()), ("resource.k8s.io", "resourceclaims/status", "patch", ()),
               ("resource.k8s.io", "resourceclaims/status", "update", ()), ("", "nodes", "get", ())}
    needed |= {("resource.k8s.io", "resourceclaims/driver", verb, (DRIVER,)) for verb in ("associated-node:update", "associated-node:patch")}
    assert granted == needed


def test_device_classes_are_valid_and_name_the_configured_pools(dra, validator):
    base = documents(DEPLOY)
    config = json.loads(one(base, "ConfigMap")["data"]["config.json"])
    prefix = flags(dra)["--resource-prefix"]
    served = {f"{pool.get('resourcePrefix', prefix)}/{pool['resourceName']}"
              for pool in config["resourceList"] if pool.get("deviceType") != "rdmaShared"}
    classes = [d for d in dra if d["kind"] == "DeviceClass"]
    assert {c["spec"]["extendedResourceName"] for c in classes} == served
    for device_class in classes:
        assert validator.errors("deviceclasses", device_class) == []
        expression = " ".join(s["cel"]["expression"] for s in device_class["spec"]["selectors"])
        assert f'device.driver == "{DRIVER}"' in expression
        assert f'device.attributes["{DRIVER}"].resourceName == "{device_class["spec"]["extendedResourceName"]}"' in expression


def test_validator_refuses_what_the_api_server_refuses(validator):
    bad = {"apiVersion": "resource.k8s.io/v1", "kind": "DeviceClass", "metadata": {"name": "x"},
           "spec": {"selectors": [{"cel": {"expresion": "true"}}], "extendedResourceName": 5}}
    errors = validator.errors("deviceclasses", bad)
    assert any('unknown field "expresion"' in e for e in errors), errors
    assert any("spec.selectors[0].cel.expression: Required value" in e for e in errors), errors
    assert any("spec.extendedResourceName: Invalid value: 5: must be a string" in e for e in errors), errors
    slice_ = {"apiVersion": "resource.k8s.io/v1", "kind": "ResourceSlice", "metadata": {"name": "s"},
              "spec": {"driver": DRIVER, "pool": {"name": "n/p", "generation": 1, "resourceSliceCount": 1},
                       "nodeName": "n", "allNodes": True,
                       "devices": [{"name": "Dev_1", "attributes": {"x/y": {"string": "a" * 65}}}] * 129}}
    errors = validator.errors("resourceslices", slice_)
    assert any("exactly one of `nodeName`" in e for e in errors), errors
    assert any("spec.devices: Too many: 129" in e for e in errors), errors
    assert any("spec.devices[0].name: Invalid value: 'Dev_1'" in e for e in errors), errors
    assert any("Too long: may not be more than 64 bytes" in e for e in errors), errors


def test_example_claim_is_valid_and_asks_what_the_driver_publishes(dra, examples, validator):
    template = one(examples, "ResourceClaimTemplate")
    claim = {"apiVersion": "resource.k8s.io/v1", "kind": "ResourceClaim", "metadata": {"name": "c"},
             "spec": template["spec"]["spec"]}
    assert validator.errors("resourceclaims", claim) == []
    devices = template["spec"]["spec"]["devices"]
    classes = {d["metadata"]["name"] for d in dra if d["kind"] == "DeviceClass"}
    vf = next(r for r in devices["requests"] if r["name"] == "vf")
    assert vf["exactly"]["deviceClassName"] in classes
    # GPU–NIC alignment on the standard attribute every published VF carries.
    assert devices["constraints"] == [{"requests": ["gpu", "vf"], "matchAttribute": "resource.kubernetes.io/pcieRoot"}]
    parameters = devices["config"][0]["opaque"]["parameters"]
    assert devices["config"][0]["opaque"]["driver"] == DRIVER
    assert (parameters["apiVersion"], parameters["kind"]) == ("sriov-rdma.io/v1alpha1", "VFConfig")
    pod = one(examples, "Pod")
    assert pod["spec"]["resourceClaims"][0]["resourceClaimTemplateName"] == template["metadata"]["name"]
    network = one(examples, "NetworkAttachmentDefinition")
    assert pod["metadata"]["annotations"]["k8s.v1.cni.cncf.io/networks"] == network["metadata"]["name"]
    netconf = json.loads(network["spec"]["config"])
    checkpoint = posixpath.join(flags(dra)["--dra-plugin-dir"], "checkpoint.json")
    assert (netconf["type"], netconf["dra"]["checkpoint"]) == ("sriov-rdma", checkpoint)
    assert netconf.get("stateDir", "/run/sriov-rdma/cni") == flags(dra)["--cni-state-dir"]
