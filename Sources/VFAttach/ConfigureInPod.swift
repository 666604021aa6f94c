import CNI
import Netlink

extension AttachVF {
    /// The netdev inside the pod: MTU, up, then IPAM and the addresses and routes it
    /// hands out. Returns the link as it ends up and IPAM's result.
    func configureInPod(_ plan: AttachPlan, ipam: PluginDelegate?,
                        rollback: inout Rollback) throws -> (link: LinkInfo, ipam: CNIResult) {
        let podNetlink = plan.podNetlink
        let ifname = plan.ifname
        guard let podLink = try podNetlink.link(named: ifname) else {
            throw CNIError(.deviceOperationFailed, "\(ifname) did not arrive in \(call.environment.netns)")
        }
        if podLink.altNames.contains(plan.hostLink.name) {
            try podNetlink.removeAltName(plan.hostLink.name, index: podLink.index, device: ifname)
        }
        try rollback.step(.setMTU) { rollback in
            guard let mtu = conf.mtu, mtu != podLink.mtu else { return }
            let originalMTU = podLink.mtu
            try rollback.change(undo: .init("restore the MTU of \(ifname)") {
                if let link = try podNetlink.link(named: ifname) {
                    try podNetlink.setLink(index: link.index, device: ifname, LinkChange(mtu: originalMTU))
                }
            }) {
                try podNetlink.setLink(index: podLink.index, device: ifname, LinkChange(mtu: mtu))
            }
        }
        try rollback.step(.linkUp, undo: .init("set \(ifname) down") {
            if let link = try podNetlink.link(named: ifname) {
                try podNetlink.setLink(index: link.index, device: ifname, LinkChange(up: false))
            }
        }) {
            try podNetlink.setLink(index: podLink.index, device: ifname, LinkChange(up: true))
        }

        var ipamResult = CNIResult()
        try rollback.step(.ipam) { rollback in
            guard let ipam else { return }
            try rollback.change(undo: .init("release the IPAM allocation (\(ipam.type) DEL)") { try ipam.delete(call.config) }) {
                ipamResult = try ipam.add(call.config)
            }
        }
        try rollback.step(.configureIP) { rollback in
            try configureIP(ipamResult, link: podLink, netlink: podNetlink, rollback: &rollback)
        }
        return (try podNetlink.link(named: ifname) ?? podLink, ipamResult)
    }

    /// Addresses from IPAM, then routes (a route's gateway defaults to the gateway of
    /// the first address of its family), as the reference plugins' ConfigureIface does.
    private func configureIP(_ result: CNIResult, link: LinkInfo, netlink: RouteNetlink, rollback: inout Rollback) throws {
        let ifname = link.name
        var gateways = DefaultGateways()
        for ip in result.ips {
            guard let prefix = IPPrefix(ip.address) else {
                throw CNIError(.ipamFailed, "IPAM returned address \(ip.address), which is not in CIDR form")
            }
            if let text = ip.gateway {
                guard let gateway = IPAddress(text) else { throw CNIError(.ipamFailed, "IPAM returned gateway \(text), which is not an IP address") }
                gateways.offer(gateway)
            }
            try rollback.change(undo: .init("remove address \(prefix) from \(ifname)") {
                if let current = try netlink.link(named: ifname),
                   try netlink.addresses(index: current.index).contains(where: { $0.prefix == prefix }) {
                    try netlink.deleteAddress(prefix, index: current.index, device: ifname)
                }
            }) {
                try netlink.addAddress(prefix, index: link.index, device: ifname)
            }
        }
        for route in result.routes {
            guard let destination = IPPrefix(route.dst) else {
                throw CNIError(.ipamFailed, "IPAM returned route destination \(route.dst), which is not in CIDR form")
            }
            var gateway: IPAddress?
            if let text = route.gw {
                guard let parsed = IPAddress(text) else { throw CNIError(.ipamFailed, "IPAM returned route gateway \(text), which is not an IP address") }
                gateway = parsed
            } else {
                gateway = gateways.gateway(for: destination.address)
            }
            let info = RouteInfo(destination: destination, gateway: gateway,
                                 table: route.table.map { UInt32(clamping: $0) } ?? 254,
                                 priority: route.priority.map { UInt32(clamping: $0) },
                                 mtu: route.mtu.map { UInt32(clamping: $0) }, advmss: route.advmss.map { UInt32(clamping: $0) },
                                 scope: route.scope.map { UInt8(clamping: $0) })
            try netlink.addRoute(info, index: link.index, device: ifname)
        }
    }
}

/// The gateway of the first IPAM address of each family that has one: the default for
/// that family's routes without their own.
struct DefaultGateways {
    var ipv4: IPAddress?
    var ipv6: IPAddress?

    /// Keeps `gateway` unless its family has one already.
    mutating func offer(_ gateway: IPAddress) {
        if gateway.isIPv4 {
            if ipv4 == nil { ipv4 = gateway }
        } else if ipv6 == nil {
            ipv6 = gateway
        }
    }

    func gateway(for destination: IPAddress) -> IPAddress? {
        destination.isIPv4 ? ipv4 : ipv6
    }
}
