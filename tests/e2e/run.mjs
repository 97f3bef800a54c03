#!/usr/bin/env node
// Browser tests of the heaplab dashboard: Debian's chromium driven by
// playwright-core. Starts the built server on a free loopback port, serving
// the repository's static/ (with static/vendor/ filled by deploy/setup),
// and walks through what a student does. Screenshots go to
// tests/e2e/output/. Prints one line per test and "N passed, N failed".
//
//   node tests/e2e/run.mjs --binary build/server/heaplab [--static-dir DIR]
//          [--chromium /usr/bin/chromium] [--only substring] [--headed]
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, mkdirSync, existsSync, cpSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createServer } from 'node:net';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : def;
};
const BINARY = opt('--binary');
const STATIC = resolve(opt('--static-dir', join(here, '..', '..', 'static')));
const CHROMIUM = opt('--chromium', process.env.HEAPLAB_CHROMIUM || '/usr/bin/chromium');
const ONLY = opt('--only', null);
const OUT = join(here, 'output');
const CHROME_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

let passed = 0;
let failed = 0;
const cleanups = [];

function fatal(msg) {
  console.log(`FAIL setup: ${msg}`);
  console.log(`${passed} passed, ${failed + 1} failed`);
  process.exit(1);
}

if (!BINARY) fatal('usage: run.mjs --binary path/to/heaplab');
if (!existsSync(BINARY)) fatal(`no server binary at ${BINARY}: build first (ninja -C build)`);
if (!existsSync(CHROMIUM)) fatal(`no chromium at ${CHROMIUM}: apt-get install -y chromium (deploy/setup test does)`);
for (const f of ['cytoscape.esm.min.mjs', 'uPlot.esm.js']) {
  if (!existsSync(join(STATIC, 'vendor', f))) fatal(`${join(STATIC, 'vendor', f)} is missing: run deploy/setup test (it runs npm ci in static/ and copies the vendor files)`);
}
let chromium;
try {
  ({ chromium } = await import('playwright-core'));
} catch {
  fatal(`playwright-core is not installed: (cd ${here} && npm ci) — deploy/setup test does this`);
}

// ---------- server ----------

function freePort() {
  return new Promise((res, rej) => {
    const s = createServer();
    s.unref();
    s.on('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });
}

async function startServer(staticDir) {
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    const proc = spawn(BINARY, ['--port', String(port), '--bind', '127.0.0.1', '--static-dir', staticDir], { stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    proc.stderr.on('data', (d) => (log += d));
    const base = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + 10000;
    while (Date.now() < deadline && proc.exitCode === null) {
      try {
        const r = await fetch(base + '/');
        if (r.ok) {
          cleanups.push(() => proc.kill('SIGTERM'));
          return { base, proc, log: () => log };
        }
      } catch { /* not yet */ }
      await sleep(50);
    }
    proc.kill('SIGKILL');
  }
  throw new Error('the server did not start');
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function waitFor(what, fn, timeout = 5000, every = 25) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? ': ' + last.message : ''}`);
    await sleep(every);
  }
}

// Chromium aborts loads with net::ERR_NETWORK_CHANGED when an interface
// comes or goes (other test suites may create some meanwhile): page loads
// are retried, and those messages are not counted as page errors.
async function loadReady(p, go) {
  let last;
  for (let i = 0; i < 3; i++) {
    try {
      const res = await go();
      await p.waitForSelector('body[data-ready="1"]', { timeout: 10000 });
      return res;
    } catch (e) {
      last = e;
    }
  }
  throw last;
}

function assert(cond, msg) {
  if (!cond) throw new Error(msg);
}

// ---------- tests ----------

const tests = [];
const test = (name, fn) => tests.push({ name, fn });

const server = await startServer(STATIC).catch((e) => fatal(e.message));
const BASE = server.base;
mkdirSync(OUT, { recursive: true });
for (const f of readdirSync(OUT)) if (f.startsWith('failure-')) rmSync(join(OUT, f));
const userDataDir = mkdtempSync(join(tmpdir(), 'heaplab-chromium-'));
cleanups.push(() => rmSync(userDataDir, { recursive: true, force: true }));
const context = await chromium.launchPersistentContext(userDataDir, {
  executablePath: CHROMIUM, headless: !args.includes('--headed'), args: CHROME_ARGS, viewport: { width: 1500, height: 1000 },
}).catch((e) => fatal('chromium did not start: ' + e.message));
cleanups.unshift(() => context.close());
const page = context.pages()[0] || (await context.newPage());
const pageErrors = [];
page.on('pageerror', (e) => pageErrors.push(String(e)));
page.on('console', (m) => {
  if (m.type() === 'error') pageErrors.push(m.text());
});
const externalRequests = [];
page.on('request', (r) => {
  if (!r.url().startsWith(BASE)) externalRequests.push(r.url());
});

let heap = null; // {id, token}
const api = async (method, path, body) => {
  const r = await fetch(BASE + path, {
    method, headers: { Authorization: 'Bearer ' + heap.token, ...(body ? { 'Content-Type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await r.text();
  if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${text}`);
  return text ? JSON.parse(text) : null;
};
const H = () => `/v1/heaps/${heap.id}`;
const tab = async (name) => {
  await page.click(`#tab-${name}`);
  await page.waitForSelector(`#panel-${name}:not([hidden])`);
};
const rowIds = () => page.$$eval('#objects-table tbody tr', (rows) => rows.map((r) => Number(r.dataset.id)));
const unreachableIds = () => page.$$eval('#objects-table tbody tr.unreachable', (rows) => rows.map((r) => Number(r.dataset.id)));
async function consoleAction(formSelector, fields, button) {
  for (const [sel, value] of Object.entries(fields)) {
    const tag = await page.$eval(sel, (e) => e.tagName);
    if (tag === 'SELECT') await page.selectOption(sel, value);
    else await page.fill(sel, value);
  }
  await page.$eval('#result-status', (e) => (e.textContent = ''));
  await page.click(button || `${formSelector} button[type="submit"]`);
  await waitFor('the action to finish', async () => page.$eval('#result-status', (e) => e.textContent));
  const status = await page.$eval('#result-status', (e) => e.textContent);
  assert(status.startsWith('HTTP 2'), `${button || formSelector}: ${status}`);
  return JSON.parse(await page.$eval('#result', (e) => e.textContent) || 'null');
}

test('the page loads its modules and libraries, with no error and no outside request', async () => {
  const res = await loadReady(page, () => page.goto(BASE + '/'));
  assert(res.headers()['content-security-policy'].includes("default-src 'self'"), 'CSP header missing');
  assert(await page.$eval('#vendor-warning', (e) => e.hidden), 'vendor warning shown: ' + (await page.$eval('#vendor-warning', (e) => e.textContent)));
  assert(await page.isVisible('#create-form'), 'create form not visible');
});

test('create a heap in the UI: id and token shown once, token only in sessionStorage', async () => {
  await page.fill('#create-name', 'e2e lesson');
  await page.click('#create-form button[type="submit"]');
  await page.waitForSelector('#dash:not([hidden])');
  const id = await page.textContent('#created-id');
  const token = await page.textContent('#created-token');
  assert(/^[a-z0-9]+$/.test(id) && token.length >= 32, `id/token: ${id} ${token}`);
  heap = { id, token };
  assert(!page.url().includes(token), 'token in the URL');
  assert(page.url().includes(id), 'heap id not in the URL hash');
  const stored = await page.evaluate(() => sessionStorage.getItem('heaplab.heap'));
  assert(stored && JSON.parse(stored).token === token, 'token not in sessionStorage');
  assert((await page.textContent('#curl')).includes('/v1/heaps'), 'no curl for the create');
  await waitFor('the live event stream', async () => (await page.textContent('#live')).includes('stream open'));
  await page.click('#created-dismiss');
  assert(await page.$eval('#created', (e) => e.hidden), 'token card still shown');
});

test('the cycle lesson: build, unbind, see unreachable, collect 3, see the timeline', async () => {
  // a = []; a.append(a)
  const a = await consoleAction('#f-create', { '#c-type': 'list', '#c-name': 'a' });
  assert(a.type === 'list' && a.refcount === 1, 'create a: ' + JSON.stringify(a));
  const curl = await page.textContent('#curl');
  assert(curl.includes('-H "Authorization: Bearer $TOKEN"') && curl.includes(`${BASE}/v1/heaps/${heap.id}/objects`) && curl.includes(`'{"type":"list","name":"a"}'`), 'curl: ' + curl);
  const ref = await consoleAction('#f-ref', { '#r-from': 'a', '#r-to': 'a', '#r-slot': '' }, '#f-ref button[value="add"]');
  assert(ref.refcount === 2, 'a.append(a): ' + JSON.stringify(ref));
  // x, y = Node(), Node(); x.other = y; y.other = x — through the batch box
  await page.click('summary:has-text("Batch")');
  await page.click('#batch-example');
  const batch = await consoleAction('#f-batch', {}, '#f-batch button[type="submit"]');
  assert(batch.results.length === 4, 'batch: ' + JSON.stringify(batch));
  // something that stays alive, so the views have a survivor to show
  await consoleAction('#f-create', { '#c-type': 'str', '#c-name': 'greeting', '#c-value': 'hello' });
  await consoleAction('#f-create', { '#c-type': 'list', '#c-name': 'items', '#c-items': 'greeting' });
  await consoleAction('#f-create', { '#c-type': 'dict', '#c-name': 'keep', '#c-items': 'g=greeting, l=items' });
  await waitFor('a, x, y, greeting, items and keep in the graph', async () => (await rowIds()).length >= 6);
  await page.waitForTimeout(300);
  await page.screenshot({ path: join(OUT, 'graph-before-del.png'), fullPage: false });
  // del a, x, y
  for (const n of ['a', 'x', 'y']) await consoleAction('#f-bind', { '#b-name': n }, '#f-bind button[value="unbind"]');
  const cycle = [a.id, batch.results[0].id, batch.results[1].id];
  await waitFor('the three cycle objects marked unreachable', async () => {
    const u = await unreachableIds();
    return u.length === 3 && cycle.every((id) => u.includes(id));
  }, 3000);
  const counts = await page.textContent('#graph-counts');
  assert(counts.includes('3 unreachable'), 'counts: ' + counts);
  await page.waitForTimeout(300);
  await page.screenshot({ path: join(OUT, 'graph-unreachable.png') });
  // gc.collect()
  await consoleAction('#f-gc', { '#g-gen': '2' }, '#collect-btn');
  assert((await page.textContent('#result')).includes('"collected": 3'), 'collect result');
  await waitFor('the cycle gone from the graph', async () => (await unreachableIds()).length === 0 && !(await rowIds()).some((id) => cycle.includes(id)), 3000);
  await tab('gc');
  await waitFor('the collection on the timeline', async () =>
    page.$eval('#collections tbody tr[data-collected]', (r) => r.dataset.collected === '3' && r.dataset.generation === '2'));
  assert(await page.$('#timeline canvas'), 'no timeline plot drawn');
  const stats = await page.$eval('#gc-stats-table tr[data-generation="2"]', (r) => r.textContent);
  assert(stats.includes('3'), 'gen 2 stats: ' + stats);
  await page.waitForTimeout(200);
  await page.screenshot({ path: join(OUT, 'gc.png') });
  await tab('memory');
  await page.waitForTimeout(200);
  await page.screenshot({ path: join(OUT, 'memory.png') });
  await tab('graph');
  await page.click(`#objects-table button[data-id="${(await rowIds())[0]}"]`);
  await page.waitForSelector('#detail dl');
  await page.waitForTimeout(200);
  await page.screenshot({ path: join(OUT, 'graph.png') });
  await tab('events');
  await page.screenshot({ path: join(OUT, 'events.png') });
  await tab('graph');
});

test('the event log shows the frees and the collection', async () => {
  await tab('events');
  const text = await page.textContent('#eventlog');
  assert(/gc: collected generation 2: 3 freed/.test(text), 'no collection in the log: ' + text.slice(0, 300));
  await tab('graph');
});

test('object detail: size class, address, referrers and why it is alive', async () => {
  const names = await api('GET', H() + '/names');
  const keep = names.names.keep;
  await page.click(`#objects-table button[data-id="${keep}"]`);
  await waitFor('the detail of keep', async () => (await page.textContent('#detail')).includes(`#${keep} dict`));
  const d = await page.textContent('#detail');
  assert(d.includes('Alive because') && d.includes(`keep → #${keep}`), 'why alive: ' + d);
  assert(/0x[0-9a-f]+/.test(d) && d.includes('-byte blocks'), 'address/size class: ' + d);
});

test('a change made with plain HTTP shows in the graph and memory map within 1 s', async () => {
  await tab('memory');
  const blocksBefore = await page.$eval('#memtotals tr[data-key="allocated-blocks"] td', (e) => e.textContent);
  const t0 = Date.now();
  const created = await api('POST', H() + '/objects', { type: 'list', name: 'outside' });
  await waitFor('the new object in the graph', async () => (await rowIds()).includes(created.id), 1000, 10);
  await waitFor('the memory map to change', async () =>
    (await page.$eval('#memtotals tr[data-key="allocated-blocks"] td', (e) => e.textContent)) !== blocksBefore, 1000 - (Date.now() - t0), 10);
  const t1 = Date.now() - t0;
  assert(t1 <= 1000, `took ${t1} ms`);
  // del outside: a free event arrives over the stream
  const t2 = Date.now();
  await fetch(BASE + H() + '/names/outside', { method: 'DELETE', headers: { Authorization: 'Bearer ' + heap.token } });
  await waitFor('the object gone from the graph', async () => !(await rowIds()).includes(created.id), 1000, 10);
  const after = await api('GET', H() + '/memory');
  await waitFor('the memory map to show the free', async () =>
    (await page.$eval('#memtotals tr[data-key="allocated-blocks"] td', (e) => e.textContent)) === String(after.allocated_blocks), 1000 - (Date.now() - t2), 10);
  assert(Date.now() - t2 <= 1000, `free took ${Date.now() - t2} ms`);
  await tab('events');
  assert((await page.textContent('#eventlog')).includes(`freed #${created.id} list`), 'free event not in the log');
  await tab('graph');
  console.log(`  (create visible after ${t1} ms, free after ${Date.now() - t2} ms)`);
});

test("the memory map's figures match GET /memory", async () => {
  // a few more objects in several size classes, so there is something to compare
  await api('POST', H() + '/batch', { ops: [
    { op: 'create', type: 'str', value: 'x'.repeat(300), name: 's300' },
    { op: 'create', type: 'tuple', items: [], name: 't0' },
    { op: 'create', type: 'float', value: 1.5, name: 'f' },
    { op: 'create', type: 'bytes', size: 2000, name: 'big' },
  ] });
  // and enough floats and strs to fill pools visibly (floats: 32-byte blocks)
  const fill = [];
  for (let i = 0; i < 300; i++) fill.push({ op: 'create', type: 'float', value: i + 0.5, name: `f${i}` });
  for (let i = 0; i < 90; i++) fill.push({ op: 'create', type: 'str', value: 's'.repeat(100) + i, name: `s${i}` });
  await api('POST', H() + '/batch', { ops: fill });
  await tab('memory');
  await waitFor('the map to agree with GET /memory', async () => {
    const m = await api('GET', H() + '/memory?map=1');
    const seen = await page.evaluate(() => {
      const pools = [...document.querySelectorAll('#memmap g.pool')].map((g) => [Number(g.dataset.sizeClass), Number(g.dataset.used), Number(g.dataset.capacity)]);
      const bars = Object.fromEntries([...document.querySelectorAll('#classbars .bar-row')].map((r) => [r.dataset.sizeClass, [Number(r.dataset.pools), Number(r.dataset.used), Number(r.dataset.free)]]));
      const totals = Object.fromEntries([...document.querySelectorAll('#memtotals tr')].map((r) => [r.dataset.key, r.querySelector('td').textContent]));
      return { arenas: document.querySelectorAll('#memmap g.arena').length, pools, bars, totals };
    });
    const want = m.arena_map.flatMap((a) => a.pools);
    const problems = [];
    if (seen.arenas !== m.arenas.in_use) problems.push(`arenas ${seen.arenas} vs ${m.arenas.in_use}`);
    if (JSON.stringify(seen.pools) !== JSON.stringify(want)) problems.push('pool cells differ');
    if (seen.pools.filter((p) => p[0] >= 0).length !== m.pools.in_use) problems.push('pools in use');
    // allocated_blocks counts pool blocks and large (malloc'd) objects
    if (seen.pools.reduce((s, p) => s + (p[0] >= 0 ? p[1] : 0), 0) + m.large.count !== m.allocated_blocks) problems.push('used blocks');
    for (const c of m.size_classes) {
      const b = seen.bars[c.index];
      if (!b || b[0] !== c.pools || b[1] !== c.used_blocks || b[2] !== c.free_blocks) problems.push(`class ${c.index} bar`);
    }
    if (Object.keys(seen.bars).length !== m.size_classes.length) problems.push('bar count');
    if (seen.totals['allocated-blocks'] !== String(m.allocated_blocks)) problems.push('allocated blocks total');
    if (!seen.totals['bytes-in-use'].startsWith(String(m.bytes_in_use) + ' ')) problems.push('bytes in use');
    if (seen.totals['pools-in-use'] !== String(m.pools.in_use)) problems.push('pools total');
    if (!seen.totals.large.startsWith(String(m.large.count) + ' ')) problems.push('large');
    if (problems.length) throw new Error(problems.join('; '));
    return m.size_classes.length >= 3;
  }, 4000, 100);
  const title = await page.$eval('#memmap g.pool[data-used]:not([data-size-class="-1"]) title', (t) => t.textContent);
  assert(/size class \d+ \(\d+-byte blocks\), \d+ of \d+ blocks used/.test(title), 'hover text: ' + title);
  await page.screenshot({ path: join(OUT, 'memory.png') });
  await tab('graph');
});

test('the replay slider steps back to the unreachable cycle', async () => {
  await tab('events');
  const seqs = await page.$$eval('#eventlog li[data-kind="collect"]', (l) => l.map((e) => Number(e.dataset.seq)));
  assert(seqs.length, 'no collect event');
  const before = seqs[seqs.length - 1] - 1;
  await page.$eval('#replay', (s, v) => {
    s.value = v;
    s.dispatchEvent(new Event('input', { bubbles: true }));
  }, before);
  await page.waitForSelector('#replay-banner:not([hidden])');
  assert((await page.textContent('#replay-out')).includes(`after event ${before}`), 'slider output');
  await tab('graph');
  await waitFor('the cycle back in the replayed graph', async () => (await unreachableIds()).length === 3);
  await page.screenshot({ path: join(OUT, 'replay.png') });
  await page.click('#replay-live');
  await waitFor('live again', async () => (await unreachableIds()).length === 0 && (await page.$eval('#replay-banner', (e) => e.hidden)));
});

test('keyboard: arrow keys move between the view tabs', async () => {
  await page.focus('#tab-graph');
  await page.keyboard.press('ArrowRight');
  assert(await page.isVisible('#panel-memory'), 'memory panel not shown');
  assert((await page.evaluate(() => document.activeElement.id)) === 'tab-memory', 'focus did not move');
  await page.keyboard.press('End');
  assert(await page.isVisible('#panel-events'), 'events panel not shown');
  await page.keyboard.press('Home');
  assert(await page.isVisible('#panel-graph'), 'graph panel not shown');
});

test('reload keeps the heap open from sessionStorage (token never in the URL)', async () => {
  await loadReady(page, () => page.reload());
  await page.waitForSelector('#dash:not([hidden])');
  assert((await page.textContent('#heap-id')) === heap.id, 'another heap');
  assert(!page.url().includes(heap.token), 'token in URL');
  await waitFor('the table again', async () => (await rowIds()).length > 0);
});

test('beyond 500 objects the graph aggregates by type and says so', async () => {
  const ops = [];
  for (let i = 0; i < 520; i++) ops.push({ op: 'create', type: i % 2 ? 'list' : 'dict', name: `n${i}` });
  await api('POST', H() + '/batch', { ops });
  await page.waitForSelector('#aggregate:not([hidden])', { timeout: 8000 });
  const text = await page.textContent('#aggregate');
  assert(text.includes('too many to draw') && /list\s*26\d/.test(text), 'aggregate: ' + text.slice(0, 300));
});

test('without the vendor files the page says what is missing and still lists objects', async () => {
  const bare = mkdtempSync(join(tmpdir(), 'heaplab-static-'));
  cleanups.push(() => rmSync(bare, { recursive: true, force: true }));
  cpSync(STATIC, bare, { recursive: true, filter: (src) => !/\/(vendor|node_modules)(\/|$)/.test(src.slice(STATIC.length)) });
  const s2 = await startServer(bare);
  const p2 = await context.newPage();
  try {
    await loadReady(p2, () => p2.goto(s2.base + '/'));
    const w = await p2.textContent('#vendor-warning');
    assert(await p2.isVisible('#vendor-warning') && w.includes('Cytoscape') && w.includes('deploy/setup'), 'warning: ' + w);
    await p2.click('#create-form button[type="submit"]');
    await p2.waitForSelector('#dash:not([hidden])');
    await p2.fill('#c-name', 'solo');
    await p2.click('#f-create button[type="submit"]');
    await p2.waitForSelector('#objects-table tbody tr');
  } finally {
    await p2.close();
    s2.proc.kill('SIGTERM');
  }
});

test('no page errors and no request outside the server', async () => {
  const errs = pageErrors.filter((e) => !e.includes('ERR_NETWORK_CHANGED'));
  assert(!errs.length, 'page errors: ' + errs.join(' | '));
  assert(!externalRequests.length, 'outside requests: ' + externalRequests.join(' '));
});

// ---------- run ----------

for (const t of tests) {
  if (ONLY && !t.name.includes(ONLY)) continue;
  const started = Date.now();
  try {
    await t.fn();
    passed++;
    console.log(`ok   ${t.name} (${Date.now() - started} ms)`);
  } catch (e) {
    failed++;
    console.log(`FAIL ${t.name}: ${e.message}`);
    try {
      await page.screenshot({ path: join(OUT, `failure-${failed}.png`) });
    } catch { /* ignore */ }
  }
}
for (const c of cleanups) {
  try {
    await c();
  } catch { /* ignore */ }
}
console.log(`screenshots: ${OUT}`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
