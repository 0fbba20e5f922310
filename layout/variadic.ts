// Variadic arguments. Nothing about them is guessed: a call-out names the C type of each
// value passed for '...', and a call-back reads each one with the type it names.
//
// The one rule both sides share is C's default argument promotions (C11 6.5.2.2p6-7): a
// float always arrives as a double, and char, short and _Bool as an int, so no variadic
// argument has such a type and naming one is refused.
import type { CType, Signature } from '../ctypes/ctypes.ts';
import { ValueError } from './values.ts';
import { SignatureError } from '../ctypes/parse.ts';
import { typeText } from '../ctypes/type-text.ts';

/** What default argument promotions make of a scalar type that never arrives through '...' as itself. */
export function promotedAs(t: CType): 'int' | 'double' | undefined {
  if (t.kind !== 'scalar') return undefined;
  if (t.name === 'float') return 'double';
  const small = ['char', 'signed char', 'unsigned char', 'short', 'unsigned short', '_Bool'];
  return small.includes(t.name) ? 'int' : undefined;
}

/**
 * Why no variadic argument can have type `t`, as the "expected ..." of a ValueError, or
 * undefined when it can: promoted away (float, char, short, _Bool...), or not a type
 * an argument has (void, a function, an array, an incomplete struct).
 */
export function variadicTypeProblem(t: CType): string | undefined {
  const as = promotedAs(t);
  if (as) return `a type that default argument promotions pass (${typeText(t)} arrives as ${as}: use '${as}')`;
  switch (t.kind) {
    case 'void': return 'a type with values (void has none)';
    case 'function': return `a pointer type (a function is passed as a pointer: use '${typeText({ kind: 'pointer', to: t })}')`;
    case 'array': return `a pointer type (an array is passed as a pointer to its first element: use '${typeText({ kind: 'pointer', to: t.element })}')`;
    case 'struct': case 'union':
      return t.incomplete ? `a complete type ('${t.kind} ${t.tag ?? '<anonymous>'}' is incomplete: declare its members first)` : undefined;
    default: return undefined;
  }
}

/**
 * A variadic argument of a call-out without a usable C type before it. `index` is its
 * 1-based position among the variadic arguments, `argument` the 0-based index of its
 * type string in the call's arguments.
 */
export class VariadicArgumentError extends ValueError {
  constructor(path: string, expected: string, got: unknown, readonly index: number, readonly argument: number, missing = false) {
    super(path, expected, got);
    this.name = 'VariadicArgumentError';
    if (missing) this.message = `${path}: expected ${expected}, got nothing`;
  }
}

/** How a variadic call is written, for messages: `sum_ints(n, 'int', 5, 'double', 2.5)`. */
export function typedCallExample(signature: Signature): string {
  const fixed = signature.params.map((p, i) => p.name ?? `arg${i + 1}`);
  return `${signature.name ?? 'f'}(${[...fixed, "'int', 5, 'double', 2.5, 'const char *', 'hi'"].join(', ')})`;
}

/**
 * Splits the arguments of a call written in the typed form, where after the fixed
 * arguments each variadic value is preceded by its C type as a string:
 * `printf_like(fmt, 'int', 5, 'double', 2.5, 'const char *', 'hi')`.
 * Returns the values and the parsed types; anything untyped is a VariadicArgumentError.
 * Fewer arguments than fixed parameters are left for the call's own count check.
 */
export function splitTypedVarargs(signature: Signature, args: readonly unknown[], parseType: (text: string) => CType): { args: unknown[]; types: string[]; parsed: CType[] } {
  const fixed = signature.params.length;
  if (args.length <= fixed) return { args: [...args], types: [], parsed: [] };
  const values = args.slice(0, fixed);
  const types: string[] = [];
  const parsed: CType[] = [];
  const how = `each value passed for '...' to follow its C type as a string, as in ${typedCallExample(signature)}`;
  for (let i = fixed; i < args.length; i += 2) {
    const index = (i - fixed) / 2 + 1;
    const path = `variadic argument ${index} of ${signature.text} (argument ${i + 1} of the call)`;
    const spelled = args[i];
    if (typeof spelled !== 'string') throw new VariadicArgumentError(path, `its C type as a string here: ${how}`, spelled, index, i);
    let t: CType;
    try {
      t = parseType(spelled);
    } catch (e) {
      if (!(e instanceof SignatureError)) throw e;
      throw new VariadicArgumentError(path, `its C type as a string here (${e.reason}): ${how}`, spelled, index, i);
    }
    const problem = variadicTypeProblem(t);
    if (problem) throw new VariadicArgumentError(path, problem, spelled, index, i);
    if (i + 1 >= args.length) throw new VariadicArgumentError(path, `a value after its type '${spelled}': ${how}`, undefined, index, i, true);
    types.push(spelled);
    parsed.push(t);
    values.push(args[i + 1]);
  }
  return { args: values, types, parsed };
}
