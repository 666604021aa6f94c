// swift-tools-version:6.0
import PackageDescription

// Architecture and module names: README.md ("Layout") and DESIGN.md (shared).

/// Where libnl's headers are, for every target that imports CNL (directly or through
/// Netlink). CNL has no pkgConfig so that libnl links statically.
let libnlHeaders: [SwiftSetting] = [.unsafeFlags(["-Xcc", "-I/usr/include/libnl3"])]

/// How the executables link. lld with packed relative relocations (DT_RELR, glibc 2.36
/// and later): the loader no longer reads a megabyte of relocation entries at every
/// start. And, with --static-swift-stdlib, GCC's static libstdc++ in place of the shared
/// one (scripts/static-libstdc++ says how). About 2 MiB less RSS for each process
/// (benchmarks/grpc/RESULTS.md, benchmarks/daemon/RESULTS.md).
let executableLinking: [LinkerSetting] = [.unsafeFlags([
    "-use-ld=lld", "-Xlinker", "-z", "-Xlinker", "pack-relative-relocs",
    "-L", Context.packageDirectory + "/scripts/static-libstdc++",
])]
/// Each function in a section of its own, so that the CNI's link can order them
/// (cniLinking) and drop the unused ones; for every module the CNI links.
let functionSections: [SwiftSetting] = [.unsafeFlags(["-Xfrontend", "-function-sections"], .when(configuration: .release))]
/// The modules only the CNI links are optimized for size: its binary is copied to every
/// node and kept under 8 MiB stripped (issue #19); most of its time is in the kernel.
let cniOnly: [SwiftSetting] = [
    .unsafeFlags(["-Osize", "-Xfrontend", "-prespecialize-generic-metadata"], .when(configuration: .release)),
] + functionSections
/// sriov-rdma-cni runs on every node's host, whatever its distribution (RHEL 8/9,
/// RHCOS, Amazon Linux, Ubuntu 20.04 have older glibc than this machine): the release
/// build is a fully static executable, linked against glibc's static libraries, with
/// no interpreter and no shared library at all. Nothing on its paths dlopens. The Swift
/// runtime reads /proc/self at start, which every CNI caller's host has. Debug builds
/// stay dynamic and position-dependent (-no-pie).
let cniLinking: [LinkerSetting] = [
    .unsafeFlags(["-use-ld=lld", "-L", Context.packageDirectory + "/scripts/static-libstdc++"]),
    .unsafeFlags(["-static-executable"], .when(configuration: .release)),
    // The functions a CNI call runs, first and together (scripts/cni-symbol-order says
    // how the list is made): a call faults in a few dozen code pages instead of touching
    // most of the text. Names a later build lacks are skipped.
    .unsafeFlags(["-Xlinker", "--symbol-ordering-file=" + Context.packageDirectory + "/scripts/cni-symbol-order/symbols.txt",
                  "-Xlinker", "--no-warn-symbol-ordering"], .when(configuration: .release)),
    .unsafeFlags(["-Xclang-linker", "-no-pie"], .when(configuration: .debug)),
]
let package = Package(
    name: "sriov-rdma",
    products: [
        .executable(name: "sriov-rdma-dp", targets: ["sriov-rdma-dp"]),
        .executable(name: "sriov-rdma-cni", targets: ["sriov-rdma-cni"]),
        .executable(name: "rdma-lat", targets: ["rdma-lat"]),
        // For FuzzTesting/, the libFuzzer package.
        .library(name: "ProtoWire", targets: ["ProtoWire"]),
        .library(name: "HPACK", targets: ["HPACK"]),
        .library(name: "HTTP2", targets: ["HTTP2"]),
        .library(name: "DevicePluginAPI", targets: ["DevicePluginAPI"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
    ],
    targets: [
        // System libraries from Debian's -dev packages, found through pkg-config.
        .systemLibrary(name: "CIBVerbs", pkgConfig: "libibverbs", providers: [.apt(["libibverbs-dev"])]),
        .systemLibrary(name: "CRDMACM", pkgConfig: "librdmacm", providers: [.apt(["librdmacm-dev"])]),
        // libnl is linked statically (see Sources/CNL/module.modulemap); no pkgConfig here,
        // because its -lnl-3 would pull in the shared library.
        .systemLibrary(name: "CNL", providers: [.apt(["libnl-3-dev", "libnl-route-3-dev"])]),
        .systemLibrary(name: "CPCI", pkgConfig: "libpci", providers: [.apt(["libpci-dev"])]),
        // HTTP/1.1 and TLS for the Kubernetes API client (the DRA driver's): TLS is not
        // written here (issue #21).
        .systemLibrary(name: "CCurl", pkgConfig: "libcurl", providers: [.apt(["libcurl4-openssl-dev"])]),
        // Volatile loads and stores for the write test's memory polling.
        .systemLibrary(name: "CRDMAPerfSupport"),
        // Linux headers Swift's Glibc module leaves out (epoll, eventfd, inotify).
        .systemLibrary(name: "CLinux"),

        // The POSIX layer: file descriptors with EINTR retried in one place, atomic file
        // writes, named threads.
        .target(name: "SystemSupport", dependencies: ["CLinux"], swiftSettings: functionSections),
        .target(name: "HostDevices", dependencies: ["CLinux", "SystemSupport"], swiftSettings: functionSections),
        // libpci's pci.ids names for `discover`, apart so that nothing else links libpci.
        .target(name: "PCIDatabase", dependencies: ["CPCI", "HostDevices"]),
        // libibverbs's port facts and GID tables for `discover`, apart so that the CNI plugin
        // (through HostDevices) links no libibverbs.
        .target(name: "RDMAVerbs", dependencies: ["CIBVerbs", "HostDevices"]),
        // Multus's device-info file, written by the daemon and read by the CNI.
        .target(name: "DeviceInfoSpec", dependencies: ["JSONValue"], swiftSettings: functionSections),
        // The config file, selectors, pool membership and what Allocate returns.
        .target(name: "ResourcePools", dependencies: ["HostDevices", "JSONValue", "DeviceInfoSpec"]),
        // Protobuf wire format (encoding spec), written by hand: no protobuf library.
        .target(name: "ProtoWire"),
        // RFC 7541 header compression.
        .target(name: "HPACK"),
        // RFC 9113 as a sans-IO state machine.
        .target(name: "HTTP2", dependencies: ["HPACK"]),
        // gRPC over HTTP/2 on Unix sockets: server, unary client, status, deadlines.
        .target(name: "GRPC", dependencies: ["HTTP2", "HPACK", "ProtoWire", "CLinux", "SystemSupport"]),
        // Kubelet device-plugin API v1beta1: messages over ProtoWire, services over GRPC.
        .target(name: "DevicePluginAPI", dependencies: ["ProtoWire", "GRPC"]),
        // kubelet's DRA plugin API (dra v1 and v1beta1, dra-health v1alpha1 and v1).
        .target(name: "DRAAPI", dependencies: ["ProtoWire", "GRPC"]),
        // A Kubernetes API client over libcurl: in-cluster config or a kubeconfig, JSON,
        // get, list, watch, create, update, patch, delete, retries.
        .target(name: "KubeAPI", dependencies: ["CCurl", "JSONValue", "SystemSupport"]),
        // What the DRA driver and the CNI share: the claim checkpoint.
        .target(name: "DRACheckpoint", dependencies: ["HostDevices", "JSONValue", "SystemSupport"], swiftSettings: functionSections),
        // The DRA driver's node side: claims prepared from the pools, checkpointed, CDI per claim.
        .target(name: "DRADriver", dependencies: [
            "DRACheckpoint", "DRAAPI", "DevicePluginAPI", "GRPC", "ResourcePools", "HostDevices", "Netlink", "JSONValue", "SystemSupport",
            "KubeAPI",
        ], swiftSettings: libnlHeaders),

        // The daemon: per-pool servers, registration, health, rescans, kubelet restarts.
        .target(name: "DevicePlugin", dependencies: [
            "ResourcePools", "HostDevices", "DevicePluginAPI", "GRPC", "CLinux", "JSONValue", "SystemSupport", "DRADriver", "KubeAPI",
            .product(name: "Logging", package: "swift-log"),
        ]),

        .executableTarget(name: "sriov-rdma-dp", dependencies: [
            "HostDevices", "PCIDatabase", "RDMAVerbs", "ResourcePools", "DevicePlugin", "JSONValue", "CLinux", "Netlink", "SystemSupport",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], linkerSettings: executableLinking),
        // The CNI plugin: the CNI spec, netlink, and the VF attach logic.
        .target(name: "Netlink", dependencies: ["CNL", "HostDevices", "SystemSupport"], swiftSettings: libnlHeaders + functionSections),
        // A JSON value, parser and printer: the CNI config and results, the device plugin's config and files.
        .target(name: "JSONValue", swiftSettings: functionSections),
        .target(name: "CNI", dependencies: ["JSONValue", "SystemSupport"], swiftSettings: cniOnly),
        .target(name: "VFAttach", dependencies: ["CNI", "JSONValue", "Netlink", "HostDevices", "DeviceInfoSpec", "DRACheckpoint", "SystemSupport"],
                swiftSettings: cniOnly),

        .executableTarget(name: "sriov-rdma-cni", dependencies: ["CNI", "VFAttach", "Netlink", "SystemSupport", "CLinux"],
                          swiftSettings: cniOnly, linkerSettings: cniLinking),
        // The latency benchmark engine behind rdma-lat: verbs ping-pong, exchange, statistics, report.
        .target(name: "RDMAPerf", dependencies: ["CIBVerbs", "CRDMACM", "CRDMAPerfSupport", "JSONValue", "SystemSupport"]),

        .executableTarget(name: "rdma-lat", dependencies: [
            "CIBVerbs", "RDMAPerf",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], linkerSettings: executableLinking),

        // A DevicePlugin server and Register client for the Python interop suite (Tests/interop).
        .executableTarget(name: "dp-interop-server", dependencies: [
            "DevicePluginAPI", "GRPC", "DRADriver", "HostDevices", "ResourcePools", "JSONValue", "SystemSupport",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], path: "Tests/InteropServer", linkerSettings: executableLinking),

        // benchmarks/discovery: discovery of 1024 and 2048 VF nodes.
        .executableTarget(name: "discovery-bench", dependencies: ["HostDevices", "ResourcePools", "SysfsFixtures"],
                          path: "benchmarks/discovery"),

        .testTarget(name: "CLibrariesTests", dependencies: ["CIBVerbs", "CRDMACM", "CNL", "CPCI"], swiftSettings: libnlHeaders),
        // Helpers every test target may share (hex literals).
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        // Generated fake sysfs and /dev trees for tests and benchmarks.
        .target(name: "SysfsFixtures", path: "Tests/SysfsFixtures"),
        .testTarget(name: "HostDevicesTests", dependencies: ["HostDevices", "PCIDatabase", "RDMAVerbs", "SysfsFixtures", "SystemSupport", "TestSupport"]),
        .testTarget(name: "ResourcePoolsTests", dependencies: ["ResourcePools", "HostDevices", "SysfsFixtures"]),
        .testTarget(name: "DevicePluginTests", dependencies: [
            "DevicePlugin", "DevicePluginAPI", "GRPC", "HostDevices", "JSONValue", "ResourcePools", "SysfsFixtures", "SystemSupport", "TestSupport",
            .product(name: "Logging", package: "swift-log"),
        ]),
        .testTarget(name: "ProtoWireTests", dependencies: ["ProtoWire", "TestSupport"]),
        .testTarget(name: "DevicePluginAPITests", dependencies: ["DevicePluginAPI", "ProtoWire", "TestSupport"]),
        .testTarget(name: "HPACKTests", dependencies: ["HPACK", "TestSupport"]),
        .testTarget(name: "HTTP2Tests", dependencies: ["HTTP2", "HPACK"]),
        .testTarget(name: "GRPCTests", dependencies: ["GRPC", "DevicePluginAPI", "TestSupport"]),
        .testTarget(name: "DRAAPITests", dependencies: ["DRAAPI", "ProtoWire", "TestSupport"]),
        .testTarget(name: "KubeAPITests", dependencies: ["KubeAPI", "JSONValue", "TestSupport"],
                    exclude: ["apiserver_standin.py"]),
        .testTarget(name: "DRADriverTests", dependencies: ["DRADriver", "KubeAPI", "ResourcePools", "HostDevices", "JSONValue", "Netlink", "SysfsFixtures"],
                    swiftSettings: libnlHeaders),
        // Scratch network namespaces and host tools for the CNI tests.
        .target(name: "NetnsTestSupport", path: "Tests/NetnsTestSupport"),
        .testTarget(name: "NetlinkTests", dependencies: ["Netlink", "CNL", "NetnsTestSupport"], swiftSettings: libnlHeaders),
        .testTarget(name: "CNITests", dependencies: ["CNI", "JSONValue", "SystemSupport", "TestSupport"]),
        .testTarget(name: "VFAttachTests", dependencies: ["VFAttach", "CNI", "JSONValue", "Netlink", "HostDevices", "NetnsTestSupport", "SysfsFixtures"]),
        .testTarget(name: "RDMAPerfTests", dependencies: ["RDMAPerf"]),
        .testTarget(name: "SystemSupportTests", dependencies: ["SystemSupport", "CLinux", "TestSupport"]),
        .testTarget(name: "DeviceInfoSpecTests", dependencies: ["DeviceInfoSpec", "JSONValue"]),
        .testTarget(name: "ExecutablesTests", dependencies: ["TestSupport"]),
    ]
)
