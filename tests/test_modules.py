"""Other modules in the response path: mod_cache, mod_deflate, mod_http2."""
import subprocess

import pytest

from conftest import server_fixture
from cors_cases import A, B, EVIL, PREFLIGHT_VARY, check

CONFIG = r'''
CacheRoot "{root}/cache"
CacheEnable disk /cached/
CacheIgnoreNoLastMod On
CacheDefaultExpire 300
CacheHeader on
<Location /cached>
    CorsAllowOrigin https://a.example https://b.example
    Header set Cache-Control "public, max-age=300"
</Location>
<Location /gz>
    CorsAllowOrigin https://a.example
    SetOutputFilter DEFLATE
</Location>
'''

# mod_http2 refuses the prefork MPM: HTTP/2 is always tested under event
H2_CONFIG = r'''
Protocols h2c http/1.1
<Location /h2>
    CorsAllowOrigin https://a.example
    CorsAllowCredentials On
</Location>
# Vary lines of both header tables: joined into one, each token once
<Location /h2/vary>
    Header merge Vary "Accept-Encoding, origin"
    Header always set Vary "X-Err"
</Location>
'''

BIG = 'x' * 4000


def _files(h):
    import os
    os.makedirs(os.path.join(h.root, 'cache'), mode=0o777, exist_ok=True)
    os.chmod(os.path.join(h.root, 'cache'), 0o777)
    h.write('cached/data.json', '{"cached": 1}')
    h.write('gz/big.txt', BIG)


srv = server_fixture('modules', CONFIG, setup=_files,
                     modules=['cache', 'cache_disk', 'deflate', 'filter'])
h2srv = server_fixture('h2', H2_CONFIG,
                       setup=lambda h: [h.write(p, 'x') for p in ('h2/x.txt', 'h2/vary/x.txt')],
                       modules=['http2'], mpm='event')


def test_cache_never_serves_another_origins_acao(srv):
    origins = [A, B, None, EVIL]
    for rnd in range(2):
        for origin in origins:
            h = (('Origin', origin),) if origin else ()
            r = srv.request('GET', '/cached/data.json', headers=h)
            if origin in (A, B):
                want = ['Access-Control-Allow-Origin: ' + origin, 'Vary: Origin']
            else:
                want = ['Vary: Origin']
            check(r, 200, want)
            # the second round is served by mod_cache's quick handler, from
            # stored responses that varied on Origin
            assert r.get('X-Cache', '').startswith('HIT' if rnd else 'MISS'), r.raw_head


def test_deflate_vary_has_both(srv):
    r = srv.request('GET', '/gz/big.txt', headers=(('Origin', A), ('Accept-Encoding', 'gzip')))
    assert r.get('Content-Encoding') == 'gzip'
    check(r, 200, ['Access-Control-Allow-Origin: ' + A, 'Vary: Accept-Encoding,Origin'])
    r = srv.request('GET', '/gz/big.txt', headers=(('Origin', EVIL), ('Accept-Encoding', 'gzip')))
    check(r, 200, ['Vary: Accept-Encoding,Origin'])


def _curl_h2(*args):
    """The status and the Access-Control-*/Vary lines of a response over HTTP/2, as
    curl prints them: every header field on a line of its own, in the order received,
    its name as it came on the wire (lowercase: HTTP/2 has no other)."""
    out = subprocess.run(['curl', '-s', '-D', '-', '-o', '/dev/null', '--http2-prior-knowledge',
                          *args], capture_output=True, timeout=20, text=True)
    assert out.returncode == 0, out.stderr
    lines = [l.rstrip('\r') for l in out.stdout.splitlines()]
    assert lines[0].startswith('HTTP/2 '), out.stdout
    return int(lines[0].split()[1]), [l for l in lines[1:] if l.lower().startswith(
        ('access-control-', 'vary:'))]


def _check_h2(answer, status, lines):
    """check() for _curl_h2's answer: the status, and the exact list of lines compared
    as a multiset (sorted, duplicates kept), so a repeated header field fails."""
    assert (answer[0], sorted(answer[1])) == (status, sorted(lines)), answer


def test_http2_headers_once(h2srv):
    url = 'http://127.0.0.1:%d/h2/' % h2srv.port
    allowed = ['access-control-allow-origin: ' + A, 'access-control-allow-credentials: true']
    preflight_vary = 'vary: ' + PREFLIGHT_VARY[len('Vary: '):]
    _check_h2(_curl_h2('-H', 'Origin: ' + A, url + 'x.txt'), 200, allowed + ['vary: Origin'])
    _check_h2(_curl_h2('-X', 'OPTIONS', '-H', 'Origin: ' + A,
                       '-H', 'Access-Control-Request-Method: PUT', url + 'x.txt'),
              403, [preflight_vary])
    _check_h2(_curl_h2('-X', 'OPTIONS', '-H', 'Origin: ' + A,
                       '-H', 'Access-Control-Request-Method: POST', url + 'x.txt'),
              204, allowed + ['access-control-allow-methods: POST', preflight_vary])
    _check_h2(_curl_h2('-H', 'Origin: ' + A, url + 'missing'), 404, allowed + ['vary: Origin'])


def test_vary_lines_joined(h2srv):
    """README "Headers set by others": the module adds a Vary line of its own, and
    httpd (HTTP/1.1) and mod_http2 (HTTP/2) send the Vary lines of both header
    tables as one, each token once."""
    url = 'http://127.0.0.1:%d/h2/vary/x.txt' % h2srv.port
    allowed = ['access-control-allow-origin: ' + A, 'access-control-allow-credentials: true']
    _check_h2(_curl_h2('-H', 'Origin: ' + A, url), 200,
              allowed + ['vary: X-Err,Accept-Encoding,origin'])
    r = h2srv.request('GET', '/h2/vary/x.txt', headers=(('Origin', A),))
    check(r, 200, ['Access-Control-Allow-Origin: ' + A, 'Access-Control-Allow-Credentials: true',
                   'Vary: X-Err,Accept-Encoding,origin'])


# mod_include's subrequests and mod_negotiation's fast internal redirect
# (MultiViews, which copies the subrequest's header tables onto the main
# request): the headers are written once, by the main request
SUB_CONFIG = r'''
<Directory "{htdocs}/ssi">
    Options +Includes
    AddOutputFilter INCLUDES .shtml
</Directory>
<Directory "{htdocs}/mv">
    Options +MultiViews
</Directory>
<Location /ssi>
    CorsAllowOrigin https://a.example
    CorsExposeHeaders ETag
</Location>
<Location /mv>
    CorsAllowOrigin https://a.example
</Location>
'''


def _sub_files(h):
    h.write('ssi/page.shtml', 'a <!--#include virtual="/ssi/part.txt" --> '
                              'b <!--#include virtual="/ssi/own.cgi" --> c\n')
    h.write('ssi/part.txt', 'PART')
    # an included CGI that sets CORS headers of its own
    h.write('ssi/own.cgi', '#!/bin/sh\nprintf "Content-Type: text/plain\\r\\n'
                           'Access-Control-Allow-Origin: *\\r\\nVary: Cookie\\r\\n\\r\\nCGI"\n', 0o755)
    h.write('mv/doc.html', '<p>html</p>')
    h.write('mv/doc.txt', 'text')


subsrv = server_fixture('subreq', SUB_CONFIG, setup=_sub_files, modules=['include', 'negotiation'])


def test_include_subrequests_headers_once(subsrv):
    r = subsrv.request('GET', '/ssi/page.shtml', headers=(('Origin', A),))
    assert r.status == 200 and b'PART' in r.body and b'CGI' in r.body, r.body
    check(r, 200, ['Access-Control-Allow-Origin: ' + A, 'Access-Control-Expose-Headers: ETag',
                   'Vary: Origin'])
    r = subsrv.request('GET', '/ssi/page.shtml', headers=(('Origin', EVIL),))
    check(r, 200, ['Vary: Origin'])


@pytest.mark.parametrize('accept', ['text/html', 'text/plain'])
def test_multiviews_fast_redirect_headers_once(subsrv, accept):
    r = subsrv.request('GET', '/mv/doc', headers=(('Origin', A), ('Accept', accept)))
    assert r.status == 200 and r.body == (b'<p>html</p>' if accept == 'text/html' else b'text')
    assert r.get_all('Access-Control-Allow-Origin') == [A]
    vary = [t.strip().lower() for t in r.get('Vary').split(',')]
    assert sorted(vary) == sorted(set(vary)) and 'origin' in vary and 'accept' in vary, vary
    r = subsrv.request('GET', '/mv/doc', headers=(('Origin', EVIL), ('Accept', accept)))
    assert r.get('Access-Control-Allow-Origin') is None and 'Origin' in r.get('Vary')

