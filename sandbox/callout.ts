// The host side of a call-out, executing the host operations of its frame plan: the frame
// is allocated on the guest stack below the current stack pointer, the three regions are
// written (in one guest write) before the stub runs, the call is checked and the result read
// after. All per-call state is in the frame and in the PreparedCallOut; running the stub and
// servicing call-backs is call-chain.ts.
import { AbiscopeError } from '../errors.ts';
import type { CallingConvention } from '../abis/abi.ts';
import type { Machine } from '../emu/machine.ts';
import type { CheckedLimits } from './limits.ts';
import { CANARY_BYTES, calleePops, type FramePlan, type PlanOp, type TypedPlan } from '../abis/plan.ts';
import { decodeBytes, decodeValue, encodeValue, type CopyArea, type JsValue } from '../layout/values.ts';
import type { BufferPool, Scratch } from '../emu/scratch.ts';
import { FrameView, getBytes, putBytes, writeWord, type Bytes } from '../backends/slots.ts';
import { imageSlot } from '../abis/register-image.ts';
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
  /** Fill the frame with this byte before writing it (tests: stale bytes must not pass). */
  poison?: number;
  /** A callee that changed a callee-saved register: an error (default), or a warning in the call's record. */
  calleeSaved: 'error' | 'warn' | 'off';
  /** Host memory for assembling frames and reading them back (one per sandbox). */
  scratch: Scratch;
  /** Copies of call-back thunk blocks (the image's blockSize), one per call-back running. */
  blocks: BufferPool;
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
  /** A JS function passed for a function pointer: the call-back entry it gets for this call. */
  functionPointer?: CopyArea['functionPointer'];
}

/**
 * Writes the frame of one call-out of `fn` following its plan, below guest stack pointer
 * `sp`: region-1 copies from the top down, the canary above them, then the plan's host
 * operations (argument bytes into the register image and the stack area, region 2's
 * pointers, control words), all assembled in the site's scratch memory and written with one
 * guest write. Then points sp (and a generic stub's image register) at it; running the stub
 * performs the call.
 */
export function prepareCallOut(site: CallSite, typed: TypedPlan, stub: StubEntry, fn: number, args: unknown[], sp: number, opts: CallOutOptions = {}, stack?: { name: string; stack: { bottom: number } }): PreparedCallOut {
  const { machine: m, cc, scratch } = site;
  const { plan } = typed;
  const dm = cc.dataModel;
  const endian = dm.endian;
  if (args.length !== plan.args.length) {
    const fixed = plan.args.filter((a) => !a.variadic).length;
    throw new ArgumentCountError(plan.signature, fixed, args.length, fixed !== plan.args.length || plan.signature.includes('...'));
  }
  const mark = scratch.mark();
  try {
    const canary = alignDown(sp - plan.redZone, 16) - CANARY_BYTES;
    const area = new Region1Copies(m, canary, opts.functionPointer);

    // Each argument's value image, in scratch memory.
    const images: Bytes[] = [];
    for (let i = 0; i < plan.args.length; i++) {
      const a = plan.args[i];
      const image = scratch.take(Math.max(a.size, 1));
      encodeValue(typed.args[i], args[i], image.dv, image.at, () => argumentPath(i, a.name, a.type), { dm, area });
      images.push(image);
    }

    const base = alignDown(alignDown(area.low, 16) - plan.region1.staticSize - plan.region1.offset, Math.max(plan.stackAlign, 16));
    if (stack && base - STACK_HEADROOM < stack.stack.bottom) throw new FrameStackExhaustedError(stack.name, base, stack.stack.bottom);
    const frameTop = canary + CANARY_BYTES;
    // The frame is assembled on the host and written in one go: one guest write instead of dozens.
    const block = scratch.take(frameTop - base, site.poison ?? 0);
    const frame = new FrameView(block.u8, block.dv, block.at, base, frameTop - base);
    for (const c of area.copies) frame.write(c.address, c.bytes);
    frame.write(canary, CANARY);
    const res = plan.result;
    const resultAddress = res.kind === 'memory' ? opts.resultAddress ?? base + res.temp : 0;
    for (const op of plan.ops) {
      switch (op.op) {
        case 'copy': {
          const img = images[op.arg];
          frame.write(base + op.to, img.u8.subarray(img.at, img.at + op.size));
          break;
        }
        case 'move': putBytes(frame, base + op.to, images[op.arg], op.valueOffset, op.size, op.slotSize, op.format, op.extend, endian); break;
        case 'address': writeWord(frame, base + op.to, base + op.of, op.size, endian); break;
        case 'arg-pointer': writeWord(frame, base + op.to, base + op.at, op.size, endian); break;
        case 'result-pointer': writeWord(frame, base + op.to, resultAddress, op.size, endian); break;
        case 'constant': writeWord(frame, base + op.to, op.value, op.size, endian); break;
        case 'function': writeWord(frame, base + op.to, fn, op.size, endian); break;
        case 'back-chain': writeWord(frame, base + op.to, sp, op.size, endian); break; // the frame looks like a real caller's
        default: break; // the stub's operations, and those after the call
      }
    }

    m.write(base, frame.bytes());
    if (stub.imageRegister) m.writeReg(stub.imageRegister, base + plan.imageArea.offset);
    m.sp = base;
    const spAtReturn = base + calleePops(plan);
    return { typed, base, canary, frameTop, spBefore: sp, resultAddress, spAtReturn, after: area.after };
  } finally {
    scratch.release(mark);
  }
}

/** Region 1's per-call copies: they grow down from the top of the frame, so their addresses are known at once. */
class Region1Copies implements CopyArea {
  private static readonly NONE: never[] = [];
  copies: { address: number; bytes: Uint8Array }[] = Region1Copies.NONE;
  after: (() => void)[] = Region1Copies.NONE;

  constructor(private readonly m: Machine, public low: number, readonly functionPointer: CopyArea['functionPointer']) {}

  place(bytes: Uint8Array, align: number): number {
    this.low = alignDown(this.low - bytes.length, Math.max(align, 1));
    if (this.copies === Region1Copies.NONE) this.copies = [];
    this.copies.push({ address: this.low, bytes });
    return this.low;
  }

  afterCall(f: () => void): void {
    if (this.after === Region1Copies.NONE) this.after = [];
    this.after.push(f);
  }

  read(address: number, size: number): Uint8Array {
    return this.m.read(address, size);
  }
}

/** An argument's name in messages: built when a message needs it (most calls never do). */
function argumentPath(i: number, name: string, type: string): string {
  return `argument ${i + 1} '${name}' (${type})`;
}

/** Whether `bytes` hold the canary at `offset` (guest memory read once, checked here). */
export function canaryIntact(bytes: Uint8Array, offset = 0): boolean {
  for (let i = 0; i < CANARY_BYTES; i++) if (bytes[offset + i] !== CANARY[i]) return false;
  return true;
}

/** A register the callee changed although it must preserve it: its value at the call and at the return. */
export interface Violation { register: string; before: bigint; after: bigint }

/**
 * After the stub reached the sentinel: the canary, the preserved registers (the stub saved
 * them before and after the call into the frame), the result, the copy-backs. Violations of
 * preserved registers are returned (the caller decides: error or warning).
 */
export function finishCallOut(site: CallSite, call: PreparedCallOut): { value: JsValue; violations: Violation[]; record: () => CallRecord } {
  const { machine: m, scratch } = site;
  const { plan, result } = call.typed;
  const dm = plan.dataModel;
  const mark = scratch.mark();
  let value: JsValue = null;
  let violations: Violation[];
  try {
    // One read from the image to the frame top: the saved registers, the result slots, the temporary and the canary.
    const from = plan.imageArea.offset;
    const size = call.frameTop - call.base - from;
    const read = scratch.take(size);
    m.readInto(call.base + from, read.u8.subarray(read.at, read.at + size));
    if (!canaryIntact(read.u8, read.at + call.canary - call.base - from)) throw new FrameCorruptedError(call.frameTop, plan.signature);
    violations = preservedViolations(plan, read, from);
    const res = plan.result;
    if (res.kind === 'memory') {
      if (call.resultAddress === call.base + res.temp) value = decodeValue(result, read.dv, read.at + res.temp - from, { dm });
      else value = decodeBytes(result, m.read(call.resultAddress, res.size), { dm });
    } else if (res.kind === 'registers') {
      const image = scratch.take(Math.max(res.size, 1));
      const slots = { u8: read.u8, dv: read.dv, at: read.at - from };
      for (const op of plan.ops) if (op.op === 'result') getBytes(slots, op.from, op.slotSize, image, op.valueOffset, op.size, op.format, dm.endian);
      value = decodeValue(result, image.dv, image.at, { dm });
    }
  } finally {
    scratch.release(mark);
  }
  for (const f of call.after) f();
  return { value, violations, record: () => recordOf(call) };
}

/** The check-preserved operation, on frame bytes read from frame offset `from` (bytes compared; values built only for a report). */
function preservedViolations(plan: FramePlan, read: Bytes, from: number): Violation[] {
  let out: Violation[] | undefined;
  const le = plan.dataModel.endian === 'little';
  const word = (at: number, size: number): bigint => {
    let v = 0n;
    for (let k = 0; k < size; k++) v = (v << 8n) | BigInt(read.u8[read.at + at - from + (le ? size - 1 - k : k)]);
    return v;
  };
  for (const op of plan.ops) {
    if (op.op !== 'check-preserved') continue;
    for (const r of op.regs) {
      if (r.mask === undefined) {
        const b = read.at + r.before - from, a = read.at + r.after - from;
        let same = true;
        for (let k = 0; k < r.size; k++) if (read.u8[b + k] !== read.u8[a + k]) { same = false; break; }
        if (same) continue;
      }
      const mask = r.mask === undefined ? (1n << BigInt(8 * r.size)) - 1n : BigInt(r.mask);
      const before = word(r.before, r.size) & mask, after = word(r.after, r.size) & mask;
      if (before !== after) (out ??= []).push({ register: r.reg, before, after });
    }
  }
  return out ?? NO_VIOLATIONS;
}

const NO_VIOLATIONS: Violation[] = [];

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
      ? { where: `[sp+${p.offset + p.slotOffset}]`, address: call.base + p.offset + p.slotOffset, size: p.size } // explain's notation
      : { where: p.reg, address: image + imageSlot(plan.image, p.reg, 'arg').offset, size: p.size }); // s2 of ARM: in d1's slot
    const address = a.passing === 'reference' ? call.base + (a.pointsTo.frameOffset ?? 0) : pieces[0]?.address ?? call.base;
    return { name: a.name, type: a.type, address, pieces };
  });
  const resultAddress = plan.result.kind === 'memory' ? call.resultAddress : undefined;
  return { frameBase: call.base, frameTop: call.frameTop, spBefore: call.spBefore, args, resultAddress, output: { stdout: '', stderr: '' }, warnings: [] };
}


