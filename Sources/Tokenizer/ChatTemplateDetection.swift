extension ChatTemplate {
    /// Recognises the family of a GGUF `tokenizer.chat_template` from distinctive markers, in the
    /// spirit of llama.cpp's `llm_chat_detect_template`. A bare family name (e.g. "chatml") is
    /// accepted too.
    ///
    /// Detection is deliberately conservative: a template that carries a known marker but also
    /// behaviour we do not reproduce (reasoning switches, unknown default system prompts, other
    /// DeepSeek generations…) is refused rather than rendered wrongly. The error names the
    /// families a user can force instead.
    public static func detect(_ jinjaSource: String) throws(ChatTemplateError) -> ChatTemplateFamily {
        let source = ChatTemplateText.strip(jinjaSource)
        if let named = ChatTemplateFamily(rawValue: source) { return named }
        guard !source.isEmpty else { throw .unrecognizedTemplate(reason: "the template is empty") }
        let bytes = Array(source.utf8)
        func has(_ marker: String) -> Bool { ChatTemplateText.firstIndex(of: Array(marker.utf8), in: bytes) != nil }

        if has("<|im_start|>") {
            return try detectChatML(bytes)
        }
        if has("<start_of_turn>") {
            return .gemma
        }
        if has("<|start_header_id|>") && has("<|end_header_id|>") {
            // 3.1 and later always open with a dated system header.
            return has("Cutting Knowledge Date") ? .llama31 : .llama3
        }
        if has("<｜User｜>") && has("<｜Assistant｜>") {
            // R1 distills collect the system prompt in `ns.system_prompt`; V2/V3/V3.1 templates
            // (thinking switches, different system handling) do not.
            guard has("ns.system_prompt") && !has("is_first_sp") && !has("is_last_user") else {
                throw .unrecognizedTemplate(reason: "a DeepSeek template other than the R1 distills'")
            }
            // A template that strips reasoning but opens no <think> block (seen in some copies) is
            // closest to the legacy one; only assistant history with </think> renders differently.
            return has("<｜Assistant｜><think>") ? .deepseek : .deepseekLegacy
        }
        if has("<|user|>") && has("<|assistant|>") && has("<|end|>") {
            // Phi-3.5's shape: explicit system turns and no BOS. Phi-3 variants that drop the system
            // message or print BOS render differently.
            guard has("<|system|>") && !has("bos_token") else {
                throw .unrecognizedTemplate(reason: "a Phi-3 variant without system turns or with BOS")
            }
            return .phi3
        }
        if has("[INST]") {
            throw .unrecognizedTemplate(reason: "a Mistral/Llama 2 [INST] template, which is not supported")
        }
        throw .unrecognizedTemplate(reason: "no known chat markers")
    }

    /// True when the template prints the current day (Llama 3.2's `strftime_now`): set
    /// `dateString` to today's date to match transformers and llama.cpp.
    public static func usesCurrentDate(_ jinjaSource: String) -> Bool {
        ChatTemplateText.firstIndex(of: Array("strftime_now".utf8), in: Array(jinjaSource.utf8)) != nil
    }

    private static func detectChatML(_ bytes: [UInt8]) throws(ChatTemplateError) -> ChatTemplateFamily {
        func has(_ marker: String) -> Bool { ChatTemplateText.firstIndex(of: Array(marker.utf8), in: bytes) != nil }
        if has("<|im_sep|>") {
            throw .unrecognizedTemplate(reason: "Phi-4's <|im_sep|> variant of ChatML, which is not supported")
        }
        if has("<end_of_utterance>") {
            throw .unrecognizedTemplate(reason: "SmolVLM's template, which is not ChatML")
        }
        if has("<think>") || has("reasoning_content") || has("enable_thinking") {
            throw .unrecognizedTemplate(reason: "ChatML with reasoning (<think>) handling, e.g. Qwen3 or SmolLM3")
        }
        let defaults = chatMLDefaultSystemPrompts(in: bytes)
        guard let prompt = defaults.first else { return .chatml }
        let family = ChatTemplateFamily.allCases.first { $0.defaultSystemPrompt == prompt }
        guard let family, defaults.allSatisfy({ $0 == prompt }) else {
            let shown = defaults.map { ChatTemplateError.quoted($0) }.joined(separator: ", ")
            throw .unrecognizedTemplate(reason: "ChatML with an unknown default system prompt \(shown)")
        }
        return family
    }

    /// Literal text the template hard-codes after `<|im_start|>system` + newline, up to
    /// `<|im_end|>`: its default system prompt. The newline may be a real one or a `\n` escape
    /// (GGUF converters keep whichever the tokenizer_config.json held). A quote right after the
    /// newline means the content is computed (`'…system\n' + messages[0]['content']`), not fixed.
    static func chatMLDefaultSystemPrompts(in bytes: [UInt8]) -> [String] {
        let marker = Array("<|im_start|>system".utf8)
        let end = Array("<|im_end|>".utf8)
        var prompts: [String] = []
        var position = 0
        while let found = ChatTemplateText.firstIndex(of: marker, in: bytes, from: position) {
            position = found + marker.count
            var start = position
            if start < bytes.count && bytes[start] == UInt8(ascii: "\n") {
                start += 1
            } else if start + 1 < bytes.count && bytes[start] == UInt8(ascii: "\\") && bytes[start + 1] == UInt8(ascii: "n") {
                start += 2
            } else {
                continue
            }
            guard start < bytes.count, bytes[start] != UInt8(ascii: "'"), bytes[start] != UInt8(ascii: "\""),
                  let stop = ChatTemplateText.firstIndex(of: end, in: bytes, from: start) else { continue }
            prompts.append(String(decoding: bytes[start..<stop], as: UTF8.self))
        }
        return prompts
    }
}
