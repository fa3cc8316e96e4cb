/// Why a zstd stream was refused. Each case says what was wrong with the archive, so a user can
/// tell a truncated download from a corrupt one or from one this machine is not allowed to open.
public enum ZstdError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The frame asks for a larger window (decoder memory) than the cap allows.
    case windowTooLarge(neededLog: Int?, capLog: Int)
    /// Decompressed output would exceed the allowed size (`declared` when the frame header said so).
    case outputTooLarge(limit: UInt64, declared: UInt64?)
    /// The input ended before the frame did.
    case truncated(afterBytes: UInt64)
    /// The input does not start with a zstd frame.
    case notZstd
    /// The content checksum at the end of the frame does not match the decompressed data.
    case checksumMismatch(reason: String)
    /// libzstd found the frame malformed.
    case corrupt(reason: String)
    /// Bytes follow the end of the (single) frame.
    case trailingData(frameEnd: UInt64)
    /// The input's size changed while it was being compressed.
    case inputChanged(reason: String)
    case compressionFailed(reason: String)
    case outOfMemory

    public var description: String {
        switch self {
        case let .windowTooLarge(needed?, cap):
            "zstd frame needs a 2^\(needed)-byte window, the cap is 2^\(cap) (recompress with a smaller window, e.g. without --long)"
        case let .windowTooLarge(nil, cap): "zstd frame needs a window larger than the cap of 2^\(cap) bytes"
        case let .outputTooLarge(limit, declared?):
            "zstd frame declares \(declared) bytes of content, over the limit of \(limit) bytes (decompression bomb?)"
        case let .outputTooLarge(limit, nil): "decompressed output exceeds the limit of \(limit) bytes (decompression bomb?)"
        case let .truncated(n): "the archive is truncated: input ended mid-frame after \(n) bytes"
        case .notZstd: "not a zstd archive (the input does not start with a zstd frame)"
        case let .checksumMismatch(reason): "the archive is corrupt: content checksum mismatch (\(reason))"
        case let .corrupt(reason): "the archive is corrupt: \(reason)"
        case let .trailingData(end): "unexpected data after the end of the zstd frame at byte \(end)"
        case let .inputChanged(reason): "the input changed while it was being compressed (\(reason))"
        case let .compressionFailed(reason): "zstd compression failed: \(reason)"
        case .outOfMemory: "zstd could not allocate its context"
        }
    }
}
