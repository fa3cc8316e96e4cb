#!/usr/bin/env python3
"""Writes the kernel test fixtures to Tests/KernelsTests/Fixtures/.

Reference data comes from the `gguf` package (llama.cpp's gguf-py): gguf.quants.quantize for the
types it can quantize, and gguf.quants.dequantize for every dequantized reference. gguf.quants has
no quantizer for the K types, so their blocks are random bytes with sane fp16 scales (every bit
pattern of a K block is a valid block), and only their dequantized floats come from gguf.

Run from the repository root:  python3 Tests/Scripts/make_quant_fixtures.py
Deterministic: re-running rewrites identical files.
"""
import json
import os

import numpy as np
from gguf import GGMLQuantizationType as T
from gguf import quants

SEED = 1234
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "KernelsTests", "Fixtures")

ROWS_B32, COLS_B32 = 4, 256        # 32 blocks of 32 for the float and 32-element block types
ROWS_K, COLS_K = 2, 2048           # 16 super-blocks of 256 for the K types

# name -> (type, fp16 fields at byte offsets (offset, role)) ; roles: "d" scale, "m" min scale
K_SCALE_FIELDS = {
    "q2_K": (T.Q2_K, [(80, "d"), (82, "m")]),
    "q3_K": (T.Q3_K, [(108, "d")]),
    "q4_K": (T.Q4_K, [(0, "d"), (2, "m")]),
    "q5_K": (T.Q5_K, [(0, "d"), (2, "m")]),
    "q6_K": (T.Q6_K, [(208, "d")]),
}


def activation_like_rows(rng, rows, cols, block):
    """Normal values with a per-block magnitude spread over ~5 decades, plus special blocks."""
    nb = cols // block
    x = rng.standard_normal((rows, cols)).astype(np.float32)
    scale = (10.0 ** rng.uniform(-3.0, 1.5, size=(rows, nb))).astype(np.float32)
    x = (x.reshape(rows, nb, block) * scale[..., None]).reshape(rows, cols)
    blk = lambda r, b: (r, slice(b * block, (b + 1) * block))
    x[blk(0, 1)] = 0.0                                               # all-zero block
    x[blk(1, 2)][rng.choice(block, 3, replace=False)] *= 40.0          # outliers
    x[blk(2, 0)] = 0.75                                              # constant block (max == min)
    x[blk(2, 3)] = np.abs(x[blk(2, 3)]) + 3.0                         # all-positive, offset block
    x[blk(3, 3)] = rng.standard_normal(block).astype(np.float32) * 1e-7  # scale underflows in fp16
    x[blk(3, 5)] = -np.abs(x[blk(3, 5)])                              # all-negative block
    return x.astype(np.float32)


def random_k_blocks(rng, qtype, fields, n_blocks):
    block_size, type_size = quants.GGML_QUANT_SIZES[qtype]
    raw = rng.integers(0, 256, size=(n_blocks, type_size), dtype=np.uint8)
    for off, role in fields:
        lo, hi = (-4.0, -1.0) if role == "d" else (-4.0, -1.5)
        val = (10.0 ** rng.uniform(lo, hi, size=n_blocks)).astype(np.float16)
        raw[:, off:off + 2] = val.reshape(-1, 1).view(np.uint8)
    raw[0, :] = 0                                                  # all-zero block (d = 0)
    for off, role in fields:
        if role == "d":
            raw[1, off:off + 2] = np.array([3e-6], dtype=np.float16).view(np.uint8)  # subnormal d
            raw[2, off:off + 2] = np.array([0.5], dtype=np.float16).view(np.uint8)   # large d
    return raw


def write(name, arr):
    path = os.path.join(OUT, name)
    np.ascontiguousarray(arr).tofile(path)
    return name


def half_cases(rng):
    """f32 -> (f16, bf16) and f16 -> f32 edge cases, with numpy (f16) and gguf (bf16) as references."""
    specials = [0.0, -0.0, 1.0, -1.0, 0.5, 2.0, 65504.0, -65504.0, 65505.0, 65519.0, 65519.996,
                65520.0, 65536.0, 1e10, -1e10, 6.103515625e-05, 6.1035e-05, 6.0975552e-05,
                5.9604645e-08, 2.9802322e-08, 2.9802326e-08, 8.940697e-08, 1e-8, 1e-30, 1e-45,
                1.0 + 2.0 ** -11, 1.0 + 3 * 2.0 ** -11, 1.0 + 2.0 ** -11 + 2.0 ** -20, 1.0 + 2.0 ** -8,
                1.0 + 2.0 ** -7 + 2.0 ** -8, 1.0 + 2.0 ** -8 + 2.0 ** -16, 3.14159265, -2.71828,
                3.4028235e38, -3.4028235e38, 1.1754944e-38, np.inf, -np.inf, 0.1, 1.0 / 3.0]
    f = np.array(specials, dtype=np.float32).view(np.uint32)
    nans = np.array([0x7fc00000, 0xffc00000, 0x7f800001, 0x7fa00000, 0x7fffffff], dtype=np.uint32)
    # random bit patterns over the full exponent range, and values near the f16 range
    rnd_bits = rng.integers(0, 2 ** 32, size=600, dtype=np.uint64).astype(np.uint32)
    rnd_bits = rnd_bits[(rnd_bits & 0x7f800000) != 0x7f800000]
    near = (rng.standard_normal(600) * 10.0 ** rng.uniform(-9, 5, size=600)).astype(np.float32).view(np.uint32)
    bits = np.concatenate([f, nans, rnd_bits, near]).astype(np.uint32)
    vals = bits.view(np.float32)
    with np.errstate(over="ignore", invalid="ignore"):
        h = vals.astype(np.float16).view(np.uint16)
    b = quants.quantize(vals, T.BF16).view(np.uint16)
    rec = np.zeros(len(bits), dtype=[("f32", "<u4"), ("f16", "<u2"), ("bf16", "<u2")])
    rec["f32"], rec["f16"], rec["bf16"] = bits, h, b

    # f16 -> f32: every subnormal and exponent boundary, the specials, and a random sample
    hb = np.concatenate([np.arange(0, 0x400 + 8), np.arange(0x7bf8, 0x7c00 + 4), [0x7e00, 0x7d00],
                         np.arange(0x8000, 0x8010), [0xfbff, 0xfc00, 0xfe00],
                         rng.integers(0, 0x10000, size=1024)]).astype(np.uint16)
    hf = hb.view(np.float16).astype(np.float32).view(np.uint32)
    rec2 = np.zeros(len(hb), dtype=[("f16", "<u2"), ("pad", "<u2"), ("f32", "<u4")])
    rec2["f16"], rec2["f32"] = hb, hf
    return rec, rec2


def main():
    rng = np.random.default_rng(SEED)
    os.makedirs(OUT, exist_ok=True)
    index = {"seed": SEED, "generator": "Tests/Scripts/make_quant_fixtures.py", "types": []}

    x = activation_like_rows(rng, ROWS_B32, COLS_B32, 32)
    input_name = write("input_b32.f32.bin", x)
    for name, qtype in [("f32", T.F32), ("f16", T.F16), ("bf16", T.BF16), ("q4_0", T.Q4_0),
                        ("q4_1", T.Q4_1), ("q5_0", T.Q5_0), ("q5_1", T.Q5_1), ("q8_0", T.Q8_0)]:
        q = np.ascontiguousarray(quants.quantize(x, qtype)).view(np.uint8).reshape(ROWS_B32, -1)
        deq = quants.dequantize(q, qtype).astype(np.float32, copy=False)
        assert deq.shape == x.shape
        block_size, type_size = quants.GGML_QUANT_SIZES[qtype]
        index["types"].append({
            "name": name, "type": int(qtype), "block_size": block_size, "type_size": type_size,
            "rows": ROWS_B32, "cols": COLS_B32, "input": input_name,
            "quant": write(f"{name}.q.bin", q), "dequant": write(f"{name}.f32.bin", deq),
            "source": "gguf.quants.quantize",
        })

    for name, (qtype, fields) in K_SCALE_FIELDS.items():
        block_size, type_size = quants.GGML_QUANT_SIZES[qtype]
        raw = random_k_blocks(rng, qtype, fields, ROWS_K * COLS_K // block_size)
        q = raw.reshape(ROWS_K, -1)
        deq = quants.dequantize(q, qtype).astype(np.float32, copy=False)
        assert deq.shape == (ROWS_K, COLS_K) and np.isfinite(deq).all()
        index["types"].append({
            "name": name, "type": int(qtype), "block_size": block_size, "type_size": type_size,
            "rows": ROWS_K, "cols": COLS_K, "input": None,
            "quant": write(f"{name}.q.bin", q), "dequant": write(f"{name}.f32.bin", deq),
            "source": "random valid blocks (gguf.quants has no quantizer for this type)",
        })

    rec, rec2 = half_cases(rng)
    index["half"] = {
        "from_f32": write("half_from_f32.bin", rec), "from_f32_count": int(len(rec)),
        "from_f32_layout": "u32 f32 bits, u16 numpy f16 bits, u16 gguf bf16 bits",
        "to_f32": write("half_to_f32.bin", rec2), "to_f32_count": int(len(rec2)),
        "to_f32_layout": "u16 f16 bits, u16 pad, u32 numpy f32 bits",
    }
    with open(os.path.join(OUT, "index.json"), "w") as fh:
        json.dump(index, fh, indent=1)
        fh.write("\n")


if __name__ == "__main__":
    main()
