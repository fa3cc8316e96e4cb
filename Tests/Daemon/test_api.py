"""The HTTP API over a live socket: curl, the official openai and ollama packages, bad input."""
import json
import re
import socket
import subprocess
import sys
import threading
import time
import unittest

import httpx
import ollama
import openai

from daemon import QWEN, SMOL, Daemon, raw_request, sse_events

MODEL = "smollm2-135m-instruct"


class APITest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.daemon = Daemon("--ctx", "1024", env={"EDGELM_MAX_BODY_BYTES": "65536"}, models=(SMOL, QWEN))
        cls.http = cls.daemon.client()

    @classmethod
    def tearDownClass(cls):
        cls.http.close()
        cls.daemon.stop()

    def openai(self):
        return openai.OpenAI(base_url="http://localhost/v1", api_key="unused",
                             http_client=httpx.Client(transport=httpx.HTTPTransport(uds=self.daemon.socket)))

    def ollama(self):
        return ollama.Client(host="http://localhost", transport=httpx.HTTPTransport(uds=self.daemon.socket))

    def assert_error(self, response, status, *words):
        self.assertEqual(response.status_code, status, response.text)
        body = response.json()
        message = body["error"]["message"]
        for w in words:
            self.assertIn(w, message)
        self.assertIn("type", body["error"])
        self.assertIn("code", body["error"])
        return message

    def assert_still_serving(self):
        r = self.http.post("/v1/chat/completions", json={"messages": [{"role": "user", "content": "hi"}], "max_tokens": 2})
        self.assertEqual(r.status_code, 200, r.text)

    # MARK: clients

    def test_curl_streams_chat(self):
        out = subprocess.run(
            ["curl", "-sN", "--unix-socket", self.daemon.socket, "http://localhost/v1/chat/completions", "-d",
             json.dumps({"model": MODEL, "messages": [{"role": "user", "content": "hi"}], "stream": True, "max_tokens": 6})],
            capture_output=True, text=True, timeout=60, check=True).stdout
        events, done = sse_events(out.splitlines())
        self.assertTrue(done, out)
        self.assertEqual(events[0]["choices"][0]["delta"]["role"], "assistant")
        self.assertEqual(events[-1]["choices"][0]["finish_reason"], "length")
        text = "".join(e["choices"][0]["delta"].get("content") or "" for e in events)
        self.assertTrue(text.strip(), out)

    def test_openai_chat_non_streaming_and_streaming_agree(self):
        client = self.openai()
        messages = [{"role": "user", "content": "Name a colour."}]
        full = client.chat.completions.create(model=MODEL, messages=messages, max_tokens=12, temperature=0)
        self.assertEqual(full.object, "chat.completion")
        self.assertEqual(full.choices[0].finish_reason, "length")
        self.assertEqual(full.usage.completion_tokens, 12)
        self.assertEqual(full.usage.total_tokens, full.usage.prompt_tokens + 12)
        chunks = list(client.chat.completions.create(model=MODEL, messages=messages, max_tokens=12, temperature=0,
                                                     stream=True, stream_options={"include_usage": True}))
        streamed = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        self.assertEqual(streamed, full.choices[0].message.content)
        self.assertEqual([c.choices[0].finish_reason for c in chunks if c.choices][-1], "length")
        self.assertEqual(chunks[-1].choices, [])
        self.assertEqual(chunks[-1].usage.completion_tokens, 12)

    def test_openai_logprobs_stop_and_seed(self):
        client = self.openai()
        r = client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "Count: 1, 2, 3,"}],
                                           max_tokens=8, temperature=0, logprobs=True, top_logprobs=3)
        items = r.choices[0].logprobs.content
        self.assertEqual(len(items), 8)
        for item in items:
            self.assertEqual(len(item.top_logprobs), 3)
            self.assertLessEqual(item.logprob, 0)
            # Greedy: the chosen token is the most likely one.
            self.assertAlmostEqual(item.logprob, item.top_logprobs[0].logprob, places=6)
        # A stop string ends generation without being printed.
        text = r.choices[0].message.content
        stop = text.strip()[:1]
        r2 = client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "Count: 1, 2, 3,"}],
                                            max_tokens=8, temperature=0, stop=[stop])
        self.assertEqual(r2.choices[0].finish_reason, "stop")
        self.assertNotIn(stop, r2.choices[0].message.content)
        # The same seed gives the same sampled text.
        kw = dict(model=MODEL, messages=[{"role": "user", "content": "Tell me a story."}], max_tokens=16, temperature=1.0,
                  top_p=0.9, seed=42)
        self.assertEqual(client.chat.completions.create(**kw).choices[0].message.content,
                         client.chat.completions.create(**kw).choices[0].message.content)

    def test_openai_completions(self):
        client = self.openai()
        r = client.completions.create(model=MODEL, prompt="The capital of France is", max_tokens=4, temperature=0,
                                      logprobs=2)
        self.assertEqual(r.object, "text_completion")
        self.assertEqual(len(r.choices[0].logprobs.tokens), 4)
        self.assertEqual("".join(r.choices[0].logprobs.tokens), r.choices[0].text)
        streamed = "".join(c.choices[0].text for c in client.completions.create(
            model=MODEL, prompt="The capital of France is", max_tokens=4, temperature=0, stream=True) if c.choices)
        self.assertEqual(streamed, r.choices[0].text)
        models = [m.id for m in client.models.list()]
        self.assertIn(MODEL, models)

    def test_follow_up_turn_reuses_the_prefix(self):
        client = self.openai()
        first = [{"role": "user", "content": "Remember the number 7. Reply with OK."}]
        r1 = client.chat.completions.create(model=MODEL, messages=first, max_tokens=4, temperature=0)
        second = first + [{"role": "assistant", "content": r1.choices[0].message.content},
                          {"role": "user", "content": "Which number?"}]
        r2 = client.chat.completions.create(model=MODEL, messages=second, max_tokens=4, temperature=0)
        cached = r2.usage.prompt_tokens_details.cached_tokens
        self.assertGreaterEqual(cached, r1.usage.prompt_tokens, (r1.usage, r2.usage))
        self.assertLess(cached, r2.usage.prompt_tokens)

    def test_ollama_client(self):
        client = self.ollama()
        r = client.chat(model=MODEL, messages=[{"role": "user", "content": "hi"}], options={"num_predict": 6, "temperature": 0})
        self.assertTrue(r.done)
        self.assertEqual(r.done_reason, "length")
        self.assertEqual(r.eval_count, 6)
        self.assertGreater(r.prompt_eval_count, 0)
        self.assertGreater(r.total_duration, 0)
        parts = list(client.generate(model=MODEL, prompt="Count to three", stream=True, options={"num_predict": 6, "temperature": 0}))
        self.assertTrue(parts[-1].done)
        self.assertFalse(any(p.done for p in parts[:-1]))
        whole = client.generate(model=MODEL, prompt="Count to three", stream=False, options={"num_predict": 6, "temperature": 0})
        self.assertEqual("".join(p.response for p in parts), whole.response)
        names = [m.model for m in client.list().models]
        self.assertIn(MODEL, names)
        self.assertIn(MODEL, [m.model for m in client.ps().models])
        details = client.show(MODEL).details
        self.assertEqual(details.family, "llama")
        self.assertEqual(details.quantization_level, "Q4_1")
        self.assertEqual(self.http.get("/api/version").json()["version"], "0.1.0")

    def test_ollama_keep_alive_loads_and_unloads(self):
        client = self.ollama()
        r = self.http.post("/api/generate", json={"model": "qwen2.5-coder-0.5b-instruct", "keep_alive": 0})
        self.assertEqual(r.status_code, 200, r.text)
        self.assertNotIn("qwen2.5-coder-0.5b-instruct", [m.model for m in client.ps().models])
        r = self.http.post("/api/generate", json={"model": "qwen2.5-coder-0.5b-instruct"})
        self.assertEqual(r.json()["done_reason"], "load")
        self.assertIn("qwen2.5-coder-0.5b-instruct", [m.model for m in client.ps().models])
        r = self.http.post("/api/generate", json={"model": "qwen2.5-coder-0.5b-instruct", "keep_alive": 0})
        self.assertEqual(r.json()["done_reason"], "unload")
        self.assertNotIn("qwen2.5-coder-0.5b-instruct", [m.model for m in client.ps().models])

    def test_native_routes(self):
        r = self.http.get("/health")
        self.assertEqual(r.status_code, 200)
        info = self.http.get("/edgelm/v1/info").json()
        self.assertIn(info["kernels"], ["scalar", "avx2", "avx512", "neon", "neon+dotprod"])
        self.assertEqual(info["slots"], 4)
        self.assertGreater(info["memory_budget_bytes"], 0)
        self.assertIn(MODEL, [m["name"] for m in info["loaded"]])
        self.http.post("/v1/chat/completions", json={"messages": [{"role": "user", "content": "hi"}], "max_tokens": 2})
        metrics = self.http.get("/metrics").text
        for name in ["edgelm_generated_tokens_total", "edgelm_prompt_tokens_total", "edgelm_time_to_first_token_seconds_bucket",
                     "edgelm_inter_token_latency_seconds_bucket", "edgelm_queue_depth", "edgelm_decode_batch_size",
                     "edgelm_model_load_seconds", "edgelm_model_resident_bytes", "hb_requests"]:
            self.assertIn(name, metrics)
        self.assertRegex(metrics, r'hb_requests\{[^}]*http_route="/v1/chat/completions"[^}]*http_response_status_code="200"')

    # MARK: bad input

    def test_malformed_json(self):
        r = self.http.post("/v1/chat/completions", content=b'{"messages": [', headers={"Content-Type": "application/json"})
        self.assert_error(r, 400, "malformed JSON")
        self.assert_still_serving()

    def test_wrong_field_types(self):
        r = self.http.post("/v1/chat/completions", json={"messages": [{"role": "user", "content": "hi"}], "max_tokens": "ten"})
        self.assert_error(r, 400, "max_tokens", "integer")
        r = self.http.post("/v1/chat/completions", json={"messages": "hi"})
        self.assert_error(r, 400, "messages")
        r = self.http.post("/api/chat", json={"model": MODEL, "messages": [{"role": "user", "content": "hi"}], "options": {"temperature": "hot"}})
        self.assert_error(r, 400, "options.temperature")
        self.assert_still_serving()

    def test_unknown_model(self):
        r = self.http.post("/v1/chat/completions", json={"model": "gpt-17", "messages": [{"role": "user", "content": "hi"}]})
        self.assert_error(r, 404, "gpt-17", MODEL)

    def test_empty_messages_and_bad_roles(self):
        self.assert_error(self.http.post("/v1/chat/completions", json={"messages": []}), 400, "messages is empty")
        self.assert_error(self.http.post("/v1/chat/completions", json={"messages": [{"role": "wizard", "content": "x"}]}),
                          400, "role", "wizard")

    def test_max_tokens_negative_or_huge(self):
        m = [{"role": "user", "content": "hi"}]
        self.assert_error(self.http.post("/v1/chat/completions", json={"messages": m, "max_tokens": -1}), 400, "max_tokens", "-1")
        self.assert_error(self.http.post("/v1/chat/completions", json={"messages": m, "max_tokens": 10**9}), 400, "max_tokens", "1024")
        self.assert_error(self.http.post("/v1/chat/completions", json={"messages": m, "temperature": -2}), 400, "temperature")

    def test_prompt_longer_than_context(self):
        long = "word " * 3000
        msg = self.assert_error(self.http.post("/v1/completions", json={"prompt": long, "max_tokens": 1}), 400, "1024")
        self.assertRegex(msg, r"prompt has \d{4} tokens")
        self.assert_still_serving()

    def test_unsupported_fields_are_refused_not_ignored(self):
        m = [{"role": "user", "content": "hi"}]
        tools = [{"type": "function", "function": {"name": "f", "parameters": {}}}]
        self.assert_error(self.http.post("/v1/chat/completions", json={"messages": m, "tools": tools}), 400, "tools")
        self.assert_error(self.http.post("/v1/chat/completions", json={"messages": m, "response_format": {"type": "json_object"}}),
                          400, "response_format", "json_object")
        self.assert_error(self.http.post("/v1/chat/completions", json={"messages": m, "n": 3}), 400, "n = 3")

    def test_body_over_the_limit(self):
        r = self.http.post("/v1/completions", content=b'{"prompt": "' + b"a" * 70000 + b'"}')
        self.assert_error(r, 413, "65536")
        self.assert_still_serving()

    def test_header_flood(self):
        headers = "".join(f"X-Flood-{i}: {'v' * 100}\r\n" for i in range(400))
        data = raw_request(self.daemon.socket, f"GET /health HTTP/1.1\r\nHost: x\r\n{headers}\r\n".encode())
        self.assertFalse(data.startswith(b"HTTP/1.1 200"), data[:200])
        self.assert_still_serving()

    def test_content_length_with_transfer_encoding(self):
        body = b'{"messages":[{"role":"user","content":"hi"}],"max_tokens":1}'
        request = (b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: " + str(len(body)).encode() +
                   b"\r\nTransfer-Encoding: chunked\r\n\r\n" + hex(len(body))[2:].encode() + b"\r\n" + body + b"\r\n0\r\n\r\n")
        data = raw_request(self.daemon.socket, request)
        self.assertTrue(data.startswith(b"HTTP/1.1 400"), data[:200])
        self.assertNotIn(b"chat.completion", data)
        self.assert_still_serving()

    def test_disconnect_cancels_generation(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(self.daemon.socket)
        body = json.dumps({"messages": [{"role": "user", "content": "Write a long essay."}], "max_tokens": 900,
                           "stream": True}).encode()
        s.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
        got = b""
        while got.count(b"data: ") < 3:
            got += s.recv(4096)
        s.close()
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            info = self.http.get("/edgelm/v1/info").json()
            if all(m["active_sequences"] == 0 for m in info["loaded"]):
                break
            time.sleep(0.05)
        self.assertTrue(all(m["active_sequences"] == 0 for m in info["loaded"]), info)

    def test_client_that_reads_nothing(self):
        # A streaming client that never reads: once its buffers fill, the daemon pauses its sequence
        # (still active, but no more tokens are generated for it), keeps serving others, and frees
        # the slot when the client goes away. Counting at temperature 0 never ends by itself within
        # the token budget, so only the pause can stop it. Its own daemon, so that the generated-
        # tokens counter counts this sequence alone.
        with Daemon("--ctx", "4096") as d, d.client() as http:
            def generated():
                m = re.search(r"^edgelm_generated_tokens_total(?:\{[^}]*\})? (\S+)$", http.get("/metrics").text, re.M)
                return float(m.group(1)) if m else 0.0

            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            s.connect(d.socket)
            body = json.dumps({"prompt": "1, 2, 3, 4, 5, 6, 7, 8, 9, 10,", "max_tokens": 3500, "temperature": 0,
                               "stream": True, "logprobs": 5}).encode()
            s.sendall(b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
            paused, last, deadline = None, None, time.monotonic() + 60
            while paused is None and time.monotonic() < deadline:
                time.sleep(1)
                active = any(m["active_sequences"] >= 1 for m in http.get("/edgelm/v1/info").json()["loaded"])
                now = generated()
                self.assertTrue(active or now == 0, f"the sequence ended after {now:.0f} tokens instead of pausing")
                if active and now > 0 and now == last:
                    paused = now
                last = now
            self.assertIsNotNone(paused, f"still generating after 60 s ({last:.0f} tokens)")
            print(f"  unread stream paused after {paused:.0f} tokens", file=sys.stderr)
            r = http.post("/v1/chat/completions", json={"messages": [{"role": "user", "content": "hi"}], "max_tokens": 4})
            self.assertEqual(r.status_code, 200, r.text)
            s.close()
            info, deadline = None, time.monotonic() + 10
            while time.monotonic() < deadline:
                info = http.get("/edgelm/v1/info").json()
                if all(m["active_sequences"] == 0 for m in info["loaded"]):
                    break
                time.sleep(0.1)
            self.assertTrue(all(m["active_sequences"] == 0 for m in info["loaded"]), info)


class ConnectionLimitTest(unittest.TestCase):
    def test_idle_connections_are_capped_and_timed_out(self):
        with Daemon(env={"EDGELM_MAX_CONNECTIONS": "50", "EDGELM_IDLE_TIMEOUT": "2"}) as d:
            sockets = []
            for _ in range(300):
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                s.connect(d.socket)
                sockets.append(s)
            time.sleep(0.5)
            # Beyond the cap, connections are closed at once: a read returns EOF.
            closed = 0
            for s in sockets:
                s.settimeout(0.01)
                try:
                    if s.recv(1) == b"":
                        closed += 1
                except socket.timeout:
                    pass
            self.assertGreaterEqual(closed, 240, "connections beyond the cap of 50 should be closed")
            for s in sockets:
                s.close()
            # The idle ones inside the cap were closed by the idle timeout; the daemon still serves.
            idle = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            idle.connect(d.socket)
            idle.settimeout(6)
            start = time.monotonic()
            self.assertEqual(idle.recv(1), b"")
            self.assertLess(time.monotonic() - start, 5.5)
            with d.client() as c:
                self.assertEqual(c.get("/health").status_code, 200)
            d.stop()


if __name__ == "__main__":
    unittest.main()
