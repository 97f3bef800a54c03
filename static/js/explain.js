// explain.js — the logic of the explain playback: the timeline that
// POST .../gc/collect {"explain": true} answers becomes frames (every
// object's gc_refs and state after each step) with one caption per step.
// Pure: no DOM, importable by node for unit tests.

/** States as words a student reads on a node. */
export const STATE_WORDS = {
  reachable: 'reachable',
  tentatively_unreachable: 'tentatively unreachable',
  rescued: 'rescued',
  untracked: 'untracked',
  cleared: 'cleared',
  finalized: 'finalized (__del__ ran)',
  resurrected: 'resurrected',
  freed: 'freed',
};

export const stateWord = (state) => STATE_WORDS[state] || state;

/** "list #5", "Node #7" (an instance by its class), "object #9" when unknown. */
export function objectLabel(o, id) {
  if (!o) return `object #${id}`;
  return `${o.type === 'instance' && o.class ? o.class : o.type} #${id}`;
}

const plural = (n, one, many) => `${n} ${n === 1 ? one : many}`;

/**
 * The sentence for one timeline entry.
 *   entry   {phase, id, gc_refs?, state?, by?, callback?}
 *   before  the object's {gc_refs, state} before this entry ({} if none)
 *   ctx     {label(id) → "list #5", generation}
 */
export function caption(entry, before, { label, generation }) {
  const what = label(entry.id);
  const gen = `generation ${generation}`;
  switch (`${entry.phase}:${entry.state ?? ''}`) {
    case 'update_refs:':
      return `update_refs: ${what} starts with gc_refs = its refcount, ${entry.gc_refs}`;
    case 'subtract_refs:': {
      const from = before.gc_refs ?? entry.gc_refs;
      if (entry.gc_refs === 0) return `subtract_refs: ${what} is referenced only from inside ${gen}: gc_refs ${from} → 0`;
      if (entry.gc_refs === from) return `subtract_refs: nothing inside ${gen} refers to ${what}: gc_refs stays ${from} (names or older objects), so it is reachable`;
      return `subtract_refs: ${what} keeps ${plural(entry.gc_refs, 'reference', 'references')} from outside ${gen} (names or older objects): ` +
        `gc_refs ${from} → ${entry.gc_refs}, so it is reachable`;
    }
    case 'move_unreachable:reachable':
      return entry.by
        ? `move_unreachable: ${what} is reached through ${label(entry.by)}, which is reachable: it stays`
        : `move_unreachable: ${what} has gc_refs ${before.gc_refs}: reachable, it stays`;
    case 'move_unreachable:tentatively_unreachable':
      return `move_unreachable: ${what} has gc_refs 0 and nothing reachable has reached it yet: tentatively unreachable`;
    case 'move_unreachable:rescued':
      return `move_unreachable: ${what} is referenced by ${label(entry.by)}, which is reachable: rescued`;
    case 'move_unreachable:untracked':
      return `move_unreachable: ${what} holds nothing the collector tracks, so it can never be part of a cycle: the collector stops tracking it`;
    case 'weakrefs:cleared':
      return `weakrefs: ${what} referred to an unreachable object, so it is cleared` +
        (entry.callback ? ' and its callback runs' : ' (no callback runs)');
    case 'finalizers:finalized':
      return `finalizers: ${what}'s __del__ runs (PEP 442: at most once per object)`;
    case 'resurrection:resurrected':
      return `resurrection: a finalizer made ${what} reachable again: this collection keeps it`;
    case 'delete:freed':
      return `delete: ${what} is freed: the collector clears the garbage's references and refcounts fall to 0`;
    default:
      // a weakref callback or a finalizer can drop the last reference to an object in any phase
      if (entry.state === 'freed') return `${entry.phase}: ${what}'s refcount fell to 0: freed`;
      return `${entry.phase}: ${what} ${stateWord(entry.state)}`;
  }
}

/**
 * Frames to play: frame 0 is the heap before the collection, frame i the
 * state after timeline entry i-1.
 *   explain  the answer's `explain` member
 *   objects  the heap's objects as read before collecting (the collection
 *            frees some), for class names in the captions
 * Each frame: {entry, phase, caption, nodes: Map id → {gc_refs, state, by}}.
 */
export function buildFrames(explain, objects = []) {
  const known = new Map(objects.map((o) => [o.id, o]));
  for (const o of explain.objects) if (!known.has(o.id)) known.set(o.id, o);
  const ctx = { label: (id) => objectLabel(known.get(id), id), generation: explain.generation };
  let nodes = new Map();
  const frames = [{
    entry: null, phase: null, nodes,
    caption: `Before gc.collect(${explain.generation}): ${plural(explain.examined, 'object', 'objects')} to examine` +
      (explain.omitted ? `, the first ${explain.explained} of them explained step by step.` : '. Step through what the collector does.'),
  }];
  for (const entry of explain.timeline) {
    const before = nodes.get(entry.id) || {};
    const after = { ...before };
    if (entry.gc_refs !== undefined) after.gc_refs = entry.gc_refs;
    if (entry.state !== undefined) after.state = entry.state;
    after.by = entry.by;
    nodes = new Map(nodes).set(entry.id, after);
    frames.push({ entry, phase: entry.phase, nodes, caption: caption(entry, before, ctx) });
  }
  return frames;
}

/**
 * Where each phase starts: [{phase, frame}] in the order the answer lists
 * the phases; frame is null when the timeline has nothing in that phase.
 */
export function phaseStarts(frames, phases) {
  const first = new Map();
  frames.forEach((f, i) => {
    if (f.phase && !first.has(f.phase)) first.set(f.phase, i);
  });
  return phases.map((phase) => ({ phase, frame: first.has(phase) ? first.get(phase) : null }));
}
