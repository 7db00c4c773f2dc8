# A thin front for meson. Every target first installs what is missing (scripts/deps).
#   make demo      testbed up, the paper's workload, live capture, testbed down
#   make check     release, ASan+UBSan and TSan builds, every test, closing 'N passed, N failed'
#   make bench     every benchmark (bench/*/run);  make bench-NAME  one of them
#   make eval      the paper's evaluation as CSV + PNG figures under docs/eval/ (bench/eval/run)
#   make install   library (shared + static), headers, mqcap.pc, tools, man pages
#   make fuzz      libFuzzer builds of tests/fuzz (clang), each run for FUZZ_SECONDS
SHELL := /bin/bash
BUILD := build
PREFIX ?= /usr/local
FUZZ_SECONDS ?= 60
# (eval is not a benchmark of its own: it drives the others, see make eval)
BENCHES := $(filter-out eval,$(patsubst bench/%/run,%,$(wildcard bench/*/run)))

.PHONY: all deps deps-bench deps-eval build build-bench demo check bench eval install fuzz clean $(addprefix bench-,$(BENCHES))

all: build

deps:
	@scripts/deps

deps-bench:
	@scripts/deps --bench

deps-eval:
	@scripts/deps --eval

# The release-style tree: demo, benchmarks and install use it.
$(BUILD)/build.ninja: | deps
	@meson setup $(BUILD) --prefix=$(PREFIX) -Dwerror=true >/dev/null

build: deps $(BUILD)/build.ninja
	@ninja --quiet -C $(BUILD)

# Tests run on an ASan+UBSan tree; the lock-free code runs again under ThreadSanitizer.
$(BUILD)/asan/build.ninja: | deps
	@meson setup $(BUILD)/asan -Db_sanitize=address,undefined -Db_lundef=false \
		-Dwerror=true -Dbench=false >/dev/null

$(BUILD)/tsan/build.ninja: | deps
	@meson setup $(BUILD)/tsan -Db_sanitize=thread -Db_lundef=false -Dtsan_only=true \
		-Dwerror=true -Dbench=false >/dev/null

# The release tree is built too: gcc warns differently at -O2 without sanitizers
# (-Wmaybe-uninitialized, -Wformat-truncation), and `make demo` must keep building.
check: build $(BUILD)/asan/build.ninja $(BUILD)/tsan/build.ninja
	@ninja --quiet -C $(BUILD)/asan
	@ninja --quiet -C $(BUILD)/tsan
	@rc=0; \
	meson test -C $(BUILD)/asan --print-errorlogs --num-processes 2 || rc=1; \
	scripts/tsan-run meson test -C $(BUILD)/tsan --print-errorlogs --suite stress || rc=1; \
	scripts/test-summary $(BUILD)/asan $(BUILD)/tsan || rc=1; \
	exit $$rc

demo: build
	@scripts/demo $(BUILD)

# meson looks for optional dependencies (DPDK, ck) only when it configures: a tree configured
# before `scripts/deps --bench` installed them is configured again, whatever ran first.
build-bench: deps-bench $(BUILD)/build.ninja
	@grep -q 'ring_perf' $(BUILD)/build.ninja || meson setup --reconfigure $(BUILD) >/dev/null
	@ninja --quiet -C $(BUILD)

bench: build-bench
	@for b in $(BENCHES); do echo "== bench/$$b"; BUILD=$(BUILD) bench/$$b/run || exit 1; done

# The figures of docs/eval/ (and the README's): every capture case beside the XDP-drop bound.
eval: deps-eval build-bench
	@BUILD=$(BUILD) bench/eval/run

$(addprefix bench-,$(BENCHES)): bench-%: build-bench
	@BUILD=$(BUILD) bench/$*/run

install: build
	@meson install -C $(BUILD)

fuzz: deps
	@scripts/fuzz $(FUZZ_SECONDS)

clean:
	rm -rf $(BUILD)
