import Tokenizer
import XCTest

final class StreamingDecoderTests: XCTestCase {
    func testEmojiSplitIntoByteTokensIsHeldUntilComplete() throws {
        let tok = try makeByteLevelTokenizer()
        let ids = tok.encode("a😀b", parseSpecial: false)
        XCTAssertEqual(ids.count, 6, "no merges: one token per byte")
        var decoder = StreamingDecoder(tokenizer: tok)
        XCTAssertEqual(decoder.append(ids[0]), "a")
        for (k, id) in ids[1...3].enumerated() {
            XCTAssertEqual(decoder.append(id), "", "partial emoji must be held back")
            XCTAssertEqual(decoder.pendingByteCount, k + 1)
        }
        XCTAssertEqual(decoder.append(ids[4]), "😀")
        XCTAssertEqual(decoder.pendingByteCount, 0)
        XCTAssertEqual(decoder.append(ids[5]), "b")
        XCTAssertEqual(decoder.flush(), "")
    }

    func testCJKCharactersAcrossTokensNeverProduceReplacementCharacters() throws {
        let tok = try makeByteLevelTokenizer()
        let text = "你好，世界 ünïcödé 👨‍👩‍👧 🇯🇵"
        var decoder = StreamingDecoder(tokenizer: tok)
        var pieces = [String]()
        for id in tok.encode(text, parseSpecial: false) { pieces.append(decoder.append(id)) }
        pieces.append(decoder.flush())
        XCTAssertEqual(pieces.joined(), text)
        XCTAssertFalse(pieces.contains { $0.unicodeScalars.contains("\u{FFFD}") })
        XCTAssertGreaterThan(pieces.filter(\.isEmpty).count, 10, "most byte tokens complete nothing on their own")
    }

    func testRealModelEmojiCase() throws {
        for file in [RealTokenizers.qwenFile, RealTokenizers.smolFile] {
            let tok = try RealTokenizers.require(file).tokenizer
            let text = "I love 🦙 and 🐍! 👍🏽 👨‍👩‍👧‍👦 🇯🇵 你好，世界！"
            var decoder = StreamingDecoder(tokenizer: tok)
            var out = ""
            var held = 0
            for id in tok.encode(text, parseSpecial: false) {
                let piece = decoder.append(id)
                XCTAssertFalse(piece.unicodeScalars.contains("\u{FFFD}"), "\(file): broken UTF-8 emitted")
                if piece.isEmpty { held += 1 }
                out += piece
            }
            out += decoder.flush()
            XCTAssertEqual(out, text, file)
            XCTAssertGreaterThan(held, 0, "\(file): some emoji must span tokens for this test to mean anything")
        }
    }

    func testFlushReplacesDanglingPartialCharacter() throws {
        let tok = try makeByteLevelTokenizer()
        let ids = tok.encode("é", parseSpecial: false)  // C3 A9
        var decoder = StreamingDecoder(tokenizer: tok)
        XCTAssertEqual(decoder.append(ids[0]), "")
        XCTAssertEqual(decoder.flush(), "\u{FFFD}")
        XCTAssertEqual(decoder.pendingByteCount, 0)
        XCTAssertEqual(decoder.flush(), "")
    }

    func testInvalidBytesAreReleasedImmediately() throws {
        let tok = try makeByteLevelTokenizer()
        // Byte tokens for 0x80 (a lone continuation byte) and 0xFF (never valid in UTF-8).
        let continuation = tok.encode("\u{80}", parseSpecial: false)  // C2 80
        var decoder = StreamingDecoder(tokenizer: tok)
        XCTAssertEqual(decoder.append(continuation[1]), "\u{FFFD}", "a lone continuation byte cannot become valid")
        let e9 = tok.encode("é", parseSpecial: false)[1]  // A9
        XCTAssertEqual(decoder.append(e9), "\u{FFFD}")
        // A lead byte followed by a byte that cannot continue it is not held either.
        let lead = tok.encode("😀", parseSpecial: false)[0]  // F0
        XCTAssertEqual(decoder.append(lead), "")
        XCTAssertEqual(decoder.append(tok.encode("A", parseSpecial: false)[0]), "\u{FFFD}A")
    }

    func testControlTokensRenderOnlyWhenAsked() throws {
        let tok = try makeByteLevelTokenizer(extra: [("<|im_end|>", 3)])
        let end = Int32(256)
        var plain = StreamingDecoder(tokenizer: tok)
        XCTAssertEqual(plain.append(end), "")
        var special = StreamingDecoder(tokenizer: tok, renderSpecial: true)
        XCTAssertEqual(special.append(end), "<|im_end|>")
    }
}
