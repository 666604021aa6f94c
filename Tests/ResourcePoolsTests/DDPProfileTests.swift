import Foundation
import HostDevices
@testable import ResourcePools
import SysfsFixtures
import XCTest

/// devlink answers as the ice driver does: `fw.app.name` is the DDP package the PF
/// runs, reported by the PF only. A test stand-in for the netlink query, which the
/// lab's dp suite checks against `devlink dev info` on a real kernel.
private struct DevlinkAnswers: FirmwareQuery {
    var answer: Result<[DeviceFirmware], NetlinkLikeError>
    func devices() throws -> [DeviceFirmware] { try answer.get() }
}

private struct NetlinkLikeError: Error, CustomStringConvertible {
    var description: String
}

final class DDPProfileTests: XCTestCase {
    /// PF 0x11 (ice, E810) runs the COMMS package, PF 0x13 the default one; the
    /// ConnectX PFs report devlink info without `fw.app.name`.
    private func ice(_ pf: String, _ package: String?) -> DeviceFirmware {
        var versions = [FirmwareVersion(kind: .fixed, name: "board.id", value: "K91258-000"),
                        FirmwareVersion(kind: .running, name: "fw.mgmt", value: "7.3.4")]
        if let package {
            versions += [FirmwareVersion(kind: .running, name: "fw.app.name", value: package),
                         FirmwareVersion(kind: .running, name: "fw.app", value: "1.3.35.0")]
        }
        return DeviceFirmware(bus: "pci", device: pf, driver: "ice", serialNumber: "00-01-02-ff-ff-00-00-01", versions: versions)
    }

    private func assign(_ node: SRIOVNodeFixture, _ config: String, devlink: Result<[DeviceFirmware], NetlinkLikeError>?,
                        explained: Bool = true) throws -> PoolAssignment {
        let snapshot = HostSnapshot.scan(roots: HostRoots(sysRoot: node.tree.path, devRoot: node.tree.devPath),
                                         firmware: devlink.map(DevlinkAnswers.init))
        return PoolAssignment(config: try PoolsConfig.parse(Data(config.utf8)), snapshot: snapshot, explained: explained)
    }

    private func reasons(_ result: PoolAssignment, _ address: String) -> [String]? {
        result.excluded.first { $0.address == PCIAddress(address) }?.reasons
    }

    func testVFsAreSelectedByTheirPFsDDPPackage() throws {
        let node = try SRIOVNodeFixture(pfs: 4, vfsPerPF: 4, rdma: false)
        let devlink: [DeviceFirmware] = [
            ice(node.pfAddresses[1], "ICE COMMS Package"), ice(node.pfAddresses[3], "ICE OS Default Package"),
            DeviceFirmware(bus: "pci", device: node.pfAddresses[0], driver: "mlx5_core",
                           versions: [FirmwareVersion(kind: .running, name: "fw.version", value: "22.36.1010")]),
            DeviceFirmware(bus: "netdevsim", device: "netdevsim1", driver: "netdevsim"),
        ]
        let config = """
            {"resourceList": [
              {"resourceName": "comms", "selectors": {"drivers": ["iavf"], "ddpProfiles": ["ICE COMMS Package"]}},
              {"resourceName": "default", "selectors": {"drivers": ["iavf"], "ddpProfiles": ["ICE OS Default Package", "other"]}}
            ]}
            """
        for explained in [true, false] {
            let result = try assign(node, config, devlink: .success(devlink), explained: explained)
            let comms = try XCTUnwrap(result.pools.first { $0.config.resourceName == "comms" })
            let standard = try XCTUnwrap(result.pools.first { $0.config.resourceName == "default" })
            // Every fourth VF is on vfio-pci, so not iavf.
            XCTAssertEqual(comms.devices.map(\.id), node.vfAddresses[1].prefix(3).map { $0 })
            XCTAssertEqual(standard.devices.map(\.id), node.vfAddresses[3].prefix(3).map { $0 })
        }
        let commsOnly = """
            {"resourceList": [{"resourceName": "comms", "selectors": {"drivers": ["iavf"], "ddpProfiles": ["ICE COMMS Package"]}}]}
            """
        let explained = try assign(node, commsOnly, devlink: .success(devlink))
        XCTAssertEqual(reasons(explained, node.vfAddresses[3][0]),
                       [#"intel.com/comms: DDP profile "ICE OS Default Package" not in ddpProfiles ["ICE COMMS Package"]"#])
        XCTAssertEqual(reasons(explained, node.vfAddresses[0][0]), [#"intel.com/comms: driver mlx5_core not in drivers ["iavf"]"#])
    }

    /// The function's own devlink info wins when it names a package (a PF selected
    /// by address); a PF without one in its info is reported as such.
    func testOwnInfoFirstThenThePFs() throws {
        let node = try SRIOVNodeFixture(pfs: 2, vfsPerPF: 2, rdma: false)
        let pf = node.pfAddresses[1]
        let vf = node.vfAddresses[1][0]
        let config = #"{"resourceList": [{"resourceName": "d", "selectors": {"pciAddresses": ["\#(pf)", "\#(vf)"], "ddpProfiles": ["PF pkg"]}}]}"#
        let ownAndPF = try assign(node, config, devlink: .success([ice(vf, "VF pkg"), ice(pf, "PF pkg")]))
        XCTAssertEqual(ownAndPF.pools[0].devices.map(\.id), [])  // the PF has VFs, so it is not offered; the VF runs its own
        XCTAssertEqual(reasons(ownAndPF, vf), [#"intel.com/d: DDP profile "VF pkg" not in ddpProfiles ["PF pkg"]"#])
        let pfOnly = try assign(node, config, devlink: .success([ice(vf, nil), ice(pf, "PF pkg")]))
        XCTAssertEqual(pfOnly.pools[0].devices.map(\.id), [vf], "a VF's info without fw.app.name falls back to its PF's")
        let noPackage = try assign(node, config, devlink: .success([ice(pf, nil)]))
        XCTAssertEqual(reasons(noPackage, vf),
                       ["intel.com/d: no DDP profile (devlink info of pci/\(pf) has no fw.app.name): ddpProfiles [\"PF pkg\"]"])
    }

    func testNoDevlinkSaysWhy() throws {
        let node = try SRIOVNodeFixture(pfs: 2, vfsPerPF: 2, rdma: false)
        let vf = node.vfAddresses[1][0]
        let config = #"{"resourceList": [{"resourceName": "d", "selectors": {"ddpProfiles": ["ICE COMMS Package"]}}]}"#
        XCTAssertEqual(reasons(try assign(node, config, devlink: .success([])), vf),
                       [#"intel.com/d: no DDP profile (no devlink device for \#(vf) or its PF \#(node.pfAddresses[1])): ddpProfiles ["ICE COMMS Package"]"#])
        XCTAssertEqual(reasons(try assign(node, config, devlink: .failure(NetlinkLikeError(description: "no devlink family"))), vf),
                       [#"intel.com/d: no DDP profile (devlink info unreadable: no devlink family): ddpProfiles ["ICE COMMS Package"]"#])
        XCTAssertEqual(reasons(try assign(node, config, devlink: nil), vf),
                       [#"intel.com/d: no DDP profile (devlink was not read): ddpProfiles ["ICE COMMS Package"]"#])
    }

    func testVersionLookupPrefersRunningThenStoredThenFixed() {
        let info = DeviceFirmware(bus: "pci", device: "0000:3b:00.0", versions: [
            FirmwareVersion(kind: .fixed, name: "a", value: "fixed"), FirmwareVersion(kind: .stored, name: "a", value: "stored"),
            FirmwareVersion(kind: .stored, name: "b", value: "stored b"), FirmwareVersion(kind: .fixed, name: "c", value: "fixed c"),
            FirmwareVersion(kind: .running, name: "a", value: "running"), FirmwareVersion(kind: .running, name: "fw.app.name", value: ""),
        ])
        XCTAssertEqual(info.version("a"), "running")
        XCTAssertEqual(info.version("b"), "stored b")
        XCTAssertEqual(info.version("c"), "fixed c")
        XCTAssertNil(info.version("d"))
        XCTAssertNil(info.ddpProfile, "an empty package name is no package")
        XCTAssertEqual(info.pciAddress, PCIAddress("0000:3b:00.0"))
        XCTAssertNil(DeviceFirmware(bus: "netdevsim", device: "netdevsim1").pciAddress)
    }

    func testConfigSaysWhetherDevlinkIsNeeded() throws {
        XCTAssertTrue(try PoolsConfig.parse(Data(#"{"resourceList": [{"resourceName": "a"}, {"resourceName": "b", "selectors": [{}, {"ddpProfiles": ["x"]}]}]}"#.utf8)).readsDevlink)
        XCTAssertFalse(try PoolsConfig.parse(Data(#"{"resourceList": [{"resourceName": "a", "selectors": {"drivers": ["iavf"]}}]}"#.utf8)).readsDevlink)
    }
}
