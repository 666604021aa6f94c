#if canImport(Glibc)
import Glibc
#endif

/// Errors of a latency run. Each carries the value a user needs to act on.
public enum RDMAPerfError {
    /// `-d NAME` names no device libibverbs can see.
    public struct DeviceNotFound: Error, CustomStringConvertible {
        public var name: String?
        public var available: [String]

        public var description: String {
            let list = available.isEmpty ? "libibverbs sees no RDMA devices (is a driver such as rdma_rxe loaded and a link added?)"
                : "available: \(available.joined(separator: ", "))"
            if let name { return "RDMA device '\(name)' not found; \(list)" }
            return "no RDMA device to use; \(list)"
        }
    }

    /// The port is not ACTIVE (ibv_port_state).
    public struct PortNotActive: Error, CustomStringConvertible {
        public var device: String
        public var port: Int
        public var state: String

        public var description: String {
            "\(device) port \(port) is \(state), not ACTIVE: bring its netdev up (ip link set DEV up) and check the link"
        }
    }

    /// A verbs or rdma_cm call failed.
    public struct CallFailed: Error, CustomStringConvertible {
        public var call: String
        public var errorNumber: Int32
        public var context: String

        public init(_ call: String, errorNumber: Int32 = errno, context: String = "") {
            self.call = call
            self.errorNumber = errorNumber
            self.context = context
        }

        public var description: String {
            let reason = errorNumber == 0 ? "failed" : "failed: \(String(cString: strerror(errorNumber))) (errno \(errorNumber))"
            return context.isEmpty ? "\(call) \(reason)" : "\(call) \(reason); \(context)"
        }
    }

    /// Nothing answered at the peer's address before the deadline.
    public struct PeerUnreachable: Error, CustomStringConvertible {
        public var host: String
        public var port: UInt16
        public var seconds: Double
        public var lastError: String

        public var description: String {
            "peer \(host):\(port) unreachable: no rdma-lat server answered within \(formatSeconds(seconds)) s (last attempt: \(lastError))"
        }
    }

    /// The peer stopped answering in the middle of the run.
    public struct PeerTimeout: Error, CustomStringConvertible {
        public var waitingFor: String
        public var seconds: Double

        public var description: String {
            "timed out after \(formatSeconds(seconds)) s waiting for \(waitingFor); did the peer stop or fail?"
        }
    }

    /// The peer closed the side channel or the connection early.
    public struct PeerClosed: Error, CustomStringConvertible {
        public var during: String

        public var description: String { "the peer closed the connection during \(during); see the error it printed" }
    }

    /// The peer sent something other than what the protocol expects next.
    public struct UnexpectedMessage: Error, CustomStringConvertible {
        public var expected: String
        public var received: String

        public var description: String { "protocol error: expected \(expected) from the peer, got \(received)" }
    }

    /// A work request finished with an error status.
    public struct CompletionFailed: Error, CustomStringConvertible {
        public var operation: String
        public var status: String
        public var iteration: Int

        public var description: String {
            "\(operation) completion failed at iteration \(iteration): \(status); the peer may have gone away"
        }
    }

    /// Options that cannot work together or on this device.
    public struct Unsupported: Error, CustomStringConvertible {
        public var reason: String

        public var description: String { reason }
    }
}

func formatSeconds(_ seconds: Double) -> String {
    seconds == seconds.rounded() ? String(Int(seconds)) : String(seconds)
}
