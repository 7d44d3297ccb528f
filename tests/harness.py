"""Test harness for mod_cors: throw-away Apache httpd instances and a raw HTTP client.

Each Httpd gets a self-contained server root under tests/run/<name>-<MPM>/ so
nothing in /etc/apache2 or /run/apache2 is touched.  The HTTP client never folds
header lines into a dict: tests must be able to see duplicated header lines.
"""
import atexit
import ctypes
import fcntl
import os
import re
import shlex
import shutil
import signal
import socket
import stat
import subprocess
import sys
import time
import warnings

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
RUN_DIR = os.path.join(HERE, 'run')
# CORS_SO=/path/to/mod_cors.so tests another build (make test-asan: a sanitizer build)
CORS_SO = os.environ.get('CORS_SO') or os.path.join(REPO, '.libs', 'mod_cors.so')
APACHE = '/usr/sbin/apache2'
HTPASSWD = '/usr/bin/htpasswd'
MPM = os.environ.get('CORS_TEST_MPM', 'event')
if MPM not in ('event', 'prefork'):
    raise RuntimeError('CORS_TEST_MPM must be "event" or "prefork", not %r' % MPM)


def _module_dir():
    try:
        out = subprocess.run(['apxs', '-q', 'LIBEXECDIR'], capture_output=True,
                             text=True, timeout=10).stdout.strip()
        if out and os.path.isdir(out):
            return out
    except (OSError, subprocess.SubprocessError):
        pass
    return '/usr/lib/apache2/modules'


MODULE_DIR = _module_dir()
# Compiled into Debian's apache2: core, mod_so, mod_watchdog, http_core,
# mod_log_config, mod_logio, mod_version, mod_unixd.  Everything else is loaded.
BASE_MODULES = ['authz_core', 'authz_host', 'authz_user', 'authn_core', 'authn_file',
                'auth_basic', 'mime', 'dir', 'alias', 'rewrite', 'headers', 'env',
                'setenvif', 'proxy', 'proxy_http']
IS_ROOT = os.geteuid() == 0
RUN_USER = 'www-data'

# Error-log levels that count as "bad"; crash lines are bad at any level.
BAD_LEVELS = {'warn', 'error', 'crit', 'alert', 'emerg'}
# Evidence that a process of the server died abnormally (crash_lines()).  The
# parent logs a child's death by a signal at notice level: AH00052 "child pid N
# exit signal Segmentation fault (11)", AH00051 "..., possible coredump in".
CRASH_PATTERNS = [
    r'exit signal', r'\bAH0005[12]\b', r'dumped core', r'possible coredump',
    r'\bAH00060\b', r'seg fault or similar nasty error',    # the parent itself
    r'\bAH00050\b',                  # a child's fatal error: httpd exits
    r'\bAH0004[67]\b',               # a child httpd had to SIGKILL, or gave up on
    r'\bAH01239\b',                  # mod_cgid's daemon died
    r'Segmentation fault', r'Bus error', r'Illegal instruction',
    r'Floating point exception', r'Aborted \(core dumped\)',
    r'AddressSanitizer', r'LeakSanitizer', r'UndefinedBehaviorSanitizer',
    r'runtime error: ',                # UBSan
    # valgrind (wrapper logs): SIGTERM is how -X is stopped
    r'Process terminating with default action of signal (?!15 )\d+',
]
ALWAYS_BAD = CRASH_PATTERNS
_CRASH_RE = re.compile('|'.join('(?:%s)' % p for p in CRASH_PATTERNS))
# a child's or the parent's death by one of these is how httpd stops them
_STOP_SIGNALS = {signal.SIGTERM, signal.SIGKILL, signal.SIGHUP, signal.SIGUSR1}
_LOG_RE = re.compile(r'^\[[^\]]*\] \[([^:\]\s]*):(\w+)\]')

# ---- reliability runs: see the Makefile's test-asan and test-valgrind.
# CORS_HTTPD_PRELOAD: LD_PRELOAD for apache2 alone (the sanitizer runtimes); the
#   ASAN_OPTIONS/UBSAN_OPTIONS given get log_path=<root>/reports/{asan,ubsan}.
# CORS_HTTPD_WRAPPER: a command apache2 runs under, e.g. "valgrind ... --log-file={log}";
#   the server then runs in the foreground as one process (-X), and {log} becomes
#   <root>/reports/wrapper.%p.log.
# CORS_TEST_TIME_SCALE: multiplies the start/stop timeouts (slow runs under valgrind).
# Any report in <root>/reports/ fails the test, the module's fixture or the session
# (see sanitizer_reports() and conftest.py).
HTTPD_PRELOAD = os.environ.get('CORS_HTTPD_PRELOAD', '').strip()
HTTPD_WRAPPER = shlex.split(os.environ.get('CORS_HTTPD_WRAPPER', ''))
TIME_SCALE = float(os.environ.get('CORS_TEST_TIME_SCALE') or 1)
_VG_SUMMARY = re.compile(r'ERROR SUMMARY: (\d+) errors')


def free_port():
    """A currently unused TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _port_open(port, host='127.0.0.1'):
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def _pid_alive(pid):
    """True if pid exists and is not a zombie (our pid 1 may not reap orphans)."""
    try:
        with open('/proc/%d/stat' % pid) as f:
            return f.read().rsplit(')', 1)[1].split()[0] != 'Z'
    except (OSError, IndexError):
        return False


def _become_subreaper():
    """`apache2 -k start` daemonizes; as child subreaper we inherit the daemon and
    can reap it (pid 1 in containers often does not, leaving zombies)."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
    except (OSError, AttributeError):
        pass


def _reap(pid):
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def _check_traversable(path):
    """The unprivileged children (User www-data) must be able to reach path."""
    p = os.path.dirname(os.path.abspath(path))
    while True:
        if not os.stat(p).st_mode & 0o001:
            raise RuntimeError('%s is not traversable by others (mode %o); httpd children '
                               'running as %s cannot reach the test server root. Run '
                               '"chmod o+x %s".' % (p, stat.S_IMODE(os.stat(p).st_mode),
                                                     RUN_USER, p))
        if p == '/':
            return
        p = os.path.dirname(p)


def _write(path, content, mode):
    d = os.path.dirname(path)
    os.makedirs(d, exist_ok=True)
    os.chmod(d, 0o755)
    with open(path, 'wb') as f:
        f.write(content.encode('latin-1') if isinstance(content, str) else content)
    os.chmod(path, mode)


_claimed = {}   # server roots this process holds the lock of: {root: open lock file}


def _claim_root(base):
    """RUN_DIR/base, locked for this process (flock on RUN_DIR/base.lock, held
    until the process exits); if another live process (a concurrent pytest
    session) holds it, RUN_DIR/base-p<pid> instead.  So a session never removes,
    reuses or stops another's server root, and a root whose lock is free
    belongs to no running session: a server left in it is stale."""
    os.makedirs(RUN_DIR, exist_ok=True)
    os.chmod(RUN_DIR, 0o755)
    for name in (base, '%s-p%d' % (base, os.getpid())):
        root = os.path.join(RUN_DIR, name)
        if root in _claimed:
            return root
        f = open(root + '.lock', 'a')
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.close()
            continue
        _claimed[root] = f
        return root
    raise RuntimeError('cannot lock a server root for ' + base)


class CrashDetected(AssertionError):
    """A process of a test server died abnormally, or a stop needed a fallback."""


class Httpd:
    running = set()   # started and not yet stopped instances (stopped at exit)
    reports_found = []  # (path, excerpt) of sanitizer/valgrind reports seen by stop()
    # (server name, where, lines) of every crash check that found something:
    # any entry fails the pytest session (conftest.py), or the process (atexit)
    crashes_found = []

    def __init__(self, name, body_config, extra_listen=0, modules=None, load_cors=True,
                 mpm=None):
        self.name = name
        self.mpm = mpm or MPM       # a test may need one MPM (mod_http2: not prefork)
        self.root = _claim_root('%s-%s' % (name, self.mpm))
        self.htdocs = os.path.join(self.root, 'htdocs')
        self.error_log = os.path.join(self.root, 'logs', 'error_log')
        self.access_log = os.path.join(self.root, 'logs', 'access_log')
        self.pid_file = os.path.join(self.root, 'run', 'httpd.pid')
        self.conf = os.path.join(self.root, 'conf', 'httpd.conf')
        self.reports = os.path.join(self.root, 'reports')
        self.proc = None            # the foreground apache2 under CORS_HTTPD_WRAPPER
        self.ports = [free_port() for _ in range(1 + extra_listen)]
        self.port = self.ports[0]
        self.pid = None
        self.start_mark = 0
        self.start_output = ''      # what the last start() printed (see start())
        self.started_at = 0.0       # time of the last start()
        self._exit_evidence = []    # [harness] lines about how processes ended
        self._crash_seen = set()    # crash lines already reported (or expected)
        self._scanned = (None, 0, [])   # (start_mark, scanned up to, crash lines)
        if load_cors and not os.path.isfile(CORS_SO):
            raise RuntimeError('%s is missing: run "make" in %s first' % (CORS_SO, REPO))
        self._setup_root()
        _write(self.conf, self._config(body_config, modules or (), load_cors), 0o644)

    # -- server root and configuration ---------------------------------------
    def _setup_root(self):
        os.makedirs(RUN_DIR, exist_ok=True)
        os.chmod(RUN_DIR, 0o755)
        if IS_ROOT:
            _check_traversable(self.root)
        self._kill_stale()
        shutil.rmtree(self.root, ignore_errors=True)
        for d in ('conf', 'htdocs', 'logs', 'cgi-bin', 'run'):
            os.makedirs(os.path.join(self.root, d))
        for d in (self.root, *(os.path.join(self.root, x) for x in os.listdir(self.root))):
            os.chmod(d, 0o755)
        # sanitizer/valgrind reports, written by children running as www-data too
        os.makedirs(self.reports)
        os.chmod(self.reports, 0o1777)
        sock = os.path.join(self.root, 'run', 'cgisock')
        if len(sock) >= 100:
            raise RuntimeError('server root path too long for the cgid socket: ' + sock)

    def _kill_stale(self):
        """Stop a server an earlier (crashed) session left running in this root."""
        try:
            pid = int(open(self.pid_file).read().split()[0])
            cmd = open('/proc/%d/cmdline' % pid, 'rb').read()
        except (OSError, ValueError, IndexError):
            return
        if self.root.encode() in cmd and _pid_alive(pid):
            self.pid = pid
            self.stop(check=False)

    def _config(self, body, modules, load_cors):
        r = self.root
        MPM = self.mpm
        mods = ['mpm_' + MPM] + BASE_MODULES + ['cgid' if MPM == 'event' else 'cgi']
        lines = []
        for m in list(mods) + list(modules):
            if isinstance(m, tuple):        # (module_name, path) for odd modules
                lines.append('LoadModule %s %s' % m)
                continue
            m = m[4:] if m.startswith('mod_') else m
            m = m[:-3] if m.endswith('.so') else m
            line = 'LoadModule %s_module %s/mod_%s.so' % (m, MODULE_DIR, m)
            if line not in lines:
                lines.append(line)
        if load_cors:
            lines.append('LoadModule cors_module %s' % CORS_SO)
        if MPM == 'event':
            mpm = ('StartServers 1\nServerLimit 2\nThreadsPerChild 10\n'
                   'MaxRequestWorkers 20\nMinSpareThreads 5\nMaxSpareThreads 20\n'
                   'ThreadLimit 10')
        else:
            mpm = 'StartServers 2\nMinSpareServers 1\nMaxSpareServers 5\nMaxRequestWorkers 10'
        user = 'User %s\nGroup %s' % (RUN_USER, RUN_USER) if IS_ROOT else ''
        head = '''# generated by tests/harness.py -- do not edit
ServerRoot "{r}"
{listen}
ServerName 127.0.0.1
{lines}
{user}
PidFile "{r}/run/httpd.pid"
DefaultRuntimeDir "{r}/run"
Mutex file:{r}/run default
ScoreBoardFile "{r}/run/scoreboard"
{cgid}ErrorLog logs/error_log
LogLevel warn{cors_level}
LogFormat "%h \\"%r\\" %>s cors=%{{CORS_RESULT}}e" cors
CustomLog logs/access_log cors
{mpm}
Timeout 10
KeepAlive Off
GracefulShutdownTimeout 3
TypesConfig /etc/mime.types
DocumentRoot "{r}/htdocs"
DirectoryIndex index.html
AddHandler cgi-script .cgi
ScriptAlias /cgi-bin/ "{r}/cgi-bin/"
<Directory />
    AllowOverride None
    Require all denied
</Directory>
<Directory "{r}/htdocs">
    AllowOverride All
    Options +ExecCGI -Indexes
    Require all granted
</Directory>
<Directory "{r}/cgi-bin">
    AllowOverride None
    Options +ExecCGI
    Require all granted
</Directory>

# ---- test configuration ----
'''.format(r=r, lines='\n'.join(lines), user=user, mpm=mpm,
           cgid='ScriptSock "%s/run/cgisock"\n' % r if MPM == 'event' else '',
           cors_level=' cors:debug' if load_cors else '',
           listen='\n'.join('Listen 127.0.0.1:%d' % p for p in self.ports))
        subst = [('{root}', r), ('{htdocs}', self.htdocs), ('{port}', str(self.port))]
        subst += [('{port%d}' % i, str(p)) for i, p in enumerate(self.ports)]
        for token, value in subst:
            body = body.replace(token, value)
        return head + body + '\n'

    # -- files -----------------------------------------------------------------
    def write(self, relpath, content, mode=0o644):
        """Write a file below htdocs (parent directories are created)."""
        _write(os.path.join(self.htdocs, relpath), content, mode)

    def reconfigure(self, body_config, modules=None, load_cors=True):
        """Write a new httpd.conf (the same head, a new test configuration)
        for the next restart."""
        _write(self.conf, self._config(body_config, modules or (), load_cors), 0o644)

    def write_root(self, relpath, content, mode=0o644):
        """Write a file below the server root, e.g. 'cgi-bin/x.cgi' (use mode 0o755)."""
        _write(os.path.join(self.root, relpath), content, mode)

    def htpasswd(self, user, password):
        """Create <root>/htpasswd holding a single user."""
        path = os.path.join(self.root, 'htpasswd')
        subprocess.run([HTPASSWD, '-cb', path, user, password], check=True,
                       capture_output=True)
        os.chmod(path, 0o644)
        return path

    # -- process control ---------------------------------------------------------
    def _command(self, *args):
        cmd = [APACHE, '-d', self.root, '-f', self.conf] + list(args)
        if HTTPD_WRAPPER:
            log = os.path.join(self.reports, 'wrapper.%p.log')
            cmd = [a.replace('{log}', log) for a in HTTPD_WRAPPER] + cmd
        return cmd

    def _apache(self, *args):
        return subprocess.run(self._command(*args), capture_output=True, text=True,
                              timeout=30 * TIME_SCALE, env=_env(self.reports))

    def _start_foreground(self):
        """Under CORS_HTTPD_WRAPPER: apache2 -X (one process, no detach) as our child."""
        out = open(os.path.join(self.reports, 'stderr.txt'), 'ab')
        # a process group of its own: what it forks (mod_cgid's daemon) is
        # stopped with it, even when it dies without cleaning up
        self.proc = subprocess.Popen(self._command('-X'), stdin=subprocess.DEVNULL,
                                     stdout=out, stderr=out, env=_env(self.reports),
                                     start_new_session=True)
        out.close()
        self.pid = self.proc.pid
        return subprocess.CompletedProcess(self.proc.args, 0, '', '')

    def sanitizer_reports(self, since=0.0):
        """Reports written under reports/ since the given time: AddressSanitizer and
        UBSan report files (any content), valgrind logs whose ERROR SUMMARY is not 0.
        Returns a list of (path, excerpt)."""
        return reports_in(self.reports, since)

    def _fail(self, what, extra=''):
        log = ''
        if os.path.exists(self.error_log):
            log = open(self.error_log, encoding='latin-1').read()[-4000:]
        raise RuntimeError('httpd %s: %s\n%s\n--- error_log ---\n%s'
                           % (self.name, what, extra, log))

    def start(self):
        self.start_mark = self.log_mark()
        self.started_at = time.time() - 1    # file times are coarser than time()
        self._exit_evidence = []
        _become_subreaper()
        if HTTPD_WRAPPER:
            # the new pid file says when apache2 -X is ready (below)
            try:
                os.unlink(self.pid_file)
            except FileNotFoundError:
                pass
        p = self._start_foreground() if HTTPD_WRAPPER else self._apache('-k', 'start')
        # what apache2 printed while it read its configuration the first time,
        # before its error log was open (start-up warnings)
        self.start_output = p.stdout + p.stderr
        if p.returncode != 0:
            if p.returncode < 0:
                self._exit_evidence.append('[harness] apache2 -k start exited on %s'
                                           % _signal_name(-p.returncode))
                self.check_crashes('start')
            self._fail('start exited with %d' % p.returncode, p.stdout + p.stderr)
        Httpd.running.add(self)
        deadline = time.time() + 10 * TIME_SCALE
        while time.time() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                break
            if self.pid is None and os.path.exists(self.pid_file):
                try:
                    self.pid = int(open(self.pid_file).read().split()[0])
                except (ValueError, IndexError):
                    pass        # half-written pid file
            # the ports open before the parent installs its signal handlers
            # (AH00489/AH00163 come after): a graceful restart sent in between
            # would kill it.  apache2 -X (HTTPD_WRAPPER) logs neither; it writes
            # its pid file once both readings of the configuration are done
            # (the ports open in the first, before the modules' post_config
            # hooks log their start-up lines).
            if self.pid and all(_port_open(p) for p in self.ports) and (
                    os.path.exists(self.pid_file) if HTTPD_WRAPPER
                    else 'resuming normal operations' in ''.join(self.log_since(self.start_mark))):
                return self
            time.sleep(0.05)
        out = p.stdout + p.stderr
        crashed = self.stop(check=False)
        self._fail('did not accept connections on %s within %g s'
                   % (self.ports, 10 * TIME_SCALE),
                   out + ''.join('\n' + l for l in crashed))

    def graceful_shutdown_timeout(self):
        """The configuration's (last) GracefulShutdownTimeout, in seconds."""
        # latin-1, as written: a configuration may hold any byte
        with open(self.conf, encoding='latin-1') as f:
            found = re.findall(r'^\s*GracefulShutdownTimeout\s+(\d+)', f.read(),
                               re.M | re.I)
        return int(found[-1]) if found else 0

    def stop(self, check=True):
        """Stop the server and wait until its processes are gone.

        The parent gets SIGWINCH, httpd's graceful stop: it closes the listeners,
        lets the children finish their connections and, after
        GracefulShutdownTimeout, stops what is left itself.  (SIGTERM, the
        ungraceful stop, can crash an event-MPM child: its main thread closes the
        sockets of connections a worker may have just closed and freed.)  SIGTERM,
        then SIGKILL, are sent only if the parent is still there well after that;
        such a fallback is reported like a crash.  Under CORS_HTTPD_WRAPPER the
        one process of apache2 -X gets SIGTERM once no connection is open: the
        event MPM's -X mode only listens for SIGTERM and SIGINT (SIGWINCH would be
        ignored), and valgrind writes its summary when apache2 exits.

        Then, unless check=False, check_crashes('stop'): every error-log line
        since start() and how the processes ended.  Returns the crash lines."""
        Httpd.running.discard(self)
        pid, self.pid = self.pid, None
        proc, self.proc = self.proc, None
        if pid is None:
            return []
        kids = {k: st for k, st in _processes().items() if st[1] == pid}
        if proc is not None:
            self._stop_foreground(pid, proc)
            self._reap_orphans(kids, 0)       # and _kill_group the ones left
            _kill_group(pid)
            # valgrind has written its summary: keep what it found even if
            # this server root is reused (and so removed) later
            Httpd.reports_found += self.sanitizer_reports()
        else:
            self._stop_daemon(pid)
            self._reap_orphans(kids, 3 * TIME_SCALE)
        return self.check_crashes('stop') if check else self.crash_lines()

    def _wait_gone(self, pid, timeout):
        """Wait until the daemon parent pid is gone; its waitpid() status when we
        reaped it (we are its subreaper), None if it is not our child, False on
        timeout."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            if not _pid_alive(pid):
                return _wait_status(pid)
            time.sleep(0.02)
        return False

    def _fallback(self, pid, after, sigs, wait_gone):
        """The stop signal did not work: send sigs in turn; each is reported."""
        for sig, wait in sigs:
            self._exit_evidence.append(
                '[harness] httpd %s (pid %d) still running %.0f s after %s: sent %s'
                % (self.name, pid, after[1], after[0], _signal_name(sig)))
            warnings.warn(self._exit_evidence[-1])
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                return None
            status = wait_gone(wait)
            if status is not False:
                return status
            after = (_signal_name(sig), wait)
        raise RuntimeError('httpd %s (pid %d) did not exit' % (self.name, pid))

    def _note_early_exit(self, pid, proc):
        """Evidence (once) if the server's parent, or apache2 -X, has exited
        without being asked to; True if it has."""
        if proc is not None:
            rc = proc.poll()
            if rc is None:
                return False
            how = 'exit signal ' + _signal_name(-rc) if rc < 0 else 'exit status %d' % rc
        else:
            if _pid_alive(pid):
                return False
            status = _wait_status(pid)
            how = 'gone' if status is None else _describe_status(status)[0]
        line = '[harness] httpd %s: %s (pid %d) exited by itself: %s' % (
            self.name, 'apache2 -X' if proc is not None else 'the parent', pid, how)
        if not any(l.startswith(line.rsplit(':', 1)[0]) for l in self._exit_evidence):
            self._exit_evidence.append(line)
        return True

    def _stop_daemon(self, pid):
        if self._note_early_exit(pid, None):
            return
        gst = self.graceful_shutdown_timeout()
        fell_back = False
        t0 = time.time()
        try:
            os.kill(pid, signal.SIGWINCH)
        except ProcessLookupError:
            return
        # httpd: GracefulShutdownTimeout, then up to 10 s of SIGTERM/SIGKILL to
        # children that are still there
        wait = (gst + 12) * TIME_SCALE
        status = self._wait_gone(pid, wait)
        took = time.time() - t0
        if status is False:
            fell_back = True
            status = self._fallback(pid, ('SIGWINCH', wait),
                                    ((signal.SIGTERM, 10 * TIME_SCALE), (signal.SIGKILL, 5)),
                                    lambda w: self._wait_gone(pid, w))
        elif gst and took >= gst:
            warnings.warn('httpd %s: the graceful stop took %.1f s: children still busy '
                          'after GracefulShutdownTimeout %d were stopped by httpd with '
                          'SIGTERM' % (self.name, took, gst))
        if status is not None and status is not False:
            text, bad = _describe_status(status)
            sent = {signal.SIGTERM, signal.SIGKILL} if fell_back else set()
            if bad or (os.WIFSIGNALED(status) and os.WTERMSIG(status) not in sent):
                self._exit_evidence.append('[harness] httpd %s: parent pid %d %s'
                                           % (self.name, pid, text))

    def _stop_foreground(self, pid, proc):
        if self._note_early_exit(pid, proc):
            return
        # no connection left for SIGTERM's forced close to race with
        deadline = time.time() + 2 * TIME_SCALE
        while _server_sockets(self.ports) and time.time() < deadline:
            time.sleep(0.05)
        os.kill(pid, signal.SIGTERM)

        def gone(wait):
            try:
                return proc.wait(wait)
            except subprocess.TimeoutExpired:
                return False
        wait = 10 * TIME_SCALE
        rc = gone(wait)
        if rc is False:
            rc = self._fallback(pid, ('SIGTERM', wait), ((signal.SIGKILL, 5),), gone)
        if rc is not None and rc < 0 and -rc not in (signal.SIGTERM, signal.SIGKILL):
            self._exit_evidence.append('[harness] httpd %s: apache2 -X (pid %d) exit signal %s'
                                       % (self.name, pid, _signal_name(-rc)))

    def _reap_orphans(self, kids, grace):
        """Children of the stopped parent it left behind are ours now (we are the
        subreaper): reap them and report the ones that died of a signal; SIGKILL
        (with a warning) those still there after grace seconds (grace 0: leave
        them be)."""
        me = os.getpid()
        deadline = time.time() + grace
        left, killed = dict(kids), set()
        while left:
            for k, before in list(left.items()):
                st = _proc_stat(k)
                if st is None or st[3] != before[3]:     # gone, reaped elsewhere
                    del left[k]
                elif st[1] != me:
                    if st[0] == 'Z' or time.time() > deadline:
                        del left[k]                      # not ours to reap
                elif st[0] == 'Z':
                    status = _wait_status(k)
                    if status is not None:
                        text, bad = _describe_status(status)
                        if bad:
                            self._exit_evidence.append(
                                '[harness] httpd %s: process %d (a child of the parent) %s'
                                % (self.name, k, text))
                    del left[k]
                elif not grace:
                    del left[k]
                elif time.time() > deadline and k not in killed:
                    warnings.warn('httpd %s: process %d outlived its parent; sent SIGKILL'
                                  % (self.name, k))
                    killed.add(k)
                    os.kill(k, signal.SIGKILL)
            time.sleep(0.02)

    def graceful(self, timeout=10):
        """Graceful restart (SIGUSR1); returns when the new generation is up,
        after check_crashes('graceful restart')."""
        return self._restart(signal.SIGUSR1, 'graceful restart', timeout)

    def restart(self, timeout=10):
        """Full restart (SIGHUP: the children are stopped at once); returns
        when the new generation is up, after check_crashes('restart')."""
        return self._restart(signal.SIGHUP, 'restart', timeout)

    def _settle(self, quiet=0.5, timeout=10):
        """Wait until the server holds no connection and its children and
        their threads have not changed for quiet seconds (at most timeout).
        httpd's event MPM stops its children at once on a full restart, and
        a child still inside a connection can then crash in httpd's own code
        (close_worker_sockets() closes a socket whose worker is freeing it:
        a core dump shows the main thread in apr_os_sock_get()), with or
        without mod_cors; graceful stops do not."""
        def state():
            return ([(k, len(_listdir('/proc/%d/task' % k)))
                     for k in children_of(self.pid)],
                    _server_sockets(self.ports))
        deadline = time.time() + timeout
        last, since = state(), time.time()
        while time.time() < deadline and (last[1] or time.time() - since < quiet):
            time.sleep(0.05)
            now = state()
            if now != last:
                last, since = now, time.time()

    def _restart(self, sig, what, timeout):
        if sig == signal.SIGHUP and MPM == 'event':
            self._settle()
        mark = self.log_mark()
        os.kill(self.pid, sig)
        deadline = time.time() + timeout
        while time.time() < deadline:
            # AH00489 (event) / AH00163 (prefork) are notice level: always logged
            if 'resuming normal operations' in ''.join(self.log_since(mark)) \
                    and _port_open(self.port):
                self.check_crashes(what)
                return self
            time.sleep(0.05)
        self.check_crashes(what)
        self._fail('no %s within %d s after %s' % (what, timeout,
                                                   _signal_name(sig)))

    # -- crash evidence ----------------------------------------------------------
    def crash_lines(self):
        """Evidence that a process of this server died abnormally since start():
        error-log lines matching CRASH_PATTERNS (whatever their level), how the
        parent (or apache2 -X) and its children ended (a death by a signal, an
        exit nobody asked for, a fallback signal stop() had to send), and valgrind's
        "Process terminating with default action of signal N" (a crash that
        leaves ERROR SUMMARY at 0).  Sanitizer reports are sanitizer_reports()'s."""
        if self.pid is not None:
            self._note_early_exit(self.pid, self.proc)
        if self._scanned[0] != self.start_mark:       # a new start(): scan afresh
            self._scanned = (self.start_mark, self.start_mark, [])
        _, pos, found = self._scanned
        pos = scan_log(self.error_log, pos, found)
        self._scanned = (self.start_mark, pos, found)
        lines = found + self._exit_evidence
        for path in sorted(_listdir(self.reports)):
            if not path.startswith('wrapper.'):
                continue
            full = os.path.join(self.reports, path)
            try:
                if os.path.getmtime(full) < self.started_at:
                    continue
                text = open(full, encoding='latin-1').read()
            except OSError:
                continue
            lines += ['%s: %s' % (path, l) for l in text.splitlines()
                      if _CRASH_RE.search(l)]
        return lines

    def new_crash_lines(self):
        """crash_lines() not reported (or expected) yet."""
        return [l for l in self.crash_lines() if l not in self._crash_seen]

    def check_crashes(self, where):
        """Raise CrashDetected quoting new_crash_lines(), if any, after recording
        them in Httpd.crashes_found (which fails the session); each line is
        reported once.  Returns [] otherwise."""
        new = self.new_crash_lines()
        if not new:
            return []
        self._crash_seen.update(new)
        Httpd.crashes_found.append((self.name, where, new))
        raise CrashDetected('httpd %s (%s): a process died abnormally:\n%s'
                            % (self.name, where, '\n'.join(new)))

    def expect_crashes(self):
        """Mark the crash lines there are now as expected (a test that crashes a
        child on purpose); returns them."""
        lines = self.crash_lines()
        self._crash_seen.update(lines)
        return lines

    # -- logs --------------------------------------------------------------------
    def log_mark(self):
        try:
            return os.path.getsize(self.error_log)
        except OSError:
            return 0

    def log_since(self, mark):
        try:
            with open(self.error_log, 'rb') as f:
                f.seek(mark)
                return f.read().decode('latin-1').splitlines()
        except OSError:
            return []

    def bad_log_lines(self, since_mark, allow=()):
        """Error-log lines since mark at level warn or worse (or unparseable, or
        reporting a crashed child) that match none of the allow regexes."""
        bad = []
        for line in self.log_since(since_mark):
            if not line.strip():
                continue
            m = _LOG_RE.match(line)
            if m and m.group(2) not in BAD_LEVELS and not _CRASH_RE.search(line):
                continue
            if not any(re.search(a, line) for a in allow):
                bad.append(line)
        return bad

    def access_log_lines(self):
        try:
            return open(self.access_log, encoding='latin-1').read().splitlines()
        except OSError:
            return []

    def request(self, method, path, **kw):
        """Shortcut for request(self.port, ...)."""
        return request(self.port, method, path, **kw)

    def __repr__(self):
        return '<Httpd %s port=%s pid=%s>' % (self.name, self.port, self.pid)


def _proc_stat(pid):
    """(state, ppid, pgrp, starttime) of pid from /proc, or None."""
    try:
        with open('/proc/%d/stat' % pid) as f:
            fields = f.read().rsplit(')', 1)[1].split()
        return fields[0], int(fields[1]), int(fields[2]), int(fields[19])
    except (OSError, IndexError, ValueError):
        return None


def _processes():
    """{pid: (state, ppid, pgrp, starttime)} of every process."""
    procs = {}
    for d in os.listdir('/proc'):
        if d.isdigit():
            st = _proc_stat(int(d))
            if st:
                procs[int(d)] = st
    return procs


def children_of(pid, zombies=False):
    """Pids of the processes whose parent is pid (zombies left out unless asked)."""
    return sorted(p for p, st in _processes().items()
                  if st[1] == pid and (zombies or st[0] != 'Z'))


def _group_members(pgid):
    """(pid, is_zombie) of the processes in process group pgid."""
    return [(p, st[0] == 'Z') for p, st in _processes().items() if st[2] == pgid]


def _signal_name(n):
    try:
        return '%s (%d)' % (signal.Signals(n).name, n)
    except ValueError:
        return 'signal %d' % n


def _describe_status(status):
    """A waitpid() status in words, and whether it is a death by a signal
    httpd does not use to stop its processes."""
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        core = ', core dumped' if os.WCOREDUMP(status) else ''
        return 'exit signal %s%s' % (_signal_name(sig), core), sig not in _STOP_SIGNALS
    return 'exit status %d' % os.WEXITSTATUS(status), False


def _wait_status(pid):
    """Reap pid if it is our zombie child; its waitpid() status, else None."""
    try:
        got, status = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return None
    return status if got == pid else None


def _server_sockets(ports):
    """Open TCP sockets of a server on ports other than its listeners: the ones
    with a local port in ports, in a state other than LISTEN, and owned by a
    process (inode not 0: not a closed socket lingering in the kernel)."""
    hexports = {'%04X' % p for p in ports}
    n = 0
    for table in ('/proc/net/tcp', '/proc/net/tcp6'):
        try:
            lines = open(table).read().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            f = line.split()
            if (len(f) > 9 and f[1].rsplit(':', 1)[1] in hexports and f[3] != '0A'
                    and f[9] != '0'):
                n += 1
    return n


def _kill_group(pgid):
    """Stop what is left of a foreground server's process group (mod_cgid's
    daemon, which outlives a server that dies without cleaning up); reap the
    ones that became our children (we are a subreaper)."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        deadline = time.time() + 5 * TIME_SCALE
        sent = False
        while time.time() < deadline:
            live = []
            for pid, zombie in _group_members(pgid):
                if zombie:
                    _reap(pid)
                else:
                    live.append(pid)
            if not live:
                return
            if not sent:
                for pid in live:
                    try:
                        os.kill(pid, sig)
                    except ProcessLookupError:
                        pass
                sent = True
            time.sleep(0.05)


def _env(reports=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith('APACHE_')}
    env['LANG'] = env['LC_ALL'] = 'C'
    if HTTPD_PRELOAD:
        env['LD_PRELOAD'] = HTTPD_PRELOAD
        for var, name in (('ASAN_OPTIONS', 'asan'), ('UBSAN_OPTIONS', 'ubsan')):
            if reports:
                opts = env.get(var, '')
                env[var] = (opts + ':' if opts else '') + 'log_path=' + \
                    os.path.join(reports, name)
    return env


def reports_in(directory, since=0.0):
    """Sanitizer and valgrind reports in directory (see Httpd.sanitizer_reports)."""
    found = []
    try:
        names = sorted(os.listdir(directory))
    except OSError:
        return found
    for name in names:
        path = os.path.join(directory, name)
        try:
            if os.path.getmtime(path) < since:
                continue
            text = open(path, encoding='latin-1').read()
        except OSError:
            continue
        if name.startswith(('asan', 'ubsan')) and text.strip():
            found.append((path, text[:6000]))
        elif name.startswith('wrapper.'):
            m = _VG_SUMMARY.search(text)
            if m and int(m.group(1)):
                found.append((path, text[-12000:]))
    return found


def scan_log(path, pos=0, found=None):
    """Append the crash lines (CRASH_PATTERNS) of the complete lines of the file
    path from byte pos on to found; returns where the scan ended (the start of
    a line still being written).  Reads line by line: logs can be large."""
    found = [] if found is None else found
    try:
        with open(path, 'rb') as f:
            f.seek(pos)
            for raw in f:
                if not raw.endswith(b'\n'):
                    break
                pos += len(raw)
                line = raw.decode('latin-1').rstrip('\r\n')
                if _CRASH_RE.search(line):
                    found.append(line)
    except OSError:
        pass
    return pos


def _listdir(directory):
    try:
        return os.listdir(directory)
    except OSError:
        return []


def all_reports(since=0.0):
    """Reports in every server root this process used (apache2 -t runs included;
    the roots of a concurrent session are its own business)."""
    found = []
    for root in sorted(_claimed):
        found += reports_in(os.path.join(root, 'reports'), since)
    return found


def stop_all():
    """Stop every server still running (conftest.py does at the end of a pytest
    session); crashes they show are recorded in Httpd.crashes_found."""
    for h in list(Httpd.running):
        try:
            h.stop()
        except CrashDetected:
            pass


@atexit.register
def _stop_all_at_exit():
    """Outside pytest: stop what is left, and make a crash anything the process
    did not report fail it (exit status 70, after printing the lines)."""
    try:
        stop_all()
    except Exception as e:       # keep going: the other servers must stop too
        print('harness: stopping servers at exit: %r' % e, file=sys.stderr)
    unreported = [c for c in Httpd.crashes_found if c not in _crashes_reported]
    if unreported:
        sys.stderr.write(crash_report(unreported) + '\n')
        sys.stderr.flush()
        sys.stdout.flush()
        os._exit(70)


_crashes_reported = []   # entries of Httpd.crashes_found someone has reported


def crash_report(entries, mark_reported=True):
    """Text for entries of Httpd.crashes_found (marked reported)."""
    if mark_reported:
        _crashes_reported.extend(e for e in entries if e not in _crashes_reported)
    return 'processes of test servers died abnormally:\n' + '\n'.join(
        '--- httpd %s, %s ---\n%s' % (name, where, '\n'.join(lines))
        for name, where, lines in entries)


def check_config(body_config, name='t', modules=None, load_cors=True):
    """Run `apache2 -t` on a generated config; returns (returncode, stdout+stderr)."""
    h = Httpd('check-' + name, body_config, modules=modules, load_cors=load_cors)
    h.started_at = time.time() - 1
    p = h._apache('-t')
    if p.returncode < 0:
        h._exit_evidence.append('[harness] apache2 -t exited on %s'
                                % _signal_name(-p.returncode))
    h._exit_evidence += [l for l in (p.stdout + p.stderr).splitlines() if _CRASH_RE.search(l)]
    h.check_crashes('apache2 -t')
    reports = h.sanitizer_reports()
    if reports:     # the next check_config with this name removes the root
        Httpd.reports_found += reports
        raise AssertionError('apache2 -t: sanitizer/valgrind reports:\n' + '\n'.join(
            '--- %s ---\n%s' % r for r in reports))
    return p.returncode, p.stdout + p.stderr


# ---- raw HTTP/1.1 client ---------------------------------------------------------

def _b(v):
    return v if isinstance(v, bytes) else str(v).encode('latin-1')


class Response:
    def __init__(self, data):
        self.raw = data
        head, sep, rest = data.partition(b'\r\n\r\n')
        if not sep:
            raise ValueError('incomplete HTTP response: %r' % data[:500])
        self.raw_head = head.decode('latin-1')
        lines = self.raw_head.split('\r\n')
        parts = lines[0].split(' ', 2)
        self.version = parts[0]
        self.status = int(parts[1])
        self.reason = parts[2] if len(parts) > 2 else ''
        self.headers = []
        for line in lines[1:]:
            name, _, value = line.partition(':')
            self.headers.append((name, value.strip(' \t')))
        chunked = any('chunked' in v.lower() for v in self.get_all('transfer-encoding'))
        self.body = _dechunk(rest) if chunked else rest

    def get_all(self, name):
        """Values of all header lines called name (case-insensitive), in wire order."""
        return [v for n, v in self.headers if n.lower() == name.lower()]

    def get(self, name, default=None):
        """The single value of header name; AssertionError if it occurs repeatedly."""
        vals = self.get_all(name)
        assert len(vals) <= 1, 'header %s occurs %d times: %r' % (name, len(vals), vals)
        return vals[0] if vals else default

    def cors_lines(self):
        """'Name: value' for Access-Control-*, Timing-Allow-Origin and Vary lines, wire
        order, name as sent."""
        return ['%s: %s' % (n, v) for n, v in self.headers
                if n.lower().startswith('access-control-')
                or n.lower() in ('vary', 'timing-allow-origin')]

    def __repr__(self):
        return '<Response %d %s\n%s>' % (self.status, self.reason, self.raw_head)


def _dechunk(data):
    body = b''
    while data:
        size_line, _, data = data.partition(b'\r\n')
        size = int(size_line.split(b';')[0].strip() or b'0', 16)
        if size == 0:
            break       # trailers are ignored
        body, data = body + data[:size], data[size + 2:]
    return body


def request(port, method, path, headers=(), body=None, host='127.0.0.1', timeout=10,
            http10=False, raw=None):
    """Send one request on a fresh connection and read the response until EOF.

    headers is a sequence of (name, value) tuples sent in order (str or bytes,
    latin-1); host=None omits the Host header; raw sends bytes verbatim instead.
    """
    if raw is None:
        req = b'%s %s %s\r\n' % (_b(method), _b(path),
                                 b'HTTP/1.0' if http10 else b'HTTP/1.1')
        if host is not None:
            req += b'Host: %s\r\n' % _b(host)
        for name, value in headers:
            req += b'%s: %s\r\n' % (_b(name), _b(value))
        names = {_b(n).lower() for n, _ in headers}
        if b'connection' not in names:
            req += b'Connection: close\r\n'
        if body is not None:
            body = _b(body)
            if b'content-length' not in names:
                req += b'Content-Length: %d\r\n' % len(body)
        req += b'\r\n' + (body or b'')
    else:
        req = _b(raw)
    with socket.create_connection(('127.0.0.1', port), timeout=timeout) as s:
        s.sendall(req)
        chunks = []
        try:
            while True:
                c = s.recv(65536)
                if not c:
                    break
                chunks.append(c)
        except socket.timeout:
            raise TimeoutError('no EOF within %ss; got %r' % (timeout, b''.join(chunks)[:500]))
        except ConnectionResetError:
            if not chunks:      # a reset after a complete response counts as EOF
                raise
    data = b''.join(chunks)
    # skip interim 1xx responses (e.g. 100 Continue)
    while re.match(rb'HTTP/\d\.\d 1\d\d', data) and not data.startswith(b'HTTP/1.1 101') \
            and b'\r\n\r\n' in data:
        data = data.split(b'\r\n\r\n', 1)[1]
    return Response(data)
