/// Character classes the pre-tokenizer patterns test, as bit flags per Unicode scalar.
///
/// Letters (`\p{L}`) and numbers (`\p{N}`) come from the general category; whitespace (`\s`) is
/// the Unicode White_Space property, which is what llama.cpp's `is_whitespace` flag holds.
/// `valid` marks a position inside the current segment: out-of-range lookups yield 0, mirroring
/// llama.cpp's empty `unicode_cpt_flags{}` there.
struct ScalarClass: OptionSet, Sendable {
    let rawValue: UInt8
    static let valid = ScalarClass(rawValue: 1)
    static let letter = ScalarClass(rawValue: 2)
    static let number = ScalarClass(rawValue: 4)
    static let whitespace = ScalarClass(rawValue: 8)

    /// llama.cpp's category tables are generated from Unicode 15.1; characters assigned later
    /// are "undefined" there (neither letter nor number), so we treat them the same way.
    static let unicodeVersion = (major: 15, minor: 1)

    /// Classes of the whole Basic Multilingual Plane, built once (~64 KB) so that classifying
    /// CJK or Cyrillic text is a table read rather than a property lookup.
    private static let bmp: [UInt8] = (0..<0x10000).map { classify(slow: UInt32($0)).rawValue }

    @inline(__always)
    static func of(_ value: UInt32) -> ScalarClass {
        value < 0x10000 ? ScalarClass(rawValue: bmp[Int(value)]) : classify(slow: value)
    }

    /// Unicode White_Space (the set llama.cpp's unicode-data lists).
    static func isWhitespace(_ v: UInt32) -> Bool {
        switch v {
        case 0x09...0x0D, 0x20, 0x85, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000:
            return true
        default:
            return false
        }
    }

    private static func classify(slow v: UInt32) -> ScalarClass {
        var c: ScalarClass = .valid
        if isWhitespace(v) { c.insert(.whitespace); return c }
        guard let scalar = Unicode.Scalar(v) else { return c }  // surrogate code points
        let props = scalar.properties
        let category: ScalarClass
        switch props.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter:
            category = .letter
        case .decimalNumber, .letterNumber, .otherNumber:
            category = .number
        default:
            return c
        }
        if let age = props.age,
           age.major > unicodeVersion.major || (age.major == unicodeVersion.major && age.minor > unicodeVersion.minor) {
            return c
        }
        c.insert(category)
        return c
    }
}
