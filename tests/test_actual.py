"""README "What the module sends", "Actual requests": actual (non-preflight)
requests in CORS scope, on every status."""
from collections import namedtuple

import pytest

from conftest import server_fixture
from harness import free_port
from cors_cases import A, B, BACKEND_VHOST, EVIL, check, origin_hdr

CONFIG = r'''
ErrorDocument 404 /errors/404.html
Redirect 302 /api/old-url /api/data.json
ProxyPass /api/proxied/ http://127.0.0.1:{port1}/
ProxyPass /api/dead/ http://127.0.0.1:%d/
ProxyTimeout 5

<Location /api>
    CorsAllowOrigin https://a.example https://b.example
    CorsExposeHeaders ETag X-Total
    CorsAllowCredentials On
</Location>
<Location /api/private>
    AuthType Basic
    AuthName "private"
    AuthUserFile {root}/htpasswd
    Require valid-user
</Location>
<Location /api/forbidden>
    Require all denied
</Location>
<Location /api/moved>
    Redirect 301 /api/moved /api/data.json
</Location>
<Location /api/hdr>
    Header always set Access-Control-Allow-Origin "*"
    Header always set Access-Control-Allow-Methods "GET, PUT"
    Header set Access-Control-Allow-Credentials "false"
    Header append Vary "Accept"
</Location>
<Location /api/vary-lower>
    Header set Vary "origin, Accept-Language"
</Location>
<Location /pub>
    CorsAllowOrigin *
    CorsExposeHeaders X-Total
</Location>
''' % free_port() + BACKEND_VHOST

OWN_HEADERS_CGI = '''#!/bin/sh
printf 'Content-Type: application/json\\r\\n'
printf 'Access-Control-Allow-Origin: *\\r\\n'
printf 'Access-Control-Allow-Origin: https://evil.example\\r\\n'
printf 'Access-Control-Max-Age: 99\\r\\n'
printf 'Vary: Accept-Encoding\\r\\n'
printf '\\r\\n{"cgi": true}'
'''

STATUS_500_CGI = '''#!/bin/sh
printf 'Status: 500 Internal Server Error\\r\\nContent-Type: text/plain\\r\\n'
printf 'Access-Control-Allow-Origin: *\\r\\n\\r\\nbroken'
'''

BROKEN_CGI = '''#!/bin/sh
exit 1
'''


def _files(h):
    h.htpasswd('alice', 'secret')
    h.write('api/data.json', '{"a": 1}')
    h.write('api/dir/index.html', 'index')
    h.write('api/hdr/x.txt', 'x')
    h.write('api/vary-lower/x.txt', 'x')
    h.write('api/private/x.txt', 'private')
    h.write('api/forbidden/x.txt', 'forbidden')
    h.write('api/own.cgi', OWN_HEADERS_CGI, 0o755)
    h.write('api/status500.cgi', STATUS_500_CGI, 0o755)
    h.write('api/broken.cgi', BROKEN_CGI, 0o755)
    h.write('api/app/index.html', 'app')
    h.write('api/app/.htaccess', 'FallbackResource /api/app/index.html\n')
    h.write('old/.htaccess', 'RewriteEngine On\nRewriteRule ^(.*)$ /api/data.json [PT]\n')
    h.write('errors/404.html', 'custom 404')
    h.write('pub/data.json', '{"p": 1}')
    h.write_root('backend/data.json', '{"backend": 1}')


srv = server_fixture('actual', CONFIG, setup=_files, extra_listen=1)

ALLOWED_A = ['Access-Control-Allow-Origin: https://a.example',
             'Access-Control-Allow-Credentials: true',
             'Access-Control-Expose-Headers: ETag, X-Total',
             'Vary: Origin']
ALLOWED_B = [l.replace(A, B) for l in ALLOWED_A]
ONLY_VARY = ['Vary: Origin']
STAR = ['Access-Control-Allow-Origin: *',
        'Access-Control-Expose-Headers: X-Total']

# a request (with Origin unless origin is None, and the extra request headers),
# its status and the exact Access-Control-*/Vary lines of the response
Case = namedtuple('Case', 'method path origin status lines extra', defaults=((),))
CASES = [
    Case('GET', '/api/data.json', A, 200, ALLOWED_A),
    Case('GET', '/api/data.json', B, 200, ALLOWED_B),
    Case('HEAD', '/api/data.json', A, 200, ALLOWED_A),
    Case('POST', '/api/own.cgi', A, 200, ALLOWED_A[:3] + ['Vary: Accept-Encoding,Origin']),
    Case('GET', '/api/data.json', EVIL, 200, ONLY_VARY),
    Case('GET', '/api/data.json', None, 200, ONLY_VARY),
    Case('GET', '/api/data.json', 'https://a.example/', 200, ONLY_VARY),
    Case('GET', '/api/data.json', 'HTTPS://A.EXAMPLE', 200, ONLY_VARY),
    # an OPTIONS without Access-Control-Request-Method is an actual request
    Case('OPTIONS', '/api/data.json', A, 200, ALLOWED_A),
    # every status carries the headers
    Case('GET', '/api/private/x.txt', A, 401, ALLOWED_A),
    Case('GET', '/api/private/x.txt', A, 200, ALLOWED_A,
         extra=(('Authorization', 'Basic YWxpY2U6c2VjcmV0'),)),
    Case('GET', '/api/private/x.txt', EVIL, 401, ONLY_VARY),
    pytest.param(Case('GET', '/api/forbidden/x.txt', A, 403, ALLOWED_A),
                 marks=pytest.mark.allow_log(r'AH01630: client denied')),
    Case('GET', '/api/missing.json', A, 404, ALLOWED_A),          # via ErrorDocument
    Case('GET', '/api/missing.json', None, 404, ONLY_VARY),
    Case('GET', '/api/status500.cgi', A, 500, ALLOWED_A),
    Case('GET', '/api/old-url', A, 302, ALLOWED_A),              # server-context Redirect
    Case('GET', '/api/moved', A, 301, ALLOWED_A),                # <Location> Redirect (fixups)
    Case('GET', '/api/dir', A, 301, ALLOWED_A),                  # mod_dir trailing slash
    # internal redirects: once, never twice
    Case('GET', '/api/dir/', A, 200, ALLOWED_A),                 # DirectoryIndex
    Case('GET', '/api/app/some/route', A, 200, ALLOWED_A),       # FallbackResource
    Case('GET', '/old/anything', A, 200, ALLOWED_A),             # .htaccess rewrite [PT]
    # others' Access-Control-* are replaced, Vary merged
    Case('GET', '/api/hdr/x.txt', A, 200, ALLOWED_A[:3] + ['Vary: Accept,Origin']),
    Case('GET', '/api/hdr/x.txt', EVIL, 200, ['Vary: Accept,Origin']),
    Case('GET', '/api/hdr/missing', A, 404, ALLOWED_A),   # 'Header append' is not 'always'
    Case('GET', '/api/vary-lower/x.txt', A, 200, ALLOWED_A[:3] + ['Vary: origin,Accept-Language']),
    Case('GET', '/api/proxied/data.json', A, 200, ALLOWED_A[:3] + ['Vary: Accept-Encoding,Origin']),
    Case('GET', '/api/proxied/missing', A, 404, ALLOWED_A[:3] + ['Vary: Accept-Encoding,Origin']),
    Case('GET', '/api/proxied/data.json', EVIL, 200, ['Vary: Accept-Encoding,Origin']),
    # '*' without credentials: on every response, no Vary: Origin
    Case('GET', '/pub/data.json', A, 200, STAR),
    Case('GET', '/pub/data.json', None, 200, STAR),
    Case('GET', '/pub/data.json', 'null', 200, STAR),
    Case('GET', '/pub/missing', EVIL, 404, STAR),
    # outside CORS scope: nothing at all
    Case('GET', '/errors/404.html', A, 200, []),
]


@pytest.mark.parametrize('case', CASES, ids=lambda c: '%s %s %s' % (c.method, c.path, c.origin))
def test_actual(srv, case):
    r = srv.request(case.method, case.path, headers=origin_hdr(case.origin) + tuple(case.extra))
    check(r, case.status, case.lines)


def test_error_document_body_is_served(srv):
    r = srv.request('GET', '/api/missing.json', headers=(('Origin', A),))
    check(r, 404, ALLOWED_A, body=b'custom 404')


@pytest.mark.allow_log(r'End of script output before headers', r'AH01215', r'^$')
def test_broken_cgi_500(srv):
    r = srv.request('GET', '/api/broken.cgi', headers=(('Origin', A),))
    check(r, 500, ALLOWED_A)


@pytest.mark.allow_log(r'proxy.*(Connection refused|AH00957|AH00959|AH01114|AH00940|AH02805)')
def test_proxy_backend_down_503(srv):
    r = srv.request('GET', '/api/dead/x', headers=(('Origin', A),))
    check(r, 503, ALLOWED_A)


def test_not_modified_keeps_cors(srv):
    etag = srv.request('GET', '/api/data.json').get('ETag')
    r = srv.request('GET', '/api/data.json',
                    headers=(('Origin', A), ('If-None-Match', etag)))
    check(r, 304, ALLOWED_A)


def test_cgi_body_untouched(srv):
    r = srv.request('GET', '/api/own.cgi', headers=(('Origin', EVIL),))
    check(r, 200, ['Vary: Accept-Encoding,Origin'], body=b'{"cgi": true}')
