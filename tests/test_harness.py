"""Self-tests of the harness; they do not depend on mod_cors (load_cors=False)."""
import os
import shutil
import signal
import socket
import subprocess
import sys
import time

import pytest

import harness
from conftest import server_fixture
from harness import CrashDetected, Httpd, check_config, request

CONFIG = r'''
KeepAlive On
KeepAliveTimeout 1
<Location /dup>
    Header add X-Dup a
    Header add X-Dup b
</Location>
<Location /private>
    AuthType Basic
    AuthName test
    AuthUserFile "{root}/htpasswd"
    Require valid-user
</Location>
<VirtualHost 127.0.0.1:{port1}>
    DocumentRoot "{htdocs}/second"
</VirtualHost>
'''

CHUNKY_CGI = '''#!/bin/sh
printf 'Content-Type: text/plain\\r\\n\\r\\n'
printf 'one\\n'
sleep 0.3
printf 'two\\n'
'''

NPH_CGI = '''#!/bin/sh
printf 'HTTP/1.1 200 OK\\r\\nTransfer-Encoding: chunked\\r\\nX-Dup: 1\\r\\nX-Dup: 2\\r\\n\\r\\n'
printf '5;ext=1\\r\\nhello\\r\\n7\\r\\n, world\\r\\n0\\r\\nX-Trailer: t\\r\\n\\r\\n'
'''


def populate(h):
    h.write('index.html', 'hello index\n')
    h.write('dup/file.txt', 'dup\n')
    h.write('private/secret.txt', 'secret\n')
    h.write('second/index.html', 'second vhost\n')
    h.write('chunky.cgi', CHUNKY_CGI, mode=0o755)
    h.write_root('cgi-bin/nph-chunked', NPH_CGI, mode=0o755)
    h.write_root('cgi-bin/stderr', '#!/bin/sh\necho oops-from-cgi >&2\n'
                 'printf "Content-Type: text/plain\\r\\n\\r\\nok\\n"\n', mode=0o755)
    h.htpasswd('alice', 's3cret')


srv = server_fixture('harness', CONFIG, setup=populate, extra_listen=1, load_cors=False)


def test_static_get(srv):
    r = request(srv.port, 'GET', '/')
    assert r.status == 200 and r.reason == 'OK'
    assert r.body == b'hello index\n'
    assert r.get('Content-Length') == '12'
    assert r.raw_head.startswith('HTTP/1.1 200 OK\r\n')
    assert srv.access_log_lines()[-1].startswith('127.0.0.1 "GET / HTTP/1.1" 200 cors=')


def test_duplicate_headers_are_kept(srv):
    r = request(srv.port, 'GET', '/dup/file.txt')
    assert r.status == 200
    assert [h for h in r.headers if h[0] == 'X-Dup'] == [('X-Dup', 'a'), ('X-Dup', 'b')]
    assert r.get_all('x-dup') == ['a', 'b']
    with pytest.raises(AssertionError):
        r.get('X-Dup')


def test_cors_lines_filter():
    r = harness.Response(b'HTTP/1.1 204 No Content\r\nVary: Origin\r\nX-Other: 1\r\n'
                         b'access-control-allow-origin: *\r\nVARY: Accept\r\n'
                         b'Timing-Allow-Origin: *\r\nX-Timing-Allow-Origin: 1\r\n\r\n')
    assert r.cors_lines() == ['Vary: Origin', 'access-control-allow-origin: *',
                              'VARY: Accept', 'Timing-Allow-Origin: *']


def test_chunked_cgi_from_httpd(srv):
    # keep-alive makes httpd chunk output of unknown length (the sleep in the
    # script defeats the computed Content-Length); the 1 s
    # KeepAliveTimeout then closes the connection
    r = request(srv.port, 'GET', '/chunky.cgi', headers=[('Connection', 'keep-alive')])
    assert r.status == 200
    assert r.get_all('Transfer-Encoding') == ['chunked']
    assert r.body == b'one\ntwo\n'


def test_chunked_nph_with_extension_and_trailer(srv):
    r = request(srv.port, 'GET', '/cgi-bin/nph-chunked')
    assert r.status == 200
    assert r.get_all('X-Dup') == ['1', '2']
    assert r.body == b'hello, world'


def test_basic_auth(srv):
    assert request(srv.port, 'GET', '/private/secret.txt').status == 401
    r = request(srv.port, 'GET', '/private/secret.txt',
                headers=[('Authorization', 'Basic YWxpY2U6czNjcmV0')])
    assert r.status == 200 and r.body == b'secret\n'


def test_second_port_placeholder(srv):
    assert len(srv.ports) == 2
    assert request(srv.ports[1], 'GET', '/').body == b'second vhost\n'


def test_raw_and_http10(srv):
    r = request(srv.port, None, None, raw=b'GET / HTTP/1.1\r\nHost: a\x00b\r\n\r\n')
    assert r.status == 400
    r = request(srv.port, 'HEAD', '/', http10=True, host=None)
    assert r.status == 200 and r.body == b''


@pytest.mark.allow_log(r'oops-from-cgi')
def test_log_checking(srv):
    mark = srv.log_mark()
    assert request(srv.port, 'GET', '/cgi-bin/stderr').body == b'ok\n'
    lines = srv.bad_log_lines(mark)
    assert len(lines) == 1 and 'oops-from-cgi' in lines[0], lines
    assert srv.bad_log_lines(mark, allow=[r'oops-from-cgi']) == []


def test_graceful(srv):
    pid = srv.pid
    srv.graceful()
    assert srv.pid == pid
    assert request(srv.port, 'GET', '/').status == 200


def test_start_stop():
    h = Httpd('startstop', '', load_cors=False)
    h.write('index.html', 'x')
    h.start()
    pid, port = h.pid, h.port
    assert os.path.exists('/proc/%d' % pid)
    # it serves (and apache2 -X under valgrind, whose listener has seen a
    # connection, then acts on the SIGTERM that stops it)
    assert h.request('GET', '/index.html').status == 200
    assert h.stop() == []
    assert not harness._pid_alive(pid) and h.pid is None
    with pytest.raises(OSError):
        socket.create_connection(('127.0.0.1', port), timeout=1).close()
    if not harness.HTTPD_WRAPPER:
        # a graceful stop: no SIGTERM, so none of the event MPM's forced closes
        assert any('shutting down gracefully' in l for l in h.log_since(h.start_mark))
        assert not any('caught SIGTERM' in l for l in h.log_since(h.start_mark))


# ---- crash checks: a process of a test server dying must fail the run

def crash_child(h):
    """SIGSEGV one process of the server h started: a worker child (event: the
    processes with threads, not mod_cgid's daemon), or under CORS_HTTPD_WRAPPER
    the one process of apache2 -X.  Returns its pid."""
    with open('/proc/%d/cmdline' % h.pid, 'rb') as f:
        assert h.root.encode() in f.read(), 'pid %d is not httpd %s' % (h.pid, h.name)
    if harness.HTTPD_WRAPPER:
        victim = h.pid
    else:
        kids = harness.children_of(h.pid)
        assert kids, 'httpd %s (pid %d) has no children' % (h.name, h.pid)
        victim = max(kids, key=lambda k: len(os.listdir('/proc/%d/task' % k)))
    os.kill(victim, signal.SIGSEGV)
    return victim


def wait_for(fn, timeout):
    deadline = time.time() + timeout
    while time.time() < deadline:
        got = fn()
        if got:
            return got
        time.sleep(0.05)
    return fn()


def _crash_line_of(lines, victim):
    """The lines reporting victim's SIGSEGV: httpd's AH00052, or under -X the
    harness's own about apache2 -X's exit and valgrind's."""
    return [l for l in lines if str(victim) in l and any(
        s in l for s in ('Segmentation fault (11)', 'SIGSEGV (11)', 'signal 11 (SIGSEGV)'))]


def wait_crash_seen(h, victim):
    """Wait until h's crash check shows victim's death (under -X: until apache2 -X
    is gone too, so that the check has all there is to say); the new lines."""
    def seen():
        gone = not harness.HTTPD_WRAPPER or h.proc.poll() is not None
        return gone and _crash_line_of(h.new_crash_lines(), victim)
    assert wait_for(seen, 10 * harness.TIME_SCALE), h.new_crash_lines()
    return h.new_crash_lines()


def _crash_server(name):
    h = Httpd(name, '', load_cors=False)
    h.write('index.html', 'x')
    h.start()
    assert h.request('GET', '/').status == 200     # -X: up, not still starting
    return h


def test_child_crash_during_a_test_is_reported(monkeypatch):
    monkeypatch.setattr(Httpd, 'crashes_found', [])   # this crash is on purpose
    h = _crash_server('crash-during')
    try:
        assert h.new_crash_lines() == [] and h.check_crashes('before') == []
        victim = crash_child(h)
        lines = wait_crash_seen(h, victim)
        # what conftest.py runs after each test using a server
        with pytest.raises(CrashDetected) as e:
            h.check_crashes('during the test')
        assert all(l in str(e.value) for l in lines)
        assert Httpd.crashes_found == [(h.name, 'during the test', lines)]
        assert h.check_crashes('later') == []            # each line once
        if not harness.HTTPD_WRAPPER:                    # httpd forks another child
            assert h.request('GET', '/').status == 200
    finally:
        h.stop()
    assert len(Httpd.crashes_found) == 1                 # not again at stop()


def test_child_crash_just_before_stop_is_reported(monkeypatch):
    monkeypatch.setattr(Httpd, 'crashes_found', [])
    h = _crash_server('crash-stop')
    pid = h.pid
    victim = crash_child(h)
    with pytest.raises(CrashDetected) as e:
        h.stop()                                         # at once: no wait for the log
    assert _crash_line_of(str(e.value).splitlines(), victim), str(e.value)
    assert not harness._pid_alive(pid) and h.pid is None
    assert [(n, w) for n, w, _ in Httpd.crashes_found] == [(h.name, 'stop')]


def test_graceful_stop_fallback_is_reported(monkeypatch):
    """A parent that does not stop on SIGWINCH (here: stopped with SIGSTOP) gets
    SIGTERM, then SIGKILL; each is reported, and fails like a crash."""
    monkeypatch.setattr(Httpd, 'crashes_found', [])
    h = _crash_server('stop-fallback')
    if harness.HTTPD_WRAPPER:
        pytest.fail('not meaningful under CORS_HTTPD_WRAPPER: deselect it by name')
    monkeypatch.setattr(harness, 'TIME_SCALE', 0.05)    # wait 0.75 s, not 15 s
    pid, kids = h.pid, harness.children_of(h.pid)
    os.kill(pid, signal.SIGSTOP)
    with pytest.warns(UserWarning) as warned:
        with pytest.raises(CrashDetected) as e:
            h.stop()
    msg = str(e.value)
    assert 'after SIGWINCH: sent SIGTERM (15)' in msg and 'sent SIGKILL (9)' in msg, msg
    assert any('sent SIGKILL' in str(w.message) for w in warned)
    assert not any(harness._pid_alive(p) for p in [pid] + kids)


PROBE = '''
import pytest
from conftest import server_fixture
from harness import Httpd
from test_harness import crash_child, wait_crash_seen

def _files(h):
    h.write('index.html', 'x')

srv = server_fixture('probe-test', '', setup=_files, load_cors=False)
srv2 = server_fixture('probe-teardown', '', setup=_files, load_cors=False)

def _note(victim):
    with open(%(victims)r, 'a') as f:
        f.write('%%d\\n' %% victim)

def test_crash_in_test(srv):
    assert srv.request('GET', '/').status == 200
    victim = crash_child(srv)
    _note(victim)
    wait_crash_seen(srv, victim)

def test_next_one_passes(srv):
    pass

@pytest.fixture
def crash_at_teardown(srv2):
    yield srv2
    _note(crash_child(srv2))        # after the test, right before srv2 stops

def test_left_running():
    h = Httpd('probe-left', '', load_cors=False)
    h.write('index.html', 'x')
    h.start()
    assert h.request('GET', '/').status == 200
    victim = crash_child(h)
    _note(victim)
    wait_crash_seen(h, victim)

def test_crash_before_stop(crash_at_teardown):     # last: srv2 stops after it
    assert crash_at_teardown.request('GET', '/').status == 200
'''


def test_crashes_fail_tests_fixtures_and_the_session(tmp_path):
    """conftest.py's checks, in a pytest run of their own: a crash during a test
    fails that test, one just before a fixture's server stops fails the fixture,
    one in a server a test left running fails the session."""
    victims = tmp_path / 'victims'
    (tmp_path / 'test_probe.py').write_text(PROBE % {'victims': str(victims)})
    shutil.copy(os.path.join(harness.REPO, 'pytest.ini'), str(tmp_path))   # the marks
    env = dict(os.environ, PYTHONPATH=harness.HERE)
    p = subprocess.run([sys.executable, '-m', 'pytest', '-q', '-p', 'no:cacheprovider',
                        '-p', 'conftest', '-o', 'console_output_style=classic',
                        str(tmp_path / 'test_probe.py')], cwd=str(tmp_path), env=env,
                       capture_output=True, text=True, timeout=300 * harness.TIME_SCALE)
    out = p.stdout + p.stderr
    assert p.returncode == 1, out
    in_test, left, at_teardown = [int(v) for v in victims.read_text().split()]
    tail = out.splitlines()[-1]
    assert '1 failed' in tail and '3 passed' in tail and '1 error' in tail, out
    assert 'FAILED test_probe.py::test_crash_in_test' in out, out
    assert 'ERROR test_probe.py::test_crash_before_stop' in out, out
    summary = out[out.index('processes of test servers died abnormally'):]
    for name, where, victim in (('probe-test', 'during test_probe.py::test_crash_in_test',
                                 in_test),
                                ('probe-teardown', 'stop', at_teardown),
                                ('probe-left', 'stop', left)):
        section = summary.split('--- httpd %s, %s ---' % (name, where))[1].split('---')[0]
        assert _crash_line_of(section.splitlines(), victim), (name, out)


def test_missing_mod_cors_is_reported(monkeypatch):
    monkeypatch.setattr(harness, 'CORS_SO', '/nonexistent/mod_cors.so')
    with pytest.raises(RuntimeError, match='run "make"'):
        Httpd('nocors', '')


def test_check_config():
    assert check_config('Header set X-Ok 1', load_cors=False) == (0, 'Syntax OK\n')
    rc, out = check_config('NoSuchDirective here', load_cors=False)
    assert rc != 0
    assert "Invalid command 'NoSuchDirective'" in out


def test_check_config_crash_is_reported(monkeypatch):
    monkeypatch.setattr(Httpd, 'crashes_found', [])
    # apache2 -t, run by a "wrapper" that dies of SIGSEGV first (without the
    # sanitizer runtimes, whose handler would turn it into an exit status)
    monkeypatch.setattr(harness, 'HTTPD_WRAPPER', ['sh', '-c', 'kill -SEGV $$', 'sh'])
    monkeypatch.setattr(harness, 'HTTPD_PRELOAD', '')
    with pytest.raises(CrashDetected, match=r'apache2 -t exited on SIGSEGV \(11\)'):
        check_config('Header set X-Ok 1', name='crash', load_cors=False)
    assert [w for _, w, _ in Httpd.crashes_found] == ['apache2 -t']
