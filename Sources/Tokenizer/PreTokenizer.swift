/// Splits text into the words BPE runs on, following the pre-tokenizer a GGUF names in
/// `tokenizer.ggml.pre`. Each kind reproduces llama.cpp's split for that name exactly.
public struct PreTokenizer: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable {
        /// Qwen2: the llama3 pattern with single digits (`\p{N}`).
        case qwen2
        /// SmolLM: every number scalar alone, then the GPT-2 pattern.
        case smollm
        /// Llama 3: contractions case-insensitive, digits in groups of up to three.
        case llama3 = "llama-bpe"
        /// DeepSeek LLM: six character-class splits in sequence.
        case deepseekLLM = "deepseek-llm"
    }

    public let kind: Kind

    /// `tokenizer.ggml.pre` values accepted for each kind (those llama.cpp maps to the same
    /// pre-tokenizer with no other behavioural flag).
    public static let names: [String: Kind] = [
        "qwen2": .qwen2, "deepseek-r1-qwen": .qwen2,
        "smollm": .smollm,
        "llama-bpe": .llama3, "llama3": .llama3, "llama-v3": .llama3,
        "deepseek-llm": .deepseekLLM,
    ]

    public static var supportedNames: [String] { names.keys.sorted() }

    public init(kind: Kind) { self.kind = kind }

    public init(name: String) throws {
        guard let kind = Self.names[name] else {
            throw TokenizerError.unsupportedPreTokenizer(name, supported: Self.supportedNames)
        }
        self.kind = kind
    }

    /// llama.cpp's `ignore_merges`: a word that is itself a token is emitted whole.
    var ignoresMerges: Bool { kind == .llama3 }

    /// llama.cpp's default for `add_bos` when the GGUF does not say.
    var addsBOSByDefault: Bool { kind == .llama3 }

    /// The text's words, for inspection and tests.
    public func split(_ text: String) -> [String] {
        let utf8 = Array(text.utf8)
        return utf8.withUnsafeBufferPointer { bytes in
            let t = ScalarText(bytes)
            var start = 0
            return wordEnds(t).map { end in
                defer { start = end }
                return String(decoding: bytes[t.byteOffsets[start]..<t.byteOffsets[end]], as: UTF8.self)
            }
        }
    }

    /// End index (in scalars) of every word of `t`, in order; words are never empty.
    func wordEnds(_ t: ScalarText) -> [Int] {
        guard t.count > 0 else { return [] }
        let steps: [PatternSplitters.Step]
        switch kind {
        case .qwen2: steps = [{ PatternSplitters.llama3($0, $1, $2, maxDigits: 1, &$3) }]
        case .llama3: steps = [{ PatternSplitters.llama3($0, $1, $2, maxDigits: 3, &$3) }]
        case .smollm: steps = [PatternSplitters.eachNumber, PatternSplitters.gpt2]
        case .deepseekLLM: steps = DeepSeekSplitter.steps
        }
        var ends = [t.count]
        for step in steps {
            var next = [Int]()
            next.reserveCapacity(max(16, t.count / 3))
            var start = 0
            for end in ends {
                step(t, start, end, &next)
                start = end
            }
            ends = next
        }
        return ends
    }
}
