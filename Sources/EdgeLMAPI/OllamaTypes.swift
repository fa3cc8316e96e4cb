/// Bodies of the Ollama-compatible routes (`/api/...`). Durations are in nanoseconds and
/// timestamps in RFC 3339, as Ollama writes them.

public struct OllamaOptions: Codable, Sendable, Equatable {
    public var temperature: Double?
    public var topP: Double?
    public var topK: Int?
    public var minP: Double?
    public var numPredict: Int?
    public var seed: Int64?
    public var stop: OneOrMany?
    public var repeatPenalty: Double?
    public var repeatLastN: Int?
    public var presencePenalty: Double?
    public var frequencyPenalty: Double?
    public var numCtx: Int?

    public init() {}

    enum CodingKeys: String, CodingKey {
        case temperature, seed, stop
        case topP = "top_p", topK = "top_k", minP = "min_p", numPredict = "num_predict"
        case repeatPenalty = "repeat_penalty", repeatLastN = "repeat_last_n"
        case presencePenalty = "presence_penalty", frequencyPenalty = "frequency_penalty", numCtx = "num_ctx"
    }
}

/// `keep_alive`: seconds as a number, or a Go duration string ("5m", "1h30m", "0", "-1").
public struct KeepAlive: Codable, Sendable, Equatable {
    /// nil: forever (a negative value).
    public var seconds: Double?

    public init(seconds: Double?) { self.seconds = seconds }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let n = try? c.decode(Double.self) {
            seconds = n < 0 ? nil : n
            return
        }
        let text = try c.decode(String.self)
        guard let parsed = KeepAlive.parse(text) else {
            throw DecodingError.dataCorruptedError(in: c, debugDescription: "\"\(text)\" is not a duration (e.g. 30s, 5m, 1h, 0, -1)")
        }
        seconds = parsed < 0 ? nil : parsed
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(seconds ?? -1)
    }

    static func parse(_ text: String) -> Double? {
        if let n = Double(text) { return n }
        var total = 0.0, number = "", sign = 1.0
        var rest = Substring(text)
        if rest.first == "-" { sign = -1; rest = rest.dropFirst() }
        var unit = ""
        func flush() -> Bool {
            guard let v = Double(number) else { return false }
            let scale: Double
            switch unit {
            case "ns": scale = 1e-9
            case "us", "µs": scale = 1e-6
            case "ms": scale = 1e-3
            case "s": scale = 1
            case "m": scale = 60
            case "h": scale = 3600
            default: return false
            }
            total += v * scale
            number = ""
            unit = ""
            return true
        }
        for ch in rest {
            if ch.isNumber || ch == "." {
                if !unit.isEmpty { guard flush() else { return nil } }
                number.append(ch)
            } else {
                unit.append(ch)
            }
        }
        guard !number.isEmpty, flush() else { return nil }
        return sign * total
    }
}

public struct OllamaMessage: Codable, Sendable, Equatable {
    public var role: String
    public var content: String
    public var images: [String]?

    public init(role: String, content: String) {
        self.role = role
        self.content = content
    }
}

public struct OllamaChatRequest: Decodable, Sendable {
    public var model: String
    public var messages: [OllamaMessage]?
    public var stream: Bool?
    public var format: JSONValue?
    public var options: OllamaOptions?
    public var keepAlive: KeepAlive?
    public var tools: JSONValue?
    enum CodingKeys: String, CodingKey { case model, messages, stream, format, options, tools, keepAlive = "keep_alive" }
}

public struct OllamaGenerateRequest: Decodable, Sendable {
    public var model: String
    public var prompt: String?
    public var suffix: String?
    public var system: String?
    public var template: String?
    public var raw: Bool?
    public var stream: Bool?
    public var format: JSONValue?
    public var images: [String]?
    public var options: OllamaOptions?
    public var keepAlive: KeepAlive?
    enum CodingKeys: String, CodingKey {
        case model, prompt, suffix, system, template, raw, stream, format, images, options, keepAlive = "keep_alive"
    }
}

/// One NDJSON line of a streamed reply, or the whole reply; the final one has `done: true`
/// and the counts and durations.
public struct OllamaResponse: Encodable, Sendable {
    public var model: String
    public var createdAt: String
    public var message: OllamaMessage?
    public var response: String?
    public var done: Bool
    public var doneReason: String?
    public var totalDuration: UInt64?
    public var loadDuration: UInt64?
    public var promptEvalCount: Int?
    public var promptEvalDuration: UInt64?
    public var evalCount: Int?
    public var evalDuration: UInt64?

    public init(model: String, createdAt: String, message: OllamaMessage?, response: String?, done: Bool) {
        self.model = model
        self.createdAt = createdAt
        self.message = message
        self.response = response
        self.done = done
    }

    enum CodingKeys: String, CodingKey {
        case model, message, response, done
        case createdAt = "created_at", doneReason = "done_reason", totalDuration = "total_duration"
        case loadDuration = "load_duration", promptEvalCount = "prompt_eval_count"
        case promptEvalDuration = "prompt_eval_duration", evalCount = "eval_count", evalDuration = "eval_duration"
    }
}

public struct OllamaModelDetails: Codable, Sendable, Equatable {
    public var format = "gguf"
    public var family: String
    public var families: [String]
    public var parameterSize: String
    public var quantizationLevel: String
    public var parentModel = ""

    public init(family: String, parameterSize: String, quantizationLevel: String) {
        self.family = family
        families = [family]
        self.parameterSize = parameterSize
        self.quantizationLevel = quantizationLevel
    }

    enum CodingKeys: String, CodingKey {
        case format, family, families, parameterSize = "parameter_size", quantizationLevel = "quantization_level"
        case parentModel = "parent_model"
    }
}

public struct OllamaModelEntry: Codable, Sendable, Equatable {
    public var name: String
    public var model: String
    public var modifiedAt: String?
    public var size: Int
    public var digest: String
    public var details: OllamaModelDetails
    /// /api/ps only.
    public var expiresAt: String?
    public var sizeVram: Int?

    public init(name: String, modifiedAt: String?, size: Int, digest: String, details: OllamaModelDetails,
                expiresAt: String? = nil, sizeVram: Int? = nil) {
        self.name = name
        model = name
        self.modifiedAt = modifiedAt
        self.size = size
        self.digest = digest
        self.details = details
        self.expiresAt = expiresAt
        self.sizeVram = sizeVram
    }

    enum CodingKeys: String, CodingKey {
        case name, model, size, digest, details
        case modifiedAt = "modified_at", expiresAt = "expires_at", sizeVram = "size_vram"
    }
}

public struct OllamaModelList: Codable, Sendable {
    public var models: [OllamaModelEntry]
    public init(models: [OllamaModelEntry]) { self.models = models }
}

/// `/api/show` and `/api/delete` name the model as `model` (older clients: `name`).
public struct OllamaModelReference: Decodable, Sendable {
    public var model: String

    enum CodingKeys: String, CodingKey { case model, name }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        if let m = try c.decodeIfPresent(String.self, forKey: .model) {
            model = m
        } else {
            model = try c.decode(String.self, forKey: .name)
        }
    }
}

public struct OllamaShowResponse: Encodable, Sendable {
    public var modelfile: String
    public var parameters: String
    public var template: String
    public var details: OllamaModelDetails
    public var modelInfo: [String: JSONValue]
    public var capabilities: [String]

    public init(modelfile: String, parameters: String, template: String, details: OllamaModelDetails,
                modelInfo: [String: JSONValue], capabilities: [String]) {
        self.modelfile = modelfile
        self.parameters = parameters
        self.template = template
        self.details = details
        self.modelInfo = modelInfo
        self.capabilities = capabilities
    }

    enum CodingKeys: String, CodingKey { case modelfile, parameters, template, details, capabilities, modelInfo = "model_info" }
}
