// memory.js — the arithmetic of the memory map (GET /memory?map=1).
// Pure: importable by node for unit tests.

/** Block size in bytes of pymalloc size class i (16-byte steps). */
export function classSize(i) {
  return (i + 1) * 16;
}

// Viridis (perceptually uniform, readable with every common colour-vision
// deficiency), stopped short of its palest yellow so a full pool still
// stands out from an empty one.
const VIRIDIS = ['#440154', '#482878', '#3e4989', '#31688e', '#26828e', '#1f9e89', '#35b779', '#6ece58', '#b5de2b'];

function hex(c) {
  return [1, 3, 5].map((i) => parseInt(c.slice(i, i + 2), 16));
}

/** The colour of size class i (0..31), dark for small blocks. */
export function classColour(i, classes = 32) {
  const t = Math.min(Math.max(i / Math.max(classes - 1, 1), 0), 1) * (VIRIDIS.length - 1);
  const k = Math.min(Math.floor(t), VIRIDIS.length - 2);
  const f = t - k;
  const [a, b] = [hex(VIRIDIS[k]), hex(VIRIDIS[k + 1])];
  return '#' + a.map((x, j) => Math.round(x + (b[j] - x) * f).toString(16).padStart(2, '0')).join('');
}

/** Text (black or white) readable on a classColour. */
export function textOn(colour) {
  const [r, g, b] = hex(colour);
  return 0.299 * r + 0.587 * g + 0.114 * b > 140 ? '#000000' : '#ffffff';
}

/**
 * Totals of an arena map: {arenas, pools, poolsInUse, poolsEmpty,
 * usedBlocks, freeBlocks, byClass: {class: {pools, used, free}}}.
 * "free" counts every block of an in-use pool not handed out, carved or
 * not, as GET /memory's free_blocks does.
 */
export function mapTotals(arenaMap) {
  const t = { arenas: 0, pools: 0, poolsInUse: 0, poolsEmpty: 0, usedBlocks: 0, freeBlocks: 0, byClass: {} };
  for (const a of arenaMap || []) {
    t.arenas++;
    for (const [cls, used, cap] of a.pools) {
      t.pools++;
      if (cls < 0) {
        t.poolsEmpty++;
        continue;
      }
      t.poolsInUse++;
      t.usedBlocks += used;
      t.freeBlocks += cap - used;
      const c = t.byClass[cls] || (t.byClass[cls] = { pools: 0, used: 0, free: 0 });
      c.pools++;
      c.used += used;
      c.free += cap - used;
    }
  }
  return t;
}

/** Words for one pool, as the hover shows them. */
export function poolText(arena, index, [cls, used, cap]) {
  if (cls < 0) return `arena ${arena}, pool ${index}: empty (no size class yet, 16 KiB waiting)`;
  const pct = cap ? Math.round((100 * used) / cap) : 0;
  return `arena ${arena}, pool ${index}: size class ${cls} (${classSize(cls)}-byte blocks), ${used} of ${cap} blocks used (${pct}%)`;
}

/**
 * What changed between two arena maps, in sentences a student can follow:
 * arenas allocated or released, pools taking or giving up a size class,
 * blocks handed out or freed.
 */
export function diffMaps(prev, next) {
  if (!prev) return [];
  const out = [];
  const before = new Map(prev.map((a) => [a.arena, a]));
  const after = new Map(next.map((a) => [a.arena, a]));
  for (const [i] of after) if (!before.has(i)) out.push(`arena ${i} allocated (1 MiB from the OS)`);
  for (const [i] of before) if (!after.has(i)) out.push(`arena ${i} released to the OS (all its pools were empty)`);
  for (const [i, a] of after) {
    const b = before.get(i);
    if (!b) continue;
    a.pools.forEach((p, k) => {
      const q = b.pools[k] || [-1, 0, 0];
      if (q[0] !== p[0]) {
        if (p[0] < 0) out.push(`arena ${i}, pool ${k}: emptied, back to the arena's free pools`);
        else out.push(`arena ${i}, pool ${k}: now serves size class ${p[0]} (${classSize(p[0])}-byte blocks), ${p[1]} used`);
      } else if (q[1] !== p[1] && p[0] >= 0) {
        const d = p[1] - q[1];
        out.push(`arena ${i}, pool ${k} (${classSize(p[0])} B): ${d > 0 ? '+' : ''}${d} block${Math.abs(d) === 1 ? '' : 's'} (${p[1]}/${p[2]} used)`);
      }
    });
  }
  return out;
}

/**
 * Checks the map against /memory's totals; returns a list of mismatches
 * (empty when they agree). Used by the page (to warn) and the tests.
 */
export function checkAgainstMemory(memory) {
  const t = mapTotals(memory.arena_map);
  const bad = [];
  if (t.arenas !== memory.arenas.in_use) bad.push(`arenas ${t.arenas} != ${memory.arenas.in_use}`);
  if (t.poolsInUse !== memory.pools.in_use) bad.push(`pools in use ${t.poolsInUse} != ${memory.pools.in_use}`);
  for (const c of memory.size_classes) {
    const m = t.byClass[c.index] || { pools: 0, used: 0, free: 0 };
    if (m.used !== c.used_blocks || m.free !== c.free_blocks || m.pools !== c.pools)
      bad.push(`class ${c.index}: map ${m.pools}/${m.used}/${m.free} != ${c.pools}/${c.used_blocks}/${c.free_blocks}`);
  }
  return bad;
}
