"""README "Cross-origin writes" and "CorsCrossOriginProtection": a request
whose method is not GET, HEAD or OPTIONS is refused with a 403 in
header_parser when the browser says it comes from another origin
(Sec-Fetch-Site), or, without Sec-Fetch-Site, when its Origin matches neither
Host nor a trusted origin.  Trusted: allowed by the merged policy and not
denied, never '*' or 'null'.

Every request here goes to a CGI script that appends a line to a record
file: a refused write must leave no line there (the handler never saw it).
"""
import os
import random
import re
from collections import namedtuple

import pytest

from conftest import server_fixture
from cors_cases import A, EVIL, PREFLIGHT_VARY, check, preflight

HOST = '127.0.0.1'
SUB = 'https://x.sub.example'          # a subdomain pattern allows it
BAD_SUB = 'https://bad.sub.example'    # ... and CorsDenyOrigin refuses it
PORTS = 'http://ports.example:8080'    # a port pattern allows it
RE = 'https://re7.example'             # CorsAllowOriginMatch allows it
ANY_RE = 'https://anything.example'    # only an any-origin expression matches it

CONFIG = r'''
ErrorDocument 403 /errors/403.html
<Location /errors/>
    CorsCrossOriginProtection Off
</Location>

# origin rules of every kind, and one denied origin
<Location /on/>
    CorsCrossOriginProtection On
    CorsAllowOrigin https://a.example https://*.sub.example http://ports.example:*
    CorsAllowOriginMatch "https://re[0-9]\.example"
    CorsDenyOrigin https://bad.sub.example
</Location>
# a webhook below: opted out
<Location /on/hook/>
    CorsCrossOriginProtection Off
</Location>
# a child with a deny list of its own: the inherited denies hold too
<Location /on/deny/>
    CorsDenyOrigin https://x.sub.example
</Location>
# a child that sets other things inherits the protection
<Location /on/child/>
    CorsMaxAge 5
</Location>
# no origin rules: only same-origin writes, outside CORS scope
<Location /bare/>
    CorsCrossOriginProtection On
</Location>
# '*' trusts nobody for writes; nor does null, nor an expression that
# matches any origin
<Location /star/>
    CorsCrossOriginProtection On
    CorsAllowOrigin * null
</Location>
<Location /anyre/>
    CorsCrossOriginProtection On
    CorsAllowOriginMatch "https://.*"
</Location>
# patterns the module never allows with credentials: readable, never trusted
<Location /weak/>
    CorsCrossOriginProtection On
    CorsAllowOrigin http://*.plain.example https://*.github.io https://a.example
</Location>
# CorsEngine Off leaves the protection on, with the same trusted origins
<Location /engineoff/>
    CorsCrossOriginProtection On
    CorsAllowOrigin https://a.example
    CorsEngine Off
</Location>
<Location /report/>
    CorsCrossOriginProtection ReportOnly
    CorsAllowOrigin https://a.example
</Location>
# both ReportOnly
<Location /report/both/>
    CorsEngine ReportOnly
</Location>
# CorsEngine ReportOnly writes no CORS header; the protection still refuses
<Location /shadow/>
    CorsEngine ReportOnly
    CorsCrossOriginProtection On
    CorsAllowOrigin https://a.example
</Location>
# an internal redirect of a write is checked under its target's configuration
<Location /fb/>
    FallbackResource /on/w.cgi
</Location>
<Directory "{htdocs}/di">
    DirectoryIndex w.cgi
</Directory>
<Location /di/w.cgi>
    CorsCrossOriginProtection On
    CorsAllowOrigin https://a.example
</Location>
<Directory "{htdocs}/pt">
    RewriteEngine On
    RewriteRule ^x$ /on/w.cgi [PT]
</Directory>
<Location /auth/>
    CorsCrossOriginProtection On
    CorsAllowOrigin https://a.example
    CorsAllowMethods PUT
    AuthType Basic
    AuthName "w"
    AuthUserFile "{root}/htpasswd"
    Require valid-user
</Location>
'''

SECTIONS = ('on', 'on/hook', 'on/child', 'on/deny', 'bare', 'star', 'anyre', 'engineoff', 'report',
            'report/both', 'shadow', 'auth', 'hta', 'weak', 'di')

# A handler that records every request it sees: method, path and the query
# string, which names the request.
RECORDER = '''#!/bin/sh
cat > /dev/null
echo "$REQUEST_METHOD $SCRIPT_NAME $QUERY_STRING" >> "{record}"
printf 'Content-Type: text/plain\\r\\n\\r\\nhandled\\n'
'''


def _files(h):
    h.record = os.path.join(h.root, 'record', 'seen')
    os.makedirs(os.path.dirname(h.record))
    os.chmod(os.path.dirname(h.record), 0o1777)
    for s in SECTIONS:
        h.write(s + '/w.cgi', RECORDER.format(record=h.record), 0o755)
    h.write('errors/403.html', 'refused by the site\n')
    h.write('pt/README', 'rewritten to /on/w.cgi\n')
    # in .htaccess (AllowOverride FileInfo), with an origin of its own
    h.write('hta/.htaccess', 'CorsCrossOriginProtection On\nCorsAllowOrigin https://a.example\n')
    h.htpasswd('u', 'p')


# CORS0004: https://*.github.io is on the Public Suffix List (a warning)
srv = server_fixture('cross-origin', CONFIG, setup=_files, allow_log=(r'CORS0004',))

AUTH = ('Authorization', 'Basic dTpw')      # u:p
VARY = 'Vary: Origin'


def acao(origin):
    return ['Access-Control-Allow-Origin: ' + origin, VARY]


def seen(h):
    try:
        return open(h.record).read().splitlines()
    except FileNotFoundError:
        return []


# path, method, Sec-Fetch-Site (None: absent), Origin (None: absent), Host,
# then: status, the exact Access-Control-*/Vary lines, CORS_RESULT ('-': unset),
# and whether the handler ran.  The first column names the row of Go's
# net/http CrossOriginProtection table (csrf_test.go) it mirrors, or ours.
Case = namedtuple('Case', 'id path method site origin host status lines result handled extra')
Case.__new__.__defaults__ = ((),)

R_SITE = 'write:denied:sec-fetch-site'
R_ORIGIN = 'write:denied:origin'

CASES = [
    # Sec-Fetch-Site decides when present
    Case('same-origin', 'on', 'POST', 'same-origin', EVIL, HOST, 200, [VARY], 'denied:origin', True),
    Case('none', 'on', 'POST', 'none', None, HOST, 200, [VARY], 'no-origin', True),
    Case('cross-site', 'on', 'POST', 'cross-site', EVIL, HOST, 403, [VARY], R_SITE, False),
    Case('same-site', 'on', 'POST', 'same-site', EVIL, HOST, 403, [VARY], R_SITE, False),
    Case('unknown value', 'on', 'POST', 'cross-planet', EVIL, HOST, 403, [VARY], R_SITE, False),
    Case('joined values', 'on', 'POST', 'same-origin, cross-site', EVIL, HOST, 403, [VARY],
         R_SITE, False),
    Case('uppercase value', 'on', 'POST', 'Same-Origin', EVIL, HOST, 403, [VARY], R_SITE, False),
    Case('cross-site without Origin', 'on', 'POST', 'cross-site', None, HOST, 403, [VARY],
         R_SITE, False),
    Case('cross-site, Origin matches Host', 'on', 'POST', 'cross-site', 'http://127.0.0.1',
         HOST, 403, [VARY], R_SITE, False),
    Case('PUT cross-site', 'on', 'PUT', 'cross-site', EVIL, HOST, 403, [VARY], R_SITE, False),
    Case('DELETE cross-site', 'on', 'DELETE', 'cross-site', EVIL, HOST, 403, [VARY], R_SITE,
         False),
    Case('PATCH cross-site', 'on', 'PATCH', 'cross-site', EVIL, HOST, 403, [VARY], R_SITE,
         False),
    Case('unknown method cross-site', 'on', 'PURGE', 'cross-site', EVIL, HOST, 403, [VARY],
         R_SITE, False),
    Case('lowercase get is not GET', 'on', 'get', 'cross-site', EVIL, HOST, 403, [VARY],
         R_SITE, False),
    # trusted origins: exact, subdomain and port patterns, expressions
    Case('trusted cross-site', 'on', 'POST', 'cross-site', A, HOST, 200, acao(A), 'allowed',
         True),
    Case('trusted same-site', 'on', 'POST', 'same-site', A, HOST, 200, acao(A), 'allowed', True),
    Case('subdomain pattern', 'on', 'POST', 'cross-site', SUB, HOST, 200, acao(SUB),
         'allowed', True),
    Case('denied origin', 'on', 'POST', 'cross-site', BAD_SUB, HOST, 403, [VARY], R_SITE,
         False),
    Case('port pattern', 'on', 'POST', 'cross-site', PORTS, HOST, 200, acao(PORTS), 'allowed',
         True),
    Case('expression', 'on', 'POST', 'cross-site', RE, HOST, 200, acao(RE), 'allowed', True),
    Case('trusted origin, other port', 'on', 'POST', 'cross-site', A + ':8443', HOST, 403,
         [VARY], R_SITE, False),
    Case('trusted origin, other scheme', 'on', 'POST', 'cross-site', 'http://a.example', HOST,
         403, [VARY], R_SITE, False),
    Case('null', 'on', 'POST', 'cross-site', 'null', HOST, 403, [VARY], R_SITE, False),
    # no Sec-Fetch-Site: Origin against Host, then trusted origins
    Case('no headers', 'on', 'POST', None, None, HOST, 200, [VARY], 'no-origin', True),
    Case('Origin matches Host', 'on', 'POST', None, 'http://127.0.0.1', HOST, 200, [VARY],
         'denied:origin', True),
    Case('Origin matches Host and port', 'on', 'POST', None, 'http://127.0.0.1:8080',
         '127.0.0.1:8080', 200, [VARY], 'denied:origin', True),
    Case('Origin matches Host, other scheme', 'on', 'POST', None, 'https://127.0.0.1', HOST,
         200, [VARY], 'denied:origin', True),
    Case('Origin on another port of Host', 'on', 'POST', None, 'http://127.0.0.1:8080', HOST,
         403, [VARY], R_ORIGIN, False),
    Case('Host on another port than Origin', 'on', 'POST', None, 'http://127.0.0.1',
         '127.0.0.1:8080', 403, [VARY], R_ORIGIN, False),
    Case('Origin does not match Host', 'on', 'POST', None, EVIL, HOST, 403, [VARY], R_ORIGIN,
         False),
    Case('Origin with a path', 'on', 'POST', None, 'http://127.0.0.1/', HOST, 403, [VARY],
         R_ORIGIN, False),
    Case('null Origin', 'on', 'POST', None, 'null', HOST, 403, [VARY], R_ORIGIN, False),
    Case('trusted Origin', 'on', 'POST', None, A, HOST, 200, acao(A), 'allowed', True),
    Case('denied Origin', 'on', 'POST', None, BAD_SUB, HOST, 403, [VARY], R_ORIGIN, False),
    # safe methods and preflights are never refused
    Case('GET cross-site', 'on', 'GET', 'cross-site', EVIL, HOST, 200, [VARY], 'denied:origin',
         True),
    Case('HEAD cross-site', 'on', 'HEAD', 'cross-site', EVIL, HOST, 200, [VARY],
         'denied:origin', True),
    Case('OPTIONS cross-site', 'on', 'OPTIONS', 'cross-site', EVIL, HOST, 200, [VARY],
         'denied:origin', True),
    Case('GET mismatched Origin', 'on', 'GET', None, EVIL, HOST, 200, [VARY], 'denied:origin',
         True),
    # Off below On (a bypass path), a child inheriting On
    Case('opted out', 'on/hook', 'POST', 'cross-site', EVIL, HOST, 200, [VARY],
         'denied:origin', True),
    Case('opted out, no Sec-Fetch-Site', 'on/hook', 'POST', None, EVIL, HOST, 200, [VARY],
         'denied:origin', True),
    Case('inherited', 'on/child', 'POST', 'cross-site', EVIL, HOST, 403, [VARY], R_SITE, False),
    Case('inherited, trusted', 'on/child', 'POST', 'cross-site', A, HOST, 200, acao(A),
         'allowed', True),
    # deny lists add up: the parent's denied origin stays untrusted below a
    # section that denies another one
    Case('inherited deny', 'on/deny', 'POST', 'cross-site', BAD_SUB, HOST, 403, [VARY],
         R_SITE, False),
    Case('inherited deny, no Sec-Fetch-Site', 'on/deny', 'POST', None, BAD_SUB, HOST, 403,
         [VARY], R_ORIGIN, False),
    Case('own deny', 'on/deny', 'POST', 'cross-site', SUB, HOST, 403, [VARY], R_SITE, False),
    Case('deny below, trusted', 'on/deny', 'POST', 'cross-site', A, HOST, 200, acao(A),
         'allowed', True),
    # a section without origin rules: outside CORS scope, no header at all
    Case('no rules, same-origin', 'bare', 'POST', 'same-origin', EVIL, HOST, 200, [], '-', True),
    Case('no rules, cross-site', 'bare', 'POST', 'cross-site', A, HOST, 403, [], R_SITE, False),
    Case('no rules, Origin is Host', 'bare', 'POST', None, 'http://127.0.0.1', HOST, 200, [],
         '-', True),
    Case('no rules, Origin not Host', 'bare', 'POST', None, A, HOST, 403, [], R_ORIGIN, False),
    Case('no rules, Origin is Host in other letters', 'bare', 'POST', None,
         'http://www.example', 'WWW.Example', 200, [], '-', True),
    Case('no rules, GET', 'bare', 'GET', 'cross-site', A, HOST, 200, [], '-', True),
    # '*', null and an any-origin expression trust nobody; the 403 still
    # carries what CORS allows reading
    Case('star', 'star', 'POST', 'cross-site', A, HOST, 403,
         ['Access-Control-Allow-Origin: *'], R_SITE, False),
    Case('star, no Sec-Fetch-Site', 'star', 'POST', None, A, HOST, 403,
         ['Access-Control-Allow-Origin: *'], R_ORIGIN, False),
    Case('listed null', 'star', 'POST', 'cross-site', 'null', HOST, 403,
         ['Access-Control-Allow-Origin: *'], R_SITE, False),
    Case('star, same-origin', 'star', 'POST', 'same-origin', A, HOST, 200,
         ['Access-Control-Allow-Origin: *'], 'allowed', True),
    Case('any-origin expression', 'anyre', 'POST', 'cross-site', ANY_RE, HOST, 403,
         acao(ANY_RE), R_SITE, False),
    Case('any-origin expression, read', 'anyre', 'GET', 'cross-site', ANY_RE, HOST, 200,
         acao(ANY_RE), 'allowed', True),
    Case('plain-http subdomain pattern', 'weak', 'POST', 'cross-site', 'http://x.plain.example',
         HOST, 403, acao('http://x.plain.example'), R_SITE, False),
    Case('pattern on a public suffix', 'weak', 'POST', 'cross-site', 'https://x.github.io',
         HOST, 403, acao('https://x.github.io'), R_SITE, False),
    Case('exact origin beside them', 'weak', 'POST', 'cross-site', A, HOST, 200, acao(A),
         'allowed', True),
    # CorsEngine Off: no CORS header, the protection and its trusted origins stay
    Case('engine off, cross-site', 'engineoff', 'POST', 'cross-site', EVIL, HOST, 403, [],
         R_SITE, False),
    Case('engine off, trusted', 'engineoff', 'POST', 'cross-site', A, HOST, 200, [], '-', True),
    # ReportOnly: decided and named, never refused
    Case('report, cross-site', 'report', 'POST', 'cross-site', EVIL, HOST, 200, [VARY], R_SITE,
         True),
    Case('report, no Sec-Fetch-Site', 'report', 'POST', None, EVIL, HOST, 200, [VARY],
         R_ORIGIN, True),
    Case('report, trusted', 'report', 'POST', 'cross-site', A, HOST, 200, acao(A), 'allowed',
         True),
    Case('report, same-origin', 'report', 'POST', 'same-origin', EVIL, HOST, 200, [VARY],
         'denied:origin', True),
    Case('both ReportOnly', 'report/both', 'POST', 'cross-site', EVIL, HOST, 200, [], R_SITE,
         True),
    Case('engine ReportOnly, refused', 'shadow', 'POST', 'cross-site', EVIL, HOST, 403, [],
         R_SITE, False),
    Case('engine ReportOnly, trusted', 'shadow', 'POST', 'cross-site', A, HOST, 200, [],
         'allowed', True),
    # .htaccess
    Case('htaccess, cross-site', 'hta', 'POST', 'cross-site', EVIL, HOST, 403, [VARY], R_SITE,
         False),
    Case('htaccess, trusted', 'hta', 'POST', 'cross-site', A, HOST, 200, acao(A), 'allowed',
         True),
    # authentication runs after the check: a refused write is 403, not 401
    Case('auth, refused without credentials', 'auth', 'POST', 'cross-site', EVIL, HOST, 403,
         [VARY], R_SITE, False),
    Case('auth, refused with credentials', 'auth', 'POST', 'cross-site', EVIL, HOST, 403,
         [VARY], R_SITE, False, (AUTH,)),
    Case('auth, accepted without credentials', 'auth', 'POST', 'cross-site', A, HOST, 401,
         acao(A), 'allowed', False),
    Case('auth, accepted with credentials', 'auth', 'POST', 'cross-site', A, HOST, 200,
         acao(A), 'allowed', True, (AUTH,)),
    Case('auth, same-origin without credentials', 'auth', 'POST', 'same-origin', None, HOST,
         401, [VARY], 'no-origin', False),
]


def _send(h, c, rid):
    headers = []
    if c.site is not None:
        headers.append(('Sec-Fetch-Site', c.site))
    if c.origin is not None:
        headers.append(('Origin', c.origin))
    body = None if c.method in ('GET', 'HEAD', 'OPTIONS') else 'a=1'
    return h.request(c.method, '/%s/w.cgi?%s' % (c.path, rid),
                     headers=headers + list(c.extra), body=body, host=c.host)


def _access_result(h, part):
    """CORS_RESULT of the access log's last line with part in it."""
    lines = [l for l in h.access_log_lines() if part in l]
    assert lines, part
    return lines[-1].rsplit('cors=', 1)[1]


@pytest.mark.allow_log(r'AH01614')   # mod_auth_basic: no user sent
@pytest.mark.parametrize('c', CASES, ids=lambda c: '%s %s' % (c.path, c.id))
def test_request_table(srv, c):
    rid = 'r%d' % random.getrandbits(48)
    before = seen(srv)
    r = _send(srv, c, rid)
    check(r, c.status, c.lines)
    if c.status == 403:
        # the site's ErrorDocument 403, not the handler
        assert r.body == b'refused by the site\n'
    elif c.status == 200 and c.method != 'HEAD':
        assert r.body == b'handled\n'
    after = seen(srv)
    ran = [l for l in after[len(before):] if l.endswith(' ' + rid)]
    assert ran == (['%s /%s/w.cgi %s' % (c.method, c.path, rid)] if c.handled else [])
    assert _access_result(srv, '?%s ' % rid) == c.result


@pytest.mark.parametrize('path', ['/fb/nothing-here', '/pt/x', '/di/'])
def test_internal_redirect_checked_again(srv, path):
    """FallbackResource (a fast redirect, after header_parser) and a [PT]
    rewrite (an internal redirect) send a write from an unprotected section
    to a protected script: checked there, before the handler."""
    before = seen(srv)
    r = srv.request('POST', path + '?ir1', headers=[('Sec-Fetch-Site', 'cross-site'),
                                                    ('Origin', EVIL)], body='a=1')
    check(r, 403, [VARY], b'refused by the site\n')
    assert _access_result(srv, '?ir1 ') == R_SITE
    r = srv.request('POST', path + '?ir2', headers=[('Sec-Fetch-Site', 'cross-site'),
                                                    ('Origin', A)], body='a=1')
    check(r, 200, acao(A), b'handled\n')
    assert seen(srv)[len(before):] == ['POST /%s/w.cgi ir2' % ('di' if path == '/di/' else 'on')]


@pytest.mark.parametrize('path,status,handled', [
    ('/on/x/../hook/w.cgi', 200, True),       # httpd removes the dot segments first
    ('/on/hook/../w.cgi', 403, False),
    ('/on//hook/w.cgi', 200, True),           # and merges slashes (MergeSlashes On)
])
def test_paths_normalised_before_the_sections(srv, path, status, handled):
    """The section that decides is the one of the path httpd settled on (as
    Go's bypass patterns see the cleaned path)."""
    before = seen(srv)
    r = srv.request('POST', path + '?norm', headers=[('Sec-Fetch-Site', 'cross-site'),
                                                     ('Origin', EVIL)], body='a=1')
    assert r.status == status, r
    assert bool(seen(srv)[len(before):]) == handled


def test_preflight_untouched(srv):
    """A preflight (OPTIONS with Access-Control-Request-Method) is never a
    write: answered as without the directive, whatever Sec-Fetch-Site says."""
    r = preflight(srv, '/auth/w.cgi', A, 'PUT', extra=[('Sec-Fetch-Site', 'cross-site')])
    check(r, 204, ['Access-Control-Allow-Origin: ' + A, 'Access-Control-Allow-Methods: PUT',
                   PREFLIGHT_VARY], b'')
    r = preflight(srv, '/auth/w.cgi', EVIL, 'PUT', extra=[('Sec-Fetch-Site', 'cross-site')])
    check(r, 403, [PREFLIGHT_VARY], b'')
    assert _access_result(srv, 'OPTIONS /auth/w.cgi') == 'preflight:denied:origin'
    r = preflight(srv, '/bare/w.cgi', EVIL, 'PUT', extra=[('Sec-Fetch-Site', 'cross-site')])
    check(r, 200, [])


def test_debug_lines(srv):
    """One debug line per decision of the check, with its tag and reason."""
    mark = srv.log_mark()
    srv.request('POST', '/bare/w.cgi', headers=[('Sec-Fetch-Site', 'cross-site'),
                                                ('Origin', EVIL)], body='')
    srv.request('POST', '/bare/w.cgi', headers=[('Origin', EVIL)], body='')
    srv.request('POST', '/report/w.cgi', headers=[('Origin', EVIL)], body='')
    srv.request('POST', '/bare/w.cgi', headers=[('Sec-Fetch-Site', 'same-origin')], body='')
    lines = [re.sub(r'^.*\] (CORS00\d\d)', r'\1', l) for l in srv.log_since(mark)
             if 'cross-origin write check' in l]
    assert lines == [
        "CORS0041: cross-origin write check: POST from origin 'https://evil.example' "
        "refused (Sec-Fetch-Site is not same-origin or none, and the origin is not trusted; "
        "Sec-Fetch-Site 'cross-site', Host '127.0.0.1')",
        "CORS0042: cross-origin write check: POST from origin 'https://evil.example' "
        "refused (no Sec-Fetch-Site, and Origin neither matches Host nor is trusted; "
        "Sec-Fetch-Site '', Host '127.0.0.1')",
        "CORS0042: cross-origin write check: POST from origin 'https://evil.example' "
        "would be refused (ReportOnly) (no Sec-Fetch-Site, and Origin neither matches Host "
        "nor is trusted; Sec-Fetch-Site '', Host '127.0.0.1')",
        "CORS0040: cross-origin write check: POST from no Origin header passes "
        "(Sec-Fetch-Site says same-origin or none; Sec-Fetch-Site 'same-origin', "
        "Host '127.0.0.1')",
    ], srv.log_since(mark)


# ---- the property: no refused write reaches the handler -----------------------

SITES = [None, 'same-origin', 'none', 'same-site', 'cross-site', 'Cross-Site', 'nonsense',
         'same-origin, cross-site', '']
ORIGINS = [None, A, SUB, BAD_SUB, PORTS, RE, ANY_RE, EVIL, 'null', 'http://127.0.0.1',
           'http://127.0.0.1:8080', 'https://127.0.0.1', 'http://127.0.0.1/', A + ', ' + EVIL,
           'HTTPS://A.EXAMPLE', '']
HOSTS = [HOST, '127.0.0.1:8080', 'a.example', 'LOCALHOST']
METHODS = ['GET', 'HEAD', 'OPTIONS', 'POST', 'PUT', 'DELETE', 'PATCH', 'PURGE', 'post']
PROPERTY_SECTIONS = ['on', 'on/hook', 'on/child', 'bare', 'star', 'anyre', 'engineoff',
                     'report']
TRUSTED = {
    'on': {A, SUB, PORTS, RE}, 'on/child': {A, SUB, PORTS, RE},
    'bare': set(), 'star': set(), 'anyre': set(), 'engineoff': {A}, 'report': {A},
}


def expected_refusal(section, method, site, origin, host):
    """The rule of README "Cross-origin writes", written out plainly: the
    CORS_RESULT of a refusal, or None."""
    if section == 'on/hook' or method in ('GET', 'HEAD', 'OPTIONS'):
        return None
    trusted = origin in TRUSTED[section]
    if site is not None:
        if site in ('same-origin', 'none') or trusted:
            return None
        return R_SITE
    if origin is None:
        return None
    m = re.match(r'^[a-z]+://([a-z0-9.]+(:[0-9]+)?)$', origin)
    if (m and m.group(1) == host.lower()) or trusted:
        return None
    return R_ORIGIN


def test_no_refused_write_reaches_the_handler(srv):
    """Random combinations of section, method, Sec-Fetch-Site, Origin and Host
    (seeded): the handler's record holds exactly the requests that were not
    refused, every refusal is a 403 with its CORS_RESULT, and the refusals
    are those of the plainly written rule (ReportOnly names them, refuses
    none)."""
    rng = random.Random(int(os.environ.get('CORS_PROPERTY_SEED', '20')))
    sent = {}
    for i in range(300):
        sec = rng.choice(PROPERTY_SECTIONS)
        method, site = rng.choice(METHODS), rng.choice(SITES)
        origin, host = rng.choice(ORIGINS), rng.choice(HOSTS)
        rid = 'p%d-%d' % (i, rng.getrandbits(32))
        c = Case(rid, sec, method, site, origin, host, None, None, None, None)
        r = _send(srv, c, rid)
        want = expected_refusal(sec, method, site, origin, host)
        refused = want is not None and sec != 'report'
        assert (r.status == 403) == refused, (c, want, r.raw_head)
        result = _access_result(srv, '?%s ' % rid)
        if want:
            assert result == want, (c, result)
        else:
            assert not result.startswith('write:'), (c, result)
        sent[rid] = refused
    handled = {l.rsplit(' ', 1)[1] for l in seen(srv)}
    refused_seen = sorted(rid for rid, refused in sent.items() if refused and rid in handled)
    assert not refused_seen, refused_seen
    missed = sorted(rid for rid, refused in sent.items() if not refused and rid not in handled)
    assert not missed, missed


# ---- docs/cross-origin-writes.md examples, and Host behind a proxy ---------

GUIDE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'docs',
                     'cross-origin-writes.md')


def guide_apache_blocks():
    """Every ```apache block of docs/cross-origin-writes.md (the example, the
    rollout, the reverse proxy and the opt-out)."""
    text = open(GUIDE).read()
    return re.findall(r'^```apache\n(.*?)^```$', text, re.M | re.S)


XO_BLOCKS = guide_apache_blocks()
LOG_DIR = 'Define APACHE_LOG_DIR "{root}/logs"\n'


def test_readme_examples_pass_apachectl():
    from harness import check_config
    assert len(XO_BLOCKS) == 4, XO_BLOCKS
    for block in XO_BLOCKS:
        rc, out = check_config(LOG_DIR.replace('{root}/logs', '/tmp') + block, name='readme-xo')
        assert rc == 0 and 'Syntax OK' in out, (block, out)


# The guide's rollout (ReportOnly and its log) and its opt-out, together;
# and a backend on the second port with a check of its own, behind
# mod_proxy with and without ProxyPreserveHost.
ROLLOUT = [b for b in XO_BLOCKS if 'ReportOnly' in b][0]
OPT_OUT = [b for b in XO_BLOCKS if '/hooks/' in b][0]
PROXY_CONFIG = LOG_DIR + OPT_OUT + ROLLOUT + r"""
<Location /pp/>
    CorsCrossOriginProtection Off
    ProxyPass "http://127.0.0.1:{port1}/back/"
    ProxyPreserveHost On
</Location>
<Location /np/>
    CorsCrossOriginProtection Off
    ProxyPass "http://127.0.0.1:{port1}/back/"
</Location>
<Location /front/>
    ProxyPass "http://127.0.0.1:{port1}/back/"
</Location>
<VirtualHost 127.0.0.1:{port1}>
    DocumentRoot "{htdocs}"
    <Location /back/>
        CorsCrossOriginProtection On
    </Location>
</VirtualHost>
"""


def _readme_files(h):
    h.record = os.path.join(h.root, 'record', 'seen')
    os.makedirs(os.path.dirname(h.record))
    os.chmod(os.path.dirname(h.record), 0o1777)
    for s in ('app', 'hooks', 'back', 'other'):
        h.write(s + '/w.cgi', RECORDER.format(record=h.record), 0o755)


readme_srv = server_fixture('cross-origin-readme', PROXY_CONFIG, setup=_readme_files,
                            extra_listen=1)


def test_readme_rollout_and_opt_out(readme_srv):
    """ReportOnly lets the write through and logs it to cors_writes.log, with
    what decided it; a write On would not refuse is not logged.  The opt-out
    path takes cross-site posts; the rest of the site refuses them."""
    h = readme_srv
    post = [('Sec-Fetch-Site', 'cross-site'), ('Origin', EVIL)]
    check(h.request('POST', '/app/w.cgi?ro1', headers=post, body='a=1'), 200, [VARY])
    check(h.request('POST', '/app/w.cgi?ro2', headers=[('Sec-Fetch-Site', 'cross-site'),
                                                       ('Origin', 'https://app.example.com')],
                    body='a=1'),
          200, ['Access-Control-Allow-Origin: https://app.example.com', VARY])
    check(h.request('POST', '/hooks/w.cgi?ro3', headers=post, body='a=1'), 200, [])
    check(h.request('POST', '/other/w.cgi?ro4', headers=post, body='a=1'), 403, [])
    assert seen(h) == ['POST /app/w.cgi ro1', 'POST /app/w.cgi ro2', 'POST /hooks/w.cgi ro3']
    # the log is the server's: writes refused under On are in it too
    log = [re.sub(r' \[[^]]+\] ', ' ', l) for l in
           open(os.path.join(h.root, 'logs', 'cors_writes.log')).read().splitlines()]
    assert log == [
        '127.0.0.1 "POST /app/w.cgi?ro1 HTTP/1.1" 200 write:denied:sec-fetch-site '
        'site=cross-site origin=https://evil.example',
        '127.0.0.1 "POST /other/w.cgi?ro4 HTTP/1.1" 403 write:denied:sec-fetch-site '
        'site=cross-site origin=https://evil.example']


def test_proxy_preserve_host(readme_srv):
    """A backend's own Origin-versus-Host check sees the browser's Host only
    with ProxyPreserveHost On; the front's check refuses before the backend."""
    h = readme_srv
    own = [('Origin', 'http://127.0.0.1:%d' % h.port)]      # an old browser, same origin
    before = seen(h)
    check(h.request('POST', '/pp/w.cgi?px1', headers=own, body='a=1',
                    host='127.0.0.1:%d' % h.port), 200, [])
    check(h.request('POST', '/np/w.cgi?px2', headers=own, body='a=1',
                    host='127.0.0.1:%d' % h.port), 403, [])
    check(h.request('POST', '/front/w.cgi?px3', headers=[('Sec-Fetch-Site', 'cross-site'),
                                                         ('Origin', EVIL)], body='a=1'), 403, [])
    assert seen(h)[len(before):] == ['POST /back/w.cgi px1']
