import Foundation
import XCTest

/// Checks the release executables as a user gets them: `--version`, `--help`, and
/// that they run on a node without a Swift toolchain (static Swift stdlib).
/// `scripts/test` builds them first with `swift build -c release --static-swift-stdlib`;
/// SRIOV_RDMA_BIN_DIR overrides where they are looked for.
final class ExecutablesTests: XCTestCase, RunsReleaseExecutables {
    static let executables = ["sriov-rdma-dp", "sriov-rdma-cni", "rdma-lat"]

    func testVersionMatchesTheVersionFile() throws {
        let expected = try String(contentsOf: Self.packageRoot.appendingPathComponent("VERSION"), encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        for name in Self.executables {
            let output = try run(try binary(name), ["--version"])
            XCTAssertEqual(output.status, 0, name)
            XCTAssertEqual(output.stdout.trimmingCharacters(in: .whitespacesAndNewlines), expected, name)
        }
    }

    func testHelpNamesTheCommandAndItsPurpose() throws {
        let purposes = [
            "sriov-rdma-dp": "device plugin for SR-IOV virtual functions and RDMA devices",
            "sriov-rdma-cni": "moves SR-IOV VFs and their RDMA devices into pods",
            "rdma-lat": "RDMA send, write and read latency",
        ]
        for name in Self.executables {
            let output = try run(try binary(name), ["--help"])
            XCTAssertEqual(output.status, 0, name)
            XCTAssertTrue(output.stdout.contains("USAGE: \(name)"), "\(name) --help: \(output.stdout)")
            // --help wraps at the terminal width: compare with whitespace folded.
            let folded = output.stdout.split(whereSeparator: \.isWhitespace).joined(separator: " ")
            XCTAssertTrue(folded.contains(purposes[name]!), "\(name) --help: \(output.stdout)")
        }
    }

    /// With the Swift runtime linked in, what remains dynamic are the C runtime and
    /// the system libraries each binary really uses; nothing from the Swift toolchain.
    func testReleaseBinariesNeedNoSwiftRuntime() throws {
        let allowedEverywhere: Set<String> = ["linux-vdso.so.1", "libc.so.6", "libm.so.6", "ld-linux-x86-64.so.2",
                                               "libstdc++.so.6", "libgcc_s.so.1"]
        let extra: [String: Set<String>] = [
            // libibverbs (and the shared libnl it links) for `discover`'s port facts (Sources/RDMAVerbs).
            "sriov-rdma-dp": ["libpci.so.3", "libz.so.1", "libudev.so.1", "libibverbs.so.1", "libnl-route-3.so.200", "libnl-3.so.200", "libcurl.so.4"],
            "rdma-lat": ["libibverbs.so.1", "librdmacm.so.1", "libnl-route-3.so.200", "libnl-3.so.200"],
        ]
        // sriov-rdma-cni links nothing at run time: testCNIBinaryIsFullyStatic.
        for name in Self.executables where name != "sriov-rdma-cni" {
            let output = try run("/usr/bin/ldd", [try binary(name)])
            XCTAssertEqual(output.status, 0, "ldd \(name): \(output.stderr)")
            let libraries = Set(output.stdout.split(separator: "\n").compactMap { line in
                line.split(whereSeparator: \.isWhitespace).first.map { String($0.split(separator: "/").last!) }
            })
            // libcurl brings its own (OpenSSL, nghttp2, krb5, ldap ... as Debian builds it): allowed
            // as what libcurl4 loads, not as something our code links.
            var allowed = allowedEverywhere.union(extra[name]!)
            if let line = output.stdout.split(separator: "\n").first(where: { $0.contains("libcurl.so.4 => ") }),
               let path = line.split(separator: " ").first(where: { $0.hasPrefix("/") }) {
                let curl = try run("/usr/bin/ldd", [String(path)])
                allowed.formUnion(curl.stdout.split(separator: "\n").compactMap { line in
                    line.split(whereSeparator: \.isWhitespace).first.map { String($0.split(separator: "/").last!) }
                })
            }
            XCTAssertTrue(libraries.isSubset(of: allowed),
                          "\(name) links \(libraries.subtracting(allowedEverywhere).sorted())")
            let swiftRuntime = libraries.filter { ["libswift", "libFoundation", "libdispatch", "libBlocksRuntime"].contains(where: $0.hasPrefix) }
            XCTAssertEqual(swiftRuntime, [], "\(name) still needs the Swift runtime")
        }
    }

    /// The CNI runs on the host of every node, whatever its glibc: a fully static
    /// executable, with no interpreter and no shared library (Package.swift, cniLinking).
    func testCNIBinaryIsFullyStatic() throws {
        let headers = try run("/usr/bin/readelf", ["-lW", try binary("sriov-rdma-cni")])
        XCTAssertEqual(headers.status, 0, headers.stderr)
        XCTAssertFalse(headers.stdout.contains("INTERP"), headers.stdout)
        let dynamic = try run("/usr/bin/readelf", ["-dW", try binary("sriov-rdma-cni")])
        XCTAssertFalse(dynamic.stdout.contains("(NEEDED)"), dynamic.stdout)
    }

    /// Stripped, the CNI stays within 8 MiB (issue #19; README), which it does only
    /// while nothing on its paths pulls in Foundation (an argument parser) or the
    /// concurrency runtime (`ContinuousClock`, a `Task`) with libdispatch.
    func testCNIBinaryIsSmallAndHasNoConcurrencyRuntime() throws {
        let symbols = try run("/usr/bin/nm", [try binary("sriov-rdma-cni")])
        XCTAssertEqual(symbols.status, 0, symbols.stderr)
        for runtime in ["swift_task_create", "dispatch_async_f", "$s10Foundation"] {
            XCTAssertFalse(symbols.stdout.contains(runtime), "sriov-rdma-cni links \(runtime)")
        }
        let stripped = FileManager.default.temporaryDirectory.appendingPathComponent("sriov-rdma-cni.stripped.\(getpid())")
        defer { try? FileManager.default.removeItem(at: stripped) }
        let strip = try run("/usr/bin/strip", ["-o", stripped.path, try binary("sriov-rdma-cni")])
        XCTAssertEqual(strip.status, 0, strip.stderr)
        let size = try XCTUnwrap(try FileManager.default.attributesOfItem(atPath: stripped.path)[.size] as? Int)
        XCTAssertLessThanOrEqual(size, 8 << 20, "sriov-rdma-cni is \(size) bytes stripped")
    }

    /// Called as a CNI plugin (CNI_COMMAND set, no arguments) it speaks CNI, not --help.
    func testCNIAnswersVERSION() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try binary("sriov-rdma-cni"))
        process.environment = ["CNI_COMMAND": "VERSION"]
        let input = Pipe(), out = Pipe()
        process.standardInput = input
        process.standardOutput = out
        try process.run()
        input.fileHandleForWriting.write(Data(#"{"cniVersion":"1.0.0"}"#.utf8))
        try input.fileHandleForWriting.close()
        let stdout = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0)
        XCTAssertEqual(stdout, #"{"cniVersion":"1.0.0","supportedVersions":["0.1.0","0.2.0","0.3.0","0.3.1","0.4.0","1.0.0","1.1.0"]}"# + "\n")
    }

    func testCNIWithoutCommandSaysWhatItIs() throws {
        let output = try run(try binary("sriov-rdma-cni"), [], environment: [:])
        XCTAssertNotEqual(output.status, 0)
        XCTAssertTrue(output.stdout.contains("CNI plugin sriov-rdma"), output.stdout)
    }
}
