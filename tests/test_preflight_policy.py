"""A preflight answer is a response like any other for the rest of the server
(README "Interaction with other modules"): site-wide mod_headers lines, mod_expires
and output filters apply to it, and the module's Access-Control-* lines still
appear exactly once."""
import pytest

from conftest import server_fixture
from cors_cases import A, EVIL, PREFLIGHT_VARY, check, preflight

CONFIG = r'''
Header always set Strict-Transport-Security "max-age=63072000"
Header always set X-Content-Type-Options nosniff
Header always set X-CORS-Denied 1 "expr=reqenv('CORS_RESULT') =~ /denied/"
Header always set X-CORS-Result "expr=%{reqenv:CORS_RESULT}"
<Location /p>
    CorsAllowOrigin https://a.example
    CorsAllowMethods PUT
    CorsAllowHeaders X-A
    CorsMaxAge 60
    # others' Access-Control-* lines never reach the client
    Header always set Access-Control-Allow-Origin "https://evil.example"
    Header always set Access-Control-Max-Age 999
    Header set Access-Control-Allow-Methods "GET, PUT, DELETE, TRACE"
    Header set X-Onsuccess 1
    Header always merge Vary "Accept-Encoding"
</Location>
<Location /p/auth>
    AuthType Basic
    AuthName "cors"
    AuthUserFile "{root}/htpasswd"
    Require valid-user
</Location>
<Location /gz>
    CorsAllowOrigin https://a.example
    CorsAllowMethods PUT
    SetOutputFilter DEFLATE
</Location>
<Location /exp>
    CorsAllowOrigin https://a.example
    ExpiresActive On
    ExpiresDefault "access plus 1 hour"
</Location>
'''


def _files(h):
    h.htpasswd('u', 'p')
    for d in ('p', 'p/auth', 'gz', 'exp'):
        h.write(d + '/x.txt', 'x')


srv = server_fixture('preflightpolicy', CONFIG, setup=_files,
                     modules=['deflate', 'filter', 'expires'])

OK_LINES = ['Access-Control-Allow-Origin: ' + A, 'Access-Control-Allow-Methods: PUT',
            'Access-Control-Allow-Headers: x-a', 'Access-Control-Max-Age: 60',
            'Vary: Accept-Encoding,' + PREFLIGHT_VARY[len('Vary: '):]]
DENIED_LINES = OK_LINES[-1:]


def site_wide(r, result):
    """The site-wide lines, each exactly once, with CORS_RESULT visible to expr=."""
    assert r.get_all('Strict-Transport-Security') == ['max-age=63072000'], r.raw_head
    assert r.get_all('X-Content-Type-Options') == ['nosniff'], r.raw_head
    assert r.get_all('X-CORS-Result') == [result], r.raw_head
    assert r.get_all('X-CORS-Denied') == (['1'] if 'denied' in result else []), r.raw_head


@pytest.mark.parametrize('path', ['/p/x.txt', '/p/auth/x.txt'])
def test_allowed_preflight_gets_site_headers(srv, path):
    r = preflight(srv, path, A, 'PUT', 'X-A')
    check(r, 204, OK_LINES, body=b'')
    site_wide(r, 'preflight:ok')
    assert r.get_all('X-Onsuccess') == ['1'], r.raw_head


@pytest.mark.parametrize('origin,method,headers,result', [
    (EVIL, 'PUT', None, 'preflight:denied:origin'),
    (A, 'DELETE', None, 'preflight:denied:method'),
    (A, 'PUT', 'X-B', 'preflight:denied:header'),
    (A, 'PUT', 'X-A;', 'preflight:denied:malformed'),
])
def test_refused_preflight_gets_site_headers(srv, origin, method, headers, result):
    for path in ('/p/x.txt', '/p/auth/x.txt'):
        r = preflight(srv, path, origin, method, headers)
        check(r, 403, DENIED_LINES, body=b'')
        site_wide(r, result)
        # not an httpd error response: "Header set" (onsuccess) lines apply too
        assert r.get_all('X-Onsuccess') == ['1'], r.raw_head


def test_actual_request_gets_the_same(srv):
    r = srv.request('GET', '/p/x.txt', headers=(('Origin', A),))
    check(r, 200, ['Access-Control-Allow-Origin: ' + A, 'Vary: Accept-Encoding,Origin'])
    site_wide(r, 'allowed')
    r = srv.request('GET', '/p/auth/x.txt', headers=(('Origin', A),))
    check(r, 401, ['Access-Control-Allow-Origin: ' + A, 'Vary: Accept-Encoding,Origin'])
    site_wide(r, 'allowed')


@pytest.mark.parametrize('method,status', [('PUT', 204), ('DELETE', 403)])
def test_deflate_leaves_preflight_bodies_empty(srv, method, status):
    r = preflight(srv, '/gz/x.txt', A, method, extra=(('Accept-Encoding', 'gzip'),))
    assert r.status == status and r.body == b'', r.raw_head
    assert r.get('Content-Encoding') is None, r.raw_head


def test_expires_applies_to_preflight(srv):
    r = preflight(srv, '/exp/x.txt', A, 'POST')
    check(r, 204, ['Access-Control-Allow-Origin: ' + A, 'Access-Control-Allow-Methods: POST',
                   PREFLIGHT_VARY])
    assert r.get('Cache-Control') == 'max-age=3600', r.raw_head
    assert r.get('Expires') is not None, r.raw_head
