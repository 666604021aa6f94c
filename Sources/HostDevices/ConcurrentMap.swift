#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CLinux
import Synchronization
import SystemSupport

/// How many threads a scan may read sysfs on: the CPUs this process may run on (a
/// pod's cpuset, not the host's count), at most 8. A scan is syscall-bound and each
/// syscall walks only its own directory, so the reads spread across cores.
let scanWorkers = max(1, min(Int(sriov_rdma_allowed_cpus()), 8))

/// `items.map(transform)`, in order, with the items shared out among up to `workers`
/// POSIX threads (the caller's among them) in small batches taken in turn. Below
/// `minimumItems` a thread costs more than it saves, so the caller does it all.
/// `transform` must be safe to run concurrently: sysfs reads relative to open
/// directory descriptors are; libpci's name cache and libibverbs calls stay outside.
func concurrentMap<Item, Output>(_ items: [Item], workers: Int = scanWorkers, minimumItems: Int = 128,
                                 _ transform: (Item) -> Output) -> [Output] {
    let threads = min(workers, items.count / max(minimumItems / 2, 1))
    guard threads > 1 else { return items.map(transform) }
    return withoutActuallyEscaping(transform) { transform in
        let job = MapJob(items: items, transform: transform)
        // A thread that cannot be made means fewer hands, the same result.
        let started = (1..<threads).compactMap { _ in try? OSThread.start(name: "scan") { job.work() } }
        job.work()
        for thread in started { thread.join() }
        return job.results()
    }
}

/// Shared by the threads of one `concurrentMap`: each claims the next batch of
/// indexes from `next` and writes only its own slots of `outputs`, which the caller
/// reads after joining every thread.
private final class MapJob<Item, Output>: @unchecked Sendable {
    private let items: [Item]
    private let transform: (Item) -> Output
    private let outputs: UnsafeMutableBufferPointer<Output>
    private let next = Atomic<Int>(0)
    private let batch = 16

    init(items: [Item], transform: @escaping (Item) -> Output) {
        self.items = items
        self.transform = transform
        outputs = .allocate(capacity: items.count)
    }

    func work() {
        while true {
            let start = next.add(batch, ordering: .relaxed).oldValue
            guard start < items.count else { return }
            for index in start..<min(start + batch, items.count) {
                (outputs.baseAddress! + index).initialize(to: transform(items[index]))
            }
        }
    }

    /// After every thread has been joined: each slot was written exactly once.
    func results() -> [Output] {
        Array(outputs)
    }

    deinit {
        outputs.deinitialize()
        outputs.deallocate()
    }
}
