// Drive Debian's Chromium and Firefox ESR (through puppeteer-core) for
// tests/browser/test_browser.py.
//
//   node driver.mjs plan.json result.json
//
// plan.json: {engine: "chromium"|"firefox", executable, args, prefs, env, profile,
//             timeout_ms, viewport, clock_file, steps: [...]}, each step
//   {do: "goto",  url}                       open a page (e.g. one that sets a cookie)
//   {do: "fetch", id, page, url, init, repeat, read_headers, read_timing}
//                                            open `page`, run fetch(url, init) in it
//                                            `repeat` times, record what the script saw
//                                            (with read_timing, also the Resource Timing
//                                            entry's sizes: performance.getEntriesByName)
//   {do: "form",  id, page, url}             open `page`, submit a plain HTML form to url
//                                            (POST, application/x-www-form-urlencoded, no
//                                            preflight) and record the status of the page
//                                            it navigates to, as an attempt 'resolved'
//   {do: "clock", offset, settle_ms}         move the browser's clock: write `offset`
//                                            ("+3h") to clock_file, which libfaketime
//                                            in every browser process reads back
//   {do: "demo",  id, page, screenshot}      open the demo page, wait until its table
//                                            is complete, read it, take a screenshot
// result.json: {engine, browser, results: {id: ...}}.  For every fetch the verdict is
// the browser's own: what the script got (a Response or a TypeError), and what the
// browser reported for each request on the wire:
//   Chromium: the DevTools protocol's Network events, among them
//             Network.loadingFailed's corsErrorStatus.corsError, the CORS error reason;
//   Firefox:  WebDriver BiDi's network events (puppeteer's request/response/
//             requestfailed) and the console's "Cross-Origin Request Blocked: ...
//             (Reason: ...)" messages (BiDi log entries), in `console`.
//
// Exits non-zero with a message on stderr when the browser cannot be started or a
// step cannot run (exit 3: it did not start); a blocked fetch is a result, not an error.
import fs from 'node:fs';
import puppeteer from 'puppeteer-core';

const [planPath, outPath] = process.argv.slice(2);
if (!planPath || !outPath) {
    console.error('usage: node driver.mjs plan.json result.json');
    process.exit(2);
}
const plan = JSON.parse(fs.readFileSync(planPath, 'utf8'));
const timeout = plan.timeout_ms || 15000;
const firefox = plan.engine === 'firefox';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Everything the browser says about requests: Chromium's by requestId, Firefox's by
// puppeteer's request object.
const wire = new Map();
function entry(id) {
    if (!wire.has(id)) wire.set(id, { requestId: typeof id === 'string' ? id : wire.size });
    return wire.get(id);
}

function watchDevTools(cdp) {
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

// Firefox: BiDi's network events, in the shape of the DevTools entries above (type
// "Preflight" for an OPTIONS with Access-Control-Request-Method, else "Fetch").
function watchBidi(page) {
    const seen = (req) => {
        const w = entry(req);
        const headers = req.headers();
        const chain = req.redirectChain();
        Object.assign(w, {
            url: req.url(), method: req.method(), requestHeaders: headers,
            type: req.method() === 'OPTIONS' && 'access-control-request-method' in headers
                ? 'Preflight' : 'Fetch',
        });
        const hops = chain.filter((r) => r !== req);
        if (hops.length) {
            w.redirects = hops.map((r) => ({ url: r.url(),
                                             status: r.response() ? r.response().status() : null }));
        }
        return w;
    };
    page.on('request', (req) => { seen(req); });
    page.on('response', (resp) => {
        Object.assign(seen(resp.request()), { status: resp.status(),
                                              responseHeaders: resp.headers() });
    });
    page.on('requestfinished', (req) => { seen(req).done = 'finished'; });
    page.on('requestfailed', (req) => {
        const f = req.failure();
        Object.assign(seen(req), { done: 'failed', errorText: f ? f.errorText : null });
    });
}

// The requests whose URL is one of urls, in the order they were first seen; a
// redirected request counts under the URL it started from.
function onWire(urls) {
    return [...wire.values()].filter((w) => urls.includes(w.url)
        || (w.redirects || []).some((r) => urls.includes(r.url)));
}

// The console's CORS messages (Firefox's; Chromium's console says the same as
// corsError), handed to the steps at the end.
const consoleCors = [];
function consoleMessage(level, text) {
    if (!/^Cross-Origin Request/.test(text)) return;
    consoleCors.push({ level, text });
}
// The message names the URL, followed by '.', '’' or a space (status-404 is not
// status-404-denied).
function mentions(text, url) {
    const i = text.indexOf(url);
    return i >= 0 && /^($|[.\u2019\s])/.test(text.slice(i + url.length));
}
function corsMessagesFor(url) {
    return consoleCors.filter((m) => mentions(m.text, url));
}

// Wait until every request to urls has finished or failed (the protocol's events and
// the script's promise are not ordered against each other), and in Firefox until a
// blocked fetch's console message is in.
async function settle(urls, wantConsole) {
    const until = Date.now() + 3000;
    for (;;) {
        const seen = onWire(urls);
        const logged = !wantConsole || urls.some((u) => corsMessagesFor(u).length);
        if (seen.length && seen.every((w) => w.done) && logged) return;
        if (Date.now() > until) return;
        await sleep(20);
    }
}

// Runs in the page: the script's own view of one fetch().
async function pageFetch({ url, init, read, readTiming }) {
    try {
        const r = await fetch(url, init);
        const body = await r.text();
        const headers = {};
        for (const h of read) headers[h] = r.headers.get(h);
        const out = { outcome: 'resolved', status: r.status, type: r.type,
                      body: body.slice(0, 2000), headers, visibleHeaders: [...r.headers.keys()] };
        if (readTiming) {
            // the entry is queued when the response has ended: wait for it a little
            let e = null;
            for (let i = 0; i < 100 && !e; i++) {
                e = performance.getEntriesByName(url).pop() || null;
                if (!e) await new Promise((done) => setTimeout(done, 20));
            }
            out.timing = e && { transferSize: e.transferSize, encodedBodySize: e.encodedBodySize,
                                decodedBodySize: e.decodedBodySize };
        }
        return out;
    } catch (e) {
        return { outcome: 'rejected', error: `${e.name}: ${e.message}` };
    }
}

async function open(page, url) {
    if (page.url() === url) return;
    const resp = await page.goto(url, { waitUntil: 'load', timeout });
    // 304: puppeteer reports the revalidation of a page it has in its cache
    if (!resp || ![200, 304].includes(resp.status())) {
        throw new Error(`opening ${url}: status ${resp ? resp.status() : 'none'}`);
    }
}

async function runFetch(page, step) {
    await open(page, step.page);
    const attempts = [];
    for (let i = 0; i < (step.repeat || 1); i++) {
        const script = await page.evaluate(pageFetch,
            { url: step.url, init: step.init || {}, read: step.read_headers || [],
              readTiming: !!step.read_timing });
        attempts.push(script);
    }
    await settle([step.url], firefox && attempts.some((a) => a.outcome === 'rejected'));
    return { page: step.page, origin: new URL(step.page).origin, url: step.url,
             attempts, wire: onWire([step.url]) };
}

// A form the page builds and submits itself, as a page of another site would.
async function runForm(page, step) {
    await open(page, step.page);
    const nav = page.waitForNavigation({ waitUntil: 'load', timeout });
    await page.evaluate((url) => {
        const form = document.createElement('form');
        form.method = 'POST';
        form.action = url;
        const input = document.createElement('input');
        input.name = 'amount';
        input.value = '100';
        form.appendChild(input);
        document.body.appendChild(form);
        form.submit();
    }, step.url);
    const resp = await nav;
    const body = await page.evaluate(() => (document.body ? document.body.innerText : ''));
    await settle([step.url], false);
    return { page: step.page, origin: new URL(step.page).origin, url: step.url,
             attempts: [{ outcome: 'resolved', status: resp ? resp.status() : null,
                          body: body.slice(0, 2000) }],
             wire: onWire([step.url]) };
}

// libfaketime re-reads the file at most once a second in each process; the page's
// own clock shows when the renderer has it, the rest is settle_ms.
async function runClock(page, step) {
    fs.writeFileSync(plan.clock_file, `${step.offset}\n`);
    const want = parseOffset(step.offset);
    const until = Date.now() + 10000;
    let skew;
    for (;;) {
        skew = (await page.evaluate(() => Date.now())) - Date.now();
        if (Math.abs(skew - want) < 60000 || Date.now() > until) break;
        await sleep(100);
    }
    await sleep(step.settle_ms || 2500);
    return { offset: step.offset, wantSeconds: want / 1000,
             pageSkewSeconds: Math.round(skew / 1000) };
}

function parseOffset(s) {
    const m = /^([+-]?\d+)([smhd]?)$/.exec(s);
    if (!m) throw new Error(`bad clock offset ${s}`);
    return Number(m[1]) * { '': 1, s: 1, m: 60, h: 3600, d: 86400 }[m[2]] * 1000;
}

async function runDemo(page, step) {
    const from = consoleCors.length;
    await open(page, step.page);
    await page.waitForFunction(() => ['done', 'error'].includes(document.body.dataset.state),
                               { timeout });
    if (await page.evaluate(() => document.body.dataset.state) === 'error') {
        throw new Error(`${step.page}: ${await page.$eval('#whoami', (e) => e.textContent)}`);
    }
    const rows = await page.evaluate(() => window.corsDemo.results());
    await settle(rows.map((r) => r.url), false);
    if (firefox) await sleep(300);      // the last rows' console messages
    if (step.screenshot) await page.screenshot({ path: step.screenshot, fullPage: true });
    // each row's console messages (this page's: other steps fetch the same URLs)
    const mine = consoleCors.slice(from);
    const messages = Object.fromEntries(rows.map((r) => [
        r.url, mine.filter((m) => mentions(m.text, r.url)).map((m) => m.text)]));
    return { page: step.page, rows, wire: onWire(rows.map((r) => r.url)), console: messages };
}

const viewport = plan.viewport || { width: 1280, height: 800 };
let browser;
try {
    const env = { ...process.env, ...(plan.env || {}) };
    browser = await puppeteer.launch(firefox ? {
        browser: 'firefox',
        executablePath: plan.executable,
        headless: true,
        userDataDir: plan.profile,
        extraPrefsFirefox: plan.prefs || {},
        args: plan.args || [],
        defaultViewport: viewport,
        env,
        timeout,
    } : {
        browser: 'chrome',
        executablePath: plan.executable,
        headless: true,
        userDataDir: plan.profile,
        args: plan.args || [],
        defaultViewport: viewport,
        env,
        timeout,
    });
} catch (e) {
    console.error(`driver: ${plan.engine} (${plan.executable}) did not start: ${e.message}`);
    process.exit(3);
}

const out = { engine: plan.engine, browser: await browser.version(), results: {} };
let failed = null;
try {
    const page = (await browser.pages())[0] || await browser.newPage();
    page.setDefaultTimeout(timeout);
    const consoleLines = [];
    page.on('console', (m) => {
        consoleLines.push(`${m.type()}: ${m.text()}`);
        consoleMessage(m.type(), m.text());
    });
    page.on('pageerror', (e) => {
        consoleLines.push(`pageerror: ${e.message}`);
        consoleMessage('error', e.message);
    });
    if (firefox) {
        watchBidi(page);
    } else {
        const cdp = await page.createCDPSession();
        watchDevTools(cdp);
        await cdp.send('Network.enable');
    }
    for (const step of plan.steps) {
        wire.clear();       // each step sees only its own requests
        if (step.do === 'goto') {
            await open(page, step.url);
        } else if (step.do === 'fetch') {
            out.results[step.id] = await runFetch(page, step);
        } else if (step.do === 'form') {
            out.results[step.id] = await runForm(page, step);
        } else if (step.do === 'clock') {
            (out.clock = out.clock || []).push(await runClock(page, step));
        } else if (step.do === 'demo') {
            out.results[step.id] = await runDemo(page, step);
        } else {
            throw new Error(`unknown step ${JSON.stringify(step)}`);
        }
    }
    // a console message can come after its fetch settled: hand each to the latest
    // step that fetched its URL
    await sleep(firefox ? 300 : 0);
    const steps = Object.values(out.results).filter((r) => r.url);
    for (const m of consoleCors) {
        const owner = steps.filter((r) => mentions(m.text, r.url)).pop();
        if (owner) (owner.console = owner.console || []).push(m);
    }
    for (const r of steps) r.console = r.console || [];
    out.console = consoleLines;
} catch (e) {
    failed = e;
} finally {
    if (plan.clock_file) fs.writeFileSync(plan.clock_file, '+0\n');
    await browser.close().catch(() => {});
}
fs.writeFileSync(outPath, JSON.stringify(out, null, 1));
if (failed) {
    console.error(`driver: ${failed.stack || failed}`);
    process.exit(1);
}
