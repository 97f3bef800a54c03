// curl.js — the curl command that does what a dashboard action did.
// Pure: no DOM, importable by node for unit tests.

/** Quotes a word for a POSIX shell (single quotes, ' as '\''). */
export function shellQuote(s) {
  s = String(s);
  if (/^[A-Za-z0-9_\-./:=@%+,]+$/.test(s)) return s;
  return "'" + s.replace(/'/g, "'\\''") + "'";
}

/**
 * One curl command line.
 *   method  'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'
 *   path    '/v1/heaps/…' (query included)
 *   body    object to send as JSON, or undefined
 *   base    origin, e.g. 'http://127.0.0.1:8080' (default: "$HEAPLAB")
 *   token   the real token, or null/undefined for the "$TOKEN" placeholder
 *   auth    false for requests that need no token (creating a heap)
 *   accept  an Accept header to send (e.g. text/event-stream)
 */
export function curlCommand({ method = 'GET', path, body, base, token, auth = true, accept }) {
  const parts = ['curl', '-s'];
  if (accept === 'text/event-stream') parts.push('-N');
  if (method !== 'GET' && !(method === 'POST' && body !== undefined)) parts.push('-X', method);
  if (base) parts.push(shellQuote(base.replace(/\/+$/, '') + path));
  else parts.push('"$HEAPLAB' + path.replace(/(["\\$`])/g, '\\$1') + '"');
  if (auth) parts.push('-H', token ? shellQuote('Authorization: Bearer ' + token) : '"Authorization: Bearer $TOKEN"');
  if (accept) parts.push('-H', shellQuote('Accept: ' + accept));
  if (body !== undefined) parts.push('-d', shellQuote(JSON.stringify(body)));
  return parts.join(' ');
}

/** The lines a student pastes first so that "$TOKEN" commands work. */
export function exportLines({ base, token }) {
  return [`export HEAPLAB=${shellQuote(base)}`, `export TOKEN=${shellQuote(token || '<your token>')}`].join('\n');
}
