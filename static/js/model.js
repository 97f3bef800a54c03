// model.js — what the graph shows, computed from the public API's object
// list and names. Pure: importable by node for unit tests.

export const SMALL_INT_MIN = -5;
export const SMALL_INT_MAX = 256;
/** Above this many visible objects the graph aggregates by type. */
export const GRAPH_LIMIT = 500;

/** A shared small int (-5..256) or a str of at most one character. */
export function isSmall(o) {
  if (o.type === 'int') return typeof o.value === 'number' && o.value >= SMALL_INT_MIN && o.value <= SMALL_INT_MAX;
  if (o.type === 'str') return typeof o.value === 'string' && o.length <= 1;
  return false;
}

/** Strong references of an object (a weakref's target is not one). */
export function strongRefs(o) {
  return Array.isArray(o.referents) ? o.referents : [];
}

/**
 * objects: [{id, type, refcount, tracked, generation, referents, ...}]
 * names:   {name: id}
 * Returns {byId, reachable, unreachable, reclaimable, named} (Sets of ids):
 * reachable from a name through strong references, or not; reclaimable =
 * unreachable and not frozen (what the next full collection frees, barring
 * finalizers that resurrect).
 */
export function analyse(objects, names) {
  const byId = new Map();
  for (const o of objects) byId.set(o.id, o);
  const reachable = new Set();
  const named = new Map(); // id -> [names]
  const queue = [];
  for (const [name, id] of Object.entries(names || {})) {
    if (!named.has(id)) named.set(id, []);
    named.get(id).push(name);
    if (byId.has(id) && !reachable.has(id)) {
      reachable.add(id);
      queue.push(id);
    }
  }
  while (queue.length) {
    const o = byId.get(queue.pop());
    for (const r of strongRefs(o)) {
      if (byId.has(r) && !reachable.has(r)) {
        reachable.add(r);
        queue.push(r);
      }
    }
  }
  const unreachable = new Set();
  const reclaimable = new Set();
  for (const o of objects) {
    if (reachable.has(o.id)) continue;
    unreachable.add(o.id);
    if (o.generation !== 'permanent') reclaimable.add(o.id);
  }
  return { byId, reachable, unreachable, reclaimable, named };
}

/**
 * The ids the graph draws. By default: everything reachable from names and
 * every unreachable object, except small ints/strs and untracked objects,
 * which the toggles bring in; an object a name is bound to always shows.
 */
export function visibleIds(a, { showSmall = false, showUntracked = false } = {}) {
  const out = new Set();
  for (const [id, o] of a.byId) {
    if (a.named.has(id)) out.add(id);
    else if (!showSmall && isSmall(o)) continue;
    else if (!showUntracked && o.tracked === false) continue;
    else out.add(id);
  }
  return out;
}

/** Counts by type: [{type, count, bytes, unreachable}] largest first. */
export function aggregateByType(objects, a) {
  const m = new Map();
  for (const o of objects) {
    const e = m.get(o.type) || { type: o.type, count: 0, bytes: 0, unreachable: 0 };
    e.count++;
    e.bytes += o.size || 0;
    if (a && a.unreachable.has(o.id)) e.unreachable++;
    m.set(o.type, e);
  }
  return [...m.values()].sort((x, y) => y.count - x.count || x.type.localeCompare(y.type));
}

/** A short preview of an atom's value. */
export function preview(o, max = 12) {
  if (!('value' in o) || o.value === null) return '';
  let s = o.type === 'str' ? JSON.stringify(o.value) : String(o.value);
  if (o.type === 'bytes') s = 'b' + JSON.stringify(o.value);
  return s.length > max ? s.slice(0, max - 1) + '…' : s;
}

/** Generation as a word: 'gen 0', 'gen 1', 'gen 2', 'frozen', 'untracked'. */
export function generationLabel(o) {
  if (o.tracked === false || o.generation === null || o.generation === undefined) return 'untracked';
  if (o.generation === 'permanent') return 'frozen';
  return 'gen ' + o.generation;
}

/** Node label: "#17 list" / "rc 2 · gen 0" (plus a value preview for atoms). */
export function nodeLabel(o) {
  const head = `#${o.id} ${o.type === 'instance' && o.class ? o.class : o.type}`;
  const v = preview(o);
  return `${head}${v ? ' ' + v : ''}\nrc ${o.refcount} · ${generationLabel(o)}`;
}

/**
 * Graph elements in plain data: names as nodes on the left, objects, and
 * edges name→object and object→referent (repeated references drawn once
 * with a count). Ids: 'n:<name>', 'o:<id>', 'e:<from>-><to>'.
 */
export function buildElements(a, visible) {
  const nodes = [];
  const edges = [];
  for (const [id, list] of a.named) {
    for (const name of list) {
      nodes.push({ id: 'n:' + name, kind: 'name', label: name, target: id });
      if (visible.has(id)) edges.push({ id: `e:n:${name}->o:${id}`, source: 'n:' + name, target: 'o:' + id, kind: 'name', count: 1 });
    }
  }
  for (const id of [...visible].sort((x, y) => x - y)) {
    const o = a.byId.get(id);
    const hidden = strongRefs(o).filter((r) => !visible.has(r)).length;
    nodes.push({
      id: 'o:' + id,
      kind: 'object',
      obj: id,
      label: nodeLabel(o) + (hidden ? ` · +${hidden} hidden` : '') +
        (a.unreachable.has(id) ? (a.reclaimable.has(id) ? '\n✗ unreachable' : '\n✗ unreachable (frozen)') : ''),
      type: o.type,
      refcount: o.refcount,
      generation: generationLabel(o),
      tracked: o.tracked !== false,
      unreachable: a.unreachable.has(id),
      reclaimable: a.reclaimable.has(id),
    });
    const counts = new Map();
    for (const r of strongRefs(o)) if (visible.has(r)) counts.set(r, (counts.get(r) || 0) + 1);
    for (const [r, count] of counts) {
      edges.push({
        id: `e:o:${id}->o:${r}`,
        source: 'o:' + id,
        target: 'o:' + r,
        kind: 'ref',
        count,
        unreachable: a.unreachable.has(id),
      });
    }
  }
  return { nodes, edges };
}

/**
 * Layout roots for a left-to-right tree: the names, and for every group of
 * unreachable objects one object nothing visible points to (or the lowest
 * id of a pure cycle).
 */
export function layoutRoots(elements) {
  const roots = elements.nodes.filter((n) => n.kind === 'name').map((n) => n.id);
  const unreach = elements.nodes.filter((n) => n.kind === 'object' && n.unreachable).map((n) => n.id);
  const set = new Set(unreach);
  const adj = new Map(unreach.map((id) => [id, []]));
  const hasIn = new Set();
  for (const e of elements.edges) {
    if (set.has(e.source) && set.has(e.target)) {
      adj.get(e.source).push(e.target);
      adj.get(e.target).push(e.source);
      if (e.source !== e.target) hasIn.add(e.target);
    }
  }
  const seen = new Set();
  for (const start of unreach) {
    if (seen.has(start)) continue;
    const comp = [];
    const stack = [start];
    seen.add(start);
    while (stack.length) {
      const x = stack.pop();
      comp.push(x);
      for (const y of adj.get(x)) if (!seen.has(y)) (seen.add(y), stack.push(y));
    }
    const entry = comp.find((x) => !hasIn.has(x)) || comp.sort((p, q) => Number(p.slice(2)) - Number(q.slice(2)))[0];
    roots.push(entry);
  }
  return roots;
}

/** A cheap fingerprint of GET /v1/heaps/{h}: differs when the heap changed. */
export function summarySignature(s) {
  if (!s) return '';
  return JSON.stringify([s.version, s.objects, s.bytes, s.names, s.gc && s.gc.count, s.gc && s.gc.stats, s.gc && s.gc.frozen,
    s.gc && s.gc.enabled, s.gc && s.gc.thresholds, s.memory]);
}

/** Parses what a student types for an object: 17, "#17" or a bound name. */
export function resolveObject(text, names) {
  const t = String(text || '').trim();
  if (/^#?\d+$/.test(t)) return Number(t.replace('#', ''));
  if (t && names && Object.prototype.hasOwnProperty.call(names, t)) return names[t];
  return null;
}
