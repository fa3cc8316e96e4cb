/// How the next token is chosen. Temperature 0 is greedy decoding (argmax), which ignores the
/// truncation settings and the seed.
public struct SamplingParameters: Sendable, Equatable, Codable {
    public var temperature: Float = 0.8
    public var topK: Int = 40              // 0 disables
    public var topP: Float = 0.95          // 1 disables
    public var minP: Float = 0.05          // 0 disables
    public var repeatPenalty: Float = 1.0  // 1 disables
    public var presencePenalty: Float = 0
    public var frequencyPenalty: Float = 0
    /// How many recent tokens the penalties look at.
    public var penaltyWindow: Int = 64
    public var seed: UInt64?

    public init() {}

    public static var greedy: SamplingParameters {
        var p = SamplingParameters()
        p.temperature = 0
        return p
    }

    public var isGreedy: Bool { temperature <= 0 }

    /// Checks ranges, naming the bad setting.
    public func validate() throws {
        func bad(_ name: String, _ value: Any, _ why: String) -> GenerationError { .badParameter(name: name, value: "\(value)", reason: why) }
        guard temperature.isFinite, temperature >= 0, temperature <= 100 else { throw bad("temperature", temperature, "must be in 0...100") }
        guard topK >= 0 else { throw bad("top_k", topK, "must be ≥ 0") }
        guard topP.isFinite, topP > 0, topP <= 1 else { throw bad("top_p", topP, "must be in (0, 1]") }
        guard minP.isFinite, minP >= 0, minP <= 1 else { throw bad("min_p", minP, "must be in [0, 1]") }
        guard repeatPenalty.isFinite, repeatPenalty > 0, repeatPenalty <= 10 else { throw bad("repeat_penalty", repeatPenalty, "must be in (0, 10]") }
        guard presencePenalty.isFinite, abs(presencePenalty) <= 10 else { throw bad("presence_penalty", presencePenalty, "must be in -10...10") }
        guard frequencyPenalty.isFinite, abs(frequencyPenalty) <= 10 else { throw bad("frequency_penalty", frequencyPenalty, "must be in -10...10") }
        guard penaltyWindow >= 0, penaltyWindow <= 1 << 20 else { throw bad("penalty_window", penaltyWindow, "must be in 0...1048576") }
    }
}

public enum GenerationError: Error, CustomStringConvertible, Equatable {
    case badParameter(name: String, value: String, reason: String)
    case emptyPrompt
    case promptTooLong(tokens: Int, context: Int)

    public var description: String {
        switch self {
        case let .badParameter(name, value, reason): "\(name) = \(value): \(reason)"
        case .emptyPrompt: "the prompt is empty"
        case let .promptTooLong(tokens, context): "the prompt has \(tokens) tokens but the context holds \(context)"
        }
    }
}
