#!/usr/bin/python3
"""Two or more builds of mod_cors.so side by side, in one sitting:
instructions per request (callgrind) and `apache2 -t` at 1,000,000
origins, each repetition running every build in turn, so that what changes
on the machine during the run falls on all of them alike.

    make build && cp .libs/mod_cors.so /tmp/before.so
    (change mod_cors.c) make build && cp .libs/mod_cors.so /tmp/after.so
    bench/compare.py /tmp/before.so /tmp/after.so \\
        --only cors-1,cors-1-preflight,cors-1-denied,floor-allowed,floor-preflight,floor-vary
    bench/compare.py /tmp/before.so /tmp/after.so --startup

The callgrind figures are those of `bench/bench.py --phases callgrind`
(the same configurations, requests and method: bench/measure.py), the
start-up ones those of `--phases startup` for cors-1m (wall time, the best
of five, and the peak RSS of `apache2 -t`).  A floor measurement does not
load mod_cors: it is measured once per repetition.  Each build in turn is
copied to bench/run/mod_cors.so, where the generated configurations load it.
Prints every repetition and the median; writes bench/run/compare.json.
"""
import argparse
import json
import os
import shutil
import statistics
import sys

from cases import make_configs, make_measurements
from common import CORS_SO, RUN, Settings, log
from measure import callgrind_retry, config_test_times
from servers import check_configs, setup


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('builds', nargs='+', help='mod_cors.so files')
    ap.add_argument('--only', default='',
                    help='comma-separated callgrind measurement names')
    ap.add_argument('--startup', action='store_true',
                    help='apache2 -t at 1,000,000 origins (cors-1m)')
    ap.add_argument('--reps', type=int, default=3)
    args = ap.parse_args()
    for b in args.builds:
        if not os.path.isfile(b):
            sys.exit('compare: %s is missing' % b)
    names = [n for n in args.only.split(',') if n]
    if not names and not args.startup:
        sys.exit('compare: nothing to measure: give --only or --startup')
    cfgs = make_configs()
    ms = {m.name: m for m in make_measurements()}
    unknown = [n for n in names if n not in ms]
    if unknown:
        sys.exit('compare: no measurement named %s' % ', '.join(unknown))
    setup(cfgs)
    need = {ms[n].config for n in names} | ({'cors-1m'} if args.startup
                                            else set())
    check_configs({k: v for k, v in cfgs.items() if k in need})
    st = Settings(False)
    res = {}

    def record(key, value):
        res.setdefault(key, []).append(value)

    for rep in range(args.reps):
        for i, b in enumerate(args.builds):
            shutil.copy2(b, CORS_SO)
            os.chmod(CORS_SO, 0o755)
            tag = os.path.basename(b)
            for n in names:
                m = ms[n]
                if not cfgs[m.config].cors and i:
                    continue
                a, _ = callgrind_retry(cfgs[m.config], m, st.cg_small,
                                       'r%d' % rep)
                z, _ = callgrind_retry(cfgs[m.config], m, st.cg_big,
                                       'r%d' % rep)
                per = (z - a) / float(st.cg_big - st.cg_small)
                key = '%s %s' % (n, tag) if cfgs[m.config].cors else n
                record(key, per)
                log('%-40s %9.1f Ir/request' % (key, per))
            if args.startup:
                times, peak, _ = config_test_times(cfgs['cors-1m'],
                                                   st.startup_runs)
                record('cors-1m apache2 -t s ' + tag, min(times))
                record('cors-1m peak kB ' + tag, peak)
                log('cors-1m %s: apache2 -t %.3f s, peak %d kB'
                    % (tag, min(times), peak))
    with open(os.path.join(RUN, 'compare.json'), 'w') as f:
        json.dump(res, f, indent=1)
    for k in sorted(res):
        v = res[k]
        print('%-44s median %12.3f   %s' % (k, statistics.median(v),
                                           ' '.join('%.3f' % x for x in v)))


if __name__ == '__main__':
    main()
