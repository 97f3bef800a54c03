// Lab 4: generations, thresholds and the automatic collection.
import { equal, claim, garbageIds } from '../checks.js';

const countText = (gc) => `gc.get_count() is (${gc.count.join(', ')}) against gc.get_threshold() (${gc.thresholds.join(', ')})`;

async function garbage(t) {
  return garbageIds(await t.objects(), await t.names());
}

export default {
  names: { L0: 'l0' },
  steps: [
    {
      python: 'import gc\ngc.set_threshold(5)',
      says: 'A generation-0 collection starts when allocating a container (an object the collector can track) makes count[0], such allocations minus deallocations since the last collection, exceed threshold 0. ' +
        'The default is 700; 5 makes it happen soon. The thresholds not given keep their values (10, 10). ' +
        '(The call itself allocates its argument tuple, which may already show in count[0].)',
      requests: [{ method: 'PATCH', path: '/gc', body: { thresholds: [5] } }],
      async check(t) {
        const gc = await t.get('/gc');
        return [equal('gc.get_threshold()', gc.thresholds, [5, 10, 10]), claim(gc.enabled, 'automatic collection is enabled', 'the collector is disabled')];
      },
    },
    {
      python: 'l0 = []; l1 = []',
      says: 'Two lists: two container allocations, so count[0] goes up by 2. New objects start in generation 0.',
      requests: [{ method: 'POST', path: '/objects', body: { type: 'list', name: 'l0' } }, { method: 'POST', path: '/objects', body: { type: 'list', name: 'l1' } }],
      async check(t) {
        const gc = await t.get('/gc');
        return [
          equal('the generation of l0', (await t.object('L0')).generation, 0),
          claim(gc.count[0] <= gc.thresholds[0], `${countText(gc)}: not above threshold 0 yet`, `${countText(gc)}: already above threshold 0`),
          equal('generation-0 collections so far', gc.stats[0].collections, 0),
        ];
      },
    },
    {
      python: 'junk = []; junk.append(junk); del junk',
      says: 'A self-referencing list nobody names (lab 3): garbage waiting in generation 0.',
      requests: [{
        method: 'POST', path: '/batch',
        body: { ops: [{ op: 'create', type: 'list', name: 'junk' }, { op: 'ref', id: '$0', target: '$0' }, { op: 'unbind', name: 'junk' }] },
      }],
      async check(t) {
        const gc = await t.get('/gc');
        const ids = await garbage(t);
        return [
          equal('garbage objects (tracked, and no name reaches them)', ids.length, 1, ids.length === 1 ? `list #${ids[0]}` : ''),
          equal('generation-0 collections so far', gc.stats[0].collections, 0, countText(gc)),
        ];
      },
    },
    {
      python: 'l2 = []; l3 = []',
      says: 'Two more allocations: count[0] passes 5 and the allocation itself starts a generation-0 collection, before your next statement. ' +
        'It frees the junk cycle; the survivors move to generation 1 (and count[1], the generation-0 collections since the last generation-1 one, goes up).',
      requests: [{ method: 'POST', path: '/objects', body: { type: 'list', name: 'l2' } }, { method: 'POST', path: '/objects', body: { type: 'list', name: 'l3' } }],
      async check(t) {
        const gc = await t.get('/gc');
        const last = gc.last_collection || {};
        return [
          equal('generation-0 collections so far', gc.stats[0].collections, 1),
          claim(last.automatic && last.generation === 0, 'the last collection was automatic, of generation 0', `the last collection: ${JSON.stringify(last)}`),
          equal('objects it collected', last.collected, 1, 'the junk cycle'),
          equal('garbage objects now', (await garbage(t)).length, 0),
          equal('the generation of l0', (await t.object('L0')).generation, 1, 'it survived a collection'),
          equal('count[1]', gc.count[1], 1),
        ];
      },
    },
    {
      python: 'gc.disable()',
      says: 'Automatic collection off; gc.collect() still works. Refcounting does not depend on the collector: it always frees at once.',
      requests: [{ method: 'PATCH', path: '/gc', body: { enabled: false } }],
      async check(t) {
        return [claim(!(await t.get('/gc')).enabled, 'gc.isenabled() is False', 'gc.isenabled() is True')];
      },
    },
    {
      python: 'keep = []\nfor i in range(8):\n    item = []\n    keep.append(item)',
      says: 'Nine container allocations (`keep` and eight lists), well past threshold 0, and no collection starts.',
      requests: [{
        method: 'POST', path: '/batch',
        // op 2k+1 creates the k-th item; "$0" is keep
        body: { ops: [{ op: 'create', type: 'list', name: 'keep' }, ...Array.from({ length: 8 }, (_, k) => [{ op: 'create', type: 'list', name: 'item' }, { op: 'ref', id: '$0', target: `$${2 * k + 1}` }]).flat()] },
      }],
      async check(t) {
        const gc = await t.get('/gc');
        return [
          claim(gc.count[0] > gc.thresholds[0], `${countText(gc)}: count[0] is above threshold 0`, `${countText(gc)}: count[0] is not above threshold 0`),
          equal('generation-0 collections so far', gc.stats[0].collections, 1, 'none while disabled'),
        ];
      },
    },
    {
      python: 'gc.enable()',
      says: 'Enabling does not collect by itself: the next tracked allocation checks the threshold.',
      requests: [{ method: 'PATCH', path: '/gc', body: { enabled: true } }],
      async check(t) {
        const gc = await t.get('/gc');
        return [claim(gc.enabled, 'gc.isenabled() is True', 'gc.isenabled() is False'), equal('generation-0 collections so far', gc.stats[0].collections, 1)];
      },
    },
    {
      python: 'x = []',
      says: 'One allocation, count[0] is still above 5: a generation-0 collection runs at once.',
      requests: [{ method: 'POST', path: '/objects', body: { type: 'list', name: 'x' } }],
      async check(t) {
        const gc = await t.get('/gc');
        const events = await t.events();
        const automatic = events.filter((e) => e.kind === 'collect' && e.automatic && e.generation === 0);
        return [
          equal('generation-0 collections so far', gc.stats[0].collections, 2),
          equal('automatic collections in the event log (GET …/events)', automatic.length, 2),
          equal('count[1]', gc.count[1], 2, 'a generation-1 collection waits until it passes 10'),
        ];
      },
    },
  ],
};
