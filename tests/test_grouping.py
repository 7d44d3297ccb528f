"""Merging in every grouping (README "Merging").

httpd merges the <Directory> sections that match a request with each other, then
the result onto the server's configuration, and the <Location> sections with each
other, then onto that; .htaccess files join the directory sections and <If> comes
last.  A request's configuration must not depend on how its sections were grouped:
"none" stays in force in every section below it, and a combination refused in one
section fails safe wherever its parts come from.
"""
import os
import random
from collections import namedtuple

import pytest

from conftest import server_fixture
from cors_cases import B, C, PREFLIGHT_VARY, check, preflight
from harness import request

APP = 'https://app.example'
RX = 'https://a.rx.example'
OWN = 'https://a.own.example'
V = 'https://v.example'

NESTED = r'''
CorsAllowOriginMatch "https://[a-z]+\.rx\.example"

# <Location>: none, then an origin of its own; a child that sets something else
<Location /x>
    CorsAllowOrigin none
    CorsAllowOrigin https://app.example
</Location>
<Location /x/y>
    CorsMaxAge 5
</Location>
<Location /x/y/z>
    CorsExposeHeaders X-A
</Location>

# <Directory>, two and three levels
<Directory "{htdocs}/d">
    CorsAllowOrigin none
    CorsAllowOrigin https://app.example
</Directory>
<Directory "{htdocs}/d/e">
    CorsMaxAge 5
</Directory>
<Directory "{htdocs}/d/e/f">
    CorsExposeHeaders X-A
</Directory>

# none in a <Directory>, the child in a <Location>
<Directory "{htdocs}/dl">
    CorsAllowOrigin none
    CorsAllowOrigin https://app.example
</Directory>
<Location /dl/sub>
    CorsMaxAge 5
</Location>

# none keeps the expressions of its own section
<Location /own>
    CorsAllowOriginMatch "https://[a-z]+\.own\.example"
    CorsAllowOrigin none
</Location>
<Location /own/sub>
    CorsMaxAge 5
</Location>

# <If> inside a section that said none
<Location /if>
    CorsAllowOrigin none
    CorsAllowOrigin https://app.example
    <If "%{QUERY_STRING} =~ /max/">
        CorsMaxAge 7
    </If>
</Location>

<VirtualHost 127.0.0.1:{port1}>
    DocumentRoot "{htdocs}"
    CorsAllowOrigin none
    CorsAllowOrigin https://v.example
</VirtualHost>
'''

NESTED_DIRS = ['x/y/z', 'd/e/f', 'dl/sub', 'own/sub', 'if', 'h/i/j', 'plain']


def _nested_files(h):
    for d in NESTED_DIRS:
        parts = d.split('/')
        for i in range(1, len(parts) + 1):
            h.write('/'.join(parts[:i]) + '/f.txt', 'f')
    # .htaccess, two and three levels
    h.write('h/.htaccess', 'CorsAllowOrigin none\nCorsAllowOrigin https://app.example\n')
    h.write('h/i/.htaccess', 'CorsMaxAge 5\n')
    h.write('h/i/j/.htaccess', 'CorsExposeHeaders X-A\n')


nested = server_fixture('grouping-nested', NESTED, setup=_nested_files, extra_listen=1)


def ok(origin, expose=None):
    return (['Access-Control-Allow-Origin: ' + origin]
            + (['Access-Control-Expose-Headers: ' + expose] if expose else [])
            + ['Vary: Origin'])


DENIED = ['Vary: Origin']

# a GET of path with this Origin, on the server's first port or (port_index 1) the
# <VirtualHost>'s, and the exact Access-Control-*/Vary lines of its 200
Nested = namedtuple('Nested', 'path origin lines port_index', defaults=(0,))
NESTED_CASES = [
    Nested('/plain/f.txt', RX, ok(RX)),                # the server's expression
    Nested('/plain/f.txt', APP, DENIED),
    # <Location>
    Nested('/x/f.txt', RX, DENIED), Nested('/x/f.txt', APP, ok(APP)),
    Nested('/x/y/f.txt', RX, DENIED), Nested('/x/y/f.txt', APP, ok(APP)),
    Nested('/x/y/z/f.txt', RX, DENIED), Nested('/x/y/z/f.txt', APP, ok(APP, 'X-A')),
    # <Directory>, one, two and three levels
    Nested('/d/f.txt', RX, DENIED), Nested('/d/f.txt', APP, ok(APP)),
    Nested('/d/e/f.txt', RX, DENIED), Nested('/d/e/f.txt', APP, ok(APP)),
    Nested('/d/e/f/f.txt', RX, DENIED), Nested('/d/e/f/f.txt', APP, ok(APP, 'X-A')),
    # <Directory> then <Location>
    Nested('/dl/sub/f.txt', RX, DENIED), Nested('/dl/sub/f.txt', APP, ok(APP)),
    # .htaccess, one, two and three levels
    Nested('/h/f.txt', RX, DENIED), Nested('/h/f.txt', APP, ok(APP)),
    Nested('/h/i/f.txt', RX, DENIED), Nested('/h/i/f.txt', APP, ok(APP)),
    Nested('/h/i/j/f.txt', RX, DENIED), Nested('/h/i/j/f.txt', APP, ok(APP, 'X-A')),
    # none drops inherited expressions, not those of its own section
    Nested('/own/f.txt', OWN, ok(OWN)), Nested('/own/f.txt', RX, DENIED),
    Nested('/own/sub/f.txt', OWN, ok(OWN)), Nested('/own/sub/f.txt', RX, DENIED),
    # <If>
    Nested('/if/f.txt?max', RX, DENIED), Nested('/if/f.txt?max', APP, ok(APP)),
    # <VirtualHost>: its none drops the server's expression; the server's
    # <Location> sections apply in it too
    Nested('/plain/f.txt', V, ok(V), port_index=1),
    Nested('/plain/f.txt', RX, DENIED, port_index=1),
    Nested('/x/y/f.txt', RX, DENIED, port_index=1),
    Nested('/x/y/f.txt', V, DENIED, port_index=1),
    Nested('/x/y/f.txt', APP, ok(APP), port_index=1),
    Nested('/h/i/j/f.txt', RX, DENIED, port_index=1),
    Nested('/h/i/j/f.txt', APP, ok(APP, 'X-A'), port_index=1),
]


@pytest.mark.parametrize('case', NESTED_CASES,
                         ids=lambda c: '%d %s %s' % (c.port_index, c.path, c.origin))
def test_nested(nested, case):
    r = request(nested.ports[case.port_index], 'GET', case.path,
                headers=(('Origin', case.origin),))
    check(r, 200, case.lines)


@pytest.mark.parametrize('path,max_age', [('/x/y/f.txt', '5'), ('/d/e/f.txt', '5'),
                                          ('/h/i/f.txt', '5'), ('/if/f.txt?max', '7'),
                                          ('/dl/sub/f.txt', '5')])
def test_nested_preflight(nested, path, max_age):
    check(preflight(nested, path, RX, 'POST'), 403, [PREFLIGHT_VARY])
    check(preflight(nested, path, APP, 'POST'), 204,
          ['Access-Control-Allow-Origin: ' + APP, 'Access-Control-Allow-Methods: POST',
           'Access-Control-Max-Age: ' + max_age, PREFLIGHT_VARY])


# ---- the merge is associative: random sections, grouped both ways ---------------

# Directive lines a section may hold; a section is refused alone if it makes one of
# the combinations of README "Configuration errors" (those are what the fail-safe
# table below is about).
LINES = [
    'CorsAllowOrigin https://a.example',
    'CorsAllowOrigin https://b.example https://*.sub.example',
    'CorsAllowOrigin none',
    'CorsAllowOrigin none\nCorsAllowOrigin https://c.example',
    'CorsAllowOrigin *',
    'CorsAllowOrigin http://*.h.example',
    r'CorsAllowOriginMatch "https://[a-z]+\.rx\.example"',
    'CorsAllowOriginMatch "https://.*"',
    'CorsAllowOrigin https://*.github.io',
    'CorsAllowCredentials On',
    'CorsAllowCredentials Off',
    'CorsExposeHeaders X-A',
    'CorsExposeHeaders *',
    'CorsAllowMethods PUT',
    'CorsAllowMethods *',
    'CorsAllowHeaders X-A',
    'CorsMaxAge 5',
    'CorsMaxAge 0',
    'CorsEngine Off',
    'CorsEngine On',
    'CorsEngine ReportOnly',
    'CorsAllowPrivateNetwork On',
    'CorsPreflightStatus 200',
    'CorsDenyOrigin https://a.example',
    'CorsDenyOrigin https://*.sub.example null',
    'CorsDenyOrigin none',
    'CorsTimingAllowOrigin On',
    'CorsTimingAllowOrigin Off',
    # deny lists add up down the tree, until a section says none; an origin file's
    # '!' lines are deny rules too
    'CorsDenyOrigin https://b.example',
    'CorsDenyOrigin https://evil.example\nCorsDenyOrigin none https://c.example',
    'CorsAllowOriginFile "{root}/bang.txt"',
]

# bang.txt: an origin, and one never allowed below (a '!' line)
BANG = 'https://x.sub.example\n!https://evil.example\n'
BANG_DENIES = ['https://evil.example']

ORIGINS = ['https://a.example', 'https://b.example', 'https://c.example',
           'https://x.sub.example', 'https://a.rx.example', 'http://evil.h.example',
           'https://evil.github.io', 'https://evil.example', 'null', None]


def _exact(text, directive):
    return {w for l in text.split('\n') if l.startswith(directive + ' ')
            for w in l.split()[1:] if '*' not in w and '://' in w}


def _refused_alone(lines):
    text = '\n'.join(lines)
    cred = 'CorsAllowCredentials On' in text
    star = 'CorsAllowOrigin *' in text
    allowed = _exact(text, 'CorsAllowOrigin') | (
        {'https://x.sub.example'} if 'bang.txt' in text else set())
    denied = _exact(text, 'CorsDenyOrigin') | (set(BANG_DENIES) if 'bang.txt' in text else set())
    return (cred and (star or 'http://*.' in text or '"https://.*"' in text
                      or '*.github.io' in text or 'CorsExposeHeaders *' in text)
            or (star and 'CorsAllowPrivateNetwork On' in text)
            # an origin both allowed and denied
            or bool(allowed & denied))


def _section(rnd):
    """Up to two origin rules (the first nine lines) and up to two others."""
    while True:
        lines = rnd.sample(LINES[:9], rnd.randint(0, 2)) + \
            rnd.sample(LINES[9:], rnd.randint(0, 2))
        rnd.shuffle(lines)
        if not _refused_alone(lines):
            return '\n'.join(lines)


RX_RULE = r'CorsAllowOriginMatch "https://[a-z]+\.rx\.example"'
# the directive lines of three nested sections, from the outside in
Triple = namedtuple('Triple', 'outer middle inner')
# the shapes that once depended on the grouping ("none" below an expression, with
# a child that sets something else), then random triples
_rnd = random.Random(20261201)
TRIPLE_SECTIONS = [
    Triple(RX_RULE, 'CorsAllowOrigin none\nCorsAllowOrigin https://c.example', 'CorsMaxAge 5'),
    Triple(RX_RULE, 'CorsAllowOrigin none', 'CorsAllowOrigin https://a.example'),
    Triple(RX_RULE + '\nCorsAllowOrigin https://a.example', 'CorsAllowOrigin none\nCorsMaxAge 5',
           'CorsExposeHeaders X-A'),
    Triple('CorsAllowOriginMatch "https://.*"', 'CorsAllowOrigin none\nCorsAllowOrigin *',
           'CorsAllowCredentials Off'),
    # a deny list set, emptied and set again below; under '*'; with timing
    Triple('CorsAllowOrigin https://a.example https://*.sub.example',
           'CorsDenyOrigin https://*.sub.example null', 'CorsMaxAge 5'),
    Triple('CorsDenyOrigin https://a.example', 'CorsDenyOrigin none',
           'CorsAllowOrigin https://a.example'),
    Triple('CorsAllowOrigin *\nCorsDenyOrigin https://a.example', 'CorsExposeHeaders X-A',
           'CorsDenyOrigin none\nCorsTimingAllowOrigin On'),
    Triple('CorsTimingAllowOrigin On', 'CorsAllowOrigin https://b.example',
           'CorsTimingAllowOrigin Off\nCorsDenyOrigin https://b.example'),
    # a deny list inherited through two sections that set other things
    Triple('CorsAllowOrigin * https://b.example\nCorsDenyOrigin https://a.example',
           'CorsTimingAllowOrigin On', 'CorsExposeHeaders X-A'),
    # deny lists that add up: a parent's deny (and an origin file's '!' line) below a
    # child's own list; none drops them
    Triple('CorsAllowOrigin *\nCorsDenyOrigin https://a.example', 'CorsDenyOrigin https://b.example',
           'CorsExposeHeaders X-A'),
    Triple('CorsAllowOrigin https://*.sub.example https://b.example https://evil.example',
           'CorsAllowOriginFile "{root}/bang.txt"', 'CorsDenyOrigin https://x.sub.example'),
    Triple('CorsAllowOrigin *\nCorsDenyOrigin https://a.example', 'CorsDenyOrigin https://b.example',
           'CorsDenyOrigin none https://c.example'),
    # ReportOnly above On and above Off (the random triples cover below)
    Triple('CorsAllowOrigin https://a.example\nCorsEngine ReportOnly', 'CorsEngine On',
           'CorsMaxAge 5'),
    Triple('CorsEngine ReportOnly', 'CorsAllowOrigin https://b.example\nCorsEngine Off',
           'CorsExposeHeaders X-A'),
    # the cross-origin write check above and below Off, with origin rules
    # from other sections
    Triple('CorsCrossOriginProtection On', 'CorsAllowOrigin https://a.example',
           'CorsCrossOriginProtection Off'),
    Triple('CorsAllowOrigin https://a.example\nCorsCrossOriginProtection Off',
           'CorsCrossOriginProtection ReportOnly\nCorsEngine Off', 'CorsMaxAge 5'),
] + [Triple(*(_section(_rnd) for _ in range(3))) for _ in range(100)]
# a CorsCrossOriginProtection line, or none, added to each section of the
# random triples (drawn apart, so that the triples above stay the same)
_protect = random.Random(20)
PROTECTION = ['', '', 'CorsCrossOriginProtection On', 'CorsCrossOriginProtection Off',
              'CorsCrossOriginProtection ReportOnly']
TRIPLE_SECTIONS[-100:] = [
    Triple(*('\n'.join(x for x in (s, _protect.choice(PROTECTION)) if x) for s in t))
    for t in TRIPLE_SECTIONS[-100:]]
TRIPLES = len(TRIPLE_SECTIONS)


# CORS_RESULT and CORS_REPORT of each request: with CorsEngine ReportOnly the
# responses are the handler's, and the decision shows only there
REPORT_LOG = 'LogFormat "%{CORS_RESULT}e %{CORS_REPORT}e" report\nCustomLog logs/report_log report'


def _triples_config():
    """For triple i, (a, b, c) = (outer, middle, inner): /l<i>/s/t/ merges ((a, b), c),
    all three <Location> sections; /r<i>/s/t/ merges (a, (b, c)): a in a <Directory>,
    b and c <Location> sections."""
    out = [REPORT_LOG]
    for i, (a, b, c) in enumerate(TRIPLE_SECTIONS):
        out.append('<Location /l%d>\n%s\n</Location>' % (i, a))
        out.append('<Location /l%d/s>\n%s\n</Location>' % (i, b))
        out.append('<Location /l%d/s/t>\n%s\n</Location>' % (i, c))
        out.append('<Directory "{htdocs}/r%d">\n%s\n</Directory>' % (i, a))
        out.append('<Location /r%d/s>\n%s\n</Location>' % (i, b))
        out.append('<Location /r%d/s/t>\n%s\n</Location>' % (i, c))
    return '\n'.join(out)


def _triples_files(h):
    h.write_root('bang.txt', BANG)
    for i in range(TRIPLES):
        for side in 'lr':
            h.write('%s%d/s/t/f.txt' % (side, i), 'f')


# the start-up warnings of the patterns on a public suffix (tests/test_config_warnings.py)
START_UP_WARNINGS = (r'\] CORS0004: ',)
triples = server_fixture('grouping-triples', _triples_config(), setup=_triples_files,
                         allow_log=START_UP_WARNINGS)


def _reports(srv):
    # apache2 -X (valgrind) may take its first request before mod_log_config
    # has created the file: none yet is no line yet
    try:
        with open(os.path.join(srv.root, 'logs', 'report_log')) as f:
            return f.read().splitlines()
    except FileNotFoundError:
        return []


def _answers(srv, base):
    """(request, status, sorted Access-Control-*/Vary lines, CORS_RESULT and
    CORS_REPORT) for a fixed set of requests to base + 'f.txt'."""
    out = []
    before = len(_reports(srv))
    for origin in ORIGINS:
        h = (('Origin', origin),) if origin else ()
        r = srv.request('GET', base + 'f.txt', headers=h)
        out.append(['GET %s' % origin, r.status, sorted(r.cors_lines())])
        if origin:
            r = preflight(srv, base + 'f.txt', origin, 'PUT', 'X-A',
                          extra=(('Access-Control-Request-Private-Network', 'true'),))
            out.append(['OPTIONS %s' % origin, r.status, sorted(r.cors_lines())])
        # a cross-origin write (the handler answers 405, or the check 403)
        r = srv.request('POST', base + 'f.txt', headers=h + (('Sec-Fetch-Site', 'cross-site'),),
                        body='')
        out.append(['POST %s' % origin, r.status, sorted(r.cors_lines())])
    logged = _reports(srv)[before:]
    assert len(logged) == len(out), logged
    return [a + [l] for a, l in zip(out, logged)]


def _denies_in_force(sections):
    """The deny rules in force in the innermost of the sections (README "Merging"):
    every deny of the sections, outside in, and every '!' line of their origin
    files, since the last "CorsDenyOrigin none"."""
    rules = []
    for section in sections:
        for line in section.split('\n'):
            words = line.split()
            if words[:1] == ['CorsDenyOrigin']:
                for w in words[1:]:
                    rules = [] if w.lower() == 'none' else rules + [w]
            elif words[:1] == ['CorsAllowOriginFile']:
                rules += BANG_DENIES
    return rules


def _deny_covers(rule, origin):
    if rule == 'null' or origin in (None, 'null'):
        return rule == origin
    if '://*.' in rule:
        scheme, domain = rule.split('://*.')
        return origin.startswith(scheme + '://') and origin.endswith('.' + domain)
    return rule == origin


def check_denies_hold(answers, sections):
    """No origin a deny rule in force covers is allowed, in any answer."""
    rules = _denies_in_force(sections)
    for asked, status, lines, logged in answers:
        origin = asked.split(' ', 1)[1]
        if any(_deny_covers(r, origin) for r in rules):
            assert not [l for l in lines if l.startswith('Access-Control-Allow-Origin')], \
                (asked, lines, rules)
            assert logged.split()[0] in ('-', 'denied:origin', 'preflight:denied:origin',
                                         'write:denied:sec-fetch-site',
                                         'write:denied:origin'), \
                (asked, logged, rules)


@pytest.mark.allow_log(r'CORS003\d: the merged configuration combines')
@pytest.mark.parametrize('i', range(TRIPLES))
def test_merge_is_associative(triples, i):
    """The same answers in both groupings, and no denied origin allowed."""
    left = _answers(triples, '/l%d/s/t/' % i)
    right = _answers(triples, '/r%d/s/t/' % i)
    assert left == right, ('sections:\n--- outer\n%s\n--- middle\n%s\n--- inner\n%s'
                           % TRIPLE_SECTIONS[i])
    check_denies_hold(left, TRIPLE_SECTIONS[i])


def test_triples_cover_none_below_an_expression():
    """The generated triples include, several times, the case that once failed: an
    expression above a section that says none, with a child below it that sets
    something else, all in CORS scope."""
    def case(a, b, c):
        return bool('CorsAllowOriginMatch' in a and 'CorsAllowOrigin none' in b and c
                    and 'CorsAllowOrigin' not in c and 'CorsEngine Off' not in b + c)
    assert sum(case(*t) for t in TRIPLE_SECTIONS) >= 3


def test_triples_cover_report_only():
    """... and ReportOnly below On or Off, and On or Off below ReportOnly."""
    def engines(t):
        return [e for s in t for e in ('On', 'Off', 'ReportOnly') if 'CorsEngine ' + e in s]
    below = sum(engines(t)[-2:] in (['On', 'ReportOnly'], ['Off', 'ReportOnly'])
                for t in TRIPLE_SECTIONS)
    above = sum(engines(t)[-2:] in (['ReportOnly', 'On'], ['ReportOnly', 'Off'])
                for t in TRIPLE_SECTIONS)
    assert below >= 2 and above >= 2, (below, above)


def test_triples_cover_protection():
    """... and CorsCrossOriginProtection: On or ReportOnly above Off, and Off
    above On or ReportOnly, in many triples with an origin rule."""
    def modes(t):
        return [m for s in t for m in ('On', 'Off', 'ReportOnly')
                if 'CorsCrossOriginProtection ' + m in s]
    def case(t):
        m = modes(t)
        return len(set(m)) >= 2 and any('CorsAllowOrigin' in x for x in t)
    assert sum(case(t) for t in TRIPLE_SECTIONS) >= 10


def test_triples_cover_deny_lists():
    """... and deny lists: set in one section, emptied or replaced in another, with
    an origin rule in scope."""
    def case(*t):
        return (sum('CorsDenyOrigin' in x for x in t) >= 2
                and any('CorsAllowOrigin' in x for x in t))
    assert sum(case(*t) for t in TRIPLE_SECTIONS[4:]) >= 3


def test_triples_cover_denies_adding_up():
    """... and denies that add up: a deny (or an origin file's '!' line) in an outer
    section that still holds in the innermost one below another section's own deny
    list, for an origin an allow rule in force would take."""
    def case(a, b, c):
        outer = _denies_in_force([a])
        inner = _denies_in_force([a, b, c])
        own = any('CorsDenyOrigin' in x and 'none' not in x for x in (b, c))
        return bool(outer) and own and set(outer) <= set(inner)
    assert sum(case(*t) for t in TRIPLE_SECTIONS) >= 3


# ---- fail-safes, whichever sections their parts come from ------------------------

ATTACKER = 'http://attacker.example.com'
GH = 'https://attacker.github.io'
HEROKU = 'https://attacker.herokuapp.com:8443'
AMZ = 'https://attacker-bucket.s3.amazonaws.com'
PNA = (('Access-Control-Request-Private-Network', 'true'),)

# Per tag: the setting its log line quotes ("combines '<combines>' with <log_tail>")
# and the variants: a combination split into a first (outer) and a second (inner)
# part, and the requests to the innermost section with their exact answers.  A
# request's kind is 'GET', 'OPTIONS' (a preflight for POST) or 'PNA' (the same,
# asking for private network access).
FailSafe = namedtuple('FailSafe', 'combines log_tail variants')
Variant = namedtuple('Variant', 'first second answers')
Answer = namedtuple('Answer', 'kind origin status lines')
FAIL_SAFES = {
    'CORS0030': FailSafe(
        'CorsAllowOrigin *',
        "'CorsAllowCredentials On'; origins not allowed by another rule get '*' "
        "without credentials", [
            Variant('CorsAllowOrigin * https://b.example', 'CorsAllowCredentials On', [
                Answer('GET', C, 200, ['Access-Control-Allow-Origin: *', 'Vary: Origin']),
                Answer('GET', B, 200, ['Access-Control-Allow-Origin: ' + B,
                                       'Access-Control-Allow-Credentials: true', 'Vary: Origin']),
                Answer('OPTIONS', C, 204, ['Access-Control-Allow-Origin: *',
                                           'Access-Control-Allow-Methods: POST', PREFLIGHT_VARY]),
            ]),
        ]),
    'CORS0031': FailSafe(
        'CorsExposeHeaders *',
        "'CorsAllowCredentials On'; '*' is left out of Access-Control-Expose-Headers", [
            Variant('CorsAllowOrigin https://b.example\nCorsExposeHeaders * X-A',
                    'CorsAllowCredentials On', [
                Answer('GET', B, 200, ['Access-Control-Allow-Origin: ' + B,
                                       'Access-Control-Allow-Credentials: true',
                                       'Access-Control-Expose-Headers: X-A', 'Vary: Origin']),
            ]),
            # '*' was the only item: no Access-Control-Expose-Headers at all
            Variant('CorsAllowOrigin https://b.example\nCorsExposeHeaders *',
                    'CorsAllowCredentials On', [
                Answer('GET', B, 200, ['Access-Control-Allow-Origin: ' + B,
                                       'Access-Control-Allow-Credentials: true', 'Vary: Origin']),
            ]),
        ]),
    'CORS0032': FailSafe(
        'CorsAllowPrivateNetwork On',
        "'CorsAllowOrigin *'; private network access is not granted to '*'", [
            Variant('CorsAllowOrigin *', 'CorsAllowPrivateNetwork On', [
                Answer('PNA', C, 204, ['Access-Control-Allow-Origin: *',
                                       'Access-Control-Allow-Methods: POST',
                                       PREFLIGHT_VARY + ',Access-Control-Request-Private-Network']),
            ]),
        ]),
    'CORS0033': FailSafe(
        'CorsAllowOriginMatch https://.*',
        "'CorsAllowCredentials On'; the origins it matches get '*' without credentials", [
            Variant('CorsAllowOriginMatch "https://.*"', 'CorsAllowCredentials On', [
                Answer('GET', C, 200, ['Access-Control-Allow-Origin: *', 'Vary: Origin']),
                Answer('OPTIONS', C, 204, ['Access-Control-Allow-Origin: *',
                                           'Access-Control-Allow-Methods: POST', PREFLIGHT_VARY]),
            ]),
            # another expression that allows the origin decides, with credentials
            Variant('CorsAllowOriginMatch "https://.*"\nCorsAllowOriginMatch "https://b\\.example"',
                    'CorsAllowCredentials On', [
                Answer('GET', B, 200, ['Access-Control-Allow-Origin: ' + B,
                                       'Access-Control-Allow-Credentials: true', 'Vary: Origin']),
                Answer('GET', C, 200, ['Access-Control-Allow-Origin: *', 'Vary: Origin']),
            ]),
        ]),
    'CORS0034': FailSafe(
        'http://*.example.com',
        "'CorsAllowCredentials On'; the origins it matches are allowed without credentials", [
            Variant('CorsAllowOrigin http://*.example.com', 'CorsAllowCredentials On', [
                Answer('GET', ATTACKER, 200, ['Access-Control-Allow-Origin: ' + ATTACKER,
                                              'Vary: Origin']),
                Answer('OPTIONS', ATTACKER, 204, ['Access-Control-Allow-Origin: ' + ATTACKER,
                                                  'Access-Control-Allow-Methods: POST',
                                                  PREFLIGHT_VARY]),
                Answer('GET', 'http://example.com', 200, ['Vary: Origin']),
            ]),
            # an expression that allows the origin decides, with credentials
            Variant('CorsAllowOrigin http://*.example.com\n'
                    'CorsAllowOriginMatch "http://b\\.example\\.com"', 'CorsAllowCredentials On', [
                Answer('GET', 'http://b.example.com', 200, [
                    'Access-Control-Allow-Origin: http://b.example.com',
                    'Access-Control-Allow-Credentials: true', 'Vary: Origin']),
                Answer('GET', ATTACKER, 200, ['Access-Control-Allow-Origin: ' + ATTACKER,
                                              'Vary: Origin']),
            ]),
        ]),
    # a public suffix (Public Suffix List): anyone can register a site under it
    'CORS0035': FailSafe(
        'https://*.github.io',
        "'CorsAllowCredentials On'; the origins it matches are allowed without credentials", [
            Variant('CorsAllowOrigin https://*.github.io https://b.example',
                    'CorsAllowCredentials On', [
                Answer('GET', GH, 200, ['Access-Control-Allow-Origin: ' + GH, 'Vary: Origin']),
                Answer('OPTIONS', GH, 204, ['Access-Control-Allow-Origin: ' + GH,
                                            'Access-Control-Allow-Methods: POST',
                                            PREFLIGHT_VARY]),
                # another rule of the same list keeps its credentials
                Answer('GET', B, 200, ['Access-Control-Allow-Origin: ' + B,
                                       'Access-Control-Allow-Credentials: true', 'Vary: Origin']),
                Answer('GET', 'https://github.io', 200, ['Vary: Origin']),
            ]),
            # any other rule that allows the origin decides, with credentials: a longer
            # pattern, an expression
            Variant('CorsAllowOrigin https://*.github.io https://*.alice.github.io\n'
                    'CorsAllowOriginMatch "https://carol\\.github\\.io"',
                    'CorsAllowCredentials On', [
                Answer('GET', 'https://x.alice.github.io', 200, [
                    'Access-Control-Allow-Origin: https://x.alice.github.io',
                    'Access-Control-Allow-Credentials: true', 'Vary: Origin']),
                Answer('OPTIONS', 'https://x.alice.github.io', 204, [
                    'Access-Control-Allow-Origin: https://x.alice.github.io',
                    'Access-Control-Allow-Credentials: true',
                    'Access-Control-Allow-Methods: POST', PREFLIGHT_VARY]),
                Answer('GET', 'https://carol.github.io', 200, [
                    'Access-Control-Allow-Origin: https://carol.github.io',
                    'Access-Control-Allow-Credentials: true', 'Vary: Origin']),
                Answer('GET', GH, 200, ['Access-Control-Allow-Origin: ' + GH, 'Vary: Origin']),
            ]),
            # a public suffix below the pattern's domain (s3.amazonaws.com)
            Variant('CorsAllowOrigin https://*.github.io https://*.amazonaws.com',
                    'CorsAllowCredentials On', [
                Answer('GET', AMZ, 200, ['Access-Control-Allow-Origin: ' + AMZ, 'Vary: Origin']),
                Answer('OPTIONS', AMZ, 204, ['Access-Control-Allow-Origin: ' + AMZ,
                                             'Access-Control-Allow-Methods: POST',
                                             PREFLIGHT_VARY]),
            ]),
            # with a port: the same
            Variant('CorsAllowOrigin https://*.herokuapp.com:*', 'CorsAllowCredentials On', [
                Answer('GET', HEROKU, 200, ['Access-Control-Allow-Origin: ' + HEROKU,
                                            'Vary: Origin']),
            ]),
        ]),
}

# How the two parts are spread over sections, from the outside in (see
# _fail_safe_config); the requests go to the innermost one.
GROUPINGS = {'two': 'two/in', 'three': 'three/mid/in', 'dir-loc': 'dir-loc/in',
             'htaccess': 'htaccess/in', 'htaccess-three': 'htaccess-three/mid/in',
             'swapped': 'swapped/in'}
# a section between the two parts, setting something else
UNRELATED = 'CorsAllowHeaders X-Unused'


def _variants():
    """(URL prefix, first part, second part, answers) of every variant."""
    for tag, fail_safe in FAIL_SAFES.items():
        for n, v in enumerate(fail_safe.variants):
            yield '/%s-%d' % (tag.lower(), n), v.first, v.second, v.answers


def _fail_safe_config():
    out = []
    for s, first, second, _ in _variants():
        out += ['<Location %s/two>\n%s\n</Location>' % (s, first),
                '<Location %s/two/in>\n%s\n</Location>' % (s, second),
                '<Location %s/three>\n%s\n</Location>' % (s, first),
                '<Location %s/three/mid>\n%s\n</Location>' % (s, UNRELATED),
                '<Location %s/three/mid/in>\n%s\n</Location>' % (s, second),
                '<Directory "{htdocs}%s/dir-loc">\n%s\n</Directory>' % (s, first),
                '<Location %s/dir-loc/in>\n%s\n</Location>' % (s, second),
                '<Location %s/htaccess>\n%s\n</Location>' % (s, first),
                '<Directory "{htdocs}%s/htaccess-three">\n%s\n</Directory>' % (s, first),
                '<Location %s/swapped>\n%s\n</Location>' % (s, second),
                '<Location %s/swapped/in>\n%s\n</Location>' % (s, first)]
    return '\n'.join(out)


def _fail_safe_files(h):
    for s, first, second, _ in _variants():
        for path in GROUPINGS.values():
            h.write('%s/%s/f.txt' % (s[1:], path), 'f')
        # the second part from .htaccess: under a <Location>, and two levels below
        # a <Directory>, with an unrelated .htaccess between
        h.write('%s/htaccess/in/.htaccess' % s[1:], second + '\n')
        h.write('%s/htaccess-three/mid/.htaccess' % s[1:], UNRELATED + '\n')
        h.write('%s/htaccess-three/mid/in/.htaccess' % s[1:], second + '\n')


failsafe = server_fixture('grouping-failsafe', _fail_safe_config(), setup=_fail_safe_files,
                          allow_log=START_UP_WARNINGS)


def _send(srv, kind, origin, path):
    if kind == 'GET':
        return srv.request('GET', path, headers=(('Origin', origin),))
    return preflight(srv, path, origin, 'POST', extra=PNA if kind == 'PNA' else ())


@pytest.mark.parametrize('tag', FAIL_SAFES)
def test_fail_safe_in_every_grouping(failsafe, tag, request):
    """Each refused combination spread over two and three sections, a <Directory>
    and a <Location>, .htaccess files, in either order: the fail-safe answer every
    time, and one log line."""
    request.applymarker(pytest.mark.allow_log(tag + ': the merged configuration combines'))
    mark = failsafe.log_mark()
    for s, first, second, answers in _variants():
        if not s.startswith('/' + tag.lower()):
            continue
        for grouping, inner in GROUPINGS.items():
            for a in answers:
                for _ in range(3):
                    r = _send(failsafe, a.kind, a.origin, '%s/%s/f.txt' % (s, inner))
                    # check(), with the grouping and the parts in the message
                    assert (r.status, sorted(r.cors_lines())) == (a.status, sorted(a.lines)), \
                        (grouping, first, second, r.raw_head)
    logged = [l for l in failsafe.log_since(mark) if tag + ': ' in l]
    # once per server process (a run uses one or two), never per request
    assert 1 <= len(logged) <= 2, logged
    want = "%s: the merged configuration combines '%s' with %s (for /%s-" % (
        tag, FAIL_SAFES[tag].combines, FAIL_SAFES[tag].log_tail, tag.lower())
    assert all(':warn]' in l and want in l for l in logged), (want, logged)
