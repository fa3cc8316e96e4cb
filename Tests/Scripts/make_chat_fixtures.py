#!/usr/bin/env python3
"""Render the chat-template fixtures that Tests/TokenizerTests/ChatTemplateTests checks against.

Every template in Tests/TokenizerTests/Fixtures/chat-templates/ is rendered with jinja2 the way
Hugging Face transformers renders chat templates (trim_blocks, lstrip_blocks, raise_exception,
tojson, bos_token/eos_token, tools=None) over a fixed set of conversations, with and without
add_generation_prompt. The Swift renderers must reproduce each string byte for byte, and must
refuse (throw) exactly where jinja2 raises.

The Qwen2.5 and SmolLM2 templates are copied out of the GGUF metadata dumps in the shared
reference directory, and that directory's llama.cpp `chat_prime` renders are copied in too, so the
Swift test needs nothing outside the repository.

Usage: python3 Tests/Scripts/make_chat_fixtures.py [--reference DIR]
Writes Tests/TokenizerTests/Fixtures/chat-renders.json (and the two GGUF-derived .jinja files).
"""

import argparse
import json
import os
import sys

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
FIXTURES = os.path.join(ROOT, "Tests", "TokenizerTests", "Fixtures")
TEMPLATES = os.path.join(FIXTURES, "chat-templates")
OUTPUT = os.path.join(FIXTURES, "chat-renders.json")

# (fixture file, expected family raw value, bos_token, eos_token) — the models' real special tokens.
TEMPLATE_TABLE = [
    ("chatml.jinja", "chatml", "<s>", "<|im_end|>"),
    ("chatml-qwen.jinja", "chatml-qwen", "<|endoftext|>", "<|im_end|>"),
    ("chatml-qwen2.jinja", "chatml-qwen2", "<|endoftext|>", "<|im_end|>"),
    ("chatml-smollm.jinja", "chatml-smollm", "<|im_start|>", "<|im_end|>"),
    ("llama3.jinja", "llama3", "<|begin_of_text|>", "<|eot_id|>"),
    ("llama3.1.jinja", "llama3.1", "<|begin_of_text|>", "<|eot_id|>"),
    ("gemma.jinja", "gemma", "<bos>", "<eos>"),
    ("deepseek-r1.jinja", "deepseek-r1", "<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>"),
    ("deepseek-r1.llama-cpp.jinja", "deepseek-r1", "<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>"),
    ("deepseek-r1-legacy.jinja", "deepseek-r1-legacy", "<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>"),
    ("phi3.jinja", "phi3", "<s>", "<|endoftext|>"),
]

# GGUF metadata dumps the ChatML templates are taken from, and the matching llama.cpp generate runs.
GGUF_SOURCES = [
    ("chatml-qwen.jinja", "gguf-meta-qwen2.5-coder-0.5b-instruct.json", "generate-qwen2.5-coder-0.5b-instruct.json"),
    ("chatml-smollm.jinja", "gguf-meta-SmolLM2-135M-Instruct.Q4_1.json", "generate-SmolLM2-135M-Instruct.Q4_1.json"),
]


def m(role, content):
    return {"role": role, "content": content}


# Conversations: the required shapes first, then edge cases that exercise trimming, reasoning
# stripping, role alternation and template-looking content (which must stay inert data).
CONVERSATIONS = [
    ("single_user", [m("user", "Hello!")]),
    ("system_user", [m("system", "You are a terse assistant."), m("user", "What is 2+2?")]),
    ("multi_turn", [m("user", "Hi"), m("assistant", "Hello! How can I help?"), m("user", "Tell me a joke.")]),
    ("system_multi_turn", [
        m("system", "Answer in French."), m("user", "Good morning"),
        m("assistant", "Bonjour !"), m("user", "How are you?")]),
    ("ends_with_assistant", [m("user", "Ping"), m("assistant", "Pong")]),
    ("whitespace_padding", [
        m("system", "  \tBe brief.\n\n"), m("user", "\n  padded question \u00a0\u3000"),
        m("assistant", "   padded answer\r\n"), m("user", "\x1c\x1fcontrol-space\u2028")]),
    ("reasoning_history", [
        m("user", "Think first."), m("assistant", "<think>\nhmm\n</think>\n\nThe answer is 4."),
        m("user", "And again?"), m("assistant", "<think>a</think>b</think>c"), m("user", "Last one")]),
    ("unicode_and_template_text", [
        m("user", "Grüß dich 👋🏽 — {{ bos_token }} {% raw %}<|im_end|>{% endraw %} e\u0301 '\"\\n")]),
    ("empty_contents", [m("system", ""), m("user", ""), m("assistant", ""), m("user", " ")]),
    ("consecutive_users", [m("user", "first"), m("user", "second")]),
    ("system_later", [m("user", "Hi"), m("assistant", "Hello"), m("system", "Switch to pirate speak."), m("user", "Go")]),
    ("two_systems", [m("system", "First system."), m("system", "Second system."), m("user", "Which one?")]),
    ("system_only", [m("system", "Only a system prompt.")]),
    ("assistant_first", [m("assistant", "I speak first."), m("user", "Fine.")]),
]

# Extra template variables for a few cases (Llama 3.1+ templates take a date_string).
EXTRA_VARIABLES = {
    ("llama3.1.jinja", "system_user"): {"date_string": "14 Mar 2025"},
}


class TemplateError(Exception):
    pass


def raise_exception(message):
    raise TemplateError(message)


def tojson(value, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    # transformers' tojson: no HTML escaping, unicode kept.
    return json.dumps(value, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)


def make_environment():
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=["jinja2.ext.loopcontrols"])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    # strftime_now is deliberately not defined: Llama 3.2 then falls back to its fixed date, so the
    # fixtures do not depend on the day they are generated.
    return env


def render(env, source, messages, add_generation_prompt, bos_token, eos_token, extra):
    template = env.from_string(source)
    try:
        text = template.render(messages=messages, tools=None, add_generation_prompt=add_generation_prompt,
                               bos_token=bos_token, eos_token=eos_token, **extra)
        return {"expected": text}
    except TemplateError as error:
        return {"expected_error": str(error)}


def read_text(path):
    with open(path, encoding="utf-8", newline="") as handle:
        return handle.read()


def write_text(path, text):
    with open(path, "w", encoding="utf-8", newline="") as handle:
        handle.write(text)


def import_gguf_templates(reference):
    """Copy the GGUF chat templates and llama.cpp's chat_prime renders out of the reference dir."""
    references = []
    for fixture, meta_name, generate_name in GGUF_SOURCES:
        meta_path = os.path.join(reference, meta_name)
        generate_path = os.path.join(reference, generate_name)
        if not (os.path.exists(meta_path) and os.path.exists(generate_path)):
            sys.exit(f"missing reference file {meta_path} or {generate_path}")
        with open(meta_path, encoding="utf-8") as handle:
            template = json.load(handle)["metadata"]["tokenizer.chat_template"]
        write_text(os.path.join(TEMPLATES, fixture), template)
        with open(generate_path, encoding="utf-8") as handle:
            generate = json.load(handle)
        served = generate["meta"]["server_props_chat_template"]
        if served.rstrip("\n") != template.rstrip("\n"):
            sys.exit(f"{generate_name}: llama.cpp served a different template than {meta_name} holds")
        for case in generate["cases"]:
            if case.get("messages") is None:
                continue
            references.append({
                "source": generate_name,
                "name": case["name"],
                "template": fixture,
                "messages": case["messages"],
                "add_generation_prompt": True,
                "bos_token": generate["meta"]["bos_token"],
                "eos_token": generate["meta"]["eos_token"],
                "expected": case["prompt_text"],
            })
    return references


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reference", default=os.environ.get("EDGELM_REFERENCE_DIR",
                                                              os.path.join(ROOT, "..", "shared", "reference")))
    args = parser.parse_args()

    llamacpp_cases = import_gguf_templates(args.reference)
    env = make_environment()

    templates, cases = [], []
    for fixture, family, bos_token, eos_token in TEMPLATE_TABLE:
        source = read_text(os.path.join(TEMPLATES, fixture))
        templates.append({"file": f"chat-templates/{fixture}", "family": family,
                          "bos_token": bos_token, "eos_token": eos_token})
        for name, messages in CONVERSATIONS:
            for add_generation_prompt in (False, True):
                extra = EXTRA_VARIABLES.get((fixture, name), {})
                case = {"template": f"chat-templates/{fixture}", "family": family, "conversation": name,
                        "messages": messages, "add_generation_prompt": add_generation_prompt,
                        "bos_token": bos_token, "eos_token": eos_token}
                if "date_string" in extra:
                    case["date_string"] = extra["date_string"]
                case.update(render(env, source, messages, add_generation_prompt, bos_token, eos_token, extra))
                cases.append(case)

    # llama.cpp's render must agree with jinja2's for the same template, or the comparison is moot.
    for ref in llamacpp_cases:
        source = read_text(os.path.join(TEMPLATES, ref["template"]))
        ours = render(env, source, ref["messages"], True, ref["bos_token"], ref["eos_token"], {})
        ref["jinja2_agrees"] = ours.get("expected") == ref["expected"]
        ref["template"] = f"chat-templates/{ref['template']}"

    output = {
        "generator": "Tests/Scripts/make_chat_fixtures.py",
        "jinja2_version": jinja2.__version__,
        "environment": "ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True), "
                       "raise_exception, tojson, tools=None, no strftime_now",
        "templates": templates,
        "cases": cases,
        "llamacpp_cases": llamacpp_cases,
    }
    with open(OUTPUT, "w", encoding="utf-8", newline="\n") as handle:
        json.dump(output, handle, ensure_ascii=False, indent=1)
        handle.write("\n")

    errors = sum(1 for case in cases if "expected_error" in case)
    print(f"wrote {OUTPUT}: {len(templates)} templates, {len(cases)} cases ({errors} expected errors), "
          f"{len(llamacpp_cases)} llama.cpp cases")
    for ref in llamacpp_cases:
        print(f"  {ref['source']} {ref['name']}: jinja2 {'agrees' if ref['jinja2_agrees'] else 'DIFFERS'} with llama.cpp")


if __name__ == "__main__":
    main()
