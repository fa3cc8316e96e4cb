extension ChatTemplate {
    /// DeepSeek-R1 distills: BOS, then the system prompt as bare text (the last system message
    /// wins, wherever it is), then `<｜User｜>{content}` and
    /// `<｜Assistant｜>{content}<｜end▁of▁sentence｜>` turns, content untrimmed.
    ///
    /// The current template keeps only what follows the last `</think>` of past assistant turns
    /// (so old reasoning does not fill the context) and opens a `<think>\n` block in the generation
    /// prompt; the first release did neither. The end-of-sentence marker is hard-coded in the
    /// template, not taken from `eos_token`.
    static func renderDeepSeekR1(_ turns: [Turn], addGenerationPrompt: Bool, bosToken: String,
                                 stripsReasoning: Bool, opensThinkBlock: Bool) -> String {
        var out = bosToken
        out += turns.last(where: { $0.role == .system })?.content ?? ""
        for turn in turns {
            switch turn.role {
            case .system:
                continue
            case .user:
                out += "<｜User｜>"
                out += turn.content
            case .assistant:
                out += "<｜Assistant｜>"
                out += stripsReasoning ? ChatTemplateText.suffixAfterLast("</think>", in: turn.content) : turn.content
                out += "<｜end▁of▁sentence｜>"
            }
        }
        if addGenerationPrompt {
            out += opensThinkBlock ? "<｜Assistant｜><think>\n" : "<｜Assistant｜>"
        }
        return out
    }
}
