import CLinux
#if canImport(Glibc)
import Glibc
#endif
import SystemSupport

/// inotify on a few directories, read on a thread of its own; each event reaches
/// `handler` as (directory, entry name, mask).
final class DirectoryWatcher: @unchecked Sendable {
    private let fd: Int32
    private var directories: [Int32: String] = [:]

    init?(directories: [String], handler: @escaping @Sendable (String, String, UInt32) -> Void) {
        fd = inotify_init1(Int32(IN_CLOEXEC))
        guard fd >= 0 else { return nil }
        let mask = UInt32(IN_CREATE | IN_DELETE | IN_MOVED_TO | IN_MOVED_FROM | IN_CLOSE_WRITE | IN_DELETE_SELF)
        for directory in Set(directories) {
            let wd = inotify_add_watch(fd, directory, mask)
            if wd >= 0 { self.directories[wd] = directory }
        }
        let fd = self.fd
        let names = self.directories
        let started = startThread(name: "inotify") {
            var buffer = [UInt8](repeating: 0, count: 64 * 1024)
            while true {
                let count = buffer.withUnsafeMutableBytes { raw in retryingOnInterrupt { read(fd, raw.baseAddress, raw.count) } }
                guard count > 0 else { return }
                var offset = 0
                // struct inotify_event: wd, mask, cookie, len, then a NUL-padded name.
                while offset + 16 <= count {
                    let (wd, eventMask, length) = buffer.withUnsafeBytes { raw in
                        (raw.load(fromByteOffset: offset, as: Int32.self), raw.load(fromByteOffset: offset + 4, as: UInt32.self),
                         Int(raw.load(fromByteOffset: offset + 12, as: UInt32.self)))
                    }
                    let nameBytes = buffer[(offset + 16)..<min(offset + 16 + length, count)].prefix { $0 != 0 }
                    handler(names[wd] ?? "", String(decoding: nameBytes, as: UTF8.self), eventMask)
                    offset += 16 + length
                }
            }
        }
        guard started else {
            close(fd)
            return nil
        }
    }
}

/// rtnetlink link notifications (RTMGRP_LINK): a netdev appeared, vanished, or
/// changed state or carrier. The message is not parsed; any one triggers a rescan.
/// A raw socket of its own rather than the Netlink module's: nothing here is parsed or
/// sent, so the daemon needs neither libnl nor a request/reply client for it.
enum LinkWatcher {
    static func start(_ handler: @escaping @Sendable () -> Void) -> Bool {
        let fd = socket(AF_NETLINK, Int32(SOCK_RAW.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0 /* NETLINK_ROUTE */)
        guard fd >= 0 else { return false }
        var address = sockaddr_nl()
        address.nl_family = sa_family_t(AF_NETLINK)
        address.nl_groups = 1  // RTMGRP_LINK, include/uapi/linux/rtnetlink.h
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_nl>.size)) }
        }
        guard bound == 0 else {
            close(fd)
            return false
        }
        return startThread(name: "rtnetlink") {
            var buffer = [UInt8](repeating: 0, count: 64 * 1024)
            while true {
                let count = buffer.withUnsafeMutableBytes { raw in retryingOnInterrupt { recv(fd, raw.baseAddress, raw.count, 0) } }
                if count < 0 && errno == ENOBUFS {
                    handler()  // ENOBUFS: we missed events, so rescan anyway
                    continue
                }
                guard count > 0 else { return }
                handler()
            }
        }
    }
}

/// Runs `body` on a detached thread of its own (these loops block in read(2) for the
/// life of the process). False if no thread could be made.
private func startThread(name: String, _ body: @escaping @Sendable () -> Void) -> Bool {
    (try? OSThread.start(name: name, detached: true, body)) != nil
}
