import Foundation
import GGUF
import TestSupport
import Tokenizer
import XCTest

/// The real models' tokenizers, loaded once per test process (parsing Qwen's 152k-token GGUF
/// arrays is the slow part), plus the reference files llama.cpp produced for them.
enum RealTokenizers {
    struct Loaded: Sendable {
        let tokenizer: Tokenizer
        /// Seconds to build the vocabulary and tokenizer from the already-read arrays.
        let buildSeconds: Double
        let tokenCount: Int
        let mergeCount: Int
    }

    static let qwenFile = "qwen2.5-coder-0.5b-instruct.gguf"
    static let smolFile = "SmolLM2-135M-Instruct.Q4_1.gguf"

    static let qwen = load(qwenFile)
    static let smol = load(smolFile)

    /// The loaded tokenizer, or an `XCTSkip` saying which file is missing and how to get it.
    static func require(_ file: String) throws -> Loaded {
        switch file == qwenFile ? qwen : smol {
        case let .success(loaded): return loaded
        case let .failure(.missing(reason)): throw XCTSkip("real model \(file) unavailable: \(reason)")
        case let .failure(.broken(message)): throw LoadFailure(message: message)
        }
    }

    enum LoadError: Error { case missing(String), broken(String) }
    struct LoadFailure: Error, CustomStringConvertible { let message: String; var description: String { message } }

    private static func load(_ file: String) -> Result<Loaded, LoadError> {
        let (path, reason) = TestPaths.realModel(file)
        guard let path else { return .failure(.missing(reason)) }
        do {
            let m = try GGUFFile(path: path).metadata
            let tokens = try m.stringArray("tokenizer.ggml.tokens") ?? []
            let types = try m.int32Array("tokenizer.ggml.token_type")
            let merges = try m.stringArray("tokenizer.ggml.merges") ?? []
            let specials = Vocabulary.Specials(
                bos: try m.uint32("tokenizer.ggml.bos_token_id").map { Int32($0) },
                eos: try m.uint32("tokenizer.ggml.eos_token_id").map { Int32($0) },
                eot: try m.uint32("tokenizer.ggml.eot_token_id").map { Int32($0) },
                pad: try m.uint32("tokenizer.ggml.padding_token_id").map { Int32($0) },
                addBOS: try m.bool("tokenizer.ggml.add_bos_token"))
            let start = DispatchTime.now().uptimeNanoseconds
            let tokenizer = try Tokenizer(model: try m.string("tokenizer.ggml.model") ?? "",
                                          preTokenizer: try m.string("tokenizer.ggml.pre") ?? "",
                                          tokens: tokens, tokenTypes: types, merges: merges, specials: specials)
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            return .success(Loaded(tokenizer: tokenizer, buildSeconds: seconds, tokenCount: tokens.count,
                                   mergeCount: merges.count))
        } catch {
            return .failure(.broken("loading \(path) failed: \(error)"))
        }
    }
}

/// llama.cpp's tokenizations of the real models (`../shared/reference`).
enum ReferenceFiles {
    struct TokenizeCase: Decodable {
        let name: String
        let text: String
        let utf8_hex: String
        let ids_parse_special: [Int32]
        let ids_no_parse_special: [Int32]
    }
    struct TokenizeFile: Decodable { let cases: [TokenizeCase] }

    struct GenerateCase: Decodable {
        let name: String
        let prompt_text: String
        let prompt_ids: [Int32]
        let generated_ids: [Int32]
        let generated_text: String
    }
    struct GenerateFile: Decodable { let cases: [GenerateCase] }

    static func url(_ name: String) throws -> URL {
        let url = TestPaths.reference.appendingPathComponent(name)
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw XCTSkip("reference file \(url.path) is absent (it ships in ../shared/reference beside the checkout)")
        }
        return url
    }

    static func tokenize(_ model: String) throws -> [TokenizeCase] {
        try JSONDecoder().decode(TokenizeFile.self, from: Data(contentsOf: url("tokenize-\(model).json"))).cases
    }

    static func generate(_ model: String) throws -> [GenerateCase] {
        try JSONDecoder().decode(GenerateFile.self, from: Data(contentsOf: url("generate-\(model).json"))).cases
    }
}

/// Fixtures shipped with this test target.
enum TokenizerFixtures {
    static func url(_ name: String) -> URL {
        if let url = Bundle.module.resourceURL?.appendingPathComponent("Fixtures/\(name)"),
           FileManager.default.fileExists(atPath: url.path) {
            return url
        }
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/\(name)")
    }
}

/// A tiny byte-level vocabulary for behaviour tests: all 256 byte tokens plus `extra` tokens
/// (written in the byte-level alphabet, e.g. "Ġ" for a space), with the given merges.
func makeByteLevelTokenizer(extra: [(String, Int32)] = [], merges: [String] = [], pre: String = "qwen2",
                            specials: Vocabulary.Specials = Vocabulary.Specials()) throws -> Tokenizer {
    var tokens = (0..<256).map { b -> String in
        // The GPT-2 alphabet: printable Latin-1 stays, the rest maps to U+0100 upward.
        let printable = (0x21...0x7E).contains(b) || (0xA1...0xAC).contains(b) || (0xAE...0xFF).contains(b)
        if printable { return String(UnicodeScalar(UInt8(b))) }
        let rank = (0..<b).filter { !((0x21...0x7E).contains($0) || (0xA1...0xAC).contains($0) || (0xAE...0xFF).contains($0)) }.count
        return String(UnicodeScalar(UInt32(256 + rank))!)
    }
    var types = [Int32](repeating: 1, count: 256)
    for (text, type) in extra { tokens.append(text); types.append(type) }
    return try Tokenizer(model: "gpt2", preTokenizer: pre, tokens: tokens, tokenTypes: types, merges: merges,
                         specials: specials)
}
