import ArgumentParser
import Generation

struct SamplingOptions: ParsableArguments {
    @Option(help: "Sampling temperature; 0 is greedy decoding.")
    var temperature: Float = 0.8
    @Option(name: .customLong("top-k"), help: "Keep the k most likely tokens (0 disables).")
    var topK: Int = 40
    @Option(name: .customLong("top-p"), help: "Keep the smallest set of tokens whose probability reaches p (1 disables).")
    var topP: Float = 0.95
    @Option(name: .customLong("min-p"), help: "Drop tokens less likely than p times the most likely one (0 disables).")
    var minP: Float = 0.05
    @Option(name: .customLong("repeat-penalty"), help: "Penalty for tokens seen in the last 64 (1 disables).")
    var repeatPenalty: Float = 1.0
    @Option(name: .customLong("presence-penalty"), help: "Subtracted once from the logit of any token seen recently.")
    var presencePenalty: Float = 0
    @Option(name: .customLong("frequency-penalty"), help: "Subtracted per occurrence of a token seen recently.")
    var frequencyPenalty: Float = 0
    @Option(help: "Random seed: the same seed gives the same text.")
    var seed: UInt64?

    var parameters: SamplingParameters {
        var p = SamplingParameters()
        p.temperature = temperature
        p.topK = topK
        p.topP = topP
        p.minP = minP
        p.repeatPenalty = repeatPenalty
        p.presencePenalty = presencePenalty
        p.frequencyPenalty = frequencyPenalty
        p.seed = seed
        return p
    }

    func validate() throws {
        do { try parameters.validate() } catch { throw ValidationError("\(error)") }
    }
}
