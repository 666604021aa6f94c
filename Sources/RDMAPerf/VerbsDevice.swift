#if canImport(Glibc)
import Glibc
#endif
import CIBVerbs

/// The facts of one port that a run needs (ibv_query_port).
struct PortInfo {
    var number: UInt8
    var state: ibv_port_state
    /// The active MTU as `ibv_mtu` (IBV_MTU_1024 = 3).
    var activeMTU: ibv_mtu
    var lid: UInt16
    var isEthernet: Bool

    var stateName: String { portStateName(state) }
}

func portStateName(_ state: ibv_port_state) -> String {
    switch state {
    case IBV_PORT_NOP: "NOP"
    case IBV_PORT_DOWN: "DOWN"
    case IBV_PORT_INIT: "INIT"
    case IBV_PORT_ARMED: "ARMED"
    case IBV_PORT_ACTIVE: "ACTIVE"
    case IBV_PORT_ACTIVE_DEFER: "ACTIVE_DEFER"
    default: "state \(state.rawValue)"
    }
}

/// Bytes of an `ibv_mtu` value (IBV_MTU_256 = 1 ... IBV_MTU_4096 = 5).
func mtuBytes(_ mtu: UInt32) -> Int { mtu >= 1 && mtu <= 5 ? 128 << Int(mtu) : 0 }

/// An open RDMA device. The context is closed on deinit when this object opened
/// it; a context that librdmacm owns (a cm_id's `verbs`) is only borrowed.
final class VerbsDevice {
    let context: UnsafeMutablePointer<ibv_context>
    let name: String
    private let ownsContext: Bool

    /// The names libibverbs lists, in its order.
    static func availableNames() -> [String] {
        var count: Int32 = 0
        guard let list = ibv_get_device_list(&count) else { return [] }
        defer { ibv_free_device_list(list) }
        return (0..<Int(count)).compactMap { list[$0].map { String(cString: ibv_get_device_name($0)) } }
    }

    /// Opens the device called `name`, or the first one when `name` is nil
    /// (perftest's default).
    static func open(name: String?) throws -> VerbsDevice {
        var count: Int32 = 0
        guard let list = ibv_get_device_list(&count) else {
            throw RDMAPerfError.DeviceNotFound(name: name, available: [])
        }
        defer { ibv_free_device_list(list) }
        var names: [String] = []
        for index in 0..<Int(count) {
            guard let device = list[index] else { continue }
            let deviceName = String(cString: ibv_get_device_name(device))
            names.append(deviceName)
            if name == nil || name == deviceName {
                guard let context = ibv_open_device(device) else {
                    throw RDMAPerfError.CallFailed("ibv_open_device(\(deviceName))",
                                                   context: "is /dev/infiniband/uverbs* accessible?")
                }
                return VerbsDevice(context: context, name: deviceName, ownsContext: true)
            }
        }
        throw RDMAPerfError.DeviceNotFound(name: name, available: names)
    }

    /// Wraps a context someone else owns (librdmacm's).
    init(borrowing context: UnsafeMutablePointer<ibv_context>) {
        self.context = context
        self.name = String(cString: ibv_get_device_name(context.pointee.device))
        self.ownsContext = false
    }

    private init(context: UnsafeMutablePointer<ibv_context>, name: String, ownsContext: Bool) {
        self.context = context
        self.name = name
        self.ownsContext = ownsContext
    }

    deinit {
        if ownsContext { ibv_close_device(context) }
    }

    func port(_ number: UInt8) throws -> PortInfo {
        var attributes = ibv_port_attr()
        // ibv_query_port is a macro over this inline (the exported symbol takes the old struct).
        let result = ___ibv_query_port(context, number, &attributes)
        guard result == 0 else {
            throw RDMAPerfError.CallFailed("ibv_query_port(\(name), port \(number))", errorNumber: result,
                                           context: "does the device have port \(number)?")
        }
        return PortInfo(number: number, state: attributes.state, activeMTU: attributes.active_mtu, lid: attributes.lid,
                        isEthernet: attributes.link_layer == UInt8(IBV_LINK_LAYER_ETHERNET))
    }

    /// The port, which must be ACTIVE.
    func activePort(_ number: UInt8) throws -> PortInfo {
        let info = try port(number)
        guard info.state == IBV_PORT_ACTIVE else {
            throw RDMAPerfError.PortNotActive(device: name, port: Int(number), state: info.stateName)
        }
        return info
    }

    /// Outstanding RDMA reads the device allows per QP (ibv_device_attr max_qp_rd_atom).
    func maxOutstandingReads() throws -> Int {
        var attributes = ibv_device_attr()
        let result = ibv_query_device(context, &attributes)
        guard result == 0 else { throw RDMAPerfError.CallFailed("ibv_query_device(\(name))", errorNumber: result) }
        return Int(attributes.max_qp_rd_atom)
    }
}
