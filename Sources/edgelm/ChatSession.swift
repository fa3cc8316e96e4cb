import Foundation
import Generation
import Tokenizer
import Transformer

/// A conversation with one model: renders it through the model's chat template and keeps the KV
/// cache of what was already evaluated, so a follow-up turn evaluates only its new tokens.
struct ChatSession {
    let loaded: ModelOptions.Loaded
    let template: ChatTemplate
    let cache: KVCache
    var messages: [ChatMessage] = []
    /// Tokens whose keys and values `cache` holds, in order.
    private var cached: [Int32] = []

    init(loaded: ModelOptions.Loaded, templateName: String?, system: String?) throws {
        self.loaded = loaded
        if let templateName {
            template = ChatTemplate(family: try ChatTemplateFamily.named(templateName))
        } else if let source = try loaded.file.metadata.string("tokenizer.chat_template") {
            template = try ChatTemplate(jinjaSource: source)
        } else {
            throw CommandFailure(description: "the model has no chat template; choose one with --chat-template (\(ChatTemplateFamily.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        cache = try loaded.model.makeCache()
        if let system { messages.append(.system(system)) }
    }

    /// The rendered prompt of the conversation so far, ready for the assistant's turn.
    func promptIDs() throws -> [Int32] {
        let t = loaded.tokenizer
        let bos = t.bosID.map { String(decoding: t.tokenBytes($0, renderSpecial: true), as: UTF8.self) } ?? ""
        let eos = t.eosID.map { String(decoding: t.tokenBytes($0, renderSpecial: true), as: UTF8.self) } ?? ""
        let text = try template.render(messages: messages, addGenerationPrompt: true, bosToken: bos, eosToken: eos)
        // A template that prints BOS itself must not get a second one from the tokenizer.
        return t.encode(text, parseSpecial: true, addSpecial: bos.isEmpty || !text.hasPrefix(bos))
    }

    /// Adds a user turn, generates the reply (streaming it to `onText`) and records it.
    mutating func reply(to user: String, parameters: SamplingParameters, maxTokens: Int, stop: [String],
                        shouldStop: () -> Bool, onText: (String) -> Void) throws -> GenerationResult {
        messages.append(.user(user))
        let ids = try promptIDs()
        // Reuse the longest prefix already in the cache; keep at least one token to evaluate.
        var keep = zip(cached, ids).prefix { $0 == $1 }.count
        keep = min(keep, ids.count - 1)
        cache.truncate(to: keep)
        cached = Array(ids.prefix(keep))
        let result = try TextGenerator(model: loaded.model, tokenizer: loaded.tokenizer).generate(
            prompt: Array(ids[keep...]), cache: cache, parameters: parameters, maxTokens: maxTokens, stop: stop,
            shouldStop: shouldStop, onText: onText)
        cached = Array(ids) + result.generatedIDs
        cached = Array(cached.prefix(cache.count))
        messages.append(.assistant(result.text))
        return result
    }
}
