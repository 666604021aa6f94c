#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// What a file is (st_mode & S_IFMT), named as messages name it.
public enum FileType: Sendable, Equatable, CustomStringConvertible {
    case regular, directory, fifo, characterDevice, blockDevice, socket, symbolicLink, unknown

    init(mode: mode_t) {
        switch mode & S_IFMT {
        case S_IFREG: self = .regular
        case S_IFDIR: self = .directory
        case S_IFIFO: self = .fifo
        case S_IFCHR: self = .characterDevice
        case S_IFBLK: self = .blockDevice
        case S_IFSOCK: self = .socket
        case S_IFLNK: self = .symbolicLink
        default: self = .unknown
        }
    }

    public var description: String {
        switch self {
        case .regular: "regular file"
        case .directory: "directory"
        case .fifo: "FIFO"
        case .characterDevice: "character device"
        case .blockDevice: "block device"
        case .socket: "socket"
        case .symbolicLink: "symbolic link"
        case .unknown: "file of unknown type"
        }
    }
}

/// What fstat(2) says of an open file.
public struct FileStatus: Sendable, Equatable {
    public var type: FileType
    /// st_size: bytes for a regular file; 0 for most /proc files, whatever they hold.
    public var size: Int
    public var device: UInt64
    public var inode: UInt64

    /// Both name the same file (st_dev and st_ino match).
    public func isSameFile(as other: FileStatus) -> Bool {
        device == other.device && inode == other.inode
    }
}

extension FileDescriptor {
    /// fstat(2). Works on an O_PATH descriptor too.
    public func status() throws(Errno) -> FileStatus {
        var info = stat()
        guard fstat(rawValue, &info) == 0 else { throw .current }
        return FileStatus(type: FileType(mode: info.st_mode), size: Int(info.st_size),
                          device: UInt64(info.st_dev), inode: UInt64(info.st_ino))
    }
}
