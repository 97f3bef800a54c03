// Lab 5: weak references and their callbacks; finalizers (PEP 442) and
// resurrection.
import { equal, claim, freed, eventsAbout } from '../checks.js';

export default {
  names: { N: 'n', W: 'w', P: 'p' },
  steps: [
    {
      python: 'n = Node()',
      says: 'An instance of `class Node: pass`.',
      requests: [{ method: 'POST', path: '/objects', body: { type: 'instance', class: 'Node', name: 'n' } }],
      async check(t) {
        return [equal('the refcount of n', (await t.object('N')).refcount, 1)];
      },
    },
    {
      python: 'w = weakref.ref(n, lambda ref: print("n died"))',
      says: 'A weak reference finds its object without keeping it alive: n\'s refcount does not change. The callback runs when n dies.',
      requests: [{ method: 'POST', path: '/weakrefs', body: { target: '$N', callback: true, name: 'w' } }],
      async check(t) {
        const w = await t.object('W');
        return [
          equal('w() (the target of w)', '#' + w.target, '#' + t.id('N')),
          equal('the refcount of n', (await t.object('N')).refcount, 1, 'a weak reference does not count'),
          claim(w.callback, 'w has a callback', 'w has no callback'),
        ];
      },
    },
    {
      python: 'del n',
      says: 'n\'s refcount reaches 0: it is freed at once, and first its weak references are cleared and their callbacks called.',
      requests: [{ method: 'DELETE', path: '/names/n' }],
      async check(t) {
        const events = await t.events();
        const callbacks = events.filter((e) => e.kind === 'weakref_callback' && e.target === t.id('N'));
        return [
          freed('n\'s Node', await t.object('N')),
          equal('weakref callbacks for it (GET …/events)', callbacks.map((e) => '#' + e.ids[0]), ['#' + t.id('W')]),
          equal('w() now', (await t.object('W')).target, null, 'None in Python'),
        ];
      },
    },
    {
      python: 'p = Phoenix()',
      says: 'A class whose finalizer resurrects: `class Phoenix:` with `def __del__(self): global saved; saved = self`.',
      requests: [{ method: 'POST', path: '/objects', body: { type: 'instance', class: 'Phoenix', finalizer: { resurrect: 'saved' }, name: 'p' } }],
      async check(t) {
        const p = await t.object('P');
        return [claim(p.finalizer, 'Phoenix has a __del__', 'Phoenix has no __del__'), claim(!p.finalized, 'gc.is_finalized(p) is False', 'gc.is_finalized(p) is True')];
      },
    },
    {
      python: 'p.me = p',
      says: 'A cycle through an attribute: refcount 2.',
      requests: [{ method: 'POST', path: '/objects/$P/refs', body: { target: '$P', attr: 'me' } }],
      async check(t) {
        return [equal('the refcount of p', (await t.object('P')).refcount, 2)];
      },
    },
    {
      python: 'del p',
      says: 'Unreachable, but the cycle keeps its refcount at 1: nothing happens until a collection.',
      requests: [{ method: 'DELETE', path: '/names/p' }],
      async check(t) {
        const p = await t.object('P');
        return [equal('its refcount', p && p.refcount, 1), claim(!(await t.get(`/objects/${t.id('P')}/path`)).reachable, 'no name reaches it', 'a name still reaches it')];
      },
    },
    {
      python: 'gc.collect()',
      says: 'The collector finds the cycle and, before freeing anything, calls the finalizers of the garbage (PEP 442). ' +
        '`__del__` binds the object to `saved`: it is reachable again, so the collector checks again and frees nothing. ' +
        'The object is marked finalized.',
      requests: [{ method: 'POST', path: '/gc/collect' }],
      async check(t) {
        const events = await t.events();
        const [names, p, gc] = [await t.names(), await t.object('P'), await t.get('/gc')];
        return [
          equal('__del__ calls (finalize events)', eventsAbout(events, 'finalize', t.id('P')).length, 1),
          equal('resurrections (resurrect events)', eventsAbout(events, 'resurrect', t.id('P')).length, 1),
          equal('saved', '#' + names.saved, '#' + t.id('P'), 'the same object'),
          claim(p && p.finalized, 'gc.is_finalized(saved) is True', 'it is not marked finalized'),
          equal('what gc.collect() returned', gc.last_collection.collected, 0, 'a resurrected object is not collected'),
        ];
      },
    },
    {
      python: 'del saved',
      says: 'Garbage again: the `p.me` cycle keeps it alive until the next collection.',
      requests: [{ method: 'DELETE', path: '/names/saved' }],
      async check(t) {
        const p = await t.object('P');
        return [claim(p !== null, 'it is still alive', 'it was freed'), equal('its refcount', p && p.refcount, 1)];
      },
    },
    {
      python: 'gc.collect()',
      says: 'This time it is freed, and its `__del__` does not run again: PEP 442 calls a finalizer at most once per object.',
      requests: [{ method: 'POST', path: '/gc/collect' }],
      async check(t) {
        const events = await t.events();
        return [
          freed('the Phoenix', await t.object('P')),
          equal('__del__ calls in all', eventsAbout(events, 'finalize', t.id('P')).length, 1),
          equal('what gc.collect() returned', (await t.get('/gc')).last_collection.collected, 1),
        ];
      },
    },
  ],
};
