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
        version: productVersion,
        subcommands: [ListDevices.self]
    )
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
