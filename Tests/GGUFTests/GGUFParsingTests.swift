import XCTest
import GGUF
import TestSupport

/// Well-formed files: every value type, nested arrays, both versions, alignment, tensor views.
final class GGUFParsingTests: XCTestCase {
    func sample(version: UInt32 = 3, alignment: Int = 32) -> GGUFBuilder {
        var b = GGUFBuilder()
        b.version = version
        b.alignment = alignment
        b.add("general.architecture", .string("llama"))
        if alignment != 32 { b.add("general.alignment", .u32(UInt32(alignment))) }
        b.add("u8", .u8(200)); b.add("i8", .i8(-5)); b.add("u16", .u16(60000)); b.add("i16", .i16(-30000))
        b.add("u32", .u32(4_000_000_000)); b.add("i32", .i32(-2_000_000_000))
        b.add("u64", .u64(1 << 40)); b.add("i64", .i64(-(1 << 40)))
        b.add("f32", .f32(1.5)); b.add("f64", .f64(-2.25)); b.add("yes", .bool(true))
        b.add("text", .string("héllo ✓"))
        b.add("names", .array(.string, [.string("a"), .string(""), .string("ccc")]))
        b.add("nested", .array(.array, [.array(.int32, [.i32(1), .i32(2)]), .array(.int32, [])]))
        b.add(.init(name: "w", type: .f32, shape: [4, 2], data: f32Bytes([1, 2, 3, 4, 5, 6, 7, 8])))
        b.add(.init(name: "h", type: .f16, shape: [16], data: [UInt8](repeating: 0, count: 32)))
        b.add(.init(name: "q", type: .q8_0, shape: [32, 3], data: [UInt8](repeating: 1, count: 34 * 3)))
        return b
    }

    func testEveryValueTypeRoundTrips() throws {
        for version: UInt32 in [2, 3] {
            let f = try GGUFFile(path: sample(version: version).write())
            XCTAssertEqual(f.version, version)
            let m = f.metadata
            XCTAssertEqual(m["u8"], .uint8(200)); XCTAssertEqual(m["i8"], .int8(-5))
            XCTAssertEqual(m["u16"], .uint16(60000)); XCTAssertEqual(m["i16"], .int16(-30000))
            XCTAssertEqual(m["u32"], .uint32(4_000_000_000)); XCTAssertEqual(m["i32"], .int32(-2_000_000_000))
            XCTAssertEqual(m["u64"], .uint64(1 << 40)); XCTAssertEqual(m["i64"], .int64(-(1 << 40)))
            XCTAssertEqual(m["f32"], .float32(1.5)); XCTAssertEqual(m["f64"], .float64(-2.25))
            XCTAssertEqual(try m.bool("yes"), true)
            XCTAssertEqual(try m.string("text"), "héllo ✓")
            XCTAssertEqual(try m.stringArray("names"), ["a", "", "ccc"])
            XCTAssertEqual(m["nested"], .array(.array, [.array(.int32, [.int32(1), .int32(2)]), .array(.int32, [])]))
            XCTAssertEqual(m.keys.first, "general.architecture")
        }
    }

    func testTensorViewsPointIntoTheMapping() throws {
        let f = try GGUFFile(path: sample().write())
        let w = try XCTUnwrap(f.tensor("w"))
        XCTAssertEqual(w.type, .f32)
        XCTAssertEqual(w.shape, [4, 2])
        XCTAssertEqual(w.byteCount, 32)
        XCTAssertEqual(w.rowCount, 2)
        XCTAssertEqual(w.data, f.file.bytes.baseAddress! + w.fileOffset, "a view is a pointer into the mapping, not a copy")
        XCTAssertEqual(Array(UnsafeBufferPointer(start: w.data.assumingMemoryBound(to: Float.self), count: 8)), [1, 2, 3, 4, 5, 6, 7, 8])
        XCTAssertEqual(f.dataOffset % 32, 0)
        XCTAssertEqual(try XCTUnwrap(f.tensor("q")).byteCount, 102)
        XCTAssertNil(f.tensor("absent"))
        XCTAssertThrowsError(try f.requireTensor("absent")) { XCTAssertEqual($0 as? GGUFError, .missingTensor("absent")) }
    }

    func testCustomAlignmentPlacesDataAndTensors() throws {
        let f = try GGUFFile(path: sample(alignment: 64).write())
        XCTAssertEqual(f.alignment, 64)
        XCTAssertEqual(f.dataOffset % 64, 0)
        for t in f.tensorInfos { XCTAssertEqual(t.offset % 64, 0, t.name) }
    }

    func testRealModelHeaders() throws {
        for (file, arch, tensors, dataOffset) in [("qwen2.5-coder-0.5b-instruct.gguf", "qwen2", 291, 5_947_776), ("SmolLM2-135M-Instruct.Q4_1.gguf", "llama", 272, 1_785_664)] {
            let (path, reason) = TestPaths.realModel(file)
            guard let path else { print("skipping \(file): \(reason)"); continue }
            let f = try GGUFFile(path: path)
            XCTAssertEqual(f.version, 3)
            XCTAssertEqual(f.architecture, arch)
            XCTAssertEqual(f.tensorInfos.count, tensors, file)
            XCTAssertEqual(f.dataOffset, dataOffset, file)
        }
    }
}
