// console-view.js — a form for every operation; each runs through the API
// client, whose calls the curl box shows.
import { resolveObject } from './model.js';
import { el } from './dom.js';

const ATOMS = ['int', 'float', 'str', 'bytes'];

export const CYCLE_EXAMPLE = [
  { op: 'create', type: 'instance', class: 'Node', name: 'x' },
  { op: 'create', type: 'instance', class: 'Node', name: 'y' },
  { op: 'ref', id: '$0', attr: 'other', target: '$1' },
  { op: 'ref', id: '$1', attr: 'other', target: '$0' },
];

/** Turns the create form's fields into a POST /objects body. */
export function createSpec({ type, name, value, items, cls, finalizer }, names) {
  const spec = { type };
  const need = (t) => {
    const id = resolveObject(t, names);
    if (id === null) throw new Error(`'${t}' is neither an object id nor a bound name`);
    return id;
  };
  if (ATOMS.includes(type)) {
    if (type === 'int') {
      if (!/^-?\d+$/.test(value.trim())) throw new Error('an int needs an integer value');
      spec.value = Number(value);
    } else if (type === 'float') {
      if (value.trim() === '' || Number.isNaN(Number(value))) throw new Error('a float needs a number');
      spec.value = Number(value);
    } else spec.value = value;
  } else if (items.trim()) {
    const parts = items.split(',').map((s) => s.trim()).filter(Boolean);
    if (type === 'dict' || type === 'instance') {
      const map = {};
      for (const p of parts) {
        const eq = p.indexOf('=');
        if (eq < 1) throw new Error(`'${p}': write key=id`);
        map[p.slice(0, eq).trim()] = need(p.slice(eq + 1));
      }
      spec[type === 'dict' ? 'items' : 'attrs'] = map;
    } else spec.items = parts.map(need);
  }
  if (type === 'instance') {
    if (cls.trim()) spec.class = cls.trim();
    if (finalizer) spec.finalizer = true;
  }
  if (name.trim()) spec.name = name.trim();
  return spec;
}

/** Which slot field a reference on a container of `type` uses. */
export function slotField(type, slot) {
  const s = String(slot || '').trim();
  if (!s) return null;
  if (type === 'dict') return ['key', s];
  if (type === 'instance') return ['attr', s];
  if (/^-?\d+$/.test(s)) return ['index', Number(s)];
  return type === undefined ? ['attr', s] : ['key', s];
}

export function createConsole({ api, getState, after, showError }) {
  const q = (id) => document.getElementById(id);
  const val = (id) => q(id).value;
  const obj = (id, label) => {
    const v = resolveObject(val(id), getState().names);
    if (v === null) throw new Error(`${label}: '${val(id)}' is neither an object id nor a bound name`);
    return v;
  };
  const run = (fn) => async (ev) => {
    ev.preventDefault();
    try {
      await fn(ev.submitter ? ev.submitter.value : undefined);
    } catch (err) {
      showError(err);
    }
    after();
  };

  const typeSel = q('c-type');
  const sync = () => {
    const t = typeSel.value;
    for (const e of document.querySelectorAll('#f-create [data-for]')) {
      const k = e.dataset.for;
      e.hidden = !((k === 'atom' && ATOMS.includes(t)) || (k === 'items' && !ATOMS.includes(t)) || (k === 'instance' && t === 'instance'));
    }
    q('c-items').placeholder = t === 'dict' ? 'k=17, other=a' : t === 'instance' ? 'attr=17' : '17, 18, a';
  };
  typeSel.addEventListener('change', sync);
  sync();

  q('f-create').addEventListener('submit', run(() => api.create(createSpec({
    type: typeSel.value, name: val('c-name'), value: val('c-value'), items: val('c-items'), cls: val('c-class'), finalizer: q('c-finalizer').checked,
  }, getState().names))));

  q('f-bind').addEventListener('submit', run((what) => {
    const name = val('b-name').trim();
    if (what === 'unbind') return api.unbind(name);
    return api.bind(name, obj('b-id', 'Object'));
  }));

  q('f-ref').addEventListener('submit', run((what) => {
    const from = obj('r-from', 'From');
    const container = getState().byId && getState().byId.get(from);
    const slot = slotField(container && container.type, val('r-slot'));
    if (what === 'remove') {
      if (slot) return api.removeRef(from, slot[0], slot[1]);
      return api.removeRef(from, 'target', obj('r-to', 'To'));
    }
    const spec = { target: obj('r-to', 'To') };
    if (slot) spec[slot[0]] = slot[1];
    return api.addRef(from, spec);
  }));

  q('f-weakref').addEventListener('submit', run(() => {
    const spec = { target: obj('w-target', 'Target') };
    if (q('w-callback').checked) spec.callback = true;
    if (val('w-name').trim()) spec.name = val('w-name').trim();
    return api.weakref(spec);
  }));

  q('f-gc').addEventListener('submit', run((what) => {
    switch (what) {
      case 'freeze': return api.freeze();
      case 'unfreeze': return api.unfreeze();
      case 'enable': return api.configureGc({ enabled: true });
      case 'disable': return api.configureGc({ enabled: false });
      case 'thresholds': return api.configureGc({ thresholds: ['t0', 't1', 't2'].map((t) => Number(val(t))) });
      default: {
        const g = Number(val('g-gen'));
        return api.collect(g === 2 ? undefined : g);
      }
    }
  }));

  q('f-batch').addEventListener('submit', run(() => {
    let ops;
    try {
      ops = JSON.parse(val('batch-ops'));
    } catch (e) {
      throw new Error('the batch is not valid JSON: ' + e.message);
    }
    if (ops && !Array.isArray(ops) && Array.isArray(ops.ops)) ops = ops.ops;
    if (!Array.isArray(ops)) throw new Error('a batch is a JSON array of ops (or {"ops": [...]})');
    return api.batch(ops);
  }));
  q('batch-example').addEventListener('click', () => {
    q('batch-ops').value = JSON.stringify(CYCLE_EXAMPLE, null, 1).replace(/\n\s+(?=["}])/g, ' ').replace(/\{ /g, '{');
  });

  return { el };
}
