/// A tensor inside the mapped file: a pointer into the mapping plus its type and shape.
/// `shape[0]` is the row length (contiguous), as in GGUF.
public struct TensorView: @unchecked Sendable {
    public let name: String
    public let type: TensorType
    public let shape: [Int]
    /// Offset of the first byte from the start of the file.
    public let fileOffset: Int
    public let byteCount: Int
    public let data: UnsafeRawPointer

    public var elementCount: Int { shape.reduce(1, *) }
    public var rowLength: Int { shape[0] }
    public var rowCount: Int { elementCount / shape[0] }
    public var rowBytes: Int { byteCount / max(rowCount, 1) }
}

/// A tensor's entry in the header, before it is bound to the mapping.
public struct TensorInfo: Sendable, Equatable {
    public let name: String
    public let type: TensorType
    public let shape: [Int]
    /// Offset from the start of the data section.
    public let offset: UInt64
    public let byteCount: UInt64
}
