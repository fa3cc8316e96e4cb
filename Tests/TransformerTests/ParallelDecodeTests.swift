import Foundation
import XCTest
import Kernels
import TestSupport
import Transformer

/// Decode steps of 2, 3 and 4 sequences at once on the real models (their quantized weights take
/// the multi-sequence matmul and attention kernels) give each sequence bit for bit the logits it
/// gets decoding alone, with every kernel variant.
final class ParallelDecodeTests: XCTestCase {
    func check(_ m: RealModel) throws {
        let (path, reason) = TestPaths.realModel(m.fileName)
        guard let path else { throw XCTSkip(reason) }
        let model = try Model(path: path, threads: 2, context: 96, batchSize: 8)
        let prompts: [[Int32]] = [[9707, 11, 1879], [40], [785, 3974, 13876, 38835, 34208, 916], [1, 2]]
        let next: [[Int32]] = [[264, 1273], [374, 279], [15, 16], [7, 8]]
        try forEachKernelVariant { variant in
            var alone: [[[Float]]] = []
            for (s, prompt) in prompts.enumerated() {
                let cache = try model.makeCache()
                try model.forward(prompt, cache: cache) { _, _ in }
                var steps: [[Float]] = []
                for t in next[s] { try model.forward([t], cache: cache) { _, l in steps.append(Array(l)) } }
                alone.append(steps)
            }
            for width in 2...4 {
                let caches = try prompts.prefix(width).map { p in let c = try model.makeCache(); try model.forward(p, cache: c) { _, _ in }; return c }
                var together: [[[Float]]] = Array(repeating: [], count: width)
                for step in 0..<2 {
                    try model.decode((0..<width).map { (next[$0][step], caches[$0]) }) { s, l in together[s].append(Array(l)) }
                }
                for s in 0..<width {
                    XCTAssertTrue(together[s] == alone[s], "\(m.rawValue) \(variant.rawValue): sequence \(s) of \(width) differs from decoding alone")
                }
            }
        }
    }

    func testSmolLM2() throws { try check(.smol) }
    func testQwen() throws { try check(.qwen) }
}
