import Foundation

/// Why a patch was refused or could not be made.
public enum DeltaError: Error, Equatable, Sendable, CustomStringConvertible {
    case notAPatch(path: String)
    case malformed(path: String, reason: String)
    /// The base offered for the patch is not the model it was made from.
    case baseMismatch(patchBase: String, base: String, baseSHA256: String)
    /// The patch's header disagrees with what the caller (the signed metadata) expects.
    case unexpected(path: String, field: String, expected: String, found: String)
    case targetMismatch(expected: String, found: String)
    case frame(index: Int, ZstdError)

    public var description: String {
        switch self {
        case let .notAPatch(path): "\(path) is not an edgelm patch (no patch header at its start)"
        case let .malformed(path, reason): "\(path) is a malformed patch: \(reason)"
        case let .baseMismatch(patchBase, base, sha): "patch base is \(patchBase), \(base) is \(sha)"
        case let .unexpected(path, field, expected, found): "\(path): the patch's \(field) is \(found), expected \(expected)"
        case let .targetMismatch(expected, found): "the patched model's sha256 is \(found), expected \(expected)"
        case let .frame(index, error): "patch frame \(index): \(error)"
        }
    }
}

/// The header of a patch file. A patch is a zstd skippable frame holding this header, then one
/// zstd frame per chunk of the target, back to back:
///
/// ```
/// u32 0x184D2A5E, u32 payload size            zstd skippable frame (decoders of plain zstd skip it)
/// "EDLMPAT1"                                   payload (all integers little-endian)
/// base sha256 (32 raw bytes), target sha256 (32), base size u64, target size u64,
/// window log u32, frame count u32,
/// per frame: frame size u64, target length u64, prefix offset u64, prefix length u64
/// zstd frame 0, zstd frame 1, ...
/// ```
///
/// Frame i decodes to the next `target length` bytes of the target, with the base's bytes
/// [prefix offset, prefix offset + prefix length) as its prefix (`ZSTD_DCtx_refPrefix`).
struct DeltaHeader: Equatable {
    struct Frame: Equatable {
        var frameSize: UInt64
        var targetLength: UInt64
        var prefixOffset: UInt64
        var prefixLength: UInt64
    }

    static let skippableMagic: UInt32 = 0x184D_2A5E
    static let magic = Array("EDLMPAT1".utf8)
    static let fixedPayload = 8 + 32 + 32 + 8 + 8 + 4 + 4
    static let entrySize = 32
    static let maxFrames = 4096
    /// zstd's largest window on 64-bit machines.
    static let maxWindowLog = 31

    var baseSHA256: String
    var targetSHA256: String
    var baseSize: UInt64
    var targetSize: UInt64
    var windowLog: Int
    var frames: [Frame]

    var encodedSize: Int { 8 + Self.fixedPayload + frames.count * Self.entrySize }

    func encoded() -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(encodedSize)
        func put<T: FixedWidthInteger>(_ v: T) { withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
        put(Self.skippableMagic)
        put(UInt32(encodedSize - 8))
        out += Self.magic
        out += Self.raw(baseSHA256)
        out += Self.raw(targetSHA256)
        put(baseSize); put(targetSize); put(UInt32(windowLog)); put(UInt32(frames.count))
        for f in frames { put(f.frameSize); put(f.targetLength); put(f.prefixOffset); put(f.prefixLength) }
        return out
    }

    /// Reads the header at the start of `file` (its offset is left just after it) and checks that
    /// it describes a patch of exactly the file's size whose frames stay inside the base and
    /// add up to the target. Nothing larger than the bounded header is allocated.
    static func read(_ file: OpenFile) throws -> DeltaHeader {
        let path = file.path
        func bad(_ reason: String) -> DeltaError { .malformed(path: path, reason: reason) }
        let size = try file.size()
        var head = [UInt8](repeating: 0, count: 8)
        guard try head.withUnsafeMutableBytes({ try file.readFully(into: $0) }) == 8, le32(head, 0) == skippableMagic else {
            throw DeltaError.notAPatch(path: path)
        }
        let payloadSize = Int(le32(head, 4))
        guard payloadSize >= fixedPayload, payloadSize <= fixedPayload + maxFrames * entrySize, UInt64(8 + payloadSize) <= size else {
            throw bad("its header claims \(payloadSize) bytes")
        }
        var p = [UInt8](repeating: 0, count: payloadSize)
        guard try p.withUnsafeMutableBytes({ try file.readFully(into: $0) }) == payloadSize else { throw bad("the header is truncated") }
        guard Array(p[0..<8]) == magic else { throw DeltaError.notAPatch(path: path) }
        var h = DeltaHeader(baseSHA256: hex(p[8..<40]), targetSHA256: hex(p[40..<72]), baseSize: le64(p, 72), targetSize: le64(p, 80),
                            windowLog: Int(le32(p, 88)), frames: [])
        let count = Int(le32(p, 92))
        guard count >= 1, count <= maxFrames, payloadSize == fixedPayload + count * entrySize else {
            throw bad("\(count) frames do not fit a \(payloadSize)-byte header")
        }
        guard (10...maxWindowLog).contains(h.windowLog) else { throw bad("window log \(h.windowLog) is outside 10...\(maxWindowLog)") }
        var frameBytes = UInt64(8 + payloadSize)
        var target: UInt64 = 0
        for i in 0..<count {
            let o = fixedPayload + i * entrySize
            let f = Frame(frameSize: le64(p, o), targetLength: le64(p, o + 8), prefixOffset: le64(p, o + 16), prefixLength: le64(p, o + 24))
            // Every sum is checked against a bound before it is formed, so nothing wraps.
            guard f.frameSize > 0, f.frameSize <= size - frameBytes else { throw bad("frame \(i) runs past the end of the file") }
            guard f.targetLength > 0, f.targetLength <= h.targetSize - target else { throw bad("frame \(i) runs past the target's size") }
            guard f.prefixOffset <= h.baseSize, f.prefixLength <= h.baseSize - f.prefixOffset else {
                throw bad("frame \(i)'s prefix lies outside the base")
            }
            let window: UInt64 = 1 << UInt64(h.windowLog)
            guard f.targetLength <= window, f.prefixLength <= window - f.targetLength else { throw bad("frame \(i) does not fit its window") }
            frameBytes += f.frameSize
            target += f.targetLength
            h.frames.append(f)
        }
        guard frameBytes == size else { throw bad("\(size - frameBytes) bytes follow the last frame") }
        guard target == h.targetSize else { throw bad("its frames rebuild \(target) of \(h.targetSize) bytes") }
        return h
    }

    static func le32(_ b: [UInt8], _ o: Int) -> UInt32 { (0..<4).reduce(0) { $0 | UInt32(b[o + $1]) << (8 * UInt32($1)) } }
    static func le64(_ b: [UInt8], _ o: Int) -> UInt64 { (0..<8).reduce(0) { $0 | UInt64(b[o + $1]) << (8 * UInt64($1)) } }

    static func hex(_ bytes: ArraySlice<UInt8>) -> String {
        let digits = Array("0123456789abcdef".utf8)
        return String(decoding: bytes.flatMap { [digits[Int($0 >> 4)], digits[Int($0 & 15)]] }, as: UTF8.self)
    }

    static func raw(_ hex: String) -> [UInt8] {
        let h = Array(hex.utf8)
        func v(_ c: UInt8) -> UInt8 { c <= 57 ? c - 48 : c - 87 }
        return stride(from: 0, to: h.count - 1, by: 2).map { v(h[$0]) << 4 | v(h[$0 + 1]) }
    }

    /// Splits a target of `targetSize` bytes into frames of at most `maxChunk` bytes; each frame
    /// gets as prefix the base region around the same relative position, as large as the window
    /// 2^`maxWindowLog` leaves beside the chunk (the whole base when it fits).
    static func plan(baseSize: UInt64, targetSize: UInt64, maxChunk: UInt64, maxWindowLog: Int) -> [Frame] {
        let window: UInt64 = 1 << UInt64(maxWindowLog)
        let chunkCap = max(1, min(maxChunk, window / 2))
        let count = max(1, (targetSize + chunkCap - 1) / chunkCap)
        let chunk = (targetSize + count - 1) / count
        var frames: [Frame] = []
        var start: UInt64 = 0
        while start < targetSize || frames.isEmpty {
            let length = min(chunk, targetSize - start)
            let prefix = min(baseSize, window - length)
            // The chunk's centre, scaled to the base, so a model that grew or shrank still lines up.
            let centre = (start + length / 2).multipliedFullWidth(by: baseSize)
            let scaled = targetSize == 0 ? 0 : targetSize.dividingFullWidth(centre).quotient
            let offset = min(scaled > prefix / 2 ? scaled - prefix / 2 : 0, baseSize - prefix)
            frames.append(Frame(frameSize: 0, targetLength: length, prefixOffset: offset, prefixLength: prefix))
            start += length
            if length == 0 { break }
        }
        return frames
    }

    /// The smallest window log (10...31) covering a frame's prefix and chunk.
    static func windowLog(_ f: Frame) -> Int {
        let span = max(1, f.prefixLength + f.targetLength)
        return max(10, 64 - (span - 1).leadingZeroBitCount)
    }
}

/// `<file>.delta.json` beside a patch made by `edgelm diff`: what `edgelm publish` lists under
/// the target version (the one whose GGUF sha256 is `target_sha256`).
public struct DeltaDescriptor: Codable, Equatable, Sendable {
    public let file: String
    public let sha256: String
    public let size: UInt64
    /// SHA-256 of the decompressed base GGUF the patch applies to.
    public let baseSHA256: String
    public let baseSize: UInt64
    /// SHA-256 of the GGUF the patch rebuilds.
    public let targetSHA256: String
    public let targetSize: UInt64
    public let windowLog: Int
    public let frames: Int
    public let level: Int32

    enum CodingKeys: String, CodingKey {
        case file, sha256, size, frames, level
        case baseSHA256 = "base_sha256", baseSize = "base_size", targetSHA256 = "target_sha256", targetSize = "target_size"
        case windowLog = "window_log"
    }

    static let suffix = ".delta.json"

    public var channelDelta: ChannelModel.Delta {
        ChannelModel.Delta(file: file, sha256: sha256, size: size, baseSHA256: baseSHA256, windowLog: windowLog)
    }
}
