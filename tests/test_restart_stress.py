"""Stop and restart stress: a crashed child fails the run, whenever it happens.

Each cycle: start a server with a CORS policy, let three client threads
send CORS requests (allowed and refused GETs and preflights, some on
keep-alive connections, some with Connection: close), restart it gracefully
(SIGUSR1) while they are in flight, let them go on against the new
generation, then stop it gracefully (SIGWINCH, Httpd.stop()) while they are
still sending.  Two servers cycle side by side (a graceful stop takes a
second: httpd's parent looks at its children once a second), and a
busy-loop process loads the CPUs meanwhile.  After every
restart and every stop the whole error log since the start is checked for
crash lines (Httpd.check_crashes, which raises), and at the end the whole
error log of all cycles, and the error-log lines at warn or worse.

Every response must be complete, valid HTTP, with the status and CORS
headers its kind of request gets.  What is tolerated, and counted:

- keep-alive races: a request sent on a connection that already carried a
  response, which gets no byte back (EOF or reset) -- the server closed the
  idle connection as the request went out (a graceful restart closes the old
  generation's idle keep-alive connections; prefork's old children close
  theirs after the next response).  HTTP allows a client to retry such a
  request (RFC 9112, section 9.3.1: ours are all GET or OPTIONS); it is
  retried once at once on a new connection, and that retry must succeed.
- after SIGWINCH only: connections refused (the listeners are closed), and
  requests that get no byte of response (connections still in the listen
  backlog, or a handshake under way, are reset when the last listener
  closes; idle keep-alive connections are closed).  A response cut short is a failure even then:
  a graceful stop lets every accepted request finish.

Anything else -- a refused or dropped connection before SIGWINCH, a partial
response, a wrong status or header, a timeout -- fails the test.

CORS_STRESS_CYCLES sets the number of cycles, in all (default 20: about 25 s
per MPM on this 2-core machine); `make soak` runs hundreds through
tests/soak/soak.py.  The test
is named "graceful" so that the valgrind run (-k 'not graceful': apache2 -X
has no parent to restart or stop children gracefully) leaves it out.
"""
import os
import random
import socket
import subprocess
import sys
import threading
import time

import harness
from harness import Httpd

ORIGIN = 'https://app.example'
OTHER = 'https://other.example'
PATH = '/api/data.txt'
DATA = b'{"stress": true}\n' + b'x' * 300 + b'\n'
CONFIG = r'''
KeepAlive On
MaxKeepAliveRequests 0
KeepAliveTimeout 5
<Location /api/>
    CorsAllowOrigin https://app.example
    CorsAllowMethods PUT
</Location>
'''
KINDS = ('get_ok', 'pf_ok', 'get_denied', 'pf_denied')
DEFAULT_CYCLES = 20     # CORS_STRESS_CYCLES
LANES = 2               # servers cycling side by side (the 1 s a graceful stop
                        # takes: the parent checks its children once a second)
CLIENT_THREADS = 3      # per server
PHASE_SECONDS = 0.4     # requests before the restart, and between restart and stop


def _request_bytes(kind, close):
    if kind.startswith('get'):
        line, extra = 'GET', []
    else:
        line, extra = 'OPTIONS', [('Access-Control-Request-Method',
                                   'PUT' if kind == 'pf_ok' else 'DELETE')]
    origin = OTHER if kind == 'get_denied' else ORIGIN    # pf_denied: by its method
    head = ['%s %s HTTP/1.1' % (line, PATH), 'Host: 127.0.0.1', 'Origin: ' + origin]
    head += ['%s: %s' % h for h in extra]
    head.append('Connection: ' + ('close' if close else 'keep-alive'))
    return ('\r\n'.join(head) + '\r\n\r\n').encode('latin-1')


def check_response(kind, r):
    """None if r is what kind gets, else what is wrong."""
    acao = r.get_all('Access-Control-Allow-Origin')
    vary = ','.join(r.get_all('Vary')).replace(' ', '').lower().split(',')
    if kind == 'get_ok':
        ok = r.status == 200 and acao == [ORIGIN] and r.body == DATA
    elif kind == 'get_denied':
        ok = r.status == 200 and acao == [] and r.body == DATA
    elif kind == 'pf_ok':
        ok = (r.status == 204 and acao == [ORIGIN] and r.body == b''
              and r.get_all('Access-Control-Allow-Methods') == ['PUT'])
    else:
        ok = r.status == 403 and not any(n.lower().startswith('access-control-')
                                         for n, _ in r.headers)
    if ok and 'origin' in vary:
        return None
    return '%s: got %r' % (kind, r)


class NoResponse(Exception):
    """The connection ended (EOF, reset) before any byte of the response."""


class Partial(Exception):
    """The connection ended in the middle of a response."""


def _read_response(sock, close):
    buf, want = b'', None
    try:
        while b'\r\n\r\n' not in buf:
            c = sock.recv(65536)
            if not c:
                break
            buf += c
        if b'\r\n\r\n' in buf:
            head = buf.split(b'\r\n\r\n', 1)[0].decode('latin-1').lower()
            status = int(head.split(' ', 2)[1])
            length = None
            for line in head.split('\r\n')[1:]:
                name, _, value = line.partition(':')
                if name.strip() == 'content-length':
                    length = int(value)
            if status == 204 or status == 304:
                length = 0
            want = None if length is None else buf.index(b'\r\n\r\n') + 4 + length
            while (want is None and close) or (want is not None and len(buf) < want):
                c = sock.recv(65536)
                if not c:
                    break
                buf += c
    except (ConnectionResetError, BrokenPipeError) as e:
        if not buf:
            raise NoResponse(repr(e))
        raise Partial('%r after %r' % (e, buf[:300]))
    if not buf:
        raise NoResponse('EOF')
    if b'\r\n\r\n' not in buf or (want is not None and len(buf) < want) or \
            (want is None and not close):
        raise Partial('incomplete: %r' % buf[:300])
    return harness.Response(buf[:want] if want is not None else buf)


class Run:
    """The shared state of a cycle's client threads, and the tallies of all."""

    def __init__(self):
        self.lock = threading.Lock()
        self.counts = {}
        self.failures = []
        self.stopping = False     # set just before SIGWINCH
        self.done = threading.Event()
        self.abort = False        # another lane failed: stop after this cycle
        self.bad_log, self.crash, self.mpm = [], [], None

    def count(self, what, n=1):
        with self.lock:
            self.counts[what] = self.counts.get(what, 0) + n

    def fail(self, what):
        with self.lock:
            self.counts['failures'] = self.counts.get('failures', 0) + 1
            if len(self.failures) < 20:
                self.failures.append(what)


def client(port, seed, keepalive, run):
    """Send requests until run.done: on keep-alive connections (some closed by
    the client with Connection: close now and then) or one per connection."""
    rnd = random.Random(seed)
    sock, used, n = None, 0, rnd.randrange(4)
    retry = None
    while not run.done.is_set():
        kind = retry or KINDS[n % len(KINDS)]
        n += 1 if retry is None else 0
        close = not keepalive or rnd.random() < 0.15
        try:
            if sock is None:
                try:
                    sock, used = socket.create_connection(('127.0.0.1', port),
                                                          timeout=10), 0
                except ConnectionResetError as e:
                    # a handshake the closing listener reset: no byte of a
                    # response either (tolerated only after SIGWINCH)
                    sock, used = socket.socket(), 0
                    raise NoResponse('on connect: %r' % e)
            try:
                sock.sendall(_request_bytes(kind, close))
            except (ConnectionResetError, BrokenPipeError) as e:
                raise NoResponse('on send: %r' % e)
            r = _read_response(sock, close)
        except ConnectionRefusedError:
            sock = None
            if run.stopping:
                run.count('stop_refused')
                time.sleep(0.01)
                continue
            run.fail('%s: connection refused before the stop' % kind)
            time.sleep(0.05)
            continue
        except NoResponse as e:
            reused = used > 0
            sock.close()
            sock = None
            if run.stopping:
                run.count('stop_no_response')
                retry = None
            elif reused and retry is None:
                run.count('keepalive_retries')
                retry = kind            # at once, on a new connection
            else:
                run.fail('%s: no response on a %s connection before the stop (%s)'
                         % (kind, 'retried' if retry else 'new', e))
                retry = None
            continue
        except (Partial, socket.timeout, OSError, ValueError) as e:
            run.fail('%s: %s: %s%s' % (kind, type(e).__name__, e,
                                      ' (after SIGWINCH)' if run.stopping else ''))
            if sock is not None:
                sock.close()
            sock, retry = None, None
            continue
        retry = None
        used += 1
        wrong = check_response(kind, r)
        if wrong:
            run.fail(wrong)
        else:
            run.count(kind)
            run.count('requests')
        if close or 'close' in ','.join(r.get_all('Connection')).lower():
            sock.close()
            sock = None
    if sock is not None:
        sock.close()


def _wait_serving(h, timeout):
    deadline = time.time() + timeout
    while True:
        try:
            r = h.request('GET', PATH, headers=[('Origin', ORIGIN)])
            assert check_response('get_ok', r) is None, r
            return
        except (OSError, ValueError):
            if time.time() > deadline:
                raise


def _lane(name, cycles, mpm, threads, phase, run, progress):
    """cycles start/requests/graceful restart/requests/graceful stop cycles of
    one server root; error-log lines at warn or worse and crash lines of the
    whole log (all cycles) go to run.bad_log and run.crash."""
    h = Httpd(name, CONFIG, mpm=mpm)
    h.write(PATH.lstrip('/'), DATA)
    for c in range(cycles):
        if run.abort:
            break
        h.start()
        _wait_serving(h, 10 * harness.TIME_SCALE)
        run.stopping = False
        run.done.clear()
        workers = [threading.Thread(target=client, daemon=True,
                                    args=(h.port, '%s-%d-%d' % (name, c, i), i % 2 == 0, run))
                   for i in range(threads)]
        for w in workers:
            w.start()
        try:
            time.sleep(phase)
            h.graceful(timeout=20 * harness.TIME_SCALE)   # raises on crash lines
            before = run.counts.get('requests', 0)
            time.sleep(phase)
            # the new generation answers (its child may still be starting on a
            # loaded machine: the listen backlog holds the connections)
            deadline = time.time() + 10 * harness.TIME_SCALE
            while run.counts.get('requests', 0) < before + 10 and time.time() < deadline:
                time.sleep(0.05)
            if run.counts.get('requests', 0) < before + 10:
                run.fail('%s cycle %d: under 10 requests answered in %.0f s after the '
                         'restart' % (name, c, 10 * harness.TIME_SCALE + phase))
            run.stopping = True
            h.stop()                                      # raises on crash lines
        finally:
            run.done.set()
            for w in workers:
                w.join(30)
            if h.pid is not None:     # a restart failed: stop, record any crash
                try:
                    h.stop()
                except harness.CrashDetected:
                    pass
        run.bad_log += h.bad_log_lines(h.start_mark)
        run.count('cycles')
        if progress:
            progress(name, c + 1, run.counts)
    harness.scan_log(h.error_log, 0, run.crash)      # the whole log, every cycle
    return h.mpm


def run_cycles(cycles, mpm=None, lanes=LANES, threads=CLIENT_THREADS, phase=PHASE_SECONDS,
               busy_loops=1, name='stress', progress=None):
    """cycles cycles in all, shared by lanes servers running side by side (each
    with threads client threads); returns the tallies ('cycles', 'requests',
    per kind, 'keepalive_retries', 'stop_refused', 'stop_no_response',
    'failures', 'crash_lines', 'bad_log_lines', 'seconds', samples in
    'failure_samples' and 'bad_log_samples').  A CrashDetected (from a
    restart or a stop) is raised again once every lane has ended."""
    runs = [Run() for _ in range(lanes)]
    errors = []

    def lane(i):
        try:
            runs[i].mpm = _lane('%s%d' % (name, i), cycles // lanes + (i < cycles % lanes),
                                mpm, threads, phase, runs[i], progress)
        except BaseException as e:       # noqa: B902 -- handed to the caller
            errors.append(e)
            for r in runs:               # the other lanes: finish the cycle and end
                r.abort = True

    busy = [subprocess.Popen([sys.executable, '-c', 'while True: pass'])
            for _ in range(busy_loops)]
    t0 = time.time()
    try:
        ts = [threading.Thread(target=lane, args=(i,)) for i in range(lanes)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
    finally:
        for p in busy:
            p.kill()
            p.wait()
    if errors:
        raise errors[0]
    stats = {}
    for r in runs:
        for k, v in r.counts.items():
            stats[k] = stats.get(k, 0) + v
    stats.update(seconds=round(time.time() - t0, 1), mpm=runs[0].mpm, lanes=lanes,
                 crash_lines=sum(len(r.crash) for r in runs),
                 bad_log_lines=sum(len(r.bad_log) for r in runs),
                 failure_samples=[f for r in runs for f in r.failures][:20],
                 bad_log_samples=[l for r in runs for l in r.crash + r.bad_log][:20])
    for k in ('cycles', 'requests', 'failures', 'keepalive_retries', 'stop_refused',
              'stop_no_response') + KINDS:
        stats.setdefault(k, 0)
    return stats


def summary(s):
    return ('%(cycles)d cycles (start, graceful restart, graceful stop) under %(mpm)s in '
            '%(seconds)s s: %(requests)d requests answered right (get_ok %(get_ok)d, '
            'pf_ok %(pf_ok)d, get_denied %(get_denied)d, pf_denied %(pf_denied)d), '
            '%(failures)d failures; tolerated: %(keepalive_retries)d keep-alive races '
            'retried, at stop %(stop_refused)d refused and %(stop_no_response)d '
            'unanswered connections; crash lines %(crash_lines)d, error-log lines at '
            'warn or worse %(bad_log_lines)d' % s)


def test_graceful_restart_and_stop_cycles_under_load(capsys):
    cycles = int(os.environ.get('CORS_STRESS_CYCLES') or DEFAULT_CYCLES)
    s = run_cycles(cycles)
    with capsys.disabled():
        print('\nrestart stress (%d servers side by side): %s' % (s['lanes'], summary(s)))
    assert s['cycles'] == cycles
    assert s['failures'] == 0, s['failure_samples']
    assert s['crash_lines'] == 0 and s['bad_log_lines'] == 0, s['bad_log_samples']
    # the load was real: every kind answered, many times per cycle
    assert all(s[k] >= 10 * cycles for k in KINDS), s
