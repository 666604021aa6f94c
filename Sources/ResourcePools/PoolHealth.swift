import HostDevices

/// A device's health as the kernel shows it, with the reason when unhealthy.
public struct DeviceHealthState: Hashable, Sendable {
    public var healthy: Bool
    public var reason: String?

    public static let healthy = DeviceHealthState(healthy: true, reason: nil)
    public static func unhealthy(_ reason: String) -> DeviceHealthState { DeviceHealthState(healthy: false, reason: reason) }
}

extension ResourcePool {
    /// Health of every device from a fresh snapshot. A VF is unhealthy when its PCI
    /// function is gone or unbound, when its PF's link has no carrier, or when its
    /// RDMA port is not ACTIVE. A VF netdev that left the host namespace (it is in a
    /// pod) does not make it unhealthy: its function and driver are still there.
    public func health(in snapshot: HostSnapshot) -> [String: DeviceHealthState] {
        var states: [String: DeviceHealthState] = [:]
        if config.deviceType == .rdmaShared {
            let live = Dictionary(snapshot.rdmaDevices.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
            let down = sharedRDMADevices.compactMap { known -> String? in
                guard let now = live[known.name] else { return "\(known.name) is gone" }
                return now.ports.isEmpty || now.allPortsActive ? nil : "\(known.name) port not ACTIVE"
            }
            for device in devices {
                states[device.id] = down.count == sharedRDMADevices.count && !down.isEmpty
                    ? .unhealthy(down.joined(separator: "; ")) : .healthy
            }
            return states
        }
        for device in devices {
            if let name = device.auxiliaryDevice {
                states[device.id] = auxiliaryHealth(name, device, in: snapshot)
                continue
            }
            guard let address = device.pciAddress, let pci = snapshot.device(at: address) else {
                states[device.id] = .unhealthy("PCI function \(device.id) is gone")
                continue
            }
            if let driver = device.driver, pci.driver != driver {
                states[device.id] = .unhealthy("driver changed from \(driver) to \(pci.driver ?? "none")")
                continue
            }
            if let pf = device.pfAddress, let pfName = snapshot.pfName(of: pf),
               let link = snapshot.interfaces(of: pf).first(where: { $0.name == pfName }), link.operState == "down" || link.carrier == false {
                states[device.id] = .unhealthy("PF \(pfName) has no carrier")
                continue
            }
            if let port = snapshot.rdmaDevices(of: address).first(where: { !$0.ports.isEmpty && !$0.allPortsActive }) {
                states[device.id] = .unhealthy("RDMA device \(port.name) port not ACTIVE")
                continue
            }
            states[device.id] = .healthy
        }
        return states
    }

    /// A scalable function is unhealthy when it is gone, when its PF lost its driver
    /// or its carrier, or when its RDMA port is not ACTIVE.
    private func auxiliaryHealth(_ name: String, _ device: PoolDevice, in snapshot: HostSnapshot) -> DeviceHealthState {
        guard let auxiliary = snapshot.auxiliaryDevice(named: name), let pf = snapshot.device(at: auxiliary.parentAddress) else {
            return .unhealthy("scalable function \(name) is gone")
        }
        if let driver = device.driver, pf.driver != driver {
            return .unhealthy("PF \(pf.address) driver changed from \(driver) to \(pf.driver ?? "none")")
        }
        if let pfName = snapshot.pfName(of: pf.address),
           let link = snapshot.interfaces(of: pf.address).first(where: { $0.name == pfName }), link.operState == "down" || link.carrier == false {
            return .unhealthy("PF \(pfName) has no carrier")
        }
        if let port = snapshot.rdmaDevices(ofAuxiliary: name).first(where: { !$0.ports.isEmpty && !$0.allPortsActive }) {
            return .unhealthy("RDMA device \(port.name) port not ACTIVE")
        }
        return .healthy
    }
}
