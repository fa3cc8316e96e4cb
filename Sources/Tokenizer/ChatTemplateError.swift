/// Why a conversation could not be rendered or a template could not be recognised.
///
/// Values that come from outside (roles, template excerpts, family names) are shortened and
/// escaped before they are shown, so a hostile input cannot flood or garble a terminal.
public enum ChatTemplateError: Error, CustomStringConvertible, Equatable, Sendable {
    /// `render` was given no messages; every template needs at least one turn.
    case emptyConversation
    /// A message's role is not `system`, `user` or `assistant`.
    case unknownRole(String, index: Int)
    /// The family requires user/assistant alternation (after an optional leading system message)
    /// and the message at `index` breaks it — the reference template raises here too.
    case rolesMustAlternate(family: ChatTemplateFamily, index: Int, role: String)
    /// `detect` found no supported family; `reason` says what it saw.
    case unrecognizedTemplate(reason: String)
    /// A family name that does not exist (e.g. a mistyped `--chat-template`).
    case unknownFamily(String)

    public var description: String {
        switch self {
        case .emptyConversation:
            return "cannot render a chat template for an empty conversation: give at least one message"
        case let .unknownRole(role, index):
            return "message \(index) has unknown role \(Self.quoted(role)); "
                + "allowed roles: \(ChatTemplateRole.allCases.map(\.rawValue).joined(separator: ", "))"
        case let .rolesMustAlternate(family, index, role):
            return "the \(family.rawValue) chat template needs user/assistant turns to alternate, "
                + "starting with user after an optional system message; message \(index) has role \(Self.quoted(role))"
        case let .unrecognizedTemplate(reason):
            return "unrecognised chat template (\(reason)); choose a fallback family by name: \(Self.fallbackList)"
        case let .unknownFamily(name):
            return "unknown chat template family \(Self.quoted(name)); known families: \(Self.fallbackList)"
        }
    }

    static var fallbackList: String { ChatTemplateFamily.names.joined(separator: ", ") }

    /// A short, escaped, quoted rendering of an untrusted string.
    static func quoted(_ value: String, limit: Int = 60) -> String {
        let scalars = value.unicodeScalars
        guard scalars.count > limit else { return value.debugDescription }
        var head = String.UnicodeScalarView()
        head.append(contentsOf: scalars.prefix(limit))
        return String(head).debugDescription + "… (\(scalars.count) characters)"
    }
}
