import Foundation
import TestSupport
import Tokenizer
import XCTest

/// The engine against llama.cpp's own tokenizations of the two real models.
final class ReferenceTokenizationTests: XCTestCase {
    private static let models = [
        (RealTokenizers.qwenFile, "qwen2.5-coder-0.5b-instruct"),
        (RealTokenizers.smolFile, "SmolLM2-135M-Instruct.Q4_1"),
    ]

    private func check(file: String, reference: String) throws {
        let loaded = try RealTokenizers.require(file)
        let tok = loaded.tokenizer
        let cases = try ReferenceFiles.tokenize(reference)
        XCTAssertGreaterThan(cases.count, 0)
        for c in cases {
            XCTAssertEqual(Array(c.text.utf8).map { String(format: "%02x", $0) }.joined(), c.utf8_hex,
                           "\(c.name): reference text and its hex disagree")
            XCTAssertEqual(tok.encode(c.text, parseSpecial: true), c.ids_parse_special, "\(reference) \(c.name) (parse special)")
            XCTAssertEqual(tok.encode(c.text, parseSpecial: false), c.ids_no_parse_special, "\(reference) \(c.name) (plain)")
            XCTAssertEqual(tok.decode(c.ids_parse_special, renderSpecial: true), c.text, "\(reference) \(c.name): decode")
            XCTAssertEqual(tok.decode(c.ids_no_parse_special), c.text, "\(reference) \(c.name): decode (plain)")
        }
    }

    func testQwenMatchesLlamaCpp() throws {
        try check(file: RealTokenizers.qwenFile, reference: "qwen2.5-coder-0.5b-instruct")
    }

    func testSmolLMMatchesLlamaCpp() throws {
        try check(file: RealTokenizers.smolFile, reference: "SmolLM2-135M-Instruct.Q4_1")
    }

    /// The prompts llama-server tokenized (add_special and parse_special on), and its text for the
    /// ids it generated.
    func testGenerationPromptsAndOutputs() throws {
        for (file, reference) in Self.models {
            let tok = try RealTokenizers.require(file).tokenizer
            for c in try ReferenceFiles.generate(reference) {
                XCTAssertEqual(tok.encode(c.prompt_text, parseSpecial: true, addSpecial: true), c.prompt_ids,
                               "\(reference) \(c.name): prompt ids")
                let visible = c.generated_ids.filter { !tok.isEndOfGeneration($0) }
                XCTAssertEqual(tok.decode(visible), c.generated_text, "\(reference) \(c.name): generated text")
            }
        }
    }

    func testSpecialTokensOfTheRealModels() throws {
        let qwen = try RealTokenizers.require(RealTokenizers.qwenFile)
        XCTAssertEqual(qwen.tokenCount, 151_936)
        XCTAssertEqual(qwen.mergeCount, 151_387)
        let q = qwen.tokenizer
        XCTAssertEqual(q.vocabularySize, 151_936)
        XCTAssertEqual(q.eosID, 151_645)
        XCTAssertEqual(q.bosID, 151_643)
        XCTAssertEqual(q.padID, 151_643)
        XCTAssertEqual(q.eotID, 151_645, "no eot key: found by name, <|im_end|> first")
        XCTAssertFalse(q.addsBOS)
        // EOG as llama.cpp lists it for this model: "</s>" (a normal token here, but on llama.cpp's
        // list of end-of-generation texts, so it is promoted to control), <|endoftext|>, <|im_end|>,
        // <|fim_pad|>, <|repo_name|>, <|file_sep|>.
        let eog = (0..<Int32(q.vocabularySize)).filter(q.isEndOfGeneration)
        XCTAssertEqual(eog, [128_247, 151_643, 151_645, 151_662, 151_663, 151_664])
        XCTAssertEqual(q.vocabulary.texts[128_247], "</s>")
        XCTAssertTrue(q.isControl(128_247))
        XCTAssertEqual(q.encode("a</s>", parseSpecial: true), [64, 128_247], "being control, it is matched as a special")
        XCTAssertEqual(q.tokenBytes(151_644), [], "control tokens are hidden by default")
        XCTAssertEqual(q.tokenBytes(151_644, renderSpecial: true), Array("<|im_start|>".utf8))
        XCTAssertEqual(q.tokenBytes(151_657), Array("<tool_call>".utf8), "user-defined tokens always render")
        XCTAssertEqual(q.tokenBytes(151_700), [], "unused padding tokens render as nothing")
        XCTAssertEqual(q.tokenBytes(9707), Array("Hello".utf8))
        XCTAssertEqual(q.tokenBytes(220), [0x20])

        let s = try RealTokenizers.require(RealTokenizers.smolFile).tokenizer
        XCTAssertEqual(s.vocabularySize, 49_152)
        XCTAssertEqual(s.eosID, 2)
        XCTAssertEqual(s.eotID, 2)
        XCTAssertFalse(s.addsBOS)
        XCTAssertEqual((0..<Int32(s.vocabularySize)).filter(s.isEndOfGeneration), [0, 2, 4],
                       "<|endoftext|>, <|im_end|>, and <reponame> (llama.cpp's FIM-repo name list)")
    }

    func testUserDefinedTokensAreMatchedEvenWithoutParsingSpecials() throws {
        let q = try RealTokenizers.require(RealTokenizers.qwenFile).tokenizer
        XCTAssertEqual(q.encode("a<tool_call>b", parseSpecial: false), [64, 151_657, 65])
        XCTAssertNotEqual(q.encode("a<|im_end|>b", parseSpecial: false).count, 3)
    }

    func testBuildAndEncodeSpeed() throws {
        let loaded = try RealTokenizers.require(RealTokenizers.qwenFile)
        print(String(format: "Qwen vocabulary (%d tokens, %d merges) built in %.3f s",
                     loaded.tokenCount, loaded.mergeCount, loaded.buildSeconds))
        XCTAssertLessThan(loaded.buildSeconds, 1.0, "building the Qwen vocabulary must take well under a second")

        let text = try String(contentsOf: ReferenceFiles.url("alice-ch1-3.txt"), encoding: .utf8)
        // A fresh tokenizer, so the word cache starts cold.
        let tok = Tokenizer(vocabulary: loaded.tokenizer.vocabulary, preTokenizer: loaded.tokenizer.preTokenizer)
        let start = DispatchTime.now().uptimeNanoseconds
        let ids = tok.encode(text, parseSpecial: false)
        let cold = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        let start2 = DispatchTime.now().uptimeNanoseconds
        let again = tok.encode(text, parseSpecial: false)
        let warm = Double(DispatchTime.now().uptimeNanoseconds - start2) / 1e9
        print(String(format: "encoded %d bytes → %d tokens: cold %.4f s (%.1f MB/s), warm %.4f s (%.1f MB/s)",
                     text.utf8.count, ids.count, cold, Double(text.utf8.count) / cold / 1e6,
                     warm, Double(text.utf8.count) / warm / 1e6))
        XCTAssertEqual(ids, again)
        XCTAssertEqual(tok.decode(ids), text)
        XCTAssertLessThan(cold, 1.0, "encoding 33 KB must take well under a second")
        // llama-perplexity made 33 chunks of 256 tokens from this text.
        XCTAssertEqual(ids.count / 256, 33)
    }
}
