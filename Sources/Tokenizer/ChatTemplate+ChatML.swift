extension ChatTemplate {
    /// ChatML: `<|im_start|>{role}\n{content}<|im_end|>\n` per message, content verbatim.
    ///
    /// Qwen2.5's template emits a leading system message in its preamble and skips it in the loop,
    /// while SmolLM2's and Qwen2's emit a default system turn on the first iteration; for
    /// system/user/assistant messages all of them reduce to "default system turn if the
    /// conversation does not open with a system message, then every message in order" — later
    /// system messages included.
    static func renderChatML(_ turns: [Turn], defaultSystemPrompt: String?, addGenerationPrompt: Bool) -> String {
        var out = ""
        if let defaultSystemPrompt, turns.first?.role != .system {
            appendChatMLTurn(role: "system", content: defaultSystemPrompt, to: &out)
        }
        for turn in turns {
            appendChatMLTurn(role: turn.role.rawValue, content: turn.content, to: &out)
        }
        if addGenerationPrompt {
            out += "<|im_start|>assistant\n"
        }
        return out
    }

    private static func appendChatMLTurn(role: String, content: String, to out: inout String) {
        out += "<|im_start|>"
        out += role
        out += "\n"
        out += content
        out += "<|im_end|>\n"
    }
}
