#!/usr/bin/env python3
"""Writes Tests/TokenizerTests/Fixtures/pretokenizer-splits.json.

For each pre-tokenizer the engine supports, the split patterns below are copied verbatim (as data)
from llama.cpp's src/llama-vocab.cpp (tag b11434, the reference version). llama.cpp applies a
pre-tokenizer's patterns in sequence: each pattern re-splits every piece produced so far, and the
text between two matches is kept as a piece of its own. This script does the same with Python's
`regex` module (pip install regex) on the reference strings of ../shared/reference plus extra hard
strings, and records the pieces.

Where llama.cpp's engine necessarily sees something different from Python's regex, the case is
recorded under "expected_different" with the reason and the split llama.cpp produces; the test then
checks the engine against that instead (and that the difference is still real). The two known
causes, emulated here by rewriting the input one code point for one code point before matching:

  * llama.cpp replaces every non-ASCII whitespace code point with U+000B before running std::regex
    (std::regex's \\s is ASCII-only), so such a code point no longer matches a bracket class that
    lists it (deepseek-llm's [　-。] and [ࠀ-一] classes).
  * llama.cpp's Unicode category tables are generated from Unicode 15.1; code points assigned later
    are "undefined" there (neither \\p{L} nor \\p{N}). Python's `regex` knows newer versions.

Usage: python3 Tests/Scripts/make_pretokenizer_fixtures.py   (from the repository root)
"""
import json
import os
import sys

import regex

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
REFERENCE = os.path.join(os.path.dirname(ROOT), "shared", "reference")
OUT = os.path.join(ROOT, "Tests", "TokenizerTests", "Fixtures", "pretokenizer-splits.json")

# Copied from llama-vocab.cpp (llm_tokenizer_bpe's regex_exprs); non-ASCII written as \u escapes.
PATTERNS = {
    "qwen2": [
        r"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+",
    ],
    "smollm": [
        r"\p{N}",
        r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)",
    ],
    "llama-bpe": [
        r"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+",
    ],
    "deepseek-llm": [
        "[\r\n]",
        "\\s?[A-Za-z\u00b5\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u01ba\u01bc-\u01bf\u01c4-\u0293\u0295-\u02af\u0370-\u0373\u0376\u0377\u037b-\u037d\u037f\u0386\u0388-\u038a\u038c\u038e-\u03a1\u03a3-\u03f5\u03f7-\u0481\u048a-\u052f\u0531-\u0556\u10a0-\u10c5\u13a0-\u13f5\u13f8-\u13fd\u1c90-\u1cba\u1cbd-\u1cbf\u1d00-\u1d2b\u1d6b-\u1d77\u1d79-\u1d9a\u1e00-\u1f15\u1f18-\u1f1d\u1f20-\u1f45\u1f48-\u1f4d\u1f50-\u1f57\u1f59\u1f5b\u1f5d\u1f5f-\u1f7d\u1f80-\u1fb4\u1fb6-\u1fbc\u1fbe\u1fc2-\u1fc4\u1fc6-\u1fcc\u1fd0-\u1fd3\u1fd6-\u1fdb\u1fe0-\u1fec\u1ff2-\u1ff4\u1ff6-\u1ffc\u2102\u2107\u210a-\u2113\u2115\u2119-\u211d\u2124\u2126\u2128\u212a-\u212d\u212f-\u2134\u2139\u213c-\u213f\u2145-\u2149\u214e\u2183\u2184\u2c00-\u2c7b\u2c7e-\u2ce4\u2ceb-\u2cee\u2cf2\u2cf3\ua640-\ua66d\ua680-\ua69b\ua722-\ua76f\ua771-\ua787\ua78b-\ua78e\uab70-\uabbf\ufb00-\ufb06\ufb13-\ufb17\uff21-\uff3a\uff41-\uff5a\U00010400-\U0001044f\U000104b0-\U000104d3\U000104d8-\U000104fb\U00010c80-\U00010cb2\U00010cc0-\U00010cf2\U000118a0-\U000118df\U0001e900-\U0001e943]+",
        "\\s?[!-/:-~\uff01-\uff0f\uff1a-\uff5e\u2018-\u201f\u3000-\u3002]+",
        "\\s+$",
        "[\u4e00-\u9fa5\u0800-\u4e00\uac00-\ud7ff]+",
        "\\p{N}+",
    ],
}

# Strings chosen to exercise every branch of the patterns.
HARD_STRINGS = {
    "mixed_scripts": "Hello мир 世界 مرحبا שלום नमस्ते こんにちは 안녕하세요 Ελληνικά",
    "digit_runs": "1234567890 12 345 6789 a1b22c333 x²³ ½ ⅷ ١٢٣٤٥ ４５６ 0.5e-10",
    "contractions_caps": "I'M YOU'RE WE'VE THEY'LL SHE'D IT'S DON'T i'm 's 'S 'sa 'LL ''s '' ' rock'n'roll",
    "whitespace_mix": "a   b\t\t c\n\n\n  d \r\n e\r\r f  \n\t  g\v\fh   \n",
    "trailing_spaces": "end with spaces   ",
    "leading_newlines": "\n\n  \tstart",
    "only_whitespace": " \t \n ",
    "unicode_spaces": "a\u00a0b\u00a0\u00a0c\u2003d\u3000e \u3000 f\u2028g\u0085h",
    "emoji": "😀😃 👍🏽 👨\u200d👩\u200d👧\u200d👦 🇯🇵🇺🇸 ❤\ufe0f 🦙🐍 x😀y",
    "combining_marks": "e\u0301 cafe\u0301 n\u0303o \u0301abc a\u0308\u0308b  \u0301\u0301",
    "punctuation_newlines": "!!!\n\n??? ...\r\n--- \"quoted\" (paren) [x]{y} <tag/>\n",
    "code": "for (int i = 0; i < n; ++i) {\n\tsum += a[i] * 2;\n}\n",
    "cjk_deepseek": "你好，世界！ 你好\u3000世界 \u3000。「引用」 한국어 テスト",
    "deepseek_classes": "Hello, World! ΑΒΓ αβγ Привет ﬀ Ａｂｃ ‘quote’ “dq” ——",
    "control_chars": "a\x01b\x1cc\x1fd \x7f e",
    "format_chars": "zero\u200bwidth soft\u00adhyphen bidi\u202eend",
    "unicode16_letter": "a\u1c89b \u1c89 x",
    "long_word": "Pneumonoultramicroscopicsilicovolcanoconiosis" * 3,
    "apostrophes": "''' ''s don''t 'ʼ' ’s",
}


def split_pipeline(text, patterns, view=None):
    """Applies `patterns` in sequence. `view(piece, pattern)`, if given, is the equal-length text a
    pattern is matched against in place of the piece (to emulate what llama.cpp's regex sees)."""
    pieces = [text] if text else []
    for p in patterns:
        compiled = regex.compile(p)
        out = []
        for piece in pieces:
            target = view(piece, p) if view else piece
            assert len(target) == len(piece)
            pos = 0
            for m in compiled.finditer(target):
                if m.start() > pos:
                    out.append(piece[pos:m.start()])
                out.append(piece[m.start():m.end()])
                pos = m.end()
            if pos < len(piece):
                out.append(piece[pos:])
        pieces = out
    return pieces


# Code points in the strings above that were assigned after Unicode 15.1 (neither `regex` nor this
# Python's unicodedata can answer "assigned in 15.1?", so they are listed by hand).
NEWER_THAN_UNICODE_15_1 = {
    "\u1c89": "CYRILLIC CAPITAL LETTER TJE, Unicode 16.0",
}
UNASSIGNED = "\u0378"  # unassigned in every Unicode version


def llama_cpp_view(whitespace=True, age=True):
    """What llama.cpp's regex matching sees: non-ASCII whitespace becomes U+000B for every pattern;
    for patterns using \\p{..} categories (looked up in llama.cpp's tables) a code point newer
    than Unicode 15.1 becomes an unassigned one."""
    def view(piece, pattern):
        uses_categories = "\\p{" in pattern
        out = []
        for ch in piece:
            if whitespace and ord(ch) > 0x7F and regex.match(r"\s", ch):
                out.append("\x0b")
            elif age and uses_categories and ch in NEWER_THAN_UNICODE_15_1:
                out.append(UNASSIGNED)
            else:
                out.append(ch)
        return "".join(out)
    return view


def main():
    cases = []
    seen = set()
    for model in ("qwen2.5-coder-0.5b-instruct", "SmolLM2-135M-Instruct.Q4_1"):
        path = os.path.join(REFERENCE, f"tokenize-{model}.json")
        with open(path, encoding="utf-8") as f:
            for c in json.load(f)["cases"]:
                if c["text"] not in seen:
                    seen.add(c["text"])
                    cases.append({"name": "reference_" + c["name"], "text": c["text"]})
    for name, text in HARD_STRINGS.items():
        cases.append({"name": name, "text": text})

    different = []
    for case in cases:
        case["splits"] = {}
        for pre, patterns in PATTERNS.items():
            python = split_pipeline(case["text"], patterns)
            assert "".join(python) == case["text"]
            case["splits"][pre] = python
            llama = split_pipeline(case["text"], patterns, llama_cpp_view())
            if llama != python:
                reasons = []
                if split_pipeline(case["text"], patterns, llama_cpp_view(age=False)) != python:
                    reasons.append("llama.cpp replaces non-ASCII whitespace with U+000B before matching, "
                                   "so it no longer matches a bracket class listing it")
                if split_pipeline(case["text"], patterns, llama_cpp_view(whitespace=False)) != python:
                    reasons.append("llama.cpp's category tables are Unicode 15.1: a code point assigned later "
                                   "is neither \\p{L} nor \\p{N} there")
                different.append({"case": case["name"], "pre_tokenizer": pre, "reason": "; ".join(reasons),
                                  "python_splits": python, "llama_cpp_splits": llama})

    doc = {
        "generator": "Tests/Scripts/make_pretokenizer_fixtures.py",
        "python_regex_version": regex.__version__,
        "patterns": PATTERNS,
        "cases": cases,
        "expected_different": different,
    }
    with open(OUT, "w", encoding="utf-8") as f:
        json.dump(doc, f, ensure_ascii=False, indent=1)
        f.write("\n")
    print(f"wrote {OUT}: {len(cases)} cases x {len(PATTERNS)} pre-tokenizers, "
          f"{len(different)} expected differences", file=sys.stderr)


if __name__ == "__main__":
    main()
