# mod_cors: build with apxs, test against a real apache2.
APXS    ?= $(shell command -v apxs 2>/dev/null || echo /usr/bin/apxs)
APACHE  ?= /usr/sbin/apache2
PYTHON  ?= /usr/bin/python3
WARN     = -Wc,-Wall -Wc,-Wextra -Wc,-Werror

.PHONY: all build install test test-event test-prefork run deps clean

all: build

build: .libs/mod_cors.so

.libs/mod_cors.so: mod_cors.c
	$(APXS) -c $(WARN) mod_cors.c

install: .libs/mod_cors.so
	$(APXS) -i -S LIBEXECDIR=$(DESTDIR)$$($(APXS) -q LIBEXECDIR) -n cors mod_cors.la

clean:
	rm -rf .libs *.la *.lo *.slo *.o tests/run run .pytest_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
