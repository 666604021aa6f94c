import DevicePluginAPI
import ProtoWire
import XCTest
import TestSupport

final class RoundTripTests: XCTestCase {
    private func assertRoundTrips<Message: ProtoMessage & Equatable>(
        _ message: Message, file: StaticString = #filePath, line: UInt = #line
    ) {
        let bytes = message.serializedBytes()
        XCTAssertFalse(bytes.isEmpty, "all fields set, yet nothing encoded", file: file, line: line)
        XCTAssertEqual(try Message(serializedBytes: bytes), message, file: file, line: line)
    }

    static let fullContainerAllocateResponse = ContainerAllocateResponse(
        envs: ["SRIOV_RDMA_PCI": "0000:3b:02.0", "EMPTY": "", "": "empty key"],
        mounts: [Mount(containerPath: "/dev/infiniband", hostPath: "/dev/infiniband", readOnly: true), Mount()],
        devices: [DeviceSpec(containerPath: "/dev/infiniband/uverbs3", hostPath: "/dev/infiniband/uverbs3", permissions: "rw")],
        annotations: ["k8s.v1.cni.cncf.io/networks": "sriov-rdma", "b": "2"],
        cdiDevices: [CDIDevice(name: "vendor.com/gpu=gpudevice1")])

    func testEveryMessageRoundTripsWithAllFieldsSet() {
        let options = DevicePluginOptions(preStartRequired: true, getPreferredAllocationAvailable: true)
        assertRoundTrips(options)
        assertRoundTrips(RegisterRequest(version: "v1beta1", endpoint: "a.sock", resourceName: "example.com/r", options: options))
        let topology = TopologyInfo(nodes: [NUMANode(id: 0), NUMANode(id: 1), NUMANode(id: -1), NUMANode(id: .max)])
        assertRoundTrips(topology)
        assertRoundTrips(NUMANode(id: .min))
        let device = Device(id: "0000:3b:02.0", health: DeviceHealth.healthy, topology: topology)
        assertRoundTrips(device)
        assertRoundTrips(ListAndWatchResponse(devices: [device, Device(), Device(id: "x", topology: TopologyInfo())]))
        assertRoundTrips(PreStartContainerRequest(devicesIDs: ["a", "", "b"]))
        let preferredRequest = ContainerPreferredAllocationRequest(
            availableDeviceIDs: ["a", "b", "c"], mustIncludeDeviceIDs: ["b"], allocationSize: -2)
        assertRoundTrips(preferredRequest)
        assertRoundTrips(PreferredAllocationRequest(containerRequests: [preferredRequest, ContainerPreferredAllocationRequest()]))
        let preferredResponse = ContainerPreferredAllocationResponse(deviceIDs: ["b", "a"])
        assertRoundTrips(preferredResponse)
        assertRoundTrips(PreferredAllocationResponse(containerResponses: [preferredResponse]))
        let allocateRequest = ContainerAllocateRequest(devicesIDs: ["Dev-1", "Dev-2"])
        assertRoundTrips(allocateRequest)
        assertRoundTrips(AllocateRequest(containerRequests: [allocateRequest, ContainerAllocateRequest()]))
        assertRoundTrips(CDIDevice(name: "vendor.com/gpu=gpudevice1"))
        assertRoundTrips(Mount(containerPath: "/c", hostPath: "/h", readOnly: true))
        assertRoundTrips(DeviceSpec(containerPath: "/c", hostPath: "/h", permissions: "mrw"))
        assertRoundTrips(Self.fullContainerAllocateResponse)
        assertRoundTrips(AllocateResponse(containerResponses: [Self.fullContainerAllocateResponse, ContainerAllocateResponse()]))
    }

    func testAbsentAndEmptyTopologyAreDistinct() throws {
        XCTAssertEqual(Device(id: "a").serializedBytes(), hex("0a 01 61"))
        XCTAssertEqual(Device(id: "a", topology: TopologyInfo()).serializedBytes(), hex("0a 01 61 1a 00"))
        XCTAssertNil(try Device(serializedBytes: hex("0a 01 61")).topology)
        XCTAssertEqual(try Device(serializedBytes: hex("0a 01 61 1a 00")).topology, TopologyInfo())
    }

    func testPresentButDefaultOptionsAreWritten() {
        XCTAssertEqual(RegisterRequest(options: DevicePluginOptions()).serializedBytes(), hex("22 00"))
    }

    func testMissingNUMANodeIDDecodesAsZero() throws {
        XCTAssertEqual(try TopologyInfo(serializedBytes: hex("0a 00 0a 02 08 01")).nodes, [NUMANode(id: 0), NUMANode(id: 1)])
    }

    func testRepeatedSubMessageFieldMerges() throws {
        // Two topology fields: protobuf merges them, so the node lists concatenate.
        let device = try Device(serializedBytes: hex("1a 02 0a 00 0a 01 61 1a 04 0a 02 08 01"))
        XCTAssertEqual(device, Device(id: "a", topology: TopologyInfo(nodes: [NUMANode(id: 0), NUMANode(id: 1)])))
        let request = try RegisterRequest(serializedBytes: hex("22 02 08 01 22 02 10 01"))
        XCTAssertEqual(request.options, DevicePluginOptions(preStartRequired: true, getPreferredAllocationAvailable: true))
    }

    func testNegativeAllocationSizeIsTenBytes() {
        let request = ContainerPreferredAllocationRequest(allocationSize: -1)
        XCTAssertEqual(request.serializedBytes(), hex("18 ff ff ff ff ff ff ff ff ff 01"))
    }

    func testDecodingSkipsUnknownFieldsFromANewerKubelet() throws {
        // A Device with unknown fields 4 (varint), 5 (LEN), 6 (I64), 7 (I32) around the known ones,
        // and an unknown field 2 inside a NUMANode.
        let bytes = hex("""
            20 96 01 0a 01 61 2a 03 78 79 7a 12 07 48 65 61 6c 74 68 79
            31 01 02 03 04 05 06 07 08 3d 01 02 03 04 1a 06 0a 04 08 01 10 02
            """)
        let device = try Device(serializedBytes: bytes)
        XCTAssertEqual(device, Device(id: "a", health: "Healthy", topology: TopologyInfo(nodes: [NUMANode(id: 1)])))
    }

    func testMapEntriesDecodeInAnyOrderAndFieldOrder() throws {
        // envs entries B then A, the second with value before key; annotations between envs entries.
        let bytes = hex("""
            0a 06 0a 01 42 12 01 32
            22 06 0a 01 78 12 01 79
            0a 06 12 01 31 0a 01 41
            """)
        let response = try ContainerAllocateResponse(serializedBytes: bytes)
        XCTAssertEqual(response, ContainerAllocateResponse(envs: ["A": "1", "B": "2"], annotations: ["x": "y"]))
        XCTAssertEqual(response.serializedBytes(), hex("0a 06 0a 01 41 12 01 31 0a 06 0a 01 42 12 01 32 22 06 0a 01 78 12 01 79"))
    }

    func testTruncatedNestedMessageIsAnError() {
        XCTAssertThrowsError(try AllocateResponse(serializedBytes: hex("0a 04 0a 05 0a 00"))) { error in
            XCTAssertEqual(error as? ProtoWireError, .truncated(offset: 4, needed: 5, available: 2))
        }
    }

    func testInvalidUTF8DeviceIDIsAnError() {
        XCTAssertThrowsError(try ListAndWatchResponse(serializedBytes: hex("0a 03 0a 01 ff"))) { error in
            XCTAssertEqual(error as? ProtoWireError, .invalidUTF8(field: 1))
        }
    }
}
