# mod_cors: build with apxs, test against a real apache2.
#
#   make           build .libs/mod_cors.so (zero warnings: -Wall -Wextra -Werror)
#   make run       serve conf/examples/example.conf on http://127.0.0.1:8080,
#                  and the browser demo's pages on :8081 and :8082
#   make check     the quick loop: the pytest suite under the event MPM
#   make test      everything CI runs (.ci/run), in this order:
#                    test-event, test-prefork  the pytest suite under each MPM
#                    test-package    the Debian package and the tarball
#                    test-browser    Chromium and Firefox ESR (tests/browser)
#                    test-asan       the suite against an ASan+UBSan build
#                    test-valgrind   the suite under valgrind memcheck
#                    fuzz-ci         each libFuzzer harness, bounded
#   make install   apxs -i (honours DESTDIR)
# Developer documentation: docs/testing.md, docs/reliability.md,
# docs/performance.md.
#
# `make run` and `make test` install missing Debian packages when run as
# root, and otherwise print the apt-get line to run.

APXS    ?= $(shell command -v apxs 2>/dev/null || echo /usr/bin/apxs)
PYTHON  ?= /usr/bin/python3
PORT    ?= 8080
WARN     = -Wc,-Wall -Wc,-Wextra -Wc,-Werror
# libpsl (libpsl-dev): the Public Suffix List, read with the configuration
CORS_LIBS = -lpsl
PYTEST   = $(PYTHON) -m pytest -q -p no:cacheprovider

# Everything `make test` (and so CI) runs.  Each part of the project adds
# its targets with `TEST_TARGETS += ...` in its own block below.
TEST_TARGETS = test-event test-prefork

.PHONY: all build install check test test-event test-prefork run clean

all: build

build: .libs/mod_cors.so

.libs/mod_cors.so: mod_cors.c
	@tools/deps.sh build
	$(APXS) -c $(WARN) $(CORS_LIBS) mod_cors.c

install: .libs/mod_cors.so
	@mkdir -p "$(DESTDIR)$$($(APXS) -q LIBEXECDIR)"
	$(APXS) -i -S LIBEXECDIR="$(DESTDIR)$$($(APXS) -q LIBEXECDIR)" -n cors mod_cors.la

run:
	@tools/deps.sh run
	@$(MAKE) --no-print-directory build
	PORT=$(PORT) TRUSTED_PORT=$(TRUSTED_PORT) UNTRUSTED_PORT=$(UNTRUSTED_PORT) tools/run.sh

test:
	@tools/deps.sh test
	@$(MAKE) --no-print-directory build
	@$(MAKE) --no-print-directory $(TEST_TARGETS)

check:
	@tools/deps.sh test
	@$(MAKE) --no-print-directory build
	@$(MAKE) --no-print-directory test-event

test-event test-prefork:
	CORS_TEST_MPM=$(@:test-%=%) $(PYTEST) tests --ignore=tests/browser

clean:
	rm -rf .libs *.la *.lo *.slo *.o tests/run run .pytest_cache $(CLEAN_MORE)
	find . -name __pycache__ -type d -prune -exec rm -rf {} +

# ---- more targets: one block per part of the project, each appending to
# ---- TEST_TARGETS and CLEAN_MORE as it needs

# ---- packaging
#   make deb            build libapache2-mod-cors_VERSION-1_ARCH.deb here (DEB_OUT=dir)
#   make dist           write mod_cors-VERSION.tar.gz here (DIST_OUT=dir)
#   make test-package   build both, lint and unpack the .deb, serve with it,
#                       and build the tarball elsewhere
# Both build in a copy of the source files under tests/run/pkg/ (tools/package.sh).
DEB_OUT  ?= .
DIST_OUT ?= .
TEST_TARGETS += test-package
CLEAN_MORE   += mod_cors-*.tar.gz libapache2-mod-cors_*.deb

.PHONY: deb dist test-package

deb:
	@tools/deps.sh package
	tools/package.sh deb "$(DEB_OUT)"

dist:
	tools/package.sh dist "$(DIST_OUT)"

test-package:
	@tools/deps.sh package-test
	$(PYTEST) tests/package/check_package.py

# ---- browser suite (docs/testing.md)
#   make test-browser      headless Chromium and Firefox ESR (Debian's chromium
#                          and firefox-esr, driven by puppeteer-core from npm)
#                          fetching across origins from pages served by apache2
#                          with the module
#   make browser-table     run the suite, then write its cases x engines table
#                          to tests/browser/results.md and docs/testing.md
#                          (browser_table.py)
#   make demo-screenshot   run the `make run` demo in Chromium and refresh
#                          docs/demo.png
# The demo's page origins for `make run` (PORT is the API's):
TRUSTED_PORT   ?= 8081
UNTRUSTED_PORT ?= 8082
BROWSER_DIR     = tests/browser
TEST_TARGETS   += test-browser
CLEAN_MORE     += $(BROWSER_DIR)/node_modules

.PHONY: test-browser browser-table demo-screenshot browser-deps

browser-deps:
	@tools/deps.sh browser
	@$(MAKE) --no-print-directory build
	@$(MAKE) --no-print-directory $(BROWSER_DIR)/node_modules/.package-lock.json

# npm ci installs exactly package-lock.json; puppeteer-core downloads no
# browser (the browsers are Debian's /usr/bin/chromium and /usr/bin/firefox-esr)
$(BROWSER_DIR)/node_modules/.package-lock.json: $(BROWSER_DIR)/package.json $(BROWSER_DIR)/package-lock.json
	cd $(BROWSER_DIR) && PUPPETEER_SKIP_DOWNLOAD=1 npm ci --no-audit --no-fund

test-browser: browser-deps
	$(PYTEST) $(BROWSER_DIR)

# (all but the test that compares README.md's table with the cases: the table
# is written only when every other test passed)
browser-table: browser-deps
	$(PYTEST) $(BROWSER_DIR) --deselect $(BROWSER_DIR)/test_browser.py::test_docs_table_current
	$(PYTHON) $(BROWSER_DIR)/browser_table.py

demo-screenshot: browser-deps
	CORS_DEMO_SCREENSHOT=$(CURDIR)/docs/demo.png $(PYTEST) $(BROWSER_DIR) -k demo

# ---- reliability (docs/reliability.md): sanitizers, valgrind, fuzzing, soak
#   make test-asan      the pytest suite, event and prefork, against an ASan +
#                       UBSan build of the module in the stock apache2 (the
#                       runtimes preloaded); any report fails the run
#   make test-valgrind  the pytest suite under valgrind memcheck (apache2 -X,
#                       event MPM); any error or definite leak fails the run
#   make fuzz-ci        each libFuzzer harness (tests/fuzz/) for
#                       FUZZ_CI_SECONDS, seed corpus and regressions first
#   make fuzz           the same for FUZZ_SECONDS (FUZZ_HARNESSES="origin ...")
#   make fuzz-merge     add what `make fuzz` found that covers new code to the
#                       seed corpus (tests/fuzz/corpus/)
#   make fuzz-coverage  the share of mod_cors.c the corpora reach (llvm-cov)
#   make soak           wrk with graceful restarts, SOAK_SECONDS per policy,
#                       SOAK_CONNECTIONS; then SOAK_CYCLES graceful restart/stop
#                       cycles under load per MPM (tests/test_restart_stress.py,
#                       which `make test` runs briefly); figures in
#                       tests/soak/results.md (not in `make test`)
# Everything is built under tests/run/build/ (pytest does not look into a
# directory called build).  The sanitizer and valgrind builds compile
# mod_cors.c with tests/sanitize/pool_shim.h forced in (each of the module's
# pool allocations a malloc of its own); the fuzz harnesses #include it.
REL_BUILD        = tests/run/build
ASAN_SO          = $(REL_BUILD)/asan/.libs/mod_cors.so
VG_SO            = $(REL_BUILD)/valgrind/.libs/mod_cors.so
POOL_SHIM        = tests/sanitize/pool_shim.h
FUZZ_BIN         = $(REL_BUILD)/fuzz
FUZZ_WORK        = $(REL_BUILD)/fuzz-work
FUZZ_HARNESSES  ?= origin preflight config request
FUZZ_CI_SECONDS ?= 45
FUZZ_SECONDS    ?= 600
FUZZ_CC         ?= clang
SOAK_SECONDS    ?= 60
SOAK_CONNECTIONS ?= 256
SOAK_CYCLES      ?= 300
REL_PYTEST       = $(PYTEST) tests --ignore=tests/browser --ignore=tests/run
SANITIZE         = -fsanitize=address,undefined -fno-sanitize-recover=all \
                   -fno-omit-frame-pointer -g -O1
# leaks: httpd's processes exit without destroying their pools (see README)
ASAN_ENV         = ASAN_OPTIONS=detect_leaks=0:halt_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1:check_initialization_order=1 \
                   UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
                   CORS_SO=$(CURDIR)/$(ASAN_SO) \
                   CORS_HTTPD_PRELOAD="$$(ldd $(ASAN_SO) | awk '/lib(a|ub)san/ {printf "%s ", $$3}')"
VALGRIND         = valgrind --tool=memcheck --leak-check=full \
                   --show-leak-kinds=definite --errors-for-leak-kinds=definite \
                   --track-origins=yes --error-exitcode=99 --trace-children=no \
                   --vgdb=no --num-callers=40 --suppressions=$(CURDIR)/tests/sanitize/valgrind.supp \
                   --log-file={log}
FUZZ_CFLAGS      = -g -O1 -fsanitize=fuzzer,address,undefined \
                   -fno-sanitize-recover=all -fno-omit-frame-pointer \
                   -fsanitize-ignorelist=tests/fuzz/ubsan-ignore.txt \
                   -Wall -Wextra -Wno-missing-field-initializers \
                   -Wno-null-pointer-subtraction -Wno-unused-function \
                   $$(apr-1-config --cppflags --includes) $$(apu-1-config --includes) \
                   -I$$($(APXS) -q INCLUDEDIR)
FUZZ_LIBS        = $$(apu-1-config --link-ld) $$(apr-1-config --link-ld) -lpcre2-8 $(CORS_LIBS)
TEST_TARGETS    += test-asan test-valgrind fuzz-ci
CLEAN_MORE      += $(REL_BUILD)

.PHONY: test-asan test-valgrind fuzz-ci fuzz fuzz-build fuzz-merge fuzz-coverage soak

# Build in a directory of its own (libtool writes its objects next to the
# source: a symbolic link keeps them out of the normal build's way).
$(ASAN_SO): mod_cors.c $(POOL_SHIM)
	@tools/deps.sh sanitize
	@mkdir -p $(REL_BUILD)/asan && ln -sf ../../../../mod_cors.c $(REL_BUILD)/asan/mod_cors.c
	cd $(REL_BUILD)/asan && $(APXS) -c -Wc,-Wall -Wc,-Wextra \
	    -Wc,-include -Wc,$(CURDIR)/$(POOL_SHIM) $(SANITIZE:%=-Wc,%) \
	    -Wl,-fsanitize=address,undefined $(CORS_LIBS) mod_cors.c

$(VG_SO): mod_cors.c $(POOL_SHIM)
	@tools/deps.sh sanitize
	@mkdir -p $(REL_BUILD)/valgrind && ln -sf ../../../../mod_cors.c $(REL_BUILD)/valgrind/mod_cors.c
	cd $(REL_BUILD)/valgrind && $(APXS) -c $(WARN) \
	    -Wc,-include -Wc,$(CURDIR)/$(POOL_SHIM) $(CORS_LIBS) mod_cors.c

test-asan: $(ASAN_SO)
	CORS_TEST_MPM=event $(ASAN_ENV) $(REL_PYTEST)
	CORS_TEST_MPM=prefork $(ASAN_ENV) $(REL_PYTEST)

# -X: one process (valgrind follows no fork); event, so that a proxied
# request to the same server has a second thread to answer it.  A graceful
# restart needs the parent process -X does not have.
test-valgrind: $(VG_SO)
	CORS_TEST_MPM=event CORS_SO=$(CURDIR)/$(VG_SO) CORS_TEST_TIME_SCALE=6 \
	    CORS_HTTPD_WRAPPER="$(VALGRIND)" $(REL_PYTEST) -k 'not graceful'

$(FUZZ_BIN)/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz.h tests/fuzz/stubs.c tests/fuzz/stubs.h \
                    tests/fuzz/ubsan-ignore.txt mod_cors.c
	@tools/deps.sh fuzz
	@mkdir -p $(FUZZ_BIN)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $< tests/fuzz/stubs.c $(FUZZ_LIBS)

fuzz-build: $(FUZZ_HARNESSES:%=$(FUZZ_BIN)/fuzz_%)

fuzz-ci: fuzz-build
	tests/fuzz/run.sh $(FUZZ_BIN) $(FUZZ_WORK)/ci $(FUZZ_CI_SECONDS) $(FUZZ_HARNESSES)

fuzz: fuzz-build
	tests/fuzz/run.sh $(FUZZ_BIN) $(FUZZ_WORK)/long $(FUZZ_SECONDS) $(FUZZ_HARNESSES)

fuzz-merge: fuzz-build
	for h in $(FUZZ_HARNESSES); do \
	    $(FUZZ_BIN)/fuzz_$$h -merge=1 tests/fuzz/corpus/$$h $(FUZZ_WORK)/long/corpus/$$h || exit 1; \
	done

fuzz-coverage:
	@tools/deps.sh fuzz
	tests/fuzz/coverage.sh $(REL_BUILD)/fuzz-coverage $(FUZZ_WORK)/long/corpus $(FUZZ_HARNESSES)

soak:
	@tools/deps.sh soak
	@$(MAKE) --no-print-directory build
	$(PYTHON) tests/soak/soak.py --seconds $(SOAK_SECONDS) \
	    --connections $(SOAK_CONNECTIONS) --cycles $(SOAK_CYCLES) \
	    --out tests/soak/results.md

# ---- benchmark (docs/performance.md)
# make bench: mod_cors against plain httpd and the mod_headers / SetEnvIf /
# mod_rewrite recipes, in callgrind instructions per request and wrk
# requests per second, plus start-up at 100,000 origins; writes
# bench/results.md, bench/results.png and bench/callgrind-cors-10k.txt
# (about 15 minutes).  BENCH_QUICK=1: a smoke run of a few minutes, whose
# report goes to bench/run/quick/ instead.
# Never part of `make test`.
BENCH_QUICK ?=
CLEAN_MORE  += bench/run

.PHONY: bench
bench:
	@tools/deps.sh bench
	@$(MAKE) --no-print-directory build
	BENCH_QUICK=$(BENCH_QUICK) $(PYTHON) bench/bench.py
