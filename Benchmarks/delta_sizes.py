#!/usr/bin/env python3
"""Patch sizes (`edgelm diff`) next to full archive sizes (`edgelm pack`) for three kinds of update:

  metadata   the same model with another chat template (tensor data copied unchanged, alignment kept)
  layer      the same model with every tensor of one block re-written (bytes XORed with a seeded stream,
             as a re-quantization changes them all)
  unrelated  the other model as base (Qwen2.5-Coder 0.5B → SmolLM2 135M)

    Benchmarks/delta_sizes.py [--edgelm PATH] [--models DIR] [--model NAME] [--block N] [--keep DIR]

Models come from --models, else $EDGELM_MODELS, else ~/.cache/edgelm/models. The GGUF rewriter below
parses only the header and the tensor table; tensor data is streamed, never loaded whole.
"""
import argparse
import os
import random
import shutil
import struct
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q", 12: "<d"}


class Reader:
    def __init__(self, f):
        self.f = f

    def take(self, fmt):
        size = struct.calcsize(fmt)
        data = self.f.read(size)
        if len(data) != size:
            raise ValueError("truncated GGUF header")
        return struct.unpack(fmt, data)[0]

    def raw(self, n):
        data = self.f.read(n)
        if len(data) != n:
            raise ValueError("truncated GGUF header")
        return data

    def string(self):
        return self.raw(self.take("<Q"))

    def value(self, vtype):
        """The raw bytes of one value of `vtype` (as stored), and its decoded form for scalars and strings."""
        if vtype in SCALARS:
            fmt = SCALARS[vtype]
            data = self.raw(struct.calcsize(fmt))
            return data, struct.unpack(fmt, data)[0]
        if vtype == 8:
            s = self.string()
            return struct.pack("<Q", len(s)) + s, s
        if vtype == 9:
            etype, count = self.take("<I"), self.take("<Q")
            parts = [struct.pack("<IQ", etype, count)]
            for _ in range(count):
                parts.append(self.value(etype)[0])
            return b"".join(parts), None
        raise ValueError(f"unknown GGUF value type {vtype}")


def parse(path):
    """Header fields, KVs as (key, type, raw value bytes, decoded), tensors as (name, info bytes, offset), data start."""
    with open(path, "rb") as f:
        r = Reader(f)
        magic, version, n_tensors, n_kv = r.raw(4), r.take("<I"), r.take("<Q"), r.take("<Q")
        if magic != b"GGUF" or version not in (2, 3):
            raise ValueError(f"{path} is not a GGUF v2/v3 file")
        kvs = []
        for _ in range(n_kv):
            key = r.string()
            vtype = r.take("<I")
            raw, decoded = r.value(vtype)
            kvs.append((key, vtype, raw, decoded))
        tensors = []
        for _ in range(n_tensors):
            name = r.string()
            n_dims = r.take("<I")
            dims = [r.take("<Q") for _ in range(n_dims)]
            ttype, offset = r.take("<I"), r.take("<Q")
            info = struct.pack("<Q", len(name)) + name + struct.pack("<I", n_dims) + b"".join(struct.pack("<Q", d) for d in dims)
            info += struct.pack("<IQ", ttype, offset)
            tensors.append((name.decode(), info, offset))
        align = next((d for k, t, _, d in kvs if k == b"general.alignment" and t == 4), 32)
        data_start = (f.tell() + align - 1) // align * align
    return version, kvs, tensors, align, data_start


def with_template(src, dst, template):
    """Copies `src` to `dst` with tokenizer.chat_template replaced (or added); tensor data unchanged."""
    version, kvs, tensors, align, data_start = parse(src)
    encoded = template.encode()
    value = struct.pack("<Q", len(encoded)) + encoded
    kvs = [kv for kv in kvs if kv[0] != b"tokenizer.chat_template"] + [(b"tokenizer.chat_template", 8, value, encoded)]
    with open(src, "rb") as fin, open(dst, "wb") as out:
        out.write(b"GGUF" + struct.pack("<IQQ", version, len(tensors), len(kvs)))
        for key, vtype, raw, _ in kvs:
            out.write(struct.pack("<Q", len(key)) + key + struct.pack("<I", vtype) + raw)
        for _, info, _ in tensors:
            out.write(info)
        out.write(b"\0" * (-out.tell() % align))
        fin.seek(data_start)
        shutil.copyfileobj(fin, out, 1 << 20)


def with_block_rewritten(src, dst, block):
    """Copies `src` to `dst` with every byte of block `block`'s tensors XORed with a seeded stream."""
    _, _, tensors, _, data_start = parse(src)
    size = os.path.getsize(src)
    ends = sorted(off for _, _, off in tensors) + [size - data_start]
    ranges = []
    for name, _, off in tensors:
        if name.startswith(f"blk.{block}."):
            ranges.append((data_start + off, data_start + next(e for e in ends if e > off)))
    if not ranges:
        raise ValueError(f"{src} has no tensors blk.{block}.*")
    shutil.copyfile(src, dst)
    rng = random.Random(block)
    with open(dst, "r+b") as f:
        for start, end in sorted(ranges):
            f.seek(start)
            data = f.read(end - start)
            noise = rng.randbytes(len(data))
            f.seek(start)
            f.write((int.from_bytes(data, "little") ^ int.from_bytes(noise, "little")).to_bytes(len(data), "little"))
    return sum(e - s for s, e in ranges)


def find_model(models, prefix):
    for name in sorted(os.listdir(models)) if os.path.isdir(models) else []:
        if name.lower().startswith(prefix) and name.endswith(".gguf"):
            return os.path.join(models, name)
    return None


def run(argv):
    started = time.monotonic()
    proc = subprocess.run(argv, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"{' '.join(argv)} failed:\n{proc.stderr}")
    return proc.stdout.split("\n"), time.monotonic() - started


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--edgelm", help="the edgelm binary (default: .build-store/release/edgelm, else .build/release/edgelm)")
    ap.add_argument("--models", default=os.environ.get("EDGELM_MODELS") or os.path.expanduser("~/.cache/edgelm/models"))
    ap.add_argument("--model", default="smollm2-135m", help="file name prefix of the model to update")
    ap.add_argument("--other", default="qwen2.5-coder-0.5b", help="file name prefix of the unrelated base")
    ap.add_argument("--block", type=int, default=5)
    ap.add_argument("--keep", help="write the generated files here instead of a temporary directory")
    args = ap.parse_args()

    edgelm = args.edgelm or next((p for p in (os.path.join(ROOT, d, "release/edgelm") for d in (".build-store", ".build"))
                                  if os.access(p, os.X_OK)), None)
    if not edgelm:
        sys.exit("no edgelm binary: build it or pass --edgelm")
    model = find_model(args.models, args.model)
    if not model:
        sys.exit(f"no {args.model}*.gguf in {args.models}")
    other = find_model(args.models, args.other)

    work = args.keep or tempfile.mkdtemp(prefix="edgelm-delta-sizes-")
    os.makedirs(work, exist_ok=True)
    try:
        cases = []
        meta = os.path.join(work, "metadata.gguf")
        with_template(model, meta, "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
                      "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}{# benchmark variant #}")
        cases.append(("metadata", model, meta))
        layer = os.path.join(work, "layer.gguf")
        changed = with_block_rewritten(model, layer, args.block)
        cases.append((f"layer (blk.{args.block}, {changed / 1e6:.1f} MB)", model, layer))
        if other:
            cases.append((f"unrelated ({os.path.basename(other)} as base)", other, model))
        else:
            print(f"note: no {args.other}*.gguf in {args.models}; the unrelated case is skipped", file=sys.stderr)

        print(f"target model: {os.path.basename(model)} ({os.path.getsize(model) / 1e6:.1f} MB)")
        print(f"{'case':<48} {'target MB':>10} {'archive MB':>11} {'patch MB':>10} {'patch/archive':>14} {'diff s':>7}")
        for i, (label, old, new) in enumerate(cases):
            out = os.path.join(work, f"case{i}")
            lines, _ = run([edgelm, "pack", new, "--name", "m", "--version", str(i + 1), "--out", out])
            archive = os.path.getsize(lines[0])
            lines, seconds = run([edgelm, "diff", old, new, "--out", out])
            patch = os.path.getsize(lines[0])
            print(f"{label:<48} {os.path.getsize(new) / 1e6:>10.2f} {archive / 1e6:>11.3f} {patch / 1e6:>10.3f} "
                  f"{patch / archive:>13.2%} {seconds:>7.1f}")
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
