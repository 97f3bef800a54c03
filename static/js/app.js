// app.js — opens a heap and keeps every view in step with it: refreshes
// when the event stream reports a change (debounced), and polls the heap's
// summary as a fallback for changes that make no event.
import { createClient, fetchObjects, ApiError } from './api.js';
import { curlCommand, exportLines } from './curl.js';
import { readEventStream } from './sse.js';
import { summarySignature, GRAPH_LIMIT } from './model.js';
import { mergeEvents, collections, snapshotAt } from './events.js';
import { loadVendor } from './vendor.js';
import { createGraphView } from './graph-view.js';
import { renderDetail, renderGone } from './detail-view.js';
import { createMemoryView } from './memory-view.js';
import { createGcView } from './gc-view.js';
import { createEventsView } from './events-view.js';
import { createExplainView } from './explain-view.js';
import { createConsole } from './console-view.js';
import { fmtTime, copyText } from './dom.js';

const STORE = 'heaplab.heap';
const DEBOUNCE_MS = 150;
const POLL_MS = 500; // GET /v1/heaps/{h}: a few hundred bytes
const FULL_REFRESH_MS = 2000; // catches changes the summary cannot show (a new reference)
const OBJECT_CAP = 5000; // objects read for the by-type aggregate

const q = (id) => document.getElementById(id);
const api = createClient({ base: '' });
const state = {
  heap: null, summary: null, objects: [], names: {}, byId: new Map(), total: 0, truncated: false,
  memory: null, events: [], eventsNext: 1, missed: null, samples: [], snapshots: [], replay: null,
  lastRefresh: 0, lastSignature: '', selected: null, generation: 0,
};
let views = null;
let timers = { poll: null, debounce: null };
let stream = null;
let refreshing = null;
let refreshAgain = false;

// ---------- small helpers ----------

function setLive(text, ok) {
  const e = q('live');
  e.textContent = text;
  e.className = 'live ' + (ok ? 'ok' : 'warn');
}

function showError(err) {
  const s = q('result-status');
  s.className = 'status error';
  s.textContent = err instanceof ApiError ? `Error ${err.status}: ${err.message}` : `Error: ${err.message}`;
  if (!(err instanceof ApiError)) q('result').textContent = '';
}

function renderCurl(call) {
  const token = q('real-token').checked && state.heap ? state.heap.token : null;
  q('curl').textContent = curlCommand({ method: call.method, path: call.path, body: call.body, base: location.origin, token, auth: call.auth });
  q('curl').dataset.method = call.method;
  q('curl').dataset.path = call.path;
  const s = q('result-status');
  s.className = 'status ' + (call.status < 400 ? 'ok' : 'error');
  s.textContent = `HTTP ${call.status}` + (call.status >= 400 && call.response && call.response.detail ? `: ${call.response.detail}` : '');
  q('result').textContent = typeof call.response === 'string' ? call.response : JSON.stringify(call.response, null, 2);
}
let lastCall = null;
api.onCall = (call) => {
  lastCall = call;
  renderCurl(call);
};

// ---------- tabs ----------

function setupTabs() {
  const tabs = [...document.querySelectorAll('[role="tab"]')];
  const select = (tab, focus) => {
    for (const t of tabs) {
      const on = t === tab;
      t.setAttribute('aria-selected', on);
      t.tabIndex = on ? 0 : -1;
      q(t.getAttribute('aria-controls')).hidden = !on;
    }
    if (focus) tab.focus();
    if (views) {
      views.graph.resize();
      views.gc.resize();
      views.explain.resize();
    }
  };
  tabs.forEach((t, i) => {
    t.addEventListener('click', () => select(t));
    t.addEventListener('keydown', (e) => {
      const k = { ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: tabs.length - 1 }[e.key];
      if (k === undefined) return;
      e.preventDefault();
      select(tabs[(k + tabs.length) % tabs.length], true);
    });
  });
}

// ---------- refreshing ----------

function scheduleRefresh(delay = DEBOUNCE_MS) {
  if (timers.debounce) return;
  timers.debounce = setTimeout(() => {
    timers.debounce = null;
    refresh();
  }, delay);
}

async function pollEvents() {
  for (let i = 0; i < 10; i++) {
    const r = await api.events(state.eventsNext, 1000);
    if (r.missed) state.missed = r.missed;
    state.events = mergeEvents(state.events, r.events);
    const done = r.next === state.eventsNext || r.events.length < 1000;
    state.eventsNext = r.next;
    if (done) return;
  }
}

function refresh() {
  if (refreshing) {
    refreshAgain = true;
    return refreshing;
  }
  const gen = state.generation;
  refreshing = (async () => {
    try {
      const summary = await api.summary();
      const [names, objs, memory] = await Promise.all([
        api.names(),
        fetchObjects(api, summary.objects > GRAPH_LIMIT ? OBJECT_CAP : Infinity),
        api.memory(),
        pollEvents(),
      ]);
      if (gen !== state.generation) return;
      state.summary = summary;
      state.lastSignature = summarySignature(summary);
      state.names = names.names;
      state.objects = objs.objects;
      state.truncated = objs.truncated;
      state.total = summary.objects;
      state.byId = new Map(objs.objects.map((o) => [o.id, o]));
      state.memory = memory;
      state.lastRefresh = Date.now();
      const t = Date.now();
      const prev = state.samples[state.samples.length - 1];
      if (!prev || prev.objects !== summary.objects || t - prev.t > 5000) state.samples.push({ t, objects: summary.objects });
      if (state.samples.length > 2000) state.samples.splice(0, state.samples.length - 2000);
      if (!objs.truncated && objs.objects.length <= GRAPH_LIMIT) {
        const last = state.snapshots[state.snapshots.length - 1];
        const snap = { next: state.eventsNext, t, objects: objs.objects, names: state.names, total: summary.objects };
        if (last && last.next === snap.next) state.snapshots[state.snapshots.length - 1] = snap;
        else state.snapshots.push(snap);
        if (state.snapshots.length > 300) state.snapshots.shift();
      }
      render();
      setLive(stream && stream.open ? 'live: event stream open' : 'polling (event stream reconnecting)', !!(stream && stream.open));
    } catch (err) {
      if (err instanceof ApiError && (err.status === 404 || err.status === 403)) {
        setLive(`heap unavailable: ${err.message}`, false);
      } else {
        setLive('server unreachable — retrying', false);
      }
    } finally {
      refreshing = null;
      if (refreshAgain) {
        refreshAgain = false;
        scheduleRefresh(0);
      }
    }
  })();
  return refreshing;
}

function render() {
  const opts = { showSmall: q('show-small').checked, showUntracked: q('show-untracked').checked };
  renderGraph(opts);
  views.memory.render(state.memory);
  views.gc.render(state.summary.gc, state.samples, collections(state.events));
  views.events.render(state.events, state.missed);
  q('heap-name').textContent = state.summary.name ? `“${state.summary.name}”` : '';
}

function renderGraph(opts = { showSmall: q('show-small').checked, showUntracked: q('show-untracked').checked }) {
  let data = { objects: state.objects, names: state.names, truncated: state.truncated, total: state.total };
  const banner = q('replay-banner');
  if (state.replay !== null) {
    const snap = snapshotAt(state.snapshots, state.replay);
    banner.hidden = false;
    if (snap) {
      data = { objects: snap.objects, names: snap.names, truncated: false, total: snap.total };
      q('replay-text').textContent = `Replaying: the object graph just after event ${state.replay}, as the dashboard saw it at ${fmtTime(snap.t)}. Memory and collector views show the present.`;
    } else {
      q('replay-text').textContent = `No graph snapshot that early (the dashboard keeps what it saw since it was opened); showing the present.`;
    }
  } else {
    banner.hidden = true;
  }
  views.graph.render(data, opts);
}

async function poll() {
  if (!state.heap) return;
  try {
    const s = await api.summary();
    const small = s.objects <= GRAPH_LIMIT;
    const stale = Date.now() - state.lastRefresh > (small ? FULL_REFRESH_MS : 5 * FULL_REFRESH_MS);
    if (summarySignature(s) !== state.lastSignature || stale) scheduleRefresh(0);
  } catch {
    setLive('server unreachable — retrying', false);
  }
}

// ---------- the event stream ----------

function startStream() {
  const ctl = new AbortController();
  const me = { ctl, open: false, closed: false };
  stream = me;
  const loop = async () => {
    while (!me.closed) {
      try {
        await readEventStream(api.heapPath(`/events?since=${state.eventsNext}`), {
          headers: api.headers(),
          signal: ctl.signal,
          onOpen: () => {
            me.open = true;
            setLive('live: event stream open', true);
          },
          onEvent: (ev) => {
            if (ev.event === 'missed') {
              try {
                state.missed = JSON.parse(ev.data);
              } catch { /* ignore */ }
              return;
            }
            let data;
            try {
              data = JSON.parse(ev.data);
            } catch {
              return;
            }
            if (typeof data.seq === 'number') {
              state.events = mergeEvents(state.events, [data]);
              if (data.seq >= state.eventsNext) state.eventsNext = data.seq + 1;
            }
            scheduleRefresh();
          },
        });
      } catch (err) {
        if (me.closed) return;
      }
      me.open = false;
      if (me.closed) return;
      setLive('polling (event stream reconnecting)', false);
      await new Promise((r) => setTimeout(r, 1500));
    }
  };
  loop();
}

function stopStream() {
  if (stream) {
    stream.closed = true;
    stream.ctl.abort();
    stream = null;
  }
}

// ---------- opening and closing a heap ----------

async function openHeap(heap) {
  api.setHeap(heap);
  try {
    await api.summary();
  } catch (err) {
    api.setHeap(null);
    throw err;
  }
  sessionStorage.setItem(STORE, JSON.stringify(heap));
  history.replaceState(null, '', '#heap=' + encodeURIComponent(heap.id));
  state.generation++;
  Object.assign(state, { heap, events: [], eventsNext: 1, missed: null, samples: [], snapshots: [], replay: null, lastSignature: '', selected: null });
  views.memory.reset();
  q('heap-id').textContent = heap.id;
  q('heap-badge').hidden = false;
  q('open').hidden = true;
  q('dash').hidden = false;
  q('curl-export').textContent = exportLines({ base: location.origin, token: q('real-token').checked ? heap.token : null });
  views.graph.resize();
  await refresh();
  views.graph.resize();
  views.gc.resize();
  startStream();
  clearInterval(timers.poll);
  timers.poll = setInterval(poll, POLL_MS);
}

function closeHeap() {
  stopStream();
  clearInterval(timers.poll);
  state.generation++;
  state.heap = null;
  api.setHeap(null);
  sessionStorage.removeItem(STORE);
  history.replaceState(null, '', location.pathname);
  q('dash').hidden = true;
  q('heap-badge').hidden = true;
  q('created').hidden = true;
  q('open').hidden = false;
}

async function selectObject(id) {
  state.selected = id;
  views.graph.select(id);
  const box = q('detail');
  try {
    const [o, path] = await Promise.all([api.inspect(id), api.path(id)]);
    renderDetail(box, o, path, selectObject);
  } catch (err) {
    renderGone(box, id, err);
  }
}

// ---------- a collection, explained ----------

async function collectAndExplain(generation) {
  q('tab-explain').click();
  try {
    // the collection frees objects: read the graph it is about to examine first
    const [names, objs] = await Promise.all([api.names(), fetchObjects(api, OBJECT_CAP)]);
    const result = await api.collectExplained(generation);
    views.explain.show({ objects: objs.objects, names: names.names }, result);
  } catch (err) {
    showError(err);
  }
  scheduleRefresh(0);
}

// ---------- start ----------

async function main() {
  const vendor = await loadVendor();
  if (vendor.missing.length) {
    const w = q('vendor-warning');
    w.hidden = false;
    w.textContent = 'Some drawing libraries are missing, so parts of the dashboard fall back to tables: ' + vendor.missing.join('; ') +
      '. They are copied into static/vendor/ by deploy/setup (run or test).';
  }
  views = {
    graph: createGraphView({
      container: q('graph'), detail: q('detail'), tableBody: document.querySelector('#objects-table tbody'), aggregate: q('aggregate'),
      counts: q('graph-counts'), legend: q('legend-graph'), cytoscape: vendor.cytoscape, onSelect: selectObject,
    }),
    memory: createMemoryView({ map: q('memmap'), info: q('poolinfo'), legend: q('memlegend'), changes: q('memchanges'), bars: q('classbars'), totals: q('memtotals') }),
    gc: createGcView({ state: q('gc-state'), gauges: q('gauges'), stats: q('gc-stats'), timeline: q('timeline'), legend: q('timeline-legend'), collections: document.querySelector('#collections tbody'), uPlot: vendor.uPlot }),
    explain: createExplainView({ root: q('explain'), cytoscape: vendor.cytoscape }),
    events: createEventsView({
      log: q('eventlog'), slider: q('replay'), output: q('replay-out'), missed: q('events-missed'),
      onReplay: (seq) => {
        state.replay = seq;
        if (state.summary) renderGraph();
      },
    }),
  };
  setupTabs();
  createConsole({ api, getState: () => state, after: () => scheduleRefresh(0), showError });

  for (const b of document.querySelectorAll('button.copy')) b.addEventListener('click', () => copyText(q(b.dataset.copy)));
  q('show-small').addEventListener('change', () => state.summary && renderGraph());
  q('show-untracked').addEventListener('change', () => state.summary && renderGraph());
  q('fit-graph').addEventListener('click', () => views.graph.fit());
  q('explain-run').addEventListener('click', () => collectAndExplain(Number(q('explain-gen').value)));
  q('collect-explain-btn').addEventListener('click', () => collectAndExplain(Number(q('g-gen').value)));
  q('replay-live').addEventListener('click', () => views.events.live());
  q('close-heap').addEventListener('click', closeHeap);
  q('created-dismiss').addEventListener('click', () => {
    q('created').hidden = true;
    q('created-token').textContent = '';
  });
  q('real-token').addEventListener('change', () => {
    if (state.heap) q('curl-export').textContent = exportLines({ base: location.origin, token: q('real-token').checked ? state.heap.token : null });
    if (lastCall) renderCurl(lastCall);
  });
  window.addEventListener('resize', () => {
    views.graph.resize();
    views.gc.resize();
    views.explain.resize();
  });

  q('create-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    q('open-error').textContent = '';
    try {
      const h = await api.createHeap(q('create-name').value.trim());
      q('created-id').textContent = h.id;
      q('created-token').textContent = h.token;
      q('created-export').textContent = exportLines({ base: location.origin, token: h.token }) + `\nexport H=${h.id}`;
      q('created').hidden = false;
      await openHeap({ id: h.id, token: h.token });
    } catch (err) {
      q('open-error').textContent = `Could not create a heap: ${err.message}`;
    }
  });
  q('open-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    q('open-error').textContent = '';
    try {
      await openHeap({ id: q('open-id').value.trim(), token: q('open-token').value.trim() });
      q('open-token').value = '';
    } catch (err) {
      q('open-error').textContent = `Could not open that heap: ${err.message}`;
    }
  });

  const m = /heap=([^&]+)/.exec(location.hash);
  if (m) q('open-id').value = decodeURIComponent(m[1]);
  const saved = sessionStorage.getItem(STORE);
  if (saved) {
    try {
      await openHeap(JSON.parse(saved));
    } catch (err) {
      sessionStorage.removeItem(STORE);
      q('open-error').textContent = `Could not reopen heap: ${err.message}`;
    }
  }
  document.body.dataset.ready = '1';
}

main();
