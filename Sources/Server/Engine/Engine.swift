import Dispatch
import Foundation
import Logging
import ModelStore
import Synchronization

/// How a model file passed its check before taking over its name.
public struct SwapReport: Sendable {
    public var loadSeconds: Double
    /// The golden prompt's answer; nil when the version has no golden prompt (load and warm-up only).
    public var answer: String?
    /// Sequences still running on the previous file, which they finish on.
    public var finishingOnPrevious: Int
}

/// The inference engine: one thread that owns every resident model and advances all running
/// sequences together (continuous batching). Request handlers talk to it through a mailbox.
public final class Engine: Sendable {
    enum Command: Sendable {
        case load(String, keepAlive: Duration??, CheckedContinuation<ModelHandle, any Error>)
        case unload(String, CheckedContinuation<Bool, Never>)
        case resident(CheckedContinuation<[ResidentModel], Never>)
        case swap(ModelSource, health: ChannelModel.HealthCheck?, CheckedContinuation<SwapReport, any Error>)
        case liveness(@Sendable () -> Void)
        case wedge
    }

    struct Mailbox {
        var commands: [Command] = []
        /// Requests not yet in a slot, in arrival order; `Priority` decides who goes first.
        var waiting: [GenerationJob] = []
        var accepting = true
        var stopped = false
        /// Set by the engine thread once it has ended every remaining request.
        var finished = false
        var running = 0
        /// Free slots per resident model, as of the engine's last turn: requests that will get
        /// one at once do not count against the queue limit.
        var freeSlots: [String: Int] = [:]
    }

    public let options: EngineOptions
    let registry: Mutex<ModelRegistry>
    let mailbox = Mutex(Mailbox())
    let wake = DispatchSemaphore(value: 0)
    let logger: Logger
    let metrics = EngineMetrics()
    private let nextID = Atomic<Int>(0)

    public init(options: EngineOptions, registry: ModelRegistry, logger: Logger) {
        self.options = options
        self.registry = Mutex(registry)
        self.logger = logger
    }

    /// Starts the engine thread (once).
    public func start() {
        let thread = Thread { [self] in EngineLoop(engine: self).run() }
        thread.name = "edgelm-engine"
        thread.stackSize = 8 << 20
        thread.start()
    }

    public var models: ModelRegistry { registry.withLock { $0 } }

    public func deletable(_ source: ModelSource) -> Bool { source.inModelDirectory }

    /// Drops a deleted model from the registry.
    public func forget(_ name: String) { registry.withLock { $0.remove(name) } }

    /// Replaces the set of known models (configuration reload); resident models stay loaded.
    public func updateRegistry(_ new: ModelRegistry) { registry.withLock { $0 = new } }

    // MARK: Requests

    /// Loads `name` if needed (a request naming no model gets the default) and returns what a
    /// handler needs to build its prompt. `keepAlive` (if given) replaces the model's idle timeout.
    public func handle(for name: String?, keepAlive: Duration?? = nil) async throws -> ModelHandle {
        let source = try registry.withLock { registry throws(EngineError) in try registry.resolve(name) }
        return try await withCheckedThrowingContinuation { c in
            post(.load(source.name, keepAlive: keepAlive, c))
        }
    }

    /// Queues a request; its events arrive on the returned job's stream.
    public func submit(_ request: GenerationRequest) throws(EngineError) -> GenerationJob {
        let job = GenerationJob(id: "\(nextID.add(1, ordering: .relaxed).newValue)", request: request)
        let refusal: EngineError? = mailbox.withLock { box in
            guard box.accepting else { return .shuttingDown }
            let free = box.freeSlots[request.model] ?? options.slots
            let waitingHere = box.waiting.count { $0.request.model == request.model }
            guard box.waiting.count - min(waitingHere, free) < options.queueLimit else {
                return .queueFull(limit: options.queueLimit)
            }
            box.waiting.append(job)
            metrics.queueDepth.record(box.waiting.count)
            return nil
        }
        if let refusal { throw refusal }
        wake.signal()
        return job
    }

    /// Loads `source` beside whatever serves its name now, warms it up and runs `health` on it;
    /// if that passes, new requests for the name go to it while running ones finish on the
    /// previous mapping. If anything fails the previous file keeps serving and this throws.
    public func swap(to source: ModelSource, health: ChannelModel.HealthCheck?) async throws -> SwapReport {
        try await withCheckedThrowingContinuation { c in post(.swap(source, health: health, c)) }
    }

    /// Unloads a resident model (Ollama's `keep_alive: 0`); false if it was not loaded.
    public func unload(_ name: String) async -> Bool {
        await withCheckedContinuation { c in post(.unload(name, c)) }
    }

    public func residentModels() async -> [ResidentModel] {
        await withCheckedContinuation { c in post(.resident(c)) }
    }

    /// Calls `passed` once a job has gone through the engine loop: the watchdog pings only then,
    /// so a wedged engine stops them.
    public func probeLiveness(_ passed: @escaping @Sendable () -> Void) { post(.liveness(passed)) }

    /// Test hook: the engine thread stops making progress forever.
    public func wedge() { post(.wedge) }

    public var queueDepth: Int { mailbox.withLock { $0.waiting.count } }
    public var runningCount: Int { mailbox.withLock { $0.running } }

    // MARK: Shutdown

    /// Stops accepting requests, lets running and queued ones finish for up to `grace`, then
    /// cancels the rest (they end with an error event) and stops the thread.
    public func drain(grace: Duration) async {
        mailbox.withLock { $0.accepting = false }
        let deadline = ContinuousClock.now + grace
        while ContinuousClock.now < deadline {
            let busy = mailbox.withLock { $0.running + $0.waiting.count }
            if busy == 0 { break }
            try? await Task.sleep(for: .milliseconds(50))
        }
        mailbox.withLock { $0.stopped = true }
        wake.signal()
        // Wait for the thread to end what is left (a wedged engine never does: give up).
        let stopDeadline = ContinuousClock.now + .seconds(2)
        while !mailbox.withLock({ $0.finished }) && ContinuousClock.now < stopDeadline {
            try? await Task.sleep(for: .milliseconds(10))
        }
    }

    func post(_ command: Command) {
        mailbox.withLock { $0.commands.append(command) }
        wake.signal()
    }
}
