import CKernels
import XCTest

/// Every type's to_float against gguf-py's dequantized fixture floats.
final class DequantizeTests: XCTestCase {
    /// Exact (0 ulp): the generic kernels use gguf-py's operation order per element (e.g. (d*sc)*q - dmin*m)
    /// and never contract to FMA (generic.h sets FP_CONTRACT OFF), so every float must be bit-identical.
    static let dequantMaxUlp: UInt32 = 0

    private func check(_ name: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let fixtures = try KernelFixtures.load()
        let e = try fixtures.entry(name, file: file, line: line)
        let q = try KernelFixtures.bytes(e.quant)
        let expected = try KernelFixtures.floats(e.dequant)
        let t = try XCTUnwrap(ek_traits_generic(e.type), file: file, line: line).pointee
        XCTAssertEqual(Int(t.block_size), e.blockSize, file: file, line: line)
        XCTAssertEqual(Int(t.type_size), e.typeSize, file: file, line: line)
        let rowBytes = ek_row_size(e.type, Int64(e.cols))
        XCTAssertEqual(q.count, e.rows * rowBytes, file: file, line: line)
        XCTAssertEqual(expected.count, e.rows * e.cols, file: file, line: line)
        let toFloat = try XCTUnwrap(t.to_float, file: file, line: line)

        // All rows in one call, then row by row (so n is not always the whole buffer).
        var whole = [Float](repeating: .nan, count: expected.count)
        q.withUnsafeBytes { src in whole.withUnsafeMutableBufferPointer { toFloat(src.baseAddress, $0.baseAddress, Int64(expected.count)) } }
        var byRow = [Float](repeating: .nan, count: expected.count)
        for r in 0..<e.rows {
            q.withUnsafeBytes { src in
                byRow.withUnsafeMutableBufferPointer { dst in
                    toFloat(src.baseAddress! + r * rowBytes, dst.baseAddress! + r * e.cols, Int64(e.cols))
                }
            }
        }
        for (label, got) in [("whole", whole), ("by row", byRow)] {
            var mismatches = 0
            var first: Int?
            for i in expected.indices where !(got[i].isFinite && ulpDistance(got[i], expected[i]) <= Self.dequantMaxUlp) {
                mismatches += 1
                if first == nil { first = i }
            }
            if let i = first {
                XCTFail("\(name) \(label): \(mismatches) of \(expected.count) values differ; first at \(i) (block \(i / e.blockSize)): got \(got[i]), expected \(expected[i])",
                        file: file, line: line)
            }
        }
    }

    func testF32() throws { try check("f32") }
    func testF16() throws { try check("f16") }
    func testBF16() throws { try check("bf16") }
    func testQ4_0() throws { try check("q4_0") }
    func testQ4_1() throws { try check("q4_1") }
    func testQ5_0() throws { try check("q5_0") }
    func testQ5_1() throws { try check("q5_1") }
    func testQ8_0() throws { try check("q8_0") }
    func testQ2_K() throws { try check("q2_K") }
    func testQ3_K() throws { try check("q3_K") }
    func testQ4_K() throws { try check("q4_K") }
    func testQ5_K() throws { try check("q5_K") }
    func testQ6_K() throws { try check("q6_K") }

    func testFixturesCoverEveryWeightType() throws {
        let names = Set(try KernelFixtures.load().types.map(\.name))
        XCTAssertEqual(names, ["f32", "f16", "bf16", "q4_0", "q4_1", "q5_0", "q5_1", "q8_0", "q2_K", "q3_K", "q4_K", "q5_K", "q6_K"])
    }

    /// The fixture's special blocks really exercise the edge paths (an all-zero block decodes to zeros).
    func testAllZeroBlocksDecodeToZero() throws {
        for name in ["q4_0", "q8_0", "q2_K", "q3_K", "q4_K", "q5_K", "q6_K"] {
            let e = try KernelFixtures.load().entry(name)
            let expected = try KernelFixtures.floats(e.dequant)
            // 32-element types: block 1 of row 0 is all zero in the input; K types: super-block 0 is zero bytes.
            let block = e.blockSize == 32 ? 1 : 0
            let values = expected[(block * e.blockSize)..<((block + 1) * e.blockSize)]
            XCTAssertTrue(values.allSatisfy { $0 == 0 }, "\(name): the zero block is not zero in the fixture")
            let q = try KernelFixtures.bytes(e.quant)
            let t = try traits(ek_type(UInt32(e.type)))
            var out = [Float](repeating: .nan, count: e.blockSize)
            q.withUnsafeBytes { src in out.withUnsafeMutableBufferPointer { t.to_float!(src.baseAddress! + block * e.typeSize, $0.baseAddress, Int64(e.blockSize)) } }
            XCTAssertTrue(out.allSatisfy { $0 == 0 }, "\(name): the zero block decodes to \(out.prefix(4))…")
        }
    }
}
