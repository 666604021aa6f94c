extension Duration {
    /// The duration as a timeout for poll(2) and epoll_wait(2): whole milliseconds
    /// rounded up, so that a wait never ends before its deadline; 0 once past.
    var pollTimeoutMilliseconds: Int32 {
        guard self > .zero else { return 0 }
        let (seconds, attoseconds) = components
        // Past 3,000,000 s the result clamps to Int32.max anyway; capping first keeps
        // the multiplication from overflowing.
        return Int32(clamping: min(seconds, 3_000_000) * 1000 + attoseconds / 1_000_000_000_000_000 + 1)
    }
}
