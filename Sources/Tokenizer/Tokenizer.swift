/// Text ↔ token ids for byte-level BPE models, matching llama.cpp's results id for id.
///
/// Thread-safe: all state is immutable except an internal word cache guarded by a lock.
public final class Tokenizer: Sendable {
    public let vocabulary: Vocabulary
    public let preTokenizer: PreTokenizer
    /// Whether `encode` prepends BOS (when `addSpecial` is true).
    public let addsBOS: Bool
    /// Whether `encode` appends EOS (when `addSpecial` is true).
    public let addsEOS: Bool

    private let encoder: BytePairEncoder
    private let cache = WordCache()

    /// The only `tokenizer.ggml.model` this engine supports.
    public static let supportedModel = "gpt2"

    public init(vocabulary: Vocabulary, preTokenizer: PreTokenizer) {
        self.vocabulary = vocabulary
        self.preTokenizer = preTokenizer
        addsBOS = (vocabulary.specials.addBOS ?? preTokenizer.addsBOSByDefault) && vocabulary.specials.bos != nil
        addsEOS = vocabulary.specials.addEOS && vocabulary.specials.eos != nil
        encoder = BytePairEncoder(vocabulary: vocabulary, ignoreMerges: preTokenizer.ignoresMerges)
    }

    /// Builds a tokenizer from the model's tokenizer metadata, refusing anything but byte-level
    /// BPE (`model` must be "gpt2") with a pre-tokenizer we implement.
    public convenience init(model: String, preTokenizer: String, tokens: [String], tokenTypes: [Int32]?,
                            merges: [String], specials: Vocabulary.Specials) throws {
        guard model == Self.supportedModel else { throw TokenizerError.unsupportedModel(model) }
        let pre = try PreTokenizer(name: preTokenizer)
        let vocabulary = try Vocabulary(tokens: tokens, tokenTypes: tokenTypes, merges: merges, specials: specials)
        self.init(vocabulary: vocabulary, preTokenizer: pre)
    }

    public var vocabularySize: Int { vocabulary.count }
    public var bosID: Int32? { vocabulary.specials.bos }
    public var eosID: Int32? { vocabulary.specials.eos }
    public var eotID: Int32? { vocabulary.specials.eot }
    public var padID: Int32? { vocabulary.specials.pad }

    /// True for every token that ends generation: EOS, EOT and the end-of-turn style tokens
    /// llama.cpp recognises by name (`<|im_end|>`, `<|endoftext|>`, ...).
    public func isEndOfGeneration(_ id: Int32) -> Bool { vocabulary.endOfGeneration.contains(id) }

    /// True for control tokens (rendered only on request).
    public func isControl(_ id: Int32) -> Bool {
        id >= 0 && Int(id) < vocabulary.count && vocabulary.attributes[Int(id)].contains(.control)
    }

    // MARK: Encoding

    /// Token ids for `text`.
    /// - Parameters:
    ///   - parseSpecial: match special/control token texts (like `<|im_start|>`) in the input as
    ///     single tokens; when false they are tokenized as plain text (user-defined tokens are
    ///     matched either way, as in llama.cpp).
    ///   - addSpecial: add BOS/EOS where the model asks for them.
    public func encode(_ text: String, parseSpecial: Bool, addSpecial: Bool = true) -> [Int32] {
        var out = [Int32]()
        out.reserveCapacity(text.utf8.count / 3 + 2)
        if addSpecial, addsBOS, let bos = bosID { out.append(bos) }
        let bytes = Array(text.utf8)
        bytes.withUnsafeBufferPointer { buf in
            for fragment in SpecialTokenPartition.partition(buf, vocabulary: vocabulary, parseSpecial: parseSpecial) {
                switch fragment {
                case let .token(id): out.append(id)
                case let .text(range): encodePlain(UnsafeBufferPointer(rebasing: buf[range]), into: &out)
                }
            }
        }
        if addSpecial, addsEOS, let eos = eosID { out.append(eos) }
        return out
    }

    private func encodePlain(_ bytes: UnsafeBufferPointer<UInt8>, into out: inout [Int32]) {
        let t = ScalarText(bytes)
        var start = 0
        for end in preTokenizer.wordEnds(t) {
            let word = UnsafeBufferPointer(rebasing: bytes[t.byteOffsets[start]..<t.byteOffsets[end]])
            start = end
            let key = Array(word)
            if let ids = cache.get(key) { out.append(contentsOf: ids); continue }
            var ids = [Int32]()
            encoder.encode(word, into: &ids)
            cache.set(key, ids)
            out.append(contentsOf: ids)
        }
    }

    // MARK: Decoding

    /// The bytes a token stands for. Control and unknown tokens are empty unless `renderSpecial`
    /// is set, in which case they render as their text (user-defined tokens always do).
    public func tokenBytes(_ id: Int32, renderSpecial: Bool = false) -> [UInt8] {
        guard id >= 0, Int(id) < vocabulary.count else { return [] }
        if !renderSpecial, !vocabulary.attributes[Int(id)].isDisjoint(with: TokenAttributes.hiddenUnlessSpecial) {
            return []
        }
        return vocabulary.withPiece(id) { Array($0) }
    }

    /// The concatenated bytes of `ids` (may end inside a multi-byte character).
    public func decodeBytes(_ ids: [Int32], renderSpecial: Bool = false) -> [UInt8] {
        var out = [UInt8]()
        for id in ids { appendBytes(id, renderSpecial: renderSpecial, to: &out) }
        return out
    }

    func appendBytes(_ id: Int32, renderSpecial: Bool, to out: inout [UInt8]) {
        guard id >= 0, Int(id) < vocabulary.count else { return }
        if !renderSpecial, !vocabulary.attributes[Int(id)].isDisjoint(with: TokenAttributes.hiddenUnlessSpecial) {
            return
        }
        vocabulary.withPiece(id) { out.append(contentsOf: $0) }
    }

    /// Text of `ids`; invalid UTF-8 (e.g. a character cut in half) becomes U+FFFD.
    public func decode(_ ids: [Int32], renderSpecial: Bool = false) -> String {
        String(decoding: decodeBytes(ids, renderSpecial: renderSpecial), as: UTF8.self)
    }
}
