// browser.mjs CHROMIUM HOST POP_ADDR PROFILE_DIR: loads https://HOST:PORT/
// in headless Chromium, with HOST resolved to the PoP's address, twice
// (the second load under the service worker), then http://HOST:PORT/, and
// checks: no failed request (a request the page itself cancels after its
// response arrived, such as a fetch whose body it never reads, is listed
// apart), every network response over HTTP/2, brotli
// (Content-Encoding: br) for every file the build has a .br copy of,
// Chromium's Accept-Encoding offering br, a service worker activated and in
// control, plain HTTP answered 301 to HTTPS. The certificate is checked by
// Chromium against its NSS database ($HOME/.pki/nssdb): nothing here
// ignores certificate errors. Exit status 1 when a check fails.
import puppeteer from 'puppeteer-core';
import fs from 'node:fs';
import path from 'node:path';

const [chromium, host, pop, profile] = process.argv.slice(2);
const [popIP, port] = [pop.slice(0, pop.lastIndexOf(':')), pop.slice(pop.lastIndexOf(':') + 1)];
const origin = `https://${host}:${port}`;
const args = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  `--user-data-dir=${profile}`, `--host-resolver-rules=MAP ${host} ${popIP}`, 'about:blank',
];
const browser = await puppeteer.launch({ executablePath: chromium, ignoreDefaultArgs: true, args });

// Network responses, from the page and from the service worker (whose own
// fetches the page sees only as "from service worker").
const responses = [];
const failures = [];
const cancelledAfterResponse = [];
const acceptEncodings = { 'https:': new Set(), 'http:': new Set() }; // by the request's scheme
async function watch(session, who) {
  await session.send('Network.enable');
  const requests = new Map(); // requestId → {method, url, status}
  session.on('Network.requestWillBeSent', (e) => {
    requests.set(e.requestId, { method: e.request.method, url: e.request.url });
  });
  // The header fields as sent on the wire (Accept-Encoding is added by the
  // network stack, after requestWillBeSent).
  session.on('Network.requestWillBeSentExtraInfo', (e) => {
    const ae = e.headers['accept-encoding'] || e.headers['Accept-Encoding'];
    const q = requests.get(e.requestId);
    if (ae && q && acceptEncodings[new URL(q.url).protocol]) acceptEncodings[new URL(q.url).protocol].add(ae);
  });
  session.on('Network.responseReceived', (e) => {
    const r = e.response;
    const q = requests.get(e.requestId);
    if (q) q.status = r.status;
    if (!r.url.startsWith('http')) return;
    const h = Object.fromEntries(Object.entries(r.headers).map(([k, v]) => [k.toLowerCase(), v]));
    responses.push({ who, url: r.url, status: r.status, protocol: r.protocol, fromSW: !!r.fromServiceWorker, encoding: h['content-encoding'] || '', cacheStatus: h['cache-status'] || '' });
  });
  session.on('Network.loadingFailed', (e) => {
    const q = requests.get(e.requestId) || {};
    const what = `${who} (${phase}): ${e.type} ${q.method} ${q.url} ${e.errorText}`;
    if (e.canceled && q.status) cancelledAfterResponse.push(`${what} after its ${q.status} response`);
    else failures.push(what);
  });
}
browser.on('targetcreated', async (t) => {
  if (t.type() === 'service_worker') {
    try { await watch(await t.createCDPSession(), 'sw'); } catch (e) { failures.push('watching the service worker: ' + e.message); }
  }
});

let phase = 'first load';
const page = await browser.newPage();
await watch(await page.createCDPSession(), 'page');
page.on('response', (s) => { if (s.status() >= 400) failures.push(`page (${phase}): ${s.url()} ${s.status()}`); });
page.on('pageerror', (e) => failures.push('page error: ' + String(e.message || e).split('\n')[0]));

const checks = [];
const check = (ok, what) => { checks.push({ ok, what }); console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}`); };

let loaded = true;
try {
  await page.goto(origin + '/', { waitUntil: 'networkidle0', timeout: 30000 });
} catch (e) {
  loaded = false;
  failures.push('first load: ' + e.message);
}
phase = 'waiting for the service worker';
const sw = loaded && await page.evaluate(async () => {
  const reg = await Promise.race([navigator.serviceWorker.ready, new Promise((r) => setTimeout(() => r(null), 10000))]);
  if (!reg || !reg.active) return { state: 'none' };
  if (reg.active.state !== 'activated') await new Promise((r) => reg.active.addEventListener('statechange', r, { once: true }));
  return { state: reg.active.state, scope: reg.scope, script: reg.active.scriptURL };
});
phase = 'reload';
try {
  await page.reload({ waitUntil: 'networkidle0', timeout: 30000 });
} catch (e) {
  failures.push('second load: ' + e.message);
}
const controlled = await page.evaluate(() => !!navigator.serviceWorker.controller).catch(() => false);
const title = await page.title().catch(() => '');

// Plain HTTP: the viewer protocol policy sends the browser to HTTPS.
phase = 'plain HTTP';
const http = await browser.newPage();
await watch(await http.createCDPSession(), 'http page');
const chain = [];
http.on('response', (s) => chain.push(`${s.status()} ${s.url()}`));
let landed = '';
try {
  await http.goto(`http://${host}:${port}/about/`, { waitUntil: 'load', timeout: 30000 });
  landed = http.url();
} catch (e) {
  failures.push('http load: ' + e.message);
}
await browser.close();

// The control: the same Chromium with an empty HOME (no NSS database, so
// no local CA) refuses the certificate.
const untrustedHome = path.resolve('untrusted-home');
fs.mkdirSync(untrustedHome, { recursive: true });
const bare = await puppeteer.launch({
  executablePath: chromium, ignoreDefaultArgs: true, env: { ...process.env, HOME: untrustedHome },
  args: args.map((a) => a.startsWith('--user-data-dir=') ? `--user-data-dir=${profile}-untrusted` : a),
});
let refused = '';
try {
  await (await bare.newPage()).goto(origin + '/', { timeout: 30000 });
} catch (e) {
  refused = e.message;
}
await bare.close();

// What the build holds in brotli.
const build = path.resolve('build');
function hasBrotli(u) {
  let p = decodeURIComponent(new URL(u).pathname);
  if (p.endsWith('/')) p += 'index.html';
  return fs.existsSync(path.join(build, p + '.br'));
}
const network = responses.filter((r) => !r.fromSW && r.url.startsWith('https://'));
const edge = network.filter((r) => r.url.startsWith(origin));
const notH2 = edge.filter((r) => r.protocol !== 'h2');
const brExpected = edge.filter((r) => r.status === 200 && hasBrotli(r.url));
const brMissing = brExpected.filter((r) => r.encoding !== 'br');
const protocols = {};
for (const r of edge) protocols[r.protocol] = (protocols[r.protocol] || 0) + 1;

console.log(`page "${title}": ${edge.length} responses from the edge (${network.length - edge.length} elsewhere), ${responses.length - network.length} answered by the service worker or plain HTTP`);
console.log(`protocols: ${JSON.stringify(protocols)}; Accept-Encoding sent over https: ${[...acceptEncodings['https:']].join(' | ')}; over http: ${[...acceptEncodings['http:']].join(' | ')}`);
console.log(`brotli: ${brExpected.length - brMissing.length} of ${brExpected.length} responses whose file has a .br copy came as Content-Encoding: br`);
console.log(`service worker: ${JSON.stringify(sw)}, controls the page after reload: ${controlled}`);
console.log(`http://${host}:${port}/about/ → ${chain.slice(0, 2).join(' → ')}`);
console.log(`without the CA (empty HOME): ${refused || 'loaded'}`);
for (const f of failures) console.log('  failure: ' + f);
for (const c of cancelledAfterResponse) console.log('  cancelled by the page: ' + c);
for (const r of notH2) console.log(`  not HTTP/2: ${r.url} ${r.protocol}`);
for (const r of brMissing) console.log(`  not brotli: ${r.url} (${r.encoding || 'identity'})`);

check(loaded && failures.length === 0, `0 failed requests (${failures.length}; ${cancelledAfterResponse.length} cancelled by the page after their response)`);
check(edge.length > 0 && notH2.length === 0, `every response from the edge over HTTP/2 (${edge.length})`);
check([...acceptEncodings['https:']].length > 0 && [...acceptEncodings['https:']].every((a) => /\bbr\b/.test(a)), 'Chromium offers br over HTTPS');
check(brExpected.length > 0 && brMissing.length === 0, `brotli for every file with a .br copy (${brExpected.length})`);
check(sw && sw.state === 'activated' && controlled, 'a service worker activated and controls the page');
check(chain[0]?.startsWith('301 http://') && landed.startsWith(`https://${host}:${port}/about/`), 'plain HTTP redirected (301) to HTTPS');
check(/ERR_CERT_AUTHORITY_INVALID/.test(refused), 'without the CA in its NSS database, Chromium refuses the certificate');
process.exit(checks.every((c) => c.ok) ? 0 : 1);
