/// Why a tokenizer could not be built. Every case names the offending value so that a user can
/// tell an unsupported model family from a damaged file.
public enum TokenizerError: Error, Equatable, Sendable, CustomStringConvertible {
    /// `tokenizer.ggml.model` is not a byte-level BPE vocabulary.
    case unsupportedModel(String)
    /// `tokenizer.ggml.pre` names a pre-tokenizer this engine does not implement.
    case unsupportedPreTokenizer(String, supported: [String])
    /// A required metadata key is absent.
    case missingKey(String)
    /// An array has the wrong length (e.g. fewer token types than tokens).
    case lengthMismatch(key: String, expected: Int, found: Int)
    /// Two tokens have the same text.
    case duplicateToken(text: String, firstID: Int, secondID: Int)
    /// A special-token id lies outside the vocabulary.
    case tokenIDOutOfRange(key: String, id: Int64, vocabularySize: Int)
    /// The vocabulary has no tokens.
    case emptyVocabulary

    public var description: String {
        switch self {
        case let .unsupportedModel(name):
            "unsupported tokenizer model '\(name)': only 'gpt2' (byte-level BPE) is supported"
        case let .unsupportedPreTokenizer(name, supported):
            "unknown pre-tokenizer '\(name)'; supported: \(supported.joined(separator: ", "))"
        case let .missingKey(key):
            "required tokenizer metadata key \(key) is missing"
        case let .lengthMismatch(key, expected, found):
            "\(key) has \(found) entries, expected \(expected)"
        case let .duplicateToken(text, first, second):
            "duplicate token '\(text)' has ids \(first) and \(second)"
        case let .tokenIDOutOfRange(key, id, size):
            "\(key) = \(id) is outside the vocabulary of \(size) tokens"
        case .emptyVocabulary:
            "the vocabulary has no tokens"
        }
    }
}
