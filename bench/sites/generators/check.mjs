// check.mjs CDNCTL SITES FP RES FIXTURE...: for each fixture, serves the
// original build (SITES/FIXTURE) and the fingerprinted one (FP/FIXTURE), each
// through `cdnctl serve` (edge PoP → shield → folder origin), and runs the
// same scenarios in headless Chromium on both: every page, then the
// client-side navigations and lazy loads listed below. It compares the two
// runs step by step — failed requests, console errors, uncaught exceptions,
// broken images, the pixels of a screenshot, whether the navigation stayed
// on the client and loaded its lazy chunk, the service worker's state — and
// loads every page again in a fresh browser context (edge cache hits) and
// reloads it in the same one (browser cache). Writes RES/FIXTURE.json and
// the differing screenshots under RES/shots/, and prints one Markdown table
// row per fixture. Exit status 1 when any fixture differs.
//
// No request interception: it would make Chromium send no-cache and bypass
// both caches.
import puppeteer from 'puppeteer-core';
import { PNG } from 'pngjs';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import readline from 'node:readline';

// Per fixture: pages [path, selector that shows the page rendered], and
// steps: from a page, click an element and/or type into one, wait for a selector;
// spa: the navigation must stay on the client (same window); lazy: a
// request that must succeed during the step (the lazy chunk or data).
const FIXTURES = {
  'vite-vue': {
    pages: [['/', '#page-home']],
    steps: [
      { name: 'router link to a lazy route', from: '/', click: '#nav-about', wait: '#page-about', spa: true, lazy: /\/assets\/About-[^/]*\.js$/ },
      { name: 'router link to a lazy route with CSS', from: '/', click: '#nav-gallery', wait: '#page-gallery', spa: true, lazy: /\/assets\/Gallery-[^/]*\.css$/ },
    ],
  },
  next: {
    pages: [['/', '#page-home'], ['/about/', '#lazy-panel'], ['/blog/hello/', '#page-hello'], ['/blog/world/', '#page-world']],
    steps: [
      { name: 'next/link to a next/dynamic page', from: '/', click: '#nav-about', wait: '#lazy-panel', spa: true, lazy: /\/_next\/static\/chunks\/[^/]*\.js$/ },
      { name: 'next/link to a dynamic route', from: '/about/', click: '#nav-world', wait: '#page-world', spa: true, lazy: /\/blog\/world\/.*\.txt/ },
    ],
  },
  vitepress: {
    pages: [['/', '.VPHero'], ['/guide/', '#introduction'], ['/guide/getting-started.html', '#getting-started'],
      ['/guide/configuration.html', '#configuration'], ['/guide/deploying.html', '#deploying']],
    steps: [
      { name: 'sidebar link (page chunk from __VP_HASH_MAP__)', from: '/guide/', click: '.VPSidebar a[href="/guide/configuration.html"]', wait: '#configuration', spa: true, lazy: /\/assets\/guide_configuration\.md\.[^/]*\.js$/ },
      { name: 'local search (lazy search box and index)', from: '/guide/', click: '.VPNavBarSearch button', wait: '.VPLocalSearchBox input', spa: true, lazy: /@localSearchIndexroot/ },
    ],
  },
  starlight: {
    pages: [['/', 'h1[data-page-title]'], ['/guides/example/', 'h1#_top'], ['/guides/second/', 'h1#_top'], ['/reference/example/', 'h1#_top']],
    steps: [
      { name: 'Pagefind search (entry, meta, WebAssembly, index and fragments by computed URLs)', from: '/guides/example/',
        click: 'site-search button[data-open-modal]:not([disabled])', type: ['#starlight__search input', 'lighthouse'],
        wait: '.pagefind-ui__result-link', spa: true, lazy: /\/pagefind\/fragment\/[^/]*\.pf_fragment$/ },
      { name: 'sidebar link', from: '/guides/example/', click: 'nav.sidebar a[href="/guides/second/"]', wait: 'h1#_top', spa: false },
    ],
  },
  hugo: {
    pages: [['/', '#page-home'], ['/about/', 'article h1'], ['/posts/', 'main h1'], ['/posts/first/', 'article h1'],
      ['/posts/second/', 'article h1'], ['/offline/', 'article h1']],
    sw: true,
    steps: [
      { name: 'link to a page', from: '/', click: '#nav-about', wait: 'article h1', spa: false },
    ],
  },
  astro: {
    pages: [['/', '#page-home'], ['/about/', '#page-about'], ['/blog/one/', '#page-one'], ['/blog/two/', '#page-two']],
    steps: [
      { name: 'ClientRouter link', from: '/', click: '#nav-about', wait: '#page-about', spa: true, lazy: /\/_astro\/about\.[^/]*\.css$/ },
      { name: 'lazy chunk with CSS, public JSON and image', from: '/', click: '#load-chart', wait: '#chart-ready', spa: true, lazy: /\/banner\.[^/]*png$/ },
    ],
  },
  sveltekit: {
    pages: [['/', '#page-home'], ['/about/', '#page-about'], ['/blog/first/', '#page-first'], ['/blog/second/', '#page-second']],
    steps: [
      { name: 'link to a route with server data', from: '/', click: '#nav-first', wait: '#page-first', spa: true, lazy: /\/blog\/first\/__data\.json/ },
      { name: 'link to a route with its own CSS', from: '/', click: '#nav-about', wait: '#page-about', spa: true, lazy: /\/_app\/immutable\/assets\/3\.[^/]*\.css$/ },
    ],
  },
  docusaurus: {
    pages: [['/', '#page-home'], ['/docs/intro', '#page-intro'], ['/docs/guide', '#page-guide'], ['/docs/reference', '#page-reference']],
    steps: [
      { name: 'Link to a doc (route chunk from the webpack runtime)', from: '/', click: '#nav-intro', wait: '#page-intro', spa: true, lazy: /\/assets\/js\/[^/]*\.js$/ },
      { name: 'sidebar link', from: '/docs/intro', click: '.menu a[href="/docs/guide"]', wait: '#page-guide', spa: true, lazy: /\/assets\/js\/[^/]*\.js$/ },
      { name: 'React.lazy component', from: '/', click: '#load-lazy', wait: '#lazy-ready', spa: true, lazy: /\/assets\/js\/[^/]*\.js$/ },
    ],
  },
  angular: {
    // Angular's service worker (ngsw-worker.js) checks the SHA-1 of every
    // file ngsw.json lists: its state and the prefetched files are compared.
    pages: [['/', 'app-home h1']],
    sw: 'ngsw',
    steps: [
      { name: 'routerLink to a lazy route (loadComponent)', from: '/', click: '#nav-about', wait: '#about-text', spa: true, lazy: /\/chunk-[A-Z0-9]{8}\.js$/ },
    ],
  },
  jekyll: {
    pages: [['/', '#page-home'], ['/about/', '#page-about'], ['/2025/12/01/hello.html', '#page-hello'], ['/2025/12/02/second.html', '#page-second']],
    steps: [
      { name: 'a script shows a photo named only by its string', from: '/', wait: '#photo-slot img', spa: true, lazy: /\/assets\/images\/photo\.[^/]*png$/ },
      { name: 'link to a post', from: '/2025/12/02/second.html', click: '#page-second a', wait: '#page-hello', spa: false },
    ],
  },
  gatsby: {
    pages: [['/', '#page-home'], ['/about/', '#page-about']],
    steps: [
      { name: 'gatsby Link (page-data and the page component chunk)', from: '/', click: '#nav-about', wait: '#page-about', spa: true, lazy: /\/page-data\/about\/page-data\.json$/ },
      { name: 'React.lazy component', from: '/', click: '#load-lazy', wait: '#lazy-ready', spa: true, lazy: /\/[0-9]+-[0-9a-f]{20}\.js$/ },
    ],
  },
  eleventy: {
    pages: [['/', 'main h1'], ['/posts/alpha/', 'main h1'], ['/posts/beta/', 'main h1']],
    steps: [
      { name: 'search (fetches search.json, shows thumbnails)', from: '/', type: ['#q', 'a'], wait: '#results img', spa: true, lazy: /\/search\.json$/ },
    ],
  },
};

const [cdnctl, sitesDir, fpDir, resDir, ...names] = process.argv.slice(2);
const VIEWPORT = { width: 1024, height: 768 };
fs.mkdirSync(`${resDir}/shots`, { recursive: true });

async function serve(dir) {
  const srv = spawn(cdnctl, ['serve', '--origin', dir, '--free-ports', '--json', '--no-dns', '--access-log=false', '--log-level', 'warn', '--stop-after', '600s'],
    { stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await new Promise((res, rej) => {
    readline.createInterface({ input: srv.stdout }).once('line', res);
    srv.once('exit', c => rej(new Error(`cdnctl serve --origin ${dir} exited with ${c}`)));
  });
  const edge = JSON.parse(line).pops.find(p => p.role === 'edge').url.replace(/\/$/, '');
  return { srv, edge };
}

// Names as the original build has them: a fingerprint cdnctl added
// (".0123456789.") removed, and no query (Next's _rsc).
const norm = u => u.replace(/\.[0-9a-f]{10}\./g, '.').replace(/\?.*$/, '');

function watch(page, edge) {
  const r = { requests: [], failed: [], console: [], exceptions: [] };
  page.on('console', m => { if (m.type() === 'error') r.console.push(m.text().replace(/https?:\/\/127[^ ]*?:\d+/g, '') + ' @ ' + norm((m.location()?.url || '').replace(edge, ''))); });
  page.on('pageerror', e => r.exceptions.push(String(e.message || e).split('\n')[0]));
  page.on('requestfailed', q => r.failed.push((q.url().startsWith(edge) ? q.url().slice(edge.length) : 'EXTERNAL ' + q.url().slice(0, 60)) + ' ' + q.failure()?.errorText));
  page.on('response', s => {
    const u = s.url();
    if (!u.startsWith(edge)) return;
    const h = s.headers();
    r.requests.push({ url: u.slice(edge.length), status: s.status(), cc: h['cache-control'] || '', cs: h['cache-status'] || '', fromCache: s.fromCache(), sw: s.fromServiceWorker() });
    if (s.status() >= 400) r.failed.push(u.slice(edge.length) + ' ' + s.status());
  });
  return r;
}

async function settle(page, r, sel) {
  try { await page.waitForSelector(sel, { timeout: 10000 }); r.rendered = true; } catch { r.rendered = false; }
  try { await page.waitForNetworkIdle({ idleTime: 300, timeout: 10000 }); } catch { /* a long poll is not a failure */ }
  await page.evaluate(() => document.fonts.ready.then(() => true));
  r.brokenImages = await page.evaluate(() => [...document.images].filter(i => i.complete && i.naturalWidth === 0).map(i => i.getAttribute('src')));
  // A blinking caret in a focused input is not a difference.
  await page.addStyleTag({ content: '*{caret-color:transparent !important}' });
  r.shot = await page.screenshot({ fullPage: true });
}

// ngswState waits for Angular's service worker to control the page and
// to initialise the app's version (it fetches every file of the prefetch
// group and checks its SHA-1 against ngsw.json's hashTable; a mismatch
// degrades the driver), and returns its driver state from /ngsw/state with
// how many of the group's files it cached.
async function ngswState(page) {
  try {
    return await page.evaluate(async () => {
      const sleep = ms => new Promise(r => setTimeout(r, ms));
      const t0 = Date.now();
      // registerWhenStable:30000, then clients.claim() on activation.
      while (!navigator.serviceWorker.controller && Date.now() - t0 < 35000) await sleep(200);
      if (!navigator.serviceWorker.controller) return 'no service worker';
      const m = await (await fetch('/ngsw.json?ngsw-bypass=1', { cache: 'no-store' })).json();
      const app = m.assetGroups.find(g => g.installMode === 'prefetch');
      let state = '?', cached = 0;
      while (Date.now() - t0 < 45000) {
        // A request through the worker makes it initialise the version.
        await fetch('/index.html').catch(() => {});
        const txt = await (await fetch('/ngsw/state')).text();
        state = (/Driver state: (\S+)/.exec(txt) || [])[1] || '?';
        cached = 0;
        for (const k of (await caches.keys()).filter(k => k.endsWith(':assets:' + app.name + ':cache'))) {
          cached = Math.max(cached, (await (await caches.open(k)).keys()).length);
        }
        if (state !== 'NORMAL' || cached === app.urls.length) break;
        await sleep(500);
      }
      return `${state}, ${cached}/${app.urls.length} prefetched`;
    });
  } catch (e) {
    return 'error: ' + e.message.split('\n')[0];
  }
}

async function newPage(ctx) {
  const page = await ctx.newPage();
  await page.setViewport(VIEWPORT);
  await page.emulateMediaFeatures([{ name: 'prefers-reduced-motion', value: 'reduce' }]);
  return page;
}

async function runSite(browser, edge, fx) {
  const out = { pages: [], steps: [], cache: [] };
  for (const [path, sel] of fx.pages) {
    const ctx = await browser.createBrowserContext();
    const page = await newPage(ctx);
    const r = watch(page, edge);
    r.name = path;
    try { await page.goto(edge + path, { waitUntil: 'load', timeout: 30000 }); } catch (e) { r.exceptions.push('goto: ' + e.message); }
    await settle(page, r, sel);
    if (fx.sw === 'ngsw') {
      r.sw = await ngswState(page);
    } else if (fx.sw) {
      try { await page.waitForSelector('html[data-sw]', { timeout: 10000 }); } catch { /* recorded below */ }
      r.sw = await page.evaluate(() => document.documentElement.dataset.sw || 'none');
    }
    out.pages.push(r);
    // A second, fresh context: the edge should answer from its cache.
    const ctx2 = await browser.createBrowserContext();
    const page2 = await newPage(ctx2);
    const r2 = watch(page2, edge);
    try { await page2.goto(edge + path, { waitUntil: 'load', timeout: 30000 }); } catch { /* counted as misses */ }
    await settle(page2, r2, sel);
    const edgeHits = r2.requests.filter(q => /;\s*hit/.test(q.cs)).length;
    // Reload in that context: the browser's own cache.
    const before = r2.requests.length;
    try { await page2.reload({ waitUntil: 'load', timeout: 30000 }); } catch { /* counted */ }
    await settle(page2, r2, sel);
    const reload = r2.requests.slice(before);
    out.cache.push({
      page: path, edgeHits, edgeRequests: before,
      reloadRequests: reload.length, browserCached: reload.filter(q => q.fromCache).length,
      notModified: reload.filter(q => q.status === 304).length,
      immutable: r2.requests.filter(q => /immutable/.test(q.cc)).length,
    });
    await ctx2.close();
    await ctx.close();
  }
  for (const st of fx.steps) {
    const ctx = await browser.createBrowserContext();
    const page = await newPage(ctx);
    const r = watch(page, edge);
    r.name = st.name;
    try { await page.goto(edge + st.from, { waitUntil: 'load', timeout: 30000 }); } catch (e) { r.exceptions.push('goto: ' + e.message); }
    try { await page.waitForNetworkIdle({ idleTime: 300, timeout: 10000 }); } catch { /* see rendered */ }
    await page.evaluate(() => { window.__cdnctlMarker = 1; });
    try {
      if (st.click) {
        await page.waitForSelector(st.click, { timeout: 10000 });
        await page.click(st.click);
      }
      if (st.type) {
        await page.waitForSelector(st.type[0], { visible: true, timeout: 10000 });
        await page.type(st.type[0], st.type[1]);
      }
    } catch (e) { r.exceptions.push('action: ' + e.message.split('\n')[0]); }
    await settle(page, r, st.wait);
    r.spa = await page.evaluate(() => window.__cdnctlMarker === 1);
    // The lazy file may have been prefetched before the click (next/link
    // prefetches the links in view): any request of the step counts.
    r.lazy = st.lazy ? r.requests.filter(q => st.lazy.test(q.url) && q.status < 400).map(q => q.url) : [];
    r.wantSpa = st.spa;
    r.wantLazy = !!st.lazy;
    out.steps.push(r);
    await ctx.close();
  }
  return out;
}

function pixelDiff(a, b) {
  const x = PNG.sync.read(a), y = PNG.sync.read(b);
  if (x.width !== y.width || x.height !== y.height) return { diff: Math.max(x.width * x.height, y.width * y.height), size: `${x.width}x${x.height} vs ${y.width}x${y.height}` };
  let diff = 0;
  for (let i = 0; i < x.data.length; i += 4) {
    if (x.data[i] !== y.data[i] || x.data[i + 1] !== y.data[i + 1] || x.data[i + 2] !== y.data[i + 2] || x.data[i + 3] !== y.data[i + 3]) diff++;
  }
  return { diff };
}

const browser = await puppeteer.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--font-render-hinting=none', '--force-color-profile=srgb'],
});
const rows = [];
let status = 0;
for (const name of names) {
  const fx = FIXTURES[name];
  if (!fx) { console.error(`no scenario for ${name}`); status = 1; continue; }
  const runs = {};
  for (const [variant, dir] of [['base', `${sitesDir}/${name}`], ['fp', `${fpDir}/${name}`]]) {
    const { srv, edge } = await serve(dir);
    try { runs[variant] = await runSite(browser, edge, fx); } finally { srv.kill('SIGTERM'); }
  }
  const { base, fp } = runs;
  const problems = [];
  let pixels = 0, newFailed = 0, newConsole = 0, failedFp = 0, failedBase = 0;
  const compare = (kind, b, f) => {
    const nb = new Set(b.failed.map(norm)), cb = new Set(b.console), eb = new Set(b.exceptions);
    const nf = f.failed.filter(v => !nb.has(norm(v))), nc = f.console.filter(v => !cb.has(v)), ne = f.exceptions.filter(v => !eb.has(v));
    failedFp += f.failed.length;
    failedBase += b.failed.length;
    newFailed += nf.length;
    newConsole += nc.length + ne.length;
    for (const v of nf) problems.push(`${kind} ${f.name}: failed ${v}`);
    for (const v of nc) problems.push(`${kind} ${f.name}: console ${v.slice(0, 200)}`);
    for (const v of ne) problems.push(`${kind} ${f.name}: exception ${v.slice(0, 200)}`);
    if (!b.rendered) problems.push(`${kind} ${f.name}: the ORIGINAL did not render (scenario broken?)`);
    if (b.rendered && !f.rendered) problems.push(`${kind} ${f.name}: not rendered`);
    const bi = f.brokenImages.filter(v => !b.brokenImages.includes(v));
    if (bi.length) problems.push(`${kind} ${f.name}: broken images ${bi.join(' ')}`);
    const d = pixelDiff(b.shot, f.shot);
    pixels += d.diff;
    if (d.diff) {
      const file = `${name}-${kind}-${f.name.replace(/[^a-z0-9]+/gi, '_')}`;
      fs.writeFileSync(`${resDir}/shots/${file}.base.png`, b.shot);
      fs.writeFileSync(`${resDir}/shots/${file}.fp.png`, f.shot);
      problems.push(`${kind} ${f.name}: ${d.diff} pixels differ${d.size ? ' (' + d.size + ')' : ''} (${resDir}/shots/${file}.*.png)`);
    }
    if (b.sw !== f.sw) problems.push(`${kind} ${f.name}: service worker ${b.sw} → ${f.sw}`);
  };
  base.pages.forEach((b, i) => compare('page', b, fp.pages[i]));
  let navOK = 0;
  base.steps.forEach((b, i) => {
    const f = fp.steps[i];
    compare('step', b, f);
    if (b.wantSpa && !b.spa) problems.push(`step ${b.name}: the ORIGINAL left the page (scenario broken?)`);
    if (b.wantLazy && !b.lazy.length) problems.push(`step ${b.name}: the ORIGINAL loaded no lazy file (scenario broken?)`);
    const ok = f.rendered && f.spa === b.spa && (!f.wantLazy || f.lazy.length > 0);
    if (f.spa !== b.spa) problems.push(`step ${f.name}: ${b.spa ? 'a full page load instead of client-side navigation' : 'stayed on the page'}`);
    if (f.wantLazy && !f.lazy.length) problems.push(`step ${f.name}: the lazy file was not loaded`);
    if (ok) navOK++;
  });
  const sw = fx.sw ? `${base.pages[0].sw} → ${fp.pages[0].sw}` : '–';
  const sum = (c, k) => c.reduce((a, x) => a + x[k], 0);
  const edge = `${sum(fp.cache, 'edgeHits')}/${sum(fp.cache, 'edgeRequests')}`;
  const reload = `${sum(fp.cache, 'browserCached')} cached + ${sum(fp.cache, 'notModified')} 304 / ${sum(fp.cache, 'reloadRequests')}`;
  const verdict = problems.length ? 'DIFFERS' : 'same';
  if (problems.length) status = 1;
  rows.push(`| ${name} | ${fx.pages.length} | ${failedBase} / ${failedFp} / ${newFailed} | ${newConsole} | ${pixels} | ${navOK}/${fx.steps.length} | ${sw} | ${edge} | ${reload} | ${verdict} |`);
  fs.writeFileSync(`${resDir}/${name}.json`, JSON.stringify({ problems, cache: { base: base.cache, fp: fp.cache },
    base: strip(base), fp: strip(fp) }, null, 1));
  for (const p of problems.slice(0, 30)) console.error(`${name}: ${p}`);
  if (problems.length > 30) console.error(`${name}: … ${problems.length - 30} more in ${resDir}/${name}.json`);
}
await browser.close();

function strip(run) {
  const s = r => ({ ...r, shot: undefined });
  return { pages: run.pages.map(s), steps: run.steps.map(s) };
}

console.log('| fixture | pages | failed requests: original / fingerprinted / new | new console errors | differing pixels | navigations OK | service worker | edge hits, 2nd load | reload: browser cache |  |');
console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
for (const r of rows) console.log(r);
process.exit(status);
