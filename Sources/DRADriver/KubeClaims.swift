import JSONValue
import KubeAPI

/// Prepare's claims from the API server: `GET /apis/resource.k8s.io/v1/namespaces/<ns>/resourceclaims/<name>`.
public struct KubeClaimReader: ClaimReader {
    let client: KubeClient

    public init(client: KubeClient) { self.client = client }

    public func claim(namespace: String, name: String) throws -> JSON {
        try client.get(ClaimStatusWriter.path(namespace: namespace, name: name))
    }
}

/// What kubelet and users see of a prepared claim in its `status.devices` (KEP-4817):
/// for each of this driver's devices, a `Ready` condition and the device's data (PCI
/// address, PF, VF index, netdev, RDMA device, the VF settings applied), and in
/// `networkData` the MAC the claim set. Written with server-side apply under the
/// driver's name as field manager, so entries of other drivers are left alone.
public struct ClaimStatusWriter: Sendable {
    let client: KubeClient
    let names: DRANames

    public init(client: KubeClient, names: DRANames) {
        self.client = client
        self.names = names
    }

    static func path(namespace: String, name: String) -> String {
        "/apis/resource.k8s.io/v1/namespaces/\(namespace)/resourceclaims/\(name)"
    }

    /// The apply body for a prepared claim: exactly the entries this driver owns.
    public static func status(of claim: ClaimCheckpoint.PreparedClaim, names: DRANames,
                              attributes: [String: JSON] = [:], now: String) -> JSON {
        let devices: [JSON] = claim.devices.map { device in
            var data: [(String, JSON)] = [("resourceName", .string(device.resource))]
            if let address = device.pciAddress { data.append(("pciAddress", .string(address.description))) }
            if let own = attributes[device.device] { data.append(("attributes", own)) }
            if !device.parameters.json.isEmptyObject { data.append(("parameters", device.parameters.json)) }
            var entry: [(String, JSON)] = [
                ("driver", .string(names.driver)), ("pool", .string(device.pool)), ("device", .string(device.device)),
            ]
            if let shareID = device.shareID { entry.append(("shareID", .string(shareID))) }
            entry.append(("conditions", .array([.object([
                ("type", .string("Ready")), ("status", .string("True")), ("reason", .string("Prepared")),
                ("message", .string("VF settings applied and CDI spec written by \(names.node)")),
                ("lastTransitionTime", .string(now)),
            ])])))
            entry.append(("data", .object(data)))
            if let mac = device.parameters.json["mac"] {
                entry.append(("networkData", .object([("hardwareAddress", mac)])))
            }
            return .object(entry)
        }
        return .object([
            ("apiVersion", .string("resource.k8s.io/v1")), ("kind", .string("ResourceClaim")),
            ("metadata", .object([("name", .string(claim.name)), ("namespace", .string(claim.namespace)), ("uid", .string(claim.uid))])),
            ("status", .object([("devices", .array(devices))])),
        ])
    }

    /// Applies the claim's status (the `/status` subresource).
    public func write(_ claim: ClaimCheckpoint.PreparedClaim, attributes: [String: JSON], now: String) throws(KubeAPIError) {
        let body = Self.status(of: claim, names: names, attributes: attributes, now: now)
        _ = try client.patch(Self.path(namespace: claim.namespace, name: claim.name) + "/status", body,
                             type: .apply(fieldManager: names.driver, force: true))
    }
}

extension JSON {
    var isEmptyObject: Bool {
        if case .object(let members) = self { return members.isEmpty }
        return self == .null
    }
}
