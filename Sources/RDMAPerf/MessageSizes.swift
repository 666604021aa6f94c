/// Which message sizes a run covers: one size, or every power of two from 2 B
/// up to a maximum (perftest's `--all` goes to 8 MiB).
public enum MessageSizes: Sendable, Equatable, CustomStringConvertible {
    case single(Int)
    case powersOfTwo(upTo: Int)

    /// perftest's `--all` range: 2 B to 2^23 B.
    public static let smallest = 2
    public static let largestAll = 1 << 23

    /// The sizes in the order they run.
    public var sizes: [Int] {
        switch self {
        case .single(let size):
            return [size]
        case .powersOfTwo(let maximum):
            var result: [Int] = []
            var size = Self.smallest
            while size <= maximum {
                result.append(size)
                size <<= 1
            }
            return result
        }
    }

    /// The largest size, which sizes the registered buffers.
    public var largest: Int { sizes.last ?? Self.smallest }

    public var description: String {
        switch self {
        case .single(let size): "\(size) B"
        case .powersOfTwo(let maximum): "all sizes 2 B to \(maximum) B"
        }
    }
}
