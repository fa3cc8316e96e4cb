#if canImport(Glibc)
import Glibc
#endif
import Foundation
import XCTest
@testable import ModelStore

/// Records progress reports from the downloader (called on its task).
final class ProgressLog: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [DownloadProgress] = []
    func add(_ p: DownloadProgress) { lock.withLock { items.append(p) } }
    var all: [DownloadProgress] { lock.withLock { items } }
}

/// `pull` against a channel directory served by a real nginx.
final class PullNginxTests: TemporaryDirectoryTestCase {
    var channel: URL!
    var nginx: NginxServer!
    var rootKey: SigningKey!
    var targetsKey: SigningKey!
    var store: Store!
    var trustedRoot: Data!
    let progress = ProgressLog()

    override func setUpWithError() throws {
        try super.setUpWithError()
        channel = dir.appendingPathComponent("channel")
        rootKey = SigningKey()
        targetsKey = SigningKey()
        let root = RootMetadata(version: 1, expires: Date() + 86400 * 365, rootKeys: [rootKey.publicKey], rootThreshold: 1,
                                targetKeys: [targetsKey.publicKey], targetThreshold: 1)
        try ChannelPublisher.writeRoot(root, signers: [rootKey], channel: channel)
        trustedRoot = try Data(contentsOf: channel.appendingPathComponent("1.root.json"))
        store = try Store(root: dir.appendingPathComponent("store"))
        nginx = try NginxServer(root: channel, prefix: dir.appendingPathComponent("nginx"))
    }

    override func tearDownWithError() throws {
        nginx?.stop()
        nginx = nil
        try super.tearDownWithError()
    }

    /// Packs a synthetic GGUF as `m:<version>` into the channel and signs targets listing every packed version.
    @discardableResult
    func publish(_ version: Int, memory: UInt64 = 1 << 20, keys: [SigningKey]? = nil) throws -> ChannelModel {
        let g = try gguf("m-src-\(version).gguf", seed: UInt64(version))
        _ = try Store.pack(gguf: g, name: "m", version: version, outDir: channel)
        let models = try ChannelPublisher.descriptors(in: channel).map {
            ChannelModel(descriptor: $0, memoryBytes: memory, minRuntime: "0.1.0", health: nil)
        }
        try ChannelPublisher.publish(channel: channel, models: models, keys: keys ?? [targetsKey], expires: Date() + 86400)
        return models.first { $0.version == version }!
    }

    func pull(budget: UInt64 = 1 << 30, stall: TimeInterval = 10) -> Pull {
        let log = progress
        return Pull(store: store, channel: nginx.baseURL + "/", trustedRoot: trustedRoot, deviceID: "test-device", memoryBudget: budget,
                    downloader: Downloader(options: .init(stallTimeout: stall, progress: { log.add($0) })))
    }

    func partialURL(_ m: ChannelModel) -> URL { store.staging.appendingPathComponent("download-\(m.archiveSHA256).partial") }

    /// The ETag nginx gives a static file: hex mtime and hex size.
    func nginxETag(_ url: URL) throws -> String {
        var st = stat()
        guard stat(url.path, &st) == 0 else { throw FileSystemError("stat", url.path) }
        return "\"\(String(st.st_mtim.tv_sec, radix: 16))-\(String(st.st_size, radix: 16))\""
    }

    func testPullInstallsThenUpgrades() async throws {
        try publish(1)
        let first = try await pull().run("m")
        XCTAssertEqual(first, .installed(name: "m", version: 1, archiveBytes: first.archiveBytes))
        XCTAssertEqual(try store.activeVersion("m"), 1)
        XCTAssertEqual(try sha256sum(store.activePath("m").path), try store.manifest("m", 1).ggufSHA256)
        let again = try await pull().run("m")
        XCTAssertEqual(again, .alreadyNewest(name: "m", version: 1))
        XCTAssertEqual(again.description, "m:1 is already the newest")

        try publish(2)
        let second = try await pull().run("m")
        XCTAssertEqual(second, .installed(name: "m", version: 2, archiveBytes: second.archiveBytes))
        XCTAssertTrue(second.description.hasPrefix("downloaded m:2 ("), second.description)
        XCTAssertEqual(try store.activeVersion("m"), 2)
        XCTAssertEqual(try store.versions(of: "m"), [1, 2])
        // The trust state was persisted with the targets version seen.
        let seen = try String(contentsOf: store.stagingArea.appendingPathComponent("trust/seen.json"), encoding: .utf8)
        XCTAssertTrue(seen.contains("\"targets_version\":2"), seen)
        XCTAssertEqual(try FS.list(store.staging).filter { $0.hasPrefix("download-") }, [], "no partial left behind")
    }

    func testResumeFetchesOnlyTheRest() async throws {
        let m = try publish(1)
        let archive = channel.appendingPathComponent(m.archive)
        let bytes = try read(archive.path)
        let half = bytes.count / 2
        try FS.makeDirectory(store.staging)
        try Data(bytes[..<half]).write(to: partialURL(m))
        try DownloadSidecar(url: nginx.baseURL + "/" + m.archive, etag: try nginxETag(archive), lastModified: nil)
            .write(Downloader.sidecarURL(for: partialURL(m)))

        _ = try await pull().run("m")
        XCTAssertEqual(try store.activeVersion("m"), 1)
        let archiveReports = progress.all.filter { $0.total == m.archiveSize }
        XCTAssertEqual(archiveReports.first?.startOffset, UInt64(half), "the download resumed at the partial's end")
        XCTAssertEqual(archiveReports.last?.bytes, UInt64(bytes.count))
        XCTAssertTrue(nginx.requests().contains("GET /\(m.archive) HTTP/1.1"), "\(nginx.requests())")
        // nginx logs the body bytes it sent: the second half only.
        let log = try String(contentsOf: nginx.accessLog, encoding: .utf8)
        let line = log.split(separator: "\n").last { $0.contains(m.archive) }!
        XCTAssertTrue(line.contains("\" 206 \(bytes.count - half) "), String(line))
    }

    func testChangedETagRestartsFromZero() async throws {
        let m = try publish(1)
        let bytes = try read(channel.appendingPathComponent(m.archive).path)
        try FS.makeDirectory(store.staging)
        // A partial that belongs to some other file: garbage with a validator nginx will not match.
        try Data(repeating: 0xAB, count: bytes.count / 2).write(to: partialURL(m))
        try DownloadSidecar(url: nginx.baseURL + "/" + m.archive, etag: "\"5f5e100-1\"", lastModified: nil)
            .write(Downloader.sidecarURL(for: partialURL(m)))

        _ = try await pull().run("m")
        XCTAssertEqual(try store.activeVersion("m"), 1)
        let archiveReports = progress.all.filter { $0.total == m.archiveSize }
        XCTAssertEqual(archiveReports.first?.startOffset, 0, "the server answered 200, so the download restarted")
        let log = try String(contentsOf: nginx.accessLog, encoding: .utf8)
        let line = log.split(separator: "\n").last { $0.contains(m.archive) }!
        XCTAssertTrue(line.contains("\" 200 \(bytes.count) "), String(line))
    }

    /// An archive whose frame asks for a larger window than its signed metadata states is refused
    /// (the metadata's window is the decoder's cap), and nothing is stored.
    func testWindowAboveTheSignedCapIsRefused() async throws {
        let g = try gguf("m-src-1.gguf", seed: 1)
        let packed = try Store.pack(gguf: g, name: "m", version: 1, outDir: channel)
        XCTAssertGreaterThan(packed.descriptor.windowLog, 10)
        let d = packed.descriptor
        let understated = PackDescriptor(name: d.name, version: d.version, archive: d.archive, archiveSHA256: d.archiveSHA256,
                                         archiveSize: d.archiveSize, ggufSHA256: d.ggufSHA256, ggufSize: d.ggufSize, windowLog: 10,
                                         level: d.level, architecture: d.architecture, quantization: d.quantization)
        try ChannelPublisher.publish(channel: channel, models: [ChannelModel(descriptor: understated, memoryBytes: 1 << 20,
                                                                             minRuntime: "0.1.0", health: nil)],
                                     keys: [targetsKey], expires: Date() + 86400)
        do {
            _ = try await pull().run("m")
            XCTFail("an archive over its signed window was accepted")
        } catch {
            XCTAssertTrue("\(error)".contains("window"), "\(error)")
        }
        XCTAssertEqual(try store.list(), [])
    }

    func testFlippedArchiveIsRefused() async throws {
        let m = try publish(1)
        let archive = channel.appendingPathComponent(m.archive)
        var bytes = try read(archive.path)
        bytes[bytes.count / 2] ^= 0x40
        try Data(bytes).write(to: archive)
        do {
            _ = try await pull().run("m")
            XCTFail("a flipped archive was accepted")
        } catch let DownloadError.mismatch(_, expectedSHA256, gotSHA256, expectedSize, gotSize) {
            XCTAssertEqual(expectedSHA256, m.archiveSHA256)
            XCTAssertNotEqual(gotSHA256, m.archiveSHA256)
            XCTAssertEqual(expectedSize, gotSize)
        }
        XCTAssertEqual(try store.list(), [])
        XCTAssertFalse(FS.exists(partialURL(m)), "the partial was deleted")
    }

    func testTruncatedAndOversizedArchivesAreRefused() async throws {
        let m = try publish(1)
        let archive = channel.appendingPathComponent(m.archive)
        let bytes = try read(archive.path)
        try Data(bytes[..<(bytes.count / 2)]).write(to: archive)
        do {
            _ = try await pull().run("m")
            XCTFail("a truncated archive was accepted")
        } catch {
            XCTAssertEqual(error as? DownloadError,
                           .shortBody(url: nginx.baseURL + "/" + m.archive, expected: m.archiveSize, got: UInt64(bytes.count / 2)))
        }
        XCTAssertEqual(try store.list(), [])

        try Data(bytes + [1, 2, 3]).write(to: archive)
        do {
            _ = try await pull().run("m")
            XCTFail("an oversized archive was accepted")
        } catch {
            // The half-size partial left by the first attempt is resumed: 416 or a larger range.
            guard let e = error as? DownloadError else { return XCTFail("\(error)") }
            switch e {
            case .declaredTooLarge, .tooLarge: break
            default: XCTFail("\(e)")
            }
        }
        XCTAssertEqual(try store.list(), [])
    }

    func testTargetsSignedByAnotherKeyAreRefused() async throws {
        try publish(1, keys: [SigningKey()])
        do {
            _ = try await pull().run("m")
            XCTFail("targets signed by an unknown key were accepted")
        } catch {
            XCTAssertEqual(error as? MetadataError, .notEnoughSignatures(what: "targets metadata", role: "targets", valid: 0, threshold: 1))
        }
        XCTAssertEqual(try store.list(), [])
        XCTAssertFalse(nginx.requests().contains { $0.contains(".gguf.zst") })
    }

    func testOverBudgetIsRefusedBeforeDownloading() async throws {
        let m = try publish(1, memory: 512 << 20)
        do {
            _ = try await pull(budget: 256 << 20).run("m")
            XCTFail("a model over budget was pulled")
        } catch let PullError.noneOffered(name, reasons) {
            XCTAssertEqual(name, "m")
            XCTAssertEqual(reasons, ["\(MetadataError.overBudget(name: "m", version: 1, needs: 512 << 20, budget: 256 << 20))"])
        }
        XCTAssertEqual(try store.list(), [])
        XCTAssertFalse(FS.exists(partialURL(m)))
        let requests = nginx.requests()
        XCTAssertTrue(requests.contains("GET /targets.json HTTP/1.1"), "\(requests)")
        XCTAssertFalse(requests.contains { $0.contains(".gguf.zst") }, "\(requests)")
    }

    func testBandwidthLimitSlowsTheDownload() async throws {
        let m = try publish(1)
        let rate = max(m.archiveSize * 2, 1)   // about half a second for the whole archive
        let started = ContinuousClock.now
        let result = try await Downloader(options: .init(stallTimeout: 10, bandwidthLimit: rate))
            .download(nginx.baseURL + "/" + m.archive, to: dir.appendingPathComponent("limited.partial"),
                      expectedSize: m.archiveSize, expectedSHA256: m.archiveSHA256)
        let elapsed = started.duration(to: .now)
        XCTAssertEqual(result.sha256, m.archiveSHA256)
        XCTAssertEqual(result.fetched, m.archiveSize)
        XCTAssertGreaterThan(elapsed, .milliseconds(350), "\(elapsed) for \(m.archiveSize) bytes at \(rate) B/s")
    }

    func testRootRotationIsFollowed() async throws {
        let newRoot = SigningKey()
        let root2 = RootMetadata(version: 2, expires: Date() + 86400 * 365, rootKeys: [newRoot.publicKey], rootThreshold: 1,
                                 targetKeys: [targetsKey.publicKey], targetThreshold: 1)
        try ChannelPublisher.writeRoot(root2, signers: [rootKey, newRoot], channel: channel)
        try publish(1)
        _ = try await pull().run("m")
        let persisted = try ChannelTrust(trustedRoot: Data(contentsOf: store.stagingArea.appendingPathComponent("trust/root.json")))
        XCTAssertEqual(persisted.root.version, 2)
    }
}

/// The downloader on its own: stalls and caps.
final class DownloadStallTests: TemporaryDirectoryTestCase {
    func testServerThatNeverAnswersStalls() async throws {
        let server = try StallingServer(sendHeaders: false)
        defer { server.close() }
        let url = "http://127.0.0.1:\(server.port)/m.gguf.zst"
        let started = Date()
        do {
            _ = try await Downloader(options: .init(stallTimeout: 1)).download(url, to: dir.appendingPathComponent("p"),
                                                                              expectedSize: 100_000, expectedSHA256: String(repeating: "0", count: 64))
            XCTFail("expected a stall")
        } catch {
            XCTAssertEqual(error as? DownloadError, .stalled(url: url, seconds: 1))
            XCTAssertTrue("\(error)".contains("stalled"))
        }
        XCTAssertLessThan(Date().timeIntervalSince(started), 8)
    }

    func testServerThatStopsMidBodyStalls() async throws {
        let server = try StallingServer(sendHeaders: true)
        defer { server.close() }
        let url = "http://127.0.0.1:\(server.port)/m.gguf.zst"
        do {
            _ = try await Downloader(options: .init(stallTimeout: 1)).download(url, to: dir.appendingPathComponent("p"),
                                                                              expectedSize: 100_000, expectedSHA256: String(repeating: "0", count: 64))
            XCTFail("expected a stall")
        } catch {
            XCTAssertEqual(error as? DownloadError, .stalled(url: url, seconds: 1))
        }
    }

    func testDeclaredLengthOverCapIsRefused() async throws {
        let server = try StallingServer(sendHeaders: true)   // announces 100000 bytes
        defer { server.close() }
        let url = "http://127.0.0.1:\(server.port)/m.gguf.zst"
        do {
            _ = try await Downloader(options: .init(stallTimeout: 5)).download(url, to: dir.appendingPathComponent("p"),
                                                                              expectedSize: 1000, expectedSHA256: String(repeating: "0", count: 64))
            XCTFail("expected a refusal")
        } catch {
            XCTAssertEqual(error as? DownloadError, .declaredTooLarge(url: url, cap: 1000, declared: 100_000))
        }
    }
}

extension PullOutcome {
    var archiveBytes: UInt64 {
        if case let .installed(_, _, bytes) = self { return bytes }
        return 0
    }
}
