#if canImport(Glibc)
import Glibc
#endif
import Foundation
import XCTest
@testable import ModelStore

/// Pulls into a store on a real, small file system (an 8 MiB tmpfs): a version that does not fit
/// fails with an error naming the lack of space, and the active version stays as it was.
final class PullDiskFullTests: ChannelTestCase {
    var mountPoint: URL!
    var store: Store!
    var v1GGUF = ""

    override func setUpWithError() throws {
        try super.setUpWithError()
        mountPoint = dir.appendingPathComponent("disk")
        try FileManager.default.createDirectory(at: mountPoint, withIntermediateDirectories: true)
        let result = try command("/bin/mount", ["-t", "tmpfs", "-o", "size=8m,mode=0755", "tmpfs", mountPoint.path])
        guard result.status == 0 else {
            mountPoint = nil
            throw XCTSkip("cannot mount an 8 MiB tmpfs for the disk-full tests (needs root or CAP_SYS_ADMIN): \(result.output)")
        }
        store = try Store(root: mountPoint.appendingPathComponent("store"))
        // v1: the synthetic model alone (about 0.3 MB), installed and active.
        let v1 = try publish(try model("m-1.gguf", seed: 1), name: "m", version: 1)
        let first = try pull(store)
        _ = try runBlocking { try await first.run("m") }
        XCTAssertEqual(try store.activeVersion("m"), 1)
        v1GGUF = try sha256sum(store.activePath("m").path)
        XCTAssertEqual(v1GGUF, v1.ggufSHA256)
    }

    override func tearDownWithError() throws {
        if let mountPoint {
            let result = try command("/bin/umount", [mountPoint.path])
            if result.status != 0 { _ = try command("/bin/umount", ["-l", mountPoint.path]) }
        }
        try super.tearDownWithError()
    }

    func command(_ path: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: path)
        p.arguments = arguments
        let out = Pipe()
        p.standardOutput = out
        p.standardError = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// v1 still active, its GGUF byte for byte what it was, and nothing of v2 outside staging.
    func assertV1Intact(_ before: [String: UInt64], file: StaticString = #filePath, line: UInt = #line) throws {
        XCTAssertEqual(try store.activeVersion("m"), 1, file: file, line: line)
        XCTAssertEqual(try store.versions(of: "m"), [1], file: file, line: line)
        XCTAssertEqual(try sha256sum(store.activePath("m").path), v1GGUF, file: file, line: line)
        XCTAssertEqual(try snapshot(store), before, "files outside staging changed", file: file, line: line)
    }

    func stagingFiles() throws -> [String] { try FS.list(store.staging) }

    /// An archive larger than the disk: the download itself hits ENOSPC. The partial stays in
    /// staging with its validator, and once there is room the next pull resumes it.
    func testDownloadHittingENOSPCKeepsV1AndResumesWhenThereIsRoom() async throws {
        let v2 = try publish(try model("m-2.gguf", seed: 2, padding: 10 << 20), name: "m", version: 2)
        XCTAssertGreaterThan(v2.archiveSize, 8 << 20)
        let before = try snapshot(store)
        do {
            _ = try await pull(store).run("m")
            XCTFail("a 10 MB archive was pulled onto an 8 MiB disk")
        } catch {
            XCTAssertEqual((error as? FileSystemError)?.code, ENOSPC, "\(error)")
            XCTAssertTrue("\(error)".contains("No space left on device"), "\(error)")
            XCTAssertTrue("\(error)".contains(store.staging.path), "the message names the file being written: \(error)")
        }
        try assertV1Intact(before)
        let partial = "download-\(v2.archiveSHA256).partial"
        XCTAssertEqual(try stagingFiles(), [partial, partial + ".meta"], "only the resumable download is left")
        let kept = try FileManager.default.attributesOfItem(atPath: store.staging.appendingPathComponent(partial).path)[.size] as! NSNumber
        XCTAssertGreaterThan(kept.uint64Value, 4 << 20)

        // Room for the archive, its staged copy and the GGUF: the download continues where it stopped.
        let grown = try command("/bin/mount", ["-o", "remount,size=40m", mountPoint.path])
        XCTAssertEqual(grown.status, 0, grown.output)
        let outcome = try await pull(store).run("m")
        XCTAssertEqual(outcome, .installed(name: "m", version: 2, archiveBytes: v2.archiveSize))
        XCTAssertEqual(try store.activeVersion("m"), 2)
        let resumed = progress.all.filter { $0.total == v2.archiveSize }.map(\.startOffset).max()
        XCTAssertEqual(resumed, kept.uint64Value, "the second pull resumed at the partial's end")
        XCTAssertEqual(try stagingFiles(), [])
    }

    /// A small archive of a GGUF that does not fit: refused by the free-space check before
    /// decompressing, naming needed and available bytes; staging is emptied.
    func testGGUFLargerThanTheFreeSpaceIsRefusedBeforeDecompressing() async throws {
        let v2 = try publish(try model("m-2.gguf", seed: 2, padding: 12 << 20, random: false), name: "m", version: 2)
        XCTAssertLessThan(v2.archiveSize, 2 << 20)
        let before = try snapshot(store)
        do {
            _ = try await pull(store).run("m")
            XCTFail("a 12 MB GGUF was installed on an 8 MiB disk")
        } catch let StoreError.insufficientSpace(path, needed, available) {
            XCTAssertEqual(path, store.root.path)
            XCTAssertGreaterThanOrEqual(needed, v2.ggufSize)
            XCTAssertLessThan(available, needed)
        }
        try assertV1Intact(before)
        XCTAssertEqual(try stagingFiles(), [])
    }

    /// The disk fills while the GGUF is being written (the free-space check saw room: another
    /// writer took it meanwhile): the real ENOSPC is reported and the partial GGUF removed.
    func testENOSPCWhileDecompressingIsReportedAndCleanedUp() async throws {
        let v2 = try publish(try model("m-2.gguf", seed: 2, padding: 12 << 20, random: false), name: "m", version: 2)
        let lying = try Store(root: store.root, create: false, options: .init(freeSpace: { _ in 1 << 40 }))
        let before = try snapshot(store)
        let free = try FS.availableBytes(store.root)
        do {
            _ = try await pull(lying).run("m")
            XCTFail("a 12 MB GGUF was installed on an 8 MiB disk")
        } catch {
            XCTAssertEqual((error as? FileSystemError)?.code, ENOSPC, "\(error)")
            XCTAssertTrue("\(error)".contains("No space left on device"), "\(error)")
        }
        try assertV1Intact(before)
        XCTAssertEqual(try stagingFiles(), [])
        XCTAssertGreaterThanOrEqual(try FS.availableBytes(store.root) + 65536, free, "everything written for v2 was removed")
        XCTAssertGreaterThan(v2.ggufSize, free)
    }

    /// A decompression bomb signed as a small GGUF: its frame declares no size and expands to
    /// 64 MiB; decompression stops at the cap and nothing is installed.
    func testDecompressionBombIsStoppedOnASmallDisk() async throws {
        let bomb = try bomb(wrapping: try model("m-2.gguf", seed: 2), zeros: 64 << 20, into: "m-2.gguf.zst")
        XCTAssertLessThan(bomb.archiveSize, 1 << 20)
        try sign([ChannelModel(descriptor: bomb, memoryBytes: 1 << 20, minRuntime: "0.1.0", health: nil)])
        let before = try snapshot(store)
        do {
            _ = try await pull(store).run("m")
            XCTFail("a decompression bomb was installed")
        } catch let StoreError.archive(_, ZstdError.outputTooLarge(limit, declared)) {
            XCTAssertNil(declared)
            XCTAssertLessThanOrEqual(limit, 8 << 20)
        }
        try assertV1Intact(before)
        XCTAssertEqual(try stagingFiles(), [])
    }
}
