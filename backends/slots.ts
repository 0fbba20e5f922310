// The host's half of a plan's data movement: the `move` operation (bytes of an argument's
// value image into a register-image or stack slot, as the slot's format says) and the
// `result` operation (a result slot's bytes back into the value image), and the words the
// host writes (pointers, control words). Everything works on views of buffers that already
// exist (emu/scratch.ts says why): no typed array is allocated here.
import type { SlotFormat } from '../abis/plan.ts';
import { numberToX87, x87BytesToNumber } from '../emu/x87.ts';

/** Bytes [base, base + size) of guest memory, assembled on the host in `u8` from index `at`. */
export class FrameView {
  constructor(readonly u8: Uint8Array, readonly dv: DataView, readonly at: number, readonly base: number, readonly size: number) {}

  /** Index in `u8` of guest address `address` (checked: a plan never writes outside its frame). */
  index(address: number, bytes: number): number {
    const off = address - this.base;
    if (off < 0 || off + bytes > this.size) throw new RangeError(`frame write at 0x${address.toString(16)} (${bytes} bytes) is outside the frame [0x${this.base.toString(16)}, 0x${(this.base + this.size).toString(16)})`);
    return this.at + off;
  }

  write(address: number, bytes: Uint8Array): void {
    this.u8.set(bytes, this.index(address, bytes.length));
  }

  /** The bytes as guest memory holds them after the host's writes. */
  bytes(): Uint8Array {
    return this.u8.subarray(this.at, this.at + this.size);
  }
}

/** A value image: `size` bytes at `at` of a buffer. */
export interface Bytes { u8: Uint8Array; dv: DataView; at: number }

/** An unsigned or two's-complement word of `size` (4 or 8) bytes at u8 index `i`. */
export function setWord(dv: DataView, i: number, v: number | bigint, size: number, le: boolean): void {
  if (size === 8 && typeof v === 'number' && v >= 0 && v <= 0xffffffff) {
    // An address or a control word: no BigInt needed.
    dv.setUint32(le ? i : i + 4, v, le);
    dv.setUint32(le ? i + 4 : i, 0, le);
  } else if (size === 8) dv.setBigUint64(i, BigInt.asUintN(64, BigInt(v)), le);
  else if (typeof v === 'number') dv.setUint32(i, v >>> 0, le);
  else dv.setUint32(i, Number(BigInt.asUintN(32, v)), le);
}

/** A guest word (a pointer, a control word) into the frame. */
export function writeWord(out: FrameView, address: number, v: number | bigint, size: number, endian: 'little' | 'big'): void {
  setWord(out.dv, out.index(address, size), v, size, endian === 'little');
}

/** Integer made of `size` bytes of a value image, read in target byte order, then extended. */
function chunkToInt(src: Bytes, off: number, size: number, le: boolean, extend?: 'sign' | 'zero'): number | bigint {
  const i = src.at + off;
  switch (size) {
    case 1: return extend === 'sign' ? src.dv.getInt8(i) : src.dv.getUint8(i);
    case 2: return extend === 'sign' ? src.dv.getInt16(i, le) : src.dv.getUint16(i, le);
    case 4: return extend === 'sign' ? src.dv.getInt32(i, le) : src.dv.getUint32(i, le);
    case 8: return extend === 'sign' ? src.dv.getBigInt64(i, le) : src.dv.getBigUint64(i, le);
  }
  // Odd sizes (a 3-byte struct piece in an integer register): byte by byte.
  let v = 0n;
  for (let k = 0; k < size; k++) v = (v << 8n) | BigInt(src.u8[i + (le ? size - 1 - k : k)]);
  return extend === 'sign' ? BigInt.asIntN(size * 8, v) : v;
}

/**
 * The move operation: bytes [valueOffset, +size) of a value image into a slot of `slotSize`
 * bytes at `address`, as `format` says (an integer word in target order, extended; raw bytes;
 * a float widened to double; a value widened to x87 extended).
 */
export function putBytes(out: FrameView, address: number, src: Bytes, valueOffset: number, size: number, slotSize: number, format: SlotFormat, extend: 'sign' | 'zero' | undefined, endian: 'little' | 'big'): void {
  const le = endian === 'little';
  switch (format) {
    case 'int': {
      const v = chunkToInt(src, valueOffset, size, le, extend);
      const i = out.index(address, slotSize);
      if (typeof v === 'number' && slotSize === 4) out.dv.setUint32(i, v >>> 0, le);
      else if (typeof v === 'number' && slotSize === 8) {
        // v came from at most 4 bytes: the high word is its sign (or zero).
        const hi = v < 0 ? 0xffffffff : 0;
        out.dv.setUint32(le ? i : i + 4, v >>> 0, le);
        out.dv.setUint32(le ? i + 4 : i, hi, le);
      } else if (slotSize === 8) out.dv.setBigUint64(i, BigInt.asUintN(64, BigInt(v)), le);
      else if (slotSize === 4) out.dv.setUint32(i, Number(BigInt.asUintN(32, BigInt(v))), le);
      else {
        // A slot narrower than a word (never in today's conventions): its low-order bytes.
        let u = BigInt.asUintN(slotSize * 8, BigInt(v));
        for (let k = 0; k < slotSize; k++, u >>= 8n) out.u8[i + (le ? k : slotSize - 1 - k)] = Number(u & 0xffn);
      }
      return;
    }
    case 'raw': {
      const i = out.index(address, size);
      const from = src.at + valueOffset;
      for (let k = 0; k < size; k++) out.u8[i + k] = src.u8[from + k];
      return;
    }
    case 'f32-as-f64':
      out.dv.setFloat64(out.index(address, 8), src.dv.getFloat32(src.at + valueOffset, le), le);
      return;
    case 'x87': {
      // float and double results are widened to extended precision; a long double image already is.
      const from = src.at + valueOffset;
      const bytes = size === 4 ? numberToX87(src.dv.getFloat32(from, true))
        : size === 8 ? numberToX87(src.dv.getFloat64(from, true))
        : src.u8.subarray(from, from + 10);
      out.write(address, bytes);
      return;
    }
  }
}

/**
 * The result operation: a slot's bytes (index `at` of `slots`, stored by the stub in target
 * order) into bytes [valueOffset, +size) of the value image `out`, as `format` says.
 */
export function getBytes(slots: Bytes, at: number, slotSize: number, out: Bytes, valueOffset: number, size: number, format: SlotFormat, endian: 'little' | 'big'): void {
  const le = endian === 'little';
  const i = slots.at + at;
  const o = out.at + valueOffset;
  switch (format) {
    // A sub-word integer sits in the low-order bytes of its word: at the end of a big-endian slot.
    case 'int': {
      const from = le ? i : i + slotSize - size;
      for (let k = 0; k < size; k++) out.u8[o + k] = slots.u8[from + k];
      return;
    }
    case 'raw':
      for (let k = 0; k < size; k++) out.u8[o + k] = slots.u8[i + k];
      return;
    case 'f32-as-f64': out.dv.setFloat32(o, slots.dv.getFloat64(i, le), le); return;
    case 'x87': {
      const v = x87BytesToNumber(slots.u8.subarray(i, i + 10));
      if (size === 4) out.dv.setFloat32(o, v, true);
      else if (size === 8) out.dv.setFloat64(o, v, true);
      else for (let k = 0; k < 10; k++) out.u8[o + k] = slots.u8[i + k];
      return;
    }
  }
}
