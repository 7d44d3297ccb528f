#!/usr/bin/python3
"""mod_cors benchmark: mod_cors side by side with plain httpd, a floor module
and the mod_headers, SetEnvIf and mod_rewrite recipes, in instructions per
request (callgrind) and in requests per second (wrk), plus start-up cost at
100,000 origins.

    make bench                     # everything, about 15-20 minutes
    BENCH_QUICK=1 make bench       # smoke run, a few minutes; its report
                                   # goes to bench/run/quick/, not bench/
    bench/bench.py [--quick] [--phases startup,wrk,callgrind,annotate,strace,report]

Everything generated lives in bench/run/ (one server root per configuration,
sharing bench/run/htdocs); the results are bench/results.md (from the
template bench/results.md.in), bench/results.png and
bench/callgrind-cors-10k.txt.  Traffic goes to 127.0.0.1 only; every load
run is bounded in time (wrk -d) or count (ab -n).

    cases.py     what is measured: configurations and requests
    servers.py   server roots; starting and stopping apache2
    measure.py   start-up, wrk, callgrind, strace, and what each answers
    annotate.py  where mod_cors's instructions go (cors-10k)
    goals.py     the performance goals, on one run's figures
    report.py    results.md from results.md.in, and the plot

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
             the result; the spread of the rounds is the noise band.
  startup    `apache2 -t` wall time (best of five) and VmRSS of the parent
             and of a child of a running server, against a 1-origin config.
  strace     file-system calls per preflight.
  Every measurement is checked first (status, Access-Control-*, Vary).
"""
import argparse
import datetime
import json
import os
import signal
import sys
import time

from annotate import phase_annotate
from cases import make_configs, make_measurements
from common import (BUILT_SO, REPO, RUN, SRV, Settings, loadavg, log,
                    outputs, quick_from_env)
from goals import evaluate_goals
from measure import (machine_info, phase_callgrind, phase_startup,
                     phase_strace, phase_wrk)
from report import log_goals, plot, report
from servers import check_configs, error_log_problems, setup

MEASURING = ('startup', 'wrk', 'callgrind', 'annotate', 'strace')
BASES = {'plain', 'plain-noorigin', 'plain-static', 'rewrite-preflight'}


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--quick', action='store_true',
                    help='smoke run (the same as BENCH_QUICK=1)')
    ap.add_argument('--phases', default=','.join(MEASURING + ('report',)),
                    help='comma-separated subset of startup, wrk, callgrind, '
                         'annotate, strace, report (report only: from '
                         'bench/run/results.json)')
    ap.add_argument('--only', default='',
                    help='comma-separated measurement names (callgrind, wrk)')
    return ap.parse_args()


def load(path):
    with open(path) as f:
        return json.load(f)


def save(res, path):
    with open(path, 'w') as f:
        json.dump(res, f, indent=1)


def measure(res, phases, cfgs, ms, settings, out):
    """Set the servers up and run the measuring phases into res."""
    now = datetime.datetime.now()
    res['date'] = now.strftime('%Y-%m-%d %H:%M')
    res['run'] = now.isoformat(timespec='seconds')
    res['quick'] = settings.quick
    log('generating %d configurations in %s' % (len(cfgs), SRV))
    setup(cfgs)
    res['machine'] = machine_info()
    check_configs(cfgs)
    if 'startup' in phases:
        phase_startup(cfgs, res, settings)
    if 'wrk' in phases:
        phase_wrk(cfgs, ms, res, settings)
    if 'callgrind' in phases:
        phase_callgrind(cfgs, ms, res, settings)
    if 'annotate' in phases:
        phase_annotate(res, out.annotation)
    if 'strace' in phases:
        phase_strace(cfgs, ms, res)
    res['error_log_problems'] = {c.name: error_log_problems(c)
                                 for c in cfgs.values()
                                 if error_log_problems(c)}
    res['load_after'] = loadavg()


def write_report(res, cfgs, out):
    ms = make_measurements()
    res['goals'] = evaluate_goals(res, [m.name for m in ms])
    plot(res, ms, out.png, os.path.join(RUN, 'plot.dat'))
    report(res, ms, cfgs, out.md)
    log('wrote %s and %s' % (os.path.relpath(out.md, REPO),
                             os.path.relpath(out.png, REPO)))
    log_goals(res['goals'])


def main():
    args = parse_args()
    # stopping the run stops the servers it started (the finally blocks)
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(143))
    settings = Settings(args.quick or quick_from_env())
    out = outputs(settings.quick)
    phases = args.phases.split(',')
    if not os.path.isfile(BUILT_SO):
        sys.exit('bench: %s is missing: run "make" first' % BUILT_SO)
    t0 = time.monotonic()
    cfgs = make_configs()
    ms = make_measurements()
    if args.only:
        keep = set(args.only.split(','))
        ms = [m for m in ms if m.name in keep or m.name in BASES]
    if phases == ['report']:
        res = load(out.json)
    else:
        # a partial run updates the results of the last full one
        partial = args.only or not set(MEASURING) <= set(phases)
        res = load(out.json) if partial and os.path.exists(out.json) else {}
        measure(res, phases, cfgs, ms, settings, out)
        res['elapsed'] = time.monotonic() - t0
        save(res, out.json)
    if 'report' in phases:
        write_report(res, cfgs, out)
    save(res, out.json)
    log('done in %.0f s' % (time.monotonic() - t0))


if __name__ == '__main__':
    main()
