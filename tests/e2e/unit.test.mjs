// Unit tests of the dashboard's pure modules (node --test).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { curlCommand, shellQuote, exportLines } from '../../static/js/curl.js';
import { SseParser, readEventStream } from '../../static/js/sse.js';
import { analyse, visibleIds, buildElements, layoutRoots, aggregateByType, isSmall, resolveObject, summarySignature, nodeLabel } from '../../static/js/model.js';
import { mapTotals, diffMaps, checkAgainstMemory, classSize, classColour, poolText } from '../../static/js/memory.js';
import { describeEvent, mergeEvents, snapshotAt } from '../../static/js/events.js';
import { createSpec, slotField } from '../../static/js/console-view.js';
import { spawnSync } from 'node:child_process';
import { caption, buildFrames, phaseStarts, objectLabel } from '../../static/js/explain.js';
import { variablesOf, stepVariables, fillPath, fillBody, instances, concrete, curlFor, stepCurl, lookupLine, exportLines as labExportLines } from '../../static/labs/requests.js';
import { equal, claim, freed, freeOrder, garbageIds, eventsAbout } from '../../static/labs/checks.js';

const LAB_SLUGS = ['1-names', '2-freeing', '3-cycle', '4-generations', '5-weakrefs', '6-pymalloc', '7-freeze', '8-generators'];
const LABS = Object.fromEntries(await Promise.all(LAB_SLUGS.map(async (s) => [s, (await import(`../../static/labs/steps/${s}.js`)).default])));

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

// ---------- the explain playback ----------

// The answer of POST .../gc/collect {"explain": true} for: a = []; a.append(a); b = []; c = [b]; del b; del a
const CYCLE_EXPLAIN = {
  generation: 2, examined: 3, explained: 3, omitted: 0,
  phases: ['update_refs', 'subtract_refs', 'move_unreachable', 'weakrefs', 'finalizers', 'resurrection', 'delete'],
  objects: [
    { id: 1, type: 'list', refcount: 1, gc_refs: 0, verdict: 'freed', reachable_from: null },
    { id: 2, type: 'list', refcount: 1, gc_refs: 0, verdict: 'reachable', reachable_from: 3 },
    { id: 3, type: 'list', refcount: 1, gc_refs: 1, verdict: 'reachable', reachable_from: null },
  ],
  timeline: [
    { phase: 'update_refs', id: 1, gc_refs: 1 }, { phase: 'update_refs', id: 2, gc_refs: 1 }, { phase: 'update_refs', id: 3, gc_refs: 1 },
    { phase: 'subtract_refs', id: 1, gc_refs: 0 }, { phase: 'subtract_refs', id: 2, gc_refs: 0 }, { phase: 'subtract_refs', id: 3, gc_refs: 1 },
    { phase: 'move_unreachable', id: 1, state: 'tentatively_unreachable' }, { phase: 'move_unreachable', id: 2, state: 'tentatively_unreachable' },
    { phase: 'move_unreachable', id: 3, state: 'reachable' }, { phase: 'move_unreachable', id: 2, state: 'rescued', by: 3 },
    { phase: 'delete', id: 1, state: 'freed' },
  ],
  omitted_by_verdict: { reachable: 0, freed: 0, resurrected: 0, uncollectable: 0, untracked: 0 },
};

test('explain: one caption per timeline step, gc_refs from before to after', () => {
  const captions = buildFrames(CYCLE_EXPLAIN, []).map((f) => f.caption);
  assert.equal(captions.length, CYCLE_EXPLAIN.timeline.length + 1);
  assert.match(captions[0], /^Before gc\.collect\(2\): 3 objects to examine\./);
  assert.equal(captions[1], 'update_refs: list #1 starts with gc_refs = its refcount, 1');
  assert.equal(captions[4], 'subtract_refs: list #1 is referenced only from inside generation 2: gc_refs 1 → 0');
  assert.equal(captions[6], 'subtract_refs: nothing inside generation 2 refers to list #3: gc_refs stays 1 (names or older objects), so it is reachable');
  assert.equal(captions[7], 'move_unreachable: list #1 has gc_refs 0 and nothing reachable has reached it yet: tentatively unreachable');
  assert.equal(captions[9], 'move_unreachable: list #3 has gc_refs 1: reachable, it stays');
  assert.equal(captions[10], 'move_unreachable: list #2 is referenced by list #3, which is reachable: rescued');
  assert.equal(captions[11], 'delete: list #1 is freed: the collector clears the garbage\'s references and refcounts fall to 0');
});

test('explain: weakrefs, finalizers, resurrection and frees in any phase, instances by class', () => {
  const label = (id) => objectLabel({ 5: { type: 'instance', class: 'Node' }, 9: { type: 'weakref' } }[id], id);
  const say = (entry, before = {}) => caption(entry, before, { label, generation: 0 });
  assert.equal(say({ phase: 'subtract_refs', id: 5, gc_refs: 2 }, { gc_refs: 3 }),
    'subtract_refs: Node #5 keeps 2 references from outside generation 0 (names or older objects): gc_refs 3 → 2, so it is reachable');
  assert.equal(say({ phase: 'move_unreachable', id: 5, state: 'reachable', by: 9 }), 'move_unreachable: Node #5 is reached through weakref #9, which is reachable: it stays');
  assert.match(say({ phase: 'move_unreachable', id: 5, state: 'untracked' }), /stops tracking it$/);
  assert.equal(say({ phase: 'weakrefs', id: 9, state: 'cleared', callback: true }), 'weakrefs: weakref #9 referred to an unreachable object, so it is cleared and its callback runs');
  assert.match(say({ phase: 'weakrefs', id: 9, state: 'cleared', callback: false }), /\(no callback runs\)$/);
  assert.equal(say({ phase: 'finalizers', id: 5, state: 'finalized' }), 'finalizers: Node #5\'s __del__ runs (PEP 442: at most once per object)');
  assert.equal(say({ phase: 'resurrection', id: 5, state: 'resurrected' }), 'resurrection: a finalizer made Node #5 reachable again: this collection keeps it');
  assert.equal(say({ phase: 'finalizers', id: 7, state: 'freed' }), 'finalizers: object #7\'s refcount fell to 0: freed');
});

test('explain: frames keep every object\'s state step by step; phases start where they first appear', () => {
  const frames = buildFrames(CYCLE_EXPLAIN, [{ id: 1, type: 'list' }]);
  assert.equal(frames[0].nodes.size, 0);
  assert.deepEqual(frames[4].nodes.get(1), { gc_refs: 0, by: undefined });
  assert.deepEqual(frames[7].nodes.get(1), { gc_refs: 0, state: 'tentatively_unreachable', by: undefined });
  assert.deepEqual(frames[10].nodes.get(2), { gc_refs: 0, state: 'rescued', by: 3 });
  assert.equal(frames[9].nodes.get(2).state, 'tentatively_unreachable', 'a later step changed an earlier frame');
  assert.equal(frames[11].nodes.get(1).state, 'freed');
  assert.deepEqual(phaseStarts(frames, CYCLE_EXPLAIN.phases).map((p) => [p.phase, p.frame]), [
    ['update_refs', 1], ['subtract_refs', 4], ['move_unreachable', 7], ['weakrefs', null], ['finalizers', null], ['resurrection', null], ['delete', 11]]);
  const partial = buildFrames({ ...CYCLE_EXPLAIN, examined: 250, explained: 200, omitted: 50 }, []);
  assert.match(partial[0].caption, /250 objects to examine, the first 200 of them explained step by step\./);
});

// ---------- the labs ----------

test('labs: curl lines from the definitions the page sends', () => {
  assert.equal(curlFor({ method: 'POST', path: '/objects', body: { type: 'list', name: 'a' } }),
    `curl -s "$HEAPLAB/v1/heaps/$H/objects" -H "Authorization: Bearer $T" -d '{"type": "list", "name": "a"}'`);
  assert.equal(curlFor({ method: 'POST', path: '/objects/$A/refs', body: { target: '$A' } }),
    `curl -s "$HEAPLAB/v1/heaps/$H/objects/$A/refs" -H "Authorization: Bearer $T" -d "{\\"target\\": $A}"`);
  // a batch reference is no variable: "$0" stays a string, escaped inside double quotes
  assert.equal(curlFor({ method: 'POST', path: '/batch', body: { ops: [{ op: 'ref', id: '$0', target: '$B' }] } }),
    `curl -s "$HEAPLAB/v1/heaps/$H/batch" -H "Authorization: Bearer $T" -d "{\\"ops\\": [{\\"op\\": \\"ref\\", \\"id\\": \\"\\$0\\", \\"target\\": $B}]}"`);
  assert.equal(curlFor({ method: 'DELETE', path: '/names/a' }), `curl -s -X DELETE "$HEAPLAB/v1/heaps/$H/names/a" -H "Authorization: Bearer $T" -w '%{http_code}\\n'`);
  assert.equal(curlFor({ method: 'POST', path: '/gc/freeze' }), `curl -s -X POST "$HEAPLAB/v1/heaps/$H/gc/freeze" -H "Authorization: Bearer $T"`);
  assert.equal(curlFor({ method: 'PUT', path: '/names/b', body: { id: "it's" } }),
    `curl -s -X PUT "$HEAPLAB/v1/heaps/$H/names/b" -H "Authorization: Bearer $T" -d '{"id": "it'\\''s"}'`);
  assert.equal(curlFor({ method: 'POST', path: '/snapshots', saveAs: 'S1' }),
    `S1=$(curl -s -X POST "$HEAPLAB/v1/heaps/$H/snapshots" -H "Authorization: Bearer $T" | jq .id); echo "S1=$S1"`);
  assert.equal(curlFor({ method: 'POST', path: '/batch', quiet: true, each: { var: 'S', step: 10, below: 'N' }, jq: { args: ['S', 'N'], program: '{ops: []}' } }),
    `for S in $(seq 0 10 $((N - 1))); do\n  jq -nc --argjson S "$S" --argjson N "$N" '{ops: []}' | curl -s "$HEAPLAB/v1/heaps/$H/batch" -H "Authorization: Bearer $T" --data-binary @- | jq -c '{applied: (.results | length), detail}'\ndone`);
  const step = { requests: [{ method: 'POST', path: '/objects/$C/refs', body: { target: '$A' } }] };
  assert.deepEqual(stepVariables(step), ['C', 'A']);
  assert.equal(stepCurl(step, { names: { A: 'a', C: 'c' } }).split('\n')[0], lookupLine('C', 'c'));
  assert.equal(lookupLine('A', 'a'), `A=$(curl -s "$HEAPLAB/v1/heaps/$H/names/a" -H "Authorization: Bearer $T" | jq .id)`);
  assert.equal(labExportLines({ base: 'http://x', heap: { id: 'h', token: 't' }, params: { N: 5 } }), 'export HEAPLAB=http://x\nexport H=h\nexport T=t\nexport N=5');
});

test('labs: variables filled in, loops cut into batches', () => {
  assert.equal(fillPath('/objects/$A/refs?index=1', { A: 7 }), '/objects/7/refs?index=1');
  assert.deepEqual(fillBody({ items: ['$A', '$0', 'x'], n: 3 }, { A: 7 }), { items: [7, '$0', 'x'], n: 3 });
  assert.throws(() => fillPath('/objects/$B', { A: 7 }), /\$B is not known/);
  const req = { method: 'POST', path: '/batch', each: { var: 'S', step: 10, below: 'N' }, build: ({ S, N }) => ({ from: S, to: Math.min(S + 10, N) }) };
  assert.deepEqual([...variablesOf(req)], ['N']);
  assert.deepEqual(instances(req, { N: 25 }).map((v) => concrete(req, v).body), [{ from: 0, to: 10 }, { from: 10, to: 20 }, { from: 20, to: 25 }]);
  assert.deepEqual(concrete({ method: 'GET', path: '/snapshots/$S1/compare/$S2' }, { S1: 1, S2: 2 }), { method: 'GET', path: '/snapshots/1/compare/2', body: undefined });
});

test('labs: every lab has numbered steps with Python, words, requests and checks, and every variable comes from somewhere', () => {
  for (const [slug, lab] of Object.entries(LABS)) {
    assert.ok(lab.steps.length >= 6, `${slug}: ${lab.steps.length} steps`);
    const saved = new Set();
    lab.steps.forEach((step, i) => {
      const where = `${slug} step ${i + 1}`;
      assert.ok(step.python && step.says && step.requests.length && typeof step.check === 'function', where);
      for (const v of stepVariables(step)) {
        assert.ok(v in (lab.names || {}) || v in (lab.params || {}) || saved.has(v), `${where}: where does $${v} come from?`);
      }
      for (const req of step.requests) {
        if (req.saveAs) saved.add(req.saveAs);
        if (req.jq) assert.ok(!req.jq.program.includes("'"), `${where}: the jq program is single-quoted in the shell`);
      }
    });
  }
});

const hasJq = spawnSync('jq', ['--version']).status === 0;

test('labs: jq in the shell writes the same bodies as the page', { skip: !hasJq && 'jq is not installed' }, () => {
  let compared = 0;
  for (const [slug, lab] of Object.entries(LABS)) {
    for (const step of lab.steps) {
      for (const req of step.requests.filter((r) => r.jq)) {
        // a loop's first batch and a short last one
        const samples = req.each ? [{ S: 0, N: 30000, L: 7 }, { S: 25000, N: 30000, L: 7 }] : [{}];
        for (const vars of samples) {
          const args = req.jq.args.flatMap((a) => ['--argjson', a, String(vars[a])]);
          const r = spawnSync('jq', ['-nc', ...args, req.jq.program], { encoding: 'utf8', maxBuffer: 1 << 26 });
          assert.equal(r.status, 0, `${slug}: ${r.stderr}`);
          assert.deepEqual(JSON.parse(r.stdout), req.build(vars), `${slug}: ${req.jq.program}`);
          compared++;
        }
      }
    }
  }
  assert.ok(compared >= 6, `${compared} jq bodies compared`);
});

test('labs: checks state what the server answered', () => {
  assert.deepEqual(equal('the refcount of a', 2, 2), { ok: true, text: 'the refcount of a is 2' });
  assert.deepEqual(equal('the refcount of a', 3, 2, 'why'), { ok: false, text: 'the refcount of a is 3, expected 2 — why' });
  assert.deepEqual(equal('gc.get_threshold()', [5, 10, 10], [5, 10, 10]), { ok: true, text: 'gc.get_threshold() is [5,10,10]' });
  assert.deepEqual(claim(0, 'yes', 'no'), { ok: false, text: 'no' });
  assert.deepEqual(freed('box', null), { ok: true, text: 'box is gone: freed' });
  assert.equal(freed('box', { refcount: 1 }).ok, false);
  const events = [{ kind: 'free', ids: [2, 1, 3] }, { kind: 'finalize', ids: [4] }, { kind: 'free', ids: [9, 4] }];
  assert.deepEqual(freeOrder(events, [1, 2, 3, 4]), [2, 1, 3, 4]);
  assert.equal(eventsAbout(events, 'finalize', 4).length, 1);
  // the small int 5 no name reaches is cached, not garbage
  assert.deepEqual(garbageIds([o(1, 'int', [], { tracked: false, value: 5 }), o(2, 'list', [2]), o(3, 'list')], { keep: 3 }), [2]);
});
