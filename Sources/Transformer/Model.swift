import GGUF
import Kernels

/// A decoder-only transformer bound to a mapped GGUF file.
///
/// `forward` evaluates a batch of tokens at consecutive positions and hands the logits of the
/// requested tokens to a closure. One forward pass runs at a time per model.
public final class Model: @unchecked Sendable {
    public let file: GGUFFile
    public let config: ModelConfig
    public let architecture: Architecture
    public let weights: ModelWeights
    public let pool: WorkerPool
    public let batchSize: Int
    private let workspace: Workspace
    private let contextCapacity: Int

    /// Which tokens of a batch need logits.
    public enum Outputs: Sendable {
        case last, all
        case range(Range<Int>)
    }

    /// - Parameters:
    ///   - context: the largest context any KV cache made by this model will have.
    ///   - batchSize: tokens per pass over the weights during prompt processing.
    public init(file: GGUFFile, threads: Int, context: Int, batchSize: Int = 64) throws {
        self.file = file
        guard let name = file.architecture else { throw ModelError.missingArchitecture }
        architecture = try Architecture.named(name)
        config = try ModelConfig(gguf: file)
        weights = try ModelWeights(gguf: file, config: config, architecture: architecture)
        guard context > 0, context <= config.trainedContext else {
            throw ModelError.contextTooLong(requested: context, model: config.trainedContext)
        }
        contextCapacity = context
        pool = WorkerPool(threads: threads)
        self.batchSize = max(1, batchSize)
        workspace = Workspace(config: config, batch: self.batchSize, context: context)
    }

    public convenience init(path: String, threads: Int, context: Int, batchSize: Int = 64) throws {
        try self.init(file: GGUFFile(path: path), threads: threads, context: context, batchSize: batchSize)
    }

    public func makeCache(context: Int? = nil) throws -> KVCache {
        let n = context ?? contextCapacity
        guard n > 0, n <= contextCapacity else { throw ModelError.contextTooLong(requested: n, model: contextCapacity) }
        return KVCache(layers: config.layerCount, capacity: n, kvDim: config.kvDim)
    }

    /// Evaluates `tokens` at positions `cache.count...`, appending them to the cache, and calls
    /// `body(index, logits)` for each token selected by `outputs` (index into `tokens`).
    public func forward(_ tokens: [Int32], cache: KVCache, outputs: Outputs = .last,
                        _ body: (Int, UnsafeBufferPointer<Float>) throws -> Void) throws {
        guard cache.count + tokens.count <= cache.capacity else {
            throw ModelError.contextFull(needed: cache.count + tokens.count, capacity: cache.capacity)
        }
        for t in tokens where t < 0 || Int(t) >= config.vocabularySize {
            throw ModelError.badToken(t, vocabulary: config.vocabularySize)
        }
        let wanted: Range<Int> = switch outputs {
        case .last: tokens.isEmpty ? 0..<0 : tokens.count - 1..<tokens.count
        case .all: 0..<tokens.count
        case let .range(r): r.clamped(to: 0..<tokens.count)
        }
        let wide = tokens.count >= Ops.wideAttentionBatch
        var start = 0
        while start < tokens.count {
            let end = min(start + batchSize, tokens.count)
            evaluate(tokens[start..<end], placement: .sequence(cache), wideAttention: wide)
            let selected = wanted.clamped(to: start..<end)
            if !selected.isEmpty { try emitLogits(rows: selected.lowerBound - start..<selected.upperBound - start, batchStart: start, body) }
            start = end
        }
    }

    /// One decode step for each of several sequences at once: token `i` is appended to cache `i`
    /// and `body(i, logits)` is called for each. The sequences share every pass over the weights
    /// (the matmuls see one batch), and each token's logits are exactly what a step of its sequence
    /// alone would give.
    public func decode(_ steps: [(token: Int32, cache: KVCache)], _ body: (Int, UnsafeBufferPointer<Float>) throws -> Void) throws {
        for (i, step) in steps.enumerated() {
            guard step.cache.count < step.cache.capacity else {
                throw ModelError.contextFull(needed: step.cache.count + 1, capacity: step.cache.capacity)
            }
            guard step.token >= 0, Int(step.token) < config.vocabularySize else {
                throw ModelError.badToken(step.token, vocabulary: config.vocabularySize)
            }
            for j in 0..<i where steps[j].cache === step.cache { throw ModelError.cacheRepeated }
        }
        var start = 0
        while start < steps.count {
            let end = min(start + batchSize, steps.count)
            evaluate(steps[start..<end].map(\.token)[...], placement: .parallel(steps[start..<end].map(\.cache)), wideAttention: false)
            try emitLogits(rows: 0..<end - start, batchStart: start, body)
            start = end
        }
    }

    /// Where a batch's tokens go: consecutive positions of one sequence, or one token per sequence.
    private enum Placement {
        case sequence(KVCache)
        case parallel([KVCache])
    }

    /// Runs the decoder blocks over one batch, leaving the final normed hidden states in `xn`.
    private func evaluate(_ tokens: ArraySlice<Int32>, placement: Placement, wideAttention: Bool) {
        let c = config, w = workspace, n = tokens.count
        let positions: [Int] = switch placement {
        case let .sequence(cache): (0..<n).map { cache.count + $0 }
        case let .parallel(caches): caches.map(\.count)
        }
        let embd = c.embeddingLength
        for (i, t) in tokens.enumerated() { weights.tokenEmbedding.dequantizeRow(Int(t), into: w.x.at(i * embd)) }

        for (l, layer) in weights.layers.enumerated() {
            // Attention sub-block.
            for i in 0..<n { Ops.rmsNorm(w.x.at(i * embd), weight: layer.attentionNorm.pointer, into: w.xn.at(i * embd), count: embd, eps: c.rmsEpsilon) }
            w.embdActs.reset(w.xn.pointer, stride: embd, tokens: n)
            Ops.matmul(pool, [
                .init(layer.query, into: w.q.pointer, stride: c.qDim, bias: layer.queryBias?.pointer),
                .init(layer.key, into: w.k.pointer, stride: c.kvDim, bias: layer.keyBias?.pointer),
                .init(layer.value, into: w.v.pointer, stride: c.kvDim, bias: layer.valueBias?.pointer),
            ], w.embdActs)
            for i in 0..<n {
                let q = w.q.at(i * c.qDim), k = w.k.at(i * c.kvDim)
                if let qn = layer.queryNorm, let kn = layer.keyNorm {
                    for h in 0..<c.headCount { Ops.rmsNorm(q + h * c.headDim, weight: qn.pointer, into: q + h * c.headDim, count: c.headDim, eps: c.rmsEpsilon) }
                    for h in 0..<c.kvHeadCount { Ops.rmsNorm(k + h * c.headDim, weight: kn.pointer, into: k + h * c.headDim, count: c.headDim, eps: c.rmsEpsilon) }
                }
                let neox = architecture.ropeStyle == .neox
                Ops.rope(q, heads: c.headCount, headDim: c.headDim, rotaryDim: c.rotaryDim, position: positions[i], base: c.ropeBase, neox: neox)
                Ops.rope(k, heads: c.kvHeadCount, headDim: c.headDim, rotaryDim: c.rotaryDim, position: positions[i], base: c.ropeBase, neox: neox)
            }
            let scale = 1 / Float(c.headDim).squareRoot()
            switch placement {
            case let .sequence(cache):
                let kc = cache.keys(layer: l), vc = cache.values(layer: l), pos0 = positions[0]
                Ops.toHalf(w.k.pointer, into: kc + pos0 * c.kvDim, count: n * c.kvDim)
                Ops.toHalf(w.v.pointer, into: vc + pos0 * c.kvDim, count: n * c.kvDim)
                Ops.attention(pool, q: w.q.pointer, k: kc, v: vc, out: w.attention.pointer, queries: n, startPosition: pos0,
                              heads: c.headCount, kvHeads: c.kvHeadCount, headDim: c.headDim,
                              scale: scale, scratch: w.scores.pointer, wide: wideAttention)
            case let .parallel(caches):
                // Every sequence's heads in one pass of the pool.
                let sequences = caches.enumerated().map { i, cache in
                    let kc = cache.keys(layer: l), vc = cache.values(layer: l), pos = positions[i]
                    Ops.toHalf(w.k.at(i * c.kvDim), into: kc + pos * c.kvDim, count: c.kvDim)
                    Ops.toHalf(w.v.at(i * c.kvDim), into: vc + pos * c.kvDim, count: c.kvDim)
                    return AttentionSequence(k: kc, v: vc, pos: Int64(pos))
                }
                Ops.attentionDecode(pool, q: w.q.pointer, sequences: sequences, out: w.attention.pointer,
                                    heads: c.headCount, kvHeads: c.kvHeadCount, headDim: c.headDim, scale: scale)
            }
            w.attentionActs.reset(w.attention.pointer, stride: c.qDim, tokens: n)
            // xn is free again (its quantized copy fed Q, K and V): it takes the projection.
            Ops.matmul(pool, layer.output, w.attentionActs, into: w.xn.pointer, stride: embd)
            Ops.add(w.x.pointer, w.xn.pointer, into: w.x.pointer, count: n * embd)

            // Feed-forward sub-block (SwiGLU).
            for i in 0..<n { Ops.rmsNorm(w.x.at(i * embd), weight: layer.feedForwardNorm.pointer, into: w.xn.at(i * embd), count: embd, eps: c.rmsEpsilon) }
            w.embdActs.reset(w.xn.pointer, stride: embd, tokens: n)
            Ops.matmul(pool, [
                .init(layer.gate, into: w.gate.pointer, stride: c.feedForwardLength),
                .init(layer.up, into: w.up.pointer, stride: c.feedForwardLength),
            ], w.embdActs)
            Ops.siluMul(gate: w.gate.pointer, up: w.up.pointer, into: w.gate.pointer, count: n * c.feedForwardLength)
            w.ffnActs.reset(w.gate.pointer, stride: c.feedForwardLength, tokens: n)
            Ops.matmul(pool, layer.down, w.ffnActs, into: w.xn.pointer, stride: embd)
            Ops.add(w.x.pointer, w.xn.pointer, into: w.x.pointer, count: n * embd)
        }
        switch placement {
        case let .sequence(cache): cache.count += n
        case let .parallel(caches): for cache in caches { cache.count += 1 }
        }
        for i in 0..<n { Ops.rmsNorm(w.x.at(i * embd), weight: weights.outputNorm.pointer, into: w.xn.at(i * embd), count: embd, eps: c.rmsEpsilon) }
    }

    /// Applies the output head to the selected rows of `xn`, a few rows at a time.
    private func emitLogits(rows: Range<Int>, batchStart: Int, _ body: (Int, UnsafeBufferPointer<Float>) throws -> Void) throws {
        let w = workspace, vocab = config.vocabularySize, embd = config.embeddingLength
        var r = rows.lowerBound
        while r < rows.upperBound {
            let m = min(w.logitRows, rows.upperBound - r)
            w.embdActs.reset(w.xn.at(r * embd), stride: embd, tokens: m)
            Ops.matmul(pool, weights.outputHead, w.embdActs, into: w.logits.pointer, stride: vocab)
            for j in 0..<m { try body(batchStart + r + j, UnsafeBufferPointer(start: w.logits.at(j * vocab), count: vocab)) }
            r += m
        }
    }

    /// Bytes of the KV cache for a context of `tokens` positions.
    public func kvCacheBytes(context tokens: Int) -> Int { 2 * config.layerCount * tokens * config.kvDim * 2 }
}
