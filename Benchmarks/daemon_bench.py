#!/usr/bin/env python3
"""edgelmd under load, over its Unix socket.

  batching  aggregate decode tokens/s with 1 stream and with S parallel streams (continuous
            batching: one pass over the weights per step serves every running sequence), over
            the window in which every stream is decoding, and end to end (prompts included)
  load      K concurrent clients × N streaming requests: throughput, p50/p99 time to first
            token, errors

Usage: Benchmarks/daemon_bench.py [--model FILE] [--slots 4] [--clients 8] [--requests 4] [--tokens 128] [--rounds 3]
Starts its own edgelmd (release build) on a scratch socket and stops it at the end.
"""
import argparse
import concurrent.futures
import json
import os
import re
import socket
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "Daemon"))
from daemon import SMOL, Daemon  # noqa: E402

PROMPTS = ["Write a long story about a dragon who learns to cook.",
           "Explain in detail how a steam engine works.",
           "Describe a journey across the ocean in a small boat.",
           "Write a long essay about the history of bread."]


def stream_one(daemon, prompt, tokens, arrivals=None):
    """One streaming chat request: (time to first token, completion tokens, seconds, error). When
    `arrivals` is a list, the arrival time of every content chunk (one per token) is appended."""
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
                elif event["choices"] and event["choices"][0]["delta"].get("content"):
                    now = time.monotonic()
                    if first is None:
                        first = now - start
                    if arrivals is not None:
                        arrivals.append(now)
    return first, usage["completion_tokens"] if usage else 0, time.monotonic() - start, None


def stream_light(daemon, prompt, tokens, arrivals):
    """stream_one for the batching runs, with a client that costs next to nothing: a raw socket,
    lines matched as bytes, nothing decoded. On a 2-core board the client shares the CPU with the
    daemon, and four httpx streams parsing JSON measurably slow the engine they measure."""
    body = json.dumps({"messages": [{"role": "user", "content": prompt}], "max_tokens": tokens, "temperature": 0,
                       "stream": True, "stream_options": {"include_usage": True}}).encode()
    head = (f"POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode()
    start = time.monotonic()
    first, produced, pending = None, 0, b""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.connect(daemon.socket)
        s.sendall(head + body)
        while True:
            data = s.recv(65536)
            if not data:
                break
            now = time.monotonic()
            lines = (pending + data).split(b"\n")
            pending = lines.pop()
            for line in lines:
                if not line.startswith(b"data: {"):
                    continue
                if b'"content":"' in line and b'"content":""' not in line:
                    first = first if first is not None else now - start
                    arrivals.append(now)
                elif b'"error"' in line:
                    return first, 0, now - start, line.decode(errors="replace")
                elif b'"usage":{' in line:
                    produced = int(re.search(rb'"completion_tokens":(\d+)', line).group(1))
    return first, produced, time.monotonic() - start, None if produced else "no usage in the stream"


def batching(daemon, streams, tokens, rounds):
    """1 stream, then `streams` at once, alternately for `rounds` rounds (a shared or throttled
    machine drifts; alternating keeps the two sides in the same conditions): the medians."""
    def run(n):
        arrivals = [[] for _ in range(n)]
        start = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(n) as pool:
            results = list(pool.map(lambda i: stream_light(daemon, PROMPTS[i % len(PROMPTS)], tokens, arrivals[i]), range(n)))
        wall = time.monotonic() - start
        produced = sum(r[1] for r in results)
        errors = [r[3] for r in results if r[3] is not None]
        if errors:
            raise SystemExit(f"batching run with {n} streams failed: {errors[0]}")
        # Decode throughput: tokens that arrived while every stream was decoding (from the last
        # stream's first token to the first stream's last), over that window. Prompts are read
        # before it, so it measures what batching the decode steps gives.
        begin = max(a[0] for a in arrivals)
        end = min(a[-1] for a in arrivals)
        if end - begin < 0.5:
            raise SystemExit(f"the {n} streams decoded together for only {end - begin:.2f} s: raise --tokens")
        counted = sum(sum(1 for t in a if begin < t <= end) for a in arrivals)
        return {"e2e": produced / wall, "decode": counted / (end - begin), "tokens": produced, "wall": wall}

    stream_one(daemon, PROMPTS[0], 8)  # warm the caches
    ones, manys = [], []
    for _ in range(rounds):
        ones.append(run(1))
        manys.append(run(streams))

    def median(runs, key):
        return statistics.median(r[key] for r in runs)

    decode_ratios = [m["decode"] / o["decode"] for o, m in zip(ones, manys)]
    e2e_ratios = [m["e2e"] / o["e2e"] for o, m in zip(ones, manys)]
    print(f"\nbatching ({tokens} tokens per stream, medians of {rounds} alternating rounds)")
    print("| streams | tokens | seconds | decode tokens/s | vs 1 stream | end-to-end tokens/s | vs 1 stream |")
    print("| ------: | -----: | ------: | --------------: | ----------: | ------------------: | ----------: |")
    print(f"| 1 | {ones[0]['tokens']} | {median(ones, 'wall'):.2f} | {median(ones, 'decode'):.1f} | 1.00× | "
          f"{median(ones, 'e2e'):.1f} | 1.00× |")
    print(f"| {streams} | {manys[0]['tokens']} | {median(manys, 'wall'):.2f} | {median(manys, 'decode'):.1f} | "
          f"{statistics.median(decode_ratios):.2f}× | {median(manys, 'e2e'):.1f} | {statistics.median(e2e_ratios):.2f}× |")
    print("decode ratio per round: " + ", ".join(f"{r:.2f}×" for r in decode_ratios))
    print("end-to-end ratio per round (each stream's prompt is read first, one prompt after another): "
          + ", ".join(f"{r:.2f}×" for r in e2e_ratios))
    return statistics.median(decode_ratios)


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
    parser.add_argument("--tokens", type=int, default=128)
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
