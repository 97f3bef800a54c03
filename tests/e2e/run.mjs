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
    // heaps are durable by default: their journals go to a directory of the run's own, not the working directory
    const dataDir = mkdtempSync(join(tmpdir(), 'heaplab-e2e-data-'));
    const proc = spawn(BINARY, ['--port', String(port), '--bind', '127.0.0.1', '--static-dir', staticDir, '--data-dir', dataDir], { stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    proc.stderr.on('data', (d) => (log += d));
    const base = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + 10000;
    while (Date.now() < deadline && proc.exitCode === null) {
      try {
        const r = await fetch(base + '/');
        if (r.ok) {
          cleanups.push(async () => {
            if (proc.exitCode === null && proc.signalCode === null) {
              const exited = new Promise((done) => proc.once('exit', done));
              proc.kill('SIGTERM');
              await exited;
            }
            rmSync(dataDir, { recursive: true, force: true });
          });
          return { base, proc, log: () => log };
        }
      } catch { /* not yet */ }
      await sleep(50);
    }
    proc.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
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
let finished = false;
server.proc.once('exit', (code, signal) => {
  if (!finished) console.log(`  (the server stopped in the middle of the tests: ${signal || 'exit status ' + code}; the tests after this fail)`);
});
mkdirSync(OUT, { recursive: true });
for (const f of readdirSync(OUT)) if (f.startsWith('failure-')) rmSync(join(OUT, f));
const userDataDir = mkdtempSync(join(tmpdir(), 'heaplab-chromium-'));
cleanups.push(() => rmSync(userDataDir, { recursive: true, force: true }));
const context = await chromium.launchPersistentContext(userDataDir, {
  executablePath: CHROMIUM, headless: !args.includes('--headed'), args: CHROME_ARGS, viewport: { width: 1500, height: 1000 },
}).catch((e) => fatal('chromium did not start: ' + e.message));
cleanups.unshift(() => context.close());
const pageErrors = [];
const externalRequests = [];
/** Records a page's errors and requests outside the server, for the last test. */
function watch(p) {
  p.on('pageerror', (e) => pageErrors.push(String(e)));
  p.on('console', (m) => {
    if (m.type() === 'error') pageErrors.push(m.text());
  });
  p.on('request', (r) => {
    if (!r.url().startsWith(BASE)) externalRequests.push(r.url());
  });
  return p;
}
const page = watch(context.pages()[0] || (await context.newPage()));
const screenshots = [];
/** A screenshot in tests/e2e/output/, listed at the end of the run. */
async function shoot(p, name, opts = {}) {
  const path = join(OUT, name);
  await p.screenshot({ path, ...opts });
  screenshots.push(path);
}

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

test('collect and explain: the classic cycle played back step by step, gc_refs 0, then freed', async () => {
  const p = watch(await context.newPage()); // a tab of its own: its own heap, a small graph
  try {
    await loadReady(p, () => p.goto(BASE + '/'));
    await p.click('#create-form button[type="submit"]');
    await p.waitForSelector('#dash:not([hidden])');
    await p.click('#created-dismiss');
    const token = await p.evaluate(() => JSON.parse(sessionStorage.getItem('heaplab.heap')).token);
    const id = await p.textContent('#heap-id');
    const call = (method, path, body) => fetch(`${BASE}/v1/heaps/${id}${path}`, {
      method, headers: { Authorization: 'Bearer ' + token }, body: body && JSON.stringify(body) }).then((r) => r.json());
    // a = []; a.append(a); keep = [[]] survives; del a
    const a = await call('POST', '/objects', { type: 'list', name: 'a' });
    await call('POST', `/objects/${a.id}/refs`, { target: a.id });
    await call('POST', '/batch', { ops: [{ op: 'create', type: 'list', name: 'inner' }, { op: 'create', type: 'list', items: ['$0'], name: 'keep' }, { op: 'unbind', name: 'inner' }] });
    await fetch(`${BASE}/v1/heaps/${id}/names/a`, { method: 'DELETE', headers: { Authorization: 'Bearer ' + token } });
    await p.click('#collect-explain-btn');
    await p.waitForSelector('#panel-explain .explain-body:not([hidden])');
    assert((await p.textContent('#curl')).includes('"explain":true'), 'the curl box does not show the explain request');
    const row = (rid) => p.$eval(`#panel-explain tr[data-id="${rid}"]`, (tr) => ({ gc: tr.querySelector('.gc-refs').textContent, state: tr.dataset.state }));
    const frames = Number(await p.$eval('#panel-explain .explain-position', (e) => /of (\d+)/.exec(e.textContent)[1]));
    let sawZero = false;
    let shot = false;
    for (let i = 1; i <= frames; i++) {
      await p.click('#panel-explain .explain-step');
      const r = await row(a.id);
      const caption = await p.textContent('#panel-explain .explain-caption');
      if (r.gc === '0' && !sawZero) {
        sawZero = true;
        assert(/subtract_refs: list #\d+ is referenced only from inside generation 2: gc_refs 1 → 0/.test(caption), 'caption: ' + caption);
      }
      if (r.state === 'tentatively_unreachable' && !shot) {
        shot = true;
        await p.waitForTimeout(150);
        await shoot(p, 'explain-mid.png');
      }
    }
    assert(sawZero, 'the cycle never showed gc_refs 0');
    assert(shot, 'the cycle never showed tentatively unreachable');
    const end = await row(a.id);
    assert(end.state === 'freed', 'at the end the cycle is ' + end.state);
    assert((await p.$$('#panel-explain tr[data-state="rescued"]')).length === 1, 'the list inside keep was not rescued');
    assert(await p.$eval('#panel-explain .explain-step', (b) => b.disabled), 'Step still enabled at the end');
    await shoot(p, 'explain-end.png');
    await p.click('#panel-explain .explain-back');
    assert((await row(a.id)).state !== 'freed', 'Back did not undo the last step');
    await p.click('#panel-explain .explain-phases li[data-phase="update_refs"] button');
    assert((await p.textContent('#panel-explain .explain-caption')).startsWith('update_refs:'), 'the phase button did not jump');
  } finally {
    await p.close();
    await page.bringToFront(); // a tab in the back gets its timers throttled
  }
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

// ---------- the course labs ----------

const LABS = ['1-names', '2-freeing', '3-cycle', '4-generations', '5-weakrefs', '6-pymalloc', '7-freeze', '8-generators'];
// lab 8's N (the page defaults to a million): in the browser, and in bash, where
// 30,000 still makes its loops send a full batch and a short one
const LAB_N = 100000;
const LAB_N_BY_CURL = 30000;

/** Every check of a lab step, as [{ok, text}]. */
const stepChecks = (p, n) => p.$$eval(`#step-${n} .checks li`, (lis) => lis.map((li) => ({ ok: li.dataset.ok === 'true', text: li.textContent })));

async function waitStep(p, n, timeout) {
  await p.waitForSelector(`#step-${n}[data-state="passed"], #step-${n}[data-state="failed"]`, { timeout });
  const checks = await stepChecks(p, n);
  const state = await p.$eval(`#step-${n}`, (li) => li.dataset.state);
  if (state !== 'passed' || !checks.length || checks.some((c) => !c.ok)) {
    throw new Error(`step ${n}: ${await p.textContent(`#step-${n} .status`)} ${checks.filter((c) => !c.ok).map((c) => c.text).join('; ')}`);
  }
  return checks.length;
}

async function openLab(p, slug, n = LAB_N) {
  await loadReady(p, () => p.goto(`${BASE}/labs/${slug}.html`));
  if (slug === '8-generators') {
    await p.fill('#param-N', String(n));
    await p.dispatchEvent('#param-N', 'change');
  }
  return p.$$eval('#steps > li', (l) => l.length);
}

// Opened when the first lab runs: a tab that is not in front gets its timers
// throttled, which would slow the dashboard tests that run in `page`.
let labPage = null;
async function labTab() {
  if (!labPage) {
    labPage = watch(await context.newPage());
    cleanups.unshift(() => labPage.close());
  }
  await labPage.bringToFront();
  return labPage;
}

test('the dashboard links to the labs, and the index lists all eight', async () => {
  await loadReady(page, () => page.goto(BASE + '/'));
  await page.click('a.top-link');
  await page.waitForSelector('.lab-list');
  const links = await page.$$eval('.lab-list a', (l) => l.map((a) => a.getAttribute('href')));
  assert(JSON.stringify(links) === JSON.stringify(LABS.map((s) => s + '.html')), 'labs: ' + links.join(' '));
  await loadReady(page, () => page.goto(BASE + '/'));
});

function labTest(slug) {
  test(`lab ${slug}: Run every step, every check turns green`, async () => {
    const labPage = await labTab();
    const steps = await openLab(labPage, slug);
    assert(steps >= 6, `${steps} steps`);
    let checks = 0;
    for (let n = 1; n <= steps; n++) {
      assert(/curl -s .*"\$HEAPLAB\/v1\/heaps\/\$H/.test(await labPage.textContent(`#step-${n} pre.curl`)), `step ${n}: no curl line with $HEAPLAB and $H`);
      await labPage.click(`#step-${n} button.run`);
      checks += await waitStep(labPage, n, 60000);
    }
    if (slug === '3-cycle') {
      // the last step played its collection back: walk to the end
      const a = Number(await labPage.evaluate(() => JSON.parse(sessionStorage.getItem('heaplab.lab.3-cycle')).ids.A));
      let zero = false;
      while (!(await labPage.$eval('#steps .explain-step', (b) => b.disabled))) {
        await labPage.click('#steps .explain-step');
        zero ||= (await labPage.$eval(`#steps .explain tr[data-id="${a}"] .gc-refs`, (td) => td.textContent)) === '0';
      }
      assert(zero, 'the playback never showed the cycle at gc_refs 0');
      assert((await labPage.$eval(`#steps .explain tr[data-id="${a}"]`, (tr) => tr.dataset.state)) === 'freed', 'the cycle does not end freed');
    }
    if (slug === '3-cycle' || slug === '6-pymalloc') await shoot(labPage, `lab-${slug}.png`, { fullPage: true });
    console.log(`  (${steps} steps, ${checks} checks)`);
  });
}

/** A bash that keeps its variables between the steps pasted into it, as a terminal does. */
function startShell() {
  const sh = spawn('bash', ['--norc', '--noprofile'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  sh.stdout.on('data', (d) => (out += d));
  sh.stderr.on('data', (d) => (out += d));
  cleanups.push(() => sh.kill());
  let n = 0;
  return {
    async run(text) {
      const mark = `__step_done_${++n}__`;
      const from = out.length;
      sh.stdin.write(`${text}\necho ${mark}\n`);
      await waitFor(`the shell to run: ${text.slice(0, 60)}`, async () => out.includes(mark, from), 60000);
      return out.slice(from, out.indexOf(mark, from));
    },
  };
}

function curlTest(slug) {
  test(`lab ${slug} by curl: its export and curl lines, pasted into bash, pass the page's checks`, async () => {
    const p = watch(await context.newPage()); // a new tab: a new heap
    try {
      const steps = await openLab(p, slug, LAB_N_BY_CURL);
      const shell = startShell();
      await shell.run(await p.textContent('#exports'));
      for (let n = 1; n <= steps; n++) {
        const said = await shell.run(await p.textContent(`#step-${n} pre.curl`));
        assert(!/"status": ?[45]\d\d|"detail":"|command not found|parse error/.test(said), `step ${n}: ${said.slice(0, 300)}`);
        await p.click(`#step-${n} button.check`);
        await waitStep(p, n, 10000);
      }
    } finally {
      await p.close();
    }
  });
}

// lab 8 last: its batches are by far the largest
LABS.slice(0, -1).forEach(labTest);
['1-names', '5-weakrefs', '6-pymalloc'].forEach(curlTest);
labTest('8-generators');
curlTest('8-generators');

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
finished = true;
for (const c of cleanups) {
  try {
    await c();
  } catch { /* ignore */ }
}
console.log(`screenshots: ${OUT}`);
for (const path of screenshots) console.log(`  ${path}`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
