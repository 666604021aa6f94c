/// The dynamic table of RFC 7541 §2.3.2 and §4: a FIFO of fields, newest at dynamic index 1,
/// bounded by a maximum size in octets; adding an entry evicts the oldest ones to make room.
struct DynamicHeaderTable: Sendable {
    struct Entry: Sendable, Equatable {
        var name: String
        var value: String
        /// The name's and value's lengths in octets as received. Sizes are counted from these,
        /// not from the strings: a lossy UTF-8 conversion must not make our table size differ
        /// from the peer's.
        var nameOctets: Int
        var valueOctets: Int

        /// Octets this entry counts for (§4.1).
        var size: Int { HeaderField.entryOverhead + nameOctets + valueOctets }
    }

    /// Oldest first from `oldest`; slots before it are evicted and reclaimed in batches, so
    /// eviction is O(1) amortised instead of shifting the array each time.
    private var storage: [Entry] = []
    private var oldest = 0

    /// Sum of the entries' sizes (§4.1).
    private(set) var size = 0

    /// The maximum size currently in force (§4.2), set by a size update or SETTINGS.
    private(set) var capacity: Int

    init(capacity: Int) {
        self.capacity = max(0, capacity)
    }

    var count: Int { storage.count - oldest }

    /// The entry at a 1-based dynamic index (1 is the newest), or nil past the end.
    func entry(at index: Int) -> Entry? {
        guard index >= 1, index <= count else { return nil }
        return storage[storage.count - index]
    }

    /// Entries from newest to oldest, as the RFC's examples list them.
    var entriesNewestFirst: [Entry] {
        Array(storage[oldest...].reversed())
    }

    /// Adds a field, first evicting as many old entries as needed. An entry larger than the
    /// capacity empties the table and is not added (§4.4).
    mutating func add(_ entry: Entry) {
        let entrySize = entry.size
        evict(toFit: capacity - entrySize)
        guard entrySize <= capacity else { return }
        storage.append(entry)
        size += entrySize
    }

    /// Changes the maximum size, evicting the oldest entries until the table fits (§4.3).
    mutating func setCapacity(_ newCapacity: Int) {
        capacity = max(0, newCapacity)
        evict(toFit: capacity)
    }

    /// The newest entries matching a field: by name and value, and by name alone (1-based
    /// dynamic indices). A linear scan: a 4096-octet table holds at most 128 entries.
    func search(name: String, value: String) -> (fullMatch: Int?, nameMatch: Int?) {
        var nameMatch: Int?
        var index = 1
        for position in stride(from: storage.count - 1, through: oldest, by: -1) {
            let entry = storage[position]
            if entry.name == name {
                if entry.value == value { return (index, nameMatch ?? index) }
                if nameMatch == nil { nameMatch = index }
            }
            index += 1
        }
        return (nil, nameMatch)
    }

    private mutating func evict(toFit limit: Int) {
        while size > limit, oldest < storage.count {
            size -= storage[oldest].size
            oldest += 1
        }
        if oldest == storage.count {
            storage.removeAll(keepingCapacity: true)
            oldest = 0
        } else if oldest >= 32, oldest * 2 >= storage.count {
            storage.removeFirst(oldest)
            oldest = 0
        }
    }
}
