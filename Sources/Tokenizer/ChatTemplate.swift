/// Turns a conversation into the prompt text a chat model was trained on.
///
/// GGUF files ship their chat format as a Jinja program (`tokenizer.chat_template`). edgelm never
/// executes it: `detect` recognises the family from distinctive markers, and each family's
/// rendering is written out in Swift (see the `ChatTemplate+*.swift` files). The fixtures in
/// Tests/TokenizerTests/Fixtures/chat-renders.json hold jinja2's renders of the real templates and
/// the tests require byte-for-byte equality.
///
/// The output is plain text: special-token markers such as `<|im_end|>` — including any a user
/// typed into a message — are turned into token ids by the tokenizer, not here.
public struct ChatTemplate: Sendable, Equatable {
    public var family: ChatTemplateFamily

    /// The `Today Date:` of the `llama3.1` system header. Llama 3.1 and 3.3 templates always print
    /// "26 Jul 2024"; Llama 3.2's prints the current day when the renderer offers `strftime_now`
    /// (transformers, llama.cpp) and "26 Jul 2024" otherwise — see `usesCurrentDate(_:)`.
    /// Format: two-digit day, English month abbreviation, year ("05 Feb 2025").
    public var dateString: String

    public static let defaultDateString = "26 Jul 2024"

    public init(family: ChatTemplateFamily, dateString: String = ChatTemplate.defaultDateString) {
        self.family = family
        self.dateString = dateString
    }

    /// The template for a GGUF's `tokenizer.chat_template` (or a family name), via `detect`.
    public init(jinjaSource: String) throws(ChatTemplateError) {
        self.init(family: try Self.detect(jinjaSource))
    }

    /// Renders `messages` as the family's reference template would with the given special tokens.
    ///
    /// - Parameters:
    ///   - addGenerationPrompt: append the header that makes the model answer as the assistant.
    ///   - bosToken: the model's BOS text; only families whose template prints it use it.
    ///   - eosToken: the model's EOS text; only `phi3` prints it (when no generation prompt is asked).
    /// - Throws: `.emptyConversation`, `.unknownRole`, or `.rolesMustAlternate` (gemma) — the
    ///   cases where the reference template would fail or the input is outside the supported roles.
    public func render(messages: [ChatMessage], addGenerationPrompt: Bool, bosToken: String,
                       eosToken: String) throws(ChatTemplateError) -> String {
        let turns = try Self.validate(messages)
        switch family {
        case .chatml, .chatmlQwen, .chatmlQwen2, .chatmlSmolLM:
            return Self.renderChatML(turns, defaultSystemPrompt: family.defaultSystemPrompt,
                                     addGenerationPrompt: addGenerationPrompt)
        case .llama3:
            return Self.renderLlama3(turns, addGenerationPrompt: addGenerationPrompt, bosToken: bosToken)
        case .llama31:
            return Self.renderLlama31(turns, addGenerationPrompt: addGenerationPrompt, bosToken: bosToken,
                                      dateString: dateString)
        case .gemma:
            return try Self.renderGemma(turns, addGenerationPrompt: addGenerationPrompt, bosToken: bosToken)
        case .deepseek, .deepseekLegacy:
            let current = family == .deepseek
            return Self.renderDeepSeekR1(turns, addGenerationPrompt: addGenerationPrompt, bosToken: bosToken,
                                         stripsReasoning: current, opensThinkBlock: current)
        case .phi3:
            return Self.renderPhi3(turns, addGenerationPrompt: addGenerationPrompt, eosToken: eosToken)
        }
    }

    /// A message whose role has been checked; renderers switch over the enum, so an unexpected
    /// role can never reach a template path that was not written for it.
    struct Turn: Sendable {
        let role: ChatTemplateRole
        let content: String
        /// Position in the caller's `messages`, for error messages.
        let index: Int
    }

    static func validate(_ messages: [ChatMessage]) throws(ChatTemplateError) -> [Turn] {
        guard !messages.isEmpty else { throw .emptyConversation }
        var turns: [Turn] = []
        turns.reserveCapacity(messages.count)
        for (index, message) in messages.enumerated() {
            // Exact, case-sensitive match: the templates compare role strings with `==`.
            guard let role = ChatTemplateRole(rawValue: message.role) else {
                throw .unknownRole(message.role, index: index)
            }
            turns.append(Turn(role: role, content: message.content, index: index))
        }
        return turns
    }
}
