#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Crypto
import Foundation

public struct DeltaOptions: Sendable {
    public var level: Int32
    /// Target bytes per frame. Every frame's window (prefix + chunk) stays within 2^`maxWindowLog`.
    public var maxChunk: UInt64
    public var maxWindowLog: Int

    public init(level: Int32 = 3, maxChunk: UInt64 = 1 << 30, maxWindowLog: Int = 31) {
        self.level = level
        self.maxChunk = maxChunk
        self.maxWindowLog = maxWindowLog
    }
}

public struct DeltaResult: Sendable {
    public let patch: URL
    public let descriptorURL: URL
    public let descriptor: DeltaDescriptor
}

/// What the caller knows about a patch before reading it (from signed metadata); a patch whose
/// header says otherwise is refused before anything is decoded.
struct PatchExpectation {
    var targetSHA256: String?
    var targetSize: UInt64?
    var maxWindowLog: Int
}

/// Model deltas: a newer GGUF compressed against an older one (the base), so that a device that
/// has the base downloads only what changed.
public enum Delta {
    /// Writes the patch from `old` to `new` (each a `.gguf` or a `.gguf.zst`) into `outDir`, with
    /// its descriptor, after showing that the patch rebuilds `new` from `old`. Archives are
    /// decompressed into `outDir` first (hidden files, removed afterwards); both models are then
    /// mapped, never read into memory.
    public static func make(old: String, new: String, outDir: URL, name: String? = nil, options: DeltaOptions = .init()) throws -> DeltaResult {
        if let name { try ModelID.validate(name: name) }
        guard (10...DeltaHeader.maxWindowLog).contains(options.maxWindowLog), options.maxChunk > 0 else {
            throw DeltaError.malformed(path: outDir.path, reason: "a window log must be in 10...31 and chunks non-empty")
        }
        try FS.makeDirectory(outDir)
        let (oldFile, oldScratch) = try ggufInput(old, scratch: outDir)
        let (newFile, newScratch) = try ggufInput(new, scratch: outDir)
        return try withExtendedLifetime((oldScratch, newScratch)) {
            let base = try MappedFile(reading: oldFile)
            let target = try MappedFile(reading: newFile)
            let baseSHA256 = base.sha256(), targetSHA256 = target.sha256()
            var frames = DeltaHeader.plan(baseSize: UInt64(base.count), targetSize: UInt64(target.count),
                                          maxChunk: options.maxChunk, maxWindowLog: options.maxWindowLog)
            let stem = "\(name.map { "\($0)-" } ?? "")\(baseSHA256.prefix(12))-to-\(targetSHA256.prefix(12))"
            let patchURL = outDir.appendingPathComponent("\(stem).patch")
            let descriptorURL = outDir.appendingPathComponent(stem + DeltaDescriptor.suffix)
            for url in [patchURL, descriptorURL] where FS.exists(url) { throw StoreError.outputExists(path: url.path) }

            var header = DeltaHeader(baseSHA256: baseSHA256, targetSHA256: targetSHA256, baseSize: UInt64(base.count),
                                     targetSize: UInt64(target.count), windowLog: frames.map(DeltaHeader.windowLog).max() ?? 10,
                                     frames: frames)
            let staged = try StagedFile(in: outDir, suffix: "patch")
            // The frame sizes are known only once written: the header is written twice, same size.
            try staged.file.writeAll(Data(header.encoded()))
            var offset: UInt64 = 0
            for i in frames.indices {
                let f = frames[i]
                do {
                    frames[i].frameSize = try Zstd.compressFrame(target.slice(offset, f.targetLength), prefix: base.slice(f.prefixOffset, f.prefixLength),
                                                                 windowLog: DeltaHeader.windowLog(f), level: options.level, to: staged.file)
                } catch let e as ZstdError {
                    throw DeltaError.frame(index: i, e)
                }
                offset += f.targetLength
            }
            header.frames = frames
            try header.encoded().withUnsafeBytes { try staged.file.writeAll($0, at: 0) }
            try staged.file.sync()

            // A published patch is one that has been shown to rebuild the new model.
            _ = try rebuild(patch: OpenFile.reading(staged.url.path), base: base, baseSHA256: baseSHA256, baseLabel: old,
                            expect: PatchExpectation(targetSHA256: targetSHA256, targetSize: UInt64(target.count),
                                                     maxWindowLog: header.windowLog),
                            staging: outDir)
            let (size, sha256) = try OpenFile.reading(staged.url.path).sha256()
            let descriptor = DeltaDescriptor(file: patchURL.lastPathComponent, sha256: sha256, size: size,
                                             baseSHA256: baseSHA256, baseSize: header.baseSize, targetSHA256: targetSHA256,
                                             targetSize: header.targetSize, windowLog: header.windowLog, frames: frames.count,
                                             level: options.level)
            try staged.place(at: patchURL, mode: 0o644)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            try FS.writeAtomically(try encoder.encode(descriptor) + Data("\n".utf8), to: descriptorURL, staging: outDir)
            return DeltaResult(patch: patchURL, descriptorURL: descriptorURL, descriptor: descriptor)
        }
    }

    /// Rebuilds the model `patch` describes from `base` into `output` (which must not exist).
    /// Returns the output's sha256.
    @discardableResult
    public static func apply(patch: String, base: String, to output: URL) throws -> String {
        guard !FS.exists(output) else { throw StoreError.outputExists(path: output.path) }
        let mapped = try MappedFile(reading: OpenFile.reading(base))
        let dir = output.deletingLastPathComponent()
        let staged = try rebuild(patch: OpenFile.reading(patch), base: mapped, baseSHA256: mapped.sha256(), baseLabel: base,
                                 expect: PatchExpectation(maxWindowLog: DeltaHeader.maxWindowLog), staging: dir)
        try staged.place(at: output, mode: 0o644)
        return try OpenFile.reading(output.path).sha256().sha256
    }

    /// Decodes `patch` against `base` (whose sha256 the caller computed from the mapping) into a
    /// new staged file, checking the header against `expect` and the base's hash before decoding
    /// anything, and the result's hash after.
    static func rebuild(patch: OpenFile, base: MappedFile, baseSHA256: String, baseLabel: String,
                        expect: PatchExpectation, staging: URL) throws -> StagedFile {
        let header = try DeltaHeader.read(patch)
        func unexpected(_ field: String, _ expected: String, _ found: String) -> DeltaError {
            .unexpected(path: patch.path, field: field, expected: expected, found: found)
        }
        if let sha = expect.targetSHA256, header.targetSHA256 != sha { throw unexpected("target sha256", sha, header.targetSHA256) }
        if let size = expect.targetSize, header.targetSize != size { throw unexpected("target size", "\(size)", "\(header.targetSize)") }
        guard header.windowLog <= expect.maxWindowLog else {
            throw unexpected("window log", "at most \(expect.maxWindowLog)", "\(header.windowLog)")
        }
        guard header.baseSHA256 == baseSHA256 else {
            throw DeltaError.baseMismatch(patchBase: header.baseSHA256, base: baseLabel, baseSHA256: baseSHA256)
        }
        guard header.baseSize == UInt64(base.count), header.targetSize <= UInt64(Int.max) else {
            throw unexpected("base size", "\(base.count)", "\(header.baseSize)")
        }

        let staged = try StagedFile(in: staging, suffix: "gguf")
        // A shared writable mapping needs a read-write descriptor; the staged one is write-only.
        let output = try MappedFile(writing: OpenFile(path: staged.url.path, flags: O_RDWR | O_NOFOLLOW), count: Int(header.targetSize))
        var hash = SHA256()
        var offset = 0
        for (i, f) in header.frames.enumerated() {
            let region = UnsafeMutableRawBufferPointer(rebasing: output.mutableBytes[offset..<offset + Int(f.targetLength)])
            do {
                try Zstd.decompressFrame(from: patch, frameSize: f.frameSize, prefix: base.slice(f.prefixOffset, f.prefixLength),
                                         into: region, maxWindowLog: header.windowLog)
            } catch let e as ZstdError {
                throw DeltaError.frame(index: i, e)
            }
            MappedFile.sha256(UnsafeRawBufferPointer(region), into: &hash)
            offset += Int(f.targetLength)
        }
        let sha = hash.finalize().hex
        guard sha == header.targetSHA256 else { throw DeltaError.targetMismatch(expected: header.targetSHA256, found: sha) }
        try output.sync()
        try staged.file.sync()
        return staged
    }

    /// A GGUF to diff: the file itself, or an archive decompressed into a hidden scratch file.
    static func ggufInput(_ path: String, scratch: URL) throws -> (OpenFile, StagedFile?) {
        let input = try OpenFile.reading(path)
        guard input.isRegularFile else { throw StoreError.unrecognizedInput(path: path) }
        var file = input
        var staged: StagedFile?
        switch try input.peek(4) {
        case Store.ggufMagic: break
        case ZstdFrameHeader.magic:
            let s = try StagedFile(in: scratch, suffix: "gguf")
            let limit = try ZstdFrameHeader.contentSize(input.peek(ZstdFrameHeader.maxSize)) ?? FS.availableBytes(scratch)
            do {
                _ = try Zstd.decompress(from: input, to: s.file, maxWindowLog: DeltaHeader.maxWindowLog, maxOutputBytes: limit)
            } catch let e as ZstdError {
                throw StoreError.archive(path: path, e)
            }
            try s.file.sync()
            file = try OpenFile.reading(s.url.path)
            staged = s
        default: throw StoreError.unrecognizedInput(path: path)
        }
        do {
            _ = try GGUFSummary(path: file.path)
        } catch {
            throw StoreError.notGGUF(path: path, reason: "\(error)")
        }
        return (file, staged)
    }
}
