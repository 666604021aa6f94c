import DevicePluginAPI
import ProtoWire
import XCTest
import TestSupport

/// The byte examples verified against protobuf-go in kubelet-and-grpc.md §1.4.
final class KubeletExamplesTests: XCTestCase {
    func testRegisterRequestMatchesProtobufGo() throws {
        let request = RegisterRequest(version: devicePluginAPIVersion, endpoint: "dp.sock", resourceName: "example.com/resource")
        let expected = hex("""
            0a 07 76 31 62 65 74 61 31 12 07 64 70 2e 73 6f 63 6b 1a 14 65 78 61 6d 70 6c 65 2e 63 6f 6d 2f 72 65 73 6f
            75 72 63 65
            """)
        XCTAssertEqual(request.serializedBytes(), expected)
        XCTAssertEqual(expected.count, 40)
        XCTAssertEqual(try RegisterRequest(serializedBytes: expected), request)
    }

    func testListAndWatchResponseWritesNUMANodeZeroAsEmptySubMessage() throws {
        let response = ListAndWatchResponse(devices: [
            Device(id: "Dev-1", health: DeviceHealth.healthy),
            Device(id: "Dev-2", health: DeviceHealth.unhealthy, topology: TopologyInfo(nodes: [NUMANode(id: 0)])),
        ])
        let expected = hex("""
            0a 10 0a 05 44 65 76 2d 31 12 07 48 65 61 6c 74 68 79
            0a 16 0a 05 44 65 76 2d 32 12 09 55 6e 68 65 61 6c 74 68 79 1a 02 0a 00
            """)
        XCTAssertEqual(response.serializedBytes(), expected)
        XCTAssertEqual(try ListAndWatchResponse(serializedBytes: expected), response)
    }

    func testNUMANodeOneTopology() {
        let device = Device(topology: TopologyInfo(nodes: [NUMANode(id: 1)]))
        XCTAssertEqual(device.serializedBytes(), hex("1a 04 0a 02 08 01"))
    }

    func testDevicePluginOptionsBothTrue() throws {
        let options = DevicePluginOptions(preStartRequired: true, getPreferredAllocationAvailable: true)
        XCTAssertEqual(options.serializedBytes(), hex("08 01 10 01"))
        XCTAssertEqual(try DevicePluginOptions(serializedBytes: hex("08 01 10 01")), options)
    }

    func testAllocateRequestForOneContainer() throws {
        let request = AllocateRequest(containerRequests: [ContainerAllocateRequest(devicesIDs: ["Dev-1"])])
        XCTAssertEqual(request.serializedBytes(), hex("0a 07 0a 05 44 65 76 2d 31"))
        XCTAssertEqual(try AllocateRequest(serializedBytes: hex("0a 07 0a 05 44 65 76 2d 31")), request)
    }

    func testEmptyEncodesToZeroBytes() throws {
        XCTAssertEqual(Empty().serializedBytes(), [])
        XCTAssertEqual(PreStartContainerResponse().serializedBytes(), [])
        XCTAssertEqual(try Empty(serializedBytes: [UInt8]()), Empty())
    }

    func testConstantsMatchConstantsGo() {
        XCTAssertEqual(devicePluginAPIVersion, "v1beta1")
        XCTAssertEqual(DeviceHealth.healthy, "Healthy")
        XCTAssertEqual(DeviceHealth.unhealthy, "Unhealthy")
    }
}
