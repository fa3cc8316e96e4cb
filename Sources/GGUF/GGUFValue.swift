/// Metadata value types, numbered as in the GGUF format.
public enum GGUFValueType: UInt32, Sendable, CustomStringConvertible {
    case uint8 = 0, int8 = 1, uint16 = 2, int16 = 3, uint32 = 4, int32 = 5, float32 = 6, bool = 7
    case string = 8, array = 9, uint64 = 10, int64 = 11, float64 = 12

    /// Smallest encoding of one value of this type, used to bound counts before allocating.
    var minimumEncodedSize: UInt64 {
        switch self {
        case .uint8, .int8, .bool: 1
        case .uint16, .int16: 2
        case .uint32, .int32, .float32: 4
        case .uint64, .int64, .float64, .string: 8
        case .array: 12
        }
    }

    public var description: String {
        switch self {
        case .uint8: "uint8"; case .int8: "int8"; case .uint16: "uint16"; case .int16: "int16"
        case .uint32: "uint32"; case .int32: "int32"; case .float32: "float32"; case .bool: "bool"
        case .string: "string"; case .array: "array"; case .uint64: "uint64"; case .int64: "int64"
        case .float64: "float64"
        }
    }
}

/// One metadata value. Arrays keep their element type so that an empty array still has one.
public enum GGUFValue: Sendable, Equatable {
    case uint8(UInt8), int8(Int8), uint16(UInt16), int16(Int16)
    case uint32(UInt32), int32(Int32), uint64(UInt64), int64(Int64)
    case float32(Float), float64(Double), bool(Bool), string(String)
    case array(GGUFValueType, [GGUFValue])

    public var type: GGUFValueType {
        switch self {
        case .uint8: .uint8; case .int8: .int8; case .uint16: .uint16; case .int16: .int16
        case .uint32: .uint32; case .int32: .int32; case .uint64: .uint64; case .int64: .int64
        case .float32: .float32; case .float64: .float64; case .bool: .bool; case .string: .string
        case .array: .array
        }
    }

    /// The type as written in errors, e.g. "array of string".
    public var typeDescription: String {
        if case let .array(elementType, _) = self { return "array of \(elementType)" }
        return type.description
    }

    /// The value as an integer when it is any integer type, whatever its width.
    public var integerValue: Int64? {
        switch self {
        case let .uint8(v): Int64(v); case let .int8(v): Int64(v)
        case let .uint16(v): Int64(v); case let .int16(v): Int64(v)
        case let .uint32(v): Int64(v); case let .int32(v): Int64(v)
        case let .int64(v): v
        case let .uint64(v): v <= UInt64(Int64.max) ? Int64(v) : nil
        default: nil
        }
    }
}
