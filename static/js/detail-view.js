// detail-view.js — one object's detail: GET /objects/{id} and /path.
import { el } from './dom.js';
import { classSize } from './memory.js';
import { preview } from './model.js';

function idButtons(ids, onSelect) {
  if (!ids || !ids.length) return ['none'];
  return ids.map((id) => el('button', { type: 'button', class: 'obj-btn', onclick: () => onSelect(id) }, '#' + id));
}

function why(path) {
  if (!path.reachable) return el('p', { class: 'unreachable-note' }, '✗ ' + (path.detail || 'unreachable from any name') + '.');
  const parts = path.path.map((link, i) => (i === 0 ? `${link.name} → #${link.id}` : `${link.via} → #${link.id}`));
  return el('p', {}, 'Alive because: ', el('code', {}, parts.join('  ')));
}

export function renderDetail(container, o, path, onSelect) {
  const rows = [
    ['type', o.type === 'instance' ? `instance of ${o.class}` : o.type],
    ['value', 'value' in o ? preview(o) : null],
    ['refcount', o.refcount],
    ['size', `${o.size} bytes (sys.getsizeof)`],
    ['size class', o.size_class === null ? 'none: a large object, malloc\'d directly' : `${o.size_class} (${classSize(o.size_class)}-byte blocks)`],
    ['address', o.address],
    ['generation', o.tracked ? String(o.generation) : 'untracked by the collector'],
    ['length', o.length],
    ['names', (o.names || []).join(', ') || 'none'],
  ].filter(([, v]) => v !== null && v !== undefined);
  container.replaceChildren(
    el('h3', { id: 'detail-title' }, `#${o.id} ${o.type}`),
    el('dl', {}, rows.flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, String(v))]),
      el('dt', {}, 'referents'), el('dd', {}, idButtons([...new Set(o.referents)], onSelect)),
      el('dt', {}, 'referrers'), el('dd', {}, idButtons(o.referrers, onSelect))),
    why(path));
}

export function renderGone(container, id, err) {
  container.replaceChildren(el('h3', { id: 'detail-title' }, `#${id}`), el('p', {}, err.message));
}
