#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// `<name>-<version>.json` beside a packed archive: what a publisher ships so that a device can
/// check the download and knows the window it must allow before fetching the archive.
public struct PackDescriptor: Codable, Equatable, Sendable {
    public let name: String
    public let version: Int
    public let archive: String
    public let archiveSHA256: String
    public let archiveSize: UInt64
    public let ggufSHA256: String
    public let ggufSize: UInt64
    /// log2 of the decoder window the archive needs (compare with `Store.Options.maxWindowLog`).
    public let windowLog: Int
    public let level: Int32
    public let architecture: String
    public let quantization: String

    enum CodingKeys: String, CodingKey {
        case name, version, archive, level, architecture, quantization
        case archiveSHA256 = "archive_sha256", archiveSize = "archive_size"
        case ggufSHA256 = "gguf_sha256", ggufSize = "gguf_size", windowLog = "window_log"
    }
}

public struct PackResult: Sendable {
    public let archive: URL
    public let descriptorURL: URL
    public let descriptor: PackDescriptor
}

extension Store {
    /// Compresses a GGUF into `outDir/<name>-<version>.gguf.zst` and writes its descriptor. The
    /// archive is decompressed once more before it gets its name, so a published archive is one
    /// that has been shown to give back the GGUF. Existing outputs are never overwritten.
    public static func pack(gguf path: String, name: String, version: Int, outDir: URL,
                            compression: ZstdCompression = .init()) throws -> PackResult {
        try ModelID.validate(name: name)
        try ModelID.validate(version: version)
        let summary: GGUFSummary
        do {
            summary = try GGUFSummary(path: path)
        } catch {
            throw StoreError.notGGUF(path: path, reason: "\(error)")
        }
        let base = "\(name)-\(version)"
        let archiveURL = outDir.appendingPathComponent("\(base).gguf.zst")
        let descriptorURL = outDir.appendingPathComponent("\(base).json")
        for url in [archiveURL, descriptorURL] where FS.exists(url) { throw StoreError.outputExists(path: url.path) }
        try FS.makeDirectory(outDir)

        let input = try OpenFile.reading(path)
        let staged = try StagedFile(in: outDir, suffix: "partial")
        let packed: ZstdResult
        let check: ZstdResult
        do {
            packed = try Zstd.compress(from: input, to: staged.file, options: compression)
            try staged.file.sync()
            let reread = try OpenFile.reading(staged.url.path)
            let sink = try OpenFile(path: "/dev/null", flags: O_WRONLY)
            check = try Zstd.decompress(from: reread, to: sink, maxWindowLog: 31, maxOutputBytes: packed.bytesIn)
        } catch let e as ZstdError {
            throw StoreError.archive(path: path, e)
        }
        guard check.outputSHA256 == packed.inputSHA256, check.inputSHA256 == packed.outputSHA256 else {
            throw StoreError.damaged(path: staged.url.path, reason: "the new archive does not decompress to \(path)")
        }
        let header = try OpenFile.reading(staged.url.path).peek(ZstdFrameHeader.maxSize)
        let descriptor = PackDescriptor(
            name: name, version: version, archive: archiveURL.lastPathComponent,
            archiveSHA256: packed.outputSHA256, archiveSize: packed.bytesOut, ggufSHA256: packed.inputSHA256, ggufSize: packed.bytesIn,
            windowLog: ZstdFrameHeader.windowLog(header) ?? 0, level: compression.level,
            architecture: summary.architecture, quantization: summary.quantization)
        try staged.place(at: archiveURL, mode: 0o644)

        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try FS.writeAtomically(try encoder.encode(descriptor) + Data("\n".utf8), to: descriptorURL, staging: outDir)
        return PackResult(archive: archiveURL, descriptorURL: descriptorURL, descriptor: descriptor)
    }
}
