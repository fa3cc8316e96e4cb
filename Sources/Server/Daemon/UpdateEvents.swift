import Foundation
import Logging
import Metrics
import Synchronization

/// One step of a model update, as `GET /edgelm/v1/updates` and `GET /edgelm/v1/events` show it.
/// The update service reports its own steps (it has the network; the daemon does not); the
/// daemon adds those of the switch.
public struct UpdateEvent: Codable, Sendable, Equatable {
    public enum Phase: String, Codable, Sendable, CaseIterable {
        // Reported by the update service (`edgelm pull`, `edgelm update`).
        case checking, downloading, staged, failed
        // The daemon's own.
        case activating, committed, rolled_back
    }

    public var model: String
    public var version: Int?
    public var phase: Phase
    /// Bytes downloaded so far and the download's size (downloading only).
    public var bytes: UInt64?
    public var total: UInt64?
    public var message: String?
    /// When the daemon received it (ISO 8601, UTC); set by the daemon.
    public var time: String?

    public init(model: String, version: Int? = nil, phase: Phase, bytes: UInt64? = nil, total: UInt64? = nil,
                message: String? = nil) {
        self.model = model
        self.version = version
        self.phase = phase
        self.bytes = bytes
        self.total = total
        self.message = message
    }

    static let reportable: Set<Phase> = [.checking, .downloading, .staged, .failed]
    static let maxMessage = 1024
}

/// The latest update step of each model, fanned out to every `/edgelm/v1/events` subscriber,
/// counted in metrics and logged at each change of phase. A subscriber that stops reading loses
/// the oldest events beyond its buffer, never the daemon's memory.
public final class UpdateEvents: Sendable {
    struct State {
        var latest: [String: UpdateEvent] = [:]
        /// When each model was last updated, by publish count, to forget the stalest first.
        var updated: [String: Int] = [:]
        var published = 0
        var subscribers: [Int: AsyncStream<UpdateEvent>.Continuation] = [:]
        var nextID = 0
    }

    private let state = Mutex(State())
    private let logger: Logger
    public static let subscriberBuffer = 64
    /// Models tracked at once; an update for one more forgets the one updated longest ago, so
    /// reports for ever new names cannot grow the daemon (the route checks the name as well).
    public static let maxModels = 64

    public init(logger: Logger) { self.logger = logger }

    /// Records an event (stamped with the time it arrived) and passes it to every subscriber.
    public func publish(_ event: UpdateEvent) {
        var e = event
        e.time = Self.timestamp()
        let (previous, subscribers) = state.withLock { s -> (UpdateEvent?, [AsyncStream<UpdateEvent>.Continuation]) in
            let previous = s.latest[e.model]
            s.latest[e.model] = e
            s.published += 1
            s.updated[e.model] = s.published
            if s.latest.count > Self.maxModels, let stalest = s.updated.min(by: { $0.value < $1.value })?.key {
                s.latest[stalest] = nil
                s.updated[stalest] = nil
            }
            return (previous, Array(s.subscribers.values))
        }
        for s in subscribers { s.yield(e) }
        Counter(label: "edgelm_update_events_total", dimensions: [("phase", e.phase.rawValue)]).increment()
        if let bytes = e.bytes, let total = e.total {
            Gauge(label: "edgelm_update_downloaded_bytes", dimensions: [("model", e.model)]).record(Double(bytes))
            Gauge(label: "edgelm_update_download_size_bytes", dimensions: [("model", e.model)]).record(Double(total))
        }
        guard previous?.phase != e.phase || previous?.version != e.version else { return }
        var metadata: Logger.Metadata = ["model": "\(e.model)", "phase": "\(e.phase.rawValue)"]
        if let v = e.version { metadata["version"] = "\(v)" }
        if let t = e.total { metadata["bytes"] = "\(t)" }
        let text = e.message.map { "update of \(e.model): \(e.phase.rawValue): \($0)" } ?? "update of \(e.model): \(e.phase.rawValue)"
        logger.log(level: e.phase == .failed || e.phase == .rolled_back ? .warning : .notice, "\(text)", metadata: metadata)
    }

    /// The latest event of each model, by name.
    public func latest() -> [UpdateEvent] {
        state.withLock { $0.latest.values.sorted { $0.model < $1.model } }
    }

    /// Every event from now on, after the latest of each model.
    public func subscribe() -> AsyncStream<UpdateEvent> {
        let (stream, continuation) = AsyncStream.makeStream(of: UpdateEvent.self,
                                                            bufferingPolicy: .bufferingNewest(Self.subscriberBuffer))
        let id = state.withLock { s in
            let id = s.nextID
            s.nextID += 1
            for e in s.latest.values.sorted(by: { $0.model < $1.model }) { continuation.yield(e) }
            s.subscribers[id] = continuation
            return id
        }
        continuation.onTermination = { [weak self] _ in self?.state.withLock { _ = $0.subscribers.removeValue(forKey: id) } }
        return stream
    }

    /// Ends every subscription (shutdown).
    public func finish() {
        let all = state.withLock { s in
            defer { s.subscribers = [:] }
            return Array(s.subscribers.values)
        }
        for c in all { c.finish() }
    }

    static func timestamp() -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return f.string(from: Date())
    }
}
