"""A Debian-layout server root under tests/run/: an /etc/apache2 tree as the
apache2 package installs it (apache2.conf, ports.conf, envvars' variables,
mods-/conf-/sites-available and the modules, configurations and site that
Debian enables by default), with mod_cors's files where the package puts
them, and `${APACHE_LOG_DIR}` and the other envvars under the root.

Nothing outside the root is written: the system's /etc/apache2 is only read
(its -available files are copied), and apache2 runs with `-d` and `-f` on the
copy and APACHE_* variables that point into the root.
"""
import os
import shutil
import subprocess

from harness import APACHE, IS_ROOT, REPO, RUN_DIR, free_port

SYSTEM_CONF = '/etc/apache2'
# What Debian's apache2 package enables on installation (its postinst:
# a2enmod/a2enconf/a2ensite in apache2's "configure"), with the event MPM.
DEFAULT_MODS = ['access_compat', 'alias', 'auth_basic', 'authn_core', 'authn_file',
                'authz_core', 'authz_host', 'authz_user', 'autoindex', 'deflate', 'dir',
                'env', 'filter', 'mime', 'mpm_event', 'negotiation', 'reqtimeout',
                'setenvif', 'status']
DEFAULT_CONFS = ['charset', 'localized-error-pages', 'other-vhosts-access-log',
                 'security', 'serve-cgi-bin']
DEFAULT_SITES = ['000-default']
# where the package installs what the checkout has
MODULE = '/usr/lib/apache2/modules/mod_cors.so'
DOC = '/usr/share/doc/libapache2-mod-cors'
SO = os.path.join(REPO, '.libs', 'mod_cors.so')


def require_debian_apache():
    """Fail (never skip) without Debian's apache2 and its /etc/apache2."""
    for p in (APACHE, os.path.join(SYSTEM_CONF, 'apache2.conf'),
              os.path.join(SYSTEM_CONF, 'mods-available', 'mpm_event.load')):
        if not os.path.exists(p):
            raise AssertionError('%s is missing: the Debian-layout checks need Debian\'s '
                                 'apache2 (apt-get install apache2)' % p)
    if not os.path.isfile(SO):
        raise AssertionError('%s is missing: run "make" first' % SO)


class DebianRoot:
    """<RUN_DIR>/<name>/etc/apache2 and the directories envvars names."""

    def __init__(self, name, cors=True, mods=(), confs=(), port=None):
        require_debian_apache()
        self.root = os.path.join(RUN_DIR, name)
        self.conf = os.path.join(self.root, 'etc', 'apache2')
        self.log_dir = os.path.join(self.root, 'var', 'log', 'apache2')
        self.run_dir = os.path.join(self.root, 'run', 'apache2')
        self.lock_dir = os.path.join(self.root, 'lock', 'apache2')
        self.port = port or free_port()
        shutil.rmtree(self.root, ignore_errors=True)
        for d in (self.log_dir, self.run_dir, self.lock_dir):
            os.makedirs(d)
        os.makedirs(self.conf)
        # (envvars only for apache2ctl, which the package's maintainer
        # scripts run; apache2() below passes its variables itself)
        for f in ('apache2.conf', 'magic', 'envvars'):
            shutil.copy(os.path.join(SYSTEM_CONF, f), self.conf)
        for d in ('mods', 'conf', 'sites'):
            shutil.copytree(os.path.join(SYSTEM_CONF, d + '-available'),
                            os.path.join(self.conf, d + '-available'))
            os.makedirs(os.path.join(self.conf, d + '-enabled'))
        # Listen on 127.0.0.1 only, on a free port (ports.conf's first line in
        # Debian is "Listen 80"); no TLS port without mod_ssl
        with open(os.path.join(self.conf, 'ports.conf'), 'w') as f:
            f.write('Listen 127.0.0.1:%d\n' % self.port)
        site = os.path.join(self.conf, 'sites-available', '000-default.conf')
        text = open(site).read().replace('<VirtualHost *:80>',
                                         '<VirtualHost *:%d>' % self.port)
        with open(site, 'w') as f:
            f.write(text)
        # the package's files, as `apt install` puts them; the module itself
        # is the checkout's build
        avail = os.path.join(self.conf, 'mods-available')
        with open(os.path.join(REPO, 'conf', 'cors.load')) as f:
            load = f.read().replace(MODULE, SO)
        with open(os.path.join(avail, 'cors.load'), 'w') as f:
            f.write(load)
        shutil.copy(os.path.join(REPO, 'conf', 'cors.conf'), avail)
        for name_ in os.listdir(os.path.join(REPO, 'conf')):
            if name_.endswith('.conf') and name_ != 'cors.conf':
                shutil.copy(os.path.join(REPO, 'conf', name_),
                            os.path.join(self.conf, 'conf-available'))
        for m in DEFAULT_MODS + list(mods) + (['cors'] if cors else []):
            self.enable('mods', m)
        for c in DEFAULT_CONFS + list(confs):
            self.enable('conf', c)
        for s in DEFAULT_SITES:
            self.enable('sites', s)
        if IS_ROOT:
            for d in (self.log_dir, self.run_dir, self.lock_dir):
                shutil.chown(d, 'www-data', 'www-data')
            for d in (self.root, os.path.dirname(self.log_dir), os.path.dirname(self.run_dir),
                      os.path.dirname(self.lock_dir)):
                os.chmod(d, 0o755)

    def enable(self, kind, name):
        """What a2enmod/a2enconf/a2ensite do: a relative link in *-enabled."""
        avail = os.path.join(self.conf, kind + '-available')
        exts = ('.load', '.conf') if kind == 'mods' else ('.conf',)
        found = False
        for ext in exts:
            if os.path.exists(os.path.join(avail, name + ext)):
                link = os.path.join(self.conf, kind + '-enabled', name + ext)
                if not os.path.lexists(link):
                    os.symlink('../%s-available/%s%s' % (kind, name, ext), link)
                found = True
        if not found:
            raise AssertionError('no %s/%s-available/%s' % (self.conf, kind, name))

    def write(self, relpath, text):
        path = os.path.join(self.conf, relpath)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, 'w') as f:
            f.write(text)
        return path

    def env(self):
        """envvars' variables, pointing into the root."""
        env = {k: v for k, v in os.environ.items() if not k.startswith('APACHE_')}
        env.update(APACHE_RUN_USER='www-data', APACHE_RUN_GROUP='www-data',
                   APACHE_PID_FILE=os.path.join(self.run_dir, 'apache2.pid'),
                   APACHE_RUN_DIR=self.run_dir, APACHE_LOCK_DIR=self.lock_dir,
                   APACHE_LOG_DIR=self.log_dir, LANG='C')
        return env

    def apache2(self, *args, timeout=60):
        """apache2 on this root, e.g. apache2('-t'): (exit status, output)."""
        p = subprocess.run([APACHE, '-d', self.conf, '-f',
                            os.path.join(self.conf, 'apache2.conf')] + list(args),
                           capture_output=True, text=True, env=self.env(), timeout=timeout)
        return p.returncode, p.stdout + p.stderr
