/// Where the peer may write or read: the rkey and address of its receive region.
public struct RemoteBuffer: Sendable, Equatable {
    public var rkey: UInt32
    public var address: UInt64

    public init(rkey: UInt32, address: UInt64) {
        self.rkey = rkey
        self.address = address
    }
}

/// What an RC queue pair needs to reach its peer's (perftest's `pingpong_dest`).
public struct QueuePairAddress: Sendable, Equatable {
    public var queuePairNumber: UInt32
    public var packetSequenceNumber: UInt32
    public var lid: UInt16
    /// The port's active MTU as the `ibv_mtu` value (1 = 256 B ... 5 = 4096 B).
    public var mtu: UInt8
    public var gid: GID

    public init(queuePairNumber: UInt32, packetSequenceNumber: UInt32, lid: UInt16, mtu: UInt8, gid: GID) {
        self.queuePairNumber = queuePairNumber
        self.packetSequenceNumber = packetSequenceNumber
        self.lid = lid
        self.mtu = mtu
        self.gid = gid
    }
}

/// The first message each side sends: the run it wants and how to reach it.
public struct Hello: Sendable, Equatable {
    public var parameters: TestParameters
    public var buffer: RemoteBuffer
    /// Present on the TCP side channel; with rdma_cm the connection manager
    /// carries the queue-pair addressing itself.
    public var queuePair: QueuePairAddress?

    public init(parameters: TestParameters, buffer: RemoteBuffer, queuePair: QueuePairAddress?) {
        self.parameters = parameters
        self.buffer = buffer
        self.queuePair = queuePair
    }
}

/// The messages of the control exchange, on the TCP side channel or (with
/// rdma_cm) in the connection's private data and over the test QP itself.
///
/// Wire format, all integers big-endian:
///
///     header  magic "RLAT" (4) | version (1) | kind (1) | body length (2)
///     hello   test (1) | size kind (1) | 0 (2) | size (4) | iterations (4) | warm-up (4)
///             | rkey (4) | address (8) [| QPN (4) | PSN (4) | LID (2) | MTU (1) | GID (16)]
///     ready   size (4)
///     done    (empty)
///
/// A hello without the queue-pair part is 36 bytes, inside the 56 bytes of
/// private data an RC connect request carries (librdmacm rdma_connect(3)).
public enum ControlMessage: Sendable, Equatable {
    case hello(Hello)
    /// "My receive side is prepared for this size; start when you see mine."
    case ready(size: Int)
    /// "I am finished with the queue pair and the buffer."
    case done

    public static let magic: UInt32 = 0x524C_4154  // "RLAT"
    public static let version: UInt8 = 1
    public static let headerLength = 8

    enum Kind: UInt8 {
        case hello = 1, ready = 2, done = 3
    }

    static let helloBaseLength = 28
    static let queuePairLength = 27

    public func encoded() -> [UInt8] {
        var body = ByteWriter()
        let kind: Kind
        switch self {
        case .hello(let hello):
            kind = .hello
            body.append(hello.parameters.test.rawValue)
            switch hello.parameters.sizes {
            case .single(let size):
                body.append(UInt8(1))
                body.append(UInt16(0))
                body.append(UInt32(truncatingIfNeeded: size))
            case .powersOfTwo(let maximum):
                body.append(UInt8(2))
                body.append(UInt16(0))
                body.append(UInt32(truncatingIfNeeded: maximum))
            }
            body.append(UInt32(truncatingIfNeeded: hello.parameters.iterations))
            body.append(UInt32(truncatingIfNeeded: hello.parameters.warmupIterations))
            body.append(hello.buffer.rkey)
            body.append(hello.buffer.address)
            if let queuePair = hello.queuePair {
                body.append(queuePair.queuePairNumber)
                body.append(queuePair.packetSequenceNumber)
                body.append(queuePair.lid)
                body.append(queuePair.mtu)
                body.append(contentsOf: queuePair.gid.bytes)
            }
        case .ready(let size):
            kind = .ready
            body.append(UInt32(truncatingIfNeeded: size))
        case .done:
            kind = .done
        }
        var message = ByteWriter()
        message.append(Self.magic)
        message.append(Self.version)
        message.append(kind.rawValue)
        message.append(UInt16(body.bytes.count))
        message.append(contentsOf: body.bytes)
        return message.bytes
    }

    /// The body length announced by a header, after checking magic and version.
    public static func bodyLength(ofHeader header: [UInt8]) throws(ControlMessageError) -> Int {
        var reader = ByteReader(header)
        let magic = try reader.uint32()
        guard magic == Self.magic else { throw .notRDMALat(magic: magic) }
        let version = try reader.uint8()
        guard version == Self.version else { throw .unsupportedVersion(version) }
        _ = try reader.uint8()
        return Int(try reader.uint16())
    }

    /// Decodes one whole message (header and body).
    public static func decode(_ bytes: [UInt8]) throws(ControlMessageError) -> ControlMessage {
        guard bytes.count >= headerLength else { throw .truncated(needed: headerLength, available: bytes.count) }
        let length = try bodyLength(ofHeader: Array(bytes[0..<headerLength]))
        guard bytes.count >= headerLength + length else {
            throw .truncated(needed: headerLength + length, available: bytes.count)
        }
        let kindValue = bytes[5]
        var body = ByteReader(Array(bytes[headerLength..<(headerLength + length)]))
        guard let kind = Kind(rawValue: kindValue) else { throw .unknownKind(kindValue) }
        switch kind {
        case .hello:
            let testValue = try body.uint8()
            guard let test = LatencyTest(rawValue: testValue) else { throw .invalidField(name: "test", value: UInt64(testValue)) }
            let sizeKind = try body.uint8()
            _ = try body.uint16()
            let size = Int(try body.uint32())
            let sizes: MessageSizes
            switch sizeKind {
            case 1: sizes = .single(size)
            case 2: sizes = .powersOfTwo(upTo: size)
            default: throw .invalidField(name: "size kind", value: UInt64(sizeKind))
            }
            let iterations = Int(try body.uint32())
            let warmup = Int(try body.uint32())
            let buffer = RemoteBuffer(rkey: try body.uint32(), address: try body.uint64())
            var queuePair: QueuePairAddress?
            if body.remaining >= queuePairLength {
                let number = try body.uint32()
                let psn = try body.uint32()
                let lid = try body.uint16()
                let mtu = try body.uint8()
                guard let gid = GID(bytes: try body.bytes(16)) else { throw .truncated(needed: 16, available: 0) }
                queuePair = QueuePairAddress(queuePairNumber: number, packetSequenceNumber: psn, lid: lid, mtu: mtu, gid: gid)
            } else if body.remaining != 0 {
                throw .truncated(needed: helloBaseLength + queuePairLength, available: helloBaseLength + body.remaining)
            }
            let parameters = TestParameters(test: test, sizes: sizes, iterations: iterations, warmupIterations: warmup)
            return .hello(Hello(parameters: parameters, buffer: buffer, queuePair: queuePair))
        case .ready:
            return .ready(size: Int(try body.uint32()))
        case .done:
            return .done
        }
    }
}

/// A control message that cannot be decoded.
public enum ControlMessageError: Error, Sendable, Equatable, CustomStringConvertible {
    case notRDMALat(magic: UInt32)
    case unsupportedVersion(UInt8)
    case unknownKind(UInt8)
    case truncated(needed: Int, available: Int)
    case invalidField(name: String, value: UInt64)

    public var description: String {
        switch self {
        case .notRDMALat(let magic):
            "the peer is not rdma-lat (first word 0x\(String(magic, radix: 16)), expected \"RLAT\"); is it perftest?"
        case .unsupportedVersion(let version):
            "the peer speaks control protocol version \(version), this rdma-lat speaks \(ControlMessage.version)"
        case .unknownKind(let kind):
            "unknown control message kind \(kind)"
        case .truncated(let needed, let available):
            "control message truncated: needs \(needed) bytes, got \(available)"
        case .invalidField(let name, let value):
            "control message has an invalid \(name): \(value)"
        }
    }
}

/// Big-endian appends.
struct ByteWriter {
    var bytes: [UInt8] = []

    mutating func append(_ value: UInt8) { bytes.append(value) }
    mutating func append(_ value: UInt16) { appendBigEndian(value) }
    mutating func append(_ value: UInt32) { appendBigEndian(value) }
    mutating func append(_ value: UInt64) { appendBigEndian(value) }
    mutating func append(contentsOf other: [UInt8]) { bytes.append(contentsOf: other) }

    private mutating func appendBigEndian<T: FixedWidthInteger>(_ value: T) {
        var shift = T.bitWidth - 8
        while shift >= 0 {
            bytes.append(UInt8(truncatingIfNeeded: value >> shift))
            shift -= 8
        }
    }
}

/// Big-endian reads that fail with `truncated` instead of trapping.
struct ByteReader {
    private let bytes: [UInt8]
    private var offset = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    var remaining: Int { bytes.count - offset }

    mutating func uint8() throws(ControlMessageError) -> UInt8 { try integer() }
    mutating func uint16() throws(ControlMessageError) -> UInt16 { try integer() }
    mutating func uint32() throws(ControlMessageError) -> UInt32 { try integer() }
    mutating func uint64() throws(ControlMessageError) -> UInt64 { try integer() }

    mutating func bytes(_ count: Int) throws(ControlMessageError) -> [UInt8] {
        guard remaining >= count else { throw .truncated(needed: offset + count, available: bytes.count) }
        defer { offset += count }
        return Array(bytes[offset..<(offset + count)])
    }

    private mutating func integer<T: FixedWidthInteger>() throws(ControlMessageError) -> T {
        let width = T.bitWidth / 8
        guard remaining >= width else { throw .truncated(needed: offset + width, available: bytes.count) }
        var value: T = 0
        for index in offset..<(offset + width) { value = value << 8 | T(bytes[index]) }
        offset += width
        return value
    }
}
