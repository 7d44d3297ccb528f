"""pytest plumbing: module-scoped httpd fixtures and per-test error_log checks."""
import os

import pytest

import harness
from harness import Httpd


def pytest_sessionstart(session):
    # A missing dependency is a failure, never a skip.  (mod_cors.so itself is
    # checked by Httpd(load_cors=True) so that harness tests run without it.)
    for path, hint in ((harness.APACHE, 'install apache2'),
                       (harness.HTPASSWD, 'install apache2-utils')):
        if not os.access(path, os.X_OK):
            pytest.exit('%s not found: %s' % (path, hint), returncode=3)


def server_fixture(name, config, setup=None, extra_listen=0, modules=None,
                   load_cors=True, allow_log=(), mpm=None):
    """Return a module-scoped fixture yielding a started Httpd.

    Usage in a test module:  srv = server_fixture('basic', CONFIG, setup=fn)
    setup(httpd) is called before start to write htdocs files etc. (do not name
    that function `setup`: pytest runs a module-level setup() itself).  Startup
    warnings in the error log fail the fixture unless matched by allow_log.
    """
    @pytest.fixture(scope='module')
    def _server():
        h = Httpd(name, config, extra_listen=extra_listen, modules=modules,
                  load_cors=load_cors, mpm=mpm)
        if setup:
            setup(h)
        h.start()
        try:
            bad = h.bad_log_lines(h.start_mark, allow_log)
            if bad:
                pytest.fail('httpd %s logged at startup:\n%s' % (name, '\n'.join(bad)))
            yield h
        finally:
            h.stop()
    return _server


def _servers(item):
    """Httpd instances among the fixture values of a test."""
    return [v for v in (getattr(item, 'funcargs', None) or {}).values()
            if isinstance(v, Httpd)]


@pytest.fixture(autouse=True)
def _log_marks(request):
    """Record error_log positions of all running servers before each test."""
    request.node._log_marks = {h: h.log_mark() for h in Httpd.running}
    yield


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    outcome = yield
    marks = getattr(item, '_log_marks', {})
    allow = [a for m in item.iter_markers('allow_log') for a in m.args]
    problems = []
    for h in _servers(item):
        mark = marks.get(h, h.start_mark)
        if outcome.excinfo is not None:
            # test failed anyway: attach the server's log (incl. cors:debug) to the report
            lines = h.log_since(mark)[-60:]
            if lines:
                item.add_report_section('call', 'error_log %s' % h.name, '\n'.join(lines))
        else:
            problems += ['[%s] %s' % (h.name, l) for l in h.bad_log_lines(mark, allow)]
    if problems:
        pytest.fail('unexpected error_log lines (allow with @pytest.mark.allow_log):\n'
                    + '\n'.join(problems), pytrace=False)
