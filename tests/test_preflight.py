"""README "What the module sends", "Preflights" (and "Interaction with other
modules"): preflights answered by the module, before auth, redirects and handlers."""
from collections import namedtuple

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

# A preflight for method from origin, with Access-Control-Request-Headers:
# request_headers unless it is None, and the extra request header lines; its
# status, its exact Access-Control-*/Vary lines, and CORS_RESULT in the access log.
Case = namedtuple('Case', 'path origin method status lines result request_headers extra',
                  defaults=(None, ()))
CASES = [
    Case('/pf/x.txt', A, 'PUT', 204, ok(A, 'PUT'), 'preflight:ok'),
    Case('/pf/x.txt', A, 'PURGE', 204, ok(A, 'PURGE'), 'preflight:ok'),
    Case('/pf/x.txt', A, 'GET', 204, ok(A, 'GET', 'x-custom'), 'preflight:ok',
         request_headers='x-custom'),
    Case('/pf/x.txt', A, 'POST', 204, ok(A, 'POST', 'content-type'), 'preflight:ok',
         request_headers='content-type'),
    Case('/pf/x.txt', A, 'HEAD', 204, ok(A, 'HEAD'), 'preflight:ok'),
    Case('/pf/x.txt', A, 'PUT', 204, ok(A, 'PUT', 'content-type, x-custom'), 'preflight:ok',
         request_headers='content-type,x-custom'),
    Case('/pf/x.txt', A, 'PUT', 204, ok(A, 'PUT', 'x-custom, content-type'), 'preflight:ok',
         request_headers=' X-Custom ,\tContent-Type '),
    Case('/pf/x.txt', A, 'PUT', 204, ok(A, 'PUT', 'x-custom'), 'preflight:ok',
         request_headers=',, x-custom ,,'),
    Case('/pf/x.txt', A, 'PUT', 204, ok(A, 'PUT'), 'preflight:ok', request_headers=''),
    Case('/pf/x.txt', A, 'PUT', 204, ok(A, 'PUT', 'authorization'), 'preflight:ok',
         request_headers='authorization'),
    # a second Access-Control-Request-Headers line is part of the list
    Case('/pf/x.txt', A, 'PUT', 204, ok(A, 'PUT', 'x-custom, content-type'), 'preflight:ok',
         request_headers='x-custom', extra=(('Access-Control-Request-Headers', 'content-type'),)),
    Case('/pf/x.txt', A, 'PUT', 403, DENY, 'preflight:denied:header', request_headers='x-custom',
         extra=(('Access-Control-Request-Headers', 'x-evil'),)),
    # failures: 403, nothing but Vary
    Case('/pf/x.txt', EVIL, 'PUT', 403, DENY, 'preflight:denied:origin'),
    Case('/pf/x.txt', 'null', 'PUT', 403, DENY, 'preflight:denied:origin'),
    Case('/pf/x.txt', 'https://a.example/', 'PUT', 403, DENY, 'preflight:denied:origin'),
    Case('/pf/x.txt', A, 'put', 403, DENY, 'preflight:denied:method'),
    Case('/pf/x.txt', A, 'Patch', 403, DENY, 'preflight:denied:method'),
    Case('/pf/x.txt', A, 'OPTIONS', 403, DENY, 'preflight:denied:method'),
    Case('/pf/x.txt', A, 'CONNECT', 403, DENY, 'preflight:denied:method'),
    Case('/pf/x.txt', A, 'PUT, DELETE', 403, DENY, 'preflight:denied:malformed'),
    Case('/pf/x.txt', A, '', 403, DENY, 'preflight:denied:malformed'),
    Case('/pf/x.txt', A, 'PU(T', 403, DENY, 'preflight:denied:malformed'),
    Case('/pf/x.txt', A, 'PUT', 403, DENY, 'preflight:denied:header',
         request_headers='x-custom, x-evil'),
    Case('/pf/x.txt', A, 'PUT', 403, DENY, 'preflight:denied:header', request_headers='x-evil'),
    Case('/pf/x.txt', A, 'PUT', 403, DENY, 'preflight:denied:malformed',
         request_headers='x custom'),
    Case('/pf/x.txt', A, 'PUT', 403, DENY, 'preflight:denied:malformed',
         request_headers='x-custom;'),
    Case('/pf/x.txt', A, 'PUT', 403, DENY, 'preflight:denied:malformed',
         request_headers='x-custom, content-type: x'),
    # wildcards without credentials: '*' origin, concrete method and header names
    Case('/pf/star/x.txt', EVIL, 'PATCH', 204,
         ok('*', 'PATCH', 'x-anything, content-type', max_age='0'), 'preflight:ok',
         request_headers='x-anything,content-type'),
    Case('/pf/star/x.txt', 'null', 'PURGE', 204, ok('*', 'PURGE', max_age='0'), 'preflight:ok'),
    Case('/pf/star/x.txt', EVIL, 'PUT', 403, DENY, 'preflight:denied:header',
         request_headers='authorization'),
    Case('/pf/star/x.txt', EVIL, 'PUT', 403, DENY, 'preflight:denied:header',
         request_headers='x-a, Authorization'),
    Case('/pf/star/x.txt', EVIL, 'CONNECT', 403, DENY, 'preflight:denied:method'),
    Case('/pf/star/x.txt', EVIL, 'TRACE', 403, DENY, 'preflight:denied:method'),
    Case('/pf/star/x.txt', EVIL, 'TRACK', 403, DENY, 'preflight:denied:method'),
    Case('/pf/star/x.txt', EVIL, 'track', 403, DENY, 'preflight:denied:method'),
    Case('/pf/star/x.txt', EVIL, 'Connect', 403, DENY, 'preflight:denied:method'),
    # '*' covers no method or header named "*": the answer would echo it as
    # the wildcard
    Case('/pf/star/x.txt', EVIL, '*', 403, DENY, 'preflight:denied:method'),
    Case('/pf/star/x.txt', EVIL, 'PUT', 403, DENY, 'preflight:denied:header',
         request_headers='x-a, *'),
    Case('/pf/starcred/x.txt', A, '*', 403, DENY, 'preflight:denied:method'),
    # '*' allows every origin a browser can send, not garbage
    Case('/pf/star/x.txt', 'https://A.example', 'PUT', 403, DENY, 'preflight:denied:origin'),
    Case('/pf/star/x.txt', A + ', ' + B, 'PUT', 403, DENY, 'preflight:denied:origin'),
    # wildcards with credentials are answered with the concrete names
    Case('/pf/starcred/x.txt', A, 'PATCH', 204, ok(A, 'PATCH', 'x-anything', creds=True),
         'preflight:ok', request_headers='x-anything'),
    Case('/pf/starcred/x.txt', EVIL, 'PATCH', 403, DENY, 'preflight:denied:origin'),
    # credentials and Private Network Access
    Case('/pf/cred/x.txt', A, 'PUT', 204, ok(A, 'PUT', creds=True, vary=PNA_VARY), 'preflight:ok'),
    Case('/pf/cred/x.txt', A, 'PUT', 204,
         ok(A, 'PUT', creds=True, vary=PNA_VARY,
            extra=['Access-Control-Allow-Private-Network: true']),
         'preflight:ok', extra=(('Access-Control-Request-Private-Network', 'true'),)),
    Case('/pf/cred/x.txt', EVIL, 'PUT', 403, [PNA_VARY], 'preflight:denied:origin',
         extra=(('Access-Control-Request-Private-Network', 'true'),)),
    Case('/pf/x.txt', A, 'PUT', 204, ok(A, 'PUT'), 'preflight:ok',
         extra=(('Access-Control-Request-Private-Network', 'true'),)),
    # the default method list, and a header nobody listed
    Case('/pf/defaults/x.txt', B, 'POST', 204, ok(B, 'POST'), 'preflight:ok'),
    Case('/pf/defaults/x.txt', B, 'PUT', 403, DENY, 'preflight:denied:method'),
    # answered before authentication, authorization, redirects, rewrites, backends
    Case('/pf/auth/x.txt', A, 'PUT', 204, ok(A, 'PUT'), 'preflight:ok'),
    Case('/pf/denied/x.txt', A, 'PUT', 204, ok(A, 'PUT'), 'preflight:ok'),
    Case('/pf/moved', A, 'PUT', 204, ok(A, 'PUT'), 'preflight:ok'),
    Case('/pf/dir', A, 'PUT', 204, ok(A, 'PUT'), 'preflight:ok'),
    Case('/pf/rw/x', A, 'PUT', 204, ok(A, 'PUT'), 'preflight:ok'),
    Case('/pf/proxied/x.txt', A, 'PUT', 204, ok(A, 'PUT'), 'preflight:ok'),
    Case('/pf/nonexistent', A, 'DELETE', 204, ok(A, 'DELETE'), 'preflight:ok'),
]


@pytest.mark.parametrize('case', CASES, ids=lambda c: '%s %s %s %s' % (
    c.path, c.origin, c.method, c.request_headers))
def test_preflight(srv, case):
    before = len(srv.access_log_lines())
    r = preflight(srv, case.path, case.origin, case.method, case.request_headers, case.extra)
    check(r, case.status, case.lines, body=b'')
    assert r.get('Content-Length') in (None, '0')
    log = srv.access_log_lines()[before:]
    assert len(log) == 1 and log[0].endswith('cors=' + case.result), log


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
