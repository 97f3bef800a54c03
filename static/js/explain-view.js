// explain-view.js — the explain playback: a collection already happened
// (POST .../gc/collect {"explain": true}), so it is replayed over the graph
// read just before it. Step / Back / Play walk the timeline; each node shows
// its gc_refs and its state, and a caption says what the collector did.
// Used by the dashboard's "Collection, explained" tab and by lab 3.
import { analyse, visibleIds, buildElements, layoutRoots, GRAPH_LIMIT } from './model.js';
import { buildFrames, phaseStarts, objectLabel, stateWord, STATE_WORDS } from './explain.js';
import { OI } from './palette.js';
import { el } from './dom.js';

const PLAY_MS = 1100;

// State is carried by colour, border and the word on the node (never colour alone).
const STATE_STYLES = {
  reachable: { 'background-color': OI.sky },
  tentatively_unreachable: { 'background-color': OI.orange, 'border-color': OI.vermillion, 'border-style': 'dashed', 'border-width': 4 },
  rescued: { 'background-color': OI.green, 'border-color': '#004d38', 'border-width': 4 },
  untracked: { 'background-color': '#fff', 'border-style': 'dashed', 'border-width': 2 },
  cleared: { 'background-color': OI.yellow },
  finalized: { 'background-color': OI.purple },
  resurrected: { 'background-color': OI.blue, color: '#fff' },
  freed: { 'background-color': '#e0e0e0', 'border-style': 'dashed', color: '#555', opacity: 0.55 },
};

function stylesheet() {
  return [
    {
      selector: 'node[kind="object"]',
      style: {
        shape: 'round-rectangle', width: 150, height: 58, label: 'data(label)', 'text-wrap': 'wrap', 'text-max-width': 146,
        'text-valign': 'center', 'text-halign': 'center', 'font-size': 11, 'font-family': 'system-ui, sans-serif',
        color: '#000', 'background-color': '#fff', 'border-width': 1.5, 'border-color': '#333',
      },
    },
    { selector: 'node[!examined]', style: { 'background-color': '#f2f2f2', 'border-style': 'dotted', color: '#666' } },
    ...Object.entries(STATE_STYLES).map(([state, style]) => ({ selector: `node[state="${state}"]`, style })),
    { selector: 'node[?current]', style: { 'overlay-color': OI.blue, 'overlay-opacity': 0.25, 'overlay-padding': 8, 'border-width': 5 } },
    {
      selector: 'node[kind="name"]',
      style: {
        shape: 'tag', 'background-color': OI.black, color: '#fff', label: 'data(label)', height: 28,
        width: (n) => Math.max(56, 9 * String(n.data('label')).length + 30),
        'font-size': 13, 'font-weight': 'bold', 'font-family': 'ui-monospace, monospace', 'text-valign': 'center',
      },
    },
    {
      selector: 'edge',
      style: {
        width: 1.8, 'line-color': '#555', 'target-arrow-color': '#555', 'target-arrow-shape': 'triangle', 'curve-style': 'bezier',
        'loop-direction': '-45deg', 'loop-sweep': '-70deg', 'control-point-step-size': 60,
      },
    },
    { selector: 'edge[kind="name"]', style: { width: 2.5, 'line-color': OI.blue, 'target-arrow-color': OI.blue } },
  ];
}

/** What the graph draws: what the dashboard would, plus every examined object; at most GRAPH_LIMIT. */
function drawnIds(a, examined) {
  const ids = visibleIds(a);
  for (const id of examined) if (a.byId.has(id)) ids.add(id);
  if (ids.size <= GRAPH_LIMIT) return ids;
  return new Set([...examined].filter((id) => a.byId.has(id)).slice(0, GRAPH_LIMIT));
}

/** "#5 list / rc 1 · gc_refs 0 / tentatively unreachable" */
function nodeText(o, info, examined) {
  const head = `#${o.id} ${o.type === 'instance' && o.class ? o.class : o.type}\nrc ${o.refcount}`;
  if (!examined) return `${head} · not examined`;
  return `${head} · gc_refs ${info && info.gc_refs !== undefined ? info.gc_refs : '–'}` + (info && info.state ? `\n${stateWord(info.state)}` : '');
}

export function createExplainView({ root, cytoscape }) {
  let frames = [];
  let index = 0;
  let timer = null;
  let byId = new Map();
  let examined = new Set();

  const back = el('button', { type: 'button', class: 'explain-back' }, '◀ Back');
  const step = el('button', { type: 'button', class: 'explain-step' }, 'Step ▶');
  const play = el('button', { type: 'button', class: 'explain-play' }, 'Play');
  const position = el('span', { class: 'explain-position' });
  const phases = el('ol', { class: 'explain-phases', 'aria-label': 'Phases of the collection (jump to one)' });
  const captionEl = el('p', { class: 'explain-caption', 'aria-live': 'polite' });
  const graph = el('div', { class: 'explain-graph', role: 'img', 'aria-label': 'The object graph as it was before the collection; the table below gives the same figures.' });
  const legend = el('div', { class: 'legend' }, Object.keys(STATE_STYLES).map((s) =>
    el('span', { class: 'legend-item' }, el('span', { class: `explain-swatch ${s}`, 'aria-hidden': 'true' }), STATE_WORDS[s])));
  const tbody = el('tbody');
  const table = el('table', { class: 'explain-table' },
    el('caption', {}, 'The examined objects at this step'),
    el('thead', {}, el('tr', {}, ['Object', 'Refcount', 'gc_refs', 'State', 'Verdict (at the end)', 'Reached from'].map((h) => el('th', { scope: 'col' }, h)))),
    tbody);
  const summary = el('p', { class: 'explain-summary' });
  const body = el('div', { class: 'explain-body', hidden: true },
    el('div', { class: 'explain-controls' }, back, step, play, position), phases, captionEl, graph, legend, table, summary);
  root.replaceChildren(el('p', { class: 'hint explain-empty' }, 'Nothing to play yet: collect and explain first.'), body);

  const cy = cytoscape ? cytoscape({ container: graph, style: stylesheet(), wheelSensitivity: 0.3, minZoom: 0.1, maxZoom: 3, boxSelectionEnabled: false }) : null;
  if (!cy) graph.replaceChildren(el('p', { class: 'warning' }, 'The graph drawing library (Cytoscape.js) is missing from static/vendor/; the table below still plays every step.'));

  function stop() {
    clearInterval(timer);
    timer = null;
    play.textContent = 'Play';
  }

  function go(i) {
    index = Math.max(0, Math.min(i, frames.length - 1));
    const frame = frames[index];
    back.disabled = index === 0;
    step.disabled = index === frames.length - 1;
    if (step.disabled) stop();
    position.textContent = `step ${index} of ${frames.length - 1}` + (frame.phase ? ` · ${frame.phase}` : '');
    captionEl.textContent = frame.caption;
    for (const li of phases.children) li.classList.toggle('current', li.dataset.phase === frame.phase);
    const current = frame.entry ? frame.entry.id : null;
    if (cy) {
      cy.batch(() => cy.nodes('[kind="object"]').forEach((n) => {
        const id = n.data('obj');
        const info = frame.nodes.get(id);
        n.data({ label: nodeText(byId.get(id), info, examined.has(id)), state: info && info.state ? info.state : '', current: id === current });
      }));
    }
    for (const tr of tbody.children) {
      const id = Number(tr.dataset.id);
      const info = frame.nodes.get(id) || {};
      tr.classList.toggle('current', id === current);
      tr.querySelector('.gc-refs').textContent = info.gc_refs ?? '–';
      tr.querySelector('.state').textContent = info.state ? stateWord(info.state) : '';
      tr.dataset.state = info.state || '';
      // the collector's decisions are the end of the story: not told before it
      tr.querySelector('.verdict').textContent = index === frames.length - 1 ? tr.dataset.verdict : '…';
      tr.querySelector('.from').textContent = index === frames.length - 1 ? tr.dataset.from : '';
    }
  }

  function draw(snapshot) {
    if (!cy) return;
    const a = analyse(snapshot.objects, snapshot.names);
    const elements = buildElements(a, drawnIds(a, examined));
    cy.elements().remove();
    cy.add([...elements.nodes.map((n) => ({ group: 'nodes', data: { ...n, examined: examined.has(n.obj), state: '' } })),
      ...elements.edges.map((e) => ({ group: 'edges', data: e }))]);
    cy.layout({
      name: 'breadthfirst', directed: true, roots: layoutRoots(elements).map((id) => '#' + CSS.escape(id)).join(','),
      spacingFactor: 1.15, padding: 20, animate: false, avoidOverlap: true,
      transform: (node, pos) => ({ x: pos.y * 1.9, y: pos.x * 0.8 }),
    }).run();
    fit();
  }

  function fit() {
    if (!cy || !graph.clientWidth) return;
    cy.resize();
    cy.fit(undefined, 24);
    if (cy.zoom() > 1.2) {
      cy.zoom(1.2);
      cy.center();
    }
  }

  back.addEventListener('click', () => {
    stop();
    go(index - 1);
  });
  step.addEventListener('click', () => {
    stop();
    go(index + 1);
  });
  play.addEventListener('click', () => {
    if (timer) return stop();
    if (index === frames.length - 1) go(0);
    play.textContent = 'Pause';
    timer = setInterval(() => go(index + 1), PLAY_MS);
  });

  return {
    /**
     * snapshot: {objects, names} read before collecting; result: the
     * answer of POST .../gc/collect {"explain": true}.
     */
    show(snapshot, result) {
      stop();
      const explain = result.explain;
      // the snapshot's copy wins: it has an instance's class
      byId = new Map([...explain.objects, ...snapshot.objects].map((o) => [o.id, o]));
      examined = new Set(explain.objects.map((o) => o.id));
      frames = buildFrames(explain, snapshot.objects);
      phases.replaceChildren(...phaseStarts(frames, explain.phases).map(({ phase, frame }) => el('li', { 'data-phase': phase },
        el('button', { type: 'button', disabled: frame === null, title: frame === null ? 'nothing happened in this phase' : null, onclick: () => {
          stop();
          go(frame);
        } }, phase))));
      tbody.replaceChildren(...explain.objects.map((o) => el('tr', {
        'data-id': o.id, 'data-verdict': o.verdict, 'data-from': o.reachable_from === null ? '' : objectLabel(byId.get(o.reachable_from), o.reachable_from),
      },
      el('th', { scope: 'row' }, objectLabel(byId.get(o.id), o.id)), el('td', { class: 'num' }, o.refcount),
      el('td', { class: 'num gc-refs' }), el('td', { class: 'state' }), el('td', { class: 'verdict' }), el('td', { class: 'from' }))));
      const left = Object.entries(explain.omitted_by_verdict).filter(([, n]) => n > 0).map(([verdict, n]) => `${n} ${verdict}`);
      summary.textContent = `gc.collect(${explain.generation}) examined ${explain.examined} objects: collected ${result.collected}, ` +
        `uncollectable ${result.uncollectable}.` + (explain.omitted ? ` ${explain.omitted} objects past the first ${explain.explained} are not in the timeline: ${left.join(', ')}.` : '');
      root.querySelector('.explain-empty').hidden = true;
      body.hidden = false;
      draw(snapshot);
      go(0);
    },
    resize: fit,
  };
}
