"""Real browsers: Debian's Chromium and Firefox ESR fetch across origins from
pages served by apache2 with mod_cors, and the verdict is each browser's own.

One apache2 serves several origins on 127.0.0.1 (and on names under
.localhost, which both browsers resolve to loopback themselves):

    API      http://127.0.0.1:P0       /api/..., /api-ht/... (policy in .htaccess),
                                       /raw/... (hand-written headers, no mod_cors)
    page A   http://127.0.0.1:P1       listed in the policy: its scripts may read
    page C   http://127.0.0.1:P2       not listed (same host, other port)
    page A2  http://127.0.0.1:P3       listed where two origins share a cache
    pattern  http://localhost:P1|P2, http://*.app.localhost:P1 and lookalikes

tests/browser/driver.mjs drives each browser through puppeteer-core (a fresh
profile, headless): Chromium over the DevTools protocol, Firefox over
WebDriver BiDi.  It opens each page, runs fetch() in it and records what the
script got (a Response, or a TypeError) and what the browser reported:
Chromium's Network.loadingFailed corsErrorStatus.corsError (the reason its
console prints), Firefox's network events and its console's "Cross-Origin
Request Blocked: ... (Reason: ...)" message, mapped back to the message's own
name (CORSMissingAllowOrigin, ... : MDN's CORS error pages) through the
browser's security.properties.  A fetch counts as blocked only with such a
reason and a failure that is the browser's CORS error, never a connection
error (see verdict()).  The server side is read back from an access log that
records method, URL, status, CORS_RESULT and the Cookie header of every
request, so a case also states which requests reached apache2.

Each case states its verdict per engine; where the engines differ, `why` says
why, with the source.  The table in docs/testing.md ("The browser suite") is
generated from these results (`make browser-table`, browser_table.py).

The preflight cache over hours (test_max_age_caps) runs in a browser of its
own under Debian's libfaketime, whose clock the driver moves forward.

The `make run` demo (tools/run.sh with conf/examples/demo.conf and
conf/examples/demo/) is started as `make run` starts it, on free ports: its
page checks its own rows in both browsers, the suite checks each blocked row's
reason, and Chromium's screenshot is the one kept as docs/demo.png (`make
demo-screenshot`).

A missing browser, node, puppeteer-core or libfaketime fails the run: never a
skip.  CORS_CHROMIUM and CORS_FIREFOX name other binaries.
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
import zipfile

import pytest

import browser_table
import harness
from harness import Httpd, REPO, RUN_DIR

HERE = os.path.dirname(os.path.abspath(__file__))
NODE = shutil.which('node') or '/usr/bin/node'
DRIVER = os.path.join(HERE, 'driver.mjs')
WORK = os.path.join(RUN_DIR, 'browser')
# Where `make demo-screenshot` wants the picture (default: tests/run/ only).
DEMO_SHOT = os.environ.get('CORS_DEMO_SCREENSHOT')

USER, PASSWORD = 'alice', 'wonderland'
BASIC = 'Basic ' + base64.b64encode(('%s:%s' % (USER, PASSWORD)).encode()).decode()

# ---------------------------------------------------------------------------
# the engines

# Firefox's own background traffic, off: the network is closed, and nothing but
# the test servers on 127.0.0.1 may be reached.  puppeteer-core's profile
# already turns off much of it; these add the rest, and send whatever is left
# to a proxy on a closed loopback port (loopback and *.localhost never go
# through a proxy).
FIREFOX_PREFS = {
    'network.proxy.type': 1,
    'network.proxy.http': '127.0.0.1', 'network.proxy.http_port': 1,
    'network.proxy.ssl': '127.0.0.1', 'network.proxy.ssl_port': 1,
    'network.proxy.no_proxies_on': '.localhost',
    'network.proxy.allow_hijacking_localhost': False,
    'network.trr.mode': 5,
    'network.dns.disablePrefetch': True,
    'network.prefetch-next': False,
    'network.predictor.enabled': False,
    'network.http.speculative-parallel-limit': 0,
    'network.captive-portal-service.enabled': False,
    'network.connectivity-service.enabled': False,
    'network.sntp.pools': '127.0.0.1',
    'app.update.auto': False,
    'app.update.disabledForTesting': True,
    'app.normandy.enabled': False,
    'app.shield.optoutstudies.enabled': False,
    'messaging-system.rsexperimentloader.enabled': False,
    'toolkit.telemetry.enabled': False,
    'toolkit.telemetry.unified': False,
    'toolkit.telemetry.archive.enabled': False,
    'toolkit.telemetry.server': '',
    'datareporting.healthreport.uploadEnabled': False,
    'datareporting.policy.dataSubmissionEnabled': False,
    'browser.ping-centre.telemetry': False,
    'browser.safebrowsing.malware.enabled': False,
    'browser.safebrowsing.phishing.enabled': False,
    'browser.safebrowsing.downloads.enabled': False,
    'browser.safebrowsing.downloads.remote.enabled': False,
    'browser.safebrowsing.blockedURIs.enabled': False,
    'browser.safebrowsing.provider.google4.updateURL': '',
    'browser.safebrowsing.provider.mozilla.updateURL': '',
    'services.settings.server': 'http://127.0.0.1:1/v1',
    'security.remote_settings.crlite_filters.enabled': False,
    'security.remote_settings.intermediates.enabled': False,
    'extensions.update.enabled': False,
    'extensions.blocklist.enabled': False,
    'extensions.getAddons.cache.enabled': False,
    'geo.provider.network.url': '',
    'browser.region.network.url': '',
    'browser.region.update.enabled': False,
    'media.gmp-manager.updateEnabled': False,
    'media.gmp-gmpopenh264.enabled': False,
    # Firefox's default cookie policy, Total Cookie Protection (puppeteer's
    # profile turns it off with cookieBehavior0)
    'network.cookie.cookieBehavior': 5,
    'browser.contentblocking.features.standard': '-tp,tpPrivate,cookieBehavior5,-cryptoTP,-fp',
    'intl.locale.requested': 'en-US',
}

# Firefox's own switch for test runs: no connection but to loopback, and
# remote settings from services.settings.server above (a release build
# ignores that pref without it)
FIREFOX_ENV = {'MOZ_DISABLE_NONLOCAL_CONNECTIONS': '1'}

Engine = collections.namedtuple('Engine', 'name binary package args prefs env fetch_error')
ENGINES = {
    'chromium': Engine(
        'chromium', os.environ.get('CORS_CHROMIUM', '/usr/bin/chromium'), 'chromium',
        ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
         '--disable-background-networking', '--disable-component-update', '--disable-sync',
         '--disable-dev-shm-usage',
         # no name resolves but loopback's: Chromium's own look-ups (its
         # update and account services) never leave the machine
         '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost, '
         'EXCLUDE *.localhost'],
        {}, {}, 'TypeError: Failed to fetch'),
    'firefox': Engine(
        'firefox', os.environ.get('CORS_FIREFOX', '/usr/bin/firefox-esr'), 'firefox-esr',
        [], FIREFOX_PREFS, FIREFOX_ENV,
        'TypeError: NetworkError when attempting to fetch resource.'),
}

# Debian's libfaketime, and the shim that lets Firefox start under it
FAKETIME_SO = '/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1'
SHIM_SRC = os.path.join(HERE, 'faketime_shim.c')

# ---------------------------------------------------------------------------
# the server

CONFIG = r'''
# %{usec}t: when the request came in (a line is written when it ends, so a
# quick next request's line can come first)
LogFormat "%{usec}t %{local}p %m \"%U%q\" %>s cors=%{CORS_RESULT}e cookie=\"%{Cookie}i\"" browser
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
# the preflight cache over a day (test_max_age_caps)
<Location "/api/cacheday/">
    CorsMaxAge 86400
</Location>
# one subdomain of an allowed pattern is never allowed (CorsDenyOrigin)
<Location "/api/deny/">
    CorsAllowOrigin http://*.app.localhost:{port1}
    CorsDenyOrigin  http://user-content.app.localhost:{port1}
</Location>
# Timing-Allow-Origin for the origins /api/ allows
<Location "/api/timing/">
    CorsTimingAllowOrigin On
</Location>
# the module's `*`: any request header but Authorization
<Location "/api/star/">
    CorsAllowHeaders *
</Location>
# CorsDebug: preflights refused for their method or a header are answered so
# that the browser names the cause (the /api/ policy, and `*` headers)
<Location "/api/debug/">
    CorsDebug On
</Location>
<Location "/api/debug/star/">
    CorsAllowHeaders *
</Location>
# outside mod_cors: hand-written headers, for what browsers do with answers
# the module never sends (`Access-Control-Allow-Headers: *`, a Max-Age over
# 86400).  mod_cgi leaves OPTIONS to httpd's core, which answers 200.
<Location "/raw/">
    Header always set Access-Control-Allow-Origin "http://127.0.0.1:{port1}"
    Header always set Access-Control-Allow-Methods "PUT"
    Header always set Access-Control-Allow-Headers "*"
    Header always set Access-Control-Max-Age "172800"
</Location>
# cross-origin writes (README "Cross-origin writes"): a form or a no-cors
# fetch from a page the policy does not trust is refused before the handler
<Location "/api/write/">
    CorsCrossOriginProtection On
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

# the handler of the write cases: records every request it sees
RECORD_CGI = '''#!/bin/sh
cat > /dev/null
echo "$REQUEST_METHOD $QUERY_STRING" >> "{record}"
printf 'Content-Type: text/plain\\r\\n\\r\\nwritten\\n'
'''

BLANK = '<!doctype html><meta charset="utf-8"><title>page</title><p>a page origin</p>\n'


def _files(h):
    h.htpasswd(USER, PASSWORD)
    h.write('pages/blank.html', BLANK)
    h.write('cookie/set.cgi', COOKIE_CGI, 0o755)
    for d in ('api', 'api/cred', 'api/public', 'api/auth', 'api/cache600', 'api/cache0',
              'api/cachedefault', 'api/cacheday', 'api/star', 'api/sub', 'api/ports',
              'api/shared', 'api-ht', 'raw', 'api/deny', 'api/timing',
              'api/debug', 'api/debug/star'):
        h.write(d + '/data.json', '{"items": [1, 2, 3]}\n')
        h.write(d + '/echo.cgi', ECHO_CGI, 0o755)
    h.write('api/fail.cgi', FAIL_CGI, 0o755)
    h.write('api/broken.cgi', BROKEN_CGI, 0o755)
    h.write('api-ht/.htaccess', HTACCESS.replace('{port1}', str(h.ports[1])))
    os.makedirs(os.path.dirname(_record(h)))
    os.chmod(os.path.dirname(_record(h)), 0o1777)
    h.write('api/write/rec.cgi', RECORD_CGI.format(record=_record(h)), 0o755)


def _record(h):
    return os.path.join(h.root, 'record', 'writes')


# ---------------------------------------------------------------------------
# the cases: a fetch() from a page origin to the API, and each engine's verdict

class V(collections.namedtuple('V', 'kind detail')):
    """A verdict: ('allowed', status), ('blocked', the engine's CORS reason) or
    ('network-error', the engine's error), as verdict() reads it off a result."""
    __slots__ = ()

    def __str__(self):
        if self.kind == 'allowed':
            return str(self.detail)
        return '%s `%s`' % (self.kind, self.detail)


def ok(status=200):
    return V('allowed', status)


def blocked(reason):
    return V('blocked', reason)


def network_error(what):
    return V('network-error', what)


# The two engines' names for the same cause (Chromium's corsError values, and
# Firefox's console messages by their security.properties names, which are
# MDN's CORS error pages: developer.mozilla.org/docs/Web/HTTP/CORS/Errors).
# Chromium tells a refused preflight from a refused response; Firefox does not.
SAME_CAUSE = {
    'MissingAllowOriginHeader': 'CORSMissingAllowOrigin',
    'PreflightMissingAllowOriginHeader': 'CORSMissingAllowOrigin',
    'InvalidAllowCredentials': 'CORSMissingAllowCredentials',
    'WildcardOriginNotAllowed': 'CORSNotSupportingCredentials',
    'AllowOriginMismatch': 'CORSAllowOriginNotMatchingOrigin',
    'HeaderDisallowedByPreflightResponse': 'CORSMissingAllowHeaderFromPreflight',
    'MethodDisallowedByPreflightResponse': 'CORSMethodNotFound',
    'PreflightDisallowedRedirect': 'CORSExternalRedirectNotAllowed',
    'net::ERR_CONNECTION_REFUSED': 'NS_ERROR_CONNECTION_REFUSED',
}


class Case:
    """One fetch() (`repeat` times) from the page origin `page` (a key of
    ORIGINS) to `path` on the API.  `wire`: the methods that reached apache2
    for it, in order (a dict by engine where they differ; None: not checked
    here).  `chromium`, `firefox`: the verdict in each (firefox defaults to
    chromium's for an allowed fetch).  `why`: why the engines differ, with the
    source; required exactly where they do (test_differences_explained).
    `clock`: the offsets at which test_max_age_caps' clock run fetches it.
    `firefox_console`: Firefox's CORS console messages, where test_case's rule
    does not give them.  `form`: instead of fetch(), the page submits a plain
    HTML form (POST, application/x-www-form-urlencoded) to `path`, and the
    verdict is the status of the page it navigates to."""

    def __init__(self, id, page, path, init, wire, chromium, firefox=None, why=None,
                 tag=None, repeat=1, clock=None, firefox_console=None, form=False):
        assert firefox or chromium.kind == 'allowed', id
        self.id, self.page, self.path, self.init, self.tag = id, page, path, init, tag
        self.form = form
        self.firefox_console = firefox_console
        self.verdicts = {'chromium': chromium, 'firefox': firefox or chromium}
        self.wires = wire if isinstance(wire, dict) else {'chromium': wire, 'firefox': wire}
        self.why, self.repeat, self.clock = why, repeat, clock

    def expect(self, engine):
        return self.verdicts[engine]

    def wire(self, engine):
        return self.wires[engine]

    def differs(self):
        c, f = self.verdicts['chromium'], self.verdicts['firefox']
        same = c.kind == f.kind and (c.detail == f.detail or SAME_CAUSE.get(c.detail) == f.detail)
        return not same or self.wires['chromium'] != self.wires['firefox']

    def __repr__(self):
        return self.id


JSON_POST = {'method': 'POST', 'headers': {'Content-Type': 'application/json'},
             'body': '{"name": "x"}'}


FORM_BODY = {'headers': {'Content-Type': 'application/x-www-form-urlencoded'},
             'body': 'amount=100'}
WRITE_NO_CORS = dict(FORM_BODY, method='POST', mode='no-cors')
WRITE_FETCH = dict(FORM_BODY, method='POST')


def _put(**headers):
    return {'method': 'PUT', 'headers': headers, 'body': 'x'}


# what the clock run does: CLOCK offsets, one fetch of each clock case at each
CLOCK = ['+0', '+1h', '+3h', '+23h', '+25h']
MAX_AGE_WHY = (
    'A browser may cap Access-Control-Max-Age (Fetch standard, "CORS-preflight cache"): '
    'Chromium at 2 hours, Firefox at 24 hours (MDN, Access-Control-Max-Age)')

FIRST_HIT_WHY = (
    'Firefox preflights again the first time in a session that its cache could answer, '
    'and answers from the cache after that (seen in every run of Firefox 153 ESR; the '
    'Fetch standard\'s CORS-preflight cache answers the second PUT)')

CASES = [
    # simple requests: no preflight, the response is read or withheld
    Case('get-allowed', 'A', '/api/data.json', {}, 'GET', ok()),
    Case('get-denied', 'C', '/api/data.json', {}, 'GET',
         blocked('MissingAllowOriginHeader'), blocked('CORSMissingAllowOrigin')),
    # application/json is not a form type: preflighted
    Case('json-post-allowed', 'A', '/api/echo.cgi', JSON_POST, 'OPTIONS POST', ok()),
    Case('json-post-denied', 'C', '/api/echo.cgi', JSON_POST, 'OPTIONS',
         blocked('PreflightMissingAllowOriginHeader'), blocked('CORSMissingAllowOrigin')),
    # methods
    Case('put-allowed', 'A', '/api/echo.cgi', _put(), 'OPTIONS PUT', ok()),
    Case('delete-not-allowed', 'A', '/api/echo.cgi', {'method': 'DELETE'}, 'OPTIONS',
         blocked('PreflightMissingAllowOriginHeader'), blocked('CORSMissingAllowOrigin')),
    Case('put-denied-origin', 'C', '/api/echo.cgi', _put(), 'OPTIONS',
         blocked('PreflightMissingAllowOriginHeader'), blocked('CORSMissingAllowOrigin')),
    # request headers
    Case('header-allowed', 'A', '/api/echo.cgi',
         {'headers': {'X-Requested-With': 'browser-suite'}}, 'OPTIONS GET', ok()),
    Case('header-not-allowed', 'A', '/api/echo.cgi', {'headers': {'X-Evil': '1'}}, 'OPTIONS',
         blocked('PreflightMissingAllowOriginHeader'), blocked('CORSMissingAllowOrigin')),
    # `CorsAllowHeaders *`: any name but Authorization, which the module refuses
    # unless listed (README, CorsAllowHeaders), as the Fetch standard's `*` does
    Case('star-headers-custom', 'A', '/api/star/echo.cgi', _put(**{'X-Anything': '1'}),
         'OPTIONS PUT', ok()),
    Case('star-headers-authorization', 'A', '/api/star/echo.cgi', _put(Authorization=BASIC),
         'OPTIONS', blocked('PreflightMissingAllowOriginHeader'),
         blocked('CORSMissingAllowOrigin')),
    # the same refusals with CorsDebug On: the browser itself refuses the 204
    # and names the cause; a refused origin is still a 403 without CORS headers
    Case('debug-delete-not-allowed', 'A', '/api/debug/echo.cgi', {'method': 'DELETE'},
         'OPTIONS', blocked('MethodDisallowedByPreflightResponse'),
         blocked('CORSMethodNotFound')),
    Case('debug-header-not-allowed', 'A', '/api/debug/echo.cgi', {'headers': {'X-Evil': '1'}},
         'OPTIONS', blocked('HeaderDisallowedByPreflightResponse'),
         blocked('CORSMissingAllowHeaderFromPreflight')),
    Case('debug-star-authorization', 'A', '/api/debug/star/echo.cgi',
         _put(Authorization=BASIC), 'OPTIONS',
         blocked('HeaderDisallowedByPreflightResponse'),
         blocked('CORSMissingAllowHeaderFromPreflight')),
    Case('debug-denied-origin', 'C', '/api/debug/echo.cgi', {'method': 'DELETE'}, 'OPTIONS',
         blocked('PreflightMissingAllowOriginHeader'), blocked('CORSMissingAllowOrigin')),
    Case('debug-allowed', 'A', '/api/debug/echo.cgi', _put(), 'OPTIONS PUT', ok()),
    # what the browsers do with a hand-written `Access-Control-Allow-Headers: *`
    # (no mod_cors): `*` covers X-Anything, and in both engines Authorization
    # too, although the Fetch standard says it never does (Authorization is a
    # "CORS non-wildcard request-header name"; MDN, Access-Control-Allow-Headers):
    # the module's refusal above is the standard's rule
    Case('raw-star-custom', 'A', '/raw/echo.cgi', _put(**{'X-Anything': '1'}),
         'OPTIONS PUT', ok()),
    Case('raw-star-authorization', 'A', '/raw/echo.cgi', _put(Authorization=BASIC),
         'OPTIONS PUT', ok()),
    # credentials: a SameSite=Lax cookie on 127.0.0.1 goes to any port of it
    # (same site, other origin) when the script asks for credentials
    Case('cookie-included', 'A', '/api/cred/echo.cgi', {'credentials': 'include'}, 'GET', ok()),
    Case('cookie-not-asked', 'A', '/api/cred/echo.cgi', {}, 'GET', ok()),
    Case('credentials-not-allowed', 'A', '/api/echo.cgi', {'credentials': 'include'}, 'GET',
         blocked('InvalidAllowCredentials'), blocked('CORSMissingAllowCredentials')),
    # cross-site (localhost -> 127.0.0.1): no cookie goes (test_cookie_cross_site)
    Case('cookie-cross-site', 'LA', '/api/cred/echo.cgi', {'credentials': 'include'}, 'GET',
         ok()),
    # '*' answers everyone, but never a request with credentials
    Case('wildcard-anyone', 'C', '/api/public/data.json', {}, 'GET', ok()),
    Case('wildcard-credentials', 'A', '/api/public/data.json', {'credentials': 'include'},
         'GET', blocked('WildcardOriginNotAllowed'), blocked('CORSNotSupportingCredentials')),
    # response headers: only the exposed one is readable (see test_exposed_headers)
    Case('expose-headers', 'A', '/api/data.json', {}, 'GET', ok()),
    # cross-origin writes (CorsCrossOriginProtection On): a plain form POST
    # and a no-cors fetch are sent without a preflight; from a page the policy
    # does not trust (localhost:P2 is cross-site, 127.0.0.1:P2 same-site) the
    # handler never sees them, from the trusted page and the API's own page it
    # does (test_cross_origin_writes reads the handler's record)
    Case('write-form-cross-site', 'LC', '/api/write/rec.cgi', {}, 'POST', ok(403), form=True),
    Case('write-form-same-site', 'C', '/api/write/rec.cgi', {}, 'POST', ok(403), form=True),
    Case('write-form-trusted', 'A', '/api/write/rec.cgi', {}, 'POST', ok(200), form=True),
    Case('write-form-same-origin', 'API', '/api/write/rec.cgi', {}, 'POST', ok(200),
         form=True),
    # the script gets an opaque response (status 0) either way
    Case('write-no-cors-cross-site', 'LC', '/api/write/rec.cgi', WRITE_NO_CORS, 'POST', ok(0)),
    Case('write-fetch-trusted', 'A', '/api/write/rec.cgi', WRITE_FETCH, 'POST', ok(200)),
    # error statuses are readable cross-origin
    Case('status-401', 'A', '/api/auth/data.json', {}, 'GET', ok(401)),
    Case('status-404', 'A', '/api/missing.json', {}, 'GET', ok(404)),
    Case('status-500-handler', 'A', '/api/fail.cgi', {}, 'GET', ok(500)),
    Case('status-500-httpd', 'A', '/api/broken.cgi', {}, 'GET', ok(500)),
    Case('status-404-denied', 'C', '/api/missing.json', {}, 'GET',
         blocked('MissingAllowOriginHeader'), blocked('CORSMissingAllowOrigin')),
    # Require valid-user: the preflight is answered before authentication; the
    # actual request logs in with the Authorization header the preflight allowed
    Case('auth-preflight', 'A', '/api/auth/echo.cgi', _put(Authorization=BASIC),
         'OPTIONS PUT', ok()),
    Case('auth-wrong-password', 'A', '/api/auth/echo.cgi',
         _put(Authorization='Basic ' + base64.b64encode(b'alice:nope').decode()),
         'OPTIONS PUT', ok(401)),
    # the preflight cache: three PUTs each (see test_preflight_cache)
    Case('cache-first-hit', 'A', '/api/cache600/echo.cgi', _put(),
         {'chromium': 'OPTIONS PUT PUT PUT', 'firefox': 'OPTIONS PUT OPTIONS PUT PUT'}, ok(),
         repeat=3, why=FIRST_HIT_WHY),
    Case('cache-600', 'A', '/api/cache600/echo.cgi', _put(), 'OPTIONS PUT PUT PUT', ok(),
         repeat=3),
    Case('cache-0', 'A', '/api/cache0/echo.cgi', _put(), 'OPTIONS PUT OPTIONS PUT OPTIONS PUT',
         ok(), repeat=3),
    Case('cache-default', 'A', '/api/cachedefault/echo.cgi', _put(), 'OPTIONS PUT PUT PUT',
         ok(), repeat=3),
    # ... and over hours, on a moved clock (see test_max_age_caps): CorsMaxAge
    # 86400, the module's maximum, and a hand-written Max-Age of two days
    Case('max-age-day', 'A', '/api/cacheday/echo.cgi', _put(),
         {'chromium': 'OPTIONS PUT PUT OPTIONS PUT OPTIONS PUT OPTIONS PUT',
          'firefox': 'OPTIONS PUT PUT PUT PUT OPTIONS PUT'}, ok(), clock=CLOCK,
         why=MAX_AGE_WHY + ': Chromium asks again at +3h and +23h, Firefox only at +25h, '
         'when the 86400 s are over'),
    Case('max-age-two-days', 'A', '/raw/echo.cgi', _put(),
         {'chromium': 'OPTIONS PUT PUT OPTIONS PUT OPTIONS PUT OPTIONS PUT',
          'firefox': 'OPTIONS PUT PUT PUT PUT OPTIONS PUT'}, ok(), clock=CLOCK,
         why=MAX_AGE_WHY + ': Chromium asks again at +3h and +23h, Firefox at +25h, its '
         'cap, not the 172800 s'),
    # http://*.app.localhost:P1
    Case('subdomain', 'SUB', '/api/sub/data.json', {}, 'GET', ok()),
    Case('subdomain-deeper', 'DEEP', '/api/sub/data.json', {}, 'GET', ok()),
    Case('subdomain-preflight', 'SUB', '/api/sub/echo.cgi', JSON_POST, 'OPTIONS POST', ok()),
    Case('subdomain-apex', 'APEX', '/api/sub/data.json', {}, 'GET',
         blocked('MissingAllowOriginHeader'), blocked('CORSMissingAllowOrigin')),
    Case('subdomain-other-port', 'SUBC', '/api/sub/data.json', {}, 'GET',
         blocked('MissingAllowOriginHeader'), blocked('CORSMissingAllowOrigin')),
    Case('subdomain-lookalike', 'EVILAPP', '/api/sub/data.json', {}, 'GET',
         blocked('MissingAllowOriginHeader'), blocked('CORSMissingAllowOrigin')),
    # http://localhost:*
    Case('port-pattern-1', 'LA', '/api/ports/data.json', {}, 'GET', ok()),
    Case('port-pattern-2', 'LC', '/api/ports/echo.cgi', JSON_POST, 'OPTIONS POST', ok()),
    Case('port-pattern-other-host', 'A', '/api/ports/data.json', {}, 'GET',
         blocked('MissingAllowOriginHeader'), blocked('CORSMissingAllowOrigin')),
    # CorsDenyOrigin http://user-content.app.localhost:P1 under the pattern
    # http://*.app.localhost:P1: that sibling is refused, the others are not
    Case('deny-sibling-allowed', 'SUB', '/api/deny/data.json', {}, 'GET', ok()),
    Case('deny-denied', 'UC', '/api/deny/data.json', {}, 'GET',
         blocked('MissingAllowOriginHeader'), blocked('CORSMissingAllowOrigin')),
    Case('deny-denied-preflight', 'UC', '/api/deny/echo.cgi', JSON_POST, 'OPTIONS',
         blocked('PreflightMissingAllowOriginHeader'), blocked('CORSMissingAllowOrigin')),
    # CorsTimingAllowOrigin: Resource Timing's sizes are the script's to read
    # only with Timing-Allow-Origin (see test_timing_allow_origin)
    Case('timing-allow-origin', 'A', '/api/timing/data.json', {}, 'GET', ok()),
    Case('timing-not-sent', 'A', '/api/data.json', {}, 'GET', ok()),
    # the same policy through .htaccess
    Case('htaccess-get', 'A', '/api-ht/data.json', {}, 'GET', ok()),
    Case('htaccess-denied', 'C', '/api-ht/data.json', {}, 'GET',
         blocked('MissingAllowOriginHeader'), blocked('CORSMissingAllowOrigin')),
    Case('htaccess-put', 'A', '/api-ht/echo.cgi', _put(), 'OPTIONS PUT', ok()),
    Case('htaccess-delete', 'A', '/api-ht/echo.cgi', {'method': 'DELETE'}, 'OPTIONS',
         blocked('PreflightMissingAllowOriginHeader'), blocked('CORSMissingAllowOrigin')),
    # two listed origins of one site share the browser's HTTP cache: the second
    # one's request is a revalidation (Vary: Origin differs), answered 304 with
    # its own Access-Control-Allow-Origin; an unlisted origin's 304 has none,
    # and the browser compares the stored one (see test_revalidation)
    Case('revalidate-first', 'A', '/api/shared/data.json', {}, None, ok(), tag='revalidate'),
    Case('revalidate-second', 'A2', '/api/shared/data.json', {}, None, ok(), tag='revalidate'),
    Case('revalidate-unlisted', 'C', '/api/shared/data.json', {}, None,
         blocked('AllowOriginMismatch'), blocked('CORSAllowOriginNotMatchingOrigin'),
         tag='revalidate'),
    # README's LIMITATION: a server-context Redirect runs before mod_cors sees
    # the preflight, and browsers refuse a redirected preflight
    Case('limitation-redirect', 'A', '/api/moved/echo.cgi', _put(), 'OPTIONS',
         blocked('PreflightDisallowedRedirect'), blocked('CORSExternalRedirectNotAllowed'),
         # Firefox names the redirect, then the preflight's status ("Status code: 302")
         firefox_console=['CORSExternalRedirectNotAllowed', 'CORSPreflightDidNotSucceed',
                          'CORSDidNotSucceed']),
    # the control: a closed port is a network error, never "blocked" (no CORS
    # reason, and the browser's error is the connection's)
    Case('connection-refused', 'A', None, {}, '',
         network_error('net::ERR_CONNECTION_REFUSED'),
         network_error('NS_ERROR_CONNECTION_REFUSED')),
]
CLOCK_CASES = [c for c in CASES if c.clock]
CLOCK_WARMUP = Case('clock-warmup', 'A', '/api/cacheday/echo.cgi', _put(),
                    CASES[[c.id for c in CASES].index('cache-first-hit')].wires, ok(), repeat=3)
READ_HEADERS = ['content-type', 'x-total-count', 'x-internal']
# the cases whose Resource Timing entry the driver reads
TIMING_CASES = {'timing-allow-origin', 'timing-not-sent'}


def _origins(h, closed_port):
    p0, p1, p2, p3 = h.ports
    return {'API': 'http://127.0.0.1:%d' % p0,
            'CLOSED': 'http://127.0.0.1:%d' % closed_port,
            'A': 'http://127.0.0.1:%d' % p1,
            'A2': 'http://127.0.0.1:%d' % p3,
            'C': 'http://127.0.0.1:%d' % p2,
            'LA': 'http://localhost:%d' % p1,
            'LC': 'http://localhost:%d' % p2,
            'SUB': 'http://one.app.localhost:%d' % p1,
            'DEEP': 'http://two.one.app.localhost:%d' % p1,
            'APEX': 'http://app.localhost:%d' % p1,
            'SUBC': 'http://one.app.localhost:%d' % p2,
            'UC': 'http://user-content.app.localhost:%d' % p1,
            'EVILAPP': 'http://evilapp.localhost:%d' % p1}


# the page origins as README's table names them
ORIGIN_LABELS = {'API': '127.0.0.1:P0', 'A': '127.0.0.1:P1', 'A2': '127.0.0.1:P3', 'C': '127.0.0.1:P2',
                 'LA': 'localhost:P1', 'LC': 'localhost:P2', 'SUB': 'one.app.localhost:P1',
                 'DEEP': 'two.one.app.localhost:P1', 'APEX': 'app.localhost:P1',
                 'SUBC': 'one.app.localhost:P2', 'EVILAPP': 'evilapp.localhost:P1',
                 'UC': 'user-content.app.localhost:P1'}

# ---------------------------------------------------------------------------
# running the browsers

def _apt(engine):
    return 'apt-get install -y %s (or run "tools/deps.sh browser")' % ENGINES[engine].package


def _check_tools(engine, clock=False):
    """Fail (never skip) when what the suite needs is missing."""
    e = ENGINES[engine]
    problems = []
    if not os.access(e.binary, os.X_OK):
        problems.append('%s not found (%s): %s' % (e.binary, engine, _apt(engine)))
    if not os.access(NODE, os.X_OK):
        problems.append('node not found: apt-get install -y nodejs npm '
                        '(or run "tools/deps.sh browser")')
    if not os.path.isfile(os.path.join(HERE, 'node_modules', 'puppeteer-core', 'package.json')):
        problems.append('puppeteer-core is not installed: run "npm ci" in %s '
                        '(make test-browser does)' % HERE)
    if clock and not os.path.isfile(FAKETIME_SO):
        problems.append('%s not found: apt-get install -y libfaketime '
                        '(or run "tools/deps.sh browser")' % FAKETIME_SO)
    if clock and not shutil.which('cc'):
        problems.append('no C compiler (cc) for %s: apt-get install -y gcc' % SHIM_SRC)
    if problems:
        pytest.fail('\n'.join(problems), pytrace=False)


def _shim():
    """faketime_shim.c, built under tests/run/browser/."""
    out = os.path.join(WORK, 'faketime_shim.so')
    src_map = SHIM_SRC[:-2] + '.map'
    if not os.path.exists(out) or os.path.getmtime(out) < max(os.path.getmtime(SHIM_SRC),
                                                              os.path.getmtime(src_map)):
        p = subprocess.run(['cc', '-shared', '-fPIC', '-O2', '-Wall', '-Wextra', '-Werror',
                            '-Wl,--version-script=' + src_map, '-o', out, SHIM_SRC],
                           capture_output=True, text=True)
        if p.returncode:
            pytest.fail('building %s failed:\n%s' % (SHIM_SRC, p.stderr), pytrace=False)
    return out


def _clock_env(engine, clock_file):
    """The browser under libfaketime, its clock offset read from clock_file."""
    env = {'LD_PRELOAD': '%s:%s' % (FAKETIME_SO, _shim()),
           'FAKETIME_TIMESTAMP_FILE': clock_file, 'FAKETIME_CACHE_DURATION': '1'}
    if engine == 'firefox':
        # a sandboxed Firefox process may not read clock_file (its content
        # processes crash when the clock moves)
        for p in ('CONTENT', 'SOCKET_PROCESS', 'RDD', 'UTILITY', 'GMP'):
            env['MOZ_DISABLE_%s_SANDBOX' % p] = '1'
    return env


def run_driver(engine, name, steps, clock=False, timeout=180):
    """Run driver.mjs on steps in a fresh profile of engine; returns its result."""
    _check_tools(engine, clock)
    e = ENGINES[engine]
    work = os.path.join(WORK, '%s-%s' % (engine, name))
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    plan = {'engine': engine, 'executable': e.binary, 'args': e.args, 'prefs': e.prefs,
            'profile': os.path.join(work, 'profile'), 'timeout_ms': 20000,
            'viewport': {'width': 1280, 'height': 800}, 'steps': steps}
    os.makedirs(plan['profile'])
    plan['env'] = dict(e.env)
    if clock:
        plan['clock_file'] = os.path.join(work, 'clock')
        with open(plan['clock_file'], 'w') as f:
            f.write('+0\n')
        plan['env'].update(_clock_env(engine, plan['clock_file']))
    plan_path, out_path = os.path.join(work, 'plan.json'), os.path.join(work, 'result.json')
    with open(plan_path, 'w') as f:
        json.dump(plan, f, indent=1)
    t0 = time.time()
    try:
        p = subprocess.run([NODE, DRIVER, plan_path, out_path], cwd=HERE, capture_output=True,
                           text=True, timeout=timeout,
                           env=dict(os.environ, NO_COLOR='1', FORCE_COLOR='0'))
    except subprocess.TimeoutExpired as x:
        pytest.fail('driver.mjs (%s) did not finish within %d s\n%s'
                    % (engine, timeout, x.stderr or ''), pytrace=False)
    if p.returncode == 3:
        pytest.fail('%s (%s) did not start; reinstall it: %s\n%s'
                    % (engine, e.binary, _apt(engine), p.stderr), pytrace=False)
    if p.returncode != 0:
        pytest.fail('driver.mjs (%s) exited with %d (plan: %s)\n%s%s'
                    % (engine, p.returncode, plan_path, p.stdout, p.stderr), pytrace=False)
    with open(out_path) as f:
        result = json.load(f)
    result['seconds'] = round(time.time() - t0, 1)
    print('%s %s: %s, %d steps in %.1f s' % (engine, name, result['browser'], len(steps),
                                             result['seconds']))
    return result


def _firefox_messages():
    """Firefox's CORS console messages, [(name, regex)], from its own
    security.properties (the name without its version digit: MDN's)."""
    omni = os.path.join(os.path.dirname(os.path.realpath(ENGINES['firefox'].binary)), 'omni.ja')
    with zipfile.ZipFile(omni) as z:
        text = z.read('chrome/en-US/locale/en-US/global/security/security.properties')
    out = []
    for line in text.decode('utf-8').splitlines():
        m = re.match(r'^(CORS\w+?)\d*=(.*)$', line)
        if m:
            parts = re.split(r'%\d\$S', m.group(2))
            out.append((m.group(1), re.compile('^' + '(.*?)'.join(map(re.escape, parts)) + '$')))
    assert out, omni
    return out


FIREFOX_MESSAGES = []


def firefox_reason(text):
    """The security.properties name of a Firefox CORS console message."""
    if not FIREFOX_MESSAGES:
        FIREFOX_MESSAGES.extend(_firefox_messages())
    names = [name for name, rx in FIREFOX_MESSAGES if rx.match(text)]
    assert len(names) == 1, (text, names)
    return names[0]


def firefox_reasons(r):
    return [firefox_reason(m['text']) for m in r['console']]


def verdict(engine, r):
    """What the browser did with one case's fetches (all attempts alike)."""
    outcomes = {json.dumps([a['outcome'], a.get('status'), a.get('error')])
                for a in r['attempts']}
    if len(outcomes) != 1:
        return V('mixed', sorted(outcomes))
    a = r['attempts'][0]
    if a['outcome'] == 'resolved':
        return ok(a['status'])
    failed = [w for w in r['wire'] if w.get('errorText')]
    if engine == 'chromium':
        # blocked: the request failed with ERR_FAILED and a CORS reason
        reasons = {w['corsError'] for w in r['wire'] if w.get('corsError')}
        main = [w for w in r['wire'] if w.get('type') == 'Fetch']
        if a['error'] == ENGINES[engine].fetch_error and len(reasons) == 1 and \
                [w['errorText'] for w in main] == ['net::ERR_FAILED']:
            return blocked(reasons.pop())
        return network_error(failed[-1]['errorText'] if failed else a['error'])
    # Firefox: a CORS message other than "CORS request did not succeed" (which
    # a connection error gets too), an answer from the server (the blocked
    # response, or the preflight's), and no failure but the CORS error
    # NS_ERROR_DOM_BAD_URI
    reasons = [x for x in firefox_reasons(r) if x != 'CORSDidNotSucceed']
    answered = any(w.get('status') for w in r['wire'])
    if a['error'] == ENGINES[engine].fetch_error and reasons and answered and \
            {w['errorText'] for w in failed} <= {'NS_ERROR_DOM_BAD_URI'}:
        return blocked(reasons[0])
    return network_error(failed[-1]['errorText'] if failed else a['error'])


def _url(origins, engine, case):
    base = origins['API'] + case.path if case.path else origins['CLOSED'] + '/closed'
    return '%s?engine=%s&case=%s' % (base, engine, case.tag or case.id)


def _page(origins, key):
    return origins[key] + '/pages/blank.html'


def _fetch_step(origins, engine, case, step_id=None):
    if case.form:
        return {'do': 'form', 'id': step_id or case.id, 'page': _page(origins, case.page),
                'url': _url(origins, engine, case)}
    return {'do': 'fetch', 'id': step_id or case.id, 'page': _page(origins, case.page),
            'url': _url(origins, engine, case), 'init': case.init, 'repeat': case.repeat,
            'read_headers': READ_HEADERS, 'read_timing': case.id in TIMING_CASES}


def _clock_run(engine, o):
    """The clock cases in a browser of their own under libfaketime: one fetch
    of each at each offset of CLOCK, merged into one result per case."""
    # first cache-first-hit's three PUTs (to another URL), so that the clock
    # cases see the cache as it works from then on
    steps = [_fetch_step(o, engine, CLOCK_WARMUP)]
    for i, offset in enumerate(CLOCK):
        steps.append({'do': 'clock', 'offset': offset})
        steps += [_fetch_step(o, engine, c, '%s@%d' % (c.id, i)) for c in CLOCK_CASES]
    result = run_driver(engine, 'clock', steps, clock=True)
    merged = {}
    for c in CLOCK_CASES:
        parts = [result['results']['%s@%d' % (c.id, i)] for i in range(len(CLOCK))]
        merged[c.id] = dict(parts[0], attempts=[a for p in parts for a in p['attempts']],
                            wire=[w for p in parts for w in p['wire']],
                            console=[m for p in parts for m in p['console']])
    return merged, result['clock']


@pytest.fixture(scope='module')
def server():
    h = Httpd('browser', CONFIG, extra_listen=3)     # the harness loads mod_cgi(d)
    _files(h)
    h.start()
    try:
        yield h
    finally:
        h.stop()


@pytest.fixture(scope='module', params=sorted(ENGINES))
def suite(request, server):
    """Every case in one engine: the main run, then the clock run."""
    engine, h = request.param, server
    o = _origins(h, harness.free_port())
    token, xtoken = secrets.token_hex(8), secrets.token_hex(8)
    steps = [{'do': 'goto', 'url': o['API'] + '/cookie/set.cgi?lax=' + token},
             {'do': 'goto', 'url': o['API'] + '/cookie/set.cgi?none=' + xtoken}]
    steps += [_fetch_step(o, engine, c) for c in CASES if not c.clock]
    result = run_driver(engine, 'cases', steps)
    results = result['results']
    clock_results, clock = _clock_run(engine, o)
    results.update(clock_results)
    s = {'engine': engine, 'browser': result['browser'], 'httpd': h, 'origins': o,
         'token': token, 'xtoken': xtoken, 'results': results, 'clock': clock,
         'log': [x for x in _browser_log(h) if ('?engine=%s&' % engine) in x.uri
                 or not x.uri.startswith(('/api', '/raw'))]}
    _write_results(s)
    return s


def _write_results(s):
    """tests/run/browser/results-ENGINE.json: what browser_table.py renders."""
    out = {'engine': s['engine'], 'browser': s['browser'], 'cases': {}}
    for c in CASES:
        hits = _hits(s, c.tag or c.id)
        out['cases'][c.id] = {'verdict': list(verdict(s['engine'], s['results'][c.id])),
                              'wire': ' '.join(x.method for x in hits)
                              if c.wire(s['engine']) is not None else None}
    os.makedirs(WORK, exist_ok=True)
    with open(os.path.join(WORK, 'results-%s.json' % s['engine']), 'w') as f:
        json.dump(out, f, indent=1)


LOG_RE = re.compile(r'^(\d+) (\d+) (\S+) "([^"]*)" (\d+) cors=(\S*) cookie="(.*)"$')
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
            hits.append((int(m.group(1)), Hit(int(m.group(2)), *m.group(3, 4), int(m.group(5)),
                                              *m.group(6, 7))))
    # in the order the requests came in
    return [hit for _, hit in sorted(hits, key=lambda x: x[0])]


def _hits(s, case_id):
    return [x for x in s['log'] if x.uri.endswith('?engine=%s&case=%s' % (s['engine'], case_id))]


def _describe(r):
    """One line per request the browser put on the wire, for failure messages."""
    lines = ['  %s %s %s -> %s %s%s' % (w.get('type'), w.get('method'), w.get('url'),
                                        w.get('status'), w.get('errorText') or '',
                                        ' cors=%s' % w['corsError'] if w.get('corsError')
                                        else '')
             for w in r['wire']]
    lines += ['  console: %s' % m['text'] for m in r.get('console', [])]
    return '\n'.join(lines)


def header(headers, name):
    """A header from a wire entry's headers (Chromium keeps the case, Firefox
    lowercases)."""
    for k, v in (headers or {}).items():
        if k.lower() == name.lower():
            return v
    return None


def preflights(suite, case_id):
    return [w for w in suite['results'][case_id]['wire'] if w.get('method') == 'OPTIONS']

# ---------------------------------------------------------------------------
# the tests

@pytest.mark.parametrize('engine', sorted(ENGINES))
def test_browser_installed(engine):
    # a plain failure, with the binary and the apt-get line, when a browser is
    # missing or does not run (the suite fixture fails every case then too)
    _check_tools(engine)
    e = ENGINES[engine]
    try:
        p = subprocess.run([e.binary, '--version'], capture_output=True, text=True, timeout=60)
        out = p.stdout + p.stderr
    except OSError as x:
        p, out = None, str(x)
    if p is None or p.returncode != 0 or not re.search(r'\d+\.\d+', out):
        pytest.fail('%s (%s) does not run: %s\n%s' % (e.binary, engine, _apt(engine), out),
                    pytrace=False)


def test_browser_ran(suite):
    # the engine asked for, and no other (a missing or broken binary fails the
    # suite fixture above, with the apt-get line)
    assert re.match({'chromium': r'(Headless)?Chrome/\d+', 'firefox': r'firefox/\d+'}
                    [suite['engine']], suite['browser']), suite['browser']


@pytest.mark.parametrize('case', CASES, ids=[c.id for c in CASES])
def test_case(suite, case):
    engine = suite['engine']
    r = suite['results'][case.id]
    info = '%s: %s -> %s\n%s' % (engine, r['origin'], r['url'], _describe(r))
    assert verdict(engine, r) == case.expect(engine), info
    if case.expect(engine).kind == 'blocked':
        # the script sees only a TypeError, in the engine's words; the reason
        # is the browser's own report
        for a in r['attempts']:
            assert a == {'outcome': 'rejected', 'error': ENGINES[engine].fetch_error}, (a, info)
    if engine == 'chromium' and case.expect(engine).kind == 'blocked':
        # blocked by CORS, not by anything else: the fetch failed with
        # ERR_FAILED and its reason, and its preflight, if any, was answered
        [main] = [w for w in r['wire'] if w.get('type') == 'Fetch']
        assert (main['errorText'], main['corsError']) == ('net::ERR_FAILED',
                                                          case.expect(engine).detail), info
        for w in r['wire']:
            if w.get('type') == 'Preflight':
                assert w.get('status') or w.get('errorText') == 'net::ERR_INVALID_REDIRECT', info
    if engine == 'firefox':
        # Firefox's console: the reason, then, where the preflight failed,
        # "CORS request did not succeed" for the request it stopped; a
        # connection error gets only the latter
        want = {'allowed': [], 'network-error': ['CORSDidNotSucceed'],
                'blocked': [case.expect(engine).detail]}[case.expect(engine).kind]
        if case.expect(engine).kind == 'blocked' and case.wire(engine) == 'OPTIONS':
            want = want + ['CORSDidNotSucceed']
        want = case.firefox_console or want * case.repeat
        assert firefox_reasons(r) == want, info
    hits = _hits(suite, case.tag or case.id)
    if case.wire(engine) is not None:
        assert ' '.join(x.method for x in hits) == case.wire(engine), (hits, info)
    # every request of the case reached the API port, not a page port
    assert {x.port for x in hits} == ({suite['httpd'].ports[0]} if case.path else set())


def test_differences_explained():
    # a case says why exactly where its engines' verdicts (or wires) differ
    # beyond the names each gives the same cause
    for c in CASES:
        assert bool(c.why) == c.differs(), c


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
                            ('htaccess-delete', 'preflight:denied:method'),
                            ('star-headers-authorization', 'preflight:denied:header')):
        hits = _hits(suite, case_id)
        assert [(x.status, x.cors) for x in hits] == [(403, result)], case_id
    # with CorsDebug On the same results, answered 204 (but for the origin)
    for case_id, status, result in (
            ('debug-delete-not-allowed', 204, 'preflight:denied:method'),
            ('debug-header-not-allowed', 204, 'preflight:denied:header'),
            ('debug-star-authorization', 204, 'preflight:denied:header'),
            ('debug-denied-origin', 403, 'preflight:denied:origin')):
        hits = _hits(suite, case_id)
        assert [(x.status, x.cors) for x in hits] == [(status, result)], case_id


def test_debug_answers(suite):
    # what the browser read in the refused preflights' answers (README
    # "CorsDebug"): the allowed lists, never the refused name, no Max-Age
    want = {'debug-delete-not-allowed': ('GET, HEAD, POST, PUT',
                                         'Content-Type, X-Requested-With, Authorization'),
            'debug-header-not-allowed': ('GET', 'Content-Type, X-Requested-With, Authorization'),
            'debug-star-authorization': ('PUT', None)}
    for case_id, (methods, headers) in want.items():
        [w] = preflights(suite, case_id)
        got = {n: header(w['responseHeaders'], n) for n in (
            'Access-Control-Allow-Origin', 'Access-Control-Allow-Methods',
            'Access-Control-Allow-Headers', 'Access-Control-Max-Age')}
        assert got == {'Access-Control-Allow-Origin': suite['origins']['A'],
                       'Access-Control-Allow-Methods': methods,
                       'Access-Control-Allow-Headers': headers,
                       'Access-Control-Max-Age': None}, (case_id, w)


def test_star_headers(suite):
    # the module's `*` lists the asked name; a hand-written `*` stays `*`
    [w] = preflights(suite, 'star-headers-custom')
    assert header(w['responseHeaders'], 'Access-Control-Allow-Headers') == 'x-anything', w
    assert [x.cors for x in _hits(suite, 'star-headers-custom')] == ['preflight:ok', 'allowed']
    [w] = preflights(suite, 'raw-star-authorization')
    assert header(w['responseHeaders'], 'Access-Control-Allow-Headers') == '*', w
    assert 'authorization' in header(w['requestHeaders'],
                                     'Access-Control-Request-Headers').split(','), w
    # mod_cors is not in scope under /raw/
    assert {x.cors for x in _hits(suite, 'raw-star-custom')} == {'-'}


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
    # a third-party cookie: this Chromium blocks those by default (its reason
    # is 'UserPreferences'), and Firefox's Total Cookie Protection keeps the
    # cookie in the jar of the site that set it.  Credentialed CORS works
    # same-site (above).
    [hit] = _hits(suite, 'cookie-cross-site')
    assert hit.cookie == '-' and hit.cors == 'allowed', hit
    a = suite['results']['cookie-cross-site']['attempts'][0]
    assert json.loads(a['body'])['cookie'] is None
    if suite['engine'] == 'chromium':
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
    assert header(w['responseHeaders'], 'X-Internal') == 'hidden-from-scripts', w
    assert header(w['responseHeaders'], 'Access-Control-Expose-Headers') == 'X-Total-Count', w


def test_timing_allow_origin(suite):
    # CorsTimingAllowOrigin On: the allowed origin's script reads the entry's
    # transferSize; without Timing-Allow-Origin the browser gives it 0 (the
    # Fetch standard's "TAO check" fails, and the timing info is opaque).
    # (Firefox 153 ESR still shows a CORS response's body sizes without it,
    # Chromium zeroes them too: only transferSize is asserted.)
    o = suite['origins']['A']
    results = {c: suite['results'][c] for c in ('timing-allow-origin', 'timing-not-sent')}
    sizes = {c: r['attempts'][0]['timing'] for c, r in results.items()}
    assert sizes['timing-allow-origin']['transferSize'] > 0, sizes
    assert sizes['timing-not-sent']['transferSize'] == 0, sizes
    [w] = results['timing-allow-origin']['wire']
    assert header(w['responseHeaders'], 'Timing-Allow-Origin') == o, w
    assert header(w['responseHeaders'], 'Access-Control-Allow-Origin') == o, w
    [w] = results['timing-not-sent']['wire']
    assert header(w['responseHeaders'], 'Timing-Allow-Origin') is None, w


def test_denied_origin_reached_the_server(suite):
    # the denied origin's requests were answered (CORS_RESULT), not lost
    assert [(x.method, x.cors) for x in _hits(suite, 'deny-denied')] == [('GET', 'denied:origin')]
    assert [(x.method, x.status, x.cors) for x in _hits(suite, 'deny-denied-preflight')] == \
        [('OPTIONS', 403, 'preflight:denied:origin')]
    assert [x.cors for x in _hits(suite, 'deny-sibling-allowed')] == ['allowed']


WRITE_CASES = {
    # case: (status apache2 answered, CORS_RESULT, the handler saw it)
    'write-form-cross-site': (403, 'write:denied:sec-fetch-site', False),
    'write-form-same-site': (403, 'write:denied:sec-fetch-site', False),
    'write-form-trusted': (200, 'allowed', True),
    'write-form-same-origin': (200, 'denied:origin', True),   # Origin is sent
    'write-no-cors-cross-site': (403, 'write:denied:sec-fetch-site', False),
    'write-fetch-trusted': (200, 'allowed', True),
}


@pytest.mark.parametrize('case_id', sorted(WRITE_CASES))
def test_cross_origin_writes(suite, case_id):
    """README "Cross-origin writes" in real browsers: each write reached
    apache2 once, with the Sec-Fetch-Site the browser sends, and a refused
    one never reached the handler."""
    status, cors, handled = WRITE_CASES[case_id]
    hits = _hits(suite, case_id)
    assert [(x.method, x.status, x.cors) for x in hits] == [('POST', status, cors)], hits
    [w] = [w for w in suite['results'][case_id]['wire'] if w.get('method') == 'POST']
    site = {'LC': 'cross-site', 'C': 'same-site', 'A': 'same-site', 'API': 'same-origin'}
    page = [c for c in CASES if c.id == case_id][0].page
    assert header(w.get('wireRequestHeaders') or w.get('requestHeaders'),
                  'Sec-Fetch-Site') == site[page], w
    with open(_record(suite['httpd'])) as f:
        seen = f.read().splitlines()
    mine = [l for l in seen if l.endswith('?engine=%s&case=%s' % (suite['engine'], case_id))
            or l.endswith('engine=%s&case=%s' % (suite['engine'], case_id))]
    assert mine == (['POST engine=%s&case=%s' % (suite['engine'], case_id)] if handled
                    else []), seen


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
    pre = preflights(suite, 'auth-preflight')
    assert pre
    for w in pre:
        assert header(w.get('wireRequestHeaders') or w['requestHeaders'],
                      'Authorization') is None, w


def _preflight_counts(suite, case_id):
    methods = [x.method for x in _hits(suite, case_id)]
    return methods.count('OPTIONS'), methods.count('PUT')


def _max_ages(suite, case_id):
    return {header(w['responseHeaders'], 'Access-Control-Max-Age')
            for w in preflights(suite, case_id)}


def test_preflight_cache(suite):
    counts = {c: _preflight_counts(suite, c) for c in ('cache-600', 'cache-0', 'cache-default')}
    # CorsMaxAge 600: one preflight for three requests; CorsMaxAge 0: one each;
    # no CorsMaxAge: the browser's default (5 s, Fetch standard and both
    # engines) covers three quick requests
    assert counts == {'cache-600': (1, 3), 'cache-0': (3, 3), 'cache-default': (1, 3)}
    # and what the server sent to get there
    assert _max_ages(suite, 'cache-600') == {'600'}
    assert _max_ages(suite, 'cache-0') == {'0'}
    assert _max_ages(suite, 'cache-default') == {None}


def test_max_age_caps(suite):
    # the clock run: the browser's clock moved through CLOCK (the page saw each
    # offset), one PUT of each clock case at each; the preflights they took
    # are in test_case
    assert [c['offset'] for c in suite['clock']] == CLOCK
    for c in suite['clock']:
        assert abs(c['pageSkewSeconds'] - c['wantSeconds']) < 60, suite['clock']
    for c in CLOCK_CASES:
        assert _preflight_counts(suite, c.id)[1] == len(CLOCK), c
    assert _max_ages(suite, 'max-age-day') == {'86400'}
    assert _max_ages(suite, 'max-age-two-days') == {'172800'}
    # the warm-up went as cache-first-hit did
    hits = _hits(suite, 'clock-warmup')
    assert ' '.join(x.method for x in hits) == CLOCK_WARMUP.wire(suite['engine'])


def test_revalidation(suite):
    hits = _hits(suite, 'revalidate')
    assert [(x.status, x.cors) for x in hits] == \
        [(200, 'allowed'), (304, 'allowed'), (304, 'denied:origin')], hits
    a2 = suite['origins']['A2']
    if suite['engine'] == 'chromium':
        # the 304 for the second listed origin carried its own origin...
        [w] = suite['results']['revalidate-second']['wire']
        assert w['wireStatus'] == 304, w
        assert w['wireResponseHeaders'].get('Access-Control-Allow-Origin') == a2, w
        # ...and the unlisted origin's none: the browser saw the stored one
        [w] = suite['results']['revalidate-unlisted']['wire']
        assert 'Access-Control-Allow-Origin' not in w['wireResponseHeaders'], w
        assert w['corsFailedParameter'] == a2, w
    else:
        # Firefox names the stored origin in its message
        [m] = suite['results']['revalidate-unlisted']['console']
        assert 'does not match \u2018%s\u2019' % a2 in m['text'], m


def test_no_request_unaccounted_for(suite):
    # every request that reached the API belongs to a case (nothing was retried)
    ids = {c.tag or c.id for c in CASES} | {'clock-warmup'}
    stray = [x for x in suite['log'] if x.port == suite['httpd'].ports[0]
             and not x.uri.startswith(('/cookie/', '/favicon.ico', '/pages/'))
             and x.uri.rpartition('?engine=%s&case=' % suite['engine'])[2] not in ids]
    assert stray == []


def test_error_log_clean(suite):
    h = suite['httpd']
    bad = h.bad_log_lines(h.start_mark, allow=[
        r'End of script output before headers: broken\.cgi',    # status-500-httpd
        r'AH01617: user alice: authentication failure'])        # auth-wrong-password
    assert bad == []


def test_docs_table_current():
    # docs/testing.md's table is browser_table.py's rendering of these cases (make
    # browser-table writes it from a run's results, which test_case pins to
    # the same verdicts)
    rows = browser_table.rows_from_cases(CASES, ORIGIN_LABELS)
    with open(os.path.join(REPO, 'docs', 'testing.md'), encoding='utf-8') as f:
        block = browser_table.readme_block(f.read())
    assert block == browser_table.render(rows), 'docs/testing.md is out of date: make browser-table'

# ---------------------------------------------------------------------------
# the `make run` demo, started the way `make run` starts it

DEMO_SHOT_RUN = os.path.join(RUN_DIR, 'demo.png')
DEMO_SHOT_UNTRUSTED = os.path.join(RUN_DIR, 'demo-untrusted.png')


def _demo_shot(engine, path):
    # Chromium's are the ones docs/testing.md shows; Firefox's go next to them
    return path if engine == 'chromium' else path.replace('.png', '-%s.png' % engine)


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


@pytest.fixture(scope='module', params=sorted(ENGINES))
def demo_run(request, demo):
    engine = request.param
    trusted, untrusted = _demo_urls(demo['banner'])
    api = 'http://127.0.0.1:%d' % demo['ports'][0]
    steps = [{'do': 'demo', 'id': 'trusted', 'page': trusted,
              'screenshot': _demo_shot(engine, DEMO_SHOT_RUN)},
             {'do': 'demo', 'id': 'untrusted', 'page': untrusted,
              'screenshot': _demo_shot(engine, DEMO_SHOT_UNTRUSTED)},
             {'do': 'demo', 'id': 'same', 'page': api + '/demo/'}]
    result = run_driver(engine, 'demo', steps)
    if DEMO_SHOT and engine == 'chromium':
        shutil.copyfile(DEMO_SHOT_RUN, DEMO_SHOT)
        print('wrote', DEMO_SHOT)
    return dict(result['results'], engine=engine)


def test_demo_prints_urls_and_curl_examples(demo):
    b = demo['banner']
    p0, p1, p2 = demo['ports']
    assert _demo_urls(b) == ('http://localhost:%d/demo/' % p1, 'http://localhost:%d/demo/' % p2)
    assert 'curl -si http://127.0.0.1:%d/api/items.json' % p0 in b


def test_demo_counters(demo):
    """README "Counters: server-status and Prometheus": the demo page links
    mod_status's page and the metrics, which count the demo's decisions."""
    p0, p1, _ = demo['ports']
    b = demo['banner']
    assert "curl -s 'http://127.0.0.1:%d/server-status?auto' | grep ^CORS" % p0 in b
    assert 'curl -s http://127.0.0.1:%d/cors-metrics' % p0 in b
    page = harness.request(p1, 'GET', '/demo/', host='localhost:%d' % p1).body.decode()
    assert 'href="/server-status"' in page and 'href="/cors-metrics"' in page

    def allowed():
        r = harness.request(p0, 'GET', '/cors-metrics')
        m = re.search(r'^mod_cors_requests_total\{vhost="127\.0\.0\.1",request="actual",'
                      r'outcome="allowed",reason="none"\} (\d+)$', r.body.decode(), re.M)
        assert r.status == 200 and m, r
        auto = harness.request(p0, 'GET', '/server-status?auto').body.decode()
        assert 'CORSRequests_allowed: %s\n' % m.group(1) in auto, auto
        return int(m.group(1))
    before = allowed()
    trusted = 'http://localhost:%d' % p1
    r = harness.request(p0, 'GET', '/demo/api/items.json', headers=[('Origin', trusted)])
    assert r.status == 200 and r.get('Access-Control-Allow-Origin') == trusted
    assert allowed() == before + 1


def test_demo_write_refused(demo):
    """The demo's write row, as its banner's curl line sends it: refused
    before the application for the untrusted page's origin, let through for
    the trusted one."""
    p0, p1, p2 = demo['ports']
    assert ("curl -si http://127.0.0.1:%d/demo/api/write/echo.cgi -H 'Origin: "
            "http://localhost:%d'" % (p0, p2)) in demo['banner']
    for page, status in ((p2, 403), (p1, 200)):
        r = harness.request(p0, 'POST', '/demo/api/write/echo.cgi', body='amount=100',
                            headers=[('Origin', 'http://localhost:%d' % page),
                                     ('Sec-Fetch-Site', 'cross-site'),
                                     ('Content-Type', 'application/x-www-form-urlencoded')])
        assert r.status == status, r
        assert (b'"method": "POST"' in r.body) == (status == 200), r.body


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
        # ...and the reason it gives for a blocked row is Chromium's (in
        # Firefox: the same cause, by Firefox's name, SAME_CAUSE)
        want = {row['expectedReason']} if row['expectedReason'] else set()
        if demo_run['engine'] == 'chromium':
            reasons = {w.get('corsError') for w in by_url[row['url']]} - {None}
        else:
            want = {SAME_CAUSE[x] for x in want}
            reasons = {firefox_reason(t) for t in r['console'].get(row['url'], [])} - \
                {'CORSDidNotSucceed'}
        assert reasons == want, (row, by_url[row['url']])
    allowed = {row['key'] for row in rows if row['actual']['outcome'] == 'allowed'}
    if kind == 'trusted':
        assert allowed == {'get', 'json-post', 'put', 'header-ok', 'write', 'expose',
                           'credentials', 'public', 'not-found', 'unauthorized', 'login'}
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
    with open(_demo_shot(demo_run['engine'], DEMO_SHOT_RUN), 'rb') as f:
        assert f.read(8) == b'\x89PNG\r\n\x1a\n'


def test_demo_server_log_clean(demo, demo_run):
    demo['out'].seek(0)
    text = demo['out'].read()
    bad = [l for l in text.splitlines()
           if re.match(r'^\[[^\]]*\] \[[^:\]]*:(warn|error|crit|alert|emerg)\]', l)
           and 'AH01617' not in l]
    assert bad == []
