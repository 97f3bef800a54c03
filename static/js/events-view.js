// events-view.js — the live event log and the replay slider.
import { el, fmtTime } from './dom.js';
import { describeEvent } from './events.js';

export function createEventsView({ log, slider, output, missed, onReplay }) {
  let events = [];
  let cursor = null; // null: live
  slider.addEventListener('input', () => {
    const v = Number(slider.value);
    const last = events.length ? events[events.length - 1].seq : 0;
    cursor = v >= last ? null : v;
    paint();
    onReplay(cursor);
  });

  function paint() {
    const last = events.length ? events[events.length - 1].seq : 0;
    const first = events.length ? events[0].seq : 0;
    slider.min = first ? first - 1 : 0;
    slider.max = last;
    slider.disabled = !events.length;
    slider.value = cursor === null ? last : cursor;
    const upTo = cursor === null ? Infinity : cursor;
    const shown = events.filter((e) => e.seq <= upTo);
    output.textContent = cursor === null ? `live (event ${last})` : `after event ${cursor} of ${last}` +
      (shown.length ? ` — ${fmtTime(shown[shown.length - 1].time_ms)}` : ' — before the first event');
    slider.setAttribute('aria-valuetext', output.textContent);
    log.replaceChildren(...shown.slice(-300).reverse().map((e) => el('li', { 'data-seq': e.seq, 'data-kind': e.kind, class: 'ev-' + e.kind },
      el('span', { class: 'seq' }, '#' + e.seq), ' ', el('time', {}, fmtTime(e.time_ms)), ' ', describeEvent(e))));
    if (!shown.length) log.replaceChildren(el('li', { class: 'hint' }, 'No events yet: frees, collections, finalizers and weakref callbacks appear here as they happen.'));
  }

  return {
    render(list, missedRange) {
      events = list;
      missed.textContent = missedRange ? `Events ${missedRange.from}..${missedRange.to} are no longer kept by the server (its ring is full).` : '';
      paint();
    },
    get cursor() {
      return cursor;
    },
    live() {
      cursor = null;
      paint();
      onReplay(null);
    },
  };
}
