import CNI
import XCTest

final class IdentifierTests: XCTestCase {
    func testContainerIDsAndNetworkNamesFollowOneRule() {
        for good in ["a", "0abc", "a_b.c-d"] {
            XCTAssertEqual(CNIIdentifier(good)?.rawValue, good)
            XCTAssertNil(CNIIdentifier.containerIDProblem(good))
            XCTAssertNil(CNIIdentifier.networkNameProblem(good))
        }
        for bad in ["", "_a", ".a", "a b", "a/b", "ü"] {
            XCTAssertNil(CNIIdentifier(bad), bad)
            XCTAssertNotNil(CNIIdentifier.networkNameProblem(bad), bad)
        }
        XCTAssertEqual(CNIIdentifier.containerIDProblem(""), "container ID is empty")
        XCTAssertEqual(CNIIdentifier.containerIDProblem("-x"), "container ID -x must match ^[a-zA-Z0-9][a-zA-Z0-9_.-]*$")
        XCTAssertEqual(CNIIdentifier.networkNameProblem("-x"), "network name -x must match ^[a-zA-Z0-9][a-zA-Z0-9_.-]*$")
    }

    func testInterfaceNameIsTheKernelsRule() {
        XCTAssertEqual(InterfaceName("net1")?.rawValue, "net1")
        XCTAssertNil(InterfaceName("1234567890123456"))
        XCTAssertEqual(InterfaceName.problem(with: "a:b"), "interface name a:b contains '/', ':' or whitespace")
    }
}
