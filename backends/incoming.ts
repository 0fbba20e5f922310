// The same frame plan read from the callee's side: where an incoming argument is
// found, given the registers and the stack pointer at the callee's entry. Call-back
// thunks and the differential tests (GCC caller -> recording trap) both use it.
import type { ArgPiece } from '../abis/abi.ts';
import type { Machine } from '../emu/machine.ts';
import type { FramePlan, TypedPlan } from '../abis/plan.ts';
import { imageSlot, type RegisterImage } from '../abis/register-image.ts';
import { decodeBytes, type JsValue } from '../layout/values.ts';
import { x87BytesToNumber } from '../emu/x87.ts';

/** Reads a register's raw little-endian bytes (live registers, or a thunk's saved block). */
export type RegisterSource = (reg: string) => Uint8Array;

export interface IncomingArg {
  name: string;
  value: JsValue;
  /** The value's in-memory image as received. */
  bytes: Uint8Array;
  /** Where each piece was found: a register name or a guest address. */
  from: string[];
}

/** Bytes the call instruction pushes below the arguments (x86 return address). */
function returnAddressBytes(m: Machine): number {
  return m.target.linkRegister ? 0 : m.target.pointerSize;
}

/** Registers as the callee sees them: s(n) of ARM lives in d(n/2). */
export function liveRegisters(m: Machine): RegisterSource {
  return (reg) => {
    const s = /^s(\d+)$/.exec(reg);
    if (s && m.target.name === 'arm') {
      const n = Number(s[1]);
      return m.readRegBytes(`d${n >> 1}`).slice((n & 1) * 4, (n & 1) * 4 + 4);
    }
    return m.readRegBytes(reg);
  };
}

/**
 * Registers stored in a register image at `base` (a thunk's block, or a call-out's result
 * slots), as little-endian register bytes: PPC stored them big-endian.
 */
export function storedRegisters(m: Machine, image: RegisterImage, base: number, role: 'arg' | 'result'): RegisterSource {
  return (reg) => {
    const slot = imageSlot(image, reg, role);
    const bytes = m.read(base + slot.offset, slot.size);
    return m.target.endian === 'little' ? bytes : bytes.slice().reverse();
  };
}

/**
 * Registers of a block already read into `bytes` (a call-back thunk's block, read once at the
 * trap), as little-endian register bytes: PPC stored them big-endian.
 */
export function blockRegisters(m: Machine, image: RegisterImage, bytes: Uint8Array, role: 'arg' | 'result'): RegisterSource {
  const little = m.target.endian === 'little';
  return (reg) => {
    const slot = imageSlot(image, reg, role);
    const raw = bytes.subarray(slot.offset, slot.offset + slot.size);
    return little ? raw : raw.slice().reverse();
  };
}

/** Copies one piece of a value from where it was passed (register or stack) into the value image. */
export function readPiece(m: Machine, p: ArgPiece, regs: RegisterSource, argBase: number, out: Uint8Array): string {
  const endian = m.target.endian;
  if (p.kind === 'stack') {
    const at = argBase + p.offset + p.slotOffset;
    out.set(m.read(at, p.size), p.valueOffset);
    return `0x${at.toString(16)}`;
  }
  const raw = regs(p.reg);
  const dv = new DataView(out.buffer, out.byteOffset, out.byteLength);
  switch (p.format) {
    case 'int': {
      // Low `size` bytes of the register value, stored in target byte order.
      for (let i = 0; i < p.size; i++) out[p.valueOffset + (endian === 'little' ? i : p.size - 1 - i)] = raw[i];
      break;
    }
    // Register bytes are little-endian; a big-endian value image wants them reversed (PPC FPRs).
    case 'raw': out.set(endian === 'little' ? raw.subarray(0, p.size) : raw.slice(0, p.size).reverse(), p.valueOffset); break;
    case 'f32-as-f64': dv.setFloat32(p.valueOffset, new DataView(raw.slice(0, 8).buffer).getFloat64(0, true), endian === 'little'); break;
    case 'x87': {
      const v = x87BytesToNumber(raw.subarray(0, 10));
      if (p.size === 4) dv.setFloat32(p.valueOffset, v, true);
      else if (p.size === 8) dv.setFloat64(p.valueOffset, v, true);
      else out.set(raw.subarray(0, 10), p.valueOffset);
      break;
    }
  }
  return p.reg;
}

/**
 * Decodes every argument of `plan` as the callee receives it. `entrySp` is the
 * stack pointer at the callee's first instruction.
 */
export function readIncoming(m: Machine, typed: TypedPlan, entrySp: number, regs: RegisterSource = liveRegisters(m)): IncomingArg[] {
  const { plan } = typed;
  const argBase = entrySp + returnAddressBytes(m);
  const ptr = m.target.pointerSize;
  return plan.args.map((a, i) => {
    const carrier = new Uint8Array(a.passing === 'reference' ? ptr : Math.max(a.size, 1));
    const from = a.pieces.map((p) => readPiece(m, p, regs, argBase, carrier));
    let bytes: Uint8Array = carrier;
    if (a.passing === 'reference') {
      const dv = new DataView(carrier.buffer);
      const address = ptr === 8 ? Number(dv.getBigUint64(0, m.littleEndian)) : dv.getUint32(0, m.littleEndian);
      bytes = m.read(address, a.size);
      from.push(`*0x${address.toString(16)}`);
    }
    return { name: a.name, value: decodeBytes(typed.args[i], bytes, { dm: plan.dataModel }), bytes, from };
  });
}

/** The hidden struct-return pointer as the callee receives it, if the result goes to memory. */
export function readIncomingResultPointer(m: Machine, plan: FramePlan, entrySp: number, regs: RegisterSource = liveRegisters(m)): number | undefined {
  const res = plan.result;
  if (res.kind !== 'memory') return undefined;
  const b = new Uint8Array(m.target.pointerSize);
  readPiece(m, res.pointer, regs, entrySp + returnAddressBytes(m), b);
  const dv = new DataView(b.buffer);
  return b.length === 8 ? Number(dv.getBigUint64(0, m.littleEndian)) : dv.getUint32(0, m.littleEndian);
}
