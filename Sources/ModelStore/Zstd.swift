import CZstd
import Crypto

/// What a compression or decompression moved, with the SHA-256 of both sides computed on the way
/// (so a model is never read twice just to hash it).
public struct ZstdResult: Equatable, Sendable {
    public let bytesIn: UInt64
    public let bytesOut: UInt64
    public let inputSHA256: String
    public let outputSHA256: String
}

public struct ZstdCompression: Sendable {
    public var level: Int32
    /// libzstd worker threads (0: compress on the calling thread).
    public var threads: Int32
    /// Overrides the level's window (log2 bytes); decoders need that much memory.
    public var windowLog: Int32?
    public var longDistanceMatching: Bool

    public init(level: Int32 = 3, threads: Int32 = 0, windowLog: Int32? = nil, longDistanceMatching: Bool = false) {
        self.level = level
        self.threads = threads
        self.windowLog = windowLog
        self.longDistanceMatching = longDistanceMatching
    }
}

/// Streaming zstd between file descriptors through libzstd, with fixed-size buffers: a model of
/// any size passes through a few hundred kilobytes of memory.
public enum Zstd {
    /// zstd's own default limit for decoders (128 MiB of window).
    public static let defaultMaxWindowLog = 27

    public static func compress(from input: Int32, to output: Int32, options: ZstdCompression = .init()) throws -> ZstdResult {
        try compress(from: OpenFile(borrowing: input, name: "fd \(input)"), to: OpenFile(borrowing: output, name: "fd \(output)"), options: options)
    }

    /// Refuses, before allocating anything large: a frame whose window exceeds 2^`maxWindowLog`,
    /// output beyond `maxOutputBytes`, a truncated or corrupt frame, and data after the frame.
    public static func decompress(from input: Int32, to output: Int32, maxWindowLog: Int = defaultMaxWindowLog,
                                  maxOutputBytes: UInt64) throws -> ZstdResult {
        try decompress(from: OpenFile(borrowing: input, name: "fd \(input)"), to: OpenFile(borrowing: output, name: "fd \(output)"),
                       maxWindowLog: maxWindowLog, maxOutputBytes: maxOutputBytes)
    }

    /// The largest archive `size` input bytes can compress to.
    public static func compressBound(_ size: UInt64) -> UInt64 { UInt64(ZSTD_compressBound(Int(size))) }

    static func compress(from input: OpenFile, to output: OpenFile, options: ZstdCompression) throws -> ZstdResult {
        guard let cctx = ZSTD_createCCtx() else { throw ZstdError.outOfMemory }
        defer { ZSTD_freeCCtx(cctx) }
        try setting(ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, options.level))
        try setting(ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 1))
        // A libzstd built without threads refuses workers; it then simply compresses inline.
        if options.threads > 0 { _ = ZSTD_CCtx_setParameter(cctx, ZSTD_c_nbWorkers, options.threads) }
        if let log = options.windowLog { try setting(ZSTD_CCtx_setParameter(cctx, ZSTD_c_windowLog, log)) }
        if options.longDistanceMatching { try setting(ZSTD_CCtx_setParameter(cctx, ZSTD_c_enableLongDistanceMatching, 1)) }
        // The size in the frame header lets decoders refuse a bomb up front, and makes libzstd
        // fail if the file grows or shrinks while we read it.
        if let size = input.remainingBytes() { try setting(ZSTD_CCtx_setPledgedSrcSize(cctx, size)) }

        var pump = Pump(input: input, output: output, inCapacity: ZSTD_CStreamInSize(), outCapacity: ZSTD_CStreamOutSize())
        defer { pump.deallocate() }
        while true {
            let n = try pump.readInput()
            let last = n == 0
            var inb = ZSTD_inBuffer(src: pump.inBuf.baseAddress, size: n, pos: 0)
            var done = false
            repeat {
                var outb = ZSTD_outBuffer(dst: pump.outBuf.baseAddress, size: pump.outBuf.count, pos: 0)
                let remaining = ZSTD_compressStream2(cctx, &outb, &inb, last ? ZSTD_e_end : ZSTD_e_continue)
                if ZSTD_isError(remaining) != 0 {
                    let name = errorName(remaining)
                    throw ZSTD_getErrorCode(remaining) == ZSTD_error_srcSize_wrong
                        ? ZstdError.inputChanged(reason: name) : ZstdError.compressionFailed(reason: name)
                }
                try pump.emit(outb.pos)
                done = last ? remaining == 0 : inb.pos == inb.size
            } while !done
            if last { return pump.result }
        }
    }

    static func decompress(from input: OpenFile, to output: OpenFile, maxWindowLog: Int, maxOutputBytes: UInt64) throws -> ZstdResult {
        guard let dctx = ZSTD_createDCtx() else { throw ZstdError.outOfMemory }
        defer { ZSTD_freeDCtx(dctx) }
        try setting(ZSTD_DCtx_setParameter(dctx, ZSTD_d_windowLogMax, Int32(maxWindowLog)))

        var pump = Pump(input: input, output: output, inCapacity: ZSTD_DStreamInSize(), outCapacity: ZSTD_DStreamOutSize())
        defer { pump.deallocate() }
        var header: [UInt8] = []
        var frameDone = false
        while true {
            let chunkStart = pump.bytesIn
            let n = try pump.readInput()
            if n == 0 { break }
            if frameDone { throw ZstdError.trailingData(frameEnd: chunkStart) }
            if header.count < ZstdFrameHeader.maxSize {
                header += pump.inBuf.prefix(min(n, ZstdFrameHeader.maxSize - header.count))
                if let declared = ZstdFrameHeader.contentSize(header), declared > maxOutputBytes {
                    throw ZstdError.outputTooLarge(limit: maxOutputBytes, declared: declared)
                }
            }
            var inb = ZSTD_inBuffer(src: pump.inBuf.baseAddress, size: n, pos: 0)
            var more = true
            while more {
                var outb = ZSTD_outBuffer(dst: pump.outBuf.baseAddress, size: pump.outBuf.count, pos: 0)
                let hint = ZSTD_decompressStream(dctx, &outb, &inb)
                if ZSTD_isError(hint) != 0 { throw decodeError(hint, header: header, capLog: maxWindowLog) }
                // Checked before writing, so a bomb never reaches the disk beyond the cap.
                guard pump.bytesOut + UInt64(outb.pos) <= maxOutputBytes else {
                    throw ZstdError.outputTooLarge(limit: maxOutputBytes, declared: nil)
                }
                let before = pump.bytesOut
                try pump.emit(outb.pos)
                if before < 1 << 20 && pump.bytesOut >= 1 << 20 { Fault.point(.decompress) }
                if hint == 0 {
                    frameDone = true
                    guard inb.pos == inb.size else { throw ZstdError.trailingData(frameEnd: chunkStart + UInt64(inb.pos)) }
                }
                // A full output buffer may leave decoded bytes inside libzstd: drain them too.
                more = !frameDone && (inb.pos < inb.size || outb.pos == outb.size)
            }
        }
        guard frameDone else { throw ZstdError.truncated(afterBytes: pump.bytesIn) }
        return pump.result
    }

    static func setting(_ code: Int) throws {
        if ZSTD_isError(code) != 0 { throw ZstdError.compressionFailed(reason: errorName(code)) }
    }

    static func errorName(_ code: Int) -> String { String(cString: ZSTD_getErrorName(code)) }

    static func decodeError(_ code: Int, header: [UInt8], capLog: Int) -> ZstdError {
        switch ZSTD_getErrorCode(code) {
        case ZSTD_error_frameParameter_windowTooLarge: .windowTooLarge(neededLog: ZstdFrameHeader.windowLog(header), capLog: capLog)
        case ZSTD_error_checksum_wrong: .checksumMismatch(reason: errorName(code))
        case ZSTD_error_prefix_unknown: .notZstd
        case ZSTD_error_memory_allocation: .outOfMemory
        default: .corrupt(reason: errorName(code))
        }
    }
}

/// The two fixed buffers of a stream and the running counts and hashes of what passed through.
private struct Pump {
    let input: OpenFile
    let output: OpenFile
    let inBuf: UnsafeMutableRawBufferPointer
    let outBuf: UnsafeMutableRawBufferPointer
    var inHash = SHA256()
    var outHash = SHA256()
    var bytesIn: UInt64 = 0
    var bytesOut: UInt64 = 0

    init(input: OpenFile, output: OpenFile, inCapacity: Int, outCapacity: Int) {
        self.input = input
        self.output = output
        inBuf = .allocate(byteCount: inCapacity, alignment: 64)
        outBuf = .allocate(byteCount: outCapacity, alignment: 64)
    }

    func deallocate() {
        inBuf.deallocate()
        outBuf.deallocate()
    }

    mutating func readInput() throws -> Int {
        let n = try input.readChunk(into: inBuf)
        inHash.update(bufferPointer: UnsafeRawBufferPointer(rebasing: inBuf[..<n]))
        bytesIn += UInt64(n)
        return n
    }

    mutating func emit(_ count: Int) throws {
        guard count > 0 else { return }
        let chunk = UnsafeRawBufferPointer(rebasing: outBuf[..<count])
        try output.writeAll(chunk)
        outHash.update(bufferPointer: chunk)
        bytesOut += UInt64(count)
    }

    var result: ZstdResult {
        ZstdResult(bytesIn: bytesIn, bytesOut: bytesOut, inputSHA256: inHash.finalize().hex, outputSHA256: outHash.finalize().hex)
    }
}

/// The few fields of a zstd frame header (RFC 8878 §3.1.1.1) the store needs before decoding.
enum ZstdFrameHeader {
    static let magic: [UInt8] = [0x28, 0xB5, 0x2F, 0xFD]
    static let maxSize = 18

    /// The content size the header declares, if it declares one.
    static func contentSize(_ header: [UInt8]) -> UInt64? {
        let size = header.withUnsafeBytes { ZSTD_getFrameContentSize($0.baseAddress, $0.count) }
        return size >= UInt64.max - 1 ? nil : size  // ZSTD_CONTENTSIZE_UNKNOWN or _ERROR
    }

    /// The window the decoder must keep, in bytes.
    static func windowSize(_ h: [UInt8]) -> UInt64? {
        guard h.count >= 6, Array(h.prefix(4)) == magic else { return nil }
        let descriptor = h[4]
        guard descriptor & 0x20 != 0 else {
            // Window_Descriptor: exponent in the high five bits, eighths of it in the low three.
            let base: UInt64 = 1 << (10 + UInt64(h[5] >> 3))
            return base + base / 8 * UInt64(h[5] & 7)
        }
        // Single segment: the window is the whole content.
        return contentSize(h)
    }

    /// log2 of the window, rounded up (what ZSTD_d_windowLogMax is compared with).
    static func windowLog(_ h: [UInt8]) -> Int? {
        guard let size = windowSize(h) else { return nil }
        return size <= 1 << 10 ? 10 : 64 - (size - 1).leadingZeroBitCount
    }
}

extension Digest {
    var hex: String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        for byte in self {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 15)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
