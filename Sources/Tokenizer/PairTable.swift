/// The merge table: (left symbol, right symbol) → (rank, merged symbol), as an open-addressing
/// hash table of packed 64-bit keys. BPE probes it for every adjacent pair of every word, so it
/// avoids the generic hashing of `Dictionary`.
struct PairTable: Sendable {
    private static let empty = UInt64.max  // no real key: symbol ids are below 2^31
    private var keys: [UInt64]
    private var values: [UInt64]
    private let mask: Int
    private(set) var count = 0

    init(capacity: Int) {
        var size = 16
        while size < capacity * 2 { size <<= 1 }
        keys = [UInt64](repeating: Self.empty, count: size)
        values = [UInt64](repeating: 0, count: size)
        mask = size - 1
    }

    @inline(__always)
    static func key(_ left: Int32, _ right: Int32) -> UInt64 {
        UInt64(UInt32(bitPattern: left)) << 32 | UInt64(UInt32(bitPattern: right))
    }

    @inline(__always)
    private func slot(for key: UInt64) -> Int {
        var h = key &* 0x9E37_79B9_7F4A_7C15
        h ^= h >> 29
        return Int(truncatingIfNeeded: h) & mask
    }

    /// Inserts unless present (the first occurrence of a merge sets its rank, as in llama.cpp).
    mutating func insertIfAbsent(left: Int32, right: Int32, rank: Int, merged: Int32) {
        let k = Self.key(left, right)
        var s = slot(for: k)
        while keys[s] != Self.empty {
            if keys[s] == k { return }
            s = (s + 1) & mask
        }
        keys[s] = k
        values[s] = UInt64(rank) << 32 | UInt64(UInt32(bitPattern: merged))
        count += 1
    }

    /// (rank, merged symbol) for a pair, if it merges.
    @inline(__always)
    func lookup(left: Int32, right: Int32) -> (rank: UInt32, merged: Int32)? {
        let k = Self.key(left, right)
        return keys.withUnsafeBufferPointer { ks in
            var s = slot(for: k)
            while ks[s] != Self.empty {
                if ks[s] == k {
                    let v = values[s]
                    return (UInt32(truncatingIfNeeded: v >> 32), Int32(truncatingIfNeeded: v & 0xFFFF_FFFF))
                }
                s = (s + 1) & mask
            }
            return nil
        }
    }
}

extension PairTable {
    /// The merge table for `merges` ("left right" in the byte-level alphabet, rank = position),
    /// and the starting symbol of each byte.
    ///
    /// Symbols are token ids where the string is a token; strings that occur in merges but are
    /// not tokens get virtual ids from `vocabularySize` up, so a merge chain through a non-token
    /// intermediate still works (llama.cpp merges strings, not ids).
    static func build(merges: [String], vocabularySize n: Int, lookup: ByteKeyTable) -> (PairTable, byteSymbols: [Int32]) {
        var virtualTable = ByteKeyTable(capacity: 1024)
        var virtualCount: Int32 = 0
        func symbol(_ bytes: [UInt8]) -> Int32 {
            if let id = lookup.lookup(bytes) { return id }
            let candidate = Int32(n) + virtualCount
            if let existing = virtualTable.insert(bytes, value: candidate) { return existing }
            virtualCount += 1
            return candidate
        }
        var pairs = PairTable(capacity: merges.count)
        var left = [UInt8](), right = [UInt8]()
        left.reserveCapacity(64)
        right.reserveCapacity(64)
        for (rank, merge) in merges.enumerated() {
            var m = merge
            let ok: Bool = m.withUTF8 { utf8 in
                // Split at the first space after the first byte, like llama.cpp.
                guard utf8.count > 1, let space = utf8[1...].firstIndex(of: 0x20) else { return false }
                left.removeAll(keepingCapacity: true)
                right.removeAll(keepingCapacity: true)
                // A side outside the alphabet can never match a symbol.
                return ByteLevel.decode(utf8: UnsafeBufferPointer(rebasing: utf8[..<space]), into: &left)
                    && ByteLevel.decode(utf8: UnsafeBufferPointer(rebasing: utf8[(space + 1)...]), into: &right)
                    && !left.isEmpty && !right.isEmpty
            }
            guard ok else { continue }
            let l = symbol(left), r = symbol(right)
            left.append(contentsOf: right)
            pairs.insertIfAbsent(left: l, right: r, rank: rank, merged: symbol(left))
        }
        return (pairs, (0..<256).map { symbol([UInt8($0)]) })
    }
}
