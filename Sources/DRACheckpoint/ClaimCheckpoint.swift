// The files the DRA driver shares with the CNI: the claim checkpoint and what is in
// it. Light enough for the static CNI binary (no gRPC, no API client).
import HostDevices
import JSONValue
import SystemSupport

/// The claims this node prepared, on disk (`<pluginDir>/checkpoint.json`): Unprepare
/// gets only a claim's namespace, name and UID, a restarted daemon must answer a
/// retried Prepare with the same devices, and the CNI finds a pod's VFs here by the
/// pod's UID. Written atomically after every change.
public struct ClaimCheckpoint: Equatable, Sendable {
    public var claims: [String: PreparedClaim] = [:]

    public init() {}

    public enum State: String, Sendable {
        /// Prepare began changing the node: an Unprepare or a retried Prepare undoes what is recorded.
        case preparing
        case prepared
    }

    public struct PreparedClaim: Equatable, Sendable {
        public var uid: String
        public var namespace: String
        public var name: String
        public var state: State
        /// UIDs of the pods the claim is reserved for (`status.reservedFor`).
        public var pods: [String]
        public var devices: [PreparedDevice]
        public var cdiSpecPath: String?
        /// When Prepare finished (RFC 3339): the Ready condition's `lastTransitionTime`,
        /// the same for a retried Prepare and after a daemon restart.
        public var preparedAt: String?

        public init(uid: String, namespace: String, name: String, state: State, pods: [String], devices: [PreparedDevice],
                    cdiSpecPath: String?, preparedAt: String? = nil) {
            self.uid = uid
            self.namespace = namespace
            self.name = name
            self.state = state
            self.pods = pods
            self.devices = devices
            self.cdiSpecPath = cdiSpecPath
            self.preparedAt = preparedAt
        }
    }

    public struct PreparedDevice: Equatable, Sendable {
        public var requestNames: [String]
        /// The DRA pool and device names.
        public var pool: String
        public var device: String
        /// The pool device's ID (the device plugin's: a PCI address or an auxiliary device).
        public var id: String
        /// The pool's resource name, `<prefix>/<name>`.
        public var resource: String
        public var pciAddress: PCIAddress?
        public var shareID: String?
        public var cdiDeviceIDs: [String]
        public var parameters: VFParameters
        /// What Prepare changed in the PF's VF table, as the driver recorded it
        /// (DRADriver's AppliedPFSettings); the CNI does not read it.
        public var applied: JSON?
        /// The device's ResourceSlice attributes when it was prepared, for the claim's
        /// `status.devices[].data` (the VF's netdev and RDMA device leave the host later).
        public var attributes: JSON?

        public init(requestNames: [String], pool: String, device: String, id: String, resource: String,
                    pciAddress: PCIAddress?, shareID: String?, cdiDeviceIDs: [String], parameters: VFParameters, applied: JSON?,
                    attributes: JSON? = nil) {
            self.requestNames = requestNames
            self.pool = pool
            self.device = device
            self.id = id
            self.resource = resource
            self.pciAddress = pciAddress
            self.shareID = shareID
            self.cdiDeviceIDs = cdiDeviceIDs
            self.parameters = parameters
            self.applied = applied
            self.attributes = attributes
        }
    }

    public static func load(_ path: String) throws(DRAError) -> ClaimCheckpoint {
        let bytes: [UInt8]
        do {
            bytes = try readFile(path)
        } catch where error.errno == .noSuchFile {
            return ClaimCheckpoint()
        } catch {
            throw .checkpoint("cannot read \(path): \(error)")
        }
        let json: JSON
        do { json = try JSON.parse(bytes) } catch { throw .checkpoint("\(path) is not JSON: \(error)") }
        guard json["version"]?.intValue == 1 else { throw .checkpoint("\(path) has an unknown version") }
        var checkpoint = ClaimCheckpoint()
        for entry in json["claims"]?.arrayValue ?? [] {
            guard let claim = PreparedClaim(json: entry) else { throw .checkpoint("\(path) has an unreadable claim \(entry.serialized)") }
            checkpoint.claims[claim.uid] = claim
        }
        return checkpoint
    }

    /// The devices prepared for pod `uid`, across its claims (the CNI's look-up).
    public func devices(ofPod uid: String) -> [(claim: PreparedClaim, device: PreparedDevice)] {
        claims.values.sorted { $0.uid < $1.uid }.filter { $0.state == .prepared && $0.pods.contains(uid) }
            .flatMap { claim in claim.devices.map { (claim, $0) } }
    }
}

extension ClaimCheckpoint.PreparedClaim {
    init?(json: JSON) {
        guard let uid = json["uid"]?.stringValue, let namespace = json["namespace"]?.stringValue,
              let name = json["name"]?.stringValue, let state = json["state"]?.stringValue.flatMap(ClaimCheckpoint.State.init)
        else { return nil }
        var devices: [ClaimCheckpoint.PreparedDevice] = []
        for entry in json["devices"]?.arrayValue ?? [] {
            guard let device = ClaimCheckpoint.PreparedDevice(json: entry) else { return nil }
            devices.append(device)
        }
        self.init(uid: uid, namespace: namespace, name: name, state: state,
                  pods: (json["pods"]?.arrayValue ?? []).compactMap(\.stringValue), devices: devices,
                  cdiSpecPath: json["cdiSpec"]?.stringValue, preparedAt: json["preparedAt"]?.stringValue)
    }
}

extension ClaimCheckpoint.PreparedDevice {
    init?(json: JSON) {
        guard let pool = json["pool"]?.stringValue, let device = json["device"]?.stringValue, let id = json["id"]?.stringValue,
              let resource = json["resource"]?.stringValue,
              let parameters = try? VFParameters(json: json["parameters"] ?? .object([]), source: "checkpoint")
        else { return nil }
        self.init(requestNames: (json["requestNames"]?.arrayValue ?? []).compactMap(\.stringValue), pool: pool, device: device,
                  id: id, resource: resource, pciAddress: json["pciAddress"]?.stringValue.flatMap(PCIAddress.init),
                  shareID: json["shareID"]?.stringValue, cdiDeviceIDs: (json["cdiDeviceIDs"]?.arrayValue ?? []).compactMap(\.stringValue),
                  parameters: parameters, applied: json["applied"], attributes: json["attributes"])
    }
}
