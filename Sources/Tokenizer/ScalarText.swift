/// A run of input text as Unicode scalars, with each scalar's class and byte offset.
///
/// Pre-tokenizers work on scalars (like llama.cpp's code points) while BPE works on bytes; the
/// offsets translate a scalar range back to the bytes it covers.
struct ScalarText {
    var scalars: [UInt32] = []
    var classes: [UInt8] = []
    /// Byte offset of each scalar within the source bytes, plus one final entry for the end.
    var byteOffsets: [Int] = []

    var count: Int { scalars.count }

    /// Decodes valid UTF-8 (Swift strings always are).
    init(_ bytes: UnsafeBufferPointer<UInt8>) {
        scalars.reserveCapacity(bytes.count)
        classes.reserveCapacity(bytes.count)
        byteOffsets.reserveCapacity(bytes.count + 1)
        var i = 0
        let n = bytes.count
        while i < n {
            let b0 = UInt32(bytes[i])
            var v: UInt32
            var len: Int
            if b0 < 0x80 {
                v = b0; len = 1
            } else if b0 < 0xE0 {
                v = b0 & 0x1F; len = 2
            } else if b0 < 0xF0 {
                v = b0 & 0x0F; len = 3
            } else {
                v = b0 & 0x07; len = 4
            }
            len = min(len, n - i)
            for k in 1..<max(len, 1) { v = (v << 6) | (UInt32(bytes[i + k]) & 0x3F) }
            scalars.append(v)
            classes.append(ScalarClass.of(v).rawValue)
            byteOffsets.append(i)
            i += len
        }
        byteOffsets.append(n)
    }
}
