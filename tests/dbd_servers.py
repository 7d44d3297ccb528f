"""Real database and cache servers for the tests of CorsAllowOriginDBDQuery
(tests/test_dbd.py): a throwaway PostgreSQL cluster, memcached and
redis-server, each started on 127.0.0.1 (or a Unix socket) in a directory
under tests/run/, bounded in time, and stopped by pid.  A missing Debian
package is a failure naming the apt-get line, never a skip."""
import atexit
import glob
import os
import pwd
import shutil
import signal
import sqlite3
import subprocess
import time

from harness import IS_ROOT, RUN_DIR, RUN_USER, free_port

# tools/deps.sh test installs these
PACKAGES = {
    'sqlite': ('/usr/lib/x86_64-linux-gnu/apr-util-1/apr_dbd_sqlite3-1.so',
               'libaprutil1-dbd-sqlite3'),
    'sqlite3': ('/usr/bin/sqlite3', 'sqlite3'),
    'pgsql': ('/usr/lib/x86_64-linux-gnu/apr-util-1/apr_dbd_pgsql-1.so',
              'libaprutil1-dbd-pgsql'),
    'postgres': (None, 'postgresql'),
    'memcached': ('/usr/bin/memcached', 'memcached'),
    'redis': ('/usr/bin/redis-server', 'redis-server'),
}

TENANTS = 'CREATE TABLE tenants (origin VARCHAR(300) PRIMARY KEY)'


def need(*names):
    """Fail, naming the apt-get line, unless every package is installed."""
    missing = []
    for n in names:
        path, pkg = PACKAGES[n]
        if n == 'postgres':
            ok = bool(pg_bindir())
        else:
            ok = os.path.exists(path)
        if not ok:
            missing.append(pkg)
    if missing:
        raise AssertionError('missing Debian packages: apt-get install -y %s'
                             % ' '.join(missing))


def pg_bindir():
    """Debian's PostgreSQL programs (not /usr/local/bin's)."""
    found = sorted(glob.glob('/usr/lib/postgresql/*/bin/postgres'))
    return os.path.dirname(found[-1]) if found else None


def _wait(what, ok, timeout=20):
    end = time.time() + timeout
    while time.time() < end:
        if ok():
            return
        time.sleep(0.1)
    raise AssertionError('%s did not come up within %ds' % (what, timeout))


def _stop_pid(proc, sig, timeout=15):
    """Stop a process we started, by its pid; SIGKILL if it lingers."""
    if proc.poll() is not None:
        return
    os.kill(proc.pid, sig)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(5)


def _demote(user):
    """preexec_fn: run as user (postgres refuses to run as root)."""
    pw = pwd.getpwnam(user)

    def f():
        os.setgid(pw.pw_gid)
        os.setgroups([])
        os.setuid(pw.pw_uid)
    return f


def _port_open(port):
    import socket
    try:
        with socket.create_connection(('127.0.0.1', port), timeout=0.5):
            return True
    except OSError:
        return False


class SQLite:
    """A tenants.db file, written with Python's sqlite3 (the library the
    server's driver uses), readable by the server's user."""
    driver = 'sqlite3'

    def __init__(self, name):
        need('sqlite')
        self.dir = os.path.join(RUN_DIR, name)
        shutil.rmtree(self.dir, ignore_errors=True)
        os.makedirs(self.dir)
        self.path = os.path.join(self.dir, 'tenants.db')
        # WAL: the server's readers are never locked out by a write
        # (docs/database.md)
        self.execute('PRAGMA journal_mode=WAL', TENANTS)
        self.params = self.path

    def _own(self):
        """The directory and its files (the -wal and -shm files too) are the
        server's user's, whoever wrote last."""
        if IS_ROOT:
            pw = pwd.getpwnam(RUN_USER)
            for name in ['.'] + os.listdir(self.dir):
                os.chown(os.path.join(self.dir, name), pw.pw_uid, pw.pw_gid)

    def execute(self, *statements):
        con = sqlite3.connect(self.path, timeout=10)
        try:
            for s in statements:
                if isinstance(s, tuple):
                    con.execute(*s)
                else:
                    con.execute(s)
            con.commit()
        finally:
            con.close()
            self._own()

    def add(self, *origins):
        self.execute(*[('INSERT INTO tenants VALUES (?)', (o,)) for o in origins])

    def remove(self, *origins):
        self.execute(*[('DELETE FROM tenants WHERE origin = ?', (o,)) for o in origins])

    def stop(self):
        pass


class Postgres:
    """A throwaway cluster: initdb in tests/run/<name>, postgres on a Unix
    socket there (and no TCP), run as the postgres user, every statement
    logged (log_statement=all) so that tests count the queries."""
    driver = 'pgsql'

    def __init__(self, name, timeout=30):
        need('pgsql', 'postgres')
        self.bin = pg_bindir()
        self.user = 'postgres' if IS_ROOT else pwd.getpwuid(os.getuid()).pw_name
        self.dir = os.path.join(RUN_DIR, name)
        shutil.rmtree(self.dir, ignore_errors=True)
        os.makedirs(self.dir)
        self.data = os.path.join(self.dir, 'data')
        self.sock = os.path.join(self.dir, 'sock')
        os.makedirs(self.sock)
        self.log = os.path.join(self.dir, 'postgres.log')
        if IS_ROOT:
            pw = pwd.getpwnam(self.user)
            for d in (self.dir, self.sock):
                os.chown(d, pw.pw_uid, pw.pw_gid)
            os.chmod(self.sock, 0o755)
        self.port = free_port()
        self.proc = None
        self._as_user([os.path.join(self.bin, 'initdb'), '-D', self.data, '-A', 'trust',
                       '-U', 'cors', '--no-sync', '-E', 'UTF8'], timeout=120)
        self.params = 'host=%s port=%d dbname=postgres user=cors' % (self.sock, self.port)
        atexit.register(self.stop)      # whatever happens to the session
        self.start(timeout)
        self.execute(TENANTS)

    def _as_user(self, argv, timeout):
        p = subprocess.run(argv, preexec_fn=_demote(self.user) if IS_ROOT else None,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=timeout, cwd=self.dir)
        if p.returncode:
            raise AssertionError('%s failed:\n%s' % (argv[0], p.stdout.decode()))
        return p.stdout.decode()

    def start(self, timeout=30):
        logf = open(self.log, 'ab')
        self.proc = subprocess.Popen(
            [os.path.join(self.bin, 'postgres'), '-D', self.data, '-p', str(self.port),
             '-k', self.sock, '-c', 'listen_addresses=', '-c', 'fsync=off',
             '-c', 'log_statement=all', '-c', 'max_connections=100'],
            preexec_fn=_demote(self.user) if IS_ROOT else None, stdout=logf,
            stderr=subprocess.STDOUT, cwd=self.dir)
        logf.close()
        sockfile = os.path.join(self.sock, '.s.PGSQL.%d' % self.port)

        def up():
            if self.proc.poll() is not None:
                raise AssertionError('postgres exited:\n' + open(self.log).read()[-3000:])
            return os.path.exists(sockfile) and self.psql('SELECT 1', check=False)[0] == 0
        _wait('postgres', up, timeout)

    def psql(self, sql, check=True):
        p = subprocess.run([os.path.join(self.bin, 'psql'), '-X', '-q', '-v',
                            'ON_ERROR_STOP=1', '-h', self.sock, '-p', str(self.port),
                            '-U', 'cors', '-d', 'postgres', '-c', sql],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=30)
        if check and p.returncode:
            raise AssertionError('psql %r: %s' % (sql, p.stdout.decode()))
        return p.returncode, p.stdout.decode()

    def execute(self, *statements):
        for s in statements:
            self.psql(s)

    @staticmethod
    def _lit(o):
        return "'" + o.replace("'", "''") + "'"

    def add(self, *origins):
        self.execute(*['INSERT INTO tenants VALUES (%s)' % self._lit(o) for o in origins])

    def remove(self, *origins):
        self.execute(*['DELETE FROM tenants WHERE origin = %s' % self._lit(o)
                       for o in origins])

    def executed(self, origin):
        """How many times the server ran a prepared statement with this
        parameter (its log: log_statement=all)."""
        needle = "$1 = '%s'" % origin.replace("'", "''")
        with open(self.log, encoding='latin-1') as f:
            return sum(1 for line in f if 'DETAIL:' in line and needle in line)

    def stop(self):
        """Fast shutdown (SIGINT), by pid."""
        if self.proc:
            _stop_pid(self.proc, signal.SIGINT)
            self.proc = None


class Memcached:
    def __init__(self):
        need('memcached')
        self.port = free_port()
        argv = ['/usr/bin/memcached', '-l', '127.0.0.1', '-p', str(self.port), '-U', '0',
                '-m', '16']
        if IS_ROOT:
            argv += ['-u', 'nobody']
        self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        atexit.register(self.stop)
        _wait('memcached', lambda: _port_open(self.port))
        self.spec = 'memcache:127.0.0.1:%d' % self.port

    def stop(self):
        _stop_pid(self.proc, signal.SIGTERM)


class Redis:
    def __init__(self):
        need('redis')
        self.port = free_port()
        self.proc = subprocess.Popen(
            ['/usr/bin/redis-server', '--bind', '127.0.0.1', '--port', str(self.port),
             '--save', '', '--appendonly', 'no', '--protected-mode', 'no',
             '--dir', RUN_DIR], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        atexit.register(self.stop)
        _wait('redis-server', lambda: _port_open(self.port))
        self.spec = 'redis:127.0.0.1:%d' % self.port

    def stop(self):
        _stop_pid(self.proc, signal.SIGTERM)
