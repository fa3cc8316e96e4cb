import GGUF
import Kernels

/// A vector of f32 parameters (norm weights, biases) read in place from the mapping.
public struct ParameterVector: @unchecked Sendable {
    public let pointer: UnsafePointer<Float>
    public let count: Int
}

/// One decoder block's parameters. Shape comments give (rows, cols) of each matrix.
public struct LayerWeights: Sendable {
    public let attentionNorm: ParameterVector       // (embd)
    public let query: WeightMatrix                  // (heads * head_dim, embd)
    public let key: WeightMatrix                    // (kv_heads * head_dim, embd)
    public let value: WeightMatrix                  // (kv_heads * head_dim, embd)
    public let output: WeightMatrix                 // (embd, heads * head_dim)
    public let queryBias, keyBias, valueBias: ParameterVector?
    public let queryNorm, keyNorm: ParameterVector? // (head_dim)
    public let feedForwardNorm: ParameterVector     // (embd)
    public let gate: WeightMatrix                   // (ffn, embd)
    public let up: WeightMatrix                     // (ffn, embd)
    public let down: WeightMatrix                   // (embd, ffn)
}

/// Every parameter of a model, bound to tensors of the mapped GGUF file by name. Tensor names
/// are mapped here and nowhere else.
public struct ModelWeights: Sendable {
    public let tokenEmbedding: WeightMatrix         // (vocab, embd)
    public let layers: [LayerWeights]
    public let outputNorm: ParameterVector          // (embd)
    /// The output head: `output.weight`, or the token embedding when the model ties them.
    public let outputHead: WeightMatrix             // (vocab, embd)
    public let tiedOutput: Bool

    public init(gguf: GGUFFile, config c: ModelConfig, architecture a: Architecture) throws {
        func matrix(_ name: String, rows: Int, cols: Int) throws -> WeightMatrix {
            let t = try gguf.requireTensor(name)
            guard t.shape == [cols, rows] else { throw ModelError.tensorShape(tensor: name, expected: [cols, rows], found: t.shape) }
            return try WeightMatrix(name: name, type: t.type.rawValue, rows: rows, cols: cols, data: t.data)
        }
        func vector(_ name: String, count: Int) throws -> ParameterVector {
            let t = try gguf.requireTensor(name)
            guard t.shape == [count] else { throw ModelError.tensorShape(tensor: name, expected: [count], found: t.shape) }
            guard t.type == .f32 else { throw KernelError.unsupportedType(tensor: name, type: t.type.rawValue) }
            return ParameterVector(pointer: t.data.assumingMemoryBound(to: Float.self), count: count)
        }
        tokenEmbedding = try matrix("token_embd.weight", rows: c.vocabularySize, cols: c.embeddingLength)
        outputNorm = try vector("output_norm.weight", count: c.embeddingLength)
        if gguf.tensor("output.weight") != nil {
            outputHead = try matrix("output.weight", rows: c.vocabularySize, cols: c.embeddingLength)
            tiedOutput = false
        } else {
            outputHead = tokenEmbedding
            tiedOutput = true
        }
        layers = try (0..<c.layerCount).map { i in
            let p = "blk.\(i)."
            return LayerWeights(
                attentionNorm: try vector(p + "attn_norm.weight", count: c.embeddingLength),
                query: try matrix(p + "attn_q.weight", rows: c.qDim, cols: c.embeddingLength),
                key: try matrix(p + "attn_k.weight", rows: c.kvDim, cols: c.embeddingLength),
                value: try matrix(p + "attn_v.weight", rows: c.kvDim, cols: c.embeddingLength),
                output: try matrix(p + "attn_output.weight", rows: c.embeddingLength, cols: c.qDim),
                queryBias: a.qkvBias ? try vector(p + "attn_q.bias", count: c.qDim) : nil,
                keyBias: a.qkvBias ? try vector(p + "attn_k.bias", count: c.kvDim) : nil,
                valueBias: a.qkvBias ? try vector(p + "attn_v.bias", count: c.kvDim) : nil,
                queryNorm: a.qkNorm ? try vector(p + "attn_q_norm.weight", count: c.headDim) : nil,
                keyNorm: a.qkNorm ? try vector(p + "attn_k_norm.weight", count: c.headDim) : nil,
                feedForwardNorm: try vector(p + "ffn_norm.weight", count: c.embeddingLength),
                gate: try matrix(p + "ffn_gate.weight", rows: c.feedForwardLength, cols: c.embeddingLength),
                up: try matrix(p + "ffn_up.weight", rows: c.feedForwardLength, cols: c.embeddingLength),
                down: try matrix(p + "ffn_down.weight", rows: c.embeddingLength, cols: c.feedForwardLength))
        }
    }

    /// Bytes of weights read per generated token: every matrix once, one embedding row, and the
    /// whole output head.
    public var bytesPerToken: Int {
        var total = tokenEmbedding.rowBytes + outputHead.rowBytes * outputHead.rows
        for l in layers {
            for m in [l.query, l.key, l.value, l.output, l.gate, l.up, l.down] { total += m.rowBytes * m.rows }
        }
        return total
    }
}
