// Sizes, alignments and member offsets of C types on a target, computed the
// way GCC lays out structs (C11 6.7.2.1, the psABIs' "Aggregates and Unions"
// sections, and GCC's packed/aligned attributes). Checked field by field
// against the cross compilers: tests/layout-truth/ and tests/layout.test.ts.

import { AbiscopeError } from '../errors.ts';
import type { DataModel } from './datamodel.ts';
import type { CType, EnumType, PointerType, RecordType, ScalarName, ScalarType } from '../ctypes/ctypes.ts';
import { isInt128 } from '../ctypes/ctypes.ts';
import { formatType, isPowerOfTwo, PARSE_LIMITS } from '../ctypes/parse.ts';

/**
 * The largest object a target has: GCC refuses larger types ("size of array is too large",
 * "type is too large"): PTRDIFF_MAX, 2^31 - 1 on the 32-bit targets; on 64-bit ones 2^63 - 1,
 * of which abiscope computes sizes exactly up to 2^53 - 1 (a JS number).
 */
export function maxObjectSize(dm: DataModel): number {
  return dm.pointerSize === 8 ? Number.MAX_SAFE_INTEGER : 2 ** 31 - 1;
}

/**
 * How deep layout recurses into a type. Parsed types are at most PARSE_LIMITS.depth deep;
 * a CType built by hand may be deeper, or contain itself: both are LayoutErrors, never a
 * JS stack overflow.
 */
const MAX_LAYOUT_DEPTH = PARSE_LIMITS.depth * 2;

export class LayoutError extends AbiscopeError {
  // string, not the literal: subclasses (layout/query.ts LayoutQueryError) name themselves.
  override readonly name: string = 'LayoutError';
  /** The type whose layout was asked for or contains the problem, e.g. 'struct S'. */
  readonly typeName: string;
  /** Path of the offending member from that type, e.g. 'inner.x', if a member is at fault. */
  readonly field?: string;
  /** The message without the type and field. */
  readonly reason: string;

  constructor(typeName: string, field: string | undefined, reason: string) {
    super(field !== undefined ? `${typeName}: field '${field}': ${reason}` : `${typeName}: ${reason}`);
    this.typeName = typeName;
    if (field !== undefined) this.field = field;
    this.reason = reason;
  }
}

export interface FieldLayout {
  /** '' for an anonymous struct/union member */
  name: string;
  type: CType;
  offset: number;
  size: number;
  /** The alignment the field got: its type's, raised by aligned(N), lowered to 1 by packed. */
  align: number;
}

export interface TypeLayout {
  size: number;
  align: number;
  /** Records only, in declaration order (all at offset 0 in a union). */
  fields?: FieldLayout[];
}

export interface ScalarLeaf {
  offset: number;
  type: ScalarType | PointerType | EnumType;
  size: number;
}

/**
 * Memoizes layouts for one data model. Keys are the type objects, which the
 * parser never changes once complete (an incomplete struct has no layout, so
 * it is never cached before it is completed).
 */
export class LayoutCache {
  private readonly cache = new WeakMap<CType, TypeLayout>();
  /** Types being laid out now, outermost first: one met again contains itself. */
  private readonly active: CType[] = [];
  private readonly maxSize: number;

  constructor(readonly dm: DataModel) {
    this.maxSize = maxObjectSize(dm);
  }

  layoutOf(type: CType): TypeLayout {
    let l = this.cache.get(type);
    if (!l) {
      if (this.active.includes(type)) throw new LayoutError(typeName(type), undefined, 'the type contains itself (by value, not through a pointer)');
      if (this.active.length >= MAX_LAYOUT_DEPTH) {
        throw new LayoutError(typeName(this.active[0]), undefined, `the type is nested more than ${MAX_LAYOUT_DEPTH} levels deep`);
      }
      this.active.push(type);
      try {
        l = this.compute(type);
      } finally {
        this.active.pop();
      }
      this.cache.set(type, l);
    }
    return l;
  }

  /** A size beyond the target's largest object, refused as GCC refuses it (and before it is rounded). */
  private checkSize(size: number, type: string, field: string | undefined): void {
    if (!(size <= this.maxSize)) {
      const limit = this.maxSize === Number.MAX_SAFE_INTEGER ? `${this.maxSize} (2^53 - 1), the largest size abiscope computes exactly`
        : `${this.maxSize}, the largest object on a ${this.dm.pointerSize * 8}-bit target`;
      throw new LayoutError(type, field, `size ${Number.isSafeInteger(size) ? size : `about ${size}`} bytes exceeds ${limit}`);
    }
  }

  private compute(type: CType): TypeLayout {
    const dm = this.dm;
    switch (type.kind) {
      case 'scalar': {
        const l = Object.hasOwn(dm.scalars, type.name) ? dm.scalars[type.name] : undefined;
        if (!l) throw new LayoutError(String(type.name), undefined, 'not a scalar type name');
        if (isInt128(type) && !dm.int128) {
          throw new LayoutError(type.name, undefined, `not available on ${dm.name}: abiscope has 128-bit integers on x86_64 and aarch64 only (GCC has none on 32-bit targets)`);
        }
        return frozen(l);
      }
      case 'pointer': return frozen({ size: dm.pointerSize, align: dm.pointerSize });
      case 'enum': return frozen(dm.scalars[enumScalar(type)]);
      case 'array': {
        if (!Number.isSafeInteger(type.length) || type.length < 0) {
          throw new LayoutError(typeName(type), undefined, `invalid array length ${type.length}`);
        }
        const el = this.layoutOf(type.element);
        // The product is checked before it is used: past 2^53 a JS number is rounded.
        this.checkSize(el.size * type.length, typeName(type), undefined);
        return frozen({ size: el.size * type.length, align: el.align });
      }
      case 'struct': case 'union': return this.record(type);
      case 'void': throw new LayoutError('void', undefined, 'void has no size');
      case 'function': throw new LayoutError(typeName(type), undefined, 'a function has no size (use a pointer to it)');
    }
  }

  private record(r: RecordType): TypeLayout {
    const name = typeName(r);
    if (r.incomplete) throw new LayoutError(name, undefined, 'incomplete type (declared but never defined)');
    if (r.alignAttr !== undefined) checkAlign(r.alignAttr, name, undefined);
    const fields: FieldLayout[] = [];
    let end = 0;
    let align = 1;
    for (const f of r.fields) {
      let fl: TypeLayout;
      try {
        if (f.type.kind === 'void') throw new LayoutError('void', undefined, 'incomplete type void');
        fl = this.layoutOf(f.type);
      } catch (e) {
        if (!(e instanceof LayoutError)) throw e;
        // Report the outermost type with the full member path.
        const path = [f.name || '<anonymous>', ...(e.field !== undefined ? [e.field] : [])].join('.');
        throw new LayoutError(name, path, e.reason);
      }
      if (f.alignAttr !== undefined) checkAlign(f.alignAttr, name, f.name);
      // GCC: packed (on the record or the field) drops the member's alignment to 1,
      // unless the member has its own aligned(N), which then sets it; without
      // packed, aligned(N) on a member can only raise its alignment.
      const fa = r.packed || f.packed ? f.alignAttr ?? 1 : Math.max(fl.align, f.alignAttr ?? 1);
      const offset = r.kind === 'struct' ? roundUp(end, fa) : 0;
      this.checkSize(offset + fl.size, name, f.name || '<anonymous>');
      end = Math.max(end, offset + fl.size);
      align = Math.max(align, fa);
      fields.push(Object.freeze({ name: f.name, type: f.type, offset, size: fl.size, align: fa }));
    }
    // aligned(N) on the record only raises its alignment. (With packed as well it can end up below
    // the members' natural alignment, but then the members are already 1-aligned.)
    if (r.alignAttr !== undefined) align = Math.max(align, r.alignAttr);
    // Trailing padding: arrays of the record keep every element aligned. An empty struct has size 0 in GNU C.
    const size = roundUp(end, align);
    this.checkSize(size, name, undefined);
    return Object.freeze({ size, align, fields: Object.freeze(fields) as FieldLayout[] });
  }

  flattenScalars(type: CType): ScalarLeaf[] {
    const out: ScalarLeaf[] = [];
    const walk = (t: CType, base: number): void => {
      switch (t.kind) {
        case 'scalar': case 'pointer': case 'enum':
          out.push({ offset: base, type: t, size: this.layoutOf(t).size });
          return;
        case 'array': {
          const el = this.layoutOf(t.element).size;
          for (let i = 0; i < t.length; i++) walk(t.element, base + i * el);
          return;
        }
        case 'struct': case 'union':
          for (const f of this.layoutOf(t).fields!) walk(f.type, base + f.offset);
          return;
        case 'void': case 'function':
          this.layoutOf(t); // throws the LayoutError
      }
    };
    walk(type, 0);
    return out;
  }
}

/** Layout of a type on a target (recomputed per call; use a LayoutCache to keep results). */
/**
 * One memo per data model, shared: a layout is a pure function of a complete type, and the
 * values code asks for the same few on every call.
 */
const SHARED = new WeakMap<DataModel, LayoutCache>();

export function layoutOf(type: CType, dm: DataModel): TypeLayout {
  let cache = SHARED.get(dm);
  if (!cache) SHARED.set(dm, (cache = new LayoutCache(dm)));
  return cache.layoutOf(type);
}

export function sizeOf(type: CType, dm: DataModel): number {
  return layoutOf(type, dm).size;
}

export function alignOf(type: CType, dm: DataModel): number {
  return layoutOf(type, dm).align;
}

/**
 * Every scalar, pointer and enum leaf of a type with its byte offset, in
 * declaration order: arrays expanded, nested records entered, and all
 * members of a union listed (so leaves of a union overlap), which is what
 * the psABI classifiers look at.
 */
export function flattenScalars(type: CType, dm: DataModel): ScalarLeaf[] {
  return new LayoutCache(dm).flattenScalars(type);
}

/**
 * offsetof(type, designator): 'a', 'inner.x', 'arr[3]', 'm[1][2].y'. Members
 * of anonymous struct/union members are found as if they were the parent's,
 * as in C.
 */
export function offsetOf(type: RecordType, designator: string, dm: DataModel): number {
  const cache = new LayoutCache(dm);
  const name = typeName(type);
  const parts = designator.match(/[A-Za-z_][A-Za-z0-9_]*|\[\s*\d+\s*\]|\./g) ?? [];
  if (parts.join('') !== designator.replace(/\s+/g, '') || parts.length === 0) {
    throw new LayoutError(name, designator, 'invalid member designator');
  }
  let t: CType = type;
  let offset = 0;
  for (const p of parts) {
    if (p === '.') continue;
    if (p.startsWith('[')) {
      if (t.kind !== 'array') throw new LayoutError(name, designator, 'subscript of a non-array');
      const i = Number(p.slice(1, -1));
      offset += i * cache.layoutOf(t.element).size;
      t = t.element;
      continue;
    }
    if (t.kind !== 'struct' && t.kind !== 'union') throw new LayoutError(name, designator, `'${p}' is not in a struct or union`);
    const found = findMember(t, p, cache);
    if (!found) throw new LayoutError(name, designator, `no member named '${p}'`);
    offset += found.offset;
    t = found.type;
  }
  return offset;
}

/** A member by name, looking into anonymous members (C11 6.7.2.1p13). */
function findMember(r: RecordType, member: string, cache: LayoutCache): { offset: number; type: CType } | undefined {
  for (const f of cache.layoutOf(r).fields!) {
    if (f.name === member) return { offset: f.offset, type: f.type };
    if (f.name === '' && (f.type.kind === 'struct' || f.type.kind === 'union')) {
      const inner = findMember(f.type, member, cache);
      if (inner) return { offset: f.offset + inner.offset, type: inner.type };
    }
  }
  return undefined;
}

/**
 * The integer type GCC gives an enum (without -fshort-enums, the default on
 * all five targets): unsigned int if no value is negative, else int; a wider
 * type only when the values do not fit 32 bits (a GNU extension).
 */
export function enumScalar(e: EnumType): ScalarName {
  // A loop, not Math.min(...values): spreading 100,000 values overflows the JS stack.
  let min = 0;
  let max = 0;
  for (const m of e.members) {
    if (m.value < min) min = m.value;
    if (m.value > max) max = m.value;
  }
  if (min >= 0) return max <= 0xffff_ffff ? 'unsigned int' : 'unsigned long long';
  return min >= -0x8000_0000 && max <= 0x7fff_ffff ? 'int' : 'long long';
}

function typeName(t: CType): string {
  if (t.kind === 'struct' || t.kind === 'union') return `${t.kind} ${t.tag ?? '<anonymous>'}`;
  if (t.kind === 'enum') return `enum ${t.tag ?? '<anonymous>'}`;
  return formatType(t);
}

function checkAlign(n: number, type: string, field: string | undefined): void {
  if (!isPowerOfTwo(n)) {
    throw new LayoutError(type, field, `alignment ${n} is not a positive power of 2`);
  }
}

function roundUp(n: number, align: number): number {
  return Math.ceil(n / align) * align;
}

function frozen(l: TypeLayout): TypeLayout {
  return Object.isFrozen(l) ? l : Object.freeze({ ...l });
}
