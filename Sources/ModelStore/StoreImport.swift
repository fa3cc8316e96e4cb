import Foundation

/// An import between reading the input and naming the result: the archive and the GGUF sit in
/// staging, both verified; dropping this value deletes them.
struct StagedImport {
    let archive: StagedFile
    let archiveSHA256: String
    let archiveSize: UInt64
    let gguf: StagedFile
    let ggufSHA256: String
    let ggufSize: UInt64
    let summary: GGUFSummary

    /// The manifest of this import stored as `name:version`.
    func manifest(name: String, version: Int, added: Date, health: ChannelModel.HealthCheck?) -> Manifest {
        Manifest(name: name, version: version, archiveSHA256: archiveSHA256, archiveSize: archiveSize,
                 ggufSHA256: ggufSHA256, ggufSize: ggufSize, architecture: summary.architecture,
                 quantization: summary.quantization, added: Manifest.timestamp(added), health: health)
    }
}

extension Store {
    static let ggufMagic: [UInt8] = Array("GGUF".utf8)

    /// Adds a model to the store from a `.gguf` (compressed here) or a `.gguf.zst` (decompressed
    /// to verify it and to hash the GGUF), told apart by their first bytes.
    ///
    /// The name defaults to the catalog's name for a GGUF with the same sha256, else the file's
    /// stem in lowercase; the version defaults to the newest stored one plus one. With `activate`
    /// the new version becomes the active one. Needs room for the archive and the GGUF.
    @discardableResult
    /// `maxGGUFBytes` caps what an archive may decompress to (a pull passes the signed size, so a
    /// bomb stops there rather than at the disk's end).
    public func importFile(_ path: String, name: String? = nil, version: Int? = nil, activate: Bool = true,
                           health: ChannelModel.HealthCheck? = nil, maxGGUFBytes: UInt64? = nil) throws -> Manifest {
        if let name { try ModelID.validate(name: name) }
        if let version { try ModelID.validate(version: version) }
        return try withWriteLock {
            let input = try OpenFile.reading(path)
            let staged = try stageInput(input, path: path, cap: maxGGUFBytes)

            let model = try name ?? defaultName(ggufSHA256: staged.ggufSHA256, path: path)
            let existing = try versions(of: model)
            for v in existing {
                if try manifest(model, v).ggufSHA256 == staged.ggufSHA256 { throw StoreError.duplicateContent(name: model, version: v) }
            }
            if let version, existing.contains(version) { throw StoreError.alreadyExists(name: model, version: version) }
            let next = version ?? (existing.last ?? 0) + 1
            try ModelID.validate(version: next)

            let m = staged.manifest(name: model, version: next, added: options.now(), health: health)
            // Archive, manifest, GGUF, active pointer: a crash between any two steps leaves a
            // consistent store, and gc removes what no manifest names.
            let blob = blobURL(staged.archiveSHA256)
            if !FS.exists(blob) { try staged.archive.place(at: blob, mode: 0o444) }
            try FS.makeDirectory(manifests.appendingPathComponent(model))
            try FS.writeAtomically(m.encoded(), to: manifestURL(model, next), staging: staging)
            if activate {
                if let pending = try trial(model) { throw StoreError.trialPending(name: model, candidate: pending.candidate) }
                try staged.gguf.place(at: modelURL(model, next), mode: 0o444)
                try markTried(model, next)
                try setActive(model, next)
            }
            return m
        }
    }

    /// Verifies `input` into scratch files: an archive is copied and decompressed, a GGUF
    /// compressed and decompressed again. Nothing outside the scratch directory is written.
    func stageInput(_ input: OpenFile, path: String, cap: UInt64?) throws -> StagedImport {
        guard input.isRegularFile else { throw StoreError.unrecognizedInput(path: path) }
        switch try input.peek(4) {
        case ZstdFrameHeader.magic: return try stageArchive(input, path: path, cap: cap)
        case Self.ggufMagic: return try stageGGUF(input, path: path)
        default: throw StoreError.unrecognizedInput(path: path)
        }
    }

    /// Compresses a GGUF into staging, then decompresses that archive again: what is stored has
    /// been shown to give back the original bytes.
    private func stageGGUF(_ input: OpenFile, path: String) throws -> StagedImport {
        do {
            _ = try GGUFSummary(path: path)
        } catch {
            throw StoreError.notGGUF(path: path, reason: "\(error)")
        }
        try checkSpace(needed: Zstd.compressBound(try input.size()))
        let archive = try StagedFile(in: staging, suffix: "gguf.zst")
        let packed: ZstdResult
        do {
            packed = try Zstd.compress(from: input, to: archive.file, options: options.compression)
        } catch let e as ZstdError {
            throw StoreError.archive(path: path, e)
        }
        try archive.file.sync()
        let (gguf, check, summary) = try unpack(archive.url, expectedSize: packed.bytesIn, source: path)
        guard check.outputSHA256 == packed.inputSHA256 else {
            throw StoreError.damaged(path: archive.url.path, reason: "the new archive does not decompress to \(path)")
        }
        return StagedImport(archive: archive, archiveSHA256: packed.outputSHA256, archiveSize: packed.bytesOut,
                            gguf: gguf, ggufSHA256: packed.inputSHA256, ggufSize: packed.bytesIn, summary: summary)
    }

    /// Copies an archive into staging and decompresses the copy: the bytes verified are the bytes
    /// stored, even if the source changes meanwhile.
    private func stageArchive(_ input: OpenFile, path: String, cap: UInt64?) throws -> StagedImport {
        var declared = ZstdFrameHeader.contentSize(try input.peek(ZstdFrameHeader.maxSize))
        if let cap {
            if let d = declared, d > cap {
                throw StoreError.archive(path: path, .outputTooLarge(limit: cap, declared: d))
            }
            declared = declared ?? cap
        }
        try checkSpace(needed: try input.size() + (declared ?? 0))
        let archive = try StagedFile(in: staging, suffix: "gguf.zst")
        let (size, sha) = try input.sha256(copyingTo: archive.file)
        try archive.file.sync()
        // Without a declared size the free space bounds the output.
        let limit = try declared ?? options.freeSpace.map { try $0(staging) } ?? FS.availableBytes(staging)
        let (gguf, result, summary) = try unpack(archive.url, expectedSize: limit, source: path)
        return StagedImport(archive: archive, archiveSHA256: sha, archiveSize: size,
                            gguf: gguf, ggufSHA256: result.outputSHA256, ggufSize: result.bytesOut, summary: summary)
    }

    /// The catalog's name for this GGUF, else the file name without `.gguf`/`.gguf.zst`, lowercased.
    func defaultName(ggufSHA256: String, path: String) throws -> String {
        if let entry = options.catalog.first(where: { $0.sha256.lowercased() == ggufSHA256 }) { return entry.name }
        var stem = URL(fileURLWithPath: path).lastPathComponent
        for suffix in [".zst", ".gguf"] where stem.hasSuffix(suffix) { stem.removeLast(suffix.count) }
        let name = stem.lowercased()
        do {
            try ModelID.validate(name: name)
        } catch let StoreError.badName(_, reason) {
            throw StoreError.badName(name, reason: "\(reason), so the file name cannot serve as one; give a name with --name")
        }
        return name
    }
}
