@testable import HostDevices
import Foundation
import Synchronization
import SysfsFixtures
import XCTest

/// What makes a scan of thousands of functions cheap, and keeps its answers the same:
/// reads shared out among threads, char devices owned by their class link, ports
/// opened in turn, and the daemon's lighter `.forPools` detail.
final class ScanAtScaleTests: XCTestCase {
    func testConcurrentMapKeepsOrderAndTransformsEachItemOnce() {
        let calls = Mutex<[Int: Int]>([:])
        let items = Array(0..<10_000)
        let doubled = concurrentMap(items, workers: 4, minimumItems: 8) { item -> Int in
            calls.withLock { $0[item, default: 0] += 1 }
            return item * 2
        }
        XCTAssertEqual(doubled, items.map { $0 * 2 })
        let counts = calls.withLock { $0 }
        XCTAssertEqual(counts.count, items.count)
        XCTAssertEqual(Set(counts.values), [1])
    }

    func testConcurrentMapUsesOtherThreadsOnlyForEnoughItems() {
        let caller = pthread_self()
        let threads = Mutex<Set<Bool>>([])
        _ = concurrentMap(Array(0..<10), workers: 4, minimumItems: 128) { _ in
            threads.withLock { $0.insert(pthread_equal(pthread_self(), caller) != 0) }
        }
        XCTAssertEqual(threads.withLock { $0 }, [true], "10 items are mapped on the calling thread")

        // With many items, a second thread takes some of them. The caller holds its
        // first item until another thread has mapped one (10 s at most), so this does
        // not depend on how the threads happen to be scheduled.
        let onCaller = Mutex<[Bool]>([])
        let mappedElsewhere = Mutex(false)
        _ = concurrentMap(Array(0..<256), workers: 2, minimumItems: 16) { _ in
            let here = pthread_equal(pthread_self(), caller) != 0
            if here {
                let deadline = ContinuousClock.now + .seconds(10)
                while !mappedElsewhere.withLock({ $0 }), ContinuousClock.now < deadline { sched_yield() }
            } else {
                mappedElsewhere.withLock { $0 = true }
            }
            onCaller.withLock { $0.append(here) }
        }
        let where_ = onCaller.withLock { $0 }
        XCTAssertEqual(where_.count, 256)
        XCTAssertTrue(where_.contains(false), "no item was mapped on another thread")
    }

    /// 2 PFs × 128 VFs: enough functions that the scan reads them on several threads.
    func testLargeNodeScanIsCompleteAndConsistent() throws {
        let node = try SRIOVNodeFixture(pfs: 2, vfsPerPF: 128)
        let snapshot = HostSnapshot.scan(roots: HostRoots(sysRoot: node.tree.path, devRoot: node.tree.devPath))
        XCTAssertEqual(snapshot.pciDevices.count, 2 + 256)
        XCTAssertEqual(snapshot.pciDevices.map(\.address), snapshot.pciDevices.map(\.address).sorted())
        for (pf, vfs) in zip(node.pfAddresses, node.vfAddresses) {
            for (index, vf) in vfs.enumerated() {
                let device = try XCTUnwrap(snapshot.device(at: PCIAddress(vf)!))
                XCTAssertEqual(device.pfAddress, PCIAddress(pf))
                XCTAssertEqual(device.vfIndex, index)
            }
        }
        // Every RDMA device has its own uverbs, umad and issm, each exactly once.
        let uverbs = snapshot.rdmaDevices.compactMap(\.characterDevices.uverbs)
        XCTAssertEqual(uverbs.count, snapshot.rdmaDevices.count)
        XCTAssertEqual(Set(uverbs).count, uverbs.count)
        XCTAssertEqual(Set(snapshot.rdmaDevices.compactMap(\.characterDevices.umad)).count, snapshot.rdmaDevices.count)
        for device in snapshot.rdmaDevices {
            XCTAssertEqual(device.ports.map(\.number), [1], device.name)
            XCTAssertNotNil(device.pciAddress, device.name)
        }
    }

    /// The daemon's rescans read a VF netdev's link type only; a PF's link state stays,
    /// since it is its VFs' health.
    func testForPoolsDetailKeepsWhatPoolsAndHealthRead() throws {
        let tree = try SysfsFixture()
        let pf = try tree.pciFunction("0000:01:00.0", vendor: "0x8086", device: "0x10c9", classCode: "0x020000", driver: "igb")
        try tree.write("\(pf)/sriov_totalvfs", "7")
        try tree.write("\(pf)/sriov_numvfs", "1")
        try tree.netdev("enp1s0", under: pf, mtu: 1500, mac: "52:54:00:12:34:56", operstate: "down", carrier: 0, physPortName: "p0")
        let vf = try tree.pciFunction("0000:01:10.0", vendor: "0x8086", device: "0x10ca", classCode: "0x020000", driver: "igbvf")
        try tree.link("\(pf)/virtfn0", to: "../0000:01:10.0")
        try tree.link("\(vf)/physfn", to: "../0000:01:00.0")
        try tree.netdev("enp1s0v0", under: vf, mtu: 9000, mac: "02:00:00:00:00:01")
        let roots = HostRoots(sysRoot: tree.path)

        let light = HostSnapshot.scan(roots: roots, detail: .forPools)
        let vfNetdev = try XCTUnwrap(light.networkInterfaces.first { $0.name == "enp1s0v0" })
        XCTAssertEqual(vfNetdev, NetworkInterface(name: "enp1s0v0", linkType: 1, pciAddress: PCIAddress("0000:01:10.0")))
        let pfNetdev = try XCTUnwrap(light.networkInterfaces.first { $0.name == "enp1s0" })
        XCTAssertEqual(pfNetdev.operState, "down")
        XCTAssertEqual(pfNetdev.carrier, false)
        XCTAssertEqual(pfNetdev.physPortName, "p0")
        XCTAssertEqual(light.pfName(of: PCIAddress("0000:01:00.0")!), "enp1s0")

        let full = HostSnapshot.scan(roots: roots)
        let fullVF = try XCTUnwrap(full.networkInterfaces.first { $0.name == "enp1s0v0" })
        XCTAssertEqual(fullVF.mtu, 9000)
        XCTAssertEqual(fullVF.macAddress, MACAddress("02:00:00:00:00:01"))
        XCTAssertEqual(fullVF.operState, "up")
        XCTAssertEqual(fullVF.carrier, true)
        XCTAssertEqual(light.pciDevices, full.pciDevices)
    }

    /// A char device whose parent function has one RDMA device belongs to it by its
    /// class link alone; with two RDMA devices on the function, or no link to follow,
    /// its `ibdev` file decides.
    func testCharDeviceOwnersFromClassLinksAndIbdevFiles() throws {
        let tree = try SysfsFixture()
        let one = try tree.pciFunction("0000:3b:00.0", vendor: "0x15b3", device: "0x101d", classCode: "0x020000", driver: "mlx5_core")
        let two = try tree.pciFunction("0000:3b:00.1", vendor: "0x15b3", device: "0x101d", classCode: "0x020000", driver: "mlx5_core")
        func rdma(_ name: String, under function: String) throws {
            try tree.write("\(function)/infiniband/\(name)/ports/1/state", "4: ACTIVE")
            try tree.link("class/infiniband/\(name)", to: "../../\(function)/infiniband/\(name)")
        }
        try rdma("mlx5_0", under: one)
        try rdma("mlx5_1", under: two)
        try rdma("mlx5_2", under: two)
        // uverbs0's ibdev file lies: the class link decides for a sole device.
        for (entry, function, ibdev) in [("uverbs0", one, "wrong"), ("uverbs1", two, "mlx5_2"), ("uverbs2", two, "mlx5_1")] {
            try tree.write("\(function)/infiniband_verbs/\(entry)/ibdev", ibdev)
            try tree.link("class/infiniband_verbs/\(entry)", to: "../../\(function)/infiniband_verbs/\(entry)")
        }
        // Not a link at all: only the file can say.
        try tree.write("class/infiniband_mad/umad0/ibdev", "mlx5_2")
        let snapshot = HostSnapshot.scan(roots: HostRoots(sysRoot: tree.path, devRoot: "/dev"))
        let byName = Dictionary(uniqueKeysWithValues: snapshot.rdmaDevices.map { ($0.name, $0.characterDevices) })
        XCTAssertEqual(byName["mlx5_0"]?.uverbs, "/dev/infiniband/uverbs0")
        XCTAssertEqual(byName["mlx5_1"]?.uverbs, "/dev/infiniband/uverbs2")
        XCTAssertEqual(byName["mlx5_2"]?.uverbs, "/dev/infiniband/uverbs1")
        XCTAssertEqual(byName["mlx5_2"]?.umad, "/dev/infiniband/umad0")
        XCTAssertNil(byName["wrong"])
    }

    /// Ports are opened in turn from 1 (a switch has port 0 alone), with no gap.
    func testPortsFromOneUpwardOrSwitchPortZero() throws {
        let tree = try SysfsFixture()
        for port in 1...2 {
            try tree.write("devices/virtual/infiniband/mlx4_0/ports/\(port)/state", "4: ACTIVE")
            try tree.write("devices/virtual/infiniband/mlx4_0/ports/\(port)/link_layer", port == 1 ? "InfiniBand" : "Ethernet")
        }
        try tree.write("devices/virtual/infiniband/switch0/ports/0/state", "1: DOWN")
        try tree.directory("devices/virtual/infiniband/noports0")
        for name in ["mlx4_0", "switch0", "noports0"] {
            try tree.link("class/infiniband/\(name)", to: "../../devices/virtual/infiniband/\(name)")
        }
        let snapshot = HostSnapshot.scan(roots: HostRoots(sysRoot: tree.path))
        let ports = Dictionary(uniqueKeysWithValues: snapshot.rdmaDevices.map { ($0.name, $0.ports) })
        XCTAssertEqual(ports["mlx4_0"]?.map(\.number), [1, 2])
        XCTAssertEqual(ports["mlx4_0"]?.map(\.linkLayer), ["InfiniBand", "Ethernet"])
        XCTAssertEqual(ports["switch0"], [RDMAPort(number: 0, state: 1, stateName: "DOWN", linkLayer: nil)])
        XCTAssertEqual(ports["noports0"], [])
    }

    /// A CNI call reads one VF and its PF: what it learns of them is what a full scan says.
    func testScanOfSomeFunctionsAgreesWithTheFullScan() throws {
        let node = try SRIOVNodeFixture(pfs: 2, vfsPerPF: 4)
        let trees = [try EdgeCaseFixtures.softRoCE(), try EdgeCaseFixtures.netdevInOtherNamespace(), try EdgeCaseFixtures.switchdevRepresentors()]
        for roots in [HostRoots(sysRoot: node.tree.path, devRoot: node.tree.devPath)] + trees.map({ HostRoots(sysRoot: $0.path, devRoot: $0.devPath) }) {
            let full = HostSnapshot.scan(roots: roots)
            for vf in full.virtualFunctions {
                let some = HostSnapshot.scan(roots: roots, functions: [vf.address])
                let pf = try XCTUnwrap(vf.pfAddress)
                XCTAssertEqual(some.pciDevices.map(\.address), [pf, vf.address].sorted())
                XCTAssertEqual(some.device(at: vf.address), vf)
                XCTAssertEqual(some.device(at: pf), full.device(at: pf))
                XCTAssertEqual(some.interfaces(of: vf.address), full.interfaces(of: vf.address))
                XCTAssertEqual(some.pfName(of: pf), full.pfName(of: pf))
                XCTAssertEqual(some.rdmaDevices(of: vf.address), full.rdmaDevices(of: vf.address), "\(vf.address)")
                XCTAssertEqual(some.netdevNotVisible(vf), full.netdevNotVisible(vf))
            }
        }
        // A function that is not there: nothing.
        let none = HostSnapshot.scan(roots: HostRoots(sysRoot: node.tree.path), functions: [PCIAddress("0000:99:00.0")!])
        XCTAssertEqual(none.pciDevices, [])
        XCTAssertEqual(none.networkInterfaces, [])
    }

    func testRoutingIDArithmetic() {
        let pf = PCIAddress("0000:10:00.0")!
        XCTAssertEqual(pf.routingID, 0x1000)
        XCTAssertEqual(PCIAddress("0000:3b:02.6")!.routingID, 0x3b16)
        XCTAssertEqual(pf.withRoutingID(0x1000 + 8 + 255), PCIAddress("0000:11:00.7"))
        XCTAssertEqual(PCIAddress("0001:01:00.0")!.withRoutingID(0x180), PCIAddress("0001:01:10.0"), "the domain is the PF's")
        XCTAssertNil(pf.withRoutingID(0x10000))
        // igb: offset 128, stride 2.
        XCTAssertEqual(HostScanner.routedVirtualFunctions(of: PCIAddress("0000:01:00.0")!, count: 3, offset: 128, stride: 2),
                       [0: PCIAddress("0000:01:10.0")!, 1: PCIAddress("0000:01:10.2")!, 2: PCIAddress("0000:01:10.4")!])
        XCTAssertEqual(HostScanner.routedVirtualFunctions(of: pf, count: 0, offset: 8, stride: 1), [:])
        XCTAssertNil(HostScanner.routedVirtualFunctions(of: pf, count: 2, offset: 8, stride: 0), "two VFs cannot share one ID")
        XCTAssertNil(HostScanner.routedVirtualFunctions(of: PCIAddress("0000:ff:00.0")!, count: 300, offset: 8, stride: 1),
                     "past bus ff")
    }

    /// With `sriov_offset` and `sriov_stride` no `virtfnN` link is read, and the VF
    /// list, indexes and PFs are the ones the links give, across a bus boundary too.
    func testVFListFromRoutingIDsAgreesWithTheVirtfnLinks() throws {
        let node = try SRIOVNodeFixture(pfs: 2, vfsPerPF: 256, rdma: false)
        for detail in [ScanDetail.all, .forPools] {
            let snapshot = HostSnapshot.scan(roots: HostRoots(sysRoot: node.tree.path, devRoot: node.tree.devPath), detail: detail)
            for (pf, vfs) in zip(node.pfAddresses, node.vfAddresses) {
                let sriov = try XCTUnwrap(snapshot.device(at: PCIAddress(pf)!)?.sriov)
                XCTAssertEqual(sriov.source, .routingIDs, pf)
                XCTAssertEqual(sriov.virtualFunctions.count, 256)
                for index in [0, 1, 247, 248, 255] {
                    // What the PF's link says, read here with readlink(2).
                    let target = try FileManager.default.destinationOfSymbolicLink(
                        atPath: "\(node.tree.path)/bus/pci/devices/\(pf)/virtfn\(index)")
                    let linked = try XCTUnwrap(PCIAddress((target as NSString).lastPathComponent))
                    XCTAssertEqual(sriov.virtualFunctions[index], linked)
                    XCTAssertEqual(linked.description, vfs[index])
                    let vf = try XCTUnwrap(snapshot.device(at: linked))
                    XCTAssertEqual(vf.vfIndex, index)
                    XCTAssertEqual(vf.pfAddress, PCIAddress(pf))
                }
            }
            XCTAssertEqual(snapshot.virtualFunctions.count, 512)
            XCTAssertTrue(snapshot.virtualFunctions.allSatisfy { $0.vfIndex != nil })
        }
    }

    /// A VF that is not where offset and stride put it sends its PF back to the
    /// links; a tree without the attributes (an older kernel) uses the links.
    func testMisplacedVFOrNoOffsetFallsBackToTheLinks() throws {
        let node = try SRIOVNodeFixture(pfs: 2, vfsPerPF: 4, rdma: false)
        let pfDir = "bus/pci/devices/\(node.pfAddresses[0])"
        try node.tree.write("\(pfDir)/sriov_offset", "9")  // one off: VF 0 would be VF 1's address
        try FileManager.default.removeItem(atPath: "\(node.tree.path)/bus/pci/devices/\(node.pfAddresses[1])/sriov_stride")
        for functions in [nil, Set([PCIAddress(node.vfAddresses[0][2])!, PCIAddress(node.vfAddresses[1][3])!])] {
            let roots = HostRoots(sysRoot: node.tree.path, devRoot: node.tree.devPath)
            let snapshot = functions.map { HostSnapshot.scan(roots: roots, functions: $0) } ?? HostSnapshot.scan(roots: roots)
            for (pf, vfs) in zip(node.pfAddresses, node.vfAddresses) {
                let sriov = try XCTUnwrap(snapshot.device(at: PCIAddress(pf)!)?.sriov)
                XCTAssertEqual(sriov.source, .virtfnLinks, pf)
                XCTAssertEqual(sriov.virtualFunctions, Dictionary(uniqueKeysWithValues: vfs.enumerated().map { ($0, PCIAddress($1)!) }))
                for (index, vf) in vfs.enumerated() where functions?.contains(PCIAddress(vf)!) ?? true {
                    XCTAssertEqual(snapshot.device(at: PCIAddress(vf)!)?.vfIndex, index, vf)
                }
            }
        }
    }
}
