import HPACK
// FrameParser, which checks the frames the connection writes, is internal.
@testable import HTTP2

/// libFuzzer entry for the HTTP/2 connection (built by scripts/fuzz through this
/// package). The input is fed to a server connection that
/// has seen a valid preface and SETTINGS, in chunks whose sizes come from the input,
/// and to a client connection; both must survive anything without crashing, and
/// never write a frame larger than 16384 bytes.
import CLibFuzzer

/// The entry point: SwiftPM links an executable target's `main` as `<target>_main`.
@_cdecl("FuzzHTTP2_main")
func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var argc = argc
    var argv = argv
    return LLVMFuzzerRunDriver(&argc, &argv) { data, size in data.map { fuzzHTTP2($0, size) } ?? 0 }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHTTP2(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = Array(UnsafeBufferPointer(start: data, count: size))
    guard let first = input.first else { return 0 }
    let body = Array(input.dropFirst())

    var server = HTTP2Connection(role: .server)
    _ = server.receive(http2ClientPreface + [0, 0, 0, 4, 0, 0, 0, 0, 0])
    let chunk = Int(first % 64) + 1
    var offset = 0
    while offset < body.count && !server.isClosed {
        let end = min(offset + chunk, body.count)
        for event in server.receive(body[offset..<end]) {
            // Answer requests so the outbound paths run too.
            if case .headers(let stream, _, true) = event {
                try? server.sendHeaders([HeaderField(name: ":status", value: "200")], on: stream, endStream: false)
                try? server.sendData([UInt8](repeating: 1, count: 70_000), on: stream, endStream: false)
                try? server.sendHeaders([HeaderField(name: "grpc-status", value: "0")], on: stream, endStream: true)
            }
        }
        checkFrames(server.takeOutbound())
        offset = end
    }

    var client = HTTP2Connection(role: .client)
    _ = try? client.startStream(headers: [HeaderField(name: ":method", value: "POST")], endStream: true)
    _ = client.receive(body)
    checkFrames(client.takeOutbound())
    return 0
}

private func checkFrames(_ bytes: [UInt8]) {
    var parser = FrameParser(maxFrameSize: 16_384)
    parser.append(bytes.starts(with: http2ClientPreface) ? bytes.dropFirst(http2ClientPreface.count) : bytes[...])
    do {
        while try parser.nextFrame() != nil {}
    } catch {
        fatalError("the connection wrote a frame over 16384 bytes: \(error)")
    }
}
