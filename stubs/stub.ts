// What every convention's stub file provides: assembly generated from the
// register image layout only, never from a signature.
import type { ImageSlot, RegisterImage } from '../marshal/register-image.ts';

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

/** Slot offset of a register in the image, for templates. */
export function at(image: RegisterImage, reg: string, role: ImageSlot['role']): number {
  return image.locate(reg, role).offset;
}
export function has(image: RegisterImage, reg: string, role: ImageSlot['role']): boolean {
  return image.slots.some((s) => s.reg === reg && s.role === role);
}

/** The registers a callee must preserve, in image order (the stub saves them before the call). */
export function preserved(image: RegisterImage): string[] {
  return image.slots.filter((s) => s.role === 'saved').map((s) => s.reg);
}

/** Keystone reads bare numbers in Intel syntax as hex: always write 0x-prefixed numbers. */
export function hex(n: number): string {
  return `0x${n.toString(16)}`;
}
