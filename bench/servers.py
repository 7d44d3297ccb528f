"""Server roots under bench/run/srv, and starting, watching and stopping
apache2."""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time

from cases import SIZES_HTACCESS
from common import (APACHE, BUILT_SO, CG_DIR, CORS_SO, FLOOR_DIR, FLOOR_SO,
                    FLOOR_SRC, HTDOCS, IS_ROOT, NOCOUNTERS_DIR, NOCOUNTERS_SO,
                    ORIGINS_DIR, REPO, RUN, RUN_USER, SRV, log, unlink, write)


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


def json_body():
    """A 1 KiB JSON document."""
    items = []
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
    """Fresh server roots for every configuration, the document root, and
    snapshots of mod_cors.so and the floor module in bench/run."""
    if os.path.isdir(SRV):
        stop_stale()
    shutil.rmtree(SRV, ignore_errors=True)
    for d in (RUN, SRV, HTDOCS, ORIGINS_DIR, CG_DIR):
        os.makedirs(d, exist_ok=True)
        os.chmod(d, 0o755)
    if IS_ROOT:
        check_traversable(RUN)
        shutil.chown(CG_DIR, RUN_USER, RUN_USER)  # callgrind writes as User
    shutil.copy2(BUILT_SO, CORS_SO)
    build_floor()
    shutil.copy2(os.path.join(REPO, 'mod_cors.c'),
                 os.path.join(RUN, 'mod_cors.c'))
    build_nocounters()
    os.chmod(CORS_SO, 0o755)
    body = json_body()
    for d in ('api', 'static', 'hta-headers') + tuple(
            'hta-%d' % n for n in SIZES_HTACCESS):
        write(os.path.join(HTDOCS, d, 'data.json'), body)
        os.chmod(os.path.join(HTDOCS, d), 0o755)
    for c in cfgs.values():
        server_root(c)


def server_root(c):
    """One configuration's root: httpd.conf, logs/, run/ and its files."""
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
    apxs_build(FLOOR_SRC, FLOOR_DIR, FLOOR_SO)


def apxs_build(src, directory, so, flags=()):
    """Compile src with apxs in directory; copy the module to so."""
    os.makedirs(directory, exist_ok=True)
    shutil.copy2(src, directory)
    name = os.path.basename(src)
    p = subprocess.run(['apxs', '-c', '-Wc,-Wall', '-Wc,-Werror'] + list(flags)
                       + [name], cwd=directory, capture_output=True,
                       text=True, timeout=300)
    if p.returncode != 0:
        sys.exit('bench: building %s failed:\n%s%s' % (name, p.stdout,
                                                       p.stderr))
    shutil.copy2(os.path.join(directory, '.libs',
                              name.replace('.c', '.so')), so)
    os.chmod(so, 0o755)


def build_nocounters():
    """mod_cors.c (the snapshot in bench/run) with -DCORS_NO_COUNTERS, in
    bench/run/nocounters: the same module without counting."""
    apxs_build(os.path.join(RUN, 'mod_cors.c'), NOCOUNTERS_DIR, NOCOUNTERS_SO,
               ['-Wc,-DCORS_NO_COUNTERS', '-lpsl'])


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


# Runs its arguments and prints their peak RSS (kB) from wait4.  A fresh,
# small interpreter: Linux counts in a process's peak the memory of the
# process it was forked from until it calls exec, so a child of this bench
# (which holds the million origins it wrote) would report the bench's own.
RSS_PROBE = (
    'import os, subprocess, sys\n'
    'p = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL)\n'
    '_, st, ru = os.wait4(p.pid, 0)\n'
    'sys.stdout.write("%d %d" % (os.waitstatus_to_exitcode(st), '
    'ru.ru_maxrss))\n')


def config_test_rss(cfg, extra=()):
    """apache2 -t: (exit status, stderr, peak RSS in kB)."""
    p = subprocess.run([sys.executable, '-c', RSS_PROBE]
                       + apache_cmd(cfg, '-t', *extra), capture_output=True,
                       text=True, timeout=120)
    rc, rss = (int(x) for x in p.stdout.split())
    return rc, p.stderr, rss


def check_configs(cfgs):
    for c in cfgs.values():
        p = config_test(c)
        if p.returncode != 0:
            sys.exit('bench: apache2 -t failed for %s:\n%s'
                     % (c.name, p.stderr))


def as_run_user():
    """As root, run apache2 -X as the User from the start (setpriv execs, so
    the pid stays the server's): callgrind writes its output file when the
    process exits, long after httpd gave up root."""
    if not IS_ROOT:
        return []
    return ['setpriv', '--reuid=' + RUN_USER, '--regid=' + RUN_USER,
            '--init-groups', '--']


def start(cmd, out=subprocess.DEVNULL):
    return subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out,
                            stderr=out)


def remove_pidfile(cfg):
    """An -X run leaves its pid file behind: the next would warn (AH00098)."""
    unlink(os.path.join(cfg.root, 'run', 'httpd.pid'))


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
