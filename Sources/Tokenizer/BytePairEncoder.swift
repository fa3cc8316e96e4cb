/// Byte-pair merging of one pre-tokenized word, as llama.cpp's `llm_tokenizer_bpe_session` does:
/// start from single bytes, repeatedly merge the adjacent pair with the lowest merge rank (the
/// leftmost on ties), and finally emit each symbol's token id.
struct BytePairEncoder {
    let vocabulary: Vocabulary
    let ignoreMerges: Bool

    private struct Symbol {
        var id: Int32
        var prev: Int32
        var next: Int32
        var length: Int32  // bytes covered; 0 once merged into its left neighbour
    }

    /// A candidate merge. Stale entries (a side has changed since) are skipped when popped.
    private struct Bigram {
        var order: UInt64  // rank << 32 | left index: the heap's ordering key
        var leftID: Int32
        var rightID: Int32
        var merged: Int32
        var right: Int32
        var left: Int32 { Int32(truncatingIfNeeded: order & 0xFFFF_FFFF) }
    }

    /// Appends the ids for `word` (raw bytes) to `out`.
    func encode(_ word: UnsafeBufferPointer<UInt8>, into out: inout [Int32]) {
        let v = vocabulary
        if word.isEmpty { return }
        if ignoreMerges, let id = v.lookup.lookup(word) { out.append(id); return }
        if word.count == 1 { emit(v.byteSymbols[Int(word[0])], start: 0, length: 1, word, &out); return }

        let n = word.count
        var symbols = [Symbol]()
        symbols.reserveCapacity(n)
        for i in 0..<n {
            symbols.append(Symbol(id: v.byteSymbols[Int(word[i])], prev: Int32(i - 1),
                                  next: i + 1 < n ? Int32(i + 1) : -1, length: 1))
        }
        var heap = [Bigram]()
        heap.reserveCapacity(n)

        func push(_ left: Int32, _ right: Int32) {
            guard left >= 0, right >= 0 else { return }
            let l = symbols[Int(left)].id, r = symbols[Int(right)].id
            guard let entry = v.merges.lookup(left: l, right: r) else { return }
            let item = Bigram(order: UInt64(entry.rank) << 32 | UInt64(UInt32(bitPattern: left)), leftID: l, rightID: r,
                              merged: entry.merged, right: right)
            // sift up
            heap.append(item)
            var i = heap.count - 1
            while i > 0 {
                let parent = (i - 1) / 2
                if heap[parent].order <= item.order { break }
                heap[i] = heap[parent]
                i = parent
            }
            heap[i] = item
        }
        func pop() -> Bigram? {
            guard let last = heap.popLast() else { return nil }
            guard !heap.isEmpty else { return last }
            let top = heap[0]
            var i = 0
            let count = heap.count
            while true {
                var child = 2 * i + 1
                if child >= count { break }
                if child + 1 < count, heap[child + 1].order < heap[child].order { child += 1 }
                if heap[child].order >= last.order { break }
                heap[i] = heap[child]
                i = child
            }
            heap[i] = last
            return top
        }

        for i in 1..<n { push(Int32(i - 1), Int32(i)) }
        while let bigram = pop() {
            let l = Int(bigram.left), r = Int(bigram.right)
            guard symbols[l].length > 0, symbols[r].length > 0,
                  symbols[l].id == bigram.leftID, symbols[r].id == bigram.rightID else { continue }
            symbols[l].id = bigram.merged
            symbols[l].length += symbols[r].length
            symbols[r].length = 0
            let next = symbols[r].next
            symbols[l].next = next
            if next >= 0 { symbols[Int(next)].prev = Int32(l) }
            push(symbols[l].prev, Int32(l))
            push(Int32(l), next)
        }

        var i: Int32 = 0
        while i >= 0 {
            let s = symbols[Int(i)]
            emit(s.id, start: Int(i), length: Int(s.length), word, &out)
            i = s.next
        }
    }

    /// A symbol that is not a token falls back to its bytes one by one, as llama.cpp does: it looks
    /// up each byte of the byte-level *encoded* text, which only finds the printable ASCII ones.
    @inline(__always)
    private func emit(_ id: Int32, start: Int, length: Int, _ word: UnsafeBufferPointer<UInt8>, _ out: inout [Int32]) {
        if Int(id) < vocabulary.count { out.append(id); return }
        for k in start..<start + length {
            let b = word[k]
            guard b >= 0x21, b <= 0x7E else { continue }
            if let t = vocabulary.lookup.lookup([b]) { out.append(t) }
        }
    }
}
