import XCTest
@testable import Tokenizer

/// `ChatTemplate.detect` beyond the fixture templates: names, look-alikes it must refuse, and the
/// error that tells a user which fallbacks exist.
final class ChatTemplateDetectionTests: XCTestCase {
    func testUnknownTemplateThrowsNamingEveryFallback() {
        XCTAssertThrowsError(try ChatTemplate.detect("{{ messages[0]['content'] }}")) { error in
            guard case .unrecognizedTemplate = error as? ChatTemplateError else { return XCTFail("\(error)") }
            let message = String(describing: error)
            for name in ChatTemplateFamily.names {
                XCTAssertTrue(message.contains(name), "fallback \(name) missing from: \(message)")
            }
        }
    }

    func testFamilyNamesAreAcceptedInPlaceOfATemplate() throws {
        for family in ChatTemplateFamily.allCases {
            XCTAssertEqual(try ChatTemplate.detect(family.rawValue), family)
            XCTAssertEqual(try ChatTemplate.detect(" \(family.rawValue)\n"), family)
            XCTAssertEqual(try ChatTemplateFamily.named(family.rawValue), family)
        }
    }

    func testUnknownFamilyNameIsRefusedWithTheKnownNames() {
        XCTAssertThrowsError(try ChatTemplateFamily.named("ChatML")) { error in
            XCTAssertEqual(error as? ChatTemplateError, .unknownFamily("ChatML"))
            XCTAssertTrue(String(describing: error).contains("chatml-qwen"))
        }
    }

    func testEmptyTemplateIsRefused() {
        XCTAssertThrowsError(try ChatTemplate.detect(" \n\t"))
    }

    /// Templates from llama.cpp's tests/test-chat-template.cpp that share markers with our families.
    func testLookAlikeVariants() throws {
        // gemma-7b-it / gemma-2: raises on system messages where we fold them, identical otherwise.
        let gemma2 = "{{ bos_token }}{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}{% if (message['role'] == 'assistant') %}{% set role = 'model' %}{% else %}{% set role = message['role'] %}{% endif %}{{ '<start_of_turn>' + role + '\\n' + message['content'] | trim + '<end_of_turn>\\n' }}{% endfor %}{% if add_generation_prompt %}{{'<start_of_turn>model\\n'}}{% endif %}"
        XCTAssertEqual(try ChatTemplate.detect(gemma2), .gemma)
        // Llama-3 as llama.cpp's test spells it (generation prompt unconditional).
        let llama3 = "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}"
        XCTAssertEqual(try ChatTemplate.detect(llama3), .llama3)
    }

    func testTemplatesWithBehaviourWeDoNotReproduceAreRefused() {
        let refused: [(String, String)] = [
            ("Qwen3-style reasoning", "{%- for message in messages %}{{ '<|im_start|>' + message.role }}{% if reasoning_content %}<think>{% endif %}{%- endfor %}"),
            ("Phi-4", "{% for message in messages %}{{'<|im_start|>' + message['role'] + '<|im_sep|>' + message['content'] + '<|im_end|>'}}{% endfor %}"),
            ("unknown default system", "{% if messages[0]['role'] != 'system' %}{{ '<|im_start|>system\\nYou are Bob.<|im_end|>\\n' }}{% endif %}{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n'}}{% endfor %}"),
            ("Mistral", "{{ bos_token }}{% for message in messages %}{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}{% endif %}{% endfor %}"),
            ("DeepSeek-V3", "{% set ns = namespace(system_prompt='', is_first_sp=true) %}{{ bos_token }}{{ ns.system_prompt }}{{'<｜User｜>' + message['content']}}{{'<｜Assistant｜>'}}"),
            ("Gemma 4", "{{ bos_token }}{%- for message in messages -%}{{- '<|turn>' + message['role'] + '\\n' }}{%- endfor -%}"),
            ("Phi-3-mini with BOS, no system", "{{ bos_token }}{% for message in messages %}{% if (message['role'] == 'user') %}{{'<|user|>' + '\\n' + message['content'] + '<|end|>' + '\\n' + '<|assistant|>' + '\\n'}}{% endif %}{% endfor %}"),
        ]
        for (label, source) in refused {
            XCTAssertThrowsError(try ChatTemplate.detect(source), label) { error in
                guard case .unrecognizedTemplate = error as? ChatTemplateError else {
                    return XCTFail("\(label): \(error)")
                }
            }
        }
    }

    func testChatMLDefaultSystemPromptAcceptsRealAndEscapedNewlines() throws {
        let escaped = "{{ '<|im_start|>system\\nYou are a helpful assistant.<|im_end|>\\n' }}"
        let real = "{{ '<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n' }}"
        XCTAssertEqual(try ChatTemplate.detect(escaped), .chatmlQwen2)
        XCTAssertEqual(try ChatTemplate.detect(real), .chatmlQwen2)
        XCTAssertEqual(try ChatTemplate.detect("{{ '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>' }}"), .chatml)
    }

    func testOnlyLlama32ReportsTheCurrentDate() throws {
        XCTAssertTrue(ChatTemplate.usesCurrentDate(try ChatTemplateFixtures.templateSource("chat-templates/llama3.1.jinja")))
        XCTAssertFalse(ChatTemplate.usesCurrentDate(try ChatTemplateFixtures.templateSource("chat-templates/llama3.jinja")))
    }

    func testJinjaSourceInitialiserDetects() throws {
        let source = try ChatTemplateFixtures.templateSource("chat-templates/chatml-smollm.jinja")
        XCTAssertEqual(try ChatTemplate(jinjaSource: source).family, .chatmlSmolLM)
    }
}
