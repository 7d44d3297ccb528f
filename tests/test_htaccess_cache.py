"""README "Performance": a child keeps the parsed origins of a CorsAllowOrigin
line of .htaccess that lists origins only, and a request that reads the same
line again uses them instead of parsing the line.  The answers must not
depend on it: every policy below is written twice, in an .htaccess file (the
first request of a child parses the line, the next ones find it kept) and in
a <Directory> section of the server configuration (parsed once, at start-up,
never kept), and each request gets the same lines from both, every time.
Errors in .htaccess stay errors (500) however often the file is read."""
import threading

import pytest

from conftest import server_fixture
from cors_cases import A, B, C, EVIL, PREFLIGHT_VARY, check, preflight

MANY = ['https://o%d.example' % i for i in range(1, 100)]
SUB = 'https://x.a.example'

# (name, lines of the policy, origins it allows; None: not checked against a
# list, only against its twin, e.g. ReportOnly)
POLICIES = [
    ('three', 'CorsAllowOrigin %s %s %s' % (A, B, C), {A, B, C}),
    ('many', 'CorsAllowOrigin %s %s' % (' '.join(MANY), A), set(MANY) | {A}),
    ('twice', 'CorsAllowOrigin %s %s %s' % (A, A, B), {A, B}),
    # the same first line as 'one': the second line adds to this section's
    # copy, never to the kept set
    ('two-lines', 'CorsAllowOrigin %s\nCorsAllowOrigin %s' % (A, B), {A, B}),
    ('one', 'CorsAllowOrigin %s' % A, {A}),
    ('one-again', 'CorsAllowOrigin %s' % A, {A}),
    # one line, two sections: the other directives are each section's own
    ('pair-creds', 'CorsAllowOrigin %s %s\nCorsAllowCredentials On' % (A, B), {A, B}),
    ('pair', 'CorsAllowOrigin %s %s' % (A, B), {A, B}),
    ('pair-spaces', 'CorsAllowOrigin   %s \t %s  ' % (A, B), {A, B}),
    ('deny-first', 'CorsDenyOrigin %s\nCorsAllowOrigin %s %s' % (EVIL, A, B), {A, B}),
    ('deny-after', 'CorsAllowOrigin %s %s\nCorsDenyOrigin https://*.b.example' % (A, B),
     {A, B}),
    ('quoted', 'CorsAllowOrigin "%s" %s' % (A, B), {A, B}),
    ('normalised', 'CorsAllowOrigin HTTPS://A.EXAMPLE https://b.example:443', {A, B}),
    ('pattern', 'CorsAllowOrigin https://*.a.example %s' % B, {SUB, B}),
    ('null', 'CorsAllowOrigin null %s' % A, {'null', A}),
    ('then-none', 'CorsAllowOrigin %s %s\nCorsAllowOrigin none' % (A, B), set()),
    # a line that is kept elsewhere ('pair'), after one of its section
    ('c-then-pair', 'CorsAllowOrigin %s\nCorsAllowOrigin %s %s' % (C, A, B), {A, B, C}),
    ('report-only', 'CorsEngine ReportOnly\nCorsAllowOrigin %s %s' % (A, B), None),
    ('expose', 'CorsAllowOrigin %s %s\nCorsExposeHeaders X-One' % (A, B), None),
]

PROBES = [A, B, C, EVIL, SUB, 'null', MANY[0], MANY[-1], 'https://a.example:8443',
          'HTTPS://A.EXAMPLE']

# an .htaccess of a line that is kept, then an error: refused every time
ERRORS = [
    ('both', 'CorsAllowOrigin %s %s\nCorsDenyOrigin %s' % (A, B, B),
     "'%s' is both allowed (CorsAllowOrigin) and denied (CorsDenyOrigin)" % B),
    ('deny-then-both', 'CorsDenyOrigin %s\nCorsAllowOrigin %s %s' % (B, A, B),
     "'%s' is both allowed (CorsAllowOrigin) and denied (CorsDenyOrigin)" % B),
    ('bad-word', 'CorsAllowOrigin %s %s https://c.example/' % (A, B),
     "'https://c.example/' is not an origin (remove the trailing slash)"),
    ('star-creds', 'CorsAllowOrigin %s %s\nCorsAllowCredentials On\nCorsAllowOrigin *' % (A, B),
     'CorsAllowOrigin'),
]

CONFIG = '<Directory "{htdocs}/merge">\n    CorsAllowOrigin %s\n</Directory>\n' % C + ''.join(
    '<Directory "{htdocs}/conf/%s">\n%s\n</Directory>\n'
    % (name, '\n'.join('    ' + l for l in lines.split('\n')))
    for name, lines, _ in POLICIES)


def _files(h):
    for name, lines, _ in POLICIES:
        h.write('conf/%s/x.txt' % name, 'x')
        h.write('hta/%s/x.txt' % name, 'x')
        h.write('hta/%s/.htaccess' % name, lines + '\n')
    for name, lines, _ in ERRORS:
        h.write('err/%s/x.txt' % name, 'x')
        h.write('err/%s/.htaccess' % name, lines + '\n')
    # merging: the .htaccess line replaces the <Directory>'s origins
    h.write('merge/x.txt', 'x')
    h.write('merge/in/x.txt', 'x')
    h.write('merge/in/.htaccess', 'CorsAllowOrigin %s %s\n' % (A, B))


srv = server_fixture('htaccess_cache', CONFIG, setup=_files)


def answer(r):
    return r.status, sorted(r.cors_lines())


def allowed(origin):
    return ['Access-Control-Allow-Origin: ' + origin, 'Vary: Origin']


@pytest.mark.parametrize('policy', POLICIES, ids=lambda p: p[0])
def test_kept_line_answers_as_the_server_configuration(srv, policy):
    name, _, allows = policy
    for origin in PROBES:
        twin = answer(srv.request('GET', '/conf/%s/x.txt' % name,
                                  headers=(('Origin', origin),)))
        if allows is not None:
            creds = ['Access-Control-Allow-Credentials: true'] if 'creds' in name else []
            lines = (allowed(origin) + creds if origin in allows
                     else ['Vary: Origin'] if allows else [])
            assert twin == (200, sorted(lines)), (name, origin)
        for _ in range(3):      # the first one may parse; the next ones find it kept
            r = srv.request('GET', '/hta/%s/x.txt' % name, headers=(('Origin', origin),))
            assert answer(r) == twin, (name, origin, r.raw_head)


@pytest.mark.parametrize('policy', POLICIES, ids=lambda p: p[0])
def test_kept_line_preflight(srv, policy):
    name = policy[0]
    for origin in (A, EVIL):
        twin = answer(preflight(srv, '/conf/%s/x.txt' % name, origin, 'PUT'))
        for _ in range(3):
            r = preflight(srv, '/hta/%s/x.txt' % name, origin, 'PUT')
            assert answer(r) == twin, (name, origin, r.raw_head)
    for _ in range(3):
        check(preflight(srv, '/hta/pair/x.txt', A, 'POST'), 204,
              ['Access-Control-Allow-Origin: ' + A, 'Access-Control-Allow-Methods: POST',
               PREFLIGHT_VARY])


def test_kept_set_is_not_written(srv):
    """A section that adds to a kept line's origins adds to its own copy: the
    sections with the same line alone never allow what it added."""
    for _ in range(4):
        check(srv.request('GET', '/hta/two-lines/x.txt', headers=(('Origin', B),)), 200,
              allowed(B))
        check(srv.request('GET', '/hta/one/x.txt', headers=(('Origin', B),)), 200,
              ['Vary: Origin'])
        check(srv.request('GET', '/hta/one-again/x.txt', headers=(('Origin', B),)), 200,
              ['Vary: Origin'])
        check(srv.request('GET', '/hta/c-then-pair/x.txt', headers=(('Origin', C),)),
              200, allowed(C))
        check(srv.request('GET', '/hta/pair/x.txt', headers=(('Origin', C),)), 200,
              ['Vary: Origin'])


def test_kept_line_merges(srv):
    for _ in range(3):
        check(srv.request('GET', '/merge/x.txt', headers=(('Origin', C),)), 200, allowed(C))
        check(srv.request('GET', '/merge/in/x.txt', headers=(('Origin', A),)), 200,
              allowed(A))
        check(srv.request('GET', '/merge/in/x.txt', headers=(('Origin', C),)), 200,
              ['Vary: Origin'])


@pytest.mark.allow_log(r'is both allowed|is not an origin|CorsAllowOrigin')
@pytest.mark.parametrize('error', ERRORS, ids=lambda e: e[0])
def test_error_after_kept_line(srv, error):
    name, _, message = error
    # the same first line, read without error, is kept by then
    for _ in range(2):
        check(srv.request('GET', '/hta/pair/x.txt', headers=(('Origin', A),)), 200, allowed(A))
    for _ in range(3):
        mark = srv.log_mark()
        r = srv.request('GET', '/err/%s/x.txt' % name, headers=(('Origin', A),))
        assert r.status == 500
        assert any(message in l for l in srv.log_since(mark)), (name, srv.log_since(mark))


def test_kept_lines_under_concurrent_requests(srv):
    """Threads of one child read and keep lines at the same time."""
    wrong = []

    def run(names):
        for _ in range(5):
            for name, origin, lines in names:
                r = srv.request('GET', '/hta/%s/x.txt' % name, headers=(('Origin', origin),))
                if answer(r) != (200, sorted(lines)):
                    wrong.append((name, origin, r.raw_head))

    work = [('many', MANY[-1], allowed(MANY[-1])), ('one', B, ['Vary: Origin']),
            ('three', C, allowed(C)), ('pair-creds', B,
                                      allowed(B) + ['Access-Control-Allow-Credentials: true'])]
    threads = [threading.Thread(target=run, args=(work[i:] + work[:i],)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not wrong
