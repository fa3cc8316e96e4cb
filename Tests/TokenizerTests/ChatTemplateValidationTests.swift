import Foundation
import XCTest
@testable import Tokenizer

/// Hostile or malformed conversations are refused with errors that name the bad value.
final class ChatTemplateValidationTests: XCTestCase {
    private func render(_ family: ChatTemplateFamily, _ messages: [ChatMessage]) throws -> String {
        try ChatTemplate(family: family).render(messages: messages, addGenerationPrompt: true,
                                                bosToken: "<s>", eosToken: "</s>")
    }

    func testEmptyConversationIsRefusedByEveryFamily() {
        for family in ChatTemplateFamily.allCases {
            XCTAssertThrowsError(try render(family, []), family.rawValue) { error in
                XCTAssertEqual(error as? ChatTemplateError, .emptyConversation)
            }
        }
    }

    func testUnknownRolesAreRefusedByEveryFamilyAndNamed() {
        // Roles the reference templates would treat specially or silently drop.
        for role in ["tool", "User", "", "ipython", "model", "developer"] {
            for family in ChatTemplateFamily.allCases {
                let messages = [ChatMessage.user("hi"), ChatMessage(role: role, content: "x")]
                XCTAssertThrowsError(try render(family, messages), "\(family.rawValue) \(role)") { error in
                    XCTAssertEqual(error as? ChatTemplateError, .unknownRole(role, index: 1))
                    XCTAssertTrue(String(describing: error).contains(role.debugDescription))
                }
            }
        }
    }

    func testHostileRoleIsShortenedAndEscapedInTheMessage() {
        let role = "\u{1B}[31m" + String(repeating: "A", count: 10_000) + "\n"
        XCTAssertThrowsError(try render(.chatml, [ChatMessage(role: role, content: "")])) { error in
            let message = String(describing: error)
            XCTAssertFalse(message.unicodeScalars.contains("\u{1B}"), "raw escape character in: \(message)")
            XCTAssertLessThan(message.count, 300)
            XCTAssertTrue(message.contains("10006 characters"), message)
        }
    }

    func testGemmaRefusesNonAlternatingTurnsAtTheOffendingMessage() {
        let messages: [ChatMessage] = [.system("s"), .user("a"), .assistant("b"), .assistant("c")]
        XCTAssertThrowsError(try render(.gemma, messages)) { error in
            XCTAssertEqual(error as? ChatTemplateError, .rolesMustAlternate(family: .gemma, index: 3, role: "assistant"))
            XCTAssertTrue(String(describing: error).contains("message 3"))
        }
        XCTAssertThrowsError(try render(.gemma, [.assistant("first")]))
    }

    func testOtherFamiliesAcceptAnyOrderOfKnownRoles() throws {
        let messages: [ChatMessage] = [.assistant("a"), .assistant("b"), .system("c"), .user("d"), .user("e")]
        for family in ChatTemplateFamily.allCases where family != .gemma {
            XCTAssertNoThrow(try render(family, messages), family.rawValue)
        }
    }

    func testTemplateSyntaxInContentStaysInert() throws {
        let content = "{{ bos_token }}{% for m in messages %}x{% endfor %}"
        let text = try render(.chatml, [.user(content)])
        XCTAssertEqual(text, "<|im_start|>user\n\(content)<|im_end|>\n<|im_start|>assistant\n")
    }

    func testChatMessageRoundTripsThroughJSON() throws {
        let messages: [ChatMessage] = [.system("s"), .user("Grüß 👋"), .assistant("")]
        let decoded = try JSONDecoder().decode([ChatMessage].self, from: JSONEncoder().encode(messages))
        XCTAssertEqual(decoded, messages)
        let wire = #"{"role":"user","content":"hi"}"#
        XCTAssertEqual(try JSONDecoder().decode(ChatMessage.self, from: Data(wire.utf8)), .user("hi"))
    }

    func testPythonStripMatchesStrStrip() {
        // Python: "\x1c\u3000 a\u0301 \u200b\xa0".strip() == "a\u0301 \u200b" (U+200B is not whitespace).
        XCTAssertEqual(Array(ChatTemplateText.strip("\u{1C}\u{3000} a\u{301} \u{200B}\u{A0}").unicodeScalars),
                       Array("a\u{301} \u{200B}".unicodeScalars))
        // A combining mark after a space makes one Character, but Python strips the space.
        XCTAssertEqual(Array(ChatTemplateText.strip(" \u{301}x").unicodeScalars), Array("\u{301}x".unicodeScalars))
        XCTAssertEqual(ChatTemplateText.strip(" \n\t "), "")
    }

    func testSuffixAfterLastMatchesPythonSplit() {
        XCTAssertEqual(ChatTemplateText.suffixAfterLast("</think>", in: "a</think>b</think>c"), "c")
        XCTAssertEqual(ChatTemplateText.suffixAfterLast("</think>", in: "no reasoning"), "no reasoning")
        XCTAssertEqual(ChatTemplateText.suffixAfterLast("</think>", in: "x</think>"), "")
        XCTAssertEqual(Array(ChatTemplateText.suffixAfterLast("</think>", in: "r</think>\u{301}!").unicodeScalars),
                       Array("\u{301}!".unicodeScalars))
    }
}
