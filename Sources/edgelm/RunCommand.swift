import ArgumentParser
import Foundation
import Generation
import Kernels
import Tokenizer
import Transformer

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Generate text from a prompt, or chat.",
        discussion: "Text streams to the terminal as it is generated. Ctrl-C stops a generation.")

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var sampling: SamplingOptions

    @Option(name: .shortAndLong, help: "The prompt (rendered through the model's chat template unless --raw).")
    var prompt: String?
    @Flag(help: "Interactive chat: one user turn per line of input, keeping the conversation.")
    var chat = false
    @Flag(help: "Use the prompt as is: special tokens are parsed, no chat template is applied.")
    var raw = false
    @Flag(help: "Print one JSON object (ids, text, top-5 log-probabilities per position, timings) instead of streaming.")
    var json = false
    @Option(name: .customLong("max-tokens"), help: "Most tokens to generate.")
    var maxTokens: Int = 512
    @Option(help: "Stop when this text is generated (repeatable).")
    var stop: [String] = []
    @Option(help: "A system message for the chat template.")
    var system: String?
    @Option(name: .customLong("chat-template"), help: "Override the template family (e.g. chatml, llama3, gemma, deepseek-r1).")
    var chatTemplate: String?

    func validate() throws {
        guard chat != (prompt != nil) else { throw ValidationError("give exactly one of --prompt and --chat") }
        if raw && chat { throw ValidationError("--raw applies to --prompt only") }
        if json && chat { throw ValidationError("--json applies to --prompt only") }
        if maxTokens < 0 { throw ValidationError("--max-tokens must be ≥ 0") }
    }

    func run() throws {
        do {
            let loaded = try modelOptions.load()
            Interrupt.shared.install()
            if chat { try runChat(loaded) } else { try runPrompt(loaded, prompt!) }
        } catch let e as ValidationError {
            throw e
        } catch let e as CommandFailure {
            throw ValidationError(e.description)
        } catch {
            standardError("error: \(error)\n")
            throw ExitCode.failure
        }
    }

    private func runPrompt(_ loaded: ModelOptions.Loaded, _ prompt: String) throws {
        let ids: [Int32]
        if raw {
            ids = loaded.tokenizer.encode(prompt, parseSpecial: true)
        } else {
            var session = try ChatSession(loaded: loaded, templateName: chatTemplate, system: system)
            session.messages.append(.user(prompt))
            ids = try session.promptIDs()
        }
        let cache = try loaded.model.makeCache()
        let result = try Interrupt.shared.generation {
            try TextGenerator(model: loaded.model, tokenizer: loaded.tokenizer).generate(
                prompt: ids, cache: cache, parameters: sampling.parameters, maxTokens: maxTokens, stop: stop,
                topLogprobs: json ? 5 : 0, shouldStop: { Interrupt.shared.wasRequested },
                onText: { text in if !json { print(text, terminator: ""); flushOutput() } })
        }
        if json {
            try printJSON(ids: ids, result: result, loaded: loaded, cache: cache)
        } else {
            print("")
            flushOutput()
            standardError(String(format: "[%d prompt tokens at %.1f t/s, %d generated at %.1f t/s, %@]\n",
                                 result.promptTokens, result.promptTokensPerSecond, result.generatedIDs.count,
                                 result.generationTokensPerSecond, result.finishReason.rawValue))
        }
    }

    private func runChat(_ loaded: ModelOptions.Loaded) throws {
        var session = try ChatSession(loaded: loaded, templateName: chatTemplate, system: system)
        standardError("chatting with \(modelOptions.model) (context \(loaded.context) tokens); Ctrl-C stops a reply, Ctrl-D ends\n")
        while true {
            standardError("> ")
            guard let line = readLine() else { break }
            if line.trimmingCharacters(in: .whitespaces).isEmpty { continue }
            do {
                let result = try Interrupt.shared.generation {
                    try session.reply(to: line, parameters: sampling.parameters, maxTokens: maxTokens, stop: stop,
                                      shouldStop: { Interrupt.shared.wasRequested },
                                      onText: { print($0, terminator: ""); flushOutput() })
                }
                print("")
                flushOutput()
                if result.finishReason == .cancelled { standardError("[stopped]\n") }
            } catch {
                standardError("error: \(error)\n")
                session.messages.removeLast()
            }
        }
    }

    private func printJSON(ids: [Int32], result: GenerationResult, loaded: ModelOptions.Loaded, cache: KVCache) throws {
        struct Candidate: Encodable { let id: Int32; let logprob: Double }
        struct Position: Encodable { let id: Int32; let logprob: Double; let top: [Candidate] }
        struct Timings: Encodable {
            let prompt_ms: Double, prompt_tokens_per_second: Double
            let generation_ms: Double, generation_tokens_per_second: Double
        }
        struct Memory: Encodable { let kv_cache_bytes: Int; let rss_anon_bytes: Int?; let rss_file_bytes: Int?; let peak_rss_bytes: Int? }
        struct Output: Encodable {
            let model: String, prompt_ids: [Int32], generated_ids: [Int32], text: String, finish_reason: String
            let positions: [Position], timings: Timings, memory: Memory, threads: Int, kernels: String
        }
        let positions = result.generatedIDs.indices.map { i in
            Position(id: result.generatedIDs[i], logprob: result.logprobs[i],
                     top: result.topLogprobs[i].map { Candidate(id: $0.id, logprob: $0.logprob) })
        }
        let out = Output(
            model: modelOptions.model, prompt_ids: ids, generated_ids: result.generatedIDs, text: result.text,
            finish_reason: result.finishReason.rawValue, positions: positions,
            timings: Timings(prompt_ms: result.promptSeconds * 1000, prompt_tokens_per_second: result.promptTokensPerSecond,
                             generation_ms: result.generationSeconds * 1000, generation_tokens_per_second: result.generationTokensPerSecond),
            memory: Memory(kv_cache_bytes: cache.byteCount, rss_anon_bytes: ProcessMemory.residentAnonymous,
                           rss_file_bytes: ProcessMemory.residentFile, peak_rss_bytes: ProcessMemory.peakResident),
            threads: loaded.model.pool.threads, kernels: KernelSet.selected.rawValue)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        print(String(decoding: try encoder.encode(out), as: UTF8.self))
    }
}
