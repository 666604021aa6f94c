import DRAAPI
import ProtoWire
import XCTest

/// DRAAPI's codec against Python protobuf's bytes (PythonDRAProtobufVectors, generated
/// from the kubelet protos by Tests/interop/dra_protobuf_vectors.py): the same
/// messages built here encode to the same bytes and decode back.
final class DRAAPITests: XCTestCase {
    let claims = [Claim(namespace: "team-a", uid: "0c4f-uid-1", name: "claim-vf"), Claim(namespace: "", uid: "uid-2", name: "x")]

    func check<Message: ProtoMessage & Equatable>(_ message: Message, _ bytes: [UInt8], file: StaticString = #filePath, line: UInt = #line) throws {
        XCTAssertEqual(message.serializedBytes(), bytes, file: file, line: line)
        XCTAssertEqual(try Message(serializedBytes: bytes), message, file: file, line: line)
    }

    func testClaimRequests() throws {
        try check(NodePrepareResourcesRequest(claims: claims), PythonDRAProtobufVectors.prepareRequestV1)
        try check(NodeUnprepareResourcesRequest(claims: claims), PythonDRAProtobufVectors.unprepareRequestV1beta1)
    }

    func testPrepareResponsesWithAMapAndAnOptionalShareID() throws {
        let v1 = NodePrepareResourcesResponse(claims: [
            "uid-1": NodePrepareResourceResponse(devices: [
                Device(requestNames: ["vf"], poolName: "worker-1/nvidia.com/mlnx-rdma", deviceName: "0000-3b-02-3",
                       cdiDeviceIDs: ["sriov-rdma.io/vf=uid-1-0000-3b-02-3"], shareID: ""),
                Device(requestNames: ["vf", "gpu"], poolName: "p", deviceName: "d", cdiDeviceIDs: ["a=1", "a=2"]),
            ]),
            "uid-2": NodePrepareResourceResponse(error: "ResourceClaim team/x: is not allocated"),
            "uid-3": NodePrepareResourceResponse(),
        ])
        try check(v1, PythonDRAProtobufVectors.prepareResponseV1)
        // An empty share_id is present, and is not the same as none.
        let decoded = try NodePrepareResourcesResponse(serializedBytes: PythonDRAProtobufVectors.prepareResponseV1)
        XCTAssertEqual(decoded.claims["uid-1"]?.devices.map(\.shareID), ["", nil])
        let beta = NodePrepareResourcesResponse(claims: [
            "uid-1": NodePrepareResourceResponse(devices: [
                Device(requestNames: ["vf"], poolName: "p", deviceName: "0000-3b-02-3", cdiDeviceIDs: ["k/v=1"]),
            ]),
        ])
        try check(beta, PythonDRAProtobufVectors.prepareResponseV1beta1)
    }

    func testUnprepareResponse() throws {
        try check(NodeUnprepareResourcesResponse(claims: ["uid-1": NodeUnprepareResourceResponse(),
                                                          "uid-2": NodeUnprepareResourceResponse(error: "restore failed")]),
                  PythonDRAProtobufVectors.unprepareResponseV1)
    }

    func testHealthMessages() throws {
        try check(NodeWatchResourcesRequest(), PythonDRAProtobufVectors.watchRequest)
        let response = NodeWatchResourcesResponse(devices: [
            DeviceHealth(poolName: "worker-1/p", deviceName: "0000-3b-02-3", health: .healthy, lastUpdatedTime: 1_796_000_000,
                         healthCheckTimeoutSeconds: 30, message: "PF ens1f0 has carrier"),
            DeviceHealth(poolName: "p", deviceName: "d", health: .unhealthy, lastUpdatedTime: -1, healthCheckTimeoutSeconds: -5),
            DeviceHealth(poolName: "", deviceName: "", health: .unknown, lastUpdatedTime: 0),
        ])
        try check(response, PythonDRAProtobufVectors.watchResponse)
    }

    func testUnknownFieldsAreSkipped() throws {
        var writer = ProtoWriter()
        writer.write(field: 9, string: "from a newer kubelet")
        writer.write(field: 1, message: Claim(namespace: "n", uid: "u", name: "c"))
        writer.write(field: 7, int64: 42)
        XCTAssertEqual(try NodePrepareResourcesRequest(serializedBytes: writer.bytes).claims, [Claim(namespace: "n", uid: "u", name: "c")])
    }

    func testMethodPathsAndServiceNames() {
        XCTAssertEqual(DRAPluginService.v1.nodePrepareResources.path, "/k8s.io.kubelet.pkg.apis.dra.v1.DRAPlugin/NodePrepareResources")
        XCTAssertEqual(DRAPluginService.v1beta1.nodeUnprepareResources.path,
                       "/k8s.io.kubelet.pkg.apis.dra.v1beta1.DRAPlugin/NodeUnprepareResources")
        XCTAssertEqual(DRAResourceHealthService.nodeWatchResourcesV1alpha1.path, "/v1alpha1.DRAResourceHealth/NodeWatchResources")
        XCTAssertEqual(DRAResourceHealthService.nodeWatchResourcesV1.path, "/v1.DRAResourceHealth/NodeWatchResources")
        XCTAssertEqual([DRAServiceName.pluginV1, DRAServiceName.pluginV1beta1, DRAServiceName.healthV1alpha1],
                       ["v1.DRAPlugin", "v1beta1.DRAPlugin", "v1alpha1.DRAResourceHealth"])
    }
}
