// `abiscope explain`: a frame plan as a table, a picture of the frame, or JSON (docs/plan-json.md).
import pc from 'picocolors';
import type { ArgPiece } from '../abis/abi.ts';
import { convention } from '../abis/index.ts';
import { parsePrototype, parseType } from '../marshal/parse.ts';
import { planCall, typeText, type FramePlan } from '../marshal/frame.ts';

export function planFor(abi: string, text: string, varargs: string[] = []): FramePlan {
  const cc = convention(abi);
  // The variadic types may use the declarations before the prototype.
  const { signature, scope } = parsePrototype(text);
  return planCall(cc, signature, varargs.map((t) => parseType(t, scope)));
}

/** A location in the JSON format: a register by its ABI name, or a stack offset from sp at the call. */
export function locationJson(p: ArgPiece): Record<string, string | number> {
  return p.kind === 'reg'
    ? { register: p.reg, size: p.size, valueOffset: p.valueOffset, format: p.format }
    : { stackOffset: p.offset + p.slotOffset, size: p.size, valueOffset: p.valueOffset, slotSize: p.slotSize };
}

export function explainJson(abi: string, text: string, varargs: string[] = []): unknown {
  const plan = planFor(abi, text, varargs);
  const arr = plan.arrangement;
  const res = arr.result;
  return {
    format: 'abiscope-plan/1',
    abi: plan.abi,
    signature: plan.signature,
    arguments: plan.args.map((a, i) => ({
      name: a.name,
      type: a.type,
      size: a.size,
      passing: a.passing,
      variadic: arr.args[i].variadic,
      locations: a.pieces.map(locationJson),
      rule: a.rule,
    })),
    result:
      res.kind === 'void' ? { type: 'void', locations: [] }
      : res.kind === 'registers' ? { type: typeText(res.type), size: res.size, locations: res.pieces.map(locationJson), rule: res.rule }
      : { type: typeText(res.type), size: res.size, memory: { pointer: locationJson(res.pointer), returnedIn: res.returnedIn ?? null, calleePops: res.calleePops }, rule: res.rule },
    stack: { bytes: arr.stackBytes, align: arr.stackAlign },
    special: arr.special,
    frame: {
      regions: [
        { name: 'region 3: outgoing stack area', offset: plan.stackArea.offset, size: plan.stackArea.size },
        { name: 'region 3: register image', offset: plan.imageArea.offset, size: plan.imageArea.size },
        { name: 'region 2: argument pointers', offset: plan.region2.offset, size: plan.region2.size },
        { name: 'region 1: copies and result temporary', offset: plan.region1.offset, size: plan.region1.staticSize, items: plan.region1.items },
      ],
    },
    moves: plan.moves,
  };
}

function where(p: ArgPiece): string {
  if (p.kind === 'reg') return p.reg;
  return `[sp+${p.offset + p.slotOffset}]`;
}

export function explainText(abi: string, text: string, varargs: string[] = []): string {
  const plan = planFor(abi, text, varargs);
  const arr = plan.arrangement;
  const rows: string[][] = [['argument', 'type', 'location', 'frame offset', 'rule']];
  for (const a of plan.args) {
    const loc = a.pieces.map(where).join(' + ') + (a.passing === 'reference' ? ' (pointer to copy)' : '');
    const off = a.pointsTo.frameOffset !== null ? `+${a.pointsTo.frameOffset}` : a.pointsTo.region === 'image' ? 'image' : '-';
    rows.push([a.name, a.type, loc, off, a.rule]);
  }
  const res = arr.result;
  if (res.kind === 'registers') rows.push(['(result)', typeText(res.type), res.pieces.map(where).join(' + '), '-', res.rule]);
  if (res.kind === 'memory') {
    rows.push(['(result)', typeText(res.type), `memory via ${where(res.pointer)}${res.returnedIn ? `, returned in ${res.returnedIn}` : ''}${res.calleePops ? `, callee pops ${res.calleePops}` : ''}`, `+${plan.region1.offset}`, res.rule]);
  }
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  const line = (r: string[], head = false) => r.map((cell, c) => (head ? pc.bold(cell.padEnd(widths[c])) : cell.padEnd(widths[c]))).join('  ');
  const out = [`${pc.bold(plan.abi)}  ${plan.signature}`, '', line(rows[0], true), ...rows.slice(1).map((r) => line(r))];
  if (arr.special.length) out.push('', ...arr.special.map((s) => `set ${s.reg} = ${s.value}  (${s.why})`));
  out.push('', pc.bold('frame (stack grows down; offsets from sp at the call)'), framePicture(plan), '');
  return out.join('\n');
}

function framePicture(plan: FramePlan): string {
  const w = 44;
  const box = (label: string, off: number, size: number | string) => `  +${'-'.repeat(w)}+\n  | ${label.padEnd(w - 2)} | sp+${off}, ${size} bytes`;
  const r1 = plan.region1.items.map((i) => `${i.kind}${i.arg >= 0 ? ` of ${plan.args[i.arg]?.name}` : ''}${i.size === null ? ' (per call)' : ` (${i.size})`}`);
  return [
    box(`canary`, plan.region1.offset + plan.region1.staticSize, 16),
    box(`region 1: ${r1.join(', ') || 'empty'}`, plan.region1.offset, plan.region1.staticSize + (r1.some((x) => x.includes('per call')) ? ' + per-call' : '')),
    box(`region 2: ${plan.args.length} argument pointers`, plan.region2.offset, plan.region2.size),
    box(`region 3: register image`, plan.imageArea.offset, plan.imageArea.size),
    box(`region 3: outgoing stack arguments`, 0, plan.stackArea.size),
    `  +${'-'.repeat(w)}+ <- sp at the call`,
  ].join('\n');
}
