#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// How far the delta path of a pull got: the version staged from a patch, or why an
/// offered patch could not be used.
struct DeltaAttempt: Sendable {
    var manifest: Manifest?
    var base: Int?
    var patchBytes: UInt64 = 0
    var failure: String?

    /// What `run` reports once `m` is active; `archiveBytes` when the full archive was fetched.
    func outcome(_ m: Manifest, archiveBytes: UInt64) -> PullOutcome {
        if manifest != nil, let base { return .patched(name: m.name, version: m.version, base: base, patchBytes: patchBytes) }
        if let failure { return .installedAfterDeltaFailed(name: m.name, version: m.version, archiveBytes: archiveBytes, reason: failure) }
        return .installed(name: m.name, version: m.version, archiveBytes: archiveBytes)
    }
}

extension Pull {
    /// Stages `model` from a patch when the channel offers one against an installed
    /// version whose GGUF is on disk. Only a version whose decompressed GGUF is already there
    /// serves as base (the active one always is): decompressing an archive just to patch it would
    /// spend the device's disk and time to save bandwidth, and the full archive is the simpler
    /// answer then. Any failure (download, wrong base, hash, zstd) is returned as the reason, and
    /// the caller falls back to the full archive; only cancellation propagates.
    func installFromDelta(_ model: ChannelModel) async throws -> DeltaAttempt {
        guard !model.deltas.isEmpty else { return DeltaAttempt() }
        let active = try? store.activeVersion(model.name)
        var bases: [(version: Int, manifest: Manifest, delta: ChannelModel.Delta)] = []
        for v in (try? store.versions(of: model.name)) ?? [] {
            guard let m = try? store.manifest(model.name, v), let d = model.deltas.first(where: { $0.baseSHA256 == m.ggufSHA256 }) else { continue }
            bases.append((v, m, d))
        }
        // The active version first (its GGUF is certainly there), then the newest.
        bases.sort { ($0.version == active ? 1 : 0, $0.version) > ($1.version == active ? 1 : 0, $1.version) }
        guard let first = bases.first else { return DeltaAttempt() }
        guard let pick = bases.first(where: { FS.exists(store.modelURL(model.name, $0.version)) }) else {
            return DeltaAttempt(base: first.version,
                                failure: "the patch's base \(model.name):\(first.version) is not decompressed on disk")
        }
        var attempt = DeltaAttempt(base: pick.version)
        do {
            try FS.makeDirectory(store.staging)
            let partial = store.staging.appendingPathComponent("download-\(pick.delta.sha256).partial")
            let result = try await downloader.download(url(pick.delta.file), to: partial,
                                                       expectedSize: pick.delta.size, expectedSHA256: pick.delta.sha256)
            defer {
                _ = try? FS.remove(partial)
                _ = try? FS.remove(Downloader.sidecarURL(for: partial))
            }
            attempt.patchBytes = result.size
            attempt.manifest = try rebuild(model, delta: pick.delta, baseVersion: pick.version, patch: result.path)
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            attempt.failure = "the patch from \(model.name):\(pick.version) was not used: \(error)"
        }
        return attempt
    }

    /// Checks the base against the patch's signed base sha256 (hashed from the store's own open
    /// file, through the same mapping the decoder then reads), rebuilds the GGUF in staging, and
    /// stages it: the store compresses it with its own settings, so the manifest's GGUF hash is
    /// the signed one while its archive is a local one.
    func rebuild(_ model: ChannelModel, delta: ChannelModel.Delta, baseVersion: Int, patch: URL) throws -> Manifest {
        let label = "installed \(model.name):\(baseVersion)"
        let baseFile = try OpenFile(path: store.modelURL(model.name, baseVersion).path, flags: O_RDONLY | O_NOFOLLOW)
        guard baseFile.isRegularFile else { throw StoreError.unrecognizedInput(path: baseFile.path) }
        let base = try MappedFile(reading: baseFile)
        let sha = base.sha256()
        guard sha == delta.baseSHA256 else { throw DeltaError.baseMismatch(patchBase: delta.baseSHA256, base: label, baseSHA256: sha) }
        try store.checkSpace(needed: model.ggufSize)
        let rebuilt = try Delta.rebuild(patch: OpenFile.reading(patch.path), base: base, baseSHA256: sha, baseLabel: label,
                                        expect: PatchExpectation(targetSHA256: model.ggufSHA256, targetSize: model.ggufSize,
                                                                 maxWindowLog: delta.windowLog),
                                        staging: store.staging)
        return try store.stage(rebuilt.url.path, name: model.name, version: model.version, health: model.health) { m in
            guard m.ggufSHA256 == model.ggufSHA256, m.ggufSize == model.ggufSize else {
                throw PullError.verification(name: m.name, version: m.version,
                                             reason: "the patched GGUF is \(m.ggufSHA256) (\(m.ggufSize) bytes); the signed metadata says \(model.ggufSHA256) (\(model.ggufSize) bytes)")
            }
        }
    }
}
