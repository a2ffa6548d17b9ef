# The project's commands (README): make, make run, make test, make bench.
MAKEFLAGS  += --no-print-directory
BUILD      ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_SMOKE_SECONDS ?= 5
FUZZ_TARGETS := $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
JOBS       ?= $(shell nproc)
CMAKE_FLAGS ?= -DCMAKE_BUILD_TYPE=RelWithDebInfo

.PHONY: all deps build asan run test unit-test asan-test bench format format-check clean \
        fuzz-build fuzz fuzz-smoke config-docs soak valgrind

all: build

deps:
	@./scripts/install-deps.sh

$(BUILD)/Makefile:
	@cmake -S . -B $(BUILD) $(CMAKE_FLAGS) >/dev/null

build: $(BUILD)/Makefile
	@cmake --build $(BUILD) -j $(JOBS)

$(ASAN_BUILD)/Makefile:
	@CC=clang cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DNSL_SANITIZE=ON >/dev/null

asan: $(ASAN_BUILD)/Makefile
	@cmake --build $(ASAN_BUILD) -j $(JOBS)

# libFuzzer targets (docs/fuzzing.md), in their own clang build.
$(FUZZ_BUILD)/Makefile:
	@CC=clang cmake -S . -B $(FUZZ_BUILD) -DCMAKE_BUILD_TYPE=Debug -DNSL_FUZZ=ON >/dev/null

fuzz-build: $(FUZZ_BUILD)/Makefile
	@cmake --build $(FUZZ_BUILD) --target fuzz-targets -j $(JOBS)

# Each target for FUZZ_SECONDS, growing its corpus in $(FUZZ_BUILD)/corpus/<name> (seeded from
# tests/fuzz/corpus and tests/fuzz/regressions); crashes land in $(FUZZ_BUILD)/artifacts/<name>/.
fuzz: fuzz-build
	@set -e; for t in $(FUZZ_TARGETS); do \
	  mkdir -p $(FUZZ_BUILD)/corpus/$$t $(FUZZ_BUILD)/artifacts/$$t; \
	  cp -n tests/fuzz/corpus/$$t/* $(FUZZ_BUILD)/corpus/$$t/ 2>/dev/null || true; \
	  reg=; [ -d tests/fuzz/regressions/$$t ] && reg=tests/fuzz/regressions/$$t; \
	  echo "fuzz $$t: $(FUZZ_SECONDS) s"; \
	  $(FUZZ_BUILD)/fuzz/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -timeout=10 -print_final_stats=1 \
	    -artifact_prefix=$(FUZZ_BUILD)/artifacts/$$t/ $(FUZZ_BUILD)/corpus/$$t \
	    tests/fuzz/corpus/$$t $$reg; \
	done

# Part of `make test`: every target replays its seeds and regressions, then fuzzes for
# FUZZ_SMOKE_SECONDS, $(JOBS) targets at a time (new inputs go to a scratch dir, never the tree).
fuzz-smoke: fuzz-build
	@rm -rf $(FUZZ_BUILD)/smoke && mkdir -p $(FUZZ_BUILD)/smoke
	@echo $(FUZZ_TARGETS) | tr ' ' '\n' | xargs -P $(JOBS) -I{} sh -c '\
	  t={}; out=$(FUZZ_BUILD)/smoke/$$t; mkdir -p $$out/new $$out/artifacts; \
	  reg=; [ -d tests/fuzz/regressions/$$t ] && reg=tests/fuzz/regressions/$$t; \
	  if $(FUZZ_BUILD)/fuzz/fuzz_$$t -max_total_time=$(FUZZ_SMOKE_SECONDS) -timeout=10 \
	       -artifact_prefix=$$out/artifacts/ $$out/new tests/fuzz/corpus/$$t $$reg \
	       >$$out/log 2>&1; \
	  then echo "fuzz-smoke $$t: ok"; \
	  else cat $$out/log; echo "fuzz-smoke $$t: FAILED (input in $$out/artifacts/)"; exit 255; fi'

run: deps build
	@$(BUILD)/bin/nsl dev up --state ./var

# Every test twice: the optimised build, then the whole suite under ASan+UBSan.
test: deps format-check build asan fuzz-smoke
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS)
	@cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest --output-on-failure -j $(JOBS)

# docs/configuration.md from the binaries' --help (checked by `make test`).
config-docs: build
	@./scripts/config-docs.sh $(BUILD)/bin > docs/configuration.md.tmp \
	  || { rm -f docs/configuration.md.tmp; exit 1; }
	@mv docs/configuration.md.tmp docs/configuration.md

bench: deps build
	@./bench/run.sh $(BUILD)

# Soak (README "Reliability"): NSL_SOAK_CLIENTS (1000) clients for NSL_SOAK_SECONDS (300) of mixed
# load; RSS and descriptors of both daemons sampled every 10 s; results in $(BUILD)/soak.json.
soak: deps build
	@NSL_BIN_DIR=$(CURDIR)/$(BUILD)/bin $(BUILD)/bench/soak $(BUILD)/soak.json

# Integration tests with both daemons under valgrind (scripts/valgrind.sh says which and why);
# minutes, so not part of `make test`.
valgrind: deps build
	@./scripts/valgrind.sh $(BUILD)

format:
	@clang-format -i $$(git ls-files '*.c' '*.h')

format-check:
	@clang-format --dry-run --Werror $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
