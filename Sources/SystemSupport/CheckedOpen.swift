#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CLinux

/// A file refused for what it is, or one a system call failed on: the path and why.
public struct FileCheckError: Error, Equatable, Sendable, CustomStringConvertible {
    public enum Problem: Equatable, Sendable, CustomStringConvertible {
        /// A system call failed: what was attempted ("opened", "read") and the reason.
        case failed(String, Errno)
        case wrongType(FileType, expected: FileType)
        case tooLarge(limit: Int)
        /// The path named another file by the time it was opened.
        case replaced

        public var description: String {
            switch self {
            case .failed(let operation, let errno): "cannot be \(operation): \(errno)"
            case .wrongType(let found, let expected): "is a \(found), not a \(expected)"
            case .tooLarge(let limit): "is larger than \(limit) bytes"
            case .replaced: "was replaced while it was being opened"
            }
        }
    }

    public var path: String
    public var problem: Problem

    public init(path: String, problem: Problem) {
        self.path = path
        self.problem = problem
    }

    /// The system call's reason, when one failed.
    public var errno: Errno? {
        if case .failed(_, let errno) = problem { return errno }
        return nil
    }

    public var description: String { "\(path) \(problem)" }
}

extension FileDescriptor {
    /// Opens `path` with `flags` only when it is a file of `type`, and never waits. The
    /// type is read first through an O_PATH descriptor, which opens nothing: no FIFO
    /// waits for its other end, no device's open routine runs (a watchdog arms on open).
    /// Then the path is opened with O_NONBLOCK and O_NOCTTY added, and must still name
    /// the same file. With `creatingWith`, a missing file is created with that mode
    /// (O_EXCL, so a file another process made first is checked like any other).
    public static func openChecked(_ path: String, _ flags: Int32, expecting type: FileType,
                                   creatingWith mode: mode_t? = nil) throws(FileCheckError) -> (descriptor: FileDescriptor, status: FileStatus) {
        func fail(_ problem: FileCheckError.Problem) -> FileCheckError { FileCheckError(path: path, problem: problem) }
        let nonBlocking = flags | O_NONBLOCK | O_NOCTTY
        // A file that appears and vanishes between the probe and the create is tried again.
        for _ in 0..<3 {
            let probe: FileDescriptor
            do throws(Errno) {
                probe = try open(path, sriov_rdma_o_path)
            } catch {
                guard error == .noSuchFile, let mode else { throw fail(.failed("opened", error)) }
                let created: FileDescriptor
                do throws(Errno) {
                    created = try open(path, nonBlocking | O_CREAT | O_EXCL, mode: mode)
                } catch {
                    if error == Errno(rawValue: EEXIST) { continue }
                    throw fail(.failed("created", error))
                }
                do throws(Errno) {
                    return (created, try created.status())
                } catch {
                    created.close()
                    throw fail(.failed("examined", error))
                }
            }
            let expected: FileStatus
            do throws(Errno) {
                expected = try probe.closeAfter { () throws(Errno) in try probe.status() }
            } catch {
                throw fail(.failed("examined", error))
            }
            guard expected.type == type else { throw fail(.wrongType(expected.type, expected: type)) }
            let file: FileDescriptor
            do throws(Errno) {
                file = try open(path, nonBlocking)
            } catch {
                throw fail(.failed("opened", error))
            }
            let status: FileStatus
            do throws(Errno) {
                status = try file.status()
            } catch {
                file.close()
                throw fail(.failed("examined", error))
            }
            guard status.isSameFile(as: expected), status.type == type else {
                file.close()
                throw fail(.replaced)
            }
            return (file, status)
        }
        throw fail(.failed("created", Errno(rawValue: EEXIST)))
    }
}

/// The whole of the regular file at `path`, at most `limit` bytes. Anything else (a
/// FIFO, a device such as /dev/zero, a directory) is refused without a byte read; a
/// larger file is refused by its size, and one that grows past `limit` while it is
/// read (or a /proc file, whose size says 0) after `limit` + 1 bytes.
public func readRegularFile(_ path: String, limit: Int) throws(FileCheckError) -> [UInt8] {
    let (file, status) = try FileDescriptor.openChecked(path, O_RDONLY, expecting: .regular)
    defer { file.close() }
    guard status.size <= limit else { throw FileCheckError(path: path, problem: .tooLarge(limit: limit)) }
    let bytes: [UInt8]?
    do throws(Errno) {
        bytes = try file.readAll(limit: limit)
    } catch {
        throw FileCheckError(path: path, problem: .failed("read", error))
    }
    guard let bytes else { throw FileCheckError(path: path, problem: .tooLarge(limit: limit)) }
    return bytes
}
