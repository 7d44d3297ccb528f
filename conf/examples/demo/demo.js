// mod_cors demo page: cross-origin requests from this page's origin to the API,
// with what the policy makes us expect and what the browser did.
//
// window.CORS_DEMO_CONFIG comes from config.js, written by tools/run.sh:
//   {api: 'http://127.0.0.1:8080',
//    pages: {trusted: 'http://localhost:8081/demo/', untrusted: 'http://localhost:8082/demo/'},
//    vars: {CORS_DEMO_TRUSTED_PORT: '8081'}}
// The policy itself is read from /demo/demo.conf as served.
'use strict';

// What the browser does when the origin is not listed, for a request that
// needs no preflight (it is sent; its answer is withheld) and for one that does
// (the preflight is refused with 403, which carries no Access-Control-* header,
// so the request itself is never sent).
const NOT_LISTED = {
    allowed: false, reason: 'MissingAllowOriginHeader', decides: ['CorsAllowOrigin'],
    why: 'origin not listed: no Access-Control-Allow-Origin on the answer. The request was sent; the script may not read the answer.',
};
const PREFLIGHT_NOT_LISTED = {
    allowed: false, reason: 'PreflightMissingAllowOriginHeader', decides: ['CorsAllowOrigin'],
    why: 'origin not listed: the preflight is refused (403, no Access-Control-* header); the request is never sent.',
};
const json = { 'Content-Type': 'application/json' };
const BASIC_DEMO = 'Basic ' + btoa('demo:demo');

// Each row: the request, the directives that decide it, and what to expect on
// the trusted and on the untrusted page origin (where an expectation names
// the directives that decide it, those are shown instead).  `reason` is the name Chromium
// gives the CORS error (DevTools: Network.loadingFailed corsErrorStatus).
const ROWS = [
    {
        key: 'get', title: 'Simple GET', method: 'GET', path: '/demo/api/items.json', init: {},
        decides: ['CorsAllowOrigin'],
        trusted: { allowed: true, status: 200, why: 'origin listed: Access-Control-Allow-Origin echoes it.' },
        untrusted: NOT_LISTED,
    },
    {
        key: 'json-post', title: 'JSON POST (preflighted)', method: 'POST', path: '/demo/api/echo.cgi',
        init: { method: 'POST', headers: json, body: '{"name": "demo"}' },
        decides: ['CorsAllowMethods', 'CorsAllowHeaders'],
        trusted: { allowed: true, status: 200, why: 'Content-Type: application/json needs a preflight; POST and content-type are allowed (204).' },
        untrusted: PREFLIGHT_NOT_LISTED,
    },
    {
        key: 'put', title: 'PUT', method: 'PUT', path: '/demo/api/echo.cgi',
        init: { method: 'PUT', body: 'x' },
        decides: ['CorsAllowMethods'],
        trusted: { allowed: true, status: 200, why: 'PUT is in CorsAllowMethods: preflight 204, then the PUT.' },
        untrusted: PREFLIGHT_NOT_LISTED,
    },
    {
        key: 'delete', title: 'DELETE', method: 'DELETE', path: '/demo/api/echo.cgi',
        init: { method: 'DELETE' },
        decides: ['CorsAllowMethods'],
        trusted: { allowed: false, reason: 'PreflightMissingAllowOriginHeader', why: 'DELETE is not in CorsAllowMethods: the preflight is refused (403, no Access-Control-* header); the DELETE is never sent.' },
        untrusted: PREFLIGHT_NOT_LISTED,
    },
    {
        key: 'header-ok', title: 'Custom header X-Requested-With', method: 'GET', path: '/demo/api/echo.cgi',
        init: { headers: { 'X-Requested-With': 'demo' } },
        decides: ['CorsAllowHeaders'],
        trusted: { allowed: true, status: 200, why: 'x-requested-with is in CorsAllowHeaders: preflight 204.' },
        untrusted: PREFLIGHT_NOT_LISTED,
    },
    {
        key: 'header-no', title: 'Custom header X-Debug', method: 'GET', path: '/demo/api/items.json',
        init: { headers: { 'X-Debug': '1' } },
        decides: ['CorsAllowHeaders'],
        trusted: { allowed: false, reason: 'PreflightMissingAllowOriginHeader', why: 'x-debug is not in CorsAllowHeaders: the preflight is refused (403); the GET is never sent.' },
        untrusted: PREFLIGHT_NOT_LISTED,
    },
    {
        key: 'delete-debug', title: 'DELETE, with CorsDebug On', method: 'DELETE', path: '/demo/api/debug/echo.cgi',
        init: { method: 'DELETE' },
        decides: ['CorsAllowMethods', 'CorsDebug'],
        trusted: { allowed: false, reason: 'MethodDisallowedByPreflightResponse', why: 'the same refusal, answered 204 with Access-Control-Allow-Methods: GET, HEAD, POST, PUT: the browser itself refuses DELETE and says so; the DELETE is never sent.' },
        untrusted: PREFLIGHT_NOT_LISTED,
    },
    {
        key: 'header-debug', title: 'Custom header X-Debug, with CorsDebug On', method: 'GET', path: '/demo/api/debug/items.json',
        init: { headers: { 'X-Debug': '1' } },
        decides: ['CorsAllowHeaders', 'CorsDebug'],
        trusted: { allowed: false, reason: 'HeaderDisallowedByPreflightResponse', why: 'the same refusal, answered 204 with Access-Control-Allow-Headers: Content-Type, X-Requested-With: the browser names x-debug; the GET is never sent.' },
        untrusted: PREFLIGHT_NOT_LISTED,
    },
    {
        key: 'write', title: 'Form-type POST (no preflight), write-protected', method: 'POST',
        path: '/demo/api/write/echo.cgi',
        init: { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: 'amount=100' },
        decides: ['CorsCrossOriginProtection', 'CorsAllowOrigin'],
        trusted: { allowed: true, status: 200, why: 'a trusted origin: the write passes CorsCrossOriginProtection and the script reads the answer.' },
        untrusted: { allowed: false, reason: 'MissingAllowOriginHeader', why: 'a form could send this POST, so there is no preflight and CORS alone would let the application act on it; CorsCrossOriginProtection refuses it (403) before the application sees it.' },
    },
    {
        key: 'expose', title: 'Read response headers', method: 'GET', path: '/demo/api/items.json',
        init: {}, read: ['X-Total-Count', 'X-Internal'],
        decides: ['CorsExposeHeaders', 'Header'],
        trusted: { allowed: true, status: 200, why: 'both headers are sent; only X-Total-Count is exposed to scripts.' },
        untrusted: NOT_LISTED,
    },
    {
        key: 'credentials', title: "credentials: 'include'", method: 'GET', path: '/demo/api/items.json',
        init: { credentials: 'include' },
        decides: ['CorsAllowCredentials'],
        trusted: { allowed: true, status: 200, why: 'Access-Control-Allow-Credentials: true, with the origin echoed (never *).' },
        untrusted: NOT_LISTED,
    },
    {
        key: 'public', title: 'Public data, any origin', method: 'GET', path: '/demo/api/public/status.json',
        init: {},
        decides: ['CorsAllowOrigin'],
        trusted: { allowed: true, status: 200, why: 'CorsAllowOrigin *: Access-Control-Allow-Origin: * for everyone.' },
        untrusted: { allowed: true, status: 200, why: 'CorsAllowOrigin *: Access-Control-Allow-Origin: * for everyone.' },
    },
    {
        key: 'public-credentials', title: "Public data with credentials: 'include'", method: 'GET',
        path: '/demo/api/public/status.json', init: { credentials: 'include' },
        decides: ['CorsAllowOrigin', 'CorsAllowCredentials'],
        trusted: { allowed: false, reason: 'WildcardOriginNotAllowed', why: 'the answer says *, which browsers never accept for a request with credentials.' },
        untrusted: { allowed: false, reason: 'WildcardOriginNotAllowed', why: 'the answer says *, which browsers never accept for a request with credentials.' },
    },
    {
        key: 'not-found', title: 'A missing resource (404)', method: 'GET', path: '/demo/api/nothing-here.json',
        init: {},
        decides: ['CorsAllowOrigin'],
        trusted: { allowed: true, status: 404, why: 'error answers carry the CORS headers too: the script sees the 404.' },
        untrusted: NOT_LISTED,
    },
    {
        key: 'unauthorized', title: 'Protected data, no password (401)', method: 'GET',
        path: '/demo/api/private/data.json', init: {},
        decides: ['AuthType', 'Require'],
        trusted: { allowed: true, status: 401, why: 'the 401 carries the CORS headers: the script sees it and can ask for a login.' },
        untrusted: NOT_LISTED,
    },
    {
        key: 'login', title: 'PUT with Authorization (demo/demo)', method: 'PUT',
        path: '/demo/api/private/echo.cgi', init: { method: 'PUT', headers: { Authorization: BASIC_DEMO }, body: 'x' },
        decides: ['CorsAllowHeaders', 'Require'],
        trusted: { allowed: true, status: 200, why: 'the preflight is answered before authentication; the PUT then logs in.' },
        untrusted: PREFLIGHT_NOT_LISTED,
    },
];

const cfg = window.CORS_DEMO_CONFIG;
const $ = (sel) => document.querySelector(sel);
let policy = [];          // [{path, lines: [...]}] from demo.conf
let kind = null;          // 'trusted' | 'untrusted' | 'same'
let results = [];

function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
        if (k === 'class') e.className = v; else e.setAttribute(k, v);
    }
    for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
    return e;
}

// ${NAME} -> its value from config.js
function expand(text) {
    return text.replace(/\$\{(\w+)\}/g, (m, name) => (cfg.vars && name in cfg.vars ? cfg.vars[name] : m));
}

// The <Location> sections of demo.conf, their directive lines expanded, and
// their text as written with the comment lines just above them.
function parsePolicy(text) {
    const blocks = [];
    let cur = null;
    let comments = [];
    for (const raw of text.split('\n')) {
        const line = raw.trim();
        let m;
        if ((m = line.match(/^<Location\s+"?([^">]+)"?\s*>$/))) {
            cur = { path: m[1], lines: [], text: [...comments, raw] };
            blocks.push(cur);
        } else if (cur && /^<\/Location>/.test(line)) {
            cur.text.push(raw);
            cur = null;
        } else if (cur) {
            cur.text.push(raw);
            if (line && !line.startsWith('#')) cur.lines.push(expand(line.replace(/\s+/g, ' ')));
        }
        comments = line.startsWith('#') ? [...comments, raw] : [];
    }
    return blocks;
}

// For each directive, the lines of the most specific section that sets it
// (a section that sets a directive replaces what it inherits).
function deciding(path, names) {
    const blocks = policy.filter((b) => path.startsWith(b.path))
        .sort((a, b) => b.path.length - a.path.length);
    const out = [];
    for (const name of names) {
        for (const b of blocks) {
            const lines = b.lines.filter((l) => l.split(' ')[0] === name);
            if (lines.length) {
                for (const l of lines) out.push({ where: b.path, line: l });
                break;
            }
        }
    }
    return out;
}

function trustedOrigins() {
    const lines = deciding('/demo/api/', ['CorsAllowOrigin']);
    return lines.flatMap((l) => l.line.split(' ').slice(1));
}

function describe(row) {
    const parts = [row.method, row.path];
    const h = row.init.headers ? Object.keys(row.init.headers) : [];
    const extra = [];
    if (h.length) extra.push('headers: ' + h.join(', '));
    if (row.init.credentials) extra.push("credentials: '" + row.init.credentials + "'");
    if (row.init.body) extra.push('body');
    return [parts.join(' '), extra.join(' · ')];
}

async function runRow(row) {
    const url = cfg.api + row.path + '?row=' + row.key;
    const r = { key: row.key, url, method: row.method };
    try {
        // cache: 'no-store' keeps the browser's HTTP cache out of the demo: a
        // response stored for one origin is revalidated (304) for the other,
        // and the browser then reports the stored Access-Control-Allow-Origin
        // as a mismatch instead of a missing header.
        const resp = await fetch(url, { cache: 'no-store', ...row.init });
        let body = (await resp.text()).trim();
        // an HTML error page: its title says enough
        const title = body.match(/<title>([^<]*)<\/title>/i);
        if (title) body = `${title[1]} (HTML page)`;
        r.actual = { outcome: 'allowed', status: resp.status, body: body.slice(0, 80) };
        if (row.read) {
            r.actual.headers = Object.fromEntries(row.read.map((h) => [h, resp.headers.get(h)]));
        }
    } catch (e) {
        r.actual = { outcome: 'blocked', error: `${e.name}: ${e.message}` };
    }
    return r;
}

function renderRow(i, row, exp, res) {
    const [req, extra] = describe(row);
    const pol = el('td', { class: 'policy' });
    let where = null;
    for (const d of deciding(row.path, exp.decides || row.decides)) {
        if (d.where !== where) {
            where = d.where;
            pol.append(el('span', { class: 'where' }, `<Location "${where}">`));
        }
        pol.append(el('code', {}, d.line));
    }
    const expCell = el('td', { class: exp.allowed ? 'allowed' : 'blocked' },
        el('span', { class: 'verdict' }, exp.allowed ? `allowed · ${exp.status}` : 'blocked'),
        exp.reason ? el('div', { class: 'reason' }, exp.reason) : '',
        el('div', { class: 'why' }, exp.why));
    const a = res.actual;
    let detail = '';
    if (a.outcome === 'allowed') {
        detail = a.headers
            ? Object.entries(a.headers).map(([k, v]) => `${k}: ${v === null ? 'null (hidden)' : v}`).join(' · ')
            : a.body;
    }
    const actCell = el('td', { class: a.outcome },
        el('span', { class: 'verdict' }, a.outcome === 'allowed' ? `allowed · ${a.status}` : 'blocked'),
        el('div', { class: 'detail' }, a.outcome === 'allowed' ? detail : a.error));
    const ok = res.match;
    return el('tr', { 'data-key': row.key },
        el('td', { class: 'n' }, i + 1),
        el('td', {}, el('div', { class: 'title' }, row.title), el('div', { class: 'req' }, req),
            extra ? el('div', { class: 'req' }, extra) : ''),
        pol, expCell, actCell,
        el('td', { class: 'ok ' + (ok ? 'yes' : 'no'), title: ok ? 'as expected' : 'NOT as expected' },
            ok ? '✓' : '✗'));
}

async function runAll() {
    document.body.dataset.state = 'running';
    $('#run').disabled = true;
    const tbody = $('#results tbody');
    tbody.replaceChildren();
    results = [];
    for (const [i, row] of ROWS.entries()) {
        const exp = row[kind];
        const res = await runRow(row);
        res.expected = exp.allowed ? 'allowed' : 'blocked';
        res.expectedStatus = exp.allowed ? exp.status : null;
        res.expectedReason = exp.allowed ? null : exp.reason;
        res.match = res.actual.outcome === res.expected
            && (!exp.allowed || res.actual.status === exp.status);
        results.push(res);
        tbody.append(renderRow(i, row, exp, res));
    }
    const good = results.filter((r) => r.match).length;
    const allowed = results.filter((r) => r.actual.outcome === 'allowed').length;
    $('#summary').textContent = `${allowed} allowed, ${results.length - allowed} blocked by the browser; `
        + `${good} of ${results.length} as the policy says.`;
    $('#run').disabled = false;
    document.body.dataset.state = 'done';
}

async function main() {
    if (!cfg) {
        $('#whoami').textContent = 'config.js is missing: start the demo with "make run".';
        return;
    }
    $('#api-origin').textContent = cfg.api;
    const resp = await fetch('demo.conf');
    policy = parsePolicy(await resp.text());
    $('#policy-text').textContent = policy.filter((b) => b.path.startsWith('/demo/api/'))
        .map((b) => b.text.join('\n')).join('\n\n');
    $('#policy-vars').textContent = Object.entries(cfg.vars || {})
        .map(([k, v]) => `\${${k}} is ${v}`).join(', ');
    const here = location.origin;
    const trusted = trustedOrigins();
    kind = here === cfg.api ? 'same' : trusted.includes(here) ? 'trusted' : 'untrusted';
    const who = $('#whoami');
    who.replaceChildren('This page: ', el('code', {}, here), ' — ',
        kind === 'trusted' ? el('span', { class: 'tag trusted' }, 'trusted: listed in CorsAllowOrigin')
            : kind === 'untrusted' ? el('span', { class: 'tag untrusted' }, 'untrusted: not listed')
                : el('span', { class: 'tag same' }, 'the API\'s own origin'));
    const sw = $('#switch');
    if (kind === 'same') {
        sw.replaceChildren('This page is on the API\'s own origin, where every request is same-origin '
            + 'and CORS does not apply. Open it on ', el('a', { href: cfg.pages.trusted }, cfg.pages.trusted),
            ' (trusted) or ', el('a', { href: cfg.pages.untrusted }, cfg.pages.untrusted), ' (untrusted).');
        document.body.dataset.state = 'done';
        return;
    }
    const other = kind === 'trusted' ? 'untrusted' : 'trusted';
    sw.replaceChildren('The same page on the ' + other + ' origin: ',
        el('a', { href: cfg.pages[other] }, cfg.pages[other]));
    $('#run').addEventListener('click', runAll);
    await runAll();
}

window.corsDemo = { results: () => results, kind: () => kind };
main().catch((e) => {
    $('#whoami').textContent = 'demo failed: ' + e;
    document.body.dataset.state = 'error';
});
