// checks.js — what a lab's checks are made of. A check is {ok, text}: the
// text always states what the server answered, so a student reads the
// actual figure whether or not it is the expected one. Pure: node imports it.
import { analyse } from '../js/model.js';

const show = (v) => (typeof v === 'string' ? v : JSON.stringify(v));

/** "refcount of a is 2", or "refcount of a is 3, expected 2". */
export function equal(label, actual, expected, why = '') {
  const ok = JSON.stringify(actual) === JSON.stringify(expected);
  return { ok, text: `${label} is ${show(actual)}` + (ok ? '' : `, expected ${show(expected)}`) + (why ? ` — ${why}` : '') };
}

/** A condition, with the sentence for each outcome. */
export function claim(ok, yes, no) {
  return { ok: !!ok, text: ok ? yes : no };
}

/** "x is gone (freed)" when GET answered 404, else what is alive. */
export function freed(label, obj) {
  return claim(obj === null, `${label} is gone: freed`, `${label} is still alive (refcount ${obj && obj.refcount})`);
}

/**
 * The order the free events of a heap list some ids in (other ids left
 * out). A free event lists the ids it freed in order, the first 8 of them.
 */
export function freeOrder(events, ids) {
  const wanted = new Set(ids);
  return events.filter((e) => e.kind === 'free').flatMap((e) => e.ids).filter((id) => wanted.has(id));
}

/**
 * Ids of the garbage the collector would free, lowest first: tracked
 * objects no name reaches through strong references. (Untracked objects no
 * name reaches are cached ones, such as small ints: never garbage.)
 */
export function garbageIds(objects, names) {
  const { unreachable, byId } = analyse(objects, names);
  return [...unreachable].filter((id) => byId.get(id).tracked).sort((a, b) => a - b);
}

/** Events of one kind about an id. */
export function eventsAbout(events, kind, id) {
  return events.filter((e) => e.kind === kind && e.ids.includes(id));
}
