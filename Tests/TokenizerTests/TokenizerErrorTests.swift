import GGUF
import TestSupport
import Tokenizer
import XCTest

final class TokenizerErrorTests: XCTestCase {
    func testUnknownPreTokenizerIsRefusedByName() {
        XCTAssertThrowsError(try PreTokenizer(name: "falcon")) { error in
            guard case let TokenizerError.unsupportedPreTokenizer(name, supported) = error else {
                return XCTFail("wrong error \(error)")
            }
            XCTAssertEqual(name, "falcon")
            XCTAssertTrue(supported.contains("qwen2") && supported.contains("smollm") && supported.contains("llama-bpe")
                          && supported.contains("deepseek-llm"))
            let message = "\(error)"
            XCTAssertTrue(message.contains("'falcon'"), message)
            XCTAssertTrue(message.contains("qwen2, smollm") || message.contains("smollm"), message)
        }
    }

    func testNonGPT2ModelIsRefusedByName() {
        XCTAssertThrowsError(try Tokenizer(model: "llama", preTokenizer: "qwen2", tokens: ["a"], tokenTypes: nil,
                                           merges: [], specials: .init())) { error in
            XCTAssertEqual(error as? TokenizerError, .unsupportedModel("llama"))
            XCTAssertTrue("\(error)".contains("'llama'"), "\(error)")
        }
    }

    private func gguf(model: String?, pre: String?) -> GGUFBuilder {
        var b = GGUFBuilder()
        b.add("general.architecture", .string("qwen2"))
        if let model { b.add("tokenizer.ggml.model", .string(model)) }
        if let pre { b.add("tokenizer.ggml.pre", .string(pre)) }
        let tokens = ["h", "i", "hi", "Ġ", "<|im_end|>"]
        b.add("tokenizer.ggml.tokens", .array(.string, tokens.map { .string($0) }))
        b.add("tokenizer.ggml.token_type", .array(.int32, [1, 1, 1, 1, 3].map { .i32($0) }))
        b.add("tokenizer.ggml.merges", .array(.string, [.string("h i")]))
        b.add("tokenizer.ggml.eos_token_id", .u32(4))
        b.add("tokenizer.ggml.add_bos_token", .bool(false))
        return b
    }

    func testGGUFWithNonGPT2ModelIsRefused() throws {
        let path = try gguf(model: "llama", pre: "default").write(name: "tok-llama")
        XCTAssertThrowsError(try Tokenizer(ggufPath: path)) { error in
            XCTAssertEqual(error as? TokenizerError, .unsupportedModel("llama"))
        }
    }

    func testGGUFWithUnknownPreTokenizerIsRefused() throws {
        let path = try gguf(model: "gpt2", pre: "mystery-pre").write(name: "tok-pre")
        XCTAssertThrowsError(try Tokenizer(ggufPath: path)) { error in
            guard case let TokenizerError.unsupportedPreTokenizer(name, _) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(name, "mystery-pre")
            XCTAssertTrue("\(error)".contains("mystery-pre"))
        }
    }

    func testGGUFWithoutModelKeyIsRefused() throws {
        let path = try gguf(model: nil, pre: "qwen2").write(name: "tok-nomodel")
        XCTAssertThrowsError(try Tokenizer(ggufPath: path)) { error in
            XCTAssertEqual(error as? TokenizerError, .missingKey("tokenizer.ggml.model"))
        }
    }

    func testSmallGGUFTokenizerWorks() throws {
        let path = try gguf(model: "gpt2", pre: "qwen2").write(name: "tok-ok")
        let tok = try Tokenizer(ggufPath: path)
        XCTAssertEqual(tok.vocabularySize, 5)
        XCTAssertEqual(tok.encode("hi", parseSpecial: false), [2])
        XCTAssertEqual(tok.encode("hi<|im_end|>", parseSpecial: true), [2, 4])
        XCTAssertEqual(tok.eosID, 4)
        XCTAssertTrue(tok.isEndOfGeneration(4))
        XCTAssertFalse(tok.addsBOS)
    }

    func testMalformedVocabulariesAreRefused() {
        XCTAssertThrowsError(try Vocabulary(tokens: ["a", "b", "a"], merges: [])) { error in
            XCTAssertEqual(error as? TokenizerError, .duplicateToken(text: "a", firstID: 0, secondID: 2))
        }
        XCTAssertThrowsError(try Vocabulary(tokens: ["a", "b"], tokenTypes: [1], merges: [])) { error in
            XCTAssertEqual(error as? TokenizerError, .lengthMismatch(key: "tokenizer.ggml.token_type", expected: 2, found: 1))
        }
        XCTAssertThrowsError(try Vocabulary(tokens: ["a"], merges: [], specials: .init(eos: 7))) { error in
            XCTAssertEqual(error as? TokenizerError,
                           .tokenIDOutOfRange(key: "tokenizer.ggml.eos_token_id", id: 7, vocabularySize: 1))
            XCTAssertTrue("\(error)".contains("7"))
        }
        XCTAssertThrowsError(try Vocabulary(tokens: [], merges: []))
    }
}
