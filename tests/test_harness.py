"""Self-tests of the harness; they do not depend on mod_cors (load_cors=False)."""
import os
import socket

import pytest

import harness
from conftest import server_fixture
from harness import Httpd, check_config, request

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
                         b'access-control-allow-origin: *\r\nVARY: Accept\r\n\r\n')
    assert r.cors_lines() == ['Vary: Origin', 'access-control-allow-origin: *',
                              'VARY: Accept']


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
    h.stop()
    assert not harness._pid_alive(pid) and h.pid is None
    with pytest.raises(OSError):
        socket.create_connection(('127.0.0.1', port), timeout=1).close()


def test_missing_mod_cors_is_reported(monkeypatch):
    monkeypatch.setattr(harness, 'CORS_SO', '/nonexistent/mod_cors.so')
    with pytest.raises(RuntimeError, match='run "make"'):
        Httpd('nocors', '')


def test_check_config():
    assert check_config('Header set X-Ok 1', load_cors=False) == (0, 'Syntax OK\n')
    rc, out = check_config('NoSuchDirective here', load_cors=False)
    assert rc != 0
    assert "Invalid command 'NoSuchDirective'" in out
