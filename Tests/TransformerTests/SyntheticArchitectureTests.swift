import XCTest
import GGUF
import Generation
import TestSupport
import Transformer

/// Each architecture's forward pass against the naive reference, on tiny random models.
final class SyntheticArchitectureTests: XCTestCase {
    let tokens: [Int32] = [3, 17, 42, 96, 0, 5, 5, 60, 11]

    func check(_ arch: String, tied: Bool = false, batch: Int = 4) throws {
        let synthetic = SyntheticModel(architecture: arch, tied: tied)
        let model = try Model(path: synthetic.write(), threads: 2, context: 64, batchSize: batch)
        XCTAssertEqual(model.architecture.name, arch)
        XCTAssertEqual(model.weights.tiedOutput, tied)
        let expected = NaiveReference(m: synthetic).logits(tokens)
        let cache = try model.makeCache()
        var worst = 0.0
        // The prompt in one call (batched), then the rest one token at a time (decode).
        let split = 6
        func compare(_ i: Int, _ logits: UnsafeBufferPointer<Float>) {
            for (j, e) in expected[i].enumerated() {
                worst = max(worst, abs(Double(logits[j]) - e))
                XCTAssertEqual(Double(logits[j]), e, accuracy: 2e-3 * max(1, abs(e)), "\(arch) token \(i) logit \(j)")
            }
        }
        try model.forward(Array(tokens[..<split]), cache: cache, outputs: .all, compare)
        for i in split..<tokens.count {
            try model.forward([tokens[i]], cache: cache) { _, logits in compare(i, logits) }
        }
        print("\(arch)\(tied ? " (tied)" : ""): largest logit difference from the reference \(worst)")
    }

    func testLlama() throws { try check("llama") }

    /// A prompt of 64 tokens or more takes the f32 attention path, in batches of any size.
    func testLongPromptUsesF32Attention() throws {
        for arch in ["llama", "qwen2"] {
            let synthetic = SyntheticModel(architecture: arch)
            let model = try Model(path: synthetic.write(), threads: 2, context: 128, batchSize: 32)
            let prompt = (0..<70).map { Int32(($0 * 37 + 11) % synthetic.vocab) }
            let expected = NaiveReference(m: synthetic).logits(prompt + [5], wideUntil: prompt.count)
            let cache = try model.makeCache()
            var worst = 0.0
            try model.forward(prompt, cache: cache, outputs: .all) { i, logits in
                for (j, e) in expected[i].enumerated() {
                    worst = max(worst, abs(Double(logits[j]) - e))
                    XCTAssertEqual(Double(logits[j]), e, accuracy: 2e-3 * max(1, abs(e)), "\(arch) token \(i) logit \(j)")
                }
            }
            try model.forward([5], cache: cache) { _, logits in
                for (j, e) in expected[70].enumerated() { XCTAssertEqual(Double(logits[j]), e, accuracy: 2e-3 * max(1, abs(e)), "\(arch) decode logit \(j)") }
            }
            print("\(arch), 70-token prompt: largest logit difference from the reference \(worst)")
        }
    }

    /// Decode steps of several sequences in one batch give each sequence exactly the logits it gets
    /// decoding alone, whatever the other sequences hold.
    func testParallelDecodeMatchesSequentialDecode() throws {
        for arch in ["qwen2", "qwen3"] {
            let synthetic = SyntheticModel(architecture: arch)
            let model = try Model(path: synthetic.write(), threads: 2, context: 64, batchSize: 4)
            let prompts: [[Int32]] = [[3, 17, 42], [96], [0, 5, 5, 60, 11], [7, 7], [1, 2, 3, 4, 5, 6]]
            let next: [[Int32]] = [[9, 8, 7], [1, 1, 2], [60, 61, 62], [5, 4, 3], [11, 12, 13]]
            // Alone: prompt, then three decode steps per sequence.
            var alone: [[[Float]]] = Array(repeating: [], count: prompts.count)
            for (s, prompt) in prompts.enumerated() {
                let cache = try model.makeCache()
                try model.forward(prompt, cache: cache) { _, _ in }
                for t in next[s] { try model.forward([t], cache: cache) { _, l in alone[s].append(Array(l)) } }
            }
            // Together: the same prompts, then each step of all five sequences as one batch (more
            // sequences than the batch size, so the step is split in two passes).
            let caches = try prompts.map { p in let c = try model.makeCache(); try model.forward(p, cache: c) { _, _ in }; return c }
            var together: [[[Float]]] = Array(repeating: [], count: prompts.count)
            for step in 0..<3 {
                try model.decode(prompts.indices.map { (next[$0][step], caches[$0]) }) { s, l in together[s].append(Array(l)) }
            }
            XCTAssertEqual(caches.map(\.count), prompts.map { $0.count + 3 })
            for s in prompts.indices { XCTAssertEqual(together[s], alone[s], "\(arch) sequence \(s)") }
            XCTAssertThrowsError(try model.decode([(1, caches[0]), (2, caches[0])]) { _, _ in }) {
                XCTAssertEqual($0 as? ModelError, .cacheRepeated)
            }
        }
    }

    func testLlamaTiedEmbeddings() throws { try check("llama", tied: true) }
    func testQwen2() throws { try check("qwen2") }
    func testQwen3() throws { try check("qwen3") }
    func testQwen3OneTokenBatches() throws { try check("qwen3", batch: 1) }

    func testUnsupportedArchitectureListsSupported() throws {
        var b = SyntheticModel(architecture: "llama").builder()
        b.kvs[0] = ("general.architecture", .string("mamba"))
        XCTAssertThrowsError(try Model(path: b.write(), threads: 1, context: 16)) { error in
            XCTAssertEqual(error as? ModelError, .unsupportedArchitecture("mamba", supported: ["llama", "qwen2", "qwen3"]))
            XCTAssertTrue("\(error)".contains("llama, qwen2, qwen3"), "\(error)")
        }
    }

    func testMissingTensorIsNamed() throws {
        var b = SyntheticModel(architecture: "qwen3").builder()
        b.tensors.removeAll { $0.name == "blk.1.attn_k_norm.weight" }
        XCTAssertThrowsError(try Model(path: b.write(), threads: 1, context: 16)) {
            XCTAssertEqual($0 as? GGUFError, .missingTensor("blk.1.attn_k_norm.weight"))
        }
    }

    func testWrongTensorShapeIsNamed() throws {
        var b = SyntheticModel(architecture: "llama").builder()
        let i = b.tensors.firstIndex { $0.name == "blk.0.ffn_up.weight" }!
        b.tensors[i].shape = [64, 48]
        b.tensors[i].data = Array(b.tensors[i].data.prefix(64 * 48 * 4))
        XCTAssertThrowsError(try Model(path: b.write(), threads: 1, context: 16)) {
            XCTAssertEqual($0 as? ModelError, .tensorShape(tensor: "blk.0.ffn_up.weight", expected: [64, 96], found: [64, 48]))
        }
    }

    func testBadHyperparametersAreRefused() throws {
        var b = SyntheticModel(architecture: "llama").builder()
        let i = b.kvs.firstIndex { $0.0 == "llama.attention.head_count_kv" }!
        b.kvs[i] = ("llama.attention.head_count_kv", .u32(3))
        XCTAssertThrowsError(try Model(path: b.write(), threads: 1, context: 16)) {
            guard case .badHyperparameter(key: "llama.attention.head_count_kv", value: "3", _) = $0 as? ModelError else { return XCTFail("\($0)") }
        }
    }

    func testContextAboveTheModelsIsRefused() throws {
        XCTAssertThrowsError(try Model(path: SyntheticModel(architecture: "llama").write(), threads: 1, context: 4096)) {
            XCTAssertEqual($0 as? ModelError, .contextTooLong(requested: 4096, model: 128))
        }
    }

    func testContextFullAndBadTokenAreRefused() throws {
        let model = try Model(path: SyntheticModel(architecture: "llama").write(), threads: 1, context: 8)
        let cache = try model.makeCache()
        XCTAssertThrowsError(try model.forward([1, 2, 3, 4, 5, 6, 7, 8, 9], cache: cache) { _, _ in }) {
            XCTAssertEqual($0 as? ModelError, .contextFull(needed: 9, capacity: 8))
        }
        XCTAssertThrowsError(try model.forward([97], cache: cache) { _, _ in }) {
            XCTAssertEqual($0 as? ModelError, .badToken(97, vocabulary: 97))
        }
        XCTAssertEqual(cache.count, 0, "a refused batch leaves the cache as it was")
    }
}
