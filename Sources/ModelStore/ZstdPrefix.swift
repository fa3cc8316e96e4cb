import CZstd

/// One zstd frame compressed against a prefix (the matching region of an older model), the
/// building block of a patch. Both directions keep model-sized data out of the heap: the
/// compressor reads its input in place (stable input buffer: no window copy), the decompressor
/// writes into the caller's mapped output (stable output buffer: no window buffer), and the
/// prefix is referenced where it is mapped, never copied.
extension Zstd {
    /// Compresses `input` as one frame that may copy from `prefix`, with long-distance matching
    /// and a window of 2^`windowLog` (which must cover prefix + input for the whole prefix to be
    /// reachable). Writes the frame to `output` through a fixed buffer; returns its size.
    static func compressFrame(_ input: UnsafeRawBufferPointer, prefix: UnsafeRawBufferPointer, windowLog: Int, level: Int32,
                              to output: OpenFile) throws -> UInt64 {
        guard let cctx = ZSTD_createCCtx() else { throw ZstdError.outOfMemory }
        defer { ZSTD_freeCCtx(cctx) }
        try setting(ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, level))
        try setting(ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 1))
        try setting(ZSTD_CCtx_setParameter(cctx, ZSTD_c_windowLog, Int32(windowLog)))
        try setting(ZSTD_CCtx_setParameter(cctx, ZSTD_c_enableLongDistanceMatching, 1))
        // ZSTD_c_stableInBuffer: libzstd reads the mapped input in place instead of copying a
        // window's worth of it into its own buffer.
        try setting(ZSTD_CCtx_setParameter(cctx, ZSTD_c_experimentalParam9, 1))
        try setting(ZSTD_CCtx_setPledgedSrcSize(cctx, UInt64(input.count)))
        if prefix.count > 0 { try setting(ZSTD_CCtx_refPrefix(cctx, prefix.baseAddress, prefix.count)) }

        let capacity = ZSTD_CStreamOutSize()
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: capacity, alignment: 64)
        defer { buffer.deallocate() }
        // The same ZSTD_inBuffer throughout: a stable input may only be advanced by libzstd.
        var inb = ZSTD_inBuffer(src: input.baseAddress, size: input.count, pos: 0)
        var written: UInt64 = 0
        while true {
            var outb = ZSTD_outBuffer(dst: buffer.baseAddress, size: capacity, pos: 0)
            let remaining = ZSTD_compressStream2(cctx, &outb, &inb, ZSTD_e_end)
            if ZSTD_isError(remaining) != 0 { throw ZstdError.compressionFailed(reason: errorName(remaining)) }
            try output.writeAll(UnsafeRawBufferPointer(rebasing: buffer[..<outb.pos]))
            written += UInt64(outb.pos)
            if remaining == 0 { return written }
        }
    }

    /// Decodes exactly `frameSize` bytes of `input` (from its current offset) as one frame into
    /// `output`, which it must fill exactly; matches may reach into `prefix`. A frame asking for a
    /// window over 2^`maxWindowLog`, declaring another content size, overflowing `output`, ending
    /// early or late, or failing its checksum is refused.
    static func decompressFrame(from input: OpenFile, frameSize: UInt64, prefix: UnsafeRawBufferPointer,
                                into output: UnsafeMutableRawBufferPointer, maxWindowLog: Int) throws {
        guard let dctx = ZSTD_createDCtx() else { throw ZstdError.outOfMemory }
        defer { ZSTD_freeDCtx(dctx) }
        try setting(ZSTD_DCtx_setParameter(dctx, ZSTD_d_windowLogMax, Int32(maxWindowLog)))
        // ZSTD_d_stableOutBuffer: decode straight into the mapped output, so libzstd allocates no
        // window-sized buffer of its own (a window here spans the prefix: up to 2 GiB).
        try setting(ZSTD_DCtx_setParameter(dctx, ZSTD_d_experimentalParam2, 1))
        if prefix.count > 0 { try setting(ZSTD_DCtx_refPrefix(dctx, prefix.baseAddress, prefix.count)) }

        let capacity = ZSTD_DStreamInSize()
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: capacity, alignment: 64)
        defer { buffer.deallocate() }
        var outb = ZSTD_outBuffer(dst: output.baseAddress, size: output.count, pos: 0)
        var header: [UInt8] = []
        var consumed: UInt64 = 0
        var done = false
        while consumed < frameSize {
            let want = Int(min(UInt64(capacity), frameSize - consumed))
            let n = try input.readFully(into: UnsafeMutableRawBufferPointer(rebasing: buffer[..<want]))
            guard n == want else { throw ZstdError.truncated(afterBytes: consumed + UInt64(n)) }
            if done { throw ZstdError.trailingData(frameEnd: consumed) }
            if header.count < ZstdFrameHeader.maxSize {
                header += buffer.prefix(min(n, ZstdFrameHeader.maxSize - header.count))
                // Every frame of a patch declares its size; another size than planned is refused
                // before a byte is decoded.
                if header.count >= min(ZstdFrameHeader.maxSize, Int(frameSize)) {
                    guard let declared = ZstdFrameHeader.contentSize(header) else {
                        throw ZstdError.corrupt(reason: "a patch frame must declare its content size")
                    }
                    guard declared == UInt64(output.count) else {
                        throw ZstdError.outputTooLarge(limit: UInt64(output.count), declared: declared)
                    }
                }
            }
            var inb = ZSTD_inBuffer(src: buffer.baseAddress, size: n, pos: 0)
            while inb.pos < inb.size && !done {
                let before = (inb.pos, outb.pos)
                let hint = ZSTD_decompressStream(dctx, &outb, &inb)
                if ZSTD_isError(hint) != 0 {
                    if ZSTD_getErrorCode(hint) == ZSTD_error_dstSize_tooSmall {
                        throw ZstdError.outputTooLarge(limit: UInt64(output.count), declared: nil)
                    }
                    throw decodeError(hint, header: header, capLog: maxWindowLog)
                }
                done = hint == 0
                guard done || (inb.pos, outb.pos) != before else { throw ZstdError.corrupt(reason: "the decoder made no progress") }
            }
            consumed += UInt64(inb.pos)
            if done && inb.pos < inb.size { throw ZstdError.trailingData(frameEnd: consumed) }
        }
        guard done else { throw ZstdError.truncated(afterBytes: consumed) }
        guard outb.pos == output.count else { throw ZstdError.corrupt(reason: "the frame decoded to \(outb.pos) bytes, \(output.count) expected") }
    }
}
