/// Turns generated token ids into text as they arrive, emitting only complete UTF-8 characters.
///
/// A token may end partway through a character (emoji and CJK are often split across byte
/// tokens); those bytes are held back until the character completes, so a caller printing each
/// returned string never shows replacement characters for text that is still arriving.
public struct StreamingDecoder: Sendable {
    public let tokenizer: Tokenizer
    public let renderSpecial: Bool
    private var pending: [UInt8] = []

    public init(tokenizer: Tokenizer, renderSpecial: Bool = false) {
        self.tokenizer = tokenizer
        self.renderSpecial = renderSpecial
    }

    /// Bytes held back, waiting for the rest of a character.
    public var pendingByteCount: Int { pending.count }

    /// Adds one token; returns the text that became complete (possibly empty).
    public mutating func append(_ id: Int32) -> String {
        tokenizer.appendBytes(id, renderSpecial: renderSpecial, to: &pending)
        let keep = Self.incompleteSuffixLength(pending)
        guard pending.count > keep else { return "" }
        let text = String(decoding: pending[..<(pending.count - keep)], as: UTF8.self)
        pending.removeFirst(pending.count - keep)
        return text
    }

    /// Ends the stream: returns whatever is held back, a dangling partial character becoming U+FFFD.
    public mutating func flush() -> String {
        defer { pending.removeAll() }
        return String(decoding: pending, as: UTF8.self)
    }

    /// Length of a trailing sequence that is a valid but unfinished UTF-8 character (0 if none).
    /// Only a genuine prefix is held: bytes that can never become valid are released at once
    /// (and decode to U+FFFD) rather than stalling the stream.
    static func incompleteSuffixLength(_ bytes: [UInt8]) -> Int {
        let n = bytes.count
        // The lead byte can be at most 3 bytes back from the end.
        var i = n - 1
        while i >= 0, i >= n - 3, bytes[i] & 0xC0 == 0x80 { i -= 1 }
        guard i >= 0, i >= n - 3 else { return 0 }
        let lead = bytes[i]
        let need: Int
        var secondRange: ClosedRange<UInt8> = 0x80...0xBF
        switch lead {
        case 0xC2...0xDF: need = 2
        case 0xE0: need = 3; secondRange = 0xA0...0xBF
        case 0xE1...0xEC, 0xEE...0xEF: need = 3
        case 0xED: need = 3; secondRange = 0x80...0x9F
        case 0xF0: need = 4; secondRange = 0x90...0xBF
        case 0xF1...0xF3: need = 4
        case 0xF4: need = 4; secondRange = 0x80...0x8F
        default: return 0
        }
        let have = n - i
        guard have < need else { return 0 }
        if have >= 2, !secondRange.contains(bytes[i + 1]) { return 0 }
        return have
    }
}
