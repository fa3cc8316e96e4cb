/// Per-token attributes, as a bit set like llama.cpp's `llama_token_attr`: name-based
/// detection can add `control` to a token whose GGUF type says otherwise.
public struct TokenAttributes: OptionSet, Sendable, Hashable {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    public static let unknown = TokenAttributes(rawValue: 1 << 0)
    public static let unused = TokenAttributes(rawValue: 1 << 1)
    public static let normal = TokenAttributes(rawValue: 1 << 2)
    public static let control = TokenAttributes(rawValue: 1 << 3)
    public static let userDefined = TokenAttributes(rawValue: 1 << 4)
    public static let byte = TokenAttributes(rawValue: 1 << 5)

    /// Attributes for a GGUF `tokenizer.ggml.token_type` value (1 normal, 2 unknown, 3 control,
    /// 4 user-defined, 5 unused, 6 byte; anything else is undefined, i.e. no attributes).
    public init(ggufTokenType type: Int32) {
        switch type {
        case 1: self = .normal
        case 2: self = .unknown
        case 3: self = .control
        case 4: self = .userDefined
        case 5: self = .unused
        case 6: self = .byte
        default: self = []
        }
    }

    /// Tokens matched verbatim in the input before BPE (llama.cpp's special-token cache).
    static let matchedVerbatim: TokenAttributes = [.control, .userDefined, .unknown]
    /// Tokens that render only when special rendering is requested.
    static let hiddenUnlessSpecial: TokenAttributes = [.control, .unknown]
}
