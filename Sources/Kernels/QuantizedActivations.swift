import CKernels

/// Activations quantized once per input and reused by every matrix that reads the same input
/// (Q, K and V; gate and up). Each activation type is produced on first request after `reset`.
public final class QuantizedActivations: @unchecked Sendable {
    private let maxTokens: Int
    private let cols: Int
    private var buffers: [UInt32: (data: UnsafeMutableRawPointer, stride: Int)] = [:]
    private var fresh: Set<UInt32> = []
    private var source: UnsafePointer<Float>?
    private var sourceStride = 0
    private var tokens = 0

    public init(maxTokens: Int, cols: Int) {
        self.maxTokens = maxTokens
        self.cols = cols
    }

    deinit { for b in buffers.values { b.data.deallocate() } }

    /// Points at new input rows: `tokens` rows of `cols` floats, `stride` floats apart.
    public func reset(_ x: UnsafePointer<Float>, stride: Int, tokens: Int) {
        precondition(tokens <= maxTokens, "batch larger than the buffers were sized for")
        source = x
        sourceStride = stride
        self.tokens = tokens
        fresh.removeAll(keepingCapacity: true)
    }

    /// The input quantized to `type`, with its row stride in bytes.
    public func rows(as type: UInt32) -> (data: UnsafeRawPointer, stride: Int) {
        let buffer: (data: UnsafeMutableRawPointer, stride: Int)
        if let b = buffers[type] {
            buffer = b
        } else {
            let stride = (ek_row_size(Int32(type), Int64(cols)) + 63) & ~63
            buffer = (.allocate(byteCount: stride * maxTokens, alignment: 64), stride)
            buffers[type] = buffer
        }
        if !fresh.contains(type), let source {
            ek_quantize_rows(Int32(type), source, Int64(sourceStride), Int64(tokens), Int64(cols), buffer.data, buffer.stride)
            fresh.insert(type)
        }
        return (UnsafeRawPointer(buffer.data), buffer.stride)
    }

    public var tokenCount: Int { tokens }
}
