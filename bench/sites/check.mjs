// check.mjs CDNCTL ORIGIN_DIR SITE: serves ORIGIN_DIR with `cdnctl serve`,
// loads SITE's pages in headless Chromium twice (two fresh browser
// contexts: the second load shows the edge's cache hits) and prints, per
// page, failed requests, console errors, uncaught exceptions, whether the
// main content rendered (a selector, and a web font when given) and each
// response's status, Cache-Control, Content-Type and Cache-Status.
import puppeteer from 'puppeteer-core';
import { spawn } from 'node:child_process';
import readline from 'node:readline';

const SITES = {
  reveal: [['index.html', '.reveal.ready .slides section'], ['demo.html', '.reveal.ready .slides section']],
  swagger: [['index.html', '.swagger-ui .opblock']],
  katex: [['index.html', '.katex-display .katex-html', 'KaTeX_Main']],
  'fa-bootstrap': [['index.html', 'body[data-fonts*="Font Awesome"]', 'Font Awesome 7 Free']],
  three: [['index.html', 'body[data-ok="1"] canvas']],
  hljs: [['index.html', 'body[data-ok="1"] .hljs-keyword']],
  pdfjs: [['index.html', 'body[data-ok="1"]']],
  mathjax: [['index.html', 'body[data-ok="1"] mjx-container', 'MJXTEX']],
};
const [cdnctl, dir, site] = process.argv.slice(2);
const srv = spawn(cdnctl, ['serve', '--origin', dir, '--free-ports', '--json', '--no-dns', '--access-log=false', '--stop-after', '120s'], { stdio: ['ignore', 'pipe', 'inherit'] });
const line = await new Promise((res, rej) => { readline.createInterface({ input: srv.stdout }).once('line', res); srv.once('exit', c => rej(new Error('serve exited ' + c))); });
const edge = JSON.parse(line).pops.find(p => p.role === 'edge').url;
const browser = await puppeteer.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium', headless: 'new', args: ['--no-sandbox', '--use-angle=swiftshader', '--enable-unsafe-swiftshader'] });
const out = [];
async function load(ctx, path, sel, font) {
  const page = await ctx.newPage();
  const r = { page: path, failed: [], console: [], exceptions: [], responses: [] };
  page.on('console', m => { if (m.type() === 'error') r.console.push(m.text() + ' @ ' + (m.location()?.url || '')); });
  page.on('pageerror', e => r.exceptions.push(String(e.message || e).split('\n')[0]));
  page.on('requestfailed', q => { if (q.url().startsWith(edge)) r.failed.push(q.url().slice(edge.length) + ' ' + q.failure()?.errorText); else r.failed.push('EXTERNAL ' + q.url().slice(0, 60)); });
  page.on('response', s => {
    const u = s.url(); if (!u.startsWith(edge)) return;
    const h = s.headers();
    r.responses.push({ url: u.slice(edge.length), status: s.status(), cc: h['cache-control'], ct: h['content-type'], cs: h['cache-status'] });
    if (s.status() >= 400) r.failed.push(u.slice(edge.length) + ' ' + s.status());
  });
  try { await page.goto(edge + '/' + path, { waitUntil: 'networkidle0', timeout: 30000 }); } catch (e) { r.exceptions.push('goto: ' + e.message); }
  try { await page.waitForSelector(sel, { timeout: 8000 }); r.rendered = true; } catch { r.rendered = false; }
  if (font) r.font = await page.evaluate(f => [...document.fonts].filter(x => x.family.replace(/"/g, '') === f && x.status === 'loaded').length, font);
  await page.close();
  return r;
}
for (const [path, sel, font] of SITES[site]) {
  const c1 = await browser.createBrowserContext();
  const first = await load(c1, path, sel, font);
  await c1.close();
  const c2 = await browser.createBrowserContext();
  const second = await load(c2, path, sel, font);
  await c2.close();
  out.push({ site, ...first, second: { rendered: second.rendered, failed: second.failed, statuses: second.responses.map(x => x.cs) } });
}
await browser.close();
srv.kill('SIGTERM');
console.log(JSON.stringify(out, null, 1));
