/// Why a GGUF file was refused. Every case names the field and the value that was wrong,
/// so a user can tell a truncated download from a file of an unsupported kind.
public enum GGUFError: Error, Equatable, Sendable, CustomStringConvertible {
    case cannotOpen(path: String, reason: String)
    case badMagic(found: UInt32)
    case unsupportedVersion(UInt32)
    case countTooLarge(field: String, count: UInt64, limit: UInt64)
    case truncated(field: String, needed: UInt64, remaining: UInt64)
    case unknownValueType(key: String, type: UInt32)
    case wrongValueType(key: String, expected: String, found: String)
    case invalidString(field: String)
    case badAlignment(UInt64)
    case badDimensionCount(tensor: String, count: UInt32)
    case badDimension(tensor: String, index: Int, value: Int64)
    case sizeOverflow(tensor: String)
    case unknownTensorType(tensor: String, type: UInt32)
    case rowNotBlockMultiple(tensor: String, rowLength: Int64, blockSize: Int)
    case duplicateTensor(String)
    case duplicateKey(String)
    case misalignedTensor(tensor: String, offset: UInt64, alignment: UInt64)
    case tensorOutOfBounds(tensor: String, offset: UInt64, size: UInt64, dataSize: UInt64)
    case overlappingTensors(String, String)
    case missingKey(String)
    case missingTensor(String)

    public var description: String {
        switch self {
        case let .cannotOpen(path, reason): "cannot open GGUF file \(path): \(reason)"
        case let .badMagic(found): "not a GGUF file: magic is 0x\(String(found, radix: 16)), expected 0x46554747 (\"GGUF\")"
        case let .unsupportedVersion(v): "unsupported GGUF version \(v) (supported: 2, 3)"
        case let .countTooLarge(field, count, limit): "\(field) = \(count) exceeds what the file can hold (at most \(limit))"
        case let .truncated(field, needed, remaining): "\(field) needs \(needed) bytes but only \(remaining) remain in the file"
        case let .unknownValueType(key, type): "metadata key \(key): unknown value type \(type)"
        case let .wrongValueType(key, expected, found): "metadata key \(key): expected \(expected), found \(found)"
        case let .invalidString(field): "\(field) is not valid UTF-8"
        case let .badAlignment(a): "general.alignment = \(a): must be a non-zero power of two"
        case let .badDimensionCount(tensor, count): "tensor \(tensor): \(count) dimensions (must be 1...4)"
        case let .badDimension(tensor, index, value): "tensor \(tensor): dimension \(index) is \(value) (must be > 0)"
        case let .sizeOverflow(tensor): "tensor \(tensor): element count or byte size overflows 64 bits"
        case let .unknownTensorType(tensor, type): "tensor \(tensor): unknown ggml type \(type)"
        case let .rowNotBlockMultiple(tensor, row, block): "tensor \(tensor): row length \(row) is not a multiple of the type's block size \(block)"
        case let .duplicateTensor(name): "duplicate tensor name \(name)"
        case let .duplicateKey(key): "duplicate metadata key \(key)"
        case let .misalignedTensor(tensor, offset, alignment): "tensor \(tensor): offset \(offset) is not a multiple of the alignment \(alignment)"
        case let .tensorOutOfBounds(tensor, offset, size, dataSize): "tensor \(tensor): bytes \(offset)..<\(offset &+ size) lie outside the data section of \(dataSize) bytes"
        case let .overlappingTensors(a, b): "tensors \(a) and \(b) overlap"
        case let .missingKey(key): "required metadata key \(key) is missing"
        case let .missingTensor(name): "required tensor \(name) is missing"
        }
    }
}
