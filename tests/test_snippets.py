"""Every Apache configuration snippet of README.md and docs/*.md works where an
admin pastes it: `apache2 -t` accepts it in a Debian-layout server root
(tests/debian_root.py: /etc/apache2's layout, `${APACHE_LOG_DIR}`, the
package's paths), with the freshly built module enabled, and, unless the
snippet itself loads the module, also without it, so that removing the
package never leaves `Invalid command 'CorsAllowOrigin'` behind (README
"Directive reference": snippets go inside `<IfModule cors_module>`).

Every ```apache fence is a snippet; a new one is picked up on its own.  The
line before the fence may say what kind it is, in an HTML comment:

    <!-- snippet: KIND [needs MODULE ...] -->

  server    (also without a comment) server configuration: a file in
            /etc/apache2/conf-enabled/
  vhost     lines for a site's <VirtualHost>: checked inside one
  lines     lines for a section of the admin's own, inside its
            <IfModule cors_module> (the Directive reference's examples, as
            its first paragraph says): checked inside both, with the module
  upstream  a part of httpd.conf in upstream's layout (ServerRoot with conf/,
            logs/ and modules/, the checkout's conf/examples in conf/), checked
            there instead
  needs MODULE ...   Debian modules it needs besides the default ones; the
            page says so (`a2enmod MODULE`) just before the snippet

The examples' Debian path, /usr/share/doc/libapache2-mod-cors/examples/, is
the checkout's conf/examples/.
"""
import glob
import os
import re
import shutil
import subprocess
import time

import pytest

from debian_root import DOC, SO, DebianRoot, require_debian_apache
from harness import APACHE, BASE_MODULES, MODULE_DIR, REPO, RUN_DIR, free_port

PAGES = ['README.md'] + sorted(os.path.relpath(p, REPO)
                               for p in glob.glob(os.path.join(REPO, 'docs', '*.md')))
KINDS = ('server', 'vhost', 'lines', 'upstream')
FENCE = re.compile(r'^( *)```(\S*)\n(.*?)^\1```[ \t]*$', re.M | re.S)
MARKER = re.compile(r'<!--\s*snippet:(.*?)-->')
# a line that only Apache configuration starts with
CONFIG_LINE = re.compile(r'^\s*(?:Cors[A-Z]\w*\s|<(?:Location|Directory|Files|VirtualHost|'
                         r'IfModule|If)\b|(?:SetHandler|LogFormat|CustomLog|Include|'
                         r'LoadModule|Header|RewriteRule|Require)\s)', re.M)
EXAMPLES = DOC + '/examples'


class Snippet:
    def __init__(self, page, line, lang, body, marker, before):
        self.page, self.line, self.lang, self.body = page, line, lang, body
        self.marker = marker                # the comment's text, or None
        self.before = before                # the page's text before the fence
        words = (marker or 'server').split()
        self.kind = words[0] if words else 'server'
        self.needs = words[words.index('needs') + 1:] if 'needs' in words else []
        self.extra = [w for w in words[1:] if w != 'needs' and w not in self.needs]

    @property
    def id(self):
        return '%s:%d' % (self.page, self.line)

    def loads_module(self):
        return re.search(r'^\s*LoadModule\s+cors_module\b', self.body, re.M) is not None


def _snippets(lang_filter=None):
    out = []
    for page in PAGES:
        with open(os.path.join(REPO, page), encoding='utf-8') as f:
            text = f.read()
        for m in FENCE.finditer(text):
            indent, lang, body = m.group(1), m.group(2), m.group(3)
            body = re.sub(r'^' + indent, '', body, flags=re.M)
            # the marker: the last non-blank line before the fence
            prev = text[:m.start()].rstrip('\n ').rsplit('\n', 1)[-1].strip()
            mk = MARKER.fullmatch(prev)
            out.append(Snippet(page, text.count('\n', 0, m.start()) + 1, lang, body,
                               mk.group(1).strip() if mk else None, text[:m.start()]))
    return [s for s in out if lang_filter is None or s.lang == lang_filter]


ALL = _snippets()
APACHE_SNIPPETS = [s for s in ALL if s.lang == 'apache']


def test_snippets_found():
    # the pages have snippets of every kind this file knows
    kinds = {s.kind for s in APACHE_SNIPPETS}
    assert len(APACHE_SNIPPETS) >= 15 and set(KINDS) <= kinds, \
        [(s.id, s.kind) for s in APACHE_SNIPPETS]


def test_configuration_is_fenced_as_apache():
    """A fence holding Apache configuration is an ```apache fence, so that
    the checks below see it (error messages and logs are ```text)."""
    bad = [s.id for s in ALL if s.lang != 'apache' and CONFIG_LINE.search(s.body)
           and not s.body.lstrip().startswith(('$', '['))]
    assert bad == []


def test_markers_are_well_formed():
    bad = []
    for page in PAGES:
        text = open(os.path.join(REPO, page), encoding='utf-8').read()
        # a marker is a line of its own (inside `code` it is just mentioned)
        for m in re.finditer(r'^[ \t]*' + MARKER.pattern + r'[ \t]*$', text, re.M):
            after = text[m.end():].lstrip(' \n')
            if not after.startswith('```apache'):
                bad.append((page, m.group(0), 'not right before an ```apache fence'))
    for s in APACHE_SNIPPETS:
        if s.kind not in KINDS or s.extra:
            bad.append((s.id, s.marker, 'unknown kind or word'))
    assert bad == []


def test_needs_are_said():
    """A snippet that needs a module Debian does not enable says so where the
    admin reads it: `a2enmod` and the module's name just before the fence."""
    bad = []
    for s in APACHE_SNIPPETS:
        near = s.before[-1500:]
        for m in s.needs:
            if 'a2enmod' not in near or not re.search(r'\b%s\b' % re.escape(m), near):
                bad.append((s.id, m))
    assert bad == []


# ---- apache2 -t ----------------------------------------------------------------

def _map_paths(body):
    return body.replace(EXAMPLES, os.path.join(REPO, 'conf', 'examples'))


@pytest.fixture(scope='module')
def debian():
    """Two Debian-layout roots: the module enabled (a2enmod cors), and not."""
    return {True: DebianRoot('snippets-debian'),
            False: DebianRoot('snippets-debian-nomod', cors=False)}


def _place(root, s):
    """Put the snippet where its kind says, with the modules it needs."""
    for d in ('conf-enabled', 'sites-enabled'):
        p = os.path.join(root.conf, d, 'zz-snippet.conf')
        if os.path.exists(p):
            os.unlink(p)
    enabled = os.path.join(root.conf, 'mods-enabled')
    for f in os.listdir(enabled):
        if f.startswith('zz-need-'):
            os.unlink(os.path.join(enabled, f))
    for m in s.needs:
        for ext in ('.load', '.conf'):
            src = os.path.join(root.conf, 'mods-available', m + ext)
            if os.path.exists(src) and not os.path.exists(os.path.join(enabled, m + ext)):
                os.symlink('../mods-available/' + m + ext,
                           os.path.join(enabled, 'zz-need-%s%s' % (m, ext)))
    body = _map_paths(s.body)
    if s.kind == 'server':
        root.write('conf-enabled/zz-snippet.conf', body)
    elif s.kind == 'vhost':
        root.write('sites-enabled/zz-snippet.conf',
                   '<VirtualHost *:%d>\nServerName snippet.test\n%s\n</VirtualHost>\n'
                   % (root.port, body))
    else:           # lines
        root.write('sites-enabled/zz-snippet.conf',
                   '<VirtualHost *:%d>\nServerName snippet.test\n<IfModule cors_module>\n'
                   '%s\n</IfModule>\n</VirtualHost>\n' % (root.port, body))


def _check(rc, out, s, where):
    # AH00558: no ServerName in Debian's apache2.conf, as on a stock install
    # (and the CORS0001 info line of a configuration with a policy)
    noise = [l for l in out.splitlines()
             if l.strip() and 'AH00558' not in l and l.strip() != 'Syntax OK'
             and not re.match(r'\[[^\]]*\] \[\w*:(info|notice|debug)\]', l)]
    assert rc == 0 and 'Syntax OK' in out and noise == [], \
        '%s (%s) fails apache2 -t %s:\n%s\n--- the snippet ---\n%s' % (
            s.id, s.kind, where, out, s.body)


def _upstream_root(with_module, s):
    """ServerRoot with conf/httpd.conf, logs/ and modules/, as `make install`
    of httpd lays it out, with Debian's modules."""
    root = os.path.join(RUN_DIR, 'snippets-upstream')
    shutil.rmtree(root, ignore_errors=True)
    for d in ('conf', 'logs', 'modules', 'htdocs'):
        os.makedirs(os.path.join(root, d))
    os.symlink(SO, os.path.join(root, 'modules', 'mod_cors.so'))
    shutil.copytree(os.path.join(REPO, 'conf', 'examples'), os.path.join(root, 'conf', 'examples'))
    loads = ['LoadModule mpm_event_module %s/mod_mpm_event.so' % MODULE_DIR]
    loads += ['LoadModule %s_module %s/mod_%s.so' % (m, MODULE_DIR, m) for m in
              BASE_MODULES + s.needs]
    if with_module and not s.loads_module():
        loads.append('LoadModule cors_module modules/mod_cors.so')
    with open(os.path.join(root, 'conf', 'httpd.conf'), 'w') as f:
        f.write('ServerRoot "%s"\nListen 127.0.0.1:%d\nServerName localhost\n%s\n'
                'ErrorLog logs/error_log\nPidFile logs/httpd.pid\nDocumentRoot "%s/htdocs"\n'
                'Include conf/snippet.conf\n' % (root, free_port(), '\n'.join(loads), root))
    with open(os.path.join(root, 'conf', 'snippet.conf'), 'w') as f:
        f.write(_map_paths(s.body))
    p = subprocess.run([APACHE, '-d', root, '-f', os.path.join(root, 'conf', 'httpd.conf'), '-t'],
                       capture_output=True, text=True, timeout=60)
    return p.returncode, p.stdout + p.stderr


def _check_snippet(debian, s, cors):
    """apache2 -t on snippet s, with mod_cors enabled (cors) or not."""
    module = 'with mod_cors enabled' if cors else 'without mod_cors'
    if s.kind == 'upstream':
        rc, out = _upstream_root(cors, s)
        _check(rc, out, s, "in upstream's layout " + module)
        return
    root = debian[cors]
    _place(root, s)
    rc, out = root.apache2('-t')
    _check(rc, out, s, 'in a Debian layout ' + module)


@pytest.mark.parametrize('s', APACHE_SNIPPETS, ids=lambda s: s.id)
def test_snippet_with_module(debian, s):
    _check_snippet(debian, s, True)


@pytest.mark.parametrize('s', [s for s in APACHE_SNIPPETS if not s.loads_module()],
                         ids=lambda s: s.id)
def test_snippet_without_module(debian, s):
    """Removing the package (a2dismod cors) leaves a configuration that loads:
    each snippet has its <IfModule cors_module> (a `lines` snippet goes inside
    the admin's, as the Directive reference says)."""
    _check_snippet(debian, s, False)


@pytest.mark.parametrize('cors', [True, False], ids=['with-module', 'without-module'])
def test_shipped_examples(cors):
    """conf/examples/example.conf as the package installs it (its Include of
    seed-defaults.conf where the package puts that) loads in a site, with and
    without the module."""
    root = DebianRoot('snippets-examples-%s' % ('mod' if cors else 'nomod'), cors=cors)
    root.write('sites-enabled/zz-example.conf',
               '<VirtualHost *:%d>\nServerName example.test\n'
               'Define CORS_EXAMPLES_DIR "%s/conf/examples"\n'
               'Include "%s/conf/examples/example.conf"\n</VirtualHost>\n'
               % (root.port, REPO, REPO))
    rc, out = root.apache2('-t')
    assert rc == 0 and 'Syntax OK' in out, out
    with open(os.path.join(REPO, 'conf', 'examples', 'example.conf')) as f:
        text = f.read()
    assert 'Define CORS_EXAMPLES_DIR %s' % EXAMPLES in text


def test_worked_example_is_example_conf():
    """docs/worked-example.md shows the essence of conf/examples/example.conf,
    which test_examples.py serves: the same sections, CORS lines and
    authentication, in the same order."""
    keep = re.compile(r'^(Cors\w+|Auth\w+|Require|</?Location|</?IfModule)\b')

    def lines(text):
        return [l.strip() for l in text.splitlines() if keep.match(l.strip())]
    snippet = [s for s in APACHE_SNIPPETS if s.page == 'docs/worked-example.md'][0]
    with open(os.path.join(REPO, 'conf', 'examples', 'example.conf')) as f:
        conf = f.read()
    conf = conf[:conf.index('# 4. ')]
    assert lines(snippet.body) == lines(conf)


# ---- the README's quick start, as an admin runs it ----------------------------

def _readme_block(after, lang):
    text = open(os.path.join(REPO, 'README.md'), encoding='utf-8').read()
    i = text.index(after)
    m = FENCE.search(text, i)
    assert m and m.group(2) == lang, after
    return m.group(3)


def test_quick_start():
    """README "Quick start": the five-line policy in the stock site's
    <VirtualHost> (000-default.conf), `apache2ctl -t`, and the curl command,
    whose output is the README's (Date, Last-Modified and ETag aside)."""
    policy = _readme_block('A policy that lets scripts on', 'apache')
    assert len(policy.strip().splitlines()) == 5
    assert _readme_block('Check the configuration and reload', 'sh').strip() == \
        'apache2ctl -t && systemctl reload apache2'
    shown = _readme_block('A request from that origin now gets', 'text').strip().splitlines()
    cmd, want = shown[0], shown[1:]
    assert cmd.startswith('$ curl ') and cmd.endswith(' http://localhost/'), cmd
    root = DebianRoot('snippets-quick-start')
    site = os.path.join(root.conf, 'sites-available', '000-default.conf')
    text = open(site).read()
    assert text.count('</VirtualHost>') == 1
    with open(site, 'w') as f:
        f.write(text.replace('</VirtualHost>', policy + '</VirtualHost>'))
    rc, out = root.apache2('-t')
    assert rc == 0 and 'Syntax OK' in out, out
    rc, out = root.apache2('-k', 'start')
    assert rc == 0, out
    pid_file = os.path.join(root.run_dir, 'apache2.pid')
    try:
        deadline = time.time() + 20
        while time.time() < deadline and not os.path.exists(pid_file):
            time.sleep(0.1)
        argv = ['curl'] + [a.strip("'") for a in re.findall(r"'[^']*'|\S+", cmd[len('$ curl '):])]
        argv[-1] = argv[-1].replace('http://localhost/', 'http://localhost:%d/' % root.port)
        got = []
        for _ in range(50):
            p = subprocess.run(argv, capture_output=True, text=True, timeout=30)
            got = p.stdout.replace('\r', '').strip().splitlines()
            if got:
                break
            time.sleep(0.2)
    finally:
        root.apache2('-k', 'graceful-stop')
        deadline = time.time() + 20
        while time.time() < deadline and os.path.exists(pid_file):
            time.sleep(0.1)
    got = [l for l in got if not l.startswith(('Date:', 'Last-Modified:', 'ETag:'))]
    # the server's version and the size of the stock page vary with the install
    norm = lambda lines: [re.sub(r'^(Server: Apache/)\S+|^(Content-Length: )\d+', r'\1\2N', l)
                          for l in lines]
    assert norm(got) == norm(want), '\n'.join(got)


def test_quick_start_apxs():
    """README "Quick start": the apxs line as written compiles, installs and
    enables the module (Debian's apxs -a writes mods-available/cors.load and
    runs a2enmod).  Run here with -S LIBEXECDIR= and -S SYSCONFDIR= and
    a2enmod's APACHE_CONFDIR pointing into tests/run/, on a copy of
    mod_cors.c, so that nothing is installed on this machine."""
    block = _readme_block('Without the package, with `apache2-dev`', 'sh').strip()
    assert block == 'apxs -i -a -c mod_cors.c -lpsl', block
    work = os.path.join(RUN_DIR, 'snippets-apxs')
    shutil.rmtree(work, ignore_errors=True)
    src, lib, etc, state = (os.path.join(work, d) for d in ('src', 'lib', 'etc', 'state'))
    for d in (src, lib, os.path.join(etc, 'mods-available'), os.path.join(etc, 'mods-enabled'),
              state):
        os.makedirs(d)
    shutil.copy(os.path.join(REPO, 'mod_cors.c'), src)
    words = block.split()
    env = dict(os.environ, APACHE_CONFDIR=etc, APACHE_STATE_DIRECTORY=state)
    p = subprocess.run([shutil.which(words[0]) or '/usr/bin/apxs', '-S', 'LIBEXECDIR=' + lib,
                        '-S', 'SYSCONFDIR=' + etc] + words[1:], cwd=src, env=env,
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
    so = os.path.join(lib, 'mod_cors.so')
    with open(os.path.join(etc, 'mods-available', 'cors.load')) as f:
        assert f.read().split() == ['LoadModule', 'cors_module', so]
    assert os.readlink(os.path.join(etc, 'mods-enabled', 'cors.load')) == \
        '../mods-available/cors.load'
    assert 'libpsl.so' in subprocess.run(['ldd', so], capture_output=True, text=True).stdout
    conf = os.path.join(work, 'httpd.conf')
    with open(conf, 'w') as f:
        f.write('LoadModule mpm_event_module %s/mod_mpm_event.so\nInclude %s/mods-enabled/*.load\n'
                'ServerName localhost\nErrorLog %s/error_log\nCorsAllowOrigin https://a.example\n'
                % (MODULE_DIR, etc, work))
    p = subprocess.run([APACHE, '-d', work, '-f', conf, '-t'], capture_output=True, text=True,
                       timeout=60)
    assert p.returncode == 0 and 'Syntax OK' in p.stderr + p.stdout, p.stdout + p.stderr
