// The reentrant call-out's frame: allocated on the guest stack below the current
// stack pointer, the three regions written before the stub runs, the result read
// after. All per-call state is in the frame and in the PreparedCallOut; running the
// stub and servicing call-backs is call-chain.ts.
import { AbiscopeError } from '../errors.ts';
import type { ArgPiece, CallingConvention } from '../abis/abi.ts';
import type { Machine } from '../emu/machine.ts';
import type { CheckedLimits } from './limits.ts';
import { CANARY_BYTES, typeText, type FramePlan } from './frame.ts';
import { decodeBytes, encodeValue, type CopyArea, type JsValue } from './values.ts';
import { layoutOf } from './layout.ts';
import { numberToX87 } from '../emu/x87.ts';
import { readPiece, storedRegisters } from './incoming.ts';
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

/** The host side of one machine and convention, handed to every call-out. */
export interface CallSite {
  machine: Machine;
  cc: CallingConvention;
  stubAddress: number;
  imageRegister: string;
  redZone: number;
  limits: CheckedLimits;
  functionPointer?: CopyArea['functionPointer'];
  /** Fill the frame with this byte before writing it (tests: stale bytes must not pass). */
  poison?: number;
  /** The registers a callee must preserve, resolved once (see preservedRegisters). */
  preserved: PreservedRegisters;
  /** A callee that changed one: an error (default), or a warning in the call's record. */
  calleeSaved: 'error' | 'warn';
}

/** A convention's callee-saved registers, ready to read in one call after each call-out. */
export interface PreservedRegisters {
  names: string[];
  ids: Int32Array;
  widths: number[];
  /** Bits compared of each (all but PowerPC's cr fields 0, 1 and 5-7). */
  masks: bigint[];
}

export function preservedRegisters(m: Machine, cc: CallingConvention): PreservedRegisters {
  const names = [...cc.registers.preserved];
  const { ids, widths } = m.registerIds(names);
  const masks = names.map((n, i) => cc.registers.preservedBits?.[n] ?? (1n << BigInt(widths[i] * 8)) - 1n);
  return { names, ids, widths, masks };
}

/**
 * The callee-saved registers that differ from what the stub saved into the image just before
 * the call (read in one Unicorn call; the saved slots are read with the image).
 */
export function preservedViolations(m: Machine, site: CallSite, plan: FramePlan, image: number): { register: string; before: bigint; after: bigint }[] {
  const p = site.preserved;
  const now = m.readRegisters(p.ids, p.widths);
  const slots = p.names.map((n) => plan.image.locate(n, 'saved'));
  const low = slots[0].offset, high = slots[slots.length - 1].offset + slots[slots.length - 1].size;
  const bytes = m.read(image + low, high - low);
  const le = site.cc.dataModel.endian === 'little';
  const out: { register: string; before: bigint; after: bigint }[] = [];
  p.names.forEach((register, i) => {
    let before = 0n;
    const { offset, size } = slots[i];
    for (let k = 0; k < size; k++) before = (before << 8n) | BigInt(bytes[offset - low + (le ? size - 1 - k : k)]);
    const mask = p.masks[i];
    if ((before & mask) !== (now[i] & mask)) out.push({ register, before: before & mask, after: now[i] & mask });
  });
  return out;
}

/** A call-out whose frame is written and whose stub is ready to run; all its state is here and in the frame. */
export interface PreparedCallOut {
  plan: FramePlan;
  /** Frame base: the stack pointer the stub starts with. */
  base: number;
  /** Address of the canary above region 1. */
  canary: number;
  frameTop: number;
  spBefore: number;
  image: number;
  /** Where the callee writes a struct result returned in memory. */
  resultAddress: number;
  /** Stack pointer the stub must reach the sentinel with (i386: the callee popped the hidden pointer). */
  spAtReturn: number;
  placed: PlacedArg[];
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
 * Writes the frame of one call-out of `fn` following `plan`, below guest stack pointer
 * `sp`: region-1 copies from the top down, the canary above them, region 2's argument
 * pointers, region 3's register image and outgoing stack area. Then points the image
 * register and sp at it; running the stub performs the call.
 */
export function prepareCallOut(site: CallSite, plan: FramePlan, fn: number, args: unknown[], sp: number, opts: CallOutOptions = {}): PreparedCallOut {
  const { machine: m, cc } = site;
  const dm = cc.dataModel;
  const arr = plan.arrangement;
  const sig = arr.signature;
  const fixed = sig.params.length;
  if (args.length !== arr.args.length) throw new ArgumentCountError(sig.text, fixed, args.length, sig.variadic);

  // Region 1's per-call copies grow down from the top of the frame; their addresses are known at once.
  const canary = alignDown(sp - site.redZone, 16) - CANARY_BYTES;
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

  const images = arr.args.map((a, i) => {
    const size = layoutOf(a.type, dm).size;
    const bytes = new Uint8Array(Math.max(size, 1));
    const path = `argument ${i + 1} '${a.name}' (${typeText(a.type)})`;
    encodeValue(a.type, args[i], new DataView(bytes.buffer), 0, path, { dm, area });
    return bytes;
  });

  const base = alignDown(alignDown(low, 16) - plan.region1.staticSize - plan.region1.offset, Math.max(plan.stackAlign, 16));
  if (opts.stack && base - STACK_HEADROOM < opts.stack.bottom) throw new FrameStackExhaustedError(opts.stack.thread, base, opts.stack.bottom);
  const frameTop = canary + CANARY_BYTES;
  // The frame is assembled on the host and written in one go: one guest write instead of dozens.
  const frame = new FrameBytes(base, frameTop - base, site.poison ?? 0);
  const image = base + plan.imageArea.offset;
  const region1 = base + plan.region1.offset;
  const staticItem = (kind: string, arg: number) => {
    const it = plan.region1.items.find((x) => x.kind === kind && x.arg === arg);
    return region1 + (it?.offset ?? 0);
  };
  for (const c of copies) frame.write(c.address, c.bytes);
  frame.write(canary, CANARY);

  // Region 3: arguments into the register image and the outgoing stack area; region 2: a pointer to each.
  const placed: PlacedArg[] = [];
  arr.args.forEach((a, i) => {
    let bytes: Uint8Array = images[i];
    const pieces: PlacedArg['pieces'] = [];
    let valueAddress: number;
    if (a.passing === 'reference') {
      valueAddress = staticItem('struct-copy', a.index);
      frame.write(valueAddress, bytes);
      bytes = pointerBytes(valueAddress, dm.pointerSize, dm.endian);
    }
    for (const p of a.pieces) pieces.push(writePiece(frame, plan, p, bytes, base, image));
    valueAddress = a.passing === 'reference' ? staticItem('struct-copy', a.index) : pieces[0]?.address ?? base;
    frame.write(base + plan.region2.offset + i * plan.region2.entrySize, pointerBytes(valueAddress, dm.pointerSize, dm.endian));
    placed.push({ name: a.name, type: typeText(a.type), address: valueAddress, pieces });
  });

  const res = arr.result;
  const resultAddress = res.kind === 'memory' && opts.resultAddress !== undefined ? opts.resultAddress : staticItem('result-temp', -1);
  if (res.kind === 'memory') writePiece(frame, plan, res.pointer, pointerBytes(resultAddress, dm.pointerSize, dm.endian), base, image);
  const ptr = dm.pointerSize;
  for (const s of arr.special) writeSlot(frame, image + plan.image.locate(s.reg, 'special').offset, BigInt(s.value), ptr, dm.endian);
  writeSlot(frame, image + plan.image.locate('function', 'control').offset, BigInt(fn), ptr, dm.endian);
  const x87 = res.kind === 'registers' && res.pieces.some((p) => p.kind === 'reg' && p.format === 'x87');
  writeSlot(frame, image + plan.image.locate('x87-result', 'control').offset, x87 ? 1n : 0n, ptr, dm.endian);
  if (m.target.name === 'ppc32') frame.write(base, pointerBytes(sp, ptr, dm.endian)); // back chain: the frame looks like a real caller's

  m.write(base, frame.bytes);
  m.writeReg(site.imageRegister, image);
  m.sp = base;
  const spAtReturn = base + (res.kind === 'memory' ? res.calleePops : 0);
  return { plan, base, canary, frameTop, spBefore: sp, image, resultAddress, spAtReturn, placed, after };
}

/** Whether `bytes` hold the canary at `offset` (guest memory read once, checked here). */
export function canaryIntact(bytes: Uint8Array, offset = 0): boolean {
  return CANARY.every((b, i) => bytes[offset + i] === b);
}

/** After the stub reached the sentinel: check the canary, read the result, run copy-backs. */
export function finishCallOut(m: Machine, call: PreparedCallOut): { value: JsValue; record: CallRecord } {
  if (!canaryIntact(m.read(call.canary, CANARY_BYTES))) throw new FrameCorruptedError(call.frameTop, call.plan.arrangement.signature.text);
  const value = readResult(m, call.plan, call.image, call.resultAddress);
  for (const f of call.after) f();
  const resultAddress = call.plan.arrangement.result.kind === 'memory' ? call.resultAddress : undefined;
  return { value, record: { frameBase: call.base, frameTop: call.frameTop, spBefore: call.spBefore, args: call.placed, resultAddress, output: { stdout: '', stderr: '' }, warnings: [] } };
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

/** Writes one piece of a value into a register image slot (`role`) or the stack area at `base`; returns where it went. */
export function writePiece(out: ByteSink, plan: FramePlan, p: ArgPiece, bytes: Uint8Array, base: number, image: number, role: 'arg' | 'result' = 'arg'): PlacedArg['pieces'][number] {
  const endian = plan.dataModel.endian;
  if (p.kind === 'stack') {
    const at = base + p.offset;
    if (p.extend && p.size < p.slotSize) {
      writeSlot(out, at, chunkToInt(bytes, p.valueOffset, p.size, endian, p.extend), p.slotSize, endian);
    } else {
      out.write(at + p.slotOffset, bytes.subarray(p.valueOffset, p.valueOffset + p.size));
    }
    return { where: `stack+${p.offset}`, address: at + p.slotOffset, size: p.size };
  }
  const slot = plan.image.locate(p.reg, role);
  const at = image + slot.offset;
  const chunk = bytes.subarray(p.valueOffset, p.valueOffset + p.size);
  switch (p.format) {
    case 'int': writeSlot(out, at, chunkToInt(bytes, p.valueOffset, p.size, endian, p.extend), slot.size, endian); break;
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
      out.write(at, p.size === 4 ? numberToX87(dv.getFloat32(0, true)) : p.size === 8 ? numberToX87(dv.getFloat64(0, true)) : chunk.subarray(0, 10));
      break;
    }
  }
  return { where: p.reg, address: at, size: p.size };
}

/** Rebuilds the result's value image from the stored result registers (or the result temporary). */
function readResult(m: Machine, plan: FramePlan, image: number, temp: number): JsValue {
  const res = plan.arrangement.result;
  if (res.kind === 'void') return null;
  const opts = { dm: plan.dataModel };
  if (res.kind === 'memory') return decodeBytes(res.type, m.read(temp, res.size), opts);
  const bytes = new Uint8Array(Math.max(res.size, 1));
  const regs = storedRegisters(m, plan.image, image, 'result');
  for (const p of res.pieces) {
    if (p.kind !== 'reg') throw new Error('stack-returned results are not supported');
    readPiece(m, p, regs, 0, bytes);
  }
  return decodeBytes(res.type, bytes, opts);
}
