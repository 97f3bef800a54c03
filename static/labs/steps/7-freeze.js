// Lab 7: gc.freeze() for long-lived objects.
import { equal, claim, freed, garbageIds } from '../checks.js';

const RECORDS = 200;

export default {
  names: { C: 'cache' },
  steps: [
    {
      python: `cache = []\nfor k in range(${RECORDS}):\n    record = []\n    cache.append(record)`,
      says: 'Data a program loads at start and keeps for its whole life. Every list is tracked by the collector, ' +
        'so every collection of their generation examines all of them again, for nothing.',
      requests: [{
        method: 'POST', path: '/batch', quiet: true,
        jq: { args: [], program: `{ops: ([{op: "create", type: "list", name: "cache"}] + [range(${RECORDS}) as $k | {op: "create", type: "list", name: "record"}, {op: "ref", id: "$0", target: "$\\(2 * $k + 1)"}])}` },
        build: () => ({
          ops: [{ op: 'create', type: 'list', name: 'cache' },
            ...Array.from({ length: RECORDS }, (_, k) => [{ op: 'create', type: 'list', name: 'record' }, { op: 'ref', id: '$0', target: `$${2 * k + 1}` }]).flat()],
        }),
      }],
      async check(t) {
        const cache = await t.object('C');
        t.remember('first record', cache.items[0]);
        return [equal('len(cache)', cache.length, RECORDS), equal('objects in generation 0', (await t.get('/gc')).generation_sizes[0], RECORDS + 1)];
      },
    },
    {
      python: 'junk = []; junk.append(junk); del junk',
      says: 'And one garbage cycle made before the freeze.',
      requests: [{
        method: 'POST', path: '/batch',
        body: { ops: [{ op: 'create', type: 'list', name: 'junk' }, { op: 'ref', id: '$0', target: '$0' }, { op: 'unbind', name: 'junk' }] },
      }],
      async check(t) {
        const ids = garbageIds(await t.objects(), await t.names());
        if (ids.length) t.remember('junk', ids[0]);
        return [equal('garbage objects (tracked, and no name reaches them)', ids.length, 1)];
      },
    },
    {
      python: 'gc.freeze()',
      says: 'Every tracked object moves to the permanent generation, which no collection examines (Python 3.7+). ' +
        'The documented use: a server that forks workers calls `gc.disable()` early, `gc.freeze()` just before `fork()`, and `gc.enable()` in the children, ' +
        'so their collections never write to (and copy) the pages of the objects they inherited.',
      requests: [{ method: 'POST', path: '/gc/freeze' }],
      async check(t) {
        const [gc, objects] = [await t.get('/gc'), await t.objects()];
        const tracked = objects.filter((o) => o.tracked).length;
        t.remember('frozen', gc.frozen);
        return [
          equal('gc.get_freeze_count()', gc.frozen, tracked, 'every tracked object'),
          equal('objects in generations 0, 1, 2', gc.generation_sizes, [0, 0, 0]),
          equal('the generation of cache', (await t.object('C')).generation, 'permanent'),
        ];
      },
    },
    {
      python: 'gc.collect()',
      says: 'A full collection examines nothing: the frozen objects are out of its sight, the junk cycle included, so it stays (a frozen cycle is never collected).',
      requests: [{ method: 'POST', path: '/gc/collect' }],
      async check(t) {
        const last = (await t.get('/gc')).last_collection;
        const junk = await t.objectById(t.recall('junk'));
        return [
          equal('objects the collection examined', last.examined, 0),
          equal('objects it collected', last.collected, 0),
          claim(junk !== null, 'the junk list is still alive', 'the junk list was freed'),
        ];
      },
    },
    {
      python: 'del cache[0]',
      says: 'Freezing stops the collector, not refcounting: the first record loses its last reference and is freed at once, and leaves the permanent generation.',
      requests: [{ method: 'DELETE', path: '/objects/$C/refs?index=0' }],
      async check(t) {
        return [
          freed('the first record', await t.objectById(t.recall('first record'))),
          equal('gc.get_freeze_count()', (await t.get('/gc')).frozen, t.recall('frozen') - 1, 'one less'),
        ];
      },
    },
    {
      python: 'gc.unfreeze()',
      says: 'Back from the permanent generation into the oldest one, generation 2.',
      requests: [{ method: 'POST', path: '/gc/unfreeze' }],
      async check(t) {
        const gc = await t.get('/gc');
        return [equal('gc.get_freeze_count()', gc.frozen, 0), equal('objects in generation 2', gc.generation_sizes[2], t.recall('frozen') - 1)];
      },
    },
    {
      python: 'gc.collect()',
      says: 'The next full collection examines them all again, and finds the junk cycle.',
      requests: [{ method: 'POST', path: '/gc/collect' }],
      async check(t) {
        const last = (await t.get('/gc')).last_collection;
        return [
          equal('objects the collection examined', last.examined, t.recall('frozen') - 1),
          equal('objects it collected', last.collected, 1),
          freed('the junk list', await t.objectById(t.recall('junk'))),
        ];
      },
    },
  ],
};
