"""CorsAllowOriginFile: a list of origins and patterns in a file."""
import os

import pytest

from conftest import server_fixture
from cors_cases import check
from harness import RUN_DIR, check_config

ORIGINS = '''# tenants
https://one.example
HTTPS://Two.Example:443

   # indented comment
https://*.tenants.example
http://localhost:*
'''

CONFIG = r'''
<Location /f>
    CorsAllowOriginFile "{root}/origins.txt"
    CorsAllowOrigin https://inline.example
</Location>
<Location /f/big>
    CorsAllowOriginFile "{root}/big.txt"
</Location>
<Location /f/denyfile>
    CorsAllowOriginFile "{root}/deny-only.txt"
</Location>
'''


def _files(h):
    h.write_root('origins.txt', ORIGINS)
    h.write_root('big.txt', ''.join('https://tenant%d.example\n' % i for i in range(20000)))
    h.write('f/x.txt', 'x')
    h.write('f/big/x.txt', 'x')
    h.write_root('deny-only.txt', '# no allow line\n  !https://one.example\n\n')
    h.write('f/denyfile/x.txt', 'x')
    h.write('f/ht/.htaccess', 'CorsAllowOriginFile origins.txt\n')
    h.write('f/ht/x.txt', 'x')


srv = server_fixture('originfile', CONFIG, setup=_files)


@pytest.mark.parametrize('origin,ok', [
    ('https://one.example', True), ('https://two.example', True),
    ('https://a.tenants.example', True), ('http://localhost:8080', True),
    ('https://inline.example', True),            # lines add up with CorsAllowOrigin
    ('https://tenants.example', False), ('https://three.example', False),
    ('# tenants', False),
])
def test_file_origins(srv, origin, ok):
    r = srv.request('GET', '/f/x.txt', headers=(('Origin', origin),))
    check(r, 200, (['Access-Control-Allow-Origin: ' + origin] if ok else []) + ['Vary: Origin'])


def test_big_file(srv):
    for i in (0, 12345, 19999):
        o = 'https://tenant%d.example' % i
        r = srv.request('GET', '/f/big/x.txt', headers=(('Origin', o),))
        check(r, 200, ['Access-Control-Allow-Origin: ' + o, 'Vary: Origin'])
    r = srv.request('GET', '/f/big/x.txt', headers=(('Origin', 'https://tenant20000.example'),))
    check(r, 200, ['Vary: Origin'])


@pytest.mark.parametrize('origin,ok', [
    ('https://inline.example', True), ('https://two.example', True),
    ('https://one.example', False),
])
def test_file_of_denies_keeps_inherited_origins(srv, origin, ok):
    """A file of '!' lines only is a CorsDenyOrigin list: the section keeps
    the CorsAllowOrigin list it inherits (README "Merging")."""
    r = srv.request('GET', '/f/denyfile/x.txt', headers=(('Origin', origin),))
    check(r, 200, (['Access-Control-Allow-Origin: ' + origin] if ok else []) + ['Vary: Origin'])


@pytest.mark.allow_log(r'CorsAllowOriginFile not allowed here')
def test_not_in_htaccess(srv):
    assert srv.request('GET', '/f/ht/x.txt').status == 500


def _check_file(content):
    path = os.path.join(RUN_DIR, 'origins-under-test.txt')
    os.makedirs(RUN_DIR, exist_ok=True)
    with open(path, 'w') as f:
        f.write(content)
    rc, out = check_config('CorsAllowOriginFile "%s"' % path, name='originfile')
    return rc, out, path


@pytest.mark.parametrize('content,line,message', [
    ('https://ok.example\n\n# c\nhttps://bad.example/\n', 4,
     "'https://bad.example/' is not an origin (remove the trailing slash)"),
    ('https://a.example https://b.example\n', 1,
     "one origin per line (a '#' comment takes a line of its own)"),
    ('https://a.example # tenant a\n', 1,
     "one origin per line (a '#' comment takes a line of its own)"),
    # several origins on a line, separated by commas
    ('https://a.example,https://b.example\n', 1,
     "'https://a.example,https://b.example': write one origin per line, without commas"),
    ('# tenants\nhttps://a.example, https://b.example\n', 2,
     "'https://a.example, https://b.example': write one origin per line, without commas"),
    ('https://a.example,\n', 1, "'https://a.example,': write one origin per line, without commas"),
    ('none\n', 1, "'none' is not allowed in a file: use CorsAllowOrigin none"),
    ('https://*.com\n', 1, "'https://*.com' matches every site under a top-level domain; "
                           "give at least two labels after '*.', e.g. https://*.example.com"),
    # an over-long line is reported at its own number
    ('https://a.example\nhttps://b.example\n' + 'x' * 9000 + '\nhttps://c.example\n', 3,
     'the line is longer than 8192 bytes'),
    # a NUL byte anywhere in a line, also at its start, is an error
    ('https://a.example\n\0https://b.example\n', 2,
     'a NUL byte (is the file saved as UTF-16? save it as ASCII or UTF-8)'),
    ('https://a.example\nhttps://b\0.example\n', 2,
     'a NUL byte (is the file saved as UTF-16? save it as ASCII or UTF-8)'),
    # Windows line ends are fine; the error is still on the right line
    ('https://a.example\r\n\r\nhttps://bad.example/\r\n', 3,
     "'https://bad.example/' is not an origin (remove the trailing slash)"),
], ids=lambda v: repr(v)[:40] if isinstance(v, str) else str(v))
def test_file_errors_name_file_and_line(content, line, message):
    rc, out, path = _check_file(content)
    assert rc != 0
    assert 'CorsAllowOriginFile: %s line %d: %s' % (path, line, message) in out.splitlines(), out


def test_byte_order_mark_skipped():
    path = os.path.join(RUN_DIR, 'origins-bom.txt')
    with open(path, 'wb') as f:
        f.write(b'\xef\xbb\xbfhttps://bom.example\r\nhttps://two.example\r\n')
    rc, out = check_config('CorsAllowOriginFile "%s"' % path, name='originfile')
    assert rc == 0 and 'Syntax OK' in out and '2 exact origins' in out, out


def test_directory_is_not_a_file():
    rc, out = check_config('CorsAllowOriginFile "%s"' % RUN_DIR, name='originfile')
    assert rc != 0
    assert "CorsAllowOriginFile: '%s' is not a regular file" % RUN_DIR in out.splitlines(), out


# the refused patterns and what the message says after quoting them
UNSAFE_IN_FILE = {
    'http://*.example.com': "(any network attacker can answer for a plain-http subdomain; "
                            "use https:// or list the origins)",
    'https://*.github.io': "(the domain after '*.', or one below it, is on the Public Suffix "
                           "List: anyone can register a site that the pattern matches; list "
                           "your own domains or origins)",
}


@pytest.mark.parametrize('pattern', sorted(UNSAFE_IN_FILE))
@pytest.mark.parametrize('order', ['file first', 'credentials first'])
def test_unsafe_pattern_in_file_with_credentials(order, pattern):
    """A file's pattern is checked like CorsAllowOrigin's: the message quotes
    the pattern from the file, whichever line comes last (the file's line
    buffer is gone by the time the credentials line is checked)."""
    path = os.path.join(RUN_DIR, 'origins-unsafe.txt')
    with open(path, 'w') as f:
        f.write('https://a.example\n%s\n# last line\n\n' % pattern)
    lines = ['CorsAllowOriginFile "%s"' % path, 'CorsAllowCredentials On']
    if order != 'file first':
        lines.reverse()
    rc, out = check_config('\n'.join(lines), name='originfile')
    assert rc != 0
    tail = "'%s' and 'CorsAllowCredentials On' cannot be combined in one section %s" % (
        pattern, UNSAFE_IN_FILE[pattern])
    expected = ('CorsAllowCredentials: ' + tail if order == 'file first'
                else 'CorsAllowOriginFile: %s line 2: %s' % (path, tail))
    assert expected in out.splitlines(), out


def test_missing_file():
    rc, out = check_config('CorsAllowOriginFile /nonexistent/origins.txt', name='originfile')
    assert rc != 0
    assert ("CorsAllowOriginFile: cannot open '/nonexistent/origins.txt': "
            "No such file or directory") in out, out


def test_credentials_and_star_in_file():
    path = os.path.join(RUN_DIR, 'origins-star.txt')
    with open(path, 'w') as f:
        f.write('*\n')
    rc, out = check_config('CorsAllowCredentials On\nCorsAllowOriginFile "%s"' % path,
                           name='originfile')
    assert rc != 0 and ("CorsAllowOriginFile: %s line 1: 'CorsAllowOrigin *' and "
                        "'CorsAllowCredentials On' cannot be combined" % path) in out, out
