/// Request bodies of the OpenAI-compatible routes (`/v1/...`). Unknown fields are ignored, as
/// OpenAI's own server does; fields edgelm cannot honour yet are decoded so they can be refused.

public struct ChatCompletionMessage: Codable, Sendable, Equatable {
    public var role: String
    public var content: MessageContent

    public init(role: String, content: String) {
        self.role = role
        self.content = MessageContent(content)
    }
}

public struct StreamOptions: Codable, Sendable, Equatable {
    public var includeUsage: Bool?
    enum CodingKeys: String, CodingKey { case includeUsage = "include_usage" }
}

public struct ResponseFormat: Codable, Sendable, Equatable {
    public var type: String
}

/// Settings both OpenAI request kinds share, decoded from the request's top level.
public struct OpenAISampling: Decodable, Sendable, Equatable {
    public var maxTokens: Int?
    public var temperature: Double?
    public var topP: Double?
    public var stop: OneOrMany?
    public var seed: Int64?
    public var presencePenalty: Double?
    public var frequencyPenalty: Double?
    /// Extensions some OpenAI-compatible servers accept; named as llama.cpp's server names them.
    public var topK: Int?
    public var minP: Double?
    public var repeatPenalty: Double?

    enum CodingKeys: String, CodingKey {
        case temperature, stop, seed
        case maxTokens = "max_tokens", maxCompletionTokens = "max_completion_tokens", topP = "top_p"
        case presencePenalty = "presence_penalty", frequencyPenalty = "frequency_penalty"
        case topK = "top_k", minP = "min_p", repeatPenalty = "repeat_penalty"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        // Chat's newer name wins over the older one.
        maxTokens = try c.decodeIfPresent(Int.self, forKey: .maxCompletionTokens) ?? c.decodeIfPresent(Int.self, forKey: .maxTokens)
        temperature = try c.decodeIfPresent(Double.self, forKey: .temperature)
        topP = try c.decodeIfPresent(Double.self, forKey: .topP)
        stop = try c.decodeIfPresent(OneOrMany.self, forKey: .stop)
        seed = try c.decodeIfPresent(Int64.self, forKey: .seed)
        presencePenalty = try c.decodeIfPresent(Double.self, forKey: .presencePenalty)
        frequencyPenalty = try c.decodeIfPresent(Double.self, forKey: .frequencyPenalty)
        topK = try c.decodeIfPresent(Int.self, forKey: .topK)
        minP = try c.decodeIfPresent(Double.self, forKey: .minP)
        repeatPenalty = try c.decodeIfPresent(Double.self, forKey: .repeatPenalty)
    }
}

public struct ChatCompletionRequest: Decodable, Sendable {
    public var model: String?
    public var messages: [ChatCompletionMessage]
    public var stream: Bool
    public var streamOptions: StreamOptions?
    public var sampling: OpenAISampling
    public var logprobs: Bool
    public var topLogprobs: Int?
    public var n: Int?
    public var tools: JSONValue?
    public var toolChoice: JSONValue?
    public var responseFormat: ResponseFormat?
    /// edgelm extension: "interactive" (default) or "batch".
    public var priority: String?

    enum CodingKeys: String, CodingKey {
        case model, messages, stream, n, tools, priority, logprobs
        case streamOptions = "stream_options", topLogprobs = "top_logprobs", toolChoice = "tool_choice"
        case responseFormat = "response_format"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        model = try c.decodeIfPresent(String.self, forKey: .model)
        messages = try c.decode([ChatCompletionMessage].self, forKey: .messages)
        stream = try c.decodeIfPresent(Bool.self, forKey: .stream) ?? false
        streamOptions = try c.decodeIfPresent(StreamOptions.self, forKey: .streamOptions)
        logprobs = try c.decodeIfPresent(Bool.self, forKey: .logprobs) ?? false
        topLogprobs = try c.decodeIfPresent(Int.self, forKey: .topLogprobs)
        n = try c.decodeIfPresent(Int.self, forKey: .n)
        tools = try c.decodeIfPresent(JSONValue.self, forKey: .tools)
        toolChoice = try c.decodeIfPresent(JSONValue.self, forKey: .toolChoice)
        responseFormat = try c.decodeIfPresent(ResponseFormat.self, forKey: .responseFormat)
        priority = try c.decodeIfPresent(String.self, forKey: .priority)
        sampling = try OpenAISampling(from: decoder)
    }
}

public struct CompletionRequest: Decodable, Sendable {
    public var model: String?
    public var prompt: OneOrMany
    public var stream: Bool
    public var streamOptions: StreamOptions?
    public var sampling: OpenAISampling
    /// The legacy API's `logprobs` is a count of top candidates (0...5), not a flag.
    public var logprobs: Int?
    public var echo: Bool
    public var suffix: String?
    public var n: Int?
    public var priority: String?

    enum CodingKeys: String, CodingKey {
        case model, prompt, stream, logprobs, echo, suffix, n, priority
        case streamOptions = "stream_options"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        model = try c.decodeIfPresent(String.self, forKey: .model)
        prompt = try c.decode(OneOrMany.self, forKey: .prompt)
        stream = try c.decodeIfPresent(Bool.self, forKey: .stream) ?? false
        streamOptions = try c.decodeIfPresent(StreamOptions.self, forKey: .streamOptions)
        logprobs = try c.decodeIfPresent(Int.self, forKey: .logprobs)
        echo = try c.decodeIfPresent(Bool.self, forKey: .echo) ?? false
        suffix = try c.decodeIfPresent(String.self, forKey: .suffix)
        n = try c.decodeIfPresent(Int.self, forKey: .n)
        priority = try c.decodeIfPresent(String.self, forKey: .priority)
        sampling = try OpenAISampling(from: decoder)
        // The legacy API's default is 16 tokens.
        if sampling.maxTokens == nil { sampling.maxTokens = 16 }
    }
}
