"""README "CorsDenyOrigin" and "CorsTimingAllowOrigin": origins that are never
allowed, whatever a pattern, an expression or `*` says, and Timing-Allow-Origin
for the origins that are."""
import os
from collections import namedtuple

import pytest

from conftest import server_fixture
from cors_cases import EVIL, PREFLIGHT_VARY, check, origin_hdr, preflight
from harness import RUN_DIR, check_config
from test_config_errors import Bad, check_accepted, check_refused

AE = 'https://a.example.com'
BE = 'https://b.example.com'
UC = 'https://user-content.example.com'
OTHER = 'https://other.example'

CONFIG = r'''
ErrorDocument 404 /errors/404.html

<Location /sub>
    CorsAllowOrigin https://*.example.com
    CorsDenyOrigin  https://user-content.example.com
    CorsAllowMethods PUT
</Location>
# a child that sets something else keeps the deny list
<Location /sub/child>
    CorsMaxAge 5
</Location>
# a child's list adds to the inherited one (README "Merging"); none empties it
<Location /sub/other>
    CorsDenyOrigin https://b.example.com
</Location>
<Location /sub/none>
    CorsDenyOrigin none
</Location>
<Location /sub/none/deeper>
    CorsMaxAge 5
</Location>
<Location /sub/none/again>
    CorsDenyOrigin https://b.example.com
</Location>
# none also drops the section's earlier lines
<Location /sub/reset>
    CorsDenyOrigin https://a.example.com
    CorsDenyOrigin none
    CorsDenyOrigin https://b.example.com
</Location>

# a deny pattern (or origin) in a child beats an exact origin of its parent
<Location /exact>
    CorsAllowOrigin https://a.example.com https://b.example.com
    CorsAllowCredentials On
</Location>
<Location /exact/pattern>
    CorsDenyOrigin https://*.example.com
</Location>
<Location /exact/same>
    CorsDenyOrigin https://a.example.com
</Location>
# an inherited deny pattern beats an exact origin the child allows
<Location /inh>
    CorsDenyOrigin https://*.example.com
</Location>
<Location /inh/allow>
    CorsAllowOrigin https://a.example.com https://a.example.net
</Location>

# '*' with a deny list: the answer depends on Origin
<Location /star>
    CorsAllowOrigin   *
    CorsDenyOrigin    https://user-content.example.com null http://localhost:*
    CorsExposeHeaders X-A
</Location>
<Location /star/none>
    CorsDenyOrigin none
</Location>

# an expression, and a port pattern in the deny list
<Location /rx>
    CorsAllowOriginMatch "https://[a-z]+\.example\.org(:[0-9]+)?"
    CorsDenyOrigin https://evil.example.org:*
</Location>

# '!' lines of an origin file
<Location /file>
    CorsAllowOriginFile "{root}/origins.txt"
</Location>

# deny lists add up down the tree, whatever a section below adds, credentials too
<Location /d>
    CorsAllowOrigin      https://*.example.com
    CorsDenyOrigin       https://a.example.com
    CorsAllowCredentials On
</Location>
<Location /d/sub>
    CorsDenyOrigin https://b.example.com
</Location>
<Location /d/sub/allow>
    CorsAllowOrigin https://a.example.com https://*.example.com
</Location>
<Location /file/sub>
    CorsDenyOrigin https://other.tenants.example
</Location>
<Location /file/sub/none>
    CorsDenyOrigin none
</Location>
# a deny pattern over a top-level domain
<Location /tld>
    CorsAllowOrigin *
    CorsDenyOrigin  https://*.zip
</Location>

# a deny list alone puts nothing in CORS scope
<Location /denyonly>
    CorsDenyOrigin https://a.example.com
</Location>

<Location /timing>
    CorsAllowOrigin       https://a.example.com
    CorsAllowMethods      PUT
    CorsTimingAllowOrigin On
</Location>
<Location /timing/hdr>
    Header always set Timing-Allow-Origin "*"
    Header add Timing-Allow-Origin "https://x.example"
</Location>
<Location /timing/off>
    CorsTimingAllowOrigin Off
    Header always set Timing-Allow-Origin "https://x.example"
</Location>
<Location /timing/star>
    CorsAllowOrigin *
</Location>
<Location /timing/deny>
    CorsAllowOrigin https://*.example.com
    CorsDenyOrigin  https://user-content.example.com
</Location>
<Location /outside>
    Header set Timing-Allow-Origin "*"
</Location>
'''

ORIGINS_FILE = '''# tenants, and one that is not
https://*.tenants.example
  !https://bad.tenants.example
!http://localhost:*
'''

OWN_TAO_CGI = '''#!/bin/sh
printf 'Content-Type: text/plain\\r\\n'
printf 'Timing-Allow-Origin: *\\r\\n'
printf 'Timing-Allow-Origin: https://evil.example\\r\\n'
printf '\\r\\ncgi'
'''

HTACCESS = '''CorsAllowOrigin https://*.example.com
CorsDenyOrigin https://user-content.example.com
CorsTimingAllowOrigin On
'''

DIRS = ['sub', 'sub/child', 'sub/other', 'sub/none', 'sub/none/deeper', 'sub/none/again',
        'sub/reset', 'exact', 'exact/pattern', 'exact/same',
        'inh/allow', 'star', 'star/none', 'rx', 'file', 'denyonly', 'd', 'd/sub', 'd/sub/allow',
        'file/sub', 'file/sub/none', 'tld', 'timing', 'timing/hdr',
        'timing/off', 'timing/star', 'timing/deny', 'outside', 'ht']


def _files(h):
    for d in DIRS:
        h.write(d + '/x.txt', 'x')
    h.write('timing/own.cgi', OWN_TAO_CGI, 0o755)
    h.write('ht/.htaccess', HTACCESS)
    h.write('errors/404.html', 'custom 404')
    h.write_root('origins.txt', ORIGINS_FILE)


srv = server_fixture('deny-timing', CONFIG, setup=_files)


def ok(origin, *more, vary=True):
    return ['Access-Control-Allow-Origin: ' + origin] + list(more) + \
        (['Vary: Origin'] if vary else [])


VARY = ['Vary: Origin']
CRED = 'Access-Control-Allow-Credentials: true'
EXPOSE = 'Access-Control-Expose-Headers: X-A'

# a GET of path (with Origin unless origin is None), and the exact
# Access-Control-*/Timing-Allow-Origin/Vary lines of its response
Get = namedtuple('Get', 'path origin lines status', defaults=(200,))
GETS = [
    # a subdomain pattern with one subdomain denied
    Get('/sub/x.txt', AE, ok(AE)),
    Get('/sub/x.txt', UC, VARY),
    Get('/sub/x.txt', 'https://deep.user-content.example.com', ok(
        'https://deep.user-content.example.com')),
    Get('/sub/x.txt', None, VARY),
    Get('/sub/child/x.txt', UC, VARY), Get('/sub/child/x.txt', AE, ok(AE)),
    Get('/sub/other/x.txt', UC, VARY), Get('/sub/other/x.txt', BE, VARY),
    Get('/sub/other/x.txt', AE, ok(AE)),
    Get('/sub/none/x.txt', UC, ok(UC)),
    Get('/sub/none/deeper/x.txt', UC, ok(UC)),
    Get('/sub/none/again/x.txt', UC, ok(UC)), Get('/sub/none/again/x.txt', BE, VARY),
    Get('/sub/reset/x.txt', AE, ok(AE)), Get('/sub/reset/x.txt', UC, ok(UC)),
    Get('/sub/reset/x.txt', BE, VARY),
    # a deny rule beats an exact origin, inherited or inheriting
    Get('/exact/x.txt', AE, ok(AE, CRED)),
    Get('/exact/pattern/x.txt', AE, VARY), Get('/exact/pattern/x.txt', BE, VARY),
    Get('/exact/same/x.txt', AE, VARY), Get('/exact/same/x.txt', BE, ok(BE, CRED)),
    Get('/inh/allow/x.txt', AE, VARY),
    Get('/inh/allow/x.txt', 'https://a.example.net', ok('https://a.example.net')),
    # '*' with a deny list: '*' for the others, Vary: Origin on every response
    Get('/star/x.txt', OTHER, ok('*', EXPOSE)),
    Get('/star/x.txt', None, ok('*', EXPOSE)),
    Get('/star/x.txt', UC, VARY),
    Get('/star/x.txt', 'null', VARY),
    Get('/star/x.txt', 'http://localhost:8080', VARY),
    Get('/star/x.txt', 'http://localhost', VARY),
    Get('/star/x.txt', 'https://localhost:8080', ok('*', EXPOSE)),
    # spellings no browser sends are compared as they are (README "CorsDenyOrigin")
    Get('/star/x.txt', 'https://USER-CONTENT.example.com', ok('*', EXPOSE)),
    Get('/star/x.txt', UC + ':443', ok('*', EXPOSE)),
    Get('/sub/x.txt', UC + ':443', VARY),
    Get('/star/missing.txt', UC, VARY, 404),
    Get('/star/missing.txt', OTHER, ok('*', EXPOSE), 404),
    # ... and with the list emptied, no Vary again
    Get('/star/none/x.txt', UC, ok('*', EXPOSE, vary=False)),
    Get('/star/none/x.txt', None, ok('*', EXPOSE, vary=False)),
    # an expression, and a port pattern in the deny list
    Get('/rx/x.txt', 'https://a.example.org', ok('https://a.example.org')),
    Get('/rx/x.txt', 'https://a.example.org:8443', ok('https://a.example.org:8443')),
    Get('/rx/x.txt', 'https://evil.example.org', VARY),
    Get('/rx/x.txt', 'https://evil.example.org:8443', VARY),
    # an origin file's '!' lines
    Get('/file/x.txt', 'https://ok.tenants.example', ok('https://ok.tenants.example')),
    Get('/file/x.txt', 'https://bad.tenants.example', VARY),
    # deny lists add up: the parent's deny holds below a child's own, with credentials on
    Get('/d/x.txt', AE, VARY), Get('/d/x.txt', BE, ok(BE, CRED)),
    Get('/d/sub/x.txt', AE, VARY), Get('/d/sub/x.txt', BE, VARY),
    Get('/d/sub/x.txt', 'https://c.example.com', ok('https://c.example.com', CRED)),
    Get('/d/sub/allow/x.txt', AE, VARY), Get('/d/sub/allow/x.txt', BE, VARY),
    Get('/d/sub/allow/x.txt', 'https://c.example.com', ok('https://c.example.com', CRED)),
    # ... and so does an origin file's '!' line, until CorsDenyOrigin none
    Get('/file/sub/x.txt', 'https://bad.tenants.example', VARY),
    Get('/file/sub/x.txt', 'https://other.tenants.example', VARY),
    Get('/file/sub/x.txt', 'https://ok.tenants.example', ok('https://ok.tenants.example')),
    Get('/file/sub/none/x.txt', 'https://bad.tenants.example',
        ok('https://bad.tenants.example')),
    # a deny pattern over a top-level domain
    Get('/tld/x.txt', 'https://evil.zip', VARY), Get('/tld/x.txt', 'https://a.b.zip', VARY),
    Get('/tld/x.txt', 'https://zip.example', ok('*')),
    # .htaccess
    Get('/ht/x.txt', AE, ok(AE, 'Timing-Allow-Origin: ' + AE)),
    Get('/ht/x.txt', UC, VARY),
    # outside CORS scope nothing changes
    Get('/denyonly/x.txt', AE, []),
    Get('/outside/x.txt', AE, ['Timing-Allow-Origin: *']),
    # CorsTimingAllowOrigin On: the Access-Control-Allow-Origin value, once
    Get('/timing/x.txt', AE, ok(AE, 'Timing-Allow-Origin: ' + AE)),
    Get('/timing/x.txt', EVIL, VARY),
    Get('/timing/x.txt', None, VARY),
    Get('/timing/own.cgi', AE, ok(AE, 'Timing-Allow-Origin: ' + AE)),
    Get('/timing/own.cgi', EVIL, VARY),
    Get('/timing/hdr/x.txt', AE, ok(AE, 'Timing-Allow-Origin: ' + AE)),
    Get('/timing/hdr/x.txt', EVIL, VARY),
    Get('/timing/missing.txt', AE, ok(AE, 'Timing-Allow-Origin: ' + AE), 404),
    Get('/timing/star/x.txt', OTHER, ok('*', 'Timing-Allow-Origin: *', vary=False)),
    Get('/timing/star/x.txt', None, ok('*', 'Timing-Allow-Origin: *', vary=False)),
    Get('/timing/deny/x.txt', BE, ok(BE, 'Timing-Allow-Origin: ' + BE)),
    Get('/timing/deny/x.txt', UC, VARY),
    # Off: others' Timing-Allow-Origin is left alone
    Get('/timing/off/x.txt', AE, ok(AE, 'Timing-Allow-Origin: https://x.example')),
    Get('/timing/off/x.txt', EVIL, ['Timing-Allow-Origin: https://x.example', 'Vary: Origin']),
]


@pytest.mark.parametrize('case', GETS, ids=lambda c: '%s %s' % (c.path, c.origin))
def test_get(srv, case):
    check(srv.request('GET', case.path, headers=origin_hdr(case.origin)), case.status,
          case.lines)


def ok_preflight(origin, method, *more):
    return ['Access-Control-Allow-Origin: ' + origin,
            'Access-Control-Allow-Methods: ' + method] + list(more) + [PREFLIGHT_VARY]


# a preflight for method from origin, its status and exact lines
Pre = namedtuple('Pre', 'path origin method status lines')
PREFLIGHTS = [
    Pre('/sub/x.txt', AE, 'PUT', 204, ok_preflight(AE, 'PUT')),
    Pre('/sub/x.txt', UC, 'PUT', 403, [PREFLIGHT_VARY]),
    Pre('/sub/child/x.txt', UC, 'PUT', 403, [PREFLIGHT_VARY]),
    Pre('/sub/child/x.txt', AE, 'PUT', 204,
        ok_preflight(AE, 'PUT', 'Access-Control-Max-Age: 5')),
    Pre('/exact/pattern/x.txt', AE, 'POST', 403, [PREFLIGHT_VARY]),
    Pre('/star/x.txt', OTHER, 'POST', 204, ok_preflight('*', 'POST')),
    Pre('/star/x.txt', UC, 'POST', 403, [PREFLIGHT_VARY]),
    Pre('/star/x.txt', 'null', 'POST', 403, [PREFLIGHT_VARY]),
    Pre('/rx/x.txt', 'https://evil.example.org:1', 'POST', 403, [PREFLIGHT_VARY]),
    # preflight answers carry no Timing-Allow-Origin (and none of others' with On)
    Pre('/timing/x.txt', AE, 'PUT', 204, ok_preflight(AE, 'PUT')),
    Pre('/timing/hdr/x.txt', AE, 'PUT', 204, ok_preflight(AE, 'PUT')),
    Pre('/timing/hdr/x.txt', EVIL, 'PUT', 403, [PREFLIGHT_VARY]),
    Pre('/timing/off/x.txt', AE, 'PUT', 204,
        ok_preflight(AE, 'PUT', 'Timing-Allow-Origin: https://x.example')),
]


@pytest.mark.parametrize('case', PREFLIGHTS, ids=lambda c: '%s %s' % (c.path, c.origin))
def test_preflight(srv, case):
    check(preflight(srv, case.path, case.origin, case.method), case.status, case.lines,
          body=b'')


def _debug(srv, mark):
    return [l for l in srv.log_since(mark) if '[cors:debug]' in l]


# a request, its CORS_RESULT and the end of its one cors:debug line
Logged = namedtuple('Logged', 'path headers method result line')
LOGGED = [
    Logged('/sub/x.txt', (('Origin', UC),), 'GET', 'denied:origin',
           "CORS0014: origin '%s' denied (denied by CorsDenyOrigin)" % UC),
    Logged('/exact/same/x.txt', (('Origin', AE),), 'GET', 'denied:origin',
           "CORS0014: origin '%s' denied (denied by CorsDenyOrigin)" % AE),
    Logged('/star/x.txt', (('Origin', 'null'),), 'GET', 'denied:origin',
           "CORS0014: origin 'null' denied (denied by CorsDenyOrigin)"),
    Logged('/star/x.txt', (), 'GET', 'no-origin', 'CORS0011: no Origin header (CorsAllowOrigin *)'),
    Logged('/star/x.txt', (('Origin', OTHER),), 'GET', 'allowed',
           "CORS0012: origin '%s' allowed (CorsAllowOrigin *)" % OTHER),
    Logged('/sub/x.txt', (('Origin', UC), ('Access-Control-Request-Method', 'PUT')), 'OPTIONS',
           'preflight:denied:origin',
           "CORS0021: preflight for PUT from origin '%s' denied (denied by CorsDenyOrigin)" % UC),
]


@pytest.mark.parametrize('case', LOGGED, ids=lambda c: c.line[:8] + ' ' + c.path)
def test_result_and_debug_line(srv, case):
    mark = srv.log_mark()
    srv.request(case.method, case.path, headers=case.headers)
    lines = _debug(srv, mark)
    assert len(lines) == 1 and lines[0].endswith(case.line), lines
    assert srv.access_log_lines()[-1].endswith('cors=' + case.result)


# ---- configuration errors ---------------------------------------------------------

BAD = [
    Bad('CorsDenyOrigin *',
        "CorsDenyOrigin: '*' would deny every origin: use CorsEngine Off (or CorsAllowOrigin "
        "none) to turn CORS off"),
    Bad('CorsDenyOrigin https://a.example/',
        "CorsDenyOrigin: 'https://a.example/' is not an origin (remove the trailing slash)"),
    Bad('CorsDenyOrigin a.example',
        "CorsDenyOrigin: 'a.example' is not an origin (no scheme: write it as "
        "scheme://host[:port], e.g. https://www.example.com; the keywords are *, null and none)"),
    Bad('CorsAllowOrigin https://a.example\nCorsDenyOrigin https://a.example',
        "CorsDenyOrigin: 'https://a.example' is both allowed (CorsAllowOrigin) and denied "
        "(CorsDenyOrigin) in one section: remove it from one of them"),
    # either order, any spelling of the same origin
    Bad('CorsDenyOrigin https://b.example HTTPS://A.Example:443\nCorsAllowOrigin https://a.example',
        "CorsAllowOrigin: 'https://a.example' is both allowed (CorsAllowOrigin) and denied "
        "(CorsDenyOrigin) in one section: remove it from one of them"),
    Bad('CorsAllowOrigin null\nCorsDenyOrigin NULL',
        "CorsDenyOrigin: 'NULL' is both allowed (CorsAllowOrigin) and denied (CorsDenyOrigin) "
        "in one section: remove it from one of them"),
    Bad('CorsTimingAllowOrigin yes',
        "CorsTimingAllowOrigin: 'yes' is not valid: use On or Off"),
]


@pytest.mark.parametrize('case', BAD, ids=lambda c: c.conf.replace('\n', ' | '))
def test_bad_directive(case):
    check_refused(case)


GOOD = [
    'CorsDenyOrigin https://a.example https://*.example.com http://localhost:* null',
    'CorsDenyOrigin none',
    # denying every site under a top-level domain is safe
    'CorsDenyOrigin https://*.zip https://*.com:* http://*.mov',
    'CorsAllowOrigin *\nCorsDenyOrigin null',
    # a pattern may cover an allowed exact origin: the deny rule wins
    'CorsAllowOrigin https://a.b.example\nCorsDenyOrigin https://*.b.example',
    # none empties the section's list before the origin comes back
    'CorsDenyOrigin https://a.example\nCorsDenyOrigin none\nCorsAllowOrigin https://a.example',
    'CorsAllowOrigin https://a.example\nCorsAllowCredentials On\nCorsTimingAllowOrigin On',
]


@pytest.mark.parametrize('conf', GOOD)
def test_good_directive(conf):
    check_accepted(conf)


def test_start_up_report_counts_deny_entries():
    rc, out = check_config('CorsAllowOrigin https://a.example\n'
                           'CorsDenyOrigin https://b.example https://*.c.example null',
                           name='good')
    assert rc == 0 and 'CORS0001: mod_cors/' in out, out
    assert ': 2 exact origins and 1 patterns loaded' in out, out


def test_same_origin_in_nested_sections_is_fine():
    rc, out = check_config('CorsAllowOrigin https://a.example\n'
                           '<Location /x>\nCorsDenyOrigin https://a.example\n</Location>',
                           name='good')
    assert rc == 0 and 'Syntax OK' in out, out


@pytest.mark.parametrize('content,line,message', [
    ('!*\n', 1, "'*' would deny every origin: use CorsEngine Off (or CorsAllowOrigin none) "
                "to turn CORS off"),
    ('!none\n', 1, "'!none' is not allowed in a file: use CorsDenyOrigin none"),
    ('!https://a.example/\n', 1,
     "'https://a.example/' is not an origin (remove the trailing slash)"),
    ('https://a.example\n# c\n!https://a.example\n', 3,
     "'https://a.example' is both allowed (CorsAllowOrigin) and denied (CorsDenyOrigin) in one "
     "section: remove it from one of them"),
    ('! https://a.example\n', 1, "one origin per line (a '#' comment takes a line of its own)"),
    ('https://a.example\n!\n', 2, "'!' alone names no origin: write the origin to deny after "
                                 "it, e.g. !https://www.example.com"),
    ('!https://a.example,https://b.example\n', 1,
     "'!https://a.example,https://b.example': write one origin per line, without commas"),
], ids=lambda v: repr(v)[:40] if isinstance(v, str) else str(v))
def test_file_errors(content, line, message):
    path = os.path.join(RUN_DIR, 'origins-deny-under-test.txt')
    os.makedirs(RUN_DIR, exist_ok=True)
    with open(path, 'w') as f:
        f.write(content)
    rc, out = check_config('CorsAllowOriginFile "%s"' % path, name='originfile')
    assert rc != 0
    assert 'CorsAllowOriginFile: %s line %d: %s' % (path, line, message) in out.splitlines(), out
