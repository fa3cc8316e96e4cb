#if canImport(Glibc)
import Glibc
#endif
import Foundation
import XCTest
@testable import ModelStore

/// Pulls from servers and archives that misbehave in ways a resume or an import must survive.
final class PullServerBehaviourTests: ChannelTestCase {
    var store: Store!

    override func setUpWithError() throws {
        try super.setUpWithError()
        store = try Store(root: dir.appendingPathComponent("store"))
    }

    /// A server without range support (nginx with `max_ranges 0`) answers a resume's Range request
    /// with 200 and the whole file: the download starts again from zero and the pull succeeds.
    /// Synchronous: a server started from a concurrency thread would inherit its blocked signals
    /// and ignore the SIGTERM that stops it.
    func testServerAnswering200ToARangeRequestRestartsFromZero() throws {
        nginx.stop()
        nginx = try NginxServer(root: channel, prefix: dir.appendingPathComponent("nginx-no-ranges"), directives: "max_ranges 0;")
        let m = try publish(try model("m-1.gguf", seed: 1), name: "m", version: 1)
        let archive = channel.appendingPathComponent(m.archive)
        let bytes = try read(archive.path)
        let half = bytes.count / 2
        // A genuine prefix with the validator nginx sends: any range-capable server would resume it.
        var st = stat()
        XCTAssertEqual(stat(archive.path, &st), 0)
        let etag = "\"\(String(st.st_mtim.tv_sec, radix: 16))-\(String(st.st_size, radix: 16))\""
        let partial = store.staging.appendingPathComponent("download-\(m.archiveSHA256).partial")
        try FS.makeDirectory(store.staging)
        try Data(bytes[..<half]).write(to: partial)
        try DownloadSidecar(url: nginx.baseURL + "/" + m.archive, etag: etag, lastModified: nil).write(Downloader.sidecarURL(for: partial))

        let p = try pull(store)
        let outcome = try runBlocking { try await p.run("m") }
        XCTAssertEqual(outcome, .installed(name: "m", version: 1, archiveBytes: m.archiveSize))
        XCTAssertEqual(try sha256sum(store.activePath("m").path), m.ggufSHA256)
        let reports = progress.all.filter { $0.total == m.archiveSize }
        XCTAssertEqual(reports.first?.startOffset, 0, "the 200 restarted the download from zero")
        XCTAssertEqual(reports.last?.bytes, m.archiveSize)
        let log = try String(contentsOf: nginx.accessLog, encoding: .utf8)
        let line = log.split(separator: "\n").last { $0.contains(m.archive) }.map(String.init) ?? ""
        XCTAssertTrue(line.contains("\" 200 \(bytes.count) "), "the whole file was sent: \(line)")
        XCTAssertEqual(try FS.list(store.staging), [], "no partial left behind")
    }

    /// A signed archive that decompresses to more than its signed gguf_size (32 MiB of zeros after
    /// a valid GGUF, in a frame that declares no size) is refused; nothing is installed or kept.
    func testDecompressionBombIsRefusedAndNothingIsInstalled() async throws {
        let gguf = try model("m-2.gguf", seed: 2)
        let bomb = try bomb(wrapping: gguf, zeros: 32 << 20, into: "m-2.gguf.zst")
        try sign([ChannelModel(descriptor: bomb, memoryBytes: 1 << 20, minRuntime: "0.1.0", health: nil)])
        do {
            _ = try await pull(store).run("m")
            XCTFail("a decompression bomb was installed")
        } catch let StoreError.archive(_, ZstdError.outputTooLarge(limit, declared)) {
            // Stopped while decompressing, at the signed size or at the free space.
            XCTAssertNil(declared)
            XCTAssertGreaterThanOrEqual(limit, bomb.ggufSize)
        } catch let PullError.verification(name, version, reason) {
            // Decompressed in staging, then refused for not matching the signed size and hash.
            XCTAssertEqual(name, "m")
            XCTAssertEqual(version, 2)
            XCTAssertTrue(reason.contains("(\(bomb.ggufSize) bytes)"), reason)
        }
        XCTAssertEqual(try store.list(), [])
        XCTAssertNil(try store.activeVersion("m"))
        XCTAssertEqual(try snapshot(store).keys.filter { $0 != "layout" }, [])
        XCTAssertEqual(try FS.list(store.staging), [])
    }
}
