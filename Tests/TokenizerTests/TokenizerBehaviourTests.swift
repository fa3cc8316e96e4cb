import Tokenizer
import XCTest

/// Behaviour on small synthetic vocabularies, where each rule of llama.cpp's BPE is visible.
final class TokenizerBehaviourTests: XCTestCase {
    private func id(_ tok: Tokenizer, _ text: String) -> Int32 { tok.vocabulary.id(forText: text)! }

    func testMergesApplyInRankOrder() throws {
        let extra: [(String, Int32)] = [("ab", 1), ("bc", 1), ("abc", 1)]
        let bcFirst = try makeByteLevelTokenizer(extra: extra, merges: ["b c", "a b", "ab c"])
        XCTAssertEqual(bcFirst.encode("abc", parseSpecial: false), [id(bcFirst, "a"), id(bcFirst, "bc")])
        let abFirst = try makeByteLevelTokenizer(extra: extra, merges: ["a b", "b c", "ab c"])
        XCTAssertEqual(abFirst.encode("abc", parseSpecial: false), [id(abFirst, "abc")])
    }

    func testEqualRanksMergeLeftmostFirst() throws {
        let tok = try makeByteLevelTokenizer(extra: [("aa", 1)], merges: ["a a"])
        XCTAssertEqual(tok.encode("aaa", parseSpecial: false), [id(tok, "aa"), id(tok, "a")])
        XCTAssertEqual(tok.encode("aaaa", parseSpecial: false), [id(tok, "aa"), id(tok, "aa")])
    }

    func testMergeThroughNonTokenIntermediate() throws {
        // "ab" is no token, but "ab c" still applies to the merged pair.
        let tok = try makeByteLevelTokenizer(extra: [("abc", 1)], merges: ["a b", "ab c"])
        XCTAssertEqual(tok.encode("abc", parseSpecial: false), [id(tok, "abc")])
        // A word ending on the intermediate falls back to its bytes, as in llama.cpp.
        XCTAssertEqual(tok.encode("ab", parseSpecial: false), [id(tok, "a"), id(tok, "b")])
    }

    func testSpacesUseTheByteLevelAlphabet() throws {
        let tok = try makeByteLevelTokenizer(extra: [("Ġhello", 1), ("hello", 1)],
                                             merges: ["h e", "l l", "he ll", "hell o", "Ġ hello"])
        XCTAssertEqual(tok.encode("hello hello", parseSpecial: false), [id(tok, "hello"), id(tok, "Ġhello")])
        XCTAssertEqual(tok.tokenBytes(id(tok, "Ġhello")), Array(" hello".utf8))
        XCTAssertEqual(tok.decode(tok.encode("hello hello", parseSpecial: false)), "hello hello")
    }

    func testIgnoreMergesOnlyForLlama3() throws {
        let extra: [(String, Int32)] = [("ab", 1), ("abc", 1)]
        let qwen = try makeByteLevelTokenizer(extra: extra, merges: ["a b"], pre: "qwen2")
        XCTAssertEqual(qwen.encode("abc", parseSpecial: false), [id(qwen, "ab"), id(qwen, "c")])
        let llama = try makeByteLevelTokenizer(extra: extra, merges: ["a b"], pre: "llama-bpe")
        XCTAssertEqual(llama.encode("abc", parseSpecial: false), [id(llama, "abc")])
    }

    func testSpecialTokensLongestFirstLikeLlamaCpp() throws {
        // "bcd" is longer, so it is cut out first even though "ab" starts earlier.
        let tok = try makeByteLevelTokenizer(extra: [("ab", 3), ("bcd", 3)])
        XCTAssertEqual(tok.encode("abcd", parseSpecial: true), [id(tok, "a"), id(tok, "bcd")])
        XCTAssertEqual(tok.encode("ab-abcd", parseSpecial: true), [id(tok, "ab"), id(tok, "-"), id(tok, "a"), id(tok, "bcd")])
    }

    func testParseSpecialSwitch() throws {
        let tok = try makeByteLevelTokenizer(extra: [("<|x|>", 3), ("<u>", 4)])
        let x = id(tok, "<|x|>"), u = id(tok, "<u>")
        XCTAssertEqual(tok.encode("a<|x|>b", parseSpecial: true), [id(tok, "a"), x, id(tok, "b")])
        let plain = tok.encode("a<|x|>b", parseSpecial: false)
        XCTAssertFalse(plain.contains(x))
        XCTAssertEqual(tok.decode(plain), "a<|x|>b")
        // User-defined tokens are matched either way.
        XCTAssertEqual(tok.encode("a<u>b", parseSpecial: false), [id(tok, "a"), u, id(tok, "b")])
        XCTAssertEqual(tok.decode([x]), "")
        XCTAssertEqual(tok.decode([x], renderSpecial: true), "<|x|>")
        XCTAssertEqual(tok.decode([u]), "<u>")
    }

    func testBOSOnlyWhenTheModelAsks() throws {
        let extra: [(String, Int32)] = [("<s>", 3)]
        let bos = Int32(256)
        let with = try makeByteLevelTokenizer(extra: extra, specials: .init(bos: bos, addBOS: true))
        XCTAssertEqual(with.encode("a", parseSpecial: false), [bos, id(with, "a")])
        XCTAssertEqual(with.encode("a", parseSpecial: false, addSpecial: false), [id(with, "a")])
        let without = try makeByteLevelTokenizer(extra: extra, specials: .init(bos: bos, addBOS: false))
        XCTAssertEqual(without.encode("a", parseSpecial: false), [id(without, "a")])
        // With no add_bos_token key, llama.cpp adds BOS for llama3-style vocabularies only.
        let qwenDefault = try makeByteLevelTokenizer(extra: extra, specials: .init(bos: bos))
        XCTAssertFalse(qwenDefault.addsBOS)
        let llamaDefault = try makeByteLevelTokenizer(extra: extra, pre: "llama-bpe", specials: .init(bos: bos))
        XCTAssertTrue(llamaDefault.addsBOS)
        XCTAssertEqual(llamaDefault.encode("", parseSpecial: true), [bos])
    }

    func testEndOfGenerationDetectedByName() throws {
        // "<|im_end|>" typed as a normal token is promoted to control and ends generation.
        let tok = try makeByteLevelTokenizer(extra: [("<|im_end|>", 1), ("<|endoftext|>", 3), ("<|im_start|>", 3)])
        let end = id(tok, "<|im_end|>"), eot = id(tok, "<|endoftext|>"), start = id(tok, "<|im_start|>")
        XCTAssertTrue(tok.isEndOfGeneration(end))
        XCTAssertTrue(tok.isEndOfGeneration(eot))
        XCTAssertFalse(tok.isEndOfGeneration(start))
        XCTAssertTrue(tok.isControl(end))
        XCTAssertEqual(tok.eotID, end, "<|im_end|> outranks <|endoftext|> as end of turn")
        XCTAssertEqual(tok.tokenBytes(end), [])
    }

    func testEmptyAndWhitespaceOnlyText() throws {
        let tok = try makeByteLevelTokenizer()
        XCTAssertEqual(tok.encode("", parseSpecial: true), [])
        XCTAssertEqual(tok.decode(tok.encode(" \n\t ", parseSpecial: false)), " \n\t ")
        XCTAssertEqual(tok.decode([-1, 99_999]), "", "out-of-range ids decode to nothing")
    }
}
