import Foundation
import HostDevices
@testable import ResourcePools
import XCTest

final class ConfigParserTests: XCTestCase {
    private func parse(_ json: String) throws -> PoolsConfig {
        try PoolsConfig.parse(Data(json.utf8))
    }

    /// The error of a strict parse (an unknown key refused, as `--strict-config` does).
    private func error(_ json: String) -> String {
        do {
            _ = try PoolsConfig.parse(Data(json.utf8), strict: true)
            return "no error"
        } catch {
            return "\(error)"
        }
    }

    /// SRIOV-DP's README example, unchanged.
    func testSRIOVDPConfigIsAcceptedUnchanged() throws {
        let config = try parse("""
            {"resourceList": [
              {"resourceName": "intel_sriov_netdevice",
               "selectors": {"vendors": ["8086"], "devices": ["154c", "10ed", "1889"], "drivers": ["i40evf", "iavf", "ixgbevf"]}},
              {"resourceName": "intel_sriov_dpdk", "resourcePrefix": "intel.com",
               "selectors": [{"vendors": ["8086"], "devices": ["154c", "10ed"], "drivers": ["vfio-pci"], "pfNames": ["enp0s0f0", "enp2s2f1#0-3,5"]}]},
              {"resourceName": "mlnx_sriov_rdma", "resourcePrefix": "mellanox.com", "excludeTopology": true,
               "selectors": {"vendors": ["15b3"], "devices": ["1018"], "drivers": ["mlx5_ib"], "isRdma": true}},
              {"resourceName": "intel_fpga", "deviceType": "accelerator",
               "selectors": {"vendors": ["8086"], "devices": ["0d90"]},
               "additionalInfo": {"*": {"token": "3e49019f-412f-4f02-824e-4cd195944205"}}}
            ]}
            """)
        XCTAssertEqual(config.pools.map(\.qualifiedName), ["intel.com/intel_sriov_netdevice", "intel.com/intel_sriov_dpdk",
                                                           "mellanox.com/mlnx_sriov_rdma", "intel.com/intel_fpga"])
        XCTAssertEqual(config.pools.map(\.deviceType), [.netDevice, .netDevice, .netDevice, .accelerator])
        XCTAssertEqual(config.pools[0].selectors.first?.devices, ["154c", "10ed", "1889"])
        XCTAssertEqual(config.pools[1].selectors.first?.pfNames, [
            PFNameSelector(pf: "enp0s0f0", vfIndexes: nil), PFNameSelector(pf: "enp2s2f1", vfIndexes: [0...3, 5...5]),
        ])
        XCTAssertEqual(config.pools[2].excludeTopology, true)
        XCTAssertEqual(config.pools[2].selectors.first?.isRdma, true)
        XCTAssertTrue(config.pools[2].handsOutRDMA)
        XCTAssertEqual(config.pools[3].additionalInfo, ["*": ["token": "3e49019f-412f-4f02-824e-4cd195944205"]])
    }

    func testSharedRDMAPoolsInBothSpellings() throws {
        let config = try parse("""
            {"resourceList": [{"resourceName": "roce_shared", "rdmaHcaMax": 100, "selectors": {"ifNames": ["enp1s0v0"]}}],
             "configList": [{"resourceName": "hca_shared_devices_a", "rdmaHcaMax": 1000,
                             "selectors": {"vendors": ["15b3"], "deviceIDs": ["1017"], "drivers": ["mlx5_core"]}}],
             "periodicUpdateInterval": 300}
            """)
        XCTAssertEqual(config.pools.map(\.qualifiedName), ["rdma/roce_shared", "rdma/hca_shared_devices_a"])
        XCTAssertEqual(config.pools.map(\.deviceType), [.rdmaShared, .rdmaShared])
        XCTAssertEqual(config.pools.map(\.rdmaHcaMax), [100, 1000])
        XCTAssertEqual(config.pools[1].selectors.first?.devices, ["1017"])
    }

    func testInvalidConfigsNameTheResourceKeyAndValue() {
        let cases: [(String, String)] = [
            ("{", "config: not valid JSON"),
            ("[]", "config: the top level must be an object with \"resourceList\""),
            ("{}", "config: missing required key \"resourceList\""),
            (#"{"resourceLists": []}"#, "config: unknown key \"resourceLists\""),
            (#"{"configList": [], "periodicUpdateInterval": "5m"}"#,
             "config: periodicUpdateInterval: \"5m\" is not a whole number of seconds (0 or more)"),
            (#"{"configList": [], "periodicUpdateInterval": -1}"#,
             "config: periodicUpdateInterval: -1 is not a whole number of seconds (0 or more)"),
            (#"{"resourceList": [{"selectors": {}}]}"#, "config: missing required key \"resourceName\""),
            (#"{"resourceList": [{"resourceName": "a.b"}]}"#, "config: resource \"a.b\": resourceName: \"a.b\" must match ^[a-zA-Z0-9_-]+$"),
            (#"{"resourceList": [{"resourceName": "a", "selector": {}}]}"#, "config: resource \"a\": unknown key \"selector\""),
            (#"{"resourceList": [{"resourceName": "a", "selectors": {"vendor": ["8086"]}}]}"#,
             "config: resource \"a\": selectors: unknown key \"vendor\""),
            (#"{"resourceList": [{"resourceName": "a", "selectors": [{"vendors": ["80866"]}]}]}"#,
             "config: resource \"a\": selectors[0].vendors: \"80866\" is not a 4-digit hex ID such as \"8086\""),
            (#"{"resourceList": [{"resourceName": "a", "selectors": [{}, {"pfNames": ["ens1#3-1"]}]}]}"#,
             "config: resource \"a\": selectors[1].pfNames: \"ens1#3-1\" has a descending range 3-1"),
            (#"{"resourceList": [{"resourceName": "a", "selectors": [{"pfNames": ["ens1#x"]}]}]}"#,
             "config: resource \"a\": selectors[0].pfNames: \"ens1#x\" has an invalid VF index range \"x\""),
            (#"{"resourceList": [{"resourceName": "a", "selectors": [{"pciAddresses": ["3b:02"]}]}]}"#,
             "config: resource \"a\": selectors[0].pciAddresses: \"3b:02\" is not a PCI address such as \"0000:3b:02.0\""),
            (#"{"resourceList": [{"resourceName": "a", "selectors": [{"isRdma": "yes"}]}]}"#,
             "config: resource \"a\": selectors[0].isRdma: must be true or false, not \"yes\""),
            (#"{"resourceList": [{"resourceName": "a", "excludeTopology": 1}]}"#,
             "config: resource \"a\": excludeTopology: must be true or false, not 1"),
            (#"{"resourceList": [{"resourceName": "a", "deviceType": "auxnetdevice"}]}"#,
             "config: resource \"a\": deviceType: \"auxnetdevice\" is not one of netDevice, accelerator, auxNetDevice, rdmaShared"),
            (#"{"resourceList": [{"resourceName": "a", "deviceType": "auxNetDevice", "selectors": {"auxTypes": ["eth"]}}]}"#,
             "config: resource \"a\": selectors.auxTypes: \"eth\" is not a supported auxiliary device type (only \"sf\", scalable functions)"),
            (#"{"resourceList": [{"resourceName": "a", "deviceType": "auxNetDevice", "selectors": {"pciAddresses": ["0000:08:00.0"]}}]}"#,
             "config: resource \"a\": selectors: unknown key \"pciAddresses\""),
            (#"{"resourceList": [{"resourceName": "a", "selectors": {"auxTypes": ["sf"]}}]}"#,
             "config: resource \"a\": selectors: unknown key \"auxTypes\""),
            (#"{"resourceList": [{"resourceName": "a", "deviceType": "auxNetDevice", "additionalInfo": {"mlx5_core.sf": {}}}]}"#,
             "config: resource \"a\": additionalInfo: key \"mlx5_core.sf\" is neither \"*\" nor a PCI address nor an auxiliary device name"),
            (#"{"resourceList": [{"resourceName": "a", "deviceType": "accelerator", "selectors": {"pfNames": ["x"]}}]}"#,
             "config: resource \"a\": selectors: unknown key \"pfNames\""),
            (#"{"resourceList": [{"resourceName": "a", "deviceType": "rdmaShared"}]}"#,
             "config: resource \"a\": missing required key \"rdmaHcaMax\""),
            (#"{"resourceList": [{"resourceName": "a", "rdmaHcaMax": -1}]}"#,
             "config: resource \"a\": rdmaHcaMax: -1 is not a whole number from 0 to 10000"),
            (#"{"resourceList": [{"resourceName": "a", "selectors": {"rootDevices": ["ens1f0#0-3"]}}]}"#,
             "config: resource \"a\": selectors.rootDevices: \"ens1f0#0-3\" is not a PF's PCI address"),
            (#"{"resourceList": [{"resourceName": "a", "devices": ["ib0"]}]}"#,
             "config: resource \"a\": unknown key \"devices\""),
            (#"{"resourceList": [{"resourceName": "a", "resourcePrefix": "Intel.com"}]}"#,
             "config: resource \"a\": resourcePrefix: \"Intel.com\" is not a DNS subdomain, and kubelet refuses resource names under it"),
            (#"{"resourceList": [{"resourceName": "a"}, {"resourceName": "a"}]}"#,
             "config: resource \"a\": \"intel.com/a\" is defined twice"),
            (#"{"resourceList": [{"resourceName": "a", "additionalInfo": {"eth0": {}}}]}"#,
             "config: resource \"a\": additionalInfo: key \"eth0\" is neither \"*\" nor a PCI address"),
            (#"{"resourceList": [{"resourceName": "a", "selectors": [{"isRdma": true, "vdpaType": "vhost"}]}]}"#,
             "config: resource \"a\": selectors: isRdma and vdpaType cannot be combined"),
            (#"{"resourceList": [{"resourceName": "a", "allocationPolicy": "random"}]}"#,
             "config: resource \"a\": allocationPolicy: \"random\" is not one of spread, pack"),
        ]
        for (json, expected) in cases {
            let message = error(json)
            XCTAssertTrue(message.hasPrefix(expected), "\(json)\n got: \(message)\nwant: \(expected)")
        }
    }

    // MARK: Keys as the Go plugins read them

    /// sriov-network-operator's rendering: Go types without JSON tags.
    func testOperatorRenderedConfigLoadsWithItsGoFieldNames() throws {
        let config = try PoolsConfig.parse(Data(#"""
            {"resourceList":[{"resourceName":"x","selectors":{"vendors":["15b3"],"devices":["101e"],
             "pfNames":["ens1f0#0-7"],"rootDevices":["0000:3b:00.0"],"linkTypes":["ether"],
             "IsRdma":true,"NeedVhostNet":false},"excludeTopology":false,"SelectorObj":null}]}
            """#.utf8))
        XCTAssertEqual(config.warnings, [])
        let selector = try XCTUnwrap(config.pools.first?.selectors.first)
        XCTAssertEqual(selector.isRdma, true)
        XCTAssertEqual(selector.needVhostNet, false)
        XCTAssertEqual(selector.rootDevices, [RootDeviceSelector(pf: PCIAddress("0000:3b:00.0")!)])
        // Strict, the same file is refused at its first Go-cased key.
        XCTAssertThrowsError(try PoolsConfig.parse(Data(#"{"resourceList":[{"resourceName":"x","SelectorObj":null}]}"#.utf8), strict: true)) {
            XCTAssertEqual("\($0)", #"config: resource "x": unknown key "SelectorObj""#)
        }
    }

    func testKnownKeysMatchInAnyCaseAndUnknownOnesAreIgnoredWithAWarningNamingWhereTheySit() throws {
        let config = try PoolsConfig.parse(Data(#"""
            {"ResourceList": [{"RESOURCENAME": "a", "resourceprefix": "example.com", "Colour": "red",
                               "selectors": [{"Vendors": ["8086"], "vendor": ["15b3"]}]}],
             "comment": "x"}
            """#.utf8))
        XCTAssertEqual(config.pools.map(\.qualifiedName), ["example.com/a"])
        XCTAssertEqual(config.pools[0].selectors[0].vendors, ["8086"])
        XCTAssertEqual(config.warnings.map(\.description), [
            #"config: unknown key "comment" ignored"#,
            #"config: resource "a": unknown key "Colour" ignored"#,
            #"config: resource "a": selectors[0]: unknown key "vendor" ignored"#,
        ])
        // A key given twice in two cases takes the last value, as Go's decoder does.
        let twice = try PoolsConfig.parse(Data(#"{"resourceList": [{"resourceName": "a", "selectors": {"isRdma": true, "IsRdma": false}}]}"#.utf8))
        XCTAssertEqual(twice.pools[0].selectors[0].isRdma, false)
    }

    func testRootDevicesTakeVFRangesAsPFNamesDo() throws {
        let config = try parse(#"{"resourceList": [{"resourceName": "a", "selectors": {"rootDevices": ["0000:3b:00.0#0-3,7", "0000:5e:00.0"]}}]}"#)
        XCTAssertEqual(config.pools[0].selectors[0].rootDevices, [
            RootDeviceSelector(pf: PCIAddress("0000:3b:00.0")!, vfIndexes: [0...3, 7...7]),
            RootDeviceSelector(pf: PCIAddress("0000:5e:00.0")!),
        ])
    }

    /// k8s-rdma-shared-dev-plugin's own ConfigMap and tests: `devices` (netdev names)
    /// beside the selectors, and `rdmaHcaMax: 0`.
    func testSharedRDMAConfigListTakesDevicesAndZeroSlots() throws {
        let config = try parse(#"""
            {"periodicUpdateInterval": 300, "configList": [
              {"resourceName": "hca_shared_devices_a", "rdmaHcaMax": 1000, "devices": ["ib0", "ib1"]},
              {"resourceName": "hca_shared_devices_b", "rdmaHcaMax": 0, "selectors": {"vendors": ["15b3"], "ifNames": ["ib2"]}}]}
            """#)
        XCTAssertEqual(config.pools.map(\.qualifiedName), ["rdma/hca_shared_devices_a", "rdma/hca_shared_devices_b"])
        XCTAssertEqual(config.pools[0].selectors.map(\.ifNames), [["ib0", "ib1"]])
        XCTAssertEqual(config.pools[1].selectors.map(\.ifNames), [["ib2"]])
        XCTAssertEqual(config.pools[1].rdmaHcaMax, 0)
    }

    /// k8s-rdma-shared-dev-plugin's ValidateConfigs: a configList entry has devices or
    /// selectors (an all-empty selector is none), and the list is not empty.
    func testSharedRDMAConfigListRefusesWhatK8sRDMASharedDevPluginRefuses() {
        let cases: [(String, String)] = [
            (#"{"configList": [{"resourceName": "a", "rdmaHcaMax": 1, "devices": ["ib0"], "selectors": {"ifNames": ["ib1"]}}]}"#,
             #"config: resource "a": devices: cannot be combined with selectors: put the netdev names in selectors.ifNames"#),
            (#"{"configList": [{"resourceName": "a", "rdmaHcaMax": 1}]}"#,
             #"config: resource "a": selectors: missing: a configList resource needs selectors, or devices (netdev names), to choose its RDMA devices"#),
            (#"{"configList": [{"resourceName": "a", "rdmaHcaMax": 1, "selectors": {"vendors": [], "ifNames": []}}]}"#,
             #"config: resource "a": selectors: missing: a configList resource needs selectors, or devices (netdev names), to choose its RDMA devices"#),
            (#"{"configList": []}"#, "config: configList: is empty: no resource is configured"),
            (#"{"resourceList": []}"#, "config: resourceList: is empty: no resource is configured"),
        ]
        for (text, message) in cases {
            XCTAssertThrowsError(try parse(text), text) { XCTAssertEqual("\($0)", message, text) }
        }
    }

    func testPFNameRangeForms() throws {
        XCTAssertEqual(try PFNameSelector.parse("ens1f0"), PFNameSelector(pf: "ens1f0", vfIndexes: nil))
        XCTAssertEqual(try PFNameSelector.parse("0000:3b:00.0#2"), PFNameSelector(pf: "0000:3b:00.0", vfIndexes: [2...2]))
        XCTAssertEqual(try PFNameSelector.parse("ens1f0#0-3,5,8-9"), PFNameSelector(pf: "ens1f0", vfIndexes: [0...3, 5...5, 8...9]))
        let selector = try PFNameSelector.parse("ENS1F0#0-3,5")
        XCTAssertTrue(selector.matches(pfName: "ens1f0", pfAddress: nil, vfIndex: 5))
        XCTAssertFalse(selector.matches(pfName: "ens1f0", pfAddress: nil, vfIndex: 4))
        XCTAssertFalse(selector.matches(pfName: "ens1f0", pfAddress: nil, vfIndex: nil))
        XCTAssertFalse(selector.matches(pfName: "ens1f1", pfAddress: nil, vfIndex: 0))
        for bad in ["", "#1", "a#", "a#1-", "a#-1", "a#1#2"] {
            XCTAssertThrowsError(try PFNameSelector.parse(bad), bad)
        }
    }
}
