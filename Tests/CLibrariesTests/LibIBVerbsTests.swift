import CIBVerbs
import XCTest

final class LibIBVerbsTests: XCTestCase {
    /// libibverbs lists as many devices as the kernel's verbs class has (none on a
    /// kernel without RDMA, which libibverbs reports as an empty list or ENOSYS).
    func testDeviceListMatchesKernel() throws {
        let kernelDevices = (try? FileManager.default.contentsOfDirectory(atPath: "/sys/class/infiniband_verbs"))?
            .filter { $0.hasPrefix("uverbs") } ?? []
        var count: Int32 = -1
        let list = ibv_get_device_list(&count)
        if let list {
            defer { ibv_free_device_list(list) }
            XCTAssertEqual(Int(count), kernelDevices.count)
            var names: [String] = []
            for index in 0..<Int(count) {
                names.append(String(cString: ibv_get_device_name(list[index]!)))
            }
            XCTAssertEqual(names.count, kernelDevices.count)
        } else {
            let error = errno
            XCTAssertTrue(kernelDevices.isEmpty, "ibv_get_device_list failed (errno \(error)) although the kernel has \(kernelDevices)")
            XCTAssertEqual(error, ENOSYS, "without kernel RDMA support libibverbs answers ENOSYS")
        }
    }
}
