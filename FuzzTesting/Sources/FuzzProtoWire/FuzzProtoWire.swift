// libFuzzer entry for ProtoWire + DevicePluginAPI (built by scripts/fuzz through this package).
//
// Every input is decoded as each v1beta1 message type and walked field by field with
// every typed read. Decoding may fail, but must never trap; a message that decodes
// must re-encode to bytes that decode to an equal message and re-encode identically.

import DevicePluginAPI
// ProtoReader.readNestedReader, used to walk nested messages, is internal.
@testable import ProtoWire

import CLibFuzzer

/// The entry point: SwiftPM links an executable target's `main` as `<target>_main`.
@_cdecl("FuzzProtoWire_main")
func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var argc = argc
    var argv = argv
    return LLVMFuzzerRunDriver(&argc, &argv) { data, size in data.map { fuzzProtoWire($0, size) } ?? 0 }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzProtoWire(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    checkRoundTrip(DevicePluginOptions.self, bytes)
    checkRoundTrip(RegisterRequest.self, bytes)
    checkRoundTrip(Empty.self, bytes)
    checkRoundTrip(ListAndWatchResponse.self, bytes)
    checkRoundTrip(Device.self, bytes)
    checkRoundTrip(TopologyInfo.self, bytes)
    checkRoundTrip(PreStartContainerRequest.self, bytes)
    checkRoundTrip(PreferredAllocationRequest.self, bytes)
    checkRoundTrip(PreferredAllocationResponse.self, bytes)
    checkRoundTrip(AllocateRequest.self, bytes)
    checkRoundTrip(AllocateResponse.self, bytes)
    checkRoundTrip(ContainerAllocateResponse.self, bytes)
    walkFields(ProtoReader(bytes), depth: 0)
    // A slice input with a non-zero start exercises offset bookkeeping.
    if size > 1 {
        checkRoundTrip(AllocateResponse.self, bytes[1...])
    }
    return 0
}

private func checkRoundTrip<Message: ProtoMessage & Equatable>(_ type: Message.Type, _ input: some Collection<UInt8>) {
    guard let message = try? Message(serializedBytes: input) else { return }
    let encoded = message.serializedBytes()
    let again: Message
    do {
        again = try Message(serializedBytes: encoded)
    } catch {
        fatalError("\(Message.self): re-encoding of a decoded message does not decode: \(error)")
    }
    guard again == message else {
        fatalError("\(Message.self): round trip changed the message: \(message) → \(again)")
    }
    guard again.serializedBytes() == encoded else {
        fatalError("\(Message.self): encoding is not stable")
    }
    guard encoded.count <= input.count + 16 * max(1, input.count) else {
        fatalError("\(Message.self): encoding grew from \(input.count) to \(encoded.count) bytes")
    }
}

/// Reads every field with each applicable typed read on a copy of the reader, then
/// skips it; LEN fields are also walked as nested messages (bounded depth).
private func walkFields(_ start: ProtoReader, depth: Int) {
    var reader = start
    while true {
        let field: (number: Int, wireType: WireType)?
        do {
            field = try reader.nextField()
        } catch {
            return
        }
        guard let field else { return }
        switch field.wireType {
        case .varint:
            var copy = reader
            _ = try? copy.readInt32()
            copy = reader
            _ = try? copy.readSInt32()
            copy = reader
            _ = try? copy.readSInt64()
            copy = reader
            _ = try? copy.readBool()
            copy = reader
            _ = try? copy.readPackedVarints()
        case .fixed32:
            var copy = reader
            _ = try? copy.readFloat()
        case .fixed64:
            var copy = reader
            _ = try? copy.readDouble()
        case .lengthDelimited:
            var copy = reader
            _ = try? copy.readString()
            copy = reader
            _ = try? copy.readBytes()
            copy = reader
            _ = try? copy.readPackedVarints()
            copy = reader
            _ = try? copy.readMapEntry()
            if depth < 8, let nested = try? reader.readNestedReader() {
                walkFields(nested, depth: depth + 1)
                continue
            }
        case .startGroup, .endGroup:
            break
        }
        do {
            try reader.skipField(field.wireType)
        } catch {
            return
        }
    }
}
