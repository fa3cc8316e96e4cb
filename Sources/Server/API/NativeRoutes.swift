import EdgeLMAPI
import Foundation
import Hummingbird
import Kernels
import NIOCore
import Prometheus

/// `/health`, `/metrics`, `/edgelm/v1/info`, and the administrative model routes.
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
        if env.testHooks {
            // Test-only: stops the engine thread so the watchdog pings must stop.
            router.post("/edgelm/v1/debug/wedge") { _, context in
                try await env.authorizeAdmin(context: context)
                env.engine.wedge()
                return Response.json(["status": "wedged"])
            }
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
        let models: [String]
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
                    models: env.engine.models.names, default_model: env.engine.models.defaultName,
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
