import CKernels
import XCTest

/// The activation quantizers (from_float of every vec_dot_type) against gguf-py, and ggml's
/// reference formulas where gguf-py has no quantizer (Q8_1, Q8_K).
final class ActivationQuantizerTests: XCTestCase {
    private func quantize(_ type: ek_type, _ x: [Float]) throws -> [UInt8] {
        let t = try traits(type)
        var out = [UInt8](repeating: 0xA5, count: ek_row_size(Int32(type.rawValue), Int64(x.count)))
        x.withUnsafeBufferPointer { src in out.withUnsafeMutableBytes { t.from_float!(src.baseAddress, $0.baseAddress, Int64(x.count)) } }
        return out
    }

    private func input() throws -> [Float] {
        try KernelFixtures.floats(try KernelFixtures.load().entry("q8_0").input ?? "")
    }

    private func randomActivations(_ n: Int, seed: UInt64) -> [Float] {
        var rng = SplitMix64(seed: seed)
        var x = (0..<n).map { _ in rng.gaussian() * pow10(rng.unit() * 4 - 2) }
        for i in 256..<512 where n >= 768 { x[i] = 0 }   // an all-zero Q8_K block
        return x
    }

    /// gguf.quants.quantize(Q8_0) claims bit-exactness with ggml's quantize_row_q8_0_ref.
    func testQ8_0MatchesGGUFBytes() throws {
        let e = try KernelFixtures.load().entry("q8_0")
        let x = try input()
        let expected = try KernelFixtures.bytes(e.quant)
        XCTAssertEqual(try quantize(EK_Q8_0, x), expected)
        // Row by row too: n shorter than the buffer.
        var rows: [UInt8] = []
        for r in 0..<e.rows { rows += try quantize(EK_Q8_0, Array(x[(r * e.cols)..<((r + 1) * e.cols)])) }
        XCTAssertEqual(rows, expected)
    }

    func testFloatTypesFromFloatMatchGGUFBytes() throws {
        let fixtures = try KernelFixtures.load()
        let x = try input()
        for (name, type) in [("f32", EK_F32), ("f16", EK_F16), ("bf16", EK_BF16)] {
            XCTAssertEqual(try quantize(type, x), try KernelFixtures.bytes(try fixtures.entry(name).quant), name)
        }
    }

    /// Q8_1 is ggml's Q8_0 plus s = fp16(sum(q) * d) (d the f32 scale), so its d and qs must equal
    /// Q8_0's for the same input, which the test above pins to gguf-py.
    func testQ8_1IsQ8_0PlusBlockSum() throws {
        for x in [try input(), randomActivations(1024, seed: 7)] {
            let q8_0 = try quantize(EK_Q8_0, x)
            let q8_1 = try quantize(EK_Q8_1, x)
            for b in 0..<(x.count / 32) {
                let b0 = 34 * b, b1 = 36 * b
                XCTAssertEqual(q8_1.uint16(at: b1), q8_0.uint16(at: b0), "block \(b): d")
                XCTAssertEqual(Array(q8_1[(b1 + 4)..<(b1 + 36)]), Array(q8_0[(b0 + 2)..<(b0 + 34)]), "block \(b): qs")
                let block = x[(32 * b)..<(32 * b + 32)]
                let d32 = block.map { abs($0) }.max()! / 127
                let sum = q8_1[(b1 + 4)..<(b1 + 36)].reduce(0) { $0 + Int(Int8(bitPattern: $1)) }
                XCTAssertEqual(q8_1.uint16(at: b1 + 2), ek_fp32_to_fp16(Float(sum) * d32), "block \(b): s")
            }
        }
    }

    /// Round trip of Q8_0/Q8_1: each value is within half a step of the f32 scale, plus the fp16
    /// rounding of d (relative 2^-11) over at most 127 steps.
    func testQ8_0RoundTripError() throws {
        let x = randomActivations(2048, seed: 11)
        let q = try quantize(EK_Q8_0, x)
        for b in 0..<(x.count / 32) {
            let d16 = ek_fp16_to_fp32(q.uint16(at: 34 * b))
            let d32 = x[(32 * b)..<(32 * b + 32)].map { abs($0) }.max()! / 127
            let bound = (0.5 * d32 + 127 * abs(d32 - d16)) * (1 + 1e-5)
            var peak = 0
            for j in 0..<32 {
                let qi = Int(Int8(bitPattern: q[34 * b + 2 + j]))
                peak = max(peak, abs(qi))
                XCTAssertLessThanOrEqual(abs(x[32 * b + j] - Float(qi) * d16), bound, "block \(b) element \(j)")
            }
            XCTAssertEqual(peak, d32 == 0 ? 0 : 127, "block \(b): the largest magnitude maps to ±127")
        }
    }

    /// Q8_K: ggml's quantize_row_q8_K_ref, modelled directly: iscale = -127/max (max = first value of
    /// largest magnitude, sign kept), q = min(127, round-half-even(iscale*x)), d = 1/iscale, bsums = sums of 16.
    func testQ8_KMatchesGGMLReference() throws {
        let x = randomActivations(256 * 6, seed: 3)
        let q = try quantize(EK_Q8_K, x)
        XCTAssertEqual(q.count, 6 * 292)
        var zeroBlocks = 0
        for b in 0..<6 {
            let base = 292 * b
            let block = Array(x[(256 * b)..<(256 * b + 256)])
            var amax: Float = 0, maxv: Float = 0
            for v in block where abs(v) > amax { amax = abs(v); maxv = v }
            let qs = (0..<256).map { Int(Int8(bitPattern: q[base + 4 + $0])) }
            let bsums = (0..<16).map { Int(q.int16(at: base + 260 + 2 * $0)) }
            if amax == 0 {
                zeroBlocks += 1
                XCTAssertEqual(q.float32(at: base), 0)
                XCTAssertTrue(qs.allSatisfy { $0 == 0 } && bsums.allSatisfy { $0 == 0 }, "zero block \(b)")
                continue
            }
            let iscale = -127 / maxv
            XCTAssertEqual(q.float32(at: base).bitPattern, (1 / iscale).bitPattern, "block \(b): d")
            for j in 0..<256 {
                XCTAssertEqual(qs[j], min(127, Int((iscale * block[j]).rounded(.toNearestOrEven))), "block \(b) element \(j)")
            }
            XCTAssertEqual(qs[block.firstIndex { abs($0) == amax }!], -127)
            for g in 0..<16 { XCTAssertEqual(bsums[g], qs[(16 * g)..<(16 * g + 16)].reduce(0, +), "block \(b) bsums[\(g)]") }
            // Round trip within half a step (plus f32 rounding of iscale*x and 1/iscale).
            let d = q.float32(at: base)
            for j in 0..<256 { XCTAssertLessThanOrEqual(abs(block[j] - Float(qs[j]) * d), 0.5 * abs(d) * (1 + 1e-4)) }
        }
        XCTAssertEqual(zeroBlocks, 1)
    }

    /// Ties: every activation quantizer rounds half to even, as the reference engine's x86 and NEON
    /// kernels do (so every variant of ours can produce the same bytes).
    func testRoundingConventions() throws {
        var x = [Float](repeating: 0, count: 256)
        x[0] = 127; x[1] = 2.5; x[2] = -3.5; x[3] = 0.5; x[4] = -0.5; x[5] = 1.5
        let q8_0 = try quantize(EK_Q8_0, x)
        XCTAssertEqual(ek_fp16_to_fp32(q8_0.uint16(at: 0)), 1)
        XCTAssertEqual((0..<6).map { Int8(bitPattern: q8_0[2 + $0]) }, [127, 2, -4, 0, 0, 2])
        let q8_k = try quantize(EK_Q8_K, x)
        XCTAssertEqual(q8_k.float32(at: 0), -1)
        XCTAssertEqual((0..<6).map { Int8(bitPattern: q8_k[4 + $0]) }, [-127, -2, 4, 0, 0, -2])
    }
}
