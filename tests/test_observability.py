"""README "Logging and CORS_RESULT": LogLevel cors:debug decision lines and the
CORS_RESULT variable."""
import os
import re
from collections import namedtuple

import pytest

from conftest import server_fixture
from cors_cases import A, EVIL, preflight
from harness import REPO

CONFIG = r'''
<Location /api>
    CorsAllowOrigin https://a.example
    CorsAllowMethods PUT
    Header always set X-Cors-Result "%{CORS_RESULT}e"
    Header always set X-Cors-Version "expr=%{note:CORS_VERSION}"
</Location>
<Location /api/rw>
    # per-directory mod_rewrite runs after the decision and can use it
    RewriteEngine On
    RewriteCond %{ENV:CORS_RESULT} =denied:origin
    RewriteRule ^ - [E=SAW_DENIED:1]
    Header always set X-Saw-Denied "%{SAW_DENIED}e" env=SAW_DENIED
</Location>
<Location /outside>
    Header always set X-Cors-Result "%{CORS_RESULT}e"
</Location>
'''

srv = server_fixture('observe', CONFIG, setup=lambda h: (h.write('api/x.txt', 'x'),
                                                          h.write('api/rw/x.txt', 'x'),
                                                          h.write('outside/x.txt', 'x')))


def _last_access(srv):
    return srv.access_log_lines()[-1]


@pytest.mark.parametrize('origin,result', [(A, 'allowed'), (EVIL, 'denied:origin'),
                                           ('https://A.example', 'denied:origin'),
                                           (None, 'no-origin')])
def test_actual_result(srv, origin, result):
    r = srv.request('GET', '/api/x.txt', headers=(('Origin', origin),) if origin else ())
    assert r.status == 200
    assert r.get_all('X-Cors-Result') == [result]
    assert _last_access(srv).endswith('cors=' + result)


def test_version_in_the_start_up_line_not_in_the_notes(srv):
    """The module's version is in its start-up line (and on the metrics page:
    test_counters.py::test_metrics_page), not a note of every request."""
    with open(os.path.join(REPO, 'mod_cors.c')) as f:
        version = re.search(r'#define CORS_VERSION "([^"]+)"', f.read()).group(1)
    r = srv.request('GET', '/api/x.txt', headers=(('Origin', A),))
    assert r.get_all('X-Cors-Result') == ['allowed']
    assert r.get_all('X-Cors-Version') == ['']     # the note is unset
    with open(srv.error_log) as f:
        assert 'CORS0001: mod_cors/%s: ' % version in f.read()


def test_result_visible_to_rewrite(srv):
    r = srv.request('GET', '/api/rw/x.txt', headers=(('Origin', EVIL),))
    assert r.get_all('X-Saw-Denied') == ['1']
    r = srv.request('GET', '/api/rw/x.txt', headers=(('Origin', A),))
    assert r.get_all('X-Saw-Denied') == []


def test_outside_scope_not_set(srv):
    r = srv.request('GET', '/outside/x.txt', headers=(('Origin', A),))
    assert r.get_all('X-Cors-Result') == ['(null)']
    assert _last_access(srv).endswith('cors=-')


def test_result_on_error_status(srv):
    r = srv.request('GET', '/api/missing', headers=(('Origin', A),))
    assert r.status == 404 and r.get_all('X-Cors-Result') == ['allowed']


def _debug(srv, mark):
    return [l for l in srv.log_since(mark) if '[cors:debug]' in l]


# a request to /api/x.txt, and the end of the one cors:debug line it logs
Debug = namedtuple('Debug', 'method headers line')
DEBUG_CASES = [
    Debug('GET', (('Origin', A),),
          "CORS0012: origin 'https://a.example' allowed (exact origin)"),
    Debug('GET', (('Origin', EVIL),),
          "CORS0014: origin 'https://evil.example' denied (not in the allowed origins)"),
    Debug('GET', (('Origin', 'https://a.example/'),),
          "CORS0014: origin 'https://a.example/' denied (not a serialised origin)"),
    Debug('GET', (), 'CORS0011: no Origin header (only Vary: Origin)'),
    Debug('OPTIONS', (('Origin', A), ('Access-Control-Request-Method', 'PUT')),
          "CORS0020: preflight for PUT from origin 'https://a.example' allowed (exact origin)"),
    Debug('OPTIONS', (('Origin', A), ('Access-Control-Request-Method', 'DELETE')),
          "CORS0022: preflight for DELETE from origin 'https://a.example' denied (the method "
          "is not in CorsAllowMethods: 'DELETE')"),
    Debug('OPTIONS', (('Origin', EVIL), ('Access-Control-Request-Method', 'PUT')),
          "CORS0021: preflight for PUT from origin 'https://evil.example' denied (not in the "
          "allowed origins)"),
    Debug('OPTIONS', (('Origin', A), ('Access-Control-Request-Method', 'PUT'),
                      ('Access-Control-Request-Headers', 'x-a')),
          "CORS0023: preflight for PUT from origin 'https://a.example' denied (the header is "
          "not in CorsAllowHeaders: 'x-a')"),
    Debug('OPTIONS', (('Origin', A), ('Access-Control-Request-Method', 'PUT'),
                      ('Access-Control-Request-Headers', 'x-a;b')),
          "CORS0024: preflight for PUT from origin 'https://a.example' denied "
          "(Access-Control-Request-Headers is not a list of header names: 'x-a;b')"),
]


@pytest.mark.parametrize('case', DEBUG_CASES, ids=lambda c: c.line[:8])
def test_one_debug_line_per_decision(srv, case):
    mark = srv.log_mark()
    srv.request(case.method, '/api/x.txt', headers=case.headers)
    lines = _debug(srv, mark)
    assert len(lines) == 1 and lines[0].endswith(case.line), lines


def test_debug_escapes_client_input(srv):
    mark = srv.log_mark()
    srv.request('GET', '/api/x.txt', headers=(('Origin', 'https://a"b\\c\xe9'),))
    lines = _debug(srv, mark)
    # httpd's error log escapes backslashes and non-ASCII bytes itself
    assert any("origin 'https://a\"b\\\\c\\xe9' denied" in l for l in lines), lines


def test_debug_truncates_long_origin(srv):
    mark = srv.log_mark()
    srv.request('GET', '/api/x.txt', headers=(('Origin', 'https://' + 'a' * 6000),))
    lines = _debug(srv, mark)
    assert any("origin 'https://" + 'a' * 192 + "...' denied" in l for l in lines), lines


def test_preflight_results_logged(srv):
    before = len(srv.access_log_lines())
    preflight(srv, '/api/x.txt', A, 'PUT')
    preflight(srv, '/api/x.txt', EVIL, 'PUT')
    preflight(srv, '/api/x.txt', A, 'DELETE')
    preflight(srv, '/api/x.txt', A, 'PUT', 'x-nope')
    preflight(srv, '/api/x.txt', A, 'PUT', 'x nope')
    results = [l.rsplit('cors=', 1)[1] for l in srv.access_log_lines()[before:]]
    assert results == ['preflight:ok', 'preflight:denied:origin', 'preflight:denied:method',
                       'preflight:denied:header', 'preflight:denied:malformed']
