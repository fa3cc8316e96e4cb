import CKernels
import XCTest

final class TraitsTests: XCTestCase {
    private struct Expected {
        let type: ek_type, name: String, blockSize: Int32, typeSize: Int32, vecDotType: ek_type
        let hasToFloat: Bool, hasFromFloat: Bool, hasVecDot: Bool
    }

    // Block sizes and bytes per block as in GGUF; vec_dot pairings as in llama.cpp's ggml-cpu.
    private let table: [Expected] = [
        Expected(type: EK_F32, name: "f32", blockSize: 1, typeSize: 4, vecDotType: EK_F32, hasToFloat: true, hasFromFloat: true, hasVecDot: true),
        Expected(type: EK_F16, name: "f16", blockSize: 1, typeSize: 2, vecDotType: EK_F16, hasToFloat: true, hasFromFloat: true, hasVecDot: true),
        Expected(type: EK_BF16, name: "bf16", blockSize: 1, typeSize: 2, vecDotType: EK_BF16, hasToFloat: true, hasFromFloat: true, hasVecDot: true),
        Expected(type: EK_Q4_0, name: "q4_0", blockSize: 32, typeSize: 18, vecDotType: EK_Q8_0, hasToFloat: true, hasFromFloat: false, hasVecDot: true),
        Expected(type: EK_Q4_1, name: "q4_1", blockSize: 32, typeSize: 20, vecDotType: EK_Q8_1, hasToFloat: true, hasFromFloat: false, hasVecDot: true),
        Expected(type: EK_Q5_0, name: "q5_0", blockSize: 32, typeSize: 22, vecDotType: EK_Q8_0, hasToFloat: true, hasFromFloat: false, hasVecDot: true),
        Expected(type: EK_Q5_1, name: "q5_1", blockSize: 32, typeSize: 24, vecDotType: EK_Q8_1, hasToFloat: true, hasFromFloat: false, hasVecDot: true),
        Expected(type: EK_Q8_0, name: "q8_0", blockSize: 32, typeSize: 34, vecDotType: EK_Q8_0, hasToFloat: true, hasFromFloat: true, hasVecDot: true),
        Expected(type: EK_Q8_1, name: "q8_1", blockSize: 32, typeSize: 36, vecDotType: EK_Q8_1, hasToFloat: false, hasFromFloat: true, hasVecDot: false),
        Expected(type: EK_Q2_K, name: "q2_K", blockSize: 256, typeSize: 84, vecDotType: EK_Q8_K, hasToFloat: true, hasFromFloat: false, hasVecDot: true),
        Expected(type: EK_Q3_K, name: "q3_K", blockSize: 256, typeSize: 110, vecDotType: EK_Q8_K, hasToFloat: true, hasFromFloat: false, hasVecDot: true),
        Expected(type: EK_Q4_K, name: "q4_K", blockSize: 256, typeSize: 144, vecDotType: EK_Q8_K, hasToFloat: true, hasFromFloat: false, hasVecDot: true),
        Expected(type: EK_Q5_K, name: "q5_K", blockSize: 256, typeSize: 176, vecDotType: EK_Q8_K, hasToFloat: true, hasFromFloat: false, hasVecDot: true),
        Expected(type: EK_Q6_K, name: "q6_K", blockSize: 256, typeSize: 210, vecDotType: EK_Q8_K, hasToFloat: true, hasFromFloat: false, hasVecDot: true),
        Expected(type: EK_Q8_K, name: "q8_K", blockSize: 256, typeSize: 292, vecDotType: EK_Q8_K, hasToFloat: false, hasFromFloat: true, hasVecDot: false),
    ]

    func testKnownTypes() throws {
        for e in table {
            let id = Int32(e.type.rawValue)
            let t = try XCTUnwrap(ek_traits_generic(id), e.name).pointee
            XCTAssertEqual(String(cString: t.name), e.name)
            XCTAssertEqual(t.block_size, e.blockSize, e.name)
            XCTAssertEqual(t.type_size, e.typeSize, e.name)
            XCTAssertEqual(t.vec_dot_type, e.vecDotType, e.name)
            XCTAssertEqual(t.to_float != nil, e.hasToFloat, e.name)
            XCTAssertEqual(t.from_float != nil, e.hasFromFloat, e.name)
            XCTAssertEqual(t.vec_dot != nil, e.hasVecDot, e.name)
            XCTAssertNotNil(ek_traits(id), e.name)
            // Every vec_dot_type can quantize activations.
            XCTAssertNotNil(try XCTUnwrap(ek_traits_generic(Int32(e.vecDotType.rawValue))).pointee.from_float, e.name)
        }
    }

    func testUnknownTypesHaveNoTraits() {
        let known = Set(table.map { Int32($0.type.rawValue) })
        for id: Int32 in [4, 5, 99, -1, 64, 65, 1000, Int32.max, Int32.min] {
            XCTAssertNil(ek_traits(id), "type \(id)")
            XCTAssertNil(ek_traits_generic(id), "type \(id)")
            XCTAssertEqual(ek_row_size(id, 256), 0, "type \(id)")
        }
        for id in Int32(0)..<Int32(EK_TYPE_LIMIT.rawValue) where !known.contains(id) {
            XCTAssertNil(ek_traits(id), "type \(id)")   // e.g. the IQ types: not supported by the engine
        }
    }

    func testRowSize() {
        XCTAssertEqual(ek_row_size(Int32(EK_F32.rawValue), 7), 28)
        XCTAssertEqual(ek_row_size(Int32(EK_F16.rawValue), 3), 6)
        XCTAssertEqual(ek_row_size(Int32(EK_BF16.rawValue), 10), 20)
        XCTAssertEqual(ek_row_size(Int32(EK_Q4_0.rawValue), 4096), 4096 / 32 * 18)
        XCTAssertEqual(ek_row_size(Int32(EK_Q8_1.rawValue), 64), 72)
        XCTAssertEqual(ek_row_size(Int32(EK_Q4_K.rawValue), 4096), 16 * 144)
        XCTAssertEqual(ek_row_size(Int32(EK_Q6_K.rawValue), 256), 210)
        XCTAssertEqual(ek_row_size(Int32(EK_Q8_K.rawValue), 512), 584)
        XCTAssertEqual(ek_row_size(Int32(EK_Q8_0.rawValue), 0), 0)
        for e in table {
            XCTAssertEqual(ek_row_size(Int32(e.type.rawValue), Int64(e.blockSize) * 11), 11 * Int(e.typeSize), e.name)
        }
    }

    /// The C structs must be byte-exact with GGUF blocks (sizes and field offsets).
    func testBlockLayoutsMatchGGUF() {
        XCTAssertEqual(MemoryLayout<ek_block_q4_0>.size, 18)
        XCTAssertEqual(MemoryLayout<ek_block_q4_0>.offset(of: \.qs), 2)
        XCTAssertEqual(MemoryLayout<ek_block_q4_1>.offset(of: \.qs), 4)
        XCTAssertEqual(MemoryLayout<ek_block_q5_0>.size, 22)
        XCTAssertEqual(MemoryLayout<ek_block_q5_0>.offset(of: \.qh), 2)
        XCTAssertEqual(MemoryLayout<ek_block_q5_0>.offset(of: \.qs), 6)
        XCTAssertEqual(MemoryLayout<ek_block_q5_1>.offset(of: \.qh), 4)
        XCTAssertEqual(MemoryLayout<ek_block_q5_1>.offset(of: \.qs), 8)
        XCTAssertEqual(MemoryLayout<ek_block_q8_0>.size, 34)
        XCTAssertEqual(MemoryLayout<ek_block_q8_1>.size, 36)
        XCTAssertEqual(MemoryLayout<ek_block_q8_1>.offset(of: \.s), 2)
        XCTAssertEqual(MemoryLayout<ek_block_q2_K>.size, 84)
        XCTAssertEqual(MemoryLayout<ek_block_q2_K>.offset(of: \.qs), 16)
        XCTAssertEqual(MemoryLayout<ek_block_q2_K>.offset(of: \.d), 80)
        XCTAssertEqual(MemoryLayout<ek_block_q2_K>.offset(of: \.dmin), 82)
        XCTAssertEqual(MemoryLayout<ek_block_q3_K>.size, 110)
        XCTAssertEqual(MemoryLayout<ek_block_q3_K>.offset(of: \.qs), 32)
        XCTAssertEqual(MemoryLayout<ek_block_q3_K>.offset(of: \.scales), 96)
        XCTAssertEqual(MemoryLayout<ek_block_q3_K>.offset(of: \.d), 108)
        XCTAssertEqual(MemoryLayout<ek_block_q4_K>.size, 144)
        XCTAssertEqual(MemoryLayout<ek_block_q4_K>.offset(of: \.scales), 4)
        XCTAssertEqual(MemoryLayout<ek_block_q4_K>.offset(of: \.qs), 16)
        XCTAssertEqual(MemoryLayout<ek_block_q5_K>.size, 176)
        XCTAssertEqual(MemoryLayout<ek_block_q5_K>.offset(of: \.qh), 16)
        XCTAssertEqual(MemoryLayout<ek_block_q5_K>.offset(of: \.qs), 48)
        XCTAssertEqual(MemoryLayout<ek_block_q6_K>.size, 210)
        XCTAssertEqual(MemoryLayout<ek_block_q6_K>.offset(of: \.qh), 128)
        XCTAssertEqual(MemoryLayout<ek_block_q6_K>.offset(of: \.scales), 192)
        XCTAssertEqual(MemoryLayout<ek_block_q6_K>.offset(of: \.d), 208)
        XCTAssertEqual(MemoryLayout<ek_block_q8_K>.size, 292)
        XCTAssertEqual(MemoryLayout<ek_block_q8_K>.offset(of: \.qs), 4)
        XCTAssertEqual(MemoryLayout<ek_block_q8_K>.offset(of: \.bsums), 260)
    }

    private func address<T>(_ fn: T?) -> UnsafeRawPointer? { fn.map { unsafeBitCast($0, to: UnsafeRawPointer.self) } }

    func testDispatch() throws {
        let initial = ek_selected_variant()
        defer { XCTAssertTrue(ek_select_variant(initial)) }
        XCTAssertTrue(ek_variant_supported(initial))
        XCTAssertTrue(ek_variant_supported(EK_VARIANT_SCALAR))
        XCTAssertFalse(ek_variant_supported(ek_variant(rawValue: 9)))
        XCTAssertFalse(ek_select_variant(ek_variant(rawValue: 9)))
        XCTAssertEqual(String(cString: ek_variant_name(ek_variant(rawValue: 9))), "unknown")
        XCTAssertEqual([EK_VARIANT_SCALAR, EK_VARIANT_AVX2, EK_VARIANT_AVX512, EK_VARIANT_NEON].map { String(cString: ek_variant_name($0)) },
                       ["scalar", "avx2", "avx512", "neon"])
        #if arch(x86_64)
        XCTAssertFalse(ek_variant_supported(EK_VARIANT_NEON))
        #elseif arch(arm64)
        XCTAssertFalse(ek_variant_supported(EK_VARIANT_AVX2))
        XCTAssertFalse(ek_variant_supported(EK_VARIANT_AVX512))
        #endif

        for v in [EK_VARIANT_AVX2, EK_VARIANT_AVX512, EK_VARIANT_NEON, EK_VARIANT_SCALAR] {
            let before = ek_selected_variant()
            if ek_variant_supported(v) {
                XCTAssertTrue(ek_select_variant(v))
                XCTAssertEqual(ek_selected_variant(), v)
            } else {
                XCTAssertFalse(ek_select_variant(v), "\(v) is unsupported but was selected")
                XCTAssertEqual(ek_selected_variant(), before, "a refused selection changed the variant")
            }
        }

        // Forced to scalar, ek_traits hands out exactly the generic kernels.
        XCTAssertTrue(ek_select_variant(EK_VARIANT_SCALAR))
        XCTAssertEqual(ek_selected_variant(), EK_VARIANT_SCALAR)
        for e in table {
            let id = Int32(e.type.rawValue)
            let a = try XCTUnwrap(ek_traits(id)).pointee, g = try XCTUnwrap(ek_traits_generic(id)).pointee
            XCTAssertEqual(String(cString: a.name), String(cString: g.name))
            XCTAssertEqual(a.vec_dot_type, g.vec_dot_type)
            XCTAssertEqual(address(a.to_float), address(g.to_float), e.name)
            XCTAssertEqual(address(a.from_float), address(g.from_float), e.name)
            XCTAssertEqual(address(a.vec_dot), address(g.vec_dot), e.name)
        }
    }
}
