// Call-backs: a guest function pointer whose body is a JS function. Its entry stub
// jumps to the convention's thunk, which saves the argument registers into a block on
// the guest stack and traps. The host decodes the arguments with the callee's view of
// the frame plan, runs the JS function (which may call out again, to any depth, below
// that block), writes the result into the block and resumes the thunk, which returns.
import type { Machine } from '../emu/machine.ts';
import type { FramePlan } from './frame.ts';
import type { Signature } from './ctypes.ts';
import type { ThunkSource } from '../stubs/stub.ts';
import { readIncoming, readIncomingResultPointer, type RegisterSource } from './incoming.ts';
import { encodeToBytes, type JsValue } from './values.ts';
import type { RegisterImage } from './register-image.ts';
import { pointerBytes, writePiece, writeSlot } from './callout.ts';

export class CallbackReleasedError extends Error {
  constructor(readonly id: number, readonly signature: string) {
    super(`call-back #${id} (${signature}) was called after release()`);
    this.name = 'CallbackReleasedError';
  }
}

/** Where a JS exception thrown inside a call-back passed through, innermost first. */
export class CallbackError extends Error {
  constructor(readonly chain: string[], readonly original: unknown) {
    super(`${original instanceof Error ? original.message : String(original)}\n  through: ${chain.join(' <- ')}`);
    this.name = 'CallbackError';
  }
}

export interface Callback {
  readonly id: number;
  readonly address: number;
  readonly signature: Signature;
  readonly released: boolean;
  release(): void;
}

export interface CallbackRecord extends Callback {
  plan: FramePlan;
  fn: (...args: JsValue[]) => unknown;
}

/** A thunk as loaded: its save and resume addresses. */
export interface LoadedThunk {
  source: ThunkSource;
  save: number;
  resume: number;
}

/** Reads registers saved in a thunk's block as little-endian register bytes (PPC stored them big-endian). */
function blockRegisters(m: Machine, plan: FramePlan, block: number): RegisterSource {
  return (reg) => {
    const slot = plan.image.locate(reg, 'arg');
    const bytes = m.read(block + slot.offset, slot.size);
    return m.target.endian === 'little' ? bytes : bytes.slice().reverse();
  };
}

/** Where the guest called the call-back from, for error chains. */
function callerOf(m: Machine, entrySp: number): string {
  const ret = m.target.linkRegister ? m.readRegNumber(m.target.linkRegister) : m.readPointer(entrySp);
  return m.symbolize(ret);
}

/**
 * Handles one call-back trap: decode the arguments, run the JS function, encode its
 * result into the block. Returns the pc to resume at (the thunk's restore part).
 * `nested` records the guest stack pointer below which call-outs made by the JS
 * function allocate their frames.
 */
export function serviceCallback(
  m: Machine,
  image: RegisterImage,
  thunk: LoadedThunk,
  lookup: (id: number) => CallbackRecord | undefined,
  nested: <T>(sp: number, run: () => T) => T,
): number {
  const sp = m.sp;
  const block = thunk.source.block(sp);
  const entrySp = thunk.source.entrySp(sp);
  const id = m.target.pointerSize === 8 ? Number(m.readU64(block + image.locate('function', 'control').offset)) : m.readU32(block + image.locate('function', 'control').offset);
  const cb = lookup(id);
  if (!cb) throw new Error(`host trap from an unknown call-back id ${id}`);
  const level = `call-back #${id} ${cb.signature.text} called from ${callerOf(m, entrySp)}`;
  if (cb.released) throw new CallbackError([level], new CallbackReleasedError(id, cb.signature.text));
  const regs = blockRegisters(m, cb.plan, block);
  const args = readIncoming(m, cb.plan, entrySp, regs).map((a) => a.value);
  const saved = m.saveRegisters();
  let value: unknown;
  try {
    value = nested(sp, () => cb.fn(...args));
  } catch (e) {
    throw e instanceof CallbackError ? new CallbackError([...e.chain, level], e.original) : new CallbackError([level], e);
  } finally {
    saved.restore();
    saved.free();
  }
  try {
    writeCallbackResult(m, cb.plan, block, entrySp, regs, value);
  } catch (e) {
    throw new CallbackError([level], e);
  }
  return thunk.resume;
}

/** Encodes a call-back's JS result into the block's result slots, or the caller's struct-return buffer. */
function writeCallbackResult(m: Machine, plan: FramePlan, block: number, entrySp: number, regs: RegisterSource, value: unknown): void {
  const res = plan.arrangement.result;
  const ptr = m.target.pointerSize;
  const endian = m.target.endian;
  const flag = (name: string, on: boolean) => writeSlot(m, block + plan.image.locate(name, 'control').offset, on ? 1n : 0n, ptr, endian);
  flag('x87-result', res.kind === 'registers' && res.pieces.some((p) => p.kind === 'reg' && p.format === 'x87'));
  flag('callee-pops', res.kind === 'memory' && res.calleePops > 0);
  if (res.kind === 'void') return;
  const bytes = encodeToBytes(res.type, value, 'call-back result', { dm: plan.dataModel });
  if (res.kind === 'memory') {
    const dest = readIncomingResultPointer(m, plan, entrySp, regs)!;
    m.write(dest, bytes);
    if (res.returnedIn) {
      writePiece(m, plan, { kind: 'reg', reg: res.returnedIn, valueOffset: 0, size: ptr, format: 'int' }, pointerBytes(dest, ptr, endian), 0, block, 'result');
    }
    return;
  }
  // Callers on ARM and PPC use the whole register: extend sub-word integers (seen in GCC's code).
  const t = res.type;
  const extend = t.kind === 'enum' ? 'sign' : t.kind === 'scalar' && t.name !== 'float' && t.name !== 'double' && t.name !== 'long double'
    ? (isSigned(t.name, plan) ? 'sign' : 'zero') : undefined;
  for (const p of res.pieces) writePiece(m, plan, p.kind === 'reg' && p.format === 'int' && extend ? { ...p, extend } : p, bytes, 0, block, 'result');
}

function isSigned(name: string, plan: FramePlan): boolean {
  if (name === 'char') return plan.dataModel.charSigned;
  if (name === 'wchar_t') return plan.dataModel.wcharSigned;
  return name !== '_Bool' && !name.startsWith('unsigned');
}
