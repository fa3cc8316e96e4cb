import GGUF

public enum ModelError: Error, CustomStringConvertible, Equatable {
    case unsupportedArchitecture(String, supported: [String])
    case missingArchitecture
    case badHyperparameter(key: String, value: String, reason: String)
    case tensorShape(tensor: String, expected: [Int], found: [Int])
    case contextTooLong(requested: Int, model: Int)
    case contextFull(needed: Int, capacity: Int)
    case badToken(Int32, vocabulary: Int)
    case cacheRepeated

    public var description: String {
        switch self {
        case let .unsupportedArchitecture(a, supported):
            "unsupported architecture \"\(a)\" (supported: \(supported.joined(separator: ", ")))"
        case .missingArchitecture: "the file has no general.architecture"
        case let .badHyperparameter(key, value, reason): "\(key) = \(value): \(reason)"
        case let .tensorShape(t, e, f): "tensor \(t) has shape \(f), expected \(e)"
        case let .contextTooLong(r, m): "context of \(r) tokens exceeds the model's \(m)"
        case let .contextFull(needed, capacity): "\(needed) tokens do not fit in the context of \(capacity)"
        case let .badToken(t, v): "token id \(t) is outside the vocabulary of \(v)"
        case .cacheRepeated: "a batch of decode steps names the same sequence twice"
        }
    }
}

/// Hyperparameters of a decoder-only transformer, read from `<arch>.*` metadata keys.
public struct ModelConfig: Sendable, Equatable {
    public var architecture: String
    public var layerCount: Int
    public var embeddingLength: Int
    public var feedForwardLength: Int
    public var headCount: Int
    public var kvHeadCount: Int
    public var headDim: Int
    public var rotaryDim: Int
    public var ropeBase: Float
    public var rmsEpsilon: Float
    public var trainedContext: Int
    public var vocabularySize: Int

    public var qDim: Int { headCount * headDim }
    public var kvDim: Int { kvHeadCount * headDim }

    // Sanity caps: far above any model edgelm targets, low enough that a hostile header cannot
    // make us allocate absurd buffers.
    static let maxEmbedding = 1 << 16, maxLayers = 1024, maxHeads = 1024, maxContext = 1 << 21, maxVocab = 1 << 22

    public init(gguf: GGUFFile) throws {
        guard let arch = gguf.architecture else { throw ModelError.missingArchitecture }
        architecture = arch
        let m = gguf.metadata
        func required(_ suffix: String, max cap: Int) throws -> Int {
            let key = "\(arch).\(suffix)"
            guard let v = try m.uint32(key) else { throw GGUFError.missingKey(key) }
            guard v > 0, Int(v) <= cap else {
                throw ModelError.badHyperparameter(key: key, value: "\(v)", reason: "must be in 1...\(cap)")
            }
            return Int(v)
        }
        layerCount = try required("block_count", max: Self.maxLayers)
        embeddingLength = try required("embedding_length", max: Self.maxEmbedding)
        feedForwardLength = try required("feed_forward_length", max: Self.maxEmbedding * 16)
        headCount = try required("attention.head_count", max: Self.maxHeads)
        kvHeadCount = (try m.uint32("\(arch).attention.head_count_kv")).map(Int.init) ?? headCount
        trainedContext = try required("context_length", max: Self.maxContext)
        headDim = (try m.uint32("\(arch).attention.key_length")).map(Int.init) ?? embeddingLength / headCount
        rotaryDim = (try m.uint32("\(arch).rope.dimension_count")).map(Int.init) ?? headDim
        ropeBase = try m.float32("\(arch).rope.freq_base") ?? 10_000
        guard let eps = try m.float32("\(arch).attention.layer_norm_rms_epsilon") else {
            throw GGUFError.missingKey("\(arch).attention.layer_norm_rms_epsilon")
        }
        rmsEpsilon = eps
        let embd = try gguf.requireTensor("token_embd.weight")
        vocabularySize = embd.shape.count == 2 ? embd.shape[1] : 0
        try validate()
    }

    public init(architecture: String, layerCount: Int, embeddingLength: Int, feedForwardLength: Int, headCount: Int,
                kvHeadCount: Int, headDim: Int, rotaryDim: Int, ropeBase: Float, rmsEpsilon: Float,
                trainedContext: Int, vocabularySize: Int) throws {
        self.architecture = architecture; self.layerCount = layerCount; self.embeddingLength = embeddingLength
        self.feedForwardLength = feedForwardLength; self.headCount = headCount; self.kvHeadCount = kvHeadCount
        self.headDim = headDim; self.rotaryDim = rotaryDim; self.ropeBase = ropeBase; self.rmsEpsilon = rmsEpsilon
        self.trainedContext = trainedContext; self.vocabularySize = vocabularySize
        try validate()
    }

    private func validate() throws {
        let a = architecture
        guard kvHeadCount > 0, kvHeadCount <= headCount, headCount % kvHeadCount == 0 else {
            throw ModelError.badHyperparameter(key: "\(a).attention.head_count_kv", value: "\(kvHeadCount)",
                                               reason: "must divide head_count \(headCount)")
        }
        guard headDim > 0, headDim % 2 == 0, headDim <= 1024 else {
            throw ModelError.badHyperparameter(key: "\(a).attention.key_length", value: "\(headDim)", reason: "must be even, in 2...1024")
        }
        guard rotaryDim > 0, rotaryDim <= headDim, rotaryDim % 2 == 0 else {
            throw ModelError.badHyperparameter(key: "\(a).rope.dimension_count", value: "\(rotaryDim)", reason: "must be even and at most the head size \(headDim)")
        }
        guard ropeBase.isFinite, ropeBase > 0 else {
            throw ModelError.badHyperparameter(key: "\(a).rope.freq_base", value: "\(ropeBase)", reason: "must be finite and positive")
        }
        guard rmsEpsilon.isFinite, rmsEpsilon > 0, rmsEpsilon < 1 else {
            throw ModelError.badHyperparameter(key: "\(a).attention.layer_norm_rms_epsilon", value: "\(rmsEpsilon)", reason: "must be in (0, 1)")
        }
        guard vocabularySize > 0, vocabularySize <= Self.maxVocab else {
            throw ModelError.badHyperparameter(key: "token_embd.weight", value: "\(vocabularySize) rows", reason: "vocabulary must be in 1...\(Self.maxVocab)")
        }
    }
}
