import Foundation
import XCTest
@testable import ModelStore

/// Streaming zstd: byte-identical round trips with hashes computed on the way, and every kind
/// of hostile or damaged archive refused with the error that names it.
final class ZstdTests: TemporaryDirectoryTestCase {
    func testRoundTripIsByteIdenticalAndHashesMatchCoreutils() throws {
        // Several times the 128 KiB stream buffers, so the loops turn over many times.
        let data = pseudoRandom(3 << 20)
        let src = try write(data, to: "in.bin")
        let packed = try compress(src, path("in.bin.zst"))
        XCTAssertEqual(packed.bytesIn, UInt64(data.count))
        XCTAssertEqual(packed.bytesOut, UInt64(try read(path("in.bin.zst")).count))
        XCTAssertEqual(packed.inputSHA256, try sha256sum(src))
        XCTAssertEqual(packed.outputSHA256, try sha256sum(path("in.bin.zst")))

        let unpacked = try decompress(path("in.bin.zst"), path("out.bin"))
        XCTAssertEqual(try read(path("out.bin")), data)
        XCTAssertEqual(unpacked.outputSHA256, packed.inputSHA256)
        XCTAssertEqual(unpacked.inputSHA256, packed.outputSHA256)
        XCTAssertEqual(unpacked.bytesIn, packed.bytesOut)
        // The archive is a standard zstd frame: the zstd tool reads it too.
        XCTAssertEqual(ZstdFrameHeader.contentSize(try read(path("in.bin.zst"))), UInt64(data.count))
    }

    func testWorkerThreadsAndEmptyInputRoundTrip() throws {
        let data = pseudoRandom(1 << 20, seed: 9)
        let src = try write(data, to: "in.bin")
        try compress(src, path("mt.zst"), .init(level: 5, threads: 2))
        try decompress(path("mt.zst"), path("mt.out"))
        XCTAssertEqual(try read(path("mt.out")), data)

        let empty = try write([], to: "empty")
        try compress(empty, path("empty.zst"))
        let r = try decompress(path("empty.zst"), path("empty.out"))
        XCTAssertEqual(r.bytesOut, 0)
        XCTAssertEqual(r.outputSHA256, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    }

    func testLargeWindowIsRefusedAboveTheCap() throws {
        let data = pseudoRandom(3 << 20, seed: 2)
        let src = try write(data, to: "big.bin")
        let long = ZstdCompression(level: 3, windowLog: 27, longDistanceMatching: true)
        // With the size known, libzstd shrinks the window to the content: 3 MiB needs 2^22.
        try compress(src, path("sized.zst"), long)
        assertThrows(ZstdError.windowTooLarge(neededLog: 22, capLog: 20)) { try decompress(path("sized.zst"), path("o1"), maxWindowLog: 20) }
        // From a pipe the size is unknown and the frame keeps the full 2^27 window.
        _ = try compressFromPipe(data, path("unsized.zst"), long)
        let error = thrownError { try decompress(path("unsized.zst"), path("o2"), maxWindowLog: 20) }
        XCTAssertEqual(error as? ZstdError, .windowTooLarge(neededLog: 27, capLog: 20))
        XCTAssertEqual("\(error!)".contains("frame needs a 2^27-byte window, the cap is 2^20"), true, "\(error!)")
        XCTAssertEqual(try read(path("o2")).count, 0)
        // Within the cap the same archive decodes.
        try decompress(path("unsized.zst"), path("o3"), maxWindowLog: 27)
        XCTAssertEqual(try read(path("o3")), data)
    }

    func testBombIsRefusedByDeclaredSizeAndWhileStreaming() throws {
        let zeros = [UInt8](repeating: 0, count: 8 << 20)
        let src = try write(zeros, to: "zeros")
        try compress(src, path("declared.zst"))
        XCTAssertLessThan(try read(path("declared.zst")).count, 4096)
        assertThrows(ZstdError.outputTooLarge(limit: 1 << 20, declared: 8 << 20)) {
            try decompress(path("declared.zst"), path("o1"), maxOutputBytes: 1 << 20)
        }
        XCTAssertEqual(try read(path("o1")).count, 0, "refused before writing anything")

        _ = try compressFromPipe(zeros, path("undeclared.zst"))
        assertThrows(ZstdError.outputTooLarge(limit: 1 << 20, declared: nil)) {
            try decompress(path("undeclared.zst"), path("o2"), maxOutputBytes: 1 << 20)
        }
        XCTAssertLessThanOrEqual(try read(path("o2")).count, 1 << 20, "nothing written beyond the cap")
        // Exactly at the limit is allowed.
        XCTAssertEqual(try decompress(path("undeclared.zst"), path("o3"), maxOutputBytes: 8 << 20).bytesOut, 8 << 20)
    }

    func testTruncatedArchiveIsRefused() throws {
        let src = try write(pseudoRandom(1 << 20, seed: 3), to: "in.bin")
        try compress(src, path("full.zst"))
        let archive = try read(path("full.zst"))
        for cut in [archive.count / 2, archive.count - 1] {
            let short = try write(Array(archive.prefix(cut)), to: "cut-\(cut).zst")
            assertThrows(ZstdError.truncated(afterBytes: UInt64(cut))) { try decompress(short, path("out-\(cut)")) }
        }
        let empty = try write([], to: "empty.zst")
        assertThrows(ZstdError.truncated(afterBytes: 0)) { try decompress(empty, path("out-empty")) }
    }

    func testFlippedBytesAreRefused() throws {
        let src = try write(pseudoRandom(1 << 20, seed: 4), to: "in.bin")
        try compress(src, path("good.zst"))
        var archive = try read(path("good.zst"))

        // The last four bytes are the content checksum.
        var badChecksum = archive
        badChecksum[badChecksum.count - 2] ^= 0x40
        let error = thrownError { try decompress(try write(badChecksum, to: "sum.zst"), path("o1")) }
        guard case .checksumMismatch(let reason)? = error as? ZstdError else { return XCTFail("\(String(describing: error))") }
        XCTAssertEqual(reason, "Restored data doesn't match checksum")

        // A flipped bit in the compressed data: libzstd's block checks or the checksum catch it.
        archive[archive.count / 2] ^= 0x01
        switch thrownError({ try decompress(try write(archive, to: "mid.zst"), path("o2")) }) as? ZstdError {
        case .checksumMismatch?, .corrupt?: break
        case let other: XCTFail("unexpected \(String(describing: other))")
        }
    }

    func testTrailingDataAndForeignInputAreRefused() throws {
        let src = try write(pseudoRandom(300_000, seed: 5), to: "in.bin")
        try compress(src, path("good.zst"))
        let archive = try read(path("good.zst"))
        let trailing = try write(archive + Array("garbage".utf8), to: "trail.zst")
        assertThrows(ZstdError.trailingData(frameEnd: UInt64(archive.count))) { try decompress(trailing, path("o1")) }
        // A second frame is trailing data too: archives hold exactly one.
        let twice = try write(archive + archive, to: "twice.zst")
        assertThrows(ZstdError.trailingData(frameEnd: UInt64(archive.count))) { try decompress(twice, path("o2")) }
        assertThrows(ZstdError.notZstd) { try decompress(src, path("o3")) }
    }

    func testFrameHeaderWindowParsing() {
        // Window_Descriptor 0x58: exponent 11 → 2^21, mantissa 0.
        XCTAssertEqual(ZstdFrameHeader.windowSize(ZstdFrameHeader.magic + [0x00, 0x58]), 1 << 21)
        XCTAssertEqual(ZstdFrameHeader.windowLog(ZstdFrameHeader.magic + [0x00, 0x58]), 21)
        // Mantissa 4 adds half: 2^21 * 1.5 needs a 2^22 cap.
        XCTAssertEqual(ZstdFrameHeader.windowSize(ZstdFrameHeader.magic + [0x00, 0x5C]), 3 << 20)
        XCTAssertEqual(ZstdFrameHeader.windowLog(ZstdFrameHeader.magic + [0x00, 0x5C]), 22)
        XCTAssertNil(ZstdFrameHeader.windowSize(Array("GGUF\u{3}\0".utf8)))
    }
}
