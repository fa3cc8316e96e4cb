import Foundation
import GGUF

/// A tiny random decoder written as a GGUF file, with F32 weights so that an independent
/// reference implementation can check the engine's forward pass exactly.
public struct SyntheticModel {
    public let architecture: String
    public let layers = 2, embd = 64, ffn = 96, heads = 4, kvHeads = 2, headDim = 16, vocab = 97, context = 128
    public let ropeBase: Float = 10_000, eps: Float = 1e-5
    public var qkvBias: Bool { architecture == "qwen2" }
    public var qkNorm: Bool { architecture == "qwen3" }
    public var neox: Bool { architecture != "llama" }
    public let tied: Bool
    /// Every tensor by GGUF name: (shape as in GGUF, row-major values).
    public private(set) var tensors: [(name: String, shape: [Int64], values: [Float])] = []

    public init(architecture: String, tied: Bool = false, seed: UInt64 = 7) {
        self.architecture = architecture
        self.tied = tied
        var rng = seed
        func rand(_ n: Int, scale: Float) -> [Float] {
            (0..<n).map { _ in
                rng = rng &* 6364136223846793005 &+ 1442695040888963407
                return (Float(rng >> 40) / Float(1 << 24) * 2 - 1) * scale
            }
        }
        func norm(_ n: Int) -> [Float] { rand(n, scale: 0.2).map { 1 + $0 } }
        var t: [(String, [Int64], [Float])] = []
        let q = heads * headDim, kv = kvHeads * headDim
        t.append(("token_embd.weight", [Int64(embd), Int64(vocab)], rand(embd * vocab, scale: 1)))
        for l in 0..<layers {
            let p = "blk.\(l)."
            t.append((p + "attn_norm.weight", [Int64(embd)], norm(embd)))
            t.append((p + "attn_q.weight", [Int64(embd), Int64(q)], rand(embd * q, scale: 0.3)))
            t.append((p + "attn_k.weight", [Int64(embd), Int64(kv)], rand(embd * kv, scale: 0.3)))
            t.append((p + "attn_v.weight", [Int64(embd), Int64(kv)], rand(embd * kv, scale: 0.3)))
            if architecture == "qwen2" {
                t.append((p + "attn_q.bias", [Int64(q)], rand(q, scale: 0.1)))
                t.append((p + "attn_k.bias", [Int64(kv)], rand(kv, scale: 0.1)))
                t.append((p + "attn_v.bias", [Int64(kv)], rand(kv, scale: 0.1)))
            }
            if architecture == "qwen3" {
                t.append((p + "attn_q_norm.weight", [Int64(headDim)], norm(headDim)))
                t.append((p + "attn_k_norm.weight", [Int64(headDim)], norm(headDim)))
            }
            t.append((p + "attn_output.weight", [Int64(q), Int64(embd)], rand(q * embd, scale: 0.2)))
            t.append((p + "ffn_norm.weight", [Int64(embd)], norm(embd)))
            t.append((p + "ffn_gate.weight", [Int64(embd), Int64(ffn)], rand(embd * ffn, scale: 0.3)))
            t.append((p + "ffn_up.weight", [Int64(embd), Int64(ffn)], rand(embd * ffn, scale: 0.3)))
            t.append((p + "ffn_down.weight", [Int64(ffn), Int64(embd)], rand(ffn * embd, scale: 0.2)))
        }
        t.append(("output_norm.weight", [Int64(embd)], norm(embd)))
        if !tied { t.append(("output.weight", [Int64(embd), Int64(vocab)], rand(embd * vocab, scale: 0.5))) }
        tensors = t.map { (name: $0.0, shape: $0.1, values: $0.2) }
    }

    public func tensor(_ name: String) -> [Float] { tensors.first { $0.name == name }!.values }

    public func builder() -> GGUFBuilder {
        var b = GGUFBuilder()
        let a = architecture
        b.add("general.architecture", .string(a))
        b.add("general.name", .string("synthetic \(a)"))
        b.add("\(a).block_count", .u32(UInt32(layers)))
        b.add("\(a).context_length", .u32(UInt32(context)))
        b.add("\(a).embedding_length", .u32(UInt32(embd)))
        b.add("\(a).feed_forward_length", .u32(UInt32(ffn)))
        b.add("\(a).attention.head_count", .u32(UInt32(heads)))
        b.add("\(a).attention.head_count_kv", .u32(UInt32(kvHeads)))
        if a == "qwen3" { b.add("\(a).attention.key_length", .u32(UInt32(headDim))) }
        b.add("\(a).rope.freq_base", .f32(ropeBase))
        b.add("\(a).attention.layer_norm_rms_epsilon", .f32(eps))
        for t in tensors { b.add(.init(name: t.name, type: .f32, shape: t.shape, data: f32Bytes(t.values))) }
        return b
    }

    public func write() throws -> String { try builder().write(name: "synthetic-\(architecture)") }
}
