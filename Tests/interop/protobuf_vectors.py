#!/usr/bin/env python3
"""Encodes every v1beta1 device-plugin message with Python protobuf and writes the
bytes as a Swift source file, so `swift test` compares our codec with a reference
implementation byte for byte without needing Python.

Re-run after changing a vector (from the repository root; any venv with
grpcio-tools and protobuf works, e.g. the main checkout's):

    .venv/bin/python Tests/interop/protobuf_vectors.py
    # or: /work/main/.venv/bin/python Tests/interop/protobuf_vectors.py

It compiles Tests/interop/deviceplugin-v1beta1.proto with `python -m grpc_tools.protoc`
into a temporary directory and rewrites
Tests/DevicePluginAPITests/PythonProtobufVectors.swift. The Swift test
(PythonInteropTests) builds the same messages by name; keep both in step.
Maps are serialized with deterministic=True, which sorts entries by key. Our encoder
sorts as protobuf-go does (bytewise, a prefix before its extensions: "", "A", "AB").
upb, behind Python protobuf, emits a longer key before its prefix ("AB", "A", "")
(upb/message/internal/map_sorter.c `_upb_mapsorter_cmpstr` negates memcmp and the
encoder writes backwards), so vectors whose map keys are prefixes of one another
are listed under DECODE_ONLY: the Swift test only decodes them.
"""
import importlib
import os
import subprocess
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# A verbatim copy of k8s.io/kubelet/pkg/apis/deviceplugin/v1beta1/api.proto.
PROTO = os.path.join(REPO, "Tests", "interop", "deviceplugin-v1beta1.proto")
OUTPUT = os.path.join(REPO, "Tests", "DevicePluginAPITests", "PythonProtobufVectors.swift")


def compile_proto(workdir):
    # protoc names the module after the file; copy it to a valid module name.
    with open(PROTO, "rb") as source, open(os.path.join(workdir, "api.proto"), "wb") as target:
        target.write(source.read())
    subprocess.run(
        [sys.executable, "-m", "grpc_tools.protoc", f"-I{workdir}", f"--python_out={workdir}", "api.proto"],
        check=True,
    )
    sys.path.insert(0, workdir)
    return importlib.import_module("api_pb2")


# Vectors whose bytes differ from ours only in map entry order (see the docstring).
DECODE_ONLY = {"containerAllocateResponsePrefixKeys"}


def vectors(pb):
    long_id = "0000:3b:" + "x" * 130  # 138 bytes: a two-byte length varint
    v = {}

    v["devicePluginOptionsAll"] = pb.DevicePluginOptions(pre_start_required=True, get_preferred_allocation_available=True)
    v["devicePluginOptionsSecondOnly"] = pb.DevicePluginOptions(get_preferred_allocation_available=True)
    v["registerRequestAll"] = pb.RegisterRequest(
        version="v1beta1", endpoint="sriov-rdma-1700000000.sock", resource_name="example.com/sriov_rdma",
        options=pb.DevicePluginOptions(pre_start_required=True, get_preferred_allocation_available=True))
    empty_options = pb.RegisterRequest(version="v1beta1")
    empty_options.options.SetInParent()
    v["registerRequestEmptyOptions"] = empty_options
    v["empty"] = pb.Empty()

    no_topology = pb.Device(ID="0000:3b:02.0", health="Healthy")
    empty_topology = pb.Device(ID="0000:3b:02.1", health="Unhealthy")
    empty_topology.topology.SetInParent()
    v["listAndWatchResponseAll"] = pb.ListAndWatchResponse(devices=[
        no_topology,
        empty_topology,
        pb.Device(ID="0000:3b:02.2", health="Healthy", topology=pb.TopologyInfo(nodes=[
            pb.NUMANode(ID=0), pb.NUMANode(ID=1), pb.NUMANode(ID=300), pb.NUMANode(ID=-1),
            pb.NUMANode(ID=2**62), pb.NUMANode(ID=-(2**63)),
        ])),
        pb.Device(ID=long_id, health="Healthy"),
        pb.Device(),
    ])
    v["deviceWithTopology"] = pb.Device(ID="mlx5_3", health="Unhealthy", topology=pb.TopologyInfo(nodes=[pb.NUMANode(ID=1)]))
    v["topologyInfoNodeZero"] = pb.TopologyInfo(nodes=[pb.NUMANode(ID=0)])
    v["numaNodeMaximum"] = pb.NUMANode(ID=2**63 - 1)

    v["preStartContainerRequestAll"] = pb.PreStartContainerRequest(devices_ids=["0000:3b:02.0", "", "0000:3b:02.1"])
    v["preStartContainerResponse"] = pb.PreStartContainerResponse()

    v["preferredAllocationRequestAll"] = pb.PreferredAllocationRequest(container_requests=[
        pb.ContainerPreferredAllocationRequest(
            available_deviceIDs=["dev-a", "dev-b", "dev-c", "dev-d"], must_include_deviceIDs=["dev-b"], allocation_size=2),
        pb.ContainerPreferredAllocationRequest(available_deviceIDs=["dev-e"], allocation_size=-3),
        pb.ContainerPreferredAllocationRequest(allocation_size=2**31 - 1),
        pb.ContainerPreferredAllocationRequest(),
    ])
    v["preferredAllocationResponseAll"] = pb.PreferredAllocationResponse(container_responses=[
        pb.ContainerPreferredAllocationResponse(deviceIDs=["dev-b", "dev-a"]),
        pb.ContainerPreferredAllocationResponse(),
    ])

    v["allocateRequestAll"] = pb.AllocateRequest(container_requests=[
        pb.ContainerAllocateRequest(devices_ids=["0000:3b:02.0", "0000:3b:02.1"]),
        pb.ContainerAllocateRequest(devices_ids=["Dev-1"]),
        pb.ContainerAllocateRequest(),
    ])
    full = pb.ContainerAllocateResponse(
        envs={
            "SRIOV_RDMA_PCI": "0000:3b:02.0,0000:3b:02.1",
            "RDMA_DEVICE": "mlx5_3",
            "A_FIRST": "",
            "ÜNICODE": "wert-ß-日本",
            "LONG": long_id,
        },
        mounts=[
            pb.Mount(container_path="/dev/infiniband", host_path="/dev/infiniband", read_only=True),
            pb.Mount(container_path="/etc/rdma", host_path="/var/lib/rdma"),
        ],
        devices=[
            pb.DeviceSpec(container_path="/dev/infiniband/uverbs3", host_path="/dev/infiniband/uverbs3", permissions="rw"),
            pb.DeviceSpec(container_path="/dev/infiniband/rdma_cm", host_path="/dev/infiniband/rdma_cm", permissions="rwm"),
        ],
        annotations={
            "k8s.v1.cni.cncf.io/networks": "sriov-rdma",
            "example.com/pci": "0000:3b:02.0",
            "b": "2",
            "a": "1",
        },
        cdi_devices=[pb.CDIDevice(name="vendor.com/gpu=gpudevice1"), pb.CDIDevice(name="example.com/rdma=vf3")],
    )
    v["allocateResponseAll"] = pb.AllocateResponse(container_responses=[full, pb.ContainerAllocateResponse()])
    v["containerAllocateResponseEnvsOnly"] = pb.ContainerAllocateResponse(envs={"Z": "26", "B": "2", "M": "13"})
    v["containerAllocateResponsePrefixKeys"] = pb.ContainerAllocateResponse(
        envs={"": "empty key", "A": "1", "AB": "2"}, annotations={"x": "", "xy": "z"})
    v["mountReadOnly"] = pb.Mount(container_path="/mnt", host_path="/host", read_only=True)
    v["deviceSpecAll"] = pb.DeviceSpec(container_path="/dev/vfio/12", host_path="/dev/vfio/12", permissions="mrw")
    v["cdiDevice"] = pb.CDIDevice(name="vendor.com/gpu=gpudevice1")
    return v


def main():
    with tempfile.TemporaryDirectory() as workdir:
        pb = compile_proto(workdir)
        encoded = {name: message.SerializeToString(deterministic=True).hex() for name, message in vectors(pb).items()}
    import google.protobuf
    lines = [
        "// Generated by Tests/interop/protobuf_vectors.py with Python protobuf "
        f"{google.protobuf.__version__}; do not edit. Re-run the script to update.",
        "",
    ]
    for title, names in [
        ("pythonProtobufVectors", sorted(set(encoded) - DECODE_ONLY)),
        ("pythonProtobufDecodeOnlyVectors", sorted(DECODE_ONLY)),
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
