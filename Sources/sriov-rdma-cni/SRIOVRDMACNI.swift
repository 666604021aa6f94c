import CLinux
import CNI
import Netlink
import VFAttach
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import SystemSupport

/// The product version; ExecutablesTests checks it against the repository's VERSION file.
let productVersion = "0.1.0"

/// The CNI plugin binary. A container runtime calls it with CNI_COMMAND and the
/// network config on stdin; a person calling it by hand gets --help and --version.
///
/// No argument parser: a runtime passes no arguments, and the two flags a person may
/// give are read here. swift-argument-parser brings Foundation, about 4 MiB of this
/// binary that every node copies and every CNI call maps.
@main
enum SRIOVRDMACNI {
    static let usage = """
        OVERVIEW: CNI plugin (type "sriov-rdma") that moves SR-IOV VFs and their RDMA devices into pods.

        Container runtimes call this plugin with CNI_COMMAND (ADD, DEL, CHECK, VERSION, STATUS, GC)
        and the network configuration on standard input; it takes no arguments then. It accepts
        sriov-cni's configuration fields (deviceID, vlan, vlanQoS, vlanProto, mac, spoofchk, trust,
        link_state, min_tx_rate, max_tx_rate, ipam) and moves the VF's RDMA device into the pod
        when the RDMA subsystem is in exclusive netns mode. Installed as `sriov`, `rdma` or
        `ib-sriov`, it serves those types too. By hand, --help, --version, and `install`, which
        copies it into a CNI bin dir as the operators' CNI init containers do (install --help).

        USAGE: sriov-rdma-cni [--help] [--version]
               sriov-rdma-cni install [--cni-bin-dir=DIR] [--names=NAME,...] [--no-sleep]

        OPTIONS:
          --version               Show the version.
          -h, --help              Show help information.

        """

    static func main() {
        // One malloc arena: a thread (an IPAM delegate's reader, anything on a thread of
        // its own) would otherwise get an arena of its own (a 64 MiB reservation,
        // trimmed and torn down) for a few allocations.
        _ = mallopt(M_ARENA_MAX, 1)
        // Single-threaded: namespaces are entered on this thread (NetworkNamespace.run).
        NetworkNamespace.entersOnCallingThread.store(true, ordering: .relaxed)
        let variables = processEnvironment()
        if variables["CNI_COMMAND"] != nil {
            let output = CNISkeleton.run(SRIOVRDMAPlugin(host: AttachHost.fromEnvironment(variables)),
                                         variables: variables, input: .standardInput)
            writeStandardOutput(output.stdout)
            exit(output.exitCode)
        }
        let arguments = CommandLine.arguments.dropFirst()
        switch arguments.first {
        case "--help"?, "-h"?, "help"?:
            writeStandardOutput(usage)
            exit(0)
        case "--version"?:
            writeStandardOutput(productVersion + "\n")
            exit(0)
        case "install"?:
            do {
                try Installer(arguments: arguments.dropFirst()).run()
                exit(0)
            } catch {
                if error.status == 0 { writeStandardOutput(error.message) } else { writeStandardError("Error: \(error.message)\n") }
                exit(error.status)
            }
        case nil:
            // CNI spec: a plugin invoked without CNI_COMMAND reports what it is.
            writeStandardOutput("CNI plugin sriov-rdma v\(productVersion): set CNI_COMMAND to call it (see --help).\n")
            exit(4)
        case let argument?:
            writeStandardError("Error: unknown argument '\(argument)'\n\(usage)")
            exit(64)
        }
    }
}

/// The process environment as a dictionary: each entry split at its first "=" byte
/// (String.firstIndex(of:) would walk grapheme clusters) into a dictionary sized once
/// for all entries; a later duplicate wins, as before. About 2 % of a VERSION call's CPU.
func processEnvironment() -> [String: String] {
    guard let entries = Optional(environ) else { return [:] }
    var count = 0
    while entries[count] != nil { count += 1 }
    var variables = [String: String](minimumCapacity: count)
    for index in 0..<count {
        guard let entry = entries[index] else { break }
        let bytes = UnsafeBufferPointer(start: UnsafeRawPointer(entry).assumingMemoryBound(to: UInt8.self), count: strlen(entry))
        guard let equals = bytes.firstIndex(of: UInt8(ascii: "=")) else { continue }
        variables[String(decoding: bytes[..<equals], as: UTF8.self)] = String(decoding: bytes[(equals + 1)...], as: UTF8.self)
    }
    return variables
}

/// The whole text; a runtime that stopped reading has gone, and nobody is left to tell.
func writeStandardOutput(_ text: String) {
    try? FileDescriptor.standardOutput.writeAll(text.utf8)
}

func writeStandardError(_ text: String) {
    try? FileDescriptor.standardError.writeAll(text.utf8)
}
