"""Real browser: Debian's Chromium fetches across origins from pages served by
apache2 with mod_cors, and the verdict is the browser's own.

One apache2 serves several origins on 127.0.0.1 (and on names under
.localhost, which Chromium resolves to loopback itself):

    API      http://127.0.0.1:P0       /api/..., /api-ht/... (policy in .htaccess)
    page A   http://127.0.0.1:P1       listed in the policy: its scripts may read
    page C   http://127.0.0.1:P2       not listed (same host, other port)
    page A2  http://127.0.0.1:P3       listed where two origins share a cache
    pattern  http://localhost:P1|P2, http://*.app.localhost:P1 and lookalikes

tests/browser/driver.mjs opens each page in headless Chromium (playwright-core,
a fresh profile), runs fetch() in it and records what the script got (a
Response, or a TypeError) and what the DevTools protocol reported: a blocked
request carries Network.loadingFailed.corsErrorStatus.corsError, the reason
Chromium's console prints.  The server side is read back from an access log
that records method, URL, status, CORS_RESULT and the Cookie header of every
request, so a case also states which requests reached apache2.

The `make run` demo (tools/run.sh with conf/examples/demo.conf and
conf/examples/demo/) is started as `make run` starts it, on free ports: its
page checks its own rows, the driver checks each blocked row's reason, and
takes the screenshot kept as docs/demo.png (`make demo-screenshot`).

A missing Chromium, node or playwright-core fails the run: never a skip.
CORS_CHROMIUM names another Chromium binary.
"""
import base64
import collections
import json
import os
import re
import secrets
import shutil
import subprocess
import time

import pytest

import harness
from harness import Httpd, REPO, RUN_DIR

HERE = os.path.dirname(os.path.abspath(__file__))
CHROMIUM = os.environ.get('CORS_CHROMIUM', '/usr/bin/chromium')
NODE = shutil.which('node') or '/usr/bin/node'
DRIVER = os.path.join(HERE, 'driver.mjs')
FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
         '--disable-background-networking', '--disable-component-update', '--disable-sync',
         '--disable-dev-shm-usage']
# Where `make demo-screenshot` wants the picture (default: tests/run/ only).
DEMO_SHOT = os.environ.get('CORS_DEMO_SCREENSHOT')

USER, PASSWORD = 'alice', 'wonderland'
BASIC = 'Basic ' + base64.b64encode(('%s:%s' % (USER, PASSWORD)).encode()).decode()

# ---------------------------------------------------------------------------
# the server

CONFIG = r'''
LogFormat "%{local}p %m \"%U%q\" %>s cors=%{CORS_RESULT}e cookie=\"%{Cookie}i\"" browser
CustomLog logs/browser_log browser

# page origin A may read /api/; page origin C (same host, port P2) may not
<Location "/api/">
    CorsAllowOrigin   http://127.0.0.1:{port1}
    CorsAllowMethods  GET POST PUT
    CorsAllowHeaders  Content-Type X-Requested-With Authorization
    CorsExposeHeaders X-Total-Count
    Header always set X-Total-Count 3
    Header always set X-Internal hidden-from-scripts
</Location>
# credentials: cookies, for A and for the cross-site page http://localhost:P1
<Location "/api/cred/">
    CorsAllowOrigin      http://127.0.0.1:{port1} http://localhost:{port1}
    CorsAllowCredentials On
</Location>
# anyone may read, nobody with credentials
<Location "/api/public/">
    CorsAllowOrigin *
</Location>
# Basic authentication: preflights are answered before it
<Location "/api/auth/">
    AuthType Basic
    AuthName "browser suite"
    AuthUserFile "{root}/htpasswd"
    Require valid-user
</Location>
# two page origins of one site
<Location "/api/shared/">
    CorsAllowOrigin http://127.0.0.1:{port1} http://127.0.0.1:{port3}
</Location>
# the preflight cache
<Location "/api/cache600/">
    CorsMaxAge 600
</Location>
<Location "/api/cache0/">
    CorsMaxAge 0
</Location>
# a subdomain pattern and a port pattern
<Location "/api/sub/">
    CorsAllowOrigin http://*.app.localhost:{port1}
</Location>
<Location "/api/ports/">
    CorsAllowOrigin http://localhost:*
</Location>
# the LIMITATION in README.md: a server-context redirect applies to preflights
Redirect 302 /api/moved/ http://127.0.0.1:{port}/api/
'''

HTACCESS = '''\
# the /api/ policy, set through .htaccess (AllowOverride All)
CorsAllowOrigin   http://127.0.0.1:{port1}
CorsAllowMethods  GET POST PUT
CorsAllowHeaders  Content-Type X-Requested-With
CorsExposeHeaders X-Total-Count
Header always set X-Total-Count 3
'''

ECHO_CGI = r'''#!/usr/bin/python3
import json, os, sys
n = int(os.environ.get('CONTENT_LENGTH') or 0)
body = sys.stdin.read(n) if n else ''
e = os.environ.get
print('Content-Type: application/json')
print()
print(json.dumps({'method': e('REQUEST_METHOD'), 'cookie': e('HTTP_COOKIE'),
                  'content_type': e('CONTENT_TYPE'), 'x_requested_with': e('HTTP_X_REQUESTED_WITH'),
                  'remote_user': e('REMOTE_USER'), 'body': body}))
'''

# a handler that answers 500 itself, with a JSON body
FAIL_CGI = '''#!/bin/sh
printf 'Status: 500 Internal Server Error\\r\\nContent-Type: application/json\\r\\n\\r\\n'
printf '{"error": "database on fire"}\\n'
'''

# a script that dies before its headers: httpd's own 500 page
BROKEN_CGI = '''#!/bin/sh
exit 1
'''

# sets the cookie of the credentials cases; opened as a top-level page
COOKIE_CGI = r'''#!/bin/sh
case "$QUERY_STRING" in
    lax=*)  printf 'Set-Cookie: sid=%s; Path=/; HttpOnly; SameSite=Lax\r\n' "${QUERY_STRING#lax=}" ;;
    none=*) printf 'Set-Cookie: xsid=%s; Path=/; HttpOnly; SameSite=None; Secure\r\n' "${QUERY_STRING#none=}" ;;
esac
printf 'Content-Type: text/html\r\n\r\n<!doctype html><title>cookie set</title>cookie set\n'
'''

BLANK = '<!doctype html><meta charset="utf-8"><title>page</title><p>a page origin</p>\n'


def _files(h):
    h.htpasswd(USER, PASSWORD)
    h.write('pages/blank.html', BLANK)
    h.write('cookie/set.cgi', COOKIE_CGI, 0o755)
    for d in ('api', 'api/cred', 'api/public', 'api/auth', 'api/cache600', 'api/cache0',
              'api/cachedefault', 'api/sub', 'api/ports', 'api/shared', 'api-ht'):
        h.write(d + '/data.json', '{"items": [1, 2, 3]}\n')
        h.write(d + '/echo.cgi', ECHO_CGI, 0o755)
    h.write('api/fail.cgi', FAIL_CGI, 0o755)
    h.write('api/broken.cgi', BROKEN_CGI, 0o755)
    h.write('api-ht/.htaccess', HTACCESS.replace('{port1}', str(h.ports[1])))


# ---------------------------------------------------------------------------
# the cases: a fetch() from a page origin to the API

Case = collections.namedtuple('Case', 'id page path init verdict status reason wire tag')
Case.__new__.__defaults__ = (None,)     # tag: the URL's ?case= when cases share a URL

JSON_POST = {'method': 'POST', 'headers': {'Content-Type': 'application/json'},
             'body': '{"name": "x"}'}


def _put(**headers):
    return {'method': 'PUT', 'headers': headers, 'body': 'x'}


# page: key of ORIGINS.  verdict: 'allowed' (the script got a Response with this
# status) or 'blocked' (TypeError, and Chromium's CORS error reason).  wire:
# the methods that reached apache2 for this case, in order.
CASES = [
    # simple requests: no preflight, the response is read or withheld
    Case('get-allowed', 'A', '/api/data.json', {}, 'allowed', 200, None, 'GET'),
    Case('get-denied', 'C', '/api/data.json', {}, 'blocked', None,
         'MissingAllowOriginHeader', 'GET'),
    # application/json is not a form type: preflighted
    Case('json-post-allowed', 'A', '/api/echo.cgi', JSON_POST, 'allowed', 200, None,
         'OPTIONS POST'),
    Case('json-post-denied', 'C', '/api/echo.cgi', JSON_POST, 'blocked', None,
         'PreflightMissingAllowOriginHeader', 'OPTIONS'),
    # methods
    Case('put-allowed', 'A', '/api/echo.cgi', _put(), 'allowed', 200, None, 'OPTIONS PUT'),
    Case('delete-not-allowed', 'A', '/api/echo.cgi', {'method': 'DELETE'}, 'blocked', None,
         'PreflightMissingAllowOriginHeader', 'OPTIONS'),
    Case('put-denied-origin', 'C', '/api/echo.cgi', _put(), 'blocked', None,
         'PreflightMissingAllowOriginHeader', 'OPTIONS'),
    # request headers
    Case('header-allowed', 'A', '/api/echo.cgi',
         {'headers': {'X-Requested-With': 'browser-suite'}}, 'allowed', 200, None, 'OPTIONS GET'),
    Case('header-not-allowed', 'A', '/api/echo.cgi',
         {'headers': {'X-Evil': '1'}}, 'blocked', None,
         'PreflightMissingAllowOriginHeader', 'OPTIONS'),
    # credentials: a SameSite=Lax cookie on 127.0.0.1 goes to any port of it
    # (same site, other origin) when the script asks for credentials
    Case('cookie-included', 'A', '/api/cred/echo.cgi', {'credentials': 'include'},
         'allowed', 200, None, 'GET'),
    Case('cookie-not-asked', 'A', '/api/cred/echo.cgi', {}, 'allowed', 200, None, 'GET'),
    Case('credentials-not-allowed', 'A', '/api/echo.cgi', {'credentials': 'include'},
         'blocked', None, 'InvalidAllowCredentials', 'GET'),
    # cross-site (localhost -> 127.0.0.1): only a SameSite=None; Secure cookie
    # goes, which Chromium accepts from http://127.0.0.1 (a secure context)
    Case('cookie-cross-site', 'LA', '/api/cred/echo.cgi', {'credentials': 'include'},
         'allowed', 200, None, 'GET'),
    # '*' answers everyone, but never a request with credentials
    Case('wildcard-anyone', 'C', '/api/public/data.json', {}, 'allowed', 200, None, 'GET'),
    Case('wildcard-credentials', 'A', '/api/public/data.json', {'credentials': 'include'},
         'blocked', None, 'WildcardOriginNotAllowed', 'GET'),
    # response headers: only the exposed one is readable (see test_exposed_headers)
    Case('expose-headers', 'A', '/api/data.json', {}, 'allowed', 200, None, 'GET'),
    # error statuses are readable cross-origin
    Case('status-401', 'A', '/api/auth/data.json', {}, 'allowed', 401, None, 'GET'),
    Case('status-404', 'A', '/api/missing.json', {}, 'allowed', 404, None, 'GET'),
    Case('status-500-handler', 'A', '/api/fail.cgi', {}, 'allowed', 500, None, 'GET'),
    Case('status-500-httpd', 'A', '/api/broken.cgi', {}, 'allowed', 500, None, 'GET'),
    Case('status-404-denied', 'C', '/api/missing.json', {}, 'blocked', None,
         'MissingAllowOriginHeader', 'GET'),
    # Require valid-user: the preflight is answered before authentication; the
    # actual request logs in with the Authorization header the preflight allowed
    Case('auth-preflight', 'A', '/api/auth/echo.cgi', _put(Authorization=BASIC),
         'allowed', 200, None, 'OPTIONS PUT'),
    Case('auth-wrong-password', 'A', '/api/auth/echo.cgi',
         _put(Authorization='Basic ' + base64.b64encode(b'alice:nope').decode()),
         'allowed', 401, None, 'OPTIONS PUT'),
    # the preflight cache: three PUTs each (see test_preflight_cache)
    Case('cache-600', 'A', '/api/cache600/echo.cgi', _put(), 'allowed', 200, None,
         'OPTIONS PUT PUT PUT'),
    Case('cache-0', 'A', '/api/cache0/echo.cgi', _put(), 'allowed', 200, None,
         'OPTIONS PUT OPTIONS PUT OPTIONS PUT'),
    Case('cache-default', 'A', '/api/cachedefault/echo.cgi', _put(), 'allowed', 200, None,
         'OPTIONS PUT PUT PUT'),
    # http://*.app.localhost:P1
    Case('subdomain', 'SUB', '/api/sub/data.json', {}, 'allowed', 200, None, 'GET'),
    Case('subdomain-deeper', 'DEEP', '/api/sub/data.json', {}, 'allowed', 200, None, 'GET'),
    Case('subdomain-preflight', 'SUB', '/api/sub/echo.cgi', JSON_POST, 'allowed', 200, None,
         'OPTIONS POST'),
    Case('subdomain-apex', 'APEX', '/api/sub/data.json', {}, 'blocked', None,
         'MissingAllowOriginHeader', 'GET'),
    Case('subdomain-other-port', 'SUBC', '/api/sub/data.json', {}, 'blocked', None,
         'MissingAllowOriginHeader', 'GET'),
    Case('subdomain-lookalike', 'EVILAPP', '/api/sub/data.json', {}, 'blocked', None,
         'MissingAllowOriginHeader', 'GET'),
    # http://localhost:*
    Case('port-pattern-1', 'LA', '/api/ports/data.json', {}, 'allowed', 200, None, 'GET'),
    Case('port-pattern-2', 'LC', '/api/ports/echo.cgi', JSON_POST, 'allowed', 200, None,
         'OPTIONS POST'),
    Case('port-pattern-other-host', 'A', '/api/ports/data.json', {}, 'blocked', None,
         'MissingAllowOriginHeader', 'GET'),
    # the same policy through .htaccess
    Case('htaccess-get', 'A', '/api-ht/data.json', {}, 'allowed', 200, None, 'GET'),
    Case('htaccess-denied', 'C', '/api-ht/data.json', {}, 'blocked', None,
         'MissingAllowOriginHeader', 'GET'),
    Case('htaccess-put', 'A', '/api-ht/echo.cgi', _put(), 'allowed', 200, None, 'OPTIONS PUT'),
    Case('htaccess-delete', 'A', '/api-ht/echo.cgi', {'method': 'DELETE'}, 'blocked', None,
         'PreflightMissingAllowOriginHeader', 'OPTIONS'),
    # two listed origins of one site share the browser's HTTP cache: the second
    # one's request is a revalidation (Vary: Origin differs), answered 304 with
    # its own Access-Control-Allow-Origin; an unlisted origin's 304 has none,
    # and the browser compares the stored one (see test_revalidation)
    Case('revalidate-first', 'A', '/api/shared/data.json', {}, 'allowed', 200, None, None,
         'revalidate'),
    Case('revalidate-second', 'A2', '/api/shared/data.json', {}, 'allowed', 200, None, None,
         'revalidate'),
    Case('revalidate-unlisted', 'C', '/api/shared/data.json', {}, 'blocked', None,
         'AllowOriginMismatch', None, 'revalidate'),
    # README's LIMITATION: a server-context Redirect runs before mod_cors sees
    # the preflight, and browsers refuse a redirected preflight
    Case('limitation-redirect', 'A', '/api/moved/echo.cgi', _put(), 'blocked', None,
         'PreflightDisallowedRedirect', 'OPTIONS'),
]
REPEAT = {'cache-600': 3, 'cache-0': 3, 'cache-default': 3}
READ_HEADERS = ['content-type', 'x-total-count', 'x-internal']


def _origins(h):
    p0, p1, p2, p3 = h.ports
    return {'API': 'http://127.0.0.1:%d' % p0,
            'A': 'http://127.0.0.1:%d' % p1,
            'A2': 'http://127.0.0.1:%d' % p3,
            'C': 'http://127.0.0.1:%d' % p2,
            'LA': 'http://localhost:%d' % p1,
            'LC': 'http://localhost:%d' % p2,
            'SUB': 'http://one.app.localhost:%d' % p1,
            'DEEP': 'http://two.one.app.localhost:%d' % p1,
            'APEX': 'http://app.localhost:%d' % p1,
            'SUBC': 'http://one.app.localhost:%d' % p2,
            'EVILAPP': 'http://evilapp.localhost:%d' % p1}


# ---------------------------------------------------------------------------
# running Chromium

def _check_tools():
    """Fail (never skip) when what the suite needs is missing."""
    problems = []
    if not os.access(CHROMIUM, os.X_OK):
        problems.append('%s not found: run "tools/deps.sh browser" (Debian package chromium)'
                        % CHROMIUM)
    if not os.access(NODE, os.X_OK):
        problems.append('node not found: run "tools/deps.sh browser"')
    if not os.path.isfile(os.path.join(HERE, 'node_modules', 'playwright-core', 'package.json')):
        problems.append('playwright-core is not installed: run "npm ci" in %s '
                        '(make test-browser does)' % HERE)
    if problems:
        pytest.fail('\n'.join(problems), pytrace=False)


def run_driver(name, steps, timeout=150):
    """Run driver.mjs on steps in a fresh Chromium profile; returns its result."""
    _check_tools()
    work = os.path.join(RUN_DIR, 'browser-' + name)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    plan = {'executable': CHROMIUM, 'args': FLAGS, 'profile': os.path.join(work, 'profile'),
            'timeout_ms': 20000, 'viewport': {'width': 1280, 'height': 800}, 'steps': steps}
    plan_path, out_path = os.path.join(work, 'plan.json'), os.path.join(work, 'result.json')
    with open(plan_path, 'w') as f:
        json.dump(plan, f, indent=1)
    t0 = time.time()
    try:
        p = subprocess.run([NODE, DRIVER, plan_path, out_path], cwd=HERE, capture_output=True,
                           text=True, timeout=timeout,
                           env=dict(os.environ, NO_COLOR='1', FORCE_COLOR='0'))
    except subprocess.TimeoutExpired as e:
        pytest.fail('driver.mjs did not finish within %d s\n%s' % (timeout, e.stderr or ''),
                    pytrace=False)
    if p.returncode != 0:
        pytest.fail('driver.mjs exited with %d (plan: %s)\n%s%s'
                    % (p.returncode, plan_path, p.stdout, p.stderr), pytrace=False)
    with open(out_path) as f:
        result = json.load(f)
    result['seconds'] = round(time.time() - t0, 1)
    print('%s: %s, %d steps in %.1f s' % (name, result['chromium'], len(steps),
                                          result['seconds']))
    return result


def _url(origins, case):
    return '%s%s?case=%s' % (origins['API'], case.path, case.tag or case.id)


def _page(origins, key):
    return origins[key] + '/pages/blank.html'


@pytest.fixture(scope='module')
def suite():
    h = Httpd('browser', CONFIG, extra_listen=3)     # the harness loads mod_cgi(d)
    _files(h)
    h.start()
    try:
        o = _origins(h)
        token, xtoken = secrets.token_hex(8), secrets.token_hex(8)
        steps = [{'do': 'goto', 'url': o['API'] + '/cookie/set.cgi?lax=' + token},
                 {'do': 'goto', 'url': o['API'] + '/cookie/set.cgi?none=' + xtoken}]
        for c in CASES:
            steps.append({'do': 'fetch', 'id': c.id, 'page': _page(o, c.page),
                          'url': _url(o, c), 'init': c.init, 'repeat': REPEAT.get(c.id, 1),
                          'read_headers': READ_HEADERS})
        result = run_driver('cases', steps)
        yield {'httpd': h, 'origins': o, 'token': token, 'xtoken': xtoken,
               'results': result['results'], 'log': _browser_log(h)}
    finally:
        h.stop()


LOG_RE = re.compile(r'^(\d+) (\S+) "([^"]*)" (\d+) cors=(\S*) cookie="(.*)"$')
Hit = collections.namedtuple('Hit', 'port method uri status cors cookie')


def _browser_log(h):
    # the access log is written when a request ends: wait until it is quiet
    path = os.path.join(h.root, 'logs', 'browser_log')
    size, until = -1, time.time() + 3
    while time.time() < until:
        now = os.path.getsize(path) if os.path.exists(path) else 0
        if now == size:
            break
        size = now
        time.sleep(0.2)
    hits = []
    with open(path, encoding='latin-1') as f:
        for line in f:
            m = LOG_RE.match(line.rstrip('\n'))
            assert m, 'unparsable browser_log line: %r' % line
            hits.append(Hit(int(m.group(1)), *m.group(2, 3), int(m.group(4)), *m.group(5, 6)))
    return hits


def _hits(s, case_id):
    return [x for x in s['log'] if x.uri.endswith('?case=' + case_id)]


def _describe(r):
    """One line per request the browser put on the wire, for failure messages."""
    return '\n'.join('  %s %s %s -> %s %s%s' % (w.get('type'), w.get('method'), w.get('url'),
                                                w.get('status'), w.get('errorText', ''),
                                                ' cors=%s' % w['corsError'] if w.get('corsError')
                                                else '')
                     for w in r['wire'])


def cors_error(r):
    """Chromium's CORS error reason for the fetch, or None."""
    reasons = {w['corsError'] for w in r['wire'] if w.get('corsError')}
    assert len(reasons) <= 1, reasons
    return reasons.pop() if reasons else None


# ---------------------------------------------------------------------------
# the tests

@pytest.mark.parametrize('case', CASES, ids=[c.id for c in CASES])
def test_case(suite, case):
    r = suite['results'][case.id]
    info = '%s -> %s\n%s' % (r['origin'], r['url'], _describe(r))
    for a in r['attempts']:
        if case.verdict == 'allowed':
            assert a['outcome'] == 'resolved', (a, info)
            assert a['status'] == case.status, (a, info)
        else:
            # the script sees only a TypeError; the reason is in DevTools
            assert a == {'outcome': 'rejected', 'error': 'TypeError: Failed to fetch'}, (a, info)
    reason = cors_error(r)
    assert reason == case.reason, info
    if case.verdict == 'blocked':
        # blocked by CORS, not by anything else (a connection error has no
        # CORS reason): the fetch failed with ERR_FAILED and its reason, and
        # its preflight, if any, was answered
        [main] = [w for w in r['wire'] if w.get('type') == 'Fetch']
        assert (main['errorText'], main['corsError']) == ('net::ERR_FAILED', case.reason), info
        for w in r['wire']:
            if w.get('type') == 'Preflight':
                assert w.get('status') or w.get('errorText') == 'net::ERR_INVALID_REDIRECT', info
    hits = _hits(suite, case.tag or case.id)
    if case.wire is not None:
        assert ' '.join(x.method for x in hits) == case.wire, (hits, info)
    # every request of the case reached the API port, not a page port
    assert {x.port for x in hits} == {suite['httpd'].ports[0]}


def test_json_post_sent_its_body(suite):
    a = suite['results']['json-post-allowed']['attempts'][0]
    assert json.loads(a['body'])['content_type'] == 'application/json'
    assert json.loads(a['body'])['body'] == '{"name": "x"}'
    assert [x.cors for x in _hits(suite, 'json-post-allowed')] == ['preflight:ok', 'allowed']
    assert [x.cors for x in _hits(suite, 'json-post-denied')] == ['preflight:denied:origin']


def test_refused_preflights_name_their_reason_in_the_log(suite):
    # the browser only says the preflight failed; CORS_RESULT says why
    for case_id, result in (('delete-not-allowed', 'preflight:denied:method'),
                            ('header-not-allowed', 'preflight:denied:header'),
                            ('put-denied-origin', 'preflight:denied:origin'),
                            ('htaccess-delete', 'preflight:denied:method')):
        hits = _hits(suite, case_id)
        assert [(x.status, x.cors) for x in hits] == [(403, result)], case_id


def test_custom_header_arrived(suite):
    a = suite['results']['header-allowed']['attempts'][0]
    assert json.loads(a['body'])['x_requested_with'] == 'browser-suite'


def test_cookie_arrived(suite):
    token = 'sid=' + suite['token']
    a = suite['results']['cookie-included']['attempts'][0]
    # the script reads the server's echo of the Cookie header (the cookie is HttpOnly)...
    assert token in json.loads(a['body'])['cookie']
    # ...and the server logged it
    [hit] = _hits(suite, 'cookie-included')
    assert token in hit.cookie and hit.cors == 'allowed', hit
    # without credentials: 'include' the browser sends no cookie cross-origin
    a = suite['results']['cookie-not-asked']['attempts'][0]
    assert json.loads(a['body'])['cookie'] is None
    [hit] = _hits(suite, 'cookie-not-asked')
    assert hit.cookie == '-', hit


def test_cookie_sent_but_response_withheld_without_credentials_policy(suite):
    # The browser sends the cookie, the server answers, the script gets nothing:
    # CORS protects the response, not the request.
    [hit] = _hits(suite, 'credentials-not-allowed')
    assert 'sid=' + suite['token'] in hit.cookie and hit.status == 200, hit
    [hit] = _hits(suite, 'wildcard-credentials')
    assert 'sid=' + suite['token'] in hit.cookie and hit.status == 200, hit


def test_cookie_cross_site(suite):
    # page http://localhost:P1 -> API http://127.0.0.1:P0 is cross-site: CORS
    # lets the script read the answer, but the browser sends no cookie.  The
    # SameSite=Lax one stays home by SameSite; the SameSite=None; Secure one is
    # a third-party cookie, which this Chromium blocks by default (its reason
    # is 'UserPreferences').  Credentialed CORS works same-site (above).
    [hit] = _hits(suite, 'cookie-cross-site')
    assert hit.cookie == '-' and hit.cors == 'allowed', hit
    a = suite['results']['cookie-cross-site']['attempts'][0]
    assert json.loads(a['body'])['cookie'] is None
    [w] = suite['results']['cookie-cross-site']['wire']
    blocked = {c['name']: c['blockedReasons'] for c in w['cookies']}
    assert 'SchemefulSameSiteLax' in blocked['sid'], blocked
    assert blocked['xsid'] and not any('SameSite' in b or 'Secure' in b
                                       for b in blocked['xsid']), blocked


def test_exposed_headers(suite):
    r = suite['results']['expose-headers']
    a = r['attempts'][0]
    assert a['headers'] == {'content-type': 'application/json', 'x-total-count': '3',
                            'x-internal': None}, a
    assert 'x-internal' not in a['visibleHeaders']
    # X-Internal was on the wire: the browser withheld it from the script
    [w] = r['wire']
    assert w['responseHeaders'].get('X-Internal') == 'hidden-from-scripts', w
    assert w['responseHeaders'].get('Access-Control-Expose-Headers') == 'X-Total-Count', w


def test_error_bodies_readable(suite):
    a = suite['results']['status-500-handler']['attempts'][0]
    assert json.loads(a['body']) == {'error': 'database on fire'}
    a = suite['results']['status-500-httpd']['attempts'][0]
    assert 'Internal Server Error' in a['body']
    a = suite['results']['status-401']['attempts'][0]
    assert 'Unauthorized' in a['body']


def test_auth_preflight(suite):
    hits = _hits(suite, 'auth-preflight')
    assert [(x.method, x.status, x.cors) for x in hits] == \
        [('OPTIONS', 204, 'preflight:ok'), ('PUT', 200, 'allowed')]
    a = suite['results']['auth-preflight']['attempts'][0]
    assert json.loads(a['body'])['remote_user'] == USER
    # the preflight itself carried no credentials
    pre = [w for w in suite['results']['auth-preflight']['wire'] if w.get('method') == 'OPTIONS']
    for w in pre:
        assert 'Authorization' not in (w.get('wireRequestHeaders') or {}), w


def test_preflight_cache(suite):
    counts = {}
    for case_id in ('cache-600', 'cache-0', 'cache-default'):
        methods = [x.method for x in _hits(suite, case_id)]
        counts[case_id] = (methods.count('OPTIONS'), methods.count('PUT'))
    # CorsMaxAge 600: one preflight for three requests; CorsMaxAge 0: one each;
    # no CorsMaxAge: Chromium's default (5 s) covers three quick requests
    assert counts == {'cache-600': (1, 3), 'cache-0': (3, 3), 'cache-default': (1, 3)}
    # and what the server sent to get there
    pre = {c: [w for w in suite['results'][c]['wire'] if w.get('method') == 'OPTIONS']
           for c in counts}
    assert {w['responseHeaders'].get('Access-Control-Max-Age') for w in pre['cache-600']} == {'600'}
    assert {w['responseHeaders'].get('Access-Control-Max-Age') for w in pre['cache-0']} == {'0'}
    assert {w['responseHeaders'].get('Access-Control-Max-Age') for w in pre['cache-default']} \
        == {None}


def test_revalidation(suite):
    hits = _hits(suite, 'revalidate')
    assert [(x.status, x.cors) for x in hits] == \
        [(200, 'allowed'), (304, 'allowed'), (304, 'denied:origin')], hits
    # the 304 for the second listed origin carried its own origin...
    [w] = suite['results']['revalidate-second']['wire']
    assert w['wireStatus'] == 304, w
    a2 = suite['origins']['A2']
    assert w['wireResponseHeaders'].get('Access-Control-Allow-Origin') == a2, w
    # ...and the unlisted origin's none: the browser saw the stored one
    [w] = suite['results']['revalidate-unlisted']['wire']
    assert 'Access-Control-Allow-Origin' not in w['wireResponseHeaders'], w
    assert w['corsFailedParameter'] == a2, w


def test_no_request_unaccounted_for(suite):
    # every request that reached the API belongs to a case (nothing was retried)
    ids = {c.tag or c.id for c in CASES}
    stray = [x for x in suite['log'] if x.port == suite['httpd'].ports[0]
             and not x.uri.startswith(('/cookie/', '/favicon.ico'))
             and x.uri.rpartition('?case=')[2] not in ids]
    assert stray == []


def test_error_log_clean(suite):
    h = suite['httpd']
    bad = h.bad_log_lines(h.start_mark, allow=[
        r'End of script output before headers: broken\.cgi',    # status-500-httpd
        r'AH01617: user alice: authentication failure'])        # auth-wrong-password
    assert bad == []


# ---------------------------------------------------------------------------
# the `make run` demo, started the way `make run` starts it

DEMO_SHOT_RUN = os.path.join(RUN_DIR, 'demo.png')
DEMO_SHOT_UNTRUSTED = os.path.join(RUN_DIR, 'demo-untrusted.png')


def _port_open(port):
    return harness._port_open(port)


@pytest.fixture(scope='module')
def demo():
    """tools/run.sh on three free ports, in a server root under tests/run/."""
    ports = []
    # `make demo-screenshot`: the ports `make run` uses, when they are free
    if DEMO_SHOT and not any(_port_open(p) for p in (8080, 8081, 8082)):
        ports = [8080, 8081, 8082]
    while len(ports) < 3:
        p = harness.free_port()
        if p not in ports:
            ports.append(p)
    root = os.path.join(RUN_DIR, 'demo-run')
    if harness.IS_ROOT:
        os.makedirs(RUN_DIR, exist_ok=True)
        os.chmod(RUN_DIR, 0o755)
        harness._check_traversable(root)
    out = open(os.path.join(RUN_DIR, 'demo-run.out'), 'w+')
    env = dict(os.environ, PORT=str(ports[0]), TRUSTED_PORT=str(ports[1]),
               UNTRUSTED_PORT=str(ports[2]), RUN_ROOT=root)
    env = {k: v for k, v in env.items() if not k.startswith('APACHE_')}
    harness._become_subreaper()
    proc = subprocess.Popen([os.path.join(REPO, 'tools', 'run.sh')], env=env, stdout=out,
                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        deadline = time.time() + 15
        while not all(_port_open(p) for p in ports):
            if proc.poll() is not None or time.time() > deadline:
                out.seek(0)
                pytest.fail('tools/run.sh did not start (exit %s):\n%s'
                            % (proc.poll(), out.read()[-4000:]), pytrace=False)
            time.sleep(0.1)
        out.seek(0)
        yield {'ports': ports, 'root': root, 'banner': out.read(), 'out': out}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        out.close()


def _demo_urls(banner):
    trusted = re.search(r'trusted page:\s+(\S+)', banner)
    untrusted = re.search(r'untrusted page:\s+(\S+)', banner)
    assert trusted and untrusted, banner
    return trusted.group(1), untrusted.group(1)


@pytest.fixture(scope='module')
def demo_run(demo):
    trusted, untrusted = _demo_urls(demo['banner'])
    api = 'http://127.0.0.1:%d' % demo['ports'][0]
    steps = [{'do': 'demo', 'id': 'trusted', 'page': trusted, 'screenshot': DEMO_SHOT_RUN},
             {'do': 'demo', 'id': 'untrusted', 'page': untrusted,
              'screenshot': DEMO_SHOT_UNTRUSTED},
             {'do': 'demo', 'id': 'same', 'page': api + '/demo/'}]
    result = run_driver('demo', steps)
    if DEMO_SHOT:
        shutil.copyfile(DEMO_SHOT_RUN, DEMO_SHOT)
        print('wrote', DEMO_SHOT)
    return result['results']


def test_demo_prints_urls_and_curl_examples(demo):
    b = demo['banner']
    p0, p1, p2 = demo['ports']
    assert _demo_urls(b) == ('http://localhost:%d/demo/' % p1, 'http://localhost:%d/demo/' % p2)
    assert 'curl -si http://127.0.0.1:%d/api/items.json' % p0 in b


@pytest.mark.parametrize('kind', ['trusted', 'untrusted'])
def test_demo_rows(demo_run, kind):
    r = demo_run[kind]
    rows = r['rows']
    assert len(rows) >= 10
    by_url = collections.defaultdict(list)
    for w in r['wire']:
        by_url[w['url']].append(w)
    for row in rows:
        # the page's own verdict agrees with what it says the policy implies...
        assert row['match'], row
        # ...and the reason it gives for a blocked row is Chromium's
        reasons = {w.get('corsError') for w in by_url[row['url']]} - {None}
        want = {row['expectedReason']} if row['expectedReason'] else set()
        assert reasons == want, (row, by_url[row['url']])
    allowed = {row['key'] for row in rows if row['actual']['outcome'] == 'allowed'}
    if kind == 'trusted':
        assert allowed == {'get', 'json-post', 'put', 'header-ok', 'expose', 'credentials',
                           'public', 'not-found', 'unauthorized', 'login'}
        [expose] = [row for row in rows if row['key'] == 'expose']
        assert expose['actual']['headers'] == {'X-Total-Count': '3', 'X-Internal': None}
        [login] = [row for row in rows if row['key'] == 'login']
        assert json.loads(login['actual']['body'])['user'] == 'demo'
    else:
        # on the untrusted origin only the public tree is readable
        assert allowed == {'public'}


def test_demo_same_origin_page_explains_itself(demo_run):
    assert demo_run['same']['rows'] == []


def test_demo_screenshot(demo_run):
    with open(DEMO_SHOT_RUN, 'rb') as f:
        assert f.read(8) == b'\x89PNG\r\n\x1a\n'


def test_demo_server_log_clean(demo, demo_run):
    demo['out'].seek(0)
    text = demo['out'].read()
    bad = [l for l in text.splitlines()
           if re.match(r'^\[[^\]]*\] \[[^:\]]*:(warn|error|crit|alert|emerg)\]', l)
           and 'AH01617' not in l]
    assert bad == []
