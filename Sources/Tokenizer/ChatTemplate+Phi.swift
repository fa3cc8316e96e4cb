extension ChatTemplate {
    /// Phi-3.5-mini: `<|{role}|>\n{content}<|end|>\n` per message, no BOS; a system message with
    /// empty content is left out (the template tests its truthiness). Without a generation prompt
    /// the text ends with the EOS token, as the template prints it.
    static func renderPhi3(_ turns: [Turn], addGenerationPrompt: Bool, eosToken: String) -> String {
        var out = ""
        for turn in turns where !(turn.role == .system && turn.content.isEmpty) {
            out += "<|"
            out += turn.role.rawValue
            out += "|>\n"
            out += turn.content
            out += "<|end|>\n"
        }
        out += addGenerationPrompt ? "<|assistant|>\n" : eosToken
        return out
    }
}
