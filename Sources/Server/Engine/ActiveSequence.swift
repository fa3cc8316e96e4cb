import Generation
import Tokenizer

/// A request occupying a slot: its sampler, its streaming text state, and how far it got.
struct ActiveSequence {
    let job: GenerationJob
    var sampler: Sampler
    var decoder: StreamingDecoder
    var stops: StopStringMatcher
    /// Prompt tokens not yet evaluated (prefill proceeds in chunks between decode steps).
    var remainingPrompt: ArraySlice<Int32>
    /// The token sampled last, to be fed at the next decode step.
    var pending: GeneratedToken?
    var produced = 0
    let cachedTokens: Int
    let admitted = ContinuousClock.now
    var firstToken: ContinuousClock.Instant?
    var lastToken: ContinuousClock.Instant?

    init(job: GenerationJob, tokenizer: Tokenizer, cachedTokens: Int) {
        self.job = job
        sampler = Sampler(job.request.parameters)
        decoder = StreamingDecoder(tokenizer: tokenizer)
        stops = StopStringMatcher(job.request.stop)
        remainingPrompt = job.request.prompt[cachedTokens...]
        self.cachedTokens = cachedTokens
        for t in job.request.prompt { sampler.accept(t) }
    }

    var isPrefilling: Bool { !remainingPrompt.isEmpty }
}
