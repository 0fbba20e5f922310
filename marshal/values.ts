// Conversion between JS values and the in-memory image of C values, with range
// checks. Pointers to copied data (strings, typed arrays, structs behind a
// pointer) are placed by the caller-supplied `CopyArea` (region 1 of the frame).
import { AbiscopeError } from '../errors.ts';
import type { CType, RecordType, ScalarName } from './ctypes.ts';
import type { DataModel } from '../abis/datamodel.ts';
import { enumScalar, layoutOf } from './layout.ts';
import { typeText } from './frame.ts';
import { numberToX87, x87BytesToNumber } from '../emu/x87.ts';

/** A value did not fit its C type. `path` names the argument and field. */
export class ValueError extends AbiscopeError {
  constructor(readonly path: string, readonly expected: string, readonly got: unknown) {
    super(`${path}: expected ${expected}, got ${describe(got)}`);
    this.name = 'ValueError';
  }
}

function describe(v: unknown): string {
  if (v === undefined) return 'undefined';
  if (typeof v === 'bigint') return `${v}n`;
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v);
  if (v === null) return 'null';
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (v instanceof Uint8Array || ArrayBuffer.isView(v)) return `a ${v.constructor.name}`;
  if (typeof v === 'object') return 'an object';
  if (typeof v === 'function') return 'a function';
  return `${typeof v} ${String(v)}`;
}

/** A guest address that the user got from abiscope (heap allocation, a result). */
export interface GuestPointerLike { readonly address: number }

/**
 * A host object that may move while a call is in progress (an object of a VM's heap
 * that a garbage collection during a call-back can compact). Passed for a pointer, its
 * bytes are copied into region 1 of the frame and, unless the pointee is const, copied
 * back after the call to wherever the object is then. Never its address: that could go stale.
 */
export interface MovableObject {
  readonly movable: true;
  /** The object's bytes now. */
  contents(): Uint8Array;
  /** Stores bytes into the object at its current location. */
  update(bytes: Uint8Array): void;
}

export function isMovable(v: unknown): v is MovableObject {
  return typeof v === 'object' && v !== null && (v as { movable?: unknown }).movable === true;
}

/** Host-side services while encoding one call's arguments. */
export interface CopyArea {
  /** Places bytes in per-call storage; returns their guest address. */
  place(bytes: Uint8Array, align: number): number;
  /** Registers a copy-back to run after the call (out-parameters). */
  afterCall(fn: () => void): void;
  /** Guest address of a function-pointer value (call-back object or plain JS function). */
  functionPointer?(value: unknown, type: CType, path: string): number;
  /** Reads guest memory, for copy-backs. */
  read(address: number, size: number): Uint8Array;
}

export type JsValue = number | bigint | boolean | string | null | JsValue[] | { [k: string]: JsValue };

interface IntInfo { bytes: number; signed: boolean }

function intInfo(name: ScalarName, dm: DataModel): IntInfo | undefined {
  const bytes = dm.scalars[name].size;
  switch (name) {
    case 'float': case 'double': case 'long double': return undefined;
    case 'char': return { bytes, signed: dm.charSigned };
    case 'wchar_t': return { bytes, signed: dm.wcharSigned };
    case '_Bool': return { bytes, signed: false };
    default: return { bytes, signed: !name.startsWith('unsigned') };
  }
}

function range(info: IntInfo): [bigint, bigint] {
  const bits = BigInt(info.bytes * 8);
  return info.signed ? [-(1n << (bits - 1n)), (1n << (bits - 1n)) - 1n] : [0n, (1n << bits) - 1n];
}

/** Converts a JS value to a BigInt within the integer type's range. */
export function toInteger(v: unknown, info: IntInfo, path: string, typeName: string): bigint {
  const [lo, hi] = range(info);
  const expected = `${typeName} (an integer from ${lo} to ${hi}${info.bytes === 8 ? ', as number, BigInt or decimal string' : ''})`;
  let n: bigint;
  if (typeof v === 'bigint') n = v;
  else if (typeof v === 'number') {
    if (!Number.isInteger(v)) throw new ValueError(path, expected, v);
    if (!Number.isSafeInteger(v)) throw new ValueError(path, `${expected}; ${v} is beyond 2^53, pass a BigInt`, v);
    n = BigInt(v);
  } else if (typeof v === 'boolean') n = v ? 1n : 0n;
  else if (typeof v === 'string' && /^-?\d+$/.test(v.trim()) && info.bytes === 8) n = BigInt(v.trim());
  else throw new ValueError(path, expected, v);
  if (n < lo || n > hi) throw new ValueError(path, expected, v);
  return n;
}

function writeInt(dv: DataView, off: number, bytes: number, n: bigint, le: boolean): void {
  const u = BigInt.asUintN(bytes * 8, n);
  switch (bytes) {
    case 1: dv.setUint8(off, Number(u)); break;
    case 2: dv.setUint16(off, Number(u), le); break;
    case 4: dv.setUint32(off, Number(u), le); break;
    case 8: dv.setBigUint64(off, u, le); break;
    default: throw new Error(`no ${bytes}-byte integers`);
  }
}

function readInt(dv: DataView, off: number, info: IntInfo, le: boolean): bigint {
  let u: bigint;
  switch (info.bytes) {
    case 1: u = BigInt(dv.getUint8(off)); break;
    case 2: u = BigInt(dv.getUint16(off, le)); break;
    case 4: u = BigInt(dv.getUint32(off, le)); break;
    case 8: u = dv.getBigUint64(off, le); break;
    default: throw new Error(`no ${info.bytes}-byte integers`);
  }
  return info.signed ? BigInt.asIntN(info.bytes * 8, u) : u;
}

// ---- long double formats ----

function encodeLongDouble(dv: DataView, off: number, v: number, dm: DataModel): void {
  const le = dm.endian === 'little';
  switch (dm.longDoubleFormat) {
    case 'binary64': dv.setFloat64(off, v, le); return;
    case 'ibm-double-double': dv.setFloat64(off, v, le); dv.setFloat64(off + 8, 0, le); return;
    case 'x87-80': {
      const b = numberToX87(v);
      for (let i = 0; i < 10; i++) dv.setUint8(off + i, b[i]);
      return;
    }
    case 'binary128': {
      const b = numberToBinary128(v);
      for (let i = 0; i < 16; i++) dv.setUint8(off + (le ? i : 15 - i), b[i]);
      return;
    }
  }
}

function decodeLongDouble(dv: DataView, off: number, dm: DataModel): number {
  const le = dm.endian === 'little';
  switch (dm.longDoubleFormat) {
    case 'binary64': return dv.getFloat64(off, le);
    case 'ibm-double-double': {
      // hi + lo, except that -0.0L is {-0, +0} and -0 + +0 is +0 in IEEE arithmetic
      const hi = dv.getFloat64(off, le);
      const lo = dv.getFloat64(off + 8, le);
      return lo === 0 ? hi : hi + lo;
    }
    case 'x87-80': return x87BytesToNumber(new Uint8Array(dv.buffer, dv.byteOffset + off, 10));
    case 'binary128': {
      const b = new Uint8Array(16);
      for (let i = 0; i < 16; i++) b[i] = dv.getUint8(off + (le ? i : 15 - i));
      return binary128ToNumber(b);
    }
  }
}

/** Double -> IEEE binary128, little-endian byte order. */
function numberToBinary128(v: number): Uint8Array {
  const dv = new DataView(new ArrayBuffer(8));
  dv.setFloat64(0, v);
  const bits = dv.getBigUint64(0);
  const sign = bits >> 63n;
  const exp = (bits >> 52n) & 0x7ffn;
  let frac = bits & ((1n << 52n) - 1n);
  let e: bigint;
  if (exp === 0x7ffn) e = 0x7fffn;
  else if (exp === 0n) {
    if (frac === 0n) e = 0n;
    else {
      let shift = 0n;
      while ((frac & (1n << 52n)) === 0n) { frac <<= 1n; shift++; }
      frac &= (1n << 52n) - 1n;
      e = 1n - 1023n - shift + 16383n;
    }
  } else e = exp - 1023n + 16383n;
  const q = (sign << 127n) | (e << 112n) | (frac << 60n);
  const out = new Uint8Array(16);
  for (let i = 0; i < 16; i++) out[i] = Number((q >> BigInt(8 * i)) & 0xffn);
  return out;
}

function binary128ToNumber(b: Uint8Array): number {
  let q = 0n;
  for (let i = 15; i >= 0; i--) q = (q << 8n) | BigInt(b[i]);
  const sign = q >> 127n ? -1 : 1;
  const e = Number((q >> 112n) & 0x7fffn);
  const frac = q & ((1n << 112n) - 1n);
  if (e === 0x7fff) return frac === 0n ? sign * Infinity : NaN;
  if (e === 0 && frac === 0n) return sign * 0;
  const mant = (e === 0 ? 0n : 1n << 112n) | frac;
  const p = (e === 0 ? 1 : e) - 16383 - 112;
  const half = Math.trunc(p / 2);
  return sign * Number(mant) * 2 ** half * 2 ** (p - half);
}

// ---- encoding ----

export interface EncodeOptions {
  dm: DataModel;
  area?: CopyArea;
}

/** Writes `value` as a C `type` into `dv` at `off`. */
export function encodeValue(type: CType, value: unknown, dv: DataView, off: number, path: string, opts: EncodeOptions): void {
  const { dm } = opts;
  const le = dm.endian === 'little';
  switch (type.kind) {
    case 'void': throw new ValueError(path, 'no value (void)', value);
    case 'function': throw new ValueError(path, 'a function pointer, not a function by value', value);
    case 'enum': {
      let v = value;
      if (typeof v === 'string' && !/^-?\d+$/.test(v)) {
        const m = type.members.find((x) => x.name === v);
        if (!m) throw new ValueError(path, `a member of enum ${type.tag ?? ''} (${type.members.map((x) => x.name).join(', ')}) or an int`, value);
        v = m.value;
      }
      // The enum's integer type as GCC gives it (layout.ts): unsigned int, int, or 64-bit for wide values.
      const info = intInfo(enumScalar(type), dm)!;
      writeInt(dv, off, info.bytes, toInteger(v, info, path, `enum ${type.tag ?? ''}`.trim()), le);
      return;
    }
    case 'scalar': return encodeScalar(type.name, type.spelling ?? type.name, value, dv, off, path, dm);
    case 'pointer': {
      const addr = pointerValue(type, value, path, opts);
      writeInt(dv, off, dm.pointerSize, BigInt(addr), le);
      return;
    }
    case 'array': return encodeArray(type.element, type.length, value, dv, off, path, opts);
    case 'struct': case 'union': return encodeRecord(type, value, dv, off, path, opts);
  }
}

function encodeScalar(name: ScalarName, spelling: string, value: unknown, dv: DataView, off: number, path: string, dm: DataModel): void {
  const le = dm.endian === 'little';
  if (name === 'float' || name === 'double' || name === 'long double') {
    if (typeof value !== 'number') throw new ValueError(path, `${spelling} (a number)`, value);
    if (name === 'float') dv.setFloat32(off, value, le);
    else if (name === 'double') dv.setFloat64(off, value, le);
    else encodeLongDouble(dv, off, value, dm);
    return;
  }
  const info = intInfo(name, dm)!;
  if (name === '_Bool') {
    if (typeof value === 'boolean') return dv.setUint8(off, value ? 1 : 0);
    if (value === 0 || value === 1 || value === 0n || value === 1n) return dv.setUint8(off, Number(value));
    throw new ValueError(path, '_Bool (true/false, 0 or 1)', value);
  }
  let v = value;
  // A one-character string is accepted for char types.
  if ((name === 'char' || name === 'signed char' || name === 'unsigned char') && typeof v === 'string' && v.length === 1) v = v.charCodeAt(0);
  if (name === 'wchar_t' && typeof v === 'string' && [...v].length === 1) v = v.codePointAt(0);
  writeInt(dv, off, info.bytes, toInteger(v, info, path, spelling), le);
}

function encodeArray(element: CType, length: number, value: unknown, dv: DataView, off: number, path: string, opts: EncodeOptions): void {
  const el = layoutOf(element, opts.dm).size;
  if (typeof value === 'string' && element.kind === 'scalar' && el === 1) {
    const bytes = new TextEncoder().encode(value);
    if (bytes.length > length) throw new ValueError(path, `a string of at most ${length} UTF-8 bytes`, value);
    for (let i = 0; i < length; i++) dv.setUint8(off + i, bytes[i] ?? 0);
    return;
  }
  if (!Array.isArray(value) && !ArrayBuffer.isView(value)) throw new ValueError(path, `an array of ${length} ${typeText(element)}`, value);
  const items = Array.from(value as ArrayLike<unknown>);
  if (items.length !== length) throw new ValueError(path, `an array of exactly ${length} ${typeText(element)}`, value);
  items.forEach((item, i) => encodeValue(element, item, dv, off + i * el, `${path}[${i}]`, opts));
}

function encodeRecord(type: RecordType, value: unknown, dv: DataView, off: number, path: string, opts: EncodeOptions): void {
  const layout = layoutOf(type, opts.dm);
  const fields = layout.fields ?? [];
  const name = `${type.kind} ${type.tag ?? '(anonymous)'}`;
  if (value === null || typeof value !== 'object' || Array.isArray(value) || ArrayBuffer.isView(value)) {
    throw new ValueError(path, `an object for ${name} with fields ${fields.map((f) => f.name).join(', ')}`, value);
  }
  const obj = value as Record<string, unknown>;
  for (const k of Object.keys(obj)) {
    if (!fields.some((f) => f.name === k)) throw new ValueError(`${path}.${k}`, `a field of ${name} (${fields.map((f) => f.name).join(', ')})`, obj[k]);
  }
  for (let i = 0; i < layout.size; i++) dv.setUint8(off + i, 0);
  if (type.kind === 'union') {
    // Which member is written must be explicit: exactly one key.
    const keys = Object.keys(obj);
    if (keys.length !== 1) throw new ValueError(path, `an object with exactly one member of ${name} (${fields.map((f) => f.name).join(', ')})`, value);
    const f = fields.find((x) => x.name === keys[0])!;
    encodeValue(f.type, obj[f.name], dv, off + f.offset, `${path}.${f.name}`, opts);
    return;
  }
  for (const f of fields) {
    if (!Object.hasOwn(obj, f.name)) throw new ValueError(`${path}.${f.name}`, `a value for field '${f.name}' (${typeText(f.type)}) of ${name}`, undefined);
    encodeValue(f.type, obj[f.name], dv, off + f.offset, `${path}.${f.name}`, opts);
  }
}

/** The guest address a pointer argument carries; copies strings, buffers and objects into the copy area. */
function pointerValue(type: CType & { kind: 'pointer' }, value: unknown, path: string, opts: EncodeOptions): number {
  const { dm, area } = opts;
  const max = dm.pointerSize === 8 ? 2 ** 53 : 2 ** 32;
  if (value === null || value === undefined) return 0;
  if (typeof value === 'number' || typeof value === 'bigint') {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 0 || n >= max) throw new ValueError(path, `${typeText(type)} (a guest address from 0 to ${max - 1})`, value);
    return n;
  }
  if (isMovable(value) && type.to.kind !== 'function') {
    if (!area) throw new ValueError(path, `${typeText(type)} (a guest address; copies need a call frame)`, value);
    const bytes = value.contents();
    const address = area.place(bytes.slice(), 16);
    if (!type.isConst) area.afterCall(() => value.update(area.read(address, bytes.length)));
    return address;
  }
  if (typeof value === 'object' && 'address' in (value as object) && typeof (value as GuestPointerLike).address === 'number' && !ArrayBuffer.isView(value)) {
    return (value as GuestPointerLike).address;
  }
  if (type.to.kind === 'function') {
    if (typeof value === 'function' && area?.functionPointer) return area.functionPointer(value, type.to, path);
    throw new ValueError(path, `${typeText(type)} (a callback, a guest address or null)`, value);
  }
  if (!area) throw new ValueError(path, `${typeText(type)} (a guest address; copies need a call frame)`, value);
  const pointee = type.to;
  if (typeof value === 'string') {
    if (pointee.kind === 'scalar' && pointee.name === 'wchar_t') return area.place(encodeWide(value, dm), 4);
    if (pointee.kind === 'scalar' && dm.scalars[pointee.name].size === 1 || pointee.kind === 'void') {
      const utf8 = new TextEncoder().encode(value);
      const bytes = new Uint8Array(utf8.length + 1);
      bytes.set(utf8);
      return area.place(bytes, 1);
    }
    throw new ValueError(path, `${typeText(type)}: a string converts only to char * or wchar_t *`, value);
  }
  if (ArrayBuffer.isView(value)) {
    const src = new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
    const address = area.place(src.slice(), 16);
    // Copy back so the callee's writes reach the caller's buffer (out-parameters).
    if (!type.isConst) area.afterCall(() => src.set(area.read(address, src.length)));
    return address;
  }
  if (typeof value === 'object') {
    // An object or array behind a pointer: marshal a copy and read it back after the call.
    const elemType = pointee;
    const isArray = Array.isArray(value);
    const count = isArray ? (value as unknown[]).length : 1;
    const el = layoutOf(elemType, dm);
    const bytes = new Uint8Array(Math.max(1, el.size * count));
    const dv = new DataView(bytes.buffer);
    const items = isArray ? (value as unknown[]) : [value];
    items.forEach((item, i) => encodeValue(elemType, item, dv, i * el.size, isArray ? `${path}[${i}]` : `(*${path})`, opts));
    const address = area.place(bytes, Math.max(el.align, 8));
    if (!type.isConst) {
      area.afterCall(() => {
        const back = area.read(address, bytes.length);
        const bdv = new DataView(back.buffer);
        items.forEach((item, i) => {
          const fresh = decodeValue(elemType, bdv, i * el.size, { dm });
          if (isArray) (value as unknown[])[i] = fresh;
          else if (item && typeof item === 'object' && fresh && typeof fresh === 'object') Object.assign(item, fresh);
        });
      });
    }
    return address;
  }
  throw new ValueError(path, `${typeText(type)} (a guest address, null, a string, a typed array or an object)`, value);
}

/** UTF-32 in the target's byte order, NUL-terminated (wchar_t is 4 bytes on every target here). */
export function encodeWide(s: string, dm: DataModel): Uint8Array {
  const cps = [...s].map((c) => c.codePointAt(0)!);
  const bytes = new Uint8Array((cps.length + 1) * 4);
  const dv = new DataView(bytes.buffer);
  cps.forEach((cp, i) => dv.setUint32(i * 4, cp, dm.endian === 'little'));
  return bytes;
}

// ---- decoding ----

export interface DecodeOptions { dm: DataModel }

/** Reads a C value of `type` from `dv` at `off` as a JS value: 64-bit integers as BigInt, structs as objects. */
export function decodeValue(type: CType, dv: DataView, off: number, opts: DecodeOptions): JsValue {
  const { dm } = opts;
  const le = dm.endian === 'little';
  switch (type.kind) {
    case 'void': return null;
    case 'function': throw new Error('cannot read a function by value');
    case 'enum': {
      const info = intInfo(enumScalar(type), dm)!;
      const n = readInt(dv, off, info, le);
      return info.bytes === 8 ? n : Number(n);
    }
    case 'pointer': return Number(readInt(dv, off, { bytes: dm.pointerSize, signed: false }, le));
    case 'scalar': {
      const name = type.name;
      if (name === 'float') return dv.getFloat32(off, le);
      if (name === 'double') return dv.getFloat64(off, le);
      if (name === 'long double') return decodeLongDouble(dv, off, dm);
      if (name === '_Bool') return dv.getUint8(off) !== 0;
      const info = intInfo(name, dm)!;
      const n = readInt(dv, off, info, le);
      return info.bytes === 8 ? n : Number(n);
    }
    case 'array': {
      const el = layoutOf(type.element, dm).size;
      return Array.from({ length: type.length }, (_, i) => decodeValue(type.element, dv, off + i * el, opts));
    }
    case 'struct': case 'union': {
      const out: { [k: string]: JsValue } = {};
      // An own property even for a field named __proto__ (plain assignment would set the prototype).
      for (const f of layoutOf(type, dm).fields ?? []) {
        Object.defineProperty(out, f.name, { value: decodeValue(f.type, dv, off + f.offset, opts), enumerable: true, writable: true, configurable: true });
      }
      return out;
    }
  }
}

/** Encodes into a fresh byte array of the type's size. */
export function encodeToBytes(type: CType, value: unknown, path: string, opts: EncodeOptions): Uint8Array {
  const bytes = new Uint8Array(Math.max(layoutOf(type, opts.dm).size, 0));
  encodeValue(type, value, new DataView(bytes.buffer), 0, path, opts);
  return bytes;
}

export function decodeBytes(type: CType, bytes: Uint8Array, opts: DecodeOptions): JsValue {
  return decodeValue(type, new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), 0, opts);
}
