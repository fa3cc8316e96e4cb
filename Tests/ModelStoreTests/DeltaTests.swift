#if canImport(Glibc)
import Glibc
#endif
import Foundation
import XCTest
@testable import ModelStore
import TestSupport

extension TemporaryDirectoryTestCase {
    /// The synthetic llama of `seed`, optionally with another `general.name`, a chat template,
    /// and the bytes of one tensor perturbed (a re-quantized layer, in miniature).
    func variant(seed: UInt64 = 7, name: String? = nil, template: String? = nil, perturb: String? = nil) -> [UInt8] {
        var b = SyntheticModel(architecture: "llama", seed: seed).builder()
        if let name, let i = b.kvs.firstIndex(where: { $0.0 == "general.name" }) { b.kvs[i].1 = .string(name) }
        if let template { b.add("tokenizer.chat_template", .string(template)) }
        if let perturb, let i = b.tensors.firstIndex(where: { $0.name == perturb }) {
            for j in stride(from: 0, to: b.tensors[i].data.count, by: 16) { b.tensors[i].data[j] ^= 0x5A }
        }
        return b.build()
    }
}

/// `Delta.make` and `Delta.apply` on their own.
final class DeltaTests: TemporaryDirectoryTestCase {
    func testDiffThenApplyRebuildsTheNewModel() throws {
        let v1 = try write(variant(), to: "v1.gguf")
        let v2 = try write(variant(name: "synthetic llama v2", perturb: "blk.0.attn_norm.weight"), to: "v2.gguf")
        let out = dir.appendingPathComponent("out")
        let made = try Delta.make(old: v1, new: v2, outDir: out, name: "m")
        let d = made.descriptor
        XCTAssertEqual(d.frames, 1, "a small model is one frame")
        XCTAssertEqual(d.baseSHA256, try sha256sum(v1))
        XCTAssertEqual(d.targetSHA256, try sha256sum(v2))
        XCTAssertEqual(d.sha256, try sha256sum(made.patch.path))
        XCTAssertEqual(d.size, UInt64(try read(made.patch.path).count))
        XCTAssertEqual(made.patch.lastPathComponent, "m-\(d.baseSHA256.prefix(12))-to-\(d.targetSHA256.prefix(12)).patch")

        let rebuilt = dir.appendingPathComponent("rebuilt.gguf")
        XCTAssertEqual(try Delta.apply(patch: made.patch.path, base: v1, to: rebuilt), d.targetSHA256)
        XCTAssertEqual(try read(rebuilt.path), try read(v2), "the rebuilt model is byte-identical")

        // A small change costs a small patch: compare with the full archive of v2.
        let packed = try Store.pack(gguf: v2, name: "m", version: 2, outDir: dir.appendingPathComponent("packs"))
        XCTAssertLessThan(d.size * 20, packed.descriptor.archiveSize, "patch \(d.size) B vs archive \(packed.descriptor.archiveSize) B")

        // Archives as inputs are decompressed first and give the same patch.
        let packed1 = try Store.pack(gguf: v1, name: "m", version: 1, outDir: dir.appendingPathComponent("packs"))
        let fromArchives = try Delta.make(old: packed1.archive.path, new: packed.archive.path, outDir: dir.appendingPathComponent("out2"))
        XCTAssertEqual(try read(fromArchives.patch.path), try read(made.patch.path))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.appendingPathComponent("out2").path).sorted(),
                       [fromArchives.patch.lastPathComponent, fromArchives.descriptorURL.lastPathComponent].sorted(),
                       "no scratch file is left behind")
    }

    func testWrongBaseIsRefusedNamingBothHashes() throws {
        let v1 = try write(variant(), to: "v1.gguf")
        let v2 = try write(variant(perturb: "output_norm.weight"), to: "v2.gguf")
        let other = try write(variant(seed: 99), to: "other.gguf")
        let made = try Delta.make(old: v1, new: v2, outDir: dir)
        let output = dir.appendingPathComponent("rebuilt.gguf")
        let error = thrownError { try Delta.apply(patch: made.patch.path, base: other, to: output) }
        XCTAssertEqual(error as? DeltaError, .baseMismatch(patchBase: try sha256sum(v1), base: other, baseSHA256: try sha256sum(other)))
        XCTAssertTrue("\(error!)".hasPrefix("patch base is \(try sha256sum(v1)), \(other) is "), "\(error!)")
        XCTAssertFalse(FS.exists(output))
    }

    /// A forced small chunk and window: several frames, each within its window, rebuilding a model
    /// whose metadata grew (so every tensor moved) and one of whose tensors changed.
    func testChunkedDiffRoundTrips() throws {
        let v1 = try write(variant(), to: "v1.gguf")
        let v2 = try write(variant(template: String(repeating: "{{ message }}", count: 40), perturb: "blk.1.ffn_up.weight"), to: "v2.gguf")
        let made = try Delta.make(old: v1, new: v2, outDir: dir, options: DeltaOptions(maxChunk: 48 << 10, maxWindowLog: 17))
        let header = try DeltaHeader.read(OpenFile.reading(made.patch.path))
        XCTAssertGreaterThan(header.frames.count, 4)
        XCTAssertEqual(header.frames.count, made.descriptor.frames)
        XCTAssertLessThanOrEqual(header.windowLog, 17)
        XCTAssertEqual(header.frames.reduce(0) { $0 + $1.targetLength }, UInt64(try read(v2).count))
        for f in header.frames {
            XCTAssertLessThanOrEqual(f.targetLength, 48 << 10)
            XCTAssertLessThanOrEqual(f.prefixLength + f.targetLength, 1 << 17)
            XCTAssertGreaterThan(f.prefixLength, 0)
        }
        let rebuilt = dir.appendingPathComponent("rebuilt.gguf")
        try Delta.apply(patch: made.patch.path, base: v1, to: rebuilt)
        XCTAssertEqual(try read(rebuilt.path), try read(v2))
        XCTAssertLessThan(made.descriptor.size * 4, UInt64(try read(v2).count), "the shifted tensors were still found in the base")
    }

    func testDamagedPatchesAreRefused() throws {
        let v1 = try write(variant(), to: "v1.gguf")
        let v2 = try write(variant(perturb: "blk.0.ffn_down.weight"), to: "v2.gguf")
        let made = try Delta.make(old: v1, new: v2, outDir: dir)
        let bytes = try read(made.patch.path)
        let headerSize = DeltaHeader.fixedPayload + DeltaHeader.entrySize + 8
        func attempt(_ patch: [UInt8]) -> Error? {
            let p = dir.appendingPathComponent("bad-\(UUID().uuidString).patch").path
            try? Data(patch).write(to: URL(fileURLWithPath: p))
            return thrownError { try Delta.apply(patch: p, base: v1, to: dir.appendingPathComponent("out-\(UUID().uuidString)")) }
        }
        let path = { (e: Error?) -> String in if case let .malformed(p, _)? = e as? DeltaError { p } else { "" } }
        let truncated = attempt(Array(bytes.dropLast(5)))
        XCTAssertTrue("\(truncated!)".contains("runs past the end of the file"), "\(truncated!)")
        let trailing = attempt(bytes + [0])
        XCTAssertEqual(trailing as? DeltaError, .malformed(path: path(trailing), reason: "1 bytes follow the last frame"))
        let short = attempt(Array(bytes[..<4]))
        guard case .notAPatch? = short as? DeltaError else { return XCTFail("\(String(describing: short))") }

        var flipped = bytes
        flipped[headerSize + (bytes.count - headerSize) / 2] ^= 0x10
        guard case let .frame(index, _)? = attempt(flipped) as? DeltaError else { return XCTFail("\(String(describing: attempt(flipped)))") }
        XCTAssertEqual(index, 0)

        // A header claiming a prefix outside the base, or more frames than its size holds.
        var outside = bytes
        outside.replaceSubrange(8 + DeltaHeader.fixedPayload + 16..<8 + DeltaHeader.fixedPayload + 24,
                                with: withUnsafeBytes(of: UInt64(1 << 40).littleEndian, Array.init))
        XCTAssertTrue("\(attempt(outside)!)".contains("prefix lies outside the base"))
        var many = bytes
        many.replaceSubrange(8 + 92..<8 + 96, with: withUnsafeBytes(of: UInt32(4096).littleEndian, Array.init))
        XCTAssertTrue("\(attempt(many)!)".contains("do not fit"))
    }

    func testPlanKeepsEveryWindowUnderTwoGiB() {
        let gib: UInt64 = 1 << 30
        let frames = DeltaHeader.plan(baseSize: 5 * gib, targetSize: 5 * gib + 12345, maxChunk: gib, maxWindowLog: 31)
        XCTAssertEqual(frames.count, 6)
        XCTAssertEqual(frames.reduce(0) { $0 + $1.targetLength }, 5 * gib + 12345)
        var start: UInt64 = 0
        for f in frames {
            XCTAssertLessThanOrEqual(f.targetLength, gib)
            XCTAssertLessThanOrEqual(f.prefixLength + f.targetLength, 2 * gib)
            XCTAssertLessThanOrEqual(f.prefixOffset + f.prefixLength, 5 * gib)
            XCTAssertLessThanOrEqual(DeltaHeader.windowLog(f), 31)
            // The prefix is centred on the chunk's position.
            XCTAssertLessThanOrEqual(f.prefixOffset, start)
            XCTAssertGreaterThanOrEqual(f.prefixOffset + f.prefixLength, min(start + f.targetLength, 5 * gib))
            start += f.targetLength
        }
        let small = DeltaHeader.plan(baseSize: 100 << 20, targetSize: 101 << 20, maxChunk: gib, maxWindowLog: 31)
        XCTAssertEqual(small, [.init(frameSize: 0, targetLength: 101 << 20, prefixOffset: 0, prefixLength: 100 << 20)])
        XCTAssertEqual(DeltaHeader.windowLog(small[0]), 28)
    }
}
