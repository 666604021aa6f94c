#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// An IPv4 or IPv6 address as the kernel takes it: 4 or 16 bytes in network order.
public struct IPAddress: Hashable, Sendable, CustomStringConvertible {
    public let bytes: [UInt8]

    public init?(bytes: [UInt8]) {
        guard bytes.count == 4 || bytes.count == 16 else { return nil }
        self.bytes = bytes
    }

    /// Parses dotted-quad IPv4 or RFC 4291 IPv6 text (inet_pton).
    public init?(_ text: some StringProtocol) {
        let string = String(text)
        var v4 = in_addr()
        if inet_pton(AF_INET, string, &v4) == 1 {
            bytes = withUnsafeBytes(of: v4) { Array($0) }
            return
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, string, &v6) == 1 {
            bytes = withUnsafeBytes(of: v6) { Array($0) }
            return
        }
        return nil
    }

    public var isIPv4: Bool { bytes.count == 4 }

    /// AF_INET or AF_INET6.
    public var family: Int32 { isIPv4 ? AF_INET : AF_INET6 }

    public var description: String {
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        _ = bytes.withUnsafeBytes { inet_ntop(family, $0.baseAddress, &buffer, socklen_t(buffer.count)) }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// An address with a prefix length, `10.56.0.5/24` or `fd00::5/64`: an interface
/// address (host bits kept) or a route destination.
public struct IPPrefix: Hashable, Sendable, CustomStringConvertible {
    public let address: IPAddress
    public let length: UInt8

    public init?(address: IPAddress, length: UInt8) {
        guard Int(length) <= address.bytes.count * 8 else { return nil }
        self.address = address
        self.length = length
    }

    /// Parses CIDR text; the prefix length is required.
    public init?(_ text: some StringProtocol) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let address = IPAddress(parts[0]),
              !parts[1].isEmpty, parts[1].allSatisfy(\.isASCII), let length = UInt8(parts[1]) else { return nil }
        self.init(address: address, length: length)
    }

    /// The same prefix with the host bits cleared: the network of an interface address.
    public var network: IPPrefix {
        var bytes = address.bytes
        for index in bytes.indices {
            let bitsBefore = index * 8
            if bitsBefore >= Int(length) {
                bytes[index] = 0
            } else if bitsBefore + 8 > Int(length) {
                bytes[index] &= UInt8(truncatingIfNeeded: 0xFF << (8 - (Int(length) - bitsBefore)))
            }
        }
        return IPPrefix(address: IPAddress(bytes: bytes)!, length: length)!
    }

    /// Whether `other` lies inside this prefix.
    public func contains(_ other: IPAddress) -> Bool {
        guard other.bytes.count == address.bytes.count, let candidate = IPPrefix(address: other, length: length) else {
            return false
        }
        return candidate.network.address == network.address
    }

    public var description: String { "\(address)/\(length)" }
}
