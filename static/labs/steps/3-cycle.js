// Lab 3: a list that contains itself never reaches refcount 0; the cyclic
// collector finds it. The last step plays the collection back.
import { equal, claim, freed } from '../checks.js';

export default {
  names: { A: 'a', B: 'b', C: 'c' },
  steps: [
    {
      python: 'a = []',
      says: 'A list, as in lab 1: refcount 1.',
      requests: [{ method: 'POST', path: '/objects', body: { type: 'list', name: 'a' } }],
      async check(t) {
        return [equal('the refcount of a', (await t.object('A')).refcount, 1)];
      },
    },
    {
      python: 'a.append(a)',
      says: 'The list now holds a reference to itself (`a[0] is a`): refcount 2, one from the name, one from inside.',
      requests: [{ method: 'POST', path: '/objects/$A/refs', body: { target: '$A' } }],
      async check(t) {
        const a = await t.object('A');
        return [equal('a[0]', '#' + a.items[0], '#' + t.id('A'), 'a contains itself'), equal('the refcount of a', a.refcount, 2, 'sys.getrefcount(a) would return 3')];
      },
    },
    {
      python: 'b = []',
      says: 'A second list, no cycle.',
      requests: [{ method: 'POST', path: '/objects', body: { type: 'list', name: 'b' } }],
      async check(t) {
        return [equal('the refcount of b', (await t.object('B')).refcount, 1)];
      },
    },
    {
      python: 'c = [b]',
      says: 'A third list that holds the second.',
      requests: [{ method: 'POST', path: '/objects', body: { type: 'list', items: ['$B'], name: 'c' } }],
      async check(t) {
        return [equal('the refcount of b', (await t.object('B')).refcount, 2)];
      },
    },
    {
      python: 'del b',
      says: 'b\'s list lives on inside c.',
      requests: [{ method: 'DELETE', path: '/names/b' }],
      async check(t) {
        const path = await t.get(`/objects/${t.id('B')}/path`);
        return [
          equal('the refcount of the list b named', (await t.object('B')).refcount, 1),
          claim(path.reachable && path.path[0].name === 'c', 'it is reachable from the name c (c[0])', 'no name reaches it'),
        ];
      },
    },
    {
      python: 'del a',
      says: 'The name goes, but the list still refers to itself: refcount 1, never 0, so refcounting cannot free it. ' +
        'No name reaches it any more: it is garbage that only the cyclic collector can find.',
      requests: [{ method: 'DELETE', path: '/names/a' }],
      async check(t) {
        const a = await t.object('A');
        const path = await t.get(`/objects/${t.id('A')}/path`);
        return [
          claim(a !== null, 'the list is still alive', 'the list was freed'),
          equal('its refcount', a && a.refcount, 1),
          claim(!path.reachable, 'no name reaches it (GET …/path: unreachable)', 'a name still reaches it'),
        ];
      },
    },
    {
      python: 'gc.collect()',
      explain: true,
      says: 'A full collection, explained: every examined object gets gc_refs = its refcount (update_refs), ' +
        'then loses the references that come from inside the collected generations (subtract_refs). ' +
        'The self-referencing list drops to 0, and so does b\'s list, whose only reference comes from c; but c has gc_refs 1 (its name), ' +
        'so when move_unreachable reaches c it rescues the list inside it. What stays tentatively unreachable is garbage, and is freed. ' +
        'Step through the playback below.',
      requests: [{ method: 'POST', path: '/gc/collect', body: { explain: true } }],
      async check(t) {
        const gc = await t.get('/gc');
        return [
          freed('the self-referencing list', await t.object('A')),
          claim((await t.object('B')) !== null, 'the list inside c survived', 'the list inside c was freed'),
          equal('what gc.collect() returned (GET …/gc: last_collection.collected)', gc.last_collection.collected, 1),
        ];
      },
    },
  ],
};
