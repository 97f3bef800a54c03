// Lab 8: a generator instead of a list — the peak memory of holding N
// lines at once versus handling them one at a time.
import { equal, claim } from '../checks.js';
import { fmtBytes } from '../../js/dom.js';

// Lines per batch: 2 ops each, well under the server's body and batch limits.
const CHUNK = 25000;

/** One batch of the loop: lines S … min(S + CHUNK, N) - 1, appended to $L or only bound to `line`. */
function lineBatch({ append }) {
  const jqOps = append
    ? '{op: "create", type: "str", value: "line \\($i)", name: "line"}, {op: "ref", id: $L, target: "$\\(2 * ($i - $S))"}'
    : '{op: "create", type: "str", value: "line \\($i)", name: "line"}';
  return {
    method: 'POST', path: '/batch', quiet: true,
    each: { var: 'S', step: CHUNK, below: 'N' },
    jq: { args: append ? ['S', 'N', 'L'] : ['S', 'N'], program: `{ops: [range($S; [$S + ${CHUNK}, $N] | min) as $i | ${jqOps}]}` },
    build: ({ S, N, L }) => ({
      ops: Array.from({ length: Math.min(S + CHUNK, N) - S }, (_, k) => {
        const create = { op: 'create', type: 'str', value: `line ${S + k}`, name: 'line' };
        return append ? [create, { op: 'ref', id: L, target: `$${2 * k}` }] : [create];
      }).flat(),
    }),
  };
}

/** The block size of the string `line` names: every "line <i>" up to a million has the same. */
async function lineBlock(t) {
  return ((await t.object('LN')).size_class + 1) * 16;
}

export default {
  names: { L: 'lines', LN: 'line' },
  params: { N: { label: 'N, how many lines:', value: 1000000, min: 1000, max: 1000000, step: 1000 } },
  steps: [
    {
      python: 'import tracemalloc\ntracemalloc.start()\nsnap1 = tracemalloc.take_snapshot()\ntracemalloc.reset_peak()',
      says: 'A heaplab snapshot is tracemalloc\'s: it records the live objects, and the allocator\'s peak starts again from here. ' +
        '`GET …/memory` then shows the peak since the latest snapshot (tracemalloc measures the bytes asked for; heaplab the blocks pymalloc gives, which is what the process holds).',
      requests: [{ method: 'POST', path: '/snapshots', saveAs: 'S1' }],
      async check(t) {
        const memory = await t.get('/memory');
        t.learn('S1', (await t.get('/snapshots')).snapshots.at(-1).id);
        t.remember('start', memory.bytes_in_use);
        return [equal('the peak is measured since snapshot', memory.peak.since_snapshot, t.id('S1'), 'the latest')];
      },
    },
    {
      python: 'lines = []',
      says: 'The list that will hold every line.',
      requests: [{ method: 'POST', path: '/objects', body: { type: 'list', name: 'lines' } }],
      async check(t) {
        return [equal('len(lines)', (await t.object('L')).length, 0)];
      },
    },
    {
      python: 'for i in range(N):\n    line = f"line {i}"\n    lines.append(line)',
      says: 'This is what `lines = [f"line {i}" for i in range(N)]` does: one append per item, every line kept. ' +
        '`sys.getsizeof("line 999999")` is 60 bytes, a 64-byte block, and the list needs 8 bytes per item for its pointer (a little more: it over-allocates as it grows). ' +
        `The page sends it in batches of ${CHUNK} lines.`,
      requests: [lineBatch({ append: true })],
      async check(t) {
        const [lines, memory, block] = [await t.object('L'), await t.get('/memory'), await lineBlock(t)];
        const n = t.param('N');
        const grew = memory.peak.bytes_in_use - t.recall('start');
        t.remember('list peak', grew);
        return [
          equal('len(lines)', lines.length, n),
          claim(grew >= n * (block + 8), `the peak since snapshot ${memory.peak.since_snapshot} is ${fmtBytes(grew)} above the start: ` +
            `at least N × (${block} + 8) bytes = ${fmtBytes(n * (block + 8))}, in ${memory.peak.arenas} arenas`,
          `the peak is only ${fmtBytes(grew)} above the start, less than N × (${block} + 8) bytes`),
        ];
      },
    },
    {
      python: 'del lines',
      says: 'The list goes, and with it every line but the last (the loop variable `line` still holds it). The memory is back, ' +
        'but for the list object itself: CPython keeps up to 80 freed lists on a free list, to reuse for the next list. The peak stays as it was.',
      requests: [{ method: 'DELETE', path: '/names/lines' }],
      async check(t) {
        const [memory, block] = [await t.get('/memory'), await lineBlock(t)];
        const now = memory.bytes_in_use - t.recall('start');
        return [
          claim(now <= 2 * block, `bytes in use are ${fmtBytes(now)} above the start: the last line and the list on the free list`,
            `bytes in use are still ${fmtBytes(now)} above the start`),
          equal('the peak above the start', fmtBytes(memory.peak.bytes_in_use - t.recall('start')), fmtBytes(t.recall('list peak'))),
        ];
      },
    },
    {
      python: 'snap2 = tracemalloc.take_snapshot()\ntracemalloc.reset_peak()',
      says: 'A second snapshot: the peak starts again.',
      requests: [{ method: 'POST', path: '/snapshots', saveAs: 'S2' }],
      async check(t) {
        const memory = await t.get('/memory');
        t.learn('S2', (await t.get('/snapshots')).snapshots.at(-1).id);
        t.remember('stream start', memory.bytes_in_use);
        return [
          equal('the peak is measured since snapshot', memory.peak.since_snapshot, t.id('S2'), 'the latest'),
          equal('the peak', fmtBytes(memory.peak.bytes_in_use), fmtBytes(memory.bytes_in_use), 'what is in use now'),
        ];
      },
    },
    {
      python: 'for line in (f"line {i}" for i in range(N)):\n    handle(line)',
      says: 'A generator makes each line when the loop asks for it. Binding the next one to `line` drops the last reference to the previous one, ' +
        'which is freed at once, and its block serves the line after: the same N lines, never more than two alive at a time. ' +
        '(heaplab does not model the generator object itself, one small object whatever N is.)',
      requests: [lineBatch({ append: false })],
      async check(t) {
        const [memory, block] = [await t.get('/memory'), await lineBlock(t)];
        const grew = memory.peak.bytes_in_use - t.recall('stream start');
        t.remember('stream peak', grew);
        return [
          claim(grew <= 2 * block, `the peak since snapshot ${memory.peak.since_snapshot} is ${fmtBytes(grew)} above the start: the line in hand and the next one being made`,
            `the peak is ${fmtBytes(grew)} above the start, more than two lines`),
          claim(t.recall('list peak') >= (t.param('N') / 4) * Math.max(grew, block),
            `the list needed ${fmtBytes(t.recall('list peak'))} at its peak, ${Math.round(t.recall('list peak') / Math.max(grew, block))} times more: it grows with N, the generator's does not`,
            `the list needed only ${fmtBytes(t.recall('list peak'))} at its peak`),
        ];
      },
    },
    {
      python: 'snap3 = tracemalloc.take_snapshot()',
      says: 'A last snapshot, to compare.',
      requests: [{ method: 'POST', path: '/snapshots', saveAs: 'S3' }],
      async check(t) {
        t.learn('S3', (await t.get('/snapshots')).snapshots.at(-1).id);
        return [equal('snapshots kept', (await t.get('/snapshots')).snapshots.length >= 3, true)];
      },
    },
    {
      python: 'snap2.compare_to(snap1, "lineno")\nsnap3.compare_to(snap2, "lineno")',
      says: 'Comparing two snapshots gives what changed between them (`totals`, `by_type`) and the peak in between: ' +
        'the list\'s peak from snapshot 1 to 2, the generator\'s from 2 to 3. Afterwards the heap is the same size in both cases.',
      requests: [{ method: 'GET', path: '/snapshots/$S1/compare/$S2' }, { method: 'GET', path: '/snapshots/$S2/compare/$S3' }],
      async check(t) {
        const list = await t.get(`/snapshots/${t.id('S1')}/compare/${t.id('S2')}`);
        const stream = await t.get(`/snapshots/${t.id('S2')}/compare/${t.id('S3')}`);
        return [
          equal('the peak between snapshots 1 and 2, above the start', fmtBytes(list.peak.bytes_in_use - t.recall('start')), fmtBytes(t.recall('list peak')),
            `the list: ${list.peak.arenas} arenas at most`),
          equal('the peak between snapshots 2 and 3, above the start', fmtBytes(stream.peak.bytes_in_use - t.recall('stream start')), fmtBytes(t.recall('stream peak')),
            `the generator: ${stream.peak.arenas} arena at most`),
          equal('the size difference from snapshot 2 to 3 (totals.size_diff)', stream.totals.size_diff, 0, 'the loop ends as it started, one line bound'),
        ];
      },
    },
  ],
};
