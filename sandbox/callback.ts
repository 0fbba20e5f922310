// Call-backs: a guest function pointer whose body is a JS function. Its entry stub
// jumps to the convention's thunk, which saves the argument registers into a block on
// the guest stack and traps. Here: decoding the arguments with the callee's view of the
// frame plan, and encoding the result into the block (or the caller's struct-return
// buffer). Running the JS function between emulator runs, which may call out again to
// any depth below the block, is call-chain.ts.
import { UsageError } from '../errors.ts';
import { AbiscopeError } from '../errors.ts';
import type { Machine } from '../emu/machine.ts';
import type { CallingConvention } from '../abis/abi.ts';
import { thunkPops, typedPlan, type FramePlan, type TypedPlan } from '../abis/plan.ts';
import { typeText } from '../ctypes/type-text.ts';
import type { CType, Signature } from '../ctypes/ctypes.ts';
import type { ThunkSource } from '../backends/backend.ts';
import { blockRegisters, readIncoming, readIncomingResultPointer, type RegisterSource } from '../backends/incoming.ts';
import { encodeValue, ValueError, type JsValue } from '../layout/values.ts';
import { enumScalar } from '../layout/layout.ts';
import { variadicTypeProblem } from '../layout/variadic.ts';
import { imageSlot, type RegisterImage } from '../abis/register-image.ts';
import { FrameView, putBytes, writeWord, type Bytes } from '../backends/slots.ts';
import type { BufferPool, Scratch } from '../emu/scratch.ts';
import { GuestTermination } from './termination.ts';
import { WildJumpFault } from '../emu/faults.ts';

export class CallbackReleasedError extends AbiscopeError {
  constructor(readonly id: number, readonly signature: string) {
    super(`call-back #${id} (${signature}) was called after release()`);
    this.name = 'CallbackReleasedError';
  }
}

/**
 * Where a JS exception thrown inside a call-back passed through, innermost first. The JS error
 * is both `original` and the standard `cause` (which Node prints, and error tooling follows).
 */
export class CallbackError extends AbiscopeError {
  constructor(readonly chain: string[], readonly original: unknown) {
    super(`${original instanceof Error ? original.message : String(original)}${hint(original, chain.length)}\n  through: ${shortChain(chain)}`, { cause: original });
    this.name = 'CallbackError';
  }
}

/** A deep chain shows its ends; `chain` keeps every level. */
function shortChain(chain: string[]): string {
  if (chain.length <= 12) return chain.join(' <- ');
  return [...chain.slice(0, 6), `... ${chain.length - 12} more levels ...`, ...chain.slice(-6)].join(' <- ');
}

/** Each nesting level costs a dozen JS frames: say what to do when the JS stack runs out. */
function hint(original: unknown, depth: number): string {
  const overflow = original instanceof RangeError && /call stack/i.test(original.message);
  return overflow ? ` (the JS stack ran out at call-back nesting depth ${depth}: run node with a larger stack, e.g. node --stack-size=4000)` : '';
}

export interface Callback {
  readonly id: number;
  readonly address: number;
  readonly signature: Signature;
  readonly released: boolean;
  release(): void;
}

export interface CallbackRecord extends Callback {
  /** The plan of the call as the callee (this call-back) sees it, with its types. */
  typed: TypedPlan;
  /** Where its entry jumps (the generic thunk's save, or its compiled thunk's) and where the host resumes after the JS function. */
  code: { save: number; resume: number };
  fn: (this: CallbackContext, ...args: (JsValue | VarArgs)[]) => unknown;
}

/** A thunk as loaded: its save and resume addresses. */
export interface LoadedThunk {
  source: ThunkSource;
  save: number;
  resume: number;
}

/** The return address of a call-back's caller, as it was at entry. */
function callerOf(m: Machine, entrySp: number): number {
  return m.target.linkRegister ? m.readRegNumber(m.target.linkRegister) : m.readPointer(entrySp);
}

/** What a call-back's JS function finds in `this` (a non-arrow function): where its arguments arrived. */
export interface CallbackContext {
  /** 'call-back #3 int (int) called from apply_n+0x21 (0x1431b1)'. */
  readonly describe: string;
  /** Stack pointer at the call-back's entry. */
  entrySp: number;
  /**
   * Fixed arguments: where each piece was read, in explain's notation (a register by its ABI
   * name, a stack slot as `[sp+N]` from the stack pointer at the call, a by-reference copy as
   * `*[0x...]`), and beside it the guest address of each stack piece (null for a register).
   */
  args: { name: string; type: string; from: string[]; at: (number | null)[] }[];
}

/** readIncoming's locations ('rdi', '0x7fefff30', '*0x7fefff40') in explain's notation, with the addresses beside. */
function locations(from: string[], callSp: number): { from: string[]; at: (number | null)[] } {
  const at: (number | null)[] = [];
  const named = from.map((f) => {
    const m = /^(\*?)0x([0-9a-f]+)$/.exec(f);
    if (!m) {
      at.push(null);
      return f;
    }
    const address = parseInt(m[2], 16);
    at.push(address);
    return m[1] ? `*[0x${address.toString(16)}]` : `[sp+${address - callSp}]`;
  });
  return { from: named, at };
}

/** A call-back the guest has entered: its arguments decoded, the CPU registers saved. */
export interface EnteredCallback {
  record: CallbackRecord;
  /** Fixed arguments, then a VarArgs reader for a variadic call-back. */
  args: (JsValue | VarArgs)[];
  /** `this` of the JS function. */
  context: CallbackContext;
  /** For chains and errors; symbolized only when read (a scan of every symbol). */
  readonly describe: string;
  /** Stack pointer at the trap: the thunk's block is above it, nested frames go below. */
  trapSp: number;
  block: number;
  /** The block as read at the trap (from the sandbox's pool: given back when the call-back ends). */
  blockBytes: Uint8Array;
  entrySp: number;
  /** The caller's return address. */
  caller: number;
  regs: RegisterSource;
  saved: { restore(): void; free(): void };
  varargs?: VarArgsReader;
}

/**
 * Handles a call-back trap up to running the JS function: finds the call-back by the id
 * its entry stub left in the block, decodes the arguments with the callee's view of its
 * plan and saves the registers (host work in between may run other guest code).
 */
export function enterCallback(m: Machine, image: RegisterImage, thunk: LoadedThunk, lookup: (id: number) => CallbackRecord | undefined, types: TypeContext, blocks: BufferPool): EnteredCallback {
  const trapSp = m.sp;
  const block = thunk.source.block(trapSp);
  const entrySp = thunk.source.entrySp(trapSp);
  // The whole block in one read: the id the entry stub left, then the argument registers.
  const blockBytes = blocks.take();
  m.readInto(block, blockBytes);
  const idAt = imageSlot(image, 'function', 'control').offset;
  const dv = new DataView(blockBytes.buffer, blockBytes.byteOffset, blockBytes.byteLength);
  const id = m.target.pointerSize === 8 ? Number(dv.getBigUint64(idAt, m.littleEndian)) : dv.getUint32(idAt, m.littleEndian);
  const cb = lookup(id);
  // Only an entry stub sets the id register before jumping to the thunk: anything else is a wild jump.
  if (!cb) throw new WildJumpFault(`abiscope's call-back thunk entered without an entry stub (the id an entry stub passes was ${id}, which is no call-back of this sandbox)`, m.faultContext());
  const caller = callerOf(m, entrySp);
  let text: string | undefined;
  const describe = () => (text ??= `call-back #${id} ${cb.signature.text} called from ${m.symbolize(caller, { returnAddress: true })}`);
  if (cb.released) throw new CallbackError([describe()], new CallbackReleasedError(id, cb.signature.text));
  const regs = blockRegisters(m, cb.typed.plan.image, blockBytes, 'arg');
  const incoming = readIncoming(m, cb.typed, entrySp, regs);
  const args: (JsValue | VarArgs)[] = incoming.map((a) => a.value);
  let varargs: VarArgsReader | undefined;
  if (cb.signature.variadic) {
    varargs = new VarArgsReader(m, types, cb.signature, entrySp, regs);
    args.push(varargs);
  }
  let contextArgs: CallbackContext['args'] | undefined;
  const context: CallbackContext = {
    get describe() { return describe(); },
    entrySp,
    get args() { return (contextArgs ??= incoming.map((a, i) => ({ name: a.name, type: cb.typed.plan.args[i].type, ...locations(a.from, entrySp + (m.target.linkRegister ? 0 : m.target.pointerSize)) }))); },
  };
  return { record: cb, args, context, get describe() { return describe(); }, trapSp, block, blockBytes, entrySp, caller, regs, saved: m.saveRegisters(), varargs };
}

/**
 * Adds this call-back's level to the chain of an exception thrown by its JS function. A guest
 * termination (exit, abort...) is not the call-back's failure: it passes through as itself.
 */
export function wrapCallbackFailure(entered: EnteredCallback, e: unknown): CallbackError | GuestTermination {
  if (e instanceof GuestTermination) {
    e.chain.push(entered.describe);
    return e;
  }
  return e instanceof CallbackError ? new CallbackError([...e.chain, entered.describe], e.original) : new CallbackError([entered.describe], e);
}

/**
 * Returns from a call-back: writes the JS result into the block (or the caller's
 * struct-return buffer) and gives the pc of the thunk's restore part, where the guest
 * resumes once the caller has restored the registers saved at the trap.
 */
export function returnFromCallback(m: Machine, scratch: Scratch, entered: EnteredCallback, value: unknown): number {
  try {
    writeCallbackResult(m, scratch, entered.record.typed, entered.block, entered.entrySp, entered.regs, value);
  } catch (e) {
    throw new CallbackError([entered.describe], e);
  }
  return entered.record.code.resume;
}

/** The convention, and type names as the sandbox declared them. */
export interface TypeContext {
  cc: CallingConvention;
  parseType(text: string): CType;
}

/** What a variadic call-back's JS function gets after its fixed arguments. */
export interface VarArgs {
  /** The next variadic argument, read as `type` (after default promotions: int, double, pointers...). */
  next(type: string | CType): JsValue;
}

/**
 * Reads variadic arguments one by one, like va_arg: the k-th argument is where the
 * convention puts it in a call with the k types read so far, found from the saved
 * registers and the stack at entry.
 */
class VarArgsReader implements VarArgs {
  private readonly readTypes: CType[] = [];
  private open = true;

  constructor(private readonly m: Machine, private readonly types: TypeContext, private readonly signature: Signature, private readonly entrySp: number, private readonly regs: RegisterSource) {}

  next(type: string | CType): JsValue {
    if (!this.open) throw new UsageError(`${this.signature.text}: variadic arguments read after the call-back returned`);
    const t = typeof type === 'string' ? this.types.parseType(type) : type;
    const problem = variadicTypeProblem(t);
    if (problem) throw new ValueError(`variadic argument ${this.readTypes.length + 1} of ${this.signature.text}`, problem, typeof type === 'string' ? type : typeText(t));
    this.readTypes.push(t);
    const all = readIncoming(this.m, typedPlan(this.types.cc, this.signature, [...this.readTypes]), this.entrySp, this.regs);
    return all[all.length - 1].value;
  }

  close(): void {
    this.open = false;
  }
}

/** Encodes a call-back's JS result into the block's result slots, or the caller's struct-return buffer. */
function writeCallbackResult(m: Machine, scratch: Scratch, typed: TypedPlan, block: number, entrySp: number, regs: RegisterSource, value: unknown): void {
  const { plan } = typed;
  const res = plan.result;
  const ptr = m.target.pointerSize;
  const endian = m.target.endian;
  // The block's control words and result slots are assembled on the host and written at once.
  const size = plan.image.blockSize;
  const mark = scratch.mark();
  try {
    // Strict: a result takes exactly the JS forms of its C type (no `true` or `5n` for an int).
    // A C caller cannot tell a sloppy result from a right one, so it must be refused here.
    let bytes: Bytes | undefined;
    if (res.kind !== 'void') {
      bytes = scratch.take(Math.max(res.size, 1));
      encodeValue(typed.result, value, bytes.dv, bytes.at, `call-back result of ${plan.signature}`, { dm: plan.dataModel, strict: true });
    }
    const area = scratch.take(size);
    m.readInto(block, area.u8.subarray(area.at, area.at + size));
    const view = new FrameView(area.u8, area.dv, area.at, block, size);
    const flag = (name: string, on: boolean) => writeWord(view, block + imageSlot(plan.image, name, 'control').offset, on ? 1 : 0, ptr, endian);
    flag('x87-result', res.kind === 'registers' && res.pieces.some((p) => p.kind === 'reg' && p.format === 'x87'));
    // The generic i386 thunk pops this many bytes of its caller's stack (ret N).
    writeWord(view, block + imageSlot(plan.image, 'callee-pops', 'control').offset, thunkPops(plan), ptr, endian);
    if (bytes && res.kind === 'memory') {
      const dest = readIncomingResultPointer(m, plan, entrySp, regs)!;
      m.write(dest, bytes.u8.subarray(bytes.at, bytes.at + res.size));
      if (res.returnedIn) writeWord(view, block + imageSlot(plan.image, res.returnedIn, 'result').offset, dest, ptr, endian);
    } else if (bytes && res.kind === 'registers') {
      // Callers on ARM and PPC use the whole register: extend sub-word integers (seen in GCC's code).
      const t = typed.result;
      const scalar = t.kind === 'enum' ? enumScalar(t) : t.kind === 'scalar' ? t.name : undefined;
      const extend = scalar && scalar !== 'float' && scalar !== 'double' && scalar !== 'long double' ? (isSigned(scalar, plan) ? 'sign' : 'zero') : undefined;
      for (const p of res.pieces) {
        if (p.kind !== 'reg') continue;
        const slot = imageSlot(plan.image, p.reg, 'result');
        putBytes(view, block + slot.offset, bytes, p.valueOffset, p.size, slot.size, p.format, p.format === 'int' ? extend ?? p.extend : undefined, endian);
      }
    }
    m.write(block, view.bytes());
  } finally {
    scratch.release(mark);
  }
}

function isSigned(name: string, plan: FramePlan): boolean {
  if (name === 'char') return plan.dataModel.charSigned;
  if (name === 'wchar_t') return plan.dataModel.wcharSigned;
  return name !== '_Bool' && !name.startsWith('unsigned');
}
