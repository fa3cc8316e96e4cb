import Foundation
import Transformer

/// Perplexity by the reference engine's convention: the token stream is cut into
/// non-overlapping chunks of `context` tokens, each evaluated from an empty cache, and each
/// scored over its second half only (so every scored token has at least context/2 of history).
public struct Perplexity {
    public struct Progress: Sendable {
        public let chunk: Int
        public let chunks: Int
        /// exp(mean negative log-likelihood) over every token scored so far.
        public let running: Double
        public let chunkValue: Double
    }

    public let model: Model
    public let context: Int

    public init(model: Model, context: Int) throws {
        guard context >= 4 else { throw GenerationError.badParameter(name: "ctx", value: "\(context)", reason: "must be at least 4") }
        self.model = model
        self.context = context
    }

    /// How many whole chunks `tokenCount` tokens make.
    public func chunkCount(tokens tokenCount: Int) -> Int { tokenCount / context }

    @discardableResult
    public func evaluate(_ tokens: [Int32], chunks limit: Int? = nil, progress: (Progress) -> Void = { _ in }) throws -> Double {
        let available = chunkCount(tokens: tokens.count)
        guard available > 0 else { throw GenerationError.promptTooLong(tokens: tokens.count, context: context) }
        let chunks = min(limit ?? available, available)
        let cache = try model.makeCache(context: context)
        let first = context / 2
        var nll = 0.0, scored = 0
        for c in 0..<chunks {
            let chunk = Array(tokens[c * context..<(c + 1) * context])
            cache.clear()
            var chunkNLL = 0.0
            try model.forward(chunk, cache: cache, outputs: .range(first..<context - 1)) { i, logits in
                chunkNLL -= TokenProbabilities.logProb(logits, of: chunk[i + 1])
            }
            let n = context - 1 - first
            nll += chunkNLL
            scored += n
            progress(Progress(chunk: c + 1, chunks: chunks, running: Foundation.exp(nll / Double(scored)), chunkValue: Foundation.exp(chunkNLL / Double(n))))
        }
        return Foundation.exp(nll / Double(scored))
    }
}
