extension ChatTemplate {
    /// Meta Llama 3: `<|start_header_id|>{role}<|end_header_id|>\n\n{content|trim}<|eot_id|>` per
    /// message, BOS before the first; no system turn is invented.
    static func renderLlama3(_ turns: [Turn], addGenerationPrompt: Bool, bosToken: String) -> String {
        var out = bosToken
        for turn in turns {
            appendLlamaTurn(role: turn.role.rawValue, content: ChatTemplateText.strip(turn.content), to: &out)
        }
        if addGenerationPrompt {
            out += "<|start_header_id|>assistant<|end_header_id|>\n\n"
        }
        return out
    }

    /// Llama 3.1/3.2/3.3 (without tools): the system turn always exists and starts with the
    /// knowledge cut-off and the date; a leading system message (trimmed) is appended to it and
    /// removed from the turns. Later system messages are ordinary header turns.
    static func renderLlama31(_ turns: [Turn], addGenerationPrompt: Bool, bosToken: String,
                              dateString: String) -> String {
        var out = bosToken
        var rest = turns[...]
        var systemMessage = ""
        if let first = turns.first, first.role == .system {
            systemMessage = ChatTemplateText.strip(first.content)
            rest = turns.dropFirst()
        }
        out += "<|start_header_id|>system<|end_header_id|>\n\n"
        out += "Cutting Knowledge Date: December 2023\n"
        out += "Today Date: " + dateString + "\n\n"
        out += systemMessage
        out += "<|eot_id|>"
        for turn in rest {
            appendLlamaTurn(role: turn.role.rawValue, content: ChatTemplateText.strip(turn.content), to: &out)
        }
        if addGenerationPrompt {
            out += "<|start_header_id|>assistant<|end_header_id|>\n\n"
        }
        return out
    }

    private static func appendLlamaTurn(role: String, content: String, to out: inout String) {
        out += "<|start_header_id|>"
        out += role
        out += "<|end_header_id|>\n\n"
        out += content
        out += "<|eot_id|>"
    }
}
