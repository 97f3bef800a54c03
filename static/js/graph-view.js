// graph-view.js — the object graph (Cytoscape.js), its accessible table,
// the by-type aggregate beyond GRAPH_LIMIT objects, and the legend.
import { analyse, visibleIds, buildElements, layoutRoots, aggregateByType, generationLabel, GRAPH_LIMIT, preview } from './model.js';
import { OI, GENERATION_COLOURS } from './palette.js';
import { el, fmtBytes } from './dom.js';

function stylesheet() {
  const s = [
    {
      selector: 'node[kind="object"]',
      style: {
        shape: 'round-rectangle', width: 124, height: 46, label: 'data(label)', 'text-wrap': 'wrap',
        'text-max-width': 120, 'text-valign': 'center', 'text-halign': 'center', 'font-size': 11,
        'font-family': 'system-ui, sans-serif', color: '#000', 'border-width': 1.5, 'border-color': '#333',
      },
    },
    {
      selector: 'node[kind="name"]',
      style: {
        shape: 'tag', 'background-color': OI.black, color: '#fff', label: 'data(label)', height: 28,
        width: (n) => Math.max(56, 9 * String(n.data('label')).length + 30),
        'font-size': 13, 'font-weight': 'bold', 'font-family': 'ui-monospace, monospace', 'text-valign': 'center',
      },
    },
    { selector: 'node[kind="object"][!tracked]', style: { shape: 'rectangle', 'border-style': 'dashed', 'border-width': 2, 'border-color': '#555' } },
    {
      selector: 'node[?unreachable]',
      style: { shape: 'octagon', 'border-color': OI.vermillion, 'border-width': 6, 'border-style': 'double', height: 58, width: 132 },
    },
    { selector: 'node[generation="frozen"]', style: { 'border-style': 'dotted', 'border-width': 4 } },
    { selector: 'node:selected', style: { 'overlay-color': OI.blue, 'overlay-opacity': 0.25, 'overlay-padding': 6 } },
    {
      selector: 'edge',
      style: {
        width: 1.8, 'line-color': '#555', 'target-arrow-color': '#555', 'target-arrow-shape': 'triangle',
        'curve-style': 'bezier', 'arrow-scale': 1.1, 'loop-direction': '-45deg', 'loop-sweep': '-70deg',
        'control-point-step-size': 60,
      },
    },
    { selector: 'edge[count > 1]', style: { label: '×data(count)', 'font-size': 11, 'text-background-color': '#fff', 'text-background-opacity': 1 } },
    { selector: 'edge[kind="name"]', style: { width: 2.5, 'line-color': OI.blue, 'target-arrow-color': OI.blue } },
    { selector: 'edge[?unreachable]', style: { 'line-color': OI.vermillion, 'target-arrow-color': OI.vermillion, 'line-style': 'dashed' } },
  ];
  for (const [g, c] of Object.entries(GENERATION_COLOURS)) s.splice(3, 0, { selector: `node[generation="${g}"]`, style: { 'background-color': c } });
  return s;
}

export function legendItems() {
  return [
    ['swatch gen0', 'gen 0 (young)'],
    ['swatch gen1', 'gen 1'],
    ['swatch gen2', 'gen 2 (old)'],
    ['swatch frozen', 'frozen (permanent, dotted border)'],
    ['swatch untracked', 'untracked by gc (square, dashed border)'],
    ['swatch unreachable', 'unreachable from every name: the next full collection frees it (octagon, double border)'],
    ['swatch name', 'a name (root)'],
  ];
}

export function createGraphView({ container, detail, tableBody, aggregate, counts, legend, cytoscape, onSelect }) {
  let cy = null;
  let lastShape = '';
  let selected = null;
  legend.replaceChildren(...legendItems().map(([cls, text]) => el('span', { class: 'legend-item' }, el('span', { class: cls, 'aria-hidden': 'true' }), text)));

  if (cytoscape) {
    cy = cytoscape({ container, style: stylesheet(), wheelSensitivity: 0.3, minZoom: 0.1, maxZoom: 3, boxSelectionEnabled: false });
    cy.on('tap', 'node[kind="object"]', (e) => onSelect(e.target.data('obj')));
    cy.on('tap', 'node[kind="name"]', (e) => onSelect(e.target.data('target')));
  } else {
    container.replaceChildren(el('p', { class: 'warning' }, 'The graph drawing library (Cytoscape.js) is missing from static/vendor/: run deploy/setup run (or npm ci in static/ and copy the files), then reload. The table below still lists every object.'));
  }

  function renderTable(a, visible) {
    const rows = [];
    for (const id of [...visible].sort((x, y) => x - y).slice(0, GRAPH_LIMIT)) {
      const o = a.byId.get(id);
      const names = a.named.get(id);
      rows.push(el('tr', { 'data-id': id, class: a.unreachable.has(id) ? 'unreachable' : null },
        el('td', {}, el('button', { type: 'button', class: 'obj-btn', 'data-id': id, onclick: () => onSelect(id), 'aria-label': `object ${id}: details` }, '#' + id),
          names ? ' ' + names.join(', ') : ''),
        el('td', {}, (o.type === 'instance' && o.class ? o.class + ' instance' : o.type) + (preview(o) ? ' ' + preview(o, 24) : '')),
        el('td', { class: 'num' }, o.refcount),
        el('td', {}, generationLabel(o)),
        el('td', { class: 'reach' }, a.reachable.has(id) ? 'yes' : a.reclaimable.has(id) ? '✗ no: next full collection frees it' : '✗ no (frozen)'),
        el('td', {}, (o.referents || []).map((r) => '#' + r).join(' '))));
    }
    tableBody.replaceChildren(...rows);
  }

  function renderAggregate(objects, a, truncated, total) {
    const rows = aggregateByType(objects, a).map((r) =>
      el('tr', {}, el('th', { scope: 'row' }, r.type), el('td', { class: 'num' }, r.count), el('td', { class: 'num' }, fmtBytes(r.bytes)), el('td', { class: 'num' }, r.unreachable)));
    aggregate.replaceChildren(
      el('p', { class: 'notice' }, `${total} objects are too many to draw readably (the graph stops at ${GRAPH_LIMIT}); here they are counted by type` +
        (truncated ? `, from the first ${objects.length} objects the dashboard read` : '') + '. Hide small ints/strs and untracked objects, or free some, to see the graph again.'),
      el('table', {}, el('caption', {}, 'Objects by type'),
        el('thead', {}, el('tr', {}, el('th', { scope: 'col' }, 'Type'), el('th', { scope: 'col' }, 'Objects'), el('th', { scope: 'col' }, 'Bytes'), el('th', { scope: 'col' }, 'Unreachable'))),
        el('tbody', {}, rows)));
  }

  function renderCy(elements) {
    const shape = JSON.stringify([elements.nodes.map((n) => n.id), elements.edges.map((e) => e.id)]);
    const data = [
      ...elements.nodes.map((n) => ({ group: 'nodes', data: n })),
      ...elements.edges.map((e) => ({ group: 'edges', data: e })),
    ];
    if (shape === lastShape) {
      cy.batch(() => data.forEach((d) => cy.getElementById(d.data.id).data(d.data)));
      return;
    }
    lastShape = shape;
    const keep = new Set(data.map((d) => d.data.id));
    cy.batch(() => {
      cy.elements().filter((e) => !keep.has(e.id())).remove();
      for (const d of data) {
        const x = cy.getElementById(d.data.id);
        if (x.nonempty()) x.data(d.data);
        else cy.add(d);
      }
    });
    if (selected !== null) cy.getElementById('o:' + selected).select();
    cy.layout({
      name: 'breadthfirst', directed: true, roots: layoutRoots(elements).map((id) => '#' + CSS.escape(id)).join(','),
      spacingFactor: 1.15, padding: 20, animate: false, avoidOverlap: true,
      transform: (node, pos) => ({ x: pos.y * 1.9, y: pos.x * 0.8 }),
    }).run();
    cy.fit(undefined, 24);
    if (cy.zoom() > 1.2) {
      cy.zoom(1.2);
      cy.center();
    }
  }

  return {
    /** objects/names: as the API gives them; opts: toggles. Returns the analysis. */
    render({ objects, names, truncated, total }, opts) {
      const a = analyse(objects, names);
      const visible = visibleIds(a, opts);
      const unreach = [...a.unreachable].filter((id) => visible.has(id)).length;
      counts.textContent = `${total} objects in the heap, ${visible.size} shown, ${a.reclaimable.size} unreachable (the next full collection frees them)`;
      counts.dataset.visible = visible.size;
      counts.dataset.unreachable = a.unreachable.size;
      const tooMany = visible.size > GRAPH_LIMIT || truncated;
      aggregate.hidden = !tooMany;
      container.classList.toggle('dim', tooMany);
      if (tooMany) {
        renderAggregate(objects, a, truncated, total);
        if (cy) {
          cy.elements().remove();
          lastShape = '';
        }
      } else if (cy) {
        renderCy(buildElements(a, visible));
      }
      renderTable(a, tooMany ? new Set() : visible);
      container.dataset.unreachableShown = unreach;
      return a;
    },
    select(id) {
      selected = id;
      if (!cy) return;
      cy.$(':selected').unselect();
      const n = cy.getElementById('o:' + id);
      if (n.nonempty()) n.select();
    },
    resize() {
      if (cy) {
        cy.resize();
        cy.fit(undefined, 24);
        if (cy.zoom() > 1.2) {
          cy.zoom(1.2);
          cy.center();
        }
      }
    },
    fit() {
      if (cy) cy.fit(undefined, 24);
    },
    detail,
    get cy() {
      return cy;
    },
  };
}
