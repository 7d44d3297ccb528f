"""Hostile requests: never a 5xx, never an echoed byte, bounded work."""
import os

import pytest

from conftest import server_fixture
from cors_cases import A, PREFLIGHT_VARY, check
from harness import request

CONFIG = r'''
<Location /api>
    CorsAllowOrigin https://a.example https://*.example.com
    CorsAllowCredentials On
    CorsAllowHeaders *
    CorsAllowMethods *
</Location>
<Location /pna>
    CorsAllowOrigin https://a.example
    CorsAllowMethods PUT
    CorsAllowPrivateNetwork On
</Location>
<Location /vary>
    CorsAllowOrigin https://a.example
</Location>
'''

# CGI scripts that answer with the Vary lines in <name>.headers (see _vary_cgi)
VARY_CGI = '#!/bin/sh\nexec cat "%s"\n'


def _vary_cgi(h, path, vary_lines):
    """A CGI script at htdocs/<path> whose response has these Vary lines."""
    headers = os.path.join(h.htdocs, path + '.headers')
    text = 'Content-Type: text/plain\r\n' + ''.join('Vary: %s\r\n' % v for v in vary_lines)
    h.write(path + '.headers', text + '\r\nok\n')
    h.write(path, VARY_CGI % headers, 0o755)


# 10 lines of 300 tokens, each token new but for Origin and Accept-Encoding in
# several spellings: 3,000 tokens (httpd's own Vary fix-up is quadratic too,
# so more would mostly time httpd, or valgrind)
MANY_VARY = ['X-H%d-%d, origin, ACCEPT-encoding, ' % (i, i) +
             ', '.join('X-T%d-%d' % (i, j) for j in range(300)) + ', ORIGIN'
             for i in range(10)]
# tokens joined by bare commas, as httpd itself writes Vary ("Accept-Encoding,Origin")
COMMAS_VARY = ','.join('V%d' % i for i in range(40))


def _files(h):
    h.write('api/x.txt', 'x')
    h.write('pna/x.txt', 'x')
    _vary_cgi(h, 'vary/many.cgi', MANY_VARY)
    _vary_cgi(h, 'vary/star.cgi', ['Accept', '*', 'Cookie'])
    _vary_cgi(h, 'vary/not-star.cgi', ['Cookie: *', 'X-*'])
    _vary_cgi(h, 'vary/commas.cgi', [COMMAS_VARY])


srv = server_fixture('hostile', CONFIG, setup=_files)

HOSTILE_ORIGINS = [
    b'https://' + b'a' * 8000,
    b'https://' + b'a.' * 3000 + b'example.com',
    b'https://' + b'x.' * 130 + b'example.com',       # over 253 bytes
    b'https://a.example%0d%0aSet-Cookie:%20x=1',
    b'https://a.example%00',
    b'https://a.example\tx',
    b'https://a.example x',
    b'https://\xc3\xa4.example.com',
    b'https://\xff\xfe.example.com',
    b'https://a.example\xc0',
    b'https://a.example, https://a.example',
    b'https://a.example,https://a.example',
    b'https://a.example;',
    b'https://[::1',
    b'https://[' + b'1:' * 100 + b']',
    b'https://a.example:' + b'9' * 100,
    b'*',
    b'null null',
    b'https:/a.example',
    b'https:///a.example',
    b'https://a.example\\@evil.com',
]


def _raw(method, origin, extra=b''):
    return (b'%s /api/x.txt HTTP/1.1\r\nHost: 127.0.0.1\r\nOrigin: %s\r\n%s'
            b'Connection: close\r\n\r\n' % (method, origin, extra))


@pytest.mark.parametrize('origin', HOSTILE_ORIGINS, ids=range(len(HOSTILE_ORIGINS)))
def test_hostile_origin_actual(srv, origin):
    r = request(srv.port, None, None, raw=_raw(b'GET', origin))
    check(r, 200, ['Vary: Origin'])
    if len(origin) > 3:
        assert origin not in r.raw


@pytest.mark.parametrize('origin', HOSTILE_ORIGINS, ids=range(len(HOSTILE_ORIGINS)))
def test_hostile_origin_preflight(srv, origin):
    r = request(srv.port, None, None,
                raw=_raw(b'OPTIONS', origin, b'Access-Control-Request-Method: PUT\r\n'))
    check(r, 403, [PREFLIGHT_VARY], body=b'')
    if len(origin) > 3:
        assert origin not in r.raw


def test_repeated_origin_lines(srv):
    r = request(srv.port, None, None,
                raw=_raw(b'GET', b'https://a.example', b'Origin: https://a.example\r\n'))
    check(r, 200, ['Vary: Origin'])


@pytest.mark.parametrize('raw', [b'https://a.example\x00x', b'https://a.example\rx',
                                 b'https://a.example\x01', b'https://a.example\x7f'])
def test_control_bytes_rejected_before_us(srv, raw):
    # httpd refuses these itself (400); what matters: no 5xx, nothing echoed
    r = request(srv.port, None, None, raw=_raw(b'GET', raw))
    assert r.status < 500 and raw not in r.raw
    assert 'Access-Control-Allow-Origin' not in r.raw_head


@pytest.mark.parametrize('method', [b'PUT, DELETE', b'PUT,', b'P\xc3\x9cT', b'PUT\tX', b'(PUT)',
                                    b'PUT DELETE', b'', b'A' * 8000 + b',', b'PUT;x=1', b'"PUT"'])
def test_hostile_method(srv, method):
    r = request(srv.port, None, None,
                raw=_raw(b'OPTIONS', b'https://a.example',
                         b'Access-Control-Request-Method: %s\r\n' % method))
    check(r, 403, [PREFLIGHT_VARY], body=b'')
    if len(method) > 3:
        assert method not in r.raw


@pytest.mark.parametrize('headers', [b',' * 8000, b' ,\t' * 2000, b'x-a,' * 1500 + b'x y',
                                     b'x-a\xff', b'x-a, x-b:c', b'"x-a"', b'x-a;q=1',
                                     b'x-a,' * 1999 + b'authorization'])
def test_hostile_request_headers(srv, headers):
    r = request(srv.port, None, None,
                raw=_raw(b'OPTIONS', b'https://a.example',
                         b'Access-Control-Request-Method: PUT\r\n'
                         b'Access-Control-Request-Headers: %s\r\n' % headers))
    assert r.status in (204, 403, 400) and r.body == b''
    if r.status == 204:
        assert not headers.strip(b' ,\t')      # only the empty list passes
    if len(headers) > 6 and r.status != 204:
        assert headers not in r.raw


# ---- Private Network Access: only "true" (any case) asks; anything else is
# ---- answered as if the header were absent

PNA_VARY = PREFLIGHT_VARY + ',Access-Control-Request-Private-Network'
PNA_OK = ['Access-Control-Allow-Origin: ' + A, 'Access-Control-Allow-Methods: PUT', PNA_VARY]


PNA_ASKS = [b'true', b'TRUE', b'True']
PNA_DOES_NOT_ASK = [b'false', b'1', b'yes', b'true, true', b'truex', b'"true"', b'tru',
                    b'true;q=1', b'', b'a' * 8000, b'\xff\xfetrue', b't\xc3\xbcrue']


@pytest.mark.parametrize('value,granted', [(v, True) for v in PNA_ASKS]
                         + [(v, False) for v in PNA_DOES_NOT_ASK],
                         ids=lambda v: v[:20] if isinstance(v, bytes) else str(v))
def test_pna_request_header_values(srv, value, granted):
    r = request(srv.port, None, None,
                raw=b'OPTIONS /pna/x.txt HTTP/1.1\r\nHost: 127.0.0.1\r\nOrigin: ' + A.encode()
                + b'\r\nAccess-Control-Request-Method: PUT\r\n'
                b'Access-Control-Request-Private-Network: ' + value + b'\r\nConnection: close\r\n\r\n')
    extra = ['Access-Control-Allow-Private-Network: true'] if granted else []
    check(r, 204, PNA_OK + extra, body=b'')
    if len(value) > 4:
        assert value not in r.raw


def test_pna_repeated_lines_are_not_true(srv):
    # httpd joins repeated lines: "true, true" is not "true"
    r = srv.request('OPTIONS', '/pna/x.txt', headers=(
        ('Origin', A), ('Access-Control-Request-Method', 'PUT'),
        ('Access-Control-Request-Private-Network', 'true'),
        ('Access-Control-Request-Private-Network', 'true')))
    check(r, 204, PNA_OK, body=b'')


def test_pna_denied_origin_learns_nothing(srv):
    r = srv.request('OPTIONS', '/pna/x.txt', headers=(
        ('Origin', 'https://evil.example'), ('Access-Control-Request-Method', 'PUT'),
        ('Access-Control-Request-Private-Network', 'true')))
    check(r, 403, [PNA_VARY], body=b'')


def test_pna_off_never_granted(srv):
    r = srv.request('OPTIONS', '/api/x.txt', headers=(
        ('Origin', A), ('Access-Control-Request-Method', 'PUT'),
        ('Access-Control-Request-Private-Network', 'true')))
    check(r, 204, ['Access-Control-Allow-Origin: ' + A, 'Access-Control-Allow-Credentials: true',
                   'Access-Control-Allow-Methods: PUT', PREFLIGHT_VARY], body=b'')


# ---- Vary from a CGI script (or a backend): many tokens, many lines

def _tokens(resp):
    lines = resp.get_all('Vary')
    assert len(lines) == 1, resp.raw_head
    return [t.strip() for t in lines[0].split(',') if t.strip()]


def test_vary_many_tokens_merged_once(srv):
    r = srv.request('GET', '/vary/many.cgi', headers=(('Origin', A),))
    assert r.status == 200 and r.get('Access-Control-Allow-Origin') == A
    tokens = _tokens(r)
    lower = [t.lower() for t in tokens]
    assert len(lower) == len(set(lower))                  # each token once
    assert lower.count('origin') == 1 and lower.count('accept-encoding') == 1
    assert len(tokens) == 2 + 10 * 301                    # nothing lost


def test_vary_bare_commas(srv):
    """A Vary of tokens joined by bare commas: the merged value is longer than
    the one read (", " between tokens).  Regression: the linear merge of
    31ce0f0 sized its buffer from the value read and wrote past its end (a
    heap overflow that make test-asan and test-valgrind report; the normal
    build corrupts pool memory silently)."""
    r = srv.request('GET', '/vary/commas.cgi', headers=(('Origin', A),))
    assert r.status == 200 and r.get('Access-Control-Allow-Origin') == A
    assert _tokens(r) == COMMAS_VARY.split(',') + ['Origin']


def test_vary_star_left_alone(srv):
    """README "Headers set by others": a Vary that holds "*" already says that
    the response varies on everything; Origin is not added to it."""
    r = srv.request('GET', '/vary/star.cgi', headers=(('Origin', A),))
    assert r.status == 200 and r.get('Access-Control-Allow-Origin') == A
    assert r.get_all('Vary') == ['Accept,*,Cookie']


def test_vary_star_only_as_an_item(srv):
    """A "*" inside an item (a malformed value such as "Cookie: *", or a name
    such as X-*) is not "Vary: *": Origin is added.  (httpd's fixup_vary then
    splits the malformed item at the space.)"""
    r = srv.request('GET', '/vary/not-star.cgi', headers=(('Origin', A),))
    assert r.status == 200 and r.get('Access-Control-Allow-Origin') == A
    assert r.get_all('Vary') == ['Cookie:,*,X-*,Origin'], r.raw_head
