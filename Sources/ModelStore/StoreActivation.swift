#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// Switching versions: activate, roll back, remove.
extension Store {
    /// Makes `name:version` the active version, moving it in from staging or decompressing its
    /// archive first if its GGUF is not on disk yet. Returns the GGUF's path.
    @discardableResult
    public func activate(_ name: String, _ version: Int) throws -> URL {
        try ModelID.validate(name: name)
        try ModelID.validate(version: version)
        return try withWriteLock {
            if let pending = try trial(name) { throw StoreError.trialPending(name: name, candidate: pending.candidate) }
            let m = try storedManifest(name, version)
            try materialize(m)
            try markTried(name, version)
            try setActive(name, version)
            return modelURL(name, version)
        }
    }

    /// Activates the newest stored version older than the active one. Returns that version.
    @discardableResult
    public func rollback(_ name: String) throws -> Int {
        try ModelID.validate(name: name)
        return try withWriteLock {
            if let pending = try trial(name) { throw StoreError.trialPending(name: name, candidate: pending.candidate) }
            let previous = try rollbackTarget(name)
            try materialize(manifest(name, previous))
            try markTried(name, previous)
            try setActive(name, previous)
            return previous
        }
    }

    /// The version a rollback of `name` returns to: the newest stored one older than the active.
    public func rollbackTarget(_ name: String) throws -> Int {
        guard let current = try activeVersion(name) else { throw StoreError.notActive(name: name) }
        guard let previous = try versions(of: name).last(where: { $0 < current }) else {
            throw StoreError.nothingToRollBack(name: name, active: current)
        }
        return previous
    }

    /// Deletes a stored version: its manifest, its GGUF, and its archive unless another version
    /// shares it. The active version is refused: the daemon may be serving it.
    public func remove(_ name: String, _ version: Int) throws {
        try ModelID.validate(name: name)
        try ModelID.validate(version: version)
        try withWriteLock {
            let m = try manifest(name, version)
            if try activeVersion(name) == version { throw StoreError.activeVersion(name: name, version: version) }
            try FS.remove(manifestURL(name, version))
            try FS.syncDirectory(manifestURL(name, version).deletingLastPathComponent())
            try FS.remove(modelURL(name, version))
            if try !referencedArchives().contains(m.archiveSHA256) { try FS.remove(blobURL(m.archiveSHA256)) }
            removeIfEmpty(manifests.appendingPathComponent(name))
            removeIfEmpty(models.appendingPathComponent(name))
        }
    }

    // MARK: - Shared by the writers (all called with the lock held)

    /// Points `active/<name>` at `version`: a new file renamed over the old, so readers see one
    /// or the other.
    func setActive(_ name: String, _ version: Int) throws {
        try FS.writeAtomically(Data("\(version)\n".utf8), to: activeURL(name), staging: staging)
    }

    /// Ensures `models/<name>/<version>.gguf` exists, decompressing the archive when it does not.
    /// An existing file is left alone: it is never rewritten, because the daemon may map it.
    func materialize(_ m: Manifest) throws {
        guard !FS.exists(modelURL(m.name, m.version)) else { return }
        let archive = blobURL(m.archiveSHA256)
        guard FS.exists(archive) else {
            throw StoreError.damaged(path: archive.path, reason: "the archive of \(m.name):\(m.version) is missing")
        }
        let (gguf, result, _) = try unpack(archive, expectedSize: m.ggufSize, source: archive.path)
        guard result.inputSHA256 == m.archiveSHA256 else {
            throw StoreError.damaged(path: archive.path, reason: "its sha256 is \(result.inputSHA256), the manifest says \(m.archiveSHA256)")
        }
        guard result.outputSHA256 == m.ggufSHA256, result.bytesOut == m.ggufSize else {
            throw StoreError.damaged(path: archive.path, reason: "it decompresses to a GGUF other than the manifest's")
        }
        try gguf.place(at: modelURL(m.name, m.version), mode: 0o444)
    }

    /// Decompresses an archive into a staged file, after checking that the file system has room
    /// for `expectedSize` bytes; the output may not exceed them. The GGUF is validated (errors
    /// name `source`, the file the user knows).
    func unpack(_ archive: URL, expectedSize: UInt64, source: String) throws -> (StagedFile, ZstdResult, GGUFSummary) {
        try checkSpace(needed: expectedSize)
        let input = try OpenFile.reading(archive.path)
        let output = try StagedFile(in: staging, suffix: "gguf")
        let result: ZstdResult
        do {
            result = try Zstd.decompress(from: input, to: output.file, maxWindowLog: options.maxWindowLog, maxOutputBytes: expectedSize)
        } catch let e as ZstdError {
            throw StoreError.archive(path: source, e)
        }
        do {
            return (output, result, try GGUFSummary(path: output.url.path))
        } catch {
            throw StoreError.notGGUF(path: source, reason: "\(error)")
        }
    }

    /// Archive hashes named by any manifest.
    func referencedArchives() throws -> Set<String> {
        var shas = Set<String>()
        for name in try names() {
            for version in try versions(of: name) { shas.insert(try manifest(name, version).archiveSHA256) }
        }
        return shas
    }

    func removeIfEmpty(_ dir: URL) {
        if (try? FS.list(dir).isEmpty) == true { _ = rmdir(dir.path) }
    }
}
