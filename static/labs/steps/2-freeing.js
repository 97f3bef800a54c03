// Lab 2: an object is freed the moment its refcount reaches zero, and
// freeing a container can free what it held: a cascade, in CPython's order.
import { equal, claim, freed, freeOrder, eventsAbout } from '../checks.js';

/** "second → first → box": ids in an order, as the lab's names. */
function inWords(t, order, vars) {
  const byId = new Map(vars.map((v) => [t.id(v), t.labName(v)]));
  return order.map((id) => byId.get(id)).join(' → ');
}

export default {
  names: { F: 'first', S: 'second', B: 'box', I: 'inner', O: 'outer' },
  steps: [
    {
      python: 'first = Item()',
      says: 'An instance of `class Item: pass`, bound to `first`.',
      requests: [{ method: 'POST', path: '/objects', body: { type: 'instance', class: 'Item', name: 'first' } }],
      async check(t) {
        return [equal('the refcount of first', (await t.object('F')).refcount, 1)];
      },
    },
    {
      python: 'second = Item()',
      says: 'A second one.',
      requests: [{ method: 'POST', path: '/objects', body: { type: 'instance', class: 'Item', name: 'second' } }],
      async check(t) {
        return [equal('the refcount of second', (await t.object('S')).refcount, 1)];
      },
    },
    {
      python: 'box = [first, second]',
      says: 'The list holds a reference to each: both refcounts go up to 2.',
      requests: [{ method: 'POST', path: '/objects', body: { type: 'list', items: ['$F', '$S'], name: 'box' } }],
      async check(t) {
        return [equal('the refcount of first', (await t.object('F')).refcount, 2), equal('the refcount of second', (await t.object('S')).refcount, 2)];
      },
    },
    {
      python: 'del first, second',
      says: 'Both names go. Each instance keeps one reference, from `box`: nothing is freed.',
      requests: [{ method: 'DELETE', path: '/names/first' }, { method: 'DELETE', path: '/names/second' }],
      async check(t) {
        const [f, s] = [await t.object('F'), await t.object('S')];
        const onlyBox = (o) => o && o.referrers.length === 1 && o.referrers[0] === t.id('B');
        return [
          equal('the refcount of the first Item', f && f.refcount, 1),
          equal('the refcount of the second Item', s && s.refcount, 1),
          claim(onlyBox(f) && onlyBox(s), 'box is the only referrer of each (gc.get_referrers)', 'something other than box refers to them'),
        ];
      },
    },
    {
      python: 'del box',
      says: 'The list\'s refcount reaches 0, so it is deallocated at once. Deallocating a list drops its items\' references ' +
        '(`list_dealloc` goes from the last item to the first), which frees both Items; the list\'s own memory goes last. ' +
        'The events endpoint lists every free in the order it happened.',
      requests: [{ method: 'DELETE', path: '/names/box' }],
      async check(t) {
        const order = freeOrder(await t.events(), [t.id('F'), t.id('S'), t.id('B')]);
        const expected = [t.id('S'), t.id('F'), t.id('B')];
        return [
          freed('box', await t.object('B')),
          freed('the first Item', await t.object('F')),
          freed('the second Item', await t.object('S')),
          equal('the order of the frees (GET …/events)', inWords(t, order, ['F', 'S', 'B']), inWords(t, expected, ['F', 'S', 'B'])),
        ];
      },
    },
    {
      python: 'inner = Noisy()',
      says: 'Now a class with a finalizer: `class Noisy:` with `def __del__(self): print("bye", id(self))`.',
      requests: [{ method: 'POST', path: '/objects', body: { type: 'instance', class: 'Noisy', finalizer: true, name: 'inner' } }],
      async check(t) {
        const o = await t.object('I');
        return [claim(o.finalizer, 'Noisy has a __del__', 'Noisy has no __del__'), equal('the refcount of inner', o.refcount, 1)];
      },
    },
    {
      python: 'outer = Noisy(); outer.child = inner',
      says: 'A second Noisy that refers to the first through an attribute.',
      requests: [{ method: 'POST', path: '/objects', body: { type: 'instance', class: 'Noisy', finalizer: true, attrs: { child: '$I' }, name: 'outer' } }],
      async check(t) {
        const o = await t.object('O');
        return [equal('outer.child', '#' + o.attrs.child, '#' + t.id('I')), equal('the refcount of inner', (await t.object('I')).refcount, 2)];
      },
    },
    {
      python: 'del inner',
      says: '`inner` lives on through `outer.child`.',
      requests: [{ method: 'DELETE', path: '/names/inner' }],
      async check(t) {
        return [equal('the refcount of the inner Noisy', (await t.object('I')).refcount, 1)];
      },
    },
    {
      python: 'del outer',
      says: 'outer reaches 0. Its `__del__` runs first, while `self.child` is still there; only then are its attributes cleared, ' +
        'which frees inner: inner\'s `__del__` runs, inner\'s memory is freed, and outer\'s memory goes last. ' +
        'Finalizers run outside-in, memory is freed inside-out.',
      requests: [{ method: 'DELETE', path: '/names/outer' }],
      async check(t) {
        const events = await t.events();
        const ids = [t.id('O'), t.id('I')];
        const finalized = events.filter((e) => e.kind === 'finalize' && ids.includes(e.ids[0])).map((e) => e.ids[0]);
        return [
          equal('the order the __del__ methods ran', inWords(t, finalized, ['O', 'I']), 'outer → inner'),
          equal('the order of the frees', inWords(t, freeOrder(events, ids), ['O', 'I']), 'inner → outer'),
          equal('__del__ calls for outer', eventsAbout(events, 'finalize', t.id('O')).length, 1),
        ];
      },
    },
  ],
};
