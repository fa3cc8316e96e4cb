import Kernels

/// A token and its log-probability under the full softmax of one position.
public struct TokenLogProb: Sendable, Equatable, Codable {
    public let id: Int32
    public let logprob: Double
}

public enum TokenProbabilities {
    /// The `n` most likely tokens with log-probabilities over the whole vocabulary.
    public static func top(_ logits: UnsafeBufferPointer<Float>, n: Int, logSumExp logZ: Double? = nil) -> [TokenLogProb] {
        let logZ = logZ ?? logSumExp(logits)
        return Sampler.topK(logits, k: min(n, logits.count)).map {
            TokenLogProb(id: $0, logprob: Double(logits[Int($0)]) - logZ)
        }
    }

    /// log p(token) over the whole vocabulary.
    public static func logProb(_ logits: UnsafeBufferPointer<Float>, of token: Int32) -> Double {
        Double(logits[Int(token)]) - logSumExp(logits)
    }

    public static func logSumExp(_ logits: UnsafeBufferPointer<Float>) -> Double {
        ek_logsumexp(logits.baseAddress!, Int64(logits.count))
    }
}
