import CKernels

public enum KernelError: Error, CustomStringConvertible, Equatable {
    case unsupportedType(tensor: String, type: UInt32)
    case shapeMismatch(tensor: String, expected: [Int], found: [Int])

    public var description: String {
        switch self {
        case let .unsupportedType(tensor, type): "tensor \(tensor): type \(type) has no kernel in this engine"
        case let .shapeMismatch(tensor, expected, found): "tensor \(tensor): shape \(found), expected \(expected)"
        }
    }
}

/// A weight matrix of `rows` rows of `cols` elements, read in place from the mapped file.
public struct WeightMatrix: @unchecked Sendable {
    public let name: String
    public let type: UInt32
    public let rows: Int
    public let cols: Int
    public let data: UnsafeRawPointer
    public let rowBytes: Int
    /// The type activations are quantized to before the dot product with this matrix.
    public let activationType: UInt32

    public init(name: String, type: UInt32, rows: Int, cols: Int, data: UnsafeRawPointer) throws {
        guard let traits = ek_traits(Int32(type)), traits.pointee.vec_dot != nil, traits.pointee.to_float != nil else {
            throw KernelError.unsupportedType(tensor: name, type: type)
        }
        self.name = name
        self.type = type
        self.rows = rows
        self.cols = cols
        self.data = data
        rowBytes = ek_row_size(Int32(type), Int64(cols))
        activationType = traits.pointee.vec_dot_type.rawValue
    }

    /// Dequantizes row `r` into `out` (one embedding lookup).
    public func dequantizeRow(_ r: Int, into out: UnsafeMutablePointer<Float>) {
        ek_traits(Int32(type)).pointee.to_float(data + r * rowBytes, out, Int64(cols))
    }
}
