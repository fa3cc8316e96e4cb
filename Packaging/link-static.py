#!/usr/bin/env python3
"""Relinks the tested release executables against the static Swift runtime.

    Packaging/link-static.py --build-dir .build --out DIR [PRODUCT ...]   (default: edgelm edgelmd)

The package ships the very objects the test suite ran, so there is no second compilation of the
whole dependency graph: the link command SwiftPM used (from BUILD/release.yaml) is replayed with
-static-stdlib instead of the runtime search path. Objects compiled against the shared runtime do
not carry autolink entries for the static Foundation archives, so those go in as one linker group
and the linker keeps only the members it needs. The result depends on Debian's libraries alone,
which this script checks before it reports success.
"""
import argparse
import json
import os
import re
import subprocess
import sys


def die(message):
    print(f"link-static: error: {message}", file=sys.stderr)
    sys.exit(1)


def link_arguments(plan, product):
    key = f'"C.{product}-'
    start = plan.find(key)
    while start >= 0 and '-release.exe"' not in plan[start:plan.find("\n", start)]:
        start = plan.find(key, start + 1)
    if start < 0:
        die(f"no link step for '{product}' in the build plan (build it first)")
    match = re.search(r"^\s+args: (\[.*\])$", plan[start:], re.M)
    if not match:
        die(f"the link step for '{product}' has no arguments")
    return json.loads(match.group(1))


def static_arguments(args, out_path, runtime_dir):
    result, skip = [], 0
    for index, arg in enumerate(args):
        if skip:
            skip -= 1
            continue
        if arg == "-o":
            result += ["-o", out_path]
            skip = 1
        elif arg == "-Xlinker" and index + 1 < len(args) and args[index + 1].startswith("-rpath"):
            skip = 1
        elif arg in ("-enable-testing", "-g"):
            continue
        else:
            result.append(arg)
    group = sorted(
        os.path.join(runtime_dir, name)
        for name in os.listdir(runtime_dir)
        if name.endswith(".a") and (
            "Foundation" in name or name.startswith("lib_CF")
            or name in ("libswiftSynchronization.a", "libswiftDispatch.a", "libdispatch.a",
                        "libBlocksRuntime.a"))
    )
    result.insert(1, "-static-stdlib")
    result.append("-Xlinker")
    result.append("--start-group")
    for archive in group:
        result += ["-Xlinker", archive]
    result += ["-Xlinker", "--end-group", "-lstdc++"]
    return result


def shared_dependencies(path):
    output = subprocess.run(["readelf", "-d", path], check=True, capture_output=True, text=True).stdout
    return re.findall(r"\(NEEDED\)\s+Shared library: \[(.+?)\]", output)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--build-dir", default=".build")
    parser.add_argument("--config", default="release")
    parser.add_argument("--out", required=True)
    parser.add_argument("products", nargs="*", default=["edgelm", "edgelmd"])
    options = parser.parse_args()

    plan_path = os.path.join(options.build_dir, f"{options.config}.yaml")
    if not os.path.isfile(plan_path):
        die(f"{plan_path} is missing (run swift build -c {options.config} first)")
    with open(plan_path, encoding="utf-8") as handle:
        plan = handle.read()

    os.makedirs(options.out, exist_ok=True)
    for product in options.products:
        args = link_arguments(plan, product)
        swiftc = args[0]
        runtime_dir = os.path.join(os.path.dirname(os.path.dirname(swiftc)), "lib", "swift_static", "linux")
        if not os.path.isdir(runtime_dir):
            die(f"the toolchain has no static runtime at {runtime_dir}")
        out_path = os.path.abspath(os.path.join(options.out, product))
        command = static_arguments(args, out_path, runtime_dir)
        linked = subprocess.run(command, capture_output=True, text=True)
        if linked.returncode != 0:
            sys.stderr.write(linked.stderr)
            die(f"linking {product} failed")
        swift_libraries = [lib for lib in shared_dependencies(out_path)
                           if lib.startswith(("libswift", "libFoundation", "libdispatch", "lib_Foundation",
                                              "libBlocksRuntime"))]
        if swift_libraries:
            die(f"{product} still needs the shared Swift runtime: {', '.join(swift_libraries)}")
        print(f"{out_path}: Swift runtime linked statically")


if __name__ == "__main__":
    main()
