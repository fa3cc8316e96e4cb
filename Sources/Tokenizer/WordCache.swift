import Foundation

/// Remembers the BPE result of recent words. Natural text repeats words constantly, so most
/// words skip merging entirely. Shared across threads behind a lock; cleared wholesale when full
/// (simple, and the working set refills within a few sentences).
final class WordCache: @unchecked Sendable {
    private let lock = NSLock()
    private var entries: [[UInt8]: [Int32]] = [:]
    private let capacity: Int

    init(capacity: Int = 1 << 16) { self.capacity = capacity }

    func get(_ word: [UInt8]) -> [Int32]? {
        lock.lock(); defer { lock.unlock() }
        return entries[word]
    }

    func set(_ word: [UInt8], _ ids: [Int32]) {
        lock.lock(); defer { lock.unlock() }
        if entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
        entries[word] = ids
    }
}
