// The trace page's timeline: one bar per call-out and call-back, from its enter event to its
// exit event, one lane per thread and depth (a call-back runs inside its call-out, so its bar
// lies under its parent's and within it). The x axis is the trace's event order (seq), not wall
// time: tracing slows the guest down unevenly, and in event order a nested call always lies
// within its parent. Wall time is in each bar's tooltip. Bars carry data-call, data-parent,
// data-depth, data-thread and data-first-step (the seq of its first instruction, or -1).
import { el, paletteColor, type Child, type Html } from './html.ts';
import type { CallSpan } from './trace-page-data.ts';

const LANE_H = 26;
const LABEL_W = 110;
const WIDTH = 1100;

/** Shortened to fit a bar of `px` pixels (about 6.6 px a character at 11px monospace), the whole text in the tooltip. */
const fitText = (s: string, px: number) => {
  const n = Math.floor(px / 6.7);
  return n >= s.length ? s : n < 2 ? '' : `${s.slice(0, n - 1)}…`;
};

export function timelineSvg(spans: CallSpan[], lastSeq: number): Html {
  const threads = [...new Set(spans.map((s) => s.call.thread))];
  // Lanes: per thread in order of appearance, then by depth.
  const lanes = [...new Set(spans.map((s) => `${threads.indexOf(s.call.thread)}:${s.call.depth}`))]
    .sort((a, b) => { const [ta, da] = a.split(':').map(Number); const [tb, db] = b.split(':').map(Number); return ta - tb || da - db; });
  const x = (seq: number) => LABEL_W + (seq / Math.max(1, lastSeq)) * (WIDTH - LABEL_W - 4);
  const parts: Child[] = [];
  lanes.forEach((lane, i) => {
    const [t, d] = lane.split(':').map(Number);
    parts.push(el('text', { x: 4, y: i * LANE_H + 17, class: 'muted' }, `${threads[t]} · depth ${d}`),
      el('line', { x1: LABEL_W, y1: (i + 1) * LANE_H - 1, x2: WIDTH, y2: (i + 1) * LANE_H - 1, stroke: '#eee' }));
  });
  for (const s of spans) {
    const lane = lanes.indexOf(`${threads.indexOf(s.call.thread)}:${s.call.depth}`);
    const x1 = x(s.enter);
    const w = Math.max(3, x(s.exit) - x1);
    const y = lane * LANE_H + 3;
    // Colour by depth; the thread by the outline (one palette index per thread, after the depth colours).
    const fill = paletteColor(s.call.depth);
    const stroke = threads.length > 1 ? paletteColor(9 - threads.indexOf(s.call.thread)) : '#555';
    const label = `${s.call.kind === 'call-back' ? '↩ ' : ''}${s.call.signature}`;
    parts.push(el('g', {
      class: 'bar', 'data-call': s.call.id, 'data-kind': s.call.kind, 'data-parent': s.call.parent ?? '', 'data-depth': s.call.depth,
      'data-thread': s.call.thread, 'data-enter': s.enter, 'data-exit': s.exit, 'data-first-step': s.firstInstruction, tabindex: 0,
    },
    el('title', {}, `#${s.call.id} ${s.call.kind} ${s.call.signature} (${s.call.function}) on ${s.call.thread}, depth ${s.call.depth}: `
      + `events ${s.enter}..${s.exit}, ${((s.exitTime - s.enterTime) / 1000).toFixed(2)} ms`),
    el('rect', { x: x1, y, width: w, height: LANE_H - 6, rx: 3, fill, 'fill-opacity': 0.75, stroke, 'stroke-width': threads.length > 1 ? 2 : 1 }),
    el('text', { x: x1 + 4, y: y + 14, class: 'bar-label' }, fitText(label, w - 8))));
  }
  const height = lanes.length * LANE_H + 4;
  return el('svg', { xmlns: 'http://www.w3.org/2000/svg', id: 'timeline-svg', width: WIDTH, height, viewBox: `0 0 ${WIDTH} ${height}`, role: 'img' },
    el('title', {}, 'the calls of the trace, in event order'), ...parts);
}
