// Drive Debian's Chromium (through playwright-core) for tests/browser/test_browser.py.
//
//   node driver.mjs plan.json result.json
//
// plan.json: {executable, args, profile, timeout_ms, viewport, steps: [...]}, each step
//   {do: "goto",  url}                       open a page (e.g. one that sets a cookie)
//   {do: "fetch", id, page, url, init, repeat, read_headers}
//                                            open `page`, run fetch(url, init) in it
//                                            `repeat` times, record what the script saw
//   {do: "demo",  id, page, screenshot}      open the demo page, wait until its table
//                                            is complete, read it, take a screenshot
// result.json: {chromium, results: {id: ...}}.  For every fetch the verdict is the
// browser's own: what the script got (a Response or a TypeError), and what the
// DevTools protocol reported for each request on the wire, among them
// Network.loadingFailed's corsErrorStatus.corsError, the CORS error reason.
//
// Exits non-zero with a message on stderr when Chromium cannot be started or a
// step cannot run; a case whose fetch is blocked is a result, not an error.
import fs from 'node:fs';
import { chromium } from 'playwright-core';

const [planPath, outPath] = process.argv.slice(2);
if (!planPath || !outPath) {
    console.error('usage: node driver.mjs plan.json result.json');
    process.exit(2);
}
const plan = JSON.parse(fs.readFileSync(planPath, 'utf8'));
const timeout = plan.timeout_ms || 15000;

// Everything the DevTools protocol says about requests, by requestId.
const wire = new Map();
function entry(id) {
    if (!wire.has(id)) wire.set(id, { requestId: id });
    return wire.get(id);
}
function watch(cdp) {
    cdp.on('Network.requestWillBeSent', (e) => {
        const w = entry(e.requestId);
        // a redirect reuses the requestId: keep the hops
        if (w.url && e.redirectResponse) {
            (w.redirects = w.redirects || []).push({ url: w.url, status: e.redirectResponse.status });
        }
        Object.assign(w, { url: e.request.url, method: e.request.method, type: e.type,
                           initiator: e.initiator && e.initiator.type,
                           initiatorRequestId: e.initiator && e.initiator.requestId,
                           requestHeaders: e.request.headers });
    });
    cdp.on('Network.requestWillBeSentExtraInfo', (e) => {
        // which cookies went, and why the others did not (blockedReasons)
        Object.assign(entry(e.requestId), {
            wireRequestHeaders: e.headers,
            cookies: (e.associatedCookies || []).map((c) => ({
                name: c.cookie.name, blockedReasons: c.blockedReasons,
                exemptionReason: c.exemptionReason || null })),
        });
    });
    cdp.on('Network.responseReceived', (e) => {
        Object.assign(entry(e.requestId), { status: e.response.status, type: e.type,
                                            responseHeaders: e.response.headers });
    });
    cdp.on('Network.responseReceivedExtraInfo', (e) => {
        Object.assign(entry(e.requestId), { wireStatus: e.statusCode,
                                            wireResponseHeaders: e.headers });
    });
    cdp.on('Network.loadingFinished', (e) => { entry(e.requestId).done = 'finished'; });
    cdp.on('Network.loadingFailed', (e) => {
        Object.assign(entry(e.requestId), {
            done: 'failed', errorText: e.errorText, blockedReason: e.blockedReason || null,
            corsError: e.corsErrorStatus ? e.corsErrorStatus.corsError : null,
            corsFailedParameter: e.corsErrorStatus ? e.corsErrorStatus.failedParameter : null,
        });
    });
}

// The requests whose URL is one of urls, in the order they were first seen.
function onWire(urls) {
    return [...wire.values()].filter((w) => urls.includes(w.url)
        || (w.redirects || []).some((r) => urls.includes(r.url)));
}

// Wait until every request to urls has finished or failed (the protocol's events
// and the script's promise are not ordered against each other).
async function settle(urls) {
    const until = Date.now() + 3000;
    for (;;) {
        const seen = onWire(urls);
        if (seen.length && seen.every((w) => w.done)) return;
        if (Date.now() > until) return;
        await new Promise((r) => setTimeout(r, 20));
    }
}

// Runs in the page: the script's own view of one fetch().
async function pageFetch({ url, init, read }) {
    try {
        const r = await fetch(url, init);
        const body = await r.text();
        const headers = {};
        for (const h of read) headers[h] = r.headers.get(h);
        return { outcome: 'resolved', status: r.status, type: r.type, body: body.slice(0, 2000),
                 headers, visibleHeaders: [...r.headers.keys()] };
    } catch (e) {
        return { outcome: 'rejected', error: `${e.name}: ${e.message}` };
    }
}

async function open(page, url) {
    if (page.url() === url) return;
    const resp = await page.goto(url, { waitUntil: 'load', timeout });
    if (!resp || resp.status() !== 200) {
        throw new Error(`opening ${url}: status ${resp ? resp.status() : 'none'}`);
    }
}

async function runFetch(page, step) {
    await open(page, step.page);
    const attempts = [];
    for (let i = 0; i < (step.repeat || 1); i++) {
        const script = await page.evaluate(pageFetch,
            { url: step.url, init: step.init || {}, read: step.read_headers || [] });
        attempts.push(script);
    }
    await settle([step.url]);
    return { page: step.page, origin: new URL(step.page).origin, url: step.url,
             attempts, wire: onWire([step.url]) };
}

async function runDemo(page, step) {
    await open(page, step.page);
    await page.waitForFunction(() => ['done', 'error'].includes(document.body.dataset.state),
                               null, { timeout });
    if (await page.evaluate(() => document.body.dataset.state) === 'error') {
        throw new Error(`${step.page}: ${await page.textContent('#whoami')}`);
    }
    const rows = await page.evaluate(() => window.corsDemo.results());
    await settle(rows.map((r) => r.url));
    if (step.screenshot) await page.screenshot({ path: step.screenshot, fullPage: true });
    return { page: step.page, rows, wire: onWire(rows.map((r) => r.url)) };
}

let context;
try {
    context = await chromium.launchPersistentContext(plan.profile, {
        executablePath: plan.executable,
        headless: true,
        args: plan.args,
        viewport: plan.viewport || { width: 1280, height: 800 },
        timeout,
    });
} catch (e) {
    console.error(`driver: Chromium (${plan.executable}) did not start: ${e.message}`);
    process.exit(3);
}

const out = { chromium: context.browser() ? context.browser().version() : null, results: {} };
let failed = null;
try {
    const page = context.pages()[0] || await context.newPage();
    page.setDefaultTimeout(timeout);
    const cdp = await context.newCDPSession(page);
    watch(cdp);
    await cdp.send('Network.enable');
    const consoleLines = [];
    page.on('console', (m) => consoleLines.push(`${m.type()}: ${m.text()}`));
    page.on('pageerror', (e) => consoleLines.push(`pageerror: ${e.message}`));
    if (!out.chromium) {
        out.chromium = (await cdp.send('Browser.getVersion')).product;
    }
    for (const step of plan.steps) {
        wire.clear();       // each step sees only its own requests
        if (step.do === 'goto') {
            await open(page, step.url);
        } else if (step.do === 'fetch') {
            out.results[step.id] = await runFetch(page, step);
        } else if (step.do === 'demo') {
            out.results[step.id] = await runDemo(page, step);
        } else {
            throw new Error(`unknown step ${JSON.stringify(step)}`);
        }
    }
    out.console = consoleLines;
} catch (e) {
    failed = e;
} finally {
    await context.close().catch(() => {});
}
fs.writeFileSync(outPath, JSON.stringify(out, null, 1));
if (failed) {
    console.error(`driver: ${failed.stack || failed}`);
    process.exit(1);
}
