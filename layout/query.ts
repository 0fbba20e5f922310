// sizeof, _Alignof and offsetof as a user asks them (sb.sizeof/alignof/offsetof, `abiscope
// layout`): the layouts of layout.ts, with errors that say which of the usual mistakes it was
// (a member that is not there, a member of something that is not a struct, an incomplete
// type), and the tree of a record's members that `abiscope layout` prints.
import type { CType, RecordType } from '../ctypes/ctypes.ts';
import { typeText } from '../ctypes/type-text.ts';
import type { DataModel } from './datamodel.ts';
import { layoutOf, LayoutError, type TypeLayout } from './layout.ts';

/** What a layout query got wrong. */
export type LayoutProblem =
  | 'incomplete' // `struct S;` never defined
  | 'no-size' // void, a function type
  | 'not-a-record' // offsetof of an int, or `a.b` where `a` is not a struct or union
  | 'no-member' // no member of that name
  | 'not-an-array' // `a[1]` where `a` is not an array
  | 'index-out-of-range' // `a[3]` of an `int a[3]`
  | 'invalid-designator'; // not `name`, `a.b`, `arr[2].x`...

/** A LayoutError of sizeof/alignof/offsetof, with `problem` saying which kind. */
export class LayoutQueryError extends LayoutError {
  override readonly name: string = 'LayoutQueryError';
  constructor(typeName: string, field: string | undefined, reason: string, readonly problem: LayoutProblem) {
    super(typeName, field, reason);
  }
}

/** A type's name in messages: 'struct S', 'int', 'struct {...}'. */
function nameOf(t: CType): string {
  return typeText(t);
}

/** The layout of a type that has one; an incomplete record, void or a function type is refused by name. */
function completeLayout(t: CType, dm: DataModel): TypeLayout {
  if ((t.kind === 'struct' || t.kind === 'union') && t.incomplete) {
    throw new LayoutQueryError(nameOf(t), undefined, `incomplete type: ${nameOf(t)} is declared but never defined, so it has no size (define its members first)`, 'incomplete');
  }
  if (t.kind === 'void') throw new LayoutQueryError('void', undefined, 'void has no size', 'no-size');
  if (t.kind === 'function') throw new LayoutQueryError(nameOf(t), undefined, 'a function type has no size (a pointer to it has)', 'no-size');
  return layoutOf(t, dm);
}

export function sizeofType(t: CType, dm: DataModel): number {
  return completeLayout(t, dm).size;
}

export function alignofType(t: CType, dm: DataModel): number {
  return completeLayout(t, dm).align;
}

/** A member reached by a designator, where it is in the outermost type. */
export interface MemberLayout {
  offset: number;
  type: CType;
  size: number;
  align: number;
}

type Step = { member: string } | { index: number };

/** 'a', 'a.b', 'arr[2].x', 'm[1][0]': a name first, then `.name` or `[n]` steps (spaces allowed around them). */
function designatorSteps(typeName: string, designator: string): Step[] {
  const bad = (why: string): never => {
    throw new LayoutQueryError(typeName, designator, `invalid member designator (${why}): expected a member name, then .member or [index] steps, e.g. 'a', 'inner.x', 'arr[2].y'`, 'invalid-designator');
  };
  if (typeof designator !== 'string') bad(`not a string but ${designator === null ? 'null' : typeof designator}`);
  const steps: Step[] = [];
  const re = /\s*(?:(\.)?\s*([A-Za-z_][A-Za-z0-9_]*)|\[\s*(\d+)\s*\])\s*/y;
  let at = 0;
  while (at < designator.length) {
    re.lastIndex = at;
    const m = re.exec(designator);
    if (!m || m[0].length === 0) bad(`unexpected '${designator.slice(at, at + 8)}'`);
    const [, dot, name, index] = m!;
    if (name !== undefined) {
      if (steps.length > 0 && !dot) bad(`'${name}' needs a '.' before it`);
      if (steps.length === 0 && dot) bad('it starts with a \'.\'');
      steps.push({ member: name });
    } else {
      if (steps.length === 0) bad('it starts with a subscript');
      const i = Number(index);
      if (!Number.isSafeInteger(i)) bad(`index ${index} is too large`);
      steps.push({ index: i });
    }
    at = re.lastIndex;
  }
  if (steps.length === 0) bad('it is empty');
  return steps;
}

/**
 * offsetof(type, designator) and what is there: members of anonymous struct/union members are
 * found as if they were the parent's (C11 6.7.2.1p13); an index must be below the array's
 * length, except in a flexible (zero-length) array member.
 */
export function memberAt(t: CType, designator: string, dm: DataModel): MemberLayout {
  const top = nameOf(t);
  if (t.kind !== 'struct' && t.kind !== 'union') {
    throw new LayoutQueryError(top, designator, `offsetof needs a struct or union type, and ${top} is not one`, 'not-a-record');
  }
  completeLayout(t, dm);
  let type: CType = t;
  let offset = 0;
  let path = '';
  for (const step of designatorSteps(top, designator)) {
    if ('member' in step) {
      if (type.kind !== 'struct' && type.kind !== 'union') {
        throw new LayoutQueryError(top, designator, `'${path}' is ${nameOf(type)}, not a struct or union: it has no member '${step.member}'`, 'not-a-record');
      }
      if (type.incomplete) throw new LayoutQueryError(top, designator, `'${path}' is ${nameOf(type)}, an incomplete type: it has no members`, 'incomplete');
      const found = findMember(type, step.member, dm);
      if (!found) {
        const names = memberNames(type, dm);
        const known = names.length ? `its members are ${names.map((n) => `'${n}'`).join(', ')}` : 'it has no members';
        throw new LayoutQueryError(top, designator, `${path ? `'${path}' (${nameOf(type)})` : nameOf(type)} has no member named '${step.member}': ${known}`, 'no-member');
      }
      offset += found.offset;
      type = found.type;
      path = path ? `${path}.${step.member}` : step.member;
    } else {
      if (type.kind !== 'array') {
        throw new LayoutQueryError(top, designator, `'${path}' is ${nameOf(type)}, not an array: it has no element [${step.index}]`, 'not-an-array');
      }
      if (type.length > 0 && step.index >= type.length) {
        throw new LayoutQueryError(top, designator, `index ${step.index} is out of range: '${path}' is ${nameOf(type)}, indexes 0 to ${type.length - 1}`, 'index-out-of-range');
      }
      offset += step.index * layoutOf(type.element, dm).size;
      type = type.element;
      path = `${path}[${step.index}]`;
    }
  }
  const l = type.kind === 'array' && type.length <= 0 ? { size: 0, align: layoutOf(type.element, dm).align } : completeLayout(type, dm);
  return { offset, type, size: l.size, align: l.align };
}

/** A member by name, looking into anonymous members; offsets from the start of `r`. */
function findMember(r: RecordType, member: string, dm: DataModel): { offset: number; type: CType } | undefined {
  for (const f of layoutOf(r, dm).fields!) {
    if (f.name === member) return { offset: f.offset, type: f.type };
    if (f.name === '' && (f.type.kind === 'struct' || f.type.kind === 'union')) {
      const inner = findMember(f.type, member, dm);
      if (inner) return { offset: f.offset + inner.offset, type: inner.type };
    }
  }
  return undefined;
}

/** The names a designator may use in `r` (those of anonymous members included). */
function memberNames(r: RecordType, dm: DataModel): string[] {
  return layoutOf(r, dm).fields!.flatMap((f) =>
    f.name === '' && (f.type.kind === 'struct' || f.type.kind === 'union') ? memberNames(f.type, dm) : [f.name]);
}

// ---------------------------------------------------------------------------
// The tree `abiscope layout` prints

/** One member (or the type itself) with offsets from the start of the outermost type. */
export interface LayoutNode {
  /** The member's name; '' for the type itself and for an anonymous struct/union member. */
  name: string;
  /** Its offsetof designator from the outermost type ('inner.x', 'arr[0].y'); '' for the type itself and anonymous members. */
  path: string;
  type: string;
  offset: number;
  size: number;
  align: number;
  /** Arrays: the number of elements and each one's size. */
  array?: { length: number; elementSize: number };
  /**
   * Records: their members; an array of records: the members of its first element (paths
   * 'arr[0].x'), the other elements repeat them every `array.elementSize` bytes.
   */
  fields?: LayoutNode[];
  /** Structs (and arrays of them: of the first element): the bytes between members and after the last one, offsets from the outermost type. */
  padding?: { offset: number; size: number }[];
}

/** The type and every member, nested, as the target lays them out. */
export function layoutTree(t: CType, dm: DataModel): LayoutNode {
  completeLayout(t, dm);
  return node(t, '', '', 0, layoutOf(t, dm).align, dm);
}

function node(t: CType, name: string, path: string, offset: number, align: number, dm: DataModel): LayoutNode {
  const l = layoutOf(t, dm);
  const n: LayoutNode = { name, path, type: typeText(t), offset, size: l.size, align };
  let element = t;
  let elementPath = path;
  if (t.kind === 'array') {
    n.array = { length: t.length, elementSize: layoutOf(t.element, dm).size };
    // Nested arrays down to the element: the members of m[0][0] stand for all of them.
    while (element.kind === 'array') {
      element = element.element;
      elementPath += '[0]';
    }
  }
  if (element.kind === 'struct' || element.kind === 'union') {
    const rl = layoutOf(element, dm);
    // An anonymous member's members are designated as the parent's (C11 6.7.2.1p13).
    const prefix = (f: string) => (f === '' ? elementPath : elementPath ? `${elementPath}.${f}` : f);
    n.fields = rl.fields!.map((f) => node(f.type, f.name, prefix(f.name), offset + f.offset, f.align, dm));
    if (element.kind === 'struct') {
      const padding: { offset: number; size: number }[] = [];
      let end = 0;
      for (const f of rl.fields!) {
        if (f.offset > end) padding.push({ offset: offset + end, size: f.offset - end });
        end = Math.max(end, f.offset + f.size);
      }
      if (rl.size > end) padding.push({ offset: offset + end, size: rl.size - end });
      if (padding.length) n.padding = padding;
    }
  }
  return n;
}
