# meshrt's entry points. The README's quick start is `make demo` and `make test`;
# each installs what is missing, configures, builds and runs.

BUILD       ?= build
BUILD_ASAN  ?= build-asan
BUILD_TSAN  ?= build-tsan
# CAF 0.17.6 built with ThreadSanitizer, kept beside the builds (make clean
# leaves it: it takes minutes to make).
CAF_TSAN    ?= build-caf-tsan
GENERATOR   := $(shell command -v ninja >/dev/null 2>&1 && echo "-G Ninja")
JOBS        ?= $(shell nproc)

.PHONY: all deps build build-asan build-tsan test test-release test-asan test-tsan demo fuzz soak tidy format clean

all: build

deps:
	@scripts/install-deps.sh

$(BUILD)/CMakeCache.txt: | deps
	cmake -S . -B $(BUILD) $(GENERATOR) -DCMAKE_BUILD_TYPE=Release

$(BUILD_ASAN)/CMakeCache.txt: | deps
	cmake -S . -B $(BUILD_ASAN) $(GENERATOR) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMESHRT_SANITIZE=ON

build: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

build-asan: deps $(BUILD_ASAN)/CMakeCache.txt
	cmake --build $(BUILD_ASAN) -j $(JOBS)

$(BUILD_TSAN)/CMakeCache.txt: | deps
	scripts/build-caf-tsan.sh $(CAF_TSAN)
	cmake -S . -B $(BUILD_TSAN) $(GENERATOR) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMESHRT_TSAN=ON \
	  -DCMAKE_PREFIX_PATH=$(CURDIR)/$(CAF_TSAN)

build-tsan: deps $(BUILD_TSAN)/CMakeCache.txt
	scripts/build-caf-tsan.sh $(CAF_TSAN)
	cmake --build $(BUILD_TSAN) -j $(JOBS) --target meshrt_tsan_tests

# The suite runs in a Release build, then under ASan + UBSan; its
# concurrency-heavy part (transport, node, store, DM, gateway) under TSan.
test: test-release test-asan test-tsan

test-release: build
	ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS)

test-asan: build-asan
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  ctest --test-dir $(BUILD_ASAN) --output-on-failure -j $(JOBS)

test-tsan: build-tsan
	TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" \
	  ctest --test-dir $(BUILD_TSAN) --output-on-failure -j $(JOBS)

# An embedded cluster on loopback: MARS and four nodes, showing the mesh at work.
demo: build
	@$(BUILD)/bin/meshrt --version
	@$(BUILD)/bin/meshrt demo --log-level warn

SOAK_SECONDS ?= 600

# Steady load with kill -9 and restarts of nodes and MARS for SOAK_SECONDS;
# fails if a reliable message is lost or duplicated, or a node that ran
# throughout grew in memory past 10% or kept descriptors or actors
# (benchmarks/scenarios/soak.json). The suite runs 60 s of it.
soak: build
	$(BUILD)/bin/meshrt bench scenario benchmarks/scenarios/soak.json --duration $(SOAK_SECONDS) \
	  --json $(BUILD)/soak.json --log-level error

FUZZ_SECONDS ?= 120

FUZZ_TARGETS ?= $(shell sed -n 's/^set(MESHRT_FUZZ_TARGETS \(.*\))$$/\1/p' tests/fuzz/targets.cmake)

# libFuzzer over every decoder of bytes from the network or a file
# (tests/fuzz/targets.cmake lists them), FUZZ_SECONDS each.
fuzz: deps
	@for t in $(FUZZ_TARGETS); do \
	  echo "== fuzz $$t ($(FUZZ_SECONDS) s)"; \
	  tests/fuzz/run.sh $(CURDIR) $(CURDIR)/build-fuzz $(FUZZ_SECONDS) $$t || exit 1; \
	done

tidy: build
	run-clang-tidy -quiet -p $(BUILD) '$(CURDIR)/(runtime|transport|actors|dm|apps|benchmarks)/'

format:
	clang-format -i $$(git ls-files '*.hpp' '*.cpp')

clean:
	rm -rf $(BUILD) $(BUILD_ASAN) $(BUILD_TSAN)
