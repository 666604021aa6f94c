import DRACheckpoint
import HostDevices
import JSONValue
import KubeAPI

/// Prepare's claims from the API server: `GET /apis/resource.k8s.io/v1/namespaces/<ns>/resourceclaims/<name>`.
public struct KubeClaimReader: ClaimReader {
    let client: KubeClient

    public init(client: KubeClient) { self.client = client }

    public func claim(namespace: String, name: String) throws -> JSON {
        try client.get(ClaimStatus.path(namespace: namespace, name: name))
    }
}

/// Where claim status goes: the API server (`KubeClient`), or a test's recorder.
public protocol ClaimStatusStore: Sendable {
    /// Server-side apply of `body` to the claim's `status` subresource, under
    /// `fieldManager`, forcing conflicts (the entries are this driver's alone).
    func applyClaimStatus(namespace: String, name: String, _ body: JSON, fieldManager: String) throws(KubeAPIError)
}

extension KubeClient: ClaimStatusStore {
    public func applyClaimStatus(namespace: String, name: String, _ body: JSON, fieldManager: String) throws(KubeAPIError) {
        _ = try patch(ClaimStatus.path(namespace: namespace, name: name) + "/status", body,
                      type: .apply(fieldManager: fieldManager, force: true))
    }
}

/// What kubelet and users see of a prepared claim in its `status.devices` (KEP-4817):
/// for each of this driver's devices, a `Ready` condition and the device's data (PCI
/// address, its ResourceSlice attributes when prepared, the VF settings applied), and
/// in `networkData` the MAC the claim set, or, once our CNI attached the VF, its
/// interface name, addresses and MAC in the pod. Applied with server-side apply under
/// the driver's name as field manager, so entries of other drivers are left alone and
/// an apply without our entries removes them.
public enum ClaimStatus {
    static func path(namespace: String, name: String) -> String {
        "/apis/resource.k8s.io/v1/namespaces/\(namespace)/resourceclaims/\(name)"
    }

    /// The apply body for a prepared claim: exactly the entries this driver owns.
    /// `network` holds the CNI's attachments by PCI address.
    public static func prepared(_ claim: ClaimCheckpoint.PreparedClaim, names: DRANames,
                                network: [PCIAddress: NetworkAttachment] = [:]) -> JSON {
        let devices: [JSON] = claim.devices.map { device in
            var data: [(String, JSON)] = [("resourceName", .string(device.resource))]
            if let address = device.pciAddress { data.append(("pciAddress", .string(address.description))) }
            if let attributes = device.attributes { data.append(("attributes", attributes)) }
            if !device.parameters.json.isEmptyObject { data.append(("parameters", device.parameters.json)) }
            var entry: [(String, JSON)] = [
                ("driver", .string(names.driver)), ("pool", .string(device.pool)), ("device", .string(device.device)),
            ]
            if let shareID = device.shareID { entry.append(("shareID", .string(shareID))) }
            var condition: [(String, JSON)] = [
                ("type", .string("Ready")), ("status", .string("True")), ("reason", .string("Prepared")),
                ("message", .string("VF settings applied and CDI spec written by \(names.node)")),
            ]
            if let since = claim.preparedAt { condition.append(("lastTransitionTime", .string(since))) }
            entry.append(("conditions", .array([.object(condition)])))
            entry.append(("data", .object(data)))
            var networkData: [(String, JSON)] = []
            if let attachment = device.pciAddress.flatMap({ network[$0] }) {
                networkData.append(("interfaceName", .string(attachment.interfaceName)))
                if !attachment.ips.isEmpty { networkData.append(("ips", .array(attachment.ips.map(JSON.string)))) }
                if let mac = attachment.hardwareAddress { networkData.append(("hardwareAddress", .string(mac))) }
            } else if let mac = device.parameters.json["mac"] {
                networkData.append(("hardwareAddress", mac))
            }
            if !networkData.isEmpty { entry.append(("networkData", .object(networkData))) }
            return .object(entry)
        }
        return body(namespace: claim.namespace, name: claim.name, uid: claim.uid, devices: devices)
    }

    /// The apply body after Unprepare: no entries, so the ones this driver applied
    /// before are removed (a claim that stays allocated must not say Ready).
    public static func unprepared(namespace: String, name: String, uid: String) -> JSON {
        body(namespace: namespace, name: name, uid: uid, devices: [])
    }

    private static func body(namespace: String, name: String, uid: String, devices: [JSON]) -> JSON {
        .object([
            ("apiVersion", .string("resource.k8s.io/v1")), ("kind", .string("ResourceClaim")),
            ("metadata", .object([("name", .string(name)), ("namespace", .string(namespace)), ("uid", .string(uid))])),
            ("status", .object([("devices", .array(devices))])),
        ])
    }
}

extension JSON {
    var isEmptyObject: Bool {
        if case .object(let members) = self { return members.isEmpty }
        return self == .null
    }
}
