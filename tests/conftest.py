"""pytest plumbing: module-scoped httpd fixtures, per-test error_log checks, and
crash checks: any sign that a process of a test server died abnormally (see
Httpd.crash_lines) fails the test it shows up in, the fixture whose server
shows it when it stops, or else the session."""
import os
import time

import pytest

import harness
from harness import CrashDetected, Httpd


def pytest_sessionstart(session):
    # A missing dependency is a failure, never a skip.  (mod_cors.so itself is
    # checked by Httpd(load_cors=True) so that harness tests run without it.)
    for path, hint in ((harness.APACHE, 'install apache2'),
                       (harness.HTPASSWD, 'install apache2-utils')):
        if not os.access(path, os.X_OK):
            pytest.exit('%s not found: %s' % (path, hint), returncode=3)
    session.config._cors_started = time.time()


def _report_text(reports):
    return '\n'.join('--- %s ---\n%s' % (path, text) for path, text in reports)


def pytest_sessionfinish(session, exitstatus):
    """Sanitizer/valgrind reports in any server root this session used (apache2 -t
    runs and servers started outside fixtures included) fail the session, and so does
    every crash a check found (Httpd.crashes_found: in a test, at a fixture's
    stop, in a server a test left running, stopped here)."""
    harness.stop_all()
    reports = harness.all_reports(getattr(session.config, '_cors_started', 0) - 1)
    reports += [r for r in Httpd.reports_found if r not in reports]
    msgs = []
    if reports:
        msgs.append('sanitizer/valgrind reports:\n' + _report_text(reports))
    if Httpd.crashes_found:
        msgs.append(harness.crash_report(Httpd.crashes_found))
    if msgs:
        tr = session.config.pluginmanager.get_plugin('terminalreporter')
        for msg in msgs:
            if tr:
                tr.write_line(msg, red=True)
            else:
                print(msg)
        session.exitstatus = 1


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
        started = time.time() - 1
        h.start()
        try:
            bad = h.bad_log_lines(h.start_mark, allow_log)
            if bad:
                pytest.fail('httpd %s logged at startup:\n%s' % (name, '\n'.join(bad)))
            yield h
        finally:
            problems = []
            try:
                h.stop()        # graceful; then the whole error log is checked
            except CrashDetected as e:
                problems.append(str(e))
            # valgrind writes its summary when the server exits
            reports = h.sanitizer_reports(started)
            if reports:
                problems.append('httpd %s: sanitizer/valgrind reports:\n%s'
                                % (name, _report_text(reports)))
            if problems:
                pytest.fail('\n'.join(problems), pytrace=False)
    return _server


def _servers(item):
    """Httpd instances among the fixture values of a test."""
    return [v for v in (getattr(item, 'funcargs', None) or {}).values()
            if isinstance(v, Httpd)]


@pytest.fixture(autouse=True)
def _log_marks(request):
    """Record error_log positions of all running servers before each test."""
    request.node._log_marks = {h: h.log_mark() for h in Httpd.running}
    request.node._started = time.time() - 1
    yield


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    outcome = yield
    marks = getattr(item, '_log_marks', {})
    started = getattr(item, '_started', 0)
    allow = [a for m in item.iter_markers('allow_log') for a in m.args]
    problems = []
    for h in _servers(item):
        mark = marks.get(h, h.start_mark)
        try:
            # the whole log since the server started: a crash between tests, or
            # during a graceful restart, shows up in the next test using it
            h.check_crashes('during ' + item.nodeid)
        except CrashDetected as e:
            problems.append(str(e))
        if outcome.excinfo is not None:
            # test failed anyway: attach the server's log (incl. cors:debug) to the report
            lines = h.log_since(mark)[-60:]
            if lines:
                item.add_report_section('call', 'error_log %s' % h.name, '\n'.join(lines))
        else:
            problems += ['[%s] %s' % (h.name, l) for l in h.bad_log_lines(mark, allow)
                         if not any(l in p for p in problems)]
        problems += ['[%s] sanitizer report %s:\n%s' % (h.name, path, text)
                     for path, text in h.sanitizer_reports(started)]
    if problems and outcome.excinfo is not None:
        # keep the test's own failure; the crash is in the report (and the session fails)
        item.add_report_section('call', 'crash and sanitizer checks', '\n'.join(problems))
    elif problems:
        pytest.fail('unexpected error_log lines (allow with @pytest.mark.allow_log):\n'
                    + '\n'.join(problems), pytrace=False)
