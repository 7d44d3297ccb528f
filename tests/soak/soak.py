#!/usr/bin/python3
"""Soak test: wrk against mod_cors under the event MPM with graceful restarts,
then hundreds of graceful restart/stop cycles under load for each MPM.

    tests/soak/soak.py [--seconds 60] [--connections 256] [--threads 2]
                       [--restarts 5] [--policies small,10k]
                       [--cycles 300] [--cycle-mpms event,prefork] [--out FILE]

For each policy (a small one, and one of 10,000 exact origins) it starts
apache2 from its own server root under tests/run/ (tests/harness.py), runs
wrk with tests/soak/soak.lua for --seconds, and meanwhile sends --restarts
graceful restarts (SIGUSR1 to the parent).  It reports the requests, the
count per status and per kind of request, wrk's socket errors, the responses
that were not what their kind must get ("wrong"), the error-log lines at warn
or worse, and the resident memory (RSS) of the parent and of the worker
children at the start and at the end.  The run fails (exit 1) on any socket
error, wrong response, unexpected status or error-log line.  The 403s are
the refused preflights: intended.

Then, for each of --cycle-mpms, --cycles cycles of the stop/restart stress
test (tests/test_restart_stress.py, the long version of what `make test`
runs): start, CORS requests from client threads, a graceful restart
(SIGUSR1) while they are in flight, more requests, a graceful stop (SIGWINCH)
while they are in flight, the whole error log checked for crash lines after
every restart and every stop.  Any failed request (beyond what that test
tolerates, counted in the report), crash line or error-log line at warn or
worse fails the run.  --cycles 0 leaves this part out.

Results go to --out as Markdown, and are printed.
"""
import argparse
import datetime
import json
import os
import signal
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
import harness  # noqa: E402
import test_restart_stress as stress  # noqa: E402

MPM_CONF = r'''
# ---- soak: sized for {conns} connections (these override the harness's)
ServerLimit 16
ThreadLimit 128
ThreadsPerChild 128
StartServers 4
MaxRequestWorkers 512
MinSpareThreads 64
MaxSpareThreads 1024
MaxConnectionsPerChild 0
KeepAlive {keepalive}
MaxKeepAliveRequests 0
KeepAliveTimeout 5
Timeout 30
LogLevel warn
ListenBacklog 4096
'''

POLICY = r'''
<Location /api/>
{origins}
    CorsAllowMethods GET POST PUT DELETE
    CorsAllowHeaders Content-Type X-Requested-With
    CorsExposeHeaders ETag
    CorsAllowCredentials On
    CorsMaxAge 600
    Header always echo ^X-Kind$
</Location>
'''

POLICIES = {
    # name: number of exact origins https://o<N>.example.net
    'small': 10,
    '10k': 10000,
}


def rss_kb(pid):
    try:
        with open('/proc/%d/status' % pid) as f:
            for line in f:
                if line.startswith('VmRSS:'):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def threads_of(pid):
    try:
        return len(os.listdir('/proc/%d/task' % pid))
    except OSError:
        return 0


def memory(h):
    """RSS (kB) of the parent and of the worker children (the processes with
    threads: mod_cgid's daemon, single-threaded, is left out)."""
    workers = [c for c in harness.children_of(h.pid) if threads_of(c) > 1]
    sizes = [rss_kb(c) for c in workers]
    return {'parent_kb': rss_kb(h.pid), 'workers': len(sizes),
            'workers_total_kb': sum(sizes), 'worker_max_kb': max(sizes or [0])}


def access_counts(h, mark):
    """Count access-log lines after byte offset mark by status and CORS_RESULT."""
    status, result = {}, {}
    with open(h.access_log, 'rb') as f:
        f.seek(mark)
        for line in f:
            parts = line.decode('latin-1').rsplit(' ', 2)
            if len(parts) == 3:
                status[parts[1]] = status.get(parts[1], 0) + 1
                r = parts[2].strip().replace('cors=', '')
                result[r] = result.get(r, 0) + 1
    return status, result


def run_policy(name, norigins, args):
    origins = '\n'.join('    CorsAllowOrigin %s' % ' '.join(
        'https://o%d.example.net' % i for i in range(j, min(j + 100, norigins)))
        for j in range(0, norigins, 100))
    body = MPM_CONF.format(conns=args.connections, keepalive='On' if args.keepalive else 'Off') \
        + POLICY.format(origins=origins)
    h = harness.Httpd('soak-' + name, body, mpm='event')
    h.write('api/data.json', '{"soak": true, "pad": "%s"}\n' % ('x' * 200))
    crash = []
    t0 = time.time()
    h.start()
    started_in = time.time() - t0
    try:
        # warm up every child a little, then measure
        for i in range(50):
            h.request('GET', '/api/data.json', headers=[('Origin', 'https://o1.example.net')])
        time.sleep(1)
        log_mark = h.log_mark()
        try:
            access_mark = os.path.getsize(h.access_log)
        except OSError:
            access_mark = 0
        mem_start = memory(h)
        env = dict(os.environ, SOAK_ORIGINS=str(norigins), SOAK_PATH='/api/data.json')
        cmd = ['wrk', '-t%d' % args.threads, '-c%d' % args.connections,
               '-d%ds' % args.seconds, '--timeout', '10s', '-s',
               os.path.join(HERE, 'soak.lua'), 'http://127.0.0.1:%d/' % h.port]
        wrk = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, env=env)
        restarts, samples, parent_after = [], [], []
        stop = threading.Event()

        def sample():
            while not stop.wait(1.0):
                samples.append(memory(h)['workers_total_kb'])
        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        interval = args.seconds / (args.restarts + 1)
        for i in range(args.restarts):
            time.sleep(interval if i == 0 else max(0.0, interval - restarts[-1][1]))
            t = time.time()
            try:
                h.graceful(timeout=30)
                restarts.append((round(t - t0, 1), round(time.time() - t, 2)))
                parent_after.append(rss_kb(h.pid))
            except RuntimeError as e:
                restarts.append((round(t - t0, 1), 'FAILED: %s' % str(e)[:200]))
                break
        out, _ = wrk.communicate(timeout=args.seconds + 120)
        stop.set()
        sampler.join()
        time.sleep(1)
        mem_end = memory(h)
        soak = None
        for line in out.splitlines():
            if line.startswith('SOAK '):
                soak = json.loads(line[5:])
        bad_log = h.bad_log_lines(log_mark)
        status, result = access_counts(h, access_mark)
    finally:
        try:
            h.stop()        # graceful; the whole error log checked for crash lines
        except harness.CrashDetected as e:
            crash = str(e).splitlines()[1:]
    return {'name': name, 'origins': norigins, 'wrk': out, 'soak': soak,
            'restarts': restarts, 'mem_start': mem_start, 'mem_end': mem_end,
            'mem_peak_workers_kb': max(samples or [0]), 'mem_samples': samples,
            'parent_after_restarts': parent_after, 'keepalive': args.keepalive,
            'bad_log': bad_log, 'crash': crash,
            'access_status': status, 'access_result': result,
            'start_seconds': round(started_in, 2)}


def verdict(r):
    s = r['soak']
    problems = []
    if not s:
        return ['wrk printed no SOAK line:\n' + r['wrk']]
    errs = s['errors']
    for k in ('connect', 'read', 'write', 'timeout'):
        # with keep-alive, a graceful restart closes the old generation's idle
        # keep-alive connections; wrk counts a read error when it had just sent
        # a request on one (a browser retries it)
        if errs[k] and not (k == 'read' and r['keepalive'] and r['restarts']):
            problems.append('%d socket %s errors' % (errs[k], k))
    if s['wrong']:
        problems.append('%d wrong responses, e.g. %s' % (s['wrong'], s['wrong_sample']))
    unexpected = {k: v for k, v in s['status'].items() if k not in ('200', '204', '403')}
    if unexpected:
        problems.append('unexpected statuses %s' % unexpected)
    if errs['status'] != s['status'].get('403', 0):
        problems.append('wrk counted %d non-2xx/3xx, %d were 403'
                        % (errs['status'], s['status'].get('403', 0)))
    if any(isinstance(d, str) for _, d in r['restarts']):
        problems.append('a graceful restart failed')
    if r['bad_log']:
        problems.append('%d error-log lines at warn or worse, e.g. %s'
                        % (len(r['bad_log']), r['bad_log'][0]))
    if r['crash']:
        problems.append('%d crash lines, e.g. %s' % (len(r['crash']), r['crash'][0]))
    return problems


def mb(kb):
    return '%.1f MB' % (kb / 1024.0)


def report(results, args):
    lines = ['# Soak results (`make soak`)', '',
             'Generated by `tests/soak/soak.py` on %s: wrk %d threads, %d connections, '
             '%d s per policy, %d graceful restarts (SIGUSR1) during each run; apache2 '
             '%s, event MPM (4 processes x 128 threads), KeepAlive %s; the module as '
             'built by `make` (.libs/mod_cors.so); %d CPU cores shared by wrk and httpd.'
             % (datetime.datetime.now().strftime('%Y-%m-%d %H:%M'), args.threads,
                args.connections, args.seconds, args.restarts, apache_version(),
                'On' if args.keepalive else 'Off (every request on a new connection)',
                os.cpu_count()), '',
             'Request mix (soak.lua), in turn on each connection: allowed preflight '
             '(expect 204), refused preflight (403: intended), allowed GET (200 with '
             'Allow-Origin), refused GET (200 without).', '']
    ok_all = True
    for r in results:
        s = r['soak'] or {}
        problems = verdict(r)
        ok_all &= not problems
        rps = s.get('requests', 0) / (s.get('duration_us', 1) / 1e6)
        lines += ['## Policy "%s": %d exact origins' % (r['name'], r['origins']), '',
                  '| figure | value |', '|---|---|',
                  '| verdict | %s |' % ('**PASS**' if not problems else
                                        '**FAIL**: ' + '; '.join(problems)),
                  '| requests completed | %d (%.0f/s) |' % (s.get('requests', 0), rps),
                  '| per status | %s |' % ', '.join('%s: %d' % kv for kv in
                                                    sorted(s.get('status', {}).items())),
                  '| per kind (responses) | %s |' % ', '.join('%s: %d' % kv for kv in
                                                             sorted(s.get('kinds', {}).items())),
                  '| wrong responses | %d |' % s.get('wrong', -1),
                  '| socket errors (connect/read/write/timeout) | %s%s |' % ('/'.join(
                      str(s.get('errors', {}).get(k, '?'))
                      for k in ('connect', 'read', 'write', 'timeout')),
                      ' (read: keep-alive connections the restarts closed)'
                      if r['keepalive'] and r['restarts'] else ''),
                  '| non-2xx/3xx (wrk) | %s (all 403: refused preflights) |'
                  % s.get('errors', {}).get('status', '?'),
                  '| latency p50 / p99 / max | %.1f / %.1f / %.1f ms |' % tuple(
                      s.get('latency_us', {}).get(k, 0) / 1000.0 for k in ('p50', 'p99', 'max')),
                  '| access log: status | %s |' % ', '.join(
                      '%s: %d' % kv for kv in sorted(r['access_status'].items())),
                  '| access log: CORS_RESULT | %s |' % ', '.join(
                      '%s: %d' % kv for kv in sorted(r['access_result'].items())),
                  '| graceful restarts (at s, took s) | %s |' % ', '.join(
                      '%s: %s' % rd for rd in r['restarts']),
                  '| server start | %s s |' % r['start_seconds'],
                  '| RSS parent start / end | %s / %s |' % (mb(r['mem_start']['parent_kb']),
                                                           mb(r['mem_end']['parent_kb'])),
                  '| RSS workers start / end (processes) | %s (%d) / %s (%d) |' % (
                      mb(r['mem_start']['workers_total_kb']), r['mem_start']['workers'],
                      mb(r['mem_end']['workers_total_kb']), r['mem_end']['workers']),
                  '| RSS largest worker start / end | %s / %s |' % (
                      mb(r['mem_start']['worker_max_kb']), mb(r['mem_end']['worker_max_kb'])),
                  '| RSS workers, peak of 1 s samples | %s |' % mb(r['mem_peak_workers_kb']),
                  '| RSS workers every 5 s | %s MB |' % ', '.join(
                      '%.0f' % (kb / 1024.0) for kb in r['mem_samples'][4::5]),
                  '| RSS parent after each restart | %s |' % ', '.join(
                      mb(kb) for kb in r['parent_after_restarts']),
                  '']
    return '\n'.join(lines), ok_all


def run_cycles(mpm, args):
    """The stop/restart stress test's cycles, args.cycles of them, under mpm."""
    print('soak: %d graceful restart/stop cycles, %s MPM ...' % (args.cycles, mpm),
          flush=True)
    step = max(1, args.cycles // 10)
    lanes = {}

    def progress(name, n, counts):      # called by each lane after each cycle
        lanes[name] = (n, counts.get('requests', 0))
        done = sum(c for c, _ in lanes.values())
        if done % step == 0:
            print('  %s: %d cycles, %d requests' % (
                mpm, done, sum(r for _, r in lanes.values())), flush=True)
    try:
        r = stress.run_cycles(args.cycles, mpm=mpm, name='soak-cycles', progress=progress)
        r['crash'] = []
    except harness.CrashDetected as e:
        r = {'mpm': mpm, 'crash': str(e).splitlines(), 'cycles': '?'}
    print('  ' + (stress.summary(r) if not r['crash'] else '\n  '.join(r['crash'])),
          flush=True)
    return r


def cycles_verdict(r):
    problems = []
    if r['crash']:
        return ['crash: ' + ' / '.join(r['crash'][:3])]
    if r['cycles'] != r['wanted']:
        problems.append('%s of %d cycles' % (r['cycles'], r['wanted']))
    if r['failures']:
        problems.append('%d failed requests, e.g. %s' % (r['failures'],
                                                        r['failure_samples'][0]))
    if r['crash_lines'] or r['bad_log_lines']:
        problems.append('%d crash lines, %d error-log lines at warn or worse, e.g. %s'
                        % (r['crash_lines'], r['bad_log_lines'], r['bad_log_samples'][:1]))
    return problems


def cycles_report(results, args):
    lines = ['## Graceful restart/stop cycles', '',
             '`tests/test_restart_stress.py` (`make test` runs %d cycles per MPM), '
             'here %d per MPM: %d servers side by side, each with %d client threads '
             '(allowed and refused GETs and preflights; half the threads on keep-alive '
             'connections, closing one now and then, half with `Connection: close`), '
             'and %d busy-loop process.  Each cycle: start, %.1f s of requests, a '
             'graceful restart (SIGUSR1) while they are in flight, %.1f s more (and '
             'until the new generation has answered), a graceful stop (SIGWINCH) while '
             'they are in flight; the whole error log is checked for crash lines after '
             'every restart and every stop, and once more at the end.  Tolerated (and '
             'counted): a request on a reused keep-alive connection that gets no byte '
             'back, retried once on a new connection (the retry must succeed); after '
             'SIGWINCH, refused connections and connections that get no byte back.'
             % (stress.DEFAULT_CYCLES, args.cycles, stress.LANES, stress.CLIENT_THREADS, 1,
                stress.PHASE_SECONDS, stress.PHASE_SECONDS), '',
             '| MPM | verdict | cycles | requests answered right | get_ok / pf_ok / '
             'get_denied / pf_denied | failed requests | keep-alive races retried | '
             'at stop: refused / unanswered | crash lines | warn+ lines | time |',
             '|---|---|---|---|---|---|---|---|---|---|---|']
    ok_all = True
    for r in results:
        problems = cycles_verdict(r)
        ok_all &= not problems
        if r['crash']:
            lines.append('| %s | **FAIL**: %s | | | | | | | | | |'
                         % (r['mpm'], '; '.join(problems)))
            continue
        lines.append('| %s | %s | %d | %d | %s | %d | %d | %d / %d | %d | %d | %s s |' % (
            r['mpm'], '**PASS**' if not problems else '**FAIL**: ' + '; '.join(problems),
            r['cycles'], r['requests'], ' / '.join(str(r[k]) for k in stress.KINDS),
            r['failures'], r['keepalive_retries'], r['stop_refused'],
            r['stop_no_response'], r['crash_lines'], r['bad_log_lines'], r['seconds']))
    return '\n'.join(lines + ['']), ok_all


def apache_version():
    try:
        out = subprocess.run([harness.APACHE, '-v'], capture_output=True, text=True).stdout
        return out.splitlines()[0].split(':', 1)[1].strip()
    except (OSError, IndexError):
        return '?'


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--seconds', type=int, default=60)
    ap.add_argument('--connections', type=int, default=256)
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--restarts', type=int, default=5)
    ap.add_argument('--policies', default='small,10k')
    ap.add_argument('--keepalive', action='store_true',
                    help='KeepAlive On (a graceful restart then closes idle '
                         'keep-alive connections: wrk counts read errors)')
    ap.add_argument('--cycles', type=int, default=300,
                    help='graceful restart/stop cycles per MPM (0: none)')
    ap.add_argument('--cycle-mpms', default='event,prefork')
    ap.add_argument('--out', default=None)
    args = ap.parse_args()
    results = []
    for name in [p for p in args.policies.split(',') if p]:
        print('soak: policy %s, %d s ...' % (name, args.seconds), flush=True)
        results.append(run_policy(name, POLICIES[name], args))
    text, ok = report(results, args)
    if args.cycles:
        cycles = []
        for mpm in args.cycle_mpms.split(','):
            cycles.append(run_cycles(mpm, args))
            cycles[-1]['wanted'] = args.cycles
        more, ok_cycles = cycles_report(cycles, args)
        text, ok = text + '\n' + more, ok and ok_cycles
    print(text)
    if args.out:
        with open(args.out, 'w') as f:
            f.write(text + '\n')
    return 0 if ok else 1


if __name__ == '__main__':
    signal.signal(signal.SIGINT, signal.default_int_handler)
    sys.exit(main())
