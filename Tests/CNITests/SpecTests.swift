@testable import CNI
import JSONValue
import XCTest

/// The CNI spec rules the skeleton enforces: environment, versions, config, results.
final class SpecTests: XCTestCase {
    let full = ["CNI_COMMAND": "ADD", "CNI_CONTAINERID": "abc-1.2_3", "CNI_NETNS": "/var/run/netns/x", "CNI_IFNAME": "net1",
                "CNI_PATH": "/usr/lib/cni:/opt/cni/bin", "CNI_ARGS": "IgnoreUnknown=1;MAC=02:00:00:00:00:01;K8S_POD_NAME=a=b"]

    func testEnvironmentParsesEveryVariable() throws {
        let environment = try CNIEnvironment.parse(full)
        XCTAssertEqual(environment.command, .add)
        XCTAssertEqual(environment.containerID, "abc-1.2_3")
        XCTAssertEqual(environment.path, ["/usr/lib/cni", "/opt/cni/bin"])
        XCTAssertEqual(environment.arg("MAC"), "02:00:00:00:00:01")
        XCTAssertEqual(environment.arg("K8S_POD_NAME"), "a=b")
    }

    func testMissingVariablesAreCode4AndNamed() {
        func message(_ variables: [String: String]) -> String? {
            do { _ = try CNIEnvironment.parse(variables); return nil } catch {
                XCTAssertEqual(error.code, 4)
                return error.message
            }
        }
        XCTAssertEqual(message([:]), "required env variables [CNI_COMMAND] missing")
        XCTAssertEqual(message(["CNI_COMMAND": "ADD"]), "required env variables [CNI_CONTAINERID,CNI_NETNS,CNI_IFNAME,CNI_PATH] missing")
        XCTAssertEqual(message(["CNI_COMMAND": "DEL", "CNI_PATH": "/x"]), "required env variables [CNI_CONTAINERID,CNI_IFNAME] missing")
        XCTAssertEqual(message(["CNI_COMMAND": "GC"]), "required env variables [CNI_PATH] missing")
        XCTAssertEqual(message(["CNI_COMMAND": "FOO"]), "unknown CNI_COMMAND: FOO")
        XCTAssertNil(message(["CNI_COMMAND": "VERSION"]))
        XCTAssertNil(message(["CNI_COMMAND": "STATUS"]))
        // DEL without a netns is allowed (SPEC §2).
        XCTAssertNil(message(["CNI_COMMAND": "DEL", "CNI_PATH": "/x", "CNI_CONTAINERID": "c", "CNI_IFNAME": "eth0"]))
    }

    func testInvalidValuesAreCode4AndNamed() {
        var variables = full
        variables["CNI_CONTAINERID"] = "-bad"
        variables["CNI_IFNAME"] = "a-name-longer-than-15"
        variables["CNI_ARGS"] = "novalue"
        XCTAssertThrowsError(try CNIEnvironment.parse(variables)) { error in
            let error = error as! CNIError
            XCTAssertEqual(error.code, 4)
            XCTAssertEqual(error.message, "invalid env variables [CNI_CONTAINERID,CNI_IFNAME,CNI_ARGS]")
        }
        for name in [".", "..", "a/b", "a:b", "a b", "tab\t"] {
            XCTAssertNotNil(InterfaceName.problem(with: name), name)
        }
        XCTAssertNil(InterfaceName.problem(with: "123456789012345"))
        XCTAssertNotNil(InterfaceName.problem(with: "1234567890123456"))
        variables = full
        variables["CNI_NETNS"] = "relative/path"
        XCTAssertThrowsError(try CNIEnvironment.parse(variables))
    }

    func testVersions() {
        XCTAssertEqual(CNIVersion("1.1.0"), CNIVersion(1, 1, 0))
        XCTAssertEqual(CNIVersion("0.3"), CNIVersion(0, 3, 0))
        XCTAssertNil(CNIVersion("1.x.0"))
        XCTAssertNil(CNIVersion("1"))
        XCTAssertTrue(CNIVersion(0, 4, 0) < CNIVersion(1, 0, 0))
        XCTAssertEqual(CNIVersion.supported.map(\.description), ["0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"])
    }

    func testNetworkConfigErrorsCarrySpecCodes() {
        func code(_ text: String) -> Int? {
            do { _ = try NetworkConfig.parse(Array(text.utf8)); return nil } catch { return error.code }
        }
        XCTAssertEqual(code("not json"), 6)
        XCTAssertEqual(code("[]"), 6)
        XCTAssertEqual(code(#"{"cniVersion":1,"name":"n","type":"t"}"#), 6)
        XCTAssertEqual(code(#"{"name":"n","type":"t"}"#), nil)  // no cniVersion means 0.1.0, which is served
        XCTAssertEqual(code(#"{"cniVersion":"0.2.0","name":"n","type":"t"}"#), nil)
        XCTAssertEqual(code(#"{"cniVersion":"0.0.9","name":"n","type":"t"}"#), 1)
        XCTAssertEqual(code(#"{"cniVersion":"9.9.9","name":"n","type":"t"}"#), 1)
        XCTAssertEqual(code(#"{"cniVersion":"1.0.0","type":"t"}"#), 7)
        XCTAssertEqual(code(#"{"cniVersion":"1.0.0","name":"bad name","type":"t"}"#), 7)
        XCTAssertEqual(code(#"{"cniVersion":"1.0.0","name":"n"}"#), 7)
        XCTAssertEqual(code(#"{"cniVersion":"1.0.0","name":"n","type":"t","ipam":{"type":"../evil"}}"#), 7)
        XCTAssertEqual(code(#"{"cniVersion":"1.0.0","name":"n","type":"t","ipam":{}}"#), nil)
        XCTAssertEqual(code(#"{"cniVersion":"1.0.0","name":"n","type":"t","prevResult":{"ips":[{"address":"x"}]}}"#), 6)
    }

    func testIncompatibleVersionMessageListsWhatIsSupported() {
        XCTAssertThrowsError(try NetworkConfig.parse(Array(#"{"cniVersion":"2.0.0","name":"n","type":"t"}"#.utf8))) { error in
            XCTAssertEqual((error as! CNIError).message,
                           #"incompatible CNI versions; config is "2.0.0", plugin supports ["0.1.0" "0.2.0" "0.3.0" "0.3.1" "0.4.0" "1.0.0" "1.1.0"]"#)
        }
    }

    func testResultIn020And010IsOneIPPerFamilyAsLibcniConvertsIt() {
        var twoV4 = result
        twoV4.ips.insert(CNIResult.IPConfig(address: "10.1.0.9/24", interface: 0), at: 1)
        twoV4.routes.append(CNIResult.Route(dst: "fd01::/64", gw: "fd00::1"))
        for version in ["0.2.0", "0.1.0"] {
            XCTAssertEqual(twoV4.json(version: CNIVersion(version)!).serialized,
                           #"{"cniVersion":""# + version + #"","ip4":{"ip":"10.1.0.5/24","gateway":"10.1.0.1","routes":[{"dst":"0.0.0.0/0","gw":"10.1.0.1"}]},"#
                           + #""ip6":{"ip":"fd00::5/64","routes":[{"dst":"fd01::/64","gw":"fd00::1"}]},"dns":{"nameservers":["10.1.0.2"],"search":["svc"]}}"#)
        }
    }

    func testA020ResultFromIPAMReadsIntoIPsAndRoutes() throws {
        let json = try JSON.parse(Array(#"{"cniVersion":"0.2.0","ip4":{"ip":"10.1.0.5/24","gateway":"10.1.0.1","routes":[{"dst":"0.0.0.0/0"}]},"dns":{}}"#.utf8))
        let read = try CNIResult(json: json)
        XCTAssertEqual(read, CNIResult(ips: [CNIResult.IPConfig(address: "10.1.0.5/24", gateway: "10.1.0.1")],
                                       routes: [CNIResult.Route(dst: "0.0.0.0/0")]))
    }

    let result = CNIResult(
        interfaces: [CNIResult.Interface(name: "net1", mac: "02:00:00:00:00:01", mtu: 9000, sandbox: "/var/run/netns/p",
                                         pciID: "0000:3b:02.3")],
        ips: [CNIResult.IPConfig(address: "10.1.0.5/24", gateway: "10.1.0.1", interface: 0),
              CNIResult.IPConfig(address: "fd00::5/64", interface: 0)],
        routes: [CNIResult.Route(dst: "0.0.0.0/0", gw: "10.1.0.1", mtu: 1400, priority: 10, table: 100, scope: 0)],
        dns: CNIResult.DNS(nameservers: ["10.1.0.2"], search: ["svc"]))

    func testResultIn110CarriesTheNewFields() {
        XCTAssertEqual(result.json(version: CNIVersion(1, 1, 0)).serialized,
                       #"{"cniVersion":"1.1.0","interfaces":[{"name":"net1","mac":"02:00:00:00:00:01","mtu":9000,"sandbox":"/var/run/netns/p","pciID":"0000:3b:02.3"}],"#
                       + #""ips":[{"interface":0,"address":"10.1.0.5/24","gateway":"10.1.0.1"},{"interface":0,"address":"fd00::5/64"}],"#
                       + #""routes":[{"dst":"0.0.0.0/0","gw":"10.1.0.1","mtu":1400,"priority":10,"table":100,"scope":0}],"#
                       + #""dns":{"nameservers":["10.1.0.2"],"search":["svc"]}}"#)
    }

    func testResultIn100DropsThe110Fields() {
        XCTAssertEqual(result.json(version: CNIVersion(1, 0, 0)).serialized,
                       #"{"cniVersion":"1.0.0","interfaces":[{"name":"net1","mac":"02:00:00:00:00:01","sandbox":"/var/run/netns/p"}],"#
                       + #""ips":[{"interface":0,"address":"10.1.0.5/24","gateway":"10.1.0.1"},{"interface":0,"address":"fd00::5/64"}],"#
                       + #""routes":[{"dst":"0.0.0.0/0","gw":"10.1.0.1"}],"dns":{"nameservers":["10.1.0.2"],"search":["svc"]}}"#)
    }

    func testResultIn040And031AddsIPVersions() {
        for version in ["0.4.0", "0.3.1", "0.3.0"] {
            XCTAssertEqual(result.json(version: CNIVersion(version)!).serialized,
                           #"{"cniVersion":""# + version + #"","interfaces":[{"name":"net1","mac":"02:00:00:00:00:01","sandbox":"/var/run/netns/p"}],"#
                           + #""ips":[{"version":"4","interface":0,"address":"10.1.0.5/24","gateway":"10.1.0.1"},{"version":"6","interface":0,"address":"fd00::5/64"}],"#
                           + #""routes":[{"dst":"0.0.0.0/0","gw":"10.1.0.1"}],"dns":{"nameservers":["10.1.0.2"],"search":["svc"]}}"#)
        }
    }

    func testResultsOfEveryServedVersionReadBack() throws {
        for version in CNIVersion.supported {
            let printed = result.json(version: version)
            var expected = result
            if version < CNIVersion(1, 1, 0) {
                expected.interfaces[0].mtu = nil
                expected.interfaces[0].pciID = nil
                expected.routes[0] = CNIResult.Route(dst: "0.0.0.0/0", gw: "10.1.0.1")
            }
            if version < CNIVersion.firstWithIPList {
                // No interfaces in the format, so no index into them.
                expected.interfaces = []
                expected.ips = expected.ips.map { CNIResult.IPConfig(address: $0.address, gateway: $0.gateway) }
            }
            XCTAssertEqual(try CNIResult(json: printed), expected, "\(version)")
        }
    }

    func testErrorJSON() {
        XCTAssertEqual(CNIError(.invalidEnvironment, "m", details: "d").json(version: "1.0.0").serialized,
                       #"{"cniVersion":"1.0.0","code":4,"msg":"m","details":"d"}"#)
        XCTAssertEqual(CNIError(.tryAgainLater, "m").json(version: "1.1.0").serialized,
                       #"{"cniVersion":"1.1.0","code":11,"msg":"m"}"#)
    }
}
