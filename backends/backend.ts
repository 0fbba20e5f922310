// What every convention's back end provides (abis/<name>/backend.ts): the generic call
// stub and call-back thunk of the interpreted back end, generated from the register image
// alone and shared by every signature, and the compiled back end's code for one plan.
import { imageSlot, type ImageSlot, type RegisterImage } from '../abis/register-image.ts';
import type { FramePlan, PlanOp } from '../abis/plan.ts';

export interface CallStubSource {
  /** Assembly of the generic call stub. */
  text: string;
  /** Callee-saved register the host points at the register image before running the stub. */
  imageRegister: string;
}

/**
 * `sentinel`: where the stub goes when the call is done; `clobbered`: where it goes instead
 * when the callee did not preserve the image register (the stub then writes no result
 * through it, and the host reports the callee-saved registers the callee changed).
 */
export type CallStubGenerator = (image: RegisterImage, sentinel: number, clobbered: number) => CallStubSource;

/**
 * A call-back thunk in two parts: `save` (entry: store argument registers into a block on
 * the guest stack, then jump to the host trap) and `restore` (the host resumes here after
 * running the JS function: load result registers from the block, free it, return).
 * `entry(id)` is the tiny per-call-back stub that puts the call-back's id in a scratch
 * register and jumps to `save`.
 */
export interface ThunkSource {
  save: string;
  restore: string;
  entry(id: number, saveAddress: number): string;
  /** Address of the register block, from the stack pointer at the trap. */
  block(sp: number): number;
  /** Stack pointer at the call-back's entry, from the stack pointer at the trap. */
  entrySp(sp: number): number;
}

export type ThunkGenerator = (image: RegisterImage, trap: number) => ThunkSource;

/**
 * One line of compiled code and the plan operations it performs: indexes in plan.ops for a
 * stub, in plan.thunk for a thunk; none: the back end's own code (the jump to the sentinel,
 * a thunk's frame set-up, id store and jump to the trap).
 */
export interface CodeLine { asm: string; ops: number[] }

/**
 * The compiled back end: straight-line code for exactly the guest operations of one plan
 * (no loop, no branch on types), addressing the frame from the stack pointer (the frame base
 * at the call; the base plus the bytes the callee pops after it), ending with a jump to
 * `sentinel`.
 */
export type StubCompiler = (plan: FramePlan, sentinel: number) => CodeLine[];

/** The compiled back end's call-back thunk for one plan: exactly plan.thunk's operations (CodeLine.ops index plan.thunk). */
export type ThunkCompiler = (plan: FramePlan, trap: number) => { save: CodeLine[]; restore: CodeLine[] };

/** Everything a convention's back end provides. */
export interface ConventionBackend {
  callStub: CallStubGenerator;
  thunk: ThunkGenerator;
  compileStub: StubCompiler;
  /**
   * Straight-line code for exactly one plan's thunk operations, in the generic thunk's
   * frame (same size, same block position): the generic ThunkSource's block(), entrySp()
   * and entry stubs serve both.
   */
  compileThunk: ThunkCompiler;
}

/** Slot offset of a register in the image, for templates. */
export function at(image: RegisterImage, reg: string, role: ImageSlot['role']): number {
  return imageSlot(image, reg, role).offset;
}
export function has(image: RegisterImage, reg: string, role: ImageSlot['role']): boolean {
  return image.slots.some((s) => s.reg === reg && s.role === role);
}

/** The registers a callee must preserve, in image order (the stub saves them before the call and after it). */
export function preserved(image: RegisterImage): string[] {
  return image.slots.filter((s) => s.role === 'saved').map((s) => s.reg);
}

/**
 * The run of 'save' operations starting at ops[i]: the same moment (before or after the call),
 * one register bank (the name's first letter: ARM r and d, AArch64 x and d), consecutive slots.
 * What one store-multiple (ARM stm, vstm) or a series of store pairs (AArch64 stp) writes.
 * Returns their indexes in ops, ops[i] first.
 */
export function saveRun(ops: readonly PlanOp[], i: number): number[] {
  const first = ops[i];
  if (first.op !== 'save') return [];
  const run = [i];
  for (let k = i + 1; k < ops.length; k++) {
    const next = ops[k], last = ops[run[run.length - 1]] as Extract<PlanOp, { op: 'save' }>;
    if (next.op !== 'save' || next.when !== first.when || next.reg[0] !== first.reg[0] || next.to !== last.to + last.size) break;
    run.push(k);
  }
  return run;
}

/** Keystone reads bare numbers in Intel syntax as hex: always write 0x-prefixed numbers. */
export function hex(n: number): string {
  return `0x${n.toString(16)}`;
}
