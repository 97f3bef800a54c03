// labs.js — runs a lab page. The page's <body data-lab="<n>-<slug>"> names
// its steps module (steps/<n>-<slug>.js). The page makes a heap of its own
// (POST /v1/heaps, kept in this tab's sessionStorage), writes each step's
// curl lines, sends the same requests when "Run this step" is pressed, and
// then runs the step's checks: GETs whose answers say whether the heap now
// looks as it should.
import { stepVariables, instances, concrete, stepCurl, exportLines } from './requests.js';
import { createClient, fetchObjects } from '../js/api.js';
import { el, copyText } from '../js/dom.js';

const slug = document.body.dataset.lab;
const STORE = `heaplab.lab.${slug}`;
const DASHBOARD_STORE = 'heaplab.heap'; // the dashboard reopens the heap saved here
const q = (id) => document.getElementById(id);
const client = createClient({ base: '' });

// {heap: {id, token}, ids: {A: 17}, memo: {}, params: {N: …}}
let state = null;
let lab = null;
let explainView = null;

function save() {
  sessionStorage.setItem(STORE, JSON.stringify(state));
}

// ---------- talking to the server ----------

/** One request under the lab's heap: {status, ok, body} with body JSON, text or null. */
async function send(method, path, body) {
  const res = await fetch(`/v1/heaps/${encodeURIComponent(state.heap.id)}${path}`, {
    method,
    headers: { Authorization: 'Bearer ' + state.heap.token, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
    cache: 'no-store',
  });
  const text = await res.text();
  let parsed = text;
  if ((res.headers.get('Content-Type') || '').includes('json')) parsed = text ? JSON.parse(text) : null;
  return { status: res.status, ok: res.ok, body: parsed || null };
}

function problemText(r) {
  return `HTTP ${r.status}` + (r.body && r.body.detail ? `: ${r.body.detail}` : '');
}

/** What a step's checks may ask: reads of the heap, and what the lab learned so far. */
function checkContext() {
  const get = async (path) => {
    const r = await send('GET', path);
    if (!r.ok) throw new Error(`GET ${path}: ${problemText(r)}`);
    return r.body;
  };
  const ctx = {
    get,
    /** The object with this id, or null when it was freed. */
    async objectById(id) {
      // GET of a freed object answers 404, which browsers log as an error: look for it among the live ones first
      const live = await get(`/objects?limit=1${id > 1 ? `&cursor=${id - 1}` : ''}`);
      return live.objects.length && live.objects[0].id === id ? get(`/objects/${id}`) : null;
    },
    /** The object a lab variable names, or null when it was freed. */
    object: (variable) => ctx.objectById(ctx.id(variable)),
    id(variable) {
      if (!(variable in state.ids)) throw new Error(`$${variable} (${lab.names[variable] || 'an id'}) is not known yet: run (or check) the step that makes it first`);
      return state.ids[variable];
    },
    /** Keep an id a later step's requests use as $variable (one no name leads to, such as a snapshot's). */
    learn(variable, value) {
      state.ids[variable] = value;
      save();
    },
    /** The Python name of a lab variable. */
    labName: (variable) => lab.names[variable],
    names: async () => (await get('/names')).names,
    objects: async () => (await fetchObjects(client, Infinity)).objects,
    events: async () => (await get('/events?since=1&limit=10000')).events,
    remember(key, value) {
      state.memo[key] = value;
      save();
    },
    recall(key) {
      if (!(key in state.memo)) throw new Error(`run (or check) the earlier steps first: ${key} is not known yet`);
      return state.memo[key];
    },
    param: (key) => state.params[key],
  };
  return ctx;
}

/** Remember the id of every lab name that is bound now (ids of unbound names stay as they were). */
async function learnIds(ctx) {
  const names = await ctx.names();
  for (const [v, name] of Object.entries(lab.names || {})) if (name in names) state.ids[v] = names[name];
  save();
}

// ---------- the heap ----------

async function newHeap() {
  // the labs' figures and words are CPython 3.11's, whatever the server's default profile
  const body = JSON.stringify({ name: `lab ${slug}`, profile: '3.11' });
  const res = await fetch('/v1/heaps', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body });
  const h = await res.json();
  if (!res.ok) throw new Error(h.detail || `HTTP ${res.status}`);
  const params = Object.fromEntries(Object.entries(lab.params || {}).map(([k, p]) => [k, state ? state.params[k] : p.value]));
  state = { heap: { id: h.id, token: h.token }, ids: {}, memo: {}, params };
  client.setHeap(state.heap);
  save();
}

/** The heap saved in this tab, if the server still has it; else a new one. */
async function openHeap() {
  const saved = JSON.parse(sessionStorage.getItem(STORE) || 'null');
  if (saved) {
    state = saved;
    client.setHeap(state.heap);
    if ((await send('GET', '')).ok) return '';
  }
  await newHeap();
  return saved ? 'The server no longer has this lab\'s earlier heap, so the lab starts over with a new one.' : '';
}

// ---------- rendering ----------

/** Text with `code` spans, as the steps write it. */
function rich(text) {
  return text.split('`').map((part, i) => (i % 2 ? el('code', {}, part) : part));
}

function copyButton(target, what) {
  return el('button', { type: 'button', class: 'copy', onclick: () => copyText(target) }, `Copy ${what}`);
}

function renderHeapBox(note) {
  const exports = el('pre', { class: 'curl', id: 'exports' });
  const params = Object.entries(lab.params || {}).map(([k, p]) => el('label', { class: 'param' }, `${p.label} `,
    el('input', {
      type: 'number', id: `param-${k}`, min: p.min, max: p.max, step: p.step, value: state.params[k],
      onchange: (e) => {
        state.params[k] = Math.max(p.min, Math.min(p.max, Math.round(Number(e.target.value) / p.step) * p.step || p.value));
        e.target.value = state.params[k];
        save();
        exports.textContent = exportLines({ base: location.origin, heap: state.heap, params: state.params });
      },
    })));
  exports.textContent = exportLines({ base: location.origin, heap: state.heap, params: state.params });
  q('heap-box').replaceChildren(
    el('h2', {}, 'Your lab heap'),
    note ? el('p', { class: 'notice' }, note) : '',
    el('p', {}, 'This page made heap ', el('code', { id: 'heap-id' }, state.heap.id), ' for this lab and keeps its token in this tab only. ' +
      'Press each step\'s Run button, or paste these lines into a terminal first and then the step\'s curl lines ' +
      '(they need curl and jq), and press Check.'),
    ...params,
    exports, copyButton(exports, 'export lines'),
    el('div', { class: 'row' },
      el('button', { type: 'button', id: 'start-over', onclick: startOver }, 'Start over with a new heap'),
      el('button', { type: 'button', id: 'open-dashboard', onclick: openInDashboard }, 'Open this heap in the dashboard')));
}

function renderSteps() {
  q('steps').replaceChildren(...lab.steps.map((step, i) => {
    const curl = el('pre', { class: 'curl' }, stepCurl(step, lab));
    return el('li', { class: 'step', id: `step-${i + 1}`, 'data-state': 'todo' },
      el('h2', {}, `Step ${i + 1}`),
      el('pre', { class: 'python', 'aria-label': 'Python' }, step.python),
      el('p', {}, rich(step.says)),
      curl, copyButton(curl, 'curl lines'),
      el('div', { class: 'row' },
        el('button', { type: 'button', class: 'run', onclick: () => runStep(i) }, 'Run this step'),
        el('button', { type: 'button', class: 'check', onclick: () => checkStep(i) }, 'Check')),
      el('p', { class: 'status', role: 'status' }),
      el('ul', { class: 'checks', 'aria-label': 'Checks' }),
      step.explain ? el('div', { class: 'explain' }) : '',
      el('details', { class: 'answer' }, el('summary', {}, 'The server\'s last answer'), el('pre', { class: 'result' })));
  }));
}

/** A batch's answer holds one result per op: show the first few. */
function shortAnswer(body) {
  if (Array.isArray(body.results) && body.results.length > 6) {
    return JSON.stringify({ ...body, results: [...body.results.slice(0, 3), `… ${body.results.length - 3} more results`] }, null, 2);
  }
  return typeof body === 'string' ? body : JSON.stringify(body, null, 2);
}

// ---------- running and checking ----------

/** The graph as the collector will see it: read before an explained collection frees part of it. */
async function readGraph() {
  const [names, objs] = await Promise.all([send('GET', '/names'), fetchObjects(client, Infinity)]);
  return { names: names.body.names, objects: objs.objects };
}

async function showExplain(li, snapshot, answer) {
  if (!explainView) {
    const [{ loadVendor }, { createExplainView }] = await Promise.all([import('../js/vendor.js'), import('../js/explain-view.js')]);
    explainView = createExplainView({ root: li.querySelector('.explain'), cytoscape: (await loadVendor()).cytoscape });
  }
  explainView.show(snapshot, answer);
}

/** Run and Check wait while a step runs: a second click would send its requests twice. */
function busy(li, on) {
  for (const b of li.querySelectorAll('button.run, button.check')) b.disabled = on;
}

async function runStep(i) {
  const step = lab.steps[i];
  const li = q(`step-${i + 1}`);
  const status = li.querySelector('.status');
  li.dataset.state = 'running';
  li.querySelector('.checks').replaceChildren();
  busy(li, true);
  try {
    const vars = { ...state.ids, ...state.params };
    for (const v of stepVariables(step)) {
      if (v in (lab.names || {})) {
        const r = await send('GET', `/names/${lab.names[v]}`);
        if (!r.ok) throw new Error(`looking up ${lab.names[v]}: ${problemText(r)}`);
        vars[v] = r.body.id;
      } else if (!(v in vars)) {
        throw new Error(`$${v} is not known yet: run the step that makes it first`);
      }
    }
    const snapshot = step.explain ? await readGraph() : null;
    const total = step.requests.reduce((n, req) => n + instances(req, vars).length, 0);
    let last = null;
    let sent = 0;
    for (const req of step.requests) {
      for (const v of instances(req, vars)) {
        const r = concrete(req, v); // built one at a time: a big loop's bodies need not all be in memory at once
        status.textContent = total > 1 ? `request ${++sent} of ${total}…` : 'running…';
        last = await send(r.method, r.path, r.body);
        li.querySelector('.result').textContent = last.body === null ? `HTTP ${last.status} (no body)` : shortAnswer(last.body);
        if (!last.ok) throw new Error(`${r.method} ${r.path}: ${problemText(last)}`);
      }
      if (req.saveAs) state.ids[req.saveAs] = last.body.id;
    }
    save();
    status.textContent = `done: HTTP ${last.status}. Checking…`;
    if (step.explain) await showExplain(li, snapshot, last.body);
  } catch (err) {
    li.dataset.state = 'failed';
    status.textContent = `This step failed: ${err.message}`;
    busy(li, false);
    return;
  }
  await checkStep(i);
  busy(li, false);
}

async function checkStep(i) {
  const li = q(`step-${i + 1}`);
  let results;
  try {
    const ctx = checkContext();
    await learnIds(ctx);
    results = await lab.steps[i].check(ctx);
  } catch (err) {
    results = [{ ok: false, text: `could not check: ${err.message}` }];
  }
  const passed = results.every((r) => r.ok);
  li.querySelector('.checks').replaceChildren(...results.map((r) =>
    el('li', { class: r.ok ? 'ok' : 'bad', 'data-ok': String(r.ok) }, r.text + (r.ok ? ' ✓' : ' ✗'))));
  li.dataset.state = passed ? 'passed' : 'failed';
  li.querySelector('.status').textContent = passed ? 'The heap looks as expected.' : 'Not as expected yet: see the checks marked ✗.';
}

// ---------- the buttons outside the steps ----------

async function startOver() {
  await send('DELETE', '');
  await newHeap();
  explainView = null; // its element goes with the old steps
  renderHeapBox('');
  renderSteps();
}

function openInDashboard() {
  sessionStorage.setItem(DASHBOARD_STORE, JSON.stringify(state.heap));
  location.href = `../#heap=${encodeURIComponent(state.heap.id)}`;
}

async function main() {
  lab = (await import(`./steps/${slug}.js`)).default;
  try {
    renderHeapBox(await openHeap());
  } catch (err) {
    q('heap-box').replaceChildren(el('p', { class: 'error', role: 'alert' }, `Could not make a heap for this lab: ${err.message}`));
    return;
  }
  renderSteps();
  document.body.dataset.ready = '1';
}

main();
