// gc-view.js — the collector: gauges of count against threshold, state,
// per-generation stats, and a timeline (uPlot) of objects in use with every
// collection marked.
import { el, fmtTime } from './dom.js';
import { OI, GENERATION_COLOURS } from './palette.js';

const GAUGE_TEXT = [
  'allocations minus deallocations of tracked objects since the last collection',
  'generation-0 collections since the last generation-1 collection',
  'generation-1 collections since the last full collection',
];

function renderGauges(container, gc) {
  container.replaceChildren(...[0, 1, 2].map((g) => {
    const count = gc.count[g];
    const th = gc.thresholds[g];
    const meter = el('meter', { id: `gauge-${g}`, min: 0, max: Math.max(th, 1), value: Math.min(count, Math.max(th, 1)), high: Math.max(th, 1) * 0.8, 'aria-describedby': `gauge-${g}-text` });
    return el('div', { class: `gauge gen${g}`, 'data-generation': g, 'data-count': count, 'data-threshold': th },
      el('label', { for: `gauge-${g}` }, `gen ${g}`), meter,
      el('span', { id: `gauge-${g}-text`, class: 'gauge-text' }, `${count} / ${th}`, el('small', {}, ` — ${GAUGE_TEXT[g]}`)));
  }));
}

function renderState(container, gc) {
  const badge = (on, yes, no) => el('span', { class: 'badge ' + (on ? 'on' : 'off') }, on ? '● ' + yes : '○ ' + no);
  container.replaceChildren(
    badge(gc.enabled, 'automatic collection enabled', 'automatic collection disabled (gc.disable())'),
    badge(gc.frozen > 0, `${gc.frozen} objects frozen (gc.freeze())`, 'nothing frozen'),
    el('span', { class: 'badge' }, `long-lived: ${gc.long_lived_total} total, ${gc.long_lived_pending} pending`),
    gc.last_collection ? el('span', { class: 'badge' }, `last: gen ${gc.last_collection.generation}, collected ${gc.last_collection.collected}`) : '');
}

function renderStats(container, gc) {
  const head = el('tr', {}, el('th', { scope: 'col' }, 'Generation'), el('th', { scope: 'col' }, 'Objects in it'), el('th', { scope: 'col' }, 'Collections'),
    el('th', { scope: 'col' }, 'Collected'), el('th', { scope: 'col' }, 'Uncollectable'), el('th', { scope: 'col' }, 'Threshold'));
  const rows = [0, 1, 2].map((g) => el('tr', { 'data-generation': g },
    el('th', { scope: 'row' }, `gen ${g}`), el('td', { class: 'num' }, gc.generation_sizes[g]), el('td', { class: 'num' }, gc.stats[g].collections),
    el('td', { class: 'num' }, gc.stats[g].collected), el('td', { class: 'num' }, gc.stats[g].uncollectable), el('td', { class: 'num' }, gc.thresholds[g])));
  container.replaceChildren(el('table', { id: 'gc-stats-table' }, el('thead', {}, head), el('tbody', {}, rows)));
}

function renderCollections(tbody, colls) {
  tbody.replaceChildren(...colls.slice().reverse().slice(0, 50).map((c) => el('tr', { 'data-seq': c.seq, 'data-generation': c.generation, 'data-collected': c.collected },
    el('td', {}, fmtTime(c.time_ms)), el('td', {}, 'gen ' + c.generation), el('td', {}, c.automatic ? 'automatic' : 'gc.collect()'),
    el('td', { class: 'num' }, c.collected), el('td', { class: 'num' }, c.uncollectable), el('td', { class: 'num' }, c.examined),
    el('td', { class: 'num' }, c.duration_us + ' µs'))));
  if (!colls.length) tbody.replaceChildren(el('tr', {}, el('td', { colspan: 7, class: 'hint' }, 'No collection yet.')));
}

/** uPlot's aligned data from samples [{t, objects}] and collections. */
export function timelineData(samples, colls) {
  const xs = [...new Set([...samples.map((s) => s.t), ...colls.map((c) => c.time_ms)])].sort((a, b) => a - b);
  const idx = new Map(xs.map((x, i) => [x, i]));
  const objects = xs.map(() => null);
  const gens = [0, 1, 2].map(() => xs.map(() => null));
  for (const s of samples) objects[idx.get(s.t)] = s.objects;
  for (const c of colls) if (c.generation >= 0 && c.generation <= 2) gens[c.generation][idx.get(c.time_ms)] = c.collected;
  return [xs.map((x) => x / 1000), objects, ...gens];
}

export function createGcView({ state, gauges, stats, timeline, legend, collections, uPlot }) {
  let plot = null;
  let lastData = null;
  const colours = [GENERATION_COLOURS['gen 0'], GENERATION_COLOURS['gen 1'], GENERATION_COLOURS['gen 2']];
  legend.replaceChildren(
    el('span', { class: 'legend-item' }, el('span', { class: 'line-swatch', 'aria-hidden': 'true' }), 'objects in use (left axis)'),
    ...[0, 1, 2].map((g) => el('span', { class: 'legend-item' }, el('span', { class: `dot gen${g}`, 'aria-hidden': 'true' }), `gen ${g} collection: objects collected (right axis; bigger dot = older generation)`)));
  if (!uPlot) timeline.replaceChildren(el('p', { class: 'warning' }, 'The plotting library (uPlot) is missing from static/vendor/: run deploy/setup run, then reload. The table below lists every collection.'));

  function makePlot(data) {
    const width = Math.max(timeline.clientWidth || 0, 300);
    const pts = (g) => ({
      label: `gen ${g} collected`, scale: 'n', stroke: colours[g], fill: colours[g], width: 0, spanGaps: false,
      paths: () => null, points: { show: true, size: 9 + 3 * g, fill: colours[g], stroke: '#000', width: 1 },
      value: (u, v) => (v === null ? '–' : String(v)),
    });
    plot = new uPlot({
      width, height: 240, cursor: { drag: { x: false, y: false } }, legend: { show: false },
      scales: { x: { time: true }, n: { range: (u, min, max) => [0, Math.max(3, max * 1.2)] } },
      axes: [{}, { label: 'objects in use', stroke: '#222' }, { scale: 'n', side: 1, label: 'collected', grid: { show: false } }],
      series: [
        {},
        { label: 'objects in use', stroke: OI.blue, width: 2, spanGaps: true, paths: uPlot.paths && uPlot.paths.stepped ? uPlot.paths.stepped({ align: 1 }) : undefined, points: { show: false } },
        pts(0), pts(1), pts(2),
      ],
    }, data, timeline);
  }

  return {
    render(gc, samples, colls) {
      renderState(state, gc);
      renderGauges(gauges, gc);
      renderStats(stats, gc);
      renderCollections(collections, colls);
      if (!uPlot) return;
      const data = timelineData(samples, colls);
      lastData = data;
      if (!plot) {
        if (timeline.clientWidth === 0) return; // hidden tab: draw when shown
        makePlot(data);
      } else {
        plot.setData(data);
      }
    },
    resize() {
      if (!uPlot) return;
      if (!plot && lastData && timeline.clientWidth) makePlot(lastData);
      else if (plot && timeline.clientWidth) plot.setSize({ width: timeline.clientWidth, height: 240 });
    },
  };
}
