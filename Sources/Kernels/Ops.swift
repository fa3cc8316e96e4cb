import CKernels

/// Typed entry points to the C kernels. Each call processes whole rows; loops over elements
/// stay in C.
public enum Ops {
    /// Prompts of at least this many tokens get f32 attention throughout.
    public static let wideAttentionBatch = Int(EK_ATTENTION_WIDE_BATCH)

    /// y[t][r] = W[r] · x[t] (+ bias[r]) for every token of `input`.
    public static func matmul(_ pool: WorkerPool, _ w: WeightMatrix, _ input: QuantizedActivations,
                              into y: UnsafeMutablePointer<Float>, stride: Int, bias: UnsafePointer<Float>? = nil) {
        let x = input.rows(as: w.activationType)
        ek_matmul(pool.raw, Int32(w.type), w.data, Int64(w.rows), Int64(w.cols), x.data, x.stride,
                  Int64(input.tokenCount), y, Int64(stride), bias)
    }

    /// One output of `matmul(_:_:into:)`: a matrix and where its rows go.
    public struct Product {
        public let weights: WeightMatrix
        public let output: UnsafeMutablePointer<Float>
        public let stride: Int
        public let bias: UnsafePointer<Float>?

        public init(_ weights: WeightMatrix, into output: UnsafeMutablePointer<Float>, stride: Int, bias: UnsafePointer<Float>? = nil) {
            self.weights = weights
            self.output = output
            self.stride = stride
            self.bias = bias
        }
    }

    /// Several matrices over the same input (Q, K and V; gate and up) in one pass of the pool.
    /// Matrices whose activation types differ are grouped, one pass per type.
    public static func matmul(_ pool: WorkerPool, _ products: [Product], _ input: QuantizedActivations) {
        var remaining = products[...]
        while let first = remaining.first {
            let type = first.weights.activationType
            let group = remaining.filter { $0.weights.activationType == type }.prefix(Int(EK_MATMUL_MAX_TARGETS))
            remaining = remaining.filter { p in !group.contains { $0.output == p.output } }[...]
            let x = input.rows(as: type)
            let targets = group.map {
                ek_matmul_target(wtype: Int32($0.weights.type), w: $0.weights.data, rows: Int64($0.weights.rows),
                                 y: $0.output, y_stride: Int64($0.stride), bias: $0.bias)
            }
            targets.withUnsafeBufferPointer {
                ek_matmul_many(pool.raw, $0.baseAddress, Int32($0.count), Int64(first.weights.cols), x.data, x.stride,
                               Int64(input.tokenCount))
            }
        }
    }

    public static func rmsNorm(_ x: UnsafePointer<Float>, weight: UnsafePointer<Float>?, into y: UnsafeMutablePointer<Float>,
                               count: Int, eps: Float) {
        ek_rms_norm(x, weight, y, Int64(count), eps)
    }

    public static func rope(_ x: UnsafeMutablePointer<Float>, heads: Int, headDim: Int, rotaryDim: Int,
                            position: Int, base: Float, neox: Bool) {
        ek_rope(x, Int64(heads), Int64(headDim), Int64(rotaryDim), Int64(position), base, neox)
    }

    public static func siluMul(gate: UnsafePointer<Float>, up: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>, count: Int) {
        ek_silu_mul(gate, up, out, Int64(count))
    }

    public static func add(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>, count: Int) {
        ek_add(a, b, out, Int64(count))
    }

    public static func softmax(_ x: UnsafeMutablePointer<Float>, count: Int) { ek_softmax(x, Int64(count)) }

    public static func toHalf(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<UInt16>, count: Int) {
        ek_fp32_to_fp16_row(x, y, Int64(count))
    }

    /// Causal attention for `queries` tokens; `wide` selects f32 numerics for long prompts (see `ek_attention`).
    public static func attention(_ pool: WorkerPool, q: UnsafePointer<Float>, k: UnsafePointer<UInt16>, v: UnsafePointer<UInt16>,
                                 out: UnsafeMutablePointer<Float>, queries: Int, startPosition: Int, heads: Int, kvHeads: Int,
                                 headDim: Int, scale: Float, scratch: UnsafeMutablePointer<Float>, wide: Bool) {
        ek_attention(pool.raw, q, k, v, out, Int64(queries), Int64(startPosition), Int64(heads), Int64(kvHeads),
                     Int64(headDim), scale, scratch, wide)
    }

    /// One decode step of several sequences, each attending to its own cache (see `ek_attention_decode`):
    /// query `i` and output `i` are rows of `heads * headDim` floats.
    public static func attentionDecode(_ pool: WorkerPool, q: UnsafePointer<Float>, sequences: [AttentionSequence],
                                       out: UnsafeMutablePointer<Float>, heads: Int, kvHeads: Int, headDim: Int, scale: Float) {
        ek_attention_decode(pool.raw, q, sequences, Int64(sequences.count), out, Int64(heads), Int64(kvHeads), Int64(headDim), scale)
    }
}

/// A sequence's KV cache for one layer and the position of its query, for `Ops.attentionDecode`.
public typealias AttentionSequence = ek_attention_seq
