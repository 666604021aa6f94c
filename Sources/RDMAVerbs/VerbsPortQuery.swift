import CIBVerbs
import HostDevices

/// Reads RDMA ports through libibverbs: ibv_query_device for the port count,
/// ibv_query_port for state, physical state, link layer and MTU, ibv_query_gid_table
/// for the valid GIDs with their types (one call per device, in place of one
/// ibv_query_gid per slot).
/// Its own module so that only `sriov-rdma-dp` links libibverbs: the CNI plugin, which
/// uses HostDevices, must need nothing beyond glibc.
/// Thread-confined: it holds libibverbs's device list.
public final class VerbsPortQuery: RDMAPortQuery {
    private let list: UnsafeMutablePointer<UnsafeMutablePointer<ibv_device>?>?
    private var devices: [String: UnsafeMutablePointer<ibv_device>] = [:]

    /// Lists the devices libibverbs knows (none when the kernel has no RDMA: the list
    /// is then nil, with errno ENOSYS).
    public init() {
        var count: Int32 = 0
        list = ibv_get_device_list(&count)
        for index in 0..<Int(count) {
            if let device = list?[index] { devices[String(cString: ibv_get_device_name(device))] = device }
        }
    }

    deinit { if let list { ibv_free_device_list(list) } }

    public func ports(ofDevice name: String) -> [RDMAPort]? {
        guard let device = devices[name], let context = ibv_open_device(device) else { return nil }
        defer { ibv_close_device(context) }
        var deviceAttributes = ibv_device_attr()
        guard ibv_query_device(context, &deviceAttributes) == 0 else { return nil }
        var ports: [RDMAPort] = []
        var tableSize = 0
        for number in stride(from: 1, through: Int(deviceAttributes.phys_port_cnt), by: 1) {
            var port = ibv_port_attr()
            // ibv_query_port is a macro over this inline (the exported symbol takes the old struct).
            guard ___ibv_query_port(context, UInt8(number), &port) == 0 else { return nil }
            tableSize += Int(port.gid_tbl_len)
            ports.append(RDMAPort(
                number: number, state: Int(port.state.rawValue), stateName: portStateName(port.state.rawValue),
                // IBV_LINK_LAYER_UNSPECIFIED is what InfiniBand providers that predate the field answer.
                linkLayer: port.link_layer == UInt8(IBV_LINK_LAYER_ETHERNET) ? "Ethernet" : "InfiniBand",
                physicalStateName: physicalStateName(port.phys_state), activeMTU: mtuBytes(port.active_mtu.rawValue),
                source: .verbs))
        }
        guard tableSize > 0 else { return ports }
        var entries = [ibv_gid_entry](repeating: ibv_gid_entry(), count: tableSize)
        let valid = entries.withUnsafeMutableBufferPointer { buffer in
            ibv_query_gid_table(context, buffer.baseAddress, tableSize, 0)
        }
        guard valid >= 0 else { return nil }
        for entry in entries.prefix(Int(valid)) {
            guard let position = ports.firstIndex(where: { $0.number == Int(entry.port_num) }) else { continue }
            let index = Int(entry.gid_index)
            ports[position].gids[index] = gidText(entry.gid)
            ports[position].gidTypes[index] = gidTypeName(entry.gid_type)
        }
        return ports
    }
}

/// As sysfs prints a GID (`%pI6`): eight groups of four lower-case hex digits.
func gidText(_ gid: ibv_gid) -> String {
    withUnsafeBytes(of: gid.raw) { bytes in
        stride(from: 0, to: 16, by: 2).map { offset in
            let group = UInt16(bytes[offset]) << 8 | UInt16(bytes[offset + 1])
            let digits = String(group, radix: 16)
            return String(repeating: "0", count: 4 - digits.count) + digits
        }.joined(separator: ":")
    }
}

/// drivers/infiniband/core/sysfs.c state_show: the names `ports/N/state` prints.
func portStateName(_ state: UInt32) -> String {
    switch state {
    case IBV_PORT_NOP.rawValue: "NOP"
    case IBV_PORT_DOWN.rawValue: "DOWN"
    case IBV_PORT_INIT.rawValue: "INIT"
    case IBV_PORT_ARMED.rawValue: "ARMED"
    case IBV_PORT_ACTIVE.rawValue: "ACTIVE"
    case IBV_PORT_ACTIVE_DEFER.rawValue: "ACTIVE_DEFER"
    default: "state \(state)"
    }
}

/// include/rdma/ib_verbs.h phys_state_to_str: the names `ports/N/phys_state` prints.
func physicalStateName(_ state: UInt8) -> String {
    switch state {
    case 1: "Sleep"
    case 2: "Polling"
    case 3: "Disabled"
    case 4: "PortConfigurationTraining"
    case 5: "LinkUp"
    case 6: "LinkErrorRecovery"
    case 7: "Phy Test"
    default: "state \(state)"
    }
}

/// Bytes of an `ibv_mtu` value (IBV_MTU_256 = 1 ... IBV_MTU_4096 = 5); 0 for none.
func mtuBytes(_ mtu: UInt32) -> Int { mtu >= 1 && mtu <= 5 ? 128 << Int(mtu) : 0 }

/// enum ibv_gid_type, spelled as `ibv_devinfo -v` and sysfs (for RoCE v2) spell it.
func gidTypeName(_ type: UInt32) -> String {
    switch type {
    case IBV_GID_TYPE_IB.rawValue: "IB"
    case IBV_GID_TYPE_ROCE_V1.rawValue: "RoCE v1"
    case IBV_GID_TYPE_ROCE_V2.rawValue: "RoCE v2"
    default: "type \(type)"
    }
}
