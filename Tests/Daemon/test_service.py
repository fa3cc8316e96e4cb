"""The daemon as systemd sees it: readiness, status, watchdog, socket activation, shutdown."""
import json
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import unittest

from daemon import QWEN, SMOL, Daemon, sse_events


class NotifyTest(unittest.TestCase):
    def test_ready_after_warm_up_then_watchdog_and_stopping(self):
        with Daemon(notify=True, env={"WATCHDOG_USEC": "1000000"}) as d:
            ready_at, _ = d.notify.wait_for("READY", "1")
            statuses = [m["STATUS"] for _, m in d.notify.snapshot() if "STATUS" in m]
            self.assertTrue(any(s.startswith("loading") for s in statuses), statuses)
            self.assertTrue(any(s.startswith("ready") for s in statuses), statuses)
            # READY comes only after the model is mapped and warmed up.
            self.assertIn("model ready", d.output().split("status: ready")[0])
            time.sleep(2.5)
            pings = d.notify.times("WATCHDOG")
            self.assertGreaterEqual(len(pings), 4, "pings every half of WATCHDOG_USEC")
            self.assertLess(max(b - a for a, b in zip(pings, pings[1:])), 1.0)
            d.stop()
            d.notify.wait_for("STOPPING", "1", timeout=1)

    def test_wedged_engine_stops_the_watchdog(self):
        with Daemon(notify=True, env={"WATCHDOG_USEC": "1000000", "EDGELM_SHUTDOWN_GRACE": "1"}) as d:
            d.notify.wait_for("WATCHDOG", "1")
            with d.client() as c:
                self.assertEqual(c.post("/edgelm/v1/debug/wedge").status_code, 200)
            time.sleep(0.6)
            before = len(d.notify.times("WATCHDOG"))
            time.sleep(2.5)
            self.assertEqual(len(d.notify.times("WATCHDOG")), before, "no WATCHDOG=1 once the engine is wedged")
            d.stop()

    def test_long_prompt_does_not_starve_the_watchdog(self):
        with Daemon("--ctx", "4608", notify=True, env={"WATCHDOG_USEC": "8000000"}) as d:
            d.notify.wait_for("WATCHDOG", "1")
            prompt = " ".join(f"item{i}" for i in range(1060))  # about 4100 tokens
            start = time.monotonic()
            with d.client(timeout=600) as c:
                r = c.post("/v1/completions", json={"prompt": prompt, "max_tokens": 1})
            self.assertEqual(r.status_code, 200, r.text)
            self.assertGreaterEqual(r.json()["usage"]["prompt_tokens"], 4000)
            pings = [t for t in d.notify.times("WATCHDOG") if t >= start - 1]
            gaps = [b - a for a, b in zip(pings, pings[1:])]
            print(f"\n  4096-token prompt: {time.monotonic() - start:.1f} s, longest watchdog gap {max(gaps):.2f} s (timeout 8 s)")
            self.assertLess(max(gaps), 8.0)
            d.stop()

    def test_without_notify_socket_everything_is_a_no_op(self):
        with Daemon() as d:
            with d.client() as c:
                self.assertEqual(c.get("/health").status_code, 200)
            d.stop()


class SocketActivationTest(unittest.TestCase):
    @unittest.skipUnless(shutil.which("systemd-socket-activate"), "systemd-socket-activate is not installed")
    def test_serves_the_socket_systemd_passes(self):
        with Daemon(activate=True, wait_ready=False) as d:
            d.wait_ready()
            with d.client() as c:
                r = c.post("/v1/chat/completions", json={"messages": [{"role": "user", "content": "hi"}], "max_tokens": 3})
                self.assertEqual(r.status_code, 200, r.text)
            self.assertIn("listening on the socket passed by systemd", d.output())
            d.stop()


class StartupTest(unittest.TestCase):
    def test_no_model_installed_is_ready_and_says_why(self):
        empty = tempfile.mkdtemp(prefix="edgelm-no-models-")
        with Daemon("--model-dir", empty, models=(), notify=True) as d:
            d.notify.wait_for("READY", "1")
            d.notify.wait_for("STATUS", "no model installed")
            with d.client() as c:
                h = c.get("/health")
                self.assertEqual(h.status_code, 503)
                self.assertIn("no model installed", h.json()["reason"])
                r = c.post("/v1/chat/completions", json={"messages": [{"role": "user", "content": "hi"}]})
                self.assertEqual(r.status_code, 503)
                self.assertIn("--model", r.json()["error"]["message"])
                r = c.post("/api/chat", json={"model": "x", "messages": [{"role": "user", "content": "hi"}]})
                self.assertEqual(r.status_code, 503)
            d.stop()

    def test_check_config_names_the_bad_key(self):
        path = os.path.join(tempfile.mkdtemp(prefix="edgelm-config-"), "edgelmd.yaml")
        with open(path, "w") as f:
            f.write("slots: many\n")
        from daemon import BIN
        r = subprocess.run([BIN, "--config", path, "--check-config"], capture_output=True, text=True)
        self.assertEqual(r.returncode, 78, r.stderr)
        self.assertIn("'slots'", r.stderr)
        with open(path, "w") as f:
            f.write("slotz: 2\n")
        r = subprocess.run([BIN, "--config", path, "--check-config"], capture_output=True, text=True)
        self.assertIn("unknown key 'slotz'", r.stderr)
        with open(path, "w") as f:
            f.write(f"slots: 2\nmodels:\n  - path: {SMOL}\n    name: small\nmodel_dir: ''\n")
        r = subprocess.run([BIN, "--config", path, "--check-config"], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("default small", r.stdout)
        r = subprocess.run([BIN, "--config", path, "--check-config"], capture_output=True, text=True,
                           env=dict(os.environ, EDGELM_SLOTS="zero"))
        self.assertIn("EDGELM_SLOTS", r.stderr)
        os.remove(path)


class ModelManagementTest(unittest.TestCase):
    def test_a_model_that_does_not_fit_is_refused_with_507(self):
        with Daemon(notify=True, env={"EDGELM_MEMORY_RESERVE_MIB": "1048576"}) as d:
            d.notify.wait_for("READY", "1")
            with d.client() as c:
                h = c.get("/health")
                self.assertEqual(h.status_code, 503)
                self.assertIn("failed to load", h.json()["reason"])
                r = c.post("/v1/chat/completions", json={"messages": [{"role": "user", "content": "hi"}]})
                self.assertEqual(r.status_code, 507, r.text)
                self.assertRegex(r.json()["error"]["message"], r"needs \d+ MiB but only \d+ MiB are available")
            d.stop()

    def test_sighup_reloads_models_and_delete_removes_one(self):
        directory = tempfile.mkdtemp(prefix="edgelm-models-")
        os.symlink(SMOL, os.path.join(directory, "small.gguf"))
        config = os.path.join(directory, "edgelmd.yaml")
        with open(config, "w") as f:
            f.write(f"model_dir: {directory}\n")
        with Daemon("--config", config, models=(), notify=True) as d:
            d.notify.wait_for("READY", "1")
            with d.client() as c:
                self.assertEqual([m["id"] for m in c.get("/v1/models").json()["data"]], ["small"])
                with open(config, "w") as f:
                    f.write(f"model_dir: {directory}\nmodels:\n  - path: {QWEN}\n    name: coder\n")
                d.process.send_signal(1)
                d.notify.wait_for("RELOADING", "1")
                deadline = time.monotonic() + 10
                while time.monotonic() < deadline and len(c.get("/v1/models").json()["data"]) < 2:
                    time.sleep(0.1)
                self.assertEqual(sorted(m["id"] for m in c.get("/v1/models").json()["data"]), ["coder", "small"])
                # A model found in the model directory can be deleted; a configured file cannot.
                self.assertEqual(c.request("DELETE", "/api/delete", json={"model": "coder"}).status_code, 403)
                self.assertEqual(c.request("DELETE", "/api/delete", json={"model": "small"}).status_code, 200)
                self.assertFalse(os.path.lexists(os.path.join(directory, "small.gguf")))
                self.assertEqual([m["id"] for m in c.get("/v1/models").json()["data"]], ["coder"])
                self.assertEqual(c.request("DELETE", "/api/delete", json={"model": "small"}).status_code, 404)
            d.stop()
        shutil.rmtree(directory)

    def test_idle_models_unload_after_keep_alive_and_requests_time_out(self):
        with Daemon(models=(SMOL, QWEN), env={"EDGELM_KEEP_ALIVE": "1", "EDGELM_REQUEST_TIMEOUT": "2"}) as d:
            with d.client() as c:
                r = c.post("/v1/chat/completions", json={"model": "qwen2.5-coder-0.5b-instruct", "max_tokens": 2,
                                                         "messages": [{"role": "user", "content": "hi"}]})
                self.assertEqual(r.status_code, 200, r.text)
                loaded = lambda: [m["name"] for m in c.get("/edgelm/v1/info").json()["loaded"]]
                self.assertIn("qwen2.5-coder-0.5b-instruct", loaded())
                deadline = time.monotonic() + 10
                while time.monotonic() < deadline and "qwen2.5-coder-0.5b-instruct" in loaded():
                    time.sleep(0.2)
                # The idle model went away; the default model stays for as long as the daemon runs.
                self.assertEqual(loaded(), ["smollm2-135m-instruct"])
                # Greedy counting goes on far longer than 2 s.
                r = c.post("/v1/completions", json={"max_tokens": 3000, "temperature": 0,
                                                    "prompt": "1, 2, 3, 4, 5, 6, 7, 8, 9, 10,"})
                self.assertEqual(r.status_code, 504, r.text)
                self.assertIn("timed out after 2 s", r.json()["error"]["message"])
            d.stop()

    def test_prompts_reach_the_log_only_when_asked(self):
        secret = "purple-elephant-7431"
        for enabled in (False, True):
            with Daemon(env={"EDGELM_LOG_PROMPTS": "true" if enabled else "false"}) as d:
                with d.client() as c:
                    r = c.post("/v1/chat/completions", json={"messages": [{"role": "user", "content": secret}], "max_tokens": 2})
                    self.assertEqual(r.status_code, 200)
                d.stop()
                self.assertEqual(secret in d.output(), enabled, d.output()[-2000:])


class ShutdownTest(unittest.TestCase):
    def test_sigterm_lets_running_generations_finish(self):
        with Daemon(notify=True) as d:
            with d.client() as c:
                result = {}

                def stream():
                    with c.stream("POST", "/v1/chat/completions", json={
                            "messages": [{"role": "user", "content": "Write a poem."}], "max_tokens": 60,
                            "stream": True, "temperature": 0}) as r:
                        result["events"] = sse_events(r.iter_lines())

                t = threading.Thread(target=stream)
                t.start()
                time.sleep(0.3)
                d.process.send_signal(15)
                t.join(60)
                events, done = result["events"]
                self.assertTrue(done)
                self.assertEqual(events[-1]["choices"][0]["finish_reason"], "length")
            self.assertEqual(d.process.wait(30), 0)
            d.notify.wait_for("STOPPING", "1", timeout=1)

    def test_grace_period_ends_with_an_error_event(self):
        # Counting at temperature 0 runs far past the grace period; a free-form story could end first.
        with Daemon("--ctx", "4096", env={"EDGELM_SHUTDOWN_GRACE": "1"}) as d:
            with d.client() as c:
                result = {}

                def stream():
                    with c.stream("POST", "/v1/completions", json={
                            "prompt": "1, 2, 3, 4, 5, 6, 7, 8, 9, 10,", "max_tokens": 3000, "temperature": 0,
                            "stream": True}) as r:
                        result["lines"] = list(r.iter_lines())

                t = threading.Thread(target=stream)
                t.start()
                time.sleep(0.5)
                d.process.send_signal(15)
                t.join(60)
                events, _ = sse_events(result["lines"])
                self.assertIn("error", events[-1])
                self.assertIn("shutting down", events[-1]["error"]["message"])
            self.assertEqual(d.process.wait(30), 0)


class AccessTest(unittest.TestCase):
    def test_rules_refuse_with_403_naming_the_rule(self):
        path = os.path.join(tempfile.mkdtemp(prefix="edgelm-access-"), "edgelmd.yaml")
        with open(path, "w") as f:
            f.write("socket_mode: '0666'\naccess:\n  rules:\n    - models: [smollm2-135m-instruct]\n      users: [root]\n")
        with Daemon("--config", path) as d:
            os.chmod(d.dir, 0o755)

            def as_nobody(args):
                def drop():
                    os.setgid(65534)
                    os.setuid(65534)
                return subprocess.run(["curl", "-s", "-w", "\n%{http_code}", "--unix-socket", d.socket] + args,
                                      capture_output=True, text=True, preexec_fn=drop, timeout=60)
            body = json.dumps({"messages": [{"role": "user", "content": "hi"}], "max_tokens": 2})
            r = as_nobody(["http://localhost/v1/chat/completions", "-d", body])
            text, code = r.stdout.rsplit("\n", 1)
            self.assertEqual(code, "403", r.stdout)
            self.assertIn("access.rules[0]", json.loads(text)["error"]["message"])
            r = as_nobody(["-X", "POST", "http://localhost/edgelm/v1/models/smollm2-135m-instruct/unload"])
            self.assertTrue(r.stdout.endswith("403"), r.stdout)
            with d.client() as c:  # root is allowed
                self.assertEqual(c.post("/v1/chat/completions", content=body).status_code, 200)
            d.stop()
        os.remove(path)


if __name__ == "__main__":
    unittest.main()


class UserManagerTest(unittest.TestCase):
    """The shipped units under a real systemd user manager (see user-manager.sh)."""

    def test_socket_activation_restart_and_watchdog(self):
        if os.geteuid() != 0 or not shutil.which("unshare"):
            self.skipTest("needs root and unshare to run a private systemd user manager")
        from daemon import BIN
        script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "user-manager.sh")
        r = subprocess.run([script, BIN, SMOL], capture_output=True, text=True, timeout=600)
        print("\n" + "\n".join("  " + line for line in r.stdout.splitlines() if line.startswith("user-manager:")))
        self.assertEqual(r.returncode, 0, r.stdout[-3000:] + r.stderr[-2000:])
        self.assertIn("user-manager: passed", r.stdout)
