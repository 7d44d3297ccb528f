"""Where mod_cors spends its instructions: the cors-10k callgrind runs
read function by function, and the listing bench/callgrind-cors-10k.txt."""
import os
import re
import subprocess

from common import APACHE, sh

CORS_HOOKS = ('cors_header_parser', 'cors_insert_filter', 'cors_out_filter',
              'cors_create_dir_conf', 'cors_merge_dir_conf')
# The rest of the output filter chain, which cors_out_filter passes the
# response on to: not the module's cost.
NOT_MODULE = ('ap_pass_brigade',)


class CallgrindFile:
    """The costs in one callgrind output file (--compress-pos=no): self cost
    by function, inclusive cost and count of each call edge (caller,
    callee), self cost by (source file, line)."""

    def __init__(self, path):
        self.names = {}
        self.self_fn, self.self_line, self.edge, self.ncalls = {}, {}, {}, {}
        self.fn = self.file = self.sub = self.callee = None
        self.ob = self.cob = None
        self.pending = False
        with open(path, encoding='latin-1') as f:
            for line in f:
                if line[:1].isdigit():
                    self.cost_line(line.split())
                else:
                    key, _, rest = line.rstrip('\n').partition('=')
                    self.key_line(key, rest)

    def maps(self):
        return {'self': self.self_fn, 'line': self.self_line,
                'edge': self.edge, 'ncalls': self.ncalls}

    @staticmethod
    def qualify(name, obj):
        # functions without a symbol: say in which object they are
        if name.startswith('0x') and obj:
            return '%s [%s]' % (name, os.path.basename(obj))
        return name

    def resolve(self, kind, rest):
        m = re.match(r'\((\d+)\)(?: (.*))?$', rest)
        if not m:
            return rest
        if m.group(2) is not None:
            self.names[(kind, m.group(1))] = m.group(2)
        return self.names.get((kind, m.group(1)), '?')

    def cost_line(self, parts):
        cost = int(parts[1]) if len(parts) > 1 else 0
        if self.pending:
            k = (self.fn, self.callee)
            self.edge[k] = self.edge.get(k, 0) + cost
            self.pending = False
        else:
            self.self_fn[self.fn] = self.self_fn.get(self.fn, 0) + cost
            k = (self.sub, int(parts[0]))
            self.self_line[k] = self.self_line.get(k, 0) + cost

    def key_line(self, key, rest):
        if key == 'fn':
            self.fn = self.qualify(self.resolve('fn', rest), self.ob)
            self.sub = self.file
        elif key == 'cfn':
            self.callee = self.qualify(self.resolve('fn', rest),
                                       self.cob or self.ob)
            self.cob = None
        elif key == 'fl':
            self.file = self.sub = self.resolve('fl', rest)
        elif key in ('fi', 'fe'):
            self.sub = self.resolve('fl', rest)
        elif key in ('cfi', 'cfl'):
            self.resolve('fl', rest)
        elif key == 'ob':
            self.ob = self.resolve('ob', rest)
            self.cob = None
        elif key == 'cob':
            self.cob = self.resolve('ob', rest)
        elif key == 'calls':
            self.pending = True
            k = (self.fn, self.callee)
            self.ncalls[k] = self.ncalls.get(k, 0) + int(rest.split()[0])


def parse_callgrind(path):
    return CallgrindFile(path).maps()


def per_request(small, big, n):
    """(big - small) / n for each of the maps parse_callgrind returns."""
    out = {}
    for what in ('self', 'line', 'edge', 'ncalls'):
        a, b = small[what], big[what]
        out[what] = {k: (b.get(k, 0) - a.get(k, 0)) / float(n)
                     for k in set(a) | set(b)}
    return out


def not_module(callee):
    return bool(callee) and callee.split("'")[0] in NOT_MODULE


def inclusive(pr, fn):
    """fn's cost with what it calls, except the rest of the filter chain."""
    return pr['self'].get(fn, 0) + sum(
        v for (caller, callee), v in pr['edge'].items()
        if caller == fn and not not_module(callee))


def module_costs(pr):
    """Per request: the module's hooks, each inclusive of what it calls
    (except the rest of the filter chain)."""
    return [(h, inclusive(pr, h)) for h in CORS_HOOKS]


def self_diff(a, b):
    """The 30 largest differences in self cost by function, a - b (ties
    by name: the maps are built from sets, in no fixed order)."""
    d = {}
    for k in set(a['self']) | set(b['self']):
        v = a['self'].get(k, 0) - b['self'].get(k, 0)
        if abs(v) >= 1:
            d[k] = v
    return sorted(d.items(), key=lambda kv: (-abs(kv[1]), kv[0]))[:30]


def annotation(cg, parsed):
    """What the report and the listing show of the cors-10k runs."""
    pr = parsed['cors-10k']
    edges = sorted(((caller, callee, v, pr['ncalls'].get((caller, callee), 0))
                    for (caller, callee), v in pr['edge'].items()
                    if caller and caller.startswith('cors_') and abs(v) >= 0.5
                    and not not_module(callee)),
                   key=lambda e: (e[0], -e[2]))
    selfs = sorted(((f, v) for f, v in pr['self'].items()
                    if f and f.startswith('cors_') and abs(v) >= 0.5),
                   key=lambda kv: (-kv[1], kv[0]))
    return {
        'hooks': module_costs(pr),
        'total': cg['per_request']['cors-10k'] - cg['per_request']['plain'],
        'edges': edges, 'self': selfs,
        'diff_vs_plain': self_diff(pr, parsed['plain']),
        'diff_vs_headers': self_diff(pr, parsed['headers-1'])
        if 'headers-1' in parsed else [],
        'hooks_headers': (cg['per_request'].get('headers-1', 0)
                          - cg['per_request']['plain'])}


def phase_annotate(res, path):
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
    ann = res['annotation'] = annotation(cg, parsed)
    lines = listing_head(cg) + listing_tables(ann) \
        + listing_annotate(cg, runs['cors-10k'][0]['files'][1])
    with open(path, 'w') as f:
        f.write('\n'.join(lines) + '\n')


def listing_head(cg):
    n = cg['n_big'] - cg['n_small']
    return [
        'callgrind: where mod_cors spends its instructions, cors-10k',
        '(10,000 exact origins through CorsAllowOriginFile; allowed GET with '
        'ACAO, ACAC, ACEH and Vary)',
        '',
        'Generated by bench/bench.py.  Two runs of',
        '  ' + sh(['valgrind', '--tool=callgrind', '--compress-pos=no',
                   '--callgrind-out-file=OUT', APACHE, '-X',
                   '-DBENCH_CALLGRIND', '-d', 'bench/run/srv/cors-10k', '-f',
                   'bench/run/srv/cors-10k/httpd.conf']),
        'with  ab -k -c1 -n %d  and  -n %d;  every figure below is '
        '(run -n %d - run -n %d) / %d,'
        % (cg['n_small'], cg['n_big'], cg['n_big'], cg['n_small'], n),
        'i.e. instructions per request; start-up (reading the 10,000 '
        'origins) cancels out.',
        'Functions the compiler inlined are counted in their caller.',
        '']


def listing_tables(ann):
    L = ['1. The module\'s hooks, inclusive of what they call (cors_out_filter '
         'without the',
         '   rest of the filter chain it passes the response to)', '']
    L += ['   %10.1f  %s' % (v, h) for h, v in ann['hooks']]
    L += ['   %10.1f  sum' % sum(v for _h, v in ann['hooks']),
          '   %10.1f  whole process, cors-10k minus plain' % ann['total'], '',
          '2. Calls made by mod_cors functions: caller -> callee, calls per '
          'request, inclusive Ir per request', '']
    L += ['   %-28s -> %-32s %6.2f  %9.1f' % (caller, callee, k, v)
          for caller, callee, v, k in ann['edges']]
    L += ['', '3. Self cost of mod_cors functions, per request', '']
    L += ['   %10.1f  %s' % (v, f) for f, v in ann['self']]
    L += ['', '4. Whole process, by function (self cost), cors-10k minus '
          'plain, largest 30', '']
    L += ['   %+10.1f  %s' % (v, k) for k, v in ann['diff_vs_plain']]
    if ann['diff_vs_headers']:
        L += ['', '5. Whole process, by function (self cost), cors-10k minus '
              'the mod_headers recipe, largest 30', '']
        L += ['   %+10.1f  %s' % (v, k) for k, v in ann['diff_vs_headers']]
    return L + ['']


def listing_annotate(cg, big_file):
    L = ['6. callgrind_annotate --inclusive=yes --threshold=100 OUT(-n %d), '
         'the lines of mod_cors.' % cg['n_big'],
         '   Whole run: start-up (cors_set_origin*, reading 10,000 origins) '
         'included.  A function',
         '   the request-time hooks call is not called at start-up, so its '
         'figure / %d is' % cg['n_big'],
         '   per request.  callgrind_annotate lists one function under two '
         'file names ("mod_cors.c"',
         '   and "???") when part of its code came from inlined functions; '
         'the tables above add them up.',
         '']
    p = subprocess.run(['callgrind_annotate', '--inclusive=yes',
                        '--threshold=100', big_file], capture_output=True,
                       text=True, timeout=300)
    L += ['   ' + line.rstrip() for line in p.stdout.splitlines()
          if re.search(r'\bcors_\w+', line) or 'PROGRAM TOTALS' in line]
    return L
