/// A chat format whose Jinja template edgelm re-implements in Swift.
///
/// The raw value is the user-facing name (`--chat-template chatml`); it is also accepted by
/// `ChatTemplate.detect` in place of a Jinja source, as llama.cpp accepts template names.
/// Families differ only where their reference templates render differently for
/// system/user/assistant conversations; tool calling is out of scope.
public enum ChatTemplateFamily: String, CaseIterable, Sendable, Codable {
    /// Plain ChatML (`<|im_start|>role\n…<|im_end|>\n`), no default system prompt.
    case chatml = "chatml"
    /// Qwen2.5's ChatML: a default system turn when the conversation has none.
    case chatmlQwen = "chatml-qwen"
    /// Qwen1.5/Qwen2's ChatML: the same with the older default system prompt.
    case chatmlQwen2 = "chatml-qwen2"
    /// SmolLM2's ChatML: the same with SmolLM's default system prompt.
    case chatmlSmolLM = "chatml-smollm"
    /// Meta Llama 3 (3.0): header-id turns, content trimmed, BOS before the first turn.
    case llama3 = "llama3"
    /// Llama 3.1 / 3.2 / 3.3: always a system turn carrying the knowledge cut-off and a date.
    case llama31 = "llama3.1"
    /// Gemma (2/3 format): `user`/`model` turns that must alternate; a leading system message is
    /// folded into the first user turn, as Gemma 3's template does.
    case gemma = "gemma"
    /// DeepSeek-R1 distills, current template: reasoning is cut from past assistant turns and the
    /// generation prompt opens a `<think>` block.
    case deepseek = "deepseek-r1"
    /// DeepSeek-R1 distills, first (January 2025) template: history kept verbatim, bare
    /// `<｜Assistant｜>` generation prompt.
    case deepseekLegacy = "deepseek-r1-legacy"
    /// Phi-3 / Phi-3.5: `<|role|>\n…<|end|>\n`; ends with EOS when no generation prompt is asked for.
    case phi3 = "phi3"

    /// Looks a family up by its user-facing name, naming the valid ones when it does not exist.
    public static func named(_ name: String) throws(ChatTemplateError) -> ChatTemplateFamily {
        guard let family = ChatTemplateFamily(rawValue: name) else { throw .unknownFamily(name) }
        return family
    }

    /// Every user-facing name, for help texts and error messages.
    public static var names: [String] { allCases.map(\.rawValue) }

    /// The system prompt a ChatML variant inserts when the conversation does not start with one.
    public var defaultSystemPrompt: String? {
        switch self {
        case .chatmlQwen: "You are Qwen, created by Alibaba Cloud. You are a helpful assistant."
        case .chatmlQwen2: "You are a helpful assistant."
        case .chatmlSmolLM: "You are a helpful AI assistant named SmolLM, trained by Hugging Face"
        default: nil
        }
    }

    /// One line for `--help` listings.
    public var summary: String {
        switch self {
        case .chatml: "ChatML, no default system prompt"
        case .chatmlQwen: "ChatML with Qwen2.5's default system prompt"
        case .chatmlQwen2: "ChatML with Qwen1.5/Qwen2's default system prompt"
        case .chatmlSmolLM: "ChatML with SmolLM2's default system prompt"
        case .llama3: "Llama 3 header-id turns"
        case .llama31: "Llama 3.1/3.2/3.3 turns with the dated system header"
        case .gemma: "Gemma user/model turns, system folded into the first user turn"
        case .deepseek: "DeepSeek-R1 distill, reasoning stripped, prompt opens <think>"
        case .deepseekLegacy: "DeepSeek-R1 distill, first-release template"
        case .phi3: "Phi-3/Phi-3.5 <|role|> turns"
        }
    }
}
