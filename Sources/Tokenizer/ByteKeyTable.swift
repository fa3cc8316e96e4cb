/// An immutable-after-build hash table from byte strings to token ids.
///
/// Token lookups happen once per BPE word and several times per merge-table entry while loading,
/// so this avoids `Dictionary<String, _>`: Swift string hashing normalizes Unicode (slow, and it
/// would conflate canonically-equivalent tokens that llama.cpp keeps apart). Loading is bound by
/// cache misses, so each slot packs the hash with the entry index and each entry packs its
/// arena offset with its length: a hit costs about three memory accesses.
struct ByteKeyTable: Sendable {
    private var arena: [UInt8] = []
    /// Per entry: arena offset << 32 | length.
    private var spans: [UInt64] = []
    private var values: [Int32] = []
    /// Per slot: 0 if empty, else (hash high bits << 32) | (entry index + 1).
    private var slots: [UInt64]
    private let mask: Int

    init(capacity: Int) {
        var size = 16
        while size < capacity * 2 { size <<= 1 }
        slots = [UInt64](repeating: 0, count: size)
        mask = size - 1
        spans.reserveCapacity(capacity)
        values.reserveCapacity(capacity)
    }

    var count: Int { values.count }

    @inline(__always)
    static func hash(_ key: UnsafeBufferPointer<UInt8>) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325  // FNV-1a, then a final avalanche
        for b in key { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01b3 }
        h ^= h >> 33
        h = h &* 0xff51_afd7_ed55_8ccd
        h ^= h >> 33
        return h
    }

    /// Inserts `key → value` unless the key is present; returns the existing value if it was.
    @discardableResult
    mutating func insert(_ key: [UInt8], value: Int32) -> Int32? {
        key.withUnsafeBufferPointer { insert($0, value: value) }
    }

    @discardableResult
    mutating func insert(_ k: UnsafeBufferPointer<UInt8>, value: Int32) -> Int32? {
        let (slot, tag, entry) = probe(k)
        if let entry { return values[entry] }
        slots[slot] = tag | UInt64(values.count + 1)
        spans.append(UInt64(arena.count) << 32 | UInt64(k.count))
        values.append(value)
        arena.append(contentsOf: k)
        return nil
    }

    /// Linear probing from the key's hash: the entry holding `k`, or the empty slot where it belongs.
    @inline(__always)
    private func probe(_ k: UnsafeBufferPointer<UInt8>) -> (slot: Int, tag: UInt64, entry: Int?) {
        let h = Self.hash(k)
        let tag = h & 0xFFFF_FFFF_0000_0000
        return slots.withUnsafeBufferPointer { slots in
            var slot = Int(truncatingIfNeeded: h) & mask
            while slots[slot] != 0 {
                let s = slots[slot]
                if s & 0xFFFF_FFFF_0000_0000 == tag {
                    let e = Int(s & 0xFFFF_FFFF) - 1
                    if equal(e, k) { return (slot, tag, e) }
                }
                slot = (slot + 1) & mask
            }
            return (slot, tag, nil)
        }
    }

    @inline(__always)
    private func equal(_ e: Int, _ k: UnsafeBufferPointer<UInt8>) -> Bool {
        let span = spans[e]
        guard Int(span & 0xFFFF_FFFF) == k.count else { return false }
        let s = Int(span >> 32)
        return arena.withUnsafeBufferPointer { a in
            for i in 0..<k.count where a[s + i] != k[i] { return false }
            return true
        }
    }

    func lookup(_ k: UnsafeBufferPointer<UInt8>) -> Int32? {
        probe(k).entry.map { values[$0] }
    }

    func lookup(_ key: [UInt8]) -> Int32? {
        key.withUnsafeBufferPointer { lookup($0) }
    }
}
