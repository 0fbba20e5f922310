// `abiscope explain`: a frame plan as a table, its program and a picture of the frame, or as
// JSON (the plan itself: docs/plan-json.md). With `--compiled`, the compiled back end's code
// for the plan, each instruction beside the plan operations it performs.
import { pc } from './colors.js';
import type { ArgPiece } from '../abis/abi.ts';
import { conventionBackend, convention } from '../backends/registry.ts';
import { emptyScope, parsePrototype, parseType } from '../ctypes/parse.ts';
import { typedPlan, type FramePlan, type PlanOp, type TypedPlan } from '../abis/plan.ts';
import type { CType } from '../ctypes/ctypes.ts';
import { layoutOf } from '../layout/layout.ts';
import type { DataModel } from '../layout/datamodel.ts';
import type { CodeLine } from '../backends/backend.ts';

/**
 * Where a compiled stub jumps when it is done, in explain's listings: a sandbox puts its
 * return sentinel there (an address in its host-trap page).
 */
const LISTING_SENTINEL = 0;

export function planFor(abi: string, text: string, varargs: string[] = []): FramePlan {
  return typedPlanFor(abi, text, varargs).plan;
}

/** planFor, with the arguments' C types (the text view maps struct fields to the pieces that carry them). */
function typedPlanFor(abi: string, text: string, varargs: string[] = []): TypedPlan {
  const cc = convention(abi);
  // The variadic types may use the declarations before the prototype.
  const { signature, scope } = parsePrototype(text, emptyScope(cc.dataModel.typedefs));
  return typedPlan(cc, signature, varargs.map((t) => parseType(t, scope)));
}

/** The scalar members of a value with their byte ranges: `x`, `p.y`, `a[2]`, for mapping pieces to fields. */
function leaves(type: CType, dm: DataModel, name: string, base: number, out: { name: string; start: number; end: number }[]): void {
  if (type.kind === 'struct' || type.kind === 'union') {
    for (const f of layoutOf(type, dm).fields ?? []) leaves(f.type, dm, f.name ? (name ? `${name}.${f.name}` : f.name) : name, base + f.offset, out);
  } else if (type.kind === 'array') {
    const size = layoutOf(type.element, dm).size;
    for (let i = 0; i < type.length && out.length < 256; i++) leaves(type.element, dm, `${name}[${i}]`, base + i * size, out);
  } else {
    out.push({ name, start: base, end: base + layoutOf(type, dm).size });
  }
}

/** " (x, y)" after a piece of a struct: the members whose bytes it carries. */
function piecesWithFields(a: FramePlan['args'][number], type: CType, dm: DataModel): string {
  if (a.passing === 'reference' || a.pieces.length < 2 || (type.kind !== 'struct' && type.kind !== 'union')) return a.pieces.map(where).join(' + ');
  const all: { name: string; start: number; end: number }[] = [];
  leaves(type, dm, '', 0, all);
  return a.pieces.map((p) => {
    const names = all.filter((l) => l.start < p.valueOffset + p.size && l.end > p.valueOffset).map((l) => l.name);
    return names.length ? `${where(p)} (${names.join(', ')})` : where(p);
  }).join(' + ');
}

/** The compiled back end's code for a plan. */
export function compiledLines(plan: FramePlan): CodeLine[] {
  return conventionBackend(plan.abi).compileStub(plan, LISTING_SENTINEL);
}

/**
 * What `explain --json` prints (docs/plan-json.md, docs/plan.schema.json): the frame plan
 * itself, and with --compiled the compiled back end's stub for it.
 */
export interface ExplainJson extends FramePlan {
  /** The compiled stub, one instruction per line with the indices (in `ops`) of the plan operations it performs. */
  compiled?: CodeLine[];
}

/** The JSON of `explain --json`: the plan, and with `compiled` the compiled stub's lines. */
export function explainJson(abi: string, text: string, varargs: string[] = [], opts: { compiled?: boolean } = {}): ExplainJson {
  const plan = planFor(abi, text, varargs);
  return opts.compiled ? { ...plan, compiled: compiledLines(plan) } : plan;
}

/** A location in the one notation used everywhere: a register by its ABI name, a stack slot as [sp+N] from sp at the call. */
export function where(p: ArgPiece): string {
  if (p.kind === 'reg') return p.reg;
  return `[sp+${p.offset + p.slotOffset}]`;
}

/** A frame offset of the plan, in the same notation. */
const at = (off: number) => `[sp+${off}]`;

/** One plan operation as a line of text. */
export function opText(plan: FramePlan, op: PlanOp): string {
  const arg = (i: number) => plan.args[i]?.name ?? `arg${i}`;
  switch (op.op) {
    case 'copy': return `copy ${arg(op.arg)} (${op.size} bytes) to ${at(op.to)}`;
    case 'move': {
      const part = op.valueOffset || op.size !== plan.args[op.arg]?.size ? ` bytes ${op.valueOffset}..${op.valueOffset + op.size - 1}` : '';
      return `move ${arg(op.arg)}${part} to ${at(op.to)} as ${op.format}${op.extend ? ` (${op.extend}-extended)` : ''}, ${op.slotSize}-byte slot`;
    }
    case 'address': return `address of ${at(op.of)} to ${at(op.to)}  (${op.why})`;
    case 'result-pointer': return `result pointer (${at(op.of)} or the caller's) to ${at(op.to)}`;
    case 'arg-pointer': return `region 2: &${arg(op.arg)} = ${at(op.at)} to ${at(op.to)}`;
    case 'constant': return `constant ${op.value} to ${at(op.to)}  (${op.why})`;
    case 'function': return `callee address to ${at(op.to)}`;
    case 'back-chain': return `back chain (caller's sp) to ${at(op.to)}`;
    case 'save': return `save ${op.reg} to ${at(op.to)} (${op.when} the call)`;
    case 'load': return `load ${op.reg} from ${at(op.from)}  (${op.why})`;
    case 'set': return `set ${op.reg} = ${op.value}  (${op.why})`;
    case 'call': return `call ${at(op.from)}${op.pops ? `, callee pops ${op.pops}` : ''}`;
    case 'store': return `store ${op.reg} to ${at(op.to)}${op.format === 'x87' ? ' (x87 pop)' : ''}  (${op.why})`;
    case 'check-preserved': return `check preserved: ${op.regs.map((r) => r.reg).join(' ')}`;
    case 'result': return `result bytes ${op.valueOffset}..${op.valueOffset + op.size - 1} from ${at(op.from)} as ${op.format}  (${op.why})`;
    case 'result-memory': return `result ${op.size} bytes from ${at(op.from)}  (${op.why})`;
  }
}

/** Which side runs an operation. */
export function opSide(op: PlanOp): 'host before' | 'guest' | 'host after' {
  switch (op.op) {
    case 'save': case 'load': case 'set': case 'call': case 'store': return 'guest';
    case 'check-preserved': case 'result': case 'result-memory': return 'host after';
    default: return 'host before';
  }
}

function table(rows: string[][]): string[] {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  const line = (r: string[], head = false) => r.map((cell, c) => (head ? pc.bold(cell.padEnd(widths[c])) : cell.padEnd(widths[c]))).join('  ').trimEnd();
  return [line(rows[0], true), ...rows.slice(1).map((r) => line(r))];
}

export function explainText(abi: string, text: string, varargs: string[] = [], opts: { compiled?: boolean } = {}): string {
  const typed = typedPlanFor(abi, text, varargs);
  const plan = typed.plan;
  const rows: string[][] = [['argument', 'type', 'location', 'frame offset', 'rule']];
  for (const a of plan.args) {
    const loc = piecesWithFields(a, typed.args[a.index], plan.dataModel) + (a.passing === 'reference' ? ' (pointer to copy)' : '');
    const moved = plan.ops.find((o) => (o.op === 'move' || o.op === 'copy') && o.arg === a.index);
    const off = a.pointsTo.frameOffset !== null ? at(a.pointsTo.frameOffset) : moved && 'to' in moved ? `${at(moved.to)} (image)` : '-';
    rows.push([a.name, a.type, loc, off, a.rule]);
  }
  const res = plan.result;
  if (res.kind === 'registers') rows.push(['(result)', res.type, res.pieces.map(where).join(' + '), '-', res.rule]);
  if (res.kind === 'memory') {
    rows.push(['(result)', res.type, `memory via ${where(res.pointer)}${res.returnedIn ? `, returned in ${res.returnedIn}` : ''}${res.calleePops ? `, callee pops ${res.calleePops}` : ''}`, at(res.temp), res.rule]);
  }
  const out = [`${pc.bold(plan.abi)}  ${plan.signature}`, '', ...table(rows)];
  if (plan.special.length) out.push('', ...plan.special.map((s) => `set ${s.reg} = ${s.value}  (${s.why})`));
  out.push('', pc.bold('frame (stack grows down; offsets from sp at the call)'), framePicture(plan), '');
  out.push(pc.bold('program (the plan\'s operations, in order)'));
  const lines = opts.compiled ? compiledLines(plan) : undefined;
  plan.ops.forEach((op, i) => {
    out.push(`  ${String(i).padStart(3)}  ${opSide(op).padEnd(11)}  ${opText(plan, op)}`);
  });
  if (lines) {
    out.push('', pc.bold(`compiled stub (${lines.length} instructions; each tagged with the operations it performs)`));
    const width = Math.max(...lines.map((l) => l.asm.length));
    for (const l of lines) out.push(`  ${l.asm.padEnd(width)}  ${pc.dim(l.ops.length ? `; op ${l.ops.join(', ')}` : '; back to the host')}`);
  }
  out.push('');
  return out.join('\n');
}

function framePicture(plan: FramePlan): string {
  const w = 44;
  const box = (label: string, off: number, size: number | string) => `  +${'-'.repeat(w)}+\n  | ${label.padEnd(w - 2)} | ${at(off)}, ${size} bytes`;
  const r1 = plan.region1.items.map((i) => `${i.kind}${i.arg >= 0 ? ` of ${plan.args[i.arg]?.name}` : ''}${i.size === null ? ' (per call)' : ` (${i.size})`}`);
  return [
    box(`canary`, plan.region1.offset + plan.region1.staticSize, 16),
    box(`region 1: ${r1.join(', ') || 'empty'}`, plan.region1.offset, plan.region1.staticSize + (r1.some((x) => x.includes('per call')) ? ' + per-call' : '')),
    box(`region 2: ${plan.args.length} argument pointers`, plan.region2.offset, plan.region2.size),
    box(`region 3: register image`, plan.imageArea.offset, plan.imageArea.size),
    box(plan.shadowSpace ? `region 3: stack args, ${plan.shadowSpace} shadow space` : 'region 3: outgoing stack arguments', 0, plan.stackArea.size),
    `  +${'-'.repeat(w)}+ <- sp at the call${plan.redZone ? ` (the frame starts ${plan.redZone} bytes below the caller's sp: red zone)` : ''}`,
  ].join('\n');
}
