# pyhost: the README's entry points.
#   make run     set up everything, build, start the host on the simulated board
#   make test    set up everything, build, run every test
#   make bench   run the benchmarks into build/bench/results.json
#   make install install what `make build` made (DESTDIR, PREFIX honoured)
#   make cross-aarch64  cross-compile for aarch64 and test it under qemu (heavy)
#   make runtime-only   build/pyhost-runtime-only: no compiler, loads only
#                       plugins precompiled with `pyhost compile`
#   make test-32bit     the Wasmtime-free modules' unit tests built with gcc -m32
# Every set-up step is idempotent: a second run does (almost) nothing.

SHELL := /bin/bash
BUILD := build
JOBS ?= 2
PLUGINS := sensor-logic bme280-climate python-runtime
TEST_PLUGINS := $(notdir $(wildcard tests/plugins/*))
PYTHON_FILES = $(wildcard $(1)/*.py $(1)/world $(1)/wit/*.wit)

.PHONY: all deps build binary plugins wit test test-unit test-sanitize test-e2e test-sanitize-host \
        test-tsan-host test-alloc-failures test-style run bench format clean install cross-aarch64 \
        test-32bit runtime-only

all: build

deps:
	@scripts/setup-debian.sh

$(BUILD)/.wasmtime-dir: deps wasmtime/Cargo.toml wasmtime/Cargo.lock $(wildcard wasmtime/*.rs wasmtime/*.h)
	@mkdir -p $(BUILD)
	@scripts/build-wasmtime.sh > $@.tmp && mv $@.tmp $@

# The same crate without its compilers (PYHOST_RUNTIME_ONLY=1), cached apart.
$(BUILD)/.wasmtime-runtime-only-dir: deps wasmtime/Cargo.toml wasmtime/Cargo.lock wasmtime/lib.rs
	@mkdir -p $(BUILD)
	@PYHOST_RUNTIME_ONLY=1 scripts/build-wasmtime.sh > $@.tmp && mv $@.tmp $@

$(BUILD)/.venv-dir: requirements.txt
	@mkdir -p $(BUILD)
	@scripts/setup-venv.sh > $@.tmp && mv $@.tmp $@

$(BUILD)/.node-dir: web/package.json web/package-lock.json
	@mkdir -p $(BUILD)
	@scripts/setup-node.sh > $@.tmp && mv $@.tmp $@

binary: $(BUILD)/.wasmtime-dir $(BUILD)/.node-dir
	@cmake -S . -B $(BUILD)/host -DWASMTIME_DIR=$$(cat $(BUILD)/.wasmtime-dir) \
	    -DPYHOST_NODE_MODULES=$$(cat $(BUILD)/.node-dir) > /dev/null
	@cmake --build $(BUILD)/host -j $(JOBS)
	@ln -sf host/pyhost $(BUILD)/pyhost

# The runtime-only host (the device build): Wasmtime without Cranelift and
# Winch; it loads plugins only from artifacts made by `pyhost compile`.
runtime-only: $(BUILD)/.wasmtime-runtime-only-dir $(BUILD)/.node-dir
	@cmake -S . -B $(BUILD)/runtime-only -DWASMTIME_DIR=$$(cat $(BUILD)/.wasmtime-runtime-only-dir) \
	    -DPYHOST_NODE_MODULES=$$(cat $(BUILD)/.node-dir) > /dev/null
	@cmake --build $(BUILD)/runtime-only -j $(JOBS) --target pyhost
	@ln -sf runtime-only/pyhost $(BUILD)/pyhost-runtime-only

# Plugins: componentize-py turns a directory of Python into a component.
# The SDK (plugins/sdk) is on every plugin's path. A plugin names its world
# in NAME/world (default: sensor-plugin) and may bring its own WIT in
# NAME/wit.
# $(3): more directories for the module path.
COMPONENTIZE = scripts/componentize.sh $$(cat $(BUILD)/.venv-dir) $(1) $(2) $(3)

.SECONDEXPANSION:
$(BUILD)/plugins/%.wasm: $$(call PYTHON_FILES,plugins/$$*) $(wildcard plugins/sdk/*.py) \
                         $(wildcard wit/*.wit) | $(BUILD)/.venv-dir
	@mkdir -p $(dir $@)
	@echo "componentize-py: $@"
	@$(call COMPONENTIZE,plugins/$*,$@)

# Test plugins may also import the shared modules of tests/plugin-lib.
$(BUILD)/test-plugins/%.wasm: $$(call PYTHON_FILES,tests/plugins/$$*) \
                              $(wildcard plugins/sdk/*.py tests/plugin-lib/*.py wit/*.wit) \
                              | $(BUILD)/.venv-dir
	@mkdir -p $(dir $@)
	@echo "componentize-py: $@"
	@$(call COMPONENTIZE,tests/plugins/$*,$@,tests/plugin-lib)

# The standard library of the runtime's CPython, granted read-only to its
# instances as /python (scripts/python-stdlib.py says where it comes from).
$(BUILD)/plugins/python-runtime.stdlib: scripts/python-stdlib.py | $(BUILD)/.venv-dir
	@scripts/python-stdlib.py $$(cat $(BUILD)/.venv-dir) $@

plugins: $(PLUGINS:%=$(BUILD)/plugins/%.wasm) $(BUILD)/plugins/python-runtime.stdlib

# The current contract with its standard dependencies (scripts/wit-deps.sh)
# as one directory, for running componentize-py by hand: -d build/wit.
wit:
	@rm -rf $(BUILD)/wit && mkdir -p $(BUILD)/wit && cp wit/*.wit $(BUILD)/wit/
	@ln -s "$$(scripts/wit-deps.sh)" $(BUILD)/wit/deps
	@echo "$(BUILD)/wit"

test-plugins: $(TEST_PLUGINS:%=$(BUILD)/test-plugins/%.wasm)

build: deps binary
	@$(MAKE) --no-print-directory -j $(JOBS) plugins

run: build
	$(BUILD)/pyhost run --config config/pyhost.ini

test-unit: binary
	@cd $(BUILD)/host && ctest --output-on-failure

test-sanitize: deps
	@cmake -S . -B $(BUILD)/sanitize -DPYHOST_SANITIZE=ON > /dev/null
	@cmake --build $(BUILD)/sanitize -j $(JOBS)
	@cd $(BUILD)/sanitize && ctest --output-on-failure

# The Wasmtime-free modules and their unit tests as a 32-bit (i386) build,
# where size_t, long and time_t are 32 bits as on armv7: gcc -m32 and the
# i386 libraries in a sysroot that scripts/setup-m32.sh unpacks (cached).
test-32bit: deps
	@sysroot=$$(scripts/setup-m32.sh) && \
	 cmake -S . -B $(BUILD)/m32 -DCMAKE_TOOLCHAIN_FILE=cmake/i386-linux-gnu.cmake \
	    -DPYHOST_I386_SYSROOT=$$sysroot > /dev/null
	@nice -n 5 cmake --build $(BUILD)/m32 -j $(JOBS)
	@cd $(BUILD)/m32 && ctest --output-on-failure

test-style:
	@scripts/check-style.sh

test-e2e: build runtime-only
	@$(MAKE) --no-print-directory -j $(JOBS) test-plugins
	@$$(cat $(BUILD)/.venv-dir)/bin/python -m pytest -q tests/e2e
	@$$(cat $(BUILD)/.venv-dir)/bin/python -m pytest -q tests/adversarial

# The host itself, with the real Wasmtime, under ASan + UBSan: the
# lifecycle, call, daemon and HTTP end-to-end tests against that binary. Wasmtime
# catches traps with SIGSEGV handlers of its own, so ASan leaves SEGV alone.
test-sanitize-host: build
	@cmake -S . -B $(BUILD)/sanitize-host -DWASMTIME_DIR=$$(cat $(BUILD)/.wasmtime-dir) \
	    -DPYHOST_NODE_MODULES=$$(cat $(BUILD)/.node-dir) -DPYHOST_SANITIZE=ON > /dev/null
	@cmake --build $(BUILD)/sanitize-host -j $(JOBS) --target pyhost
	@$(MAKE) --no-print-directory -j $(JOBS) test-plugins
	@PYHOST_BINARY=$(CURDIR)/$(BUILD)/sanitize-host/pyhost \
	 ASAN_OPTIONS=handle_segv=0:allow_user_segv_handler=1:detect_leaks=1 \
	 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	 $$(cat $(BUILD)/.venv-dir)/bin/python -m pytest -q tests/e2e/test_lifecycle.py \
	    tests/e2e/test_plugin_calls.py tests/e2e/test_daemon.py tests/e2e/test_http_api.py \
	    tests/e2e/test_http_concurrency.py tests/e2e/test_http_robustness.py \
	    tests/e2e/test_http_events.py tests/e2e/test_http_plugin_set.py

# The host under ThreadSanitizer: pyhost's C code is instrumented, Wasmtime's
# Rust is not (TSan sees its malloc, memcpy and pthread calls, not its own
# atomics and futexes; tests/tsan.supp says what that costs). The app-state
# unit test and the end-to-end tests where threads meet: lifecycle and
# reloads, the daemon, the web server beside the poll loop, reloads under
# HTTP load. Each process writes any report to a file in tsan-reports/;
# tests/e2e/conftest.py fails the test during which one appeared, and this
# target fails if any exists at the end.
TSAN_E2E := tests/e2e/test_lifecycle.py tests/e2e/test_daemon.py \
            tests/e2e/test_http_concurrency.py tests/e2e/test_reload_under_load.py \
            tests/e2e/test_pipeline.py tests/e2e/test_http_plugin_set.py
TSAN_REPORTS = $(CURDIR)/$(BUILD)/tsan-host/tsan-reports
TSAN_SUPPRESSIONS = $(CURDIR)/tests/tsan.supp
TSAN_ENV = TSAN_OPTIONS=log_path=$(TSAN_REPORTS)/tsan:exitcode=66:second_deadlock_stack=1:suppressions=$(TSAN_SUPPRESSIONS)
test-tsan-host: build
	@cmake -S . -B $(BUILD)/tsan-host -DWASMTIME_DIR=$$(cat $(BUILD)/.wasmtime-dir) \
	    -DPYHOST_NODE_MODULES=$$(cat $(BUILD)/.node-dir) -DPYHOST_TSAN=ON > /dev/null
	@cmake --build $(BUILD)/tsan-host -j $(JOBS) --target pyhost test_app_state
	@$(MAKE) --no-print-directory -j $(JOBS) test-plugins
	@rm -rf $(TSAN_REPORTS) && mkdir -p $(TSAN_REPORTS)
	@cd $(BUILD)/tsan-host && $(TSAN_ENV) ctest -R app_state --output-on-failure
	@PYHOST_BINARY=$(CURDIR)/$(BUILD)/tsan-host/pyhost PYHOST_SANITIZER_LOG_DIR=$(TSAN_REPORTS) \
	 $(TSAN_ENV) $$(cat $(BUILD)/.venv-dir)/bin/python -m pytest -q $(TSAN_E2E)
	@if [ -n "$$(ls -A $(TSAN_REPORTS))" ]; then \
	    cat $(TSAN_REPORTS)/*; echo "ThreadSanitizer reports in $(TSAN_REPORTS)" >&2; exit 1; fi

# Allocation failures (curl's torture test as the model): the host built
# with ASan + UBSan and src/core/fault.h, each scenario of tests/alloc/run.py
# run once per N with the Nth allocation failing.
test-alloc-failures: build
	@cmake -S . -B $(BUILD)/fault-inject -DWASMTIME_DIR=$$(cat $(BUILD)/.wasmtime-dir) \
	    -DPYHOST_NODE_MODULES=$$(cat $(BUILD)/.node-dir) -DPYHOST_SANITIZE=ON \
	    -DPYHOST_FAULT_INJECT=ON > /dev/null
	@cmake --build $(BUILD)/fault-inject -j $(JOBS) --target pyhost
	@$(MAKE) --no-print-directory -j $(JOBS) test-plugins
	@$$(cat $(BUILD)/.venv-dir)/bin/python tests/alloc/run.py --binary $(BUILD)/fault-inject/pyhost

test: build test-style test-unit test-sanitize test-32bit test-e2e test-sanitize-host \
      test-tsan-host test-alloc-failures

bench: build runtime-only test-plugins
	@$$(cat $(BUILD)/.venv-dir)/bin/python bench/run.py

format:
	@clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD)

# Installation (packaging/): the stripped binary, the systemd unit, the
# service user (sysusers.d), the default config (never overwritten: an
# existing one is kept and the new one goes beside it as pyhost.ini.new) and
# the example plugin. It installs what `make build` made and never builds,
# so `sudo make install` leaves no root-owned files in build/. For the
# aarch64 build: make install PYHOST_BINARY=build/aarch64/pyhost STRIP=aarch64-linux-gnu-strip
PREFIX ?= /usr/local
SYSCONFDIR ?= /etc
BINDIR = $(PREFIX)/bin
DATADIR = $(PREFIX)/share
UNITDIR ?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d
STRIP ?= strip
PYHOST_BINARY ?= $(BUILD)/pyhost
INSTALL_PLUGINS ?= $(BUILD)/plugins/sensor-logic.wasm
SUBST = sed -e 's|@BINDIR@|$(BINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' \
            -e 's|@DATADIR@|$(DATADIR)|g'

install:
	@for f in $(PYHOST_BINARY) $(INSTALL_PLUGINS); do \
	    [ -f $$f ] || { echo "make install: $$f is missing: run 'make build' first" >&2; exit 1; }; \
	done
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSUSERSDIR) \
	    $(DESTDIR)$(SYSCONFDIR)/pyhost $(DESTDIR)$(DATADIR)/pyhost/plugins
	install -m 0755 -s --strip-program=$(STRIP) $(PYHOST_BINARY) $(DESTDIR)$(BINDIR)/pyhost
	$(SUBST) packaging/pyhost.service.in > $(DESTDIR)$(UNITDIR)/pyhost.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/pyhost.service
	install -m 0644 packaging/pyhost.sysusers $(DESTDIR)$(SYSUSERSDIR)/pyhost.conf
	install -m 0644 $(INSTALL_PLUGINS) $(DESTDIR)$(DATADIR)/pyhost/plugins/
	@config=$(DESTDIR)$(SYSCONFDIR)/pyhost/pyhost.ini; \
	if [ -e $$config ]; then config=$$config.new; \
	    echo "make install: keeping the existing pyhost.ini; the new default is $$config"; fi; \
	$(SUBST) packaging/pyhost.ini.in > $$config && chmod 0644 $$config

# Cross-compilation for aarch64 (Raspberry Pi OS 64-bit), then its unit
# tests and a `pyhost call` of the example plugin under qemu-user. Heavy
# (the first Wasmtime build for aarch64 takes about 5 minutes on 2 cores,
# cached like the native one), so not part of `make test`.
cross-aarch64: $(BUILD)/plugins/sensor-logic.wasm $(BUILD)/test-plugins/counter.wasm \
               $(BUILD)/.node-dir
	@scripts/setup-cross-aarch64.sh
	@nice -n 19 scripts/build-wasmtime.sh aarch64-unknown-linux-gnu > $(BUILD)/.wasmtime-aarch64-dir.tmp
	@mv $(BUILD)/.wasmtime-aarch64-dir.tmp $(BUILD)/.wasmtime-aarch64-dir
	@cmake -S . -B $(BUILD)/aarch64 -DCMAKE_TOOLCHAIN_FILE=cmake/aarch64-linux-gnu.cmake \
	    -DWASMTIME_DIR=$$(cat $(BUILD)/.wasmtime-aarch64-dir) \
	    -DPYHOST_NODE_MODULES=$$(cat $(BUILD)/.node-dir) > /dev/null
	@nice -n 19 cmake --build $(BUILD)/aarch64 -j $(JOBS)
	@scripts/test-cross-aarch64.sh
