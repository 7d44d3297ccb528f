"""The shipped configuration files: they parse, and they answer as documented."""
import os
import shutil

from conftest import server_fixture
from cors_cases import PREFLIGHT_VARY, check, preflight
from harness import REPO, check_config

APP = 'https://app.example.com'

CONFIG = r'''
Define CORS_EXAMPLE_HTPASSWD "{root}/htpasswd"
Define CORS_EXAMPLES_DIR "{root}/conf/examples"
Include conf/examples/example.conf
'''


def _files(h):
    shutil.copytree(os.path.join(REPO, 'conf', 'examples'),
                    os.path.join(h.root, 'conf', 'examples'))
    for d in ('api', 'public', 'private', 'seed'):
        h.write(d + '/data.json', '{}')
    h.htpasswd('demo', 'demo')


srv = server_fixture('examples', CONFIG, setup=_files)


def test_cors_conf_parses():
    rc, out = check_config('Include %s/conf/cors.conf' % REPO, name='corsconf')
    assert rc == 0 and 'Syntax OK' in out, out


def test_cors_load_names_the_module():
    with open(os.path.join(REPO, 'conf', 'cors.load')) as f:
        assert f.read().split()[:2] == ['LoadModule', 'cors_module']


def test_api_with_credentials(srv):
    r = srv.request('GET', '/api/data.json', headers=(('Origin', APP),))
    check(r, 200, ['Access-Control-Allow-Origin: ' + APP, 'Access-Control-Allow-Credentials: true',
                   'Access-Control-Expose-Headers: ETag, Location, X-Total-Count', 'Vary: Origin'])
    r = srv.request('GET', '/api/data.json', headers=(('Origin', 'http://localhost:5173'),))
    assert r.get('Access-Control-Allow-Origin') == 'http://localhost:5173'
    r = preflight(srv, '/api/data.json', APP, 'PATCH', 'content-type,x-csrf-token')
    check(r, 204, ['Access-Control-Allow-Origin: ' + APP, 'Access-Control-Allow-Credentials: true',
                   'Access-Control-Allow-Methods: PATCH',
                   'Access-Control-Allow-Headers: content-type, x-csrf-token',
                   'Access-Control-Max-Age: 600', PREFLIGHT_VARY])


def test_public_tree(srv):
    r = srv.request('GET', '/public/data.json', headers=(('Origin', 'https://x.example'),))
    check(r, 200, ['Access-Control-Allow-Origin: *',
                   'Access-Control-Expose-Headers: Content-Length, ETag'])
    check(preflight(srv, '/public/data.json', 'https://x.example', 'PUT'), 403, [PREFLIGHT_VARY])


def test_private_tree(srv):
    r = preflight(srv, '/private/data.json', APP, 'PUT', 'authorization')
    assert r.status == 204
    r = srv.request('GET', '/private/data.json', headers=(('Origin', APP),))
    assert r.status == 401 and r.get('Access-Control-Allow-Origin') == APP
    r = srv.request('GET', '/private/data.json',
                    headers=(('Origin', APP), ('Authorization', 'Basic ZGVtbzpkZW1v')))
    assert r.status == 200 and r.get('Access-Control-Allow-Credentials') == 'true'


def test_seed_policy(srv):
    # docs/worked-example.md, "The seed policy": the seed's server, expressed with the
    # module's directives (conf/examples/seed-defaults.conf)
    r = preflight(srv, '/seed/data.json', 'https://x.example', 'DELETE', 'content-type, accept')
    check(r, 204, ['Access-Control-Allow-Origin: *', 'Access-Control-Allow-Methods: DELETE',
                   'Access-Control-Allow-Headers: content-type, accept',
                   'Access-Control-Max-Age: 10', PREFLIGHT_VARY])
    check(srv.request('GET', '/seed/data.json'), 200, ['Access-Control-Allow-Origin: *'])
