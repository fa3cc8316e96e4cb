/// Finds special tokens written out in the input, before BPE sees it — llama.cpp's
/// `tokenizer_st_partition`.
///
/// llama.cpp takes the special tokens longest first and, for each, cuts every remaining stretch
/// of plain text at all its occurrences (left to right, non-overlapping). The order matters: a
/// longer token claims its text even if a shorter one starts earlier and overlaps it. We
/// reproduce that with a claimed-byte mask instead of a fragment list.
enum SpecialTokenPartition {
    enum Fragment: Equatable {
        case token(Int32)
        case text(Range<Int>)
    }

    /// With `parseSpecial` false only user-defined tokens are matched (control and unknown
    /// tokens are then ordinary text), as in llama.cpp.
    static func partition(_ bytes: UnsafeBufferPointer<UInt8>, vocabulary v: Vocabulary, parseSpecial: Bool) -> [Fragment] {
        let n = bytes.count
        guard n > 0 else { return [] }
        var matches = [(start: Int, end: Int, id: Int32)]()
        var claimed: [Bool]? = nil
        var positionsByFirstByte = [Int: [Int]]()

        for (id, keyBytes) in zip(v.verbatimTokens, v.verbatimKeys) {
            if !parseSpecial, !v.attributes[Int(id)].isDisjoint(with: TokenAttributes.hiddenUnlessSpecial) { continue }
            keyBytes.withUnsafeBufferPointer { key in
                guard let first = key.first, key.count <= n else { return }
                if positionsByFirstByte[Int(first)] == nil {
                    positionsByFirstByte[Int(first)] = (0..<n).filter { bytes[$0] == first }
                }
                var nextAllowed = 0
                for p in positionsByFirstByte[Int(first)]! where p >= nextAllowed {
                    let end = p + key.count
                    if end > n { break }
                    var equal = true
                    for k in 1..<key.count where bytes[p + k] != key[k] { equal = false; break }
                    guard equal else { continue }
                    if let c = claimed, c[p..<end].contains(true) { continue }
                    if claimed == nil { claimed = [Bool](repeating: false, count: n) }
                    for k in p..<end { claimed![k] = true }
                    matches.append((p, end, id))
                    nextAllowed = end
                }
            }
        }

        guard !matches.isEmpty else { return [.text(0..<n)] }
        matches.sort { $0.start < $1.start }
        var fragments = [Fragment]()
        var cursor = 0
        for m in matches {
            if m.start > cursor { fragments.append(.text(cursor..<m.start)) }
            fragments.append(.token(m.id))
            cursor = m.end
        }
        if cursor < n { fragments.append(.text(cursor..<n)) }
        return fragments
    }
}
