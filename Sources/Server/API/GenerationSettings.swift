import EdgeLMAPI
import Generation
import Tokenizer

/// Turns the sampling fields of either API into engine settings, refusing out-of-range values
/// with a 400 that names the field.
struct GenerationSettings {
    var parameters = SamplingParameters()
    var maxTokens: Int?
    var stop: [String] = []

    static let maxStopStrings = 16

    init(temperature: Double?, topP: Double?, topK: Int?, minP: Double?, seed: Int64?, repeatPenalty: Double?,
         presencePenalty: Double?, frequencyPenalty: Double?, repeatLastN: Int? = nil, maxTokens: Int?,
         maxTokensField: String, stop: [String]?) throws {
        if let temperature { parameters.temperature = Float(temperature) }
        if let topP { parameters.topP = Float(topP) }
        if let topK { parameters.topK = topK }
        if let minP { parameters.minP = Float(minP) }
        if let seed { parameters.seed = UInt64(bitPattern: seed) }
        if let repeatPenalty { parameters.repeatPenalty = Float(repeatPenalty) }
        if let presencePenalty { parameters.presencePenalty = Float(presencePenalty) }
        if let frequencyPenalty { parameters.frequencyPenalty = Float(frequencyPenalty) }
        if let repeatLastN { parameters.penaltyWindow = repeatLastN }
        do {
            try parameters.validate()
        } catch let GenerationError.badParameter(name, value, reason) {
            throw APIError.badRequest("\(name) = \(value): \(reason)", code: "invalid_value", param: name)
        }
        if let maxTokens, maxTokens < 1 {
            throw APIError.badRequest("\(maxTokensField) = \(maxTokens): must be at least 1", code: "invalid_value", param: maxTokensField)
        }
        self.maxTokens = maxTokens
        let stops = stop ?? []
        guard stops.count <= Self.maxStopStrings else {
            throw APIError.badRequest("stop has \(stops.count) strings; at most \(Self.maxStopStrings) are allowed", param: "stop")
        }
        self.stop = stops
    }

    init(openAI s: OpenAISampling) throws {
        try self.init(temperature: s.temperature, topP: s.topP, topK: s.topK, minP: s.minP, seed: s.seed,
                      repeatPenalty: s.repeatPenalty, presencePenalty: s.presencePenalty, frequencyPenalty: s.frequencyPenalty,
                      maxTokens: s.maxTokens, maxTokensField: "max_tokens", stop: s.stop?.values)
    }

    /// The token budget for a prompt of `promptTokens` in a context of `context`: what was asked,
    /// else whatever room is left. Asking for more than the context can ever hold is an error.
    func tokenBudget(promptTokens: Int, context: Int, field: String) throws -> Int {
        if let maxTokens, maxTokens > context {
            throw APIError.badRequest("\(field) = \(maxTokens) exceeds the model's context of \(context) tokens",
                                      code: "invalid_value", param: field)
        }
        guard promptTokens < context else {
            throw APIError.badRequest("the prompt has \(promptTokens) tokens but the context holds \(context)",
                                      code: "context_length_exceeded", param: "messages")
        }
        return min(maxTokens ?? context, context - promptTokens)
    }
}

/// Prompts from messages or text, through the model's own template.
enum PromptBuilder {
    static let roles: Set<String> = ["system", "user", "assistant"]

    static func chat(_ handle: ModelHandle, messages: [ChatMessage]) throws -> [Int32] {
        guard !messages.isEmpty else { throw APIError.badRequest("messages is empty: at least one message is required", param: "messages") }
        for (i, m) in messages.enumerated() where !roles.contains(m.role) {
            throw APIError.badRequest("messages[\(i)].role = \"\(m.role)\": must be system, user or assistant", param: "messages[\(i)].role")
        }
        guard let template = handle.template else {
            throw APIError.badRequest("model \(handle.name) cannot chat: \(handle.templateError ?? "no usable chat template"); use the completions route with a raw prompt",
                                      code: "unsupported_template")
        }
        let t = handle.tokenizer
        let bos = t.bosID.map { String(decoding: t.tokenBytes($0, renderSpecial: true), as: UTF8.self) } ?? ""
        let eos = t.eosID.map { String(decoding: t.tokenBytes($0, renderSpecial: true), as: UTF8.self) } ?? ""
        let text: String
        do {
            text = try template.render(messages: messages, addGenerationPrompt: true, bosToken: bos, eosToken: eos)
        } catch {
            throw APIError.badRequest("the conversation cannot be rendered: \(error)", param: "messages")
        }
        // A template that prints BOS itself must not get a second one from the tokenizer.
        return t.encode(text, parseSpecial: true, addSpecial: bos.isEmpty || !text.hasPrefix(bos))
    }

    static func text(_ handle: ModelHandle, _ prompt: String) throws -> [Int32] {
        let ids = handle.tokenizer.encode(prompt, parseSpecial: true)
        guard !ids.isEmpty else { throw APIError.badRequest("prompt is empty", param: "prompt") }
        return ids
    }
}
