#!/usr/bin/python3
"""The cold miss of CorsAllowOriginDBDQuery (docs/database.md "What a flood
costs"): instructions per request when every request sends an Origin the
cache has not seen (a SQLite query, refused, and a store in shmcb), against
the same requests with one Origin the cache holds.  Runs after `make bench`
(or `bench/bench.py --phases callgrind --only cors-db-cached`) generated
bench/run/srv/cors-db: apache2 -X under callgrind, two runs of different
lengths, the difference per request.  Prints both figures."""
import http.client
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from cases import make_configs                              # noqa: E402
from common import CG_DIR                                   # noqa: E402
from measure import callgrind_cmd, callgrind_total          # noqa: E402
from servers import remove_pidfile, start, stop, wait_listen  # noqa: E402

N_SMALL, N_BIG = 100, 300


def run(cfg, origins, tag):
    out = os.path.join(CG_DIR, 'callgrind.db-miss.%s.%d.out' % (tag, len(origins)))
    remove_pidfile(cfg)
    with open(out + '.stderr', 'w') as err:
        proc = start(callgrind_cmd(cfg, out), err)
    try:
        if not wait_listen(cfg.port, proc, 600):
            sys.exit('db_miss: apache2 did not start (see %s.stderr)' % out)
        conn = http.client.HTTPConnection('127.0.0.1', cfg.port, timeout=60)
        for o in origins:
            conn.request('GET', '/api/data.json', headers={'Origin': o})
            r = conn.getresponse()
            r.read()
            if r.status != 200:
                sys.exit('db_miss: %d for %s' % (r.status, o))
        conn.close()
    finally:
        stop(proc, timeout=600)
    return callgrind_total(out)


def per_request(cfg, make, tag):
    small = run(cfg, make(N_SMALL), tag)
    big = run(cfg, make(N_BIG), tag)
    return (big - small) / (N_BIG - N_SMALL)


def main():
    cfg = make_configs()['cors-db']
    if not os.path.exists(cfg.conf):
        sys.exit('db_miss: run bench/bench.py --phases callgrind --only '
                 'cors-db-cached first')
    with open(cfg.conf) as f:
        cfg.port = int(next(l for l in f if l.startswith('Listen')).rsplit(':', 1)[1])
    miss = per_request(cfg, lambda n: ['https://miss-%d.example' % i
                                       for i in range(n)], 'miss')
    hit = per_request(cfg, lambda n: ['https://miss-0.example'] * n, 'hit')
    print('cors-db: %.0f Ir/request a cold miss (refused), %.0f from the cache'
          % (miss, hit))


if __name__ == '__main__':
    main()
