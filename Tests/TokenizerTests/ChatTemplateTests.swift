import Foundation
import XCTest
@testable import Tokenizer

/// jinja2's renders of the real templates (Fixtures/chat-renders.json, written by
/// Tests/Scripts/make_chat_fixtures.py) must be reproduced byte for byte.
final class ChatTemplateTests: XCTestCase {
    func testEveryFixtureTemplateIsDetectedAsItsFamily() throws {
        let fixtures = try ChatTemplateFixtures.load()
        XCTAssertFalse(fixtures.templates.isEmpty)
        for entry in fixtures.templates {
            let source = try ChatTemplateFixtures.templateSource(entry.file)
            XCTAssertEqual(try ChatTemplate.detect(source).rawValue, entry.family, entry.file)
        }
    }

    func testEveryFamilyHasAFixtureTemplate() throws {
        let covered = Set(try ChatTemplateFixtures.load().templates.map(\.family))
        for family in ChatTemplateFamily.allCases {
            XCTAssertTrue(covered.contains(family.rawValue), "no jinja2 fixture for \(family.rawValue)")
        }
    }

    func testRendersEqualJinja2() throws {
        let fixtures = try ChatTemplateFixtures.load()
        XCTAssertGreaterThan(fixtures.cases.count, 100)
        for fixture in fixtures.cases {
            let label = "\(fixture.template) \(fixture.conversation) addGenerationPrompt=\(fixture.add_generation_prompt)"
            let family = try ChatTemplate.detect(try ChatTemplateFixtures.templateSource(fixture.template))
            XCTAssertEqual(family.rawValue, fixture.family, label)
            let template = ChatTemplate(family: family,
                                        dateString: fixture.date_string ?? ChatTemplate.defaultDateString)
            let render = { () throws(ChatTemplateError) -> String in
                try template.render(messages: fixture.messages, addGenerationPrompt: fixture.add_generation_prompt,
                                    bosToken: fixture.bos_token, eosToken: fixture.eos_token)
            }
            if let expected = fixture.expected {
                ChatTemplateFixtures.assertBytesEqual(try render(), expected, label)
            } else {
                // jinja2 raised (raise_exception): we must refuse the same conversation.
                XCTAssertThrowsError(try render(), label) { error in
                    guard case .rolesMustAlternate = error as? ChatTemplateError else {
                        return XCTFail("\(label): unexpected error \(error)")
                    }
                }
            }
        }
    }

    /// llama.cpp's own rendering (server /apply-template, --jinja) of the reference `chat_prime`
    /// conversation, copied from the shared reference generate-*.json files.
    func testRendersEqualLlamaCppChatPrime() throws {
        let references = try ChatTemplateFixtures.load().llamacpp_cases
        XCTAssertEqual(references.count, 2)
        for reference in references {
            let label = "\(reference.source) \(reference.name)"
            XCTAssertTrue(reference.jinja2_agrees, "\(label): jinja2 and llama.cpp disagree on this template")
            let family = try ChatTemplate.detect(try ChatTemplateFixtures.templateSource(reference.template))
            let rendered = try ChatTemplate(family: family).render(
                messages: reference.messages, addGenerationPrompt: reference.add_generation_prompt,
                bosToken: reference.bos_token, eosToken: reference.eos_token)
            ChatTemplateFixtures.assertBytesEqual(rendered, reference.expected, label)
        }
    }
}

/// Loads the fixtures next to this file (found through `#filePath`, so no bundle is needed).
enum ChatTemplateFixtures {
    struct File: Decodable {
        let templates: [TemplateEntry]
        let cases: [RenderCase]
        let llamacpp_cases: [LlamaCppCase]
    }

    struct TemplateEntry: Decodable {
        let file: String
        let family: String
    }

    struct RenderCase: Decodable {
        let template: String
        let family: String
        let conversation: String
        let messages: [ChatMessage]
        let add_generation_prompt: Bool
        let bos_token: String
        let eos_token: String
        let date_string: String?
        let expected: String?
        let expected_error: String?
    }

    struct LlamaCppCase: Decodable {
        let source: String
        let name: String
        let template: String
        let messages: [ChatMessage]
        let add_generation_prompt: Bool
        let bos_token: String
        let eos_token: String
        let expected: String
        let jinja2_agrees: Bool
    }

    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

    static func load() throws -> File {
        try JSONDecoder().decode(File.self, from: Data(contentsOf: directory.appendingPathComponent("chat-renders.json")))
    }

    static func templateSource(_ relativePath: String) throws -> String {
        let data = try Data(contentsOf: directory.appendingPathComponent(relativePath))
        guard let text = String(data: data, encoding: .utf8) else {
            throw CocoaError(.fileReadInapplicableStringEncoding)
        }
        return text
    }

    /// Swift's `==` on strings is canonical equivalence ("é" == "e\u{301}"); a prompt must match
    /// byte for byte, so compare UTF-8 and show where the first difference is.
    static func assertBytesEqual(_ actual: String, _ expected: String, _ label: String,
                                 file: StaticString = #filePath, line: UInt = #line) {
        let a = Array(actual.utf8), e = Array(expected.utf8)
        guard a != e else { return }
        let at = (0..<min(a.count, e.count)).first { a[$0] != e[$0] } ?? min(a.count, e.count)
        let context = { (bytes: [UInt8]) in
            String(decoding: bytes[max(0, at - 40)..<min(bytes.count, at + 40)], as: UTF8.self).debugDescription
        }
        XCTFail("\(label): differs at byte \(at)\n  got      \(context(a))\n  expected \(context(e))", file: file, line: line)
    }
}
