#if canImport(Glibc)
import Glibc
#endif
import Logging
import SystemSupport

/// Log lines appended to a file, in the format of swift-log's stream handler, for
/// `--log-dir` (glog's flag, which the operators pass): the file goes beside stderr.
struct FileLogHandler: LogHandler {
    let label: String
    let file: FileDescriptor
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]

    /// Opens (creates, appends to) `<directory>/sriov-rdma-dp.log`, creating the directory.
    static func open(directory: String) throws -> FileDescriptor {
        try createDirectories(directory, mode: 0o755)
        let path = directory + "/sriov-rdma-dp.log"
        do {
            return try FileDescriptor.open(path, O_WRONLY | O_CREAT | O_APPEND, mode: 0o644)
        } catch {
            throw FileOperationError.failed("opening the log file", path, error)
        }
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(level: Logger.Level, message: Logger.Message, metadata extra: Logger.Metadata?,
             source: String, file _: String, function _: String, line _: UInt) {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        var broken = tm()
        var seconds = time.tv_sec
        gmtime_r(&seconds, &broken)
        var buffer = [CChar](repeating: 0, count: 32)
        let length = strftime(&buffer, buffer.count, "%Y-%m-%dT%H:%M:%S%z", &broken)
        let stamp = String(decoding: buffer.prefix(length).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let merged = metadata.merging(extra ?? [:]) { _, new in new }
        let fields = merged.isEmpty ? "" : " " + merged.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        try? file.writeAll("\(stamp) \(level) \(label):\(fields) [\(source)] \(message)\n".utf8)
    }
}
