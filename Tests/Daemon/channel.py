"""A signed channel served by a real nginx, and a model store, for the update tests."""
import base64
import hashlib
import json
import os
import shutil
import socket
import subprocess
import time

from daemon import ROOT

EDGELM = os.environ.get("EDGELM", os.path.join(ROOT, ".build", "release", "edgelm"))
NGINX = "/usr/sbin/nginx"


def edgelm(*args, env=None, timeout=600):
    """Runs the edgelm CLI; returns the completed process (never raises on a non-zero exit)."""
    environment = dict(os.environ)
    environment.pop("EDGELM_FAULT", None)
    environment.update(env or {})
    return subprocess.run([EDGELM, *args], env=environment, capture_output=True, text=True, timeout=timeout)


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def variant(source, destination, tag):
    """A copy of a GGUF whose general.name differs in its first character: another file (another
    sha256) with the same weights, as a re-published model would be."""
    shutil.copyfile(source, destination)
    with open(destination, "r+b") as f:
        head = f.read(1 << 20)
        key = head.find(b"general.name")
        assert key > 0, f"{source} has no general.name"
        value = key + len(b"general.name") + 4 + 8  # value type (u32), string length (u64)
        f.seek(value)
        f.write(bytes([ord("A") + tag % 26]))
    return destination


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Nginx:
    """nginx serving `root` on a free loopback port until stop()."""

    def __init__(self, root, prefix):
        if not os.access(NGINX, os.X_OK):
            raise RuntimeError(f"nginx is not installed at {NGINX} (make setup installs nginx-light)")
        os.makedirs(prefix, exist_ok=True)
        self.port = free_port()
        conf = os.path.join(prefix, "nginx.conf")
        with open(conf, "w") as f:
            f.write(f"""daemon off;
master_process off;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log;
events {{}}
http {{
    access_log {prefix}/access.log;
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    server {{
        listen 127.0.0.1:{self.port};
        root {root};
    }}
}}
""")
        self.process = subprocess.Popen([NGINX, "-c", conf, "-p", prefix + "/"],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"nginx did not start: {open(os.path.join(prefix, 'error.log')).read()}")

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


class Channel:
    """The publisher's side: keys, archives, signed metadata."""

    def __init__(self, directory):
        self.dir = directory
        self.keys = os.path.join(directory, "keys")
        self.path = os.path.join(directory, "channel")
        os.makedirs(self.path)
        run = edgelm("keygen", "--out", self.keys)
        assert run.returncode == 0, run.stderr

    @property
    def trust(self):
        return os.path.join(self.path, "1.root.json")

    def pack(self, gguf, name, version):
        run = edgelm("pack", gguf, "--name", name, "--version", str(version), "--out", self.path, "--level", "3")
        assert run.returncode == 0, run.stderr

    def publish(self, health=None):
        args = ["publish", self.path, "--key", os.path.join(self.keys, "signing.key"),
                "--root-key", os.path.join(self.keys, "root.key"), "--expires", "30d"]
        if health:
            args += ["--health-prompt", health[0], "--health-expect", health[1]]
        run = edgelm(*args)
        assert run.returncode == 0, run.stderr

    def models(self):
        with open(os.path.join(self.path, "targets.json")) as f:
            envelope = json.load(f)
        return json.loads(base64.b64decode(envelope["payload"]))["models"]

    def hashes(self):
        """Every sha256 the signed metadata names: archives, GGUFs, patches."""
        out = set()
        for m in self.models():
            out |= {m["archive_sha256"], m["gguf_sha256"]}
            for d in m.get("deltas", []):
                out |= {d["sha256"], d["base_sha256"]}
        return out


def model_files(store):
    """The store's archives and GGUFs (everything outside staging that holds model bytes)."""
    files = []
    for sub in ("blobs", "models"):
        for dirpath, _, names in os.walk(os.path.join(store, sub)):
            files += [os.path.join(dirpath, n) for n in names]
    return files
