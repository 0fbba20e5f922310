// The per-call frame plan: the three alloca regions of a call-out (seed mail 1)
// and the register-transfer moves a stub performs, as plain printable data.
//
//   high  +---------------------------+  <- frame top (below the caller's sp)
//         | canary                    |
//         | region 1: struct-result   |
//         |   temporary, struct and   |
//         |   string copies, buffers  |
//         | region 2: one pointer per |
//         |   argument                |
//         | region 3: register image  |
//         |   outgoing stack area     |
//   low   +---------------------------+  <- frame base = sp at the call
import type { AbiName, ArgAssignment, ArgPiece, CallArrangement, CallingConvention } from '../abis/abi.ts';
import type { CType, Signature } from './ctypes.ts';
import { registerImage, type RegisterImage } from './register-image.ts';
import { alignOf } from './layout.ts';
import type { DataModel } from '../abis/datamodel.ts';
import { TARGETS } from '../emu/targets.ts';

/** Bytes written above region 1 and checked after the call. */
export const CANARY_BYTES = 16;

/** Something that lives in region 1. `size` null: known only at call time (strings, buffers). */
export interface Region1Item {
  kind: 'result-temp' | 'struct-copy' | 'string' | 'buffer';
  /** Argument index, or -1 for the result temporary. */
  arg: number;
  size: number | null;
  align: number;
  /** Offset inside region 1 for static items; dynamic items follow the static part. */
  offset: number | null;
}

export type Move =
  | { op: 'load'; reg: string; imageOffset: number; size: number; why: string }
  | { op: 'set'; reg: string; value: number; why: string }
  | { op: 'set-sp'; frameOffset: number; why: string }
  | { op: 'call'; why: string }
  | { op: 'store'; reg: string; imageOffset: number; size: number; why: string };

export interface ArgPlan {
  index: number;
  name: string;
  type: string;
  size: number;
  passing: 'value' | 'reference';
  pieces: ArgPiece[];
  /** Frame offset of the argument's first byte as placed (image slot, stack slot or region-1 copy). */
  pointsTo: { region: 'image' | 'stack' | 'region1'; frameOffset: number | null };
  rule: string;
}

export interface FramePlan {
  abi: AbiName;
  signature: string;
  dataModel: DataModel;
  arrangement: CallArrangement;
  image: RegisterImage;
  /** Frame-relative offsets (from the frame base = sp at the call). */
  stackArea: { offset: number; size: number };
  imageArea: { offset: number; size: number };
  region2: { offset: number; size: number; entrySize: number };
  region1: { offset: number; staticSize: number; items: Region1Item[] };
  /** Size of the frame without dynamic region-1 items and without the canary. */
  staticSize: number;
  stackAlign: number;
  args: ArgPlan[];
  moves: Move[];
}

const alignUp = (n: number, a: number) => Math.ceil(n / a) * a;

/** True for `char *` / `wchar_t *`-like and plain data pointers that may receive a copy in region 1. */
function copiedPointee(type: CType): boolean {
  return type.kind === 'pointer' && type.to.kind !== 'function';
}

/** Plans a call: one pass over the arrangement computes every region's size and offset. */
export function planCall(cc: CallingConvention, signature: Signature, variadicArgs: CType[] = []): FramePlan {
  const arrangement = cc.arrange(signature, variadicArgs);
  const ptr = TARGETS[cc.target].pointerSize;
  const image = registerImage(cc);

  const stackArea = { offset: 0, size: arrangement.stackBytes };
  const imageArea = { offset: alignUp(stackArea.size, 16), size: image.size };
  const region2 = { offset: imageArea.offset + imageArea.size, size: arrangement.args.length * ptr, entrySize: ptr };
  const region1Offset = alignUp(region2.offset + region2.size, 16);

  // Region 1: static items first (result temporary, by-reference struct copies), then per-call ones.
  const items: Region1Item[] = [];
  let r1 = 0;
  const addStatic = (kind: Region1Item['kind'], arg: number, size: number, align: number) => {
    r1 = alignUp(r1, Math.max(align, 1));
    items.push({ kind, arg, size, align, offset: r1 });
    r1 += size;
  };
  const res = arrangement.result;
  if (res.kind === 'memory') addStatic('result-temp', -1, res.size, Math.max(alignOf(res.type, cc.dataModel), 8));
  for (const a of arrangement.args) {
    if (a.passing === 'reference') addStatic('struct-copy', a.index, a.size, Math.max(alignOf(a.type, cc.dataModel), 8));
  }
  for (const a of arrangement.args) {
    if (copiedPointee(a.type)) items.push({ kind: isString(a.type) ? 'string' : 'buffer', arg: a.index, size: null, align: 16, offset: null });
  }
  const region1 = { offset: region1Offset, staticSize: alignUp(r1, 16), items };

  const args: ArgPlan[] = arrangement.args.map((a) => ({
    index: a.index,
    name: a.name,
    type: typeText(a.type),
    size: a.size,
    passing: a.passing,
    pieces: a.pieces,
    pointsTo: pointsTo(a, image, region1, items),
    rule: a.rule,
  }));

  return {
    abi: cc.name,
    signature: signature.text,
    dataModel: cc.dataModel,
    arrangement,
    image,
    stackArea,
    imageArea,
    region2,
    region1,
    staticSize: region1.offset + region1.staticSize,
    stackAlign: arrangement.stackAlign,
    args,
    moves: movesOf(arrangement, image),
  };
}

function isString(type: CType): boolean {
  if (type.kind !== 'pointer' || type.to.kind !== 'scalar') return false;
  return ['char', 'signed char', 'unsigned char', 'wchar_t'].includes(type.to.name);
}

function pointsTo(a: ArgAssignment, image: RegisterImage, region1: { offset: number }, items: Region1Item[]): ArgPlan['pointsTo'] {
  if (a.passing === 'reference') {
    const copy = items.find((i) => i.kind === 'struct-copy' && i.arg === a.index);
    return { region: 'region1', frameOffset: region1.offset + (copy?.offset ?? 0) };
  }
  const first = a.pieces[0];
  if (!first) return { region: 'stack', frameOffset: null };
  if (first.kind === 'stack') return { region: 'stack', frameOffset: first.offset + first.slotOffset };
  return { region: 'image', frameOffset: null };
}

/** The register-transfer sequence of a call, in the order a stub performs it. */
function movesOf(arr: CallArrangement, image: RegisterImage): Move[] {
  const moves: Move[] = [];
  const loaded = new Set<string>();
  const load = (p: ArgPiece, why: string) => {
    if (p.kind !== 'reg' || loaded.has(p.reg)) return;
    loaded.add(p.reg);
    const slot = image.locate(p.reg, 'arg');
    moves.push({ op: 'load', reg: p.reg, imageOffset: slot.offset, size: slot.size, why });
  };
  if (arr.result.kind === 'memory') load(arr.result.pointer, 'hidden struct-return pointer');
  for (const a of arr.args) for (const p of a.pieces) load(p, a.passing === 'reference' ? `pointer to copy of ${a.name}` : a.name);
  for (const s of arr.special) moves.push({ op: 'set', reg: s.reg, value: s.value, why: s.why });
  moves.push({ op: 'set-sp', frameOffset: 0, why: `outgoing stack area (${arr.stackBytes} bytes), aligned to ${arr.stackAlign}` });
  moves.push({ op: 'call', why: arr.signature.name ?? 'function' });
  if (arr.result.kind === 'registers') {
    const stored = new Set<string>();
    for (const p of arr.result.pieces) {
      if (p.kind !== 'reg' || stored.has(p.reg)) continue;
      stored.add(p.reg);
      const slot = image.locate(p.reg, 'result');
      moves.push({ op: 'store', reg: p.reg, imageOffset: slot.offset, size: slot.size, why: 'result' });
    }
  }
  return moves;
}

/** C spelling of a type, for tables. */
export function typeText(t: CType): string {
  switch (t.kind) {
    case 'void': return 'void';
    case 'scalar': return t.spelling ?? t.name;
    case 'enum': return `enum ${t.tag ?? '(anonymous)'}`;
    case 'pointer': return t.to.kind === 'function' ? `${typeText(t.to.result)} (*)(${t.to.params.map((p) => typeText(p.type)).join(', ')}${t.to.variadic ? ', ...' : ''})` : `${t.isConst ? 'const ' : ''}${typeText(t.to)} *`;
    case 'array': return `${typeText(t.element)}[${t.length}]`;
    case 'struct': case 'union': return `${t.kind} ${t.tag ?? '{...}'}`;
    case 'function': return `${typeText(t.result)} (${t.params.map((p) => typeText(p.type)).join(', ')})`;
  }
}
