#!/usr/bin/env python3
"""Encodes every message of kubelet's DRA plugin API (dra v1 and v1beta1) and DRA
health API (dra-health v1 and v1alpha1) with Python protobuf and writes the bytes as a
Swift source file, so `swift test` compares DRAAPI's codec with a reference
implementation byte for byte without needing Python (as protobuf_vectors.py does for
the device-plugin API).

Re-run after changing a vector (from the repository root; any venv with grpcio-tools
and protobuf works, e.g. the main checkout's):

    .venv/bin/python Tests/interop/dra_protobuf_vectors.py

It compiles Tests/interop/dra-v1.proto, dra-v1beta1.proto, dra-health-v1.proto and
dra-health-v1alpha1.proto with `python -m grpc_tools.protoc` into a temporary
directory and rewrites Tests/DRAAPITests/PythonDRAProtobufVectors.swift. The Swift
test (PythonDRAInteropTests) builds the same messages by name; keep both in step.
Vector names start with the proto they were encoded with ("v1.", "v1beta1.",
"healthV1.", "healthV1alpha1."); the messages shared by two versions are encoded
with both, and this script checks that the two encodings are equal.

Maps are serialized with deterministic=True, which sorts entries by key. Our encoder
sorts as protobuf-go does (bytewise, a prefix before its extensions); upb, behind
Python protobuf, emits a longer key before its prefix (see protobuf_vectors.py), so
vectors whose map keys are prefixes of one another are listed under DECODE_ONLY: the
Swift test only decodes them.
"""
import importlib
import os
import subprocess
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
INTEROP = os.path.join(REPO, "Tests", "interop")
OUTPUT = os.path.join(REPO, "Tests", "DRAAPITests", "PythonDRAProtobufVectors.swift")
# Module name → verbatim copy of the kubelet proto (see each file's first line).
PROTOS = {
    "dra_v1": "dra-v1.proto",
    "dra_v1beta1": "dra-v1beta1.proto",
    "dra_health_v1": "dra-health-v1.proto",
    "dra_health_v1alpha1": "dra-health-v1alpha1.proto",
}

# Vectors whose bytes differ from ours only in map entry order (see the docstring).
DECODE_ONLY = {"v1.unprepareResponsePrefixKeys"}

UID_A = "0c4f6a1e-5d2b-4b8e-9a77-3f1d2c0b9e11"
UID_B = "7d3a9b20-11f4-4c3a-8e5d-6a2b1c0d9f22"
UID_C = "e9b1c4d7-2a3f-4d5e-b6c7-8f9a0b1c2d33"
LONG_CDI_ID = "sriov-rdma.io/vf=" + UID_A + "-" + "0000-3b-02-3-" * 8  # 158 bytes: a two-byte length


def compile_protos(workdir):
    for module, proto in PROTOS.items():
        # protoc names the module after the file; copy each under a module-friendly name.
        with open(os.path.join(INTEROP, proto), "rb") as source, open(os.path.join(workdir, module + ".proto"), "wb") as target:
            target.write(source.read())
        subprocess.run(
            [sys.executable, "-m", "grpc_tools.protoc", f"-I{workdir}", f"--python_out={workdir}", module + ".proto"],
            check=True, cwd=workdir,
        )
    sys.path.insert(0, workdir)
    return {module: importlib.import_module(module + "_pb2") for module in PROTOS}


def plugin_vectors(pb, version):
    """Messages dra v1 and v1beta1 share, encoded with `pb`; v1-only ones are added by the caller."""
    v = {}
    claims = [
        pb.Claim(namespace="team-a", uid=UID_A, name="claim-vf"),
        pb.Claim(uid="uid-2", name="x"),
        pb.Claim(),
    ]
    v["claim"] = claims[0]
    v["prepareRequest"] = pb.NodePrepareResourcesRequest(claims=claims)
    v["unprepareRequest"] = pb.NodeUnprepareResourcesRequest(claims=claims)

    response = pb.NodePrepareResourcesResponse()
    response.claims[UID_B].devices.extend([
        pb.Device(request_names=["vf"], pool_name="worker-1/nvidia.com/mlnx-rdma", device_name="0000-3b-02-3",
                  cdi_device_ids=["sriov-rdma.io/vf=" + UID_B + "-0000-3b-02-3", LONG_CDI_ID]),
        pb.Device(request_names=["vf", "gpu"], pool_name="p", device_name="d"),
        pb.Device(request_names=[""], cdi_device_ids=["", "k/v=1"]),
        pb.Device(),
    ])
    response.claims[UID_A].error = "ResourceClaim team-a/claim-vf: is not allocated"
    response.claims[UID_C].SetInParent()
    response.claims["ü-not-ascii"].devices.add(pool_name="ü", device_name="日本")
    v["prepareResponse"] = response
    v["prepareResourceResponseError"] = pb.NodePrepareResourceResponse(
        devices=[pb.Device(pool_name="p", device_name="d")], error="ignored devices")

    unprepare = pb.NodeUnprepareResourcesResponse()
    unprepare.claims[UID_A].SetInParent()
    unprepare.claims[UID_B].error = "restoring VF 0000:3b:02.3: device or resource busy"
    unprepare.claims[UID_C].SetInParent()
    v["unprepareResponse"] = unprepare
    v["unprepareResourceResponseError"] = pb.NodeUnprepareResourceResponse(error="x")

    v["device"] = pb.Device(request_names=["vf", "rdma"], pool_name="worker-1/p", device_name="0000-3b-02-3",
                            cdi_device_ids=["sriov-rdma.io/vf=a", "sriov-rdma.io/vf=b"])
    return {f"{version}.{name}": message for name, message in v.items()}


def v1_only_vectors(pb):
    v = {}
    v["v1.deviceShareIDEmpty"] = pb.Device(pool_name="p", device_name="d", share_id="")
    v["v1.deviceShareID"] = pb.Device(request_names=["vf"], pool_name="p", device_name="d",
                                      cdi_device_ids=["k/v=1"], share_id="a1b2c3d4-share")
    shared = pb.NodePrepareResourcesResponse()
    shared.claims[UID_A].devices.extend([
        pb.Device(request_names=["vf"], pool_name="p", device_name="0000-3b-02-3", share_id=""),
        pb.Device(request_names=["vf"], pool_name="p", device_name="0000-3b-02-4"),
        pb.Device(request_names=["vf"], pool_name="p", device_name="0000-3b-02-5", share_id=UID_C),
    ])
    v["v1.prepareResponseShareIDs"] = shared
    prefixes = pb.NodeUnprepareResourcesResponse()
    prefixes.claims["uid"].error = "short"
    prefixes.claims["uid-1"].SetInParent()
    prefixes.claims[""].error = "empty key"
    v["v1.unprepareResponsePrefixKeys"] = prefixes
    return v


def health_vectors(pb, version):
    v = {}
    v["watchRequest"] = pb.NodeWatchResourcesRequest()
    v["deviceIdentifier"] = pb.DeviceIdentifier(pool_name="worker-1/p", device_name="0000-3b-02-3")
    every_field = pb.DeviceHealth(
        device=pb.DeviceIdentifier(pool_name="worker-1/p", device_name="0000-3b-02-3"), health=pb.HEALTHY,
        last_updated_time=1796000000, health_check_timeout_seconds=30, message="PF ens1f0 has carrier")
    v["deviceHealthAll"] = every_field
    empty_device = pb.DeviceHealth(health=pb.UNKNOWN)
    empty_device.device.SetInParent()
    v["watchResponse"] = pb.NodeWatchResourcesResponse(devices=[
        every_field,
        pb.DeviceHealth(device=pb.DeviceIdentifier(pool_name="p", device_name="d"), health=pb.UNHEALTHY,
                        last_updated_time=-1, health_check_timeout_seconds=-5, message="ünicode: 日本"),
        pb.DeviceHealth(device=pb.DeviceIdentifier(device_name="d"), last_updated_time=-(2**63),
                        health_check_timeout_seconds=2**63 - 1, message="x" * 1024),
        empty_device,
        pb.DeviceHealth(),
    ])
    # HealthStatus is an open enum: numbers a newer peer may send survive.
    v["deviceHealthUnknownEnumNumbers"] = pb.NodeWatchResourcesResponse(devices=[
        pb.DeviceHealth(health=7), pb.DeviceHealth(health=-1), pb.DeviceHealth(health=2**31 - 1),
    ])
    v["watchResponseEmpty"] = pb.NodeWatchResourcesResponse()
    return {f"{version}.{name}": message for name, message in v.items()}


def encode(messages):
    return {name: message.SerializeToString(deterministic=True).hex() for name, message in messages.items()}


def same_wire_form(first, second, prefixes):
    """Checks that the vectors `prefixes[0].x` and `prefixes[1].x` are equal for every x."""
    for name, data in first.items():
        twin = prefixes[1] + name[len(prefixes[0]):]
        assert second[twin] == data, f"{name} and {twin} differ: {data} vs {second[twin]}"


def main():
    with tempfile.TemporaryDirectory() as workdir:
        m = compile_protos(workdir)
        v1 = encode(plugin_vectors(m["dra_v1"], "v1"))
        v1beta1 = encode(plugin_vectors(m["dra_v1beta1"], "v1beta1"))
        health_v1 = encode(health_vectors(m["dra_health_v1"], "healthV1"))
        health_v1alpha1 = encode(health_vectors(m["dra_health_v1alpha1"], "healthV1alpha1"))
        v1_only = encode(v1_only_vectors(m["dra_v1"]))
    # v1beta1 is v1 without share_id; health v1alpha1 is v1 under another package.
    same_wire_form(v1, v1beta1, ("v1.", "v1beta1."))
    same_wire_form(health_v1, health_v1alpha1, ("healthV1.", "healthV1alpha1."))
    encoded = {**v1, **v1beta1, **health_v1, **health_v1alpha1, **v1_only}
    import google.protobuf
    lines = [
        "// Generated by Tests/interop/dra_protobuf_vectors.py with Python protobuf "
        f"{google.protobuf.__version__}; do not edit. Re-run the script to update.",
        "",
    ]
    for title, names in [
        ("pythonDRAProtobufVectors", sorted(set(encoded) - DECODE_ONLY)),
        ("pythonDRAProtobufDecodeOnlyVectors", sorted(DECODE_ONLY)),
    ]:
        lines.append("/// Name → hex of the message as Python protobuf serializes it (deterministic=True).")
        lines.append(f"let {title}: [String: String] = [")
        lines.extend(f'    "{name}": "{encoded[name]}",' for name in names)
        lines.append("]")
        lines.append("")
    with open(OUTPUT, "w") as out:
        out.write("\n".join(lines))
    print(f"wrote {len(encoded)} vectors to {os.path.relpath(OUTPUT, REPO)}")


if __name__ == "__main__":
    main()
