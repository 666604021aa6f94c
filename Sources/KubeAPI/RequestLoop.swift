import JSONValue
import SystemSupport

/// How one attempt of a request ended, for the retry loop to judge.
enum AttemptResult<Success> {
    case done(Success)
    /// An HTTP answer outside 2xx, with its body (a Status, usually).
    case status(Int, retryAfter: Duration?, body: [UInt8])
    /// curl's failure; retried as `RetryPolicy.mayRetry` says.
    case transport(code: Int, text: String)
    /// Final whatever the policy: the request went wrong in a way sending it again
    /// cannot mend.
    case failed(KubeAPIError.Failure)
}

extension KubeClient {
    /// A request whose whole answer is one JSON document (or nothing: null).
    func send(_ verb: KubeVerb, _ path: String, query: [(String, String)] = [], body: JSON? = nil,
              contentType: String = "application/json", idempotent: Bool) throws(KubeAPIError) -> JSON {
        let bytes = body.map { Array($0.serialized.utf8) }
        let limit = options.maximumResponseSize
        let answer: [UInt8] = try withRetries(verb, path, idempotent: idempotent) { token throws(KubeAPIError) in
            let request = CurlRequest(method: verb.httpMethod, url: try url(verb, path, query),
                                      headers: headers(token: token, contentType: bytes == nil ? nil : contentType),
                                      body: bytes, timeout: options.requestTimeout)
            var received: [UInt8] = []
            var tooLarge = false
            let outcome = pool.withHandle { handle in
                handle.perform(request, settings: settings) { _, piece in
                    guard received.count + piece.count <= limit else {
                        tooLarge = true
                        return false
                    }
                    received.append(contentsOf: piece)
                    return true
                }
            }
            switch outcome {
            case nil: return .failed(.request("curl could not create a handle"))
            case .response(let status, let retryAfter)?:
                return (200..<300).contains(status) ? .done(received) : .status(status, retryAfter: retryAfter, body: received)
            case .failed(let code, let text)?: return .transport(code: code, text: text)
            case .stoppedByReceiver?, .cancelled?:
                return .failed(.malformedResponse(tooLarge ? "the response is larger than \(limit) bytes" : "the transfer stopped"))
            }
        }
        if answer.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) { return .null }
        do throws(JSONSyntaxError) {
            return try JSON.parse(answer)
        } catch {
            throw KubeAPIError(verb: verb, path: path, failure: .malformedResponse(error.description))
        }
    }

    /// Runs `attempt` (with the bearer token to send, if any) until it succeeds, fails
    /// for good, or the policy's attempts are spent. A 401 with a token file reads the
    /// file again and tries once more, whatever the policy: the token may have rotated.
    func withRetries<Success>(_ verb: KubeVerb, _ path: String, idempotent: Bool,
                              _ attempt: (String?) throws(KubeAPIError) -> AttemptResult<Success>) throws(KubeAPIError) -> Success {
        let policy = options.retry
        var attempts = 0
        var tokenReread = false
        func fail(_ failure: KubeAPIError.Failure) -> KubeAPIError {
            KubeAPIError(verb: verb, path: path, failure: failure, attempts: attempts)
        }
        while true {
            attempts += 1
            let token: String?
            switch config.bearerToken {
            case nil: token = nil
            case .value(let value)?: token = value
            case .file?:
                do throws(KubeConfigError) {
                    token = try tokenFile!.token()
                } catch {
                    throw fail(.request("cannot read the bearer token: \(error)"))
                }
            }
            let delay: Duration
            switch try attempt(token) {
            case .done(let success):
                return success
            case .failed(let failure):
                throw fail(failure)
            case .status(401, _, _) where tokenFile != nil && !tokenReread:
                tokenFile!.invalidate()
                tokenReread = true
                continue
            case .status(let status, let retryAfter, let body):
                guard RetryPolicy.isRetryable(status: status), attempts < policy.maximumAttempts else {
                    throw fail(Self.statusFailure(status, body: body))
                }
                delay = retryAfter.map { min($0, policy.maximumRetryAfter) } ?? policy.delay(afterAttempt: attempts)
            case .transport(let code, let text):
                guard RetryPolicy.mayRetry(curlCode: code, idempotent: idempotent), attempts < policy.maximumAttempts else {
                    throw fail(.transport(curlCode: code, text: text))
                }
                delay = policy.delay(afterAttempt: attempts)
            }
            sleepBlocking(for: delay)
        }
    }

    /// The status and, from a Status body, its reason and message; from any other body
    /// its first line, so that a proxy's HTML error page still says something.
    static func statusFailure(_ status: Int, body: [UInt8]) -> KubeAPIError.Failure {
        if let document = try? JSON.parse(body), document["kind"]?.stringValue == "Status" {
            return .status(code: status, reason: document["reason"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 },
                           message: document["message"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 })
        }
        let text = String(decoding: body.prefix(300), as: UTF8.self).trimmingWhitespace
        let firstLine = text.split(separator: "\n").first.map(String.init)
        return .status(code: status, reason: nil, message: firstLine)
    }

    func url(_ verb: KubeVerb, _ path: String, _ query: [(String, String)]) throws(KubeAPIError) -> String {
        guard path.hasPrefix("/"), !path.contains(" "), !path.contains("#") else {
            throw KubeAPIError(verb: verb, path: path, failure: .request("the path must start with '/' and hold no spaces or '#'"))
        }
        guard !query.isEmpty else { return config.server + path }
        let encoded = query.map { "\(percentEncoded($0.0))=\(percentEncoded($0.1))" }.joined(separator: "&")
        return config.server + path + (path.contains("?") ? "&" : "?") + encoded
    }

    func headers(token: String?, contentType: String?) -> [String] {
        var headers = ["Accept: application/json", "Expect:"]  // no 100-continue round trip before a body
        if let contentType { headers.append("Content-Type: " + contentType) }
        if let token { headers.append("Authorization: Bearer " + token) }
        return headers
    }
}

/// RFC 3986 §2: everything but the unreserved characters percent-encoded, for query
/// values such as label selectors (`app in (a,b)`, `!x`).
func percentEncoded(_ text: String) -> String {
    var result = ""
    for byte in text.utf8 {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
             UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
            result.unicodeScalars.append(Unicode.Scalar(byte))
        default:
            let hex = Array("0123456789ABCDEF".unicodeScalars)
            result.unicodeScalars.append("%")
            result.unicodeScalars.append(hex[Int(byte >> 4)])
            result.unicodeScalars.append(hex[Int(byte & 0x0F)])
        }
    }
    return result
}
