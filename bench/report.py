"""bench/results.md from the template bench/results.md.in, and the plot
bench/results.png."""
import re
import string
import subprocess

from cases import N_SUB
from common import PLOT_GP, TEMPLATE, fmt_int, log, sh
from goals import PATHS, figures, noise_band, signed
from servers import apache_cmd


def load_template(path=TEMPLATE):
    """The blocks of the template: name -> string.Template."""
    blocks, name = {}, None
    with open(path, encoding='utf-8') as f:
        for line in f:
            m = re.match(r'^%%% (\S+)\s*$', line)
            if m:
                name = m.group(1)
                blocks[name] = []
            elif name:
                blocks[name].append(line)
    return {k: string.Template(''.join(v)) for k, v in blocks.items()}


class Page:
    """What the fillers see: the run's results, its measurements and
    configurations, and the template's blocks."""

    def __init__(self, res, ms, cfgs):
        self.res, self.ms, self.cfgs = res, ms, cfgs
        self.cg = figures(res)      # this run's instructions per request
        self.callgrind = res.get('callgrind', {})
        self.wrk = res.get('wrk', {})
        self.byname = {m.name: m for m in ms}
        self.blocks = load_template()

    def fill(self, name, fields):
        return self.blocks[name].substitute(fields)

    def piece(self, name, **fields):
        return self.fill(name, fields).strip()


def table(rows):
    return '\n'.join('| %s |' % ' | '.join(str(c) for c in r) for r in rows)


# --------------------------------------------------------------------------
# The fillers, one per block: the block's fields, or None to leave it out
# --------------------------------------------------------------------------

def head(p):
    return {'quick': ' ' + p.piece('quick') if p.res.get('quick') else '',
            'date': p.res['date']}


def goals(p):
    return {'rows': table(
        [g['goal'], g['limit'], g['measured'],
         '**met**' if g['ok'] else '**missed**']
        for g in p.res.get('goals', []))}


def floor(p):
    cg, rows = p.cg, []
    for path, names, fl, _ in PATHS:
        base = p.byname[fl].baseline
        names = [n for n in names if n in cg]
        if not names or fl not in cg or base not in cg:
            continue
        dearest = max(names, key=lambda n: cg[n])
        rows.append([path, fl, '%s (%s)' % (signed(cg[fl] - cg[base]), base),
                     '%s (%s)' % (signed(cg[dearest] - cg[base]), dearest),
                     signed(cg[dearest] - cg[fl])])
    return {'rows': table(rows)} if rows else None


def callgrind_row(p, m):
    c = p.callgrind
    v = c['per_request'][m.name]
    base = m.baseline
    if base and m.name in p.cg and base in p.cg:
        over = ('+' if v - p.cg[base] >= 0 else '') + fmt_int(v - p.cg[base])
        ratio = '%.3f' % (v / p.cg[base])
    else:
        over, ratio, base = '—', '—', '—'
    vals = [r['per_request'] for r in c['runs'].get(m.name, [])]
    spread = ' (%d runs: %s)' % (len(vals), ', '.join(
        '%.0f' % x for x in vals)) if len(vals) > 1 else ''
    if m.name not in p.cg:
        spread += ' (an earlier run: %s)' % c.get('measured_in', {}).get(
            m.name, '?')
    return [m.name, m.label, fmt_int(v) + spread, over, ratio, base]


def callgrind(p):
    c = p.callgrind
    if not c.get('per_request'):
        return None
    return {'n_big': c['n_big'], 'n_small': c['n_small'],
            'n': c['n_big'] - c['n_small'],
            'rows': table(callgrind_row(p, m) for m in p.ms
                          if m.name in c['per_request'])}


def wrk(p):
    w = p.wrk
    summary = w.get('summary')
    if not summary:
        return None
    band = noise_band(summary)
    noise = p.piece('wrk-noise', band='%.1f' % band[0], pairs=band[1]) \
        if band else p.piece('wrk-no-noise')
    rows = []
    for m in p.ms:
        s = summary.get(m.name)
        if s:
            rows.append([m.name, s['base'] or '—',
                         '%.2f' % s['ratio_base'] if s['ratio_base'] else '—',
                         ', '.join('%.2f' % x for x in s['ratio_base_all']),
                         fmt_int(s['rps']), '%.0f' % s['p50'],
                         '%.0f' % s['p99']])
    return {'server_cpu': w['server_cpu'], 'conns': w['conns'],
            'client_cpu': w['client_cpu'], 'duration': w['duration'],
            'rounds': w['rounds'], 'noise': noise, 'rows': table(rows)}


def startup_row(name, note, s, base):
    def over(key, scale=1.0, fmt='%+.1f'):
        return fmt % (((s[key] or 0) - (base[key] or 0)) / scale) \
            if base else '—'
    return ['%s: %s' % (name, note), '%.3f' % s['t_min'],
            over('t_min', fmt='%+.3f'),
            '%.1f' % (s.get('test_peak_kb', 0) / 1024.0), '%.2f' % s['ready'],
            '%.1f' % (s['rss_parent_kb'] / 1024.0),
            over('rss_parent_kb', 1024.0),
            '%.1f' % ((s['rss_child_kb'] or 0) / 1024.0),
            over('rss_child_kb', 1024.0),
            '`%s`' % s['report'] if s['report'] else '']


def startup(p):
    st = p.res.get('startup')
    if not st:
        return None
    base = st.get('cors-1', {})
    return {'runs': len(base.get('times', [0])),
            'rows': table(startup_row(n, p.cfgs[n].note, st[n], base)
                          for n in ('plain', 'cors-1', 'cors-100k',
                                    'cors-100k-inline', 'cors-1m')
                          if n in st)}


def strace(p):
    st = p.res.get('strace')
    if not st:
        return None
    return {'rows': table(
        [name, '%.1f' % s['syscalls'], '%.1f' % s['htdocs_calls'],
         '%.1f' % s['stats'], '%.1f' % s.get('htaccess', 0),
         '%.1f' % s['opens'],
         '<br>'.join('`%s`' % e.replace('|', '\\|') for e in s['examples'])]
        for name, s in st.items())}


def annotation(p):
    ann = p.res.get('annotation')
    if not ann:
        return None
    hooks = dict(ann['hooks'])
    # the module's calls out, largest first (what its own share is made of)
    calls = {}
    for _caller, callee, v, _k in ann['edges']:
        if callee and not callee.startswith('cors_'):
            calls[callee] = calls.get(callee, 0) + v
    top = sorted(calls.items(), key=lambda kv: -kv[1])[:6]
    fl = ''
    if 'floor-allowed' in p.cg and 'plain' in p.cg:
        f = p.cg['floor-allowed'] - p.cg['plain']
        fl = p.piece('annotation-floor', floor='%+.0f' % f,
                     own='%+.0f' % (ann['total'] - f)) + ' '
    return {
        'total': fmt_int(ann['total']), 'floor': fl,
        'module': '%.0f' % sum(hooks.values()),
        'header_parser': '%.0f' % hooks.get('cors_header_parser', 0),
        'insert_filter': '%.0f' % hooks.get('cors_insert_filter', 0),
        'out_filter': '%.0f' % hooks.get('cors_out_filter', 0),
        'merge': '%.0f' % (hooks.get('cors_create_dir_conf', 0)
                           + hooks.get('cors_merge_dir_conf', 0)),
        'own_self': '%.0f' % sum(v for _f, v in ann['self']),
        'top': ', '.join('%s %.0f' % kv for kv in top),
        'hooks': table([h, '%.0f' % v] for h, v in ann['hooks']),
        'sum': '%.0f' % sum(v for _h, v in ann['hooks']),
        'total_exact': '%.0f' % ann['total'],
        'diff': table(['%+.0f' % d, name]
                      for name, d in ann['diff_vs_plain'][:16])}


def checks(p):
    ch = p.wrk.get('checks')
    if not ch:
        return None
    rows = []
    for m in p.ms:
        c = ch.get(m.name)
        if c:
            req = '%s %s%s' % (m.method, m.path, ''.join(
                '<br>%s: %s' % kv for kv in m.headers()))
            rows.append([m.name, req, c['shown'].replace('; ', '<br>'),
                         'yes' if not c['problems'] else
                         'NO: ' + ', '.join(c['problems'])])
    return {'rows': table(rows)}


SHOWN_SECTIONS = ('headers-1', 'regex-10', 'rewrite-preflight', 'cors-100',
                  'cors-100k', 'cors-sub-1k')


def shortened(c):
    """A configuration's section, with its long origin lists shortened."""
    lines = (c.section or c.server).splitlines()
    if c.name.startswith('regex'):
        lines = [re.sub(r'\^\(([^|]*\|[^|]*\|).*\|([^|]*)\)\$',
                        r'^(\1...|\2)$', x) for x in lines]
    if len(lines) > 12:
        allow = [x for x in lines if 'CorsAllowOrigin ' in x]
        rest = [x for x in lines if 'CorsAllowOrigin ' not in x]
        lines = allow[:2] + ['    # ... %d CorsAllowOrigin lines in all'
                             % len(allow)] + rest
    return '`%s`%s:\n```apache\n%s\n```' % (
        c.name, ' (server context)' if c.server else '', '\n'.join(lines))


def configurations(p):
    rows = [[name, ', '.join(['mod_' + x for x in c.modules]
                             + (['mod_cors'] if c.cors else [])) or '—',
             c.note] for name, c in p.cfgs.items()]
    return {'rows': table(rows),
            'sections': '\n'.join(shortened(p.cfgs[n])
                                  for n in SHOWN_SECTIONS)}


def commands_callgrind(p):
    c = p.callgrind
    if not c.get('cmd_example'):
        return None
    return {'n_small': c['n_small'], 'n_big': c['n_big'],
            'valgrind': sh(c['cmd_example']['valgrind']),
            'ab': sh(c['cmd_example']['ab'])}


def commands_wrk(p):
    if not p.wrk.get('cmd_example'):
        return None
    return {'server_cpu': p.wrk['server_cpu'],
            'server': sh(apache_cmd(p.cfgs['plain'], '-DFOREGROUND')),
            'wrk': sh(p.wrk['cmd_example'])}


def commands_startup(p):
    return {'test': sh(apache_cmd(p.cfgs['cors-100k-inline'], '-t', '-c',
                                  'LogLevel warn cors:info'))}


MACHINE_ROWS = (('cpu', 'CPU'), ('cpus', 'CPUs'), ('mem', 'memory'),
                ('os', 'Debian'), ('kernel', 'kernel'),
                ('apache', 'httpd'), ('mpm', 'MPM'), ('wrk', 'wrk'),
                ('ab', 'ab'), ('valgrind', 'valgrind'),
                ('gnuplot', 'gnuplot'), ('cc', 'compiler'),
                ('git_head', 'git HEAD'),
                ('cors_c_sha256', 'mod_cors.c sha256 (first 16)'),
                ('cors_so_sha256', 'mod_cors.so sha256 (first 16)'))


def machine(p):
    mach = p.res['machine']
    rows = []
    for k, label in MACHINE_ROWS:
        v = mach.get(k)
        if k == 'git_head' and mach.get('cors_c_modified'):
            v = '%s (mod_cors.c modified in the work tree)' % v
        rows.append([label, v])
    return {'rows': table(rows), 'load_before': ' '.join(mach['load']),
            'load_after': ' '.join(p.res.get('load_after', [])),
            'elapsed': '%.0f' % p.res.get('elapsed', 0)}


def errors(p):
    problems = p.res.get('error_log_problems')
    if not problems:
        return None
    return {'lines': '\n'.join('- %s: `%s`' % (name, line)
                               for name, lines in problems.items()
                               for line in lines[:5])}


PAGE = (('head', head), ('goals', goals), ('floor', floor),
        ('callgrind', callgrind), ('wrk', wrk), ('startup', startup),
        ('strace', strace), ('annotation', annotation), ('checks', checks),
        ('configurations', configurations), ('commands', lambda p: {}),
        ('commands-callgrind', commands_callgrind),
        ('commands-wrk', commands_wrk),
        ('commands-startup', commands_startup), ('machine', machine),
        ('errors', errors))


def report(res, ms, cfgs, path):
    p = Page(res, ms, cfgs)
    parts = []
    for name, filler in PAGE:
        fields = filler(p)
        if fields is not None:
            parts.append(p.fill(name, fields))
    with open(path, 'w') as f:
        f.write(''.join(parts).rstrip('\n') + '\n')


# --------------------------------------------------------------------------
# The plot
# --------------------------------------------------------------------------

def plot_data(cg, ms, path):
    """gnuplot's data blocks: mod_cors exact origins, the SetEnvIf recipe,
    mod_cors subdomain patterns, mod_cors refused origin."""
    plain = cg['plain']

    def point(x, name):
        return '%d %.0f %.0f\n' % (x, cg[name], cg[name] - plain)
    with open(path, 'w') as f:
        f.write('# series origins instructions_per_request over_plain\n')
        for group, title in (('cors', 'mod_cors, exact origins'),
                             ('regex', 'SetEnvIf regex recipe')):
            f.write('# %s\n' % title)
            for m in ms:
                if m.group == group and m.name in cg and m.origins:
                    f.write(point(m.origins, m.name))
            f.write('\n\n')
        f.write('# mod_cors, subdomain patterns\n')
        if 'cors-sub-1k' in cg:
            f.write(point(N_SUB, 'cors-sub-1k'))
        f.write('\n\n')
        f.write('# mod_cors, denied origin\n')
        for name, x in (('cors-1-denied', 1), ('cors-100k-denied', 100000)):
            if name in cg:
                f.write(point(x, name))
        f.write('\n\n')


def plot(res, ms, png, dat):
    cg = figures(res)
    if 'plain' not in cg:
        return False
    plot_data(cg, ms, dat)
    plain = cg['plain']
    ymax = max(cg.values())
    subtitle = ('Apache %s, event MPM, 1 KiB JSON, callgrind (ab -k -c1 -n %d '
                'minus -n %d)' % (res['machine']['apache'].split('/')[1]
                                  .split()[0], res['callgrind']['n_big'],
                                  res['callgrind']['n_small']))
    p = subprocess.run(['gnuplot', '-e', "datafile='%s'; outfile='%s'; "
                        "plain=%.0f; headers=%.0f; floor=%.0f; ymax=%.0f; "
                        "overmax=%.0f; subtitle='%s'"
                        % (dat, png, plain, cg.get('headers-1', plain),
                           cg.get('floor-allowed', plain), ymax, ymax - plain,
                           subtitle), PLOT_GP],
                       capture_output=True, text=True, timeout=60)
    if p.returncode != 0:
        log('gnuplot failed: %s' % p.stderr)
        return False
    return True


def log_goals(goals_):
    for g in goals_:
        log('goal %-7s %s: %s' % ('met' if g['ok'] else 'MISSED', g['goal'],
                                  g['measured']))
