/// A cursor over the mapped file that checks every read against the bytes remaining,
/// so a hostile length can never read past the end or trigger a huge allocation.
struct ByteReader {
    let bytes: UnsafeRawBufferPointer
    private(set) var offset: Int = 0

    init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    var remaining: UInt64 { UInt64(bytes.count - offset) }

    mutating func require(_ count: UInt64, _ field: @autoclosure () -> String) throws {
        guard count <= remaining else {
            throw GGUFError.truncated(field: field(), needed: count, remaining: remaining)
        }
    }

    mutating func read<T: FixedWidthInteger>(_: T.Type, _ field: @autoclosure () -> String) throws -> T {
        try require(UInt64(MemoryLayout<T>.size), field())
        let v = bytes.loadUnaligned(fromByteOffset: offset, as: T.self)
        offset += MemoryLayout<T>.size
        return T(littleEndian: v)
    }

    mutating func readFloat(_ field: @autoclosure () -> String) throws -> Float {
        Float(bitPattern: try read(UInt32.self, field()))
    }

    mutating func readDouble(_ field: @autoclosure () -> String) throws -> Double {
        Double(bitPattern: try read(UInt64.self, field()))
    }

    mutating func readString(_ field: @autoclosure () -> String) throws -> String {
        let length = try read(UInt64.self, field())
        try require(length, field())
        let start = offset
        offset += Int(length)
        let slice = UnsafeRawBufferPointer(rebasing: bytes[start..<offset])
        guard let s = String(validating: slice, as: UTF8.self) else { throw GGUFError.invalidString(field: field()) }
        return s
    }

    /// Reads a count and checks that `count` items of at least `minimumSize` bytes each fit in what remains.
    mutating func readCount(_ field: @autoclosure () -> String, minimumSize: UInt64) throws -> Int {
        let count = try read(UInt64.self, field())
        let limit = remaining / max(minimumSize, 1)
        guard count <= limit else { throw GGUFError.countTooLarge(field: field(), count: count, limit: limit) }
        return Int(count)
    }

    mutating func skip(to newOffset: Int) { offset = newOffset }
}
