"""README "CorsAllowOriginDBDQuery" and docs/database.md: origins from a
database, asked through mod_dbd about an Origin that no static rule allows and
no deny refuses, the answers kept in a mod_socache cache for a period.

The same table runs over SQLite and over a throwaway PostgreSQL cluster (both
real: tests/dbd_servers.py), then: rows added and removed while the server
runs, the database becoming unusable (fail closed), a flood of distinct
origins (one query each, counted in PostgreSQL's statement log), and two
servers sharing one memcached or redis cache."""
import os
import threading
import time
from collections import namedtuple
from concurrent.futures import ThreadPoolExecutor

import pytest

from conftest import server_fixture
from cors_cases import PREFLIGHT_VARY, check, preflight
import dbd_servers
from harness import Httpd, check_config

STATIC = 'https://static.example'       # CorsAllowOrigin
TENANT = 'https://tenant.example'       # a row
DENIED = 'https://denied.example'       # a row, and CorsDenyOrigin
OTHER = 'https://other.example'         # no row
PERIOD = 2                              # CorsAllowOriginDBDCache seconds
QUERY = 'SELECT 1 FROM tenants WHERE origin = %s'

CONFIG = r'''
DBDriver @DRIVER@
DBDParams "@PARAMS@"
# idle connections renewed after 2 s: SQLite's driver keeps a statement
# broken by DROP TABLE until its connection is renewed (docs/database.md)
DBDExptime 2
CorsAllowOriginDBDCache shmcb @PERIOD@
Header always set X-Cors-Result "%{CORS_RESULT}e"
<Location /cors-metrics>
    SetHandler cors-metrics
</Location>
<Location /db>
    CorsAllowOrigin https://static.example
    CorsDenyOrigin https://denied.example
    CorsAllowOriginDBDQuery "@QUERY@"
    CorsAllowMethods PUT
</Location>
<Location /db/creds>
    CorsAllowCredentials On
</Location>
<Location /db/none>
    CorsAllowOrigin none
</Location>
# below a none, a statement of its own; and one beside a none
<Location /db/none/again>
    CorsAllowOriginDBDQuery "@QUERY@"
</Location>
<Location /db/beside>
    CorsAllowOriginDBDQuery "@QUERY@"
    CorsAllowOrigin none
</Location>
<Location /db/report>
    CorsEngine ReportOnly
</Location>
<Location /db/write>
    CorsCrossOriginProtection On
</Location>
<Location /db/debug>
    CorsDebug On
</Location>
# the flood: a virtual host with a cache of its own, kept for 10 minutes
<VirtualHost 127.0.0.1:{port1}>
    CorsAllowOriginDBDCache shmcb 600
    <Location /db>
        CorsAllowOrigin https://static.example
        CorsAllowOriginDBDQuery "@QUERY@"
    </Location>
</VirtualHost>
'''
MODULES = ['dbd', 'socache_shmcb']
# mod_dbd's own lines when the database goes away (PostgreSQL stopped)
DB_DOWN_LOG = (r'AH02655|AH00629|AH00630|AH00633|AH00611|AH00632|AH00634|AH00600|AH00601'
               r'|Can.t connect to pgsql|failed to initialise|CORS0073')

_dbs = {}


def _config(db, period=PERIOD):
    return (CONFIG.replace('@DRIVER@', db.driver).replace('@PARAMS@', db.params)
            .replace('@PERIOD@', str(period)).replace('@QUERY@', QUERY))


def _files(h):
    for d in ('db', 'db/creds', 'db/none', 'db/none/again', 'db/beside', 'db/report',
              'db/debug'):
        h.write(d + '/x.txt', 'x')
    h.write('db/write/w.cgi', '#!/bin/sh\ncat >/dev/null\nprintf "Content-Type: text/plain\\n\\nok\\n"\n',
            mode=0o755)


def _rows(db):
    db.add(TENANT, DENIED,
           'https://slash.example/',            # not an origin: allows nothing
           'HTTPS://UPPER.EXAMPLE',             # nor does an uppercase spelling
           "https://o'quote.example")


def _get(h, path, origin, extra=()):
    hdrs = (() if origin is None else (('Origin', origin),)) + tuple(extra)
    return h.request('GET', path, headers=hdrs)


def _make(kind):
    def setup(h):
        db = dbd_servers.SQLite('dbd-sqlite-db') if kind == 'sqlite' \
            else dbd_servers.Postgres('dbd-pg-db')
        _dbs[kind] = db
        _rows(db)
        h.reconfigure(_config(db), modules=MODULES)
        _files(h)
    return setup


_sqlite = server_fixture('dbd-sqlite', '', setup=_make('sqlite'), modules=MODULES,
                         extra_listen=1)
_pgsql = server_fixture('dbd-pgsql', '', setup=_make('pgsql'), modules=MODULES,
                        extra_listen=1)


@pytest.fixture(scope='module', params=['sqlite', 'pgsql'])
def srv(request):
    # the server itself (so that conftest checks its error log after each
    # test), with its database, srv.h and srv.get(path, origin) for short
    h = request.getfixturevalue('_' + request.param)
    h.db, h.h = _dbs[request.param], h
    h.get = lambda path, origin, extra=(): _get(h, path, origin, extra)
    yield h


@pytest.fixture(scope='module', autouse=True)
def _stop_databases():
    yield
    for db in _dbs.values():
        db.stop()


def result(r):
    return r.get_all('X-Cors-Result')


def acao(origin, creds=False):
    return ['Access-Control-Allow-Origin: ' + origin] + \
        (['Access-Control-Allow-Credentials: true'] if creds else []) + ['Vary: Origin']


# ---- the table ------------------------------------------------------------------

Case = namedtuple('Case', 'name path origin status lines result')
CASES = [
    Case('allowed', '/db/x.txt', TENANT, 200, acao(TENANT), 'allowed:database'),
    Case('refused', '/db/x.txt', OTHER, 200, ['Vary: Origin'], 'denied:database'),
    Case('deny wins', '/db/x.txt', DENIED, 200, ['Vary: Origin'], 'denied:origin'),
    Case('static rules first', '/db/x.txt', STATIC, 200, acao(STATIC), 'allowed'),
    Case('credentials', '/db/creds/x.txt', TENANT, 200, acao(TENANT, True),
         'allowed:database'),
    Case('none drops it', '/db/none/x.txt', TENANT, 200, [], ''),
    Case('a statement below none', '/db/none/again/x.txt', TENANT, 200, acao(TENANT),
         'allowed:database'),
    Case('a statement beside none', '/db/beside/x.txt', TENANT, 200, acao(TENANT),
         'allowed:database'),
    Case('beside none, the static rule dropped', '/db/beside/x.txt', STATIC, 200,
         ['Vary: Origin'], 'denied:database'),
    Case('no Origin', '/db/x.txt', None, 200, ['Vary: Origin'], 'no-origin'),
    Case('a row that is not an origin', '/db/x.txt', 'https://slash.example/', 200,
         ['Vary: Origin'], 'denied:origin'),
    Case('an uppercase row', '/db/x.txt', 'https://upper.example', 200,
         ['Vary: Origin'], 'denied:database'),
    Case('an Origin that is not an origin', '/db/x.txt', 'HTTPS://UPPER.EXAMPLE', 200,
         ['Vary: Origin'], 'denied:origin'),
    Case('a quote is a parameter', '/db/x.txt', "https://o'quote.example", 200,
         ['Vary: Origin'], 'denied:origin'),
    Case('SQL in the Origin', '/db/x.txt', "https://x.example' OR '1'='1", 200,
         ['Vary: Origin'], 'denied:origin'),
    Case('null', '/db/x.txt', 'null', 200, ['Vary: Origin'], 'denied:origin'),
    # ReportOnly decides the same and changes nothing
    Case('ReportOnly allowed', '/db/report/x.txt', TENANT, 200, [], 'allowed:database'),
    Case('ReportOnly refused', '/db/report/x.txt', OTHER, 200, [], 'denied:database'),
]


@pytest.mark.parametrize('case', CASES, ids=[c.name for c in CASES])
def test_table(srv, case):
    for _ in range(2):          # the database's answer, then the cache's
        r = srv.get(case.path, case.origin)
        check(r, case.status, case.lines)
        assert result(r) == [case.result or '(null)'], r


def test_never_queried(srv):
    """An Origin that is not a serialised origin, null, a denied or a
    statically allowed origin is never a parameter of the statement (the
    database's own statement log, with PostgreSQL; the result, with both)."""
    for o in ('HTTPS://UPPER.EXAMPLE', 'https://slash.example/', 'null', DENIED, STATIC,
              "https://x.example' OR '1'='1"):
        before = srv.db.executed(o) if srv.db.driver == 'pgsql' else 0
        r = srv.get('/db/x.txt', o)
        assert result(r) in (['denied:origin'], ['allowed']), r
        if srv.db.driver == 'pgsql':
            assert srv.db.executed(o) == before, o
    r = srv.get('/db/x.txt', 'https://counted.example')
    assert result(r) == ['denied:database']
    if srv.db.driver == 'pgsql':
        assert srv.db.executed('https://counted.example') == 1


def _generated(rng, driver):
    """(Origin value, is a serialised origin) pairs: valid origins and the
    ways a value fails to be one (README "Origins")."""
    out = []
    for i in range(60):
        host = '%s%d-%s.example' % (rng.choice(['a', 'shop', 'x-y', 'n1']), i, driver)
        valid = rng.choice(['https://' + host, 'http://' + host,
                            'https://%s:%d' % (host, rng.randint(1, 65535))])
        bad = rng.choice([
            valid.upper(), valid + '/', valid + '/path', 'https://%s:443' % host,
            'http://%s:80' % host, 'https://user@' + host, 'https://a %s' % host,
            valid + ', ' + valid, 'https://' + host.replace('.', '..', 1),
            'ftp//' + host, 'https://%s:65536' % host])
        out += [(valid, True), (bad, False)]
    rng.shuffle(out)
    return out


def test_generated(srv):
    """Generated values, each also a row of the table: a serialised origin
    is allowed exactly when its row is there; any other value never is,
    even with a row that matches it byte for byte (it is never asked)."""
    import random
    rng = random.Random(22)
    values = _generated(rng, srv.db.driver)
    rows = [v for v, ok in values if not ok or rng.random() < 0.5]
    srv.db.add(*sorted(set(rows)))
    try:
        for v, ok in values:
            r = srv.get('/db/x.txt', v)
            if ok and v in rows:
                check(r, 200, acao(v))
                assert result(r) == ['allowed:database'], (v, r)
            else:
                check(r, 200, ['Vary: Origin'])
                assert result(r) == ['denied:database' if ok else 'denied:origin'], (v, r)
            if not ok and srv.db.driver == 'pgsql':
                assert srv.db.executed(v) == 0, v
    finally:
        srv.db.remove(*sorted(set(rows)))


def test_preflight(srv):
    h = srv.h
    r = preflight(h, '/db/x.txt', TENANT, 'PUT')
    check(r, 204, ['Access-Control-Allow-Origin: ' + TENANT,
                   'Access-Control-Allow-Methods: PUT', PREFLIGHT_VARY])
    assert result(r) == ['preflight:ok:database']
    r = preflight(h, '/db/x.txt', OTHER, 'PUT')
    check(r, 403, [PREFLIGHT_VARY])
    assert result(r) == ['preflight:denied:database']
    r = preflight(h, '/db/x.txt', TENANT, 'DELETE')
    check(r, 403, [PREFLIGHT_VARY])
    assert result(r) == ['preflight:denied:method']
    # CorsDebug: an origin the database allows learns why
    r = preflight(h, '/db/debug/x.txt', TENANT, 'DELETE')
    assert r.status == 204 and result(r) == ['preflight:denied:method'], r
    assert 'Access-Control-Allow-Origin: ' + TENANT in r.cors_lines()
    r = preflight(h, '/db/debug/x.txt', OTHER, 'DELETE')
    check(r, 403, [PREFLIGHT_VARY])


@pytest.mark.parametrize('origin,site,status,res', [
    (TENANT, 'cross-site', 200, 'allowed:database'),
    (OTHER, 'cross-site', 403, 'write:denied:sec-fetch-site'),
    (TENANT, None, 200, 'allowed:database'),
    (OTHER, None, 403, 'write:denied:origin'),
    (DENIED, 'cross-site', 403, 'write:denied:sec-fetch-site'),
])
def test_write_protection(srv, origin, site, status, res):
    """A cross-origin write passes from an origin the database allows."""
    hdrs = (('Origin', origin),) + ((('Sec-Fetch-Site', site),) if site else ())
    r = srv.h.request('POST', '/db/write/w.cgi', headers=hdrs, body='a=1')
    assert (r.status, result(r)) == (status, [res]), r


def test_debug_line(srv):
    mark = srv.h.log_mark()
    srv.get('/db/x.txt', 'https://debug-line.example')
    srv.get('/db/x.txt', TENANT)
    text = '\n'.join(srv.h.log_since(mark))
    assert "CORS0077: origin 'https://debug-line.example' denied " \
           "(CorsAllowOriginDBDQuery: no row)" in text, text
    assert "CORS0076: origin '%s' allowed (CorsAllowOriginDBDQuery)" % TENANT in text, text


def _logged_bounded(lines, since):
    """CORS0073 lines: one or more, at most once per period and process."""
    import re
    took = time.time() - since
    per_pid = {}
    for l in lines:
        if 'CORS0073' in l:
            pid = re.search(r'\[pid (\d+)', l).group(1)
            per_pid[pid] = per_pid.get(pid, 0) + 1
    assert per_pid, 'no CORS0073 line'
    assert all(n <= took // PERIOD + 1 for n in per_pid.values()), (took, per_pid)
    return sum(per_pid.values())


def counts(h):
    """{CORS_RESULT: count} of the main server's row of the cors-metrics page,
    from its labels (tests/cors_cases.py OUTCOME_LABELS)."""
    import re
    from cors_cases import OUTCOME_LABELS
    by_labels = {v: k for k, v in OUTCOME_LABELS.items()}
    text = h.request('GET', '/cors-metrics').body.decode('utf-8')
    got = {}
    for m in re.finditer(r'^mod_cors_requests_total\{vhost="127\.0\.0\.1",request="([^"]*)",'
                         r'outcome="([^"]*)",reason="([^"]*)"\} (\d+)$', text, re.M):
        got[by_labels[m.group(1, 2, 3)]] = int(m.group(4))
    assert set(got) == set(OUTCOME_LABELS), text
    return got


def test_counters(srv):
    """The counters name what the database decided, with its label."""
    before = counts(srv)
    srv.get('/db/x.txt', TENANT)
    srv.get('/db/x.txt', 'https://counters.example')
    srv.get('/db/x.txt', 'https://counters.example')
    preflight(srv, '/db/x.txt', TENANT, 'PUT')
    preflight(srv, '/db/x.txt', OTHER, 'PUT')
    after = counts(srv)
    delta = {k: after[k] - before[k] for k in after if after[k] != before[k]}
    assert delta == {'allowed:database': 1, 'denied:database': 2,
                     'preflight:ok:database': 1, 'preflight:denied:database': 1}


def _until(fn, want, timeout):
    end = time.time() + timeout
    while True:
        got = fn()
        if got == want or time.time() > end:
            return got
        time.sleep(0.2)


def test_row_added_and_removed(srv):
    """A row added or removed is seen within the cache's period, no restart."""
    o = 'https://new-%s.example' % srv.db.driver
    res = lambda: result(srv.get('/db/x.txt', o))[0]
    assert res() == 'denied:database'
    srv.db.add(o)
    t0 = time.time()
    # kept for the period, then asked again
    assert res() == 'denied:database'
    assert _until(res, 'allowed:database', PERIOD + 3) == 'allowed:database'
    assert time.time() - t0 <= PERIOD + 1.5
    check(srv.get('/db/x.txt', o), 200, acao(o))
    srv.db.remove(o)
    t0 = time.time()
    assert _until(res, 'denied:database', PERIOD + 3) == 'denied:database'
    assert time.time() - t0 <= PERIOD + 1.5


def test_graceful_restart(srv):
    """A graceful restart makes the cache and the lock anew; the database is
    asked again, and answers."""
    srv.h.graceful()
    for o, res in ((TENANT, 'allowed:database'), (OTHER, 'denied:database')):
        r = srv.get('/db/x.txt', o)
        check(r, 200, acao(o) if res.startswith('allowed') else ['Vary: Origin'])
        assert result(r) == [res]


# ---- the flood ------------------------------------------------------------------

FLOOD = 300


# 17 connections at once on the harness' 20 workers (10 with prefork)
@pytest.mark.allow_log(r'AH10159|AH00161')
def test_flood(srv):
    """Hundreds of distinct origins at 16 connections at once, twice: no 5xx,
    the static origin keeps being answered meanwhile, and each origin costs one
    query (counted in PostgreSQL's statement log)."""
    h = srv.h
    port = h.ports[1]
    origins = ['https://flood-%s-%d.example' % (srv.db.driver, i) for i in range(FLOOD)]
    statuses, results = [], []
    stop = threading.Event()
    static_ok = []

    def one(o):
        r = h.request('GET', '/db/x.txt', headers=(('Origin', o),), host='127.0.0.1')
        return r

    def static_loop():
        import harness
        while not stop.is_set():
            t = time.time()
            r = harness.request(port, 'GET', '/db/x.txt', headers=(('Origin', STATIC),))
            time.sleep(0.01)
            static_ok.append((r.status, time.time() - t,
                              'Access-Control-Allow-Origin: ' + STATIC in r.cors_lines()))

    import harness
    th = threading.Thread(target=static_loop)
    th.start()
    t0 = time.time()
    try:
        with ThreadPoolExecutor(16) as ex:
            for _ in range(2):
                for r in ex.map(lambda o: harness.request(port, 'GET', '/db/x.txt',
                                                          headers=(('Origin', o),)),
                                origins):
                    statuses.append(r.status)
                    results.append((r.cors_lines(), r.get_all('X-Cors-Result')))
    finally:
        stop.set()
        th.join()
    took = time.time() - t0
    assert statuses == [200] * (2 * FLOOD)
    assert all(res == (['Vary: Origin'], ['denied:database']) for res in results), \
        [res for res in results if res != (['Vary: Origin'], ['denied:database'])][:3]
    assert static_ok and all(s == 200 and ok for s, _, ok in static_ok), static_ok[:5]
    print('flood: %d requests in %.2fs; %d static requests meanwhile, slowest %.3fs'
          % (2 * FLOOD, took, len(static_ok), max(t for _, t, _ in static_ok)))
    if srv.db.driver == 'pgsql':
        counts = [srv.db.executed(o) for o in origins]
        assert counts == [1] * FLOOD, [(o, c) for o, c in zip(origins, counts) if c != 1][:5]


# ---- the database becoming unusable: fail closed ---------------------------------

@pytest.mark.allow_log(DB_DOWN_LOG)
def test_table_dropped(srv):
    """Fail closed: the origin is refused, the response is normal, static rules
    are unaffected, the error is logged a bounded number of times; the table
    back, the database answers again."""
    h = srv.h
    time.sleep(PERIOD + 0.5)    # answers of earlier tests expire
    mark, t0 = h.log_mark(), time.time()
    srv.db.execute('DROP TABLE tenants')
    try:
        n = 30
        for i in range(n):
            r = srv.get('/db/x.txt', 'https://gone-%d.example' % i)
            check(r, 200, ['Vary: Origin'])
            assert result(r) == ['denied:database-unavailable'], r
            check(srv.get('/db/x.txt', STATIC), 200, acao(STATIC))
        _logged_bounded(h.log_since(mark), t0)
    finally:
        srv.db.execute(dbd_servers.TENANTS)
        _rows(srv.db)
    # SQLite's driver keeps the statement broken until mod_dbd renews an
    # idle connection (DBDExptime 2 here; docs/database.md)
    time.sleep(PERIOD + 0.5)
    res = lambda: result(srv.get('/db/x.txt', TENANT))[0]
    assert _until(res, 'allowed:database', PERIOD + 5) == 'allowed:database'


@pytest.mark.allow_log(DB_DOWN_LOG)
def test_database_gone(srv):
    """Last: PostgreSQL stopped (fast shutdown, by pid), the SQLite file
    overwritten with bytes that are no database.  Fail closed."""
    h = srv.h
    time.sleep(PERIOD + 0.5)    # the error period of the test before ends
    before = counts(h)
    mark, t0 = h.log_mark(), time.time()
    if srv.db.driver == 'pgsql':
        srv.db.stop()
    else:
        # the database, its write-ahead log and its shared index: an open
        # connection that finds its index unchanged would read its cache
        for path in (srv.db.path, srv.db.path + '-wal', srv.db.path + '-shm'):
            if os.path.exists(path):
                with open(path, 'r+b') as f:
                    size = len(f.read())
                    f.seek(0)
                    f.write(b'not a database\n' * (size // 15 + 1))
    for i in range(20):
        r = srv.get('/db/x.txt', 'https://stopped-%d.example' % i)
        check(r, 200, ['Vary: Origin'])
        assert result(r) == ['denied:database-unavailable'], r
        check(srv.get('/db/x.txt', STATIC), 200, acao(STATIC))
    r = preflight(h, '/db/x.txt', 'https://stopped-0.example', 'PUT')
    check(r, 403, [PREFLIGHT_VARY])
    assert result(r) == ['preflight:denied:database-unavailable']
    _logged_bounded(h.log_since(mark), t0)
    after = counts(h)
    delta = {k: after[k] - before[k] for k in after if after[k] != before[k]}
    assert delta == {'denied:database-unavailable': 20, 'allowed': 20,
                     'preflight:denied:database-unavailable': 1}


# ---- configuration errors (README "Configuration errors") -----------------------

DB_CONF = 'DBDriver sqlite3\nDBDParams /nonexistent.db\n'
BAD = [
    # (modules, configuration, the line apache2 -t prints)
    (MODULES, DB_CONF + 'CorsAllowOriginDBDQuery "SELECT 1 FROM tenants WHERE origin = ?"',
     "CorsAllowOriginDBDQuery: 'SELECT 1 FROM tenants WHERE origin = ?' must hold exactly one "
     "%s (where the request's Origin goes, as a parameter) and no other '%', for example "
     "\"SELECT 1 FROM tenants WHERE origin = %s\""),
    (MODULES, DB_CONF + 'CorsAllowOriginDBDQuery "SELECT 1 FROM t WHERE a = %s OR b = %s"',
     "CorsAllowOriginDBDQuery: 'SELECT 1 FROM t WHERE a = %s OR b = %s' must hold exactly one "
     "%s (where the request's Origin goes, as a parameter) and no other '%', for example "
     "\"SELECT 1 FROM tenants WHERE origin = %s\""),
    (MODULES, DB_CONF + 'CorsAllowOriginDBDQuery "SELECT 1 FROM t WHERE a = %d"',
     "CorsAllowOriginDBDQuery: 'SELECT 1 FROM t WHERE a = %d' must hold exactly one "
     "%s (where the request's Origin goes, as a parameter) and no other '%', for example "
     "\"SELECT 1 FROM tenants WHERE origin = %s\""),
    (['socache_shmcb'], 'CorsAllowOriginDBDQuery "%s"' % QUERY,
     "CorsAllowOriginDBDQuery: mod_dbd is not loaded: load it before this line (LoadModule "
     "dbd_module modules/mod_dbd.so, or a2enmod dbd) and give it DBDriver and DBDParams"),
    (MODULES, 'CorsAllowOriginDBDCache memcache:127.0.0.1:11211',
     "CorsAllowOriginDBDCache: the socache provider 'memcache' is not loaded: load "
     "mod_socache_memcache before this line (LoadModule socache_memcache_module "
     "modules/mod_socache_memcache.so, or a2enmod socache_memcache)"),
    (MODULES, 'CorsAllowOriginDBDCache shmcb 0',
     "CorsAllowOriginDBDCache: '0' is not a number of seconds from 1 to 86400"),
    (MODULES, 'CorsAllowOriginDBDCache shmcb 1m',
     "CorsAllowOriginDBDCache: '1m' is not a number of seconds from 1 to 86400"),
]


@pytest.mark.parametrize('modules,conf,message', BAD, ids=[b[1][-40:] for b in BAD])
def test_bad_directive(modules, conf, message):
    rc, out = check_config(conf, name='dbd-bad', modules=modules)
    assert rc != 0, out
    assert message in out.splitlines(), out


def test_default_cache_needs_shmcb():
    """Without CorsAllowOriginDBDCache the answers go to shmcb: apache2 -t
    says to load it when it is not."""
    rc, out = check_config(DB_CONF + '<Location /x>\nCorsAllowOriginDBDQuery "%s"\n'
                           '</Location>' % QUERY, name='dbd-bad', modules=['dbd'])
    assert rc != 0, out
    assert any(l.endswith(
        "CORS0070: CorsAllowOriginDBDQuery: no CorsAllowOriginDBDCache is set and the "
        "default, shmcb, is not loaded: load mod_socache_shmcb (LoadModule "
        "socache_shmcb_module modules/mod_socache_shmcb.so, or a2enmod socache_shmcb) or "
        "set CorsAllowOriginDBDCache") for l in out.splitlines()), out


@pytest.mark.parametrize('conf', [
    '<Location /x>\nCorsAllowOriginDBDCache shmcb\n</Location>',
])
def test_cache_only_for_servers(conf):
    rc, out = check_config(conf, name='dbd-bad', modules=MODULES)
    assert rc != 0 and 'CorsAllowOriginDBDCache not allowed in <Location> context' in out, out


@pytest.mark.parametrize('modules,conf', [
    (MODULES, DB_CONF + '<Location /x>\nCorsAllowOriginDBDQuery "%s"\n</Location>' % QUERY),
    (MODULES, DB_CONF + 'CorsAllowOriginDBDCache shmcb 5\n<Directory /tmp>\n'
     'CorsAllowOriginDBDQuery "%s"\nCorsAllowCredentials On\n</Directory>' % QUERY),
    (MODULES + ['socache_memcache'], DB_CONF + 'CorsAllowOriginDBDCache '
     'memcache:127.0.0.1:11211 30\n<VirtualHost 127.0.0.1:8>\nCorsAllowOriginDBDCache '
     '"shmcb:/tmp/cors-dbd-check(65536)"\n</VirtualHost>'),
])
def test_good_directive(modules, conf):
    rc, out = check_config(conf, name='dbd-good', modules=modules)
    assert rc == 0 and 'Syntax OK' in out, out


@pytest.mark.allow_log(r'CorsAllowOriginDBDQuery not allowed here')
def test_not_in_htaccess(srv):
    """.htaccess may not hold a statement (it is prepared at start-up)."""
    srv.h.write('db/ht/.htaccess', 'CorsAllowOriginDBDQuery "%s"\n' % QUERY)
    mark = srv.h.log_mark()
    r = srv.h.request('GET', '/db/ht/x.txt', headers=(('Origin', TENANT),))
    assert r.status == 500
    assert any('CorsAllowOriginDBDQuery not allowed here' in l
               for l in srv.h.log_since(mark))


# ---- a fleet: two servers, one database, one memcached or redis cache ------------

FLEET_PERIOD = 3
FLEET = r'''
DBDriver sqlite3
DBDParams "@PARAMS@"
CorsAllowOriginDBDCache @CACHE@ @PERIOD@
Header always set X-Cors-Result "%{CORS_RESULT}e"
<Location /db>
    CorsAllowOriginDBDQuery "@QUERY@"
</Location>
'''


@pytest.mark.parametrize('kind', ['memcache', 'redis'])
def test_fleet_shares_one_cache(kind):
    """Two servers with one memcached (or redis) cache: what one server
    learnt from the database, the other answers with, and a row added or
    removed is seen by both within the period."""
    db = dbd_servers.SQLite('dbd-fleet-db')
    cache = dbd_servers.Memcached() if kind == 'memcache' else dbd_servers.Redis()
    servers = []
    try:
        conf = (FLEET.replace('@PARAMS@', db.params).replace('@CACHE@', cache.spec)
                .replace('@PERIOD@', str(FLEET_PERIOD)).replace('@QUERY@', QUERY))
        for name in ('a', 'b'):
            h = Httpd('dbd-fleet-%s-%s' % (kind, name), conf,
                      modules=['dbd', 'socache_' + kind])
            h.write('db/x.txt', 'x')
            h.start()
            servers.append(h)
        a, b = servers
        o = 'https://fleet-%s.example' % kind
        res = lambda h: _get(h, '/db/x.txt', o).get_all('X-Cors-Result')[0]
        db.add(o)
        check(_get(a, '/db/x.txt', o), 200, acao(o))
        db.remove(o)
        # b never asked the database: the answer a put in the cache
        r = _get(b, '/db/x.txt', o)
        check(r, 200, acao(o))
        assert r.get_all('X-Cors-Result') == ['allowed:database']
        # the row removed: seen by both within the period
        t0 = time.time()
        assert _until(lambda: res(a), 'denied:database', FLEET_PERIOD + 3) == 'denied:database'
        assert res(b) == 'denied:database'
        assert time.time() - t0 <= FLEET_PERIOD + 2.5
        # and added again
        db.add(o)
        t0 = time.time()
        assert _until(lambda: res(b), 'allowed:database', FLEET_PERIOD + 3) == \
            'allowed:database'
        assert res(a) == 'allowed:database'
        assert time.time() - t0 <= FLEET_PERIOD + 2.5
        for h in servers:
            assert h.bad_log_lines(h.start_mark) == []
    finally:
        for h in servers:
            h.stop()
        cache.stop()
