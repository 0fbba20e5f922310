// Whether a call-back's prototype is the function type a function-pointer parameter expects,
// and if not, the first difference in words. C's rule (compatible types, C11 6.7.6.3p15) with
// what abiscope's types carry: parameter names never matter; scalars by their type (not their
// spelling: uint32_t is unsigned int); struct, union and enum types by identity, or else by tag
// and layout, since a prototype's own declarations and the sandbox's make distinct objects for
// one C type.
import type { CType, FunctionType } from '../ctypes/ctypes.ts';
import { typeText } from '../ctypes/type-text.ts';
import type { DataModel } from './datamodel.ts';
import { layoutOf } from './layout.ts';

/** The first difference between the function type expected and a call-back's, or undefined if they are the same type. */
export function functionTypeDifference(expected: FunctionType, actual: FunctionType, dm: DataModel): string | undefined {
  const n = (k: number) => `${k} parameter${k === 1 ? '' : 's'}`;
  if (expected.params.length !== actual.params.length) {
    return `the pointer's function type has ${n(expected.params.length)}, the call-back's ${n(actual.params.length)}`;
  }
  if (expected.variadic !== actual.variadic) {
    return expected.variadic ? "the pointer's function type is variadic (...), the call-back's is not" : "the call-back's function type is variadic (...), the pointer's is not";
  }
  for (let i = 0; i < expected.params.length; i++) {
    const e = expected.params[i].type;
    const a = actual.params[i].type;
    if (!sameType(e, a, dm, 0)) return `parameter ${i + 1} is ${typeText(e)} in the pointer's function type, ${typeText(a)} in the call-back's`;
  }
  if (!sameType(expected.result, actual.result, dm, 0)) {
    return `the result is ${typeText(expected.result)} in the pointer's function type, ${typeText(actual.result)} in the call-back's`;
  }
  return undefined;
}

/** Deep enough for any parsed type; a hand-made cyclic one (through pointers to functions) stops here. */
const MAX_DEPTH = 64;

function sameType(a: CType, b: CType, dm: DataModel, depth: number): boolean {
  if (a === b) return true;
  if (a.kind !== b.kind || depth > MAX_DEPTH) return false;
  switch (a.kind) {
    case 'void': return true;
    case 'scalar': return a.name === (b as typeof a).name;
    case 'pointer': {
      const p = b as typeof a;
      return (a.isConst ?? false) === (p.isConst ?? false) && sameType(a.to, p.to, dm, depth + 1);
    }
    case 'array': {
      const r = b as typeof a;
      return a.length === r.length && sameType(a.element, r.element, dm, depth + 1);
    }
    case 'function': return functionTypeDifference(a, b as typeof a, dm) === undefined;
    case 'enum': {
      const e = b as typeof a;
      return a.tag === e.tag && a.members.length === e.members.length && a.members.every((m, i) => m.name === e.members[i].name && m.value === e.members[i].value);
    }
    case 'struct': case 'union': {
      const r = b as typeof a;
      if (a.tag !== r.tag) return false;
      // One of them only declared (`struct S *` before its definition): the tag is all there is.
      if (a.incomplete || r.incomplete) return a.tag !== undefined;
      if (a.fields.length !== r.fields.length) return false;
      // Tag and layout: member names, offsets and sizes, not member types (a struct may point to itself).
      const la = layoutOf(a, dm);
      const lb = layoutOf(r, dm);
      return la.size === lb.size && la.align === lb.align
        && la.fields!.every((f, i) => f.name === lb.fields![i].name && f.offset === lb.fields![i].offset && f.size === lb.fields![i].size);
    }
  }
}
