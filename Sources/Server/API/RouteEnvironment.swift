import Foundation
import Hummingbird
import Synchronization

/// What every route needs: the engine, the daemon's state, the limits and the access policy.
public final class RouteEnvironment: Sendable {
    public let engine: Engine
    public let state: ServiceState
    public let maxBodyBytes: Int
    public let requestTimeout: Duration?
    /// Enables `/edgelm/v1/debug/*` (tests only).
    public let testHooks: Bool
    /// Prompts and completions reach the log only when the configuration says so.
    public let logPrompts: Bool
    /// Switches store-backed models between versions; nil when the daemon serves no store.
    public let updater: ModelUpdater?
    /// Model update progress: reported by the update service, shown on the update routes.
    public let events: UpdateEvents
    let policy: Mutex<AccessPolicy>
    let started = Date()

    public init(engine: Engine, state: ServiceState, policy: AccessPolicy, maxBodyBytes: Int,
                requestTimeout: Duration?, testHooks: Bool, logPrompts: Bool = false, updater: ModelUpdater? = nil,
                events: UpdateEvents) {
        self.logPrompts = logPrompts
        self.events = events
        self.updater = updater
        self.engine = engine
        self.state = state
        self.policy = Mutex(policy)
        self.maxBodyBytes = maxBodyBytes
        self.requestTimeout = requestTimeout
        self.testHooks = testHooks
    }

    public func updatePolicy(_ new: AccessPolicy) { policy.withLock { $0 = new } }

    static let fingerprint = "edgelm-" + EdgeLMVersion.current

    /// Refuses inference while no model can serve (503 naming why), or when the peer may not use
    /// the model (403 naming the rule).
    func authorize(model: String, context: EdgeRequestContext) async throws {
        let phase = state.current
        if phase == .noModel && engine.models.sources.isEmpty {
            throw APIError.from(EngineError.noModelInstalled)
        }
        if phase == .draining { throw APIError.from(EngineError.shuttingDown) }
        let peer = await context.peer
        if let why = policy.withLock({ $0 }).refusal(model: model, peer: peer) {
            throw APIError(.forbidden, why, code: "forbidden")
        }
    }

    func authorizeAdmin(context: EdgeRequestContext) async throws {
        let peer = await context.peer
        if let why = policy.withLock({ $0 }).adminRefusal(peer: peer) {
            throw APIError(.forbidden, why, code: "forbidden")
        }
    }

    /// The model a request names (or the default), resolved without loading it.
    func modelName(_ requested: String?) throws -> String {
        do {
            return try engine.models.resolve(requested).name
        } catch {
            throw APIError.from(error)
        }
    }

    func handle(_ name: String, keepAlive: Duration?? = nil) async throws -> ModelHandle {
        do {
            return try await engine.handle(for: name, keepAlive: keepAlive)
        } catch {
            throw APIError.from(error)
        }
    }

    func submit(_ request: GenerationRequest, context: EdgeRequestContext, handle: ModelHandle) throws -> GenerationJob {
        let job: GenerationJob
        do {
            job = try engine.submit(request)
        } catch {
            throw APIError.from(error)
        }
        if logPrompts {
            context.logger.info("prompt", metadata: ["job": "\(job.id)", "model": "\(request.model)",
                                                     "text": "\(handle.tokenizer.decode(request.prompt, renderSpecial: true))"])
        }
        return job
    }

    /// The runner for a job; with `log_prompts`, it logs the completion when the job ends.
    func runner(_ job: GenerationJob, context: EdgeRequestContext) -> JobRunner {
        JobRunner(job: job, isConnected: { [channel = context.channel] in channel.isActive },
                  logger: logPrompts ? context.logger : nil)
    }
}

public enum EdgeLMVersion {
    public static let current = "0.1.0"
}

func unixTime() -> Int { Int(Date().timeIntervalSince1970) }

func requestID(_ prefix: String) -> String {
    prefix + String((0..<24).map { _ in "abcdefghijklmnopqrstuvwxyz0123456789".randomElement()! })
}

func parsePriority(_ value: String?, header: String?) throws -> Priority {
    guard let raw = value ?? header else { return .interactive }
    guard let p = Priority(rawValue: raw.lowercased()) else {
        throw APIError.badRequest("priority = \"\(raw)\": must be interactive or batch", param: "priority")
    }
    return p
}
