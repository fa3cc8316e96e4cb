import EdgeLMAPI
import Foundation
import Hummingbird
import Kernels
import ModelStore
import NIOCore
import Prometheus

/// `/health`, `/metrics`, `/edgelm/v1/info`, the administrative model routes, and model updates.
struct NativeRoutes {
    let env: RouteEnvironment
    let metrics: PrometheusCollectorRegistry?

    func register(on router: Router<EdgeRequestContext>) {
        router.get("/health") { _, _ in health() }
        router.get("/metrics") { _, _ in
            guard let metrics else { throw APIError(.notFound, "metrics are not enabled", code: "not_found") }
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                            body: .init(byteBuffer: ByteBuffer(bytes: metrics.emitToBuffer())))
        }
        router.get("/edgelm/v1/info") { _, _ in Response.json(await info()) }
        router.post("/edgelm/v1/models/:name/load") { _, context in
            try await env.authorizeAdmin(context: context)
            let name = try env.modelName(try context.parameters.require("name"))
            _ = try await env.handle(name)
            return Response.json(["model": name, "status": "loaded"])
        }
        router.post("/edgelm/v1/models/:name/unload") { _, context in
            try await env.authorizeAdmin(context: context)
            let name = try env.modelName(try context.parameters.require("name"))
            let was = await env.engine.unload(name)
            return Response.json(["model": name, "status": was ? "unloaded" : "not loaded"])
        }
        router.post("/edgelm/v1/models/:name/activate") { request, context in
            try await env.authorizeAdmin(context: context)
            let (name, updater) = try storeModel(context)
            let body = try await request.decodeJSON(ActivateRequest.self, limit: 4096)
            return Response.json(try await update { try await updater.activate(name, version: body.version) })
        }
        router.post("/edgelm/v1/models/:name/rollback") { _, context in
            try await env.authorizeAdmin(context: context)
            let (name, updater) = try storeModel(context)
            return Response.json(try await update { try await updater.rollback(name) })
        }
        router.post("/edgelm/v1/models/:name/progress") { request, context in
            try await env.authorizeAdmin(context: context)
            let name = try context.parameters.require("name")
            do { try ModelID.validate(name: name) } catch { throw APIError.badRequest("\(error)", param: "name") }
            let report = try await request.decodeJSON(ProgressReport.self, limit: 4096)
            env.events.publish(try report.event(model: name))
            return Response.json(["status": "recorded"])
        }
        router.get("/edgelm/v1/updates") { _, _ in Response.json(Updates(updates: env.events.latest())) }
        router.get("/edgelm/v1/events") { _, _ in
            let events = env.events.subscribe()
            return Response(status: .ok, headers: SSE.headers, body: ResponseBody { writer in
                for await e in events {
                    var buffer = ByteBuffer(string: "event: update\n")
                    var data = SSE.event(e)
                    buffer.writeBuffer(&data)
                    try await writer.write(buffer)
                }
                try await writer.finish(nil)
            })
        }
        if env.testHooks {
            // Test-only: stops the engine thread so the watchdog pings must stop.
            router.post("/edgelm/v1/debug/wedge") { _, context in
                try await env.authorizeAdmin(context: context)
                env.engine.wedge()
                return Response.json(["status": "wedged"])
            }
        }
    }

    struct ActivateRequest: Decodable { let version: Int }

    struct Updates: Encodable { let updates: [UpdateEvent] }

    /// What the update service may report: its own phases, with figures that make sense.
    struct ProgressReport: Decodable {
        let phase: String
        let version: Int?
        let bytes: UInt64?
        let total: UInt64?
        let message: String?

        func event(model: String) throws -> UpdateEvent {
            guard let p = UpdateEvent.Phase(rawValue: phase), UpdateEvent.reportable.contains(p) else {
                throw APIError.badRequest("phase = \(String(reflecting: phase)): must be one of \(UpdateEvent.reportable.map(\.rawValue).sorted().joined(separator: ", "))",
                                          param: "phase")
            }
            if let version { do { try ModelID.validate(version: version) } catch { throw APIError.badRequest("\(error)", param: "version") } }
            if let bytes, let total, bytes > total {
                throw APIError.badRequest("bytes = \(bytes) exceeds total = \(total)", param: "bytes")
            }
            if (bytes == nil) != (total == nil) { throw APIError.badRequest("bytes and total go together", param: bytes == nil ? "bytes" : "total") }
            if let message, message.utf8.count > UpdateEvent.maxMessage {
                throw APIError.badRequest("message is \(message.utf8.count) bytes; at most \(UpdateEvent.maxMessage)", param: "message")
            }
            return UpdateEvent(model: model, version: version, phase: p, bytes: bytes, total: total, message: message)
        }
    }

    /// The store and the model name a store route names (which need not be served yet).
    func storeModel(_ context: EdgeRequestContext) throws -> (String, ModelUpdater) {
        guard let updater = env.updater else {
            throw APIError(.notFound, "this daemon serves no model store (set 'store' in its configuration)", code: "no_store")
        }
        let name = try context.parameters.require("name")
        do { try ModelID.validate(name: name) } catch { throw APIError.badRequest("\(error)", param: "name") }
        return (name, updater)
    }

    /// Maps the store's refusals to statuses: the request was understood, the store said no.
    func update(_ body: () async throws -> ActivationReport) async throws -> ActivationReport {
        do {
            return try await body()
        } catch let e as StoreError {
            switch e {
            case .notFound: throw APIError(.notFound, e.description, code: "version_not_found")
            case .locked, .trialPending: throw APIError(.conflict, e.description, code: "store_busy")
            case .alreadyActive, .nothingToRollBack, .notActive: throw APIError(.conflict, e.description, code: "nothing_to_do")
            default: throw APIError(.internalServerError, e.description, code: "store_error")
            }
        } catch let e as EngineError {
            throw APIError.from(e)
        }
    }

    struct Health: Encodable {
        let status: String
        let reason: String?
        let models: [String]
    }

    func health() -> Response {
        let phase = env.state.current
        let ok = phase.isServing
        return Response.json(Health(status: ok ? "ok" : "unavailable", reason: ok ? nil : phase.description,
                                    models: env.engine.models.names),
                             status: ok ? .ok : .serviceUnavailable)
    }

    struct Info: Encodable {
        struct Resident: Encodable {
            let name: String, resident_bytes: Int, slots: Int, active_sequences: Int, load_seconds: Double
        }
        let version: String
        let kernels: String
        let cpu_features: [String]
        let threads: Int
        let slots: Int
        let context: Int
        let queue_limit: Int
        let queue_depth: Int
        let memory_budget_bytes: Int
        struct Served: Encodable { let name: String, path: String, sha256: String?, store_version: Int? }
        let models: [String]
        /// The file behind each name; for a store model, the version its active pointer names.
        let served: [Served]
        let default_model: String?
        let loaded: [Resident]
        let status: String
    }

    func info() async -> Info {
        let o = env.engine.options
        let resident = await env.engine.residentModels()
        return Info(version: EdgeLMVersion.current, kernels: KernelSet.selected.rawValue,
                    cpu_features: KernelVariant.allCases.filter(\.isSupported).map(\.rawValue),
                    threads: o.threads, slots: o.slots, context: o.context, queue_limit: o.queueLimit,
                    queue_depth: env.engine.queueDepth,
                    memory_budget_bytes: MemoryBudget(reserveBytes: o.memoryReserveBytes).availableBytes,
                    models: env.engine.models.names,
                    served: env.engine.models.sources.map { .init(name: $0.name, path: $0.path, sha256: $0.sha256, store_version: $0.storeVersion) },
                    default_model: env.engine.models.defaultName,
                    loaded: resident.map { .init(name: $0.name, resident_bytes: $0.residentBytes, slots: $0.slots,
                                                 active_sequences: $0.activeSequences, load_seconds: $0.loadSeconds) },
                    status: env.state.current.description)
    }
}

/// The router with every route, the metrics middleware first so refusals are counted too.
public enum Routes {
    public static func router(_ env: RouteEnvironment, metrics: PrometheusCollectorRegistry?) -> Router<EdgeRequestContext> {
        let router = Router(context: EdgeRequestContext.self)
        if metrics != nil { router.add(middleware: MetricsMiddleware()) }
        OpenAIRoutes(env: env).register(on: router)
        OllamaRoutes(env: env).register(on: router)
        NativeRoutes(env: env, metrics: metrics).register(on: router)
        return router
    }
}
