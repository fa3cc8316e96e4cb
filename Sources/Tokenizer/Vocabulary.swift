/// A byte-level BPE vocabulary: token texts and attributes, merge ranks, and the special ids.
///
/// Built from plain arrays so it does not depend on where they came from (GGUF, tests, ...).
/// Internally every string is handled as raw bytes: token texts are decoded from GPT-2's
/// byte-level alphabet once, so BPE runs on input bytes with no per-word re-encoding.
public final class Vocabulary: Sendable {
    /// The special-token ids and flags as given by the model's metadata.
    public struct Specials: Sendable, Equatable {
        public var bos: Int32?
        public var eos: Int32?
        public var eot: Int32?
        public var eom: Int32?
        public var pad: Int32?
        public var unknown: Int32?
        /// Whether encoding prepends BOS; nil means the pre-tokenizer's default.
        public var addBOS: Bool?
        public var addEOS: Bool

        public init(bos: Int32? = nil, eos: Int32? = nil, eot: Int32? = nil, eom: Int32? = nil, pad: Int32? = nil,
                    unknown: Int32? = nil, addBOS: Bool? = nil, addEOS: Bool = false) {
            self.bos = bos; self.eos = eos; self.eot = eot; self.eom = eom; self.pad = pad
            self.unknown = unknown; self.addBOS = addBOS; self.addEOS = addEOS
        }
    }

    public let count: Int
    /// Token texts exactly as stored in the vocabulary (byte-level alphabet for normal tokens).
    public let texts: [String]
    public let attributes: [TokenAttributes]
    /// Special ids after llama.cpp's name-based detection filled in what metadata left out.
    public let specials: Specials
    /// Tokens that end generation.
    public let endOfGeneration: Set<Int32>

    /// Texts outside the byte-level alphabet (UTF-8) → id.
    let otherTexts: ByteKeyTable
    /// Raw bytes of each token text → id, for tokens whose text is in the byte-level alphabet
    /// (exactly the strings llama.cpp's `text_to_token` can be asked for during BPE).
    let lookup: ByteKeyTable
    /// Rendered bytes of every token (decoded for normal tokens, literal for special ones).
    let pieceArena: [UInt8]
    let pieceStarts: [Int32]
    /// Merge table: symbol pair → (rank, merged symbol).
    let merges: PairTable
    /// Symbol of each single byte (a token id, or a virtual id ≥ count for strings that occur
    /// in merges but are not tokens).
    let byteSymbols: [Int32]
    /// Ids matched verbatim before BPE, longest text first, with their texts' UTF-8.
    let verbatimTokens: [Int32]
    let verbatimKeys: [[UInt8]]

    public convenience init(tokens: [String], tokenTypes: [Int32]? = nil, merges: [String],
                            specials: Specials = Specials()) throws {
        try self.init(tokens: tokens, attributes: tokenTypes.map { $0.map(TokenAttributes.init(ggufTokenType:)) },
                      merges: merges, specials: specials)
    }

    public init(tokens: [String], attributes givenAttributes: [TokenAttributes]?, merges mergeList: [String],
                specials given: Specials) throws {
        guard !tokens.isEmpty else { throw TokenizerError.emptyVocabulary }
        let n = tokens.count
        if let a = givenAttributes, a.count < n {
            throw TokenizerError.lengthMismatch(key: "tokenizer.ggml.token_type", expected: n, found: a.count)
        }
        var texts = tokens
        var attrs = givenAttributes.map { Array($0.prefix(n)) } ?? [TokenAttributes](repeating: .normal, count: n)

        // Raw bytes of every text in the byte-level alphabet → id (for BPE), and the few other
        // texts → id. The alphabet mapping is a bijection, so together they index every text
        // exactly once and catch duplicates.
        var lookup = ByteKeyTable(capacity: n)
        var otherTexts = ByteKeyTable(capacity: 64)
        var decodedArena = [UInt8]()  // decoded bytes of each token in the alphabet
        var decodedSpans = [Range<Int32>?](repeating: nil, count: n)
        decodedArena.reserveCapacity(n * 8)
        for i in 0..<n {
            if texts[i].isEmpty { texts[i] = "[EMPTY_\(i)]" }  // as llama.cpp does
            var text = texts[i]
            let first: Int32? = text.withUTF8 { utf8 in
                let start = decodedArena.count
                if ByteLevel.decode(utf8: utf8, into: &decodedArena) {
                    decodedSpans[i] = Int32(start)..<Int32(decodedArena.count)
                    return decodedArena.withUnsafeBufferPointer {
                        lookup.insert(UnsafeBufferPointer(rebasing: $0[start...]), value: Int32(i))
                    }
                }
                decodedArena.removeSubrange(start...)
                return otherTexts.insert(utf8, value: Int32(i))
            }
            if let first {
                throw TokenizerError.duplicateToken(text: texts[i], firstID: Int(first), secondID: i)
            }
        }
        func idOf(_ text: String) -> Int32? { Self.find(text, lookup, otherTexts) }

        let (specials, eog) = try Self.resolveSpecials(given, count: n, attributes: &attrs, idOf: idOf)

        // Rendered pieces (llama.cpp's token_to_piece with special = true).
        var arena = [UInt8]()
        arena.reserveCapacity(decodedArena.count + 4096)
        var starts = [Int32]()
        starts.reserveCapacity(n + 1)
        for i in 0..<n {
            starts.append(Int32(arena.count))
            if let span = decodedSpans[i], attrs[i].isDisjoint(with: [.unknown, .control, .userDefined]),
               attrs[i].contains(.normal) {
                // Normal token in the alphabet: its piece is the decoded text, already at hand.
                arena.append(contentsOf: decodedArena[Int(span.lowerBound)..<Int(span.upperBound)])
            } else {
                arena.append(contentsOf: Self.piece(text: texts[i], attributes: attrs[i]))
            }
        }
        starts.append(Int32(arena.count))

        let (pairs, byteSymbols) = PairTable.build(merges: mergeList, vocabularySize: n, lookup: lookup)

        // Verbatim tokens, longest first (ties by id, for determinism).
        let verbatim = (0..<n).filter { !attrs[$0].isDisjoint(with: TokenAttributes.matchedVerbatim) }
            .sorted { a, b in
                let la = texts[a].utf8.count, lb = texts[b].utf8.count
                return la != lb ? la > lb : a < b
            }
            .map { Int32($0) }

        self.count = n
        self.texts = texts
        self.attributes = attrs
        self.specials = specials
        self.endOfGeneration = eog
        self.lookup = lookup
        self.otherTexts = otherTexts
        self.pieceArena = arena
        self.pieceStarts = starts
        self.merges = pairs
        self.byteSymbols = byteSymbols
        self.verbatimTokens = verbatim
        self.verbatimKeys = verbatim.map { Array(texts[Int($0)].utf8) }
    }

    /// The bytes a token renders as, following llama.cpp's `token_to_piece` for BPE vocabularies.
    static func piece(text: String, attributes: TokenAttributes) -> [UInt8] {
        if !attributes.isDisjoint(with: [.unknown, .control, .userDefined]) { return Array(text.utf8) }
        if attributes.contains(.normal) {
            if let raw = ByteLevel.decode(text) { return raw }
            // A character outside the alphabet: llama.cpp writes a visible marker instead.
            var out = [UInt8]()
            for scalar in text.unicodeScalars {
                let v = Int(scalar.value)
                if v < ByteLevel.scalarToByte.count, ByteLevel.scalarToByte[v] >= 0 {
                    out.append(UInt8(ByteLevel.scalarToByte[v]))
                } else {
                    let utf8 = Array(String(scalar).utf8)
                    let hex = utf8.map { String($0, radix: 16).leftPadded(to: 2) }.joined()
                    out.append(contentsOf: Array("[UNK_BYTE_0x\(hex)\(text)]".utf8))
                }
            }
            return out
        }
        if attributes.contains(.byte) {  // "<0xXX>"
            let u = Array(text.utf8)
            if u.count == 6, let b = UInt8(String(decoding: u[3..<5], as: UTF8.self), radix: 16) { return [b] }
        }
        return []
    }

    /// Id of the token with exactly this text, if any.
    public func id(forText text: String) -> Int32? {
        Self.find(text, lookup, otherTexts)
    }

    private static func find(_ text: String, _ lookup: ByteKeyTable, _ otherTexts: ByteKeyTable) -> Int32? {
        if let raw = ByteLevel.decode(text) { return lookup.lookup(raw) }
        return otherTexts.lookup(Array(text.utf8))
    }

    @inline(__always)
    func withPiece<R>(_ id: Int32, _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        let s = Int(pieceStarts[Int(id)]), e = Int(pieceStarts[Int(id) + 1])
        return pieceArena.withUnsafeBufferPointer { body(UnsafeBufferPointer(rebasing: $0[s..<e])) }
    }
}

private extension String {
    func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
