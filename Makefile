# The project's commands (README): make, make run, make test, make bench.
MAKEFLAGS  += --no-print-directory
BUILD      ?= build
ASAN_BUILD ?= build-asan
JOBS       ?= $(shell nproc)
CMAKE_FLAGS ?= -DCMAKE_BUILD_TYPE=RelWithDebInfo

.PHONY: all deps build asan run test unit-test asan-test bench format format-check clean

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

run: deps build
	@$(BUILD)/bin/nsl dev up --state ./var

# Every test twice: the optimised build, then the whole suite under ASan+UBSan.
test: deps format-check build asan
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS)
	@cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest --output-on-failure -j $(JOBS)

bench: deps build
	@./bench/run.sh $(BUILD)

format:
	@clang-format -i $$(git ls-files '*.c' '*.h')

format-check:
	@clang-format --dry-run --Werror $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
