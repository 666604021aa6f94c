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
            states[device.id] = device.pfAddress.flatMap { Self.carrierLost(of: $0, in: snapshot) }
                ?? Self.portDown(snapshot.rdmaDevices(of: address)) ?? .healthy
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
        return Self.carrierLost(of: pf.address, in: snapshot) ?? Self.portDown(snapshot.rdmaDevices(ofAuxiliary: name)) ?? .healthy
    }

    /// The PF's own netdev is down or has no carrier: its VFs and SFs pass no traffic.
    private static func carrierLost(of pf: PCIAddress, in snapshot: HostSnapshot) -> DeviceHealthState? {
        guard let link = snapshot.pfInterface(of: pf), link.operState == "down" || link.carrier == false else { return nil }
        return .unhealthy("PF \(link.name) has no carrier")
    }

    /// One of the device's RDMA devices has a port that is not ACTIVE.
    private static func portDown(_ rdma: [RDMADevice]) -> DeviceHealthState? {
        rdma.first { !$0.ports.isEmpty && !$0.allPortsActive }.map { .unhealthy("RDMA device \($0.name) port not ACTIVE") }
    }
}
