import Foundation
import GGUF

/// Writes GGUF files for tests: well-formed ones for synthetic models, and, through its
/// overridable fields, each kind of malformed file the parser must refuse.
public struct GGUFBuilder {
    public enum Value {
        case u8(UInt8), i8(Int8), u16(UInt16), i16(Int16), u32(UInt32), i32(Int32), u64(UInt64), i64(Int64)
        case f32(Float), f64(Double), bool(Bool), string(String)
        case array(GGUFValueType, [Value])
        /// A value with a raw type id and raw payload bytes, for unknown-type cases.
        case raw(type: UInt32, bytes: [UInt8])
    }

    public struct Tensor {
        public var name: String
        public var type: UInt32
        public var shape: [Int64]
        public var data: [UInt8]
        /// Overrides the computed offset (relative to the data section).
        public var offset: UInt64?
        public init(name: String, type: TensorType, shape: [Int64], data: [UInt8], offset: UInt64? = nil) {
            self.name = name; self.type = type.rawValue; self.shape = shape; self.data = data; self.offset = offset
        }
        public init(name: String, rawType: UInt32, shape: [Int64], data: [UInt8], offset: UInt64? = nil) {
            self.name = name; self.type = rawType; self.shape = shape; self.data = data; self.offset = offset
        }
    }

    public var magic: UInt32 = GGUFFile.magic
    public var version: UInt32 = 3
    public var kvs: [(String, Value)] = []
    public var tensors: [Tensor] = []
    public var alignment: Int = 32
    /// Overrides of the counts written in the header.
    public var tensorCountOverride: UInt64?
    public var kvCountOverride: UInt64?

    public init() {}

    public mutating func add(_ key: String, _ value: Value) { kvs.append((key, value)) }
    public mutating func add(_ tensor: Tensor) { tensors.append(tensor) }

    public func build() -> [UInt8] {
        var out = [UInt8]()
        func put<T: FixedWidthInteger>(_ v: T) { withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
        func putString(_ s: String) { put(UInt64(s.utf8.count)); out.append(contentsOf: Array(s.utf8)) }
        func putValue(_ v: Value) {
            switch v {
            case let .u8(x): put(x); case let .i8(x): put(x); case let .u16(x): put(x); case let .i16(x): put(x)
            case let .u32(x): put(x); case let .i32(x): put(x); case let .u64(x): put(x); case let .i64(x): put(x)
            case let .f32(x): put(x.bitPattern); case let .f64(x): put(x.bitPattern)
            case let .bool(x): put(UInt8(x ? 1 : 0))
            case let .string(s): putString(s)
            case let .array(t, items): put(t.rawValue); put(UInt64(items.count)); items.forEach(putValue)
            case let .raw(_, bytes): out.append(contentsOf: bytes)
            }
        }
        func typeId(_ v: Value) -> UInt32 {
            switch v {
            case .u8: 0; case .i8: 1; case .u16: 2; case .i16: 3; case .u32: 4; case .i32: 5; case .f32: 6
            case .bool: 7; case .string: 8; case .array: 9; case .u64: 10; case .i64: 11; case .f64: 12
            case let .raw(t, _): t
            }
        }
        put(magic); put(version)
        put(tensorCountOverride ?? UInt64(tensors.count))
        put(kvCountOverride ?? UInt64(kvs.count))
        for (k, v) in kvs { putString(k); put(typeId(v)); putValue(v) }
        var offsets = [UInt64]()
        var next: UInt64 = 0
        for t in tensors {
            offsets.append(t.offset ?? next)
            if t.offset == nil { next = (next + UInt64(t.data.count) + UInt64(alignment) - 1) / UInt64(alignment) * UInt64(alignment) }
        }
        for (t, off) in zip(tensors, offsets) {
            putString(t.name); put(UInt32(t.shape.count)); t.shape.forEach { put(UInt64(bitPattern: $0)) }
            put(t.type); put(off)
        }
        while out.count % alignment != 0 { out.append(0) }
        let base = out.count
        // Tensors at computed offsets extend the file; an overridden offset (a test placing a
        // tensor out of bounds or on top of another) only writes where the file already reaches.
        for (t, off) in zip(tensors, offsets) where t.offset == nil {
            let start = base + Int(off)
            if out.count < start + t.data.count { out.append(contentsOf: [UInt8](repeating: 0, count: start + t.data.count - out.count)) }
            out.replaceSubrange(start..<start + t.data.count, with: t.data)
        }
        for (t, off) in zip(tensors, offsets) where t.offset != nil && off <= UInt64(out.count - base) {
            let start = base + Int(off), end = min(out.count, start + t.data.count)
            out.replaceSubrange(start..<end, with: t.data.prefix(end - start))
        }
        return out
    }

    /// Writes the file to a fresh temporary path and returns it.
    public func write(name: String = "test") throws -> String {
        try Self.writeTemporary(build(), name: name)
    }

    public static func writeTemporary(_ bytes: [UInt8], name: String) throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("edgelm-tests-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let url = dir.appendingPathComponent("\(name)-\(UUID().uuidString).gguf")
        try Data(bytes).write(to: url)
        return url.path
    }
}

/// Float arrays as little-endian bytes, for tensor payloads.
public func f32Bytes(_ xs: [Float]) -> [UInt8] {
    var out = [UInt8](); out.reserveCapacity(xs.count * 4)
    for x in xs { withUnsafeBytes(of: x.bitPattern.littleEndian) { out.append(contentsOf: $0) } }
    return out
}
