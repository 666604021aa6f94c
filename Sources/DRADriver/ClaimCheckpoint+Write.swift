import DRACheckpoint
import JSONValue
import SystemSupport

// Writing the checkpoint is the driver's alone; the CNI only reads it (DRACheckpoint),
// and its static binary carries no writer.
extension ClaimCheckpoint {
    public func save(_ path: String) throws(DRAError) {
        let claims = self.claims.values.sorted { $0.uid < $1.uid }.map(\.json)
        let json = JSON.object([("version", JSON(1)), ("claims", .array(claims))])
        do {
            if let slash = path.lastIndex(of: "/"), slash != path.startIndex { try createDirectories(String(path[..<slash])) }
            try writeFileAtomically(Array(json.serialized.utf8), to: path, mode: 0o600)
        } catch {
            throw .checkpoint("cannot write \(path): \(error)")
        }
    }

}

extension ClaimCheckpoint.PreparedClaim {
    var json: JSON {
        var members: [(String, JSON)] = [
            ("uid", .string(uid)), ("namespace", .string(namespace)), ("name", .string(name)), ("state", .string(state.rawValue)),
            ("pods", .array(pods.map(JSON.string))), ("devices", .array(devices.map(\.json))),
        ]
        if let cdiSpecPath { members.append(("cdiSpec", .string(cdiSpecPath))) }
        if let preparedAt { members.append(("preparedAt", .string(preparedAt))) }
        return .object(members)
    }

}

extension ClaimCheckpoint.PreparedDevice {
    var json: JSON {
        var members: [(String, JSON)] = [
            ("requestNames", .array(requestNames.map(JSON.string))), ("pool", .string(pool)), ("device", .string(device)),
            ("id", .string(id)), ("resource", .string(resource)),
        ]
        if let pciAddress { members.append(("pciAddress", .string(pciAddress.description))) }
        if let shareID { members.append(("shareID", .string(shareID))) }
        members.append(("cdiDeviceIDs", .array(cdiDeviceIDs.map(JSON.string))))
        members.append(("parameters", parameters.json))
        if let applied { members.append(("applied", applied)) }
        if let attributes { members.append(("attributes", attributes)) }
        return .object(members)
    }

}

extension VFParameters {
    public var json: JSON {
        var members: [(String, JSON)] = []
        if let vlan { members.append(("vlan", JSON(Int(vlan)))) }
        if let vlanQoS { members.append(("vlanQoS", JSON(Int(vlanQoS)))) }
        if let vlanProto { members.append(("vlanProto", .string(vlanProto == 0x88A8 ? "802.1ad" : "802.1q"))) }
        if let mac { members.append(("mac", .string(mac.map { String($0, radix: 16) }.map { $0.count == 1 ? "0" + $0 : $0 }.joined(separator: ":")))) }
        if let spoofCheck { members.append(("spoofchk", .bool(spoofCheck))) }
        if let trust { members.append(("trust", .bool(trust))) }
        if let minTxRate { members.append(("minTxRate", JSON(Int(minTxRate)))) }
        if let maxTxRate { members.append(("maxTxRate", JSON(Int(maxTxRate)))) }
        if let linkState { members.append(("linkState", .string(linkState))) }
        if let rdmaIsolation { members.append(("rdmaIsolation", .bool(rdmaIsolation))) }
        if let mtu { members.append(("mtu", JSON(Int(mtu)))) }
        return .object(members)
    }
}
