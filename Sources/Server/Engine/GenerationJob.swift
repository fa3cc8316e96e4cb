import Foundation
import Generation
import Synchronization

/// Interactive requests are admitted before batch ones.
public enum Priority: String, Sendable, Codable, Comparable {
    case interactive, batch

    public static func < (a: Priority, b: Priority) -> Bool { a == .interactive && b == .batch }
}

/// What a request asks the engine to generate. The prompt is already tokenized.
public struct GenerationRequest: Sendable {
    public var model: String
    public var prompt: [Int32]
    public var parameters: SamplingParameters
    public var maxTokens: Int
    public var stop: [String] = []
    /// How many alternatives to report per token (0: none); `logprobs` asks for the chosen token's.
    public var topLogprobs = 0
    public var logprobs = false
    public var priority: Priority = .interactive
    public var timeout: Duration?

    public init(model: String, prompt: [Int32], parameters: SamplingParameters, maxTokens: Int) {
        self.model = model
        self.prompt = prompt
        self.parameters = parameters
        self.maxTokens = maxTokens
    }
}

/// One generated token as the HTTP layer sees it: its text (possibly empty while a UTF-8 sequence
/// or a possible stop string is held back) and, when asked, its log-probabilities.
public struct TokenEvent: Sendable {
    public var id: Int32
    public var text: String
    public var logprob: Double
    public var top: [TokenLogProb]
}

public struct GenerationSummary: Sendable {
    public var finishReason: FinishReason
    public var promptTokens: Int
    /// Prompt tokens whose keys and values were already in the slot's cache (prefix reuse).
    public var cachedTokens: Int
    public var completionTokens: Int
    public var queueSeconds: Double
    public var promptSeconds: Double
    public var generationSeconds: Double
    /// Text still held back at the end (an incomplete stop-string prefix, a partial character).
    public var tail: String
}

public enum GenerationEvent: Sendable {
    case token(TokenEvent)
    case finished(GenerationSummary)
    case failed(EngineError)
}

/// A request in flight: the engine thread writes events, the HTTP task reads them. The consumer
/// counts what it has read so the engine can pause a sequence whose client stopped reading
/// (bounded buffering), and sets `cancel` when the client goes away.
public final class GenerationJob: Sendable {
    public let id: String
    public let request: GenerationRequest
    public let events: AsyncStream<GenerationEvent>
    let continuation: AsyncStream<GenerationEvent>.Continuation
    let submitted = ContinuousClock.now
    let deadline: ContinuousClock.Instant?
    private let cancelled = Atomic<Bool>(false)
    private let unread = Atomic<Int>(0)

    init(id: String, request: GenerationRequest) {
        self.id = id
        self.request = request
        (events, continuation) = AsyncStream.makeStream(of: GenerationEvent.self)
        deadline = request.timeout.map { ContinuousClock.now + $0 }
    }

    public func cancel() { cancelled.store(true, ordering: .relaxed) }
    public var isCancelled: Bool { cancelled.load(ordering: .relaxed) }

    /// The consumer calls this for each event it took off `events`.
    public func consumed() { unread.subtract(1, ordering: .relaxed) }
    var unreadCount: Int { unread.load(ordering: .relaxed) }

    func send(_ event: GenerationEvent) {
        unread.add(1, ordering: .relaxed)
        continuation.yield(event)
        switch event {
        case .finished, .failed: continuation.finish()
        case .token: break
        }
    }

    var isExpired: Bool { deadline.map { ContinuousClock.now >= $0 } ?? false }
}
