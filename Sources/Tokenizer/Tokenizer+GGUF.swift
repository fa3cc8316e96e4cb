import GGUF

extension Tokenizer {
    /// Reads the tokenizer a GGUF file carries (`tokenizer.ggml.*`).
    public convenience init(gguf: GGUFFile) throws {
        let m = gguf.metadata
        guard let model = try m.string("tokenizer.ggml.model") else {
            throw TokenizerError.missingKey("tokenizer.ggml.model")
        }
        guard model == Self.supportedModel else { throw TokenizerError.unsupportedModel(model) }
        // llama.cpp falls back to a "default" pre-tokenizer when the key is absent; we do not
        // implement that one, so name the problem instead of tokenizing differently.
        guard let pre = try m.string("tokenizer.ggml.pre") else {
            throw TokenizerError.missingKey("tokenizer.ggml.pre")
        }
        let preTokenizer = try PreTokenizer(name: pre)
        guard let tokens = try m.stringArray("tokenizer.ggml.tokens") else {
            throw TokenizerError.missingKey("tokenizer.ggml.tokens")
        }
        guard let merges = try m.stringArray("tokenizer.ggml.merges") else {
            throw TokenizerError.missingKey("tokenizer.ggml.merges")
        }
        let types = try m.int32Array("tokenizer.ggml.token_type")

        func id(_ key: String) throws -> Int32? {
            guard let v = try m.uint32(key) else { return nil }
            guard let id = Int32(exactly: v) else {
                throw TokenizerError.tokenIDOutOfRange(key: key, id: Int64(v), vocabularySize: tokens.count)
            }
            return id
        }
        let specials = Vocabulary.Specials(
            bos: try id("tokenizer.ggml.bos_token_id"),
            eos: try id("tokenizer.ggml.eos_token_id"),
            eot: try id("tokenizer.ggml.eot_token_id"),
            eom: try id("tokenizer.ggml.eom_token_id"),
            pad: try id("tokenizer.ggml.padding_token_id"),
            unknown: try id("tokenizer.ggml.unknown_token_id"),
            addBOS: try m.bool("tokenizer.ggml.add_bos_token"),
            addEOS: try m.bool("tokenizer.ggml.add_eos_token") ?? false)
        let vocabulary = try Vocabulary(tokens: tokens, tokenTypes: types, merges: merges, specials: specials)
        self.init(vocabulary: vocabulary, preTokenizer: preTokenizer)
    }

    /// Opens `path` and reads its tokenizer.
    public convenience init(ggufPath path: String) throws {
        try self.init(gguf: GGUFFile(path: path))
    }
}
