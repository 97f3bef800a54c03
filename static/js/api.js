// api.js — the public v1 API, and nothing else. Every call made for the
// student (not the background refreshes) is reported to onCall so the
// console can show the curl command that does the same.

export class ApiError extends Error {
  constructor(status, problem) {
    super((problem && (problem.detail || problem.title)) || `HTTP ${status}`);
    this.status = status;
    this.problem = problem || {};
  }
}

export function createClient({ base = '', fetchImpl } = {}) {
  const f = fetchImpl || ((...a) => fetch(...a));
  let heap = null; // {id, token}
  let onCall = null;

  async function request(method, path, body, { auth = true, report = false, accept } = {}) {
    const headers = {};
    if (auth && heap) headers.Authorization = 'Bearer ' + heap.token;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (accept) headers.Accept = accept;
    const started = performance.now();
    const res = await f(base + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: 'no-store',
    });
    const text = await res.text();
    let json = null;
    try {
      json = text ? JSON.parse(text) : null;
    } catch {
      json = null;
    }
    if (report && onCall) onCall({ method, path, body, auth, status: res.status, response: json ?? text, ms: performance.now() - started });
    if (!res.ok) throw new ApiError(res.status, json);
    return json;
  }

  const h = (p = '') => `/v1/heaps/${encodeURIComponent(heap.id)}${p}`;
  const act = (method, p, body) => request(method, h(p), body, { report: true });
  const read = (p) => request('GET', h(p));

  return {
    request,
    get heap() {
      return heap;
    },
    setHeap(v) {
      heap = v;
    },
    set onCall(fn) {
      onCall = fn;
    },
    headers() {
      return heap ? { Authorization: 'Bearer ' + heap.token } : {};
    },
    heapPath: h,

    // --- opening ---
    createHeap: (name) => request('POST', '/v1/heaps', name ? { name } : {}, { auth: false, report: true }),
    // --- reads (background) ---
    summary: () => read(''),
    names: () => read('/names'),
    objectsPage: (cursor, limit = 1000) => read(`/objects?limit=${limit}${cursor ? '&cursor=' + cursor : ''}`),
    object: (id) => read(`/objects/${id}`),
    path: (id) => read(`/objects/${id}/path`),
    memory: () => read('/memory?map=1'),
    gc: () => read('/gc'),
    events: (since, limit = 1000) => read(`/events?since=${since}&limit=${limit}`),
    // --- actions (shown as curl) ---
    create: (spec) => act('POST', '/objects', spec),
    bind: (name, id) => act('PUT', `/names/${encodeURIComponent(name)}`, { id }),
    unbind: (name) => act('DELETE', `/names/${encodeURIComponent(name)}`),
    addRef: (id, spec) => act('POST', `/objects/${id}/refs`, spec),
    removeRef: (id, by, value) => act('DELETE', `/objects/${id}/refs?${by}=${encodeURIComponent(value)}`),
    weakref: (spec) => act('POST', '/weakrefs', spec),
    collect: (generation) => act('POST', '/gc/collect', generation === undefined ? undefined : { generation }),
    collectExplained: (generation) => act('POST', '/gc/collect', { generation, explain: true }),
    freeze: () => act('POST', '/gc/freeze'),
    unfreeze: () => act('POST', '/gc/unfreeze'),
    configureGc: (cfg) => act('PATCH', '/gc', cfg),
    batch: (ops) => act('POST', '/batch', { ops }),
    inspect: (id) => act('GET', `/objects/${id}`),
  };
}

/** Every object of the heap, page by page, up to `cap` (then truncated). */
export async function fetchObjects(client, cap = 5000) {
  const out = [];
  let cursor = null;
  for (;;) {
    const page = await client.objectsPage(cursor, 1000);
    out.push(...page.objects);
    if (page.next === null || page.next === undefined) return { objects: out, truncated: false };
    if (out.length >= cap) return { objects: out, truncated: true };
    cursor = page.next;
  }
}
