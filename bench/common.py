"""Paths, the run's settings and the small helpers every part of the
benchmark uses."""
import functools
import os
import re
import subprocess
import time
import types

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
RUN = os.path.join(HERE, 'run')
SRV = os.path.join(RUN, 'srv')
HTDOCS = os.path.join(RUN, 'htdocs')
ORIGINS_DIR = os.path.join(RUN, 'origins')
CG_DIR = os.path.join(RUN, 'callgrind')
PLOT_GP = os.path.join(HERE, 'plot.gp')
PREFLIGHT_LUA = os.path.join(HERE, 'preflight.lua')
TEMPLATE = os.path.join(HERE, 'results.md.in')
APACHE = '/usr/sbin/apache2'
BUILT_SO = os.path.join(REPO, '.libs', 'mod_cors.so')
# The servers load a snapshot of the built module, taken when the run starts:
# the work tree is shared, and a rebuild between httpd's two configuration
# passes would change the code under callgrind.
CORS_SO = os.path.join(RUN, 'mod_cors.so')
# The same module built with -DCORS_NO_COUNTERS (no counting on the request
# path), the baseline of the counters' cost; built by servers.setup().
NOCOUNTERS_DIR = os.path.join(RUN, 'nocounters')
NOCOUNTERS_SO = os.path.join(RUN, 'mod_cors-nocounters.so')
# The control module (bench/floor/): the same header lines written in the
# cheapest way a module can, built into bench/run by servers.setup().
FLOOR_SRC = os.path.join(HERE, 'floor', 'mod_cors_floor.c')
FLOOR_DIR = os.path.join(RUN, 'floor')
FLOOR_SO = os.path.join(RUN, 'mod_cors_floor.so')
IS_ROOT = os.geteuid() == 0
RUN_USER = 'www-data'

CG_DEFINES = ['-DBENCH_PREFORK'] if os.environ.get('BENCH_CG_MPM') == 'prefork' \
    else []


def quick_from_env():
    return os.environ.get('BENCH_QUICK', '') not in ('', '0')


class Settings:
    """How often each thing is measured.  A smoke run (quick) runs the very
    same code with fewer requests, repetitions and rounds."""

    def __init__(self, quick):
        env = os.environ.get
        self.quick = quick
        self.startup_runs = 1 if quick else 5
        # two rounds at the least: the noise band comes from the spread of
        # the rounds
        self.wrk_rounds = 2 if quick else int(env('BENCH_ROUNDS', '6'))
        self.wrk_duration = 1 if quick else int(env('BENCH_DURATION', '2'))
        self.wrk_conns = int(env('BENCH_CONNECTIONS', '64'))
        self.cg_small, self.cg_big = (50, 550) if quick else (200, 2200)
        self.cg_reps = int(env('BENCH_CG_REPS') or (1 if quick else 3))


def outputs(quick):
    """Where the run writes.  A smoke run leaves the committed results
    alone: its report, plot and annotation go to bench/run/quick/."""
    if not quick:
        return types.SimpleNamespace(
            json=os.path.join(RUN, 'results.json'),
            md=os.path.join(HERE, 'results.md'),
            png=os.path.join(HERE, 'results.png'),
            annotation=os.path.join(HERE, 'callgrind-cors-10k.txt'))
    d = os.path.join(RUN, 'quick')
    os.makedirs(d, exist_ok=True)
    return types.SimpleNamespace(
        json=os.path.join(d, 'results.json'),
        md=os.path.join(d, 'results.md'),
        png=os.path.join(d, 'results.png'),
        annotation=os.path.join(d, 'callgrind-cors-10k.txt'))


def log(*a):
    print('[bench %s]' % time.strftime('%H:%M:%S'), *a, flush=True)


@functools.lru_cache(maxsize=None)
def moddir():
    """httpd's module directory (apxs -q LIBEXECDIR)."""
    try:
        out = subprocess.run(['apxs', '-q', 'LIBEXECDIR'], capture_output=True,
                             text=True, timeout=10).stdout.strip()
        if out and os.path.isdir(out):
            return out
    except (OSError, subprocess.SubprocessError):
        pass
    return '/usr/lib/apache2/modules'


def fmt_int(n):
    return '{:,}'.format(int(round(n)))


def human(n):
    return '%dk' % (n // 1000) if n >= 1000 and n % 1000 == 0 else str(n)


def sh(cmd):
    """A command line as one would type it in a shell."""
    def q(a):
        return a if re.match(r'^[\w@%+=:,./-]+$', a) else "'%s'" % \
            a.replace("'", "'\\''")
    return ' '.join(q(a) for a in cmd)


def write(path, content, mode=0o644):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'wb' if isinstance(content, bytes) else 'w') as f:
        f.write(content)
    os.chmod(path, mode)


def unlink(*paths):
    for p in paths:
        try:
            os.unlink(p)
        except OSError:
            pass


def loadavg():
    return open('/proc/loadavg').read().split()[:3]
