"""Which Origin values are usable and which configured rules match (README
"Directive reference": CorsAllowOrigin, CorsAllowOriginMatch)."""
from collections import namedtuple

import pytest

from conftest import server_fixture
from cors_cases import check

CONFIG = r'''
<Location /exact>
    CorsAllowOrigin https://a.example HTTP://B.Example:80 https://c.example:8443
    CorsAllowOrigin http://[0:0:0:0:0:0:0:1]:8080 http://127.0.0.1:3000 https://[2001:DB8::0:1]
</Location>
<Location /sub>
    CorsAllowOrigin https://*.example.com http://*.dev.example.org:8080
</Location>
<Location /port>
    CorsAllowOrigin http://localhost:*
</Location>
<Location /subany>
    CorsAllowOrigin https://*.example.net:*
</Location>
<Location /null>
    CorsAllowOrigin null https://a.example
</Location>
<Location /regex>
    CorsAllowOriginMatch "https://[a-z]+\.example\.io"
</Location>
<Location /regexall>
    CorsAllowOriginMatch ".*"
</Location>
# a backtracking verb cannot end the match inside the origin
<Location /regexverb>
    CorsAllowOriginMatch "https://a\.example(*ACCEPT)|https://b\.example"
</Location>
<Location /custom>
    CorsAllowOrigin chrome-extension://abcdefghijklmnop capacitor://localhost
</Location>
'''

srv = server_fixture('origins', CONFIG,
                     setup=lambda h: [h.write(d + '/x.txt', 'x') for d in
                                      ('exact', 'sub', 'port', 'subany', 'null',
                                       'regex', 'regexall', 'regexverb', 'custom')])

LABEL63 = 'a' * 63
LABEL64 = 'a' * 64
HOST253 = ('c' * 63 + '.') * 3 + 'd' * 61             # 253 bytes
HOST254 = ('c' * 63 + '.') * 3 + 'd' * 62             # 254 bytes

# a GET of path/x.txt with this Origin
Case = namedtuple('Case', 'path origin')

ALLOWED = [
    Case('/exact', 'https://a.example'),
    Case('/exact', 'http://b.example'),             # config normalised
    Case('/exact', 'https://c.example:8443'),
    Case('/exact', 'http://[::1]:8080'),            # config IPv6 made canonical
    Case('/exact', 'https://[2001:db8::1]'),
    Case('/exact', 'http://127.0.0.1:3000'),
    Case('/sub', 'https://x.example.com'),
    Case('/sub', 'https://x.y.example.com'),
    Case('/sub', 'https://x-1.example.com'),
    Case('/sub', 'http://a.dev.example.org:8080'),
    Case('/sub', 'https://' + 'x.' * 120 + 'example.com'),  # many labels, 251 bytes
    Case('/port', 'http://localhost'),
    Case('/port', 'http://localhost:3000'),
    Case('/port', 'http://localhost:65535'),
    Case('/subany', 'https://a.example.net'),
    Case('/subany', 'https://a.b.example.net:1234'),
    Case('/null', 'null'),
    Case('/null', 'https://a.example'),
    Case('/regex', 'https://abc.example.io'),
    Case('/regexall', 'https://anything.test'),
    Case('/regexverb', 'https://b.example'),
    Case('/regexverb', 'https://a.example'),        # (*ACCEPT) at the very end
    Case('/regexall', 'https://%s.test' % LABEL63),
    Case('/regexall', 'https://' + HOST253),
    Case('/custom', 'chrome-extension://abcdefghijklmnop'),
    Case('/custom', 'capacitor://localhost'),
]

DENIED = [
    Case('/exact', 'https://a.example:443'),        # default port spelled out
    Case('/exact', 'http://b.example:80'),
    Case('/exact', 'https://A.example'),            # uppercase
    Case('/exact', 'HTTPS://a.example'),
    Case('/exact', 'https://a.example/'),           # trailing slash
    Case('/exact', 'https://a.example/path'),
    Case('/exact', 'https://a.example?x=1'),
    Case('/exact', 'https://a.example#f'),
    Case('/exact', 'https://user@a.example'),
    Case('/exact', 'https://a.example.'),
    Case('/exact', 'http://a.example'),             # scheme differs
    Case('/exact', 'https://a.example.evil'),
    Case('/exact', 'https://a.examplex'),
    Case('/exact', 'https://xa.example'),
    Case('/exact', 'a.example'),
    Case('/exact', '//a.example'),
    Case('/exact', 'https://a.example, https://a.example'),  # a list
    Case('/exact', 'https://a.example https://a.example'),
    Case('/exact', 'https://c.example'),
    Case('/exact', 'https://c.example:08443'),
    Case('/exact', 'https://c.example:8443:8443'),
    Case('/exact', 'http://[0:0:0:0:0:0:0:1]:8080'),  # non-canonical IPv6
    Case('/exact', 'http://[::1]:08080'),
    Case('/exact', 'http://127.000.0.1:3000'),      # non-canonical IPv4
    Case('/exact', 'http://127.0.0.1:3000/'),
    Case('/exact', ''),
    Case('/exact', 'null'),
    Case('/exact', '*'),
    Case('/sub', 'https://example.com'),            # never the apex
    Case('/sub', 'https://evilexample.com'),
    Case('/sub', 'https://evil-example.com'),
    Case('/sub', 'https://example.com.evil.net'),
    Case('/sub', 'https://x.example.com.evil.net'),
    Case('/sub', 'http://x.example.com'),           # scheme must match
    Case('/sub', 'https://x.example.com:8443'),     # port must match
    Case('/sub', 'https://.example.com'),
    Case('/sub', 'https://x..example.com'),
    Case('/sub', 'https://X.example.com'),
    Case('/sub', 'null'),                           # never implied by a pattern
    Case('/sub', 'http://a.dev.example.org'),
    Case('/sub', 'http://dev.example.org:8080'),
    Case('/sub', 'http://a.dev.example.org:8081'),
    Case('/port', 'https://localhost:3000'),
    Case('/port', 'http://localhost:65536'),
    Case('/port', 'http://localhost.evil:3000'),
    Case('/port', 'http://xlocalhost:3000'),
    Case('/port', 'http://localhost:'),
    Case('/port', 'http://localhost:abc'),
    Case('/subany', 'https://example.net:1'),
    Case('/subany', 'http://a.example.net'),
    Case('/regex', 'https://abc.example.io.evil.com'),  # whole-string match
    Case('/regex', 'https://x.abc.example.io'),
    Case('/regex', 'https://abc.example.io:1'),
    Case('/regex', 'evil https://abc.example.io'),
    Case('/regexverb', 'https://a.example.evil.com'),  # (*ACCEPT) ends the match early
    Case('/regexall', 'null'),                      # never implied by a regex
    Case('/regexall', 'https://A.test'),            # unusable origins never reach a regex
    Case('/regexall', 'https://%s.test' % LABEL64),
    Case('/regexall', 'https://' + HOST254),
    Case('/regexall', 'https://a.test/'),
    Case('/regexall', 'ftp'),
    Case('/custom', 'chrome-extension://other'),
]


def _id(case):
    return '%s-%s' % case


def _get(srv, case):
    return srv.request('GET', case.path + '/x.txt', headers=(('Origin', case.origin),))


@pytest.mark.parametrize('case', ALLOWED, ids=_id)
def test_allowed(srv, case):
    check(_get(srv, case), 200, ['Access-Control-Allow-Origin: ' + case.origin, 'Vary: Origin'])


@pytest.mark.parametrize('case', DENIED, ids=_id)
def test_denied_never_echoed(srv, case):
    r = _get(srv, case)
    check(r, 200, ['Vary: Origin'])
    if len(case.origin) > 8:
        assert case.origin not in r.raw_head


def test_host_lengths():
    assert len(HOST253) == 253 and len(HOST254) == 254
