// swift-tools-version:6.0
import PackageDescription

// Architecture and module names: DESIGN.md (shared). Library targets are added as
// the issues that own them land.
let package = Package(
    name: "sriov-rdma",
    products: [
        .executable(name: "sriov-rdma-dp", targets: ["sriov-rdma-dp"]),
        .executable(name: "sriov-rdma-cni", targets: ["sriov-rdma-cni"]),
        .executable(name: "rdma-lat", targets: ["rdma-lat"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // System libraries from Debian's -dev packages, found through pkg-config.
        .systemLibrary(name: "CIBVerbs", pkgConfig: "libibverbs", providers: [.apt(["libibverbs-dev"])]),
        .systemLibrary(name: "CRDMACM", pkgConfig: "librdmacm", providers: [.apt(["librdmacm-dev"])]),
        .systemLibrary(name: "CNL", pkgConfig: "libnl-route-3.0", providers: [.apt(["libnl-3-dev", "libnl-route-3-dev"])]),
        .systemLibrary(name: "CPCI", pkgConfig: "libpci", providers: [.apt(["libpci-dev"])]),

        .target(name: "HostDevices", dependencies: ["CPCI"]),
        // Protobuf wire format (encoding spec), written by hand: no protobuf library.
        .target(name: "ProtoWire"),
        // Kubelet device-plugin API v1beta1 messages over ProtoWire.
        .target(name: "DevicePluginAPI", dependencies: ["ProtoWire"]),
        // RFC 7541 header compression.
        .target(name: "HPACK"),

        .executableTarget(name: "sriov-rdma-dp", dependencies: [
            "HostDevices",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .executableTarget(name: "sriov-rdma-cni", dependencies: [
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .executableTarget(name: "rdma-lat", dependencies: [
            "CIBVerbs",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        .testTarget(name: "CLibrariesTests", dependencies: ["CIBVerbs", "CRDMACM", "CNL", "CPCI"]),
        .testTarget(name: "HostDevicesTests", dependencies: ["HostDevices"]),
        .testTarget(name: "ProtoWireTests", dependencies: ["ProtoWire"]),
        .testTarget(name: "DevicePluginAPITests", dependencies: ["DevicePluginAPI", "ProtoWire"]),
        .testTarget(name: "HPACKTests", dependencies: ["HPACK"]),
        .testTarget(name: "ExecutablesTests"),
    ]
)
