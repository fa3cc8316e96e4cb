#!/usr/bin/env python3
"""Compare edgelm with llama-bench on the same model files, thread counts and tests.

The two run alternately (edgelm, llama-bench, edgelm, ...) for --rounds rounds in one time window,
so drifts of a shared machine hit both alike. For each test the ratio edgelm / llama-bench is taken
per round and its median and spread are printed. The same run measures main-memory read bandwidth
(`edgelm bench --bandwidth`) and prints generation speed as a fraction of the decode roofline
(bandwidth / weight bytes read per token), and the peak RSS of each process.

    Benchmarks/compare.py --llama-bench /path/to/llama-bench [--models NAME|PATH ...]
                          [-p 512] [-n 64] [-t 1,2] [--rounds 5] [--reps 3] [--json FILE]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_MODELS = ["qwen2.5-coder-0.5b-instruct", "smollm2-135m-instruct"]


def run_json_rss(argv):
    """Runs argv; returns its parsed JSON output and its own peak RSS in bytes (ru_maxrss of wait4)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(argv, stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if proc.returncode != 0:
            sys.exit(f"error: {' '.join(argv)} failed ({proc.returncode}):\n{err.read().decode(errors='replace')}")
        return json.loads(out.read()), usage.ru_maxrss * 1024


def resolve_model(name):
    """A path for a catalog name (fetching it if needed; fetch.py prints the path), or the path itself."""
    if os.path.exists(name):
        return os.path.abspath(name)
    out = subprocess.run([sys.executable, os.path.join(ROOT, "Models", "fetch.py"), name],
                         capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"error: cannot resolve model {name}: {out.stderr.strip()}")
    return out.stdout.strip().splitlines()[-1]


def test_name(obj):
    return f"pp{obj['n_prompt']}" if obj["n_prompt"] > 0 else f"tg{obj['n_gen']}"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--llama-bench", required=True, help="path to a llama-bench binary")
    ap.add_argument("--edgelm", default=os.path.join(ROOT, ".build", "release", "edgelm"))
    ap.add_argument("--models", nargs="+", default=DEFAULT_MODELS)
    ap.add_argument("-p", default="512")
    ap.add_argument("-n", default="64")
    ap.add_argument("-t", default="1,2")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--reps", type=int, default=3, help="repetitions per test inside each run")
    ap.add_argument("--json", help="also write every measurement to this file")
    args = ap.parse_args()
    threads = [int(t) for t in args.t.split(",")]

    bandwidth = {o["n_threads"]: o["read_bytes_per_s"]
                 for o in run_json_rss([args.edgelm, "bench", "--bandwidth", "-t", args.t, "--json"])[0]}
    print("memory read bandwidth: " + ", ".join(f"{t} thread{'s' if t > 1 else ''} {bandwidth[t] / 1e9:.1f} GB/s"
                                                for t in threads))
    record = {"bandwidth": bandwidth, "models": {}}
    summary_ok = True
    for name in args.models:
        path = resolve_model(name)
        common = ["-m", path, "-p", args.p, "-n", args.n, "-t", args.t, "-r", str(args.reps)]
        ratios, edge_ts, llama_ts = {}, {}, {}
        rss = {"edgelm": 0, "llama": 0}
        kernels, per_token = "?", None
        start = time.time()
        for rnd in range(args.rounds):
            edge, edge_rss = run_json_rss([args.edgelm, "bench", *common, "--json"])
            llama, llama_rss = run_json_rss([args.llama_bench, *common, "-o", "json"])
            rss["edgelm"] = max(rss["edgelm"], edge_rss)
            rss["llama"] = max(rss["llama"], llama_rss)
            lmap = {(test_name(o), o["n_threads"]): o["avg_ts"] for o in llama}
            for o in edge:
                key = (test_name(o), o["n_threads"])
                kernels, per_token = o["kernels"], o["weight_bytes_per_token"]
                if key not in lmap:
                    continue
                edge_ts.setdefault(key, []).append(o["avg_ts"])
                llama_ts.setdefault(key, []).append(lmap[key])
                ratios.setdefault(key, []).append(o["avg_ts"] / lmap[key])
            print(f"  {os.path.basename(path)}: round {rnd + 1}/{args.rounds} done ({time.time() - start:.0f} s)",
                  file=sys.stderr)

        print(f"\n{os.path.basename(path)} — kernels {kernels}, {args.rounds} alternating rounds, "
              f"{per_token / 1e6:.1f} MB of weights per token")
        print(f"| test  | threads | edgelm t/s | llama.cpp t/s | ratio (median) | ratio range   | edgelm roofline | llama.cpp roofline |")
        print(f"| ----- | ------: | ---------: | ------------: | -------------: | ------------- | --------------: | -----------------: |")
        for key in sorted(ratios, key=lambda k: (k[0][:2], int(k[0][2:]), k[1])):
            test, t = key
            e, l, r = statistics.median(edge_ts[key]), statistics.median(llama_ts[key]), statistics.median(ratios[key])
            roof_e = roof_l = ""
            if test.startswith("tg") and t in bandwidth and per_token:
                ceiling = bandwidth[t] / per_token
                roof_e, roof_l = f"{100 * e / ceiling:.0f}%", f"{100 * l / ceiling:.0f}%"
            print(f"| {test:5} | {t:7} | {e:10.2f} | {l:13.2f} | {r:13.2f}× | {min(ratios[key]):.2f}–{max(ratios[key]):.2f}     "
                  f"| {roof_e:>15} | {roof_l:>18} |")
            summary_ok &= r >= 1.0
        print(f"peak RSS: edgelm {rss['edgelm'] / 2**20:.1f} MiB, llama-bench {rss['llama'] / 2**20:.1f} MiB")
        record["models"][path] = {
            "kernels": kernels, "weight_bytes_per_token": per_token,
            "edgelm_ts": {f"{k[0]}/t{k[1]}": v for k, v in edge_ts.items()},
            "llama_ts": {f"{k[0]}/t{k[1]}": v for k, v in llama_ts.items()},
            "ratios": {f"{k[0]}/t{k[1]}": v for k, v in ratios.items()},
            "peak_rss": rss,
        }
    if args.json:
        with open(args.json, "w") as f:
            json.dump(record, f, indent=2)
    print("\nall median ratios ≥ 1.0" if summary_ok else "\nsome median ratios are below 1.0")


if __name__ == "__main__":
    main()
