// The frame plan of one call: the three alloca regions of a call-out (seed mail 1) and the
// program that fills them, calls and reads the result, as plain data (JSON round-trips: no
// functions, no C type objects, no bigints). It is what runs: the host back end (encoding
// the arguments, decoding the result) executes its host operations, a call stub its guest
// operations, and `explain` prints it. Nothing about a convention is decided after planning.
//
//   high  +---------------------------+  <- frame top (below the caller's sp, and its red zone)
//         | canary                    |
//         | region 1: struct-result   |
//         |   temporary, struct and   |
//         |   string copies, buffers  |
//         | region 2: one pointer per |
//         |   argument                |
//         | region 3: register image  |
//         |   outgoing stack area     |
//   low   +---------------------------+  <- frame base = sp at the call
//
// Every offset in the plan is from the frame base.
import type { ArgAssignment, ArgPiece, CallArrangement, CallingConvention, SpecialRegister } from './abi.ts';
import type { CType, Signature } from '../ctypes/ctypes.ts';
import { typeText } from '../ctypes/type-text.ts';
import { imageSlot, registerImage, type RegisterImage } from './register-image.ts';
import { alignOf } from '../layout/layout.ts';
import type { DataModel } from '../layout/datamodel.ts';

export const PLAN_FORMAT = 'abiscope-plan/2';

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

/** How bytes sit in a register or its image slot (see ArgPiece). */
export type SlotFormat = 'int' | 'raw' | 'f32-as-f64' | 'x87';

/**
 * One step of a call. Host operations before the call fill the frame (it is then written in
 * one go), guest operations are the call stub, host operations after it check the call and
 * read the result. `to`, `from`, `of`, `at`: frame offsets.
 */
export type PlanOp =
  // --- host, before the call -----------------------------------------------------------
  /** A by-reference argument (a PowerPC struct): its value copied into region 1. */
  | { op: 'copy'; arg: number; to: number; size: number; why: string }
  /** Bytes [valueOffset, +size) of an argument's value into a slot (image or stack), as `format` says. */
  | { op: 'move'; arg: number; valueOffset: number; size: number; to: number; slotSize: number; format: SlotFormat; extend?: 'sign' | 'zero'; why: string }
  /** The address of frame offset `of` (a by-reference argument's copy) into a pointer-sized slot. */
  | { op: 'address'; of: number; to: number; size: number; why: string }
  /** The hidden struct-return pointer: the result temporary's address (or one the caller gives) into its slot. */
  | { op: 'result-pointer'; of: number; to: number; size: number; why: string }
  /** Region 2: the address of argument `arg`'s first byte (at frame offset `at`). */
  | { op: 'arg-pointer'; arg: number; to: number; at: number; size: number }
  /** A word the generic stub reads: a special register's value, the x87-result flag. */
  | { op: 'constant'; to: number; size: number; value: number; why: string }
  /** The callee's address, read by the call instruction. */
  | { op: 'function'; to: number; size: number }
  /** PowerPC: the word at the stack pointer links to the caller's frame (the back chain). */
  | { op: 'back-chain'; to: number; size: number }
  // --- guest: the call stub -------------------------------------------------------------
  /** Before and after the call: a register the callee must preserve, stored for the host to compare. */
  | { op: 'save'; reg: string; to: number; size: number; when: 'before' | 'after' }
  /** An argument register from its image slot. */
  | { op: 'load'; reg: string; from: number; size: number; why: string }
  /** A special register: x86-64 al (vector registers used), PowerPC CR bit 6 (FP arguments in FPRs). */
  | { op: 'set'; reg: string; value: number; why: string }
  /** The call; the callee pops `pops` bytes of the stack (i386: the hidden struct-return pointer; stdcall, fastcall, thiscall: every stack argument). */
  | { op: 'call'; from: number; pops: number; why: string }
  /** A result register into its image slot (x87: st0 popped as 80-bit extended). */
  | { op: 'store'; reg: string; to: number; size: number; format: SlotFormat; why: string }
  // --- host, after the call -------------------------------------------------------------
  /** The callee-saved registers, saved before and after the call, must be equal (under `mask`: PowerPC cr). */
  | { op: 'check-preserved'; regs: { reg: string; before: number; after: number; size: number; mask?: number }[] }
  /** Bytes [valueOffset, +size) of the result value from a slot, as `format` says. */
  | { op: 'result'; from: number; slotSize: number; valueOffset: number; size: number; format: SlotFormat; why: string }
  /** A result the callee wrote through the hidden pointer into region 1's temporary. */
  | { op: 'result-memory'; from: number; size: number; why: string };

/**
 * The guest side of a call-back with this signature: its thunk, entered from the caller,
 * stores the argument registers into a block on the stack laid out as the register image
 * (`to`, `from`: offsets in the block), traps to the host, and when the host has written the
 * result into the block loads the result registers and returns. A variadic call-back's thunk
 * stores every argument register (va_arg may read any of them).
 */
export type ThunkOp =
  | { op: 'receive'; reg: string; to: number; size: number; why: string }
  | { op: 'give'; reg: string; from: number; size: number; format: 'raw' | 'x87'; why: string }
  | { op: 'return'; pops: number; why: string };

export interface ArgPlan {
  index: number;
  name: string;
  type: string;
  size: number;
  passing: 'value' | 'reference';
  variadic: boolean;
  pieces: ArgPiece[];
  /** Frame offset of the argument's first byte as placed (image slot, stack slot or region-1 copy). */
  pointsTo: { region: 'image' | 'stack' | 'region1'; frameOffset: number | null };
  rule: string;
}

export type ResultPlan =
  | { kind: 'void' }
  | { kind: 'registers'; type: string; size: number; pieces: ArgPiece[]; rule: string }
  | { kind: 'memory'; type: string; size: number; pointer: ArgPiece; returnedIn: string | null; calleePops: number; temp: number; rule: string };

export interface FramePlan {
  format: typeof PLAN_FORMAT;
  abi: string;
  signature: string;
  dataModel: DataModel;
  image: RegisterImage;
  /** Frame-relative offsets (from the frame base = sp at the call). */
  stackArea: { offset: number; size: number };
  imageArea: { offset: number; size: number };
  region2: { offset: number; size: number; entrySize: number };
  region1: { offset: number; staticSize: number; items: Region1Item[] };
  /** Size of the frame without dynamic region-1 items and without the canary. */
  staticSize: number;
  stackAlign: number;
  /** Bytes below the caller's stack pointer a leaf function may use (x86-64: 128): the frame goes below them. */
  redZone: number;
  /** Bytes at the bottom of stackArea reserved for the callee (Windows x64: 32 of shadow space), else 0. */
  shadowSpace: number;
  args: ArgPlan[];
  result: ResultPlan;
  special: SpecialRegister[];
  ops: PlanOp[];
  /** The same signature called back: what its compiled thunk does. */
  thunk: ThunkOp[];
}

/**
 * A plan with the C types of its arguments (fixed, then variadic) and its result: what the
 * host needs to convert JS values to the bytes the plan moves, and back. The plan itself
 * holds only their spelling (C type objects may be cyclic: `struct node { struct node *next; }`).
 */
export interface TypedPlan {
  plan: FramePlan;
  args: readonly CType[];
  result: CType;
}

/**
 * The plan without the callee-saved check (Sandbox option calleeSaved: 'off'): no 'save' ops in
 * the stub and no 'check-preserved' op after it. What is left is the call itself, the program to
 * compare with a compiler's direct call; the saved slots stay in the image, unused.
 */
export function withoutPreservedCheck(typed: TypedPlan): TypedPlan {
  const ops = typed.plan.ops.filter((o) => o.op !== 'save' && o.op !== 'check-preserved');
  return { ...typed, plan: { ...typed.plan, ops } };
}

/** planCall, with the types kept beside the plan. */
export function typedPlan(cc: CallingConvention, signature: Signature, variadicArgs: CType[] = []): TypedPlan {
  const arrangement = cc.arrange(signature, variadicArgs);
  return { plan: planArrangement(cc, arrangement), args: arrangement.args.map((a) => a.type), result: signature.result };
}

const alignUp = (n: number, a: number) => Math.ceil(n / a) * a;

/** True for `char *` / `wchar_t *`-like and plain data pointers that may receive a copy in region 1. */
function copiedPointee(type: CType): boolean {
  return type.kind === 'pointer' && type.to.kind !== 'function';
}

/** Plans a call: the arrangement (where each argument goes) laid out as a frame and a program. */
export function planCall(cc: CallingConvention, signature: Signature, variadicArgs: CType[] = []): FramePlan {
  return planArrangement(cc, cc.arrange(signature, variadicArgs));
}

/** The plan of an arrangement (planCall without arranging again). */
export function planArrangement(cc: CallingConvention, arrangement: CallArrangement): FramePlan {
  const ptr = cc.dataModel.pointerSize;
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
  const copyOf = (arg: number): number => region1.offset + (items.find((i) => i.kind === 'struct-copy' && i.arg === arg)?.offset ?? 0);
  const slot = (reg: string, role: Parameters<typeof imageSlot>[2]) => {
    const s = imageSlot(image, reg, role);
    return { offset: imageArea.offset + s.offset, size: s.size };
  };

  const args: ArgPlan[] = arrangement.args.map((a) => ({
    index: a.index,
    name: a.name,
    type: typeText(a.type),
    size: a.size,
    passing: a.passing,
    variadic: a.variadic,
    pieces: a.pieces,
    pointsTo: pointsTo(a, region1.offset, copyOf),
    rule: a.rule,
  }));
  const result: ResultPlan = res.kind === 'void' ? { kind: 'void' }
    : res.kind === 'registers' ? { kind: 'registers', type: typeText(res.type), size: res.size, pieces: res.pieces, rule: res.rule }
    : {
      kind: 'memory', type: typeText(res.type), size: res.size, pointer: res.pointer, returnedIn: res.returnedIn ?? null,
      calleePops: res.calleePops, temp: region1.offset + (items.find((i) => i.kind === 'result-temp')?.offset ?? 0), rule: res.rule,
    };

  const plan: FramePlan = {
    format: PLAN_FORMAT,
    abi: cc.name,
    signature: arrangement.signature.text,
    dataModel: cc.dataModel,
    image,
    stackArea,
    imageArea,
    region2,
    region1,
    staticSize: region1.offset + region1.staticSize,
    stackAlign: arrangement.stackAlign,
    redZone: cc.frame?.redZone ?? 0,
    shadowSpace: cc.frame?.shadowSpace ?? 0,
    args,
    result,
    special: arrangement.special,
    ops: [],
    thunk: [],
  };
  const pops = arrangement.calleePops ?? { bytes: 0, rule: 'return to the caller' };
  plan.ops = opsOf(cc, plan, slot, copyOf, pops.bytes);
  plan.thunk = thunkOf(cc, plan, arrangement.signature.variadic, pops);
  return plan;
}

function isString(type: CType): boolean {
  if (type.kind !== 'pointer' || type.to.kind !== 'scalar') return false;
  return ['char', 'signed char', 'unsigned char', 'wchar_t'].includes(type.to.name);
}

function pointsTo(a: ArgAssignment, region1: number, copyOf: (arg: number) => number): ArgPlan['pointsTo'] {
  if (a.passing === 'reference') return { region: 'region1', frameOffset: copyOf(a.index) };
  const first = a.pieces[0];
  if (!first) return { region: 'stack', frameOffset: null };
  if (first.kind === 'stack') return { region: 'stack', frameOffset: first.offset + first.slotOffset };
  return { region: 'image', frameOffset: null };
}

/** The program of a call, in order: host operations, the stub's, the host's after the call. */
function opsOf(cc: CallingConvention, plan: FramePlan, slot: (reg: string, role: Parameters<typeof imageSlot>[2]) => { offset: number; size: number }, copyOf: (arg: number) => number, pops: number): PlanOp[] {
  const ops: PlanOp[] = [];
  const ptr = cc.dataModel.pointerSize;
  /** The frame offset a piece goes to, and its slot size. */
  const target = (p: ArgPiece, role: 'arg' | 'result'): { to: number; slotSize: number } => {
    if (p.kind === 'stack') return { to: p.offset + p.slotOffset, slotSize: p.slotSize };
    const s = slot(p.reg, role);
    return { to: s.offset, slotSize: s.size };
  };

  // Host: the frame.
  const res = plan.result;
  if (res.kind === 'memory') {
    const t = target(res.pointer, 'arg');
    ops.push({ op: 'result-pointer', of: res.temp, to: t.to, size: ptr, why: 'hidden struct-return pointer to the result temporary' });
  }
  for (const a of plan.args) {
    let first: number | undefined;
    if (a.passing === 'reference') {
      const copy = copyOf(a.index);
      ops.push({ op: 'copy', arg: a.index, to: copy, size: a.size, why: `${a.name}: the callee gets a pointer to a copy` });
      first = copy;
      for (const p of a.pieces) {
        const t = target(p, 'arg');
        ops.push({ op: 'address', of: copy, to: t.to, size: ptr, why: `pointer to the copy of ${a.name}` });
      }
    } else {
      for (const p of a.pieces) {
        const t = target(p, 'arg');
        // A stack value extended to its slot fills the slot; else its bytes go where the value sits in the
        // slot (a sub-word value in a big-endian slot at the slot's high end: t.to already says so).
        const widened = p.kind === 'stack' && p.extend !== undefined && p.size < p.slotSize;
        ops.push({
          op: 'move', arg: a.index, valueOffset: p.valueOffset, size: p.size,
          to: widened ? p.offset : t.to,
          slotSize: p.kind === 'stack' ? (widened ? p.slotSize : p.size) : t.slotSize,
          format: p.kind === 'reg' ? p.format : widened ? 'int' : 'raw', ...(p.extend ? { extend: p.extend } : {}), why: a.name,
        });
        first ??= p.kind === 'stack' ? p.offset + p.slotOffset : t.to;
      }
    }
    ops.push({ op: 'arg-pointer', arg: a.index, to: plan.region2.offset + a.index * ptr, at: first ?? 0, size: ptr });
  }
  for (const s of plan.special) ops.push({ op: 'constant', to: slot(s.reg, 'special').offset, size: ptr, value: s.value, why: s.why });
  const fn = slot('function', 'control').offset;
  ops.push({ op: 'function', to: fn, size: ptr });
  const x87 = res.kind === 'registers' && res.pieces.some((p) => p.kind === 'reg' && p.format === 'x87');
  ops.push({ op: 'constant', to: slot('x87-result', 'control').offset, size: ptr, value: x87 ? 1 : 0, why: x87 ? 'st0 holds the result: pop it' : 'no x87 result to pop' });
  if (cc.frame?.backChain) ops.push({ op: 'back-chain', to: 0, size: ptr });

  // Guest: the stub.
  const preserved = cc.registers.preserved;
  for (const r of preserved) ops.push({ op: 'save', reg: r, to: slot(r, 'saved').offset, size: slot(r, 'saved').size, when: 'before' });
  const loaded = new Set<string>();
  const load = (p: ArgPiece, why: string) => {
    if (p.kind !== 'reg' || loaded.has(p.reg)) return;
    loaded.add(p.reg);
    const s = slot(p.reg, 'arg');
    ops.push({ op: 'load', reg: p.reg, from: s.offset, size: s.size, why });
  };
  if (res.kind === 'memory') load(res.pointer, 'hidden struct-return pointer');
  for (const a of plan.args) for (const p of a.pieces) load(p, a.passing === 'reference' ? `pointer to the copy of ${a.name}` : a.name);
  for (const s of plan.special) ops.push({ op: 'set', reg: s.reg, value: s.value, why: s.why });
  ops.push({ op: 'call', from: fn, pops, why: plan.signature });
  if (res.kind === 'registers') {
    const stored = new Set<string>();
    for (const p of res.pieces) {
      if (p.kind !== 'reg') continue;
      const base = plan.image.aliases[p.reg]?.reg ?? p.reg; // ARM: s0/s1 are stored with d0
      if (stored.has(base)) continue;
      stored.add(base);
      const whole = slot(base, 'result');
      ops.push({ op: 'store', reg: base, to: whole.offset, size: whole.size, format: p.format === 'x87' ? 'x87' : 'raw', why: 'result' });
    }
  }
  for (const r of preserved) ops.push({ op: 'save', reg: r, to: slot(r, 'saved-after').offset, size: slot(r, 'saved-after').size, when: 'after' });

  // Host: the check and the result.
  if (preserved.length) {
    ops.push({
      op: 'check-preserved',
      regs: preserved.map((r) => ({
        reg: r, before: slot(r, 'saved').offset, after: slot(r, 'saved-after').offset, size: slot(r, 'saved').size,
        ...(cc.registers.preservedBits?.[r] !== undefined ? { mask: cc.registers.preservedBits[r] } : {}),
      })),
    });
  }
  if (res.kind === 'registers') {
    for (const p of res.pieces) {
      if (p.kind !== 'reg') continue;
      const s = slot(p.reg, 'result');
      ops.push({ op: 'result', from: s.offset, slotSize: s.size, valueOffset: p.valueOffset, size: p.size, format: p.format, why: p.reg });
    }
  } else if (res.kind === 'memory') {
    ops.push({ op: 'result-memory', from: res.temp, size: res.size, why: `written by the callee through the hidden pointer${res.returnedIn ? ` (also returned in ${res.returnedIn})` : ''}` });
  }
  return ops;
}

/** The thunk's program: the argument registers this signature uses (all, if variadic), the result registers, the return. */
function thunkOf(cc: CallingConvention, plan: FramePlan, variadic: boolean, pops: { bytes: number; rule: string }): ThunkOp[] {
  const ops: ThunkOp[] = [];
  const image = plan.image;
  const received = new Set<string>();
  const receive = (reg: string, why: string) => {
    const base = image.aliases[reg]?.reg ?? reg; // ARM: s0/s1 arrive in d0's slot, stored as d0
    if (received.has(base)) return;
    received.add(base);
    const s = imageSlot(image, base, 'arg');
    ops.push({ op: 'receive', reg: base, to: s.offset, size: s.size, why });
  };
  const res = plan.result;
  if (res.kind === 'memory' && res.pointer.kind === 'reg') receive(res.pointer.reg, 'hidden struct-return pointer');
  if (variadic) {
    for (const r of [...cc.registers.intArgs, ...cc.registers.fpArgs]) receive(r, 'variadic: va_arg may read any argument register');
  } else {
    for (const a of plan.args) for (const p of a.pieces) if (p.kind === 'reg') receive(p.reg, a.name);
  }
  if (res.kind === 'registers') {
    const given = new Set<string>();
    for (const p of res.pieces) {
      if (p.kind !== 'reg') continue;
      const base = image.aliases[p.reg]?.reg ?? p.reg;
      if (given.has(base)) continue;
      given.add(base);
      const s = imageSlot(image, base, 'result');
      ops.push({ op: 'give', reg: base, from: s.offset, size: s.size, format: p.format === 'x87' ? 'x87' : 'raw', why: 'result' });
    }
  } else if (res.kind === 'memory' && res.returnedIn) {
    const s = imageSlot(image, res.returnedIn, 'result');
    ops.push({ op: 'give', reg: res.returnedIn, from: s.offset, size: s.size, format: 'raw', why: 'the hidden pointer, returned' });
  }
  ops.push({ op: 'return', pops: pops.bytes, why: pops.rule });
  return ops;
}

/** Bytes the callee pops off the stack on return: the stack pointer after the call is the frame base plus these. */
export function calleePops(plan: FramePlan): number {
  for (const op of plan.ops) if (op.op === 'call') return op.pops;
  return 0;
}

/** Bytes a call-back with this plan pops off its caller's stack when it returns. */
export function thunkPops(plan: FramePlan): number {
  const last = plan.thunk[plan.thunk.length - 1];
  return last?.op === 'return' ? last.pops : 0;
}
