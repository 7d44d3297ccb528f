"""README "CorsDebug" and "Preflights" (refused preflights the browser can
explain), and README "CorsAllowOrigin" (subdomain patterns on a public suffix,
per the Public Suffix List).  The configuration errors are in
test_config_errors.py, the merged fail-safe in test_grouping.py."""
import os
from collections import namedtuple

import pytest

from conftest import server_fixture
from cors_cases import A, EVIL, PREFLIGHT_VARY, check, preflight
from harness import HTTPD_WRAPPER, check_config

CONFIG = r'''
<Location /dbg>
    CorsAllowOrigin  https://a.example
    CorsAllowMethods PUT PATCH
    CorsAllowHeaders Content-Type X-Custom
    CorsMaxAge       600
    CorsDebug        On
</Location>
<Location /dbg/cred>
    CorsAllowCredentials On
</Location>
<Location /dbg/star>
    CorsAllowMethods *
    CorsAllowHeaders *
</Location>
<Location /dbg/off>
    CorsDebug Off
</Location>
<Location /dbg/status200>
    CorsPreflightStatus 200
</Location>
<Location /dbg/anyone>
    CorsAllowOrigin *
</Location>
<Location /dbg/listed>
    CorsAllowMethods GET POST DELETE
</Location>
# no CorsAllowMethods or CorsAllowHeaders: the defaults
<Location /dflt>
    CorsAllowOrigin https://a.example
    CorsDebug       On
</Location>
# the same policy without CorsDebug
<Location /plain>
    CorsAllowOrigin  https://a.example
    CorsAllowMethods PUT PATCH
    CorsAllowHeaders Content-Type X-Custom
</Location>
# docs/troubleshooting.md: the /api/ policy of docs/worked-example.md, with CorsDebug On
<Location /worked>
    CorsAllowOrigin      https://app.example.com https://admin.example.com
    CorsAllowOrigin      http://localhost:*
    CorsAllowMethods     GET POST PUT PATCH DELETE
    CorsAllowHeaders     Content-Type X-Requested-With X-CSRF-Token
    CorsExposeHeaders    ETag Location X-Total-Count
    CorsAllowCredentials On
    CorsMaxAge           600
    CorsDebug            On
</Location>

# subdomain patterns on public suffixes: allowed, without credentials
<Location /psl>
    CorsAllowOrigin https://*.github.io https://*.co.uk https://*.example.co.uk
</Location>
# not on the list, but suffixes of the list lie below it (s3.amazonaws.com, ...)
<Location /amz>
    CorsAllowOrigin https://*.amazonaws.com
</Location>
# an exact origin on a public suffix may have credentials
<Location /psl-exact>
    CorsAllowOrigin      https://github.io
    CorsAllowCredentials On
</Location>
'''


def _files(h):
    for d in ('dbg', 'dbg/cred', 'dbg/star', 'dbg/off', 'dbg/status200', 'dbg/anyone',
              'dbg/listed', 'dflt', 'plain', 'psl', 'amz', 'psl-exact', 'worked'):
        h.write(d + '/x.txt', 'x')
    # CorsDebug from .htaccess (AllowOverride FileInfo)
    h.write('ht/.htaccess', 'CorsAllowOrigin https://a.example\nCorsAllowMethods PUT\n'
                            'CorsDebug On\n')
    h.write('ht/x.txt', 'x')
    # a public-suffix pattern from .htaccess, without and with credentials
    h.write('pslht/.htaccess', 'CorsAllowOrigin https://*.github.io\n')
    h.write('pslht/x.txt', 'x')
    h.write('pslhtc/.htaccess', 'CorsAllowOrigin https://*.github.io\nCorsAllowCredentials On\n')
    h.write('pslhtc/x.txt', 'x')


# the start-up warnings about public suffixes (test_public_suffix_warning_once_at_start_up)
srv = server_fixture('debug-psl', CONFIG, setup=_files, allow_log=(r'\] CORS0004: ',))


def acao(origin=A, creds=False):
    return ['Access-Control-Allow-Origin: ' + origin] + (
        ['Access-Control-Allow-Credentials: true'] if creds else [])


def lists(methods, headers=None):
    return (['Access-Control-Allow-Methods: ' + methods]
            + (['Access-Control-Allow-Headers: ' + headers] if headers else []))


LISTED = 'Content-Type, X-Custom'      # /dbg's CorsAllowHeaders, as configured
ALL_METHODS = 'GET, HEAD, POST, PUT, PATCH'
DENIED = [PREFLIGHT_VARY]

# a preflight to path (origin, Access-Control-Request-Method and -Headers), its
# status, the exact Access-Control-*/Vary lines, and its CORS_RESULT
Debug = namedtuple('Debug', 'path origin method headers status lines result')
DEBUG_CASES = [
    # refused for the method: what the policy allows, never the method itself
    Debug('/dbg/x.txt', A, 'DELETE', None, 204,
          acao() + lists(ALL_METHODS, LISTED) + DENIED, 'preflight:denied:method'),
    Debug('/dbg/x.txt', A, 'DELETE', 'x-custom, x-other', 204,
          acao() + lists(ALL_METHODS, LISTED) + DENIED, 'preflight:denied:method'),
    # methods compare case-sensitively: 'put' is not PUT, and not listed
    Debug('/dbg/x.txt', A, 'patch', None, 204,
          acao() + lists(ALL_METHODS, LISTED) + DENIED, 'preflight:denied:method'),
    # refused for a header: the requested method (allowed) and the listed names
    Debug('/dbg/x.txt', A, 'PUT', 'x-evil', 204,
          acao() + lists('PUT', LISTED) + DENIED, 'preflight:denied:header'),
    Debug('/dbg/x.txt', A, 'PUT', 'Content-Type, X-Evil, x-custom', 204,
          acao() + lists('PUT', LISTED) + DENIED, 'preflight:denied:header'),
    Debug('/dbg/x.txt', A, 'GET', 'x-evil', 204,
          acao() + lists('GET', LISTED) + DENIED, 'preflight:denied:header'),
    # credentials, as on a successful answer
    Debug('/dbg/cred/x.txt', A, 'DELETE', None, 204,
          acao(creds=True) + lists(ALL_METHODS, LISTED) + DENIED, 'preflight:denied:method'),
    Debug('/dbg/cred/x.txt', A, 'PUT', 'x-evil', 204,
          acao(creds=True) + lists('PUT', LISTED) + DENIED, 'preflight:denied:header'),
    # `*`: never sent; a forbidden method gets GET, HEAD, POST; Authorization,
    # which `*` never covers, is left out, the names `*` does cover are listed
    Debug('/dbg/star/x.txt', A, 'TRACE', None, 204,
          acao() + lists('GET, HEAD, POST') + DENIED, 'preflight:denied:method'),
    Debug('/dbg/star/x.txt', A, 'CONNECT', 'x-any', 204,
          acao() + lists('GET, HEAD, POST', 'x-any') + DENIED, 'preflight:denied:method'),
    Debug('/dbg/star/x.txt', A, 'PUT', 'Authorization', 204,
          acao() + lists('PUT') + DENIED, 'preflight:denied:header'),
    Debug('/dbg/star/x.txt', A, 'PUT', 'x-any, authorization, x-more', 204,
          acao() + lists('PUT', 'x-any, x-more') + DENIED, 'preflight:denied:header'),
    # a name or a method "*" (a token) is never echoed, it would read as `*`:
    # '*' covers neither, so the method is refused for itself
    Debug('/dbg/star/x.txt', A, 'PUT', '*, x-any, authorization', 204,
          acao() + lists('PUT', 'x-any') + DENIED, 'preflight:denied:header'),
    Debug('/dbg/star/x.txt', A, '*', 'authorization', 204,
          acao() + lists('GET, HEAD, POST') + DENIED, 'preflight:denied:method'),
    # GET, HEAD and POST listed with others: each method once
    Debug('/dbg/listed/x.txt', A, 'PUT', None, 204,
          acao() + lists('GET, HEAD, POST, DELETE', LISTED) + DENIED,
          'preflight:denied:method'),
    # no methods or headers configured: the defaults, and no Allow-Headers
    Debug('/dflt/x.txt', A, 'DELETE', None, 204,
          acao() + lists('GET, HEAD, POST') + DENIED, 'preflight:denied:method'),
    Debug('/dflt/x.txt', A, 'POST', 'x-evil', 204,
          acao() + lists('POST') + DENIED, 'preflight:denied:header'),
    # the success status as configured; `*` as the Allow-Origin of a `*` scope
    Debug('/dbg/status200/x.txt', A, 'DELETE', None, 200,
          acao() + lists(ALL_METHODS, LISTED) + DENIED, 'preflight:denied:method'),
    Debug('/dbg/anyone/x.txt', EVIL, 'DELETE', None, 204,
          acao('*') + lists(ALL_METHODS, LISTED) + DENIED, 'preflight:denied:method'),
    # README "Preflights", the example
    Debug('/worked/x.txt', 'https://app.example.com', 'PUT', 'x-debug', 204,
          acao('https://app.example.com', creds=True)
          + lists('PUT', 'Content-Type, X-Requested-With, X-CSRF-Token') + DENIED,
          'preflight:denied:header'),
    # .htaccess
    Debug('/ht/x.txt', A, 'DELETE', None, 204,
          acao() + lists('GET, HEAD, POST, PUT') + DENIED, 'preflight:denied:method'),
    # still 403 with nothing: a refused origin, a malformed request, CorsDebug Off,
    # or no CorsDebug
    Debug('/dbg/x.txt', EVIL, 'DELETE', None, 403, DENIED, 'preflight:denied:origin'),
    Debug('/dbg/x.txt', EVIL, 'PUT', 'x-evil', 403, DENIED, 'preflight:denied:origin'),
    Debug('/dbg/x.txt', 'https://A.example', 'DELETE', None, 403, DENIED,
          'preflight:denied:origin'),
    Debug('/dbg/x.txt', A, 'PUT,', None, 403, DENIED, 'preflight:denied:malformed'),
    Debug('/dbg/x.txt', A, 'PUT', 'x-custom, x y', 403, DENIED,
          'preflight:denied:malformed'),
    # the first refused name decides CORS_RESULT; a malformed one after it
    # still means no such answer
    Debug('/dbg/x.txt', A, 'PUT', 'x-evil, x y', 403, DENIED, 'preflight:denied:header'),
    Debug('/dbg/x.txt', A, 'DELETE', 'x-custom, (x)', 403, DENIED,
          'preflight:denied:method'),
    Debug('/dbg/off/x.txt', A, 'DELETE', None, 403, DENIED, 'preflight:denied:method'),
    Debug('/plain/x.txt', A, 'DELETE', None, 403, DENIED, 'preflight:denied:method'),
    Debug('/plain/x.txt', A, 'PUT', 'x-evil', 403, DENIED, 'preflight:denied:header'),
    # successful preflights do not change (Max-Age included)
    Debug('/dbg/x.txt', A, 'PATCH', 'content-type', 204,
          acao() + lists('PATCH', 'content-type')
          + ['Access-Control-Max-Age: 600'] + DENIED, 'preflight:ok'),
    Debug('/dbg/star/x.txt', A, 'PURGE', 'x-any', 204,
          acao() + lists('PURGE', 'x-any') + ['Access-Control-Max-Age: 600'] + DENIED,
          'preflight:ok'),
]


@pytest.mark.parametrize('case', DEBUG_CASES,
                         ids=lambda c: '%s %s %s %s' % (c.path, c.origin, c.method, c.headers))
def test_debug_preflight(srv, case):
    r = preflight(srv, case.path, case.origin, case.method, case.headers)
    check(r, case.status, case.lines, body=b'')
    assert srv.access_log_lines()[-1].endswith('cors=' + case.result)


def test_debug_answer_names_neither_star_nor_the_refused_name(srv):
    # the property of every refused answer above, stated once more as a rule
    for c in DEBUG_CASES:
        if c.status == 403 or c.result == 'preflight:ok':
            continue
        refused = c.method if c.result.endswith('method') else None
        for line in c.lines:
            name, _, value = line.partition(': ')
            items = [x.strip() for x in value.split(',')]
            if name == 'Access-Control-Allow-Methods':
                assert '*' not in items and refused not in items, c
            if name == 'Access-Control-Allow-Headers':
                assert '*' not in items and 'x-evil' not in [x.lower() for x in items], c
                assert 'authorization' not in [x.lower() for x in items], c
            assert name != 'Access-Control-Max-Age', c


@pytest.mark.parametrize('path,method,headers,line', [
    ('/dbg/x.txt', 'DELETE', None,
     "CORS0022: preflight for DELETE from origin 'https://a.example' denied (answered under "
     "CorsDebug On: the method is not in CorsAllowMethods: 'DELETE')"),
    ('/dbg/x.txt', 'PUT', 'x-evil',
     "CORS0023: preflight for PUT from origin 'https://a.example' denied (answered under "
     "CorsDebug On: the header is not in CorsAllowHeaders: 'x-evil')"),
    ('/plain/x.txt', 'DELETE', None,
     "CORS0022: preflight for DELETE from origin 'https://a.example' denied (the method is "
     "not in CorsAllowMethods: 'DELETE')"),
])
def test_debug_log_line(srv, path, method, headers, line):
    mark = srv.log_mark()
    preflight(srv, path, A, method, headers)
    logged = [l for l in srv.log_since(mark) if 'CORS002' in l]
    assert len(logged) == 1 and logged[0].endswith(line), logged


def test_debug_on_actual_requests_changes_nothing(srv):
    # CorsDebug is about preflights: an actual DELETE is answered as without it
    for path in ('/dbg/x.txt', '/plain/x.txt'):
        r = srv.request('DELETE', path, headers=(('Origin', A),))
        check(r, 405, acao() + ['Vary: Origin'])


# ---- subdomain patterns on a public suffix ----------------------------------

# a GET of path with this Origin: the exact Access-Control-*/Vary lines of its 200
Psl = namedtuple('Psl', 'path origin lines')
PSL_CASES = [
    # allowed without credentials (none were asked for here)
    Psl('/psl/x.txt', 'https://alice.github.io', acao('https://alice.github.io') + ['Vary: Origin']),
    Psl('/psl/x.txt', 'https://shop.co.uk', acao('https://shop.co.uk') + ['Vary: Origin']),
    # a pattern under a registrable domain is no public suffix
    Psl('/psl/x.txt', 'https://www.example.co.uk',
        acao('https://www.example.co.uk') + ['Vary: Origin']),
    # never the suffix itself
    Psl('/psl/x.txt', 'https://github.io', ['Vary: Origin']),
    Psl('/psl/x.txt', 'https://co.uk', ['Vary: Origin']),
    # a public suffix below the pattern's domain: allowed, without credentials
    Psl('/amz/x.txt', 'https://attacker-bucket.s3.amazonaws.com',
        acao('https://attacker-bucket.s3.amazonaws.com') + ['Vary: Origin']),
    Psl('/amz/x.txt', 'https://amazonaws.com', ['Vary: Origin']),
    # an exact origin on a public suffix, with credentials
    Psl('/psl-exact/x.txt', 'https://github.io',
        acao('https://github.io', creds=True) + ['Vary: Origin']),
    Psl('/psl-exact/x.txt', 'https://alice.github.io', ['Vary: Origin']),
]


@pytest.mark.parametrize('case', PSL_CASES, ids=lambda c: '%s %s' % (c.path, c.origin))
def test_public_suffix_pattern(srv, case):
    check(srv.request('GET', case.path, headers=(('Origin', case.origin),)), 200, case.lines)


def test_public_suffix_in_htaccess(srv):
    """Allowed without credentials, and no warning for each request."""
    mark = srv.log_mark()
    for _ in range(3):
        r = srv.request('GET', '/pslht/x.txt', headers=(('Origin', 'https://a.github.io'),))
        check(r, 200, acao('https://a.github.io') + ['Vary: Origin'])
    assert not [l for l in srv.log_since(mark) if 'CORS00' in l and ':warn]' in l]


@pytest.mark.allow_log(r"pslhtc/\.htaccess: CorsAllowCredentials: 'https://\*\.github\.io' and "
                       r"'CorsAllowCredentials On' cannot be combined in one section")
def test_public_suffix_with_credentials_in_htaccess(srv):
    """httpd answers 500 for a bad .htaccess, and logs the message."""
    mark = srv.log_mark()
    r = srv.request('GET', '/pslhtc/x.txt', headers=(('Origin', 'https://a.github.io'),))
    assert r.status == 500 and r.cors_lines() == []
    assert [l for l in srv.log_since(mark) if 'the domain after' in l], srv.log_since(mark)


PSL_WARNING = ("CORS0004: CorsAllowOrigin: 'https://*.github.io': github.io is on the "
               "Public Suffix List: anyone can register a site under it, and every such "
               "site is allowed")


def _start_output(h):
    # apache2 -X under a wrapper (valgrind) writes to reports/stderr.txt instead
    path = os.path.join(h.reports, 'stderr.txt')
    extra = open(path, encoding='latin-1').read() if HTTPD_WRAPPER and os.path.exists(path) \
        else ''
    return h.start_output + extra


def test_public_suffix_warning_once_at_start_up(srv):
    """The warning goes to the terminal while httpd reads its configuration the
    first time, and to the error log, once per pattern; not on the second reading
    of the start-up, nor per request."""
    mark = srv.log_mark()
    srv.request('GET', '/psl/x.txt', headers=(('Origin', 'https://a.github.io'),))
    assert not [l for l in srv.log_since(mark) if 'CORS0004' in l]
    for out in (_start_output(srv), '\n'.join(srv.log_since(srv.start_mark))):
        warned = [l for l in out.splitlines() if 'CORS0004' in l]
        assert len(warned) == 3 and ':warn]' in warned[0] and PSL_WARNING in warned[0], warned
        assert "'https://*.co.uk': co.uk is on the Public Suffix List" in warned[1], warned
        assert "'https://*.amazonaws.com': " in warned[2], warned
        assert ".amazonaws.com, below amazonaws.com, is on the Public Suffix List" in warned[2]


def test_public_suffix_no_warning_on_graceful_restart(srv):
    mark = srv.log_mark()
    srv.graceful()
    check(srv.request('GET', '/psl/x.txt', headers=(('Origin', 'https://a.github.io'),)),
          200, acao('https://a.github.io') + ['Vary: Origin'])
    assert not [l for l in srv.log_since(mark) if 'CORS0004' in l]


@pytest.mark.parametrize('conf', ['CorsAllowOrigin https://*.github.io',
                                  'CorsAllowOrigin https://*.github.io:8443',
                                  'CorsAllowOrigin https://*.github.io:*'])
def test_public_suffix_warning_apachectl(conf):
    rc, out = check_config('<Location /x>\n%s\n</Location>' % conf, name='good')
    assert rc == 0 and 'Syntax OK' in out, out
    lines = [l for l in out.splitlines() if 'CORS0004' in l]
    assert len(lines) == 1 and ':warn]' in lines[0], out
    assert "github.io is on the Public Suffix List" in lines[0], out


@pytest.mark.parametrize('conf', ['CorsAllowOrigin https://github.io https://*.example.co.uk',
                                  'CorsAllowOrigin https://*.alice.github.io',
                                  'CorsAllowOrigin https://*.example.com'])
def test_no_public_suffix_no_warning(conf):
    rc, out = check_config('<Location /x>\n%s\nCorsAllowCredentials On\n</Location>' % conf,
                           name='good')
    assert rc == 0 and 'Syntax OK' in out and 'CORS0004' not in out, out


@pytest.mark.parametrize('conf', ['CorsDenyOrigin https://*.github.io',
                                  'CorsDenyOrigin none https://*.co.uk:*',
                                  'CorsDenyOrigin https://*.amazonaws.com'])
def test_public_suffix_deny_pattern_no_warning(conf):
    """Denying every site under a public suffix is safe: no warning, and no
    error with credentials (README "CorsDenyOrigin")."""
    rc, out = check_config('<Location /x>\nCorsAllowOrigin https://*.example.com\n%s\n'
                           'CorsAllowCredentials On\n</Location>' % conf, name='good')
    assert rc == 0 and 'Syntax OK' in out and 'CORS0004' not in out, out
