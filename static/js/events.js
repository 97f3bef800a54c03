// events.js — words for heap events and the replay window. Pure.

/** One line of the event log. */
export function describeEvent(e) {
  switch (e.kind) {
    case 'free':
      if (e.count > 1) {
        const more = e.count > (e.ids || []).length ? ` (ids #${e.id_min}..#${e.id_max})` : '';
        return `freed ${e.count} objects: ${(e.ids || []).map((i) => '#' + i).join(', ')}${more}`;
      }
      return `freed #${(e.ids || [])[0]}${e.type ? ' ' + e.type : ''}`;
    case 'collect':
      return `gc: collected generation ${e.generation}${e.automatic ? ' (automatic)' : ''}: ${e.collected} freed, ` +
        `${e.uncollectable} uncollectable, ${e.examined} examined, ${e.duration_us} µs`;
    case 'finalize':
      return `finalizer (__del__) ran on #${(e.ids || [])[0]}`;
    case 'weakref_callback':
      return `weakref #${(e.ids || [])[0]} callback: its target #${e.target} died`;
    case 'resurrect':
      return `#${(e.ids || [])[0]} resurrected by its finalizer`;
    default:
      return `${e.kind} ${JSON.stringify(e)}`;
  }
}

/** Merges events by seq (replay pages and live frames may overlap). */
export function mergeEvents(list, more, cap = 10000) {
  const bySeq = new Map(list.map((e) => [e.seq, e]));
  for (const e of more) bySeq.set(e.seq, e);
  const out = [...bySeq.values()].sort((a, b) => a.seq - b.seq);
  return out.length > cap ? out.slice(out.length - cap) : out;
}

/** The collections among events: [{seq, time_ms, generation, collected, ...}]. */
export function collections(events) {
  return events.filter((e) => e.kind === 'collect');
}

/**
 * The client's snapshot that shows the heap as it was just after event
 * `seq`: snapshots carry `next` (GET /events' next when taken: every event
 * below it had happened). Picks the latest with next - 1 <= seq.
 */
export function snapshotAt(snapshots, seq) {
  let best = null;
  for (const s of snapshots) if (s.next - 1 <= seq && (!best || s.next >= best.next)) best = s;
  return best;
}
