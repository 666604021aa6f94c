import CNI
import HostDevices
import JSONValue
import Netlink
@testable import VFAttach
import XCTest

/// The attachment record lives on disk from ADD to DEL, across plugin upgrades: a
/// record written by an earlier version reads back and writes out byte for byte.
final class AttachmentRecordTests: XCTestCase {
    /// A record for a VF behind a PF, with every optional member, as version 1 writes it.
    let writtenForAVF = #"{"version":1,"phase":"added","network":"sriov-net","containerID":"cid1","ifname":"net1","#
        + #""netns":"/var/run/netns/pod","deviceID":"0000:3b:02.3","#
        + #""pf":{"address":"0000:3b:00.0","netdev":"enp59s0f0","vf":3},"#
        + #""host":{"name":"enp59s0f0v3","mac":"02:56:0a:00:00:03","mtu":1500,"up":true,"alias":"uplink"},"#
        + #""originalVF":{"mac":"00:00:00:00:00:00","vlan":0,"vlanQoS":0,"vlanProto":33024,"min_tx_rate":0,"#
        + #""max_tx_rate":0,"spoofchk":true,"trust":false,"link_state":"auto"},"#
        + #""appliedVF":["vlan","mac","rate","spoofchk","trust","link_state"],"ipam":"host-local","rdma":{"device":"mlx5_3","moved":true},"#
        + #""result":{"cniVersion":"1.0.0","interfaces":[{"name":"net1"}]}}"#

    /// A record for a PCI function that is no VF: no pf, no originalVF, nothing applied.
    let writtenForAFunction = #"{"version":1,"phase":"adding","network":"sriov-net","containerID":"cid1","ifname":"net1","#
        + #""netns":"/var/run/netns/pod","deviceID":"0000:00:0a.0","#
        + #""host":{"name":"vf0","mac":"02:56:0a:00:00:00","mtu":1500,"up":false},"appliedVF":[]}"#

    /// A VF on a userspace driver: no host netdev, the driver instead.
    let writtenForAUserspaceVF = #"{"version":1,"phase":"added","network":"sriov-dpdk","containerID":"cid1","ifname":"net1","#
        + #""netns":"/var/run/netns/pod","deviceID":"0000:3b:02.4","#
        + #""pf":{"address":"0000:3b:00.0","netdev":"enp59s0f0","vf":4},"userspaceDriver":"vfio-pci","#
        + #""originalVF":{"mac":"00:00:00:00:00:00","vlan":0,"vlanQoS":0,"vlanProto":33024,"min_tx_rate":0,"#
        + #""max_tx_rate":0,"spoofchk":true,"trust":false},"appliedVF":["vlan"],"ipam":"host-local"}"#

    /// An InfiniBand VF whose GUID ADD set: the original GUIDs, the rebind driver, the pkey.
    let writtenForAnInfiniBandVF = #"{"version":1,"phase":"added","network":"ib-net","containerID":"cid1","ifname":"net1","#
        + #""netns":"/var/run/netns/pod","deviceID":"0000:3b:00.2","#
        + #""pf":{"address":"0000:3b:00.0","netdev":"ibp59s0","vf":0},"#
        + #""host":{"name":"ibp59s0v0","mac":"00:00:01:07:fe:80:00:00:00:00:00:00:00:00:00:00:00:00:00:00","mtu":4092,"up":false},"#
        + #""appliedVF":[],"ipam":"host-local","infiniBand":{"originalNodeGUID":"00:00:00:00:00:00:00:00","#
        + #""originalPortGUID":"00:00:00:00:00:00:00:00","guid":"02:00:00:00:00:00:00:2a","rebindDriver":"mlx5_core","#
        + #""pkey":"0x8005","rebound":true}}"#

    func testARecordOfAnInfiniBandVFReadsBackAndIsWrittenOutByteForByte() throws {
        let record = try AttachmentRecord(json: JSON.parse(Array(writtenForAnInfiniBandVF.utf8)), file: "cid1-net1.json")
        let infiniBand = try XCTUnwrap(record.infiniBand)
        XCTAssertEqual(infiniBand.guid, InfiniBandGUID("02:00:00:00:00:00:00:2a"))
        XCTAssertEqual(infiniBand.rebindDriver, "mlx5_core")
        XCTAssertTrue(infiniBand.rebound)
        // All zeros cannot be set back: DEL writes all ones, as ib-sriov-cni does.
        XCTAssertEqual(infiniBand.restoredNodeGUID, .allOnes)
        XCTAssertEqual(infiniBand.restoredPortGUID, .allOnes)
        XCTAssertEqual(record.host?.mac.bytes.count, 20)
        XCTAssertEqual(record.json.serialized, writtenForAnInfiniBandVF)
    }

    func testARecordOfAUserspaceVFReadsBackAndIsWrittenOutByteForByte() throws {
        let record = try AttachmentRecord(json: JSON.parse(Array(writtenForAUserspaceVF.utf8)), file: "cid1-net1.json")
        XCTAssertNil(record.host)
        XCTAssertEqual(record.userspaceDriver, "vfio-pci")
        XCTAssertEqual(record.pf?.vfIndex, 4)
        XCTAssertEqual(record.appliedVF, [.vlan])
        XCTAssertEqual(record.json.serialized, writtenForAUserspaceVF)
    }

    /// Without a host netdev, the record must say why: a userspace driver.
    func testARecordWithNeitherHostNetdevNorUserspaceDriverIsRefused() throws {
        let text = writtenForAUserspaceVF.replacingOccurrences(of: #""userspaceDriver":"vfio-pci","#, with: "")
        XCTAssertThrowsError(try AttachmentRecord(json: JSON.parse(Array(text.utf8)), file: "cid1-net1.json")) { error in
            XCTAssertTrue("\(error)".contains("missing host netdev fields"), "\(error)")
        }
    }

    func testARecordOfAVFReadsBackAndIsWrittenOutByteForByte() throws {
        let record = try AttachmentRecord(json: JSON.parse(Array(writtenForAVF.utf8)), file: "cid1-net1.json")
        XCTAssertEqual(record.deviceID, PCIAddress("0000:3b:02.3"))
        XCTAssertEqual(record.pf?.address, PCIAddress("0000:3b:00.0"))
        XCTAssertEqual(record.pf?.netdev, "enp59s0f0")
        XCTAssertEqual(record.pf?.vfIndex, 3)
        XCTAssertEqual(record.host, AttachmentRecord.HostNetdev(name: "enp59s0f0v3", mac: MACAddress("02:56:0a:00:00:03")!,
                                                                mtu: 1500, up: true, alias: "uplink"))
        XCTAssertEqual(record.originalVF?.index, 3)
        XCTAssertEqual(record.originalVF?.vlan, VFVLAN(id: 0, qos: 0, proto: VFVLAN.protocol8021Q))
        XCTAssertEqual(record.originalVF?.spoofCheck, true)
        XCTAssertEqual(record.originalVF?.trust, false)
        XCTAssertEqual(record.originalVF?.linkState, .auto)
        XCTAssertEqual(record.appliedVF, [.vlan, .mac, .rate, .spoofCheck, .trust, .linkState])
        XCTAssertEqual(record.ipamType, "host-local")
        XCTAssertEqual(record.rdma, AttachmentRecord.RDMARecord(device: "mlx5_3", moved: true))
        XCTAssertEqual(record.phase, "added")
        XCTAssertEqual(record.json.serialized, writtenForAVF)
    }

    func testARecordOfAFunctionWithoutPFReadsBackAndIsWrittenOutByteForByte() throws {
        let record = try AttachmentRecord(json: JSON.parse(Array(writtenForAFunction.utf8)), file: "cid1-net1.json")
        XCTAssertNil(record.pf)
        XCTAssertNil(record.originalVF)
        XCTAssertNil(record.rdma)
        XCTAssertNotNil(record.host)
        XCTAssertEqual(record.host?.alias, nil)
        XCTAssertEqual(record.json.serialized, writtenForAFunction)
    }
}
