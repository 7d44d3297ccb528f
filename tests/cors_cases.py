"""Shared helpers for the table-driven CORS tests."""

A = 'https://a.example'
B = 'https://b.example'
C = 'https://c.example'
EVIL = 'https://evil.example'

# A proxied backend on the server's second port ({port1}), serving
# {root}/backend with CORS headers and a Vary of its own, and no CORS policy.
BACKEND_VHOST = r'''
<VirtualHost 127.0.0.1:{port1}>
    DocumentRoot "{root}/backend"
    <Directory "{root}/backend">
        Require all granted
    </Directory>
    Header always set Access-Control-Allow-Origin "https://evil.example"
    Header always set Access-Control-Allow-Headers "*"
    Header always set Vary "Accept-Encoding"
</VirtualHost>
'''

PREFLIGHT_VARY = 'Vary: Origin,Access-Control-Request-Method,Access-Control-Request-Headers'

# Each CORS_RESULT and its labels on the counters' metrics page, one per
# dimension: (request, outcome, reason), in the order of the page (README
# "Counters: server-status and Prometheus", the table of outcomes).
OUTCOME_LABELS = {
    'no-origin': ('actual', 'no-origin', 'none'),
    'allowed': ('actual', 'allowed', 'none'),
    'denied:origin': ('actual', 'denied', 'origin'),
    'preflight:ok': ('preflight', 'allowed', 'none'),
    'preflight:denied:origin': ('preflight', 'denied', 'origin'),
    'preflight:denied:method': ('preflight', 'denied', 'method'),
    'preflight:denied:header': ('preflight', 'denied', 'header'),
    'preflight:denied:malformed': ('preflight', 'denied', 'malformed'),
    'write:denied:sec-fetch-site': ('write', 'denied', 'sec-fetch-site'),
    'write:denied:origin': ('write', 'denied', 'origin'),
    # CorsAllowOriginDBDQuery decided the origin (tests/test_dbd.py)
    'allowed:database': ('actual', 'allowed', 'database'),
    'denied:database': ('actual', 'denied', 'database'),
    'denied:database-unavailable': ('actual', 'denied', 'database-unavailable'),
    'preflight:ok:database': ('preflight', 'allowed', 'database'),
    'preflight:denied:database': ('preflight', 'denied', 'database'),
    'preflight:denied:database-unavailable': ('preflight', 'denied', 'database-unavailable'),
}


def origin_hdr(origin):
    return () if origin is None else (('Origin', origin),)


def preflight(srv, path, origin, method, headers=None, extra=()):
    """Send a preflight: OPTIONS with Origin and Access-Control-Request-Method."""
    h = [('Origin', origin), ('Access-Control-Request-Method', method)]
    if headers is not None:
        h.append(('Access-Control-Request-Headers', headers))
    return srv.request('OPTIONS', path, headers=h + list(extra))


def check(resp, status, lines, body=None):
    """Assert the status and the exact list of Access-Control-*/Vary lines.

    The lists are compared as multisets (sorted, duplicates kept): a
    repeated header line is a failure, the order of different ones is not.
    """
    assert (resp.status, sorted(resp.cors_lines())) == (status, sorted(lines)), \
        resp.raw_head
    if body is not None:
        assert resp.body == body
