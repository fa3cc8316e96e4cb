/// Token texts llama.cpp uses to recognise special tokens that the GGUF metadata does not name.
/// Lists are in priority order: when a vocabulary contains several candidates we take the first
/// (llama.cpp takes whichever its hash map yields first, which is unspecified).
enum SpecialTokenNames {
    static let endOfTurn = [
        "<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|end_of_text|>",
        "<EOT>", "_<EOT>", "[EOT]", "<｜end▁of▁sentence｜>", "<end_of_utterance>",
    ]
    static let endOfMessage = ["<|eom_id|>"]
    static let fimPrefix = [
        "<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>", "<｜fim▁begin｜>", "<PRE>", "▁<PRE>",
        "<|code_prefix|>", "<|prefix|>",
    ]
    static let fimSuffix = [
        "<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>", "<｜fim▁hole｜>", "<SUF>", "▁<SUF>",
        "<|code_suffix|>", "<|suffix|>",
    ]
    static let fimMiddle = [
        "<|fim_middle|>", "<fim-middle>", "<fim_middle>", "<｜fim▁end｜>", "<MID>", "▁<MID>",
        "<|code_middle|>", "<|middle|>",
    ]
    static let fimPad = ["<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]"]
    static let fimRepo = ["<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>"]
    static let fimSeparator = ["<|file_sep|>"]

    /// Every token with one of these texts ends generation (llama.cpp's `special_eog_ids`).
    static let endOfGeneration: Set<String> = [
        "<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<|flush|>", "<|calls|>",
        "<end_of_turn>", "<|endoftext|>", "</s>", "<|eom_id|>", "<EOT>", "_<EOT>", "[EOT]", "[EOS]",
        "<|end_of_text|>", "<end_of_utterance>", "<eos>", "<turn|>", "<|tool_response>",
        "<｜end▁of▁sentence｜>", "[e~[",
    ]
}

extension Vocabulary {
    /// Checks the metadata's special ids and completes them the way llama.cpp does: tokens it
    /// recognises by text become control tokens (so they are matched verbatim and hidden when
    /// decoding), fill in a missing EOT/EOM, and make up the end-of-generation set.
    static func resolveSpecials(_ given: Specials, count n: Int, attributes attrs: inout [TokenAttributes],
                                idOf: (String) -> Int32?) throws -> (Specials, endOfGeneration: Set<Int32>) {
        func check(_ id: Int32?, _ key: String) throws -> Int32? {
            guard let id else { return nil }
            guard id >= 0, Int(id) < n else {
                throw TokenizerError.tokenIDOutOfRange(key: key, id: Int64(id), vocabularySize: n)
            }
            return id
        }
        var specials = given
        specials.bos = try check(given.bos, "tokenizer.ggml.bos_token_id")
        specials.eos = try check(given.eos, "tokenizer.ggml.eos_token_id")
        specials.eot = try check(given.eot, "tokenizer.ggml.eot_token_id")
        specials.eom = try check(given.eom, "tokenizer.ggml.eom_token_id")
        specials.pad = try check(given.pad, "tokenizer.ggml.padding_token_id")
        specials.unknown = try check(given.unknown, "tokenizer.ggml.unknown_token_id")

        func detect(_ names: [String]) -> Int32? {
            guard let id = names.lazy.compactMap(idOf).first else { return nil }
            attrs[Int(id)].insert(.control)
            return id
        }
        if specials.eot == nil { specials.eot = detect(SpecialTokenNames.endOfTurn) }
        if specials.eom == nil { specials.eom = detect(SpecialTokenNames.endOfMessage) }
        _ = detect(SpecialTokenNames.fimPrefix)
        _ = detect(SpecialTokenNames.fimSuffix)
        _ = detect(SpecialTokenNames.fimMiddle)
        var eog = Set<Int32>()
        for names in [SpecialTokenNames.fimPad, SpecialTokenNames.fimRepo, SpecialTokenNames.fimSeparator] {
            if let id = detect(names) { eog.insert(id) }
        }
        for name in SpecialTokenNames.endOfGeneration {
            if let id = idOf(name) {
                eog.insert(id)
                attrs[Int(id)].insert(.control)
            }
        }
        for id in [specials.eos, specials.eot, specials.eom] { if let id { eog.insert(id) } }
        return (specials, eog)
    }
}
