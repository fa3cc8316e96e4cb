import ArgumentParser
import Foundation
import Kernels
import Logging
import Metrics
import ModelStore
import Prometheus
import Server
import ServiceLifecycle
import Systemd

@main
struct Edgelmd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "edgelmd",
        abstract: "Serve language models over a Unix socket (OpenAI- and Ollama-compatible HTTP).",
        discussion: """
            Settings come from the configuration file (if any), then EDGELM_<KEY> environment variables, then flags.
            Under systemd the socket is passed by edgelm.socket; otherwise edgelmd binds --socket itself.
            """,
        version: EdgeLMVersion.current)

    @Option(help: "Configuration file (YAML). Without it, the defaults, the environment and the flags apply.")
    var config: String?
    @Flag(name: .customLong("check-config"), help: "Validate the configuration, print the result and exit.")
    var checkConfig = false
    @Option(help: "Socket path to bind when systemd passes none.")
    var socket: String?
    @Option(name: .customLong("model"), help: "A GGUF file to serve (repeatable; the first is the default).")
    var models: [String] = []
    @Option(name: .customLong("model-dir"), help: "Serve every *.gguf in this directory.")
    var modelDir: String?
    @Option(help: "A model store: serve its active versions and switch versions on request.")
    var store: String?
    @Option(help: "Compute threads (0: every CPU this process may use).")
    var threads: Int?
    @Option(help: "Sequences decoded together, each with its own KV cache.")
    var slots: Int?
    @Option(name: .customLong("ctx"), help: "Context length per slot, in tokens.")
    var context: Int?
    @Option(help: "Requests that may wait for a slot.")
    var queue: Int?
    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel: String?
    @Flag(name: .customLong("test-hooks"), help: .hidden)
    var testHooks = false

    func resolveConfiguration() throws -> DaemonConfiguration {
        var c = DaemonConfiguration()
        let file = config
        if let file { c = try DaemonConfiguration.load(path: file) }
        try c.applyEnvironment(ProcessInfo.processInfo.environment)
        let flags = "command line"
        if let socket { try c.set("socket", socket, source: flags) }
        if !models.isEmpty { c.models = models.map { DaemonConfiguration.ModelFile(path: $0) } }
        if let modelDir { try c.set("model_dir", modelDir, source: flags) } else if config == nil && !models.isEmpty { c.modelDir = nil }
        if let store { try c.set("store", store, source: flags) }
        if let threads { try c.set("threads", String(threads), source: flags) }
        if let slots { try c.set("slots", String(slots), source: flags) }
        if let context { try c.set("context", String(context), source: flags) }
        if let queue { try c.set("queue", String(queue), source: flags) }
        if let logLevel { try c.set("log_level", logLevel, source: flags) }
        for m in c.models where !FileManager.default.isReadableFile(atPath: m.path) {
            throw ConfigurationError.badValue(key: "models", value: m.path, expected: "a readable GGUF file", source: file ?? flags)
        }
        _ = try c.accessPolicy(source: file ?? flags)
        return c
    }

    func registry(_ c: DaemonConfiguration, store: Store?) -> ModelRegistry {
        let catalog = try? Catalog.locate()
        return ModelRegistry.discover(files: c.models.map { ($0.path, $0.name) }, store: store, directory: c.modelDir,
                                      catalog: catalog, defaultName: c.defaultModel)
    }

    /// The configured store, created if missing (the state directory exists, the store in it may not).
    func openStore(_ c: DaemonConfiguration) throws -> Store? {
        guard let root = c.store else { return nil }
        return try Store(root: URL(fileURLWithPath: root), create: true)
    }

    func run() async throws {
        let c: DaemonConfiguration
        do {
            c = try resolveConfiguration()
        } catch {
            FileHandle.standardError.write(Data("edgelmd: configuration error: \(error)\n".utf8))
            throw ExitCode(78)  // EX_CONFIG: systemd's RestartPreventExitStatus can use it
        }
        if checkConfig {
            let r = registry(c, store: try? c.store.map { try Store(root: URL(fileURLWithPath: $0), create: false) })
            print("configuration OK: socket \(c.socket), \(r.names.count) model(s)\(r.defaultName.map { ", default \($0)" } ?? ""), \(c.slots) slots × \(c.context) tokens")
            return
        }

        let journal = Journal.isStandardErrorConnected
        let level = Logger.Level(rawValue: c.logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var handler: any LogHandler = journal ? JournalLogHandler(label: label) : StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "edgelmd")
        let metrics = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: metrics)
        factory.durationHistogramBuckets["edgelm_time_to_first_token_seconds"] =
            [.milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2), .seconds(5), .seconds(10), .seconds(30)]
        factory.durationHistogramBuckets["edgelm_inter_token_latency_seconds"] =
            [.milliseconds(5), .milliseconds(10), .milliseconds(20), .milliseconds(40), .milliseconds(80), .milliseconds(160), .milliseconds(320), .seconds(1)]
        MetricsSystem.bootstrap(factory)

        do {
            try KernelSet.applyEnvironment(ProcessInfo.processInfo.environment)
        } catch {
            logger.critical("\(error)")
            throw ExitCode(78)
        }
        var options = EngineOptions(threads: c.threads > 0 ? c.threads : CPUInfo.usableCores)
        options.slots = c.slots
        options.context = c.context
        options.queueLimit = c.queue
        options.keepAlive = c.keepAlive < 0 ? nil : .seconds(c.keepAlive)
        options.memoryReserveBytes = c.memoryReserveMiB << 20
        let store: Store?
        do {
            store = try openStore(c)
        } catch {
            logger.critical("model store: \(error)")
            throw ExitCode(78)
        }
        if let store { ModelUpdater.recover(store, logger: logger) }
        let models = registry(c, store: store)
        logger.info("edgelmd \(EdgeLMVersion.current) starting", metadata: [
            "kernels": "\(KernelSet.selected.rawValue)", "threads": "\(options.threads)", "slots": "\(options.slots)",
            "context": "\(options.context)", "models": "\(models.names.joined(separator: ","))",
        ])

        let engine = Engine(options: options, registry: models, logger: logger)
        engine.start()
        let state = ServiceState { phase in
            Notifier.notify(.status(phase.description))
            logger.info("status: \(phase.description)")
        }
        let events = UpdateEvents(logger: logger)
        let updater = store.map { ModelUpdater(store: $0, engine: engine, state: state, events: events, logger: logger) }
        let env = RouteEnvironment(engine: engine, state: state, policy: try c.accessPolicy(source: config ?? "command line"),
                                   maxBodyBytes: c.maxBodyBytes, requestTimeout: .seconds(c.requestTimeout), testHooks: testHooks,
                                   logPrompts: c.logPrompts, updater: updater, events: events)
        let router = Routes.router(env, metrics: metrics)

        let inherited = ListenSockets.take()
        let address: ListenAddress
        if let socket = inherited.first(where: { $0.name == "api" }) ?? inherited.first {
            address = .inherited(descriptor: socket.descriptor)
        } else {
            address = .path(c.socket, mode: c.socketMode)
        }
        var limits = ConnectionLimits()
        limits.maxConnections = c.maxConnections
        limits.idleTimeout = .seconds(c.idleTimeout)
        let listener = UnixListener(address: address, limits: limits, router: router, logger: logger)

        let daemon = DaemonService(engine: engine, listener: listener, state: state, grace: .seconds(c.shutdownGrace),
                                   logger: logger, afterStart: { await updater?.activateStaged() },
                                   beforeStop: { events.finish() }) {
            do {
                let fresh = try self.resolveConfiguration()
                engine.updateRegistry(self.registry(fresh, store: store))
                env.updatePolicy(try fresh.accessPolicy(source: self.config ?? "command line"))
                logger.info("configuration reloaded (models and access rules; other settings apply at restart)")
            } catch {
                logger.error("configuration reload refused, keeping the current one: \(error)")
            }
        }
        let group = ServiceGroup(configuration: .init(services: [daemon], gracefulShutdownSignals: [.sigterm, .sigint],
                                                      logger: logger))
        try await group.run()
        logger.info("stopped")
    }
}
