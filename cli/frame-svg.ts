// A picture of a plan's frame, as SVG, for the self-contained pages (abiscope compare --html,
// and the trace pages): the frame as `explain` draws it in text, stack growing down, each
// argument drawn where its bytes are placed in its own colour (the same colour in every
// picture of the same signature). Parts that show an argument carry `data-arg` (its name;
// the result: "(result)"), the picture `data-abi`, each region `data-region`.
import { el, paletteColor, type Child, type Html } from './html.ts';
import { where } from './explain.ts';
import type { FramePlan } from '../abis/plan.ts';

/** The data-arg of the result: no C identifier has parentheses. */
export const RESULT_ARG = '(result)';

/** The colour of argument `index` (the result, -1: the one after the last argument's), the same in every picture. */
export const argColor = (plan: FramePlan, index: number): string => paletteColor(index < 0 ? plan.args.length : index);

/** One line in a region's box; `arg` names what it shows (data-arg), `words` its height in rows. */
interface Row { label: string; right: string; color?: string; arg?: string; words?: number; muted?: boolean }
/** A small square per argument (region 2's pointers): too many for a line each. */
interface Tick { arg: string; color: string; title: string }
interface Block { region: string; title: string; right: string; rows: Row[]; ticks?: Tick[] }

const W = 236;
const ROW = 17;
const HEAD = 18;
const GAP = 6;
const TICK = 16;
/** A long value is drawn up to this many rows high: the picture shows order and size, not scale. */
const MAX_WORDS = 3;

/** Shortened to fit its box, the whole text kept for the tooltip. */
const fit = (s: string, n: number) => (s.length <= n ? s : `${s.slice(0, n - 1)}…`);

const rowHeight = (r: Row) => ROW * Math.min(r.words ?? 1, MAX_WORDS);

/**
 * The frame of one plan, as `explain` draws it in text: canary, region 1 (copies), region 2
 * (argument pointers), region 3 (register image, then the outgoing stack arguments at the
 * stack pointer). Every argument appears where its bytes are placed, in its colour.
 */
export function frameSvg(plan: FramePlan): Html {
  const parts: Child[] = [];
  let y = 0;
  for (const b of frameBlocks(plan)) {
    const inner: Child[] = [];
    let ry = y + HEAD;
    for (const r of b.rows) {
      const rh = rowHeight(r);
      inner.push(el('g', { 'data-arg': r.arg ?? null },
        el('title', {}, `${r.label}  ${r.right}`),
        el('rect', { x: 8, y: ry + 1, width: W - 16, height: rh - 2, rx: 2, fill: r.color ?? '#eeeef2', 'fill-opacity': r.color ? 0.3 : 1, stroke: r.color ?? '#d0d0d6' }),
        el('text', { x: 14, y: ry + rh / 2 + 4, 'data-arg': r.arg ?? null, class: r.muted ? 'muted' : null }, fit(r.label, 18)),
        el('text', { x: W - 14, y: ry + rh / 2 + 4, 'text-anchor': 'end', class: 'muted' }, fit(r.right, 12))));
      ry += rh;
    }
    const perLine = Math.floor((W - 16) / TICK);
    (b.ticks ?? []).forEach((t, i) => {
      const tx = 8 + (i % perLine) * TICK;
      const ty = ry + Math.floor(i / perLine) * TICK;
      inner.push(el('rect', { 'data-arg': t.arg, x: tx + 1, y: ty + 2, width: TICK - 4, height: TICK - 4, rx: 2, fill: t.color, 'fill-opacity': 0.6, stroke: t.color },
        el('title', {}, t.title)));
    });
    if (b.ticks?.length) ry += Math.ceil(b.ticks.length / perLine) * TICK;
    const h = ry - y + (ry > y + HEAD ? 4 : 0);
    parts.push(el('g', { 'data-region': b.region },
      el('rect', { x: 1, y: y + 0.5, width: W - 2, height: h, fill: '#fff', stroke: '#8a8a93', 'stroke-dasharray': b.region === 'red-zone' ? '4 3' : null }),
      el('text', { x: 8, y: y + 13, class: 'head' }, b.title),
      el('text', { x: W - 8, y: y + 13, 'text-anchor': 'end', class: 'muted' }, b.right),
      ...inner));
    y += h + GAP;
  }
  parts.push(el('line', { x1: 0, y1: y - GAP + 1, x2: W, y2: y - GAP + 1, stroke: '#1d1d1f', 'stroke-width': 2 }),
    el('text', { x: 2, y: y + 10, class: 'muted' }, '▲ sp at the call'));
  const height = y + 16;
  return el('svg', { xmlns: 'http://www.w3.org/2000/svg', 'data-abi': plan.abi, width: W, height, viewBox: `0 0 ${W} ${height}`, role: 'img' },
    el('title', {}, `frame of ${plan.signature} on ${plan.abi}`), ...parts);
}

function frameBlocks(plan: FramePlan): Block[] {
  const name = (i: number) => plan.args[i]?.name ?? `arg${i}`;
  const at = (off: number) => `[sp+${off}]`;
  const r1 = plan.region1;

  // Region 1, highest first: the per-call copies (placed after the static part), then the static items.
  const items = [...r1.items].sort((a, b) => (b.offset ?? Infinity) - (a.offset ?? Infinity));
  const region1: Row[] = items.map((i) => {
    const where1 = i.offset === null ? 'per call' : at(r1.offset + i.offset);
    if (i.kind === 'result-temp') return { label: 'result temporary', right: where1, color: argColor(plan, -1), arg: RESULT_ARG };
    const what = i.kind === 'struct-copy' ? 'copy of' : i.kind === 'string' ? 'string of' : 'buffer of';
    return { label: `${what} ${name(i.arg)}`, right: where1, color: argColor(plan, i.arg), arg: name(i.arg) };
  });

  // The register image: every argument with a register piece, the hidden result pointer, the special registers.
  const image: Row[] = [];
  plan.args.forEach((a, i) => {
    const regs = a.pieces.filter((p) => p.kind === 'reg').map(where);
    if (regs.length) image.push({ label: a.name, right: regs.join(' + ') + (a.passing === 'reference' ? ' → copy' : ''), color: argColor(plan, i), arg: a.name });
  });
  const res = plan.result;
  if (res.kind === 'memory' && res.pointer.kind === 'reg') image.push({ label: 'result pointer', right: res.pointer.reg, color: argColor(plan, -1), arg: RESULT_ARG });
  for (const s of plan.special) image.push({ label: `${s.reg} = ${s.value}`, right: 'special', muted: true });

  // x86-64: a leaf function may use 128 bytes under the caller's sp, so the frame starts below them.
  const redZone: Block[] = plan.redZone ? [{ region: 'red-zone', title: `red zone: ${plan.redZone} bytes`, right: '', rows: [] }] : [];
  return [
    ...redZone,
    { region: 'canary', title: 'canary', right: at(r1.offset + r1.staticSize), rows: [] },
    { region: 'region1', title: 'region 1: copies', right: at(r1.offset), rows: region1.length ? region1 : [{ label: 'empty', right: '', muted: true }] },
    {
      region: 'region2', title: `region 2: ${plan.args.length} arg pointers`, right: at(plan.region2.offset), rows: [],
      ticks: plan.args.map((a, i) => ({ arg: a.name, color: argColor(plan, i), title: `&${a.name} at ${at(plan.region2.offset + i * plan.region2.entrySize)}` })),
    },
    { region: 'image', title: 'region 3: register image', right: at(plan.imageArea.offset), rows: image.length ? image : [{ label: 'no registers', right: '', muted: true }] },
    { region: 'stack', title: 'region 3: stack args', right: `${plan.stackArea.size} bytes`, rows: stackRows(plan) },
  ];
}

/** The outgoing stack area, highest offset first (the stack pointer is at the bottom), gaps included. */
function stackRows(plan: FramePlan): Row[] {
  const word = plan.dataModel.pointerSize;
  const spans: { from: number; to: number; row: Row }[] = [];
  plan.args.forEach((a, i) => {
    for (const p of a.pieces) {
      if (p.kind === 'stack') spans.push({ from: p.offset, to: p.offset + p.slotSize, row: { label: a.name, right: where(p), color: argColor(plan, i), arg: a.name } });
    }
  });
  const res = plan.result;
  if (res.kind === 'memory' && res.pointer.kind === 'stack') {
    const p = res.pointer;
    spans.push({ from: p.offset, to: p.offset + p.slotSize, row: { label: 'result pointer', right: where(p), color: argColor(plan, -1), arg: RESULT_ARG } });
  }
  for (const op of plan.ops) {
    if (op.op === 'back-chain') spans.push({ from: op.to, to: op.to + op.size, row: { label: 'back chain', right: `[sp+${op.to}]`, muted: true } });
  }
  spans.sort((a, b) => a.from - b.from);
  const rows: Row[] = [];
  let next = 0;
  const gap = (from: number, to: number) => rows.push({ label: 'padding/reserved', right: `[sp+${from}]`, muted: true, words: Math.ceil((to - from) / word) });
  // Windows x64: the callee's home slots for its register arguments, always there.
  if (plan.shadowSpace) spans.unshift({ from: 0, to: plan.shadowSpace, row: { label: 'shadow space (callee\'s)', right: '[sp+0]', muted: true } });
  for (const s of spans) {
    if (s.from > next) gap(next, s.from);
    rows.push({ ...s.row, words: Math.ceil((s.to - s.from) / word) });
    next = Math.max(next, s.to);
  }
  if (plan.stackArea.size > next) gap(next, plan.stackArea.size);
  return rows.length ? rows.reverse() : [{ label: 'none', right: '', muted: true }];
}
