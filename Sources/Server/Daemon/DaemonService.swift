import Foundation
import Logging
import ServiceLifecycle
import Systemd
import UnixSignals

/// The daemon's lifetime as one service: bind (or adopt) the socket, load the default model,
/// tell systemd it is ready, feed the watchdog from the engine loop, reload on SIGHUP, and on
/// SIGTERM stop accepting, let running generations finish within the grace period, then exit.
public final class DaemonService: Service, Sendable {
    let engine: Engine
    let listener: UnixListener
    let state: ServiceState
    let grace: Duration
    let logger: Logger
    let reload: @Sendable () async -> Void
    /// Runs once the daemon is ready (switching to versions staged while it was not running).
    let afterStart: @Sendable () async -> Void
    /// Runs as shutdown begins (ending event streams, which would otherwise hold connections).
    let beforeStop: @Sendable () -> Void

    public init(engine: Engine, listener: UnixListener, state: ServiceState, grace: Duration, logger: Logger,
                afterStart: @escaping @Sendable () async -> Void = {}, beforeStop: @escaping @Sendable () -> Void = {},
                reload: @escaping @Sendable () async -> Void) {
        self.afterStart = afterStart
        self.beforeStop = beforeStop
        self.engine = engine
        self.listener = listener
        self.state = state
        self.grace = grace
        self.logger = logger
        self.reload = reload
    }

    public func run() async throws {
        let server = try await listener.bind()
        // Inherits the graceful-shutdown context, so each connection ends after its response.
        let serving = Task { try await self.listener.serve(server) }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.feedWatchdog() }
            group.addTask { await self.handleHangups() }
            await startUp()
            group.addTask { await self.afterStart() }
            try? await gracefulShutdown()
            await shutDown()
            group.cancelAll()
        }
        // Responses still being written (final events) get a moment; then connections are cut.
        let cutoff = Task {
            try await Task.sleep(for: .seconds(5))
            serving.cancel()
        }
        _ = try? await serving.value
        cutoff.cancel()
    }

    /// Maps the default model and runs a warm-up token before READY=1. A board with no model
    /// (or whose default model fails to load) still becomes ready: health says why it cannot
    /// serve, and systemd sees no restart loop.
    func startUp() async {
        guard let name = engine.models.defaultName else {
            state.set(.noModel)
            logger.warning("no model installed", metadata: ["hint": "put a .gguf file in the model directory or pass --model"])
            Notifier.notify(.ready)
            return
        }
        state.set(.loading(name))
        // Loading can outlast TimeoutStartSec on a slow board: keep extending it while we work.
        let extender = Task {
            while !Task.isCancelled {
                Notifier.notify(.extendTimeout(microseconds: 30_000_000))
                try? await Task.sleep(for: .seconds(10))
            }
        }
        do {
            _ = try await engine.handle(for: name, keepAlive: .some(nil))
            state.set(.ready(name))
        } catch {
            logger.error("default model failed to load", metadata: ["model": "\(name)", "error": "\(error)"])
            state.set(.modelFailed(name, "\(error)"))
        }
        extender.cancel()
        Notifier.notify(.ready)
    }

    /// WATCHDOG=1 at half the timeout, each only after a liveness job went through the engine
    /// loop: a wedged engine stops the pings and systemd restarts us.
    func feedWatchdog() async {
        guard let interval = Watchdog.pingInterval else { return }
        logger.info("watchdog enabled", metadata: ["interval_ms": "\(interval.components.seconds * 1000 + interval.components.attoseconds / 1_000_000_000_000_000)"])
        let (passes, pass) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        engine.probeLiveness { pass.yield() }
        // Iteration ends when the task is cancelled, even if the engine never answers.
        for await _ in passes {
            Notifier.notify(.watchdog)
            try? await Task.sleep(for: interval)
            if Task.isCancelled { break }
            engine.probeLiveness { pass.yield() }
        }
    }

    func handleHangups() async {
        for await _ in await UnixSignalsSequence(trapping: .sighup) {
            let previous = state.current
            Notifier.notify(.reloading, .status("reloading configuration"))
            state.set(.reloading)
            await reload()
            state.set(previous)
            Notifier.notify(.ready, .status(previous.description))
        }
    }

    func shutDown() async {
        Notifier.notify(.stopping)
        state.set(.draining)
        beforeStop()
        logger.info("shutting down", metadata: ["running": "\(engine.runningCount)", "queued": "\(engine.queueDepth)",
                                                "grace_seconds": "\(grace.components.seconds)"])
        await listener.close()
        await engine.drain(grace: grace)
    }
}
