#!/usr/bin/python3
"""mod_cors benchmark (issue 4): mod_cors side by side with the mod_headers,
SetEnvIf and mod_rewrite recipes, in instructions per request (callgrind) and
in requests per second (wrk), plus start-up cost at 100,000 origins.

    make bench                     # everything, about 15-20 minutes
    BENCH_QUICK=1 make bench       # smoke run, a few minutes; its report
                                   # goes to bench/run/quick/, not bench/
    bench/bench.py [--quick] [--phases startup,wrk,callgrind,strace,report]

Everything generated lives in bench/run/ (one server root per configuration,
sharing bench/run/htdocs); the results are bench/results.md,
bench/results.png and bench/callgrind-cors-10k.txt.  Traffic goes to
127.0.0.1 only; every load run is bounded in time (wrk -d) or count (ab -n).

Methods
  callgrind  (Ir of `ab -k -c1 -n 2200` - Ir of `ab -k -c1 -n 200`) / 2000,
             each count a whole `valgrind --tool=callgrind apache2 -X` run
             from start to SIGTERM, so start-up and shut-down cancel out.
             One worker thread (ThreadsPerChild 1); three repetitions, the
             median is the figure (they agree within ~0.1%).
  wrk        all servers run at once (event MPM, one child, pinned to CPU 0
             with taskset), wrk on CPU 1; each measurement runs right next
             to its baseline (plain, or the mod_rewrite preflight recipe),
             the ratio of the pair is the figure, the median over rounds
             the result.
  startup    `apache2 -t` wall time (best of five) and VmRSS of the parent
             and of a child of a running server, against a 1-origin config.
  strace     file-system calls per preflight.
  Every measurement is checked first (status, Access-Control-*, Vary).
"""
import argparse
import datetime
import hashlib
import http.client
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
RUN = os.path.join(HERE, 'run')
SRV = os.path.join(RUN, 'srv')
HTDOCS = os.path.join(RUN, 'htdocs')
ORIGINS_DIR = os.path.join(RUN, 'origins')
CG_DIR = os.path.join(RUN, 'callgrind')
RESULTS_JSON = os.path.join(RUN, 'results.json')
RESULTS_MD = os.path.join(HERE, 'results.md')
RESULTS_PNG = os.path.join(HERE, 'results.png')
ANNOTATION = os.path.join(HERE, 'callgrind-cors-10k.txt')
PLOT_GP = os.path.join(HERE, 'plot.gp')
PREFLIGHT_LUA = os.path.join(HERE, 'preflight.lua')
APACHE = '/usr/sbin/apache2'
BUILT_SO = os.path.join(REPO, '.libs', 'mod_cors.so')
# The servers load a snapshot of the built module, taken when the run starts:
# the work tree is shared, and a rebuild between httpd's two configuration
# passes would change the code under callgrind.
CORS_SO = os.path.join(RUN, 'mod_cors.so')
# The control module (bench/floor/): the same header lines written in the
# cheapest way a module can, built into bench/run by setup().
FLOOR_SRC = os.path.join(HERE, 'floor', 'mod_cors_floor.c')
FLOOR_DIR = os.path.join(RUN, 'floor')
FLOOR_SO = os.path.join(RUN, 'mod_cors_floor.so')
IS_ROOT = os.geteuid() == 0
RUN_USER = 'www-data'

QUICK = os.environ.get('BENCH_QUICK', '') not in ('', '0')
CG_DEFINES = ['-DBENCH_PREFORK'] if os.environ.get('BENCH_CG_MPM') == 'prefork' \
    else []


def log(*a):
    print('[bench %s]' % time.strftime('%H:%M:%S'), *a, flush=True)


def module_dir():
    try:
        out = subprocess.run(['apxs', '-q', 'LIBEXECDIR'], capture_output=True,
                             text=True, timeout=10).stdout.strip()
        if out and os.path.isdir(out):
            return out
    except (OSError, subprocess.SubprocessError):
        pass
    return '/usr/lib/apache2/modules'


MODDIR = module_dir()

# --------------------------------------------------------------------------
# What is measured
# --------------------------------------------------------------------------

SIZES_EXACT = [1, 100, 10000, 100000]
SIZES_REGEX = [10, 100, 1000]
N_SUB = 1000
EXPOSE = 'X-Request-Id'


def origins(n):
    """The n allowed origins of a list: https://o1.example ... and, last,
    LAST.  Every measurement that should match sends LAST, so the Origin
    has the same length at every n (parsing and echoing it costs the same)
    and the regex recipe has to try every alternative before it matches."""
    return ['https://o%d.example' % i for i in range(1, n)] + [LAST]


# The last origin of every list; three labels, so that the subdomain
# pattern https://*.last.example matches the same Origin.
LAST = 'https://a.last.example'
# not listed, the same length and labels
EVIL = 'https://a.evil.example'
SUB_LAST = LAST
SUB_EVIL = EVIL


# Everything common to all configurations: the only differences between two
# configurations are their LoadModule lines and the body of the section
# <Directory {htdocs}/api> (and, for one recipe, lines in server context).
CONF_HEAD = '''# generated by bench/bench.py -- do not edit
ServerRoot "{root}"
Listen 127.0.0.1:{port}
ServerName 127.0.0.1
{user}
<IfDefine BENCH_PREFORK>
    LoadModule mpm_prefork_module {moddir}/mod_mpm_prefork.so
</IfDefine>
<IfDefine !BENCH_PREFORK>
    LoadModule mpm_event_module {moddir}/mod_mpm_event.so
</IfDefine>
LoadModule authz_core_module {moddir}/mod_authz_core.so
LoadModule mime_module {moddir}/mod_mime.so
{modules}
PidFile "{root}/run/httpd.pid"
DefaultRuntimeDir "{root}/run"
Mutex file:{root}/run default
ErrorLog "{root}/logs/error_log"
LogLevel warn
# no CustomLog: access log off
TypesConfig /etc/mime.types
<IfModule mpm_event_module>
<IfDefine BENCH_CALLGRIND>
    # apache2 -X under callgrind: one worker thread
    StartServers 1
    ServerLimit 1
    ThreadLimit 1
    ThreadsPerChild 1
    MaxRequestWorkers 1
    MinSpareThreads 1
    MaxSpareThreads 1
</IfDefine>
<IfDefine !BENCH_CALLGRIND>
    # wrk: one child process (pinned with the parent to one CPU)
    StartServers 1
    ServerLimit 1
    ThreadLimit 64
    ThreadsPerChild 64
    MaxRequestWorkers 64
    MinSpareThreads 1
    MaxSpareThreads 64
</IfDefine>
</IfModule>
# as Debian's apache2.conf: no .htaccess lookups
<Directory />
    Options FollowSymLinks
    AllowOverride None
    Require all denied
</Directory>
DocumentRoot "{htdocs}"
<Directory "{htdocs}">
    Options FollowSymLinks
    AllowOverride None
    Require all granted
</Directory>
{server}
<Directory "{htdocs}/api">
{section}
</Directory>
'''

CORS_POLICY = '''    CorsAllowCredentials On
    CorsExposeHeaders {expose}
    CorsAllowMethods GET POST PUT DELETE
    CorsAllowHeaders Content-Type X-Requested-With
    CorsMaxAge 600'''.format(expose=EXPOSE)

HEADERS_ACAO_VARY = '''    Header always set Access-Control-Allow-Origin "https://a.last.example"
    Header always merge Vary Origin'''

HEADERS_RECIPE = '''    Header always set Access-Control-Allow-Origin "https://a.last.example"
    Header always set Access-Control-Allow-Credentials "true"
    Header always set Access-Control-Expose-Headers "{expose}"
    Header always merge Vary Origin'''.format(expose=EXPOSE)

REGEX_RECIPE = '''    SetEnvIf Origin "^({alts})$" ORIGIN_OK=$0
    Header always set Access-Control-Allow-Origin %{{ORIGIN_OK}}e env=ORIGIN_OK
    Header always set Access-Control-Allow-Credentials "true" env=ORIGIN_OK
    Header always set Access-Control-Expose-Headers "{expose}" env=ORIGIN_OK
    Header always merge Vary Origin'''

REWRITE_RECIPE = '''    RewriteEngine On
    RewriteCond %{REQUEST_METHOD} OPTIONS
    RewriteRule ^ - [R=204,L]
    Header always set Access-Control-Allow-Origin "https://a.last.example"
    Header always set Access-Control-Allow-Methods "GET, POST, PUT, DELETE"
    Header always set Access-Control-Allow-Headers "Content-Type, X-Requested-With"
    Header always set Access-Control-Max-Age "600"'''


class Config:
    def __init__(self, name, section='', modules=(), cors=False, server='',
                 files=None, note='', floor=False):
        self.name = name
        self.section = section
        self.modules = list(modules)
        self.cors = cors
        self.floor = floor
        self.server = server
        self.files = files or {}      # path under RUN -> content
        self.note = note
        self.port = None
        self.root = os.path.join(SRV, name)
        self.conf = os.path.join(self.root, 'httpd.conf')

    def text(self):
        mods = ['LoadModule %s_module %s/mod_%s.so' % (m, MODDIR, m)
                for m in self.modules]
        if self.cors:
            mods.append('LoadModule cors_module "%s"' % CORS_SO)
        if self.floor:
            mods.append('LoadModule cors_floor_module "%s"' % FLOOR_SO)
        user = ('User %s\nGroup %s' % (RUN_USER, RUN_USER)) if IS_ROOT else ''
        return CONF_HEAD.format(root=self.root, port=self.port, user=user,
                                moddir=MODDIR, modules='\n'.join(mods),
                                htdocs=HTDOCS, server=self.server,
                                section=self.section)


def origin_file(n):
    return os.path.join(ORIGINS_DIR, 'origins-%d.txt' % n)


def make_configs():
    """name -> Config, in a stable order."""
    cfgs = []
    cfgs.append(Config('plain', note='no CORS module; the same sections, '
                                     'empty'))
    cfgs.append(Config('headers-1', HEADERS_RECIPE, ['headers'],
                       note='mod_headers, one fixed origin, ACAO+ACAC+ACEH'
                            '+Vary'))
    cfgs.append(Config('headers-acao-vary', HEADERS_ACAO_VARY, ['headers'],
                       note='mod_headers, ACAO + Vary only (the recipe of '
                            'the issue\'s reference table)'))
    for n in SIZES_REGEX:
        alts = '|'.join(re.escape(o) for o in origins(n))
        cfgs.append(Config('regex-%d' % n,
                           REGEX_RECIPE.format(alts=alts, expose=EXPOSE),
                           ['setenvif', 'headers'],
                           note='SetEnvIf alternation of %d origins + '
                                'mod_headers' % n))
    for mode in ('headers', 'vary', 'preflight'):
        cfgs.append(Config('floor-' + mode, '    CorsFloor ' + mode,
                           floor=True,
                           note='bench/floor/mod_cors_floor.c, CorsFloor %s: '
                                'the lines mod_cors writes, written in '
                                'header_parser with nothing else' % mode))
    cfgs.append(Config('rewrite-preflight', REWRITE_RECIPE,
                       ['rewrite', 'headers'],
                       note='mod_rewrite [R=204] + mod_headers, in the '
                            'same <Directory>'))
    cfgs.append(Config('rewrite-preflight-srv', '', ['rewrite', 'headers'],
                       server=REWRITE_RECIPE.replace('    ', ''),
                       note='the same recipe in server context (answers '
                            'before the directory walk)'))
    for n in SIZES_EXACT:
        if n <= 100:
            lines = '\n'.join('    CorsAllowOrigin %s' % o
                              for o in origins(n))
            files = {}
            how = 'inline CorsAllowOrigin lines'
        else:
            lines = '    CorsAllowOriginFile "%s"' % origin_file(n)
            files = {origin_file(n): ''.join('%s\n' % o
                                             for o in origins(n))}
            how = 'CorsAllowOriginFile'
        cfgs.append(Config('cors-%s' % human(n), lines + '\n' + CORS_POLICY,
                           cors=True, files=files,
                           note='mod_cors, %d exact origins (%s)' % (n, how)))
    cfgs.append(Config('cors-1-min', '    CorsAllowOrigin %s' % LAST,
                       cors=True, note='mod_cors, 1 origin, credentials '
                       'off, nothing exposed: ACAO + Vary only'))
    # start-up only: 100,000 inline lines
    lines = '\n'.join('    CorsAllowOrigin %s' % o
                      for o in origins(100000))
    cfgs.append(Config('cors-100k-inline', lines + '\n' + CORS_POLICY,
                       cors=True, note='mod_cors, 100,000 inline '
                                       'CorsAllowOrigin lines (start-up only)'))
    lines = '\n'.join('    CorsAllowOrigin https://*.s%d.example' % i
                      for i in range(1, N_SUB)) \
        + '\n    CorsAllowOrigin https://*.last.example'
    cfgs.append(Config('cors-sub-1k', lines + '\n' + CORS_POLICY, cors=True,
                       note='mod_cors, %d subdomain patterns '
                            'https://*.sN.example, the last '
                            'https://*.last.example' % N_SUB))
    return {c.name: c for c in cfgs}


def human(n):
    return '%dk' % (n // 1000) if n >= 1000 and n % 1000 == 0 else str(n)


class Measurement:
    """One kind of request against one configuration."""

    def __init__(self, name, config, origin=None, path='/api/data.json',
                 preflight=False, expect='plain', baseline='plain',
                 label='', wrk=True, origins=None, group=''):
        self.name = name
        self.config = config
        self.origin = origin
        self.path = path
        self.preflight = preflight
        self.expect = expect
        self.baseline = baseline
        self.label = label or name
        self.wrk = wrk
        self.origins = origins   # x value for the plot
        self.group = group

    def headers(self):
        h = []
        if self.origin:
            h.append(('Origin', self.origin))
        if self.preflight:
            h.append(('Access-Control-Request-Method', 'PUT'))
            h.append(('Access-Control-Request-Headers', 'content-type'))
        return h

    @property
    def method(self):
        return 'OPTIONS' if self.preflight else 'GET'


def make_measurements():
    M = Measurement
    ms = [
        M('plain', 'plain', LAST, expect='plain', baseline=None,
          label='plain, no CORS (Origin sent)'),
        M('plain-noorigin', 'plain', None, expect='plain', baseline=None,
          label='plain, no CORS, no Origin', wrk=False),
        M('plain-static', 'plain', LAST, path='/static/data.json',
          expect='plain', baseline=None, label='plain, /static/ (Origin sent)'),
        M('headers-1', 'headers-1', LAST, expect='allowed',
          label='mod_headers recipe, 1 fixed origin', group='recipe'),
    ]
    ms.append(M('headers-acao-vary', 'headers-acao-vary', LAST,
                expect='acao-vary', wrk=False, group='recipe',
                label='mod_headers recipe, ACAO + Vary only'))
    for n in SIZES_REGEX:
        ms.append(M('regex-%d' % n, 'regex-%d' % n, LAST,
                    expect='allowed', origins=n, group='regex',
                    label='SetEnvIf regex recipe, %d origins (last matches)'
                          % n))
    ms.append(M('regex-1000-denied', 'regex-1000', EVIL, expect='denied',
                label='SetEnvIf regex recipe, 1000 origins, not listed',
                group='regex-denied', wrk=False))
    for n in SIZES_EXACT:
        ms.append(M('cors-%s' % human(n), 'cors-%s' % human(n), LAST,
                    expect='allowed', origins=n, group='cors',
                    label='mod_cors, %s exact origin%s, allowed'
                          % (fmt_int(n), 's' if n > 1 else '')))
    ms.append(M('cors-1-min', 'cors-1-min', LAST, expect='acao-vary',
                wrk=False, label='mod_cors, 1 origin, ACAO + Vary only '
                '(credentials off, nothing exposed)'))
    ms.append(M('cors-sub-1k', 'cors-sub-1k', SUB_LAST,
                expect='allowed', origins=N_SUB, group='cors-sub',
                label='mod_cors, %d subdomain patterns, allowed' % N_SUB))
    for cfg in ('cors-1', 'cors-100k', 'cors-sub-1k'):
        ms.append(M(cfg + '-denied', cfg,
                    SUB_EVIL if cfg == 'cors-sub-1k' else EVIL,
                    expect='denied',
                    label='%s, origin not listed' % cfg, group='cors-denied',
                    wrk=cfg == 'cors-100k'))
    for cfg in ('cors-1', 'cors-100k'):
        ms.append(M(cfg + '-noorigin', cfg, None, expect='noorigin',
                    baseline='plain-noorigin', group='cors-noorigin',
                    label='%s, no Origin header' % cfg,
                    wrk=cfg == 'cors-100k'))
    ms.append(M('cors-outside', 'cors-1', LAST, path='/static/data.json',
                expect='plain', baseline='plain-static',
                label='mod_cors loaded, request outside any CORS section'))
    # The floor: what httpd charges any module for the same lines
    ms.append(M('floor-allowed', 'floor-headers', LAST, expect='allowed',
                wrk=False, group='floor',
                label='floor: the four lines of an allowed GET, written in '
                      'header_parser and nothing else'))
    ms.append(M('floor-vary', 'floor-vary', EVIL, expect='denied',
                wrk=False, group='floor',
                label='floor: Vary: Origin only (what a denied or no-Origin '
                      'response carries)'))
    ms.append(M('floor-vary-noorigin', 'floor-vary', None, expect='noorigin',
                wrk=False, group='floor', baseline='plain-noorigin',
                label='floor: Vary: Origin only, no Origin header'))
    ms.append(M('floor-outside', 'floor-headers', LAST,
                path='/static/data.json', expect='plain',
                baseline='plain-static', wrk=False, group='floor',
                label='floor: a module with one header_parser hook, request '
                      'outside its section'))
    ms.append(M('rewrite-preflight', 'rewrite-preflight', LAST,
                preflight=True, expect='preflight', baseline=None,
                label='preflight: mod_rewrite [R=204] recipe in <Directory>'))
    ms.append(M('rewrite-preflight-srv', 'rewrite-preflight-srv', LAST,
                preflight=True, expect='preflight', baseline=None,
                label='preflight: the same recipe in server context'))
    for cfg in ('cors-1', 'cors-100k'):
        ms.append(M(cfg + '-preflight', cfg,
                    LAST,
                    preflight=True, expect='preflight',
                    baseline='rewrite-preflight',
                    label='preflight: %s' % cfg, wrk=cfg == 'cors-1'))
    ms.append(M('floor-preflight', 'floor-preflight', LAST, preflight=True,
                expect='preflight', baseline='rewrite-preflight', wrk=False,
                group='floor',
                label='floor: preflight answered in header_parser with the '
                      'same six lines and nothing else'))
    return ms


def fmt_int(n):
    return '{:,}'.format(int(round(n)))


# --------------------------------------------------------------------------
# Server roots
# --------------------------------------------------------------------------

def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def check_traversable(path):
    p = os.path.abspath(path)
    while True:
        if not os.stat(p).st_mode & 0o001:
            sys.exit('bench: %s is not traversable by others; httpd children '
                     'running as %s cannot reach the server root. Run '
                     '"chmod o+x %s".' % (p, RUN_USER, p))
        if p == '/':
            return
        p = os.path.dirname(p)


def write(path, content, mode=0o644):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
        f.write(content)
    os.chmod(path, mode)


def json_body():
    """A 1 KiB JSON document."""
    items = []
    body = ''
    i = 0
    while True:
        items.append({'id': i, 'name': 'item %03d' % i, 'ok': i % 2 == 0})
        s = json.dumps({'items': items, 'pad': ''})
        if len(s) + 1 > 1024 - 20:
            items.pop()
            break
        i += 1
    body = json.dumps({'items': items, 'pad': ''})
    pad = 1024 - 1 - len(body)
    body = json.dumps({'items': items, 'pad': 'x' * pad}) + '\n'
    assert len(body) == 1024, len(body)
    return body


def setup(cfgs):
    if os.path.isdir(SRV):
        stop_stale()
    shutil.rmtree(SRV, ignore_errors=True)
    os.makedirs(RUN, exist_ok=True)
    for d in (RUN, SRV, HTDOCS, ORIGINS_DIR, CG_DIR):
        os.makedirs(d, exist_ok=True)
        os.chmod(d, 0o755)
    if IS_ROOT:
        check_traversable(RUN)
        shutil.chown(CG_DIR, RUN_USER, RUN_USER)  # callgrind writes as User
    shutil.copy2(BUILT_SO, CORS_SO)
    build_floor()
    shutil.copy2(os.path.join(REPO, 'mod_cors.c'), os.path.join(RUN,
                                                                'mod_cors.c'))
    os.chmod(CORS_SO, 0o755)
    body = json_body()
    write(os.path.join(HTDOCS, 'api', 'data.json'), body)
    write(os.path.join(HTDOCS, 'static', 'data.json'), body)
    os.chmod(os.path.join(HTDOCS, 'api'), 0o755)
    os.chmod(os.path.join(HTDOCS, 'static'), 0o755)
    for c in cfgs.values():
        for path, content in c.files.items():
            write(path, content)
        c.port = free_port()
        for d in ('logs', 'run'):
            os.makedirs(os.path.join(c.root, d), exist_ok=True)
            os.chmod(os.path.join(c.root, d), 0o755)
        write(c.conf, c.text())
        if IS_ROOT:
            # the -X runs are the User from the start: let them write
            elog = os.path.join(c.root, 'logs', 'error_log')
            open(elog, 'a').close()
            for d in ('logs', 'run', 'logs/error_log'):
                shutil.chown(os.path.join(c.root, d), RUN_USER, RUN_USER)


def build_floor():
    """Compile the control module with apxs, in bench/run/floor."""
    os.makedirs(FLOOR_DIR, exist_ok=True)
    shutil.copy2(FLOOR_SRC, FLOOR_DIR)
    p = subprocess.run(['apxs', '-c', '-Wc,-Wall', '-Wc,-Werror',
                        'mod_cors_floor.c'], cwd=FLOOR_DIR,
                       capture_output=True, text=True, timeout=300)
    if p.returncode != 0:
        sys.exit('bench: building bench/floor/mod_cors_floor.c failed:\n%s%s'
                 % (p.stdout, p.stderr))
    shutil.copy2(os.path.join(FLOOR_DIR, '.libs', 'mod_cors_floor.so'),
                 FLOOR_SO)
    os.chmod(FLOOR_SO, 0o755)


def stop_stale():
    """Stop a server an earlier, interrupted run left in bench/run/srv."""
    for name in os.listdir(SRV):
        pidf = os.path.join(SRV, name, 'run', 'httpd.pid')
        try:
            pid = int(open(pidf).read().split()[0])
            cmd = open('/proc/%d/cmdline' % pid, 'rb').read()
        except (OSError, ValueError, IndexError):
            continue
        if os.path.join(SRV, name).encode() in cmd:
            log('stopping stale server %s (pid %d)' % (name, pid))
            try:
                os.kill(pid, signal.SIGTERM)
            except OSError:
                pass


def apache_cmd(cfg, *args):
    return [APACHE, '-d', cfg.root, '-f', cfg.conf] + list(args)


def config_test(cfg, extra=()):
    return subprocess.run(apache_cmd(cfg, '-t', *extra), capture_output=True,
                          text=True, timeout=120)


def listening(port):
    """Is 127.0.0.1:port in LISTEN state?  (Looks at /proc, so the server
    under callgrind does not see an extra connection.)"""
    needle = ':%04X 00000000:0000 0A' % port
    try:
        with open('/proc/net/tcp') as f:
            return any(needle in line for line in f)
    except OSError:
        return False


def wait_listen(port, proc, timeout):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if listening(port):
            return True
        if proc.poll() is not None:
            return False
        time.sleep(0.05)
    return False


def stop(proc, timeout=120):
    if proc.poll() is None:
        try:
            proc.send_signal(signal.SIGTERM)
        except OSError:
            pass
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


def error_log_problems(cfg):
    path = os.path.join(cfg.root, 'logs', 'error_log')
    bad = []
    try:
        for line in open(path, encoding='latin-1'):
            m = re.match(r'^\[[^\]]*\] \[([^:\]\s]*):(\w+)\]', line)
            if m and m.group(2) in ('warn', 'error', 'crit', 'alert', 'emerg'):
                if 'AH00098' in line:   # pid file left by an -X run
                    continue
                bad.append(line.strip())
    except OSError:
        pass
    return bad


def child_pids(pid):
    out = []
    for d in os.listdir('/proc'):
        if not d.isdigit():
            continue
        try:
            stat = open('/proc/%s/stat' % d).read()
        except OSError:
            continue
        fields = stat.rsplit(')', 1)[1].split()
        if int(fields[1]) == pid and fields[0] != 'Z':
            out.append(int(d))
    return out


def status_kb(pid, key):
    try:
        for line in open('/proc/%d/status' % pid):
            if line.startswith(key + ':'):
                return int(line.split()[1])
    except OSError:
        pass
    return None


# --------------------------------------------------------------------------
# Sanity: every measurement answers what it claims to
# --------------------------------------------------------------------------

def fetch(port, m):
    c = http.client.HTTPConnection('127.0.0.1', port, timeout=10)
    try:
        c.putrequest(m.method, m.path, skip_accept_encoding=True)
        for k, v in m.headers():
            c.putheader(k, v)
        c.endheaders()
        r = c.getresponse()
        r.read()
        return r.status, r.getheaders()
    finally:
        c.close()


def check_response(m, status, headers):
    """Returns a list of problems (empty: as expected)."""
    h = {}
    for k, v in headers:
        h.setdefault(k.lower(), []).append(v)
    acao = h.get('access-control-allow-origin')
    vary = ', '.join(h.get('vary', [])).lower()
    problems = []
    for k, vs in h.items():
        if k.startswith('access-control-') and len(vs) > 1:
            problems.append('%s appears %d times' % (k, len(vs)))
    if m.expect == 'plain':
        if status != 200 or acao:
            problems.append('want 200 without ACAO')
    elif m.expect == 'allowed':
        if status != 200 or acao != [m.origin]:
            problems.append('want 200 with ACAO %s' % m.origin)
        if h.get('access-control-allow-credentials') != ['true']:
            problems.append('want ACAC true')
        if h.get('access-control-expose-headers') != [EXPOSE]:
            problems.append('want ACEH %s' % EXPOSE)
        if 'origin' not in vary:
            problems.append('want Vary: Origin')
    elif m.expect == 'acao-vary':
        if status != 200 or acao != [m.origin]:
            problems.append('want 200 with ACAO %s' % m.origin)
        if h.get('access-control-allow-credentials') or \
                h.get('access-control-expose-headers'):
            problems.append('want neither ACAC nor ACEH')
        if 'origin' not in vary:
            problems.append('want Vary: Origin')
    elif m.expect in ('denied', 'noorigin'):
        if status != 200 or acao:
            problems.append('want 200 without ACAO')
        if 'origin' not in vary:
            problems.append('want Vary: Origin')
    elif m.expect == 'preflight':
        if status != 204 or acao != [m.origin]:
            problems.append('want 204 with ACAO %s' % m.origin)
        if 'PUT' not in ', '.join(h.get('access-control-allow-methods', [])):
            problems.append('want PUT in ACAM')
        if 'content-type' not in ', '.join(
                h.get('access-control-allow-headers', [])).lower():
            problems.append('want content-type in ACAH')
    return problems


def shown_headers(status, headers):
    keep = [(k, v) for k, v in headers
            if k.lower().startswith('access-control-') or k.lower() == 'vary']
    return '%d; ' % status + '; '.join('%s: %s' % kv for kv in keep)


# --------------------------------------------------------------------------
# Phase: start-up (goal 4)
# --------------------------------------------------------------------------

def phase_startup(cfgs, res):
    runs = 1 if QUICK else 5
    names = ['plain', 'cors-1', 'cors-100k', 'cors-100k-inline']
    out = {}
    for name in names:
        cfg = cfgs[name]
        times = []
        report = ''
        for _ in range(runs):
            t0 = time.monotonic()
            p = config_test(cfg, ['-c', 'LogLevel warn cors:info']
                            if cfg.cors else [])
            times.append(time.monotonic() - t0)
            if p.returncode != 0:
                sys.exit('bench: apache2 -t failed for %s:\n%s'
                         % (name, p.stderr))
            m = re.search(r'CORS0001: [^\n]*', p.stderr)
            report = m.group(0) if m else ''
        # a running server: RSS of the parent and of its child
        proc = subprocess.Popen(apache_cmd(cfg, '-DFOREGROUND'),
                                stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        t0 = time.monotonic()
        try:
            if not wait_listen(cfg.port, proc, 60):
                sys.exit('bench: %s did not start' % name)
            ready = time.monotonic() - t0
            kids = []
            deadline = time.time() + 30
            while not kids and time.time() < deadline:
                kids = child_pids(proc.pid)
                time.sleep(0.05)
            m = Measurement('x', name, LAST)
            for _ in range(20):
                fetch(cfg.port, m)
            time.sleep(0.3)
            rss_parent = status_kb(proc.pid, 'VmRSS')
            hwm_parent = status_kb(proc.pid, 'VmHWM')
            rss_child = max((status_kb(k, 'VmRSS') or 0) for k in kids) \
                if kids else None
        finally:
            stop(proc)
        out[name] = {'t_min': min(times), 't_median': statistics.median(times),
                     'times': times, 'report': report, 'ready': ready,
                     'rss_parent_kb': rss_parent, 'hwm_parent_kb': hwm_parent,
                     'rss_child_kb': rss_child}
        log('startup %-17s apache2 -t %.3f s (best of %d), RSS parent %s kB,'
            ' child %s kB  %s' % (name, min(times), runs, rss_parent,
                                  rss_child, report))
    res['startup'] = out


# --------------------------------------------------------------------------
# Phase: wrk
# --------------------------------------------------------------------------

def cpus():
    n = os.cpu_count() or 1
    return ('0', '1') if n >= 2 else (None, None)


def wrk_run(port, m, duration, conns):
    _, client_cpu = cpus()
    cmd = []
    if client_cpu:
        cmd = ['taskset', '-c', client_cpu]
    cmd += ['wrk', '-t1', '-c%d' % conns, '-d%ds' % duration, '--latency',
            '--timeout', '5s']
    for k, v in m.headers():
        cmd += ['-H', '%s: %s' % (k, v)]
    if m.preflight:
        cmd += ['-s', PREFLIGHT_LUA]
    cmd.append('http://127.0.0.1:%d%s' % (port, m.path))
    p = subprocess.run(cmd, capture_output=True, text=True,
                       timeout=duration + 60)
    out = p.stdout
    r = {'cmd': cmd}
    mm = re.search(r'Requests/sec:\s+([\d.]+)', out)
    r['rps'] = float(mm.group(1)) if mm else 0.0
    for q in ('50', '99'):
        mm = re.search(r'^\s+%s%%\s+([\d.]+)(us|ms|s)\b' % q, out, re.M)
        if mm:
            v = float(mm.group(1)) * {'us': 1, 'ms': 1e3, 's': 1e6}[mm.group(2)]
            r['p' + q] = v
    mm = re.search(r'Non-2xx or 3xx responses: (\d+)', out)
    r['non2xx'] = int(mm.group(1)) if mm else 0
    mm = re.search(r'Socket errors: ([^\n]*)', out)
    r['socket_errors'] = mm.group(1) if mm else ''
    if p.returncode != 0 or not mm and r['rps'] == 0:
        r['error'] = (p.stdout + p.stderr)[-500:]
    return r


def wrk_partner(m):
    """The measurement each wrk run is paired with: its baseline."""
    if m.preflight:
        return 'rewrite-preflight'
    return m.baseline or 'plain'


def phase_wrk(cfgs, ms, res):
    """Paired runs: each measurement right after (or right before, every
    other round) its baseline, so that both see the same background load;
    the ratio of the pair is the figure, its median over rounds the
    result."""
    rounds = 1 if QUICK else int(os.environ.get('BENCH_ROUNDS', '6'))
    duration = 2 if QUICK else int(os.environ.get('BENCH_DURATION', '2'))
    conns = int(os.environ.get("BENCH_CONNECTIONS", "64"))
    byname = {m.name: m for m in ms}
    wms = [m for m in ms if m.wrk and wrk_partner(m) != m.name
           and wrk_partner(m) in byname]
    # every configuration runs, so that every measurement is checked
    need = sorted({m.config for m in ms})
    server_cpu, _ = cpus()
    procs = {}
    checks = {}
    runs = {}
    pairs = {m.name: [] for m in wms}
    try:
        for name in need:
            cfg = cfgs[name]
            cmd = apache_cmd(cfg, '-DFOREGROUND')
            if server_cpu:
                cmd = ['taskset', '-c', server_cpu] + cmd
            procs[name] = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                                           stdout=subprocess.DEVNULL,
                                           stderr=subprocess.DEVNULL)
        for name in need:
            if not wait_listen(cfgs[name].port, procs[name], 120):
                sys.exit('bench: server %s did not start' % name)
        for m in ms:
            if m.config not in procs:
                continue
            status, headers = fetch(cfgs[m.config].port, m)
            problems = check_response(m, status, headers)
            checks[m.name] = {'shown': shown_headers(status, headers),
                              'problems': problems}
            if problems:
                log('CHECK FAILED %s: %s (%s)' % (m.name, problems,
                                                   shown_headers(status,
                                                                 headers)))
        bad = {n: c['problems'] for n, c in checks.items() if c['problems']}
        if bad:
            sys.exit('bench: these measurements do not answer what they '
                     'claim to, nothing measured: %s' % bad)
        log('wrk: %d pairs x %d rounds x 2 runs of %d s, %d connections'
            % (len(wms), rounds, duration, conns))
        for name in sorted({m.name for m in wms}
                           | {wrk_partner(m) for m in wms}):
            m = byname[name]
            wrk_run(cfgs[m.config].port, m, 1, conns)      # warm-up
        for r in range(rounds):
            k = r % len(wms)
            for m in wms[k:] + wms[:k]:
                b = byname[wrk_partner(m)]
                order = (b, m) if r % 2 == 0 else (m, b)
                got = {}
                for x in order:
                    got[x.name] = wrk_run(cfgs[x.config].port, x, duration,
                                          conns)
                    runs.setdefault(x.name, []).append(got[x.name])
                    if got[x.name].get('error') or got[x.name]['non2xx']:
                        log('wrk problem %s: %s' % (x.name, got[x.name]))
                if got[b.name]['rps']:
                    pairs[m.name].append(got[m.name]['rps']
                                         / got[b.name]['rps'])
            log('wrk round %d/%d: %s' % (r + 1, rounds, ', '.join(
                '%s %.2f' % (n, pairs[n][-1]) for n in
                ('cors-1', 'cors-100k', 'regex-1000', 'cors-1-preflight')
                if n in pairs and pairs[n])))
    finally:
        for p in procs.values():
            stop(p)
    summary = {}
    for name, rr in runs.items():
        m = byname[name]
        summary[name] = {
            'rps': statistics.median(x['rps'] for x in rr),
            'rps_all': [x['rps'] for x in rr],
            'p50': statistics.median(x.get('p50', 0) for x in rr),
            'p99': statistics.median(x.get('p99', 0) for x in rr),
            'non2xx': sum(x['non2xx'] for x in rr),
            'errors': [x.get('error') for x in rr if x.get('error')],
            'base': wrk_partner(m) if name in pairs else None,
            'ratio_base': statistics.median(pairs[name])
            if pairs.get(name) else None,
            'ratio_base_all': pairs.get(name, []),
        }
    res['wrk'] = {'rounds': rounds, 'duration': duration, 'conns': conns,
                  'summary': summary, 'checks': checks,
                  'cmd_example': runs['plain'][0]['cmd'] if 'plain' in runs
                  else None,
                  'server_cpu': server_cpu, 'client_cpu': cpus()[1]}
    problems = {n: c['problems'] for n, c in checks.items() if c['problems']}
    res['checks_failed'] = problems


# --------------------------------------------------------------------------
# Phase: callgrind
# --------------------------------------------------------------------------

def ab_cmd(port, m, n):
    cmd = ['ab', '-q', '-k', '-c1', '-n', str(n), '-s', '60', '-m', m.method]
    for k, v in m.headers():
        cmd += ['-H', '%s: %s' % (k, v)]
    cmd.append('http://127.0.0.1:%d%s' % (port, m.path))
    return cmd


def as_run_user():
    """As root, run apache2 -X as the User from the start (setpriv execs, so
    the pid stays the server's): callgrind writes its output file when the
    process exits, long after httpd gave up root."""
    if not IS_ROOT:
        return []
    return ['setpriv', '--reuid=' + RUN_USER, '--regid=' + RUN_USER,
            '--init-groups', '--']


def callgrind_once(cfg, m, n, tag):
    out = os.path.join(CG_DIR, 'callgrind.%s.%s.%d.out' % (m.name, tag, n))
    vlog = os.path.join(CG_DIR, 'valgrind.%s.%s.%d.log' % (m.name, tag, n))
    try:
        os.unlink(os.path.join(cfg.root, 'run', 'httpd.pid'))
    except OSError:
        pass
    for f in (out, vlog):
        try:
            os.unlink(f)
        except OSError:
            pass
    cmd = as_run_user() + [
        'valgrind', '--tool=callgrind', '--compress-pos=no',
        '--callgrind-out-file=' + out,
        '--log-file=' + vlog] + apache_cmd(cfg, '-X', '-DBENCH_CALLGRIND',
                                           *CG_DEFINES)
    with open(vlog + '.stderr', 'w') as err:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=err,
                                stderr=err)
    try:
        if not wait_listen(cfg.port, proc, 600):
            sys.exit('bench: %s under callgrind did not start (see %s and '
                     '%s.stderr)' % (cfg.name, vlog, vlog))
        ab = subprocess.run(ab_cmd(cfg.port, m, n), capture_output=True,
                            text=True, timeout=900)
    finally:
        stop(proc, timeout=600)
    done = re.search(r'Complete requests:\s+(\d+)', ab.stdout)
    failed = re.search(r'Failed requests:\s+(\d+)', ab.stdout)
    non2xx = re.search(r'Non-2xx responses:\s+(\d+)', ab.stdout)
    if (not done or int(done.group(1)) != n or int(failed.group(1)) != 0
            or non2xx):
        return None, (ab.stdout + ab.stderr)[-1500:]
    total = None
    with open(out) as f:
        for line in f:
            if line.startswith('summary:') or line.startswith('totals:'):
                total = int(line.split()[1])
    if total is None:
        sys.exit('bench: no total in %s' % out)
    return total, out


def callgrind_retry(cfg, m, n, tag):
    """A run in which ab saw a failed request (rarely, a keep-alive
    connection closing under it) is not a measurement: run it again."""
    for attempt in range(3):
        total, out = callgrind_once(cfg, m, n, tag)
        if total is not None:
            return total, out
        log('callgrind %s -n %d: ab saw a failed request, running it again'
            % (m.name, n))
    sys.exit('bench: ab against %s under callgrind failed three times:\n%s'
             % (m.name, out))


def phase_callgrind(cfgs, ms, res):
    n_small, n_big = (50, 550) if QUICK else (200, 2200)
    reps_default = 1 if QUICK else 3
    # the pairs whose difference is tiny get more repetitions
    if os.environ.get('BENCH_CG_REPS'):
        reps_default = int(os.environ['BENCH_CG_REPS'])
    out = res.setdefault('callgrind', {'n_small': n_small, 'n_big': n_big,
                                       'per_request': {}, 'runs': {}})
    out['n_small'], out['n_big'] = n_small, n_big
    for m in ms:
        cfg = cfgs[m.config]
        vals = []
        for rep in range(reps_default):
            t0 = time.monotonic()
            a, fa = callgrind_retry(cfg, m, n_small, 'r%d' % rep)
            b, fb = callgrind_retry(cfg, m, n_big, 'r%d' % rep)
            per = (b - a) / float(n_big - n_small)
            vals.append(per)
            out['runs'].setdefault(m.name, []).append(
                {'small': a, 'big': b, 'per_request': per,
                 'files': [fa, fb]})
            log('callgrind %-24s %9.0f Ir/request  (%.0f s)'
                % (m.name, per, time.monotonic() - t0))
        out['per_request'][m.name] = statistics.median(vals)
    ex = ([m for m in ms if m.name == 'cors-10k'] + ms)[0]
    out['cmd_example'] = {
        'valgrind': as_run_user() + [
            'valgrind', '--tool=callgrind', '--compress-pos=no',
            '--callgrind-out-file=OUT'] + apache_cmd(
                cfgs[ex.config], '-X', '-DBENCH_CALLGRIND', *CG_DEFINES),
        'ab': ab_cmd(cfgs[ex.config].port, ex, n_big)}
    out['mpm'] = 'prefork' if CG_DEFINES else 'event'


# --------------------------------------------------------------------------
# Phase: annotation of the module's functions (cors-10k)
# --------------------------------------------------------------------------

def parse_callgrind(path):
    """Read a callgrind output file (written with --compress-pos=no).
    Returns self cost by function, inclusive cost and count of each call
    edge (caller, callee), and self cost by (source file, line)."""
    names = {}
    self_fn, self_line, edge, ncalls = {}, {}, {}, {}
    fn = file_ = sub = callee = ob = cob = None
    pending = False

    def qualify(name, obj):
        # functions without a symbol: say in which object they are
        if name.startswith('0x') and obj:
            return '%s [%s]' % (name, os.path.basename(obj))
        return name

    def resolve(kind, rest):
        m = re.match(r'\((\d+)\)(?: (.*))?$', rest)
        if not m:
            return rest
        if m.group(2) is not None:
            names[(kind, m.group(1))] = m.group(2)
        return names.get((kind, m.group(1)), '?')

    with open(path, encoding='latin-1') as f:
        for line in f:
            c = line[:1]
            if c.isdigit():
                parts = line.split()
                cost = int(parts[1]) if len(parts) > 1 else 0
                if pending:
                    k = (fn, callee)
                    edge[k] = edge.get(k, 0) + cost
                    pending = False
                else:
                    self_fn[fn] = self_fn.get(fn, 0) + cost
                    k = (sub, int(parts[0]))
                    self_line[k] = self_line.get(k, 0) + cost
                continue
            key, _, rest = line.rstrip('\n').partition('=')
            if key == 'fn':
                fn = qualify(resolve('fn', rest), ob)
                sub = file_
            elif key == 'cfn':
                callee = qualify(resolve('fn', rest), cob or ob)
                cob = None
            elif key == 'fl':
                file_ = sub = resolve('fl', rest)
            elif key in ('fi', 'fe'):
                sub = resolve('fl', rest)
            elif key in ('cfi', 'cfl'):
                resolve('fl', rest)
            elif key == 'ob':
                ob = resolve('ob', rest)
                cob = None
            elif key == 'cob':
                cob = resolve('ob', rest)
            elif key == 'calls':
                pending = True
                k = (fn, callee)
                ncalls[k] = ncalls.get(k, 0) + int(rest.split()[0])
    return {'self': self_fn, 'line': self_line, 'edge': edge,
            'ncalls': ncalls}


def per_request(small, big, n):
    """(big - small) / n for each of the maps parse_callgrind returns."""
    out = {}
    for what in ('self', 'line', 'edge', 'ncalls'):
        a, b = small[what], big[what]
        out[what] = {k: (b.get(k, 0) - a.get(k, 0)) / float(n)
                     for k in set(a) | set(b)}
    return out


def inclusive(pr, fn, exclude=()):
    return pr['self'].get(fn, 0) + sum(
        v for (caller, callee), v in pr['edge'].items()
        if caller == fn and not (callee and callee.split("'")[0] in exclude))


CORS_HOOKS = ('cors_header_parser', 'cors_insert_filter', 'cors_out_filter',
              'cors_create_dir_conf', 'cors_merge_dir_conf')
# The rest of the output filter chain, which cors_out_filter passes the
# response on to: not the module's cost.
NOT_MODULE = ('ap_pass_brigade',)


def not_module(callee):
    return bool(callee) and callee.split("'")[0] in NOT_MODULE


def module_costs(pr):
    """Per request: the module's hooks, each inclusive of what it calls
    (except the rest of the filter chain)."""
    return [(h, inclusive(pr, h, NOT_MODULE)) for h in CORS_HOOKS]


def phase_annotate(res):
    cg = res.get('callgrind', {})
    runs = cg.get('runs', {})
    if 'cors-10k' not in runs or 'plain' not in runs:
        return
    n = cg['n_big'] - cg['n_small']
    parsed = {}
    for name in ('cors-10k', 'plain', 'headers-1'):
        if name in runs:
            fa, fb = runs[name][0]['files']
            parsed[name] = per_request(parse_callgrind(fa),
                                       parse_callgrind(fb), n)
    pr = parsed['cors-10k']
    hooks = module_costs(pr)
    total = cg['per_request']['cors-10k'] - cg['per_request']['plain']
    edges = sorted(((caller, callee, v, pr['ncalls'].get((caller, callee), 0))
                    for (caller, callee), v in pr['edge'].items()
                    if caller and caller.startswith('cors_') and abs(v) >= 0.5
                    and not not_module(callee)),
                   key=lambda e: (e[0], -e[2]))
    selfs = sorted(((f, v) for f, v in pr['self'].items()
                    if f and f.startswith('cors_') and abs(v) >= 0.5),
                   key=lambda kv: -kv[1])

    def diff(a, b):
        d = {}
        for k in set(a['self']) | set(b['self']):
            v = a['self'].get(k, 0) - b['self'].get(k, 0)
            if abs(v) >= 1:
                d[k] = v
        return sorted(d.items(), key=lambda kv: -abs(kv[1]))[:30]
    diff_plain = diff(pr, parsed['plain'])
    diff_headers = diff(pr, parsed['headers-1']) if 'headers-1' in parsed \
        else []
    res['annotation'] = {
        'hooks': hooks, 'total': total,
        'edges': edges, 'self': selfs,
        'diff_vs_plain': diff_plain, 'diff_vs_headers': diff_headers,
        'hooks_headers': (cg['per_request'].get('headers-1', 0)
                          - cg['per_request']['plain'])}

    fa, fb = runs['cors-10k'][0]['files']
    L = []
    w = L.append
    w('callgrind: where mod_cors spends its instructions, cors-10k')
    w('(10,000 exact origins through CorsAllowOriginFile; allowed GET with '
      'ACAO, ACAC, ACEH and Vary)')
    w('')
    w('Generated by bench/bench.py.  Two runs of')
    w('  ' + sh(['valgrind', '--tool=callgrind', '--compress-pos=no',
                 '--callgrind-out-file=OUT', APACHE, '-X',
                 '-DBENCH_CALLGRIND', '-d', 'bench/run/srv/cors-10k', '-f',
                 'bench/run/srv/cors-10k/httpd.conf']))
    w('with  ab -k -c1 -n %d  and  -n %d;  every figure below is '
      '(run -n %d - run -n %d) / %d,'
      % (cg['n_small'], cg['n_big'], cg['n_big'], cg['n_small'], n))
    w('i.e. instructions per request; start-up (reading the 10,000 '
      'origins) cancels out.')
    w('Functions the compiler inlined are counted in their caller.')
    w('')
    w('1. The module\'s hooks, inclusive of what they call (cors_out_filter '
      'without the')
    w('   rest of the filter chain it passes the response to)')
    w('')
    for h, v in hooks:
        w('   %10.1f  %s' % (v, h))
    w('   %10.1f  sum' % sum(v for _h, v in hooks))
    w('   %10.1f  whole process, cors-10k minus plain' % total)
    w('')
    w('2. Calls made by mod_cors functions: caller -> callee, calls per '
      'request, inclusive Ir per request')
    w('')
    for caller, callee, v, k in edges:
        w('   %-28s -> %-32s %6.2f  %9.1f' % (caller, callee, k, v))
    w('')
    w('3. Self cost of mod_cors functions, per request')
    w('')
    for f_, v in selfs:
        w('   %10.1f  %s' % (v, f_))
    w('')
    w('4. Whole process, by function (self cost), cors-10k minus plain, '
      'largest 30')
    w('')
    for k, v in diff_plain:
        w('   %+10.1f  %s' % (v, k))
    if diff_headers:
        w('')
        w('5. Whole process, by function (self cost), cors-10k minus the '
          'mod_headers recipe, largest 30')
        w('')
        for k, v in diff_headers:
            w('   %+10.1f  %s' % (v, k))
    w('')
    w('6. callgrind_annotate --inclusive=yes --threshold=100 OUT(-n %d), '
      'the lines of mod_cors.' % cg['n_big'])
    w('   Whole run: start-up (cors_set_origin*, reading 10,000 origins) '
      'included.  A function')
    w('   the request-time hooks call is not called at start-up, so its '
      'figure / %d is' % cg['n_big'])
    w('   per request.  callgrind_annotate lists one function under two '
      'file names ("mod_cors.c"')
    w('   and "???") when part of its code came from inlined functions; '
      'the tables above add them up.')
    w('')
    p = subprocess.run(['callgrind_annotate', '--inclusive=yes',
                        '--threshold=100', fb], capture_output=True,
                       text=True, timeout=300)
    for line in p.stdout.splitlines():
        if re.search(r'\bcors_\w+', line) or 'PROGRAM TOTALS' in line:
            w('   ' + line.rstrip())
    with open(ANNOTATION, 'w') as f:
        f.write('\n'.join(L) + '\n')


# --------------------------------------------------------------------------
# Phase: filesystem calls per preflight (strace)
# --------------------------------------------------------------------------

def phase_strace(cfgs, ms, res):
    if not shutil.which('strace'):
        return
    n = 20
    out = {}
    for name in ('cors-1-preflight', 'rewrite-preflight',
                 'rewrite-preflight-srv', 'cors-1', 'plain'):
        m = [x for x in ms if x.name == name][0]
        cfg = cfgs[m.config]
        trace = os.path.join(RUN, 'strace.%s.txt' % name)
        try:
            os.unlink(os.path.join(cfg.root, 'run', 'httpd.pid'))
        except OSError:
            pass
        proc = subprocess.Popen(['strace', '-f', '-qq', '-o', trace, '-e',
                                 'trace=%file,%desc,%network']
                                + apache_cmd(cfg, '-X', '-DBENCH_CALLGRIND'),
                                stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        try:
            if not wait_listen(cfg.port, proc, 60):
                sys.exit('bench: %s under strace did not start' % name)
            mark = os.path.getsize(trace) if os.path.exists(trace) else 0
            time.sleep(0.5)
            mark = os.path.getsize(trace)
            subprocess.run(ab_cmd(cfg.port, m, n), capture_output=True,
                           timeout=120)
            time.sleep(0.3)
            with open(trace, encoding='latin-1') as f:
                f.seek(mark)
                text = f.read()
        finally:
            for k in child_pids(proc.pid):
                try:
                    os.kill(k, signal.SIGTERM)
                except OSError:
                    pass
            stop(proc)
        docs = [l for l in text.splitlines() if HTDOCS in l]
        opens = [l for l in docs if re.search(r'\bopen(at)?\(', l)
                 and '.htaccess' not in l]
        stats = [l for l in docs if re.search(r'stat', l)]
        calls = [l for l in text.splitlines()
                 if re.match(r'^\d+\s+\w+\(', l)
                 and 'resumed' not in l]
        hta = [l for l in docs if '.htaccess' in l]
        out[name] = {'htdocs_calls': len(docs) / n, 'opens': len(opens) / n,
                     'htaccess': len(hta) / n,
                     'stats': len(stats) / n, 'syscalls': len(calls) / n,
                     'examples': sorted({re.sub(r'^\d+\s+', '', l)[:120]
                                         for l in docs})[:6]}
        log('strace %-22s per request: %.1f syscalls traced, %.1f on htdocs '
            '(%.1f stat, %.1f open)' % (name, len(calls) / n, len(docs) / n,
                                        len(stats) / n, len(opens) / n))
    res['strace'] = out


# --------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------

def sh(cmd):
    def q(a):
        return a if re.match(r'^[\w@%+=:,./-]+$', a) else "'%s'" % \
            a.replace("'", "'\\''")
    return ' '.join(q(a) for a in cmd)


def version(cmd, pattern=None):
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=20)
        text = (p.stdout + p.stderr).strip()
    except (OSError, subprocess.SubprocessError):
        return '?'
    if pattern:
        m = re.search(pattern, text)
        return m.group(0) if m else text.splitlines()[0]
    return text.splitlines()[0] if text else '?'


def machine_info():
    model = '?'
    try:
        for line in open('/proc/cpuinfo'):
            if line.startswith('model name'):
                model = line.split(':', 1)[1].strip()
                break
    except OSError:
        pass
    mem = status_mem()
    return {
        'cpu': model, 'cpus': os.cpu_count(), 'mem': mem,
        'kernel': platform.release(),
        'os': open('/etc/debian_version').read().strip()
        if os.path.exists('/etc/debian_version') else '?',
        'apache': version([APACHE, '-v'], r'Apache/[\d.]+ \(\w+\)'),
        'mpm': 'event',
        'wrk': version(['wrk', '-v'], r'wrk [\d.]+\S*'),
        'valgrind': version(['valgrind', '--version']),
        'ab': version(['ab', '-V'], r'Version [\d.]+ <\$Revision: \d+ \$>'),
        'gnuplot': version(['gnuplot', '--version']),
        'cc': version(['cc', '--version']),
        'load': open('/proc/loadavg').read().split()[:3],
        'cors_c_sha256': sha256(os.path.join(REPO, 'mod_cors.c')),
        'cors_so_sha256': sha256(CORS_SO),
        'git_head': version(['git', '-C', REPO, 'rev-parse', '--short',
                             'HEAD']),
        'cors_c_modified': subprocess.run(
            ['git', '-C', REPO, 'diff', '--quiet', 'HEAD', '--',
             'mod_cors.c'], capture_output=True).returncode != 0,
    }


def status_mem():
    try:
        for line in open('/proc/meminfo'):
            if line.startswith('MemTotal'):
                return '%.0f GiB' % (int(line.split()[1]) / 1024 / 1024)
    except OSError:
        pass
    return '?'


def sha256(path):
    try:
        return hashlib.sha256(open(path, 'rb').read()).hexdigest()[:16]
    except OSError:
        return '?'


def plot(res, ms):
    cg = res.get('callgrind', {}).get('per_request', {})
    if 'plain' not in cg:
        return False
    plain = cg['plain']
    dat = os.path.join(RUN, 'plot.dat')
    with open(dat, 'w') as f:
        f.write('# series origins instructions_per_request over_plain\n')
        for group, title in (('cors', 'mod_cors, exact origins'),
                             ('regex', 'SetEnvIf regex recipe')):
            f.write('# %s\n' % title)
            for m in ms:
                if m.group == group and m.name in cg and m.origins:
                    f.write('%d %.0f %.0f\n' % (m.origins, cg[m.name],
                                                cg[m.name] - plain))
            f.write('\n\n')
        f.write('# mod_cors, subdomain patterns\n')
        if 'cors-sub-1k' in cg:
            f.write('%d %.0f %.0f\n' % (N_SUB, cg['cors-sub-1k'],
                                        cg['cors-sub-1k'] - plain))
        f.write('\n\n')
        f.write('# mod_cors, denied origin\n')
        for name, x in (('cors-1-denied', 1), ('cors-100k-denied', 100000)):
            if name in cg:
                f.write('%d %.0f %.0f\n' % (x, cg[name], cg[name] - plain))
        f.write('\n\n')
    hdr = cg.get('headers-1', plain)
    floor = cg.get('floor-allowed', plain)
    ymax = max(v for k, v in cg.items())
    p = subprocess.run(['gnuplot', '-e', "datafile='%s'; outfile='%s'; "
                        "plain=%.0f; headers=%.0f; floor=%.0f; ymax=%.0f; "
                        "overmax=%.0f; subtitle='%s'"
                        % (dat, RESULTS_PNG, plain, hdr, floor, ymax,
                           ymax - plain,
                           'Apache %s, event MPM, 1 KiB JSON, callgrind '
                           '(ab -k -c1 -n %d minus -n %d)'
                           % (res['machine']['apache'].split('/')[1]
                              .split()[0],
                              res['callgrind']['n_big'],
                              res['callgrind']['n_small'])),
                        PLOT_GP], capture_output=True, text=True, timeout=60)
    if p.returncode != 0:
        log('gnuplot failed: %s' % p.stderr)
        return False
    return True


def floor_table(cg):
    """Rows of the floor table: goal, limit, floor, mod_cors, own share."""
    rows = []

    def over(a, b):
        return cg[a] - cg[b]
    pairs = (('1a allowed GET (ACAO, ACAC, ACEH, Vary)', '+2,000',
              'floor-allowed', 'cors-10k', 'plain'),
             ('1c denied origin (Vary: Origin)', '+2,000', 'floor-vary',
              'cors-100k-denied', 'plain'),
             ('1d no Origin (Vary: Origin)', '+2,000',
              'floor-vary-noorigin', 'cors-100k-noorigin', 'plain-noorigin'))
    for goal, limit, fl, mine, base in pairs:
        if fl in cg and mine in cg and base in cg:
            rows.append([goal, limit, '%+d' % round(over(fl, base)),
                         '%+d (%s)' % (round(over(mine, base)), mine),
                         '%+d' % round(cg[mine] - cg[fl])])
    if all(k in cg for k in ('floor-preflight', 'cors-1-preflight',
                             'rewrite-preflight')):
        rw = cg['rewrite-preflight']
        rows.append(['2a preflight, × the mod_rewrite recipe (%s Ir)'
                     % fmt_int(rw), '0.70× (%s Ir)' % fmt_int(0.7 * rw),
                     '%.3f× (%s)' % (cg['floor-preflight'] / rw,
                                     fmt_int(cg['floor-preflight'])),
                     '%.3f× (%s)' % (cg['cors-1-preflight'] / rw,
                                     fmt_int(cg['cors-1-preflight'])),
                     '%+d' % round(cg['cors-1-preflight']
                                   - cg['floor-preflight'])])
    if all(k in cg for k in ('floor-outside', 'cors-outside',
                             'plain-static')):
        ps = cg['plain-static']
        rows.append(['3 outside CORS scope', '+0.1%% (%+.0f Ir)' % (0.001 * ps),
                     '%+.0f (%+.2f%%)' % (over('floor-outside', 'plain-static'),
                                          100.0 * over('floor-outside',
                                                       'plain-static') / ps),
                     '%+.0f (%+.2f%%)' % (over('cors-outside', 'plain-static'),
                                          100.0 * over('cors-outside',
                                                       'plain-static') / ps),
                     '%+.0f' % (cg['cors-outside'] - cg['floor-outside'])])
    return rows


def verdict(g):
    v = '**met**' if g['ok'] else '**missed**'
    if g.get('note'):
        v += ' (%s)' % g['note']
    return v


def report(res, ms, cfgs):
    cg = res.get('callgrind', {}).get('per_request', {})
    wrk = res.get('wrk', {}).get('summary', {})
    st = res.get('startup', {})
    mach = res['machine']
    byname = {m.name: m for m in ms}
    L = []
    w = L.append
    w('# mod_cors benchmark results')
    w('')
    w('Generated by `make bench`%s (bench/bench.py) on %s; do not edit by '
      'hand.' % (' with BENCH_QUICK=1 (smoke run: fewer requests and '
                 'rounds; figures are indicative only)' if QUICK else '',
                 res['date']))
    w('')
    w('![instructions per request against the number of origins]'
      '(results.png)')
    w('')

    # ---------------- goals
    goals = evaluate_goals(res)
    res['goals'] = goals
    w('## Goals')
    w('')
    w('| # | goal | measured | verdict |')
    w('|---|---|---|---|')
    for g in goals:
        w('| %s | %s | %s | %s |' % (g['id'], g['goal'], g['measured'],
                                     verdict(g)))
    w('')

    # ---------------- the floor
    floor_rows = floor_table(cg)
    if floor_rows:
        w('## The floor: what httpd charges any module for the same lines')
        w('')
        w('[bench/floor/mod_cors_floor.c](floor/mod_cors_floor.c) is a '
          'control, built by `make bench` and never installed. It writes the '
          'header lines mod_cors writes, in the cheapest way a module can: '
          'in header_parser, straight into the response headers, with no '
          'matching, no validation, no output filter, no environment '
          'variable, no note and no configuration merging. What it costs '
          'over plain httpd is httpd\'s own price for the request hook and '
          'for those lines (each name and value checked by '
          'ap_http_header_filter, Vary re-split and re-joined by its '
          'fixup_vary, every line formatted and copied to the connection). '
          'No CORS module can cost less. Where the floor alone is past a '
          'goal\'s limit, the goal cannot be met as written; mod_cors\'s '
          'own share (the last column) is what is left to cut.')
        w('')
        w('| goal | limit | floor (any module) | mod_cors | mod_cors\'s own '
          'share |')
        w('|---|---|---:|---:|---:|')
        for row in floor_rows:
            w('| %s |' % ' | '.join(row))
        w('')

    # ---------------- callgrind
    if cg:
        c = res['callgrind']
        w('## Instructions per request (callgrind)')
        w('')
        w('(Ir of `ab -k -c1 -n %d` − Ir of `-n %d`) / %d, whole '
          '`apache2 -X` process, one worker thread. "Over" is the '
          'difference to the baseline named in the last column (plain: '
          'the same request to the same server without any CORS module).'
          % (c['n_big'], c['n_small'], c['n_big'] - c['n_small']))
        w('')
        w('| measurement | configuration | instructions/request | over '
          'baseline | × baseline | baseline |')
        w('|---|---|---:|---:|---:|---|')
        for m in ms:
            if m.name not in cg:
                continue
            v = cg[m.name]
            base = m.baseline
            if base and base in cg:
                over = ('+' if v - cg[base] >= 0 else '') + \
                    fmt_int(v - cg[base])
                ratio = '%.3f' % (v / cg[base])
            else:
                over, ratio, base = '—', '—', '—'
            runs = res['callgrind']['runs'].get(m.name, [])
            spread = ''
            if len(runs) > 1:
                vals = [r['per_request'] for r in runs]
                spread = ' (%d runs: %s)' % (len(vals), ', '.join(
                    '%.0f' % x for x in vals))
            w('| %s | %s | %s%s | %s | %s | %s |'
              % (m.name, m.label, fmt_int(v), spread, over, ratio, base))
        w('')

    # ---------------- wrk
    if wrk:
        r = res['wrk']
        w('## Throughput (wrk)')
        w('')
        w('All servers running at once, each one event-MPM child with 64 '
          'threads; server pinned to CPU %s, wrk (1 thread, %d connections, '
          'keep-alive) to CPU %s. Each measurement runs right next to its '
          'baseline (%d s each, which one goes first alternates), so that '
          'both see the same background load; the ratio of the pair is the '
          'figure, and the table gives the median over %d rounds. This '
          'machine is shared and noisy (other jobs ran during the run): '
          'wrk resolves only differences above ~10%%; the instruction '
          'counts above are the precise figures. Throughput also counts '
          'the kernel\'s share of each request (network system calls), '
          'which callgrind does not see and which is the same for every '
          'configuration, so ratios here are closer to 1 than the '
          'instruction ratios.'
          % (r['server_cpu'], r['conns'], r['client_cpu'], r['duration'],
             r['rounds']))
        w('')
        w('| measurement | paired with | × baseline (median of pairs) | '
          'ratio of each pair | req/s (median) | p50 µs | p99 µs |')
        w('|---|---|---:|---|---:|---:|---:|')
        for m in ms:
            if m.name not in wrk:
                continue
            s = wrk[m.name]
            w('| %s | %s | %s | %s | %s | %.0f | %.0f |'
              % (m.name, s['base'] or '—',
                 '%.2f' % s['ratio_base'] if s['ratio_base'] else '—',
                 ', '.join('%.2f' % x for x in s['ratio_base_all']),
                 fmt_int(s['rps']), s['p50'], s['p99']))
        w('')

    # ---------------- startup
    if st:
        base = st.get('cors-1', {})
        w('## Start-up with 100,000 origins')
        w('')
        w('`apache2 -t` wall time (best of %d runs) and the memory of a '
          'running server (event MPM: parent, and its child after 20 '
          'requests), against the same configuration with 1 origin. The '
          'last column is what `apache2 -t -c "LogLevel warn cors:info"` '
          'reports.' % len(base.get('times', [0])))
        w('')
        w('| configuration | apache2 -t (s) | over 1 origin (s) | start to '
          'listening (s) | VmRSS parent (MB) | over 1 origin | VmRSS child '
          '(MB) | over 1 origin | start-up report |')
        w('|---|---:|---:|---:|---:|---:|---:|---:|---|')
        for name in ('plain', 'cors-1', 'cors-100k', 'cors-100k-inline'):
            if name not in st:
                continue
            s = st[name]
            w('| %s: %s | %.3f | %s | %.2f | %.1f | %s | %.1f | %s | %s |'
              % (name, cfgs[name].note, s['t_min'],
                 '%+.3f' % (s['t_min'] - base['t_min']) if base else '—',
                 s['ready'], s['rss_parent_kb'] / 1024.0,
                 '%+.1f' % ((s['rss_parent_kb'] - base['rss_parent_kb'])
                            / 1024.0) if base else '—',
                 (s['rss_child_kb'] or 0) / 1024.0,
                 '%+.1f' % (((s['rss_child_kb'] or 0)
                             - (base['rss_child_kb'] or 0)) / 1024.0)
                 if base else '—',
                 '`%s`' % s['report'] if s['report'] else ''))
        w('')

    # ---------------- strace
    if res.get('strace'):
        w('## System calls per request (strace)')
        w('')
        w('`strace -f -e trace=%file,%desc,%network apache2 -X`, 20 requests '
          'after start-up; calls per request. "on htdocs" counts the calls '
          'that name a path under the document root (the directory walk\'s '
          'stat, and the open of the file when it is served).')
        w('')
        w('| measurement | traced syscalls | on htdocs | stat (directory '
          'walk) | .htaccess | open of the document | htdocs calls seen |')
        w('|---|---:|---:|---:|---:|---:|---|')
        for name, s in res['strace'].items():
            w('| %s | %.1f | %.1f | %.1f | %.1f | %.1f | %s |'
              % (name, s['syscalls'], s['htdocs_calls'], s['stats'],
                 s.get('htaccess', 0), s['opens'],
                 '<br>'.join('`%s`' % e.replace('|', '\\|')
                             for e in s['examples'])))
        w('')

    # ---------------- where the instructions go
    ann = res.get('annotation')
    if ann:
        w('## Where mod_cors\'s instructions go (cors-10k)')
        w('')
        w(annotation_paragraph(res))
        w('')
        w('Per request, from the two cors-10k callgrind runs (the full '
          'listing, with every call the module makes and the '
          '`callgrind_annotate` output, is in [callgrind-cors-10k.txt]'
          '(callgrind-cors-10k.txt)):')
        w('')
        w('| hook (inclusive of what it calls) | Ir/request |')
        w('|---|---:|')
        for h, v in ann['hooks']:
            w('| %s | %.0f |' % (h, v))
        w('| sum of the hooks | %.0f |' % sum(v for _h, v in ann['hooks']))
        w('| whole process, cors-10k − plain | %.0f |' % ann['total'])
        w('')
        w('Largest per-request differences between cors-10k and plain, by '
          'function (self cost, whole process: the module\'s functions, '
          'what they call, and httpd\'s extra work):')
        w('')
        w('| Ir/request | function |')
        w('|---:|---|')
        for name, d in ann['diff_vs_plain'][:16]:
            w('| %+.0f | %s |' % (d, name))
        w('')

    # ---------------- what each measurement answered
    checks = res.get('wrk', {}).get('checks', {})
    if checks:
        w('## What each measurement answers')
        w('')
        w('One request to each running server before the wrk rounds; '
          'status and the Access-Control-* and Vary lines.')
        w('')
        w('| measurement | request | response | as expected |')
        w('|---|---|---|---|')
        for m in ms:
            if m.name not in checks:
                continue
            c = checks[m.name]
            req = '%s %s%s' % (m.method, m.path, ''.join(
                '<br>%s: %s' % kv for kv in m.headers()))
            w('| %s | %s | %s | %s |' % (m.name, req,
                                         c['shown'].replace('; ', '<br>'),
                                         'yes' if not c['problems'] else
                                         'NO: ' + ', '.join(c['problems'])))
        w('')

    # ---------------- configurations
    w('## Configurations')
    w('')
    w('Every configuration is the same file except its LoadModule lines and '
      'the body of `<Directory "htdocs/api">` (one recipe also has lines in '
      'server context): event MPM, mod_authz_core and mod_mime loaded, '
      '`LogLevel warn`, no access log, keep-alive on with httpd\'s defaults, '
      'a 1 KiB static JSON file. The generated files are in '
      '`bench/run/srv/NAME/httpd.conf`.')
    w('')
    w('| configuration | modules added | what it is |')
    w('|---|---|---|')
    for name, c in cfgs.items():
        mods = ', '.join(['mod_' + x for x in c.modules]
                         + (['mod_cors'] if c.cors else [])) or '—'
        w('| %s | %s | %s |' % (name, mods, c.note))
    w('')
    w('The sections, with the long origin lists shortened:')
    w('')
    for name in ('headers-1', 'regex-10', 'rewrite-preflight', 'cors-100',
                 'cors-100k', 'cors-sub-1k'):
        c = cfgs[name]
        body = c.section or c.server
        lines = body.splitlines()
        if name.startswith('regex'):
            lines = [re.sub(r'\^\(([^|]*\|[^|]*\|).*\|([^|]*)\)\$',
                            r'^(\1...|\2)$', x) for x in lines]
        if len(lines) > 12:
            k = sum(1 for x in lines if 'CorsAllowOrigin ' in x)
            first = [x for x in lines if 'CorsAllowOrigin ' in x][:2]
            rest = [x for x in lines if 'CorsAllowOrigin ' not in x]
            lines = first + ['    # ... %d CorsAllowOrigin lines in all' % k] \
                + rest
        w('`%s`%s:' % (name, ' (server context)' if c.server else ''))
        w('```apache')
        w('\n'.join(lines))
        w('```')
    w('')

    # ---------------- commands and machine
    w('## Exact commands')
    w('')
    c = res.get('callgrind', {})
    if c.get('cmd_example'):
        w('callgrind, per measurement, once with `-n %d` and once with '
          '`-n %d` (a fresh server each time; SIGTERM ends it):'
          % (c['n_small'], c['n_big']))
        w('```sh')
        w(sh(c['cmd_example']['valgrind']))
        w('# once 127.0.0.1:PORT is in LISTEN state in /proc/net/tcp:')
        w(sh(c['cmd_example']['ab']))
        w('grep ^summary: OUT')
        w('```')
    if res.get('wrk', {}).get('cmd_example'):
        w('wrk, per measurement and round (preflights add `-s '
          'bench/preflight.lua`, which sets the method to OPTIONS):')
        w('```sh')
        w('taskset -c %s %s' % (res['wrk']['server_cpu'],
                                sh(apache_cmd(cfgs['plain'],
                                              '-DFOREGROUND'))))
        w(sh(res['wrk']['cmd_example']))
        w('```')
    w('start-up:')
    w('```sh')
    w(sh(apache_cmd(cfgs['cors-100k-inline'], '-t', '-c',
                    'LogLevel warn cors:info')))
    w('grep -E "^Vm(RSS|HWM)" /proc/PID/status   # parent, and its child')
    w('```')
    w('')
    w('## Machine and versions')
    w('')
    w('| | |')
    w('|---|---|')
    for k, label in (('cpu', 'CPU'), ('cpus', 'CPUs'), ('mem', 'memory'),
                     ('os', 'Debian'), ('kernel', 'kernel'),
                     ('apache', 'httpd'), ('mpm', 'MPM'), ('wrk', 'wrk'),
                     ('ab', 'ab'), ('valgrind', 'valgrind'),
                     ('gnuplot', 'gnuplot'), ('cc', 'compiler'),
                     ('git_head', 'git HEAD'),
                     ('cors_c_sha256', 'mod_cors.c sha256 (first 16)'),
                     ('cors_so_sha256', 'mod_cors.so sha256 (first 16)')):
        v = mach.get(k)
        if k == 'git_head' and mach.get('cors_c_modified'):
            v = '%s (mod_cors.c modified in the work tree)' % v
        w('| %s | %s |' % (label, v))
    w('| load average before / after | %s / %s |'
      % (' '.join(mach['load']), ' '.join(res.get('load_after', []))))
    w('| duration of the run | %.0f s |' % res.get('elapsed', 0))
    w('')
    problems = res.get('error_log_problems')
    if problems:
        w('## Error-log warnings seen')
        w('')
        for name, lines in problems.items():
            for line in lines[:5]:
                w('- %s: `%s`' % (name, line))
        w('')
    with open(RESULTS_MD, 'w') as f:
        f.write('\n'.join(L))


def annotation_paragraph(res):
    cg = res['callgrind']['per_request']
    ann = res['annotation']
    hooks = dict(ann['hooks'])
    module = sum(hooks.values())
    total = ann['total']
    floor = cg.get('floor-allowed')
    # the module's calls out, largest first (what its own share is made of)
    calls = {}
    for caller, callee, v, _k in ann['edges']:
        if callee and not callee.startswith('cors_'):
            calls[callee] = calls.get(callee, 0) + v
    top = sorted(calls.items(), key=lambda kv: -kv[1])[:6]
    own_self = sum(v for _f, v in ann['self'])
    text = ('An allowed GET at 10,000 origins costs %s instructions more '
            'than plain. ' % fmt_int(total))
    if floor:
        f = floor - cg['plain']
        text += (
            'The control module bench/floor/mod_cors_floor.c, which writes '
            'the same four header lines in header_parser and does nothing '
            'else (no matching, no output filter, no environment variable, '
            'no merging), costs %+.0f in the same run: that much is what '
            'httpd charges for the hook and the lines themselves (each name '
            'and value validated by ap_http_header_filter, Vary re-split and '
            're-joined by its fixup_vary, every line formatted and copied), '
            'and no module can go below it. mod_cors\'s own share is the '
            'rest, %+.0f. ' % (f, total - f))
    text += (
        'The module\'s hooks, with everything they call, account for %.0f: '
        'cors_header_parser %.0f, cors_insert_filter %.0f (adding the '
        'output filter: httpd\'s ap_add_output_filter_handle), '
        'cors_out_filter %.0f and the per-directory merge %.0f; of that, '
        '%.0f is the module\'s own code and the rest the httpd and APR '
        'functions it calls, largest: %s. (The hooks\' figure counts the '
        'three header lines and Vary the module adds to the tables, which '
        'the control module adds too; the floor above already holds '
        'them.)'
        % (module, hooks.get('cors_header_parser', 0),
           hooks.get('cors_insert_filter', 0),
           hooks.get('cors_out_filter', 0),
           hooks.get('cors_create_dir_conf', 0)
           + hooks.get('cors_merge_dir_conf', 0),
           own_self,
           ', '.join('%s %.0f' % kv for kv in top)))
    return text


def evaluate_goals(res):
    cg = res.get('callgrind', {}).get('per_request', {})
    wrk = res.get('wrk', {}).get('summary', {})
    st = res.get('startup', {})
    goals = []

    def floor_note(g, name, base, limit, what):
        """Say what the control module costs for the same lines, and when
        that alone is past the goal's limit."""
        if name not in cg or base not in cg:
            return
        f = cg[name] - cg[base]
        g['measured'] += '; floor (bench/floor, %s) %+d' % (what, round(f))
        if f > limit and not g['ok']:
            g['note'] = 'unattainable: the floor alone is above the limit'
    if cg:
        def over(name, base='plain'):
            return cg[name] - cg[base]
        allowed = ['cors-1', 'cors-100', 'cors-10k', 'cors-100k',
                   'cors-sub-1k']
        allowed = [n for n in allowed if n in cg]
        ov = [over(n) for n in allowed]
        goals.append({'id': '1a', 'goal': 'allowed GET (ACAO, ACAC, ACEH, '
                      'Vary) ≤ +2,000 Ir over plain',
                      'measured': ', '.join('%s %+d' % (n, round(o)) for n, o
                                            in zip(allowed, ov)),
                      'ok': max(ov) <= 2000})
        floor_note(goals[-1], 'floor-allowed', 'plain', 2000,
                   'the same four lines')
        for label, names in (('exact origins 1 to 100k', [
                n for n in allowed if n != 'cors-sub-1k']),
                ('exact origins 1 to 100k and 1,000 patterns', allowed)):
            o = [over(n) for n in names]
            spread = max(o) - min(o)
            pct = 100.0 * spread / min(o) if min(o) > 0 else 0
            goals.append({'id': '1b', 'goal': 'allowed GET: the same figure '
                          'within 5%%, %s' % label,
                          'measured': 'overhead from %s to %s: spread %s Ir '
                          '= %.1f%%' % (fmt_int(min(o)), fmt_int(max(o)),
                                        fmt_int(spread), pct),
                          'ok': pct <= 5})
        den = [n for n in ('cors-1-denied', 'cors-100k-denied',
                           'cors-sub-1k-denied') if n in cg]
        if den:
            ov = [over(n) for n in den]
            spread = max(cg[n] for n in den) - min(cg[n] for n in den)
            pct = 100.0 * spread / min(ov) if min(ov) > 0 else 0
            goals.append({'id': '1c', 'goal': 'denied origin: ≤ +2,000 and '
                          'flat within 5%',
                          'measured': ', '.join('%s %+d' % (n, round(o))
                                                for n, o in zip(den, ov))
                          + '; spread %.1f%%' % pct,
                          'ok': max(ov) <= 2000 and pct <= 5})
            floor_note(goals[-1], 'floor-vary', 'plain', 2000,
                       'Vary: Origin')
        no = [n for n in ('cors-1-noorigin', 'cors-100k-noorigin') if n in cg]
        if no and 'plain-noorigin' in cg:
            ov = [over(n, 'plain-noorigin') for n in no]
            spread = max(cg[n] for n in no) - min(cg[n] for n in no)
            pct = 100.0 * spread / min(ov) if min(ov) > 0 else 0
            goals.append({'id': '1d', 'goal': 'no Origin: ≤ +2,000 (over '
                          'plain without Origin) and flat within 5%',
                          'measured': ', '.join('%s %+d' % (n, round(o))
                                                for n, o in zip(no, ov))
                          + '; spread %.1f%%' % pct,
                          'ok': max(ov) <= 2000 and pct <= 5})
            floor_note(goals[-1], 'floor-vary-noorigin', 'plain-noorigin',
                       2000, 'Vary: Origin')
        if 'cors-1-preflight' in cg and 'rewrite-preflight' in cg:
            r1 = cg['cors-1-preflight'] / cg['rewrite-preflight']
            r2 = cg['cors-1-preflight'] / cg['rewrite-preflight-srv'] \
                if 'rewrite-preflight-srv' in cg else None
            r3 = cg['cors-100k-preflight'] / cg['rewrite-preflight'] \
                if 'cors-100k-preflight' in cg else None
            ok = r1 <= 0.7
            meas = ('%s vs %s Ir: %.2f× the recipe in <Directory>'
                    % (fmt_int(cg['cors-1-preflight']),
                       fmt_int(cg['rewrite-preflight']), r1))
            if r3:
                meas += ' (100k origins: %.2f×)' % r3
            if r2:
                meas += '; %.2f× the recipe in server context' % r2
            if 'floor-preflight' in cg:
                rf = cg['floor-preflight'] / cg['rewrite-preflight']
                meas += ('; floor (bench/floor, the same six lines) %.2f×'
                         % rf)
            goals.append({'id': '2a', 'goal': 'preflight ≤ 0.7× the '
                          'instructions of the mod_rewrite recipe',
                          'measured': meas, 'ok': ok})
            if 'floor-preflight' in cg and rf > 0.7 and not ok:
                goals[-1]['note'] = ('unattainable: the floor alone is above '
                                     'the limit')
        if 'cors-outside' in cg and 'plain-static' in cg:
            d = cg['cors-outside'] - cg['plain-static']
            pct = 100.0 * d / cg['plain-static']
            goals.append({'id': '3', 'goal': 'outside CORS scope: within '
                          '0.1% of plain without the module',
                          'measured': '%+.0f Ir/request = %+.3f%%'
                          % (d, pct), 'ok': abs(pct) <= 0.1})
            if 'floor-outside' in cg:
                fd = cg['floor-outside'] - cg['plain-static']
                goals[-1]['measured'] += ('; floor (bench/floor, one hook '
                                          'that returns) %+.0f = %+.3f%%'
                                          % (fd, 100.0 * fd
                                             / cg['plain-static']))
                if fd > 0.001 * cg['plain-static'] and not goals[-1]['ok']:
                    goals[-1]['note'] = ('unattainable: the floor alone is '
                                         'above the limit')
    if wrk and 'cors-1-preflight' in wrk and 'rewrite-preflight' in wrk:
        s = wrk['cors-1-preflight']
        r = s['ratio_base']
        goals.append({'id': '2b', 'goal': 'more preflights/s than the recipe '
                      'in the same wrk run',
                      'measured': '%s vs %s req/s (medians); ratio within a '
                      'round: median %.2f, rounds %s' % (
                          fmt_int(s['rps']),
                          fmt_int(wrk['rewrite-preflight']['rps']), r,
                          ', '.join('%.2f' % x for x in s['ratio_base_all'])),
                      'ok': r > 1.0,
                      'note': None if (min(s['ratio_base_all']) > 1.0
                                       or max(s['ratio_base_all']) < 1.0)
                      else 'the pairs disagree: within wrk\'s noise'})
    st_ = res.get('strace', {})
    if 'cors-1-preflight' in st_:
        s = st_['cors-1-preflight']
        goals.append({'id': '2c', 'goal': 'preflight answered without '
                      'touching the filesystem beyond the config walk',
                      'measured': '%.1f calls on htdocs per preflight (%.1f '
                      'stat, %.1f open); a GET: %.1f' % (
                          s['htdocs_calls'], s['stats'], s['opens'],
                          st_.get('cors-1', {}).get('htdocs_calls', 0)),
                      'ok': s['opens'] == 0})
    if st and 'cors-1' in st:
        base = st['cors-1']
        for name, what in (('cors-100k-inline', 'inline lines'),
                           ('cors-100k', 'CorsAllowOriginFile')):
            if name not in st:
                continue
            s = st[name]
            dt = s['t_min'] - base['t_min']
            dp = (s['rss_parent_kb'] - base['rss_parent_kb']) / 1024.0
            dc = ((s['rss_child_kb'] or 0) - (base['rss_child_kb'] or 0)) \
                / 1024.0
            goals.append({'id': '4', 'goal': '100,000 origins (%s): parse < '
                          '1 s, < 30 MB per process, counted at start-up'
                          % what,
                          'measured': 'apache2 -t +%.2f s; RSS parent %+.1f '
                          'MB, child %+.1f MB; "%s"' % (
                              dt, dp, dc, s['report'].split(': ', 1)[-1]),
                          'ok': dt < 1.0 and dp < 30 and dc < 30
                          and '100000 exact origins' in s['report']})
    return goals


# --------------------------------------------------------------------------

def quick_outputs():
    """A smoke run leaves the committed results alone: it writes its
    report, plot and annotation under bench/run/quick/."""
    global RESULTS_MD, RESULTS_PNG, ANNOTATION, RESULTS_JSON
    d = os.path.join(RUN, 'quick')
    RESULTS_JSON = os.path.join(d, 'results.json')
    os.makedirs(d, exist_ok=True)
    RESULTS_MD = os.path.join(d, 'results.md')
    RESULTS_PNG = os.path.join(d, 'results.png')
    ANNOTATION = os.path.join(d, 'callgrind-cors-10k.txt')


def main():
    global QUICK
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--quick', action='store_true',
                    help='smoke run (the same as BENCH_QUICK=1)')
    ap.add_argument('--phases', default='startup,wrk,callgrind,annotate,'
                    'strace,report',
                    help='comma-separated subset of startup, wrk, callgrind, '
                         'annotate, strace, report (report only: from '
                         'bench/run/results.json)')
    ap.add_argument('--only', default='',
                    help='comma-separated measurement names (callgrind, wrk)')
    args = ap.parse_args()
    # stopping the run stops the servers it started (the finally blocks)
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(143))
    if args.quick:
        QUICK = True
    if QUICK:
        quick_outputs()
    phases = args.phases.split(',')
    if not os.path.isfile(BUILT_SO):
        sys.exit('bench: %s is missing: run "make" first' % BUILT_SO)
    t0 = time.monotonic()
    cfgs = make_configs()
    ms = make_measurements()
    if args.only:
        keep = set(args.only.split(','))
        base = {'plain', 'plain-noorigin', 'plain-static', 'rewrite-preflight'}
        ms = [m for m in ms if m.name in keep or m.name in base]
    if phases == ['report']:
        res = json.load(open(RESULTS_JSON))
    else:
        res = {}
        every = {'startup', 'wrk', 'callgrind', 'annotate', 'strace'}
        if os.path.exists(RESULTS_JSON) and (args.only
                                             or not every <= set(phases)):
            # a partial run updates the results of the last full one
            res = json.load(open(RESULTS_JSON))
        res['date'] = datetime.datetime.now().strftime('%Y-%m-%d %H:%M')
        res['quick'] = QUICK
        log('generating %d configurations in %s' % (len(cfgs), SRV))
        setup(cfgs)
        res['machine'] = machine_info()
        for c in cfgs.values():
            p = config_test(c)
            if p.returncode != 0:
                sys.exit('bench: apache2 -t failed for %s:\n%s'
                         % (c.name, p.stderr))
        if 'startup' in phases:
            phase_startup(cfgs, res)
        if 'wrk' in phases:
            phase_wrk(cfgs, ms, res)
        if 'callgrind' in phases:
            phase_callgrind(cfgs, ms, res)
        if 'annotate' in phases:
            phase_annotate(res)
        if 'strace' in phases:
            phase_strace(cfgs, ms, res)
        res['error_log_problems'] = {c.name: error_log_problems(c)
                                     for c in cfgs.values()
                                     if error_log_problems(c)}
        res['load_after'] = open('/proc/loadavg').read().split()[:3]
        res['elapsed'] = time.monotonic() - t0
        with open(RESULTS_JSON, 'w') as f:
            json.dump(res, f, indent=1)
    ms_all = make_measurements()
    if 'report' in phases:
        plot(res, ms_all)
        report(res, ms_all, cfgs)
        log('wrote %s and %s' % (os.path.relpath(RESULTS_MD, REPO),
                                 os.path.relpath(RESULTS_PNG, REPO)))
        for g in res.get('goals', []):
            log('goal %-3s %-7s %s%s' % (g['id'], 'met' if g['ok'] else
                                         'MISSED', g['measured'],
                                         ' (%s)' % g['note']
                                         if g.get('note') else ''))
    with open(RESULTS_JSON, 'w') as f:
        json.dump(res, f, indent=1)
    log('done in %.0f s' % (time.monotonic() - t0))


if __name__ == '__main__':
    main()
