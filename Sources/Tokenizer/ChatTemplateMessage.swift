/// One turn of a conversation, as a chat template sees it.
///
/// `role` stays a plain string (rather than an enum) because it arrives from untrusted input —
/// JSON files, HTTP requests — and an unknown role must be reported by name, not lost in decoding.
/// `ChatTemplate.render` accepts exactly `system`, `user` and `assistant`.
public struct ChatMessage: Sendable, Codable, Equatable, Hashable {
    public var role: String
    public var content: String

    public init(role: String, content: String) {
        self.role = role
        self.content = content
    }

    public static func system(_ content: String) -> ChatMessage { ChatMessage(role: "system", content: content) }
    public static func user(_ content: String) -> ChatMessage { ChatMessage(role: "user", content: content) }
    public static func assistant(_ content: String) -> ChatMessage { ChatMessage(role: "assistant", content: content) }
}

/// The roles every renderer understands; anything else is refused before rendering.
enum ChatTemplateRole: String, Sendable, CaseIterable {
    case system, user, assistant
}
