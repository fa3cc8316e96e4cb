import XCTest
import GGUF
import TestSupport

/// Each kind of malformed file is refused with the error that names its problem.
final class MalformedGGUFTests: XCTestCase {
    /// A small valid file the cases below break one field at a time.
    func valid() -> GGUFBuilder {
        var b = GGUFBuilder()
        b.add("general.architecture", .string("llama"))
        b.add("general.name", .string("tiny"))
        b.add(.init(name: "a", type: .f32, shape: [8], data: f32Bytes(Array(repeating: 1, count: 8))))
        b.add(.init(name: "b", type: .q4_0, shape: [32, 2], data: [UInt8](repeating: 0, count: 36)))
        return b
    }

    func refuse(_ bytes: [UInt8], _ name: String, file: StaticString = #filePath, line: UInt = #line,
                _ check: (GGUFError) -> Bool) throws {
        let path = try GGUFBuilder.writeTemporary(bytes, name: name)
        do {
            _ = try GGUFFile(path: path)
            XCTFail("\(name): the file was accepted", file: file, line: line)
        } catch let e as GGUFError {
            XCTAssertTrue(check(e), "\(name): wrong error: \(e)", file: file, line: line)
            XCTAssertFalse(e.description.isEmpty)
            print("refused \(name): \(e)")
        }
    }

    func refuse(_ b: GGUFBuilder, _ name: String, file: StaticString = #filePath, line: UInt = #line, _ check: (GGUFError) -> Bool) throws {
        try refuse(b.build(), name, file: file, line: line, check)
    }

    func testValidBaselineIsAccepted() throws {
        XCTAssertEqual(try GGUFFile(path: valid().write()).tensorInfos.count, 2)
    }

    func testBadMagic() throws {
        var b = valid(); b.magic = 0x4C4D_4747
        try refuse(b, "bad magic") { if case .badMagic(0x4C4D_4747) = $0 { true } else { false } }
    }

    func testUnsupportedVersion() throws {
        for v: UInt32 in [1, 4, 0xFFFF_FFFF] {
            var b = valid(); b.version = v
            try refuse(b, "version \(v)") { $0 == .unsupportedVersion(v) }
        }
    }

    func testCountsThatExceedTheFile() throws {
        var b = valid(); b.tensorCountOverride = UInt64.max
        try refuse(b, "tensor count overflow") { if case .countTooLarge(field: "tensor count", count: UInt64.max, _) = $0 { true } else { false } }
        b = valid(); b.tensorCountOverride = 1000
        try refuse(b, "tensor count past end") { if case .countTooLarge(field: "tensor count", count: 1000, _) = $0 { true } else { false } }
        b = valid(); b.kvCountOverride = 1 << 62
        try refuse(b, "kv count overflow") { if case .countTooLarge(field: "metadata KV count", _, _) = $0 { true } else { false } }
        b = valid(); b.kvCountOverride = 50
        try refuse(b, "kv count past end") {
            if case .countTooLarge(field: "metadata KV count", _, _) = $0 { return true }
            if case .truncated = $0 { return true }
            if case .unknownValueType = $0 { return true }  // the 3rd "key" is read from tensor infos
            return false
        }
    }

    func testStringLengthPastEndOfFile() throws {
        var b = valid()
        b.add("general.name2", .raw(type: GGUFValueType.string.rawValue, bytes: le(UInt64(1) << 40) + Array("abc".utf8)))
        try refuse(b, "string length") { if case .truncated(field: "general.name2", needed: 1 << 40, _) = $0 { true } else { false } }
    }

    func testArrayLengthPastEndOfFile() throws {
        var b = valid()
        b.add("list", .raw(type: GGUFValueType.array.rawValue, bytes: le(GGUFValueType.uint32.rawValue) + le(UInt64(1) << 50)))
        try refuse(b, "array length") { if case .countTooLarge(field: "array length of list", count: 1 << 50, _) = $0 { true } else { false } }
        b = valid()
        b.add("strings", .raw(type: GGUFValueType.array.rawValue, bytes: le(GGUFValueType.string.rawValue) + le(UInt64(3)) + le(UInt64(1) << 33)))
        try refuse(b, "string inside array") { if case .truncated(field: "strings", _, _) = $0 { true } else { false } }
    }

    func testUnknownValueTypes() throws {
        var b = valid()
        b.add("odd", .raw(type: 13, bytes: [0, 0, 0, 0]))
        try refuse(b, "unknown value type") { $0 == .unknownValueType(key: "odd", type: 13) }
        b = valid()
        b.add("odd", .raw(type: GGUFValueType.array.rawValue, bytes: le(UInt32(99)) + le(UInt64(1)) + [0, 0, 0, 0]))
        try refuse(b, "unknown array element type") { $0 == .unknownValueType(key: "odd", type: 99) }
    }

    func testScalarWithWrongTypeForKnownKey() throws {
        var b = valid(); b.add("general.alignment", .string("32"))
        try refuse(b, "alignment as string") { $0 == .wrongValueType(key: "general.alignment", expected: "uint32", found: "string") }
        b = valid(); b.add("llama.block_count", .f32(2))
        try refuse(b, "block_count as float") { if case .wrongValueType(key: "llama.block_count", _, found: "float32") = $0 { true } else { false } }
        b = valid(); b.add("llama.rope.freq_base", .string("1e4"))
        try refuse(b, "freq_base as string") { if case .wrongValueType(key: "llama.rope.freq_base", _, _) = $0 { true } else { false } }
        b = valid(); b.add("tokenizer.ggml.add_bos_token", .u8(1))
        try refuse(b, "add_bos as u8") { $0 == .wrongValueType(key: "tokenizer.ggml.add_bos_token", expected: "bool", found: "uint8") }
    }

    func testBadDimensions() throws {
        var b = valid(); b.tensors[0].shape = [0]
        try refuse(b, "zero dimension") { $0 == .badDimension(tensor: "a", index: 0, value: 0) }
        b = valid(); b.tensors[0].shape = [8, -1]
        try refuse(b, "negative dimension") { $0 == .badDimension(tensor: "a", index: 1, value: -1) }
        b = valid(); b.tensors[0].shape = [2, 2, 1, 1, 2]
        try refuse(b, "five dimensions") { $0 == .badDimensionCount(tensor: "a", count: 5) }
        b = valid(); b.tensors[0].shape = []
        try refuse(b, "no dimensions") { $0 == .badDimensionCount(tensor: "a", count: 0) }
    }

    func testElementCountOrByteSizeOverflow() throws {
        var b = valid(); b.tensors[0].shape = [1 << 32, 1 << 32]
        try refuse(b, "element count overflow") { $0 == .sizeOverflow(tensor: "a") }
        b = valid(); b.tensors[0].shape = [1 << 62, 1]
        try refuse(b, "byte size overflow") { $0 == .sizeOverflow(tensor: "a") }
    }

    func testUnknownTensorType() throws {
        var b = valid(); b.tensors[0].type = 4
        try refuse(b, "removed type 4") { $0 == .unknownTensorType(tensor: "a", type: 4) }
        b = valid(); b.tensors[0].type = 1000
        try refuse(b, "type 1000") { $0 == .unknownTensorType(tensor: "a", type: 1000) }
    }

    func testRowNotMultipleOfBlockSize() throws {
        var b = valid(); b.tensors[1].shape = [48, 2]
        try refuse(b, "row of 48 Q4_0") { $0 == .rowNotBlockMultiple(tensor: "b", rowLength: 48, blockSize: 32) }
    }

    func testOffsetsOutsideMisalignedOrOverlapping() throws {
        var b = valid(); b.tensors[1].offset = 1 << 20
        try refuse(b, "offset past the data") { if case .tensorOutOfBounds(tensor: "b", offset: 1 << 20, _, _) = $0 { true } else { false } }
        b = valid(); b.tensors[1].offset = UInt64.max - 31
        try refuse(b, "offset overflow") { if case .tensorOutOfBounds(tensor: "b", _, _, _) = $0 { true } else { false } }
        b = valid(); b.tensors[1].offset = 8
        try refuse(b, "misaligned") { $0 == .misalignedTensor(tensor: "b", offset: 8, alignment: 32) }
        b = valid()
        b.tensors[0].shape = [16]; b.tensors[0].data = f32Bytes(Array(repeating: 1, count: 16))  // a: bytes 0..<64
        b.add(.init(name: "c", type: .f32, shape: [8], data: f32Bytes(Array(repeating: 2, count: 8))))
        b.tensors[1].offset = 32                                                                  // b: bytes 32..<68
        try refuse(b, "overlap") { $0 == .overlappingTensors("a", "b") || $0 == .overlappingTensors("b", "a") }
    }

    func testDuplicateTensorNamesAndKeys() throws {
        var b = valid(); b.tensors[1].name = "a"
        try refuse(b, "duplicate tensor") { $0 == .duplicateTensor("a") }
        b = valid(); b.add("general.name", .string("again"))
        try refuse(b, "duplicate key") { $0 == .duplicateKey("general.name") }
    }

    func testBadAlignment() throws {
        for a: UInt32 in [0, 3, 48] {
            var b = valid(); b.add("general.alignment", .u32(a))
            try refuse(b, "alignment \(a)") { $0 == .badAlignment(UInt64(a)) }
        }
    }

    func testTruncatedByOneByte() throws {
        let bytes = valid().build()
        try refuse(Array(bytes.dropLast()), "truncated by one byte") { if case .tensorOutOfBounds(tensor: "b", _, _, _) = $0 { true } else { false } }
        // Truncated inside the header: every prefix is refused, none crashes.
        let header = try GGUFFile(path: GGUFBuilder.writeTemporary(bytes, name: "full")).dataOffset
        for cut in stride(from: 1, to: header, by: 7) {
            let path = try GGUFBuilder.writeTemporary(Array(bytes.prefix(cut)), name: "cut")
            XCTAssertThrowsError(try GGUFFile(path: path), "prefix of \(cut) bytes")
        }
    }

    func testDeepNestingIsRefused() throws {
        var payload: [UInt8] = []
        for _ in 0..<64 { payload += le(GGUFValueType.array.rawValue) + le(UInt64(1)) }
        payload += le(GGUFValueType.uint8.rawValue) + le(UInt64(0))
        var b = valid(); b.add("deep", .raw(type: GGUFValueType.array.rawValue, bytes: payload))
        try refuse(b, "nesting") { if case .countTooLarge(field: "array nesting depth of deep", _, _) = $0 { true } else { false } }
    }

    func testNotAFile() throws {
        XCTAssertThrowsError(try GGUFFile(path: "/nonexistent/model.gguf")) {
            guard case .cannotOpen(path: "/nonexistent/model.gguf", _) = $0 as? GGUFError else { return XCTFail("\($0)") }
        }
        XCTAssertThrowsError(try GGUFFile(path: "/tmp")) { guard case .cannotOpen = $0 as? GGUFError else { return XCTFail("\($0)") } }
    }
}

private func le<T: FixedWidthInteger>(_ v: T) -> [UInt8] { withUnsafeBytes(of: v.littleEndian) { Array($0) } }
