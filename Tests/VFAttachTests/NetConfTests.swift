import Foundation
import CNI
import HostDevices
import Netlink
@testable import VFAttach
import XCTest

/// sriov-cni's fields, validated before anything touches the host.
final class NetConfTests: XCTestCase {
    func parse(_ fields: String, args: String = "") throws -> SRIOVNetConf {
        let config = try NetworkConfig.parse(Array((#"{"cniVersion":"1.0.0","name":"n","type":"sriov-rdma""# + fields + "}").utf8))
        let environment = try CNIEnvironment.parse(["CNI_COMMAND": "ADD", "CNI_CONTAINERID": "c", "CNI_NETNS": "/x",
                                                    "CNI_IFNAME": "net1", "CNI_PATH": "/usr/lib/cni", "CNI_ARGS": args])
        return try SRIOVNetConf(config: config, environment: environment)
    }

    func message(_ fields: String) -> String? {
        do { _ = try parse(fields); return nil } catch let error as CNIError {
            XCTAssertEqual(error.code, 7, fields)
            return error.message
        } catch { return "\(error)" }
    }

    func testSRIOVCNIFieldsAreAccepted() throws {
        let conf = try parse(#","deviceID":"0000:3b:02.3","vlan":100,"vlanQoS":3,"vlanProto":"802.1AD","mac":"CA:FE:00:00:00:01","#
                             + #""spoofchk":"off","trust":"on","link_state":"disable","min_tx_rate":10,"max_tx_rate":100,"mtu":9000"#)
        XCTAssertEqual(conf.deviceID, PCIAddress("0000:3b:02.3"))
        XCTAssertEqual(conf.vlan, 100)
        XCTAssertEqual(conf.vlanQoS, 3)
        XCTAssertEqual(conf.vlanProto, VFVLAN.protocol8021AD)
        XCTAssertEqual(conf.mac?.description, "ca:fe:00:00:00:01")
        XCTAssertEqual(conf.spoofCheck, false)
        XCTAssertEqual(conf.trust, true)
        XCTAssertEqual(conf.linkState, .disable)
        XCTAssertEqual(conf.minTxRate, 10)
        XCTAssertEqual(conf.maxTxRate, 100)
        XCTAssertEqual(conf.mtu, 9000)
        XCTAssertTrue(conf.rdmaIsolation)
        XCTAssertEqual(conf.stateDir, "/run/sriov-rdma/cni")
        XCTAssertEqual(conf.vfSettings, [.vlan, .mac, .rate, .spoofCheck, .trust, .linkState])
    }

    func testInvalidValuesNameKeyAndValue() {
        let base = #","deviceID":"0000:3b:02.3""#
        XCTAssertEqual(message(base + #","vlan":4095"#), "invalid vlan 4095: must be in 0...4094")
        XCTAssertEqual(message(base + #","vlan":"100""#), #"invalid vlan "100": must be an integer"#)
        XCTAssertEqual(message(base + #","vlan":0,"vlanQoS":2"#), "invalid vlanQoS 2: needs a non-zero vlan")
        XCTAssertEqual(message(base + #","vlanQoS":8,"vlan":1"#), "invalid vlanQoS 8: must be in 0...7")
        XCTAssertEqual(message(base + #","vlan":1,"vlanProto":"qinq""#), #"invalid vlanProto "qinq": must be 802.1q or 802.1ad"#)
        XCTAssertEqual(message(base + #","vlan":0,"vlanProto":"802.1ad""#), #"invalid vlanProto "802.1ad": needs a non-zero vlan"#)
        XCTAssertEqual(message(base + #","vlanProto":"802.1q""#), "vlanQoS and vlanProto need vlan")
        XCTAssertEqual(message(base + #","spoofchk":"yes""#), #"invalid spoofchk "yes": must be "on" or "off""#)
        XCTAssertEqual(message(base + #","link_state":"up""#), #"invalid link_state "up": must be auto, enable or disable"#)
        XCTAssertEqual(message(base + #","min_tx_rate":200,"max_tx_rate":100"#), "invalid min_tx_rate 200: is above max_tx_rate 100")
        XCTAssertEqual(message(base + #","min_tx_rate":-1"#), "invalid min_tx_rate -1: must be in 0...4294967295")
        XCTAssertEqual(message(base + #","mtu":50"#), "invalid mtu 50: must be in 68...65535")
        XCTAssertEqual(message(base + #","mac":"01:00:00:00:00:01""#), #"invalid mac "01:00:00:00:00:01": must be a unicast address"#)
        XCTAssertEqual(message(base + #","mac":"zz""#), #"invalid mac "zz": is not a MAC address"#)
        XCTAssertEqual(message(base + #","rdmaIsolation":"yes""#), #"invalid rdmaIsolation "yes": must be true or false"#)
        XCTAssertEqual(message(base + #","stateDir":"relative""#), #"invalid stateDir "relative": must be an absolute path"#)
        XCTAssertEqual(message(#","deviceID":"3b:02.3x""#), #"invalid deviceID "3b:02.3x": is not a PCI address (DDDD:BB:DD.F)"#)
        XCTAssertEqual(message(""), "no deviceID: set deviceID (Multus adds it from the network's resourceName), "
                       + "runtimeConfig.deviceID, or runtimeConfig.CNIDeviceInfoFile")
        XCTAssertEqual(message(#","runtimeConfig":{"CNIDeviceInfoFile":"/nonexistent/devinfo.json"}"#),
                       "cannot read device-info file /nonexistent/devinfo.json")
    }

    func testMACPrecedenceIsRuntimeConfigThenCNIArgsThenMac() throws {
        let fields = #","deviceID":"0000:3b:02.3","mac":"02:00:00:00:00:01""#
        XCTAssertEqual(try parse(fields).mac?.description, "02:00:00:00:00:01")
        XCTAssertEqual(try parse(fields, args: "IgnoreUnknown=1;MAC=02:00:00:00:00:02").mac?.description, "02:00:00:00:00:02")
        XCTAssertEqual(try parse(fields + #","runtimeConfig":{"mac":"02:00:00:00:00:03"}"#, args: "MAC=02:00:00:00:00:02").mac?.description,
                       "02:00:00:00:00:03")
    }

    /// Multus's device-info file: a pci one is read; a vDPA pool's is refused, saying why.
    func testDeviceFromDeviceInfoFiles() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("devinfo-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        func file(_ name: String, _ contents: String) throws -> String {
            let path = directory.appendingPathComponent(name).path
            try contents.write(toFile: path, atomically: true, encoding: .utf8)
            return #","runtimeConfig":{"CNIDeviceInfoFile":"\#(path)"}"#
        }
        let pci = try file("pci.json", #"{"type":"pci","version":"1.1.0","pci":{"pci-address":"0000:3b:02.3"}}"#)
        XCTAssertEqual(try parse(pci).deviceID, PCIAddress("0000:3b:02.3"))
        let vdpa = try file("vdpa.json", #"{"type":"vdpa","version":"1.1.0","vdpa":{"driver":"vhost","parent-device":"vdpa0","#
                            + #""path":"/dev/vhost-vdpa-0","pci-address":"0000:65:00.2","pf-pci-address":"0000:65:00.0"}}"#)
        XCTAssertEqual(message(vdpa), "device-info file \(directory.appendingPathComponent("vdpa.json").path) is for vDPA device vdpa0 (vhost) "
                       + "on 0000:65:00.2: sriov-rdma-cni attaches VF netdevs, not vDPA devices")
        let bad = #"{"type":"accelerator","version":"1.1.0","accelerator":{"pci-address":"0000:65:00.2"}}"#
        let other = try file("other.json", bad)
        XCTAssertEqual(message(other), "device-info file \(directory.appendingPathComponent("other.json").path) has no pci.pci-address")
    }

    /// The device-info path comes from the runtime: only a small regular file is read,
    /// anything else is refused at once with the path and the reason.
    func testDeviceInfoFileThatIsNoSmallRegularFileIsRefusedWithoutReading() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("devinfo-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let fifo = directory + "/fifo"
        XCTAssertEqual(mkfifo(fifo, 0o600), 0)
        let large = directory + "/large.json"
        FileManager.default.createFile(atPath: large, contents: Data(repeating: 0x20, count: DeviceInfoFile.sizeLimit + 1))
        for (path, reason) in [("/dev/zero", "is a character device, not a regular file"), (fifo, "is a FIFO, not a regular file"),
                               (directory, "is a directory, not a regular file"), (large, "is larger than 65536 bytes"),
                               ("/nonexistent/devinfo.json", "cannot be opened: No such file or directory")] {
            XCTAssertThrowsError(try parse(#","runtimeConfig":{"CNIDeviceInfoFile":"\#(path)"}"#)) {
                XCTAssertEqual($0 as? CNIError, CNIError(.invalidNetworkConfig, "cannot read device-info file \(path)", details: reason))
            }
        }
    }

    func testDeviceIDPrecedence() throws {
        XCTAssertEqual(try parse(#","deviceID":"0000:3b:02.3","runtimeConfig":{"deviceID":"0000:3b:02.4"}"#).deviceIDSource, "deviceID")
        XCTAssertEqual(try parse(#","runtimeConfig":{"deviceID":"0000:3b:02.4"}"#).deviceID, PCIAddress("0000:3b:02.4"))
        XCTAssertEqual(try parse(#","pciBusID":"3b:02.5""#).deviceID, PCIAddress("0000:3b:02.5"))
    }
}
