import Foundation
import GGUF
import XCTest
@testable import ModelStore

/// The store's layout and life cycle: imports, versions, activation, rollback, removal, gc.
final class StoreTests: TemporaryDirectoryTestCase {
    var root: URL { dir.appendingPathComponent("store") }

    func store(keep: Int = 1, maxWindowLog: Int = 27, catalog: [CatalogEntry] = [],
               free: UInt64? = nil) throws -> Store {
        var space: (@Sendable (URL) throws -> UInt64)?
        if let free { space = { @Sendable _ in free } }
        return try Store(root: root, options: .init(keep: keep, maxWindowLog: maxWindowLog, catalog: catalog, freeSpace: space))
    }

    func stored(_ relative: String) -> String { root.appendingPathComponent(relative).path }

    func put(_ bytes: [UInt8], _ relative: String) throws { try Data(bytes).write(to: root.appendingPathComponent(relative)) }

    /// Nothing left being written, and no version waiting in the staging area.
    func assertStagingEmpty(file: StaticString = #filePath, line: UInt = #line) throws {
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: stored("staging/tmp")), [], file: file, line: line)
        XCTAssertEqual((try? FileManager.default.contentsOfDirectory(atPath: stored("staging/ready"))) ?? [], [], file: file, line: line)
    }

    func testImportGGUFWritesArchiveManifestAndReadOnlyActiveModel() throws {
        let src = try gguf("Tiny-Llama.gguf")
        let s = try store()
        XCTAssertEqual(try String(contentsOfFile: stored("layout"), encoding: .utf8), "1\n")
        let m = try s.importFile(src)

        XCTAssertEqual(m.name, "tiny-llama")
        XCTAssertEqual(m.version, 1)
        XCTAssertEqual(m.architecture, "llama")
        XCTAssertEqual(m.quantization, "F32")
        XCTAssertEqual(m.ggufSHA256, try sha256sum(src))
        XCTAssertEqual(m.ggufSize, UInt64(try read(src).count))
        let blob = stored("blobs/sha256/\(m.archiveSHA256)")
        XCTAssertEqual(try sha256sum(blob), m.archiveSHA256)
        XCTAssertEqual(UInt64(try read(blob).count), m.archiveSize)
        XCTAssertEqual(try s.manifest("tiny-llama", 1), m)

        let model = stored("models/tiny-llama/1.gguf")
        XCTAssertEqual(try s.activePath("tiny-llama").path, model)
        XCTAssertEqual(try read(model), try read(src))
        XCTAssertEqual(try mode(model), 0o444)
        XCTAssertEqual(try String(contentsOfFile: stored("active/tiny-llama"), encoding: .utf8), "1\n")
        XCTAssertNoThrow(try GGUFFile(path: model))
        XCTAssertEqual(try s.list(), [StoreEntry(name: "tiny-llama", version: 1, active: true, sha256: m.ggufSHA256, size: m.ggufSize)])
        try assertStagingEmpty()
    }

    func testImportZstdArchiveKeepsItsBytesAndHashesTheGGUF() throws {
        let src = try gguf("model.gguf", seed: 3)
        let archive = path("packed-model.gguf.zst")
        try compress(src, archive, .init(level: 9))
        let m = try store().importFile(archive, version: 7)
        XCTAssertEqual(m.name, "packed-model")
        XCTAssertEqual(m.version, 7)
        XCTAssertEqual(m.archiveSHA256, try sha256sum(archive), "the given archive is stored as is")
        XCTAssertEqual(m.ggufSHA256, try sha256sum(src))
        XCTAssertEqual(try read(stored("models/packed-model/7.gguf")), try read(src))
        XCTAssertEqual(try mode(stored("models/packed-model/7.gguf")), 0o444)
        try assertStagingEmpty()
    }

    func testNameComesFromTheCatalogWhenTheHashMatches() throws {
        let src = try gguf("whatever.gguf", seed: 4)
        let json = """
            {"name": "smollm2-135m-instruct", "family": "smollm2", "architecture": "llama", "quantization": "F32",
             "file": "x.gguf", "sha256": "\(try sha256sum(src).uppercased())", "size": 1, "license": "apache-2.0",
             "chat_template": "chatml", "default": false, "sources": []}
            """
        let entry = try JSONDecoder().decode(CatalogEntry.self, from: Data(json.utf8))
        XCTAssertEqual(try store(catalog: [entry]).importFile(src).name, "smollm2-135m-instruct")
        XCTAssertEqual(try store(catalog: [entry]).importFile(try gguf("Other.gguf", seed: 5)).name, "other")
    }

    func testVersionsRollbackRemoveAndGC() throws {
        let s = try store(keep: 1)
        var sha: [Int: String] = [:]
        for seed in 1...3 { sha[seed] = try s.importFile(try gguf("m-\(seed).gguf", seed: UInt64(seed)), name: "m").archiveSHA256 }
        XCTAssertEqual(try s.list().map { "\($0.version)\($0.active ? "*" : "")" }, ["1", "2", "3*"])

        // Every imported version is still decompressed (until gc), so rollback swaps a pointer.
        XCTAssertEqual(try s.rollback("m"), 2)
        XCTAssertEqual(try s.activePath("m").path, stored("models/m/2.gguf"))
        XCTAssertEqual(try s.rollback("m"), 1)
        assertThrows(StoreError.nothingToRollBack(name: "m", active: 1)) { try s.rollback("m") }
        try s.activate("m", 3)
        assertThrows(StoreError.activeVersion(name: "m", version: 3)) { try s.remove("m", 3) }
        XCTAssertTrue(FileManager.default.fileExists(atPath: stored("manifests/m/3.json")))

        try s.remove("m", 2)
        XCTAssertEqual(try s.versions(of: "m"), [1, 3])
        XCTAssertFalse(FileManager.default.fileExists(atPath: stored("blobs/sha256/\(sha[2]!)")))
        XCTAssertFalse(FileManager.default.fileExists(atPath: stored("models/m/2.gguf")))
        assertThrows(StoreError.notFound(name: "m", version: 2)) { try s.remove("m", 2) }

        // Active 3 plus one kept (1): gc removes only the stale decompressed file of 1.
        var report = try s.gc()
        XCTAssertEqual(report.removedVersions, [])
        XCTAssertEqual(report.removedFiles, 1)
        XCTAssertFalse(FileManager.default.fileExists(atPath: stored("models/m/1.gguf")))

        try s.importFile(try gguf("m-4.gguf", seed: 4), name: "m")
        report = try s.gc()
        XCTAssertEqual(report.removedVersions, ["m:1"])
        XCTAssertEqual(try s.versions(of: "m"), [3, 4])
        XCTAssertFalse(FileManager.default.fileExists(atPath: stored("blobs/sha256/\(sha[1]!)")))
        XCTAssertTrue(FileManager.default.fileExists(atPath: stored("blobs/sha256/\(sha[3]!)")))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: stored("models/m")), ["4.gguf"])

        // Rolling back to 3 decompresses its archive again.
        XCTAssertEqual(try s.rollback("m"), 3)
        XCTAssertEqual(try sha256sum(stored("models/m/3.gguf")), try sha256sum(path("m-3.gguf")))
        XCTAssertEqual(try mode(stored("models/m/3.gguf")), 0o444)
        try assertStagingEmpty()
    }

    func testActivationNeverRewritesAMappedFile() throws {
        let s = try store()
        try s.importFile(try gguf("a.gguf", seed: 1), name: "m")
        let v1 = stored("models/m/1.gguf")
        let mapped = try GGUFFile(path: v1)
        let before = try inode(v1)
        let norm = try mapped.requireTensor("output_norm.weight")
        let weights = Array(UnsafeRawBufferPointer(start: norm.data, count: 256))

        try s.importFile(try gguf("b.gguf", seed: 2), name: "m")
        XCTAssertEqual(try s.rollback("m"), 1)
        XCTAssertEqual(try inode(v1), before, "activating an existing version reuses its file")
        try s.activate("m", 2)
        try s.gc()
        XCTAssertFalse(FileManager.default.fileExists(atPath: v1))
        // The unlinked file's pages stay valid and unchanged for whoever maps them.
        XCTAssertEqual(Array(UnsafeRawBufferPointer(start: norm.data, count: 256)), weights)
        withExtendedLifetime(mapped) {}
    }

    func testGCClearsStagingAndOrphansButNotLooseFiles() throws {
        let s = try store()
        try s.importFile(try gguf("a.gguf"), name: "m")
        let orphan = String(repeating: "ab", count: 32)
        try put([1, 2, 3], "staging/tmp/.leftover.gguf")
        try put([4], "blobs/sha256/\(orphan)")
        try put([5], "models/hand-copied.gguf")
        try FileManager.default.createDirectory(atPath: stored("models/gone"), withIntermediateDirectories: true)
        try put([6], "models/gone/1.gguf")
        try put(Array("1\n".utf8), "active/gone")

        let report = try s.gc()
        XCTAssertEqual(report.removedFiles, 4)
        XCTAssertEqual(report.freedBytes, 3 + 1 + 1 + 2)
        try assertStagingEmpty()
        XCTAssertFalse(FileManager.default.fileExists(atPath: stored("blobs/sha256/\(orphan)")))
        XCTAssertFalse(FileManager.default.fileExists(atPath: stored("models/gone")))
        XCTAssertFalse(FileManager.default.fileExists(atPath: stored("active/gone")))
        XCTAssertTrue(FileManager.default.fileExists(atPath: stored("models/hand-copied.gguf")))
        XCTAssertEqual(try s.list().count, 1)
        XCTAssertNoThrow(try s.activePath("m"))
    }

    func testHostileNamesAndVersionsAreRefused() throws {
        let s = try store()
        let src = try gguf("ok.gguf")
        for name in ["../x", "", "Upper", "a/b", ".hidden", "-dash", "a b", "é", String(repeating: "a", count: 65)] {
            XCTAssertThrowsError(try s.importFile(src, name: name), name) { error in
                guard case StoreError.badName(name, _)? = error as? StoreError else { return XCTFail("\(error)") }
            }
            XCTAssertThrowsError(try s.activate(name, 1))
            XCTAssertThrowsError(try s.activePath(name))
        }
        XCTAssertThrowsError(try s.importFile(src, name: "ok", version: 0))
        XCTAssertThrowsError(try s.importFile(src, name: "ok", version: -1))
        for text in ["m:0", "m:-1", "m:01", "m:x", "m", "m:", "../m:1", "m:1000000000"] {
            XCTAssertThrowsError(try ModelID.parse(text), text)
        }
        XCTAssertTrue(try ModelID.parse("qwen2.5-coder_0.5b:12") == ("qwen2.5-coder_0.5b", 12))
        XCTAssertEqual(try s.list(), [])
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("x").path))
        // A derived name that is not valid asks for --name.
        let weird = try write(try read(src), to: "bad name!.gguf")
        XCTAssertTrue("\(thrownError { try s.importFile(weird) }!)".contains("--name"))
    }

    func testLayoutIsCreatedCheckedAndUnknownOnesRefused() throws {
        assertThrows(StoreError.noStore(root: root.path)) { try Store(root: root, create: false) }
        _ = try store()
        XCTAssertEqual(try String(contentsOfFile: stored("layout"), encoding: .utf8), "1\n")
        XCTAssertNoThrow(try Store(root: root, create: false))

        try Data("2\n".utf8).write(to: root.appendingPathComponent("layout"))
        assertThrows(StoreError.unknownLayout(root: root.path, found: "2")) { try store() }
        XCTAssertEqual(try String(contentsOfFile: stored("layout"), encoding: .utf8), "2\n", "never rewritten")
    }

    func testFreeSpaceIsCheckedBeforeWriting() throws {
        let src = try gguf("m.gguf")
        let size = UInt64(try read(src).count)
        let error = thrownError { try store(free: 1000).importFile(src) }
        guard case let StoreError.insufficientSpace(_, needed, available)? = error as? StoreError else { return XCTFail("\(String(describing: error))") }
        XCTAssertGreaterThanOrEqual(needed, size)
        XCTAssertEqual(available, 1000)
        XCTAssertTrue("\(error!)".contains("\(needed) bytes needed, 1000 available"), "\(error!)")
        XCTAssertEqual(try store().list(), [])
        try assertStagingEmpty()

        // Activating a stored version needs room for its GGUF before decompressing.
        try store().importFile(src, name: "m", activate: false)
        assertThrows(StoreError.insufficientSpace(path: root.path, needed: size, available: size - 1)) {
            try store(free: size - 1).activate("m", 1)
        }
        XCTAssertNil(try store().activeVersion("m"))
        XCTAssertEqual(try store(free: size).activate("m", 1).path, stored("models/m/1.gguf"))
    }

    func testForeignDuplicateAndDamagedInputsAreRefused() throws {
        let s = try store(maxWindowLog: 20)
        let text = try write(Array("hello, world".utf8), to: "notes.gguf")
        assertThrows(StoreError.unrecognizedInput(path: text)) { try s.importFile(text) }
        let model = try read(try gguf("m.gguf"))
        let cut = try write(Array(model.prefix(model.count / 2)), to: "cut.gguf")
        guard case StoreError.notGGUF(cut, _)? = thrownError({ try s.importFile(cut) }) as? StoreError else { return XCTFail() }
        // A valid archive of something that is not a GGUF.
        let junk = try write(pseudoRandom(10_000), to: "junk")
        try compress(junk, path("junk.gguf.zst"))
        guard case StoreError.notGGUF? = thrownError({ try s.importFile(path("junk.gguf.zst")) }) as? StoreError else { return XCTFail() }

        let packed = path("m.gguf.zst")
        try compress(path("m.gguf"), packed)
        let archive = try read(packed)
        let truncated = try write(Array(archive.dropLast(10)), to: "short.gguf.zst")
        assertThrows(StoreError.archive(path: truncated, .truncated(afterBytes: UInt64(archive.count - 10)))) { try s.importFile(truncated) }
        // Over this store's window cap (2^20): the frame declares a 2^27 window.
        let wide = path("wide.gguf.zst")
        _ = try compressFromPipe(model, wide, .init(windowLog: 27, longDistanceMatching: true))
        assertThrows(StoreError.archive(path: wide, .windowTooLarge(neededLog: 27, capLog: 20))) { try s.importFile(wide) }
        XCTAssertEqual(try s.list(), [])
        try assertStagingEmpty()

        try s.importFile(path("m.gguf"), name: "m")
        assertThrows(StoreError.duplicateContent(name: "m", version: 1)) { try s.importFile(packed, name: "m") }
        assertThrows(StoreError.alreadyExists(name: "m", version: 1)) { try s.importFile(try gguf("n.gguf", seed: 2), name: "m", version: 1) }
        // The same model under another name shares the archive.
        let again = try s.importFile(path("m.gguf"), name: "copy")
        XCTAssertEqual(again.archiveSHA256, try s.manifest("m", 1).archiveSHA256)
        try s.activate("m", 1)
        try s.importFile(try gguf("m2.gguf", seed: 9), name: "copy")
        try s.remove("copy", 1)
        XCTAssertTrue(FileManager.default.fileExists(atPath: stored("blobs/sha256/\(again.archiveSHA256)")), "still used by m:1")
    }

    func testPackWritesAnArchiveAndDescriptorTheStoreAccepts() throws {
        let src = try gguf("m.gguf", seed: 6)
        let out = dir.appendingPathComponent("publish")
        let r = try Store.pack(gguf: src, name: "tiny", version: 3, outDir: out, compression: .init(level: 19))
        XCTAssertEqual(r.archive.path, out.appendingPathComponent("tiny-3.gguf.zst").path)
        let d = try JSONDecoder().decode(PackDescriptor.self, from: Data(contentsOf: r.descriptorURL))
        XCTAssertEqual(d, r.descriptor)
        XCTAssertEqual(d.archiveSHA256, try sha256sum(r.archive.path))
        XCTAssertEqual(d.archiveSize, UInt64(try read(r.archive.path).count))
        XCTAssertEqual(d.ggufSHA256, try sha256sum(src))
        XCTAssertEqual(d.architecture, "llama")
        XCTAssertEqual(d.quantization, "F32")
        XCTAssertEqual(d.level, 19)
        // Single segment: the window is the content, rounded up to a power of two.
        XCTAssertEqual(d.windowLog, 64 - (d.ggufSize - 1).leadingZeroBitCount)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: out.path).sorted(), ["tiny-3.gguf.zst", "tiny-3.json"])
        let keys = try JSONSerialization.jsonObject(with: Data(contentsOf: r.descriptorURL)) as! [String: Any]
        XCTAssertEqual(Set(keys.keys), ["name", "version", "archive", "archive_sha256", "archive_size", "gguf_sha256",
                                        "gguf_size", "window_log", "level", "architecture", "quantization"])

        assertThrows(StoreError.outputExists(path: r.archive.path)) { try Store.pack(gguf: src, name: "tiny", version: 3, outDir: out) }
        let m = try store().importFile(r.archive.path, name: "tiny", version: 3)
        XCTAssertEqual(m.archiveSHA256, d.archiveSHA256)
        XCTAssertEqual(m.ggufSHA256, d.ggufSHA256)
        XCTAssertThrowsError(try Store.pack(gguf: path("nothing.gguf"), name: "x", version: 1, outDir: out))
        XCTAssertThrowsError(try Store.pack(gguf: src, name: "../x", version: 1, outDir: out))
    }
}
