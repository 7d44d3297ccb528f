"""README "Counters: server-status and Prometheus" and docs/prometheus.md,
with a real Prometheus server (Debian's prometheus package): it scrapes the
cors-metrics page of a test httpd, one virtual host of which has a
ServerName holding a byte that is not UTF-8 (raw 0xE9); through
Prometheus's HTTP query API, the target is up and every count, and every
sum by (...) of the guide, equals the requests sent.
The example rules (conf/examples/cors-alerts.yml) load in that server, pass
`promtool check rules` and their unit tests (`promtool test rules`
tests/prometheus/cors-alerts.test.yml), and the page passes `promtool check
metrics`.

Prometheus runs on 127.0.0.1 with a free port, with its configuration and
its data directory in the test server's root, scraping every second; every
wait is bounded, and it is stopped by its pid with SIGTERM (its graceful
shutdown)."""
import atexit
import json
import os
import re
import signal
import subprocess
import textwrap
import time
import urllib.parse
import urllib.request

import pytest

import harness
from conftest import server_fixture
from cors_cases import A, EVIL, OUTCOME_LABELS, PREFLIGHT_VARY, check
from harness import REPO

PROMETHEUS = '/usr/bin/prometheus'
PROMTOOL = '/usr/bin/promtool'
APT = 'apt-get install prometheus'
RULES = os.path.join(REPO, 'conf', 'examples', 'cors-alerts.yml')
RULES_TEST = os.path.join(REPO, 'tests', 'prometheus', 'cors-alerts.test.yml')
TIMEOUT = 60 * harness.TIME_SCALE    # for each wait on Prometheus


def need(path):
    """A missing dependency fails, never skips."""
    if not os.access(path, os.X_OK):
        pytest.fail('%s is missing: %s (Debian 12: prometheus 2.42)' % (path, APT),
                    pytrace=False)


GUIDE = os.path.join(REPO, 'docs', 'prometheus.md')
# every second, so that the test is short
GLOBAL = '''global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
'''


def guide_blocks(lang):
    """The ```lang blocks of docs/prometheus.md."""
    with open(GUIDE) as f:
        return re.findall(r'^```%s\n(.*?)^```$' % lang, f.read(), re.M | re.S)


def guide_scrape_config(port):
    """docs/prometheus.md's prometheus.yml, with this machine's rules file
    and test server."""
    conf = [b for b in guide_blocks('yaml') if 'scrape_configs:' in b]
    assert len(conf) == 1, conf
    conf = conf[0]
    for old, new in (('/etc/prometheus/cors-alerts.yml', RULES),
                     ("['www1.example.com:80', 'www2.example.com:80']",
                      "['127.0.0.1:%d']" % port)):
        assert conf.count(old) == 1, (old, conf)
        conf = conf.replace(old, new)
    return conf


ACRM = 'Access-Control-Request-Method'
ONE, LATIN1 = 'one.example', 'latin1.example'
# ServerName "caf<0xE9>.example": the row is caf\xe9.example:port
LATIN1_ROW = 'caf\\xe9.example:%d'
# (not a raw string: the harness writes the configuration in latin-1, so
# "\xe9" is the byte 0xE9)
CONFIG = '''
<Location /cors-metrics>
    SetHandler cors-metrics
    Require local
</Location>
<Location /api>
    CorsAllowOrigin https://a.example
    CorsAllowMethods PUT
</Location>
<VirtualHost *:{port}>
    ServerName one.example
</VirtualHost>
<VirtualHost *:{port}>
    ServerName "caf\xe9.example"
    ServerAlias latin1.example
</VirtualHost>
'''

# (request, outcome, reason) -> how to get it
KINDS = {
    ('actual', 'no-origin', 'none'): ('GET', (), 200, ['Vary: Origin']),
    ('actual', 'allowed', 'none'): ('GET', (('Origin', A),), 200,
                                    ['Access-Control-Allow-Origin: ' + A, 'Vary: Origin']),
    ('actual', 'denied', 'origin'): ('GET', (('Origin', EVIL),), 200, ['Vary: Origin']),
    ('preflight', 'allowed', 'none'): ('OPTIONS', (('Origin', A), (ACRM, 'PUT')), 204,
                                       ['Access-Control-Allow-Origin: ' + A,
                                        'Access-Control-Allow-Methods: PUT', PREFLIGHT_VARY]),
    ('preflight', 'denied', 'origin'): ('OPTIONS', (('Origin', EVIL), (ACRM, 'PUT')), 403,
                                        [PREFLIGHT_VARY]),
    ('preflight', 'denied', 'method'): ('OPTIONS', (('Origin', A), (ACRM, 'DELETE')), 403,
                                        [PREFLIGHT_VARY]),
}


def _files(h):
    h.write('api/x.txt', 'x\n')


srv = server_fixture('prometheus', CONFIG, setup=_files)


# every request the tests sent: {(host, (request, outcome, reason)): n}
SENT = {}


def send(h, host, dims, n):
    """n requests of a kind to host, each answered as it must be, noted in
    SENT."""
    method, headers, status, lines = KINDS[dims]
    for _ in range(n):
        check(h.request(method, '/api/x.txt', headers=headers, host=host), status, lines)
    SENT[host, dims] = SENT.get((host, dims), 0) + n


def row(h, host):
    return LATIN1_ROW % h.port if host == LATIN1 else '%s:%d' % (host, h.port)


class Prometheus:
    """A Prometheus server scraping h's /cors-metrics every second."""

    def __init__(self, h):
        need(PROMETHEUS)
        self.dir = os.path.join(h.root, 'prometheus')
        os.makedirs(self.dir, exist_ok=True)
        self.port = harness.free_port()
        self.url = 'http://127.0.0.1:%d' % self.port
        self.log = os.path.join(self.dir, 'prometheus.log')
        conf = os.path.join(self.dir, 'prometheus.yml')
        with open(conf, 'w') as f:
            f.write(GLOBAL + guide_scrape_config(h.port))
        with open(self.log, 'wb') as log:
            self.proc = subprocess.Popen(
                [PROMETHEUS, '--config.file=' + conf,
                 '--storage.tsdb.path=' + os.path.join(self.dir, 'data'),
                 '--web.listen-address=127.0.0.1:%d' % self.port,
                 '--log.level=warn'],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True)
        atexit.register(self.stop_at_exit)      # should pytest itself die
        self.wait('ready', lambda: self.get('/-/ready', raw=True) is not None)

    def get(self, path, raw=False, **query):
        url = self.url + path + ('?' + urllib.parse.urlencode(query) if query else '')
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                body = r.read()
        except OSError:
            return None
        if raw:
            return body
        doc = json.loads(body)
        assert doc['status'] == 'success', doc
        return doc['data']

    def wait(self, what, cond, describe=lambda: ''):
        """Wait (bounded) until cond() is true; describe() says what was
        there instead."""
        deadline = time.time() + TIMEOUT
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError('prometheus exited (%s) while waiting for %s:\n%s'
                                     % (self.proc.returncode, what, self.tail()))
            last = cond()
            if last:
                return last
            time.sleep(0.25)
        raise AssertionError('prometheus: no %s within %ss: %s\n%s'
                             % (what, TIMEOUT, describe(), self.tail()))

    def tail(self):
        with open(self.log, errors='replace') as f:
            return ''.join(f.readlines()[-20:])

    def query(self, expr):
        """{frozenset of labels: value} of an instant query."""
        data = self.get('/api/v1/query', query=expr)
        assert data['resultType'] == 'vector', data
        return {frozenset(s['metric'].items()): float(s['value'][1])
                for s in data['result']}

    def stop_at_exit(self):
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)

    def stop(self):
        """SIGTERM to its pid: Prometheus shuts down gracefully."""
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(30 * harness.TIME_SCALE)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
                raise AssertionError('prometheus did not stop on SIGTERM:\n' + self.tail())
        assert self.proc.returncode == 0, (self.proc.returncode, self.tail())


@pytest.fixture(scope='module')
def prom(srv):
    p = Prometheus(srv)
    try:
        yield p
    finally:
        p.stop()


def series_of(h, sent):
    """The series of mod_cors_requests_total Prometheus should hold: every
    row, every label set, with the counts sent ({(host, dims): n})."""
    want = {}
    for host in (ONE, LATIN1):
        for dims in OUTCOME_LABELS.values():
            labels = dict(zip(('request', 'outcome', 'reason'), dims),
                          __name__='mod_cors_requests_total', job='apache-cors',
                          instance='127.0.0.1:%d' % h.port, vhost=row(h, host))
            want[frozenset(labels.items())] = float(sent.get((host, dims), 0))
    return want


def test_target_up_and_counts_exact(srv, prom):
    """Known numbers of each kind of request to two virtual hosts (one with
    a raw 0xE9 in its ServerName); Prometheus scrapes them: the target is up
    with no scrape error, and each series equals what was sent, before and
    after more traffic."""
    with open(srv.conf, 'rb') as f:
        assert b'ServerName "caf\xe9.example"\n' in f.read()
    for rnd in range(2):
        for i, dims in enumerate(KINDS):
            for j, host in enumerate((ONE, LATIN1)):
                send(srv, host, dims, 1 + i + 3 * j + rnd)
        want = series_of(srv, SENT)

        def targets_up():
            t = prom.get('/api/v1/targets')['activeTargets']
            return len(t) == 1 and t[0]['health'] == 'up' and t[0]['lastError'] == '' and t

        targets_up_now = prom.wait('target up', targets_up,
                                   lambda: prom.get('/api/v1/targets')['activeTargets'])
        assert targets_up_now[0]['scrapeUrl'] == 'http://127.0.0.1:%d/cors-metrics' % srv.port
        got = prom.wait('counts %r' % want, lambda: (
            prom.query('mod_cors_requests_total') == want and want),
            lambda: prom.query('mod_cors_requests_total'))
        assert got == want
    assert prom.query('up') == {frozenset({'__name__': 'up', 'job': 'apache-cors',
                                           'instance': '127.0.0.1:%d' % srv.port}.items()): 1.0}


def test_sum_by_needs_no_regular_expression(srv, prom):
    """docs/prometheus.md: the totals by outcome, by request, and refused
    preflights by virtual host and reason, with sum by (...), equal the
    requests sent."""
    send(srv, ONE, ('preflight', 'denied', 'method'), 4)
    send(srv, LATIN1, ('actual', 'allowed', 'none'), 2)
    want = series_of(srv, SENT)
    prom.wait('the new counts', lambda: prom.query('mod_cors_requests_total') == want)

    def by(*labels, **match):
        """The sum by (labels) of what was sent, of the series matching."""
        out = {}
        for series, n in want.items():
            d = dict(series)
            if all(d[k] == m for k, m in match.items()):
                key = frozenset((k, d[k]) for k in labels)
                out[key] = out.get(key, 0) + n
        return out

    assert prom.query('sum by (outcome) (mod_cors_requests_total)') == by('outcome')
    assert prom.query('sum by (request) (mod_cors_requests_total)') == by('request')
    refused = prom.query('sum by (vhost, reason) '
                         '(mod_cors_requests_total{request="preflight", outcome="denied"})')
    assert refused == by('vhost', 'reason', request='preflight', outcome='denied')
    # 2 hosts, 6 reasons: origin, method, header, malformed, and the database's
    # two (database, database-unavailable)
    assert len(refused) == 2 * 6 and sum(refused.values()) > 0


def test_rules_load_in_prometheus(prom):
    """conf/examples/cors-alerts.yml loads in the server: every rule healthy."""
    def loaded():
        groups = prom.get('/api/v1/rules')['groups']
        rules = [r for g in groups for r in g['rules']]
        return len(rules) == 4 and all(r['health'] == 'ok' for r in rules) and rules
    rules = prom.wait('the rules evaluated', loaded)
    assert sorted(r['name'] for r in rules) == [
        'CorsMetricsDown', 'CorsMostPreflightsRefused', 'CorsPreflightsRefused',
        'instance_vhost:mod_cors_requests:rate5m']


def test_promtool_check_rules():
    need(PROMTOOL)
    p = subprocess.run([PROMTOOL, 'check', 'rules', RULES], capture_output=True,
                       text=True, timeout=60)
    assert p.returncode == 0 and 'SUCCESS: 4 rules found' in p.stdout, p.stdout + p.stderr


def test_promtool_test_rules():
    """The alerts fire on the series the page serves, and only then."""
    need(PROMTOOL)
    p = subprocess.run([PROMTOOL, 'test', 'rules', os.path.basename(RULES_TEST)],
                       cwd=os.path.dirname(RULES_TEST), capture_output=True, text=True,
                       timeout=60)
    assert p.returncode == 0 and 'SUCCESS' in p.stdout, p.stdout + p.stderr


def test_promtool_check_metrics(srv):
    """The page passes Prometheus's own linter."""
    need(PROMTOOL)
    page = srv.request('GET', '/cors-metrics', host=ONE).body
    p = subprocess.run([PROMTOOL, 'check', 'metrics'], input=page, capture_output=True,
                       timeout=60)
    assert p.returncode == 0 and p.stdout == b'' and p.stderr == b'', p


def test_guide_queries(srv, prom):
    """Every query of docs/prometheus.md runs in the real server and answers
    one series per value of its sum by (...) labels."""
    send(srv, ONE, ('preflight', 'denied', 'origin'), 3)
    send(srv, ONE, ('preflight', 'allowed', 'none'), 3)
    send(srv, ONE, ('actual', 'allowed', 'none'), 3)
    queries = guide_blocks('promql')
    assert len(queries) == 6, queries
    for q in queries:
        q = q.strip()
        assert '\n' not in q and '=~' not in q, q
        by = re.match(r'sum by \(([^)]*)\)', q)
        res = prom.wait('an answer to ' + q, lambda: prom.query(q))
        for labels in res:
            names = {k for k, _ in labels}
            if by:
                assert names == {n.strip() for n in by.group(1).split(',')}, (q, labels)
            else:
                assert names == {'instance', 'job'}, (q, labels)


def test_guide_shows_the_rules_file(srv):
    """The alert docs/prometheus.md shows is the file's, line for line."""
    excerpt = [b for b in guide_blocks('yaml') if 'alert:' in b]
    assert len(excerpt) == 1
    with open(RULES) as f:
        rules = f.read()
    assert textwrap.indent(excerpt[0], '      ') in rules
