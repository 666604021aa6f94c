/// An error that knows how the CNI reports it (SPEC §5 Error). Error types adopt it
/// where they arise, or in the module that gives a library's errors their CNI
/// meaning; `CNISkeleton` turns whatever a plugin throws into a `CNIError` once, when
/// the call ends.
public protocol CNIErrorConvertible: Error {
    var cniError: CNIError { get }
}

extension CNIError: CNIErrorConvertible {
    public var cniError: CNIError { self }

    /// `error` as the plugin reports it: its own CNI error when it knows one, else
    /// code 999 with its description.
    public init(reporting error: any Error) {
        self = (error as? any CNIErrorConvertible)?.cniError ?? CNIError(code: 999, message: "\(error)")
    }
}
