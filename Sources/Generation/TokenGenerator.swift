import Kernels
import Transformer

/// One generated token, with what the caller asked to know about its position.
public struct GeneratedToken: Sendable {
    public let id: Int32
    /// Log-probability of `id` under the model (before sampling adjustments).
    public let logprob: Double
    /// The most likely tokens at this position, when requested.
    public let top: [TokenLogProb]

    public init(id: Int32, logprob: Double, top: [TokenLogProb]) {
        self.id = id
        self.logprob = logprob
        self.top = top
    }
}

public enum FinishReason: String, Sendable, Codable {
    case stop, length, cancelled
}

/// The token-level decode loop: prompt processing in batches, then one token per step until an
/// end-of-generation token, the token limit, or the caller says stop. Text, stop strings and
/// templates sit one level up, in `TextGenerator`.
public struct TokenGenerator {
    public let model: Model
    public var topLogprobs = 0

    public init(model: Model) { self.model = model }

    /// Evaluates `prompt` after what `cache` already holds and generates up to `maxTokens`.
    /// `onToken` returns false to stop. Returns why generation ended.
    @discardableResult
    public func generate(prompt: [Int32], cache: KVCache, sampler: inout Sampler, maxTokens: Int,
                         isEndOfGeneration: (Int32) -> Bool,
                         onToken: (GeneratedToken) throws -> Bool) throws -> FinishReason {
        guard !prompt.isEmpty else { throw GenerationError.emptyPrompt }
        guard cache.count + prompt.count < cache.capacity else {
            throw GenerationError.promptTooLong(tokens: cache.count + prompt.count, context: cache.capacity)
        }
        for t in prompt { sampler.accept(t) }
        var next: GeneratedToken?
        try model.forward(prompt, cache: cache, outputs: .last) { _, logits in next = pick(logits, &sampler) }
        var produced = 0
        while let token = next {
            if isEndOfGeneration(token.id) { return .stop }
            produced += 1
            guard try onToken(token) else { return .cancelled }
            if produced >= maxTokens || cache.count >= cache.capacity { return .length }
            sampler.accept(token.id)
            next = nil
            try model.forward([token.id], cache: cache, outputs: .last) { _, logits in next = pick(logits, &sampler) }
        }
        return .stop
    }

    private func pick(_ logits: UnsafeBufferPointer<Float>, _ sampler: inout Sampler) -> GeneratedToken {
        let id = sampler.sample(logits)
        let logZ = TokenProbabilities.logSumExp(logits)
        let top = topLogprobs > 0 ? TokenProbabilities.top(logits, n: topLogprobs, logSumExp: logZ) : []
        return GeneratedToken(id: id, logprob: Double(logits[Int(id)]) - logZ, top: top)
    }
}
