import Foundation
import XCTest
import GGUF
import Generation
import TestSupport
import Tokenizer
import Transformer

/// Perplexity over Alice in Wonderland (ctx 256, the reference engine's chunking) against the
/// running figures llama-perplexity printed.
final class PerplexityReferenceTests: XCTestCase {
    static let chunks = 4
    static let tolerance = 0.01  // relative

    struct ReferenceFile: Decodable { let running_ppl: [String: [Double]] }

    func check(_ m: RealModel) throws {
        let (path, reason) = TestPaths.realModel(m.fileName)
        guard let path else { throw XCTSkip(reason) }
        let file = try GGUFFile(path: path)
        let model = try Model(file: file, threads: ProcessInfo.processInfo.activeProcessorCount, context: 256, batchSize: 256)
        let tokenizer = try Tokenizer(gguf: file)
        let text = try String(contentsOf: TestPaths.reference.appendingPathComponent("alice-ch1-3.txt"), encoding: .utf8)
        let tokens = tokenizer.encode(text, parseSpecial: false)
        let reference = try JSONDecoder().decode(ReferenceFile.self, from: Data(contentsOf: TestPaths.reference.appendingPathComponent("perplexity-chunks.json")))
        let expected = try XCTUnwrap(reference.running_ppl[m.rawValue])
        let perplexity = try Perplexity(model: model, context: 256)
        XCTAssertEqual(perplexity.chunkCount(tokens: tokens.count), expected.count, "chunks in the text")
        var running: [Double] = []
        try perplexity.evaluate(tokens, chunks: Self.chunks) { running.append($0.running) }
        for (i, value) in running.enumerated() {
            let e = expected[i]
            print("perplexity \(m.rawValue) [\(i + 1)] \(String(format: "%.4f", value)) (llama.cpp \(e), \(String(format: "%+.2f", (value / e - 1) * 100))%)")
        }
        let last = try XCTUnwrap(running.last)
        XCTAssertEqual(last, expected[Self.chunks - 1], accuracy: expected[Self.chunks - 1] * Self.tolerance)
    }

    func testQwen() throws { try check(.qwen) }
    func testSmolLM2() throws { try check(.smol) }
}
