import Foundation
import GGUF
import Generation
import ModelStore
import Kernels
import Tokenizer
import Transformer

/// What request handlers need of a resident model to build prompts: its tokenizer and template.
public struct ModelHandle: Sendable {
    public let name: String
    public let tokenizer: Tokenizer
    /// nil when the model's template family is unknown (chat routes then refuse, naming why).
    public let template: ChatTemplate?
    public let templateError: String?
    /// Tokens one sequence may hold (prompt and generation).
    public let context: Int
    public let description: ModelDescription
}

/// A resident model and its sequence slots, each with its own KV cache. Lives on the engine
/// thread only: the model's workspace and caches are never touched from anywhere else.
final class ModelHost {
    struct Slot {
        let cache: KVCache
        /// The tokens whose keys and values `cache` holds, in order (for prefix reuse).
        var tokens: [Int32] = []
        var sequence: ActiveSequence?
    }

    let source: ModelSource
    let handle: ModelHandle
    let model: Model
    var slots: [Slot]
    let loadSeconds: Double
    let residentBytes: Int
    var lastUsed = ContinuousClock.now
    /// nil: stay loaded until unloaded explicitly.
    var keepAlive: Duration?

    /// Memory a load needs: the mapped weights (they become resident), one KV cache per slot,
    /// and the activation scratch of a batch.
    static func estimateBytes(file: GGUFFile, config: ModelConfig, slots: Int, context: Int, batch: Int) -> Int {
        let kv = 2 * config.layerCount * context * config.kvDim * 2
        let scratch = batch * (config.vocabularySize + 8 * max(config.embeddingLength, config.feedForwardLength)) * 4
        return file.file.bytes.count + slots * kv + scratch + (16 << 20)
    }

    init(source: ModelSource, options: EngineOptions, budget: MemoryBudget) throws(EngineError) {
        let start = ContinuousClock.now
        do {
            let file = try GGUFFile(path: source.path)
            let config = try ModelConfig(gguf: file)
            let context = min(options.context, config.trainedContext)
            let batch = max(64, options.slots)
            let needed = Self.estimateBytes(file: file, config: config, slots: options.slots, context: context, batch: batch)
            let available = budget.availableBytes
            guard needed <= available else {
                throw EngineError.insufficientMemory(model: source.name, needed: needed, available: available)
            }
            let model = try Model(file: file, threads: options.threads, context: context, batchSize: batch)
            self.model = model
            let tokenizer = try Tokenizer(gguf: file)
            var template: ChatTemplate?
            var templateError: String?
            if let jinja = try file.metadata.string("tokenizer.chat_template") {
                do { template = try ChatTemplate(jinjaSource: jinja) } catch { templateError = error.description }
            } else {
                templateError = "the model has no chat template"
            }
            let slots = try (0..<options.slots).map { _ in Slot(cache: try model.makeCache(context: context)) }
            // Warm-up: one token through every layer faults in the weights the first request needs.
            let warm = tokenizer.bosID ?? 0
            try model.forward([warm], cache: slots[0].cache) { _, _ in }
            slots[0].cache.clear()
            self.slots = slots
            handle = ModelHandle(name: source.name, tokenizer: tokenizer, template: template, templateError: templateError,
                                 context: context, description: try ModelDescription(source: source))
            residentBytes = needed
        } catch let e as EngineError {
            throw e
        } catch {
            throw .loadFailed(model: source.name, reason: "\(error)")
        }
        self.source = source
        loadSeconds = (ContinuousClock.now - start).seconds
        keepAlive = options.keepAlive
    }

    /// Runs the golden prompt as is (special tokens parsed, no chat template) greedily on slot 0;
    /// the answer must contain the expected text. Returns what the model answered.
    func healthCheck(_ check: ChannelModel.HealthCheck) throws(EngineError) -> String {
        let tokenizer = handle.tokenizer
        let prompt = tokenizer.encode(check.prompt, parseSpecial: true)
        let expected = check.expect.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !prompt.isEmpty, prompt.count < handle.context else {
            throw .healthCheckFailed(model: source.name, reason: "the golden prompt has \(prompt.count) tokens; the context holds \(handle.context)")
        }
        // Room for the expected text however it tokenizes, plus a little.
        let budget = min(handle.context - prompt.count, tokenizer.encode(expected, parseSpecial: false, addSpecial: false).count + 8)
        let cache = slots[0].cache
        defer { cache.clear() }
        let answer: String
        do {
            answer = try TextGenerator(model: model, tokenizer: tokenizer)
                .generate(prompt: prompt, cache: cache, parameters: .greedy, maxTokens: budget).text
        } catch {
            throw .healthCheckFailed(model: source.name, reason: "generation failed: \(error)")
        }
        guard answer.contains(expected) else {
            throw .healthCheckFailed(model: source.name, reason: "the golden prompt's answer \(String(reflecting: String(answer.prefix(expected.count + 32)))) does not contain \(String(reflecting: expected))")
        }
        return answer
    }

    var activeCount: Int { slots.count { $0.sequence != nil } }
    var freeSlots: Int { slots.count - activeCount }
    var isIdle: Bool { activeCount == 0 }

    /// The free slot sharing the longest prefix with `prompt` (ties: the least recently filled).
    func bestSlot(for prompt: [Int32]) -> (index: Int, shared: Int)? {
        var best: (index: Int, shared: Int)?
        for (i, slot) in slots.enumerated() where slot.sequence == nil {
            let shared = zip(slot.tokens, prompt).prefix { $0 == $1 }.count
            if best == nil || shared > best!.shared { best = (i, shared) }
        }
        return best
    }
}

extension Duration {
    var seconds: Double {
        let c = components
        return Double(c.seconds) + Double(c.attoseconds) * 1e-18
    }
}
