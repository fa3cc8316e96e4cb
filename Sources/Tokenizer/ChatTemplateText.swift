/// String operations that must behave exactly like the Python/Jinja ones the reference templates use.
///
/// Everything works on Unicode scalars or UTF-8 bytes, never on `Character`s: Swift's grapheme
/// clusters (and its canonical-equivalence comparisons) would disagree with Python, e.g. a space
/// followed by a combining accent is one `Character` but two code points to `str.strip()`.
enum ChatTemplateText {
    /// Jinja's `trim` filter, i.e. Python's `str.strip()` with no argument.
    static func strip(_ text: String) -> String {
        let scalars = text.unicodeScalars
        guard let first = scalars.firstIndex(where: { !isPythonWhitespace($0) }) else { return "" }
        let last = scalars.lastIndex(where: { !isPythonWhitespace($0) })!
        if first == scalars.startIndex && scalars.index(after: last) == scalars.endIndex { return text }
        return String(scalars[first...last])
    }

    /// `str.isspace()` for one code point: Unicode White_Space plus the ASCII information
    /// separators U+001C…U+001F, which Python counts as whitespace and Unicode does not.
    static func isPythonWhitespace(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x09...0x0D, 0x1C...0x20, 0x85, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000:
            return true
        default:
            return false
        }
    }

    /// Python's `text.split(separator)[-1]`: what follows the last occurrence, or all of `text`.
    /// Matching is bytewise on UTF-8, so a match always starts and ends on a code-point boundary.
    static func suffixAfterLast(_ separator: String, in text: String) -> String {
        let haystack = Array(text.utf8)
        let needle = Array(separator.utf8)
        var suffixStart: Int?
        var position = 0
        // Left-to-right, non-overlapping, like str.split.
        while let found = firstIndex(of: needle, in: haystack, from: position) {
            position = found + needle.count
            suffixStart = position
        }
        guard let start = suffixStart else { return text }
        return String(decoding: haystack[start...], as: UTF8.self)
    }

    /// Byte-exact substring search (Swift's `String.contains` compares `Character`s, so a marker
    /// followed by a combining mark would not be found where Python finds it).
    static func firstIndex(of needle: [UInt8], in haystack: [UInt8], from start: Int = 0) -> Int? {
        guard !needle.isEmpty, start >= 0, haystack.count >= needle.count,
              start <= haystack.count - needle.count else { return nil }
        for index in start...(haystack.count - needle.count)
        where haystack[index] == needle[0] && haystack[index..<index + needle.count].elementsEqual(needle) {
            return index
        }
        return nil
    }
}
