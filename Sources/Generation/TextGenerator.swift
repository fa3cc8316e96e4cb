import Foundation
import Tokenizer
import Transformer

/// What one generation produced, with the figures a caller reports.
public struct GenerationResult: Sendable {
    public var promptTokens: Int
    public var generatedIDs: [Int32] = []
    public var text = ""
    public var finishReason: FinishReason = .stop
    /// Per generated token, when top log-probabilities were requested.
    public var topLogprobs: [[TokenLogProb]] = []
    public var logprobs: [Double] = []
    /// Seconds spent evaluating the prompt (until the first token was chosen).
    public var promptSeconds: Double = 0
    /// Seconds from the first to the last generated token.
    public var generationSeconds: Double = 0

    public var promptTokensPerSecond: Double { promptSeconds > 0 ? Double(promptTokens) / promptSeconds : 0 }
    public var generationTokensPerSecond: Double {
        generatedIDs.count > 1 && generationSeconds > 0 ? Double(generatedIDs.count - 1) / generationSeconds : 0
    }
}

/// Text in, text out: token generation plus streaming UTF-8 decoding and stop strings.
public struct TextGenerator {
    public let model: Model
    public let tokenizer: Tokenizer

    public init(model: Model, tokenizer: Tokenizer) {
        self.model = model
        self.tokenizer = tokenizer
    }

    /// Generates from `prompt` (token ids, evaluated after what `cache` holds). `onText` receives
    /// text as soon as it is complete UTF-8 and cannot be part of a stop string; `shouldStop` is
    /// polled once per token (Ctrl-C, a disconnected client).
    public func generate(prompt: [Int32], cache: KVCache, parameters: SamplingParameters, maxTokens: Int,
                         stop: [String] = [], topLogprobs: Int = 0,
                         shouldStop: () -> Bool = { false }, onText: (String) -> Void = { _ in }) throws -> GenerationResult {
        try parameters.validate()
        guard maxTokens >= 0 else { throw GenerationError.badParameter(name: "max_tokens", value: "\(maxTokens)", reason: "must be ≥ 0") }
        var result = GenerationResult(promptTokens: prompt.count)
        guard maxTokens > 0 else { return result }
        var sampler = Sampler(parameters)
        var decoder = StreamingDecoder(tokenizer: tokenizer)
        var stops = StopStringMatcher(stop)
        var generator = TokenGenerator(model: model)
        generator.topLogprobs = topLogprobs
        let start = Date()
        var firstToken: Date?
        var stoppedByString = false
        let reason = try generator.generate(prompt: prompt, cache: cache, sampler: &sampler, maxTokens: maxTokens,
                                            isEndOfGeneration: tokenizer.isEndOfGeneration) { token in
            if firstToken == nil { firstToken = Date() }
            result.generatedIDs.append(token.id)
            result.logprobs.append(token.logprob)
            if topLogprobs > 0 { result.topLogprobs.append(token.top) }
            let (text, stopped) = stops.push(decoder.append(token.id))
            result.text += text
            if !text.isEmpty { onText(text) }
            if stopped { stoppedByString = true; return false }
            return !shouldStop()
        }
        if !stoppedByString {
            let tail = stops.push(decoder.flush()).text + stops.flush()
            result.text += tail
            if !tail.isEmpty { onText(tail) }
        }
        let end = Date()
        result.finishReason = stoppedByString ? .stop : reason
        result.promptSeconds = (firstToken ?? end).timeIntervalSince(start)
        result.generationSeconds = firstToken.map { end.timeIntervalSince($0) } ?? 0
        return result
    }
}
