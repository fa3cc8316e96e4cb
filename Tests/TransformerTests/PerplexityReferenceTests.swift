import Foundation
import XCTest
import GGUF
import Generation
import Kernels
import TestSupport
import Tokenizer
import Transformer

/// Perplexity over Alice in Wonderland (ctx 256, the reference engine's chunking) against the
/// running figures llama-perplexity printed: the first chunks with every kernel variant, the whole
/// text with the variant picked for this CPU (the fastest).
final class PerplexityReferenceTests: XCTestCase {
    static let chunks = 4
    static let tolerance = 0.01  // relative

    struct ReferenceFile: Decodable { let running_ppl: [String: [Double]] }

    func check(_ m: RealModel, chunks: Int? = PerplexityReferenceTests.chunks) throws {
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
        try perplexity.evaluate(tokens, chunks: chunks) { running.append($0.running) }
        let variant = KernelSet.selected.rawValue
        for (i, value) in running.enumerated() where chunks != nil || i == running.count - 1 {
            let e = expected[i]
            print("perplexity \(m.rawValue)/\(variant) [\(i + 1)] \(String(format: "%.4f", value)) (llama.cpp \(e), \(String(format: "%+.2f", (value / e - 1) * 100))%)")
        }
        XCTAssertEqual(running.count, chunks ?? expected.count)
        let last = try XCTUnwrap(running.last)
        XCTAssertEqual(last, expected[running.count - 1], accuracy: expected[running.count - 1] * Self.tolerance, "\(m.rawValue)/\(variant)")
    }

    func testQwen() throws { try forEachKernelVariant { _ in try check(.qwen) } }
    func testSmolLM2() throws { try forEachKernelVariant { _ in try check(.smol) } }
    func testWholeTextQwen() throws { try check(.qwen, chunks: nil) }
    func testWholeTextSmolLM2() throws { try check(.smol, chunks: nil) }
}
