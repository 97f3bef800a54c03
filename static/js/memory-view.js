// memory-view.js — arenas as rows of pools, the per-class bar chart and
// the totals of GET /memory?map=1.
import { el, svg, fmtBytes } from './dom.js';
import { classColour, mapTotals, poolText, diffMaps } from './memory.js';

const CELL_W = 14;
const CELL_H = 42;
const GAP = 2;
const LABEL_W = 70;

function poolCell(arena, k, pool, x) {
  const [cls, used, cap] = pool;
  const g = svg('g', {
    class: 'pool', 'data-arena': arena, 'data-pool': k, 'data-size-class': cls, 'data-used': used, 'data-capacity': cap,
    tabindex: cls < 0 ? null : 0, role: cls < 0 ? null : 'img', 'aria-label': cls < 0 ? null : poolText(arena, k, pool),
  });
  g.append(svg('title', {}, poolText(arena, k, pool)));
  if (cls < 0) {
    g.append(svg('rect', { x, y: 0, width: CELL_W, height: CELL_H, fill: '#ffffff', stroke: '#b0b0b0', 'stroke-dasharray': '2 2' }));
    return g;
  }
  const colour = classColour(cls);
  const h = cap ? Math.max(used > 0 ? 2 : 0, Math.round((CELL_H * used) / cap)) : 0;
  g.append(svg('rect', { x, y: 0, width: CELL_W, height: CELL_H, fill: 'url(#free-hatch)', stroke: colour, 'stroke-width': 2 }));
  if (h) g.append(svg('rect', { x: x + 1, y: CELL_H - h, width: CELL_W - 2, height: h, fill: colour }));
  return g;
}

function renderMap(container, map, info) {
  const width = LABEL_W + 64 * (CELL_W + GAP);
  const rowH = CELL_H + 10;
  const root = svg('svg', { width, height: Math.max(rowH * map.length, rowH), role: 'group', 'aria-label': `memory map: ${map.length} arena(s)` });
  root.append(svg('defs', {}, svg('pattern', { id: 'free-hatch', width: 4, height: 4, patternUnits: 'userSpaceOnUse', patternTransform: 'rotate(45)' },
    svg('rect', { width: 4, height: 4, fill: '#ffffff' }), svg('line', { x1: 0, y1: 0, x2: 0, y2: 4, stroke: '#c8c8c8', 'stroke-width': 1.5 }))));
  map.forEach((a, r) => {
    const t = mapTotals([a]);
    const row = svg('g', { class: 'arena', 'data-arena': a.arena, transform: `translate(0 ${r * rowH + 4})`, role: 'group',
      'aria-label': `arena ${a.arena}: ${t.poolsInUse} pools in use, ${t.poolsEmpty} empty, ${t.usedBlocks} blocks used` });
    row.append(svg('text', { x: 0, y: CELL_H / 2 + 4, class: 'arena-label' }, `arena ${a.arena}`));
    a.pools.forEach((p, k) => {
      const cell = poolCell(a.arena, k, p, LABEL_W + k * (CELL_W + GAP));
      const show = () => (info.textContent = poolText(a.arena, k, p));
      cell.addEventListener('mouseenter', show);
      cell.addEventListener('focus', show);
      row.append(cell);
    });
    root.append(row);
  });
  if (!map.length) root.append(svg('text', { x: 0, y: 20 }, 'No arena yet: create an object to make pymalloc allocate one.'));
  container.replaceChildren(root);
}

function renderLegend(container, memory) {
  const items = memory.size_classes.map((c) => {
    const colour = classColour(c.index);
    const sw = el('span', { class: 'class-swatch', 'aria-hidden': 'true' });
    sw.style.background = colour;
    return el('span', { class: 'legend-item' }, sw, `${c.size} B`);
  });
  container.replaceChildren(
    el('span', { class: 'legend-item' }, el('span', { class: 'swatch pool-empty', 'aria-hidden': 'true' }), 'empty pool'),
    el('span', { class: 'legend-item' }, el('span', { class: 'swatch pool-free', 'aria-hidden': 'true' }), 'free blocks (hatched)'),
    ...items);
}

function renderBars(container, memory) {
  const classes = memory.size_classes;
  const max = Math.max(1, ...classes.map((c) => c.used_blocks + c.free_blocks));
  const rows = classes.map((c) => {
    const used = el('span', { class: 'bar-used' });
    used.style.width = (100 * c.used_blocks) / max + '%';
    used.style.background = classColour(c.index);
    const free = el('span', { class: 'bar-free' });
    free.style.width = (100 * c.free_blocks) / max + '%';
    const text = el('span', { class: 'bar-text' }, `${c.used_blocks} used / ${c.free_blocks} free in ${c.pools} pool${c.pools === 1 ? '' : 's'}`);
    return el('div', { class: 'bar-row', 'data-size-class': c.index, 'data-used': c.used_blocks, 'data-free': c.free_blocks, 'data-pools': c.pools },
      el('span', { class: 'bar-label' }, `${c.size} B (class ${c.index})`),
      el('span', { class: 'bar', role: 'img', 'aria-label': `${c.size}-byte blocks: ${c.used_blocks} used, ${c.free_blocks} free` }, used, free),
      text);
  });
  container.replaceChildren(...(rows.length ? rows : [el('p', { class: 'hint' }, 'No pool is in use.')]));
}

function renderTotals(container, m) {
  const rows = [
    ['arenas in use', m.arenas.in_use, 'arenas-in-use'],
    ['arenas allocated (ever)', m.arenas.allocated, 'arenas-allocated'],
    ['arenas released to the OS', m.arenas.reclaimed, 'arenas-reclaimed'],
    ['arenas high-water mark', m.arenas.highwater, 'arenas-highwater'],
    ['pools in use', m.pools.in_use, 'pools-in-use'],
    ['empty pools (in live arenas)', m.pools.empty, 'pools-empty'],
    ['allocated blocks (pool blocks + large objects)', m.allocated_blocks, 'allocated-blocks'],
    ['bytes in use', `${m.bytes_in_use} (${fmtBytes(m.bytes_in_use)})`, 'bytes-in-use'],
    ['large objects (malloc)', `${m.large.count} (${fmtBytes(m.large.bytes)})`, 'large'],
    ['free bytes in used pools', m.overhead.available_blocks, 'available-blocks'],
    ['bytes in empty pools', m.overhead.unused_pools, 'unused-pools'],
    ['pool headers', m.overhead.pool_headers, 'pool-headers'],
    ['rounding to size classes', m.overhead.quantization, 'quantization'],
    ['arena alignment', m.overhead.arena_alignment, 'arena-alignment'],
  ];
  container.replaceChildren(el('table', {}, el('caption', { class: 'sr' }, 'Memory totals'),
    el('tbody', {}, rows.map(([k, v, key]) => el('tr', { 'data-key': key }, el('th', { scope: 'row' }, k), el('td', { class: 'num' }, String(v)))))));
}

export function createMemoryView({ map, info, legend, changes, bars, totals }) {
  let prev = null;
  const log = [];
  return {
    render(memory) {
      renderMap(map, memory.arena_map, info);
      renderLegend(legend, memory);
      renderBars(bars, memory);
      renderTotals(totals, memory);
      const diff = diffMaps(prev, memory.arena_map);
      prev = memory.arena_map;
      if (diff.length) {
        const stamp = new Date().toLocaleTimeString([], { hour12: false });
        for (const d of diff.slice(0, 12)) log.unshift(`${stamp} ${d}`);
        if (diff.length > 12) log.unshift(`${stamp} … and ${diff.length - 12} more changes`);
        log.length = Math.min(log.length, 30);
        changes.replaceChildren(...log.map((t) => el('li', {}, t)));
      } else if (!log.length) {
        changes.replaceChildren(el('li', { class: 'hint' }, 'Changes to arenas and pools appear here as they happen.'));
      }
    },
    reset() {
      prev = null;
      log.length = 0;
    },
  };
}
