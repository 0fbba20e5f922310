// Small helpers every calling convention needs before it applies its own rules:
// which arguments a call has (fixed ones plus the `...` ones, after C's default
// argument promotions), which types can be passed at all, and how a sub-word
// integer is widened. Nothing here knows a register or a stack slot.
import { AbiError } from './abi.ts';
import type { DataModel } from '../layout/datamodel.ts';
import type { CType, ScalarType, Signature } from '../ctypes/ctypes.ts';
import { enumScalar, LayoutError, type LayoutCache, type TypeLayout } from '../layout/layout.ts';

export const alignUp = (n: number, align: number): number => Math.ceil(n / align) * align;

/** The layout of a type, with layout problems reported as the convention's typed error (AbiError). */
export function layoutFor(abi: string, layouts: LayoutCache, type: CType, what: string): TypeLayout {
  try {
    return layouts.layoutOf(type);
  } catch (e) {
    if (e instanceof LayoutError) throw new AbiError(abi, `${what}: ${e.message}`);
    throw e;
  }
}

/** One argument of a call, as the convention sees it. */
export interface CallArg {
  index: number;
  /** The parameter's name, or `argN` (N = index). */
  name: string;
  /** For a variadic argument: the type after the default argument promotions. */
  type: CType;
  variadic: boolean;
  /** Set when a promotion changed the type, e.g. 'float -> double'. */
  promoted?: string;
}

/**
 * Checks that a value of `type` can be passed or returned by value: not void,
 * not a function, not an array (a parameter array has decayed to a pointer
 * already, so one arriving here is a mistake), not an incomplete struct.
 */
export function checkByValue(abi: string, type: CType, what: string): void {
  switch (type.kind) {
    case 'void':
      throw new AbiError(abi, `${what}: void cannot be passed by value`);
    case 'function':
      throw new AbiError(abi, `${what}: a function cannot be passed by value (pass a pointer to it)`);
    case 'array':
      throw new AbiError(abi, `${what}: an array cannot be passed or returned by value (C passes a pointer to its first element)`);
    case 'struct': case 'union':
      if (type.incomplete) {
        throw new AbiError(abi, `${what}: ${type.kind} ${type.tag ?? '<anonymous>'} is incomplete (declared but not defined)`);
      }
      return;
    default:
      return;
  }
}

const INT: ScalarType = Object.freeze({ kind: 'scalar', name: 'int' }) as ScalarType;
const DOUBLE: ScalarType = Object.freeze({ kind: 'scalar', name: 'double' }) as ScalarType;

/**
 * C11 6.5.2.2p6, the default argument promotions applied to arguments matched
 * by `...`: the integer promotions (_Bool, char, short and their unsigned
 * forms become int, which holds all their values on every target abiscope
 * knows) and float -> double. Everything else is unchanged.
 */
export function promoteVariadic(type: CType): { type: CType; promoted?: string } {
  if (type.kind !== 'scalar') return { type };
  switch (type.name) {
    case '_Bool': case 'char': case 'signed char': case 'unsigned char': case 'short': case 'unsigned short':
      return { type: INT, promoted: `${type.spelling ?? type.name} -> int` };
    case 'float':
      return { type: DOUBLE, promoted: `${type.spelling ?? type.name} -> double` };
    default:
      return { type };
  }
}

/** The arguments of one call: fixed parameters, then the variadic ones (promoted), each checked. */
export function callArgs(abi: string, signature: Signature, variadicArgs: CType[] = []): CallArg[] {
  if (variadicArgs.length > 0 && !signature.variadic) {
    throw new AbiError(abi, `${signature.text}: ${variadicArgs.length} variadic argument(s) given, but the function is not variadic`);
  }
  const out: CallArg[] = [];
  signature.params.forEach((p, index) => {
    const name = p.name || `arg${index}`;
    checkByValue(abi, p.type, `parameter ${index + 1} (${name})`);
    out.push({ index, name, type: p.type, variadic: false });
  });
  variadicArgs.forEach((t, i) => {
    const index = signature.params.length + i;
    const name = `arg${index}`;
    checkByValue(abi, t, `variadic argument ${i + 1} (${name})`);
    const { type, promoted } = promoteVariadic(t);
    out.push(promoted ? { index, name, type, variadic: true, promoted } : { index, name, type, variadic: true });
  });
  return out;
}

/**
 * How an integer-like value is widened when it sits in a wider register or
 * slot: by its signedness (plain char and wchar_t per the data model, an enum
 * per the type GCC gives it, pointers and _Bool zero-extended). Undefined for
 * floating types and aggregates, whose spare bytes carry no meaning.
 */
export function integerExtension(type: CType, dm: DataModel): 'sign' | 'zero' | undefined {
  switch (type.kind) {
    case 'pointer':
      return 'zero';
    case 'enum':
      return enumScalar(type).startsWith('unsigned') ? 'zero' : 'sign';
    case 'scalar':
      switch (type.name) {
        case 'float': case 'double': case 'long double': return undefined;
        case '_Bool': return 'zero';
        case 'char': return dm.charSigned ? 'sign' : 'zero';
        case 'wchar_t': return dm.wcharSigned ? 'sign' : 'zero';
        default: return type.name.startsWith('unsigned') ? 'zero' : 'sign';
      }
    default:
      return undefined;
  }
}

/**
 * A homogeneous aggregate (AAPCS 5.3.5, AAPCS64 5.9.5): every fundamental member of a struct,
 * union or array, nested ones looked through, is of one floating-point base type, and there is
 * no padding: the size is exactly count x the base type's size (GCC checks this too). A union
 * counts its largest member. `baseOf` says which scalars are base types and names them
 * (ARM: float and double; AArch64 adds long double as quad); `base` receives the one found
 * and its size. Returns the number of elements (0 for an empty composite), or undefined if
 * the type is not homogeneous.
 */
export function homogeneousElements<B extends string>(
  type: CType, layouts: LayoutCache, baseOf: (t: CType) => B | undefined, base: { t?: B; size?: number },
): number | undefined {
  const b = baseOf(type);
  if (b) {
    if (base.t && base.t !== b) return undefined;
    base.t = b;
    base.size = layouts.layoutOf(type).size;
    return 1;
  }
  let count: number;
  if (type.kind === 'array') {
    const sub = homogeneousElements(type.element, layouts, baseOf, base);
    if (sub === undefined) return undefined;
    count = sub * type.length;
  } else if (type.kind === 'struct' || type.kind === 'union') {
    count = 0;
    for (const f of type.fields) {
      const sub = homogeneousElements(f.type, layouts, baseOf, base);
      if (sub === undefined) return undefined;
      count = type.kind === 'struct' ? count + sub : Math.max(count, sub);
    }
  } else {
    return undefined;
  }
  if (count > 0 && layouts.layoutOf(type).size !== count * (base.size ?? 0)) return undefined;
  return count;
}
