/// When each pending item times out, by key, so that an item that ends first drops
/// its deadline. The next deadline is found by a scan: a device plugin has a handful
/// of calls with a grpc-timeout at a time.
struct DeadlineQueue<Key: Hashable> {
    private var deadlines: [Key: ContinuousClock.Instant] = [:]

    mutating func set(_ deadline: ContinuousClock.Instant, for key: Key) {
        deadlines[key] = deadline
    }

    mutating func remove(_ key: Key) {
        deadlines[key] = nil
    }

    mutating func removeAll(where shouldRemove: (Key) -> Bool) {
        deadlines = deadlines.filter { !shouldRemove($0.key) }
    }

    /// Milliseconds until the earliest deadline, as epoll_wait takes them: -1 (wait
    /// without limit) when there is none.
    func pollTimeoutMilliseconds(now: ContinuousClock.Instant) -> Int32 {
        guard let next = deadlines.values.min() else { return -1 }
        return now.duration(to: next).pollTimeoutMilliseconds
    }

    /// Removes and returns the keys whose deadline is at or before `now`.
    mutating func removeExpired(now: ContinuousClock.Instant) -> [Key] {
        guard !deadlines.isEmpty else { return [] }
        let expired = deadlines.filter { $0.value <= now }.map(\.key)
        for key in expired { deadlines[key] = nil }
        return expired
    }
}
