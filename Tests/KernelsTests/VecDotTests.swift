import CKernels
import XCTest

/// vec_dot of each weight type against the f64 dot of its dequantized weights and the dequantized
/// activations (quantized by the vec_dot_type's from_float).
final class VecDotTests: XCTestCase {
    /// Relative to sum(|w_i * x_i|). Both sides compute the same exact products; they differ only by
    /// f32 rounding (per-block scale products, block/lane accumulation, partial cancellation between
    /// the scale and min terms): observed at most 6e-8 on these inputs. A wrong code, scale or bit
    /// layout gives errors of order 1.
    static let vecDotRelTolerance = 1e-6

    /// The f32 reference dot of `n` elements, plus the slack from Q8_1's s = fp16(d * sum(q)): the
    /// kernel uses s where the reference uses d * sum(q), so each block may differ by |m| * |s - d*sum(q)|.
    private struct Reference { var dot = 0.0, absSum = 0.0, slack = 0.0 }

    private func dequantizeActivations(_ type: ek_type, _ xq: [UInt8], _ n: Int) throws -> [Float] {
        var out = [Float](repeating: .nan, count: n)
        switch type {
        case EK_Q8_1:   // activation-only: no to_float in the table
            for b in 0..<(n / 32) {
                let d = ek_fp16_to_fp32(xq.uint16(at: 36 * b))
                for j in 0..<32 { out[32 * b + j] = Float(Int8(bitPattern: xq[36 * b + 4 + j])) * d }
            }
        case EK_Q8_K:
            for b in 0..<(n / 256) {
                let d = xq.float32(at: 292 * b)
                for j in 0..<256 { out[256 * b + j] = Float(Int8(bitPattern: xq[292 * b + 4 + j])) * d }
            }
        default:
            let t = try traits(type)
            xq.withUnsafeBytes { src in out.withUnsafeMutableBufferPointer { t.to_float!(src.baseAddress, $0.baseAddress, Int64(n)) } }
        }
        return out
    }

    /// Activations with per-32 magnitudes over three decades, one outlier, and (from 3 blocks on) an
    /// all-zero second activation block.
    private func activations(_ n: Int, zeroBlock: Int, seed: UInt64) -> [Float] {
        var rng = SplitMix64(seed: seed)
        var x = [Float](repeating: 0, count: n)
        for g in stride(from: 0, to: n, by: 32) {
            let scale = pow10(rng.unit() * 3 - 2)
            for i in g..<min(n, g + 32) { x[i] = rng.gaussian() * scale }
        }
        x[Int(rng.next() % UInt64(n))] *= 30
        if n >= 3 * zeroBlock { for i in zeroBlock..<(2 * zeroBlock) { x[i] = 0 } }
        return x
    }

    private func check(_ name: String, pairsWith expectedVecDotType: ek_type,
                       file: StaticString = #filePath, line: UInt = #line) throws {
        let e = try KernelFixtures.load().entry(name, file: file, line: line)
        let weights = try KernelFixtures.bytes(e.quant)
        let t = try XCTUnwrap(ek_traits_generic(e.type), file: file, line: line).pointee
        XCTAssertEqual(t.vec_dot_type, expectedVecDotType, "\(name) pairs with the wrong vec_dot_type", file: file, line: line)
        let vt = try traits(t.vec_dot_type, file: file, line: line)
        let vecDot = try XCTUnwrap(t.vec_dot, file: file, line: line)
        let toFloat = try XCTUnwrap(t.to_float, file: file, line: line)
        let fromFloat = try XCTUnwrap(vt.from_float, file: file, line: line)

        // Lengths in blocks; float types count blocks of 32 and also try odd lengths for their tails.
        let unit = max(e.blockSize, 32)
        let total = e.rows * e.cols
        var lengths = [1, 2, 3, 16].map { $0 * unit }
        if e.blockSize == 1 { lengths += [1, 3, 17, 45] }
        var cases = 0
        for n in lengths {
            precondition(n <= total)
            for start in Set([0, (total - n) / e.blockSize * e.blockSize]) {
                cases += 1
                let wOffset = start / e.blockSize * e.typeSize
                let x = activations(n, zeroBlock: Int(vt.block_size) == 1 ? 32 : Int(vt.block_size), seed: UInt64(n * 7919 + start))
                var xq = [UInt8](repeating: 0, count: ek_row_size(Int32(t.vec_dot_type.rawValue), Int64(n)))
                x.withUnsafeBufferPointer { src in xq.withUnsafeMutableBytes { fromFloat(src.baseAddress, $0.baseAddress, Int64(n)) } }
                let xd = try dequantizeActivations(t.vec_dot_type, xq, n)
                var wd = [Float](repeating: .nan, count: n)
                weights.withUnsafeBytes { src in wd.withUnsafeMutableBufferPointer { toFloat(src.baseAddress! + wOffset, $0.baseAddress, Int64(n)) } }

                var ref = Reference()
                for i in 0..<n {
                    ref.dot += Double(wd[i]) * Double(xd[i])
                    ref.absSum += abs(Double(wd[i]) * Double(xd[i]))
                }
                if t.vec_dot_type == EK_Q8_1 {
                    for b in 0..<(n / 32) {
                        let m = Double(ek_fp16_to_fp32(weights.uint16(at: wOffset + b * e.typeSize + 2)))
                        let d = Double(ek_fp16_to_fp32(xq.uint16(at: 36 * b)))
                        let s = Double(ek_fp16_to_fp32(xq.uint16(at: 36 * b + 2)))
                        let sumq = (0..<32).reduce(0) { $0 + Int(Int8(bitPattern: xq[36 * b + 4 + $1])) }
                        ref.slack += abs(m) * abs(s - d * Double(sumq))
                    }
                }
                let got = weights.withUnsafeBytes { w in xq.withUnsafeBytes { vecDot(Int64(n), w.baseAddress! + wOffset, $0.baseAddress) } }
                let allowed = Self.vecDotRelTolerance * ref.absSum + ref.slack
                XCTAssertTrue(got.isFinite && abs(Double(got) - ref.dot) <= allowed,
                              "\(name) n=\(n) start=\(start): vec_dot \(got), reference \(ref.dot), allowed error \(allowed)",
                              file: file, line: line)
            }
        }
        XCTAssertGreaterThanOrEqual(cases, 4, file: file, line: line)
    }

    func testF32() throws { try check("f32", pairsWith: EK_F32) }
    func testF16() throws { try check("f16", pairsWith: EK_F16) }
    func testBF16() throws { try check("bf16", pairsWith: EK_BF16) }
    func testQ4_0() throws { try check("q4_0", pairsWith: EK_Q8_0) }
    func testQ4_1() throws { try check("q4_1", pairsWith: EK_Q8_1) }
    func testQ5_0() throws { try check("q5_0", pairsWith: EK_Q8_0) }
    func testQ5_1() throws { try check("q5_1", pairsWith: EK_Q8_1) }
    func testQ8_0() throws { try check("q8_0", pairsWith: EK_Q8_0) }
    func testQ2_K() throws { try check("q2_K", pairsWith: EK_Q8_K) }
    func testQ3_K() throws { try check("q3_K", pairsWith: EK_Q8_K) }
    func testQ4_K() throws { try check("q4_K", pairsWith: EK_Q8_K) }
    func testQ5_K() throws { try check("q5_K", pairsWith: EK_Q8_K) }
    func testQ6_K() throws { try check("q6_K", pairsWith: EK_Q8_K) }

    /// For the 32-element types the float order is simple enough to model in Swift: the kernels must
    /// reproduce ggml's per-block scaling order bit for bit, not just approximately.
    func testBlock32FloatOrderMatchesGGMLExactly() throws {
        let n = 512
        let x = activations(n, zeroBlock: 32, seed: 42)
        for (name, vdt) in [("q4_0", EK_Q8_0), ("q8_0", EK_Q8_0), ("q4_1", EK_Q8_1)] {
            let e = try KernelFixtures.load().entry(name)
            let w = try KernelFixtures.bytes(e.quant)
            let t = try traits(ek_type(UInt32(e.type)))
            let xb = vdt == EK_Q8_0 ? 34 : 36
            var xq = [UInt8](repeating: 0, count: n / 32 * xb)
            x.withUnsafeBufferPointer { src in xq.withUnsafeMutableBytes { try! traits(vdt).from_float!(src.baseAddress, $0.baseAddress, Int64(n)) } }
            var expected: Float = 0
            for b in 0..<(n / 32) {
                let wb = b * e.typeSize, yb = b * xb
                let dw = ek_fp16_to_fp32(w.uint16(at: wb)), dy = ek_fp16_to_fp32(xq.uint16(at: yb))
                let yq = { (j: Int) in Int(Int8(bitPattern: xq[yb + xb - 32 + j])) }
                var isum = 0
                switch name {
                case "q4_0":
                    for j in 0..<16 { isum += (Int(w[wb + 2 + j] & 15) - 8) * yq(j) + (Int(w[wb + 2 + j] >> 4) - 8) * yq(j + 16) }
                    expected += Float(isum) * dw * dy
                case "q8_0":
                    for j in 0..<32 { isum += Int(Int8(bitPattern: w[wb + 2 + j])) * yq(j) }
                    expected += Float(isum) * (dw * dy)
                default:
                    for j in 0..<16 { isum += Int(w[wb + 4 + j] & 15) * yq(j) + Int(w[wb + 4 + j] >> 4) * yq(j + 16) }
                    let m = ek_fp16_to_fp32(w.uint16(at: wb + 2)), s = ek_fp16_to_fp32(xq.uint16(at: yb + 2))
                    let scaled = (dw * dy) * Float(isum)
                    expected += scaled + m * s
                }
            }
            let got = w.withUnsafeBytes { wp in xq.withUnsafeBytes { t.vec_dot!(Int64(n), wp.baseAddress, $0.baseAddress) } }
            XCTAssertEqual(got.bitPattern, expected.bitPattern, "\(name): \(got) vs ggml-order \(expected)")
        }
    }
}
