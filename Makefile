# Thin wrapper over CMake presets. `make run` and `make test` work on a fresh Debian 12 machine.
JOBS ?= $(shell nproc)
PREFIX ?= /usr/local

.PHONY: all deps build run test unit e2e fuzz fuzz-long asan bench format clean install

all: build

deps:
	@scripts/install-deps.sh

build: deps
	@cmake --preset release >/dev/null
	@cmake --build --preset release -j $(JOBS)

# A short tour of lwmic, then lwmid in the foreground with the default configuration.
run: build
	@scripts/run.sh build/release

# Every test: unit and end-to-end (ctest), then short libFuzzer runs. Benchmarks are not part of it.
test: build
	@ctest --preset release -j $(JOBS)
	@$(MAKE) --no-print-directory fuzz

fuzz: deps
	@cmake --preset fuzz >/dev/null
	@cmake --build --preset fuzz -j $(JOBS)
	@ctest --preset fuzz

# A long fuzzing session of every target (not part of make test). FUZZ_SECONDS per target.
FUZZ_SECONDS ?= 300
fuzz-long: fuzz
	@for f in build/fuzz/fuzz/*_fuzzer; do \
	  n=$$(basename $$f _fuzzer); mkdir -p build/fuzz/corpus/$$n; \
	  $$f -max_total_time=$(FUZZ_SECONDS) -dict=fuzz/$$n.dict build/fuzz/corpus/$$n fuzz/corpus/$$n || exit 1; \
	done

asan: deps
	@cmake --preset asan >/dev/null
	@cmake --build --preset asan -j $(JOBS)
	@ctest --preset asan -j $(JOBS)

bench: deps
	@cmake --preset bench >/dev/null
	@cmake --build --preset bench -j $(JOBS)
	@bench/run-all.sh build/bench

format:
	@git ls-files '*.cc' '*.h' | xargs clang-format -i

install: build
	@cmake --install build/release --prefix $(PREFIX)

clean:
	@rm -rf build
