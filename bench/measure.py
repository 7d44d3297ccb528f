"""The measurements: start-up (apache2 -t, memory), throughput (wrk),
instructions per request (callgrind) and system calls (strace), each with
the parsing of its tool's output; and what the run records about the
machine."""
import hashlib
import http.client
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import time

from cases import EXPOSE, LAST, Measurement
from common import (APACHE, CG_DEFINES, CG_DIR, CORS_SO, HTDOCS,
                    PREFLIGHT_LUA, REPO, RUN, loadavg, log, unlink)
from servers import (apache_cmd, as_run_user, child_pids, config_test_rss,
                     remove_pidfile, start, status_kb, stop, wait_listen)


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


def want_allowed(m, status, h, acao):
    """The problems of an allowed GET's answer (ACAC, ACEH wanted or not)."""
    problems = []
    if status != m.status or acao != [m.origin]:
        problems.append('want %d with ACAO %s' % (m.status, m.origin))
    if m.expect == 'allowed':
        if h.get('access-control-allow-credentials') != ['true']:
            problems.append('want ACAC true')
        if h.get('access-control-expose-headers') != [EXPOSE]:
            problems.append('want ACEH %s' % EXPOSE)
    elif h.get('access-control-allow-credentials') or \
            h.get('access-control-expose-headers'):
        problems.append('want neither ACAC nor ACEH')
    return problems


def check_response(m, status, headers):
    """Returns a list of problems (empty: as expected)."""
    h = {}
    for k, v in headers:
        h.setdefault(k.lower(), []).append(v)
    acao = h.get('access-control-allow-origin')
    vary = ', '.join(h.get('vary', [])).lower()
    problems = ['%s appears %d times' % (k, len(vs)) for k, vs in h.items()
                if k.startswith('access-control-') and len(vs) > 1]
    if m.expect in ('plain', 'denied', 'noorigin'):
        if status != m.status or acao:
            problems.append('want %d without ACAO' % m.status)
    elif m.expect in ('allowed', 'acao-vary', 'acao-only'):
        problems += want_allowed(m, status, h, acao)
    elif m.expect == 'preflight':
        if status != m.status or acao != [m.origin]:
            problems.append('want 204 with ACAO %s' % m.origin)
        if 'PUT' not in ', '.join(h.get('access-control-allow-methods', [])):
            problems.append('want PUT in ACAM')
        if 'content-type' not in ', '.join(
                h.get('access-control-allow-headers', [])).lower():
            problems.append('want content-type in ACAH')
    if m.expect in ('allowed', 'acao-vary', 'denied', 'noorigin') \
            and 'origin' not in vary:
        problems.append('want Vary: Origin')
    return problems


def shown_headers(status, headers):
    keep = [(k, v) for k, v in headers
            if k.lower().startswith('access-control-') or k.lower() == 'vary']
    return '%d; ' % status + '; '.join('%s: %s' % kv for kv in keep)


# --------------------------------------------------------------------------
# Start-up
# --------------------------------------------------------------------------

STARTUP_CONFIGS = ('plain', 'cors-1', 'cors-100k', 'cors-100k-inline',
                   'cors-1m')


def config_test_times(cfg, runs):
    """apache2 -t, runs times: the wall times, the largest peak RSS (kB)
    and mod_cors's start-up report (CORS0001)."""
    times = []
    report = ''
    peak = 0
    for _ in range(runs):
        t0 = time.monotonic()
        rc, stderr, rss = config_test_rss(
            cfg, ['-c', 'LogLevel warn cors:info'] if cfg.cors else [])
        times.append(time.monotonic() - t0)
        if rc != 0:
            sys.exit('bench: apache2 -t failed for %s:\n%s'
                     % (cfg.name, stderr))
        peak = max(peak, rss)
        m = re.search(r'CORS0001: [^\n]*', stderr)
        report = m.group(0) if m else ''
    return times, peak, report


def running_memory(cfg):
    """A running server: time to listening, and the RSS of the parent and
    of its child after 20 requests."""
    proc = start(apache_cmd(cfg, '-DFOREGROUND'))
    t0 = time.monotonic()
    try:
        if not wait_listen(cfg.port, proc, 60):
            sys.exit('bench: %s did not start' % cfg.name)
        ready = time.monotonic() - t0
        kids = []
        deadline = time.time() + 30
        while not kids and time.time() < deadline:
            kids = child_pids(proc.pid)
            time.sleep(0.05)
        m = Measurement('x', cfg.name, LAST)
        for _ in range(20):
            fetch(cfg.port, m)
        time.sleep(0.3)
        return {'ready': ready,
                'rss_parent_kb': status_kb(proc.pid, 'VmRSS'),
                'hwm_parent_kb': status_kb(proc.pid, 'VmHWM'),
                'rss_child_kb': max((status_kb(k, 'VmRSS') or 0)
                                    for k in kids) if kids else None}
    finally:
        stop(proc)


def phase_startup(cfgs, res, settings):
    runs = settings.startup_runs
    out = {}
    for name in STARTUP_CONFIGS:
        times, peak, report = config_test_times(cfgs[name], runs)
        s = {'t_min': min(times), 't_median': statistics.median(times),
             'times': times, 'report': report, 'test_peak_kb': peak}
        s.update(running_memory(cfgs[name]))
        out[name] = s
        log('startup %-17s apache2 -t %.3f s (best of %d), RSS parent %s kB,'
            ' child %s kB  %s' % (name, min(times), runs, s['rss_parent_kb'],
                                  s['rss_child_kb'], report))
    res['startup'] = out


# --------------------------------------------------------------------------
# Throughput: wrk
# --------------------------------------------------------------------------

def cpus():
    n = os.cpu_count() or 1
    return ('0', '1') if n >= 2 else (None, None)


def wrk_cmd(port, m, duration, conns):
    _, client_cpu = cpus()
    cmd = ['taskset', '-c', client_cpu] if client_cpu else []
    cmd += ['wrk', '-t1', '-c%d' % conns, '-d%ds' % duration, '--latency',
            '--timeout', '5s']
    for k, v in m.headers():
        cmd += ['-H', '%s: %s' % (k, v)]
    if m.preflight:
        cmd += ['-s', PREFLIGHT_LUA]
    cmd.append('http://127.0.0.1:%d%s' % (port, m.path))
    return cmd


def parse_wrk(out):
    """Requests/s, p50 and p99 in µs, non-2xx responses, socket errors;
    and whether wrk printed a "Socket errors" line."""
    r = {}
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
    return r, bool(mm)


def wrk_run(port, m, duration, conns):
    cmd = wrk_cmd(port, m, duration, conns)
    p = subprocess.run(cmd, capture_output=True, text=True,
                       timeout=duration + 60)
    r, socket_line = parse_wrk(p.stdout)
    r['cmd'] = cmd
    if p.returncode != 0 or not socket_line and r['rps'] == 0:
        r['error'] = (p.stdout + p.stderr)[-500:]
    return r


def wrk_partner(m):
    """The measurement each wrk run is paired with: its baseline."""
    if m.preflight:
        return 'rewrite-preflight'
    return m.baseline or 'plain'


def start_servers(cfgs, names, cpu, procs):
    """Every named server at once (pinned to cpu), into procs; returns once
    all listen."""
    for name in names:
        cmd = apache_cmd(cfgs[name], '-DFOREGROUND')
        if cpu:
            cmd = ['taskset', '-c', cpu] + cmd
        procs[name] = start(cmd)
    for name in names:
        if not wait_listen(cfgs[name].port, procs[name], 120):
            sys.exit('bench: server %s did not start' % name)


def check_all(cfgs, ms, procs):
    """One request per measurement: does it answer what it claims to?"""
    checks = {}
    for m in ms:
        if m.config not in procs:
            continue
        status, headers = fetch(cfgs[m.config].port, m)
        problems = check_response(m, status, headers)
        checks[m.name] = {'shown': shown_headers(status, headers),
                          'problems': problems}
        if problems:
            log('CHECK FAILED %s: %s (%s)' % (m.name, problems,
                                               shown_headers(status, headers)))
    bad = {n: c['problems'] for n, c in checks.items() if c['problems']}
    if bad:
        sys.exit('bench: these measurements do not answer what they '
                 'claim to, nothing measured: %s' % bad)
    return checks


def wrk_rounds(cfgs, wms, byname, settings):
    """Each measurement right after (or right before, every other round)
    its partner; returns every run by name and each pair's ratio."""
    rounds, duration = settings.wrk_rounds, settings.wrk_duration
    conns = settings.wrk_conns
    runs = {}
    pairs = {m.name: [] for m in wms}
    for name in sorted({m.name for m in wms} | {wrk_partner(m) for m in wms}):
        m = byname[name]
        wrk_run(cfgs[m.config].port, m, 1, conns)      # warm-up
    for r in range(rounds):
        k = r % len(wms)
        for m in wms[k:] + wms[:k]:
            b = byname[wrk_partner(m)]
            got = {}
            for x in ((b, m) if r % 2 == 0 else (m, b)):
                got[x.name] = wrk_run(cfgs[x.config].port, x, duration, conns)
                runs.setdefault(x.name, []).append(got[x.name])
                if got[x.name].get('error') or got[x.name]['non2xx']:
                    log('wrk problem %s: %s' % (x.name, got[x.name]))
            if got[b.name]['rps']:
                pairs[m.name].append(got[m.name]['rps'] / got[b.name]['rps'])
        log('wrk round %d/%d: %s' % (r + 1, rounds, ', '.join(
            '%s %.2f' % (n, pairs[n][-1]) for n in
            ('cors-1', 'cors-100k', 'regex-1000', 'cors-1-preflight')
            if n in pairs and pairs[n])))
    return runs, pairs


def wrk_summary(byname, runs, pairs):
    summary = {}
    for name, rr in runs.items():
        summary[name] = {
            'rps': statistics.median(x['rps'] for x in rr),
            'rps_all': [x['rps'] for x in rr],
            'p50': statistics.median(x.get('p50', 0) for x in rr),
            'p99': statistics.median(x.get('p99', 0) for x in rr),
            'non2xx': sum(x['non2xx'] for x in rr),
            'errors': [x.get('error') for x in rr if x.get('error')],
            'base': wrk_partner(byname[name]) if name in pairs else None,
            'ratio_base': statistics.median(pairs[name])
            if pairs.get(name) else None,
            'ratio_base_all': pairs.get(name, []),
        }
    return summary


def phase_wrk(cfgs, ms, res, settings):
    """Paired runs, so that both sides of a pair see the same background
    load; the ratio of the pair is the figure, its median over rounds the
    result."""
    byname = {m.name: m for m in ms}
    wms = [m for m in ms if m.wrk and wrk_partner(m) != m.name
           and wrk_partner(m) in byname]
    # every configuration runs, so that every measurement is checked
    server_cpu, client_cpu = cpus()
    procs = {}
    try:
        start_servers(cfgs, sorted({m.config for m in ms}), server_cpu,
                      procs)
        checks = check_all(cfgs, ms, procs)
        log('wrk: %d pairs x %d rounds x 2 runs of %d s, %d connections'
            % (len(wms), settings.wrk_rounds, settings.wrk_duration,
               settings.wrk_conns))
        runs, pairs = wrk_rounds(cfgs, wms, byname, settings)
    finally:
        for p in procs.values():
            stop(p)
    res['wrk'] = {'rounds': settings.wrk_rounds,
                  'duration': settings.wrk_duration,
                  'conns': settings.wrk_conns,
                  'summary': wrk_summary(byname, runs, pairs),
                  'checks': checks,
                  'cmd_example': runs['plain'][0]['cmd'] if 'plain' in runs
                  else None,
                  'server_cpu': server_cpu, 'client_cpu': client_cpu}
    res['checks_failed'] = {n: c['problems'] for n, c in checks.items()
                            if c['problems']}


# --------------------------------------------------------------------------
# Instructions per request: callgrind
# --------------------------------------------------------------------------

def ab_cmd(port, m, n):
    cmd = ['ab', '-q', '-k', '-c1', '-n', str(n), '-s', '60', '-m', m.method]
    for k, v in m.headers():
        cmd += ['-H', '%s: %s' % (k, v)]
    cmd.append('http://127.0.0.1:%d%s' % (port, m.path))
    return cmd


def callgrind_cmd(cfg, out, vlog=None):
    return as_run_user() + [
        'valgrind', '--tool=callgrind', '--compress-pos=no',
        '--callgrind-out-file=' + out] + (
            ['--log-file=' + vlog] if vlog else []) + apache_cmd(
                cfg, '-X', '-DBENCH_CALLGRIND', *CG_DEFINES)


def ab_complete(ab, n, m=None):
    """Did ab get n answers, none failed and none non-2xx (all of them,
    for a measurement answered with another status)?"""
    done = re.search(r'Complete requests:\s+(\d+)', ab.stdout)
    failed = re.search(r'Failed requests:\s+(\d+)', ab.stdout)
    non2xx = re.search(r'Non-2xx responses:\s+(\d+)', ab.stdout)
    if m is not None and m.status >= 300:
        return bool(done and int(done.group(1)) == n
                    and int(failed.group(1)) == 0 and non2xx
                    and int(non2xx.group(1)) == n)
    return bool(done and int(done.group(1)) == n
                and int(failed.group(1)) == 0 and not non2xx)


def callgrind_total(path):
    total = None
    with open(path) as f:
        for line in f:
            if line.startswith('summary:') or line.startswith('totals:'):
                total = int(line.split()[1])
    if total is None:
        sys.exit('bench: no total in %s' % path)
    return total


def callgrind_once(cfg, m, n, tag):
    """One whole apache2 -X run under callgrind, n requests from ab: the
    total Ir and the output file, or None and what ab said."""
    out = os.path.join(CG_DIR, 'callgrind.%s.%s.%d.out' % (m.name, tag, n))
    vlog = os.path.join(CG_DIR, 'valgrind.%s.%s.%d.log' % (m.name, tag, n))
    remove_pidfile(cfg)
    unlink(out, vlog)
    with open(vlog + '.stderr', 'w') as err:
        proc = start(callgrind_cmd(cfg, out, vlog), err)
    try:
        if not wait_listen(cfg.port, proc, 600):
            sys.exit('bench: %s under callgrind did not start (see %s and '
                     '%s.stderr)' % (cfg.name, vlog, vlog))
        ab = subprocess.run(ab_cmd(cfg.port, m, n), capture_output=True,
                            text=True, timeout=900)
    finally:
        stop(proc, timeout=600)
    if not ab_complete(ab, n, m):
        return None, (ab.stdout + ab.stderr)[-1500:]
    return callgrind_total(out), out


def callgrind_retry(cfg, m, n, tag):
    """A run in which ab saw a failed request (rarely, a keep-alive
    connection closing under it) is not a measurement: run it again."""
    for _attempt in range(3):
        total, out = callgrind_once(cfg, m, n, tag)
        if total is not None:
            return total, out
        log('callgrind %s -n %d: ab saw a failed request, running it again'
            % (m.name, n))
    sys.exit('bench: ab against %s under callgrind failed three times:\n%s'
             % (m.name, out))


def phase_callgrind(cfgs, ms, res, settings):
    """(Ir of n_big requests - Ir of n_small) / (n_big - n_small), the
    median over the repetitions.  Each figure is stamped with the run
    that measured it (a partial run keeps the other figures)."""
    n_small, n_big = settings.cg_small, settings.cg_big
    out = res.setdefault('callgrind', {'per_request': {}, 'runs': {}})
    out['n_small'], out['n_big'] = n_small, n_big
    measured_in = out.setdefault('measured_in', {})
    for m in ms:
        cfg = cfgs[m.config]
        vals = []
        out['runs'][m.name] = []
        for rep in range(settings.cg_reps):
            t0 = time.monotonic()
            a, fa = callgrind_retry(cfg, m, n_small, 'r%d' % rep)
            b, fb = callgrind_retry(cfg, m, n_big, 'r%d' % rep)
            per = (b - a) / float(n_big - n_small)
            vals.append(per)
            out['runs'][m.name].append({'small': a, 'big': b,
                                        'per_request': per,
                                        'files': [fa, fb]})
            log('callgrind %-24s %9.0f Ir/request  (%.0f s)'
                % (m.name, per, time.monotonic() - t0))
        out['per_request'][m.name] = statistics.median(vals)
        measured_in[m.name] = res['run']
    ex = ([m for m in ms if m.name == 'cors-10k'] + ms)[0]
    out['cmd_example'] = {
        'valgrind': callgrind_cmd(cfgs[ex.config], 'OUT'),
        'ab': ab_cmd(cfgs[ex.config].port, ex, n_big)}
    out['mpm'] = 'prefork' if CG_DEFINES else 'event'


# --------------------------------------------------------------------------
# System calls per request: strace
# --------------------------------------------------------------------------

STRACE_MEASUREMENTS = ('cors-1-preflight', 'rewrite-preflight',
                       'rewrite-preflight-srv', 'cors-1', 'plain')


def strace_requests(cfg, m, n, trace):
    """apache2 -X under strace, n requests: the trace after start-up."""
    remove_pidfile(cfg)
    proc = start(['strace', '-f', '-qq', '-o', trace, '-e',
                  'trace=%file,%desc,%network']
                 + apache_cmd(cfg, '-X', '-DBENCH_CALLGRIND'))
    try:
        if not wait_listen(cfg.port, proc, 60):
            sys.exit('bench: %s under strace did not start' % m.name)
        time.sleep(0.5)
        mark = os.path.getsize(trace)
        subprocess.run(ab_cmd(cfg.port, m, n), capture_output=True,
                       timeout=120)
        time.sleep(0.3)
        with open(trace, encoding='latin-1') as f:
            f.seek(mark)
            return f.read()
    finally:
        for k in child_pids(proc.pid):
            try:
                os.kill(k, signal.SIGTERM)
            except OSError:
                pass
        stop(proc)


def count_syscalls(text, n):
    """Per request: traced calls, those naming a path under htdocs, and of
    these the stat, open and .htaccess calls."""
    docs = [l for l in text.splitlines() if HTDOCS in l]
    opens = [l for l in docs if re.search(r'\bopen(at)?\(', l)
             and '.htaccess' not in l]
    stats = [l for l in docs if re.search(r'stat', l)]
    calls = [l for l in text.splitlines()
             if re.match(r'^\d+\s+\w+\(', l) and 'resumed' not in l]
    hta = [l for l in docs if '.htaccess' in l]
    return {'htdocs_calls': len(docs) / n, 'opens': len(opens) / n,
            'htaccess': len(hta) / n,
            'stats': len(stats) / n, 'syscalls': len(calls) / n,
            'examples': sorted({re.sub(r'^\d+\s+', '', l)[:120]
                                for l in docs})[:6]}


def phase_strace(cfgs, ms, res):
    if not shutil.which('strace'):
        return
    n = 20
    out = {}
    byname = {m.name: m for m in ms}
    for name in STRACE_MEASUREMENTS:
        m = byname[name]
        trace = os.path.join(RUN, 'strace.%s.txt' % name)
        s = out[name] = count_syscalls(
            strace_requests(cfgs[m.config], m, n, trace), n)
        log('strace %-22s per request: %.1f syscalls traced, %.1f on htdocs '
            '(%.1f stat, %.1f open)' % (name, s['syscalls'],
                                        s['htdocs_calls'], s['stats'],
                                        s['opens']))
    res['strace'] = out


# --------------------------------------------------------------------------
# The machine and the versions
# --------------------------------------------------------------------------

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


def first_line(path, prefix):
    """The value of the first line of path starting with prefix."""
    try:
        for line in open(path):
            if line.startswith(prefix):
                return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return None


def sha256(path):
    try:
        return hashlib.sha256(open(path, 'rb').read()).hexdigest()[:16]
    except OSError:
        return '?'


def machine_info():
    mem = first_line('/proc/meminfo', 'MemTotal')
    return {
        'cpu': first_line('/proc/cpuinfo', 'model name') or '?',
        'cpus': os.cpu_count(),
        'mem': '%.0f GiB' % (int(mem.split()[0]) / 1024 / 1024) if mem
        else '?',
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
        'load': loadavg(),
        'cors_c_sha256': sha256(os.path.join(REPO, 'mod_cors.c')),
        'cors_so_sha256': sha256(CORS_SO),
        'git_head': version(['git', '-C', REPO, 'rev-parse', '--short',
                             'HEAD']),
        'cors_c_modified': subprocess.run(
            ['git', '-C', REPO, 'diff', '--quiet', 'HEAD', '--',
             'mod_cors.c'], capture_output=True).returncode != 0,
    }
