import Foundation
import Kernels

/// Chooses tokens from logits: penalties, then greedy, or top-k → top-p → min-p → temperature →
/// a draw from what remains (the reference engine's default order).
public struct Sampler: Sendable {
    public let parameters: SamplingParameters
    private var rng: SeededGenerator
    private var recent: [Int32] = []
    private var scratch: [Float] = []

    public init(_ parameters: SamplingParameters) {
        self.parameters = parameters
        rng = SeededGenerator(seed: parameters.seed ?? UInt64.random(in: 0...UInt64.max))
    }

    /// Records a token that is now part of the context (prompt or generated), for the penalties.
    public mutating func accept(_ token: Int32) {
        guard parameters.penaltyWindow > 0 else { return }
        recent.append(token)
        if recent.count > parameters.penaltyWindow { recent.removeFirst(recent.count - parameters.penaltyWindow) }
    }

    public mutating func sample(_ logits: UnsafeBufferPointer<Float>) -> Int32 {
        let p = parameters
        let penalised = p.repeatPenalty != 1 || p.presencePenalty != 0 || p.frequencyPenalty != 0
        if !penalised && p.isGreedy { return Self.argmax(logits) }
        scratch.removeAll(keepingCapacity: true)
        scratch.append(contentsOf: logits)
        if penalised { applyPenalties() }
        return scratch.withUnsafeBufferPointer { draw($0) }
    }

    private mutating func applyPenalties() {
        let p = parameters
        var counts: [Int32: Int] = [:]
        for t in recent { counts[t, default: 0] += 1 }
        for (t, n) in counts where Int(t) < scratch.count {
            var l = scratch[Int(t)]
            l = l > 0 ? l / p.repeatPenalty : l * p.repeatPenalty
            l -= Float(n) * p.frequencyPenalty + p.presencePenalty
            scratch[Int(t)] = l
        }
    }

    private mutating func draw(_ logits: UnsafeBufferPointer<Float>) -> Int32 {
        let p = parameters
        if p.isGreedy { return Self.argmax(logits) }
        let k = p.topK > 0 ? min(p.topK, logits.count) : logits.count
        var ids = Self.topK(logits, k: k)
        var values = ids.map { logits[Int($0)] }
        // Probabilities at temperature 1, as top-p and min-p are defined.
        let maxLogit = values[0]
        var probs = values.map { Foundation.exp(Double($0 - maxLogit)) }
        let total = probs.reduce(0, +)
        var keep = ids.count
        if p.topP < 1 {
            var cumulative = 0.0
            for (i, q) in probs.enumerated() {
                cumulative += q / total
                if cumulative >= Double(p.topP) { keep = i + 1; break }
            }
        }
        if p.minP > 0 {
            let floor = probs[0] * Double(p.minP)
            keep = min(keep, max(1, probs.firstIndex { $0 < floor } ?? probs.count))
        }
        ids.removeSubrange(keep...); values.removeSubrange(keep...); probs.removeSubrange(keep...)
        let weights = values.map { Foundation.exp(Double(($0 - maxLogit) / p.temperature)) }
        var u = rng.nextUnit() * weights.reduce(0, +)
        for (i, w) in weights.enumerated() {
            u -= w
            if u < 0 { return ids[i] }
        }
        return ids[ids.count - 1]
    }

    public static func argmax(_ logits: UnsafeBufferPointer<Float>) -> Int32 {
        Int32(ek_argmax(logits.baseAddress!, Int64(logits.count)))
    }

    /// Indices of the k largest logits, largest first.
    public static func topK(_ logits: UnsafeBufferPointer<Float>, k: Int) -> [Int32] {
        [Int32](unsafeUninitializedCapacity: k) { buf, n in
            n = Int(ek_top_k(logits.baseAddress!, Int64(logits.count), Int64(k), buf.baseAddress!))
        }
    }
}
