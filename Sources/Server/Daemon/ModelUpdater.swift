import Dispatch
import Foundation
import Logging
import Metrics
import ModelStore
import Systemd

/// What an activation did, as the administrative route reports it.
public struct ActivationReport: Sendable, Encodable {
    public let model: String
    public let version: Int
    public let previous: Int?
    /// "committed" or "rolled_back".
    public let status: String
    /// "passed" (golden prompt answered as expected) or "load only" (the version has none).
    public let health: String
    public let load_seconds: Double
    public let finishing_on_previous: Int
}

/// Switches store-backed models between versions for the administrative routes: flip the active
/// pointer on trial, load and check the new file beside the old, then commit, or roll back so the
/// previous version keeps serving. One switch at a time; each is durable at every step, and a
/// trial interrupted by a crash is undone by `recover` at the next start.
public actor ModelUpdater {
    public let store: Store
    let engine: Engine
    let state: ServiceState
    let logger: Logger
    public let events: UpdateEvents
    let committed = Counter(label: "edgelm_model_activations_total", dimensions: [("result", "committed")])
    let rolledBack = Counter(label: "edgelm_model_activations_total", dimensions: [("result", "rolled_back")])

    public init(store: Store, engine: Engine, state: ServiceState, events: UpdateEvents, logger: Logger) {
        self.store = store
        self.events = events
        self.engine = engine
        self.state = state
        self.logger = logger
    }

    /// Undoes trials that never committed (a crash or power cut during an update). Runs before
    /// the registry is built, so the daemon starts on the version that last passed its check.
    public static func recover(_ store: Store, logger: Logger) {
        do {
            for t in try store.recoverTrials() {
                logger.warning("\(t.name):\(t.candidate) was on trial when the daemon stopped; rolled back to \(t.previous.map { "\(t.name):\($0)" } ?? "no active version")")
            }
        } catch {
            logger.error("could not undo an interrupted model update: \(error)")
        }
    }

    /// Switches to versions an update left staged while no daemon listened: for each model, the
    /// newest staged version that is newer than the active one and was never tried goes through
    /// the same trial and health check as an activation asked for over the socket.
    public func activateStaged() async {
        let names: [String]
        do { names = try store.stagedNames() } catch {
            logger.error("could not read the staging area: \(error)")
            return
        }
        for name in names {
            guard let version = try? store.stagedVersions(of: name).last,
                  (try? store.activeVersion(name)).flatMap({ $0 }).map({ $0 < version }) ?? true,
                  (try? store.wasTried(name, version)) == false else { continue }
            logger.notice("\(name):\(version) was staged while edgelmd was not running; switching to it")
            do {
                _ = try await activate(name, version: version)
            } catch {
                logger.error("\(name):\(version) staged, not switched to: \(error)")
            }
        }
    }

    /// Makes `name:version` the version new requests use, if it passes its health check.
    public func activate(_ name: String, version: Int) async throws -> ActivationReport {
        let before = state.current
        Notifier.notify(.reloading, .status("swapping in \(name):\(version)"))
        state.set(.swapping("\(name):\(version)"))
        defer {
            let now: ServicePhase = if case .noModel = before, engine.models.defaultName != nil {
                .ready(engine.models.defaultName!)
            } else {
                before
            }
            state.set(now)
            Notifier.notify(.ready, .status(now.description))
        }

        events.publish(UpdateEvent(model: name, version: version, phase: .activating))
        let trial: Trial
        do {
            trial = try await Self.offPool { [store] in try store.beginTrial(name, version) }
        } catch {
            events.publish(UpdateEvent(model: name, version: version, phase: .failed, message: "\(error)"))
            throw error
        }
        Fault.point(.beforeHealth)
        let manifest = try store.manifest(name, version)
        let source = ModelSource(name: name, path: try store.activePath(name).path, sha256: manifest.ggufSHA256,
                                 storeVersion: version)
        let swapped: SwapReport
        do {
            swapped = try await engine.swap(to: source, health: manifest.health)
        } catch {
            await rollBack(trial, because: error)
            throw error
        }
        do {
            try store.commitTrial(trial)
        } catch {
            // The new file serves now, but the store could not record that: undo both, so the
            // disk and the daemon agree on the previous version.
            await rollBack(trial, because: error)
            if let previous = trial.previous, let path = try? store.activePath(name) {
                _ = try? await engine.swap(to: ModelSource(name: name, path: path.path,
                                                           sha256: try? store.manifest(name, previous).ggufSHA256,
                                                           storeVersion: previous), health: nil)
            }
            throw error
        }
        committed.increment()
        events.publish(UpdateEvent(model: name, version: version, phase: .committed,
                                   message: "health check: \(manifest.health == nil ? "load only" : "passed")"))
        logger.notice("\(name):\(version) is active", metadata: [
            "previous": "\(trial.previous.map(String.init) ?? "none")", "health": "\(manifest.health == nil ? "load only" : "passed")",
        ])
        return ActivationReport(model: name, version: version, previous: trial.previous, status: "committed",
                                health: manifest.health == nil ? "load only" : "passed", load_seconds: swapped.loadSeconds,
                                finishing_on_previous: swapped.finishingOnPrevious)
    }

    /// Returns `name` to the newest stored version older than the active one, through the same
    /// trial and health check.
    public func rollback(_ name: String) async throws -> ActivationReport {
        try await activate(name, version: store.rollbackTarget(name))
    }

    /// Runs store work that may take seconds (hashing a staged GGUF, decompressing an archive) on
    /// a thread of its own, not on one of the few threads that serve every request.
    static func offPool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { done in
            DispatchQueue.global(qos: .utility).async { done.resume(with: Result { try body() }) }
        }
    }

    private func rollBack(_ trial: Trial, because error: any Error) async {
        rolledBack.increment()
        events.publish(UpdateEvent(model: trial.name, version: trial.candidate, phase: .rolled_back, message: "\(error)"))
        logger.error("\(trial.name):\(trial.candidate) refused, rolling back: \(error)")
        do {
            _ = try await Self.offPool { [store] in try store.abortTrial(trial.name) }
        } catch {
            // The record stays; the next start finishes the rollback.
            logger.critical("rolling back \(trial.name):\(trial.candidate) failed: \(error)")
        }
    }
}
