"""Starts edgelmd for a test and talks to it over its Unix socket."""
import json
import os
import signal
import socket
import subprocess
import tempfile
import threading
import time

import httpx

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.environ.get("EDGELMD", os.path.join(ROOT, ".build", "release", "edgelmd"))
MODELS = os.environ.get("EDGELM_MODELS", os.path.expanduser("~/.cache/edgelm/models"))
SMOL = os.path.join(MODELS, "SmolLM2-135M-Instruct.Q4_1.gguf")
QWEN = os.path.join(MODELS, "qwen2.5-coder-0.5b-instruct.gguf")


class NotifyListener:
    """A test-owned NOTIFY_SOCKET: collects every datagram the daemon sends, with its time."""

    def __init__(self, directory):
        self.path = os.path.join(directory, "notify.sock")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.sock.settimeout(0.2)
        self.messages = []  # (monotonic time, {key: value})
        self.lock = threading.Lock()
        self.running = True
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while self.running:
            try:
                data = self.sock.recv(4096)
            except socket.timeout:
                continue
            except OSError:
                return
            fields = dict(line.split("=", 1) for line in data.decode().split("\n") if "=" in line)
            with self.lock:
                self.messages.append((time.monotonic(), fields))

    def snapshot(self):
        with self.lock:
            return list(self.messages)

    def wait_for(self, key, value=None, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for t, m in self.snapshot():
                if key in m and (value is None or m[key] == value):
                    return t, m
            time.sleep(0.05)
        raise AssertionError(f"no {key}={value} notification within {timeout}s; got {self.snapshot()}")

    def times(self, key):
        return [t for t, m in self.snapshot() if key in m]

    def close(self):
        self.running = False
        self.sock.close()


class Daemon:
    """edgelmd on a socket in a scratch directory; stopped with SIGTERM at the end."""

    def __init__(self, *args, env=None, notify=False, activate=False, wait_ready=True, models=(SMOL,)):
        self.dir = tempfile.mkdtemp(prefix="edgelmd-test-")
        self.socket = os.path.join(self.dir, "edgelm.sock")
        self.log_path = os.path.join(self.dir, "edgelmd.log")
        self.notify = NotifyListener(self.dir) if notify else None
        environment = dict(os.environ)
        environment.pop("NOTIFY_SOCKET", None)
        environment.update(env or {})
        if self.notify:
            environment["NOTIFY_SOCKET"] = self.notify.path
        command = [BIN, "--socket", self.socket, "--test-hooks"]
        if "--threads" not in args:
            command += ["--threads", "2"]
        for m in models:
            command += ["--model", m]
        command += list(args)
        if activate:
            command = ["systemd-socket-activate", "-l", self.socket, "--fdname=api"] + command
        self.log = open(self.log_path, "w")
        self.process = subprocess.Popen(command, env=environment, stdout=self.log, stderr=subprocess.STDOUT)
        if activate:
            # systemd-socket-activate starts the daemon on the first connection.
            deadline = time.monotonic() + 10
            while not os.path.exists(self.socket) and time.monotonic() < deadline:
                time.sleep(0.05)
        if wait_ready:
            self.wait_ready()

    def wait_ready(self, timeout=120):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"edgelmd exited with {self.process.returncode}:\n{self.output()}")
            try:
                r = self.client(timeout=5).get("/health")
                if r.status_code == 200 or "no model" in r.text or "failed to load" in r.text:
                    return
            except (httpx.TransportError, OSError):
                pass
            time.sleep(0.1)
        raise AssertionError(f"edgelmd not ready within {timeout}s:\n{self.output()}")

    def client(self, timeout=120):
        return httpx.Client(base_url="http://localhost", transport=httpx.HTTPTransport(uds=self.socket), timeout=timeout)

    def output(self):
        self.log.flush()
        with open(self.log_path) as f:
            return f.read()

    def stop(self, expect_code=0, timeout=60):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=timeout)
        if self.notify:
            self.notify.close()
        if expect_code is not None and code != expect_code:
            raise AssertionError(f"edgelmd exited with {code}, expected {expect_code}:\n{self.output()}")
        return code

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        if self.notify:
            self.notify.close()


def sse_events(lines):
    """The JSON payloads of an SSE stream, and whether it ended with [DONE]."""
    events, done = [], False
    for line in lines:
        if not line.startswith("data: "):
            continue
        payload = line[len("data: "):]
        if payload == "[DONE]":
            done = True
        else:
            events.append(json.loads(payload))
    return events, done


def raw_request(path, request_bytes, read_timeout=5):
    """Sends bytes on a fresh connection; returns everything read until close or timeout."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    s.sendall(request_bytes)
    s.settimeout(read_timeout)
    data = b""
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    except socket.timeout:
        pass
    s.close()
    return data
