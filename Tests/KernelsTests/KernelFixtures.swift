import CKernels
import Foundation
import XCTest

/// The fixtures written by Tests/Scripts/make_quant_fixtures.py (gguf-py's reference quantizers).
struct KernelFixtures: Decodable {
    struct TypeEntry: Decodable {
        let name: String
        let type: Int32
        let blockSize: Int
        let typeSize: Int
        let rows: Int
        let cols: Int
        let input: String?
        let quant: String
        let dequant: String
        let source: String

        enum CodingKeys: String, CodingKey {
            case name, type, rows, cols, input, quant, dequant, source
            case blockSize = "block_size", typeSize = "type_size"
        }
    }

    struct Half: Decodable {
        let fromF32: String
        let fromF32Count: Int
        let toF32: String
        let toF32Count: Int

        enum CodingKeys: String, CodingKey {
            case fromF32 = "from_f32", fromF32Count = "from_f32_count", toF32 = "to_f32", toF32Count = "to_f32_count"
        }
    }

    let seed: Int
    let types: [TypeEntry]
    let half: Half

    static let directory: URL = {
        guard let url = Bundle.module.url(forResource: "Fixtures", withExtension: nil) else {
            fatalError("KernelsTests fixtures are missing from the test bundle")
        }
        return url
    }()

    static func load() throws -> KernelFixtures {
        try JSONDecoder().decode(KernelFixtures.self, from: Data(contentsOf: directory.appendingPathComponent("index.json")))
    }

    static func bytes(_ name: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: directory.appendingPathComponent(name)))
    }

    static func floats(_ name: String) throws -> [Float] {
        let raw = try bytes(name)
        precondition(raw.count % 4 == 0)
        return (0..<raw.count / 4).map { i in
            Float(bitPattern: UInt32(raw[4 * i]) | UInt32(raw[4 * i + 1]) << 8 | UInt32(raw[4 * i + 2]) << 16 | UInt32(raw[4 * i + 3]) << 24)
        }
    }

    func entry(_ name: String, file: StaticString = #filePath, line: UInt = #line) throws -> TypeEntry {
        try XCTUnwrap(types.first { $0.name == name }, "no fixture for \(name)", file: file, line: line)
    }
}

/// Deterministic test inputs (SplitMix64), so failures reproduce.
struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    mutating func unit() -> Float { Float(next() >> 40) * 0x1p-24 }

    /// Approximately normal (sum of uniforms), mean 0, unit variance.
    mutating func gaussian() -> Float { (0..<12).reduce(Float(0)) { acc, _ in acc + unit() } - 6 }
}

/// Distance in units in the last place between two finite floats (0 when bit-identical or ±0).
func ulpDistance(_ a: Float, _ b: Float) -> UInt32 {
    func ordered(_ x: Float) -> Int64 {
        let bits = Int64(x.bitPattern & 0x7FFF_FFFF)
        return x.sign == .minus ? -bits : bits
    }
    return UInt32(min(abs(ordered(a) - ordered(b)), Int64(UInt32.max)))
}

func traits(_ type: ek_type, file: StaticString = #filePath, line: UInt = #line) throws -> ek_type_traits {
    try XCTUnwrap(ek_traits_generic(Int32(type.rawValue)), "no traits for type \(type.rawValue)", file: file, line: line).pointee
}

extension Array where Element == UInt8 {
    func uint16(at offset: Int) -> UInt16 { UInt16(self[offset]) | UInt16(self[offset + 1]) << 8 }
    func float32(at offset: Int) -> Float {
        Float(bitPattern: UInt32(self[offset]) | UInt32(self[offset + 1]) << 8 | UInt32(self[offset + 2]) << 16 | UInt32(self[offset + 3]) << 24)
    }
    func int16(at offset: Int) -> Int16 { Int16(bitPattern: uint16(at: offset)) }
}

/// 10^x in Float (for spreading test magnitudes over decades).
func pow10(_ x: Float) -> Float { Float(Foundation.pow(10.0, Double(x))) }
