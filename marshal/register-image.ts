// The register image: a block of memory holding one slot per argument register,
// special register, control word and result register of a convention. The call
// stub loads argument registers from it and stores result registers into it; a
// call-back thunk saves incoming argument registers into the same layout, so one
// description serves both directions. The stub also saves the registers a callee must
// preserve into it just before the call, so that the host can compare them afterwards.
import type { CallingConvention } from '../abis/abi.ts';
import { TARGETS } from '../emu/targets.ts';

export interface ImageSlot {
  reg: string;
  offset: number;
  size: number;
  role: 'arg' | 'special' | 'control' | 'result' | 'saved';
}

export interface RegisterImage {
  size: number;
  slots: ImageSlot[];
  /** Slot of a register (sub-registers such as ARM s2 resolve to their d register). */
  locate(reg: string, role?: ImageSlot['role']): { offset: number; size: number };
}

/**
 * Control words: the function to call (a call-back's id in a thunk's block), whether st0
 * holds a result (to pop after a call-out, to push before a call-back returns), and whether
 * a call-back must pop the hidden struct-return pointer (i386 `ret $4`).
 */
export const CONTROL = ['function', 'x87-result', 'callee-pops'] as const;

function slotBytes(cc: CallingConvention, reg: string): number {
  if (reg === 'st0') return 16; // 10 bytes of x87 extended, padded
  if (reg === 'al' || reg === 'cr6') return TARGETS[cc.target].pointerSize;
  const info = TARGETS[cc.target].registers[reg];
  if (!info) throw new Error(`${cc.name}: register '${reg}' unknown to target ${cc.target}`);
  return info.bytes;
}

/** ARM VFP: s(2k) and s(2k+1) are the low and high halves of d(k) (little-endian). */
function alias(reg: string): { reg: string; offset: number; size: number } | undefined {
  const s = /^s(\d+)$/.exec(reg);
  if (s) {
    const n = Number(s[1]);
    return { reg: `d${n >> 1}`, offset: (n & 1) * 4, size: 4 };
  }
  return undefined;
}

/** Builds the image layout of a convention: args, specials, control words, results; 16-byte aligned slots for vectors. */
export function registerImage(cc: CallingConvention): RegisterImage {
  const specials = cc.registers.special ?? [];
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
  for (const r of cc.registers.fpArgs) add(r, 'arg', slotBytes(cc, r));
  for (const r of specials) add(r, 'special', slotBytes(cc, r));
  for (const c of CONTROL) add(c, 'control', ptr);
  for (const r of cc.registers.results) {
    const a = alias(r);
    if (a && cc.registers.results.includes(a.reg)) continue;
    add(r, 'result', slotBytes(cc, r));
  }
  for (const r of cc.registers.preserved) add(r, 'saved', slotBytes(cc, r));
  const size = Math.ceil(offset / 16) * 16;
  return {
    size,
    slots,
    locate(reg, role) {
      const direct = slots.find((s) => s.reg === reg && (!role || s.role === role));
      if (direct) return { offset: direct.offset, size: direct.size };
      const a = alias(reg);
      if (a) {
        const base = slots.find((s) => s.reg === a.reg && (!role || s.role === role));
        if (base) return { offset: base.offset + a.offset, size: a.size };
      }
      throw new Error(`${cc.name}: no ${role ?? ''} image slot for register '${reg}'`);
    },
  };
}
