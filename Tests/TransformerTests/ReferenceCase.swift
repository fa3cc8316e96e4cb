import Foundation
import TestSupport

/// One case of `../shared/reference/generate-<model>.json`: llama.cpp's greedy continuation
/// of a prompt, with its top-5 log-probabilities at every generated position.
struct ReferenceCase: Decodable {
    struct Candidate: Decodable { let id: Int32; let logprob: Double; let prob: Double }
    struct Position: Decodable { let pos: Int; let id: Int32; let top5: [Candidate] }

    let name: String
    let prompt_ids: [Int32]
    let generated_ids: [Int32]
    let top5_per_position: [Position]

    static func load(model: String) throws -> [ReferenceCase] {
        struct File: Decodable { let cases: [ReferenceCase] }
        let url = TestPaths.reference.appendingPathComponent("generate-\(model).json")
        return try JSONDecoder().decode(File.self, from: Data(contentsOf: url)).cases
    }
}

/// The two real models and their reference file stems.
enum RealModel: String, CaseIterable {
    case qwen = "qwen2.5-coder-0.5b-instruct"
    case smol = "SmolLM2-135M-Instruct.Q4_1"

    var fileName: String { rawValue + ".gguf" }
}
