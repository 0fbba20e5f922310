// The register image: a block of memory holding one slot per argument register,
// special register, control word and result register of a convention. The call
// stub loads argument registers from it and stores result registers into it; a
// call-back thunk saves incoming argument registers into the same layout, so one
// description serves both directions. The stub also saves the registers a callee must
// preserve into it just before the call, so that the host can compare them afterwards.
import type { CallingConvention } from './abi.ts';
import { TARGETS } from '../emu/targets.ts';

export type ImageRole = 'arg' | 'special' | 'control' | 'result' | 'saved' | 'saved-after';

export interface ImageSlot {
  reg: string;
  offset: number;
  size: number;
  role: ImageRole;
}

/** A register that is part of another one (ARM VFP: s2k and s2k+1 are the halves of dk). */
export interface RegisterAlias { reg: string; offset: number; size: number }

/** The register image: plain data (no functions), part of every frame plan. */
export interface RegisterImage {
  size: number;
  /** Bytes of the slots a call-back thunk's block uses: all but the preserved registers' (they come last). */
  blockSize: number;
  slots: ImageSlot[];
  /** The convention's register aliases, so that a slot of `s2` is found in `d1`'s. */
  aliases: Record<string, RegisterAlias>;
}

/**
 * Control words: the function to call (a call-back's id in a thunk's block), whether st0
 * holds a result (to pop after a call-out, to push before a call-back returns), and how many
 * bytes of its caller's stack a call-back pops (i386 `ret N`: a hidden struct-return pointer,
 * stdcall's arguments).
 */
export const CONTROL = ['function', 'x87-result', 'callee-pops'] as const;

function slotBytes(cc: CallingConvention, reg: string): number {
  const declared = cc.registers.slotBytes?.[reg];
  if (declared !== undefined) return declared;
  const info = TARGETS[cc.target].registers[reg];
  if (!info) throw new Error(`${cc.name}: register '${reg}' unknown to target ${cc.target}`);
  return info.bytes;
}

/**
 * Builds the image layout of a convention: argument registers, special registers, control
 * words, result registers, and the registers a callee must preserve (saved before the call
 * and after it, for the host to compare); 16-byte aligned slots for vectors.
 */
export function registerImage(cc: CallingConvention): RegisterImage {
  const specials = cc.registers.special ?? [];
  const aliases = { ...(cc.registers.aliases ?? {}) };
  const slots: ImageSlot[] = [];
  let offset = 0;
  const add = (reg: string, role: ImageSlot['role'], size: number) => {
    const align = Math.min(size, 16);
    offset = Math.ceil(offset / align) * align;
    slots.push({ reg, offset, size, role });
    offset += size;
  };
  const ptr = TARGETS[cc.target].pointerSize;
  for (const r of cc.registers.intArgs) add(r, 'arg', slotBytes(cc, r));
  if (cc.registers.indirectResult) add(cc.registers.indirectResult, 'arg', slotBytes(cc, cc.registers.indirectResult));
  for (const r of cc.registers.fpArgs) add(r, 'arg', slotBytes(cc, r));
  for (const r of specials) add(r, 'special', slotBytes(cc, r));
  for (const c of CONTROL) add(c, 'control', ptr);
  for (const r of cc.registers.results) {
    const a = aliases[r];
    if (a && cc.registers.results.includes(a.reg)) continue;
    add(r, 'result', slotBytes(cc, r));
  }
  // A call-back's block needs none of what follows: it ends here.
  const blockSize = Math.ceil(offset / 16) * 16;
  for (const r of cc.registers.preserved) add(r, 'saved', slotBytes(cc, r));
  for (const r of cc.registers.preserved) add(r, 'saved-after', slotBytes(cc, r));
  return { size: Math.ceil(offset / 16) * 16, blockSize, slots, aliases };
}

/** The slot of a register (an alias such as ARM s2 resolves into its d register's slot). */
export function imageSlot(image: RegisterImage, reg: string, role?: ImageRole): { offset: number; size: number } {
  // Looked up on every call-out and call-back: memoized per image (derived data, never call state).
  let memo = slotMemo.get(image);
  if (!memo) slotMemo.set(image, (memo = new Map()));
  const key = role ? `${role}:${reg}` : reg;
  let found = memo.get(key);
  if (!found) memo.set(key, (found = findSlot(image, reg, role)));
  return found;
}

const slotMemo = new WeakMap<RegisterImage, Map<string, { offset: number; size: number }>>();

function findSlot(image: RegisterImage, reg: string, role?: ImageRole): { offset: number; size: number } {
  const direct = image.slots.find((s) => s.reg === reg && (!role || s.role === role));
  if (direct) return { offset: direct.offset, size: direct.size };
  const a = image.aliases[reg];
  if (a) {
    const base = image.slots.find((s) => s.reg === a.reg && (!role || s.role === role));
    if (base) return { offset: base.offset + a.offset, size: a.size };
  }
  throw new Error(`no ${role ?? ''} image slot for register '${reg}'`);
}
