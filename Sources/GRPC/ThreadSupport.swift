import SystemSupport

/// Runs blocking work on a thread of its own and resumes the caller with its result,
/// or with the error that no thread could be made.
func runBlocking<T: Sendable>(name: String, _ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        do throws(ThreadStartError) {
            _ = try OSThread.start(name: name, detached: true) {
                continuation.resume(with: Result { try work() })
            }
        } catch {
            continuation.resume(throwing: SocketError(operation: "start a thread for", path: name, errno: error.errno.rawValue))
        }
    }
}
