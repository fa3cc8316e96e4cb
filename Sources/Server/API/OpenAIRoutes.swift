import EdgeLMAPI
import Foundation
import Generation
import Hummingbird
import NIOCore
import Tokenizer

/// `/v1/models`, `/v1/chat/completions`, `/v1/completions`.
struct OpenAIRoutes {
    let env: RouteEnvironment

    func register(on router: Router<EdgeRequestContext>) {
        router.get("/v1/models") { _, _ in Response.json(models()) }
        router.get("/v1/models/:id") { _, context in
            let id = try context.parameters.require("id")
            guard let entry = models().data.first(where: { $0.id == id }) else {
                throw APIError(.notFound, "model \"\(id)\" is not installed", code: "model_not_found", param: "model")
            }
            return Response.json(entry)
        }
        router.post("/v1/chat/completions") { request, context in try await chat(request, context) }
        router.post("/v1/completions") { request, context in try await completion(request, context) }
    }

    func models() -> ModelList {
        let created = Int(env.started.timeIntervalSince1970)
        return ModelList(data: env.engine.models.names.map { ModelList.Entry(id: $0, created: created, ownedBy: "edgelm") })
    }

    // MARK: Chat

    func chat(_ request: Request, _ context: EdgeRequestContext) async throws -> Response {
        let body = try await request.decodeJSON(ChatCompletionRequest.self, limit: env.maxBodyBytes)
        if let tools = body.tools, !tools.isNullOrEmpty {
            throw APIError.badRequest("tools are not supported yet", code: "unsupported_parameter", param: "tools")
        }
        if let format = body.responseFormat, format.type != "text" {
            throw APIError.badRequest("response_format \"\(format.type)\" is not supported yet (only text)",
                                      code: "unsupported_parameter", param: "response_format")
        }
        if let n = body.n, n != 1 { throw APIError.badRequest("n = \(n): only 1 choice is supported", param: "n") }
        if let top = body.topLogprobs {
            guard (0...20).contains(top) else { throw APIError.badRequest("top_logprobs = \(top): must be in 0...20", param: "top_logprobs") }
            guard body.logprobs else { throw APIError.badRequest("top_logprobs requires logprobs = true", param: "top_logprobs") }
        }
        let settings = try GenerationSettings(openAI: body.sampling)
        let priority = try parsePriority(body.priority, header: request.headers[.init("X-Edgelm-Priority")!])
        let name = try env.modelName(body.model)
        try await env.authorize(model: name, context: context)
        let handle = try await env.handle(name)
        let messages = body.messages.map { ChatMessage(role: $0.role, content: $0.content.text) }
        let prompt = try PromptBuilder.chat(handle, messages: messages)
        var job = GenerationRequest(model: name, prompt: prompt, parameters: settings.parameters,
                                    maxTokens: try settings.tokenBudget(promptTokens: prompt.count, context: handle.context, field: "max_tokens"))
        job.stop = settings.stop
        job.logprobs = body.logprobs
        job.topLogprobs = body.logprobs ? (body.topLogprobs ?? 0) : 0
        job.priority = priority
        job.timeout = env.requestTimeout
        let running = try env.submit(job, context: context, handle: handle)
        let runner = env.runner(running, context: context)
        let id = requestID("chatcmpl-"), created = unixTime()
        let fingerprint = RouteEnvironment.fingerprint
        let logprobs = body.logprobs
        let tokenizer = handle.tokenizer

        guard body.stream else {
            var text = "", items: [TokenLogprob] = []
            var summary: GenerationSummary?
            var failure: EngineError?
            try await runner.run { event in
                switch event {
                case let .token(t):
                    text += t.text
                    if logprobs { items.append(Self.logprob(t, tokenizer)) }
                case let .finished(s): text += s.tail; summary = s
                case let .failed(e): failure = e
                }
            }
            if let failure { throw APIError.from(failure) }
            guard let summary else { throw APIError.from(EngineError.internalError("the generation ended without a result")) }
            let usage = Usage(prompt: summary.promptTokens, completion: summary.completionTokens, cached: summary.cachedTokens)
            return Response.json(ChatCompletion(id: id, created: created, model: name, text: text,
                                                logprobs: logprobs ? items : nil, finishReason: Self.reason(summary.finishReason),
                                                usage: usage, fingerprint: fingerprint))
        }

        let includeUsage = body.streamOptions?.includeUsage ?? false
        return Response(status: .ok, headers: SSE.headers, body: ResponseBody { writer in
            func chunk(_ choices: [ChatCompletionChunk.Choice], usage: Usage? = nil) -> ByteBuffer {
                SSE.event(ChatCompletionChunk(id: id, created: created, model: name, fingerprint: fingerprint,
                                              choices: choices, usage: usage))
            }
            try await writer.write(chunk([ChatCompletionChunk.delta(role: "assistant", content: "")]))
            try await runner.run { event in
                switch event {
                case let .token(t):
                    guard !t.text.isEmpty || logprobs else { return }
                    try await writer.write(chunk([ChatCompletionChunk.delta(
                        content: t.text, logprobs: logprobs ? [Self.logprob(t, tokenizer)] : nil)]))
                case let .finished(s):
                    if !s.tail.isEmpty { try await writer.write(chunk([ChatCompletionChunk.delta(content: s.tail)])) }
                    try await writer.write(chunk([ChatCompletionChunk.delta(finishReason: Self.reason(s.finishReason))]))
                    if includeUsage {
                        try await writer.write(chunk([], usage: Usage(prompt: s.promptTokens, completion: s.completionTokens,
                                                                      cached: s.cachedTokens)))
                    }
                    try await writer.write(SSE.done)
                case let .failed(e):
                    try await writer.write(SSE.event(APIError.from(e).body))
                }
            }
            try await writer.finish(nil)
        })
    }

    // MARK: Completions

    func completion(_ request: Request, _ context: EdgeRequestContext) async throws -> Response {
        let body = try await request.decodeJSON(CompletionRequest.self, limit: env.maxBodyBytes)
        if let suffix = body.suffix, !suffix.isEmpty {
            throw APIError.badRequest("suffix is not supported", code: "unsupported_parameter", param: "suffix")
        }
        if let n = body.n, n != 1 { throw APIError.badRequest("n = \(n): only 1 choice is supported", param: "n") }
        guard body.prompt.values.count == 1 else {
            throw APIError.badRequest("prompt must be one string (got \(body.prompt.values.count))", param: "prompt")
        }
        if let lp = body.logprobs, !(0...5).contains(lp) {
            throw APIError.badRequest("logprobs = \(lp): must be in 0...5", param: "logprobs")
        }
        let settings = try GenerationSettings(openAI: body.sampling)
        let priority = try parsePriority(body.priority, header: request.headers[.init("X-Edgelm-Priority")!])
        let name = try env.modelName(body.model)
        try await env.authorize(model: name, context: context)
        let handle = try await env.handle(name)
        let promptText = body.prompt.values[0]
        let prompt = try PromptBuilder.text(handle, promptText)
        var job = GenerationRequest(model: name, prompt: prompt, parameters: settings.parameters,
                                    maxTokens: try settings.tokenBudget(promptTokens: prompt.count, context: handle.context, field: "max_tokens"))
        job.stop = settings.stop
        job.logprobs = body.logprobs != nil
        job.topLogprobs = body.logprobs ?? 0
        job.priority = priority
        job.timeout = env.requestTimeout
        let running = try env.submit(job, context: context, handle: handle)
        let runner = env.runner(running, context: context)
        let id = requestID("cmpl-"), created = unixTime(), fingerprint = RouteEnvironment.fingerprint
        let echo = body.echo ? promptText : ""
        let wantsLogprobs = body.logprobs != nil
        let tokenizer = handle.tokenizer

        guard body.stream else {
            var text = echo
            var lp = CompletionLogprobs()
            var summary: GenerationSummary?
            var failure: EngineError?
            try await runner.run { event in
                switch event {
                case let .token(t):
                    if wantsLogprobs { Self.append(t, to: &lp, offset: text.utf8.count, tokenizer) }
                    text += t.text
                case let .finished(s): text += s.tail; summary = s
                case let .failed(e): failure = e
                }
            }
            if let failure { throw APIError.from(failure) }
            guard let summary else { throw APIError.from(EngineError.internalError("the generation ended without a result")) }
            let choice = Completion.Choice(text: text, logprobs: wantsLogprobs ? lp : nil, finishReason: Self.reason(summary.finishReason))
            return Response.json(Completion(id: id, created: created, model: name, fingerprint: fingerprint, choices: [choice],
                                            usage: Usage(prompt: summary.promptTokens, completion: summary.completionTokens,
                                                         cached: summary.cachedTokens)))
        }

        let includeUsage = body.streamOptions?.includeUsage ?? false
        return Response(status: .ok, headers: SSE.headers, body: ResponseBody { writer in
            func chunk(_ text: String, _ lp: CompletionLogprobs? = nil, finish: String? = nil) -> ByteBuffer {
                SSE.event(Completion(id: id, created: created, model: name, fingerprint: fingerprint,
                                     choices: [.init(text: text, logprobs: lp, finishReason: finish)], usage: nil))
            }
            if !echo.isEmpty { try await writer.write(chunk(echo)) }
            var offset = echo.utf8.count
            try await runner.run { event in
                switch event {
                case let .token(t):
                    var lp = CompletionLogprobs()
                    if wantsLogprobs { Self.append(t, to: &lp, offset: offset, tokenizer) }
                    offset += t.text.utf8.count
                    guard !t.text.isEmpty || wantsLogprobs else { return }
                    try await writer.write(chunk(t.text, wantsLogprobs ? lp : nil))
                case let .finished(s):
                    try await writer.write(chunk(s.tail, finish: Self.reason(s.finishReason)))
                    if includeUsage {
                        let usage = Usage(prompt: s.promptTokens, completion: s.completionTokens, cached: s.cachedTokens)
                        try await writer.write(SSE.event(Completion(id: id, created: created, model: name, fingerprint: fingerprint,
                                                                    choices: [], usage: usage)))
                    }
                    try await writer.write(SSE.done)
                case let .failed(e):
                    try await writer.write(SSE.event(APIError.from(e).body))
                }
            }
            try await writer.finish(nil)
        })
    }

    // MARK: Helpers

    static func reason(_ r: FinishReason) -> String {
        switch r {
        case .length: "length"
        case .stop, .cancelled: "stop"
        }
    }

    static func piece(_ id: Int32, _ tokenizer: Tokenizer) -> (String, [UInt8]) {
        let bytes = tokenizer.tokenBytes(id)
        return (String(decoding: bytes, as: UTF8.self), bytes)
    }

    static func logprob(_ t: TokenEvent, _ tokenizer: Tokenizer) -> TokenLogprob {
        let (text, bytes) = piece(t.id, tokenizer)
        let top = t.top.map { alt -> TokenLogprob.Alternative in
            let (s, b) = piece(alt.id, tokenizer)
            return .init(token: s, logprob: alt.logprob, bytes: b)
        }
        return TokenLogprob(token: text, logprob: t.logprob, bytes: bytes, top: top)
    }

    static func append(_ t: TokenEvent, to lp: inout CompletionLogprobs, offset: Int, _ tokenizer: Tokenizer) {
        let text = piece(t.id, tokenizer).0
        lp.tokens.append(text)
        lp.tokenLogprobs.append(t.logprob)
        lp.textOffset.append(offset)
        var top: [String: Double] = [:]
        for alt in t.top { top[piece(alt.id, tokenizer).0] = alt.logprob }
        lp.topLogprobs.append(top)
    }
}

/// Server-sent events, as OpenAI streams them.
enum SSE {
    static let headers: HTTPFields = [.contentType: "text/event-stream", .cacheControl: "no-cache"]
    static let done = ByteBuffer(string: "data: [DONE]\n\n")

    static func event<T: Encodable>(_ value: T) -> ByteBuffer {
        var buffer = ByteBuffer(string: "data: ")
        var json = ByteBuffer.json(value)
        buffer.writeBuffer(&json)
        buffer.writeString("\n\n")
        return buffer
    }
}
