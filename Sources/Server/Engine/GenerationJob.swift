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
    public let events = EventChannel()
    let submitted = ContinuousClock.now
    let deadline: ContinuousClock.Instant?
    private let cancelled = Atomic<Bool>(false)
    private let unread = Atomic<Int>(0)

    init(id: String, request: GenerationRequest) {
        self.id = id
        self.request = request
        deadline = request.timeout.map { ContinuousClock.now + $0 }
    }

    public func cancel() { cancelled.store(true, ordering: .relaxed) }
    public var isCancelled: Bool { cancelled.load(ordering: .relaxed) }

    /// The consumer calls this for each event it took off `events`.
    public func consumed() { unread.subtract(1, ordering: .relaxed) }
    var unreadCount: Int { unread.load(ordering: .relaxed) }

    func send(_ event: GenerationEvent) {
        unread.add(1, ordering: .relaxed)
        switch event {
        case .finished, .failed: events.send(event, last: true)
        case .token: events.send(event, last: false)
        }
    }

    var isExpired: Bool { deadline.map { ContinuousClock.now >= $0 } ?? false }
}

/// A job's events on their way from the engine thread to the one task that streams them: the
/// engine never waits, the task awaits the next event, and ends on the last one or on its own
/// cancellation. A concrete queue: AsyncStream's generic storage, unspecialized, spent ~70 µs of
/// the engine thread per token on type-metadata lookups.
public final class EventChannel: AsyncSequence, Sendable {
    public typealias Element = GenerationEvent

    private struct State {
        var buffer: [GenerationEvent] = []
        var head = 0
        var waiter: UnsafeContinuation<GenerationEvent?, Never>?
        var closed = false   // the last event was sent, or the reader went away

        mutating func take() -> GenerationEvent? {
            guard head < buffer.count else { return nil }
            let event = buffer[head]
            head += 1
            if head == buffer.count { buffer.removeAll(keepingCapacity: true); head = 0 }
            return event
        }
    }

    private let state = Mutex(State())

    /// Delivers `event` (dropped once the channel is closed); `last` closes it after this one.
    func send(_ event: GenerationEvent, last: Bool) {
        let waiter = state.withLock { s -> UnsafeContinuation<GenerationEvent?, Never>? in
            guard !s.closed else { return nil }
            s.closed = last
            guard let w = s.waiter else {
                s.buffer.append(event)
                return nil
            }
            s.waiter = nil
            return w
        }
        waiter?.resume(returning: event)
    }

    /// The next event, or nil once the last one was read or the calling task is cancelled.
    func next() async -> GenerationEvent? {
        enum Ready { case event(GenerationEvent), end, wait }
        let ready = state.withLock { s -> Ready in
            if let e = s.take() { return .event(e) }
            return s.closed ? .end : .wait
        }
        switch ready {
        case let .event(e): return e
        case .end: return nil
        case .wait: break
        }
        return await withTaskCancellationHandler {
            await withUnsafeContinuation { (c: UnsafeContinuation<GenerationEvent?, Never>) in
                let now = state.withLock { s -> Ready in
                    if let e = s.take() { return .event(e) }
                    if s.closed || Task.isCancelled { return .end }
                    s.waiter = c
                    return .wait
                }
                switch now {
                case let .event(e): c.resume(returning: e)
                case .end: c.resume(returning: nil)
                case .wait: break
                }
            }
        } onCancel: {
            let waiter = state.withLock { s in
                s.closed = true
                defer { s.waiter = nil }
                return s.waiter
            }
            waiter?.resume(returning: nil)
        }
    }

    public struct AsyncIterator: AsyncIteratorProtocol {
        let channel: EventChannel
        public mutating func next() async -> GenerationEvent? { await channel.next() }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(channel: self) }
}
