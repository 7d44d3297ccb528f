# mod_cors: build with apxs, test against a real apache2.
#
#   make           build .libs/mod_cors.so (zero warnings: -Wall -Wextra -Werror)
#   make run       serve conf/examples/example.conf on http://127.0.0.1:8080,
#                  and the browser demo's pages on :8081 and :8082
#   make test      the pytest suite, under the event and the prefork MPM
#   make install   apxs -i (honours DESTDIR)
#
# `make run` and `make test` install missing Debian packages when run as
# root, and otherwise print the apt-get line to run.

APXS    ?= $(shell command -v apxs 2>/dev/null || echo /usr/bin/apxs)
PYTHON  ?= /usr/bin/python3
PORT    ?= 8080
WARN     = -Wc,-Wall -Wc,-Wextra -Wc,-Werror
PYTEST   = $(PYTHON) -m pytest -q -p no:cacheprovider

# Everything `make test` (and so CI) runs.  Each part of the project adds
# its targets with `TEST_TARGETS += ...` in its own block below.
TEST_TARGETS = test-event test-prefork

.PHONY: all build install test test-event test-prefork run clean

all: build

build: .libs/mod_cors.so

.libs/mod_cors.so: mod_cors.c
	@tools/deps.sh build
	$(APXS) -c $(WARN) mod_cors.c

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

test-event test-prefork:
	CORS_TEST_MPM=$(@:test-%=%) $(PYTEST) tests --ignore=tests/browser

clean:
	rm -rf .libs *.la *.lo *.slo *.o tests/run run .pytest_cache $(CLEAN_MORE)
	find . -name __pycache__ -type d -prune -exec rm -rf {} +

# ---- more targets: one block per part of the project, each appending to
# ---- TEST_TARGETS and CLEAN_MORE as it needs
# ---- packaging (issue 6)
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

# ---- browser suite (issue 3)
#   make test-browser      headless Chromium (Debian's chromium, driven by
#                          playwright-core from npm) fetching across origins
#                          from pages served by apache2 with the module
#   make demo-screenshot   run the `make run` demo in Chromium and refresh
#                          docs/demo.png
# The demo's page origins for `make run` (PORT is the API's):
TRUSTED_PORT   ?= 8081
UNTRUSTED_PORT ?= 8082
BROWSER_DIR     = tests/browser
TEST_TARGETS   += test-browser
CLEAN_MORE     += $(BROWSER_DIR)/node_modules

.PHONY: test-browser demo-screenshot browser-deps

browser-deps:
	@tools/deps.sh browser
	@$(MAKE) --no-print-directory build
	@$(MAKE) --no-print-directory $(BROWSER_DIR)/node_modules/.package-lock.json

# npm ci installs exactly package-lock.json (never `npx playwright install`:
# the browser is Debian's /usr/bin/chromium)
$(BROWSER_DIR)/node_modules/.package-lock.json: $(BROWSER_DIR)/package.json $(BROWSER_DIR)/package-lock.json
	cd $(BROWSER_DIR) && npm ci --no-audit --no-fund

test-browser: browser-deps
	$(PYTEST) $(BROWSER_DIR)

demo-screenshot: browser-deps
	CORS_DEMO_SCREENSHOT=$(CURDIR)/docs/demo.png $(PYTEST) $(BROWSER_DIR) -k demo
