"""README "Counters: server-status and Prometheus": the counts of each
CORS_RESULT value per virtual host, shared by every child and thread, in
mod_status's page and ?auto lines and in the Prometheus text format of the
cors-metrics handler; kept across graceful restarts, reset by a full restart.

Known numbers of each kind of request go to two virtual hosts from many client
threads at once, to a prefork server with several children or an event server
with two; every count (per virtual host, per result, in total) must then be
exact on all three pages.  The metrics page is read by the Prometheus client
library's own parser (Debian's python3-prometheus-client)."""
import collections
from html import escape as html_escape
import random
import re
import threading
import time
from collections import namedtuple

import pytest

import harness
from conftest import server_fixture
from cors_cases import A, EVIL, OUTCOME_LABELS, PREFLIGHT_VARY, check
from harness import Httpd

try:
    from prometheus_client.parser import text_string_to_metric_families
except ImportError as e:        # a missing dependency fails, never skips
    raise ImportError('python3-prometheus-client is needed (apt-get install '
                      'python3-prometheus-client; run pytest with /usr/bin/python3): %s'
                      % e)

RESULTS = tuple(OUTCOME_LABELS)
# the labels of each CORS_RESULT on the metrics page, one per dimension
LABELS = OUTCOME_LABELS
BY_LABELS = {v: k for k, v in LABELS.items()}
assert len(BY_LABELS) == len(LABELS)
ONE, TWO, THREE = 'one.example', 'two.example', 'three.example'
# the version mod_cors_build_info names
with open(harness.REPO + '/mod_cors.c') as _f:
    VERSION = re.search(r'#define CORS_VERSION "([^"]+)"', _f.read()).group(1)
THREADS = 12

# several children (prefork) or two of ten threads each (event), so that
# the counts come from several processes and threads at once
MPM_CONF = r'''
<IfModule mpm_prefork_module>
    StartServers 4
    MinSpareServers 4
    MaxSpareServers 8
    MaxRequestWorkers 16
</IfModule>
<IfModule mpm_event_module>
    # room for the old generation's children while a graceful restart lets
    # them finish (else: AH10159, within MinSpareThreads of MaxRequestWorkers)
    StartServers 2
    ServerLimit 4
    MaxRequestWorkers 40
    MinSpareThreads 20
    MaxSpareThreads 20
</IfModule>
'''
PAGES = r'''
<Location /server-status>
    SetHandler server-status
</Location>
<Location /cors-metrics>
    SetHandler cors-metrics
</Location>
'''
POLICY = r'''
CustomLog logs/pid_log "%P %v %{CORS_RESULT}e"
<Location /api>
    CorsCrossOriginProtection On
    CorsAllowOrigin https://a.example
    CorsAllowMethods PUT
    CorsAllowHeaders X-A
    Header always set X-Cors-Result "%{CORS_RESULT}e"
    ErrorDocument 404 /api/notfound.txt
</Location>
<Location /shadow>
    CorsEngine ReportOnly
    CorsAllowOrigin https://a.example
    CorsAllowMethods PUT
</Location>
'''
VHOST = '''
<VirtualHost *:{port}>
    ServerName %s
</VirtualHost>
'''
CONFIG = MPM_CONF + PAGES + POLICY + VHOST % ONE + VHOST % TWO


def _files(h):
    h.write('api/x.txt', 'x\n')
    h.write('api/notfound.txt', 'not found\n')
    h.write('other/x.txt', 'x\n')
    h.write('shadow/x.txt', 'x\n')


srv = server_fixture('counters', CONFIG, setup=_files, modules=['status'])

# one request of each kind: the CORS_RESULT it gets, and the exact response
Kind = namedtuple('Kind', 'result method headers status lines')
ACRM = 'Access-Control-Request-Method'
ACRH = 'Access-Control-Request-Headers'
KINDS = [
    Kind('no-origin', 'GET', (), 200, ['Vary: Origin']),
    Kind('allowed', 'GET', (('Origin', A),), 200,
         ['Access-Control-Allow-Origin: ' + A, 'Vary: Origin']),
    Kind('denied:origin', 'GET', (('Origin', EVIL),), 200, ['Vary: Origin']),
    Kind('preflight:ok', 'OPTIONS', (('Origin', A), (ACRM, 'PUT')), 204,
         ['Access-Control-Allow-Origin: ' + A, 'Access-Control-Allow-Methods: PUT',
          PREFLIGHT_VARY]),
    Kind('preflight:denied:origin', 'OPTIONS', (('Origin', EVIL), (ACRM, 'PUT')), 403,
         [PREFLIGHT_VARY]),
    Kind('preflight:denied:method', 'OPTIONS', (('Origin', A), (ACRM, 'DELETE')), 403,
         [PREFLIGHT_VARY]),
    Kind('preflight:denied:header', 'OPTIONS',
         (('Origin', A), (ACRM, 'PUT'), (ACRH, 'x-b')), 403, [PREFLIGHT_VARY]),
    Kind('preflight:denied:malformed', 'OPTIONS',
         (('Origin', A), (ACRM, 'PUT'), (ACRH, 'x a')), 403, [PREFLIGHT_VARY]),
    Kind('write:denied:sec-fetch-site', 'POST',
         (('Origin', EVIL), ('Sec-Fetch-Site', 'cross-site')), 403, ['Vary: Origin']),
    Kind('write:denied:origin', 'POST', (('Origin', EVIL),), 403, ['Vary: Origin']),
]
# (the results a database decides are counted in tests/test_dbd.py)
assert [k.result for k in KINDS] == [r for r in RESULTS if 'database' not in r]


def send(h, host, kind, path='/api/x.txt'):
    """One request of kind to host; the response must be what kind gets."""
    r = h.request(kind.method, path, headers=kind.headers, host=host)
    check(r, kind.status, kind.lines)
    assert r.get_all('X-Cors-Result') == [kind.result], r
    return r


def vname(h, host):
    """The name a virtual host has in the counters: ServerName:port."""
    return '%s:%d' % (host, h.port)


# ---- reading the three pages ------------------------------------------------

def metrics(h):
    """{(vhost, result): count} and the reset time, from the cors-metrics page
    as Prometheus's parser reads it (strict UTF-8); each series' labels
    (request, outcome, reason) name one CORS_RESULT (LABELS)."""
    r = h.request('GET', '/cors-metrics')
    assert r.status == 200, r
    assert r.get_all('Content-Type') == ['text/plain; version=0.0.4; charset=utf-8']
    series, reset, types = {}, None, {}
    for fam in text_string_to_metric_families(r.body.decode('utf-8', 'strict')):
        types[fam.name] = fam.type
        for s in fam.samples:
            if s.name == 'mod_cors_requests_total':
                assert set(s.labels) == {'vhost', 'request', 'outcome', 'reason'}, s
                dims = (s.labels['request'], s.labels['outcome'], s.labels['reason'])
                assert dims in BY_LABELS, s
                key = (s.labels['vhost'], BY_LABELS[dims])
                assert key not in series, 'repeated series %r' % (key,)
                series[key] = s.value
            elif s.name == 'mod_cors_counters_reset_time_seconds':
                reset = s.value
            elif s.name == 'mod_cors_build_info':
                assert s.labels == {'version': VERSION} and s.value == 1, s
            else:
                raise AssertionError('unexpected sample %r' % (s,))
    assert types == {'mod_cors_requests': 'counter',
                     'mod_cors_counters_reset_time_seconds': 'gauge',
                     'mod_cors_build_info': 'gauge'}, types
    return series, reset


def auto(h):
    """The CORS lines of /server-status?auto: {key: count}."""
    r = h.request('GET', '/server-status?auto')
    assert r.status == 200, r
    lines = [l for l in r.body.decode().splitlines() if l.startswith('CORS')]
    out = {}
    for l in lines:
        m = re.match(r'^(CORSRequests(?:_[a-z_]+)?): (\d+)$', l)
        assert m, l
        out[m.group(1)] = int(m.group(2))
    return out


def auto_key(result):
    return 'CORSRequests_' + result.replace(':', '_').replace('-', '_')


def html(h):
    """The CORS table of /server-status: {row name: [counts..., all]}."""
    r = h.request('GET', '/server-status')
    assert r.status == 200, r
    page = r.body.decode('iso-8859-1')      # mod_status's charset
    assert page.count('<h2>CORS</h2>') == 1, page[-3000:]
    table = page.split('<h2>CORS</h2>', 1)[1].split('</table>', 1)[0]
    head = re.findall(r'<th(?: title="([^"]*)")?>([^<]*)</th>', table)
    assert head == [('', 'Virtual host')] + [
        ('request=%s outcome=%s reason=%s' % LABELS[res], res) for res in RESULTS] + \
        [('', 'all')], head
    rows = {}
    for name, cells in re.findall(r'<tr><td>([^<]*)</td>((?:<td>\d+</td>)+)</tr>', table):
        rows[name] = [int(c) for c in re.findall(r'\d+', cells)]
    return rows


def snapshot(h):
    """Everything the three pages say, checked for agreement with each other:
    the per-vhost counts (metrics), and the totals (?auto)."""
    series, reset = metrics(h)
    totals = auto(h)
    rows = html(h)
    vhosts = sorted({v for v, _ in series})
    # every shown vhost has every result
    assert set(series) == {(v, res) for v in vhosts for res in RESULTS}
    # ?auto: the sum over the vhosts, per result and in all
    want = {auto_key(res): sum(series[v, res] for v in vhosts) for res in RESULTS}
    want['CORSRequests'] = sum(series.values())
    assert totals == want
    # the HTML table: the same rows, and the total row
    assert set(rows) == set(vhosts) | {'(total)'}
    for v in vhosts:
        counts = [series[v, res] for res in RESULTS]
        assert rows[v] == counts + [sum(counts)], v
    assert rows['(total)'] == [want[auto_key(res)] for res in RESULTS] + \
        [want['CORSRequests']]
    return series, reset


def expect_delta(before, after, sent):
    """after == before plus sent ({(vhost, result): n}), series by series."""
    want = dict(before)
    for key, n in sent.items():
        want[key] = want.get(key, 0) + n
    for key in after:
        want.setdefault(key, 0)
    assert after == want


# ---- traffic ------------------------------------------------------------------

def round_plan(h, hosts, seed):
    """A round: per (host, kind), a different known number of requests (so
    that a count landing in the wrong row shows), shuffled."""
    plan = []
    for hi, host in enumerate(hosts):
        for ki, kind in enumerate(KINDS):
            plan += [(host, kind)] * (3 + hi + (2 + hi) * ki)
    random.Random(seed).shuffle(plan)
    return plan


def run_parallel(h, plan, threads=THREADS):
    """Send plan from threads clients at once; returns {(vhost, result): n}."""
    lock = threading.Lock()
    todo = list(plan)
    errors = []

    def worker():
        while True:
            with lock:
                if not todo or errors:
                    return
                host, kind = todo.pop()
            try:
                send(h, host, kind)
            except Exception as e:      # noqa: B902 -- reported below
                with lock:
                    errors.append('%s %s: %r' % (host, kind.result, e))
    ts = [threading.Thread(target=worker) for _ in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(120)
    assert not errors, errors[:5]
    assert not todo
    return collections.Counter((vname(h, host), kind.result) for host, kind in plan)


def served_by(h, since):
    """Pids of the processes that served the API requests logged since line since."""
    with open(h.root + '/logs/pid_log') as f:
        lines = f.read().splitlines()[since:]
    return {l.split()[0] for l in lines if not l.endswith(' -')}


def pid_log_len(h):
    with open(h.root + '/logs/pid_log') as f:
        return len(f.read().splitlines())


def concurrent_round(h, hosts, seed):
    before, _ = snapshot(h)
    mark = pid_log_len(h)
    sent = run_parallel(h, round_plan(h, hosts, seed))
    after, _ = snapshot(h)
    expect_delta(before, after, sent)
    if h.mpm == 'prefork':
        # the counts came from several processes
        assert len(served_by(h, mark)) >= 2, served_by(h, mark)
    return after


# ---- tests --------------------------------------------------------------------

@pytest.mark.parametrize('kind', KINDS, ids=lambda k: k.result)
def test_each_result_counts_once_in_its_row(srv, kind):
    before, _ = snapshot(srv)
    send(srv, ONE, kind)
    send(srv, TWO, kind)
    send(srv, TWO, kind)
    after, _ = snapshot(srv)
    expect_delta(before, after, {(vname(srv, ONE), kind.result): 1,
                                 (vname(srv, TWO), kind.result): 2})


def test_exact_under_concurrency(srv):
    concurrent_round(srv, (ONE, TWO), 'first')


def test_rows_are_the_servers_virtual_hosts(srv):
    """The two hosts; not the main server, which gets no request: the
    <VirtualHost *:port> take every connection of the one Listen."""
    series, _ = snapshot(srv)
    assert {v for v, _ in series} == {vname(srv, ONE), vname(srv, TWO)}


def test_metrics_the_same_from_every_vhost(srv):
    pages = [srv.request('GET', '/cors-metrics', host=host).body
             for host in (ONE, TWO, ONE)]
    assert pages[0] == pages[1] == pages[2]


def test_not_counted_outside_scope(srv):
    before, _ = snapshot(srv)
    for path in ('/other/x.txt', '/cors-metrics', '/server-status?auto'):
        r = srv.request('GET', path, headers=(('Origin', A),), host=ONE)
        assert r.status == 200 and r.cors_lines() == [], r
    after, _ = snapshot(srv)
    assert after == before


def test_error_document_redirect_counted_once(srv):
    """A 404's ErrorDocument is an internal redirect, decided again: one
    request, one count."""
    before, _ = snapshot(srv)
    r = srv.request('GET', '/api/missing', headers=(('Origin', A),), host=ONE)
    assert r.status == 404 and r.body == b'not found\n'
    check(r, 404, ['Access-Control-Allow-Origin: ' + A, 'Vary: Origin'])
    after, _ = snapshot(srv)
    expect_delta(before, after, {(vname(srv, ONE), 'allowed'): 1})


def test_report_only_decisions_counted(srv):
    """CorsEngine ReportOnly changes no response and answers no preflight,
    but its decisions count like On's (README "Counters: server-status and
    Prometheus")."""
    before, _ = snapshot(srv)
    r = srv.request('GET', '/shadow/x.txt', headers=(('Origin', A),), host=ONE)
    check(r, 200, [])
    r = srv.request('GET', '/shadow/x.txt', headers=(('Origin', EVIL),), host=ONE)
    check(r, 200, [])
    r = srv.request('OPTIONS', '/shadow/x.txt', headers=(('Origin', A), (ACRM, 'PUT')),
                    host=TWO)
    assert r.status == 200, r      # the core's OPTIONS answer, not the module's
    check(r, 200, [])
    after, _ = snapshot(srv)
    expect_delta(before, after, {(vname(srv, ONE), 'allowed'): 1,
                                 (vname(srv, ONE), 'denied:origin'): 1,
                                 (vname(srv, TWO), 'preflight:ok'): 1})


def test_metrics_page(srv):
    r = srv.request('GET', '/cors-metrics', host=ONE)
    text = r.body.decode()
    lines = text.splitlines()
    assert lines[:2] == [
        '# HELP mod_cors_requests_total Requests mod_cors decided, by virtual host, '
        'what was asked, outcome and reason.',
        '# TYPE mod_cors_requests_total counter']
    assert any(re.match(r'^mod_cors_requests_total\{vhost="one\.example:\d+",'
                        r'request="preflight",outcome="denied",reason="malformed"\} \d+$',
                        l) for l in lines)
    assert '# TYPE mod_cors_counters_reset_time_seconds gauge' in lines
    assert lines[-3:] == [
        "# HELP mod_cors_build_info The module's version, as a label of a constant 1.",
        '# TYPE mod_cors_build_info gauge',
        'mod_cors_build_info{version="%s"} 1' % VERSION]
    assert text.endswith('\n')
    _, reset = metrics(srv)
    assert abs(reset - srv.started_at) < 30


def test_metrics_head(srv):
    r = srv.request('HEAD', '/cors-metrics')
    assert r.status == 200 and r.body == b''
    assert r.get_all('Content-Type') == ['text/plain; version=0.0.4; charset=utf-8']


@pytest.mark.parametrize('method', ['POST', 'PUT', 'DELETE', 'OPTIONS', 'PURGE'])
def test_metrics_other_methods_405(srv, method):
    r = srv.request(method, '/cors-metrics', body='' if method in ('POST', 'PUT') else None)
    assert r.status == 405, r
    assert 'mod_cors_requests_total' not in r.body.decode('latin-1')
    allow = [m.strip() for m in r.get('Allow').split(',')]
    assert 'GET' in allow and 'HEAD' in allow and method not in allow, allow


def test_status_page_table(srv):
    rows = html(srv)
    assert list(rows)[-1] == '(total)'
    page = srv.request('GET', '/server-status').body.decode()
    assert 'mod_cors decisions (CORS_RESULT) by virtual host since ' in page
    assert '(other)' not in page


def test_status_auto_names(srv):
    assert sorted(auto(srv)) == sorted(['CORSRequests'] + [auto_key(r) for r in RESULTS])
    assert auto_key('preflight:denied:malformed') == 'CORSRequests_preflight_denied_malformed'


class TestGracefulAndFullRestart:
    """Kept across graceful restarts (also when the configuration changed
    and the virtual hosts came in another order), reset by a full restart."""

    def test_graceful_keeps_counts(self, srv):
        before, reset = snapshot(srv)
        assert sum(before.values()) > 0
        srv.graceful()
        after, reset2 = snapshot(srv)
        assert (after, reset2) == (before, reset)
        concurrent_round(srv, (ONE, TWO), 'after graceful')

    def test_graceful_with_a_new_vhost_first(self, srv):
        before, reset = snapshot(srv)
        srv.reconfigure(MPM_CONF + PAGES + POLICY + VHOST % THREE + VHOST % TWO
                        + VHOST % ONE, modules=['status'])
        srv.graceful()
        after, reset2 = snapshot(srv)
        expect_delta(before, after, {(vname(srv, THREE), r): 0 for r in RESULTS})
        assert reset2 == reset
        concurrent_round(srv, (THREE, ONE, TWO), 'new vhost')

    def test_graceful_keeps_a_removed_vhosts_row(self, srv):
        before, reset = snapshot(srv)
        assert sum(before[vname(srv, TWO), r] for r in RESULTS) > 0
        srv.reconfigure(MPM_CONF + PAGES + POLICY + VHOST % THREE + VHOST % ONE,
                        modules=['status'])
        srv.graceful()
        assert snapshot(srv) == (before, reset)

    def test_full_restart_resets(self, srv):
        before, reset = snapshot(srv)
        assert sum(before.values()) > 0
        time.sleep(1.1)             # the reset time is in seconds
        srv.reconfigure(MPM_CONF + PAGES + POLICY + VHOST % THREE + VHOST % TWO
                        + VHOST % ONE, modules=['status'])
        srv.restart()
        after, reset2 = snapshot(srv)
        assert after == {k: 0 for k in before}
        assert reset2 > reset
        concurrent_round(srv, (ONE, TWO, THREE), 'after restart')


def _many_vhosts(n):
    return MPM_CONF + PAGES + POLICY + ''.join(VHOST % ('h%02d.example' % i)
                                               for i in range(n))


def test_graceful_beyond_room_counts_in_other():
    """A full start makes room for twice the virtual hosts and 16 more: the
    main server and one host, 2 * 2 + 16 = 20 rows.  A graceful restart to 30
    hosts gives rows to 18 new ones, the other 11 count in "(other)"; the next
    full restart makes room for all.  The main server's row is not shown: it
    gets no request."""
    h = Httpd('counters-room', _many_vhosts(1), modules=['status'])
    _files(h)
    h.start()
    try:
        hosts = ['h%02d.example' % i for i in range(30)]
        h.reconfigure(_many_vhosts(30), modules=['status'])
        h.graceful()
        for host in hosts:
            send(h, host, KINDS[1])
        series, _ = snapshot(h)
        named = {v for v, _ in series} - {'(other)'}
        assert len(named) == 19 and vname(h, hosts[0]) in named
        counted = {v: series[v, 'allowed'] for v in named}
        assert all(n == 1 for v, n in counted.items()), counted
        assert series['(other)', 'allowed'] == 30 - 19
        assert auto(h)['CORSRequests_allowed'] == 30
        page = h.request('GET', '/server-status').body.decode()
        assert '(other): virtual hosts that graceful restarts added once the room ' \
               'was taken (a full restart makes room)' in page
        h.restart()
        for host in hosts:
            send(h, host, KINDS[1])
        series, _ = snapshot(h)
        assert {v for v, _ in series} == {vname(h, x) for x in hosts}
        assert all(series[vname(h, x), 'allowed'] == 1 for x in hosts)
        assert sum(series.values()) == 30
    finally:
        h.stop()


ODD = 'q"uote\\back.example'
ODD_ROW = 'q"uote\\x5cback.example'       # the backslash written \x5c


def test_without_mod_status_and_label_escaping():
    """Without mod_status the module loads and counts; the metrics page
    escapes a label value's quote and backslash (the parser reads them back)
    and can be set up in .htaccess; a port in ServerName names the row; a
    backslash in ServerName is shown \x5c (README "Counters: server-status
    and Prometheus")."""
    conf = PAGES.replace('SetHandler server-status', 'Require all denied') + POLICY + \
        '<VirtualHost *:{port}>\n    ServerName "q\\"uote\\\\back.example"\n</VirtualHost>\n' + \
        '<VirtualHost *:{port}>\n    ServerName x.example:8443\n</VirtualHost>\n'
    h = Httpd('counters-nostatus', conf)
    _files(h)
    h.write('m/.htaccess', 'SetHandler cors-metrics\n')
    h.start()
    try:
        send(h, '127.0.0.1', KINDS[1])      # the first virtual host
        send(h, 'x.example', KINDS[2])
        assert h.request('GET', '/server-status').status == 403
        r = h.request('GET', '/cors-metrics')
        assert ('vhost="q\\"uote\\\\x5cback.example:%d",request="actual",'
                'outcome="allowed",reason="none"} 1' % h.port) in r.body.decode()
        series, _ = metrics(h)
        assert series[vname(h, ODD_ROW), 'allowed'] == 1
        assert series['x.example:8443', 'denied:origin'] == 1
        assert sum(series.values()) == 2
        r2 = h.request('GET', '/m/')
        assert r2.status == 200 and r2.body == r.body
    finally:
        h.stop()


# ---- row names: one meaning each, valid UTF-8 whatever ServerName holds ----------

def row_name(raw, port=None):
    """The reference for README "Counters: server-status and Prometheus": a
    row's name is ServerName with every byte outside printable ASCII, and
    \\ ( ), written \\xNN, then the port."""
    name = ''.join(chr(b) if 0x20 <= b <= 0x7e and b not in b'\\()' else '\\x%02x' % b
                   for b in raw)
    return name + (':%d' % port if port else '')


# Every byte a quoted ServerName can hold, in the middle of a name: not NUL,
# LF, CR (they end the line), '"' (ends the quotes, see the test above), ':'
# (starts the port), '*', '?', '[' (httpd refuses them in ServerName) and
# '\\' (an escape inside quotes, see the test above).
NAME_BYTES = [b for b in range(1, 256) if b not in b'\n\r":*?[\\']


def alias(b):
    return 'b%02x.example' % b


def _byte_hosts():
    return [(b, b'b' + bytes([b]) + b'x.example') for b in NAME_BYTES]


def test_every_server_name_byte_gives_an_ascii_row_of_its_own():
    """A generated table: one virtual host per byte a ServerName can hold
    (raw 0xE9 and every other non-UTF-8 byte, control bytes, parentheses),
    plus hosts named "(other)" and "(total)" (no port: <VirtualHost *>).
    The metrics page must decode as strict UTF-8 (Prometheus rejects a whole
    scrape otherwise), each host must have the row the reference names, the
    names must be distinct, printable ASCII, and never a reserved row's;
    the CORS table of mod_status's page (ISO-8859-1) is ASCII too.  One request to each host
    counts in its own row."""
    # httpd refuses such a Host (400): the requests name a ServerAlias
    vhosts = ''.join('<VirtualHost *:{port}>\n    ServerName "%s"\n'
                     '    ServerAlias %s\n</VirtualHost>\n'
                     % (raw.decode('latin-1'), alias(b)) for b, raw in _byte_hosts())
    # port-less names: the reserved rows' spelling
    reserved = ''.join('<VirtualHost *>\n    ServerName "%s"\n</VirtualHost>\n' % n
                       for n in ('(other)', '(total)'))
    h = Httpd('counters-bytes', PAGES + POLICY + vhosts + reserved, modules=['status'])
    _files(h)
    h.start()
    try:
        for b, _ in _byte_hosts():
            send(h, alias(b), KINDS[1])
        body = h.request('GET', '/cors-metrics').body
        assert body.isascii()
        series, _ = metrics(h)
        want = {row_name(raw, h.port) for _, raw in _byte_hosts()}
        want |= {'\\x28other\\x29', '\\x28total\\x29'}
        assert len(want) == len(NAME_BYTES) + 2
        assert {v for v, _ in series} == want
        for _, raw in _byte_hosts():
            assert series[row_name(raw, h.port), 'allowed'] == 1, raw
        assert sum(series.values()) == len(NAME_BYTES)
        assert all(re.fullmatch(r'[\x20-\x7e]+', v) and '(' not in v for v in want)
        assert row_name(b'caf\xe9.example', 80) == 'caf\\xe9.example:80'
        # mod_status's own tables show ServerName as it is; the CORS table
        # is ASCII
        page = h.request('GET', '/server-status').body
        assert page.split(b'<h2>CORS</h2>', 1)[1].isascii()
        rows = html(h)
        assert set(rows) == {html_escape(v).replace('&#x27;', "'") for v in want} | \
            {'(total)'}
        assert rows['(total)'][-1] == len(NAME_BYTES)
        assert '\\x28other\\x29' in rows and '(other)' not in rows
    finally:
        h.stop()


# ---- which rows a server shows --------------------------------------------------

def _rows(conf, extra_listen=0, requests=()):
    """The rows of the metrics page of a server with conf, after requests
    ((port index, host) each, an allowed request)."""
    h = Httpd('counters-rows', PAGES + POLICY + conf, extra_listen=extra_listen,
              modules=['status'])
    _files(h)
    h.start()
    try:
        for i, host in requests:
            r = harness.request(h.ports[i], 'GET', '/api/x.txt',
                                headers=(('Origin', A),), host=host)
            check(r, 200, ['Access-Control-Allow-Origin: ' + A, 'Vary: Origin'])
        series, _ = snapshot(h)
        return h.ports, {v: sum(n for (w, _), n in series.items() if w == v)
                         for v, _ in series}
    finally:
        h.stop()


def test_main_server_alone_has_its_row():
    """No <VirtualHost>: the main server answers everything, its row is
    named by its ServerName (no port)."""
    _, rows = _rows('', requests=[(0, 'x.example')])
    assert rows == {'127.0.0.1': 1}


def test_stock_debian_layout_one_row():
    """As on a stock Debian install: one <VirtualHost *:80> without a
    ServerName (000-default.conf) takes every connection of the one Listen.
    Its row has the main server's name and the port; the main server, which
    gets no request, has no row (README "Counters: server-status and
    Prometheus")."""
    ports, rows = _rows('<VirtualHost *:{port}>\n    DocumentRoot "{htdocs}"\n'
                        '</VirtualHost>\n', requests=[(0, 'x.example')])
    assert rows == {'127.0.0.1:%d' % ports[0]: 1}


def test_stock_debian_layout_with_default_ssl():
    """With default-ssl's <VirtualHost _default_:443> (without TLS here) on
    the second Listen: two rows, the same name with each port; still no
    main-server row."""
    ports, rows = _rows('<VirtualHost *:{port0}>\n</VirtualHost>\n'
                        '<VirtualHost _default_:{port1}>\n</VirtualHost>\n',
                        extra_listen=1, requests=[(0, 'x.example'), (1, 'x.example')])
    assert rows == {'127.0.0.1:%d' % ports[0]: 1, '127.0.0.1:%d' % ports[1]: 1}


def test_main_server_row_when_a_listener_is_left_to_it():
    """A <VirtualHost> on one of two listeners: connections to the other go
    to the main server, which has its row."""
    ports, rows = _rows('<VirtualHost *:{port1}>\n    ServerName one.example\n'
                        '</VirtualHost>\n', extra_listen=1,
                        requests=[(0, 'x.example'), (1, 'x.example'), (1, 'one.example')])
    assert rows == {'127.0.0.1': 1, 'one.example:%d' % ports[1]: 2}


def test_main_server_row_with_an_address_vhost():
    """A <VirtualHost 127.0.0.1:port> takes the connections to that address
    and port: the main server keeps the other listener."""
    ports, rows = _rows('<VirtualHost 127.0.0.1:{port0}>\n    ServerName one.example\n'
                        '</VirtualHost>\n', extra_listen=1,
                        requests=[(0, 'x.example'), (1, 'x.example')])
    assert rows == {'127.0.0.1': 1, 'one.example:%d' % ports[0]: 1}
    ports, rows = _rows('<VirtualHost 127.0.0.1:*>\n    ServerName one.example\n'
                        '</VirtualHost>\n', extra_listen=1,
                        requests=[(0, 'x.example'), (1, 'x.example')])
    assert rows == {'one.example': 2}


# ---- TRACE: answered by httpd's core ------------------------------------------------

TRACE_CONF = r'''
<Location /cors-metrics>
    SetHandler cors-metrics
    Require ip 192.0.2.1
</Location>
<Location /off>
    SetHandler cors-metrics
</Location>
'''


def test_trace_is_answered_by_the_core():
    """httpd's core answers TRACE itself, before access control and any
    handler (map_to_storage): 200 and the request echoed, never the
    counters, whatever Require says; TraceEnable Off makes it 405
    (README "SetHandler cors-metrics")."""
    h = Httpd('counters-trace', TRACE_CONF + '<VirtualHost *:{port}>\n'
              '    ServerName off.example\n    TraceEnable Off\n</VirtualHost>\n'
              '<VirtualHost *:{port}>\n    ServerName on.example\n</VirtualHost>\n')
    h.start()
    try:
        r = h.request('GET', '/cors-metrics', host='on.example')
        assert r.status == 403, r
        r = h.request('TRACE', '/cors-metrics', host='on.example')
        assert r.status == 200 and r.get('Content-Type') == 'message/http', r
        assert r.body.startswith(b'TRACE /cors-metrics HTTP/1.1\r\n'), r.body
        assert b'mod_cors_requests_total' not in r.body
        r = h.request('TRACE', '/off', host='off.example')
        assert r.status == 405 and b'mod_cors' not in r.body, r
        r = h.request('GET', '/off', host='off.example')
        assert r.status == 200 and b'mod_cors_requests_total' in r.body, r
    finally:
        h.stop()


# ---- the README's table --------------------------------------------------------------

def readme_labels_table():
    """The rows of README's table of outcomes and their labels, found by its
    header: [(CORS_RESULT, request, outcome, reason)]."""
    with open(harness.REPO + '/README.md') as f:
        lines = f.read().splitlines()
    head = '| `CORS_RESULT` | `request` | `outcome` | `reason` |'
    assert lines.count(head) == 1
    rows = []
    for line in lines[lines.index(head) + 2:]:
        if not line.startswith('|'):
            break
        cells = [c.strip() for c in line.strip('|').split('|')]
        assert all(re.fullmatch(r'`[^`]+`', c) for c in cells), line
        rows.append(tuple(c.strip('`') for c in cells))
    return rows


def test_readme_table_maps_each_result_to_its_labels_one_to_one(srv):
    """README "Counters: server-status and Prometheus": the table names
    every CORS_RESULT once, with the labels the page gives it (LABELS, which
    metrics() checks on every page read), and says how a ?auto key is
    spelled; no two results share a label set; and the page serves exactly
    those label sets."""
    rows = readme_labels_table()
    assert [r[0] for r in rows] == list(RESULTS)
    assert {r[0]: r[1:4] for r in rows} == LABELS
    with open(harness.REPO + '/README.md') as f:
        text = ' '.join(f.read().split())
    assert ('`CORSRequests_` and the value with `_` for `:` and `-` (`%s`'
            % auto_key('preflight:denied:method')) in text
    assert len({r[1:4] for r in rows}) == len(rows)
    text = srv.request('GET', '/cors-metrics').body.decode('utf-8', 'strict')
    dims = set(re.findall(r'request="([^"]*)",outcome="([^"]*)",reason="([^"]*)"', text))
    assert dims == set(LABELS.values())
