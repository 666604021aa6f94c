import CRDMACM
import XCTest

final class LibRDMACMTests: XCTestCase {
    /// An event channel opens /dev/infiniband/rdma_cm: it is created and destroyed
    /// where the kernel has the RDMA CM, and fails with the kernel's errno where not.
    func testEventChannelCreateAndDestroy() throws {
        let hasRDMACM = FileManager.default.fileExists(atPath: "/dev/infiniband/rdma_cm")
        if let channel = rdma_create_event_channel() {
            XCTAssertTrue(hasRDMACM, "rdma_create_event_channel succeeded without /dev/infiniband/rdma_cm")
            XCTAssertGreaterThanOrEqual(channel.pointee.fd, 0)
            rdma_destroy_event_channel(channel)
        } else {
            let error = errno
            XCTAssertFalse(hasRDMACM, "rdma_create_event_channel failed with errno \(error) although /dev/infiniband/rdma_cm exists")
            XCTAssertTrue([ENOENT, ENODEV, ENOSYS].contains(error), "unexpected errno \(error)")
        }
    }
}
