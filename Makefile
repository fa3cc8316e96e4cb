SHELL := /bin/bash

# edgelm — `make run` and `make test` set up everything they need on a fresh Debian 12 machine
# with Swift installed: missing apt packages (after apt-get update), the models, the build.

SWIFT        ?= swift
CONFIG       := release
# One configuration for everything (tests and the .deb included), so dependencies compile once:
# release and testable; the packaged binaries relink the same objects with the static runtime.
SWIFT_FLAGS  := -c $(CONFIG) -Xswiftc -enable-testing
BIN          := .build/$(CONFIG)
EDGELM_MODELS ?= $(HOME)/.cache/edgelm/models
export EDGELM_MODELS
DEFAULT_MODEL := qwen2.5-coder-0.5b-instruct
DEFAULT_FILE := qwen2.5-coder-0.5b-instruct.gguf
SOCKET       ?= $(CURDIR)/.build/edgelm.sock
VERSION      ?= 0.1.0
DEB_ARCH     ?= $(shell dpkg --print-architecture)

# Debian packages the build and the tests use (installed only when absent): the aarch64 cross
# compiler and user-mode emulator check the NEON kernels on this x86 machine; libsystemd for the
# daemon's notify, socket-activation and journal support; systemd, curl and the packaging tools
# for the daemon and .deb tests; nginx serves test channels; strace shows the store's write order.
APT_PACKAGES := ca-certificates gcc libc6-dev gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user \
                libsystemd-dev libzstd-dev systemd curl binutils procps adduser nginx-light strace
# Python clients the daemon tests drive it with, unchanged apart from the Unix-socket transport.
PY_PACKAGES  := openai ollama httpx

# The C kernel harness (Tests/KernelHarness) compares every kernel variant with the scalar twins.
KERNEL_SRC   := $(wildcard Sources/CKernels/*.c Sources/CKernels/*/*.c) Tests/KernelHarness/harness.c
KERNEL_HDR   := $(wildcard Sources/CKernels/*.h Sources/CKernels/*/*.h Sources/CKernels/include/*.h)
HARNESS_FLAGS := -std=gnu11 -O2 -fno-math-errno -ffp-contract=off -Wall -Wextra -Wno-unused-parameter -Wno-unknown-pragmas \
                 -ISources/CKernels/include

.PHONY: all setup models build test run clean help kernels-native kernels-arm bench daemon-test static deb deb-test

all: build

help:
	@echo "make run     build and serve the default model ($(DEFAULT_MODEL)) with edgelmd on $(SOCKET)"
	@echo "make deb     build edgelm_$(VERSION)_$(DEB_ARCH).deb into .build/deb"
	@echo "make test    build and run every test (fetches the real models first)"
	@echo "make models  fetch the catalog's models into $(EDGELM_MODELS)"
	@echo "make bench LLAMA_BENCH=/path/to/llama-bench   edgelm and llama-bench side by side"

setup:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	command -v python3 >/dev/null 2>&1 || missing="$$missing python3"; \
	python3 -m pip --version >/dev/null 2>&1 || missing="$$missing python3-pip"; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q $$missing; \
	fi
	@python3 -c "import openai, ollama, httpx" 2>/dev/null || python3 -m pip install -q $(PY_PACKAGES)
	@command -v $(SWIFT) >/dev/null || { echo "error: Swift is not installed (https://www.swift.org/install/linux/)"; exit 1; }

models: setup
	python3 Models/fetch.py --all

build: setup
	$(SWIFT) build $(SWIFT_FLAGS)

# Native: every variant this CPU has. aarch64 under qemu: the default CPU model has dotprod and
# i8mm; a Cortex-A53 has neither, so the dispatcher must fall back to the plain NEON kernels.
kernels-native: setup
	@mkdir -p .build
	$(CC) $(HARNESS_FLAGS) -o .build/kernel-harness $(KERNEL_SRC) -lpthread -lm
	.build/kernel-harness

kernels-arm: setup
	@mkdir -p .build
	aarch64-linux-gnu-gcc $(HARNESS_FLAGS) -march=armv8-a -static -o .build/kernel-harness-aarch64 $(KERNEL_SRC) -lpthread -lm
	qemu-aarch64 .build/kernel-harness-aarch64 --expect neon+dotprod
	qemu-aarch64 -cpu cortex-a53 .build/kernel-harness-aarch64 --expect neon

test: models kernels-native kernels-arm
	$(SWIFT) build $(SWIFT_FLAGS) --build-tests
	@set -o pipefail; $(SWIFT) test $(SWIFT_FLAGS) --skip-build --disable-swift-testing 2>&1 | tee .build/test.log; status=$$?; \
	line=$$(grep -E '^[[:space:]]*Executed [0-9]+ tests?, with' .build/test.log | tail -1); \
	total=$$(echo "$$line" | sed -E 's/^[[:space:]]*Executed ([0-9]+) tests?.*/\1/'); \
	failed=$$(echo "$$line" | sed -E 's/.* ([0-9]+) failures?.*/\1/'); \
	skipped=$$(echo "$$line" | grep -oE '[0-9]+ tests? skipped' | grep -oE '^[0-9]+' || echo 0); \
	echo "tests: $$((total - failed - skipped)) passed, $$failed failed, $$skipped skipped"; \
	exit $$status
	$(MAKE) --no-print-directory daemon-test
	$(MAKE) --no-print-directory deb-test

# edgelmd over a live socket: curl, the openai and ollama packages, systemd's notify protocol and
# socket activation, bad input, scheduling.
daemon-test:
	@set -o pipefail; cd Tests/Daemon && python3 -W ignore -m unittest discover -v 2>&1 | tee ../../.build/daemon-test.log

# The packaged binaries are the tested objects relinked against the static Swift runtime, so they
# need only Debian's libraries and the dependency graph compiles once. An arm64 package is built
# the same way on an arm64 machine (DEB_ARCH follows dpkg).
STATIC_BIN := .build/static

static: build
	python3 Packaging/link-static.py --build-dir .build --config $(CONFIG) --out $(STATIC_BIN)

deb: static
	Packaging/build-deb.sh --arch $(DEB_ARCH) --version $(VERSION) --bin-dir $(STATIC_BIN) --out .build/deb

# Install, verify the units, upgrade, remove and purge the package (needs root).
deb-test: static
	Tests/Packaging/deb-test.sh $(STATIC_BIN)

bench: models build
	@test -x "$(LLAMA_BENCH)" || { echo "error: set LLAMA_BENCH to a llama-bench binary"; exit 1; }
	python3 Benchmarks/compare.py --llama-bench "$(LLAMA_BENCH)"

# The daemon in the foreground with the default model, on a socket under .build (Ctrl-C stops it).
run: build
	python3 Models/fetch.py --default
	@echo "edgelmd on $(SOCKET); in another terminal:"
	@echo "  curl --unix-socket $(SOCKET) http://localhost/v1/chat/completions -d '{\"messages\":[{\"role\":\"user\",\"content\":\"Write a Swift function that reverses a string\"}],\"stream\":true}'"
	$(BIN)/edgelmd --socket $(SOCKET) --model $(EDGELM_MODELS)/$(DEFAULT_FILE)

clean:
	rm -rf .build .build-*
