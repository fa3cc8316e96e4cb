/// Response bodies of the OpenAI-compatible routes. Optional fields that OpenAI always sends
/// (`finish_reason`, `logprobs`) are written as `null` rather than left out.

public struct Usage: Codable, Sendable, Equatable {
    public struct PromptDetails: Codable, Sendable, Equatable {
        public var cachedTokens: Int
        enum CodingKeys: String, CodingKey { case cachedTokens = "cached_tokens" }
    }
    public var promptTokens: Int
    public var completionTokens: Int
    public var totalTokens: Int
    public var promptTokensDetails: PromptDetails

    public init(prompt: Int, completion: Int, cached: Int) {
        promptTokens = prompt
        completionTokens = completion
        totalTokens = prompt + completion
        promptTokensDetails = PromptDetails(cachedTokens: cached)
    }

    enum CodingKeys: String, CodingKey {
        case promptTokens = "prompt_tokens", completionTokens = "completion_tokens", totalTokens = "total_tokens"
        case promptTokensDetails = "prompt_tokens_details"
    }
}

/// One token's log-probability, with its most likely alternatives (chat format).
public struct TokenLogprob: Codable, Sendable, Equatable {
    public struct Alternative: Codable, Sendable, Equatable {
        public var token: String
        public var logprob: Double
        public var bytes: [UInt8]
        public init(token: String, logprob: Double, bytes: [UInt8]) {
            self.token = token
            self.logprob = logprob
            self.bytes = bytes
        }
    }
    public var token: String
    public var logprob: Double
    public var bytes: [UInt8]
    public var topLogprobs: [Alternative]

    public init(token: String, logprob: Double, bytes: [UInt8], top: [Alternative]) {
        self.token = token
        self.logprob = logprob
        self.bytes = bytes
        topLogprobs = top
    }

    enum CodingKeys: String, CodingKey { case token, logprob, bytes, topLogprobs = "top_logprobs" }
}

public struct ChoiceLogprobs: Codable, Sendable, Equatable {
    public var content: [TokenLogprob]
    public init(_ content: [TokenLogprob]) { self.content = content }
}

public struct ChatCompletion: Encodable, Sendable {
    public struct Choice: Encodable, Sendable {
        public var index = 0
        public var message: ChatCompletionMessage
        public var logprobs: ChoiceLogprobs?
        public var finishReason: String

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(index, forKey: .index)
            try c.encode(message, forKey: .message)
            try c.encode(logprobs, forKey: .logprobs)
            try c.encode(finishReason, forKey: .finishReason)
        }
        enum CodingKeys: String, CodingKey { case index, message, logprobs, finishReason = "finish_reason" }
    }
    public var id: String
    public var object = "chat.completion"
    public var created: Int
    public var model: String
    public var choices: [Choice]
    public var usage: Usage
    public var systemFingerprint: String

    public init(id: String, created: Int, model: String, text: String, logprobs: [TokenLogprob]?, finishReason: String,
                usage: Usage, fingerprint: String) {
        self.id = id
        self.created = created
        self.model = model
        choices = [Choice(message: ChatCompletionMessage(role: "assistant", content: text),
                          logprobs: logprobs.map(ChoiceLogprobs.init), finishReason: finishReason)]
        self.usage = usage
        systemFingerprint = fingerprint
    }

    enum CodingKeys: String, CodingKey { case id, object, created, model, choices, usage, systemFingerprint = "system_fingerprint" }
}

public struct ChatCompletionChunk: Encodable, Sendable {
    public struct Delta: Encodable, Sendable {
        public var role: String?
        public var content: String?
    }
    public struct Choice: Encodable, Sendable {
        public var index = 0
        public var delta: Delta
        public var logprobs: ChoiceLogprobs?
        public var finishReason: String?

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(index, forKey: .index)
            try c.encode(delta, forKey: .delta)
            try c.encode(logprobs, forKey: .logprobs)
            try c.encode(finishReason, forKey: .finishReason)
        }
        enum CodingKeys: String, CodingKey { case index, delta, logprobs, finishReason = "finish_reason" }
    }
    public var id: String
    public var object = "chat.completion.chunk"
    public var created: Int
    public var model: String
    public var systemFingerprint: String
    public var choices: [Choice]
    /// Only on the extra last chunk that `stream_options.include_usage` asks for.
    public var usage: Usage?

    public init(id: String, created: Int, model: String, fingerprint: String, choices: [Choice], usage: Usage? = nil) {
        self.id = id
        self.created = created
        self.model = model
        systemFingerprint = fingerprint
        self.choices = choices
        self.usage = usage
    }

    public static func delta(role: String? = nil, content: String? = nil, logprobs: [TokenLogprob]? = nil,
                             finishReason: String? = nil) -> Choice {
        Choice(delta: Delta(role: role, content: content), logprobs: logprobs.map(ChoiceLogprobs.init), finishReason: finishReason)
    }

    enum CodingKeys: String, CodingKey { case id, object, created, model, choices, usage, systemFingerprint = "system_fingerprint" }
}

/// The legacy completions API's log-probabilities: parallel arrays.
public struct CompletionLogprobs: Encodable, Sendable, Equatable {
    public var tokens: [String] = []
    public var tokenLogprobs: [Double] = []
    public var topLogprobs: [[String: Double]] = []
    public var textOffset: [Int] = []
    public init() {}
    enum CodingKeys: String, CodingKey {
        case tokens, tokenLogprobs = "token_logprobs", topLogprobs = "top_logprobs", textOffset = "text_offset"
    }
}

public struct Completion: Encodable, Sendable {
    public struct Choice: Encodable, Sendable {
        public var text: String
        public var index = 0
        public var logprobs: CompletionLogprobs?
        public var finishReason: String?

        public init(text: String, logprobs: CompletionLogprobs?, finishReason: String?) {
            self.text = text
            self.logprobs = logprobs
            self.finishReason = finishReason
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(text, forKey: .text)
            try c.encode(index, forKey: .index)
            try c.encode(logprobs, forKey: .logprobs)
            try c.encode(finishReason, forKey: .finishReason)
        }
        enum CodingKeys: String, CodingKey { case text, index, logprobs, finishReason = "finish_reason" }
    }
    public var id: String
    public var object = "text_completion"
    public var created: Int
    public var model: String
    public var systemFingerprint: String
    public var choices: [Choice]
    public var usage: Usage?

    public init(id: String, created: Int, model: String, fingerprint: String, choices: [Choice], usage: Usage?) {
        self.id = id
        self.created = created
        self.model = model
        systemFingerprint = fingerprint
        self.choices = choices
        self.usage = usage
    }

    enum CodingKeys: String, CodingKey { case id, object, created, model, choices, usage, systemFingerprint = "system_fingerprint" }
}

public struct ModelList: Codable, Sendable {
    public struct Entry: Codable, Sendable {
        public var id: String
        public var object = "model"
        public var created: Int
        public var ownedBy: String
        public init(id: String, created: Int, ownedBy: String) {
            self.id = id
            self.created = created
            self.ownedBy = ownedBy
        }
        enum CodingKeys: String, CodingKey { case id, object, created, ownedBy = "owned_by" }
    }
    public var object = "list"
    public var data: [Entry]
    public init(data: [Entry]) { self.data = data }
}

/// `{"error": {"message", "type", "code"}}`, OpenAI's error shape (also used by the native routes).
public struct ErrorBody: Codable, Sendable, Equatable {
    public struct Detail: Codable, Sendable, Equatable {
        public var message: String
        public var type: String
        public var code: String?
        public var param: String?

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(message, forKey: .message)
            try c.encode(type, forKey: .type)
            try c.encode(code, forKey: .code)
            try c.encode(param, forKey: .param)
        }
    }
    public var error: Detail

    public init(message: String, type: String, code: String?, param: String? = nil) {
        error = Detail(message: message, type: type, code: code, param: param)
    }
}
