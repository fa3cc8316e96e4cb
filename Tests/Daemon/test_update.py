"""Over-the-air updates end to end: a signed channel on a real nginx, `edgelm pull` staging new
versions, edgelmd switching to them after a health check, rollbacks, and crashes (SIGKILL through
EDGELM_FAULT) at every step of the way."""
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
import unittest

from channel import EDGELM, Channel, Nginx, edgelm, model_files, sha256, variant
from daemon import SMOL, Daemon, NotifyListener
import synthetic

NAME = "smollm2-135m-instruct"
PROMPT = "The capital of France is"


def greedy(gguf, prompt=PROMPT, tokens=6):
    """What the model answers to the golden prompt, as the publisher computes it."""
    run = edgelm("run", "--model", gguf, "--raw", "--temperature", "0", "--max-tokens", str(tokens),
                 "--prompt", prompt, "--threads", "2")
    assert run.returncode == 0, run.stderr
    return run.stdout.strip()


@unittest.skipUnless(os.path.exists(SMOL), f"the real model {SMOL} is missing (make models fetches it)")
class UpdateTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="edgelm-update-")
        cls.v1 = variant(SMOL, os.path.join(cls.dir, "v1.gguf"), 1)
        cls.v2 = variant(SMOL, os.path.join(cls.dir, "v2.gguf"), 2)
        cls.v3 = variant(SMOL, os.path.join(cls.dir, "v3.gguf"), 3)
        cls.expect = greedy(cls.v2)
        assert cls.expect, "the golden prompt produced no text"

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)

    def setUp(self):
        self.work = tempfile.mkdtemp(prefix="case-", dir=self.dir)
        self.store = os.path.join(self.work, "store")
        self.channel = Channel(self.work)
        self.nginx = Nginx(self.channel.path, os.path.join(self.work, "nginx"))
        self.daemon = None
        self.name = NAME

    def tearDown(self):
        if self.daemon:
            self.daemon.__exit__()
        self.nginx.stop()
        shutil.rmtree(self.work, ignore_errors=True)

    # --- helpers -------------------------------------------------------------------------------

    def start_daemon(self, env=None, notify=False):
        self.daemon = Daemon("--store", self.store, models=(), env=env, notify=notify)
        return self.daemon

    def pull(self, env=None, daemon=True):
        args = ["pull", self.name, "--store", self.store, "--channel", self.nginx.url, "--trust", self.channel.trust, "--quiet"]
        args += ["--daemon", self.daemon.socket] if daemon else ["--no-daemon"]
        return edgelm(*args, env=env)

    def served(self):
        """(store version, sha256) of the file edgelmd serves for NAME."""
        info = self.daemon.client().get("/edgelm/v1/info").json()
        entry = next((s for s in info["served"] if s["name"] == self.name), None)
        self.assertIsNotNone(entry, f"edgelmd serves no {self.name}: {info}")
        return entry["store_version"], sha256(entry["path"])

    def assert_serves(self, version, gguf):
        self.assertEqual(self.served(), (version, sha256(gguf)))
        r = self.daemon.client().post("/v1/completions", json={"model": self.name, "prompt": PROMPT, "max_tokens": 3,
                                                               "temperature": 0})
        self.assertEqual(r.status_code, 200, r.text)
        self.assertGreater(r.json()["usage"]["completion_tokens"], 0)

    def assert_store_verified(self):
        """Outside staging, every model file is one the signed metadata names, and no trial is left."""
        signed = self.channel.hashes()
        for path in model_files(self.store):
            self.assertIn(sha256(path), signed, f"{path} is not in the signed metadata")
        trial = os.path.join(self.store, "trial")
        self.assertEqual(os.listdir(trial) if os.path.isdir(trial) else [], [], "a trial was left pending")

    def install_v1_and_publish_v2(self, health=None):
        self.channel.pack(self.v1, NAME, 1)
        self.channel.publish()
        run = self.pull()
        self.assertEqual(run.returncode, 0, run.stderr)
        self.channel.pack(self.v2, NAME, 2)
        self.channel.publish(health=health or (PROMPT, self.expect))

    # --- the whole life of a model -------------------------------------------------------------

    def test_publish_pull_serve_update_rollback_real_model(self):
        self.lifecycle(self.v1, self.v2, self.v3, self.expect, running_request=True)

    def test_publish_pull_serve_update_rollback_synthetic_model(self):
        self.name = "synthetic-tiny"
        models = [synthetic.write(os.path.join(self.work, f"s{i}.gguf"), seed=i) for i in (1, 2, 3)]
        # The golden answer is whatever the random weights say, when it is printable text.
        answer = greedy(models[1])
        self.lifecycle(*models, answer if answer.isprintable() and len(answer) >= 2 else None)

    def start_stream(self, tokens):
        """A streaming completion that counts (temperature 0 keeps it going); returns its thread
        once the first token has arrived, with `result` filled in when it ends."""
        started = threading.Event()

        def run():
            with self.daemon.client() as c, c.stream("POST", "/v1/completions", json={
                    "model": self.name, "prompt": "1, 2, 3, 4, 5, 6, 7, 8, 9, 10,", "max_tokens": tokens,
                    "temperature": 0, "stream": True, "stream_options": {"include_usage": True}}) as r:
                for line in r.iter_lines():
                    if not line.startswith("data: {"):
                        continue
                    event = json.loads(line[6:])
                    started.set()
                    if event.get("usage"):
                        thread.result["tokens"] = event["usage"]["completion_tokens"]
                    elif event.get("choices") and event["choices"][0].get("finish_reason"):
                        thread.result["finish_reason"] = event["choices"][0]["finish_reason"]
            started.set()

        thread = threading.Thread(target=run)
        thread.result = {}
        thread.start()
        self.assertTrue(started.wait(30), "the stream never started")
        return thread

    def lifecycle(self, v1, v2, v3, expect, running_request=False):
        d = self.start_daemon(notify=True)
        self.assertEqual(d.client().get("/health").status_code, 503)

        self.channel.pack(v1, self.name, 1)
        self.channel.publish()
        run = self.pull()
        self.assertEqual(run.returncode, 0, run.stderr)
        self.assertIn(f"edgelmd serves {self.name}:1", run.stdout)
        self.assert_serves(1, v1)
        self.assertEqual(d.client().get("/health").status_code, 200)

        self.channel.pack(v2, self.name, 2)
        self.channel.publish(health=(PROMPT, expect) if expect else None)
        run = self.pull()
        self.assertEqual(run.returncode, 0, run.stderr)
        self.assertIn(f"edgelmd serves {self.name}:2 (health check: {'passed' if expect else 'load only'}", run.stdout)
        self.assert_serves(2, v2)
        # The swap told systemd: RELOADING=1, then READY=1 again.
        messages = [m for _, m in d.notify.snapshot()]
        reloading = [i for i, m in enumerate(messages) if "RELOADING" in m]
        self.assertTrue(reloading, messages)
        self.assertTrue(any("READY" in m for m in messages[reloading[-1]:]), messages)
        # The previous version is kept as an archive only.
        self.assertFalse(os.path.exists(os.path.join(self.store, "models", self.name, "1.gguf")))

        if running_request:
            # A request running across the switch finishes on the file it started on.
            stream = self.start_stream(tokens=300)
            run = edgelm("rollback", self.name, "--store", self.store, "--daemon", d.socket)
            self.assertEqual(run.returncode, 0, run.stderr)
            self.assertIn("1 running request finishing on it", run.stdout)
            stream.join(60)
            self.assertEqual(stream.result.get("finish_reason"), "length", stream.result)
            self.assertEqual(stream.result.get("tokens"), 300, stream.result)
        else:
            run = edgelm("rollback", self.name, "--store", self.store, "--daemon", d.socket)
            self.assertEqual(run.returncode, 0, run.stderr)
        self.assert_serves(1, v1)

        # A version that fails its health check never serves: the daemon rolls back by itself.
        self.channel.pack(v3, self.name, 3)
        self.channel.publish(health=(PROMPT, "an answer this model never gives"))
        run = self.pull()
        self.assertNotEqual(run.returncode, 0)
        self.assertIn("health check", run.stderr)
        self.assert_serves(1, v1)
        self.assert_store_verified()
        metrics = d.client().get("/metrics").text
        self.assertIn('edgelm_model_activations_total{result="rolled_back"} 1', metrics)
        d.stop()

    def test_tampered_archive_is_refused_while_the_old_model_serves(self):
        self.start_daemon()
        self.install_v1_and_publish_v2()
        archive = os.path.join(self.channel.path, next(m["archive"] for m in self.channel.models() if m["version"] == 2))
        with open(archive, "r+b") as f:
            f.seek(os.path.getsize(archive) // 2)
            byte = f.read(1)
            f.seek(-1, os.SEEK_CUR)
            f.write(bytes([byte[0] ^ 0x01]))
        run = self.pull()
        self.assertNotEqual(run.returncode, 0)
        self.assertIn("sha256", run.stderr)
        self.assert_serves(1, self.v1)
        self.assert_store_verified()

    def test_trace_orders_fsync_rename_fsync_then_flip(self):
        if not shutil.which("strace"):
            self.skipTest("strace is not installed (make setup installs it)")
        self.channel.pack(self.v1, NAME, 1)
        self.channel.publish()
        trace = os.path.join(self.work, "trace")
        run = subprocess.run(["strace", "-f", "-y", "-o", trace, "-e", "trace=fsync,fdatasync,rename,renameat2",
                              *self.pull_command(daemon=False)], capture_output=True, text=True)
        self.assertEqual(run.returncode, 0, run.stderr)
        lines = [line for line in open(trace) if "fsync" in line or "rename" in line]
        gguf = os.path.join(self.store, "models", NAME, "1.gguf")
        pointer = os.path.join(self.store, "active", NAME)

        def index(predicate, after=-1):
            for i, line in enumerate(lines):
                if i > after and predicate(line):
                    return i
            self.fail("missing step after line %d in:\n%s" % (after, "".join(lines)))

        place = index(lambda l: "rename" in l and f'"{gguf}"' in l)
        staged = lines[place].split('"')[1]
        synced = index(lambda l: "fsync(" in l and f"<{staged}>" in l)
        self.assertLess(synced, place, "the GGUF was renamed before it was synced")
        dir_synced = index(lambda l: "fsync(" in l and f"<{os.path.dirname(gguf)}>" in l, after=place)
        flip = index(lambda l: "rename" in l and f'"{pointer}"' in l, after=dir_synced)
        self.assertGreater(flip, dir_synced)

    def test_pull_reports_progress_to_the_service_manager(self):
        # What edgelm-update.service shows in `systemctl status`: STATUS= lines on NOTIFY_SOCKET.
        self.channel.pack(self.v1, NAME, 1)
        self.channel.publish()
        listener = NotifyListener(self.work)
        try:
            run = self.pull(env={"NOTIFY_SOCKET": listener.path}, daemon=False)
            self.assertEqual(run.returncode, 0, run.stderr)
            time.sleep(0.3)  # datagrams already sent; let the listener thread read them
            statuses = [m["STATUS"] for _, m in listener.snapshot() if "STATUS" in m]
        finally:
            listener.close()
        self.assertEqual(statuses[0], f"checking the channel for {NAME}")
        self.assertTrue(any(s.startswith(f"downloading {NAME}: ") and s.endswith("(100%)") for s in statuses), statuses)
        self.assertTrue(statuses[-1].startswith(f"downloaded {NAME}:1"), statuses)

    def pull_command(self, daemon=True):
        args = [EDGELM, "pull", NAME, "--store", self.store, "--channel", self.nginx.url, "--trust", self.channel.trust,
                "--quiet"]
        return args + (["--daemon", self.daemon.socket] if daemon else ["--no-daemon"])

    # --- the update service ----------------------------------------------------------------------

    def update_config(self, socket):
        """The configuration edgelm-update.service reads, for this case's store and channel."""
        path = os.path.join(self.work, "edgelm.yaml")
        with open(path, "w") as f:
            f.write(f"store: {self.store}\nchannel: {self.nginx.url}\ntrust: {self.channel.trust}\n"
                    f"models:\n  - {NAME}\ndaemon_socket: {socket}\n")
        return path

    def store_writes(self, trace):
        """Calls of a traced process that wrote, renamed, removed, created or changed the mode of
        paths under the store: (those outside its staging area, how many inside)."""
        staging = os.path.join(self.store, "staging")
        found, inside_staging = [], 0
        for line in open(trace):
            if " = -1 " in line or "(" not in line:
                continue
            call = line.split("(", 1)[0].split()[-1]
            paths = [p for p in line.split('"')[1::2] if p.startswith("/")]
            if call in ("openat", "open"):
                if not any(flag in line for flag in ("O_WRONLY", "O_RDWR", "O_CREAT", "O_TRUNC")):
                    continue
                paths = paths[:1]
            for p in paths:
                inside = p == self.store or p.startswith(self.store + "/")
                if inside and not (p == staging or p.startswith(staging + "/")):
                    found.append(line.strip())
                elif inside:
                    inside_staging += 1
        return found, inside_staging

    def test_update_service_writes_only_staging_and_reports_progress_to_the_daemon(self):
        if not shutil.which("strace"):
            self.skipTest("strace is not installed (make setup installs it)")
        d = self.start_daemon()
        self.install_v1_and_publish_v2()
        events, done = [], threading.Event()

        def subscribe():
            with d.client() as c, c.stream("GET", "/edgelm/v1/events") as r:
                for line in r.iter_lines():
                    if line.startswith("data: "):
                        events.append(json.loads(line[6:]))
                        # The first event is the latest one known (v1's switch); wait for v2's.
                        if events[-1]["phase"] in ("committed", "rolled_back") and events[-1].get("version") == 2:
                            break
            done.set()

        threading.Thread(target=subscribe, daemon=True).start()
        time.sleep(0.5)
        trace = os.path.join(self.work, "trace")
        run = subprocess.run(["strace", "-f", "-o", trace, "-e",
                              "trace=open,openat,rename,renameat,renameat2,unlink,unlinkat,mkdir,mkdirat,rmdir,"
                              "chmod,fchmodat,truncate,link,linkat,symlink,symlinkat",
                              EDGELM, "update", "--config", self.update_config(d.socket), "--quiet"],
                             capture_output=True, text=True)
        self.assertEqual(run.returncode, 0, run.stderr)
        self.assertIn(f"edgelmd serves {NAME}:2 (health check: passed", run.stdout)
        self.assert_serves(2, self.v2)
        self.assert_store_verified()
        outside, inside = self.store_writes(trace)
        self.assertEqual(outside, [], "the update wrote outside the staging area")
        self.assertGreater(inside, 10, "the trace shows the update's own writes")

        # The daemon saw the whole update: the service's steps, then its own.
        self.assertTrue(done.wait(30), f"no final event: {events}")
        self.assertEqual((events[0]["phase"], events[0]["version"]), ("committed", 1), "a subscriber starts with the latest")
        mine = [e for e in events[1:] if e.get("version") in (2, None) and e["time"]]
        phases = [e["phase"] for e in mine]
        order = ["checking", "downloading", "staged", "activating", "committed"]
        self.assertEqual([p for p in order if p in phases], order, phases)
        self.assertEqual(sorted(phases, key=order.index), phases, "out of order")
        archive_size = next(m["archive_size"] for m in self.channel.models() if m["version"] == 2)
        last = [e for e in mine if e["phase"] == "downloading"][-1]
        self.assertEqual((last["bytes"], last["total"]), (archive_size, archive_size))
        latest = d.client().get("/edgelm/v1/updates").json()["updates"]
        self.assertEqual([(e["model"], e["version"], e["phase"]) for e in latest], [(NAME, 2, "committed")])
        metrics = d.client().get("/metrics").text
        self.assertIn(f'edgelm_update_downloaded_bytes{{model="{NAME}"}} {archive_size}', metrics)
        self.assertIn('edgelm_update_events_total{phase="staged"}', metrics)

        # Reports are checked like any request: a made-up phase or impossible figures are refused.
        for bad, param in (({"phase": "committed"}, "phase"), ({"phase": "downloading", "bytes": 5, "total": 4}, "bytes")):
            r = d.client().post(f"/edgelm/v1/models/{NAME}/progress", json=bad)
            self.assertEqual(r.status_code, 400, r.text)
            self.assertEqual(r.json()["error"]["param"], param)
        d.stop()

    def test_a_version_staged_while_no_daemon_listens_is_switched_to_at_its_next_start(self):
        self.channel.pack(self.v1, NAME, 1)
        self.channel.publish()
        self.assertEqual(self.pull(daemon=False).returncode, 0)
        self.channel.pack(self.v2, NAME, 2)
        self.channel.publish(health=(PROMPT, self.expect))
        nobody = os.path.join(self.work, "nobody.sock")
        run = edgelm("update", "--config", self.update_config(nobody), "--quiet")
        self.assertEqual(run.returncode, 0, run.stderr)
        self.assertIn(f"{NAME}:2 is staged; edgelmd switches to it when it next starts", run.stdout)
        with open(os.path.join(self.store, "active", NAME)) as f:
            self.assertEqual(f.read().strip(), "1")
        self.assert_store_verified()

        # Killed while moving the staged version in (the archive in blobs/, the GGUF not yet
        # renamed): the next start serves v1, finishes the move and switches.
        self.daemon = Daemon("--store", self.store, models=(), env={"EDGELM_FAULT": "before-rename@2"}, wait_ready=False)
        self.assertEqual(self.daemon.process.wait(timeout=120), -9, self.daemon.output())
        self.daemon.__exit__()
        self.start_daemon()
        deadline = time.monotonic() + 120
        while self.served()[0] != 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        self.assert_serves(2, self.v2)
        self.assert_store_verified()
        self.assertEqual(os.listdir(os.path.join(self.store, "staging", "ready", NAME))
                         if os.path.isdir(os.path.join(self.store, "staging", "ready", NAME)) else [], [])
        self.assertIn("was staged while edgelmd was not running", self.daemon.output())
        self.daemon.stop()

    # --- crashes ----------------------------------------------------------------------------------

    def test_pull_killed_at_every_step_leaves_the_old_model_serving(self):
        self.start_daemon()
        self.install_v1_and_publish_v2()
        # Mid-download and mid-decompress first; then the n-th rename of a run, for growing n,
        # until a run gets through (each run resumes what the killed ones left).
        for step in ["download", "decompress"]:
            run = self.pull(env={"EDGELM_FAULT": step})
            self.assertEqual(run.returncode, -9, f"{step}: pull was not killed: {run.stdout} {run.stderr}")
            self.assert_serves(1, self.v1)
            self.assert_store_verified()
        killed = 0
        for n in range(1, 40):
            run = self.pull(env={"EDGELM_FAULT": f"before-rename@{n}"})
            if run.returncode == 0:
                break
            self.assertEqual(run.returncode, -9, f"before-rename@{n}: pull failed without being killed: {run.stderr}")
            killed += 1
            self.assert_serves(1, self.v1)
            self.assert_store_verified()
        self.assertEqual(run.returncode, 0, "pull never got past its crash points")
        # Trust state, archive, manifest and GGUF are each renamed into place.
        self.assertGreaterEqual(killed, 4)
        print(f"\n    pull killed at {killed} renames, then completed", end=" ")
        self.assert_serves(2, self.v2)
        self.assert_store_verified()

    def test_daemon_killed_during_a_switch_restarts_on_a_verified_model(self):
        # Stored: v1 (active), v2 (passes its check), v3 (fails it); switched without a daemon.
        for gguf, version, health in ((self.v1, 1, None), (self.v2, 2, (PROMPT, self.expect)),
                                      (self.v3, 3, (PROMPT, "an answer this model never gives"))):
            self.channel.pack(gguf, NAME, version)
            self.channel.publish(health=health)
            run = self.pull(daemon=False)
            self.assertEqual(run.returncode, 0, run.stderr)
        run = edgelm("activate", f"{NAME}:1", "--store", self.store, "--no-daemon")
        self.assertEqual(run.returncode, 0, run.stderr)

        for step, version in [("before-rename@1", 2), ("before-flip", 2), ("before-health", 2), ("commit", 2),
                              ("rollback", 3)]:
            self.start_daemon(env={"EDGELM_FAULT": step})
            run = edgelm("activate", f"{NAME}:{version}", "--store", self.store, "--daemon", self.daemon.socket)
            self.assertNotEqual(run.returncode, 0, f"{step}: the switch completed despite the fault")
            self.assertEqual(self.daemon.process.wait(timeout=60), -9, f"{step}: edgelmd was not killed")
            self.daemon.__exit__()
            self.start_daemon()
            self.assertIn(self.served()[1], self.channel.hashes())
            self.assert_serves(1, self.v1)
            self.assert_store_verified()
            self.daemon.stop()
        # After all that, a clean switch still works.
        self.start_daemon()
        run = edgelm("activate", f"{NAME}:2", "--store", self.store, "--daemon", self.daemon.socket)
        self.assertEqual(run.returncode, 0, run.stderr)
        self.assert_serves(2, self.v2)
        self.daemon.stop()


if __name__ == "__main__":
    unittest.main()
