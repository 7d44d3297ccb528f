"""README "CorsEngine" (ReportOnly) and docs/migration.md ("Migrating from the
mod_headers/SetEnvIf recipe", "What ReportOnly compares"): with CorsEngine ReportOnly the module decides as with On (the same
CORS_RESULT) but every response is left as the rest of the server makes it, and
CORS_REPORT says where the module's answer would have differed."""
import os
import re
import time
from collections import namedtuple

import pytest

import test_actual
import test_preflight
from conftest import server_fixture
from cors_cases import A, B, BACKEND_VHOST, EVIL, PREFLIGHT_VARY, check, origin_hdr, preflight
from harness import REPO, check_config

GUIDE = os.path.join(REPO, 'docs', 'migration.md')


def readme_blocks(after, lang):
    """The ```lang blocks of docs/migration.md after the line that starts with after,
    up to the next heading of its level or above (blocks in a list item
    dedented)."""
    text = '\n' + open(GUIDE).read()
    start = text.index('\n' + after + '\n')
    level = after.split(' ')[0]
    end = re.compile(r'^#{1,%d} ' % len(level), re.M).search(text, start + len(after) + 2)
    section = text[start:end.start() if end else len(text)]
    return [re.sub(r'^' + m.group(1), '', m.group(2), flags=re.M) for m in re.finditer(
        r'^( *)```%s\n(.*?)^\1```$' % lang, section, re.M | re.S)]


def readme_block(after, lang):
    """The first of readme_blocks(after, lang)."""
    blocks = readme_blocks(after, lang)
    assert blocks, 'no ```%s block after %r in docs/migration.md' % (lang, after)
    return blocks[0]


RECIPE_HEADING = '# Migrating from the mod_headers/SetEnvIf recipe'
EXAMPLE_HEADING = '## Switching over with CorsEngine ReportOnly'


def recipe_lines():
    """The lines inside the migration guide's recipe's <Directory> section."""
    lines = readme_block(RECIPE_HEADING, 'apache').strip().splitlines()
    assert lines[0].startswith('<Directory') and lines[-1] == '</Directory>', lines
    return [l.strip() for l in lines[1:-1]]


# ---- the case tables: ReportOnly changes no byte ------------------------------

# The migration guide's recipe: its SetEnvIf, Header and Rewrite lines for the
# document root (its origin expression widened to the tables' origins, https://*.example; its
# authentication left to the tables' own sections), and a second access log
# with both variables.
RECIPE_EVERYWHERE = '<Directory "{htdocs}">\n%s\n</Directory>\n' % '\n'.join(
    '    ' + l.replace(r'example\.com', 'example') for l in recipe_lines()
    if not l.startswith(('Auth', 'Require')))
REPORT_LOG = ('LogFormat "%{local}p %{CORS_RESULT}e %{CORS_REPORT}e" report\n'
              'CustomLog logs/report_log report\n')
TABLES = (test_actual.CONFIG + test_preflight.CONFIG.replace(BACKEND_VHOST, '')
          + RECIPE_EVERYWHERE + REPORT_LOG)
CORS_LINE = re.compile(r'^\s*Cors\w+.*\n', re.M | re.I)
FIXED_MTIME = 1700000000


def _table_files(h):
    test_actual._files(h)
    test_preflight._files(h)
    # the same ETag and Last-Modified on both servers
    for d, _, files in os.walk(h.root):
        for f in files:
            os.utime(os.path.join(d, f), (FIXED_MTIME, FIXED_MTIME))


# the tables' configuration and the recipe, without mod_cors
recipe = server_fixture('report-recipe', CORS_LINE.sub('', TABLES), setup=_table_files,
                        extra_listen=1, load_cors=False)
# the same with mod_cors and its directives, watching
shadow = server_fixture('report-shadow', 'CorsEngine ReportOnly\n' + TABLES,
                        setup=_table_files, extra_listen=1)
# and in charge
on = server_fixture('report-on', TABLES, setup=_table_files, extra_listen=1)


def _table_requests():
    """(kind, case) for every case of the actual and preflight tables, with the
    marks the tables give them; preflights that the module does not answer
    reach authorization."""
    out = []
    for kind, cases in (('actual', test_actual.CASES), ('preflight', test_preflight.CASES)):
        for c in cases:
            marks = ()
            if hasattr(c, 'values'):            # a pytest.param
                c, marks = c.values[0], c.marks
            if c.path.startswith('/pf/denied'):
                marks = [pytest.mark.allow_log(r'AH01630: client denied')]
            out.append(pytest.param(kind, c, marks=marks, id='%s %s %s %s' % (
                kind, c.method, c.path, c.origin)))
    return out


def _send(srv, kind, c):
    if kind == 'actual':
        return srv.request(c.method, c.path, headers=origin_hdr(c.origin) + tuple(c.extra))
    return preflight(srv, c.path, c.origin, c.method, c.request_headers, c.extra)


# A CGI script's response goes out with Content-Length or chunked, as the
# script's output and its exit reach httpd together or not: a matter of timing.
FRAMING = ('Content-Length:', 'Transfer-Encoding:')


def _allow_sorted(line):
    """httpd lists the methods of an Allow line in the order of a hash table
    whose seed each server draws at start-up: its items, sorted."""
    if not line.startswith('Allow: '):
        return line
    return 'Allow: ' + ','.join(sorted(line[7:].split(',')))


def _wire(r, framing=True):
    """The response as sent (the body dechunked), without its Date line (and,
    unless framing, its Content-Length or Transfer-Encoding)."""
    drop = ('Date:',) + (() if framing else FRAMING)
    head = '\r\n'.join(_allow_sorted(l) for l in r.raw_head.split('\r\n')
                       if not l.startswith(drop))
    return (head + '\r\n\r\n').encode('latin-1') + r.body


def _last_report(srv):
    """CORS_RESULT and CORS_REPORT of the last request (to the server's first
    port: the proxied backend logs there too, and maybe later)."""
    with open(os.path.join(srv.root, 'logs', 'report_log')) as f:
        lines = [l.split(' ') for l in f.read().splitlines()]
    return [l[1:] for l in lines if l[0] == str(srv.port)][-1]


DEBUG_LINE = re.compile(r'\[cors:debug\].*?\] (CORS00\d\d: .*)$')


def _decisions(srv, mark):
    """The messages of the cors:debug lines since mark."""
    return [m.group(1) for m in map(DEBUG_LINE.search, srv.log_since(mark)) if m]


@pytest.mark.parametrize('kind,case', _table_requests())
def test_tables_byte_identical(recipe, shadow, on, kind, case):
    """Every response of the tables, with ReportOnly, is the recipe's alone, byte
    for byte; the decision (CORS_RESULT, the debug line) is On's."""
    marks = shadow.log_mark(), on.log_mark()
    want = _send(recipe, kind, case)
    got = _send(shadow, kind, case)
    framing = '.cgi' not in case.path
    assert _wire(got, framing) == _wire(want, framing)
    _send(on, kind, case)
    result, report = _last_report(shadow)
    assert result == _last_report(on)[0]
    assert _decisions(shadow, marks[0]) == _decisions(on, marks[1])
    # in scope: always a report (On writes none); outside: nothing
    assert (report == '-') == (result == '-'), report
    assert report == 'same' or report.startswith('differs:') or report == '-', report
    assert _last_report(on)[1] == '-'


# ---- CORS_REPORT: where a recipe and the module agree, and where not ----------

SET_A = r'SetEnvIf Origin "^https://a\.example$" CORS_ORIGIN=$0'
ECHO_A = 'Header always set Access-Control-Allow-Origin "%{CORS_ORIGIN}e" env=CORS_ORIGIN'
VARY = 'Header always merge Vary Origin'
ANSWER_OPTIONS = ('RewriteEngine On\nRewriteCond %{REQUEST_METHOD} =OPTIONS\n'
                  'RewriteRule ^ - [R=204,L]')


def _loc(path, *lines):
    return '<Location %s>\n%s\n</Location>\n' % (path, '\n'.join(lines))


REPORT_CONFIG = REPORT_LOG + '''
ErrorDocument 404 /errdoc/404.html
# room for a header of 2,000 names
LimitRequestFieldSize 65536
''' + ''.join([
    _loc('/r', 'CorsEngine ReportOnly', 'CorsAllowOrigin https://a.example',
         'CorsAllowMethods PUT', 'CorsAllowHeaders X-Custom', 'CorsMaxAge 600'),
    # a recipe that echoes any origin (with Vary)
    _loc('/r/echo', r'SetEnvIf Origin "^(.+)$" CORS_ORIGIN=$1', ECHO_A, VARY),
    # one that forgets Vary
    _loc('/r/novary', SET_A, ECHO_A),
    # one that answers every OPTIONS itself, with a fixed policy
    _loc('/r/pf', SET_A, ECHO_A, VARY,
         'Header always set Access-Control-Allow-Methods "GET, POST, PUT, PATCH"',
         'Header always set Access-Control-Allow-Headers "x-custom, Content-Type"',
         'Header always set Access-Control-Max-Age "0600"', ANSWER_OPTIONS),
    _loc('/r/pf/age', 'Header always set Access-Control-Max-Age "10"'),
    _loc('/r/pf/lower', 'Header always set Access-Control-Allow-Methods "get, put"'),
    # '*' for methods and headers, without and with credentials
    _loc('/r/star', SET_A, ECHO_A, VARY, 'Header always set Access-Control-Allow-Methods "*"',
         'Header always set Access-Control-Allow-Headers "*"',
         'Header always set Access-Control-Max-Age "600"', ANSWER_OPTIONS),
    _loc('/r/star/cred', 'CorsAllowCredentials On',
         'Header always set Access-Control-Allow-Credentials "true" env=CORS_ORIGIN'),
    _loc('/r/star/auth', 'CorsAllowHeaders X-Custom Authorization'),
    # one whose preflights reach authentication (its OPTIONS rule runs after it)
    _loc('/r/auth', SET_A, ECHO_A, VARY, 'Header always set Access-Control-Allow-Methods "PUT"',
         'Header always set Access-Control-Allow-Headers "X-Custom"',
         'Header always set Access-Control-Max-Age "600"', ANSWER_OPTIONS,
         'AuthType Basic', 'AuthName "r"', 'AuthUserFile {root}/htpasswd', 'Require valid-user'),
    _loc('/r/auth/doc', 'ErrorDocument 401 /errdoc/401.html'),
    # credentials the module would not send, or not in the only spelling browsers take
    _loc('/r/cred', SET_A, ECHO_A, VARY,
         'Header always set Access-Control-Allow-Credentials "true" env=CORS_ORIGIN'),
    _loc('/r/cred/case', 'CorsAllowCredentials On',
         'Header always set Access-Control-Allow-Credentials "True" env=CORS_ORIGIN'),
    # the right value twice: in both header tables (as when an application
    # sets it too)
    _loc('/r/dup', SET_A, ECHO_A, VARY,
         'Header set Access-Control-Allow-Origin "https://a.example"'),
    # Vary that covers Origin in other spellings
    _loc('/r/varystar', SET_A, ECHO_A, 'Header always set Vary "*"'),
    _loc('/r/varycase', SET_A, ECHO_A, 'Header always set Vary "accept, ORIGIN"'),
    # the module's On inside ReportOnly; ReportOnly inside On
    _loc('/r/on', 'CorsEngine On'),
    _loc('/on', 'CorsAllowOrigin https://a.example'),
    _loc('/on/ro', 'CorsEngine ReportOnly'),
    # a recipe echoing whatever a preflight asks for
    _loc('/r/mirror', SET_A, ECHO_A, VARY, 'CorsAllowHeaders *',
         'Header always set Access-Control-Allow-Headers '
         '"expr=%{req:Access-Control-Request-Headers}"',
         'Header always set Access-Control-Allow-Methods '
         '"expr=%{req:Access-Control-Request-Method}"',
         'Header always set Access-Control-Max-Age "600"', ANSWER_OPTIONS),
    _loc('/ht', 'CorsAllowOrigin https://a.example'),
    # not compared: Access-Control-Expose-Headers
    _loc('/r/expose', SET_A, ECHO_A, VARY, 'CorsExposeHeaders ETag'),
    # set when the response head is written: after mod_rewrite and mod_headers
    _loc('/r/seen', 'RewriteEngine On', 'RewriteRule ^ - [E=SAW_REPORT:%{ENV:CORS_REPORT}]',
         'Header always set X-Saw "[%{SAW_REPORT}e] [%{CORS_REPORT}e]"'),
])

def _report_files(h):
    h.htpasswd('alice', 'secret')
    for d in ('r', 'r/echo', 'r/novary', 'r/pf', 'r/pf/age', 'r/star', 'r/star/cred', 'r/auth',
              'r/auth/doc', 'r/cred', 'r/cred/case', 'r/varystar', 'r/varycase', 'r/on',
              'on', 'on/ro', 'r/mirror', 'ht', 'r/dup', 'r/pf/lower', 'r/star/auth',
              'r/expose', 'r/seen'):
        h.write(d + '/x.txt', 'x')
    h.write('errdoc/401.html', 'log in')
    h.write('errdoc/404.html', 'not here')
    h.write('r/fb/index.html', 'app')
    h.write('r/fb/.htaccess', 'FallbackResource /r/fb/index.html\n')
    h.write('r/fbon/.htaccess', 'FallbackResource /on/index.html\n')
    h.write('on/index.html', 'on')
    h.write('on/fb/.htaccess', 'FallbackResource /r/index.html\n')
    h.write('r/index.html', 'r')
    h.write('ht/.htaccess', 'CorsEngine ReportOnly\n')


report = server_fixture('report', REPORT_CONFIG, setup=_report_files)

# a request: GET, or a preflight for method asking for headers; from origin (None:
# no Origin)
Req = namedtuple('Req', 'path origin method headers', defaults=(None, None))
# what the response carries (its status and exact Access-Control-*/Vary lines),
# CORS_RESULT and CORS_REPORT
Report = namedtuple('Report', 'req status lines result report')
ECHOED_A = ['Access-Control-Allow-Origin: ' + A, 'Vary: Origin']
PF_LINES = ['Access-Control-Allow-Origin: ' + A,
            'Access-Control-Allow-Methods: GET, POST, PUT, PATCH',
            'Access-Control-Allow-Headers: x-custom, Content-Type',
            'Access-Control-Max-Age: 0600', 'Vary: Origin']
PF_EVIL = [l for l in PF_LINES if not l.startswith('Access-Control-Allow-Origin')]
AUTH_LINES = ['Access-Control-Allow-Origin: ' + A, 'Access-Control-Allow-Methods: PUT',
              'Access-Control-Allow-Headers: X-Custom', 'Access-Control-Max-Age: 600',
              'Vary: Origin']
STAR_LINES = ['Access-Control-Allow-Origin: ' + A, 'Access-Control-Allow-Methods: *',
              'Access-Control-Allow-Headers: *', 'Access-Control-Max-Age: 600', 'Vary: Origin']
REPORTS = [
    # echoing any origin: the module would not
    Report(Req('/r/echo/x.txt', A), 200, ECHOED_A, 'allowed', 'same'),
    Report(Req('/r/echo/x.txt', EVIL), 200, ['Access-Control-Allow-Origin: ' + EVIL,
                                             'Vary: Origin'], 'denied:origin', 'differs:acao'),
    Report(Req('/r/echo/x.txt', None), 200, ['Vary: Origin'], 'no-origin', 'same'),
    # no Vary: Origin, on allowed, denied and no-Origin responses
    Report(Req('/r/novary/x.txt', A), 200, ['Access-Control-Allow-Origin: ' + A],
           'allowed', 'differs:vary'),
    Report(Req('/r/novary/x.txt', EVIL), 200, [], 'denied:origin', 'differs:vary'),
    Report(Req('/r/novary/x.txt', None), 200, [], 'no-origin', 'differs:vary'),
    # preflights the recipe answers: agreeing (Max-Age by value, names in any case) ...
    Report(Req('/r/pf/x.txt', A, 'PUT'), 204, PF_LINES, 'preflight:ok', 'same'),
    Report(Req('/r/pf/x.txt', A, 'PUT', 'X-Custom'), 204, PF_LINES, 'preflight:ok', 'same'),
    Report(Req('/r/pf/x.txt', A, 'GET'), 204, PF_LINES, 'preflight:ok', 'same'),
    # ... a method the module refuses (it would answer 403, with no Access-Control-*)
    Report(Req('/r/pf/x.txt', A, 'PATCH'), 204, PF_LINES, 'preflight:denied:method',
           'differs:acao,methods,max-age,status'),
    # ... a header it refuses
    Report(Req('/r/pf/x.txt', A, 'PUT', 'content-type'), 204, PF_LINES,
           'preflight:denied:header', 'differs:acao,methods,headers,max-age,status'),
    # ... an origin neither allows
    Report(Req('/r/pf/x.txt', EVIL, 'PUT'), 204, PF_EVIL, 'preflight:denied:origin',
           'differs:methods,max-age,status'),
    # ... a method only in lower case (browsers compare methods case-sensitively)
    Report(Req('/r/pf/lower/x.txt', A, 'PUT'), 204, PF_LINES[:1] + [
        'Access-Control-Allow-Methods: get, put'] + PF_LINES[2:], 'preflight:ok',
        'differs:methods'),
    # ... another Max-Age
    Report(Req('/r/pf/age/x.txt', A, 'PUT'), 204, PF_LINES[:3] + [
        'Access-Control-Max-Age: 10', 'Vary: Origin'], 'preflight:ok', 'differs:max-age'),
    # '*': any method and header without credentials, the name '*' with them
    Report(Req('/r/star/x.txt', A, 'PUT', 'x-custom'), 204, STAR_LINES, 'preflight:ok', 'same'),
    Report(Req('/r/star/cred/x.txt', A, 'PUT', 'x-custom'), 204,
           STAR_LINES + ['Access-Control-Allow-Credentials: true'], 'preflight:ok',
           'differs:methods,headers'),
    # '*' never covers Authorization
    Report(Req('/r/star/auth/x.txt', A, 'PUT', 'authorization'), 204, STAR_LINES,
           'preflight:ok', 'differs:headers'),
    # a preflight the recipe lets reach authentication: 401
    Report(Req('/r/auth/x.txt', A, 'PATCH'), 401, AUTH_LINES, 'preflight:denied:method',
           'differs:acao,max-age'),        # 401 and 403: both refusals
    Report(Req('/r/auth/x.txt', A, 'PUT', 'x-custom'), 401, AUTH_LINES, 'preflight:ok',
           'differs:status'),
    # ... and its ErrorDocument: the redirect keeps the preflight's decision
    Report(Req('/r/auth/doc/x.txt', A, 'PUT'), 401, [], 'preflight:ok',
           'differs:acao,methods,max-age,status,vary'),
    # not compared
    Report(Req('/r/expose/x.txt', A), 200, ECHOED_A, 'allowed', 'same'),
    # credentials
    Report(Req('/r/cred/x.txt', A), 200, ECHOED_A + ['Access-Control-Allow-Credentials: true'],
           'allowed', 'differs:credentials'),
    Report(Req('/r/cred/case/x.txt', A), 200,
           ECHOED_A + ['Access-Control-Allow-Credentials: True'], 'allowed',
           'differs:credentials'),
    # two lines with the right value are not the right value
    Report(Req('/r/dup/x.txt', A), 200, ['Access-Control-Allow-Origin: ' + A] * 2
           + ['Vary: Origin'], 'allowed', 'differs:acao'),
    # Vary: '*', or Origin in another case
    Report(Req('/r/varystar/x.txt', A), 200, ['Access-Control-Allow-Origin: ' + A, 'Vary: *'],
           'allowed', 'same'),
    Report(Req('/r/varycase/x.txt', EVIL), 200, ['Vary: accept,ORIGIN'], 'denied:origin',
           'same'),
    # no recipe at all: what the module would add
    Report(Req('/r/x.txt', A), 200, [], 'allowed', 'differs:acao,vary'),
    Report(Req('/r/x.txt', A, 'PUT'), 200, [], 'preflight:ok', 'differs:acao,methods,max-age,vary'),
    Report(Req('/r/missing', A), 404, [], 'allowed', 'differs:acao,vary'),   # ErrorDocument
    # internal redirects: the chain's first request in scope decides
    Report(Req('/r/fb/some/route', A), 200, [], 'allowed', 'differs:acao,vary'),
    Report(Req('/r/fbon/some/route', A), 200, [], 'allowed', 'differs:acao,vary'),
    Report(Req('/on/fb/some/route', A), 200, ECHOED_A, 'allowed', '-'),
    # nested: On inside ReportOnly, ReportOnly inside On, ReportOnly from .htaccess
    Report(Req('/r/on/x.txt', A), 200, ECHOED_A, 'allowed', '-'),
    Report(Req('/r/on/x.txt', A, 'PUT'), 204, [
        'Access-Control-Allow-Origin: ' + A, 'Access-Control-Allow-Methods: PUT',
        'Access-Control-Max-Age: 600', PREFLIGHT_VARY], 'preflight:ok', '-'),
    Report(Req('/on/ro/x.txt', A), 200, [], 'allowed', 'differs:acao,vary'),
    Report(Req('/ht/x.txt', A), 200, [], 'allowed', 'differs:acao,vary'),
    Report(Req('/ht/x.txt', B), 200, [], 'denied:origin', 'differs:vary'),
]


def _request(srv, q):
    if q.method:
        return preflight(srv, q.path, q.origin, q.method, q.headers)
    return srv.request('GET', q.path, headers=origin_hdr(q.origin))


@pytest.mark.parametrize('case', REPORTS, ids=lambda c: '%s %s %s %s' % c.req)
def test_report(report, case):
    mark = report.log_mark()
    r = _request(report, case.req)
    check(r, case.status, case.lines)
    assert _last_report(report) == [case.result, case.report]
    # one info line for a response that differs, none otherwise
    info = [l for l in report.log_since(mark) if 'CORS0050' in l]
    assert len(info) == (case.report.startswith('differs:')), info
    assert all('[cors:info]' in l for l in info), info


def test_report_set_after_rewrite_and_headers(report):
    r = report.request('GET', '/r/seen/x.txt', headers=(('Origin', A),))
    assert r.get_all('X-Saw') == ['[] [(null)]']
    assert _last_report(report) == ['allowed', 'differs:acao,vary']


def test_log_line(report):
    mark = report.log_mark()
    _request(report, Req('/r/pf/x.txt', A, 'PATCH'))
    info = [l.split('] ', 4)[-1] for l in report.log_since(mark) if 'CORS0050' in l]
    assert info == [
        "CORS0050: ReportOnly: preflight for PATCH from origin 'https://a.example': the "
        "response differs from mod_cors's answer: acao: response 'https://a.example', "
        "mod_cors none; methods: response 'GET, POST, PUT, PATCH', mod_cors none; max-age: "
        "response '0600', mod_cors none; status: response '204', mod_cors '403'"], info


def test_log_line_escapes_and_cuts_client_input(report):
    """An echoed Origin of 300 bytes with non-ASCII ones: escaped by httpd, cut after
    200 bytes by the module, in both places it appears."""
    origin = 'https://\xe9' + 'x' * 300
    mark = report.log_mark()
    r = report.request('GET', '/r/echo/x.txt', headers=(('Origin', origin),))
    assert r.status == 200
    assert _last_report(report) == ['denied:origin', 'differs:acao']
    info = [l for l in report.log_since(mark) if 'CORS0050' in l]
    assert len(info) == 1 and '\xe9' not in info[0] and '\\xe9' in info[0], info
    assert info[0].count("x" * 191 + "...'") == 2 and 'x' * 192 not in info[0], info


def test_hostile_echo_is_bounded(report):
    """A preflight asking for 2,000 header names, which the recipe echoes back:
    the comparison is quick and changes nothing."""
    names = ','.join('x-h%d' % i for i in range(2000))
    t0 = time.time()
    r = preflight(report, '/r/mirror/x.txt', A, 'PUT', names)
    assert time.time() - t0 < 2
    assert r.status == 204 and r.get('Access-Control-Allow-Headers') == names
    assert _last_report(report) == ['preflight:ok', 'same']


# ---- configuration --------------------------------------------------------------

@pytest.mark.parametrize('where', [
    'CorsEngine ReportOnly',
    '<VirtualHost 127.0.0.1:{port}>\nCorsEngine ReportOnly\n</VirtualHost>',
    '<Directory "{htdocs}">\nCorsEngine reportonly\n</Directory>',
    '<Location /x>\nCorsEngine REPORTONLY\n</Location>',
    '<Files "x.txt">\nCorsEngine ReportOnly\n</Files>',
    '<If "%{REQUEST_METHOD} == \'GET\'">\nCorsEngine ReportOnly\n</If>',
])
def test_accepted_everywhere(where):
    rc, out = check_config(where, name='report-where')
    assert rc == 0 and 'Syntax OK' in out, out



# ---- docs/migration.md's example, as it runs ------------------------------

def _example_config():
    return (readme_block(EXAMPLE_HEADING, 'apache').replace('/srv/www/api', '{htdocs}/api')
            .replace('${APACHE_LOG_DIR}', 'logs')
            .replace('/etc/apache2/htpasswd', '{root}/htpasswd'))


example = server_fixture('report-example', _example_config(), setup=lambda h: (
    h.htpasswd('alice', 'secret'), h.write('api/items.json', '{"items": []}')))

APP = 'https://app.example.com'
ALICE = (('Authorization', 'Basic YWxpY2U6c2VjcmV0'),)
# the requests step 2 of the example describes, in its order
EXAMPLE_REQUESTS = [
    ('GET', APP, ALICE), ('GET', 'https://example.com', ALICE), ('GET', None, ALICE),
    ('GET', 'https://evilexample.com', ALICE), ('PUT', APP, ()), ('GET', APP, ()),
]


def _normal_access(line):
    return re.sub(r'\[\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d [-+]\d{4}\]', '[TIME]', line)


def _normal_error(line):
    line = re.sub(r'^\[\w{3} \w{3} [^\]]*\] ', '', line)
    line = re.sub(r'\[pid \d+(:tid \d+)?\]', '[pid N]', line)
    return re.sub(r'127\.0\.0\.1:\d+', '127.0.0.1:N', line)


def test_example_keeps_the_recipe():
    """Step 1: the recipe's lines, unchanged and in order, then the module's."""
    block = readme_block(EXAMPLE_HEADING, 'apache')
    lines = [l.strip() for l in block.splitlines()]
    recipe = recipe_lines()
    start = lines.index(recipe[0])
    assert lines[start:start + len(recipe)] == recipe, block
    assert 'CorsEngine           ReportOnly' in lines[start + len(recipe):], block


def test_example_fixed_is_the_equivalent():
    """Steps 3 to 5: the draft with the fix, without ReportOnly and the recipe, is
    the guide's mod_cors equivalent."""
    draft = [l.strip() for l in readme_block(EXAMPLE_HEADING, 'apache').splitlines()
             if l.strip().startswith('Cors') and 'ReportOnly' not in l]
    fixed = [l.replace('CorsAllowOrigin      ', 'CorsAllowOrigin      https://example.com ')
             for l in draft]
    equivalent = [l.strip() for l in readme_blocks(RECIPE_HEADING, 'apache')[1].splitlines()
                  if l.strip().startswith('Cors')]
    assert fixed == equivalent


def _equivalent_config():
    """Step 5: the guide's mod_cors equivalent, with the recipe's
    authentication lines (which it keeps "as before") and no recipe."""
    block = readme_blocks(RECIPE_HEADING, 'apache')[1]
    auth = '\n'.join('    ' + l for l in recipe_lines() if l.startswith(('Auth', 'Require')))
    return (block.replace('/srv/www/api', '{htdocs}/api')
            .replace('    # AuthType, AuthName, AuthUserFile and Require valid-user as before',
                     auth.replace('/etc/apache2/htpasswd', '{root}/htpasswd')))


equivalent = server_fixture('report-equivalent', _equivalent_config(), setup=lambda h: (
    h.htpasswd('alice', 'secret'), h.write('api/items.json', '{"items": []}')))


def test_example_switched_over(equivalent):
    """Steps 4 and 5: with the recipe gone and CorsEngine On, the module
    answers what the differences said: the bare domain allowed (the fix), the
    look-alike domain and requests without Origin refused with Vary: Origin,
    the preflight answered 204 before authentication."""
    assert 'Require valid-user' in _equivalent_config()
    r = equivalent.request('GET', '/api/items.json',
                           headers=origin_hdr('https://example.com') + ALICE)
    check(r, 200, ['Access-Control-Allow-Origin: https://example.com',
                   'Access-Control-Allow-Credentials: true', 'Vary: Origin'])
    r = equivalent.request('GET', '/api/items.json',
                           headers=origin_hdr('https://evilexample.com') + ALICE)
    check(r, 200, ['Vary: Origin'])
    r = equivalent.request('GET', '/api/items.json', headers=ALICE)
    check(r, 200, ['Vary: Origin'])
    r = preflight(equivalent, '/api/items.json', APP, 'PUT', 'content-type')
    check(r, 204, ['Access-Control-Allow-Origin: ' + APP,
                   'Access-Control-Allow-Credentials: true',
                   'Access-Control-Allow-Methods: PUT',
                   'Access-Control-Allow-Headers: content-type', PREFLIGHT_VARY])
    r = equivalent.request('GET', '/api/items.json', headers=origin_hdr(APP))
    check(r, 401, ['Access-Control-Allow-Origin: ' + APP,
                   'Access-Control-Allow-Credentials: true', 'Vary: Origin'])


def test_example_logs(example):
    """Step 2: the guide's access-log and error-log excerpts are what the
    example configuration logs for its six requests (timestamps, pids and client
    ports aside)."""
    mark = example.log_mark()
    log = os.path.join(example.root, 'logs', 'cors_report_log')
    before = len(open(log).read().splitlines()) if os.path.exists(log) else 0
    for method, origin, extra in EXAMPLE_REQUESTS:
        if method == 'GET':
            r = example.request('GET', '/api/items.json', headers=origin_hdr(origin) + extra)
        else:
            r = preflight(example, '/api/items.json', origin, method, 'content-type')
        assert r.status in (200, 401)
    got_access = open(log).read().splitlines()[before:]
    got_error = [l for l in example.log_since(mark) if 'CORS0050' in l]
    text = readme_blocks(EXAMPLE_HEADING, 'text')
    want_access, want_error = text[0].splitlines(), text[1].splitlines()
    assert [_normal_access(l) for l in got_access] == [_normal_access(l) for l in want_access], \
        '\n'.join(got_access)
    assert [_normal_error(l) for l in got_error] == [_normal_error(l) for l in want_error], \
        '\n'.join(got_error)
