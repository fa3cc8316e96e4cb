"""A tiny llama-architecture GGUF with a byte-level tokenizer and seeded random F32 weights: a
model the daemon can load, tokenize for and generate from in milliseconds."""
import random
import struct

ALIGNMENT = 32
EMBD, FFN, HEADS, KV_HEADS, LAYERS, CONTEXT = 64, 96, 4, 2, 2, 256

# GGUF value types
U32, F32, BOOL, STRING, ARRAY = 4, 6, 7, 8, 9


def byte_tokens():
    """The 256 byte tokens as GPT-2's byte-level BPE spells them."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAC + 1)) + list(range(0xAE, 0xFF + 1))
    mapping, extra = {}, 0
    for b in range(256):
        if b in printable:
            mapping[b] = chr(b)
        else:
            mapping[b] = chr(256 + extra)
            extra += 1
    return [mapping[b] for b in range(256)]


def _string(s):
    data = s.encode()
    return struct.pack("<Q", len(data)) + data


def _value(kind, value):
    if kind == U32:
        return struct.pack("<I", value)
    if kind == F32:
        return struct.pack("<f", value)
    if kind == BOOL:
        return struct.pack("<?", value)
    if kind == STRING:
        return _string(value)
    raise ValueError(kind)


def write(path, seed=1, name="synthetic"):
    rng = random.Random(seed)
    tokens = byte_tokens() + ["<s>", "</s>"]
    kv = [
        ("general.architecture", STRING, "llama"),
        ("general.name", STRING, name),
        ("llama.block_count", U32, LAYERS),
        ("llama.context_length", U32, CONTEXT),
        ("llama.embedding_length", U32, EMBD),
        ("llama.feed_forward_length", U32, FFN),
        ("llama.attention.head_count", U32, HEADS),
        ("llama.attention.head_count_kv", U32, KV_HEADS),
        ("llama.rope.freq_base", F32, 10000.0),
        ("llama.attention.layer_norm_rms_epsilon", F32, 1e-5),
        ("tokenizer.ggml.model", STRING, "gpt2"),
        ("tokenizer.ggml.pre", STRING, "smollm"),
        ("tokenizer.ggml.bos_token_id", U32, 256),
        ("tokenizer.ggml.eos_token_id", U32, 257),
        ("tokenizer.ggml.add_bos_token", BOOL, True),
    ]
    arrays = [
        ("tokenizer.ggml.tokens", STRING, tokens),
        ("tokenizer.ggml.token_type", 5, [1] * 256 + [3, 3]),  # int32: normal, then control
        ("tokenizer.ggml.merges", STRING, []),
    ]
    vocab, q, kvd = len(tokens), EMBD, KV_HEADS * (EMBD // HEADS)

    def rand(n, scale):
        return [(rng.random() * 2 - 1) * scale for _ in range(n)]

    def norm(n):
        return [1 + x for x in rand(n, 0.2)]

    tensors = [("token_embd.weight", [EMBD, vocab], rand(EMBD * vocab, 1.0))]
    for layer in range(LAYERS):
        p = f"blk.{layer}."
        tensors += [
            (p + "attn_norm.weight", [EMBD], norm(EMBD)),
            (p + "attn_q.weight", [EMBD, q], rand(EMBD * q, 0.3)),
            (p + "attn_k.weight", [EMBD, kvd], rand(EMBD * kvd, 0.3)),
            (p + "attn_v.weight", [EMBD, kvd], rand(EMBD * kvd, 0.3)),
            (p + "attn_output.weight", [q, EMBD], rand(q * EMBD, 0.2)),
            (p + "ffn_norm.weight", [EMBD], norm(EMBD)),
            (p + "ffn_gate.weight", [EMBD, FFN], rand(EMBD * FFN, 0.3)),
            (p + "ffn_up.weight", [EMBD, FFN], rand(EMBD * FFN, 0.3)),
            (p + "ffn_down.weight", [FFN, EMBD], rand(FFN * EMBD, 0.2)),
        ]
    tensors += [("output_norm.weight", [EMBD], norm(EMBD)), ("output.weight", [EMBD, vocab], rand(EMBD * vocab, 0.5))]

    out = bytearray(b"GGUF" + struct.pack("<IQQ", 3, len(tensors), len(kv) + len(arrays)))
    for key, kind, value in kv:
        out += _string(key) + struct.pack("<I", kind) + _value(kind, value)
    for key, kind, values in arrays:
        out += _string(key) + struct.pack("<II", ARRAY, kind) + struct.pack("<Q", len(values))
        for v in values:
            out += _string(v) if kind == STRING else struct.pack("<i", v)
    offset = 0
    for tname, shape, values in tensors:
        out += _string(tname) + struct.pack("<I", len(shape)) + b"".join(struct.pack("<Q", d) for d in shape)
        out += struct.pack("<IQ", 0, offset)  # F32
        offset += (len(values) * 4 + ALIGNMENT - 1) // ALIGNMENT * ALIGNMENT
    out += b"\0" * (-len(out) % ALIGNMENT)
    for _, _, values in tensors:
        data = struct.pack(f"<{len(values)}f", *values)
        out += data + b"\0" * (-len(data) % ALIGNMENT)
    with open(path, "wb") as f:
        f.write(out)
    return path
