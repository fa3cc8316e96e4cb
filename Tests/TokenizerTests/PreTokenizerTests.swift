import Foundation
import Tokenizer
import XCTest

/// Our pre-tokenizer splits against Python's `regex` module running llama.cpp's patterns
/// (Fixtures/pretokenizer-splits.json, written by Tests/Scripts/make_pretokenizer_fixtures.py).
final class PreTokenizerTests: XCTestCase {
    struct Fixture: Decodable {
        struct Case: Decodable { let name: String; let text: String; let splits: [String: [String]] }
        struct Difference: Decodable {
            let `case`: String
            let pre_tokenizer: String
            let reason: String
            let python_splits: [String]
            let llama_cpp_splits: [String]
        }
        let patterns: [String: [String]]
        let cases: [Case]
        let expected_different: [Difference]
    }

    private func fixture() throws -> Fixture {
        try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: TokenizerFixtures.url("pretokenizer-splits.json")))
    }

    func testSplitsMatchPythonRegexForAllPreTokenizers() throws {
        let f = try fixture()
        XCTAssertEqual(Set(f.patterns.keys), ["qwen2", "smollm", "llama-bpe", "deepseek-llm"])
        var differences = [String: Fixture.Difference]()
        for d in f.expected_different { differences["\(d.case)/\(d.pre_tokenizer)"] = d }
        var compared = 0
        for name in f.patterns.keys.sorted() {
            let pre = try PreTokenizer(name: name)
            for c in f.cases {
                let ours = pre.split(c.text)
                XCTAssertEqual(ours.joined(), c.text, "\(name) \(c.name): pieces must cover the text")
                if let d = differences["\(c.name)/\(name)"] {
                    // llama.cpp (and so the engine) deviates from Python here, for a documented reason.
                    XCTAssertFalse(d.reason.isEmpty)
                    XCTAssertEqual(c.splits[name], d.python_splits)
                    XCTAssertNotEqual(d.python_splits, d.llama_cpp_splits, "\(name) \(c.name): not a difference")
                    XCTAssertEqual(ours, d.llama_cpp_splits, "\(name) \(c.name) (\(d.reason))")
                } else {
                    XCTAssertEqual(ours, c.splits[name], "\(name) \(c.name)")
                }
                compared += 1
            }
        }
        XCTAssertEqual(compared, f.cases.count * 4)
        XCTAssertGreaterThanOrEqual(f.cases.count, 35)
    }

    func testDigitHandlingDiffersAsDocumented() throws {
        XCTAssertEqual(try PreTokenizer(name: "qwen2").split("12345"), ["1", "2", "3", "4", "5"])
        XCTAssertEqual(try PreTokenizer(name: "llama-bpe").split("1234567"), ["123", "456", "7"])
        XCTAssertEqual(try PreTokenizer(name: "smollm").split("n - 12"), ["n", " -", " ", "1", "2"])
        XCTAssertEqual(try PreTokenizer(name: "deepseek-llm").split("ab 123"), ["ab", " ", "123"])
    }

    func testContractionsAreCaseInsensitiveOnlyInLlama3Style() throws {
        XCTAssertEqual(try PreTokenizer(name: "llama-bpe").split("HE'S"), ["HE", "'S"])
        XCTAssertEqual(try PreTokenizer(name: "qwen2").split("she'D"), ["she", "'D"])
        // GPT-2's contractions are lowercase only: "'S" is punctuation followed by a word.
        XCTAssertEqual(try PreTokenizer(name: "smollm").split("HE'S he's"), ["HE", "'", "S", " he", "'s"])
    }

    func testWhitespaceLookahead() throws {
        let pre = try PreTokenizer(name: "qwen2")
        XCTAssertEqual(pre.split("a   b"), ["a", "  ", " b"])       // \s+(?!\S) leaves one space for the word
        XCTAssertEqual(pre.split("a   "), ["a", "   "])             // at the end the run stays whole
        XCTAssertEqual(pre.split("a \n\n b"), ["a", " \n\n", " b"])  // \s*[\r\n]+
    }

    func testEmptyText() throws {
        for name in ["qwen2", "smollm", "llama-bpe", "deepseek-llm"] {
            XCTAssertEqual(try PreTokenizer(name: name).split(""), [])
        }
    }
}
