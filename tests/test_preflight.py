"""SPEC §4: preflights answered by the module, before auth, redirects and handlers."""
import pytest

from conftest import server_fixture
from cors_cases import A, B, BACKEND_VHOST, EVIL, PREFLIGHT_VARY, check, preflight

CONFIG = r'''
# room for a header of 2,000 names (after httpd merged its lines)
LimitRequestFieldSize 65536
ProxyPass /pf/proxied/ http://127.0.0.1:{port1}/
<Location /pf>
    CorsAllowOrigin https://a.example
    CorsAllowMethods PUT DELETE PATCH PURGE
    CorsAllowHeaders Content-Type X-Custom Authorization
    CorsMaxAge 600
</Location>
<Location /pf/cred>
    CorsAllowCredentials On
    CorsAllowPrivateNetwork On
</Location>
<Location /pf/star>
    CorsAllowOrigin *
    CorsAllowMethods *
    CorsAllowHeaders *
    CorsMaxAge 0
</Location>
<Location /pf/starcred>
    CorsAllowMethods *
    CorsAllowHeaders *
    CorsAllowCredentials On
</Location>
<Location /pf/status200>
    CorsPreflightStatus 200
</Location>
<Location /pf/defaults>
    CorsAllowOrigin https://b.example
    CorsAllowMethods GET HEAD POST
    CorsAllowHeaders none-set-here
</Location>
<Location /pf/auth>
    AuthType Basic
    AuthName "private"
    AuthUserFile {root}/htpasswd
    Require valid-user
</Location>
<Location /pf/denied>
    Require all denied
</Location>
<Location /pf/moved>
    Redirect 301 /pf/moved /elsewhere
</Location>
''' + BACKEND_VHOST


def _files(h):
    h.htpasswd('alice', 'secret')
    for d in ('pf', 'pf/cred', 'pf/star', 'pf/starcred', 'pf/status200',
              'pf/auth', 'pf/denied', 'pf/dir', 'pf/defaults'):
        h.write(d + '/x.txt', 'x')
    h.write('pf/rw/.htaccess', 'RewriteEngine On\nRewriteRule ^ - [R=405]\n')
    h.write('outside/x.txt', 'x')
    h.write_root('backend/x.txt', 'backend')


srv = server_fixture('preflight', CONFIG, setup=_files, extra_listen=1)


def ok(origin, method, headers=None, max_age='600', creds=False, extra=(), vary=PREFLIGHT_VARY):
    lines = ['Access-Control-Allow-Origin: ' + origin]
    if creds:
        lines.append('Access-Control-Allow-Credentials: true')
    lines.append('Access-Control-Allow-Methods: ' + method)
    if headers:
        lines.append('Access-Control-Allow-Headers: ' + headers)
    if max_age is not None:
        lines.append('Access-Control-Max-Age: ' + max_age)
    return lines + list(extra) + [vary]


DENY = [PREFLIGHT_VARY]
PNA_VARY = PREFLIGHT_VARY + ',Access-Control-Request-Private-Network'

# (path, origin, method, request-headers, extra request headers, status, lines, CORS_RESULT)
CASES = [
    ('/pf/x.txt', A, 'PUT', None, (), 204, ok(A, 'PUT'), 'preflight:ok'),
    ('/pf/x.txt', A, 'PURGE', None, (), 204, ok(A, 'PURGE'), 'preflight:ok'),
    ('/pf/x.txt', A, 'GET', 'x-custom', (), 204, ok(A, 'GET', 'x-custom'), 'preflight:ok'),
    ('/pf/x.txt', A, 'POST', 'content-type', (), 204, ok(A, 'POST', 'content-type'), 'preflight:ok'),
    ('/pf/x.txt', A, 'HEAD', None, (), 204, ok(A, 'HEAD'), 'preflight:ok'),
    ('/pf/x.txt', A, 'PUT', 'content-type,x-custom', (), 204,
     ok(A, 'PUT', 'content-type, x-custom'), 'preflight:ok'),
    ('/pf/x.txt', A, 'PUT', ' X-Custom ,\tContent-Type ', (), 204,
     ok(A, 'PUT', 'x-custom, content-type'), 'preflight:ok'),
    ('/pf/x.txt', A, 'PUT', ',, x-custom ,,', (), 204, ok(A, 'PUT', 'x-custom'), 'preflight:ok'),
    ('/pf/x.txt', A, 'PUT', '', (), 204, ok(A, 'PUT'), 'preflight:ok'),
    ('/pf/x.txt', A, 'PUT', 'authorization', (), 204, ok(A, 'PUT', 'authorization'), 'preflight:ok'),
    # a second Access-Control-Request-Headers line is part of the list
    ('/pf/x.txt', A, 'PUT', 'x-custom', (('Access-Control-Request-Headers', 'content-type'),), 204,
     ok(A, 'PUT', 'x-custom, content-type'), 'preflight:ok'),
    ('/pf/x.txt', A, 'PUT', 'x-custom', (('Access-Control-Request-Headers', 'x-evil'),), 403,
     DENY, 'preflight:denied:header'),
    # failures: 403, nothing but Vary
    ('/pf/x.txt', EVIL, 'PUT', None, (), 403, DENY, 'preflight:denied:origin'),
    ('/pf/x.txt', 'null', 'PUT', None, (), 403, DENY, 'preflight:denied:origin'),
    ('/pf/x.txt', 'https://a.example/', 'PUT', None, (), 403, DENY, 'preflight:denied:origin'),
    ('/pf/x.txt', A, 'put', None, (), 403, DENY, 'preflight:denied:method'),
    ('/pf/x.txt', A, 'Patch', None, (), 403, DENY, 'preflight:denied:method'),
    ('/pf/x.txt', A, 'OPTIONS', None, (), 403, DENY, 'preflight:denied:method'),
    ('/pf/x.txt', A, 'CONNECT', None, (), 403, DENY, 'preflight:denied:method'),
    ('/pf/x.txt', A, 'PUT, DELETE', None, (), 403, DENY, 'preflight:denied:malformed'),
    ('/pf/x.txt', A, '', None, (), 403, DENY, 'preflight:denied:malformed'),
    ('/pf/x.txt', A, 'PU(T', None, (), 403, DENY, 'preflight:denied:malformed'),
    ('/pf/x.txt', A, 'PUT', 'x-custom, x-evil', (), 403, DENY, 'preflight:denied:header'),
    ('/pf/x.txt', A, 'PUT', 'x-evil', (), 403, DENY, 'preflight:denied:header'),
    ('/pf/x.txt', A, 'PUT', 'x custom', (), 403, DENY, 'preflight:denied:malformed'),
    ('/pf/x.txt', A, 'PUT', 'x-custom;', (), 403, DENY, 'preflight:denied:malformed'),
    ('/pf/x.txt', A, 'PUT', 'x-custom, content-type: x', (), 403, DENY, 'preflight:denied:malformed'),
    # wildcards without credentials: '*' origin, concrete method and header names
    ('/pf/star/x.txt', EVIL, 'PATCH', 'x-anything,content-type', (), 204,
     ok('*', 'PATCH', 'x-anything, content-type', max_age='0'), 'preflight:ok'),
    ('/pf/star/x.txt', 'null', 'PURGE', None, (), 204, ok('*', 'PURGE', max_age='0'), 'preflight:ok'),
    ('/pf/star/x.txt', EVIL, 'PUT', 'authorization', (), 403, DENY, 'preflight:denied:header'),
    ('/pf/star/x.txt', EVIL, 'PUT', 'x-a, Authorization', (), 403, DENY, 'preflight:denied:header'),
    ('/pf/star/x.txt', EVIL, 'CONNECT', None, (), 403, DENY, 'preflight:denied:method'),
    ('/pf/star/x.txt', EVIL, 'TRACE', None, (), 403, DENY, 'preflight:denied:method'),
    ('/pf/star/x.txt', EVIL, 'TRACK', None, (), 403, DENY, 'preflight:denied:method'),
    ('/pf/star/x.txt', EVIL, 'track', None, (), 403, DENY, 'preflight:denied:method'),
    ('/pf/star/x.txt', EVIL, 'Connect', None, (), 403, DENY, 'preflight:denied:method'),
    # '*' allows every origin a browser can send, not garbage
    ('/pf/star/x.txt', 'https://A.example', 'PUT', None, (), 403, DENY, 'preflight:denied:origin'),
    ('/pf/star/x.txt', A + ', ' + B, 'PUT', None, (), 403, DENY, 'preflight:denied:origin'),
    # wildcards with credentials are answered with the concrete names
    ('/pf/starcred/x.txt', A, 'PATCH', 'x-anything', (), 204,
     ok(A, 'PATCH', 'x-anything', creds=True), 'preflight:ok'),
    ('/pf/starcred/x.txt', EVIL, 'PATCH', None, (), 403, DENY, 'preflight:denied:origin'),
    # credentials and Private Network Access
    ('/pf/cred/x.txt', A, 'PUT', None, (), 204, ok(A, 'PUT', creds=True, vary=PNA_VARY), 'preflight:ok'),
    ('/pf/cred/x.txt', A, 'PUT', None, (('Access-Control-Request-Private-Network', 'true'),), 204,
     ok(A, 'PUT', creds=True, vary=PNA_VARY,
        extra=['Access-Control-Allow-Private-Network: true']), 'preflight:ok'),
    ('/pf/cred/x.txt', EVIL, 'PUT', None, (('Access-Control-Request-Private-Network', 'true'),), 403,
     [PNA_VARY], 'preflight:denied:origin'),
    ('/pf/x.txt', A, 'PUT', None, (('Access-Control-Request-Private-Network', 'true'),), 204,
     ok(A, 'PUT'), 'preflight:ok'),
    # the default method list, and a header nobody listed
    ('/pf/defaults/x.txt', B, 'POST', None, (), 204, ok(B, 'POST'), 'preflight:ok'),
    ('/pf/defaults/x.txt', B, 'PUT', None, (), 403, DENY, 'preflight:denied:method'),
    # answered before authentication, authorization, redirects, rewrites, backends
    ('/pf/auth/x.txt', A, 'PUT', None, (), 204, ok(A, 'PUT'), 'preflight:ok'),
    ('/pf/denied/x.txt', A, 'PUT', None, (), 204, ok(A, 'PUT'), 'preflight:ok'),
    ('/pf/moved', A, 'PUT', None, (), 204, ok(A, 'PUT'), 'preflight:ok'),
    ('/pf/dir', A, 'PUT', None, (), 204, ok(A, 'PUT'), 'preflight:ok'),
    ('/pf/rw/x', A, 'PUT', None, (), 204, ok(A, 'PUT'), 'preflight:ok'),
    ('/pf/proxied/x.txt', A, 'PUT', None, (), 204, ok(A, 'PUT'), 'preflight:ok'),
    ('/pf/nonexistent', A, 'DELETE', None, (), 204, ok(A, 'DELETE'), 'preflight:ok'),
]


@pytest.mark.parametrize('path,origin,method,acrh,extra,status,lines,result', CASES,
                         ids=['%s %s %s %s' % c[:4] for c in CASES])
def test_preflight(srv, path, origin, method, acrh, extra, status, lines, result):
    before = len(srv.access_log_lines())
    r = preflight(srv, path, origin, method, acrh, extra)
    check(r, status, lines, body=b'')
    assert r.get('Content-Length') in (None, '0')
    log = srv.access_log_lines()[before:]
    assert len(log) == 1 and log[0].endswith('cors=' + result), log


def test_status_200(srv):
    r = preflight(srv, '/pf/status200/x.txt', A, 'PUT')
    check(r, 200, ok(A, 'PUT'), body=b'')
    assert r.get('Content-Length') == '0'


def test_403_has_no_body_and_no_error_document(srv):
    r = preflight(srv, '/pf/x.txt', EVIL, 'PUT')
    check(r, 403, DENY, body=b'')
    assert r.get('Content-Length') == '0'
    assert r.get('Content-Type') is None


def test_backend_never_sees_preflight(srv):
    before = len(srv.access_log_lines())
    preflight(srv, '/pf/proxied/x.txt', A, 'PUT')
    log = srv.access_log_lines()[before:]
    assert len(log) == 1 and '"OPTIONS /pf/proxied/x.txt' in log[0], log


def test_actual_request_still_authenticated(srv):
    r = srv.request('GET', '/pf/auth/x.txt', headers=(('Origin', A),))
    check(r, 401, ['Access-Control-Allow-Origin: ' + A, 'Vary: Origin'])


def test_preflight_outside_scope_untouched(srv):
    r = preflight(srv, '/outside/x.txt', A, 'PUT')
    assert r.status == 200 and r.cors_lines() == []
    assert 'OPTIONS' in r.get('Allow')


def test_no_origin_is_not_a_preflight(srv):
    r = srv.request('OPTIONS', '/pf/x.txt', headers=(('Access-Control-Request-Method', 'PUT'),))
    check(r, 200, ['Vary: Origin'])


def test_commas_8k(srv):
    r = preflight(srv, '/pf/star/x.txt', A, 'PUT', ',' * 8000)
    check(r, 204, ok('*', 'PUT', max_age='0'), body=b'')


def _lines_of(names, per_line=500):
    """Spread the names over several header lines: httpd joins them."""
    return [('Access-Control-Request-Headers', ','.join(names[i:i + per_line]))
            for i in range(0, len(names), per_line)]


def test_2000_names(srv):
    names = ['x-h%d' % i for i in range(2000)]
    r = preflight(srv, '/pf/star/x.txt', A, 'PUT', extra=_lines_of(names))
    check(r, 204, ok('*', 'PUT', ', '.join(names), max_age='0'), body=b'')


def test_2000_names_one_bad(srv):
    names = ['x-h%d' % i for i in range(1999)] + ['authorization']
    r = preflight(srv, '/pf/star/x.txt', A, 'PUT', extra=_lines_of(names))
    check(r, 403, DENY, body=b'')
