// The host side of a call-out, executing the host operations of its frame plan: the frame
// is allocated on the guest stack below the current stack pointer, the three regions are
// written (in one guest write) before the stub runs, the call is checked and the result read
// after. All per-call state is in the frame and in the PreparedCallOut; running the stub and
// servicing call-backs is call-chain.ts.
import { AbiscopeError } from '../errors.ts';
import type { CallingConvention } from '../abis/abi.ts';
import type { Machine } from '../emu/machine.ts';
import type { CheckedLimits } from './limits.ts';
import { CANARY_BYTES, type FramePlan, type PlanOp, type SlotFormat, type TypedPlan } from '../abis/plan.ts';
import { typeText } from '../ctypes/type-text.ts';
import { decodeBytes, encodeValue, type CopyArea, type JsValue } from '../layout/values.ts';
import { layoutOf } from '../layout/layout.ts';
import { numberToX87, x87BytesToNumber } from '../emu/x87.ts';
import { FrameStackExhaustedError, type GuestOutput } from './guest-thread.ts';

const alignDown = (n: number, a: number) => Math.floor(n / a) * a;

/** Stack a callee may use below its frame; a frame lower than this above the stack bottom is refused. */
const STACK_HEADROOM = 4096;

/** The canary pattern written above every frame. */
export const CANARY = Uint8Array.from({ length: CANARY_BYTES }, (_, i) => 0xc0 + i);

export class FrameCorruptedError extends AbiscopeError {
  constructor(readonly frameTop: number, readonly call: string) {
    super(`${call}: the canary above the call frame at 0x${frameTop.toString(16)} was overwritten: the callee wrote outside its arguments`);
    this.name = 'FrameCorruptedError';
  }
}

/** A callee changed registers the convention says it must preserve (callee-saved). */
export class CalleeSavedViolation extends AbiscopeError {
  constructor(readonly callee: string, readonly violations: { register: string; before: bigint; after: bigint }[], readonly abi: string) {
    super(`${callee} did not preserve ${violations.length === 1 ? 'a callee-saved register' : `${violations.length} callee-saved registers`} (${abi}): ${violations.map((v) => `${v.register} was 0x${v.before.toString(16)} at the call, 0x${v.after.toString(16)} at the return`).join('; ')}`);
    this.name = 'CalleeSavedViolation';
  }
}

/** Wrong number of arguments, with what the signature expects. */
export class ArgumentCountError extends AbiscopeError {
  constructor(readonly signature: string, readonly expected: number, readonly got: number, variadic: boolean) {
    super(`${signature}: expected ${variadic ? 'at least ' : ''}${expected} argument${expected === 1 ? '' : 's'}, got ${got}`);
    this.name = 'ArgumentCountError';
  }
}

/** Where one argument went in a concrete call: for printing and tests. */
export interface PlacedArg {
  name: string;
  type: string;
  /** Guest address of the value's first byte as placed (image slot, stack slot or region-1 copy). */
  address: number;
  pieces: { where: string; address: number; size: number }[];
}

export interface CallRecord {
  frameBase: number;
  frameTop: number;
  spBefore: number;
  args: PlacedArg[];
  /** Where the callee wrote a struct result returned in memory (the hidden pointer). */
  resultAddress?: number;
  /** What the guest printed during the call (abiscope's runtime: printf, puts, fprintf...). */
  output: GuestOutput;
  /** ABI violations reported instead of thrown (Sandbox option calleeSaved: 'warn'). */
  warnings: string[];
}

/** How the stub of a call-out is entered: its address, and the register that gets the image's address (generic stubs). */
export interface StubEntry {
  address: number;
  imageRegister?: string;
}

/** The host side of one machine and convention, handed to every call-out. */
export interface CallSite {
  machine: Machine;
  cc: CallingConvention;
  limits: CheckedLimits;
  functionPointer?: CopyArea['functionPointer'];
  /** Fill the frame with this byte before writing it (tests: stale bytes must not pass). */
  poison?: number;
  /** A callee that changed a callee-saved register: an error (default), or a warning in the call's record. */
  calleeSaved: 'error' | 'warn';
}

/** A call-out whose frame is written and whose stub is ready to run; all its state is here and in the frame. */
export interface PreparedCallOut {
  typed: TypedPlan;
  /** Frame base: the stack pointer the stub starts with. */
  base: number;
  /** Address of the canary above region 1. */
  canary: number;
  frameTop: number;
  spBefore: number;
  /** Where the callee writes a struct result returned in memory. */
  resultAddress: number;
  /** Stack pointer the stub must reach the sentinel with (i386: the callee popped the hidden pointer). */
  spAtReturn: number;
  after: (() => void)[];
}

export interface CallOutOptions {
  /**
   * Guest address for a struct result returned in memory, passed to the callee as the hidden
   * pointer (zero copy). Unsafe for memory that may move during the call; default: region 1.
   */
  resultAddress?: number;
  /** The thread's stack: the frame must stay above its bottom. */
  stack?: { thread: string; bottom: number };
}

/**
 * Writes the frame of one call-out of `fn` following its plan, below guest stack pointer
 * `sp`: region-1 copies from the top down, the canary above them, then the plan's host
 * operations (argument bytes into the register image and the stack area, region 2's
 * pointers, control words), all into one buffer written with one guest write. Then points
 * sp (and a generic stub's image register) at it; running the stub performs the call.
 */
export function prepareCallOut(site: CallSite, typed: TypedPlan, stub: StubEntry, fn: number, args: unknown[], sp: number, opts: CallOutOptions = {}): PreparedCallOut {
  const { machine: m, cc } = site;
  const { plan } = typed;
  const dm = cc.dataModel;
  const fixed = plan.args.filter((a) => !a.variadic).length;
  if (args.length !== plan.args.length) throw new ArgumentCountError(plan.signature, fixed, args.length, fixed !== plan.args.length || plan.signature.includes('...'));

  // Region 1's per-call copies grow down from the top of the frame; their addresses are known at once.
  const canary = alignDown(sp - plan.redZone, 16) - CANARY_BYTES;
  let low = canary;
  const copies: { address: number; bytes: Uint8Array }[] = [];
  const after: (() => void)[] = [];
  const area: CopyArea = {
    place(bytes, align) {
      low = alignDown(low - bytes.length, Math.max(align, 1));
      copies.push({ address: low, bytes });
      return low;
    },
    afterCall: (f) => after.push(f),
    functionPointer: site.functionPointer,
    read: (a, n) => m.read(a, n),
  };

  const images = plan.args.map((a, i) => {
    const type = typed.args[i];
    const bytes = new Uint8Array(Math.max(a.size, 1));
    encodeValue(type, args[i], new DataView(bytes.buffer), 0, `argument ${i + 1} '${a.name}' (${a.type})`, { dm, area });
    return bytes;
  });

  const base = alignDown(alignDown(low, 16) - plan.region1.staticSize - plan.region1.offset, Math.max(plan.stackAlign, 16));
  if (opts.stack && base - STACK_HEADROOM < opts.stack.bottom) throw new FrameStackExhaustedError(opts.stack.thread, base, opts.stack.bottom);
  const frameTop = canary + CANARY_BYTES;
  // The frame is assembled on the host and written in one go: one guest write instead of dozens.
  const frame = new FrameBytes(base, frameTop - base, site.poison ?? 0);
  for (const c of copies) frame.write(c.address, c.bytes);
  frame.write(canary, CANARY);
  const res = plan.result;
  const resultAddress = res.kind === 'memory' ? opts.resultAddress ?? base + res.temp : 0;
  const word = (to: number, v: number, size: number) => writeSlot(frame, base + to, BigInt(v), size, dm.endian);
  for (const op of plan.ops) {
    switch (op.op) {
      case 'copy': frame.write(base + op.to, images[op.arg].subarray(0, op.size)); break;
      case 'move': putBytes(frame, base + op.to, images[op.arg], op.valueOffset, op.size, op.slotSize, op.format, op.extend, dm.endian); break;
      case 'address': case 'arg-pointer': word(op.to, base + (op.op === 'address' ? op.of : op.at), op.size); break;
      case 'result-pointer': word(op.to, resultAddress, op.size); break;
      case 'constant': word(op.to, op.value, op.size); break;
      case 'function': word(op.to, fn, op.size); break;
      case 'back-chain': word(op.to, sp, op.size); break; // the frame looks like a real caller's
      default: break; // the stub's operations, and those after the call
    }
  }

  m.write(base, frame.bytes);
  if (stub.imageRegister) m.writeReg(stub.imageRegister, base + plan.imageArea.offset);
  m.sp = base;
  const spAtReturn = base + (res.kind === 'memory' ? res.calleePops : 0);
  return { typed, base, canary, frameTop, spBefore: sp, resultAddress, spAtReturn, after };
}

/** Whether `bytes` hold the canary at `offset` (guest memory read once, checked here). */
export function canaryIntact(bytes: Uint8Array, offset = 0): boolean {
  return CANARY.every((b, i) => bytes[offset + i] === b);
}

/** A register the callee changed although it must preserve it: its value at the call and at the return. */
export interface Violation { register: string; before: bigint; after: bigint }

/**
 * After the stub reached the sentinel: the canary, the preserved registers (the stub saved
 * them before and after the call into the frame), the result, the copy-backs. Violations of
 * preserved registers are returned (the caller decides: error or warning).
 */
export function finishCallOut(m: Machine, call: PreparedCallOut): { value: JsValue; violations: Violation[]; record: () => CallRecord } {
  const { plan, result } = call.typed;
  const dm = plan.dataModel;
  // One read from the image to the frame top: the saved registers, the result slots, the temporary and the canary.
  const from = plan.imageArea.offset;
  const bytes = m.read(call.base + from, call.frameTop - call.base - from);
  if (!canaryIntact(bytes, call.canary - call.base - from)) throw new FrameCorruptedError(call.frameTop, plan.signature);
  const violations = preservedViolations(plan, bytes, from);
  let value: JsValue = null;
  const res = plan.result;
  if (res.kind === 'memory') {
    const temp = call.resultAddress === call.base + res.temp ? bytes.subarray(res.temp - from, res.temp - from + res.size) : m.read(call.resultAddress, res.size);
    value = decodeBytes(result, temp, { dm });
  } else if (res.kind === 'registers') {
    const image = new Uint8Array(Math.max(res.size, 1));
    for (const op of plan.ops) if (op.op === 'result') getBytes(bytes, op.from - from, op.slotSize, image, op.valueOffset, op.size, op.format, dm.endian);
    value = decodeBytes(result, image, { dm });
  }
  for (const f of call.after) f();
  return { value, violations, record: () => recordOf(call) };
}

/** The check-preserved operation, on frame bytes read from `from`. */
function preservedViolations(plan: FramePlan, bytes: Uint8Array, from: number): Violation[] {
  const out: Violation[] = [];
  const le = plan.dataModel.endian === 'little';
  const word = (at: number, size: number): bigint => {
    let v = 0n;
    for (let k = 0; k < size; k++) v = (v << 8n) | BigInt(bytes[at - from + (le ? size - 1 - k : k)]);
    return v;
  };
  for (const op of plan.ops) {
    if (op.op !== 'check-preserved') continue;
    for (const r of op.regs) {
      const mask = r.mask === undefined ? (1n << BigInt(8 * r.size)) - 1n : BigInt(r.mask);
      const before = word(r.before, r.size) & mask, after = word(r.after, r.size) & mask;
      if (before !== after) out.push({ register: r.reg, before, after });
    }
  }
  return out;
}

/**
 * When the stub found its image register changed (or faulted using it), it stored nothing
 * after the call: the live registers are compared with the values saved before it.
 */
export function liveViolations(m: Machine, call: PreparedCallOut): Violation[] {
  const { plan } = call.typed;
  const out: Violation[] = [];
  const le = plan.dataModel.endian === 'little';
  for (const op of plan.ops) {
    if (op.op !== 'check-preserved') continue;
    for (const r of op.regs) {
      const saved = m.read(call.base + r.before, r.size);
      let before = 0n;
      for (let k = 0; k < r.size; k++) before = (before << 8n) | BigInt(saved[le ? r.size - 1 - k : k]);
      const mask = r.mask === undefined ? (1n << BigInt(8 * r.size)) - 1n : BigInt(r.mask);
      const after = m.readReg(r.reg) & mask;
      if ((before & mask) !== after) out.push({ register: r.reg, before: before & mask, after });
    }
  }
  return out;
}

/** Where each argument went, for callWithRecord and the demo: built only when asked for. */
function recordOf(call: PreparedCallOut): CallRecord {
  const { plan } = call.typed;
  const image = call.base + plan.imageArea.offset;
  const args = plan.args.map((a): PlacedArg => {
    const pieces = a.pieces.map((p) => p.kind === 'stack'
      ? { where: `stack+${p.offset}`, address: call.base + p.offset + p.slotOffset, size: p.size }
      : { where: p.reg, address: image + imageSlotOffset(plan, p.reg), size: p.size });
    const address = a.passing === 'reference' ? call.base + (a.pointsTo.frameOffset ?? 0) : pieces[0]?.address ?? call.base;
    return { name: a.name, type: a.type, address, pieces };
  });
  const resultAddress = plan.result.kind === 'memory' ? call.resultAddress : undefined;
  return { frameBase: call.base, frameTop: call.frameTop, spBefore: call.spBefore, args, resultAddress, output: { stdout: '', stderr: '' }, warnings: [] };
}

function imageSlotOffset(plan: FramePlan, reg: string): number {
  const op = plan.ops.find((o): o is Extract<PlanOp, { op: 'load' }> => o.op === 'load' && o.reg === (plan.image.aliases[reg]?.reg ?? reg));
  const alias = plan.image.aliases[reg];
  if (op) return op.from - plan.imageArea.offset + (alias ? alias.offset : 0);
  return 0;
}

export function pointerBytes(address: number, size: number, endian: 'little' | 'big'): Uint8Array {
  const b = new Uint8Array(size);
  writeWord(new DataView(b.buffer), 0, BigInt(address), size, endian);
  return b;
}

function writeWord(dv: DataView, off: number, v: bigint, size: number, endian: 'little' | 'big'): void {
  const le = endian === 'little';
  if (size === 8) dv.setBigUint64(off, BigInt.asUintN(64, v), le);
  else dv.setUint32(off, Number(BigInt.asUintN(32, v)), le);
}

/** Where pieces and slots are written: guest memory (a Machine), or a frame being assembled. */
export interface ByteSink {
  write(address: number, bytes: Uint8Array): void;
}

/** A call-out frame assembled on the host: [base, base + size). */
class FrameBytes implements ByteSink {
  readonly bytes: Uint8Array;

  constructor(private readonly base: number, size: number, fill: number) {
    this.bytes = new Uint8Array(size).fill(fill);
  }

  write(address: number, bytes: Uint8Array): void {
    const at = address - this.base;
    if (at < 0 || at + bytes.length > this.bytes.length) throw new RangeError(`frame write at 0x${address.toString(16)} (${bytes.length} bytes) is outside the frame`);
    this.bytes.set(bytes, at);
  }
}

export function writeSlot(out: ByteSink, address: number, v: bigint, size: number, endian: 'little' | 'big'): void {
  const b = new Uint8Array(size);
  writeWord(new DataView(b.buffer), 0, v, size, endian);
  out.write(address, b);
}

/** Integer made of `size` bytes of a value image, read in target byte order, then extended. */
function chunkToInt(bytes: Uint8Array, off: number, size: number, endian: 'little' | 'big', extend?: 'sign' | 'zero'): bigint {
  let v = 0n;
  for (let i = 0; i < size; i++) {
    const b = BigInt(bytes[off + (endian === 'little' ? size - 1 - i : i)] ?? 0);
    v = (v << 8n) | b;
  }
  return extend === 'sign' ? BigInt.asIntN(size * 8, v) : v;
}

/**
 * The move operation: bytes [valueOffset, +size) of a value image into a slot of `slotSize`
 * bytes at `at`, as `format` says (an integer word in target order, extended; raw bytes; a
 * float widened to double; a value widened to x87 extended).
 */
export function putBytes(out: ByteSink, at: number, bytes: Uint8Array, valueOffset: number, size: number, slotSize: number, format: SlotFormat, extend: 'sign' | 'zero' | undefined, endian: 'little' | 'big'): void {
  const chunk = bytes.subarray(valueOffset, valueOffset + size);
  switch (format) {
    case 'int': writeSlot(out, at, chunkToInt(bytes, valueOffset, size, endian, extend), slotSize, endian); break;
    case 'raw': out.write(at, chunk); break;
    case 'f32-as-f64': {
      const f = new DataView(chunk.slice().buffer).getFloat32(0, endian === 'little');
      const d = new Uint8Array(8);
      new DataView(d.buffer).setFloat64(0, f, endian === 'little');
      out.write(at, d);
      break;
    }
    case 'x87': {
      // float and double results are widened to extended precision; a long double image already is.
      const dv = new DataView(chunk.slice().buffer);
      out.write(at, size === 4 ? numberToX87(dv.getFloat32(0, true)) : size === 8 ? numberToX87(dv.getFloat64(0, true)) : chunk.subarray(0, 10));
      break;
    }
  }
}

/**
 * The result operation: a slot's bytes (at `at` of `slots`, stored by the stub in target order)
 * into bytes [valueOffset, +size) of the value image, as `format` says.
 */
export function getBytes(slots: Uint8Array, at: number, slotSize: number, out: Uint8Array, valueOffset: number, size: number, format: SlotFormat, endian: 'little' | 'big'): void {
  const dv = new DataView(out.buffer, out.byteOffset, out.byteLength);
  const slot = new DataView(slots.buffer, slots.byteOffset + at);
  switch (format) {
    // A sub-word integer sits in the low-order bytes of its word: at the end of a big-endian slot.
    case 'int': out.set(slots.subarray(endian === 'big' ? at + slotSize - size : at, (endian === 'big' ? at + slotSize - size : at) + size), valueOffset); break;
    case 'raw': out.set(slots.subarray(at, at + size), valueOffset); break;
    case 'f32-as-f64': dv.setFloat32(valueOffset, slot.getFloat64(0, endian === 'little'), endian === 'little'); break;
    case 'x87': {
      const v = x87BytesToNumber(slots.subarray(at, at + 10));
      if (size === 4) dv.setFloat32(valueOffset, v, true);
      else if (size === 8) dv.setFloat64(valueOffset, v, true);
      else out.set(slots.subarray(at, at + 10), valueOffset);
      break;
    }
  }
}
