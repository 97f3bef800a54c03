// requests.js — a lab step's HTTP requests, from one definition twice: sent
// by the page's "Run this step" button, and written out as the curl lines a
// student pastes into a shell where HEAPLAB, H (the heap id) and T (its
// token) are exported. Deriving both from the same data is what keeps them
// the same requests. Pure: no DOM, importable by node for unit tests.
//
// A request (paths are relative to /v1/heaps/$H):
//   {method, path, body}
//   {method, path, jq: {program, args}, build(vars)}
//       a body too long to type: jq writes it in the shell, build() on the
//       page (the unit tests check that both write the same JSON)
//   each: {var: 'S', step: 25000, below: 'N'}
//       repeated for S = 0, step, 2·step, … while S < $N
//   quiet: true
//       the shell prints how many ops a batch applied, not its whole answer
//   saveAs: 'SA'
//       keep the answer's id as $SA for later steps (a snapshot's, say)
// '$A' in a path, or as a whole string in a body, is a lab variable: the id
// of an object looked up by its name (lab.names: {A: 'a'}) or a parameter
// (lab.params). Batch references such as "$0" start with a digit: they are
// the server's, not variables.

const VAR = /\$([A-Z][A-Z0-9_]*)/g;
const WHOLE_VAR = /^\$([A-Z][A-Z0-9_]*)$/;
const AUTH = '-H "Authorization: Bearer $T"';

/** The variables a request uses (its loop variable included). */
export function variablesOf(req) {
  const out = new Set();
  const scan = (v) => {
    if (typeof v === 'string') for (const m of v.matchAll(VAR)) out.add(m[1]);
    else if (v && typeof v === 'object') Object.values(v).forEach(scan);
  };
  scan(req.path);
  scan(req.body);
  if (req.jq) req.jq.args.forEach((a) => out.add(a));
  if (req.each) out.add(req.each.below);
  return out;
}

/** The variables a step needs from outside: everything but its loop variables. */
export function stepVariables(step) {
  const out = new Set();
  for (const req of step.requests) for (const v of variablesOf(req)) if (!req.each || v !== req.each.var) out.add(v);
  return [...out];
}

function lookup(vars, name) {
  if (!(name in vars)) throw new Error(`$${name} is not known`);
  return vars[name];
}

/** The path under /v1/heaps/{heap}, variables filled in. */
export function fillPath(path, vars) {
  return path.replace(VAR, (_, name) => encodeURIComponent(lookup(vars, name)));
}

/** A body with every whole-string variable replaced by its value. */
export function fillBody(body, vars) {
  if (typeof body === 'string') {
    const m = WHOLE_VAR.exec(body);
    return m ? lookup(vars, m[1]) : body;
  }
  if (Array.isArray(body)) return body.map((v) => fillBody(v, vars));
  if (body && typeof body === 'object') return Object.fromEntries(Object.entries(body).map(([k, v]) => [k, fillBody(v, vars)]));
  return body;
}

/** The variables a request is sent with: once, or once per value of its loop variable. */
export function instances(req, vars) {
  if (!req.each) return [vars];
  const out = [];
  const below = lookup(vars, req.each.below);
  for (let s = 0; s < below; s += req.each.step) out.push({ ...vars, [req.each.var]: s });
  return out;
}

/** The request as sent with these variables: {method, path, body}. */
export function concrete(req, vars) {
  return { method: req.method, path: fillPath(req.path, vars), body: req.build ? req.build(vars) : fillBody(req.body, vars) };
}

/** JSON with a space after ':' and ',' (as people type it); whole-string variables stay bare. */
function jsonText(v) {
  if (typeof v === 'string' && WHOLE_VAR.test(v)) return '\u0000' + v.slice(1) + '\u0000';
  if (Array.isArray(v)) return '[' + v.map(jsonText).join(', ') + ']';
  if (v && typeof v === 'object') return '{' + Object.entries(v).map(([k, x]) => JSON.stringify(k) + ': ' + jsonText(x)).join(', ') + '}';
  return JSON.stringify(v);
}

/** A JSON body as one shell word: single-quoted, or double-quoted when variables must expand. */
function shellJson(body) {
  const text = jsonText(body);
  if (!text.includes('\u0000')) return "'" + text.replace(/'/g, "'\\''") + "'";
  const escaped = text.replace(/[\\"`$]/g, (c) => '\\' + c);
  return '"' + escaped.replace(/\u0000([A-Z0-9_]+)\u0000/g, '$$$1') + '"';
}

// DELETE .../names/{name} answers 204 with no body: print the status so the
// shell shows that something happened (as the README's lesson does).
const answersNoContent = (req) => req.method === 'DELETE' && req.path.startsWith('/names/');

/** One request as a shell command line (or a loop of them). */
export function curlFor(req) {
  const url = `"$HEAPLAB/v1/heaps/$H${req.path}"`;
  let line;
  if (req.jq) {
    const args = req.jq.args.map((a) => `--argjson ${a} "$${a}" `).join('');
    line = `jq -nc ${args}'${req.jq.program}' | curl -s ${url} ${AUTH} --data-binary @-`;
  } else {
    const parts = ['curl', '-s'];
    if (req.method !== 'GET' && !(req.method === 'POST' && req.body !== undefined)) parts.push('-X', req.method);
    parts.push(url, AUTH);
    if (req.body !== undefined) parts.push('-d', shellJson(req.body));
    if (answersNoContent(req)) parts.push("-w '%{http_code}\\n'");
    line = parts.join(' ');
  }
  if (req.quiet) line += ` | jq -c '{applied: (.results | length), detail}'`;
  if (req.saveAs) line = `${req.saveAs}=$(${line} | jq .id); echo "${req.saveAs}=$${req.saveAs}"`;
  if (!req.each) return line;
  const { var: v, step, below } = req.each;
  return `for ${v} in $(seq 0 ${step} $((${below} - 1))); do\n  ${line}\ndone`;
}

/** The shell line that sets $A to the id of the object named `name`. */
export function lookupLine(variable, name) {
  return `${variable}=$(curl -s "$HEAPLAB/v1/heaps/$H/names/${name}" ${AUTH} | jq .id)`;
}

/**
 * A step's whole shell text: a lookup line for every object id it needs,
 * then its requests. lab.names maps id variables to names; lab.params are
 * set by the export lines.
 */
export function stepCurl(step, lab) {
  const names = lab.names || {};
  const lookups = stepVariables(step).filter((v) => v in names).map((v) => lookupLine(v, names[v]));
  return [...lookups, ...step.requests.map(curlFor)].join('\n');
}

/** The lines that prepare a shell for a lab's commands. */
export function exportLines({ base, heap, params = {} }) {
  return [
    `export HEAPLAB=${base}`,
    `export H=${heap.id}`,
    `export T=${heap.token}`,
    ...Object.entries(params).map(([k, v]) => `export ${k}=${v}`),
  ].join('\n');
}
