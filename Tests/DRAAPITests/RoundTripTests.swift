import DRAAPI
import ProtoWire
import TestSupport
import XCTest

final class RoundTripTests: XCTestCase {
    private func assertRoundTrips<Message: ProtoMessage & Equatable>(
        _ message: Message, file: StaticString = #filePath, line: UInt = #line
    ) {
        let bytes = message.serializedBytes()
        XCTAssertFalse(bytes.isEmpty, "all fields set, yet nothing encoded", file: file, line: line)
        XCTAssertEqual(try Message(serializedBytes: bytes), message, file: file, line: line)
    }

    /// Unknown fields of every wire type that can appear (VARINT, I64, LEN, I32), as a
    /// newer kubelet or driver could send them.
    private func unknownFields() -> [UInt8] {
        var writer = ProtoWriter()
        writer.write(field: 15, int64: 300)
        writer.write(field: 16, fixed64: 0x0102_0304_0506_0708)
        writer.write(field: 17, string: "from a newer peer")
        writer.write(field: 1000, fixed32: 7)
        return writer.bytes
    }

    private func lengthDelimited(_ field: Int, _ payload: [UInt8]) -> [UInt8] {
        var writer = ProtoWriter()
        writer.writeTag(field: field, wireType: .lengthDelimited)
        writer.writeLengthDelimited(payload)
        return writer.bytes
    }

    private func lengthDelimited(_ field: Int, _ string: String) -> [UInt8] {
        lengthDelimited(field, Array(string.utf8))
    }

    private static let device = Device(requestNames: ["vf", "rdma"], poolName: "worker-1/p", deviceName: "0000-3b-02-3",
                                       cdiDeviceIDs: ["sriov-rdma.io/vf=a"], shareID: "share-1")
    private static let claim = Claim(namespace: "team-a", uid: "uid-1", name: "claim-vf")

    func testEveryMessageRoundTripsWithAllFieldsSet() {
        assertRoundTrips(Self.claim)
        assertRoundTrips(NodePrepareResourcesRequest(claims: [Self.claim, Claim()]))
        assertRoundTrips(NodeUnprepareResourcesRequest(claims: [Self.claim, Claim()]))
        assertRoundTrips(Self.device)
        let prepared = NodePrepareResourceResponse(devices: [Self.device, Device()], error: "e")
        assertRoundTrips(prepared)
        assertRoundTrips(NodePrepareResourcesResponse(claims: ["uid-1": prepared, "uid-2": NodePrepareResourceResponse(), "": prepared]))
        assertRoundTrips(NodeUnprepareResourceResponse(error: "busy"))
        assertRoundTrips(NodeUnprepareResourcesResponse(claims: ["uid-1": NodeUnprepareResourceResponse(error: "busy"),
                                                                 "uid-2": NodeUnprepareResourceResponse()]))
        assertRoundTrips(DeviceIdentifier(poolName: "p", deviceName: "d"))
        let health = DeviceHealth(poolName: "p", deviceName: "d", health: .unhealthy, lastUpdatedTime: -1,
                                  healthCheckTimeoutSeconds: .min, message: "carrier lost")
        assertRoundTrips(health)
        assertRoundTrips(NodeWatchResourcesResponse(devices: [health, DeviceHealth(), DeviceHealth(device: DeviceIdentifier(),
                                                                                                   health: .healthy, lastUpdatedTime: 1)]))
    }

    func testEmptyMessagesEncodeToNothing() {
        XCTAssertEqual(NodeWatchResourcesRequest().serializedBytes(), [])
        XCTAssertEqual(NodePrepareResourcesResponse().serializedBytes(), [])
        XCTAssertEqual(Device().serializedBytes(), [])
        XCTAssertEqual(DeviceHealth().serializedBytes(), [])
    }

    func testShareIDIsWrittenWhenPresentEvenIfEmpty() throws {
        XCTAssertEqual(Device(poolName: "p", deviceName: "d").serializedBytes(), hex("12 01 70 1a 01 64"))
        XCTAssertEqual(Device(poolName: "p", deviceName: "d", shareID: "").serializedBytes(), hex("12 01 70 1a 01 64 2a 00"))
        XCTAssertEqual(Device(poolName: "p", deviceName: "d", shareID: "s").serializedBytes(), hex("12 01 70 1a 01 64 2a 01 73"))
        XCTAssertNil(try Device(serializedBytes: hex("12 01 70 1a 01 64")).shareID)
        XCTAssertEqual(try Device(serializedBytes: hex("2a 00")).shareID, "")
    }

    func testAbsentAndEmptyDeviceIdentifierAreDistinct() throws {
        XCTAssertEqual(DeviceHealth(device: nil, health: .healthy, lastUpdatedTime: 0).serializedBytes(), hex("10 01"))
        XCTAssertEqual(DeviceHealth(device: DeviceIdentifier(), health: .healthy, lastUpdatedTime: 0).serializedBytes(),
                       hex("0a 00 10 01"))
        XCTAssertNil(try DeviceHealth(serializedBytes: hex("10 01")).device)
        XCTAssertEqual(try DeviceHealth(serializedBytes: hex("0a 00")).device, DeviceIdentifier())
    }

    /// A repeated embedded message merges (encoding spec, "Last One Wins").
    func testRepeatedDeviceIdentifierMerges() throws {
        let decoded = try DeviceHealth(serializedBytes: hex("0a 03 0a 01 70  0a 03 12 01 64"))
        XCTAssertEqual(decoded.device, DeviceIdentifier(poolName: "p", deviceName: "d"))
    }

    func testHealthNumbersThisCodeDoesNotNameSurvive() throws {
        let decoded = try DeviceHealth(serializedBytes: hex("10 07"))
        XCTAssertEqual(decoded.health, HealthStatus(rawValue: 7))
        XCTAssertNotEqual(decoded.health, .unknown)
        XCTAssertEqual(decoded.serializedBytes(), hex("10 07"))
        // A negative enum number is sign-extended to ten bytes, like int32.
        XCTAssertEqual(DeviceHealth(device: nil, health: HealthStatus(rawValue: -1), lastUpdatedTime: 0).serializedBytes(),
                       hex("10 ff ff ff ff ff ff ff ff ff 01"))
    }

    func testUnknownFieldsAreSkippedInEveryMessage() throws {
        func decode<Message: ProtoMessage & Equatable>(_ message: Message, file: StaticString = #filePath, line: UInt = #line) throws {
            let bytes = unknownFields() + message.serializedBytes() + unknownFields()
            XCTAssertEqual(try Message(serializedBytes: bytes), message, file: file, line: line)
        }
        try decode(Self.claim)
        try decode(NodePrepareResourcesRequest(claims: [Self.claim]))
        try decode(NodeUnprepareResourcesRequest(claims: [Self.claim]))
        try decode(Self.device)
        try decode(NodePrepareResourceResponse(devices: [Self.device], error: "e"))
        try decode(NodePrepareResourcesResponse(claims: ["uid-1": NodePrepareResourceResponse(error: "e")]))
        try decode(NodeUnprepareResourceResponse(error: "e"))
        try decode(NodeUnprepareResourcesResponse(claims: ["uid-1": NodeUnprepareResourceResponse(error: "e")]))
        try decode(NodeWatchResourcesRequest())
        try decode(DeviceIdentifier(poolName: "p", deviceName: "d"))
        try decode(DeviceHealth(poolName: "p", deviceName: "d", health: .healthy, lastUpdatedTime: 5, healthCheckTimeoutSeconds: 6, message: "m"))
        try decode(NodeWatchResourcesResponse(devices: [DeviceHealth(poolName: "p", deviceName: "d", health: .healthy, lastUpdatedTime: 5)]))
    }

    /// Unknown fields nested inside a map entry, a map value, a Device and a DeviceIdentifier.
    func testUnknownFieldsInsideNestedMessagesAreSkipped() throws {
        let device = lengthDelimited(2, "p") + unknownFields() + lengthDelimited(5, "s")
        let value = unknownFields() + lengthDelimited(1, device)
        let entry = unknownFields() + lengthDelimited(1, "uid-1") + unknownFields() + lengthDelimited(2, value)
        XCTAssertEqual(try NodePrepareResourcesResponse(serializedBytes: lengthDelimited(1, entry)),
                       NodePrepareResourcesResponse(claims: ["uid-1": NodePrepareResourceResponse(devices: [
                           Device(poolName: "p", deviceName: "", shareID: "s"),
                       ])]))

        let identifier = unknownFields() + lengthDelimited(2, "d")
        XCTAssertEqual(try DeviceHealth(serializedBytes: lengthDelimited(1, identifier)).device, DeviceIdentifier(poolName: "", deviceName: "d"))
    }

    /// A known field number with another wire type is an unknown field (protobuf-go, C++).
    func testKnownFieldWithTheWrongWireTypeIsSkipped() throws {
        var writer = ProtoWriter()
        writer.write(field: 2, string: "p")
        writer.write(field: 5, int64: 1)
        XCTAssertEqual(try Device(serializedBytes: writer.bytes), Device(poolName: "p", deviceName: ""))
        XCTAssertEqual(try DeviceHealth(serializedBytes: hex("12 01 02")), DeviceHealth())
        XCTAssertEqual(try NodeUnprepareResourcesResponse(serializedBytes: hex("08 01")), NodeUnprepareResourcesResponse())
    }

    /// kubelet's Go code writes no value for a nil map entry; the key alone means an
    /// entry with the default value (and a missing key means the key "").
    func testMapEntryWithoutValueOrKeyGetsDefaults() throws {
        XCTAssertEqual(try NodeUnprepareResourcesResponse(serializedBytes: hex("0a 07 0a 05 75 69 64 2d 31")).claims,
                       ["uid-1": NodeUnprepareResourceResponse()])
        XCTAssertEqual(try NodeUnprepareResourcesResponse(serializedBytes: hex("0a 05 12 03 0a 01 78")).claims,
                       ["": NodeUnprepareResourceResponse(error: "x")])
        XCTAssertEqual(try NodePrepareResourcesResponse(serializedBytes: hex("0a 00")).claims, ["": NodePrepareResourceResponse()])
    }

    func testMapEntryFieldsInAnyOrderAndTheLastKeyWins() throws {
        // Value before key.
        XCTAssertEqual(try NodeUnprepareResourcesResponse(serializedBytes: hex("0a 0a 12 03 0a 01 78 0a 03 75 69 64")).claims,
                       ["uid": NodeUnprepareResourceResponse(error: "x")])
        // The same key twice: the later entry replaces the earlier.
        let twice = hex("0a 0a 0a 03 75 69 64 12 03 0a 01 61  0a 0a 0a 03 75 69 64 12 03 0a 01 62")
        XCTAssertEqual(try NodeUnprepareResourcesResponse(serializedBytes: twice).claims, ["uid": NodeUnprepareResourceResponse(error: "b")])
        // The value twice in one entry: the two messages merge.
        let merged = hex("0a 11 0a 01 6b 12 05 0a 03 12 01 70 12 05 0a 03 1a 01 64")
        XCTAssertEqual(try NodePrepareResourcesResponse(serializedBytes: merged).claims,
                       ["k": NodePrepareResourceResponse(devices: [Device(poolName: "p", deviceName: ""), Device(poolName: "", deviceName: "d")])])
    }

    func testMapEntriesAreSortedByKeyBytes() {
        let response = NodeUnprepareResourcesResponse(claims: ["b": .init(), "ü": .init(), "B": .init(), "a": .init()])
        XCTAssertEqual(response.serializedBytes(), hex("""
            0a 05 0a 01 42 12 00
            0a 05 0a 01 61 12 00
            0a 05 0a 01 62 12 00
            0a 06 0a 02 c3 bc 12 00
            """))
    }

    func testTruncatedInputThrows() {
        let bytes = NodePrepareResourcesResponse(claims: ["uid-1": NodePrepareResourceResponse(devices: [Self.device])]).serializedBytes()
        XCTAssertThrowsError(try NodePrepareResourcesResponse(serializedBytes: bytes.dropLast()))
        XCTAssertThrowsError(try DeviceHealth(serializedBytes: hex("18 ff")))
    }
}
