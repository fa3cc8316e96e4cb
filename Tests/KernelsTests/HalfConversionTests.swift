import CKernels
import XCTest

/// fp16/bf16 conversions against numpy (fp16) and gguf-py (bf16, which mirrors ggml) on edge values.
final class HalfConversionTests: XCTestCase {
    private func isHalfNaN(_ h: UInt16) -> Bool { h & 0x7C00 == 0x7C00 && h & 0x03FF != 0 }

    func testFloatToHalfAndBF16MatchReferences() throws {
        let fx = try KernelFixtures.load()
        let raw = try KernelFixtures.bytes(fx.half.fromF32)
        XCTAssertEqual(raw.count, 8 * fx.half.fromF32Count)
        var nans = 0
        for i in 0..<fx.half.fromF32Count {
            let bits = UInt32(raw.uint16(at: 8 * i)) | UInt32(raw.uint16(at: 8 * i + 2)) << 16
            let f = Float(bitPattern: bits)
            let h = raw.uint16(at: 8 * i + 4), b = raw.uint16(at: 8 * i + 6)
            let gotH = ek_fp32_to_fp16(f)
            if f.isNaN {
                nans += 1
                // numpy keeps a signalling payload; we always return a quiet nan. Both must be nan, same sign.
                XCTAssertTrue(isHalfNaN(gotH) && gotH & 0x0200 != 0 && gotH & 0x8000 == h & 0x8000, "nan \(String(bits, radix: 16)) -> \(String(gotH, radix: 16))")
            } else {
                XCTAssertEqual(gotH, h, "f16 of \(f) (0x\(String(bits, radix: 16)))")
            }
            XCTAssertEqual(ek_fp32_to_bf16(f), b, "bf16 of \(f) (0x\(String(bits, radix: 16)))")
        }
        XCTAssertGreaterThanOrEqual(nans, 5)
    }

    func testHalfToFloatMatchesNumpy() throws {
        let fx = try KernelFixtures.load()
        let raw = try KernelFixtures.bytes(fx.half.toF32)
        XCTAssertEqual(raw.count, 8 * fx.half.toF32Count)
        for i in 0..<fx.half.toF32Count {
            let h = raw.uint16(at: 8 * i)
            let expected = UInt32(raw.uint16(at: 8 * i + 4)) | UInt32(raw.uint16(at: 8 * i + 6)) << 16
            let got = ek_fp16_to_fp32(h)
            if isHalfNaN(h) {
                XCTAssertTrue(got.isNaN && got.sign == Float(bitPattern: expected).sign, "0x\(String(h, radix: 16))")
            } else {
                XCTAssertEqual(got.bitPattern, expected, "0x\(String(h, radix: 16))")
            }
        }
    }

    /// Every non-nan half survives half -> float -> half, and every bf16 widens by a plain shift.
    func testExhaustiveRoundTrips() {
        for h in 0...UInt16.max {
            let f = ek_fp16_to_fp32(h)
            if isHalfNaN(h) {
                XCTAssertTrue(f.isNaN)
                XCTAssertTrue(isHalfNaN(ek_fp32_to_fp16(f)))
            } else if ek_fp32_to_fp16(f) != h {
                XCTFail("half 0x\(String(h, radix: 16)) -> \(f) -> 0x\(String(ek_fp32_to_fp16(f), radix: 16))")
            }
            XCTAssertEqual(ek_bf16_to_fp32(h).bitPattern, UInt32(h) << 16)
            if !ek_bf16_to_fp32(h).isNaN { XCTAssertEqual(ek_fp32_to_bf16(ek_bf16_to_fp32(h)), h) }
        }
    }

    #if !(os(macOS) && arch(x86_64))
    /// Swift's Float16 conversions are IEEE round-to-nearest-even: compare every half and a million
    /// random float bit patterns.
    func testMatchesSwiftFloat16() {
        for h in 0...UInt16.max where !isHalfNaN(h) {
            XCTAssertEqual(ek_fp16_to_fp32(h).bitPattern, Float(Float16(bitPattern: h)).bitPattern, "0x\(String(h, radix: 16))")
        }
        var rng = SplitMix64(seed: 99)
        var mismatches = 0
        for i in 0..<1_000_000 {
            let r = rng.next()
            // Half the samples in or near the f16 range (exponents 100..150), half anywhere.
            var bits = UInt32(truncatingIfNeeded: r)
            if i % 2 == 0 { bits = (bits & 0x807F_FFFF) | (UInt32(100 + (r >> 32) % 51) << 23) }
            let f = Float(bitPattern: bits)
            if f.isNaN { continue }
            if ek_fp32_to_fp16(f) != Float16(f).bitPattern { mismatches += 1; if mismatches < 5 { XCTFail("\(f): 0x\(String(ek_fp32_to_fp16(f), radix: 16)) vs 0x\(String(Float16(f).bitPattern, radix: 16))") } }
        }
        XCTAssertEqual(mismatches, 0)
    }
    #endif

    func testRowConversionsMatchScalar() {
        var rng = SplitMix64(seed: 5)
        let x = (0..<1003).map { _ in rng.gaussian() * pow10(rng.unit() * 12 - 8) } + [.infinity, -.infinity, 65519, 65520, -0.0]
        var h = [UInt16](repeating: 0, count: x.count)
        ek_fp32_to_fp16_row(x, &h, Int64(x.count))
        XCTAssertEqual(h, x.map { ek_fp32_to_fp16($0) })
        var back = [Float](repeating: .nan, count: x.count)
        ek_fp16_to_fp32_row(h, &back, Int64(h.count))
        XCTAssertEqual(back.map { $0.bitPattern }, h.map { ek_fp16_to_fp32($0).bitPattern })
        XCTAssertEqual(h[h.count - 5..<h.count].map { $0 }, [0x7C00, 0xFC00, 0x7BFF, 0x7C00, 0x8000])
    }
}
