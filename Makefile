# wick: GNU Makefile. `make` builds the library; `make test` runs the tests
# (plain, ASan+UBSan, and the OpenSSL SHA-1 build); `make run` starts the
# example server on 127.0.0.1:8080. See README.md.
#
# Variables honoured: CC AR CFLAGS CPPFLAGS LDFLAGS PREFIX DESTDIR LIBDIR
# INCLUDEDIR BUILD V JOBS WICK_OPENSSL WICK_ZLIB WICK_NO_SIMD WICK_NO_ERR_STRINGS
# WICK_NO_EXTENSIONS SAN WERROR.

CC      ?= cc
AR      ?= ar
PREFIX  ?= /usr/local
LIBDIR  ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
BUILD   ?= build
PYTHON  ?= /usr/bin/python3
# Parallel jobs for the builds inside `make test` (its test programs still
# run one at a time unless a step says otherwise).
JOBS    ?= $(shell nproc 2>/dev/null || echo 2)
J        = $(if $(findstring jobserver,$(MAKEFLAGS)),,-j$(JOBS))

VERSION := $(shell sed -n 's/^\#define WICK_VERSION_STRING "\(.*\)"/\1/p' include/wick.h)
MAJOR   := $(firstword $(subst ., ,$(VERSION)))

ifeq ($(V),1)
Q :=
else
Q := @
endif

# --- Warnings (docs/style: this set is clean with -Werror on gcc 12 and clang 14)
WARN := -std=c99 -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wsign-conversion \
        -Wstrict-prototypes -Wmissing-prototypes -Wmissing-declarations \
        -Wold-style-definition -Wpointer-arith -Wcast-qual -Wcast-align -Wwrite-strings \
        -Wvla -Wundef -Wformat=2 -Wimplicit-fallthrough -Wnull-dereference \
        -Wdouble-promotion -Wredundant-decls -Wnested-externs -Wswitch-default \
        -Wmissing-field-initializers
IS_CLANG := $(shell $(CC) --version 2>/dev/null | grep -q clang && echo 1)
ifeq ($(IS_CLANG),1)
WARN += -Wshorten-64-to-32 -Wcomma -Wextra-semi -Wassign-enum -Wconditional-uninitialized \
        -Wmissing-variable-declarations -Wunreachable-code-aggressive
else
WARN += -Wlogical-op -Wduplicated-cond -Wduplicated-branches -Wjump-misses-init \
        -Wcast-align=strict
endif
ifeq ($(WERROR),1)
WARN += -Werror
endif
LIBWARN := $(WARN) -Wframe-larger-than=512

OPT    ?= -O2
CFLAGS ?= $(OPT) -g
ifneq ($(SAN),)
CFLAGS += -fsanitize=$(SAN) -fno-sanitize-recover=all -fno-omit-frame-pointer
LDFLAGS += -fsanitize=$(SAN)
endif

# LIBCRYPTO: the libraries a build of wick links (libcrypto, zlib).
DEFS :=
ifeq ($(WICK_OPENSSL),1)
DEFS += -DWICK_OPENSSL
LIBCRYPTO += -lcrypto
endif
# permessage-deflate's backend (issue 11): zlib, on by default here; the
# library builds and passes its tests without it (WICK_ZLIB=0).
WICK_ZLIB ?= 1
ifeq ($(WICK_ZLIB),1)
DEFS += -DWICK_ZLIB
LIBCRYPTO += -lz
endif
# WICK_INFLATE=1: wick's own inflater receives even with zlib (issue 16;
# without zlib it always does).
ifeq ($(WICK_INFLATE),1)
DEFS += -DWICK_INFLATE
endif
ifeq ($(WICK_NO_SIMD),1)
DEFS += -DWICK_NO_SIMD
endif
ifeq ($(WICK_NO_ERR_STRINGS),1)
DEFS += -DWICK_NO_ERR_STRINGS
endif
ifeq ($(WICK_NO_EXTENSIONS),1)
DEFS += -DWICK_NO_EXTENSIONS
endif

ALL_CPPFLAGS := -Iinclude -Isrc $(DEFS) $(CPPFLAGS)

# --- Library sources: every src/*.c; exactly one SHA-1 backend.
LIB_SRC := $(filter-out src/wick_sha1.c src/wick_sha1_openssl.c,$(wildcard src/*.c))
ifeq ($(WICK_OPENSSL),1)
LIB_SRC += $(wildcard src/wick_sha1_openssl.c)
else
LIB_SRC += $(wildcard src/wick_sha1.c)
endif
LIB_OBJ := $(LIB_SRC:src/%.c=$(BUILD)/obj/%.o)
PIC_OBJ := $(LIB_SRC:src/%.c=$(BUILD)/pic/%.o)
STATIC  := $(BUILD)/libwick.a
SHARED  := $(BUILD)/libwick.so.$(VERSION)

# --- Tests: one cmocka binary per tests/test_*.c, linked with tests/support.
TEST_SRC := $(wildcard tests/test_*.c)
TEST_BIN := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
# test_err once more, against a wick_err.c built with WICK_NO_ERR_STRINGS.
TEST_BIN += $(if $(filter -DWICK_NO_ERR_STRINGS,$(DEFS)),,$(BUILD)/tests/test_err_nostr)
# AMALGAMATION=1: the library is the one-file build (see the end).
ifeq ($(AMALGAMATION),1)
LIB_OBJ := $(BUILD)/amalg/wick.o
TEST_BIN := $(filter-out $(BUILD)/tests/test_err_nostr,$(TEST_BIN))
endif
SUPPORT_SRC := $(wildcard tests/support/*.c)
SUPPORT_OBJ := $(SUPPORT_SRC:tests/support/%.c=$(BUILD)/tests/support/%.o)
TEST_WARN := $(filter-out -Wcast-qual -Wmissing-declarations,$(WARN))

# --- Examples: each examples/*.c is one program.
EX_SRC := $(wildcard examples/*.c)
EX_BIN := $(EX_SRC:examples/%.c=$(BUILD)/examples/%)

.PHONY: all lib deps test test-unit test-variant test-interop examples run install uninstall \
        clean check-symbols lint format format-check fuzz fuzz-smoke fuzz-replay bench deps-test \
        valgrind

# A bare-metal compiler (a *-none-* target such as arm-none-eabi-gcc) has no
# shared libraries: `make lib CC=arm-none-eabi-gcc` builds only libwick.a.
# NO_SHARED=1 does the same for any compiler.
NO_SHARED ?= $(if $(findstring -none-,$(shell $(CC) -dumpmachine 2>/dev/null)),1,0)
lib: $(STATIC) $(if $(filter 1,$(NO_SHARED)),,$(BUILD)/libwick.so)
all: lib examples

# Order-only directory prerequisites keep `make -j` safe.
$(BUILD)/obj $(BUILD)/pic $(BUILD)/tests $(BUILD)/tests/support $(BUILD)/examples:
	$(Q)mkdir -p $@

$(BUILD)/obj/%.o: src/%.c | $(BUILD)/obj
	@echo "  CC      $@"
	$(Q)$(CC) $(ALL_CPPFLAGS) $(CFLAGS) $(LIBWARN) -MMD -MP -c $< -o $@

$(BUILD)/pic/%.o: src/%.c | $(BUILD)/pic
	@echo "  CC      $@"
	$(Q)$(CC) $(ALL_CPPFLAGS) -DWICK_BUILDING_SHARED $(CFLAGS) $(LIBWARN) -fPIC \
		-fvisibility=hidden -MMD -MP -c $< -o $@

$(STATIC): $(LIB_OBJ)
	@echo "  AR      $@"
	$(Q)rm -f $@ && $(AR) rcs $@ $^

$(SHARED): $(PIC_OBJ)
	@echo "  LD      $@"
	$(Q)$(CC) -shared -Wl,-soname,libwick.so.$(MAJOR) $(LDFLAGS) -o $@ $^ $(LIBCRYPTO)

$(BUILD)/libwick.so: $(SHARED)
	$(Q)ln -sf libwick.so.$(VERSION) $(BUILD)/libwick.so.$(MAJOR)
	$(Q)ln -sf libwick.so.$(VERSION) $@

# --- Tests -----------------------------------------------------------------

$(BUILD)/tests/support/%.o: tests/support/%.c | $(BUILD)/tests/support
	$(Q)$(CC) $(ALL_CPPFLAGS) -Itests $(CFLAGS) $(TEST_WARN) -MMD -MP -c $< -o $@

$(BUILD)/tests/%: tests/%.c $(SUPPORT_OBJ) $(STATIC) | $(BUILD)/tests
	@echo "  CC      $@"
	$(Q)$(CC) $(ALL_CPPFLAGS) -Itests $(CFLAGS) $(TEST_WARN) -MMD -MP $< $(SUPPORT_OBJ) \
		$(STATIC) $(LDFLAGS) -lcmocka $(LIBCRYPTO) -o $@

$(BUILD)/nostr:
	$(Q)mkdir -p $@

$(BUILD)/nostr/wick_err.o: src/wick_err.c | $(BUILD)/nostr
	$(Q)$(CC) $(ALL_CPPFLAGS) -DWICK_NO_ERR_STRINGS $(CFLAGS) $(LIBWARN) -MMD -MP -c $< -o $@

$(BUILD)/tests/test_err_nostr: tests/test_err.c $(BUILD)/nostr/wick_err.o $(SUPPORT_OBJ) $(STATIC) \
		| $(BUILD)/tests
	@echo "  CC      $@"
	$(Q)$(CC) $(ALL_CPPFLAGS) -DWICK_NO_ERR_STRINGS -Itests $(CFLAGS) $(TEST_WARN) $< \
		$(BUILD)/nostr/wick_err.o $(SUPPORT_OBJ) $(STATIC) $(LDFLAGS) -lcmocka $(LIBCRYPTO) -o $@

# Installs cmocka when missing (as root), or says exactly what to run.
deps-test:
	@sh tests/deps.sh

# Everything `make test` needs on a fresh Debian machine, installed in one
# go (as root; otherwise each script prints the exact command). `make
# test` does not need it first: each of its steps installs what it is
# missing. .ci/run runs it as its own step, so that the test step's time
# is the tests'.
deps:
	@sh tests/deps.sh
	@sh tests/firmware/deps.sh arm qemu multi cmake
	@sh tests/interop/deps.sh
	@sh tests/io/deps.sh
	@sh tests/chat/deps.sh

# Builds and runs every unit test in one variant (BUILD/SAN/WICK_OPENSSL).
test-variant: $(TEST_BIN)
	@set -e; for t in $(TEST_BIN); do \
		echo "== $$t"; \
		ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
		UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 $$t; \
	done

# The third build is -Os, which also leaves the engine's fast path out
# (WICK_NO_FAST_PATH, the default when optimizing for size), so both
# receive routes run every test; it also inflates with wick's own
# inflater (WICK_INFLATE=1), so the permessage-deflate tests run on both.
test-unit: deps-test
	$(Q)$(MAKE) --no-print-directory $(J) BUILD=build/test-plain WERROR=1 test-variant
	$(Q)$(MAKE) --no-print-directory $(J) BUILD=build/test-san WERROR=1 SAN=address,undefined \
		OPT=-O1 test-variant
	$(Q)$(MAKE) --no-print-directory $(J) BUILD=build/test-openssl WERROR=1 WICK_OPENSSL=1 OPT=-Os \
		WICK_INFLATE=1 test-variant

# The plain test binaries under valgrind.
valgrind: deps-test
	$(Q)$(MAKE) --no-print-directory BUILD=build/test-plain WERROR=1 build/test-plain/libwick.a \
		$(TEST_SRC:tests/%.c=build/test-plain/tests/%)
	@set -e; for t in $(TEST_SRC:tests/%.c=build/test-plain/tests/%); do \
		echo "== valgrind $$t"; \
		valgrind -q --error-exitcode=1 --leak-check=full $$t >/dev/null; \
	done

test-interop: examples
	@sh tests/interop/run.sh $(BUILD)

# Everything CI needs to trust a change: unit tests in three builds, the
# firmware and vendoring checks (test-firmware: amalgamation, cross builds
# on emulated Cortex-M, CMake, config limits, s390x and armhf), corpus
# replay through the fuzz targets, interop with Python websockets and Node
# ws, the conformance catalogue in both roles, and the chat example end to end.
test: test-unit
	$(Q)$(MAKE) --no-print-directory $(J) test-firmware
	$(Q)sh tests/install_test.sh
	$(Q)$(MAKE) --no-print-directory $(J) fuzz-replay
	$(Q)$(MAKE) --no-print-directory $(J) test-interop
	$(Q)$(MAKE) --no-print-directory $(J) conformance
	$(Q)$(MAKE) --no-print-directory $(J) test-chat
	$(Q)$(MAKE) --no-print-directory $(J) test-io

# --- Examples --------------------------------------------------------------

$(BUILD)/examples/%: examples/%.c $(STATIC) | $(BUILD)/examples
	@echo "  CC      $@"
	$(Q)$(CC) $(ALL_CPPFLAGS) $(CFLAGS) $(WARN) -D_GNU_SOURCE -MMD -MP $< $(STATIC) \
		$(LDFLAGS) $(LIBCRYPTO) -o $@

examples: $(EX_BIN)

# Examples on the shared I/O layer (examples/io, issue 14): its objects are
# linked into each; TLS (wss) through OpenSSL's libssl.
EXIO_SRC := $(wildcard examples/io/*.c)
EXIO_OBJ := $(EXIO_SRC:examples/io/%.c=$(BUILD)/examples/io/%.o)
EXIO_PROGS := echo_server echo_client autobahn_client
EXIO_LIBS := -lssl -lcrypto

$(BUILD)/examples/io:
	$(Q)mkdir -p $@

$(BUILD)/examples/io/%.o: examples/io/%.c | $(BUILD)/examples/io
	@echo "  CC      $@"
	$(Q)$(CC) $(ALL_CPPFLAGS) $(CFLAGS) $(WARN) -D_GNU_SOURCE -MMD -MP -c $< -o $@

$(EXIO_PROGS:%=$(BUILD)/examples/%): $(BUILD)/examples/%: examples/%.c $(EXIO_OBJ) $(STATIC) \
		| $(BUILD)/examples
	@echo "  CC      $@"
	$(Q)$(CC) $(ALL_CPPFLAGS) -Iexamples $(CFLAGS) $(WARN) -D_GNU_SOURCE -MMD -MP $< $(EXIO_OBJ) \
		$(STATIC) $(LDFLAGS) $(LIBCRYPTO) $(EXIO_LIBS) -o $@

-include $(wildcard $(BUILD)/examples/io/*.d)

# wss both ways, a bad certificate, SIGTERM under load (ASan), and the
# conformance catalogue against the libuv server (tests/io/run.sh; ~35 s).
.PHONY: test-io
test-io: lib
	@sh tests/io/run.sh $(BUILD)

# The same echo server on libuv, in one file (Debian libuv1-dev).
$(BUILD)/examples/echo_server_uv: examples/echo_server_uv.c $(STATIC) | $(BUILD)/examples
	@echo "  CC      $@"
	$(Q)$(CC) $(ALL_CPPFLAGS) $(CFLAGS) $(WARN) -D_GNU_SOURCE -MMD -MP $< $(STATIC) \
		$(LDFLAGS) $(LIBCRYPTO) -luv -o $@

# The main job: the chat server (examples/chat) on 127.0.0.1:8080.
run: lib
	@sh examples/chat/deps.sh
	$(Q)$(MAKE) --no-print-directory $(BUILD)/examples/chat_server
	$(BUILD)/examples/chat_server --host 127.0.0.1 --port 8080 --public examples/chat/public

# --- Install ---------------------------------------------------------------

install: lib
	install -d $(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(LIBDIR)/pkgconfig
	install -m 644 include/wick.h $(DESTDIR)$(INCLUDEDIR)/wick.h
	install -m 644 $(STATIC) $(DESTDIR)$(LIBDIR)/libwick.a
	install -m 755 $(SHARED) $(DESTDIR)$(LIBDIR)/libwick.so.$(VERSION)
	ln -sf libwick.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libwick.so.$(MAJOR)
	ln -sf libwick.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libwick.so
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' \
	    -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' -e 's|@VERSION@|$(VERSION)|' \
	    -e 's|@REQUIRES_PRIVATE@|$(if $(strip $(LIBCRYPTO)),Requires.private:$(if $(filter -lcrypto,$(LIBCRYPTO)), libcrypto)$(if $(filter -lz,$(LIBCRYPTO)), zlib),)|' \
	    wick.pc.in > $(DESTDIR)$(LIBDIR)/pkgconfig/wick.pc

uninstall:
	rm -f $(DESTDIR)$(INCLUDEDIR)/wick.h $(DESTDIR)$(LIBDIR)/libwick.a \
	      $(DESTDIR)$(LIBDIR)/libwick.so $(DESTDIR)$(LIBDIR)/libwick.so.$(MAJOR) \
	      $(DESTDIR)$(LIBDIR)/libwick.so.$(VERSION) $(DESTDIR)$(LIBDIR)/pkgconfig/wick.pc

# --- Checks ----------------------------------------------------------------

# Proves the default static library exports only wick_ names, has no
# writable globals and imports nothing but the mem* functions.
check-symbols: $(STATIC)
	@sh tests/check_symbols.sh $(STATIC)

lint:
	cppcheck --std=c99 --enable=warning,style,performance,portability --inline-suppr \
		--error-exitcode=1 --suppress=missingIncludeSystem -UWICK_CONFIG_FILE -Iinclude -Isrc $(DEFS) -q src
	clang-tidy --quiet $(LIB_SRC) -- -std=c99 -Iinclude -Isrc $(DEFS)

format:
	clang-format -i include/*.h src/*.c src/*.h

format-check:
	clang-format --dry-run --Werror include/*.h src/*.c src/*.h

# --- Fuzzing (issue 5): one libFuzzer target per fuzz/fuzz_*.c ---------------
FUZZ_SRC := $(wildcard fuzz/fuzz_*.c)
FUZZ_NAMES := $(FUZZ_SRC:fuzz/fuzz_%.c=%)
FUZZ_CC ?= clang
FUZZ_TIME ?= 20
# fuzz_utf8_diff also compares with the test suite's reference decoder.
FUZZ_DEFS := $(if $(wildcard tests/support/utf8_ref.c),-DWICK_FUZZ_UTF8_REF)
FUZZ_FLAGS := -std=c99 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
              -Iinclude -Isrc -Itests $(DEFS) $(FUZZ_DEFS)

# Seed corpora, generated from the unit-test vectors by fuzz/gen_corpus.c.
build/fuzz/corpus/.stamp: fuzz/gen_corpus.c $(wildcard tests/vectors/*.h) $(STATIC)
	$(Q)mkdir -p build/fuzz
	$(Q)$(CC) -std=c99 -O1 -Iinclude -Itests fuzz/gen_corpus.c $(STATIC) -o build/fuzz/gen_corpus
	$(Q)build/fuzz/gen_corpus build/fuzz/corpus
	$(Q)touch $@

build/fuzz/%: fuzz/fuzz_%.c fuzz/fuzz_util.h $(LIB_SRC) $(wildcard tests/support/*.c) \
		| build/fuzz/corpus/.stamp
	@echo "  FUZZ    $@"
	$(Q)$(FUZZ_CC) $(FUZZ_FLAGS) $< $(LIB_SRC) $(FUZZ_SUPPORT) $(LIBCRYPTO) -o $@

# The same targets as plain programs that replay a corpus (no clang needed).
build/fuzz/replay-%: fuzz/fuzz_%.c fuzz/fuzz_util.h fuzz/replay.c $(STATIC) \
		| build/fuzz/corpus/.stamp
	$(Q)$(CC) -std=c99 -g -O1 $(if $(SAN),-fsanitize=$(SAN)) -Iinclude -Isrc -Itests $(DEFS) \
		$(FUZZ_DEFS) \
		$< fuzz/replay.c $(FUZZ_SUPPORT) $(STATIC) $(LIBCRYPTO) -o $@

FUZZ_SUPPORT := $(wildcard tests/support/utf8_ref.c)

fuzz: $(FUZZ_NAMES:%=build/fuzz/%)

# Each target for FUZZ_TIME seconds from its seed corpus, with the dictionary.
fuzz-smoke: fuzz
	@set -e; for t in $(FUZZ_NAMES); do \
		mkdir -p build/fuzz/work/$$t; \
		echo "== fuzz $$t ($(FUZZ_TIME) s)"; \
		build/fuzz/$$t -max_total_time=$(FUZZ_TIME) -dict=fuzz/wick.dict \
			build/fuzz/work/$$t build/fuzz/corpus/$$t \
			$$( [ -d tests/regress/$$t ] && echo tests/regress/$$t ) \
			> build/fuzz/work/$$t.log 2>&1 || { tail -n 60 build/fuzz/work/$$t.log; exit 1; }; \
		grep -E '^#[0-9]+.*(DONE|pulse)' build/fuzz/work/$$t.log | tail -n 1; \
	done

# Replays seeds and regression inputs through every target (part of make test).
fuzz-replay: $(FUZZ_NAMES:%=build/fuzz/replay-%)
	@set -e; for t in $(FUZZ_NAMES); do \
		build/fuzz/replay-$$t build/fuzz/corpus/$$t $$( [ -d tests/regress/$$t ] && echo tests/regress/$$t ); \
	done

# Line and branch coverage of src/ (gcc --coverage + gcov): the unit tests,
# then every fuzz target replaying its seeds, tests/regress/ and the corpus
# grown by fuzz runs (build/fuzz/work/, when present). Prints one line per
# file, also kept in build/cov/coverage.txt. COV_UNIT=0: fuzz corpora only.
.PHONY: coverage
COV := build/cov
COV_FLAGS := -O0 -g --coverage
coverage: build/fuzz/corpus/.stamp
	$(Q)rm -rf $(COV) && mkdir -p $(COV)/fuzz
	-$(Q)$(MAKE) --no-print-directory -k BUILD=$(COV) CC=gcc CFLAGS="$(COV_FLAGS)" \
		LDFLAGS=--coverage $(COV)/libwick.a \
		$(if $(filter 0,$(COV_UNIT)),,$(TEST_SRC:tests/%.c=$(COV)/tests/%)) \
		> $(COV)/build.log 2>&1 || echo "coverage: some unit tests did not build"
	$(Q)for t in $(TEST_SRC:tests/%.c=$(COV)/tests/%); do \
		[ -x $$t ] && { $$t > $$t.log 2>&1 || echo "coverage: $$t failed"; }; \
	done; true
	$(Q)for t in $(FUZZ_NAMES); do \
		gcc -std=c99 $(COV_FLAGS) -Iinclude -Isrc -Itests $(DEFS) $(FUZZ_DEFS) \
			fuzz/fuzz_$$t.c fuzz/replay.c $(FUZZ_SUPPORT) $(COV)/libwick.a $(LIBCRYPTO) \
			-o $(COV)/fuzz/replay-$$t && \
		$(COV)/fuzz/replay-$$t build/fuzz/corpus/$$t $$(for d in tests/regress/$$t \
			build/fuzz/work/$$t; do [ -d $$d ] && echo $$d; done) \
			> $(COV)/fuzz/$$t.log 2>&1 || echo "coverage: replay-$$t failed"; \
	done
	$(Q)gcov -b -n -o $(COV)/obj $(LIB_SRC) 2>/dev/null | awk -F"'" ' \
		/^File / { f = $$2; keep = (f ~ /^src\/.*\.c$$/); if (keep) order[n++] = f; next } \
		!keep { next } \
		/^Lines executed/ { split($$0, a, /[:% ]+/); lp[f] = a[3]; ln[f] = a[5]; } \
		/^Taken at least once/ { split($$0, a, /[:% ]+/); bp[f] = a[5]; bn[f] = a[7]; } \
		END { printf "%-26s %8s %6s %9s %6s\n", "file", "lines", "of", "branches", "of"; \
		      for (i = 0; i < n; i++) { f = order[i]; \
		        printf "%-26s %7.1f%% %6d %8.1f%% %6d\n", f, lp[f], ln[f], bp[f], bn[f]; \
		        tl += lp[f] * ln[f] / 100; nl += ln[f]; tb += bp[f] * bn[f] / 100; nb += bn[f]; } \
		      printf "%-26s %7.1f%% %6d %8.1f%% %6d\n", "total", nl ? 100 * tl / nl : 0, nl, \
		        nb ? 100 * tb / nb : 0, nb; }' | tee $(COV)/coverage.txt

# --- Benchmarks (issue 7): tests/bench/, not part of CI. `make bench` builds
# the programs against $(BUILD)/libwick.a, a second bench_hs against a
# WICK_OPENSSL=1 library in $(BUILD)/bench-openssl, and runs
# tests/bench/run.sh (installs libwslay-dev with apt-get when missing and
# root; results in $(BUILD)/bench/results.txt). See docs/performance.md.
BENCH_DIR := $(BUILD)/bench
BENCH_PROGS := $(BENCH_DIR)/bench_stream $(BENCH_DIR)/bench_frame $(BENCH_DIR)/bench_utf8 \
               $(BENCH_DIR)/bench_hs $(BENCH_DIR)/loadgen $(BENCH_DIR)/bench_pmd
BENCH_PROGS += $(BENCH_DIR)/bench_inflate
BENCH_LIBS := -lwslay -lcrypto $(LIBCRYPTO)

$(BENCH_DIR):
	$(Q)mkdir -p $@

$(BENCH_DIR)/%: tests/bench/%.c tests/bench/bench_common.h $(STATIC) | $(BENCH_DIR)
	@echo "  CC      $@"
	$(Q)$(CC) $(ALL_CPPFLAGS) -D_GNU_SOURCE $(CFLAGS) $(TEST_WARN) $< $(STATIC) $(LDFLAGS) \
		$(BENCH_LIBS) -o $@

.PHONY: bench-progs
bench-progs: $(BENCH_PROGS) $(BUILD)/examples/echo_server

bench:
	@sh tests/bench/deps.sh
	$(Q)$(MAKE) --no-print-directory bench-progs
	$(Q)$(MAKE) --no-print-directory BUILD=$(BUILD)/bench-openssl WICK_OPENSSL=1 \
		$(BUILD)/bench-openssl/bench/bench_hs
	@sh tests/bench/run.sh $(BUILD)

# --- Code size: `make size` links two firmware programs for a Cortex-M0+
# (everything; the minimal engine) against a target build of src/ and
# reports the library's flash bytes per object and symbol, and sizeof the
# state structs (tests/size/size.sh; installs gcc-arm-none-eabi and
# libnewlib-arm-none-eabi with apt-get when missing and root). SIZE_CHECK=1
# fails when a budget of tests/size/budget.txt is exceeded.
.PHONY: size
size:
	@SIZE_CHECK=$(SIZE_CHECK) sh tests/size/size.sh $(BUILD)

# --- Chat server example (issue 6): examples/chat/*.c, one program --------------
# (EXIO_OBJ/EXIO_LIBS are defined above, with the examples.)
CHAT_SRC := $(wildcard examples/chat/*.c)
CHAT_OBJ := $(CHAT_SRC:examples/chat/%.c=$(BUILD)/examples/chat/%.o)

$(BUILD)/examples/chat:
	$(Q)mkdir -p $@

$(BUILD)/examples/chat/%.o: examples/chat/%.c | $(BUILD)/examples/chat
	@echo "  CC      $@"
	$(Q)$(CC) $(ALL_CPPFLAGS) $(CFLAGS) $(WARN) -D_GNU_SOURCE -MMD -MP -c $< -o $@

# On the shared I/O layer (examples/io: loop, sockets, TLS, HTTP, wick).
$(BUILD)/examples/chat_server: $(CHAT_OBJ) $(EXIO_OBJ) $(STATIC) | $(BUILD)/examples
	@echo "  LD      $@"
	$(Q)$(CC) $(CFLAGS) $(CHAT_OBJ) $(EXIO_OBJ) $(STATIC) $(LDFLAGS) -ljansson -lhiredis $(LIBCRYPTO) \
		$(EXIO_LIBS) -o $@

# The load generator for bench-chat (wick's client role, epoll).
$(BUILD)/tests/chat_load: tests/chat/chat_load.c $(STATIC) | $(BUILD)/tests
	@echo "  CC      $@"
	$(Q)$(CC) $(ALL_CPPFLAGS) $(CFLAGS) $(WARN) -D_GNU_SOURCE $< $(STATIC) $(LDFLAGS) $(LIBCRYPTO) -o $@

.PHONY: chat test-chat bench-chat
chat: $(BUILD)/examples/chat_server

# Installs what the tests need (Debian packages, npm playwright-core) and runs them.
test-chat:
	@sh tests/chat/run.sh $(BUILD)

bench-chat: chat $(BUILD)/tests/chat_load
	@sh tests/chat/bench.sh $(BUILD)

-include $(wildcard $(BUILD)/examples/chat/*.d)

# --- Conformance (issue 4): the Autobahn|Testsuite catalogue over raw sockets
# (Python standard library only), both roles. `conformance` skips the big 9.x
# cases (< 3 minutes); `conformance-full` runs them too and prints their
# round-trip times. Reports land in $(BUILD)/conformance/.
.PHONY: conformance conformance-full
conformance: $(BUILD)/examples/echo_server $(BUILD)/examples/autobahn_client
	@PYTHON=$(PYTHON) sh tests/conformance/run.sh $(BUILD)

conformance-full: $(BUILD)/examples/echo_server $(BUILD)/examples/autobahn_client
	@PYTHON=$(PYTHON) sh tests/conformance/run.sh --full $(BUILD)

clean:
	rm -rf build

-include $(wildcard $(BUILD)/obj/*.d $(BUILD)/pic/*.d $(BUILD)/tests/*.d $(BUILD)/nostr/*.d \
	$(BUILD)/tests/support/*.d $(BUILD)/examples/*.d)

# --- Firmware and vendoring (issue 12; docs/embedded.md) ---------------------

# `make amalgamation`: build/amalgamation/wick.c + wick.h, every src/*.c
# (globbed, so new sources join by themselves) as one translation unit.
AMALG_DIR := build/amalgamation
.PHONY: amalgamation test-amalgamation cross test-firmware test-qemu-m test-multiarch \
        test-limits test-cmake
amalgamation: $(AMALG_DIR)/wick.c

$(AMALG_DIR)/wick.c: tools/amalgamate.sh include/wick.h $(wildcard src/*.c src/*.h)
	$(Q)sh tools/amalgamate.sh $(AMALG_DIR)

# AMALGAMATION=1 builds libwick.a from it, private functions left extern so
# the unit tests that call private hooks link (test-variant uses this).
$(BUILD)/amalg/wick.o: $(AMALG_DIR)/wick.c
	$(Q)mkdir -p $(dir $@)
	@echo "  CC      $@"
	$(Q)$(CC) -I$(AMALG_DIR) $(DEFS) $(CPPFLAGS) -DWICK_AMALGAMATION_EXPORT_PRIVATE $(CFLAGS) \
		$(WARN) -c $< -o $@

# The one file compiles warning-free (gcc, clang, Cortex-M0+) and exports
# only public names; then every unit test runs against it. The 512-byte
# frame limit of the library build applies to the Cortex-M0+ build only:
# on the host at -O2 gcc inlines helpers that used to be in other files
# (608 bytes for the client handshake check), which is a deeper frame but
# not a deeper stack.
test-amalgamation: amalgamation
	$(Q)sh tests/firmware/deps.sh arm
	$(Q)sh tests/firmware/amalgamation.sh $(AMALG_DIR) "$(WARN) -Werror"
	$(Q)$(MAKE) --no-print-directory $(J) BUILD=build/test-amalg AMALGAMATION=1 WERROR=1 OPT=-O1 \
		test-variant

# `make cross`: libwick.a for Cortex-M0+ and Cortex-M4F with arm-none-eabi-gcc,
# freestanding, warning-free with -Werror (build/cross-m0plus, build/cross-m4f).
CROSS_PREFIX ?= arm-none-eabi-
CROSS_COMMON := -ffreestanding -ffunction-sections -fdata-sections -g
CROSS_M0PLUS := -mcpu=cortex-m0plus -mthumb -Os
CROSS_M4F := -mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16 -O2
# (WICK_ZLIB=0: firmware has no zlib.)
cross:
	$(Q)sh tests/firmware/deps.sh arm
	$(Q)$(MAKE) --no-print-directory BUILD=build/cross-m0plus CC=$(CROSS_PREFIX)gcc \
		AR=$(CROSS_PREFIX)ar WERROR=1 WICK_ZLIB=0 CFLAGS="$(CROSS_M0PLUS) $(CROSS_COMMON)" lib
	$(Q)$(MAKE) --no-print-directory BUILD=build/cross-m4f CC=$(CROSS_PREFIX)gcc \
		AR=$(CROSS_PREFIX)ar WERROR=1 WICK_ZLIB=0 CFLAGS="$(CROSS_M4F) $(CROSS_COMMON)" lib
	@for t in m0plus m4f; do \
		echo "cross: build/cross-$$t/libwick.a (text+data+bss of every object, before --gc-sections):"; \
		$(CROSS_PREFIX)size -t build/cross-$$t/libwick.a | tail -n 1; \
	done

# CMakeLists.txt: build, install, and a consumer through find_package(wick)
# and through add_subdirectory (tests/cmake/run.sh).
test-cmake:
	$(Q)sh tests/firmware/deps.sh cmake arm
	$(Q)sh tests/cmake/run.sh $(BUILD)

# Config safety (tests/firmware/limits.sh): with the default, the smallest
# and the largest limits, the handshake parser takes exactly what they
# allow, and a program and a library built with different limits do not
# link. Then the library and every unit test build with -Werror with the
# smallest and largest limits (the library also at -O2, where gcc 12 saw an
# array overrun at WICK_MAX_EXTENSIONS=1; 10 parameters per extension
# keeps every library frame under 512 bytes on 64-bit hosts), and the unit
# tests run, except those whose tables are written for the default limits
# (the handshake and permessage-deflate negotiation tests, test_sizes):
# built, not run. The smallest build is also the smallest engine: it leaves
# the extension hook out (WICK_NO_EXTENSIONS), and test_conn_hooks checks
# that a config asking for one is refused.
LIMITS_MIN := -DWICK_MAX_HEADERS=8 -DWICK_MAX_PROTOCOLS=1 -DWICK_MAX_EXTENSIONS=1 \
              -DWICK_MAX_EXT_PARAMS=1 -DWICK_MAX_HEADER_BYTES=1024
LIMITS_MAX := -DWICK_MAX_HEADERS=128 -DWICK_MAX_PROTOCOLS=32 -DWICK_MAX_EXTENSIONS=16 \
              -DWICK_MAX_EXT_PARAMS=10 -DWICK_MAX_HEADER_BYTES=65536
# The smallest build is also the smallest engine (no extension hook).
LIMITS_MIN_ENGINE := $(LIMITS_MIN) -DWICK_NO_EXTENSIONS
LIMITS_DEFAULT_ONLY := $(wildcard tests/test_hs_*.c tests/test_pmd*.c) tests/test_sizes.c
test-limits: amalgamation
	$(Q)sh tests/firmware/limits.sh $(AMALG_DIR) build/limits "$(LIMITS_MIN)" "$(LIMITS_MAX)"
	$(Q)$(MAKE) --no-print-directory $(J) BUILD=build/test-limits-min-O2 WERROR=1 OPT=-O2 \
		CPPFLAGS="$(LIMITS_MIN_ENGINE)" build/test-limits-min-O2/libwick.a >/dev/null
	$(Q)for v in min max; do \
		if [ $$v = min ]; then d="$(LIMITS_MIN_ENGINE)"; else d="$(LIMITS_MAX)"; fi; \
		$(MAKE) --no-print-directory $(J) BUILD=build/test-limits-$$v WERROR=1 OPT=-O1 \
			CPPFLAGS="$$d" $(LIMITS_DEFAULT_ONLY:tests/%.c=build/test-limits-$$v/tests/%) \
			>/dev/null || exit 1; \
		$(MAKE) --no-print-directory $(J) BUILD=build/test-limits-$$v WERROR=1 OPT=-O1 \
			CPPFLAGS="$$d" TEST_SRC="$(filter-out $(LIMITS_DEFAULT_ONLY),$(TEST_SRC))" \
			test-variant > build/test-limits-$$v.log 2>&1 || \
			{ tail -n 40 build/test-limits-$$v.log; exit 1; }; \
		echo "limits $$v: $$(grep -c '^== ' build/test-limits-$$v.log) unit test programs" \
			"passed; $(words $(LIMITS_DEFAULT_ONLY)) built"; \
	done

# The bare-metal test on emulated Cortex-M boards (qemu-system-arm with
# semihosting): micro:bit (Cortex-M0) with the Cortex-M0+ library of
# `make cross`, MPS2 AN386 (Cortex-M4F) with the M4F one
# (tests/firmware/qemu.sh, tests/firmware/baremetal/).
test-qemu-m: cross
	$(Q)sh tests/firmware/deps.sh qemu
	$(Q)sh tests/firmware/qemu.sh build/firmware

# Every unit test on big-endian s390x and on 32-bit armhf with NEON, under
# qemu-user (tests/firmware/multiarch.sh).
test-multiarch:
	$(Q)sh tests/firmware/deps.sh multi
	$(Q)sh tests/firmware/multiarch.sh "$(MAKE) $(J)"

# What `make test` runs for issue 12 (each step prints its time).
test-firmware:
	$(Q)sh tests/firmware/timed.sh test-amalgamation $(MAKE) --no-print-directory $(J) test-amalgamation
	$(Q)sh tests/firmware/timed.sh "cross + test-qemu-m" $(MAKE) --no-print-directory $(J) test-qemu-m
	$(Q)sh tests/firmware/timed.sh test-cmake $(MAKE) --no-print-directory $(J) test-cmake
	$(Q)sh tests/firmware/timed.sh test-limits $(MAKE) --no-print-directory $(J) test-limits
	$(Q)sh tests/firmware/timed.sh test-multiarch $(MAKE) --no-print-directory $(J) test-multiarch
