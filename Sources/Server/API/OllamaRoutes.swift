import EdgeLMAPI
import Foundation
import Generation
import Hummingbird
import NIOCore
import Tokenizer

/// Ollama's API: `/api/chat`, `/api/generate` (NDJSON, streaming unless `stream: false`),
/// `/api/tags`, `/api/ps`, `/api/show`, `/api/delete`, `/api/version`.
struct OllamaRoutes {
    let env: RouteEnvironment

    func register(on router: Router<EdgeRequestContext>) {
        router.get("/api/version") { _, _ in Response.json(["version": EdgeLMVersion.current]) }
        router.get("/api/tags") { _, _ in Response.json(OllamaModelList(models: tags())) }
        router.get("/api/ps") { _, _ in Response.json(OllamaModelList(models: await running())) }
        router.post("/api/show") { request, _ in try await show(request) }
        router.delete("/api/delete") { request, context in try await delete(request, context) }
        router.post("/api/chat") { request, context in try await generate(request, context, chat: true) }
        router.post("/api/generate") { request, context in try await generate(request, context, chat: false) }
    }

    static func timestamp(_ date: Date = Date()) -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return f.string(from: date)
    }

    static func details(_ d: ModelDescription) -> OllamaModelDetails {
        OllamaModelDetails(family: d.architecture, parameterSize: d.parameterSize, quantizationLevel: d.quantization)
    }

    func tags() -> [OllamaModelEntry] {
        env.engine.models.sources.compactMap { source in
            guard let d = try? ModelDescription(source: source) else { return nil }
            return OllamaModelEntry(name: source.name, modifiedAt: d.modified.map { Self.timestamp($0) }, size: d.fileSize,
                                    digest: d.sha256 ?? "", details: Self.details(d))
        }
    }

    func running() async -> [OllamaModelEntry] {
        await env.engine.residentModels().map { m in
            let expires = m.expiresIn.map { Self.timestamp(Date().addingTimeInterval(max(0, $0.seconds))) }
                ?? Self.timestamp(Date.distantFuture)
            return OllamaModelEntry(name: m.name, modifiedAt: m.description.modified.map { Self.timestamp($0) },
                                    size: m.residentBytes, digest: m.description.sha256 ?? "", details: Self.details(m.description),
                                    expiresAt: expires, sizeVram: 0)
        }
    }

    func show(_ request: Request) async throws -> Response {
        let ref = try await request.decodeJSON(OllamaModelReference.self, limit: env.maxBodyBytes)
        let name = try env.modelName(ref.model)
        guard let source = env.engine.models.source(named: name), let d = try? ModelDescription(source: source) else {
            throw APIError(.notFound, "model \"\(ref.model)\" not found", code: "model_not_found")
        }
        var info: [String: JSONValue] = [
            "general.architecture": .string(d.architecture),
            "general.parameter_count": .number(Double(d.parameterCount)),
        ]
        if let ctx = d.contextLength { info["\(d.architecture).context_length"] = .number(Double(ctx)) }
        let capabilities = d.chatTemplate == nil ? ["completion"] : ["completion", "chat"]
        return Response.json(OllamaShowResponse(modelfile: "FROM \(source.path)\n", parameters: "", template: d.chatTemplate ?? "",
                                                details: Self.details(d), modelInfo: info, capabilities: capabilities))
    }

    /// Deleting a model is administrative. Files given on the command line are not ours to
    /// delete; a model in the model directory is unloaded and removed.
    func delete(_ request: Request, _ context: EdgeRequestContext) async throws -> Response {
        try await env.authorizeAdmin(context: context)
        let ref = try await request.decodeJSON(OllamaModelReference.self, limit: env.maxBodyBytes)
        guard let source = env.engine.models.source(named: ref.model) else {
            throw APIError(.notFound, "model \"\(ref.model)\" not found", code: "model_not_found")
        }
        guard env.engine.deletable(source) else {
            throw APIError(.forbidden, "model \(source.name) was configured explicitly (\(source.path)); only models in the model directory can be deleted",
                           code: "forbidden")
        }
        _ = await env.engine.unload(source.name)
        do {
            try FileManager.default.removeItem(atPath: source.path)
        } catch {
            throw APIError(.internalServerError, "could not delete \(source.path): \(error.localizedDescription)", code: "delete_failed")
        }
        env.engine.forget(source.name)
        return Response(status: .ok)
    }

    // MARK: Generation

    func generate(_ request: Request, _ context: EdgeRequestContext, chat: Bool) async throws -> Response {
        let model: String, options: OllamaOptions?, keepAlive: KeepAlive?, stream: Bool
        var messages: [ChatMessage]?
        var promptText: String?
        var raw = false, system: String?
        if chat {
            let body = try await request.decodeJSON(OllamaChatRequest.self, limit: env.maxBodyBytes)
            if let tools = body.tools, !tools.isNullOrEmpty {
                throw APIError.badRequest("tools are not supported yet", code: "unsupported_parameter", param: "tools")
            }
            if let f = body.format, !f.isNullOrEmpty { throw APIError.badRequest("format is not supported yet", param: "format") }
            model = body.model; options = body.options; keepAlive = body.keepAlive; stream = body.stream ?? true
            messages = body.messages?.map { ChatMessage(role: $0.role, content: $0.content) }
            if let m = body.messages, m.contains(where: { !($0.images ?? []).isEmpty }) {
                throw APIError.badRequest("images are not supported by text models", param: "messages")
            }
        } else {
            let body = try await request.decodeJSON(OllamaGenerateRequest.self, limit: env.maxBodyBytes)
            if let f = body.format, !f.isNullOrEmpty { throw APIError.badRequest("format is not supported yet", param: "format") }
            if let s = body.suffix, !s.isEmpty { throw APIError.badRequest("suffix is not supported", param: "suffix") }
            if let t = body.template, !t.isEmpty { throw APIError.badRequest("template overrides are not supported", param: "template") }
            if !(body.images ?? []).isEmpty { throw APIError.badRequest("images are not supported by text models", param: "images") }
            model = body.model; options = body.options; keepAlive = body.keepAlive; stream = body.stream ?? true
            promptText = body.prompt; raw = body.raw ?? false; system = body.system
        }
        let o = options ?? OllamaOptions()
        let settings = try GenerationSettings(
            temperature: o.temperature, topP: o.topP, topK: o.topK, minP: o.minP, seed: o.seed, repeatPenalty: o.repeatPenalty,
            presencePenalty: o.presencePenalty, frequencyPenalty: o.frequencyPenalty, repeatLastN: o.repeatLastN,
            maxTokens: o.numPredict.flatMap { $0 < 0 ? nil : $0 }, maxTokensField: "options.num_predict", stop: o.stop?.values)
        let name = try env.modelName(model)
        try await env.authorize(model: name, context: context)
        let keep: Duration?? = keepAlive.map { k in k.seconds.map { Duration.milliseconds(Int64($0 * 1000)) } }

        // No prompt: load (or, with keep_alive 0, unload) the model and say so.
        let empty = chat ? (messages ?? []).isEmpty : (promptText ?? "").isEmpty
        if empty {
            var reply = OllamaResponse(model: name, createdAt: Self.timestamp(),
                                       message: chat ? OllamaMessage(role: "assistant", content: "") : nil,
                                       response: chat ? nil : "", done: true)
            if keepAlive?.seconds == 0 {
                _ = await env.engine.unload(name)
                reply.doneReason = "unload"
            } else {
                _ = try await env.handle(name, keepAlive: keep)
                reply.doneReason = "load"
            }
            return Response.json(reply)
        }

        let started = ContinuousClock.now
        let handle = try await env.handle(name, keepAlive: keep)
        let loadNanos = UInt64((ContinuousClock.now - started).seconds * 1e9)
        let prompt: [Int32]
        if chat {
            prompt = try PromptBuilder.chat(handle, messages: messages ?? [])
        } else if raw {
            prompt = try PromptBuilder.text(handle, promptText ?? "")
        } else {
            var turn: [ChatMessage] = []
            if let system { turn.append(.system(system)) }
            turn.append(.user(promptText ?? ""))
            prompt = try PromptBuilder.chat(handle, messages: turn)
        }
        var job = GenerationRequest(model: name, prompt: prompt, parameters: settings.parameters,
                                    maxTokens: try settings.tokenBudget(promptTokens: prompt.count, context: handle.context,
                                                                        field: "options.num_predict"))
        job.stop = settings.stop
        job.timeout = env.requestTimeout
        job.priority = try parsePriority(nil, header: request.headers[.init("X-Edgelm-Priority")!])
        let running = try env.submit(job, context: context, handle: handle)
        let runner = env.runner(running, context: context)

        let reply = Reply(model: name, chat: chat, started: started, loadNanos: loadNanos)
        guard stream else {
            var text = ""
            var summary: GenerationSummary?
            var failure: EngineError?
            try await runner.run { event in
                switch event {
                case let .token(t): text += t.text
                case let .finished(s): text += s.tail; summary = s
                case let .failed(e): failure = e
                }
            }
            if let failure { throw APIError.from(failure) }
            guard let summary else { throw APIError.from(EngineError.internalError("the generation ended without a result")) }
            return Response.json(reply.final(text, summary))
        }

        return Response(status: .ok, headers: [.contentType: "application/x-ndjson"], body: ResponseBody { writer in
            try await runner.run { event in
                switch event {
                case let .token(t):
                    guard !t.text.isEmpty else { return }
                    try await writer.write(NDJSON.line(reply.line(t.text, done: false)))
                case let .finished(s):
                    try await writer.write(NDJSON.line(reply.final(s.tail, s)))
                case let .failed(e):
                    try await writer.write(NDJSON.line(["error": e.description]))
                }
            }
            try await writer.finish(nil)
        })
    }
}

/// Builds the NDJSON objects of one reply.
struct Reply: Sendable {
    let model: String
    let chat: Bool
    let started: ContinuousClock.Instant
    let loadNanos: UInt64

    func line(_ text: String, done: Bool) -> OllamaResponse {
        OllamaResponse(model: model, createdAt: OllamaRoutes.timestamp(),
                       message: chat ? OllamaMessage(role: "assistant", content: text) : nil,
                       response: chat ? nil : text, done: done)
    }

    func final(_ text: String, _ s: GenerationSummary) -> OllamaResponse {
        var r = line(text, done: true)
        r.doneReason = s.finishReason == .length ? "length" : "stop"
        r.totalDuration = UInt64((ContinuousClock.now - started).seconds * 1e9)
        r.loadDuration = loadNanos
        r.promptEvalCount = s.promptTokens - s.cachedTokens
        r.promptEvalDuration = UInt64(s.promptSeconds * 1e9)
        r.evalCount = s.completionTokens
        r.evalDuration = UInt64(s.generationSeconds * 1e9)
        return r
    }
}

enum NDJSON {
    static func line<T: Encodable>(_ value: T) -> ByteBuffer {
        var buffer = ByteBuffer.json(value)
        buffer.writeString("\n")
        return buffer
    }
}
