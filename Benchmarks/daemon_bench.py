#!/usr/bin/env python3
"""edgelmd under load, over its Unix socket.

  batching  aggregate decode tokens/s with 1 stream and with S parallel streams (continuous
            batching: one pass over the weights per step serves every running sequence)
  load      K concurrent clients × N streaming requests: throughput, p50/p99 time to first
            token, errors

Usage: Benchmarks/daemon_bench.py [--model FILE] [--slots 4] [--clients 8] [--requests 4] [--tokens 96] [--rounds 3]
Starts its own edgelmd (release build) on a scratch socket and stops it at the end.
"""
import argparse
import concurrent.futures
import json
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "Daemon"))
from daemon import SMOL, Daemon  # noqa: E402

PROMPTS = ["Write a long story about a dragon who learns to cook.",
           "Explain in detail how a steam engine works.",
           "Describe a journey across the ocean in a small boat.",
           "Write a long essay about the history of bread."]


def stream_one(daemon, prompt, tokens):
    """One streaming chat request: (time to first token, completion tokens, seconds, error)."""
    start = time.monotonic()
    first = None
    usage = None
    with daemon.client(timeout=600) as c:
        with c.stream("POST", "/v1/chat/completions", json={
                "messages": [{"role": "user", "content": prompt}], "max_tokens": tokens, "temperature": 0,
                "stream": True, "stream_options": {"include_usage": True}}) as r:
            if r.status_code != 200:
                r.read()
                return None, 0, time.monotonic() - start, f"HTTP {r.status_code}"
            for line in r.iter_lines():
                if not line.startswith("data: ") or line == "data: [DONE]":
                    continue
                event = json.loads(line[6:])
                if "error" in event:
                    return first, 0, time.monotonic() - start, event["error"]["message"]
                if event.get("usage"):
                    usage = event["usage"]
                elif first is None and event["choices"] and event["choices"][0]["delta"].get("content"):
                    first = time.monotonic() - start
    return first, usage["completion_tokens"] if usage else 0, time.monotonic() - start, None


def batching(daemon, streams, tokens, rounds):
    """1 stream, then `streams` at once, alternately for `rounds` rounds (a shared or throttled
    machine drifts; alternating keeps the two sides in the same conditions): the medians."""
    def run(n):
        start = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(n) as pool:
            results = list(pool.map(lambda i: stream_one(daemon, PROMPTS[i % len(PROMPTS)], tokens), range(n)))
        wall = time.monotonic() - start
        produced = sum(r[1] for r in results)
        errors = [r[3] for r in results if r[3] is not None]
        if errors:
            raise SystemExit(f"batching run with {n} streams failed: {errors[0]}")
        return produced / wall, produced, wall
    stream_one(daemon, PROMPTS[0], 8)  # warm the caches
    ones, manys = [], []
    for _ in range(rounds):
        ones.append(run(1))
        manys.append(run(streams))
    one = sorted(ones)[len(ones) // 2]
    many = sorted(manys)[len(manys) // 2]
    print(f"\nbatching (decode, {tokens} tokens per stream, median of {rounds} alternating rounds)")
    print(f"| streams | tokens | seconds | aggregate tokens/s | vs 1 stream |")
    print(f"| ------: | -----: | ------: | -----------------: | ----------: |")
    print(f"| 1 | {one[1]} | {one[2]:.2f} | {one[0]:.1f} | 1.00× |")
    print(f"| {streams} | {many[1]} | {many[2]:.2f} | {many[0]:.1f} | {many[0] / one[0]:.2f}× |")
    print("rounds: " + ", ".join(f"{m[0] / o[0]:.2f}×" for o, m in zip(ones, manys)))
    return many[0] / one[0]


def load(daemon, clients, requests, tokens):
    def client(k):
        return [stream_one(daemon, PROMPTS[(k + i) % len(PROMPTS)], tokens) for i in range(requests)]
    start = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(clients) as pool:
        results = [r for rs in pool.map(client, range(clients)) for r in rs]
    wall = time.monotonic() - start
    ok = [r for r in results if r[3] is None]
    errors = [r[3] for r in results if r[3] is not None]
    ttft = sorted(r[0] for r in ok if r[0] is not None)
    def pct(p):
        return ttft[min(len(ttft) - 1, int(round(p / 100 * (len(ttft) - 1))))] if ttft else float("nan")
    produced = sum(r[1] for r in ok)
    print(f"\nload ({clients} clients × {requests} requests, {tokens} tokens each)")
    print(f"| requests | ok | errors | seconds | requests/s | tokens/s | TTFT p50 | TTFT p99 |")
    print(f"| -------: | -: | -----: | ------: | ---------: | -------: | -------: | -------: |")
    print(f"| {len(results)} | {len(ok)} | {len(errors)} | {wall:.1f} | {len(ok) / wall:.2f} | {produced / wall:.1f} | "
          f"{pct(50) * 1000:.0f} ms | {pct(99) * 1000:.0f} ms |")
    for e in sorted(set(errors)):
        print(f"  error: {e} ×{errors.count(e)}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=SMOL)
    parser.add_argument("--slots", type=int, default=4)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--requests", type=int, default=4)
    parser.add_argument("--tokens", type=int, default=96)
    parser.add_argument("--rounds", type=int, default=3, help="alternating 1-stream / S-stream rounds (medians reported)")
    args = parser.parse_args()
    with Daemon("--slots", str(args.slots), "--ctx", "1024", "--threads", str(args.threads), models=(args.model,)) as d:
        with d.client() as c:
            info = c.get("/edgelm/v1/info").json()
        print(f"edgelmd {info['version']}, kernels {info['kernels']}, {info['threads']} threads, {args.slots} slots, "
              f"model {os.path.basename(args.model)}")
        batching(d, args.slots, args.tokens, args.rounds)
        load(d, args.clients, args.requests, args.tokens)
        d.stop()


if __name__ == "__main__":
    main()
