// swift-tools-version:6.0
import PackageDescription

// libFuzzer targets, a package of their own (as swift-nio-http2's FuzzTesting) so that
// -sanitize=fuzzer applies only here. scripts/fuzz builds and runs them; seed inputs
// are under Corpus/<module>.
let package = Package(
    name: "FuzzTesting",
    dependencies: [
        .package(name: "sriov-rdma", path: ".."),
    ],
    targets: [
        // libFuzzer's LLVMFuzzerRunDriver, called from each target's entry point.
        .systemLibrary(name: "CLibFuzzer"),
        .executableTarget(name: "FuzzHPACK", dependencies: [
            "CLibFuzzer",
            .product(name: "HPACK", package: "sriov-rdma"),
        ]),
        .executableTarget(name: "FuzzHTTP2", dependencies: [
            "CLibFuzzer",
            .product(name: "HPACK", package: "sriov-rdma"),
            .product(name: "HTTP2", package: "sriov-rdma"),
        ]),
        .executableTarget(name: "FuzzProtoWire", dependencies: [
            "CLibFuzzer",
            .product(name: "ProtoWire", package: "sriov-rdma"),
            .product(name: "DevicePluginAPI", package: "sriov-rdma"),
        ]),
    ]
)
