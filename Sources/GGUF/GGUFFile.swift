/// A parsed and validated GGUF file (versions 2 and 3), mapped read-only.
///
/// Every length, count and offset in the header is checked against the bytes that remain and
/// against the format's limits before anything is allocated; a bad file is refused with a
/// `GGUFError` naming the field, never a crash.
public final class GGUFFile: @unchecked Sendable {
    public static let magic: UInt32 = 0x4655_4747  // "GGUF" read little-endian
    public static let defaultAlignment: UInt64 = 32
    static let maxDimensions: UInt32 = 4
    static let maxArrayNesting = 8

    public let path: String
    public let version: UInt32
    public let metadata: GGUFMetadata
    public let tensorInfos: [TensorInfo]
    public let alignment: UInt64
    /// Offset of the data section from the start of the file.
    public let dataOffset: Int
    public let file: MappedFile
    private let index: [String: Int]

    public convenience init(path: String) throws {
        try self.init(file: MappedFile(path: path))
    }

    public init(file: MappedFile) throws {
        self.file = file
        path = file.path
        var reader = ByteReader(file.bytes)

        let magic = try reader.read(UInt32.self, "magic")
        guard magic == Self.magic else { throw GGUFError.badMagic(found: magic) }
        version = try reader.read(UInt32.self, "version")
        guard version == 2 || version == 3 else { throw GGUFError.unsupportedVersion(version) }
        let tensorCount = try reader.read(UInt64.self, "tensor count")
        // Smallest possible encodings: a KV is a key length, a value type and a 4-byte value;
        // a tensor info is a name length, n_dims, one dim, a type and an offset.
        let kvCount = try reader.readCount("metadata KV count", minimumSize: 8 + 4 + 1)
        let tensorLimit = reader.remaining / 32
        guard tensorCount <= tensorLimit else {
            throw GGUFError.countTooLarge(field: "tensor count", count: tensorCount, limit: tensorLimit)
        }

        var metadata = GGUFMetadata()
        for i in 0..<kvCount {
            let key = try reader.readString("key of metadata entry \(i)")
            let rawType = try reader.read(UInt32.self, "value type of \(key)")
            guard let type = GGUFValueType(rawValue: rawType) else { throw GGUFError.unknownValueType(key: key, type: rawType) }
            let value = try Self.readValue(&reader, type: type, key: key, depth: 0)
            try metadata.insert(key, value)
        }
        let architecture = try metadata.string("general.architecture")
        for key in metadata.keys { try KnownKeys.check(key, metadata[key]!, architecture: architecture) }
        self.metadata = metadata

        let alignment = UInt64(try metadata.uint32("general.alignment") ?? UInt32(Self.defaultAlignment))
        guard alignment > 0, alignment & (alignment - 1) == 0 else { throw GGUFError.badAlignment(alignment) }
        self.alignment = alignment

        var infos = [TensorInfo]()
        infos.reserveCapacity(Int(tensorCount))
        var index = [String: Int]()
        for i in 0..<Int(tensorCount) {
            let info = try Self.readTensorInfo(&reader, ordinal: i)
            guard index.updateValue(infos.count, forKey: info.name) == nil else { throw GGUFError.duplicateTensor(info.name) }
            infos.append(info)
        }

        let headerEnd = UInt64(reader.offset)
        let dataStart = (headerEnd + alignment - 1) / alignment * alignment
        let fileSize = UInt64(file.bytes.count)
        guard dataStart <= fileSize else {
            throw GGUFError.truncated(field: "padding before the data section", needed: dataStart - headerEnd, remaining: fileSize - headerEnd)
        }
        try Self.checkPlacement(infos, dataSize: fileSize - dataStart, alignment: alignment)
        dataOffset = Int(dataStart)
        tensorInfos = infos
        self.index = index
    }

    public var architecture: String? { try? metadata.string("general.architecture") }

    /// The named tensor as a view into the mapping, or nil if the file has no such tensor.
    public func tensor(_ name: String) -> TensorView? {
        guard let i = index[name] else { return nil }
        let info = tensorInfos[i]
        let start = dataOffset + Int(info.offset)
        return TensorView(name: info.name, type: info.type, shape: info.shape, fileOffset: start,
                          byteCount: Int(info.byteCount), data: file.bytes.baseAddress! + start)
    }

    /// The named tensor, or `GGUFError.missingTensor`.
    public func requireTensor(_ name: String) throws -> TensorView {
        guard let t = tensor(name) else { throw GGUFError.missingTensor(name) }
        return t
    }

    // MARK: - Parsing

    private static func readValue(_ r: inout ByteReader, type: GGUFValueType, key: String, depth: Int) throws -> GGUFValue {
        switch type {
        case .uint8: return .uint8(try r.read(UInt8.self, key))
        case .int8: return .int8(try r.read(Int8.self, key))
        case .uint16: return .uint16(try r.read(UInt16.self, key))
        case .int16: return .int16(try r.read(Int16.self, key))
        case .uint32: return .uint32(try r.read(UInt32.self, key))
        case .int32: return .int32(try r.read(Int32.self, key))
        case .uint64: return .uint64(try r.read(UInt64.self, key))
        case .int64: return .int64(try r.read(Int64.self, key))
        case .float32: return .float32(try r.readFloat(key))
        case .float64: return .float64(try r.readDouble(key))
        case .bool:
            let b = try r.read(UInt8.self, key)
            guard b <= 1 else { throw GGUFError.wrongValueType(key: key, expected: "bool (0 or 1)", found: "byte \(b)") }
            return .bool(b == 1)
        case .string: return .string(try r.readString(key))
        case .array:
            guard depth < maxArrayNesting else {
                throw GGUFError.countTooLarge(field: "array nesting depth of \(key)", count: UInt64(depth + 1), limit: UInt64(maxArrayNesting))
            }
            let rawElement = try r.read(UInt32.self, "element type of \(key)")
            guard let elementType = GGUFValueType(rawValue: rawElement) else { throw GGUFError.unknownValueType(key: key, type: rawElement) }
            let count = try r.readCount("array length of \(key)", minimumSize: elementType.minimumEncodedSize)
            var items = [GGUFValue]()
            items.reserveCapacity(count)
            for _ in 0..<count { items.append(try readValue(&r, type: elementType, key: key, depth: depth + 1)) }
            return .array(elementType, items)
        }
    }

    private static func readTensorInfo(_ r: inout ByteReader, ordinal: Int) throws -> TensorInfo {
        let name = try r.readString("name of tensor \(ordinal)")
        let nDims = try r.read(UInt32.self, "dimension count of \(name)")
        guard nDims >= 1, nDims <= maxDimensions else { throw GGUFError.badDimensionCount(tensor: name, count: nDims) }
        var shape = [Int]()
        var elements: Int64 = 1
        for d in 0..<Int(nDims) {
            let raw = try r.read(UInt64.self, "dimension \(d) of \(name)")
            let dim = Int64(bitPattern: raw)
            guard dim > 0 else { throw GGUFError.badDimension(tensor: name, index: d, value: dim) }
            let (product, overflow) = elements.multipliedReportingOverflow(by: dim)
            guard !overflow else { throw GGUFError.sizeOverflow(tensor: name) }
            elements = product
            shape.append(Int(dim))
        }
        let rawType = try r.read(UInt32.self, "type of \(name)")
        guard let type = TensorType(rawValue: rawType) else { throw GGUFError.unknownTensorType(tensor: name, type: rawType) }
        guard shape[0] % type.blockSize == 0 else {
            throw GGUFError.rowNotBlockMultiple(tensor: name, rowLength: Int64(shape[0]), blockSize: type.blockSize)
        }
        guard let bytes = type.rowBytes(elements) else { throw GGUFError.sizeOverflow(tensor: name) }
        let offset = try r.read(UInt64.self, "offset of \(name)")
        return TensorInfo(name: name, type: type, shape: shape, offset: offset, byteCount: UInt64(bytes))
    }

    private static func checkPlacement(_ infos: [TensorInfo], dataSize: UInt64, alignment: UInt64) throws {
        for t in infos {
            guard t.offset % alignment == 0 else { throw GGUFError.misalignedTensor(tensor: t.name, offset: t.offset, alignment: alignment) }
            let (end, overflow) = t.offset.addingReportingOverflow(t.byteCount)
            guard !overflow, end <= dataSize else {
                throw GGUFError.tensorOutOfBounds(tensor: t.name, offset: t.offset, size: t.byteCount, dataSize: dataSize)
            }
        }
        let sorted = infos.sorted { $0.offset < $1.offset }
        for (a, b) in zip(sorted, sorted.dropFirst()) where a.offset + a.byteCount > b.offset {
            throw GGUFError.overlappingTensors(a.name, b.name)
        }
    }
}
