import Foundation
import TestSupport

/// A deliberately plain forward pass in Double, written from the architecture's definition and
/// sharing no code with the engine: the oracle for synthetic models.
struct NaiveReference {
    let m: SyntheticModel

    /// W (GGUF shape [cols, rows]) times x.
    func matvec(_ name: String, _ x: [Double], rows: Int) -> [Double] {
        let w = m.tensor(name), cols = x.count
        return (0..<rows).map { r in (0..<cols).reduce(0.0) { $0 + Double(w[r * cols + $1]) * x[$1] } }
    }

    func rmsNorm(_ x: [Double], _ w: [Float]) -> [Double] {
        let ms = x.reduce(0) { $0 + $1 * $1 } / Double(x.count)
        let s = 1 / (ms + Double(m.eps)).squareRoot()
        return x.indices.map { x[$0] * s * Double(w[$0]) }
    }

    func rope(_ v: [Double], pos: Int) -> [Double] {
        var out = v
        let d = m.headDim
        for i in 0..<d / 2 {
            let theta = Double(pos) * pow(Double(m.ropeBase), -2.0 * Double(i) / Double(d))
            let (a, b) = m.neox ? (i, i + d / 2) : (2 * i, 2 * i + 1)
            out[a] = v[a] * cos(theta) - v[b] * sin(theta)
            out[b] = v[a] * sin(theta) + v[b] * cos(theta)
        }
        return out
    }

    /// Logits after each token of `tokens`; positions below `wideUntil` were evaluated as part of a
    /// long prompt (f32 attention), the rest as short batches.
    func logits(_ tokens: [Int32], wideUntil: Int = 0) -> [[Double]] {
        let d = m.headDim, group = m.heads / m.kvHeads
        var keys = [[[[Double]]]](repeating: [], count: m.layers)    // layer, pos, head, dim
        var values = [[[[Double]]]](repeating: [], count: m.layers)
        let embedding = m.tensor("token_embd.weight")
        var result: [[Double]] = []
        for (pos, tok) in tokens.enumerated() {
            var x = (0..<m.embd).map { Double(embedding[Int(tok) * m.embd + $0]) }
            for l in 0..<m.layers {
                let p = "blk.\(l)."
                let h = rmsNorm(x, m.tensor(p + "attn_norm.weight"))
                var q = matvec(p + "attn_q.weight", h, rows: m.heads * d)
                var k = matvec(p + "attn_k.weight", h, rows: m.kvHeads * d)
                var v = matvec(p + "attn_v.weight", h, rows: m.kvHeads * d)
                if m.qkvBias {
                    q = zip(q, m.tensor(p + "attn_q.bias")).map { $0 + Double($1) }
                    k = zip(k, m.tensor(p + "attn_k.bias")).map { $0 + Double($1) }
                    v = zip(v, m.tensor(p + "attn_v.bias")).map { $0 + Double($1) }
                }
                var qh = (0..<m.heads).map { Array(q[$0 * d..<($0 + 1) * d]) }
                var kh = (0..<m.kvHeads).map { Array(k[$0 * d..<($0 + 1) * d]) }
                let vh = (0..<m.kvHeads).map { Array(v[$0 * d..<($0 + 1) * d]) }
                if m.qkNorm {
                    qh = qh.map { rmsNorm($0, m.tensor(p + "attn_q_norm.weight")) }
                    kh = kh.map { rmsNorm($0, m.tensor(p + "attn_k_norm.weight")) }
                }
                qh = qh.map { rope($0, pos: pos) }
                kh = kh.map { rope($0, pos: pos) }
                // The engine keeps its KV cache in f16, by definition: so does the reference.
                keys[l].append(kh.map { $0.map { Double(Float16(Float($0))) } })
                values[l].append(vh.map { $0.map { Double(Float16(Float($0))) } })
                var attn = [Double]()
                for head in 0..<m.heads where pos < wideUntil {
                    let kvh = head / group
                    var scores = (0...pos).map { t in zip(qh[head], keys[l][t][kvh]).reduce(0) { $0 + $1.0 * $1.1 } / Double(d).squareRoot() }
                    let mx = scores.max()!
                    scores = scores.map { exp($0 - mx) }
                    let sum = scores.reduce(0, +)
                    attn += (0..<d).map { c in (0...pos).reduce(0) { $0 + scores[$1] / sum * values[l][$1][kvh][c] } }
                }
                for head in 0..<m.heads where pos >= wideUntil {
                    attn += shortBatchAttention(query: qh[head], keys: keys[l].map { $0[head / group] }, values: values[l].map { $0[head / group] })
                }
                let o = matvec(p + "attn_output.weight", attn, rows: m.embd)
                x = zip(x, o).map(+)
                let h2 = rmsNorm(x, m.tensor(p + "ffn_norm.weight"))
                let g = matvec(p + "ffn_gate.weight", h2, rows: m.ffn)
                let u = matvec(p + "ffn_up.weight", h2, rows: m.ffn)
                let act = zip(g, u).map { $0 / (1 + exp(-$0)) * $1 }
                x = zip(x, matvec(p + "ffn_down.weight", act, rows: m.embd)).map(+)
            }
            let final = rmsNorm(x, m.tensor("output_norm.weight"))
            result.append(matvec(m.tied ? "token_embd.weight" : "output.weight", final, rows: m.vocab))
        }
        return result
    }

    /// Attention as the engine defines it for short batches (the reference engine's decode path):
    /// the query rounded to f16, an online softmax, and the running sum of values rounded to f16
    /// after every step.
    func shortBatchAttention(query: [Double], keys: [[Double]], values: [[Double]]) -> [Double] {
        func h(_ x: Double) -> Double { Double(Float16(Float(x))) }
        let q = query.map(h), scale = 1 / Double(m.headDim).squareRoot()
        var acc = [Double](repeating: 0, count: m.headDim), maxScore = -Double.infinity, sum = 0.0
        for (k, v) in zip(keys, values) {
            let s = zip(q, k).reduce(0) { $0 + $1.0 * $1.1 } * scale
            var ms = 1.0, vs = 1.0
            if s > maxScore {
                ms = exp(maxScore - s)
                maxScore = s
                acc = acc.map { h($0 * ms) }
            } else {
                vs = exp(s - maxScore)
            }
            acc = zip(acc, v).map { h($0 + $1 * vs) }
            sum = sum * ms + vs
        }
        return acc.map { $0 / sum }
    }
}
