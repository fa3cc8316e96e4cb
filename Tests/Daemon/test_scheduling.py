"""Continuous batching, the bounded queue, priorities."""
import concurrent.futures
import threading
import time
import unittest

from daemon import Daemon, sse_events


def chat(client, content, max_tokens, stream=False, **extra):
    return client.post("/v1/chat/completions", json={
        "messages": [{"role": "user", "content": content}], "max_tokens": max_tokens, "temperature": 0,
        "stream": stream, **extra})


class SchedulingTest(unittest.TestCase):
    def test_32_streaming_clients_on_4_slots(self):
        with Daemon("--slots", "4", "--queue", "16", "--ctx", "512") as d:
            def one(i):
                with d.client(timeout=180) as c:
                    with c.stream("POST", "/v1/chat/completions", json={
                            "messages": [{"role": "user", "content": f"Tell me fact number {i}."}],
                            "max_tokens": 24, "stream": True}) as r:
                        if r.status_code != 200:
                            r.read()
                            return r.status_code, r.headers.get("retry-after"), r.json()
                        events, done = sse_events(r.iter_lines())
                        return 200, done, events[-1]["choices"][0]["finish_reason"]

            barrier_start = time.monotonic()
            with concurrent.futures.ThreadPoolExecutor(32) as pool:
                results = list(pool.map(one, range(32), timeout=300))
            elapsed = time.monotonic() - barrier_start
            ok = [r for r in results if r[0] == 200]
            busy = [r for r in results if r[0] == 503]
            print(f"\n  32 clients, 4 slots, queue 16: {len(ok)} completed, {len(busy)} got 503, {elapsed:.1f} s")
            self.assertEqual(len(ok) + len(busy), 32, results)
            self.assertGreaterEqual(len(ok), 4 + 16)
            for r in ok:
                self.assertTrue(r[1], "every stream ends with [DONE]")
                self.assertIn(r[2], ("length", "stop"))
            for status, retry, body in busy:
                self.assertIsNotNone(retry, "503 must carry Retry-After")
                self.assertEqual(body["error"]["code"], "queue_full")
            with d.client() as c:
                self.assertEqual(chat(c, "hi", 2).status_code, 200)
            d.stop()

    def test_batched_sequences_equal_sequences_alone(self):
        prompts = [f"Write one sentence about the number {i}." for i in range(4)]
        with Daemon("--slots", "4", "--ctx", "512") as d:
            with d.client() as c:
                alone = [chat(c, p, 20).json()["choices"][0]["message"]["content"] for p in prompts]
            with concurrent.futures.ThreadPoolExecutor(4) as pool:
                def run(p):
                    with d.client() as c:
                        return chat(c, p, 20).json()["choices"][0]["message"]["content"]
                together = list(pool.map(run, prompts))
            self.assertEqual(together, alone)
            d.stop()

    def test_interactive_requests_go_before_batch(self):
        with Daemon("--slots", "1", "--ctx", "512") as d:
            order = []
            lock = threading.Lock()

            def run(name, priority, tokens):
                with d.client() as c:
                    r = chat(c, "Write a long essay about the history of Rome.", tokens, priority=priority)
                    self.assertEqual(r.status_code, 200, r.text)
                with lock:
                    order.append(name)

            blocker = threading.Thread(target=run, args=("blocker", "interactive", 120))
            blocker.start()
            time.sleep(0.3)
            batch = threading.Thread(target=run, args=("batch", "batch", 5))
            batch.start()
            time.sleep(0.2)
            interactive = threading.Thread(target=run, args=("interactive", "interactive", 5))
            interactive.start()
            for t in (blocker, batch, interactive):
                t.join(120)
            self.assertEqual(order, ["blocker", "interactive", "batch"])
            with d.client() as c:
                bad = chat(c, "x", 1, priority="urgent")
                self.assertEqual(bad.status_code, 400)
            d.stop()


if __name__ == "__main__":
    unittest.main()
