// Conversion between JS values and the in-memory image of C values, with range
// checks. Pointers to copied data (strings, typed arrays, structs behind a
// pointer) are placed by the caller-supplied `CopyArea` (region 1 of the frame).
import { AbiscopeError } from '../errors.ts';
import type { CType, FunctionType, RecordType, ScalarName } from '../ctypes/ctypes.ts';
import type { DataModel } from './datamodel.ts';
import { enumScalar, layoutOf, LayoutError, type FieldLayout, type TypeLayout } from './layout.ts';
import { typeText } from '../ctypes/type-text.ts';
import { functionTypeDifference } from './function-types.ts';
import { numberToX87, x87BytesToNumber } from '../emu/x87.ts';

/**
 * A value did not fit its C type. `path` names the argument and field. `cause` is the
 * JS exception that reading the value threw (a getter's own, a revoked proxy's TypeError).
 */
export class ValueError extends AbiscopeError {
  constructor(readonly path: string, readonly expected: string, readonly got: unknown, options?: { cause?: unknown }) {
    super(`${path}: expected ${expected}, got ${describe(got)}`, options);
    this.name = 'ValueError';
  }
}

/**
 * A call-back (sb.callback) passed where a pointer to another function type is expected: the C
 * code would call it with arguments it does not read, or read a result it does not give.
 */
export class FunctionPointerTypeError extends ValueError {
  constructor(path: string, readonly expectedType: string, readonly callbackType: string, readonly difference: string, got: unknown) {
    super(path, `a call-back of type ${expectedType}`, got);
    this.message = `${path}: expected a call-back of type ${expectedType}, got a call-back of type ${callbackType}: ${difference}`;
    this.name = 'FunctionPointerTypeError';
  }
}

/** A value in a message. Never throws: `v` may be a revoked proxy or have throwing getters. */
function describe(v: unknown): string {
  try {
    if (v === undefined) return 'undefined';
    if (typeof v === 'bigint') return `${v}n`;
    if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v);
    if (v === null) return 'null';
    if (typeof v === 'symbol') return 'a symbol';
    if (ArrayBuffer.isView(v)) return `a ${v.constructor.name}${isDetached(v.buffer) ? ' with a detached buffer' : ''}`;
    if (Array.isArray(v)) return `an array of ${v.length}`;
    if (typeof v === 'object') return 'an object';
    if (typeof v === 'function') return 'a function';
    return `${typeof v} ${String(v)}`;
  } catch {
    return typeof v === 'function' ? 'a function' : 'an object that cannot be inspected (a revoked proxy?)';
  }
}

/** Limits on the values encoded, each checked before the work it bounds. */
export const VALUE_LIMITS = Object.freeze({
  /**
   * Levels of JS objects behind pointers within one value (a linked list given as nested
   * objects): each costs a few JS frames, and 256 stay far from the default JS stack even in
   * a deeply nested call-back. Longer lists belong in guest memory (sb.alloc, sb.write).
   */
  pointeeDepth: 256,
  /**
   * Bytes of one encoded value or one copy behind a pointer: 256 MiB, four times the guest
   * heap. Checked before the host buffer is allocated (a RangeError beyond it) and filled.
   */
  bytes: 256 * 1024 * 1024,
  /** Elements of one JS array behind a pointer (2^24): each is a JS value read and encoded one by one. */
  elements: 1 << 24,
  /** Digits of a decimal string for a 64-bit integer: 2^64 - 1 has 20. */
  decimalDigits: 20,
  /** And for a 128-bit one: 2^128 - 1 has 39. */
  decimalDigits128: 39,
});

/**
 * Runs `read`, which touches a user's object: its getters, a proxy's traps. A JS exception
 * there becomes a ValueError naming `path` (the exception is its cause); abiscope's own errors
 * pass as they are.
 */
function guarded<T>(path: string, what: string, value: unknown, read: () => T): T {
  try {
    return read();
  } catch (e) {
    if (e instanceof AbiscopeError) throw e;
    const why = e instanceof Error ? `${e.name}: ${e.message}` : describe(e);
    throw new ValueError(path, `${what} (reading it threw ${why})`, value, { cause: e });
  }
}

/**
 * Whether an ArrayBuffer was detached (transferred, or moved by structuredClone): its views
 * then read as empty and a new view on it throws. Node 20 has no ArrayBuffer.prototype.detached.
 */
function isDetached(buf: ArrayBufferLike): boolean {
  const flag = (buf as { detached?: unknown }).detached;
  if (typeof flag === 'boolean') return flag;
  if (buf.byteLength !== 0 || (typeof SharedArrayBuffer !== 'undefined' && buf instanceof SharedArrayBuffer)) return false;
  try {
    new Uint8Array(buf);
    return false;
  } catch {
    return true;
  }
}

/** The bytes of a typed array, Buffer or DataView (a view of them, not a copy); detached is a ValueError. */
function viewBytes(v: ArrayBufferView, path: string, what: string): Uint8Array {
  return guarded(path, what, v, () => {
    if (isDetached(v.buffer)) throw new ValueError(path, `${what} whose ArrayBuffer is not detached (this one was transferred away)`, v);
    return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  });
}

/**
 * Whether `obj[key] = x` stores x, so that a copy-back after the call cannot fail: an own
 * writable data property, an accessor with a setter, or a new property of an extensible object.
 */
function assignable(obj: object, key: string | number): boolean {
  const d = Object.getOwnPropertyDescriptor(obj, key);
  if (!d) return Object.isExtensible(obj);
  if (d.get !== undefined || d.set !== undefined) return d.set !== undefined;
  return d.writable === true;
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

/**
 * Converts a JS value to a BigInt within the integer type's range. `strict` (a call-back's
 * result): a number, or for a 64-bit type also a BigInt or decimal string; no boolean (only
 * _Bool, encoded before this, takes those).
 */
export function toInteger(v: unknown, info: IntInfo, path: string, typeName: string, strict = false): bigint {
  const [lo, hi] = range(info);
  // Only a refusal needs the message (its bounds are BigInt texts: dear on every call).
  const refuse = (detail = ''): ValueError => {
    const forms = info.bytes >= 8 ? ', as number, BigInt or decimal string' : strict ? ', as a number' : '';
    return new ValueError(path, `${typeName} (an integer from ${lo} to ${hi}${forms})${detail}`, v);
  };
  let n: bigint;
  if (typeof v === 'bigint' && (!strict || info.bytes >= 8)) n = v;
  else if (typeof v === 'number') {
    if (!Number.isInteger(v)) throw refuse();
    if (!Number.isSafeInteger(v)) throw refuse(`; ${v} is beyond 2^53, pass a BigInt`);
    n = BigInt(v);
  } else if (typeof v === 'boolean' && !strict) n = v ? 1n : 0n;
  else if (typeof v === 'string' && info.bytes >= 8) {
    // The shape first: BigInt() of a ten-million-digit string takes seconds before it is refused.
    // (Leading zeros and surrounding white space are allowed, a little of each.)
    const digits = info.bytes > 8 ? VALUE_LIMITS.decimalDigits128 : VALUE_LIMITS.decimalDigits;
    const tooLong = () => refuse(`; a decimal string has at most ${digits} digits`);
    if (v.length > digits + 64) throw /^\s*-?\d/.test(v.slice(0, 64)) ? tooLong() : refuse();
    const s = v.trim();
    const m = /^-?(\d+)$/.exec(s);
    if (!m) throw refuse();
    if (m[1].replace(/^0+(?=\d)/, '').length > digits) throw tooLong();
    n = BigInt(s);
  } else throw refuse();
  if (n < lo || n > hi) throw refuse();
  return n;
}

function writeInt(dv: DataView, off: number, bytes: number, n: bigint, le: boolean): void {
  const u = BigInt.asUintN(bytes * 8, n);
  switch (bytes) {
    case 1: dv.setUint8(off, Number(u)); break;
    case 2: dv.setUint16(off, Number(u), le); break;
    case 4: dv.setUint32(off, Number(u), le); break;
    case 8: dv.setBigUint64(off, u, le); break;
    case 16: // __int128: two 64-bit halves in the target's byte order
      dv.setBigUint64(le ? off : off + 8, BigInt.asUintN(64, u), le);
      dv.setBigUint64(le ? off + 8 : off, u >> 64n, le);
      break;
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
    case 16: u = (dv.getBigUint64(le ? off + 8 : off, le) << 64n) | dv.getBigUint64(le ? off : off + 8, le); break;
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
  /**
   * Only the JS forms that are exactly the C type (a call-back's result): an integer type
   * takes a number (a 64-bit one also a BigInt or decimal string), a boolean only _Bool.
   */
  strict?: boolean;
}

/** One value's encoding: the options, and the objects behind pointers being copied now (cycles). */
interface Walk extends EncodeOptions {
  /**
   * Each object whose pointee copy is being encoded, outermost first, with its path; made when
   * the first pointee is copied (most values have none, and a Map per call is not free).
   */
  visiting?: Map<object, string>;
}

const walkOf = (opts: EncodeOptions): Walk => ({ dm: opts.dm, area: opts.area, strict: opts.strict });

/**
 * Writes `value` as a C `type` into `dv` at `off`. `path` names the value in a refusal; a
 * function is called only for one (a call's arguments: most calls are never refused).
 */
export function encodeValue(type: CType, value: unknown, dv: DataView, off: number, path: string | (() => string), opts: EncodeOptions): void {
  if (typeof path === 'function') {
    // A scalar or enum has no side effects to repeat: tried without its name, encoded again with it when refused.
    if (type.kind === 'scalar' || type.kind === 'enum') {
      try {
        encode(type, value, dv, off, '', walkOf(opts));
        return;
      } catch (e) {
        if (!(e instanceof ValueError)) throw e;
      }
    }
    path = path();
  }
  checkValueSize(type, value, path, opts.dm);
  encode(type, value, dv, off, path, walkOf(opts));
}

/** A type too large to encode (a 2 GB struct by value): refused before its bytes are filled one by one. */
function checkValueSize(type: CType, value: unknown, path: string, dm: DataModel): number {
  const size = layoutOf(type, dm).size;
  if (size > VALUE_LIMITS.bytes) throw new ValueError(path, `a value of at most ${VALUE_LIMITS.bytes} bytes (${typeText(type)} has ${size})`, value);
  return size;
}

function encode(type: CType, value: unknown, dv: DataView, off: number, path: string, w: Walk): void {
  const { dm } = w;
  const le = dm.endian === 'little';
  switch (type.kind) {
    case 'void': throw new ValueError(path, 'no value (void)', value);
    case 'function': throw new ValueError(path, 'a function pointer, not a function by value', value);
    case 'enum': {
      let v = value;
      if (typeof v === 'string' && !/^-?\d+$/.test(v)) {
        const m = type.members.find((x) => x.name === v);
        if (!m) throw new ValueError(path, `a member of enum ${type.tag ?? ''} (${enumNames(type.members)}) or an int`, value);
        v = m.value;
      }
      // The enum's integer type as GCC gives it (layout.ts): unsigned int, int, or 64-bit for wide values.
      const info = intInfo(enumScalar(type), dm)!;
      writeInt(dv, off, info.bytes, toInteger(v, info, path, `enum ${type.tag ?? ''}`.trim(), w.strict), le);
      return;
    }
    case 'scalar': return encodeScalar(type.name, type.spelling ?? type.name, value, dv, off, path, w);
    case 'pointer': {
      const addr = pointerValue(type, value, path, w);
      writeInt(dv, off, dm.pointerSize, BigInt(addr), le);
      return;
    }
    case 'array': return encodeArray(type.element, type.length, value, dv, off, path, w);
    case 'struct': case 'union': return encodeRecord(type, value, dv, off, path, w);
  }
}

/** An enum's members in a message: a 60,000-member enum lists its first few. */
function enumNames(members: { name: string }[]): string {
  const names = members.slice(0, 20).map((x) => x.name).join(', ');
  return members.length > 20 ? `${names}, ... ${members.length - 20} more` : names;
}

function encodeScalar(name: ScalarName, spelling: string, value: unknown, dv: DataView, off: number, path: string, w: Walk): void {
  const { dm } = w;
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
  // The common case first: a number within a type of at most 32 bits, written without BigInt.
  if (typeof value === 'number' && info.bytes <= 4 && Number.isInteger(value)) {
    const lo = info.signed ? -(2 ** (info.bytes * 8 - 1)) : 0;
    const hi = info.signed ? 2 ** (info.bytes * 8 - 1) - 1 : 2 ** (info.bytes * 8) - 1;
    if (value >= lo && value <= hi) {
      if (info.bytes === 4) dv.setUint32(off, value >>> 0, le);
      else if (info.bytes === 2) dv.setUint16(off, value & 0xffff, le);
      else dv.setUint8(off, value & 0xff);
      return;
    }
  }
  let v = value;
  // A one-character string is accepted for char types, one code point for wchar_t (the length
  // first: spreading a long string into code points would take as long as the string).
  if ((name === 'char' || name === 'signed char' || name === 'unsigned char') && typeof v === 'string' && v.length === 1) v = v.charCodeAt(0);
  if (name === 'wchar_t' && typeof v === 'string' && v.length <= 2 && [...v].length === 1) v = v.codePointAt(0);
  writeInt(dv, off, info.bytes, toInteger(v, info, path, spelling, w.strict), le);
}

/**
 * The items of a JS array or typed array, read once each by index (never through an iterator,
 * which the user's code may replace), and only if there are `length` of them when `length`
 * is given. Undefined if `value` is neither.
 */
function itemsOf(value: unknown, path: string, what: string, length?: number): unknown[] | undefined {
  if (ArrayBuffer.isView(value)) {
    if (value instanceof DataView) throw new ValueError(path, `${what} (a DataView has no elements: pass a typed array)`, value);
    viewBytes(value, path, `${what}: a typed array`); // detached: a ValueError, not an empty array
    const t = value as unknown as ArrayLike<unknown>;
    if (length !== undefined && t.length !== length) return undefined;
    return Array.from({ length: t.length }, (_, i) => t[i]);
  }
  return guarded(path, what, value, () => {
    if (!Array.isArray(value)) return undefined;
    const n = value.length;
    if (length !== undefined && n !== length) return undefined;
    const out = new Array<unknown>(n);
    // One try for all elements (a million out-parameter ints): the failing index names the path.
    let i = 0;
    try {
      for (; i < n; i++) out[i] = value[i];
    } catch (e) {
      return guarded(`${path}[${i}]`, 'an element that can be read', value, () => { throw e; });
    }
    return out;
  });
}

function encodeArray(element: CType, length: number, value: unknown, dv: DataView, off: number, path: string, w: Walk): void {
  const el = layoutOf(element, w.dm).size;
  if (typeof value === 'string' && element.kind === 'scalar' && el === 1) {
    // UTF-8 has at least as many bytes as UTF-16 code units: a longer string cannot fit (checked before encoding it).
    const bytes = value.length <= length ? new TextEncoder().encode(value) : undefined;
    if (!bytes || bytes.length > length) throw new ValueError(path, `a string of at most ${length} UTF-8 bytes`, value);
    for (let i = 0; i < length; i++) dv.setUint8(off + i, bytes[i] ?? 0);
    return;
  }
  const isList = ArrayBuffer.isView(value) || guarded(path, `an array of ${length} ${typeText(element)}`, value, () => Array.isArray(value));
  if (!isList) throw new ValueError(path, `an array of ${length} ${typeText(element)}`, value);
  const items = itemsOf(value, path, `an array of ${length} ${typeText(element)}`, length);
  if (!items) throw new ValueError(path, `an array of exactly ${length} ${typeText(element)}`, value);
  items.forEach((item, i) => encode(element, item, dv, off + i * el, `${path}[${i}]`, w));
}

/** A struct's or union's own field values, each read once (getters and proxies may throw, or change). */
function fieldValues(type: RecordType, value: unknown, path: string, fields: readonly FieldLayout[]): Map<string, unknown> {
  const name = recordName(type);
  const expected = `an object for ${name} with fields ${fields.map((f) => f.name).join(', ')}`;
  if (value === null || typeof value !== 'object' || ArrayBuffer.isView(value) || guarded(path, expected, value, () => Array.isArray(value))) {
    throw new ValueError(path, expected, value);
  }
  const obj = value as Record<string, unknown>;
  const keys = guarded(path, `${expected} whose keys can be listed`, value, () => Object.keys(obj));
  // A set: a scan of the fields for each key is quadratic for a struct of thousands of members.
  const known = new Set(fields.map((f) => f.name));
  const out = new Map<string, unknown>();
  for (const k of keys) {
    if (!known.has(k)) throw new ValueError(`${path}.${k}`, `a field of ${name} (${fields.map((f) => f.name).join(', ')})`, guarded(`${path}.${k}`, 'a property that can be read', value, () => obj[k]));
  }
  for (const f of fields) {
    const at = `${path}.${f.name}`;
    const has = guarded(at, `a value for field '${f.name}' that can be read`, value, () => Object.hasOwn(obj, f.name));
    if (has) out.set(f.name, guarded(at, `a value for field '${f.name}' that can be read`, value, () => obj[f.name]));
  }
  return out;
}

const recordName = (type: RecordType) => `${type.kind} ${type.tag ?? '(anonymous)'}`;

function encodeRecord(type: RecordType, value: unknown, dv: DataView, off: number, path: string, w: Walk): void {
  const layout = layoutOf(type, w.dm);
  const fields = layout.fields ?? [];
  const name = recordName(type);
  const values = fieldValues(type, value, path, fields);
  new Uint8Array(dv.buffer, dv.byteOffset + off, layout.size).fill(0);
  if (type.kind === 'union') {
    // Which member is written must be explicit: exactly one key.
    if (values.size !== 1) throw new ValueError(path, `an object with exactly one member of ${name} (${fields.map((f) => f.name).join(', ')})`, value);
    const f = fields.find((x) => values.has(x.name))!;
    encode(f.type, values.get(f.name), dv, off + f.offset, `${path}.${f.name}`, w);
    return;
  }
  for (const f of fields) {
    if (!values.has(f.name)) throw new ValueError(`${path}.${f.name}`, `a value for field '${f.name}' (${typeText(f.type)}) of ${name}`, undefined);
    encode(f.type, values.get(f.name), dv, off + f.offset, `${path}.${f.name}`, w);
  }
}

/**
 * A guest address given as a number, a BigInt or a GuestPointerLike's `address`: an integer
 * from 0 below the target's pointer range (2^32), and on 64-bit targets below 2^53, beyond
 * which a JS number is no longer exact.
 */
function guestAddress(v: unknown, type: CType, path: string, dm: DataModel): number {
  const max = dm.pointerSize === 8 ? 2 ** 53 : 2 ** 32;
  const ok = typeof v === 'number' ? Number.isSafeInteger(v) && v >= 0 && v < max
    : typeof v === 'bigint' && v >= 0n && v < BigInt(max);
  if (!ok) throw new ValueError(path, `${typeText(type)} (a guest address from 0 to ${max - 1})`, v);
  return Number(v);
}

/**
 * A call-back object (what sb.callback returns: an address and the signature it was made for)
 * given for a pointer to `expected`: refused unless it is that function type. A bare address
 * or a plain JS function carries no type to check.
 */
function checkCallbackType(expected: FunctionType, value: object, path: string, dm: DataModel): void {
  const signature = guarded(path, `${typeText({ kind: 'pointer', to: expected })} (an object whose 'signature' can be read)`, value,
    () => ('signature' in value ? (value as { signature?: unknown }).signature : undefined));
  if (!isFunctionType(signature)) return;
  const difference = functionTypeDifference(expected, signature, dm);
  if (difference) throw new FunctionPointerTypeError(path, typeText(expected), typeText(signature), difference, value);
}

function isFunctionType(v: unknown): v is FunctionType {
  if (typeof v !== 'object' || v === null) return false;
  const f = v as Partial<FunctionType>;
  return f.kind === 'function' && Array.isArray(f.params) && typeof f.result === 'object' && f.result !== null;
}

/** The guest address a pointer argument carries; copies strings, buffers and objects into the copy area. */
function pointerValue(type: CType & { kind: 'pointer' }, value: unknown, path: string, w: Walk): number {
  const { dm, area } = w;
  if (value === null || value === undefined) return 0;
  if (typeof value === 'number' || typeof value === 'bigint') return guestAddress(value, type, path, dm);
  const asObject = typeof value === 'object' || typeof value === 'function';
  if (asObject && type.to.kind !== 'function' && guarded(path, `${typeText(type)} (an object whose 'movable' can be read)`, value, () => isMovable(value))) {
    const m = value as MovableObject;
    if (!area) throw new ValueError(path, `${typeText(type)} (a guest address; copies need a call frame)`, value);
    const bytes = guarded(path, `${typeText(type)} (a movable object whose contents() works)`, value, () => m.contents());
    if (!(bytes instanceof Uint8Array)) throw new ValueError(path, `${typeText(type)} (a movable object whose contents() returns a Uint8Array)`, value);
    const copy = viewBytes(bytes, path, `${typeText(type)}: contents()`).slice();
    checkCopySize(copy.length, type, path, value);
    const address = area.place(copy, 16);
    if (!type.isConst) {
      area.afterCall(() => guarded(path, `${typeText(type)}: a movable object whose update() works (the C function has run)`, value,
        () => m.update(area.read(address, copy.length))));
    }
    return address;
  }
  if (type.to.kind === 'function' && typeof value === 'object') checkCallbackType(type.to, value, path, dm);
  if (typeof value === 'object' && !ArrayBuffer.isView(value)
    && guarded(path, `${typeText(type)} (an object whose 'address' can be read)`, value, () => 'address' in value && typeof (value as GuestPointerLike).address === 'number')) {
    return guestAddress(guarded(path, `${typeText(type)} (an object whose 'address' can be read)`, value, () => (value as GuestPointerLike).address), type, `${path}.address`, dm);
  }
  if (type.to.kind === 'function') {
    if (typeof value === 'function' && area?.functionPointer) return area.functionPointer(value, type.to, path);
    throw new ValueError(path, `${typeText(type)} (a callback, a guest address or null)`, value);
  }
  if (!area) throw new ValueError(path, `${typeText(type)} (a guest address; copies need a call frame)`, value);
  const pointee = type.to;
  if (typeof value === 'string') {
    // Each UTF-16 unit becomes at least a byte: a longer string is refused before it is encoded.
    checkCopySize(value.length + 1, type, path, value);
    if (pointee.kind === 'scalar' && pointee.name === 'wchar_t') return area.place(encodeWide(value, dm), dm.scalars.wchar_t.size);
    if (pointee.kind === 'scalar' && dm.scalars[pointee.name].size === 1 || pointee.kind === 'void') {
      const utf8 = new TextEncoder().encode(value);
      const bytes = new Uint8Array(utf8.length + 1);
      bytes.set(utf8);
      return area.place(bytes, 1);
    }
    throw new ValueError(path, `${typeText(type)}: a string converts only to char * or wchar_t *`, value);
  }
  if (ArrayBuffer.isView(value)) {
    const src = viewBytes(value, path, `${typeText(type)}: a typed array`);
    // Elements are numbers in the host's byte order: each is copied in the guest's (big-endian PowerPC).
    const element = value instanceof DataView ? 1 : (value as unknown as { BYTES_PER_ELEMENT: number }).BYTES_PER_ELEMENT;
    const pointeeSize = pointee.kind === 'scalar' || pointee.kind === 'enum' || pointee.kind === 'pointer' ? layoutOf(pointee, dm).size : 0;
    if (element > 1 && pointeeSize > 1 && element !== pointeeSize) {
      throw new ValueError(path, `${typeText(type)}: a typed array of ${pointeeSize}-byte elements (a ${value.constructor.name} has ${element}-byte ones)`, value);
    }
    const swap = element > 1 && dm.endian === 'big';
    const address = area.place(swap ? reverseElements(src, element) : src.slice(), 16);
    // Copy back so the callee's writes reach the caller's buffer (out-parameters).
    if (!type.isConst) {
      const length = src.length;
      area.afterCall(() => {
        // A call-back may have transferred the buffer meanwhile: say so rather than throw a TypeError.
        if (src.length !== length) throw new ValueError(path, `${typeText(type)}: a typed array that stays attached until the call returns (its buffer was detached or shrunk during the call, so the C function's writes could not be copied back)`, value);
        const back = area.read(address, length);
        src.set(swap ? reverseElements(back, element) : back);
      });
    }
    return address;
  }
  if (typeof value === 'object') return copyBehindPointer(type, value, path, w, area);
  throw new ValueError(path, `${typeText(type)} (a guest address, null, a string, a typed array or an object)`, value);
}

/** A copy of `bytes` with each `size`-byte element's bytes reversed (host little-endian <-> guest big-endian). */
function reverseElements(bytes: Uint8Array, size: number): Uint8Array {
  const out = new Uint8Array(bytes.length);
  for (let e = 0; e + size <= bytes.length; e += size) for (let k = 0; k < size; k++) out[e + k] = bytes[e + size - 1 - k];
  return out;
}

function checkCopySize(bytes: number, type: CType, path: string, value: unknown): void {
  if (bytes > VALUE_LIMITS.bytes) throw new ValueError(path, `${typeText(type)} (a copy of at most ${VALUE_LIMITS.bytes} bytes; this one would have ${bytes})`, value);
}

/**
 * An object (a struct) or an array (of the pointee type) behind a pointer: marshalled into a
 * copy, read back after the call unless the pointee is const. Everything that could stop
 * the copy-back (a frozen object, a read-only element) is checked now, before the C function
 * runs: afterwards its effects could only be reported, not undone.
 */
function copyBehindPointer(type: CType & { kind: 'pointer' }, value: object, path: string, w: Walk, area: CopyArea): number {
  const { dm } = w;
  const pointee = type.to;
  const isArray = guarded(path, `${typeText(type)} (an object or array that can be read)`, value, () => Array.isArray(value));
  // A plain object stands for one struct or union; anything else behind a pointer is an array
  // of it (an object for an `int *` would otherwise be encoded as if it were the int).
  if (!isArray && pointee.kind !== 'struct' && pointee.kind !== 'union') {
    throw new ValueError(path, `${typeText(type)} (an array of ${typeText(pointee)}, a typed array, a string, a guest address or null, not an object)`, value);
  }
  let el: TypeLayout;
  try {
    el = layoutOf(pointee, dm);
  } catch (e) {
    if (!(e instanceof LayoutError)) throw e;
    throw new ValueError(path, `${typeText(type)}: a guest address or null (${e.message}: nothing to copy a JS value into)`, value, { cause: e });
  }
  const visiting = (w.visiting ??= new Map());
  const seen = visiting.get(value);
  if (seen !== undefined) {
    throw new ValueError(path, `${typeText(type)}: an object graph without cycles (this object is also ${seen}, which points to it again; build cyclic data in guest memory)`, value);
  }
  if (visiting.size >= VALUE_LIMITS.pointeeDepth) {
    throw new ValueError(path, `${typeText(type)}: at most ${VALUE_LIMITS.pointeeDepth} levels of objects behind pointers (build longer lists in guest memory with sb.alloc and sb.write)`, value);
  }
  // Sizes before items: `a.length = 2 ** 32 - 1` makes an array that is cheap to make and slow to read.
  const count = isArray ? guarded(path, `${typeText(type)} (an array whose length can be read)`, value, () => (value as unknown[]).length) : 1;
  if (count > VALUE_LIMITS.elements) throw new ValueError(path, `${typeText(type)} (an array of at most ${VALUE_LIMITS.elements} elements; use a typed array for more)`, value);
  checkCopySize(el.size * count, type, path, value);
  const items = isArray ? itemsOf(value, path, `${typeText(type)} (an array that can be read)`, count) : [value];
  if (!items) throw new ValueError(path, `${typeText(type)} (an array whose length stays ${count} while it is read)`, value);
  const bytes = new Uint8Array(Math.max(1, el.size * items.length));
  const dv = new DataView(bytes.buffer);
  visiting.set(value, path);
  try {
    items.forEach((item, i) => encode(pointee, item, dv, i * el.size, isArray ? `${path}[${i}]` : `(*${path})`, w));
  } finally {
    visiting.delete(value);
  }
  const address = area.place(bytes, Math.max(el.align, 8));
  if (type.isConst) return address;
  // The slots the copy-back assigns: each element, or each field (a union's one member) given.
  const keys = isArray ? [] : pointee.kind === 'union' ? [...fieldValues(pointee as RecordType, value, path, el.fields ?? []).keys()]
    : (el.fields ?? []).map((f) => f.name);
  const blocked = guarded(path, `${typeText(type)} (an object whose properties can be inspected)`, value, () => {
    if (!isArray) return keys.find((k) => !assignable(value, k));
    // Numeric indices: a million index strings would cost five times the check itself.
    for (let i = 0; i < items.length; i++) if (!assignable(value, i)) return String(i);
    return undefined;
  });
  if (blocked !== undefined) {
    const at = isArray ? `${path}[${blocked}]` : `(*${path}).${blocked}`;
    const why = guarded(path, 'an object that can be inspected', value, () => Object.isFrozen(value)) ? 'it is frozen' : `'${blocked}' is read-only`;
    throw new ValueError(at, `a writable ${isArray ? 'element' : 'field'}: ${typeText(type)} is not const, so what the C function writes there is copied back, and ${why} (declare the pointer const, or pass a copy)`, value);
  }
  area.afterCall(() => {
    const back = area.read(address, bytes.length);
    const before = new DataView(bytes.buffer);
    const after = new DataView(back.buffer);
    guarded(path, `${typeText(type)}: an object that takes the copy-back (the C function has run)`, value, () => {
      // A scalar (the common `int *` out-parameter, maybe of a million elements) is what C left.
      const leaf = pointee.kind === 'scalar' || pointee.kind === 'enum';
      items.forEach((item, i) => {
        const now = decodeValue(pointee, after, i * el.size, { dm });
        const fresh = leaf ? now : copiedBack(pointee, item, decodeValue(pointee, before, i * el.size, { dm }), now);
        if (isArray) (value as unknown[])[i] = fresh;
        else if (fresh !== null && typeof fresh === 'object') {
          for (const k of keys) (value as Record<string, unknown>)[k] = (fresh as Record<string, unknown>)[k];
        }
      });
    });
  });
  return address;
}

/**
 * What a copy-back stores for one slot: the value the C function left there, except that a
 * pointer it did not change keeps the JS value given for it (null, an address, or the string,
 * typed array or object that was copied and updated by its own copy-back: the copy's address
 * is dead once the call returns). A union keeps only the member it was given.
 */
function copiedBack(t: CType, given: unknown, was: JsValue, now: JsValue): unknown {
  switch (t.kind) {
    case 'pointer': return was === now ? given : now;
    case 'struct': case 'union': {
      if (!isPlainRecord(given) || !isPlainRecord(was) || !isPlainRecord(now)) return now;
      const out: { [k: string]: unknown } = {};
      for (const f of t.fields) {
        if (!Object.hasOwn(now, f.name) || (t.kind === 'union' && !Object.hasOwn(given, f.name))) continue;
        const v = copiedBack(f.type, given[f.name], (was as Record<string, JsValue>)[f.name], (now as Record<string, JsValue>)[f.name]);
        Object.defineProperty(out, f.name, { value: v, enumerable: true, writable: true, configurable: true });
      }
      return out;
    }
    case 'array':
      if (!Array.isArray(given) || !Array.isArray(was) || !Array.isArray(now)) return now;
      return now.map((x, i) => copiedBack(t.element, given[i], was[i], x));
    default:
      return now;
  }
}

function isPlainRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && !ArrayBuffer.isView(v);
}

/**
 * A NUL-terminated wide string in the target's byte order: UTF-32 where wchar_t is 4 bytes
 * (Linux), UTF-16 code units where it is 2 (Windows: a JS string's own units, surrogate pairs
 * included).
 */
export function encodeWide(s: string, dm: DataModel): Uint8Array {
  const le = dm.endian === 'little';
  if (dm.scalars.wchar_t.size === 2) {
    const bytes = new Uint8Array((s.length + 1) * 2);
    const dv = new DataView(bytes.buffer);
    for (let i = 0; i < s.length; i++) dv.setUint16(i * 2, s.charCodeAt(i), le);
    return bytes;
  }
  const cps = [...s].map((c) => c.codePointAt(0)!);
  const bytes = new Uint8Array((cps.length + 1) * 4);
  const dv = new DataView(bytes.buffer);
  cps.forEach((cp, i) => dv.setUint32(i * 4, cp, le));
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
      return info.bytes >= 8 ? n : Number(n);
    }
    case 'pointer': {
      // Above 2^53 (a 64-bit (void *)-1, garbage in a struct) a number would be rounded: a BigInt is exact.
      const p = readInt(dv, off, { bytes: dm.pointerSize, signed: false }, le);
      return p <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(p) : p;
    }
    case 'scalar': {
      const name = type.name;
      if (name === 'float') return dv.getFloat32(off, le);
      if (name === 'double') return dv.getFloat64(off, le);
      if (name === 'long double') return decodeLongDouble(dv, off, dm);
      if (name === '_Bool') return dv.getUint8(off) !== 0;
      const info = intInfo(name, dm)!;
      const n = readInt(dv, off, info, le);
      return info.bytes >= 8 ? n : Number(n);
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
  const bytes = new Uint8Array(Math.max(checkValueSize(type, value, path, opts.dm), 0));
  encode(type, value, new DataView(bytes.buffer), 0, path, walkOf(opts));
  return bytes;
}

export function decodeBytes(type: CType, bytes: Uint8Array, opts: DecodeOptions): JsValue {
  return decodeValue(type, new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), 0, opts);
}
