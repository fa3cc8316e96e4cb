#!/usr/bin/env python3
"""Produces ../shared/reference-style generate-*.json files from llama.cpp on this machine.

The reference files were made on another machine; llama.cpp's own kernels round differently on
different CPUs, and activations quantized to 8 bits turn those differences into visibly different
probabilities. This script runs llama.cpp here, teacher-forced on the same continuations, so that
`EDGELM_REFERENCE_DIR=OUT swift test --filter testTeacherForced` compares the engine with llama.cpp
on the same machine, and prints how far llama.cpp here is from the shared reference.

Usage: local_reference.py --llama-src DIR --llama-lib DIR --out DIR   (llama.cpp built with cmake)
"""
import argparse
import json
import math
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SHARED = os.path.join(os.path.dirname(ROOT), "shared", "reference")
MODELS = os.environ.get("EDGELM_MODELS", os.path.expanduser("~/.cache/edgelm/models"))
STEMS = {"qwen2.5-coder-0.5b-instruct": "qwen2.5-coder-0.5b-instruct.gguf",
         "SmolLM2-135M-Instruct.Q4_1": "SmolLM2-135M-Instruct.Q4_1.gguf"}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--llama-src", required=True)
    ap.add_argument("--llama-lib", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    tool = os.path.join(args.out, "llama_teacher_forced")
    subprocess.run(["gcc", "-O2", "-o", tool, os.path.join(HERE, "llama_teacher_forced.c"),
                    "-I", os.path.join(args.llama_src, "include"), "-I", os.path.join(args.llama_src, "ggml", "include"),
                    "-L", args.llama_lib, "-lllama", "-lggml", "-lggml-base", "-lm", f"-Wl,-rpath,{args.llama_lib}"], check=True)
    for stem, file in STEMS.items():
        ref = json.load(open(os.path.join(SHARED, f"generate-{stem}.json")))
        lines = [str(len(ref["cases"]))]
        for case in ref["cases"]:
            n = len(case["top5_per_position"])
            lines.append(" ".join(map(str, [len(case["prompt_ids"])] + case["prompt_ids"])))
            lines.append(" ".join(map(str, [n] + case["generated_ids"][:n])))
        out = subprocess.run([tool, os.path.join(MODELS, file)], input="\n".join(lines) + "\n",
                             capture_output=True, text=True, check=True).stdout
        tops = {}
        for line in out.splitlines():
            if line.startswith("TOP "):
                f = line.split()
                tops[(int(f[1]), int(f[2]))] = [{"id": int(f[3 + 2 * k]), "prob": float(f[4 + 2 * k]),
                                                 "logprob": math.log(float(f[4 + 2 * k]))} for k in range(5)]
        deviations = []
        for ci, case in enumerate(ref["cases"]):
            for pi, position in enumerate(case["top5_per_position"]):
                local = {t["id"]: t["prob"] for t in tops[(ci, pi)]}
                deviations += [abs(local[t["id"]] - t["prob"]) for t in position["top5"] if t["id"] in local]
                position["top5"] = tops[(ci, pi)]
        deviations.sort()
        over = sum(d > 0.01 for d in deviations)
        print(f"{stem}: llama.cpp here vs the shared reference: median {deviations[len(deviations) // 2]:.4f}, "
              f"p95 {deviations[len(deviations) * 95 // 100]:.4f}, largest {deviations[-1]:.4f}; "
              f"{over} of {len(deviations)} top-5 probabilities differ by more than 0.01")
        json.dump(ref, open(os.path.join(args.out, f"generate-{stem}.json"), "w"))


if __name__ == "__main__":
    sys.exit(main())
