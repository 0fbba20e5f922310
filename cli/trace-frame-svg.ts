// The stack of one traced call-out as the callee received it, as SVG: high addresses at the top
// (the stack grows down), every part the plan writes drawn at its real address: the canary,
// region 1 (copies), region 2 (one pointer per argument, with an arrow to the argument it points
// at), region 3 (the register image, then the outgoing stack arguments at the stack pointer),
// and on x86 the return address the call pushed below them. Unlike frame-svg.ts (a plan alone,
// not to scale) this needs the trace's snapshot: the addresses, and where each pointer points.
// Rows carry data-region, data-arg (the argument's name) and data-addr; arrows data-arrow.
import { el, type Child, type Html } from './html.ts';
import { argColor } from './frame-svg.ts';
import { hex } from './trace-page-data.ts';
import type { FramePlan, PlanOp } from '../abis/plan.ts';
import type { FrameSnapshot, TraceCall } from '../sandbox/trace-format.ts';

type RegionName = FrameSnapshot['regions'][number]['name'] | 'return address' | 'padding';

/** One drawn row: bytes [start, end) of the stack. */
export interface FrameRow {
  start: number;
  end: number;
  region: RegionName;
  label: string;
  /** Where it is, in the plan's words: "image slot rdi", "[sp+8]". */
  where: string;
  /** Index of the argument whose bytes (or pointer) it holds. */
  arg?: number;
}

/** Region colours: the three regions of the frame and the canary (light, so argument colours read over them). */
export const REGION_FILL: Record<RegionName, string> = {
  canary: '#fbe3e3',
  'region 1': '#e4f2dc',
  'region 2': '#eee4f5',
  'register image': '#e1ecf8',
  'stack arguments': '#d5e4f4',
  'return address': '#ececef',
  padding: '#fafafa',
};

const REGION_TITLE: Record<RegionName, string> = {
  canary: 'canary',
  'region 1': 'region 1: copies',
  'region 2': 'region 2: argument pointers',
  'register image': 'region 3: register image',
  'stack arguments': 'region 3: outgoing stack arguments',
  'return address': 'pushed by the call',
  padding: 'padding',
};

/** Everything the plan writes into the frame, as rows at their addresses (unsorted). */
function writtenRows(plan: FramePlan, frame: FrameSnapshot): FrameRow[] {
  const base = frame.base;
  const name = (i: number) => plan.args[i]?.name ?? `arg${i}`;
  const slotName = (to: number) => {
    const s = plan.image.slots.find((x) => plan.imageArea.offset + x.offset === to);
    return s ? `image slot ${s.reg}` : `[sp+${to}]`;
  };
  const rows: FrameRow[] = [];
  const add = (op: PlanOp & { to: number; size: number }, label: string, arg?: number) =>
    rows.push({ start: base + op.to, end: base + op.to + op.size, region: 'padding', label, where: slotName(op.to), arg });
  for (const op of plan.ops) {
    switch (op.op) {
      case 'move': rows.push({ start: base + op.to, end: base + op.to + op.slotSize, region: 'padding', label: `${name(op.arg)}${op.valueOffset || op.size < plan.args[op.arg].size ? ` bytes ${op.valueOffset}..${op.valueOffset + op.size - 1}` : ''}`, where: slotName(op.to), arg: op.arg }); break;
      case 'copy': add(op, `copy of ${name(op.arg)}`, op.arg); break;
      case 'address': {
        const arg = plan.args.findIndex((a) => a.pointsTo.frameOffset === op.of);
        add(op, arg >= 0 ? `${name(arg)} (pointer to its copy)` : 'pointer to a copy', arg >= 0 ? arg : undefined);
        break;
      }
      case 'arg-pointer': add(op, `&${name(op.arg)}`, op.arg); break;
      case 'result-pointer': add(op, 'result pointer'); break;
      case 'constant': add(op, `constant ${op.value}`); break;
      case 'function': add(op, "callee's address"); break;
      case 'back-chain': add(op, 'back chain'); break;
      default: break;
    }
  }
  // Region 1's per-call copies (strings, buffers) have no op with an offset: the snapshot says where they went.
  frame.args.forEach((a, i) => {
    const r1 = frame.regions.find((r) => r.name === 'region 1');
    const to = a.pointer.to;
    if (!r1 || to < r1.start || to >= r1.end || rows.some((r) => r.start <= to && to < r.end)) return;
    rows.push({ start: to, end: to + Math.max(1, a.bytes.length / 2), region: 'padding', label: `copy of ${a.name}`, where: 'per call', arg: i });
  });
  return rows;
}

/** The frame's rows from the highest address down: written parts, what lies between them, the return address. */
export function frameRows(plan: FramePlan, frame: FrameSnapshot): FrameRow[] {
  const regions = frame.regions.filter((r) => r.end > r.start);
  const regionOf = (addr: number): RegionName => regions.find((r) => r.start <= addr && addr < r.end)?.name ?? 'padding';
  const rows = writtenRows(plan, frame).map((r) => ({ ...r, region: regionOf(r.start) }));
  for (const r of regions) if (r.name === 'canary') rows.push({ start: r.start, end: r.end, region: 'canary', label: 'canary', where: `[sp+${r.start - frame.base}]` });
  if (frame.entrySp < frame.base) {
    rows.push({ start: frame.entrySp, end: frame.base, region: 'return address', label: 'return address', where: frame.returnAddressSymbol });
  }
  rows.sort((a, b) => b.start - a.start || b.end - a.end);
  // What no op writes (saved-register slots, alignment) is one row per stretch, so the picture
  // shows every byte from the canary down to the stack pointer without a row per word.
  const out: FrameRow[] = [];
  let top = Math.max(...rows.map((r) => r.end), frame.base);
  for (const r of rows) {
    if (r.end < top) {
      const region = regionOf(r.end);
      out.push({ start: r.end, end: top, region, label: region === 'register image' ? 'other slots (saved registers, control)' : 'unused', where: `${top - r.end} bytes` });
    }
    out.push(r);
    top = Math.min(top, r.start);
  }
  const bottom = Math.min(frame.base, frame.entrySp);
  if (top > bottom) out.push({ start: bottom, end: top, region: regionOf(bottom), label: 'unused', where: `${top - bottom} bytes` });
  return out;
}

const ROW = 20;
const HEAD = 16;
const ADDR_W = 150;
const BOX_W = 330;
const LANE = 14;

/** "sp+8", "sp-8" (the return address lies below the frame base). */
const spOffset = (off: number) => (off < 0 ? `sp${off}` : `sp+${off}`);
/** Shortened to fit its row, the whole text kept for the tooltip. */
const fit = (s: string, n: number) => (s.length <= n ? s : `${s.slice(0, n - 1)}…`);

/** The SVG of call-out `call`'s frame; null if the call has no snapshot. */
export function traceFrameSvg(call: TraceCall, plan: FramePlan): Html | null {
  const frame = call.frame;
  if (!frame) return null;
  const rows = frameRows(plan, frame);
  const parts: Child[] = [];
  const yOf = new Map<FrameRow, number>();
  let y = 4;
  let region: RegionName | null = null;
  const x0 = ADDR_W;
  for (const r of rows) {
    if (r.region !== region) {
      region = r.region;
      parts.push(el('text', { x: x0 + 4, y: y + 12, class: 'head', 'data-region-title': r.region }, REGION_TITLE[r.region]));
      y += HEAD;
    }
    yOf.set(r, y);
    const name = r.arg !== undefined ? plan.args[r.arg]?.name ?? frame.args[r.arg]?.name : undefined;
    const color = r.arg !== undefined ? argColor(plan, r.arg) : null;
    parts.push(el('g', { 'data-region': r.region, 'data-arg': name ?? null, 'data-addr': r.start, 'data-end': r.end },
      el('title', {}, `${hex(r.start)}..${hex(r.end)} (${r.end - r.start} bytes, ${spOffset(r.start - frame.base)}): ${r.label}, ${r.where}`),
      el('rect', { x: x0, y, width: BOX_W, height: ROW, fill: REGION_FILL[r.region], stroke: '#a0a0aa', 'stroke-width': 0.5 }),
      color ? el('rect', { x: x0 + 3, y: y + 3, width: BOX_W - 6, height: ROW - 6, rx: 2, fill: color, 'fill-opacity': 0.35, stroke: color }) : null,
      el('text', { x: 6, y: y + 14, class: 'muted' }, `${hex(r.start)} ${spOffset(r.start - frame.base)}`),
      el('text', { x: x0 + 8, y: y + 14, 'data-arg': name ?? null }, r.label),
      el('text', { x: x0 + BOX_W - 8, y: y + 14, 'text-anchor': 'end', class: 'muted' }, fit(r.where, Math.max(8, 44 - r.label.length)))));
    y += ROW;
  }
  // The stack pointer at the call: the frame's bottom edge.
  parts.push(el('line', { x1: x0 - 10, y1: y, x2: x0 + BOX_W, y2: y, stroke: '#1d1d1f', 'stroke-width': 2 }),
    el('text', { x: x0, y: y + 14, class: 'muted' }, `▲ sp at the call (${hex(frame.base)}); the stack grows down`));

  // Region 2: an arrow from each argument's pointer to the bytes it points at, each in its own lane.
  const rowAt = (addr: number, region?: RegionName) => rows.find((r) => r.start <= addr && addr < r.end && (!region || r.region === region));
  frame.args.forEach((a, i) => {
    const from = rowAt(a.pointer.at, 'region 2');
    const to = rows.find((r) => r.start === a.pointer.to && r.region !== 'region 2') ?? rowAt(a.pointer.to);
    if (!from || !to) return;
    const y1 = yOf.get(from)! + ROW / 2;
    const y2 = yOf.get(to)! + ROW / 2;
    const xs = x0 + BOX_W;
    const xl = xs + LANE * (i + 1);
    const color = argColor(plan, i);
    parts.push(el('path', {
      d: `M ${xs} ${y1} H ${xl} V ${y2} H ${xs + 6}`, fill: 'none', stroke: color, 'stroke-width': 1.5, 'marker-end': `url(#head-${call.id}-${i % 10})`,
      'data-arrow': a.name, 'data-from': a.pointer.at, 'data-to': a.pointer.to, 'data-to-region': to.region,
    }, el('title', {}, `&${a.name} at ${hex(a.pointer.at)} points to ${hex(a.pointer.to)}`)));
  });
  const markers = Array.from({ length: Math.min(10, Math.max(1, frame.args.length)) }, (_, i) =>
    el('marker', { id: `head-${call.id}-${i}`, viewBox: '0 0 8 8', refX: 7, refY: 4, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' },
      el('path', { d: 'M 0 0 L 8 4 L 0 8 z', fill: argColor(plan, i) })));
  const width = x0 + BOX_W + LANE * (frame.args.length + 2);
  const height = y + 22;
  return el('svg', { xmlns: 'http://www.w3.org/2000/svg', class: 'frame', 'data-call': call.id, 'data-abi': plan.abi, width, height, viewBox: `0 0 ${width} ${height}`, role: 'img' },
    el('title', {}, `the stack of call-out #${call.id} (${call.signature}) as the callee received it`),
    el('defs', {}, ...markers), ...parts);
}
