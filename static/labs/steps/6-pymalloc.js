// Lab 6: pymalloc — size classes, pools filling, freed blocks reused,
// arenas returned to the OS.
import { equal } from '../checks.js';

const POOL_SIZE = 16384;
const POOL_HEADER = 48; // sizeof(struct pool_header) on 64-bit
const blocksPerPool = (blockSize) => Math.floor((POOL_SIZE - POOL_HEADER) / blockSize);
const sizeClass = (memory, index) => memory.size_classes.find((c) => c.index === index) || { pools: 0, used_blocks: 0, free_blocks: 0 };

/** `name = []`, then `for …: loop_var = <created>; name.append(loop_var)` as a batch: the jq program and the same body in JS. */
function appendLoop({ list, loopVar, count, create, jqCreate }) {
  return {
    method: 'POST', path: '/batch', quiet: true,
    jq: { args: [], program: `{ops: ([{op: "create", type: "list", name: "${list}"}] + [range(${count}) as $k | ${jqCreate}, {op: "ref", id: "$0", target: "$\\(2 * $k + 1)"}])}` },
    build: () => ({
      ops: [{ op: 'create', type: 'list', name: list },
        ...Array.from({ length: count }, (_, k) => [{ ...create(k), name: loopVar }, { op: 'ref', id: '$0', target: `$${2 * k + 1}` }]).flat()],
    }),
  };
}

/** The numbers `sys._debugmallocstats()` prints as "# <label> = n". */
function statsFigure(text, label) {
  const m = new RegExp(`^# ${label}\\s*=\\s*([\\d,]+)`, 'm').exec(text);
  return m ? Number(m[1].replace(/,/g, '')) : null;
}

export default {
  names: { X: 'x', Y: 'y', Z: 'z', B: 'b' },
  steps: [
    {
      python: 'x = 1000',
      says: 'Ints above 256 are not cached: a new object. `sys.getsizeof(x)` is 28 bytes; pymalloc rounds every request up to a multiple of 16, ' +
        'so it gets a 32-byte block, size class 1, carved from a 16 KiB pool that serves only 32-byte blocks.',
      requests: [{ method: 'POST', path: '/objects', body: { type: 'int', value: 1000, name: 'x' } }],
      async check(t) {
        const x = await t.object('X');
        t.remember('x address', x.address);
        const c1 = sizeClass(await t.get('/memory'), 1);
        return [
          equal('sys.getsizeof(x)', x.size, 28),
          equal('its size class', x.size_class, 1, '32-byte blocks'),
          equal('pools of size class 1 (GET …/memory)', c1.pools, 1),
          equal('32-byte blocks in use', c1.used_blocks, 1),
        ];
      },
    },
    {
      python: 'y = 1001',
      says: 'The next int takes the next block of the same pool: its address is 32 bytes further on.',
      requests: [{ method: 'POST', path: '/objects', body: { type: 'int', value: 1001, name: 'y' } }],
      async check(t) {
        const y = await t.object('Y');
        const gap = Number(BigInt(y.address) - BigInt(t.recall('x address')));
        return [equal('id(y) - id(x)', gap, 32, `x at ${t.recall('x address')}, y at ${y.address}`)];
      },
    },
    {
      python: 'del x',
      says: 'x is freed: its block goes back on its pool\'s free list. The pool stays, and so does the memory.',
      requests: [{ method: 'DELETE', path: '/names/x' }],
      async check(t) {
        const c1 = sizeClass(await t.get('/memory'), 1);
        return [equal('32-byte blocks in use', c1.used_blocks, 1), equal('pools of size class 1', c1.pools, 1)];
      },
    },
    {
      python: 'z = 1002',
      says: 'The free list is last in, first out: the new int gets exactly the block x had. Same address, so `id(z)` equals the old `id(x)`.',
      requests: [{ method: 'POST', path: '/objects', body: { type: 'int', value: 1002, name: 'z' } }],
      async check(t) {
        return [equal('id(z)', (await t.object('Z')).address, t.recall('x address'), 'the block x had')];
      },
    },
    {
      python: 'nums = []\nfor i in range(2000, 2600):\n    nums.append(i)',
      says: `600 more ints. A pool of 32-byte blocks holds (16384 − 48) / 32 = ${blocksPerPool(32)} of them (48 bytes are the pool's header): ` +
        'the first pool fills up and a second one is taken. The memory map (`?map=1`) shows every pool: `[size class, used, capacity]`.',
      requests: [appendLoop({ list: 'nums', loopVar: 'i', count: 600, create: (k) => ({ op: 'create', type: 'int', value: 2000 + k }), jqCreate: '{op: "create", type: "int", value: (2000 + $k), name: "i"}' })],
      async check(t) {
        const memory = await t.get('/memory?map=1');
        const c1 = sizeClass(memory, 1);
        const full = memory.arena_map.flatMap((a) => a.pools).filter(([cls, used, capacity]) => cls === 1 && used === capacity);
        return [
          equal('32-byte blocks in use', c1.used_blocks, 602, 'y, z and 600 ints'),
          equal('pools of size class 1', c1.pools, Math.ceil(c1.used_blocks / blocksPerPool(32))),
          equal('full pools of size class 1 in the map', full.length, 1, full.length ? `[1, ${full[0][1]}, ${full[0][2]}]` : ''),
        ];
      },
    },
    {
      python: 'blobs = []\nfor k in range(5000):\n    b = bytes(470)\n    blobs.append(b)',
      says: `\`sys.getsizeof(bytes(470))\` is 503: the largest size class, 512-byte blocks, ${blocksPerPool(512)} to a pool. ` +
        '5000 of them need 162 pools, more than a 1 MiB arena holds (64 pools, or 63 when one is lost to aligning them): ' +
        'pymalloc maps new arenas from the OS. (`blobs` itself, 40 KiB of item pointers, is above 512 bytes: a plain malloc, outside the arenas.)',
      requests: [appendLoop({ list: 'blobs', loopVar: 'b', count: 5000, create: () => ({ op: 'create', type: 'bytes', size: 470 }), jqCreate: '{op: "create", type: "bytes", size: 470, name: "b"}' })],
      async check(t) {
        const [b, memory] = [await t.object('B'), await t.get('/memory')];
        const c31 = sizeClass(memory, 31);
        const poolsPerArena = (memory.pools.in_use + memory.pools.empty) / memory.arenas.in_use;
        return [
          equal('sys.getsizeof(b)', b.size, 503),
          equal('its size class', b.size_class, 31, '512-byte blocks'),
          equal('pools of size class 31', c31.pools, Math.ceil(c31.used_blocks / blocksPerPool(512))),
          equal('arenas in use', memory.arenas.in_use, Math.ceil(memory.pools.in_use / poolsPerArena), `${memory.pools.in_use} pools in use, ${poolsPerArena} per arena`),
        ];
      },
    },
    {
      python: 'del blobs, b',
      says: 'The list frees its 5000 items, and `b` the last one. Pools that empty go back to their arena\'s free pools; ' +
        'an arena whose pools are all free goes back to the OS, except the last of the usable arenas (the one with the most free pools): ' +
        'since Python 3.9 pymalloc keeps that one, so that a loop which allocates and frees does not map and unmap an arena every time.',
      requests: [{ method: 'DELETE', path: '/names/blobs' }, { method: 'DELETE', path: '/names/b' }],
      async check(t) {
        const memory = await t.get('/memory?map=1');
        const empty = memory.arena_map.filter((a) => a.pools.every(([cls]) => cls === -1));
        return [
          equal('arenas returned to the OS (arenas.reclaimed)', memory.arenas.reclaimed, 1),
          equal('arenas still mapped', memory.arenas.in_use, 2, 'one with the objects still alive, and the empty one kept'),
          equal('empty arenas kept', empty.length, 1),
        ];
      },
    },
    {
      python: 'import sys\nsys._debugmallocstats()',
      says: 'CPython\'s own report of the allocator, as text. heaplab prints the pymalloc part of it with the same figures as the JSON.',
      requests: [{ method: 'GET', path: '/memory?format=text' }],
      async check(t) {
        const [text, memory] = [await t.get('/memory?format=text'), await t.get('/memory')];
        return [
          equal('"# arenas allocated total"', statsFigure(text, 'arenas allocated total'), memory.arenas.allocated),
          equal('"# arenas reclaimed"', statsFigure(text, 'arenas reclaimed'), memory.arenas.reclaimed),
          equal('"# arenas highwater mark"', statsFigure(text, 'arenas highwater mark'), memory.arenas.highwater),
        ];
      },
    },
  ],
};
