#if canImport(Glibc)
import Glibc
#endif
import Foundation
import XCTest
@testable import ModelStore
import TestSupport

/// `pull` choosing a patch over the full archive, against a channel served by a real nginx.
final class PullDeltaTests: ChannelTestCase {
    var store: Store!

    override func setUpWithError() throws {
        try super.setUpWithError()
        store = try Store(root: dir.appendingPathComponent("store"))
    }

    func pull() throws -> Pull {
        Pull(store: store, channel: nginx.baseURL, trustedRoot: try trustedRoot, deviceID: "test-device", memoryBudget: 1 << 30,
             downloader: Downloader(options: .init(stallTimeout: 10)))
    }

    /// Signs targets for every archive and patch in the channel, as `edgelm publish` does.
    @discardableResult
    func sign() throws -> [ChannelModel] {
        let deltas = try ChannelPublisher.deltaDescriptors(in: channel)
        let models = try ChannelPublisher.descriptors(in: channel).map {
            ChannelPublisher.model($0, deltas: deltas, memoryBytes: 1 << 20, minRuntime: "0.1.0", health: nil)
        }
        try ChannelPublisher.publish(channel: channel, models: models, keys: [targetsKey], expires: Date() + 86400)
        return models
    }

    /// v1 published and pulled; v2 (one tensor and the name changed) packed, with a patch from v1.
    func installV1ThenPublishV2() async throws -> (v1: String, v2: String, patch: DeltaResult) {
        let v1 = try write(variant(), to: "v1.gguf")
        let v2 = try write(variant(name: "synthetic llama v2", perturb: "blk.1.attn_q.weight"), to: "v2.gguf")
        _ = try Store.pack(gguf: v1, name: "m", version: 1, outDir: channel)
        try sign()
        let first = try await pull().run("m")
        XCTAssertEqual(first, .installed(name: "m", version: 1, archiveBytes: first.downloadedBytes))
        _ = try Store.pack(gguf: v2, name: "m", version: 2, outDir: channel)
        let patch = try Delta.make(old: v1, new: v2, outDir: channel, name: "m")
        return (v1, v2, patch)
    }

    func assertV2Installed(_ models: [ChannelModel], file: StaticString = #filePath, line: UInt = #line) throws {
        let v2 = models.first { $0.version == 2 }!
        XCTAssertEqual(try store.activeVersion("m"), 2, file: file, line: line)
        XCTAssertEqual(try store.manifest("m", 2).ggufSHA256, v2.ggufSHA256, file: file, line: line)
        XCTAssertEqual(try sha256sum(store.activePath("m").path), v2.ggufSHA256, file: file, line: line)
        XCTAssertEqual(try FS.list(store.staging), [], "staging is empty", file: file, line: line)
    }

    func testPullUsesThePatch() async throws {
        let (_, _, patch) = try await installV1ThenPublishV2()
        let models = try sign()
        let v2 = models.first { $0.version == 2 }!
        XCTAssertEqual(v2.deltas, [patch.descriptor.channelDelta])
        XCTAssertEqual(v2.deltas.first?.baseSHA256, models.first { $0.version == 1 }!.ggufSHA256)

        let outcome = try await pull().run("m")
        XCTAssertEqual(outcome, .patched(name: "m", version: 2, base: 1, patchBytes: patch.descriptor.size))
        XCTAssertTrue(outcome.usedDelta)
        XCTAssertLessThan(outcome.downloadedBytes * 10, v2.archiveSize, "\(outcome.downloadedBytes) vs \(v2.archiveSize)")
        XCTAssertTrue(outcome.description.hasPrefix("patched m:1 to m:2"), outcome.description)
        try assertV2Installed(models)
        let requests = nginx.requests()
        XCTAssertTrue(requests.contains("GET /\(patch.patch.lastPathComponent) HTTP/1.1"), "\(requests)")
        XCTAssertFalse(requests.contains { $0.contains(v2.archive) }, "the full archive was not fetched: \(requests)")
        // The stored archive is the device's own compression of the signed GGUF.
        let m = try store.manifest("m", 2)
        XCTAssertEqual(try sha256sum(store.blobURL(m.archiveSHA256).path), m.archiveSHA256)
    }

    /// The channel claims the patch applies to v1, but it was made from another model: its header
    /// names that base, the rebuild is refused, and the full archive installs v2.
    func testPatchFromAnotherBaseFallsBackToTheArchive() async throws {
        let (v1, v2, honest) = try await installV1ThenPublishV2()
        try FS.remove(honest.patch)
        try FS.remove(honest.descriptorURL)
        let other = try write(variant(seed: 99), to: "other.gguf")
        let made = try Delta.make(old: other, new: v2, outDir: channel, name: "m")
        try relabel(made, base: try sha256sum(v1))
        let models = try sign()

        let outcome = try await pull().run("m")
        guard case let .installedAfterDeltaFailed(name, version, bytes, reason) = outcome else { return XCTFail("\(outcome)") }
        XCTAssertEqual([name, "\(version)"], ["m", "2"])
        XCTAssertEqual(bytes, models.first { $0.version == 2 }!.archiveSize)
        XCTAssertFalse(outcome.usedDelta)
        XCTAssertTrue(reason.contains("patch base is \(try sha256sum(other)), installed m:1 is \(try sha256sum(v1))"), reason)
        try assertV2Installed(models)
    }

    /// Patch bytes damaged at the publisher (the signed hash covers the damaged file): zstd
    /// refuses the frame and the archive is used.
    func testDamagedPatchFallsBackToTheArchive() async throws {
        let (_, _, patch) = try await installV1ThenPublishV2()
        var bytes = try read(patch.patch.path)
        bytes[bytes.count - 12] ^= 0x20
        try Data(bytes).write(to: patch.patch)
        try relabel(patch, base: patch.descriptor.baseSHA256)
        let models = try sign()

        let outcome = try await pull().run("m")
        guard case let .installedAfterDeltaFailed(_, _, _, reason) = outcome else { return XCTFail("\(outcome)") }
        XCTAssertTrue(reason.contains("patch frame 0"), reason)
        try assertV2Installed(models)
    }

    /// The installed base no longer has the signed bytes: refused before decoding, archive used.
    func testTamperedBaseFallsBackToTheArchive() async throws {
        let (v1, _, _) = try await installV1ThenPublishV2()
        let models = try sign()
        let base = store.modelURL("m", 1)
        chmod(base.path, 0o644)
        var bytes = try read(base.path)
        bytes[bytes.count - 1] ^= 1
        try Data(bytes).write(to: base)

        let outcome = try await pull().run("m")
        guard case let .installedAfterDeltaFailed(_, _, _, reason) = outcome else { return XCTFail("\(outcome)") }
        XCTAssertTrue(reason.contains("patch base is \(try sha256sum(v1)), installed m:1 is \(try sha256sum(base.path))"), reason)
        try assertV2Installed(models)
    }

    /// Rewrites a patch's descriptor as a publisher would sign it: the file as it now is, said to
    /// apply to `base`.
    func relabel(_ made: DeltaResult, base: String) throws {
        let d = made.descriptor
        let bytes = try read(made.patch.path)
        let relabeled = DeltaDescriptor(file: d.file, sha256: try sha256sum(made.patch.path), size: UInt64(bytes.count),
                                        baseSHA256: base, baseSize: d.baseSize, targetSHA256: d.targetSHA256, targetSize: d.targetSize,
                                        windowLog: d.windowLog, frames: d.frames, level: d.level)
        try JSONEncoder().encode(relabeled).write(to: made.descriptorURL)
    }
}
