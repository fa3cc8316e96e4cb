import Foundation
import XCTest
import Generation
import Kernels
import TestSupport
import Transformer

/// Greedy decoding and teacher-forced probabilities against llama.cpp's outputs on the real models.
final class GreedyReferenceTests: XCTestCase {
    /// llama.cpp's top-2 probabilities closer than this make a near-tie, where accumulation order
    /// may legitimately pick either token.
    static let nearTie = 0.02
    /// Largest allowed difference between our probability and llama.cpp's for its top-5 ids.
    static let probabilityTolerance = 0.01

    func loadModel(_ m: RealModel) throws -> Model {
        let (path, reason) = TestPaths.realModel(m.fileName)
        guard let path else { throw XCTSkip(reason) }
        return try Model(path: path, threads: ProcessInfo.processInfo.activeProcessorCount, context: 512)
    }

    // Every check runs with each kernel variant the CPU supports.
    func testGreedyQwen() throws { try forEachKernelVariant { try checkGreedy(.qwen, $0) } }
    func testGreedySmolLM2() throws { try forEachKernelVariant { try checkGreedy(.smol, $0) } }
    func testTeacherForcedQwen() throws { try forEachKernelVariant { try checkTeacherForced(.qwen, $0) } }
    func testTeacherForcedSmolLM2() throws { try forEachKernelVariant { try checkTeacherForced(.smol, $0) } }

    func checkGreedy(_ m: RealModel, _ variant: KernelVariant) throws {
        let model = try loadModel(m)
        let m = Label(model: m, variant: variant)
        var matched = 0, total = 0
        for c in try ReferenceCase.load(model: m.model.rawValue) {
            let cache = try model.makeCache()
            var sampler = Sampler(.greedy)
            var ours: [Int32] = []
            try TokenGenerator(model: model).generate(
                prompt: c.prompt_ids, cache: cache, sampler: &sampler, maxTokens: c.generated_ids.count,
                isEndOfGeneration: { _ in false }) { ours.append($0.id); return true }
            total += c.generated_ids.count
            guard let part = zip(ours, c.generated_ids).enumerated().first(where: { $0.element.0 != $0.element.1 })?.offset else {
                XCTAssertEqual(ours, c.generated_ids, "\(m.rawValue)/\(c.name)")
                matched += c.generated_ids.count
                print("greedy \(m.rawValue)/\(c.name): \(ours.count)/\(c.generated_ids.count) ids identical")
                continue
            }
            matched += part
            let top = c.top5_per_position[part].top5
            let gap = top[0].prob - top[1].prob
            let tookSecond = ours[part] == top[1].id
            print("greedy \(m.rawValue)/\(c.name): parts at position \(part) (ours \(ours[part]), llama.cpp \(c.generated_ids[part])); llama.cpp's top-2 gap \(String(format: "%.4f", gap))")
            XCTAssertTrue(tookSecond && gap < Self.nearTie,
                          "\(m.rawValue)/\(c.name): diverged at \(part) without a near-tie (gap \(gap), ours \(ours[part]), top-2 \(top[0].id), \(top[1].id))")
        }
        print("greedy \(m.rawValue): \(matched)/\(total) positions identical before any parting")
    }

    /// Feeds llama.cpp's own continuation the way it was produced (the prompt as one batch, then
    /// one token per step) and compares every recorded position.
    func checkTeacherForced(_ m: RealModel, _ variant: KernelVariant) throws {
        let model = try loadModel(m)
        let m = Label(model: m, variant: variant)
        var deviations: [Double] = [], ties = 0
        for c in try ReferenceCase.load(model: m.model.rawValue) {
            let cache = try model.makeCache()
            var position = 0
            func compare(_ logits: UnsafeBufferPointer<Float>) {
                let ref = c.top5_per_position[position].top5
                let logZ = TokenProbabilities.logSumExp(logits)
                let argmax = Sampler.argmax(logits)
                if argmax != ref[0].id {
                    let gap = ref[0].prob - ref[1].prob
                    XCTAssertTrue(argmax == ref[1].id && gap < Self.nearTie,
                                  "\(m.rawValue)/\(c.name) position \(position): argmax \(argmax), llama.cpp \(ref[0].id) (gap \(gap))")
                    ties += 1
                }
                for r in ref { deviations.append(abs(Foundation.exp(Double(logits[Int(r.id)]) - logZ) - r.prob)) }
                position += 1
            }
            try model.forward(c.prompt_ids, cache: cache) { _, logits in compare(logits) }
            for t in c.generated_ids.dropLast() {
                try model.forward([t], cache: cache) { _, logits in compare(logits) }
            }
        }
        deviations.sort()
        let over = deviations.filter { $0 > Self.probabilityTolerance }.count
        print("teacher-forced \(m.rawValue): \(deviations.count / 5) positions, \(ties) near-tie argmax differences; "
              + "top-5 probability difference median \(String(format: "%.4f", deviations[deviations.count / 2])), "
              + "p95 \(String(format: "%.4f", deviations[deviations.count * 95 / 100])), largest \(String(format: "%.4f", deviations.last!)); "
              + "\(over) of \(deviations.count) exceed \(Self.probabilityTolerance)")
    }

    /// "qwen/avx2" in messages: which model, with which kernels.
    struct Label {
        let model: RealModel
        let variant: KernelVariant
        var rawValue: String { "\(model.rawValue)/\(variant.rawValue)" }
    }
}
