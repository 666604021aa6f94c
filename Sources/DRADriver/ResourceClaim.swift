import DRACheckpoint
import JSONValue

/// What Prepare reads of a ResourceClaim (resource.k8s.io/v1): its identity, the
/// devices the scheduler allocated (`status.allocation.devices.results`), the opaque
/// configs that apply to them (`status.allocation.devices.config`), and the pods it is
/// reserved for (`status.reservedFor`), which the CNI looks its VFs up by.
public struct ResourceClaim: Equatable, Sendable {
    public var namespace: String
    public var name: String
    public var uid: String
    public var results: [AllocationResult]
    public var configs: [DeviceConfig]
    public var reservedFor: [Consumer]

    public struct AllocationResult: Equatable, Sendable {
        /// The request's name; `<request>/<subrequest>` for a request with alternatives.
        public var request: String
        public var driver: String
        public var pool: String
        public var device: String
        public var adminAccess: Bool
        public var shareID: String?

        /// The request name kubelet reports, without the subrequest.
        public var requestName: String { String(request.split(separator: "/").first ?? Substring(request)) }
    }

    public struct DeviceConfig: Equatable, Sendable {
        /// `FromClass` (a DeviceClass's config) or `FromClaim`; class configs apply first.
        public var source: String
        /// The requests it applies to; empty: all.
        public var requests: [String]
        public var driver: String
        public var parameters: JSON

        func applies(to result: AllocationResult) -> Bool {
            requests.isEmpty || requests.contains(result.request) || requests.contains(result.requestName)
        }
    }

    public struct Consumer: Equatable, Sendable {
        public var resource: String
        public var name: String
        public var uid: String
    }

    /// Parses a claim as the API server returns it; `expectedUID` is the UID kubelet
    /// named (a claim deleted and created again under the same name is not the one
    /// to prepare).
    public init(json: JSON, expectedUID: String? = nil) throws(DRAError) {
        let metadata = json["metadata"]
        let namespace = metadata?["namespace"]?.stringValue ?? ""
        let name = metadata?["name"]?.stringValue ?? ""
        self.namespace = namespace
        self.name = name
        func fail(_ why: String) -> DRAError { .claim(namespace: namespace, name: name, why) }
        guard let uid = metadata?["uid"]?.stringValue, !uid.isEmpty else { throw fail("has no metadata.uid") }
        if let expectedUID, expectedUID != uid {
            throw fail("has UID \(uid), kubelet asked for \(expectedUID) (the claim was deleted and created again)")
        }
        self.uid = uid
        guard let allocation = json["status"]?["allocation"], !allocation.isNull else { throw fail("is not allocated") }
        let devices = allocation["devices"]
        var results: [AllocationResult] = []
        for (index, entry) in (devices?["results"]?.arrayValue ?? []).enumerated() {
            guard let request = entry["request"]?.stringValue, let driver = entry["driver"]?.stringValue,
                  let pool = entry["pool"]?.stringValue, let device = entry["device"]?.stringValue else {
                throw fail("status.allocation.devices.results[\(index)] lacks request, driver, pool or device")
            }
            results.append(AllocationResult(request: request, driver: driver, pool: pool, device: device,
                                            adminAccess: entry["adminAccess"]?.boolValue ?? false,
                                            shareID: entry["shareID"]?.stringValue))
        }
        self.results = results
        var configs: [DeviceConfig] = []
        for (index, entry) in (devices?["config"]?.arrayValue ?? []).enumerated() {
            guard let opaque = entry["opaque"], !opaque.isNull else { continue }
            guard let driver = opaque["driver"]?.stringValue, let parameters = opaque["parameters"] else {
                throw fail("status.allocation.devices.config[\(index)].opaque lacks driver or parameters")
            }
            configs.append(DeviceConfig(source: entry["source"]?.stringValue ?? "FromClaim",
                                        requests: (entry["requests"]?.arrayValue ?? []).compactMap(\.stringValue),
                                        driver: driver, parameters: parameters))
        }
        self.configs = configs
        reservedFor = (json["status"]?["reservedFor"]?.arrayValue ?? []).compactMap { entry in
            guard let uid = entry["uid"]?.stringValue else { return nil }
            return Consumer(resource: entry["resource"]?.stringValue ?? "", name: entry["name"]?.stringValue ?? "", uid: uid)
        }
    }

    /// The results for `driver`, and the configs of `driver` in the order they apply
    /// (class configs before claim configs, each in listed order).
    public func results(of driver: String) -> [AllocationResult] { results.filter { $0.driver == driver } }

    public func configs(for result: AllocationResult) -> [DeviceConfig] {
        let mine = configs.filter { $0.driver == result.driver && $0.applies(to: result) }
        return mine.filter { $0.source == "FromClass" } + mine.filter { $0.source != "FromClass" }
    }
}
