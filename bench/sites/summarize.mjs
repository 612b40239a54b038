// summarize.mjs SITE: compares res/SITE.base.json (original folder) with
// res/SITE.fp.json (fingerprinted output) and checks the edge's headers.
// Sets a non-zero exit code when they differ.
import fs from 'node:fs';
const s = process.argv[2];
const rd = k => { try { return JSON.parse(fs.readFileSync(`res/${s}.${k}.json`)); } catch (e) { return null; } };
const b = rd('base'), f = rd('fp');
if (!b || !f) { console.log(s, 'MISSING RESULTS', !!b, !!f); process.exit(1); }
for (let i = 0; i < b.length; i++) {
  const x = b[i], y = f[i];
  const fmt = r => `rendered=${r.rendered}${r.font !== undefined ? ' font=' + r.font : ''} failed=${r.failed.length} console=${r.console.length} exc=${r.exceptions.length} 2nd-rendered=${r.second.rendered}`;
  console.log(`${s}/${x.page}\n  base: ${fmt(x)}\n  fp:   ${fmt(y)}`);
  const strip = a => a.map(v => v.replace(/\.[0-9a-f]{10}\./g, '.').replace(/https?:\/\/127[^ ]*?:\d+/g, '').replace(/127\.0\.1\.1%3A\d+/g, ''));
  const newF = strip(y.failed).filter(v => !strip(x.failed).includes(v));
  const newC = strip(y.console).filter(v => !strip(x.console).includes(v));
  const newE = y.exceptions.filter(v => !x.exceptions.includes(v));
  if (y.rendered !== x.rendered || newF.length || newC.length || newE.length) process.exitCode = 1;
  for (const v of [...newF.map(v => 'FAILED ' + v), ...newC.map(v => 'CONSOLE ' + v), ...newE.map(v => 'EXC ' + v)]) console.log('    NEW ' + v.slice(0, 220));
  // header checks on fingerprinted
  const bad = [];
  for (const r of y.responses) {
    if (r.status >= 300) continue;
    const hashed = /\.[0-9a-f]{10}\.[^/]*$/.test(r.url.split('?')[0]);
    if (hashed && r.cc !== 'public, max-age=31536000, immutable') bad.push(`hashed ${r.url} cc=${r.cc}`);
    if (!hashed && !/max-age=0|no-cache|must-revalidate/.test(r.cc || '')) bad.push(`unhashed ${r.url} cc=${r.cc}`);
  }
  const cts = {}; for (const r of y.responses) { const ext = r.url.split('?')[0].split('.').pop(); cts[ext] = r.ct; }
  console.log('    types: ' + Object.entries(cts).map(([k, v]) => k + '=' + v).join(' | '));
  const miss = y.second.statuses.filter(c => !/pop\d; hit/.test(c || ''));
  console.log(`    2nd load: ${y.second.statuses.length - miss.length}/${y.second.statuses.length} edge hits`);
  if (bad.length) process.exitCode = 1;
  for (const v of bad.slice(0, 8)) console.log('    HDR ' + v);
}
