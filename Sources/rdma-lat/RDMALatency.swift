#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import CIBVerbs

/// The product version; ExecutablesTests checks it against the repository's VERSION file.
let productVersion = "0.1.0"

@main
struct RDMALatency: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rdma-lat",
        abstract: "Measure RDMA send, write and read latency between two hosts (perftest style).",
        discussion: """
        Start the server first, then the client with the server's address:
          rdma-lat send -d rxe1                 (server)
          rdma-lat send -d rxe0 10.56.0.2       (client)
        Both sides print perftest's columns (microseconds; send and write report half
        the round trip, read the whole round trip of an RDMA read).
        """,
        version: productVersion,
        subcommands: [SendLatency.self, WriteLatency.self, ReadLatency.self, ListDevices.self]
    )
}

struct SendLatency: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "send", abstract: "SEND/RECV ping-pong latency (as ib_send_lat).")
    @OptionGroup var options: LatencyOptions

    func validate() throws { try options.validate(for: .send) }
    func run() throws { try LatencyRunner(options: options, test: .send).run() }
}

struct WriteLatency: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "write", abstract: "RDMA WRITE ping-pong latency (as ib_write_lat).")
    @OptionGroup var options: LatencyOptions

    func validate() throws { try options.validate(for: .write) }
    func run() throws { try LatencyRunner(options: options, test: .write).run() }
}

struct ReadLatency: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "read", abstract: "RDMA READ latency, measured by the client (as ib_read_lat).")
    @OptionGroup var options: LatencyOptions

    func validate() throws { try options.validate(for: .read) }
    func run() throws { try LatencyRunner(options: options, test: .read).run() }
}

/// `rdma-lat devices`: what `ibv_devices` prints, so a user can pick `-d NAME`.
struct ListDevices: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "devices",
        abstract: "List the RDMA devices libibverbs can open."
    )

    func run() throws {
        var count: Int32 = 0
        guard let list = ibv_get_device_list(&count) else {
            print("No RDMA devices: libibverbs found no kernel RDMA support (errno \(errno)).")
            return
        }
        defer { ibv_free_device_list(list) }
        if count == 0 { print("No RDMA devices.") }
        for index in 0..<Int(count) {
            guard let device = list[index] else { continue }
            let name = String(cString: ibv_get_device_name(device))
            let guid = ibv_get_device_guid(device).bigEndian
            print("\(name)\tGUID \(String(guid, radix: 16))")
        }
    }
}
