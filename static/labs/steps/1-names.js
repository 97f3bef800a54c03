// Lab 1: names are references; refcounts count every reference.
import { equal, claim, freed } from '../checks.js';

export default {
  names: { A: 'a', C: 'c' },
  steps: [
    {
      python: 'a = []',
      says: 'A new empty list, and the name `a` refers to it: one reference. heaplab\'s refcount counts the references the program holds; ' +
        '`sys.getrefcount(a)` would say 2, because passing `a` to it is one more reference while the call runs.',
      requests: [{ method: 'POST', path: '/objects', body: { type: 'list', name: 'a' } }],
      async check(t) {
        const a = await t.object('A');
        return [equal('the type of a', a.type, 'list'), equal('the refcount of a', a.refcount, 1, 'sys.getrefcount(a) would return 2')];
      },
    },
    {
      python: 'b = a',
      says: 'Assignment copies a reference, never the object: `b` is a second name for the same list, so its refcount goes up by one.',
      requests: [{ method: 'PUT', path: '/names/b', body: { id: '$A' } }],
      async check(t) {
        const names = await t.names();
        const a = await t.object('A');
        return [
          claim(names.b === t.id('A'), `a and b name the same object, #${t.id('A')} (a is b)`, `b names #${names.b}, a names #${t.id('A')}`),
          equal('the refcount of a', a.refcount, 2, 'sys.getrefcount(a) would return 3'),
        ];
      },
    },
    {
      python: 'c = [a, a]',
      says: 'A list holds one reference per item. The same object twice is two references: the refcount of the list a names goes up by two.',
      requests: [{ method: 'POST', path: '/objects', body: { type: 'list', items: ['$A', '$A'], name: 'c' } }],
      async check(t) {
        const [a, c] = [await t.object('A'), await t.object('C')];
        return [
          equal('the items of c', c.items.map((id) => '#' + id), ['#' + t.id('A'), '#' + t.id('A')]),
          equal('the refcount of a', a.refcount, 4, 'the names a and b, and c[0] and c[1]'),
        ];
      },
    },
    {
      python: 'del b',
      says: '`del` removes a name, not an object: the list loses one reference and lives on.',
      requests: [{ method: 'DELETE', path: '/names/b' }],
      async check(t) {
        const names = await t.names();
        const a = await t.object('A');
        return [
          claim(!('b' in names), 'b is no longer bound (using it now raises NameError)', `b is still bound to #${names.b}`),
          equal('the refcount of a', a.refcount, 3),
        ];
      },
    },
    {
      python: 'del c[1]',
      says: 'Removing an item from a list drops the reference that item slot held.',
      requests: [{ method: 'DELETE', path: '/objects/$C/refs?index=1' }],
      async check(t) {
        const [a, c] = [await t.object('A'), await t.object('C')];
        return [equal('len(c)', c.length, 1), equal('the refcount of a', a.refcount, 2)];
      },
    },
    {
      python: 'del a',
      says: 'The last name goes, but `c[0]` still refers to the list, so it stays alive with refcount 1. ' +
        'An object is freed only when no reference at all is left, names or containers.',
      requests: [{ method: 'DELETE', path: '/names/a' }],
      async check(t) {
        const a = await t.object('A');
        const path = await t.get(`/objects/${t.id('A')}/path`);
        return [
          claim(a !== null, `the list #${t.id('A')} is still alive`, 'the list was freed'),
          equal('its refcount', a && a.refcount, 1),
          claim(path.reachable && path.path.length === 2 && path.path[0].name === 'c' && path.path[1].via === '[0]',
            'it is alive because of c[0] (GET …/path)', `the path to it is ${JSON.stringify(path)}`),
        ];
      },
    },
    {
      python: 'del c',
      says: 'Now the list `c` has no reference left: it is freed at once, and freeing it drops its item, the last reference to the other list, which is freed too. No collector needed.',
      requests: [{ method: 'DELETE', path: '/names/c' }],
      async check(t) {
        return [freed('the list c named', await t.object('C')), freed('the list a named', await t.object('A'))];
      },
    },
  ],
};
