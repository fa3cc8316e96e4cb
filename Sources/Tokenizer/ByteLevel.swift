/// GPT-2's reversible byte ↔ unicode mapping: every byte gets a printable character so that
/// BPE vocabularies can be stored as text. Printable Latin-1 bytes map to themselves; the
/// remaining 68 bytes (controls, space, 0x7F-0xA0, 0xAD) map to U+0100... in byte order.
enum ByteLevel {
    /// Character (as a scalar value) for each byte.
    static let byteToScalar: [UInt32] = {
        var table = [UInt32](repeating: 0, count: 256)
        var next: UInt32 = 256
        for b in 0..<256 {
            if (0x21...0x7E).contains(b) || (0xA1...0xAC).contains(b) || (0xAE...0xFF).contains(b) {
                table[b] = UInt32(b)
            } else {
                table[b] = next
                next += 1
            }
        }
        return table
    }()

    /// Byte for each alphabet scalar below 0x144 (the largest is U+0143), or -1.
    static let scalarToByte: [Int16] = {
        var table = [Int16](repeating: -1, count: 0x144)
        for (b, s) in byteToScalar.enumerated() { table[Int(s)] = Int16(b) }
        return table
    }()

    /// The raw bytes a byte-level token text stands for, or nil if the text contains a character
    /// outside the alphabet (such text can never be produced by byte-encoding real input).
    static func decode(_ text: String) -> [UInt8]? {
        var out = [UInt8]()
        out.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            let v = Int(scalar.value)
            guard v < scalarToByte.count, scalarToByte[v] >= 0 else { return nil }
            out.append(UInt8(scalarToByte[v]))
        }
        return out
    }

    /// Decodes byte-level text given as UTF-8 into `out` (appending); false if a character is
    /// outside the alphabet, in which case `out` holds a partial result. Every alphabet
    /// character is one or two UTF-8 bytes, which keeps this a tight loop.
    static func decode(utf8 s: UnsafeBufferPointer<UInt8>, into out: inout [UInt8]) -> Bool {
        var i = 0
        let n = s.count
        while i < n {
            let b0 = s[i]
            var v: Int
            if b0 < 0x80 {
                v = Int(b0); i += 1
            } else if b0 & 0xE0 == 0xC0, i + 1 < n {
                v = Int(b0 & 0x1F) << 6 | Int(s[i + 1] & 0x3F); i += 2
            } else {
                return false
            }
            guard v < scalarToByte.count else { return false }
            let b = scalarToByte[v]
            guard b >= 0 else { return false }
            out.append(UInt8(b))
        }
        return true
    }
}
