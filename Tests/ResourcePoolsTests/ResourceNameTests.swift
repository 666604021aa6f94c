import ResourcePools
import XCTest

final class ResourceNameTests: XCTestCase {
    func testEachPartIsCheckedWithSRIOVDPsRules() throws {
        XCTAssertEqual(try ResourceName(prefix: "intel.com", name: "intel_sriov-1").description, "intel.com/intel_sriov-1")
        XCTAssertThrowsError(try ResourceName(prefix: "intel.com", name: "a.b")) {
            XCTAssertEqual($0 as? ResourceName.Problem, .name(#""a.b" must match ^[a-zA-Z0-9_-]+$"#))
        }
        XCTAssertThrowsError(try ResourceName(prefix: "Intel.com", name: "a")) {
            XCTAssertEqual($0 as? ResourceName.Problem, .prefix(#""Intel.com" is not a DNS subdomain, and kubelet refuses resource names under it"#))
        }
    }

    /// What kubelet's IsExtendedResourceName refuses although each part passed.
    func testKubeletProblemCatchesWhatKubeletWouldRefuseAtRegister() throws {
        XCTAssertNil(try ResourceName(prefix: "nvidia.com", name: "rdma_shared").kubeletProblem)
        XCTAssertEqual(try ResourceName(prefix: "kubernetes.io", name: "a").kubeletProblem,
                       #""kubernetes.io/a" must not be in the kubernetes.io namespace"#)
        XCTAssertEqual(try ResourceName(prefix: "requests.example.com", name: "a").kubeletProblem,
                       #""requests.example.com/a" must not start with "requests.""#)
        let long = String(repeating: "a", count: 63) + "." + String(repeating: "b", count: 63) + "." + String(repeating: "c", count: 63)
            + "." + String(repeating: "d", count: 58)
        XCTAssertEqual(try ResourceName(prefix: long, name: "a").kubeletProblem, "\"\(long)\" is not a DNS subdomain")
        XCTAssertEqual(try ResourceName(prefix: "example.com", name: "_a").kubeletProblem,
                       #""_a" must be at most 63 characters of [A-Za-z0-9_.-], starting and ending alphanumeric"#)
        XCTAssertNotNil(try ResourceName(prefix: "example.com", name: String(repeating: "x", count: 64)).kubeletProblem)
    }
}
