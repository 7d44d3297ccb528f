"""README "Configuration errors": every configuration-time warning is seen at
`apache2 -t` and at start-up wherever the directive is written -- the server
config, a <VirtualHost> with or without a LogLevel of its own, every kind of
section -- and names the file and line where the value was written (for an
origin file: that file and its line).

A <VirtualHost>'s own server has no log level while httpd reads its section, so
the module logs the warnings against the main server once the configuration is
read: at `apache2 -t` and on the terminal of a start-up (check_config), and in
the error log of a start-up (post_config of the first reading)."""
import os
import re
import subprocess
from collections import namedtuple

import pytest

from conftest import server_fixture
from cors_cases import check
import harness
from harness import HTTPD_WRAPPER, RUN_DIR, Httpd, check_config

# A directive, and the warning it makes (a regular expression for the text between
# the tag and the "(file:line)" that ends the line).
Warn = namedtuple('Warn', 'tag directive text')
WARNINGS = [
    Warn('CORS0003', 'CorsAllowOriginMatch "https://app.example.com"',
            re.escape("CorsAllowOriginMatch: 'https://app.example.com': the '.' after "
                      "'https://app' matches any character, not only a dot: write [.] or "
                      "put a backslash before it")),
    Warn('CORS0004', 'CorsAllowOrigin https://*.github.io',
            re.escape("CorsAllowOrigin: 'https://*.github.io': github.io is on the Public "
                      "Suffix List: anyone can register a site under it, and every such "
                      "site is allowed")),
    # not on the list itself, but s3.amazonaws.com and a hundred others below it are
    Warn('CORS0004', 'CorsAllowOrigin https://*.amazonaws.com',
            re.escape("CorsAllowOrigin: 'https://*.amazonaws.com': ") + r'[a-z0-9.-]+'
            + re.escape(".amazonaws.com, below amazonaws.com, is on the Public Suffix List: "
                        "anyone can register a site under it, and every such site is "
                        "allowed")),
]

# Where the directive is written: {w} is the directive's line.
PLACES = {
    'server': '{w}',
    'server <Location>': '<Location /x>\n{w}\n</Location>',
    'vhost': '<VirtualHost 127.0.0.1:{port}>\nServerName v.example\n{w}\n</VirtualHost>',
    'vhost with LogLevel crit': ('<VirtualHost 127.0.0.1:{port}>\nServerName v.example\n'
                                 'LogLevel crit\n<Location /x>\n{w}\n</Location>\n'
                                 '</VirtualHost>'),
    'vhost with LogLevel after it': ('<VirtualHost 127.0.0.1:{port}>\nServerName v.example\n'
                                     '<Location /x>\n{w}\n</Location>\nLogLevel info\n'
                                     '</VirtualHost>'),
    'vhost <Location>': ('<VirtualHost 127.0.0.1:{port}>\nServerName v.example\n'
                         '<Location />\n{w}\n</Location>\n</VirtualHost>'),
    'vhost <LocationMatch>': ('<VirtualHost 127.0.0.1:{port}>\nServerName v.example\n'
                              '<LocationMatch "^/m">\n{w}\n</LocationMatch>\n</VirtualHost>'),
    'vhost <Directory>': ('<VirtualHost 127.0.0.1:{port}>\nServerName v.example\n'
                          '<Directory "{htdocs}/d">\n{w}\n</Directory>\n</VirtualHost>'),
    'vhost <DirectoryMatch>': ('<VirtualHost 127.0.0.1:{port}>\nServerName v.example\n'
                               '<DirectoryMatch "/dm">\n{w}\n</DirectoryMatch>\n'
                               '</VirtualHost>'),
    'vhost <Files>': ('<VirtualHost 127.0.0.1:{port}>\nServerName v.example\n'
                      '<Files "x.txt">\n{w}\n</Files>\n</VirtualHost>'),
    'vhost <FilesMatch>': ('<VirtualHost 127.0.0.1:{port}>\nServerName v.example\n'
                           '<FilesMatch "^y">\n{w}\n</FilesMatch>\n</VirtualHost>'),
    'vhost <Proxy>': ('<VirtualHost 127.0.0.1:{port}>\nServerName v.example\n'
                      '<Proxy "http://backend.invalid/">\n{w}\n</Proxy>\n</VirtualHost>'),
    'vhost <Location> <If>': ('<VirtualHost 127.0.0.1:{port}>\nServerName v.example\n'
                              '<Location /i>\n<If "%{{QUERY_STRING}} =~ /x/">\n{w}\n</If>\n'
                              '</Location>\n</VirtualHost>'),
}


def _where(line):
    """The (file, line number) a warning line ends with."""
    m = re.search(r' \((/[^()]+):(\d+)\)$', line)
    assert m, line
    return m.group(1), int(m.group(2))


def _line_of(path, n):
    with open(path, encoding='latin-1') as f:
        return f.read().splitlines()[n - 1].strip()


def check_warned(out, warning, written):
    """out holds the warning once, at level warn, pointing at a line of a file
    that holds `written`."""
    lines = [l for l in out.splitlines() if warning.tag + ':' in l]
    assert len(lines) == 1, out
    assert ':warn]' in lines[0], lines[0]
    assert re.search(warning.tag + ': ' + warning.text + r' \(', lines[0]), lines[0]
    path, n = _where(lines[0])
    assert _line_of(path, n) == written, (lines[0], _line_of(path, n))


@pytest.mark.parametrize('place', PLACES)
@pytest.mark.parametrize('warning', WARNINGS, ids=lambda w: w.directive)
def test_warning_at_apachectl_t(warning, place):
    rc, out = check_config(PLACES[place].format(w=warning.directive, port='{port}',
                                                htdocs='{htdocs}'), name='good')
    assert rc == 0 and 'Syntax OK' in out, out
    check_warned(out, warning, warning.directive)


@pytest.mark.parametrize('level', ['LogLevel cors:error', 'LogLevel error'])
def test_the_main_servers_log_level_applies(level):
    """The warnings are logged against the main server: its LogLevel, wherever it
    stands, can turn them off (a virtual host's own cannot, see PLACES)."""
    rc, out = check_config(PLACES['vhost <Location>'].format(
        w='CorsAllowOrigin https://*.github.io', port='{port}', htdocs='{htdocs}')
        + '\n' + level, name='good')
    assert rc == 0 and 'Syntax OK' in out and 'CORS0004' not in out, out


def _origin_file(name, content):
    path = os.path.join(RUN_DIR, name)
    os.makedirs(RUN_DIR, exist_ok=True)
    with open(path, 'w') as f:
        f.write(content)
    return path


@pytest.mark.parametrize('place', ['server', 'vhost', 'vhost <Location>', 'vhost <Directory>'])
def test_warning_from_origin_file_names_the_file_and_line(place):
    """A pattern read from CorsAllowOriginFile: the warning points at the origin
    file and its line, as errors do."""
    path = _origin_file('origins-warn.txt', '# tenants\nhttps://a.example\n'
                                            'https://*.github.io\n')
    rc, out = check_config(PLACES[place].format(w='CorsAllowOriginFile "%s"' % path,
                                                port='{port}', htdocs='{htdocs}'),
                           name='good')
    assert rc == 0 and 'Syntax OK' in out, out
    lines = [l for l in out.splitlines() if 'CORS0004:' in l]
    assert len(lines) == 1 and ':warn]' in lines[0], out
    assert lines[0].endswith("CORS0004: CorsAllowOriginFile: 'https://*.github.io': github.io "
                             "is on the Public Suffix List: anyone can register a site under "
                             "it, and every such site is allowed (%s:3)" % path), lines[0]


# ---- at start-up: on the terminal and in the error log, once; not at a graceful
# restart, nor per request --------------------------------------------------------

START_UP = '''
<VirtualHost 127.0.0.1:{port}>
    ServerName v.example
    <Location />
        %s
    </Location>
</VirtualHost>
<VirtualHost 127.0.0.1:{port}>
    ServerName w.example
    LogLevel crit
    <Directory "{htdocs}/w">
        %s
        CorsAllowOriginFile "{root}/origins.txt"
    </Directory>
</VirtualHost>
''' % ('\n        '.join(w.directive for w in WARNINGS[:2]), WARNINGS[2].directive)


def acao(origin):
    return ['Access-Control-Allow-Origin: ' + origin]


def _start_up_files(h):
    h.write_root('origins.txt', 'https://a.example\nhttps://*.co.uk\n')
    h.write('x.txt', 'x')
    h.write('w/x.txt', 'x')


started = server_fixture('config-warnings', START_UP, setup=_start_up_files,
                         allow_log=(r'\] CORS000[34]: ',))

FILE_WARNING = Warn('CORS0004', None, re.escape(
    "CorsAllowOriginFile: 'https://*.co.uk': co.uk is on the Public Suffix List: anyone can "
    "register a site under it, and every such site is allowed"))


def _terminal(h):
    # apache2 -X under a wrapper (valgrind) writes to reports/stderr.txt instead
    path = os.path.join(h.reports, 'stderr.txt')
    extra = open(path, encoding='latin-1').read() if HTTPD_WRAPPER and os.path.exists(path) \
        else ''
    return h.start_output + extra


def _each_once(text, started):
    """Every warning of the configuration once in text (the origin file's pointing
    at the file's line 2)."""
    found = [l for l in text.splitlines() if re.search(r'\] CORS000[345]: ', l)]
    assert len(found) == len(WARNINGS) + 1, found
    for w in WARNINGS + [FILE_WARNING]:
        mine = [l for l in found if re.search(w.tag + ': ' + w.text + r' \(', l)]
        assert len(mine) == 1 and ':warn]' in mine[0], (w, found)
        path, n = _where(mine[0])
        if w.directive:
            assert _line_of(path, n) == w.directive, mine[0]
        else:
            assert (path, n) == (os.path.join(started.root, 'origins.txt'), 2), mine[0]


def test_warnings_on_the_terminal_at_start_up(started):
    _each_once(_terminal(started), started)


def test_warnings_in_the_error_log_at_start_up(started):
    _each_once('\n'.join(started.log_since(started.start_mark)), started)


def test_no_warning_per_request_nor_at_graceful_restart(started):
    mark = started.log_mark()
    check(started.request('GET', '/x.txt', headers=(('Origin', 'https://a.github.io'),)),
          200, acao('https://a.github.io') + ['Vary: Origin'])
    started.graceful()
    check(started.request('GET', '/x.txt', headers=(('Origin', 'https://a.github.io'),)),
          200, acao('https://a.github.io') + ['Vary: Origin'])
    assert not [l for l in started.log_since(mark) if re.search(r'\] CORS000[345]: ', l)]


# ---- CORS0005: the list's text cannot be read ---------------------------------------

PSL_DIR = '/usr/share/publicsuffix'


def test_unreadable_list_text_warns_in_a_virtual_host():
    """Without the text of the Public Suffix List (the publicsuffix package),
    suffixes below a domain are unknown: the module says so, once, pointing at the
    first subdomain pattern.  apache2 -t runs in a mount namespace of its own in
    which the list's directory is empty; the machine's is untouched."""
    if not os.path.isdir(PSL_DIR):
        pytest.fail('%s is missing: apt-get install publicsuffix' % PSL_DIR)
    empty = os.path.join(RUN_DIR, 'empty-publicsuffix')
    os.makedirs(empty, exist_ok=True)
    h = Httpd('check-nopsl', PLACES['vhost <Location>'].format(
        w='CorsAllowOrigin https://*.example.com https://*.example.org', port='{port}',
        htdocs='{htdocs}'))
    # apache2's environment (the sanitizer runtimes preloaded, under make
    # test-asan) for apache2 alone, not for unshare and mount
    env = harness._env(h.reports)
    env['CORS_PRELOAD'] = env.pop('LD_PRELOAD', '')
    cmd = ['unshare', '--mount', '--map-root-user', 'sh', '-c',
           'mount --bind "$0" %s || exit; '
           'if [ -n "$CORS_PRELOAD" ]; then export LD_PRELOAD="$CORS_PRELOAD"; fi; '
           'exec "$@"' % PSL_DIR, empty] + h._command('-t')
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=60, env=env)
    out = p.stdout + p.stderr
    if 'mount' in out and 'Syntax OK' not in out:
        pytest.fail('cannot make a mount namespace (unshare --mount --map-root-user, '
                    'util-linux; user namespaces enabled): %s' % out)
    assert p.returncode == 0 and 'Syntax OK' in out, out
    lines = [l for l in out.splitlines() if 'CORS0005:' in l]
    assert len(lines) == 1 and ':warn]' in lines[0], out
    assert re.search(re.escape("CORS0005: CorsAllowOrigin: 'https://*.example.com' is checked "
                               "only for its own domain: the text of the Public Suffix List (")
                     + r'/\S+' + re.escape(") cannot be read, so a public suffix below a "
                                           "domain goes unnoticed; install the publicsuffix "
                                           "package (") + r'/\S+:\d+\)$', lines[0]), lines[0]
    path, n = _where(lines[0])
    assert _line_of(path, n) == 'CorsAllowOrigin https://*.example.com https://*.example.org'
