import DRAAPI
import XCTest

final class ServicesTests: XCTestCase {
    func testDRAPluginMethodPathsCarryTheProtoPackage() {
        XCTAssertEqual(DRAPluginService.v1.nodePrepareResources.path, "/k8s.io.kubelet.pkg.apis.dra.v1.DRAPlugin/NodePrepareResources")
        XCTAssertEqual(DRAPluginService.v1.nodeUnprepareResources.path, "/k8s.io.kubelet.pkg.apis.dra.v1.DRAPlugin/NodeUnprepareResources")
        XCTAssertEqual(DRAPluginService.v1beta1.nodePrepareResources.path,
                       "/k8s.io.kubelet.pkg.apis.dra.v1beta1.DRAPlugin/NodePrepareResources")
        XCTAssertEqual(DRAPluginService.v1beta1.nodeUnprepareResources.path,
                       "/k8s.io.kubelet.pkg.apis.dra.v1beta1.DRAPlugin/NodeUnprepareResources")
    }

    func testResourceHealthMethodPaths() {
        XCTAssertEqual(DRAResourceHealthService.nodeWatchResourcesV1alpha1.path, "/v1alpha1.DRAResourceHealth/NodeWatchResources")
        XCTAssertEqual(DRAResourceHealthService.nodeWatchResourcesV1.path, "/v1.DRAResourceHealth/NodeWatchResources")
    }

    func testServiceNamesForGetInfo() {
        XCTAssertEqual(DRAServiceName.pluginV1, "v1.DRAPlugin")
        XCTAssertEqual(DRAServiceName.pluginV1beta1, "v1beta1.DRAPlugin")
        XCTAssertEqual(DRAServiceName.healthV1alpha1, "v1alpha1.DRAResourceHealth")
        XCTAssertEqual(DRAServiceName.healthV1, "v1.DRAResourceHealth")
        XCTAssertEqual(DRAServiceName.pluginType, "DRAPlugin")
    }
}
