"""README "Merging": nested sections and .htaccess files; README "Merged
combinations fail safe": merged combinations that would be unsafe fail safe and
are logged once."""
from collections import namedtuple

import pytest

from conftest import server_fixture
from cors_cases import A, B, C, PREFLIGHT_VARY, check, preflight
from harness import request

D = 'https://d.example'
E = 'https://e.example'
F = 'https://f.example'

CONFIG = r'''
CorsAllowOrigin https://a.example
CorsExposeHeaders X-Server
<Location /m/child>
    CorsAllowMethods PUT
</Location>
<Location /m/lists>
    CorsAllowMethods PUT
    CorsAllowMethods DELETE PUT
    CorsAllowHeaders X-A
    CorsAllowHeaders x-b X-A
    CorsExposeHeaders X-One
    CorsExposeHeaders X-Two X-One
</Location>
<Location /m/replace>
    CorsAllowOrigin https://b.example
</Location>
<Location /m/twolines>
    CorsAllowOrigin https://b.example
    CorsAllowOrigin https://c.example
</Location>
<Location /m/none>
    CorsAllowOrigin none
</Location>
<Location /m/none/again>
    CorsAllowOrigin https://d.example
</Location>
<Location /m/off>
    CorsEngine Off
</Location>
<Location /m/off/on>
    CorsEngine On
</Location>
<Location /m/cred>
    CorsAllowCredentials On
    CorsMaxAge 0
</Location>
<Location /m/cred/off>
    CorsAllowCredentials Off
</Location>
<Directory "{htdocs}/m/dir">
    CorsAllowOrigin https://e.example
    <Files "*.json">
        CorsExposeHeaders X-Json
    </Files>
</Directory>
<Location /m/dir/loc>
    CorsAllowOrigin https://c.example
</Location>
<Directory "{htdocs}/m/noinfo">
    AllowOverride AuthConfig
</Directory>
<Location /m/regex>
    CorsAllowOriginMatch "https://[bc]\.example"
</Location>
<Location /m/regex/none>
    CorsAllowOrigin none
</Location>
<Location /m/regex/add>
    CorsAllowOrigin https://d.example
</Location>

<VirtualHost 127.0.0.1:{port1}>
    DocumentRoot "{htdocs}"
    CorsAllowOrigin https://v.example
</VirtualHost>

# merged combinations that one section alone may not have
<Location /m/unsafe>
    CorsAllowOrigin * https://b.example
</Location>
<Location /m/unsafe/cred>
    CorsAllowCredentials On
</Location>
<Location /m/exp>
    CorsExposeHeaders * X-A
</Location>
<Location /m/exp/cred>
    CorsAllowCredentials On
</Location>
<Location /m/wildre>
    CorsAllowOriginMatch "https://.*"
</Location>
<Location /m/wildre/cred>
    CorsAllowCredentials On
</Location>
<Location /m/pna>
    CorsAllowOrigin *
</Location>
<Location /m/pna/on>
    CorsAllowPrivateNetwork On
</Location>
'''

DIRS = ('m', 'm/child', 'm/lists', 'm/replace', 'm/twolines', 'm/none', 'm/none/again', 'm/off',
        'm/off/on', 'm/cred', 'm/cred/off', 'm/dir', 'm/dir/loc', 'm/ht', 'm/ht/sub',
        'm/ht/sub/again', 'm/ht/off', 'm/ht/child', 'm/regex', 'm/regex/none',
        'm/regex/add', 'm/unsafe', 'm/unsafe/cred', 'm/exp', 'm/exp/cred', 'm/pna',
        'm/pna/on', 'm/noinfo', 'm/htbad', 'm/wildre', 'm/wildre/cred')


def _files(h):
    for d in DIRS:
        h.write(d + '/x.txt', 'x')
    h.write('m/dir/x.json', '{}')
    h.write('m/ht/.htaccess', 'CorsAllowOrigin https://f.example\nCorsAllowMethods PATCH\n'
                              'CorsAllowCredentials On\n')
    h.write('m/ht/sub/.htaccess', 'CorsAllowOrigin none\n')
    h.write('m/ht/sub/again/.htaccess', 'CorsAllowOrigin https://d.example\n')
    h.write('m/ht/off/.htaccess', 'CorsEngine Off\n')
    h.write('m/ht/child/.htaccess', 'CorsExposeHeaders X-Child\n')
    h.write('m/noinfo/.htaccess', 'CorsAllowOrigin https://d.example\n')
    h.write('m/htbad/.htaccess', 'CorsMaxAge forever\n')


srv = server_fixture('merge', CONFIG, setup=_files, extra_listen=1)


def allowed(origin, expose='X-Server', creds=False):
    lines = ['Access-Control-Allow-Origin: ' + origin]
    if creds:
        lines.append('Access-Control-Allow-Credentials: true')
    if expose:
        lines.append('Access-Control-Expose-Headers: ' + expose)
    return lines + ['Vary: Origin']


DENIED = ['Vary: Origin']

# a GET to path with this Origin, and the exact Access-Control-*/Vary lines of its 200
Case = namedtuple('Case', 'path origin lines')
CASES = [
    Case('/m/x.txt', A, allowed(A)),
    Case('/m/x.txt', B, DENIED),
    Case('/m/child/x.txt', A, allowed(A)),              # inherits origins
    Case('/m/replace/x.txt', B, allowed(B)),            # replaces ...
    Case('/m/replace/x.txt', A, DENIED),                # ... does not add
    Case('/m/twolines/x.txt', B, allowed(B)),           # lines in one section add up
    Case('/m/twolines/x.txt', C, allowed(C)),
    Case('/m/twolines/x.txt', A, DENIED),
    Case('/m/none/x.txt', A, []),                       # out of scope: nothing at all
    Case('/m/none/again/x.txt', D, allowed(D)),
    Case('/m/none/again/x.txt', A, DENIED),
    Case('/m/off/x.txt', A, []),
    Case('/m/off/on/x.txt', A, allowed(A)),
    Case('/m/cred/x.txt', A, allowed(A, creds=True)),
    Case('/m/cred/off/x.txt', A, allowed(A)),           # Off is not "unset"
    Case('/m/dir/x.txt', E, allowed(E)),                # <Directory>
    Case('/m/dir/x.txt', A, DENIED),
    Case('/m/dir/x.json', E, allowed(E, expose='X-Json')),  # <Files> inside it
    Case('/m/dir/loc/x.txt', C, allowed(C)),            # <Location> merges last
    Case('/m/dir/loc/x.txt', E, DENIED),
    Case('/m/ht/x.txt', F, allowed(F, creds=True)),     # .htaccess
    Case('/m/ht/x.txt', A, DENIED),
    Case('/m/ht/sub/x.txt', F, []),                     # .htaccess none
    Case('/m/ht/sub/again/x.txt', D, allowed(D, creds=True)),
    Case('/m/ht/off/x.txt', F, []),
    Case('/m/ht/child/x.txt', F, allowed(F, creds=True, expose='X-Child')),
    Case('/m/regex/x.txt', B, allowed(B)),              # regex added to inherited origins
    Case('/m/regex/x.txt', A, allowed(A)),
    Case('/m/regex/x.txt', D, DENIED),
    Case('/m/regex/none/x.txt', B, []),                 # none clears origins and regexes
    Case('/m/regex/add/x.txt', D, allowed(D)),          # origins replaced, regex inherited
    Case('/m/regex/add/x.txt', C, allowed(C)),
    Case('/m/regex/add/x.txt', A, DENIED),
]


@pytest.mark.parametrize('case', CASES, ids=lambda c: '%s %s' % (c.path, c.origin))
def test_merge(srv, case):
    check(srv.request('GET', case.path, headers=(('Origin', case.origin),)), 200, case.lines)


def test_virtual_host(srv):
    r = srv.request('GET', '/m/x.txt', headers=(('Origin', 'https://v.example'),))
    check(r, 200, DENIED)
    port = srv.ports[1]
    r = request(port, 'GET', '/m/x.txt', headers=(('Origin', 'https://v.example'),))
    check(r, 200, allowed('https://v.example'))
    r = request(port, 'GET', '/m/x.txt', headers=(('Origin', A),))
    check(r, 200, DENIED)
    r = request(port, 'GET', '/m/ht/x.txt', headers=(('Origin', F),))     # .htaccess wins
    check(r, 200, allowed(F, creds=True))


def test_list_lines_add_up(srv):
    check(srv.request('GET', '/m/lists/x.txt', headers=(('Origin', A),)), 200,
          allowed(A, expose='X-One, X-Two'))
    for method in ('PUT', 'DELETE'):
        r = preflight(srv, '/m/lists/x.txt', A, method, 'x-a, X-B')
        check(r, 204, ['Access-Control-Allow-Origin: ' + A,
                       'Access-Control-Allow-Methods: ' + method,
                       'Access-Control-Allow-Headers: x-a, x-b', PREFLIGHT_VARY])
    check(preflight(srv, '/m/child/x.txt', A, 'DELETE'), 403, [PREFLIGHT_VARY])


def test_htaccess_preflight(srv):
    r = preflight(srv, '/m/ht/x.txt', F, 'PATCH', 'X-A')
    check(r, 403, [PREFLIGHT_VARY])                     # X-A not allowed
    r = preflight(srv, '/m/ht/x.txt', F, 'PATCH')
    check(r, 204, ['Access-Control-Allow-Origin: ' + F, 'Access-Control-Allow-Credentials: true',
                   'Access-Control-Allow-Methods: PATCH', PREFLIGHT_VARY])


def test_inherited_max_age_zero(srv):
    r = preflight(srv, '/m/cred/off/x.txt', A, 'PUT')
    check(r, 403, [PREFLIGHT_VARY])                     # default methods
    r = preflight(srv, '/m/cred/off/x.txt', A, 'POST')
    check(r, 204, ['Access-Control-Allow-Origin: ' + A, 'Access-Control-Allow-Methods: POST',
                   'Access-Control-Max-Age: 0', PREFLIGHT_VARY])


@pytest.mark.allow_log(r'CorsAllowOrigin not allowed here')
def test_htaccess_needs_fileinfo(srv):
    r = srv.request('GET', '/m/noinfo/x.txt', headers=(('Origin', D),))
    assert r.status == 500


@pytest.mark.allow_log(r"CorsMaxAge: 'forever' is not valid")
def test_htaccess_bad_value(srv):
    mark = srv.log_mark()
    r = srv.request('GET', '/m/htbad/x.txt', headers=(('Origin', A),))
    assert r.status == 500
    assert any("CorsMaxAge: 'forever' is not valid: give a whole number of seconds from 0 "
               "to 86400" in l for l in srv.log_since(mark))


def _warnings(srv, mark, tag):
    return [l for l in srv.log_since(mark) if tag in l and ':warn]' in l]


@pytest.mark.allow_log(r'CORS0030')
def test_merged_star_with_credentials_fails_safe(srv):
    mark = srv.log_mark()
    for _ in range(6):
        # a listed origin keeps its credentials ...
        check(srv.request('GET', '/m/unsafe/cred/x.txt', headers=(('Origin', B),)), 200,
              allowed(B, creds=True))
        # ... any other gets '*' and never Allow-Credentials
        check(srv.request('GET', '/m/unsafe/cred/x.txt', headers=(('Origin', C),)), 200,
              ['Access-Control-Allow-Origin: *', 'Access-Control-Expose-Headers: X-Server',
               'Vary: Origin'])
        r = preflight(srv, '/m/unsafe/cred/x.txt', C, 'POST')
        check(r, 204, ['Access-Control-Allow-Origin: *', 'Access-Control-Allow-Methods: POST',
                       PREFLIGHT_VARY])
    # logged, but not per request (once per server process)
    assert 1 <= len(_warnings(srv, mark, 'CORS0030')) <= 2


@pytest.mark.allow_log(r'CORS0033')
def test_merged_wildcard_regex_with_credentials(srv):
    mark = srv.log_mark()
    for _ in range(3):
        check(srv.request('GET', '/m/wildre/cred/x.txt', headers=(('Origin', C),)), 200,
              ['Access-Control-Allow-Origin: *', 'Access-Control-Expose-Headers: X-Server',
               'Vary: Origin'])
    check(srv.request('GET', '/m/wildre/x.txt', headers=(('Origin', C),)), 200, allowed(C))
    assert 1 <= len(_warnings(srv, mark, 'CORS0033')) <= 2
    assert _warnings(srv, mark, 'CORS0030') == []


@pytest.mark.allow_log(r'CORS0031')
def test_merged_expose_star_with_credentials(srv):
    check(srv.request('GET', '/m/exp/cred/x.txt', headers=(('Origin', A),)), 200,
          allowed(A, creds=True, expose='X-A'))
    check(srv.request('GET', '/m/exp/x.txt', headers=(('Origin', A),)), 200,
          allowed(A, expose='*, X-A'))


@pytest.mark.allow_log(r'CORS0032')
def test_merged_pna_with_star(srv):
    r = preflight(srv, '/m/pna/on/x.txt', A, 'POST',
                  extra=(('Access-Control-Request-Private-Network', 'true'),))
    check(r, 204, ['Access-Control-Allow-Origin: *', 'Access-Control-Allow-Methods: POST',
                   PREFLIGHT_VARY + ',Access-Control-Request-Private-Network'])
