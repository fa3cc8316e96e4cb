extension ChatTemplate {
    /// Gemma: BOS, then `<start_of_turn>{user|model}\n{content|trim}<end_of_turn>\n` per message.
    ///
    /// Gemma has no system role. As Gemma 3's template does, a leading system message is folded
    /// into the first turn as an untrimmed prefix followed by a blank line, and is dropped if no
    /// turn follows. The remaining messages must alternate user, assistant, user, …; the template
    /// raises otherwise, and so do we. (A system message at an assistant position passes that
    /// check and is printed as a `system` turn, exactly as the template prints it.)
    static func renderGemma(_ turns: [Turn], addGenerationPrompt: Bool,
                            bosToken: String) throws(ChatTemplateError) -> String {
        var out = bosToken
        var loopTurns = turns[...]
        var firstUserPrefix = ""
        if let first = turns.first, first.role == .system {
            firstUserPrefix = first.content + "\n\n"
            loopTurns = turns.dropFirst()
        }
        for (position, turn) in loopTurns.enumerated() {
            guard (turn.role == .user) == position.isMultiple(of: 2) else {
                throw .rolesMustAlternate(family: .gemma, index: turn.index, role: turn.role.rawValue)
            }
            out += "<start_of_turn>"
            out += turn.role == .assistant ? "model" : turn.role.rawValue
            out += "\n"
            if position == 0 {
                out += firstUserPrefix
            }
            out += ChatTemplateText.strip(turn.content)
            out += "<end_of_turn>\n"
        }
        if addGenerationPrompt {
            out += "<start_of_turn>model\n"
        }
        return out
    }
}
