// sse.js — Server-Sent Events over fetch(), so the Authorization header
// can be sent (EventSource cannot, and the token must stay out of URLs).
// SseParser is pure and unit-tested; readEventStream needs fetch().

/** Incremental parser of text/event-stream (WHATWG HTML §9.2.6). */
export class SseParser {
  constructor() {
    this.buf = '';
    this.reset();
    this.lastId = '';
  }
  reset() {
    this.data = [];
    this.event = '';
    this.hasData = false;
  }
  /** Feeds decoded text; returns the events completed by it. */
  feed(text) {
    this.buf += text;
    const out = [];
    for (;;) {
      const m = /\r\n|\r|\n/.exec(this.buf);
      if (!m) break;
      // A lone '\r' at the very end may be the first half of "\r\n".
      if (m[0] === '\r' && m.index === this.buf.length - 1) break;
      const line = this.buf.slice(0, m.index);
      this.buf = this.buf.slice(m.index + m[0].length);
      const ev = this.line(line);
      if (ev) out.push(ev);
    }
    return out;
  }
  line(line) {
    if (line === '') {
      if (!this.hasData) {
        this.reset();
        return null;
      }
      const ev = { id: this.lastId, event: this.event || 'message', data: this.data.join('\n') };
      this.reset();
      return ev;
    }
    if (line.startsWith(':')) return null; // comment (keep-alive)
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') {
      this.data.push(value);
      this.hasData = true;
    } else if (field === 'event') {
      this.event = value;
    } else if (field === 'id' && !value.includes('\0')) {
      this.lastId = value;
    }
    return null;
  }
}

/**
 * Reads an event stream until it ends or `signal` aborts.
 * onEvent({id, event, data}) for each event; resolves when the stream ends;
 * rejects on HTTP or network errors (the caller reconnects).
 */
export async function readEventStream(url, { headers = {}, signal, onEvent, onOpen, fetchImpl } = {}) {
  const f = fetchImpl || fetch;
  const res = await f(url, { headers: { ...headers, Accept: 'text/event-stream' }, signal, cache: 'no-store' });
  if (!res.ok || !res.body) {
    const err = new Error(`event stream: HTTP ${res.status}`);
    err.status = res.status;
    throw err;
  }
  if (onOpen) onOpen(res);
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  const parser = new SseParser();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    for (const ev of parser.feed(decoder.decode(value, { stream: true }))) onEvent(ev);
  }
}
