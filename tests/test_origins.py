"""SPEC §2: which Origin values are usable and which configured rules match."""
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

ALLOWED = [
    ('/exact', 'https://a.example'),
    ('/exact', 'http://b.example'),                 # config normalised
    ('/exact', 'https://c.example:8443'),
    ('/exact', 'http://[::1]:8080'),                # config IPv6 made canonical
    ('/exact', 'https://[2001:db8::1]'),
    ('/exact', 'http://127.0.0.1:3000'),
    ('/sub', 'https://x.example.com'),
    ('/sub', 'https://x.y.example.com'),
    ('/sub', 'https://x-1.example.com'),
    ('/sub', 'http://a.dev.example.org:8080'),
    ('/sub', 'https://' + 'x.' * 120 + 'example.com'),   # many labels, 251 bytes
    ('/port', 'http://localhost'),
    ('/port', 'http://localhost:3000'),
    ('/port', 'http://localhost:65535'),
    ('/subany', 'https://a.example.net'),
    ('/subany', 'https://a.b.example.net:1234'),
    ('/null', 'null'),
    ('/null', 'https://a.example'),
    ('/regex', 'https://abc.example.io'),
    ('/regexall', 'https://anything.test'),
    ('/regexverb', 'https://b.example'),
    ('/regexverb', 'https://a.example'),            # (*ACCEPT) at the very end
    ('/regexall', 'https://%s.test' % LABEL63),
    ('/regexall', 'https://' + HOST253),
    ('/custom', 'chrome-extension://abcdefghijklmnop'),
    ('/custom', 'capacitor://localhost'),
]

DENIED = [
    ('/exact', 'https://a.example:443'),            # default port spelled out
    ('/exact', 'http://b.example:80'),
    ('/exact', 'https://A.example'),                # uppercase
    ('/exact', 'HTTPS://a.example'),
    ('/exact', 'https://a.example/'),               # trailing slash
    ('/exact', 'https://a.example/path'),
    ('/exact', 'https://a.example?x=1'),
    ('/exact', 'https://a.example#f'),
    ('/exact', 'https://user@a.example'),
    ('/exact', 'https://a.example.'),
    ('/exact', 'http://a.example'),                 # scheme differs
    ('/exact', 'https://a.example.evil'),
    ('/exact', 'https://a.examplex'),
    ('/exact', 'https://xa.example'),
    ('/exact', 'a.example'),
    ('/exact', '//a.example'),
    ('/exact', 'https://a.example, https://a.example'),   # a list
    ('/exact', 'https://a.example https://a.example'),
    ('/exact', 'https://c.example'),
    ('/exact', 'https://c.example:08443'),
    ('/exact', 'https://c.example:8443:8443'),
    ('/exact', 'http://[0:0:0:0:0:0:0:1]:8080'),    # non-canonical IPv6
    ('/exact', 'http://[::1]:08080'),
    ('/exact', 'http://127.000.0.1:3000'),          # non-canonical IPv4
    ('/exact', 'http://127.0.0.1:3000/'),
    ('/exact', ''),
    ('/exact', 'null'),
    ('/exact', '*'),
    ('/sub', 'https://example.com'),                # never the apex
    ('/sub', 'https://evilexample.com'),
    ('/sub', 'https://evil-example.com'),
    ('/sub', 'https://example.com.evil.net'),
    ('/sub', 'https://x.example.com.evil.net'),
    ('/sub', 'http://x.example.com'),               # scheme must match
    ('/sub', 'https://x.example.com:8443'),         # port must match
    ('/sub', 'https://.example.com'),
    ('/sub', 'https://x..example.com'),
    ('/sub', 'https://X.example.com'),
    ('/sub', 'null'),                               # never implied by a pattern
    ('/sub', 'http://a.dev.example.org'),
    ('/sub', 'http://dev.example.org:8080'),
    ('/sub', 'http://a.dev.example.org:8081'),
    ('/port', 'https://localhost:3000'),
    ('/port', 'http://localhost:65536'),
    ('/port', 'http://localhost.evil:3000'),
    ('/port', 'http://xlocalhost:3000'),
    ('/port', 'http://localhost:'),
    ('/port', 'http://localhost:abc'),
    ('/subany', 'https://example.net:1'),
    ('/subany', 'http://a.example.net'),
    ('/regex', 'https://abc.example.io.evil.com'),  # whole-string match
    ('/regex', 'https://x.abc.example.io'),
    ('/regex', 'https://abc.example.io:1'),
    ('/regex', 'evil https://abc.example.io'),
    ('/regexverb', 'https://a.example.evil.com'),   # (*ACCEPT) ends the match early
    ('/regexall', 'null'),                          # never implied by a regex
    ('/regexall', 'https://A.test'),                # unusable origins never reach a regex
    ('/regexall', 'https://%s.test' % LABEL64),
    ('/regexall', 'https://' + HOST254),
    ('/regexall', 'https://a.test/'),
    ('/regexall', 'ftp'),
    ('/custom', 'chrome-extension://other'),
]


@pytest.mark.parametrize('path,origin', ALLOWED)
def test_allowed(srv, path, origin):
    r = srv.request('GET', path + '/x.txt', headers=(('Origin', origin),))
    check(r, 200, ['Access-Control-Allow-Origin: ' + origin, 'Vary: Origin'])


@pytest.mark.parametrize('path,origin', DENIED)
def test_denied_never_echoed(srv, path, origin):
    r = srv.request('GET', path + '/x.txt', headers=(('Origin', origin),))
    check(r, 200, ['Vary: Origin'])
    if len(origin) > 8:
        assert origin not in r.raw_head


def test_host_lengths():
    assert len(HOST253) == 253 and len(HOST254) == 254
