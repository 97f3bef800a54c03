// Unit tests of the dashboard's pure modules (node --test).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { curlCommand, shellQuote, exportLines } from '../../static/js/curl.js';
import { SseParser, readEventStream } from '../../static/js/sse.js';
import { analyse, visibleIds, buildElements, layoutRoots, aggregateByType, isSmall, resolveObject, summarySignature, nodeLabel } from '../../static/js/model.js';
import { mapTotals, diffMaps, checkAgainstMemory, classSize, classColour, poolText } from '../../static/js/memory.js';
import { describeEvent, mergeEvents, snapshotAt } from '../../static/js/events.js';
import { createSpec, slotField } from '../../static/js/console-view.js';

test('curl: placeholder token, JSON body single-quoted, -X only when needed', () => {
  assert.equal(curlCommand({ method: 'POST', path: '/v1/heaps/h1/objects', body: { type: 'list', name: 'a' }, base: 'http://127.0.0.1:8080' }),
    `curl -s http://127.0.0.1:8080/v1/heaps/h1/objects -H "Authorization: Bearer $TOKEN" -d '{"type":"list","name":"a"}'`);
  assert.equal(curlCommand({ method: 'DELETE', path: '/v1/heaps/h1/names/a', base: 'http://x' }),
    `curl -s -X DELETE http://x/v1/heaps/h1/names/a -H "Authorization: Bearer $TOKEN"`);
  assert.equal(curlCommand({ method: 'POST', path: '/v1/heaps/h1/gc/collect', base: 'http://x', token: 'tok' }),
    `curl -s -X POST http://x/v1/heaps/h1/gc/collect -H 'Authorization: Bearer tok'`);
  assert.equal(curlCommand({ method: 'GET', path: '/v1/heaps/h1/objects?limit=5&cursor=2', base: 'http://x' }),
    `curl -s 'http://x/v1/heaps/h1/objects?limit=5&cursor=2' -H "Authorization: Bearer $TOKEN"`);
  assert.equal(curlCommand({ method: 'POST', path: '/v1/heaps', body: {}, base: 'http://x', auth: false }), `curl -s http://x/v1/heaps -d '{}'`);
  assert.equal(curlCommand({ method: 'GET', path: '/v1/heaps/h/events', accept: 'text/event-stream' }),
    `curl -s -N "$HEAPLAB/v1/heaps/h/events" -H "Authorization: Bearer $TOKEN" -H 'Accept: text/event-stream'`);
});

test('curl: shell quoting survives quotes', () => {
  assert.equal(shellQuote("it's"), `'it'\\''s'`);
  assert.equal(shellQuote('plain'), 'plain');
  const body = curlCommand({ method: 'POST', path: '/p', body: { value: "a'b" }, base: 'http://x' });
  assert.ok(body.endsWith(`-d '{"value":"a'\\''b"}'`), body);
  assert.match(exportLines({ base: 'http://x', token: 't' }), /export TOKEN=t/);
});

test('SSE: frames split anywhere, comments, multi-line data, CRLF', () => {
  const text = ': keep-alive\n\nid: 3\nevent: free\ndata: {"seq":3}\n\nevent: missed\ndata: {"from":1,\r\ndata: "to":2}\r\n\r\nid: 9\ndata: x\n\n';
  for (let cut = 0; cut <= text.length; cut++) {
    const p = new SseParser();
    const evs = [...p.feed(text.slice(0, cut)), ...p.feed(text.slice(cut))];
    assert.deepEqual(evs, [
      { id: '3', event: 'free', data: '{"seq":3}' },
      { id: '3', event: 'missed', data: '{"from":1,\n"to":2}' },
      { id: '9', event: 'message', data: 'x' },
    ], `cut at ${cut}`);
  }
});

test('SSE: readEventStream sends the header and parses a streamed body', async () => {
  let seen;
  const enc = new TextEncoder();
  const body = new ReadableStream({
    start(c) {
      c.enqueue(enc.encode('id: 1\nevent: collect\nda'));
      c.enqueue(enc.encode('ta: {"collected":3}\n\n'));
      c.close();
    },
  });
  const events = [];
  await readEventStream('/v1/heaps/h/events', {
    headers: { Authorization: 'Bearer t' },
    fetchImpl: async (url, init) => {
      seen = init.headers;
      return new Response(body, { status: 200, headers: { 'Content-Type': 'text/event-stream' } });
    },
    onEvent: (e) => events.push(e),
  });
  assert.equal(seen.Authorization, 'Bearer t');
  assert.equal(seen.Accept, 'text/event-stream');
  assert.deepEqual(events, [{ id: '1', event: 'collect', data: '{"collected":3}' }]);
});

const o = (id, type, referents = [], extra = {}) => ({ id, type, refcount: 1, tracked: true, generation: 0, referents, ...extra });

test('reachability: the classic cycles are unreachable once unbound', () => {
  const objects = [o(1, 'list', [1]), o(2, 'instance', [3]), o(3, 'instance', [2]), o(4, 'dict', [5]), o(5, 'str', [], { tracked: false, value: 'k', length: 1 })];
  const a = analyse(objects, { keep: 4 });
  assert.deepEqual([...a.reachable].sort(), [4, 5]);
  assert.deepEqual([...a.unreachable].sort(), [1, 2, 3]);
  assert.deepEqual([...a.reclaimable].sort(), [1, 2, 3]);
  const frozen = analyse([o(1, 'list', [1], { generation: 'permanent' })], {});
  assert.equal(frozen.reclaimable.size, 0);
  assert.equal(frozen.unreachable.size, 1);
});

test('visibility: small ints/strs and untracked hidden unless toggled or named', () => {
  const objects = [o(1, 'list', [2, 3, 4]), o(2, 'int', [], { value: 5, tracked: false }), o(3, 'int', [], { value: 1000, tracked: false }),
    o(4, 'str', [], { value: 'x', length: 1, tracked: false }), o(5, 'int', [], { value: 7, tracked: false })];
  const a = analyse(objects, { l: 1, seven: 5 });
  assert.deepEqual([...visibleIds(a)].sort(), [1, 5]);
  assert.deepEqual([...visibleIds(a, { showUntracked: true })].sort(), [1, 3, 5]);
  assert.deepEqual([...visibleIds(a, { showUntracked: true, showSmall: true })].sort(), [1, 2, 3, 4, 5]);
  assert.ok(isSmall({ type: 'int', value: -5 }) && !isSmall({ type: 'int', value: 257 }));
});

test('graph elements: names, deduplicated edges with counts, roots for cycles', () => {
  const objects = [o(1, 'list', [2, 2]), o(2, 'list', []), o(3, 'instance', [4], { class: 'Node' }), o(4, 'instance', [3], { class: 'Node' })];
  const a = analyse(objects, { a: 1 });
  const els = buildElements(a, visibleIds(a));
  assert.deepEqual(els.nodes.map((n) => n.id), ['n:a', 'o:1', 'o:2', 'o:3', 'o:4']);
  const e12 = els.edges.find((e) => e.id === 'e:o:1->o:2');
  assert.equal(e12.count, 2);
  assert.ok(els.nodes.find((n) => n.id === 'o:3').unreachable);
  assert.match(els.nodes.find((n) => n.id === 'o:3').label, /#3 Node\nrc 1 · gen 0\n✗ unreachable/);
  assert.deepEqual(layoutRoots(els), ['n:a', 'o:3']);
  assert.equal(nodeLabel(o(7, 'str', [], { value: 'hello', tracked: false })), '#7 str "hello"\nrc 1 · untracked');
});

test('aggregate by type, object references typed by students, signature', () => {
  const objects = [o(1, 'list'), o(2, 'list'), o(3, 'dict')];
  assert.deepEqual(aggregateByType(objects, analyse(objects, { a: 1 })).map((r) => [r.type, r.count, r.unreachable]), [['list', 2, 1], ['dict', 1, 1]]);
  assert.equal(resolveObject('#17', {}), 17);
  assert.equal(resolveObject(' 4 ', {}), 4);
  assert.equal(resolveObject('a', { a: 9 }), 9);
  assert.equal(resolveObject('b', { a: 9 }), null);
  assert.notEqual(summarySignature({ objects: 1, gc: { count: [1, 0, 0] } }), summarySignature({ objects: 1, gc: { count: [2, 0, 0] } }));
});

test('console: create bodies and reference slots', () => {
  assert.deepEqual(createSpec({ type: 'list', name: 'a', value: '', items: '1, #2, b', cls: '', finalizer: false }, { b: 3 }), { type: 'list', items: [1, 2, 3], name: 'a' });
  assert.deepEqual(createSpec({ type: 'dict', name: '', value: '', items: 'k=1', cls: '', finalizer: false }, {}), { type: 'dict', items: { k: 1 } });
  assert.deepEqual(createSpec({ type: 'instance', name: 'x', value: '', items: 'other=1', cls: 'Node', finalizer: true }, {}),
    { type: 'instance', attrs: { other: 1 }, class: 'Node', finalizer: true, name: 'x' });
  assert.deepEqual(createSpec({ type: 'int', name: '', value: '42', items: '', cls: '', finalizer: false }, {}), { type: 'int', value: 42 });
  assert.throws(() => createSpec({ type: 'int', name: '', value: 'x', items: '', cls: '', finalizer: false }, {}));
  assert.throws(() => createSpec({ type: 'list', name: '', value: '', items: 'nope', cls: '', finalizer: false }, {}));
  assert.deepEqual(slotField('list', '0'), ['index', 0]);
  assert.deepEqual(slotField('dict', 'k'), ['key', 'k']);
  assert.deepEqual(slotField('instance', 'other'), ['attr', 'other']);
  assert.equal(slotField('list', ''), null);
});

const memory = {
  arenas: { in_use: 1 }, pools: { in_use: 2 }, allocated_blocks: 3,
  size_classes: [{ index: 1, size: 32, pools: 1, used_blocks: 2, free_blocks: 508 }, { index: 3, size: 64, pools: 1, used_blocks: 1, free_blocks: 254 }],
  arena_map: [{ arena: 0, pools: [[3, 1, 255], [1, 2, 510], [-1, 0, 0]] }],
};

test('memory map: totals agree with /memory, changes in words', () => {
  const t = mapTotals(memory.arena_map);
  assert.equal(t.poolsInUse, 2);
  assert.equal(t.usedBlocks, 3);
  assert.deepEqual(checkAgainstMemory(memory), []);
  assert.equal(checkAgainstMemory({ ...memory, pools: { in_use: 3 } }).length, 1);
  assert.equal(classSize(0), 16);
  assert.equal(classSize(31), 512);
  assert.match(classColour(0), /^#[0-9a-f]{6}$/);
  assert.notEqual(classColour(0), classColour(31));
  assert.match(poolText(0, 1, [1, 2, 510]), /size class 1 \(32-byte blocks\), 2 of 510 blocks used/);
  const next = [{ arena: 0, pools: [[3, 2, 255], [-1, 0, 0], [5, 1, 170]] }, { arena: 1, pools: [] }];
  assert.deepEqual(diffMaps(memory.arena_map, next), [
    'arena 1 allocated (1 MiB from the OS)',
    'arena 0, pool 0 (64 B): +1 block (2/255 used)',
    "arena 0, pool 1: emptied, back to the arena's free pools",
    'arena 0, pool 2: now serves size class 5 (96-byte blocks), 1 used',
  ]);
  assert.deepEqual(diffMaps(next, [next[0]]), ['arena 1 released to the OS (all its pools were empty)']);
});

test('events: words, merging by seq, snapshots for replay', () => {
  assert.equal(describeEvent({ kind: 'free', count: 1, ids: [3], type: 'list' }), 'freed #3 list');
  assert.match(describeEvent({ kind: 'collect', generation: 2, collected: 3, uncollectable: 0, examined: 3, duration_us: 5, automatic: false }), /collected generation 2: 3 freed/);
  assert.equal(describeEvent({ kind: 'weakref_callback', ids: [7], target: 4 }), 'weakref #7 callback: its target #4 died');
  assert.deepEqual(mergeEvents([{ seq: 1 }, { seq: 2 }], [{ seq: 2 }, { seq: 3 }]).map((e) => e.seq), [1, 2, 3]);
  assert.deepEqual(mergeEvents([{ seq: 1 }, { seq: 2 }], [{ seq: 3 }], 2).map((e) => e.seq), [2, 3]);
  const snaps = [{ next: 1, t: 1 }, { next: 4, t: 2 }, { next: 4, t: 3 }, { next: 9, t: 4 }];
  assert.equal(snapshotAt(snaps, 0).t, 1);
  assert.equal(snapshotAt(snaps, 5).t, 3);
  assert.equal(snapshotAt(snaps, 8).t, 4);
  assert.equal(snapshotAt([{ next: 5, t: 1 }], 2), null);
});
