"""Packaging checks, run by `make test-package` (part of `make test` and CI).

The file name does not match pytest's test_*.py, so the default `pytest tests`
runs of test-event and test-prefork do not collect it; `make test-package`
names it explicitly.

It follows docs/install.md, "Install from the Debian package", step by step:

  make deb                          -> make deb DEB_OUT=tests/run/pkg/out
  sudo apt install ./...deb         -> dpkg -x into tests/run/pkg/root (never
                                       dpkg -i: the system's Apache is untouched)
                                       and the a2enmod the package's postinst
                                       runs, with APACHE_CONFDIR and
                                       APACHE_STATE_DIRECTORY inside that root
  sudo systemctl reload apache2     -> apache2 started from a generated config
                                       that loads the packaged module and
                                       includes mods-enabled/cors.conf

then checks the answers, the maintainer scripts themselves (run in a mount
namespace over copies of /etc/apache2 and /var/lib/apache2:
test_maintainer_scripts), the conf-available file for the counters, lints the
package, and builds the `make dist` tarball from an unpacked copy (with
`make`, and `make deb` without git).
"""
import glob
import io
import os
import re
import shutil
import subprocess
import sys
import tarfile
import time

import pytest

import harness
from harness import Httpd, check_config

REPO = harness.REPO
PKG = os.path.join(REPO, 'tests', 'run', 'pkg')     # tools/package.sh's PKG_RUN
OUT = os.path.join(PKG, 'out')
ROOT = os.path.join(PKG, 'root')
NAME = 'libapache2-mod-cors'
MODULE = '/usr/lib/apache2/modules/mod_cors.so'
DOC = '/usr/share/doc/' + NAME


def run(cmd, cwd=REPO, env=None, timeout=600):
    """Run cmd; fail the test with its output if it fails.  Returns stdout."""
    p = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True,
                       timeout=timeout)
    if p.returncode != 0:
        pytest.fail('%s exited with %d\n--- stdout ---\n%s\n--- stderr ---\n%s'
                    % (' '.join(cmd), p.returncode, p.stdout[-6000:], p.stderr[-6000:]),
                    pytrace=False)
    return p.stdout


def make(*args, cwd=REPO, env=None):
    return run(['make', '--no-print-directory'] + list(args), cwd=cwd, env=env)


VERSION = run([os.path.join(REPO, 'tools', 'package.sh'), 'version']).strip()
DEB_VERSION = VERSION + '-1'


def source_files(top=REPO):
    """What tools/package.sh puts in a build copy or the tarball."""
    out = run([os.path.join(top, 'tools', 'package.sh'), 'files'], cwd=top)
    return sorted(f for f in out.split('\0') if f)


def _tar_of(cmd):
    """The tar archive cmd prints (dpkg-deb --fsys-tarfile/--ctrl-tarfile)."""
    return tarfile.open(fileobj=io.BytesIO(
        subprocess.run(cmd, capture_output=True, check=True, timeout=60).stdout))


def deb_files(deb):
    """Regular files and symlinks in a .deb, as absolute paths."""
    with _tar_of(['dpkg-deb', '--fsys-tarfile', deb]) as t:
        return sorted(m.name[1:] for m in t.getmembers() if not m.isdir())


# ---- the package -------------------------------------------------------------

@pytest.fixture(scope='module')
def deb():
    shutil.rmtree(OUT, ignore_errors=True)
    make('deb', 'DEB_OUT=' + OUT)
    debs = glob.glob(os.path.join(OUT, '*.deb'))
    assert [os.path.basename(d) for d in debs] == [
        '%s_%s_%s.deb' % (NAME, DEB_VERSION, _arch())]
    return debs[0]


def _arch():
    return run(['dpkg', '--print-architecture']).strip()


@pytest.fixture(scope='module')
def pkgroot(deb):
    """The package unpacked (dpkg -x) and enabled with a2enmod, in a private root."""
    shutil.rmtree(ROOT, ignore_errors=True)
    os.makedirs(ROOT)
    run(['dpkg', '-x', deb, ROOT])
    confdir = os.path.join(ROOT, 'etc', 'apache2')
    os.makedirs(os.path.join(confdir, 'mods-enabled'))
    env = {k: v for k, v in os.environ.items() if not k.startswith('APACHE_')}
    env.update(APACHE_CONFDIR=confdir,
               APACHE_ENVVARS=os.path.join(confdir, 'envvars'),    # absent: none
               APACHE_STATE_DIRECTORY=os.path.join(ROOT, 'var', 'lib', 'apache2'),
               LANG='C', LC_ALL='C')
    out = run(['/usr/sbin/a2enmod', 'cors'], env=env, timeout=60)
    assert 'Enabling module cors.' in out
    return ROOT


def test_version_is_cors_version():
    """debian/changelog and CHANGELOG.md follow CORS_VERSION in mod_cors.c."""
    v = run(['dpkg-parsechangelog', '-l', 'debian/changelog', '-S', 'Version']).strip()
    assert v == DEB_VERSION, 'debian/changelog is at %s, mod_cors.c at %s' % (v, VERSION)
    changelog = open(os.path.join(REPO, 'CHANGELOG.md')).read()
    assert re.search(r'^## \[%s\] - \d{4}-\d\d-\d\d$' % re.escape(VERSION), changelog, re.M)


def test_deb_control(deb):
    fields = run(['dpkg-deb', '-f', deb, 'Package', 'Version', 'Architecture', 'Depends'])
    f = dict(line.split(': ', 1) for line in fields.splitlines())
    assert f['Package'] == NAME
    assert f['Version'] == DEB_VERSION
    assert f['Architecture'] == _arch()
    # dh_apache2: the module ABI of the Apache it was built for
    assert re.search(r'(^|, )apache2-api-\d{8}(,|$)', f['Depends']), f['Depends']
    # ${shlibs:Depends}: libpsl, for the Public Suffix List
    assert re.search(r'(^|, )libpsl5( \([^)]*\))?(,|$)', f['Depends']), f['Depends']


def test_deb_contents(deb):
    examples = [f[len('conf/examples/'):] for f in source_files()
                if f.startswith('conf/examples/')]
    guides = ['install.md', 'worked-example.md', 'migration.md', 'prometheus.md',
              'cross-origin-writes.md', 'troubleshooting.md', 'database.md']
    want = [MODULE,
            '/etc/apache2/conf-available/cors-metrics.conf',
            '/etc/apache2/mods-available/cors.conf',
            '/etc/apache2/mods-available/cors.load',
            DOC + '/README.Debian', DOC + '/README.md',
            DOC + '/changelog.Debian.gz', DOC + '/changelog.gz', DOC + '/copyright',
            '/usr/share/lintian/overrides/' + NAME]
    want += [DOC + '/examples/' + e for e in examples]
    want += [DOC + '/docs/' + g for g in guides]   # README.md links them
    if os.path.exists(os.path.join(REPO, 'SECURITY.md')):
        want.append(DOC + '/SECURITY.md')
    assert deb_files(deb) == sorted(want)
    with _tar_of(['dpkg-deb', '--ctrl-tarfile', deb]) as t:
        names = {m.name.lstrip('./'): m for m in t.getmembers()}
        cf = t.extractfile(names['conffiles']).read().decode().split()
        scripts = {n: t.extractfile(m).read().decode() for n, m in names.items()
                   if n in ('preinst', 'postinst', 'prerm', 'postrm')}
    assert sorted(cf) == ['/etc/apache2/conf-available/cors-metrics.conf',
                          '/etc/apache2/mods-available/cors.conf',
                          '/etc/apache2/mods-available/cors.load']
    # installing enables the module (dh_apache2: apache2_invoke enmod cors);
    # removing disables it, so apache2 never loads a missing mod_cors.so;
    # cors-metrics is never enabled by the package, only forgotten on purge
    # (test_maintainer_scripts runs them)
    assert re.search(r'for conf in cors *; do\s+apache2_invoke enmod \$conf', scripts['postinst'])
    assert 'dismod' in scripts['prerm'] and 'dismod' in scripts['postrm']
    assert 'apache2_invoke enconf' not in ''.join(scripts.values())
    assert 'apache2_invoke disconf cors-metrics' in scripts['postrm']


def test_lintian(deb):
    """No error or warning (overrides are listed in debian/*.lintian-overrides)."""
    changes = os.path.join(PKG, 'build', '%s_%s_%s.changes' % (NAME, DEB_VERSION, _arch()))
    p = subprocess.run(['lintian', '--pedantic', '--info', '--show-overrides',
                        '--tag-display-limit', '0', changes],
                       capture_output=True, text=True, timeout=300)
    bad = [l for l in p.stdout.splitlines() if re.match(r'[EW]: ', l)]
    assert p.returncode == 0 and not bad, p.stdout + p.stderr


def test_build_leaves_tree_clean(deb):
    """The package is built in tests/run/pkg: nothing lands in the source tree."""
    junk = [f for f in os.listdir(REPO)
            if re.search(r'\.(deb|ddeb|changes|buildinfo)$', f)]
    debian = os.path.join(REPO, 'debian')
    junk += ['debian/' + f for f in os.listdir(debian)
             if f in ('.debhelper', 'files', 'debhelper-build-stamp', NAME, 'tmp')
             or re.search(r'\.(substvars|log|debhelper)$', f)]
    assert junk == []


def test_a2enmod_links(pkgroot):
    enabled = os.path.join(pkgroot, 'etc', 'apache2', 'mods-enabled')
    assert sorted(os.listdir(enabled)) == ['cors.conf', 'cors.load']
    for f in ('cors.conf', 'cors.load'):
        assert os.readlink(os.path.join(enabled, f)) == '../mods-available/' + f


def _load_line(pkgroot):
    """mods-enabled/cors.load as a2enmod enabled it, with the module path
    moved into the unpacked root."""
    text = open(os.path.join(pkgroot, 'etc/apache2/mods-enabled/cors.load')).read()
    lines = [l.strip() for l in text.splitlines() if l.strip() and not l.startswith('#')]
    assert lines == ['LoadModule cors_module ' + MODULE]
    return 'LoadModule cors_module ' + pkgroot + MODULE


APP = 'https://app.example.com'
PREFLIGHT_VARY = 'Vary: Origin,Access-Control-Request-Method,Access-Control-Request-Headers'

# The policy of the packaged cors.conf's comment; the seed example as shipped.
CONFIG = '''
{load}
Include "{root}/etc/apache2/mods-enabled/cors.conf"
LogLevel warn cors:info
<Location "/api/">
    CorsAllowOrigin      https://app.example.com
    CorsAllowMethods     GET POST PUT DELETE
    CorsAllowHeaders     Content-Type
    CorsAllowCredentials On
    CorsMaxAge           600
</Location>
<Location "/seed/">
    Include "{root}{doc}/examples/seed-defaults.conf"
</Location>
'''


@pytest.fixture(scope='module')
def server(pkgroot):
    h = Httpd('package', CONFIG.format(load=_load_line(pkgroot), root=pkgroot, doc=DOC),
              load_cors=False)
    h.write('api/items.json', '{"items": [1, 2, 3]}\n')
    h.write('seed/data.json', '{"seed": true}\n')
    h.start()
    try:
        yield h
    finally:
        h.stop()


def test_startup_reports_version(server):
    log = server.log_since(server.start_mark)
    assert [l for l in log if 'CORS0001' in l and 'mod_cors/%s: ' % VERSION in l], log
    assert server.bad_log_lines(server.start_mark) == []


def test_preflight(server):
    r = server.request('OPTIONS', '/api/items.json',
                       headers=[('Origin', APP), ('Access-Control-Request-Method', 'PUT'),
                                ('Access-Control-Request-Headers', 'content-type')])
    assert r.status == 204 and r.body == b''
    assert r.cors_lines() == ['Access-Control-Allow-Origin: ' + APP,
                              'Access-Control-Allow-Credentials: true',
                              'Access-Control-Allow-Methods: PUT',
                              'Access-Control-Allow-Headers: content-type',
                              'Access-Control-Max-Age: 600',
                              PREFLIGHT_VARY]


def test_preflight_refused(server):
    r = server.request('OPTIONS', '/api/items.json',
                       headers=[('Origin', 'https://evil.example'),
                                ('Access-Control-Request-Method', 'PUT')])
    assert r.status == 403 and r.body == b''
    assert r.cors_lines() == [PREFLIGHT_VARY]


def test_actual_request(server):
    r = server.request('GET', '/api/items.json', headers=[('Origin', APP)])
    assert r.status == 200 and r.body == b'{"items": [1, 2, 3]}\n'
    assert r.cors_lines() == ['Access-Control-Allow-Origin: ' + APP,
                              'Access-Control-Allow-Credentials: true',
                              'Vary: Origin']


def test_seed_example(server):
    r = server.request('GET', '/seed/data.json', headers=[('Origin', 'https://any.example')])
    assert r.status == 200
    assert r.cors_lines() == ['Access-Control-Allow-Origin: *']


def test_public_suffix_list(pkgroot):
    """The packaged module asks libpsl, with the system's list (publicsuffix):
    a pattern on a public suffix of its private section is refused with
    credentials (README "Configuration errors")."""
    rc, out = check_config(_load_line(pkgroot) + '\nCorsAllowOrigin https://*.github.io'
                           '\nCorsAllowCredentials On', name='package-psl', load_cors=False)
    assert rc != 0 and ("CorsAllowCredentials: 'https://*.github.io' and "
                        "'CorsAllowCredentials On' cannot be combined") in out, out


def test_outside_scope_untouched(server):
    server.write('plain.txt', 'plain\n')
    r = server.request('GET', '/plain.txt', headers=[('Origin', APP)])
    assert r.status == 200 and r.cors_lines() == []


# ---- the source tarball -------------------------------------------------------

@pytest.fixture(scope='module')
def tarball():
    out = os.path.join(PKG, 'dist-out')
    shutil.rmtree(out, ignore_errors=True)
    make('dist', 'DIST_OUT=' + out)
    assert os.listdir(out) == ['mod_cors-%s.tar.gz' % VERSION]
    return os.path.join(out, 'mod_cors-%s.tar.gz' % VERSION)


def _tar_files(path):
    with tarfile.open(path) as t:
        return sorted(m.name for m in t.getmembers() if not m.isdir())


def test_dist_contents(tarball):
    top = 'mod_cors-%s/' % VERSION
    names = _tar_files(tarball)
    assert all(n.startswith(top) for n in names)
    names = [n[len(top):] for n in names]
    assert names == source_files()
    for f in ('LICENSE', 'CHANGELOG.md', 'README.md', 'Makefile', 'mod_cors.c',
              'conf/cors.load', 'conf/cors.conf', 'debian/control', 'debian/rules',
              'tools/deps.sh', 'tools/package.sh', 'tests/harness.py'):
        assert f in names
    generated = [n for n in names if re.search(
        r'(^|/)(\.libs|tests/run|run|__pycache__|\.pytest_cache|\.git)/'
        r'|\.(so|o|lo|la|slo|deb|changes|buildinfo)$|^mod_cors-.*\.tar\.gz$', n)]
    assert generated == []
    with tarfile.open(tarball) as t:
        lic = t.extractfile(top + 'LICENSE').read()
    assert lic == open('/usr/share/common-licenses/Apache-2.0', 'rb').read()


def test_dist_builds_elsewhere(tarball):
    """The unpacked tarball builds with `make`, the module loads, `make deb`
    works without git, and `make clean` leaves exactly what was unpacked."""
    # under dist/: pytest never collects the copy's tests/test_*.py from there
    where = os.path.join(PKG, 'dist', 'unpacked')
    shutil.rmtree(where, ignore_errors=True)
    os.makedirs(where)
    with tarfile.open(tarball) as t:
        t.extractall(where)
    top = os.path.join(where, 'mod_cors-%s' % VERSION)
    env = dict(os.environ, GIT_CEILING_DIRECTORIES=where)   # not the repo's git
    env.pop('PKG_RUN', None)
    make(cwd=top, env=env)
    so = os.path.join(top, '.libs', 'mod_cors.so')
    assert os.path.isfile(so)
    h = Httpd('package-dist', 'LoadModule cors_module %s\n' % so, load_cors=False)
    p = h._apache('-t')
    assert p.returncode == 0 and 'Syntax OK' in p.stderr + p.stdout, p.stdout + p.stderr

    make('deb', cwd=top, env=env)
    debs = glob.glob(os.path.join(top, '*.deb'))
    assert [os.path.basename(d) for d in debs] == [
        '%s_%s_%s.deb' % (NAME, DEB_VERSION, _arch())]
    make('clean', cwd=top, env=env)
    left = sorted(os.path.relpath(os.path.join(d, f), where)
                  for d, _, fs in os.walk(where) for f in fs)
    assert left == _tar_files(tarball)
    shutil.rmtree(where)


def test_default_run_collects_no_copies(deb, tarball):
    """The suite's own `pytest tests` must not pick up copies of the tests that
    these builds make under tests/run/pkg (they would run, and fail, twice)."""
    p = subprocess.run([sys.executable, '-m', 'pytest', '-q', '-p', 'no:cacheprovider', '--collect-only',
                        'tests'], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert 'tests/run/' not in p.stdout + p.stderr, p.stdout[-3000:]


# ---- the maintainer scripts: enabled on installation, disabled on removal ------

# Run as root in a mount namespace of its own (unshare --mount), where copies
# are mounted over /etc/apache2, /var/lib/apache2 (a2enmod's state),
# /var/log/apache2, /run and /usr/lib/apache2/modules (Debian's modules and the
# package's mod_cors.so), and stubs over invoke-rc.d (it records the call
# instead of restarting the machine's apache2) and logger.  dpkg itself is
# never run: the scripts get the arguments and variables dpkg gives them, and
# the steps between them (unpacking, deleting files) are done by hand.
MAINT_SCRIPT = r'''
set -eu
T=$1
mount --bind "$T/etc-apache2" /etc/apache2
mount --bind "$T/var-lib-apache2" /var/lib/apache2
mount --bind "$T/log" /var/log/apache2
mount -t tmpfs tmpfs /run
mkdir -p /run/lock
mount --bind "$T/modules" /usr/lib/apache2/modules
mount --bind "$T/invoke-rc.d" /usr/sbin/invoke-rc.d
mount --bind "$T/logger" /usr/bin/logger
export DPKG_MAINTSCRIPT_PACKAGE=libapache2-mod-cors DPKG_RUNNING_VERSION=1.21.22
snap() {    # what is enabled, and the restarts asked for so far
    { for f in /etc/apache2/mods-enabled/cors* /etc/apache2/conf-enabled/cors*; do
          [ -L "$f" ] && echo "$(basename "$f") -> $(readlink "$f")"
      done
      echo "restarts: $(cat "$T/invoke-rc.d.log" 2>/dev/null | tr '\n' ';')"
      echo "state: $(cd /var/lib/apache2 && find . -name 'cors*' | sort | tr '\n' ' ')"
    } > "$T/$1"
}
run() {     # run SCRIPT ARGS... as dpkg does
    s=$1; shift
    DPKG_MAINTSCRIPT_NAME=$s "$T/ctrl/$s" "$@" > "$T/$s-$1.out" 2>&1
}
snap 0-unpacked
run postinst configure ''
snap 1-installed
apache2ctl configtest > "$T/configtest-installed.out" 2>&1 || true
a2enconf -q cors-metrics
apache2ctl configtest > "$T/configtest-metrics.out" 2>&1 || true
snap 2-metrics-enabled
run prerm remove
rm /usr/lib/apache2/modules/mod_cors.so
run postrm remove
snap 3-removed
apache2ctl configtest > "$T/configtest-removed.out" 2>&1 || true
rm /etc/apache2/mods-available/cors.load /etc/apache2/mods-available/cors.conf \
   /etc/apache2/conf-available/cors-metrics.conf
run postrm purge
snap 4-purged
apache2ctl configtest > "$T/configtest-purged.out" 2>&1 || true
'''


def _tree(path):
    """A listing of path: names, link targets and sizes."""
    out = []
    for d, dirs, files in os.walk(path):
        for f in sorted(dirs + files):
            p = os.path.join(d, f)
            out.append((p, os.readlink(p) if os.path.islink(p) else
                        os.path.getsize(p) if os.path.isfile(p) else 'dir'))
    return sorted(out)


def test_maintainer_scripts(deb):
    """Installing enables the module (a2enmod cors through dh_apache2's
    postinst, and a restart), removing disables it, purging forgets it and
    the cors-metrics link an admin made; the configuration loads at each
    step, and the machine's own Apache configuration, a2enmod state and
    dpkg database are untouched."""
    from debian_root import DebianRoot
    if os.geteuid() != 0 or shutil.which('unshare') is None:
        pytest.fail('the maintainer-script test runs as root with unshare (util-linux)',
                    pytrace=False)
    before = (_tree('/etc/apache2'), _tree('/var/lib/apache2'),
              subprocess.run(['dpkg-query', '-W', '-f', '${Status}', NAME],
                             capture_output=True, text=True).stdout)
    t = os.path.join(PKG, 'maint')
    shutil.rmtree(t, ignore_errors=True)
    os.makedirs(t)
    # /etc/apache2 as apache2 installs it, mod_cors not enabled, and the
    # package's files unpacked into it (what dpkg does before postinst)
    root = DebianRoot(os.path.join('pkg', 'maint', 'root'), cors=False)
    unpacked = os.path.join(t, 'unpacked')
    run(['dpkg-deb', '-x', deb, unpacked])
    run(['dpkg-deb', '-e', deb, os.path.join(t, 'ctrl')])
    os.rename(root.conf, os.path.join(t, 'etc-apache2'))
    for f in ('mods-available/cors.load', 'mods-available/cors.conf',
              'conf-available/cors-metrics.conf'):
        shutil.copy(os.path.join(unpacked, 'etc', 'apache2', f), os.path.join(t, 'etc-apache2', f))
    shutil.copytree('/var/lib/apache2', os.path.join(t, 'var-lib-apache2'), symlinks=True)
    shutil.copytree('/usr/lib/apache2/modules', os.path.join(t, 'modules'), symlinks=True)
    shutil.copy(os.path.join(unpacked, MODULE[1:]), os.path.join(t, 'modules'))
    os.makedirs(os.path.join(t, 'log'))
    with open(os.path.join(t, 'invoke-rc.d'), 'w') as f:
        f.write('#!/bin/sh\necho "$*" >> %s/invoke-rc.d.log\n' % t)
    with open(os.path.join(t, 'logger'), 'w') as f:
        f.write('#!/bin/sh\nexit 0\n')
    os.chmod(os.path.join(t, 'invoke-rc.d'), 0o755)
    os.chmod(os.path.join(t, 'logger'), 0o755)
    p = subprocess.run(['unshare', '--mount', '--propagation', 'private',
                        'bash', '-c', MAINT_SCRIPT, 'maint', t],
                       capture_output=True, text=True, timeout=300)
    outs = {f: open(os.path.join(t, f)).read() for f in os.listdir(t) if f.endswith('.out')}
    assert p.returncode == 0, p.stdout + p.stderr + repr(outs)

    def snap(name):
        return open(os.path.join(t, name)).read().splitlines()

    assert snap('0-unpacked') == ['restarts: ', 'state: ']
    # installed: enabled as a2enmod does, remembered as enabled by the
    # package, and apache2 restarted (its configuration test passed)
    assert snap('1-installed') == ['cors.conf -> ../mods-available/cors.conf',
                                   'cors.load -> ../mods-available/cors.load',
                                   'restarts: apache2 restart;',
                                   'state: ./module/enabled_by_maint/cors '], outs
    assert snap('2-metrics-enabled')[:3] == [
        'cors.conf -> ../mods-available/cors.conf', 'cors.load -> ../mods-available/cors.load',
        'cors-metrics.conf -> ../conf-available/cors-metrics.conf']
    # removed: disabled (and remembered as disabled by the package), restarted
    assert snap('3-removed') == ['cors-metrics.conf -> ../conf-available/cors-metrics.conf',
                                 'restarts: apache2 restart;apache2 restart;',
                                 'state: ./conf/enabled_by_admin/cors-metrics '
                                 './module/disabled_by_maint/cors '], outs
    # purged: nothing left of the module, and the admin's cors-metrics link
    # removed (a2disconf keeps its note that the admin had enabled it)
    assert snap('4-purged') == ['restarts: apache2 restart;apache2 restart;apache2 reload;',
                                'state: ./conf/enabled_by_admin/cors-metrics '], outs
    assert not os.path.lexists(os.path.join(t, 'etc-apache2', 'conf-enabled', 'cors-metrics.conf'))
    # the configuration loads at every step
    for step in ('installed', 'metrics', 'removed', 'purged'):
        assert 'Syntax OK' in outs['configtest-%s.out' % step], outs
    after = (_tree('/etc/apache2'), _tree('/var/lib/apache2'),
             subprocess.run(['dpkg-query', '-W', '-f', '${Status}', NAME],
                            capture_output=True, text=True).stdout)
    assert after == before


@pytest.mark.parametrize('cors', [True, False], ids=['with-module', 'without-module'])
def test_metrics_conf(deb, cors):
    """The packaged conf-available/cors-metrics.conf, enabled with a2enconf,
    passes apache2 -t in a Debian-layout root with the module and without it
    (its <IfModule cors_module>); with the module, /cors-metrics answers the
    server itself (Require local) with the Prometheus page."""
    from debian_root import DebianRoot
    root = DebianRoot('pkg-metrics-%s' % ('mod' if cors else 'nomod'), cors=cors)
    with _tar_of(['dpkg-deb', '--fsys-tarfile', deb]) as t:
        text = t.extractfile('./etc/apache2/conf-available/cors-metrics.conf').read().decode()
    assert '<IfModule cors_module>' in text and 'Require local' in text
    root.write('conf-available/cors-metrics.conf', text)
    root.enable('conf', 'cors-metrics')
    rc, out = root.apache2('-t')
    assert rc == 0 and 'Syntax OK' in out, out
    if not cors:
        return
    rc, out = root.apache2('-k', 'start')
    assert rc == 0, out
    pid_file = os.path.join(root.run_dir, 'apache2.pid')
    try:
        for _ in range(100):
            p = subprocess.run(['curl', '-s', '-o', '/dev/null', '-w', '%{http_code} %{content_type}',
                                'http://127.0.0.1:%d/cors-metrics' % root.port],
                               capture_output=True, text=True, timeout=30)
            if p.stdout and not p.stdout.startswith('000'):
                break
            time.sleep(0.1)
        assert p.stdout == '200 text/plain; version=0.0.4; charset=utf-8', p.stdout
    finally:
        root.apache2('-k', 'graceful-stop')
        for _ in range(200):
            if not os.path.exists(pid_file):
                break
            time.sleep(0.1)
