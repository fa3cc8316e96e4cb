#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// The staging area: where a pull leaves a version it downloaded and verified, and where the
/// store's owner (edgelmd, or `edgelm` run by hand) takes it from.
///
/// A staged version is three files under `staging/ready/<name>/`: `<v>.gguf.zst`, `<v>.gguf`,
/// then `<v>.json` (its manifest), each renamed into place complete and synced; the manifest
/// comes last, so a version without one is a leftover, never half of a version. Moving it into
/// the store re-hashes both files from descriptors the owner opened itself: the update service
/// that wrote them is trusted with the network, not with what the daemon maps.
extension Store {
    func stagedManifestURL(_ name: String, _ version: Int) -> URL { ready.appendingPathComponent("\(name)/\(version).json") }
    func stagedArchiveURL(_ name: String, _ version: Int) -> URL { ready.appendingPathComponent("\(name)/\(version).gguf.zst") }
    func stagedGGUFURL(_ name: String, _ version: Int) -> URL { ready.appendingPathComponent("\(name)/\(version).gguf") }

    /// Verifies a model file (`.gguf` or `.gguf.zst`) and leaves it staged as `name:version`,
    /// writing nothing outside the staging area. `verify` sees the manifest before anything is
    /// placed and refuses by throwing (a pull compares it with the signed metadata). A version
    /// staged before is replaced, and older staged versions of the name are deleted.
    @discardableResult
    public func stage(_ path: String, name: String, version: Int, health: ChannelModel.HealthCheck? = nil,
                      maxGGUFBytes: UInt64? = nil, verify: (Manifest) throws -> Void = { _ in }) throws -> Manifest {
        try ModelID.validate(name: name)
        try ModelID.validate(version: version)
        return try withStagingLock {
            let staged = try stageInput(OpenFile.reading(path), path: path, cap: maxGGUFBytes)
            let m = staged.manifest(name: name, version: version, added: options.now(), health: health)
            try verify(m)
            // An older staging of this version loses its manifest first: from here until the new
            // one is written, the version is incomplete rather than a mix of two stagings.
            try FS.remove(stagedManifestURL(name, version))
            try staged.archive.place(at: stagedArchiveURL(name, version), mode: 0o444)
            try staged.gguf.place(at: stagedGGUFURL(name, version), mode: 0o444)
            try FS.writeAtomically(m.encoded(), to: stagedManifestURL(name, version), staging: staging)
            // Only the newest staged version is ever switched to; older ones are dead weight.
            for older in try stagedVersions(of: name) where older < version { try discardStaged(name, older) }
            return m
        }
    }

    /// The manifest of a staged version, nil when none is staged (or only part of one).
    public func stagedManifest(_ name: String, _ version: Int) throws -> Manifest? {
        try ModelID.validate(name: name)
        try ModelID.validate(version: version)
        let url = stagedManifestURL(name, version)
        guard FS.exists(url) else { return nil }
        return try Manifest.read(url, name: name, version: version)
    }

    /// Versions of `name` staged complete, oldest first.
    public func stagedVersions(of name: String) throws -> [Int] {
        try ModelID.validate(name: name)
        return try Self.manifestVersions(in: ready.appendingPathComponent(name))
    }

    /// Names with a version staged.
    public func stagedNames() throws -> [String] {
        try FS.list(ready).filter { (try? ModelID.validate(name: $0)) != nil && !((try? stagedVersions(of: $0)) ?? []).isEmpty }
    }

    /// The manifest of `name:version`, moving a staged version into the store first if it is
    /// only staged. Called with the store's lock held.
    func storedManifest(_ name: String, _ version: Int) throws -> Manifest {
        if !FS.exists(manifestURL(name, version)), let m = try adoptStaged(name, version) { return m }
        return try manifest(name, version)
    }

    /// Moves a staged version into the store: archive to `blobs/`, GGUF to `models/` (so a switch
    /// only has to map it), manifest last. Each file is hashed from its own descriptor, synced and
    /// renamed; a file that does not match the staged manifest is refused and the staging of that
    /// version deleted. A move interrupted by a crash resumes from where its renames got to.
    /// Returns nil when nothing is staged. Called with the store's lock held.
    func adoptStaged(_ name: String, _ version: Int) throws -> Manifest? {
        try withStagingLock {
            guard let m = try stagedManifest(name, version) else { return nil }
            if FS.exists(manifestURL(name, version)) {
                try discardStaged(name, version)
                return try manifest(name, version)
            }
            do {
                try move(stagedArchiveURL(name, version), to: blobURL(m.archiveSHA256), sha256: m.archiveSHA256, size: m.archiveSize)
                try move(stagedGGUFURL(name, version), to: modelURL(name, version), sha256: m.ggufSHA256, size: m.ggufSize)
            } catch let e as StoreError {
                try? discardStaged(name, version)
                throw e
            }
            try FS.makeDirectory(manifests.appendingPathComponent(name))
            try FS.writeAtomically(m.encoded(), to: manifestURL(name, version), staging: staging)
            try discardStaged(name, version)
            return m
        }
    }

    /// Puts a staged file at `destination` once its content is shown to be `sha256`. A
    /// destination already there (an archive shared with another version, or a move that crashed
    /// after its rename) is checked instead, and the staged copy dropped.
    private func move(_ staged: URL, to destination: URL, sha256: String, size: UInt64) throws {
        if FS.exists(destination) {
            try Self.checkContent(destination, sha256: sha256, size: size)
            try FS.remove(staged)
            return
        }
        guard FS.exists(staged) else {
            throw StoreError.damaged(path: staged.path, reason: "a staged file is missing")
        }
        let file = try Self.checkContent(staged, sha256: sha256, size: size)
        try file.sync()
        try FS.makeDirectory(destination.deletingLastPathComponent())
        try FS.moveIntoPlace(staged, to: destination)
    }

    /// Hashes a file through one descriptor, refusing it unless it is a regular file of `size`
    /// bytes with `sha256`. Returns the open file.
    @discardableResult
    static func checkContent(_ url: URL, sha256: String, size: UInt64) throws -> OpenFile {
        let file = try OpenFile(path: url.path, flags: O_RDONLY | O_NOFOLLOW)
        guard file.isRegularFile else { throw StoreError.unrecognizedInput(path: url.path) }
        let (total, found) = try file.sha256(limit: size)
        guard total == size, found == sha256 else {
            throw StoreError.damaged(path: url.path, reason: total == size
                ? "its sha256 is \(found); its manifest says \(sha256)"
                : "it holds \(total > size ? "more than \(size)" : "\(total)") bytes; its manifest says \(size)")
        }
        return file
    }

    /// Deletes what is staged of `name:version`, manifest first. Called with the staging lock held.
    func discardStaged(_ name: String, _ version: Int) throws {
        try FS.remove(stagedManifestURL(name, version))
        try FS.remove(stagedArchiveURL(name, version))
        try FS.remove(stagedGGUFURL(name, version))
        let dir = ready.appendingPathComponent(name)
        guard FS.isDirectory(dir) else { return }
        try FS.syncDirectory(dir)
        removeIfEmpty(dir)
    }
}
