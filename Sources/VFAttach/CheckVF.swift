import CNI
import HostDevices
import Netlink

/// CHECK: the interface is in the pod under its name, is still this VF, is up, has
/// the MAC and MTU asked for and the prevResult's addresses and routes; the PF still
/// holds the VF settings; the RDMA device is still in the pod. IPAM gets CHECK too.
struct CheckVF {
    let call: CNICall
    let conf: SRIOVNetConf
    let host: AttachHost

    func run() throws {
        let environment = call.environment
        let ifname = environment.ifname
        guard let previous = call.config.prevResult else {
            throw CNIError(.invalidNetworkConfig, "CHECK needs prevResult")
        }
        let detach = DetachVF(call: call, host: host, stateDir: conf.stateDir)
        guard let record = try detach.loadRecord(containerID: environment.containerID, ifname: ifname) else {
            throw CNIError(.checkFailed, "no attachment of container \(environment.containerID) interface \(ifname) is recorded")
        }
        var problems: [String] = []
        if let driver = record.userspaceDriver {
            try checkUserspace(record, driver: driver, previous: previous, problems: &problems)
            return
        }
        let podNamespace: NetworkNamespace
        do {
            podNamespace = try NetworkNamespace.open(path: environment.netns)
        } catch {
            throw CNIError(.invalidNetns, "cannot use CNI_NETNS \(environment.netns)", details: "\(error)")
        }
        let podNetlink = try RouteNetlink(in: podNamespace)
        guard let link = try podNetlink.link(named: ifname), link.name == ifname else {
            throw CNIError(.checkFailed, "interface \(ifname) is missing from \(environment.netns)")
        }
        if !detach.isAttachedVF(link, deviceID: record.deviceID, hostName: record.host?.name) {
            problems.append("\(ifname) is not VF \(record.deviceID)")
        }
        if !link.isUp { problems.append("\(ifname) is down") }
        let mac = formatHardwareAddress(link.hardwareAddress)
        if let expected = conf.mac, expected.bytes != link.hardwareAddress {
            problems.append("\(ifname) has MAC \(mac), the config asks for \(expected)")
        }
        if let mtu = conf.mtu, mtu != link.mtu {
            problems.append("\(ifname) has MTU \(link.mtu), the config asks for \(mtu)")
        }

        // prevResult: our interface, its addresses, the routes.
        let ours = previous.interfaces.firstIndex { $0.name == ifname && ($0.sandbox == nil || $0.sandbox == environment.netns) }
        if let ours {
            if let expected = previous.interfaces[ours].mac, expected.lowercased() != mac {
                problems.append("\(ifname) has MAC \(mac), prevResult says \(expected)")
            }
        } else {
            problems.append("prevResult has no interface \(ifname) in \(environment.netns)")
        }
        let addresses = try podNetlink.addresses(index: link.index).map(\.prefix)
        for ip in previous.ips where ip.interface == nil || ip.interface == ours {
            guard let prefix = IPPrefix(ip.address) else {
                problems.append("prevResult address \(ip.address) is not in CIDR form")
                continue
            }
            if !addresses.contains(prefix) { problems.append("\(ifname) lacks address \(prefix)") }
        }
        let routes = try podNetlink.routes(index: link.index)
        for route in previous.routes {
            guard let destination = IPPrefix(route.dst) else {
                problems.append("prevResult route \(route.dst) is not in CIDR form")
                continue
            }
            let gateway = route.gw.flatMap { IPAddress($0) }
            let found = routes.contains { candidate in
                candidate.destination.network == destination.network
                    && (gateway == nil || candidate.gateway == gateway)
                    && (route.table == nil || candidate.table == UInt32(clamping: route.table!))
            }
            if !found { problems.append("route \(route.dst)\(route.gw.map { " via \($0)" } ?? "") is missing") }
        }

        try checkVFSettings(record, problems: &problems, hostNamespace: try host.openNamespace())
        if let guid = record.infiniBand?.guid, let inPod = InfiniBandGUID(ipoibAddress: link.hardwareAddress), inPod != guid {
            problems.append("\(ifname) has port GUID \(inPod), ADD gave the VF \(guid)")
        }
        if let rdma = record.rdma, rdma.moved {
            let visible = try RDMANetlink(in: podNamespace).devices().contains { $0.name == rdma.device }
            if !visible { problems.append("RDMA device \(rdma.device) is not in \(environment.netns)") }
        }
        guard problems.isEmpty else {
            throw CNIError(.checkFailed, "CHECK found \(ifname) not as ADD left it", details: problems.joined(separator: "; "))
        }
        try checkIPAM()
    }

    /// A VF on a userspace driver: still bound to it, the PF still holds its settings,
    /// and prevResult names it; there is no netdev to look at.
    private func checkUserspace(_ record: AttachmentRecord, driver: String, previous: CNIResult,
                                problems: inout [String]) throws {
        let environment = call.environment
        let ifname = environment.ifname
        do {
            let location = try VFLocation.locate(record.deviceID, roots: host.roots)
            if location == nil {
                problems.append("VF \(record.deviceID) is gone")
            } else if location?.driver != driver {
                problems.append("VF \(record.deviceID) is bound to \(location?.driver ?? "no driver"), not \(driver)")
            }
        } catch {
            throw error.cniError
        }
        if !previous.interfaces.contains(where: { $0.name == ifname && ($0.sandbox == nil || $0.sandbox == environment.netns) }) {
            problems.append("prevResult has no interface \(ifname) in \(environment.netns)")
        }
        try checkVFSettings(record, problems: &problems, hostNamespace: try host.openNamespace())
        guard problems.isEmpty else {
            throw CNIError(.checkFailed, "CHECK found VF \(record.deviceID) (\(ifname), on \(driver)) not as ADD left it",
                           details: problems.joined(separator: "; "))
        }
        try checkIPAM()
    }

    private func checkIPAM() throws {
        let environment = call.environment
        if let type = call.config.ipamType {
            let ipam = try PluginDelegate(type: type, environment: environment)
            if try ipam.supportedVersions(asking: call.config.cniVersionText).contains(call.config.cniVersion) {
                try ipam.check(call.config)
            } else {
                call.logger.info("\(type) does not serve \(call.config.cniVersionText): IPAM CHECK skipped")
            }
        }
    }

    private func checkVFSettings(_ record: AttachmentRecord, problems: inout [String], hostNamespace: NetworkNamespace) throws {
        let guid = record.infiniBand?.guid
        guard let pf = record.pf, !record.appliedVF.isEmpty || guid != nil else { return }
        let hostNetlink = try RouteNetlink(in: hostNamespace)
        guard let pfLink = try hostNetlink.link(named: pf.netdev) else {
            problems.append("PF \(pf.netdev) is gone")
            return
        }
        guard let vf = try hostNetlink.virtualFunctions(ofPF: pfLink.index, device: pf.netdev).first(where: { $0.index == pf.vfIndex }) else {
            problems.append("PF \(pf.netdev) has no VF \(pf.vfIndex)")
            return
        }
        // Drivers that report VF GUIDs (mlx5 in InfiniBand mode) show what the VF holds.
        if let guid {
            for (name, value) in [("node", vf.nodeGUID), ("port", vf.portGUID)] {
                if let value, value != guid.rawValue {
                    problems.append("VF \(pf.vfIndex) has \(name) GUID \(InfiniBandGUID(rawValue: value)), ADD gave it \(guid)")
                }
            }
        }
        for kind in record.appliedVF {
            switch kind {
            case .vlan:
                let expected = VFVLAN(id: conf.vlan ?? 0, qos: conf.vlanQoS ?? 0, proto: conf.vlanProto ?? VFVLAN.protocol8021Q)
                if vf.vlan.id != expected.id || vf.vlan.qos != expected.qos || (vf.vlan.id != 0 && vf.vlan.proto != expected.proto) {
                    problems.append("VF \(pf.vfIndex) has vlan \(vf.vlan.id) qos \(vf.vlan.qos), the config asks for \(expected.id) qos \(expected.qos)")
                }
            case .mac:
                if let mac = conf.mac, vf.mac != mac.bytes {
                    problems.append("VF \(pf.vfIndex) has administrative MAC \(formatHardwareAddress(vf.mac)), the config asks for \(mac)")
                }
            case .rate:
                if let max = conf.maxTxRate, vf.maxTxRate != max { problems.append("VF \(pf.vfIndex) has max_tx_rate \(vf.maxTxRate), not \(max)") }
                if let min = conf.minTxRate, vf.minTxRate != min { problems.append("VF \(pf.vfIndex) has min_tx_rate \(vf.minTxRate), not \(min)") }
            case .spoofCheck:
                if let expected = conf.spoofCheck, let actual = vf.spoofCheck, actual != expected {
                    problems.append("VF \(pf.vfIndex) has spoofchk \(actual ? "on" : "off")")
                }
            case .trust:
                if let expected = conf.trust, let actual = vf.trust, actual != expected {
                    problems.append("VF \(pf.vfIndex) has trust \(actual ? "on" : "off")")
                }
            case .linkState:
                if let expected = conf.linkState, let actual = vf.linkState, actual != expected {
                    problems.append("VF \(pf.vfIndex) has link_state \(actual.name)")
                }
            }
        }
    }
}
