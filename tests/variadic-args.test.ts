// Variadic call-outs name the C type of each value passed for '...': nothing is guessed
// from the JS value. The typed form (each value after its type as a string) in every way
// of calling, the explicit-types form of callWithRecord and plan, and every way of getting
// it wrong, on every convention against the GCC-compiled variadic.o.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Sandbox, type ForeignFunction } from '../sandbox/sandbox.ts';
import { HAND_FIXTURE_DIRS, HAND_FIXTURE_ABIS, fixtureObjects, fixtureTypes } from '../sandbox/fixtures.ts';
import { ValueError, type JsValue } from '../layout/values.ts';
import { CallbackError, type VarArgs } from '../sandbox/callback.ts';
import { VariadicArgumentError, promotedAs, splitTypedVarargs, variadicTypeProblem } from '../layout/variadic.ts';
import { parseSignature, parseType } from '../ctypes/parse.ts';
import { VariadicArgumentError as Exported, ValueError as ExportedValueError } from '../index.ts';

const TARGETS = HAND_FIXTURE_ABIS.flatMap((abi) => HAND_FIXTURE_DIRS[abi].map((dir) => ({ abi, dir })));

/** The error thrown by f, which must be one. */
function thrown(f: () => unknown): Error {
  try {
    f();
  } catch (e) {
    if (e instanceof Error) return e;
    throw e;
  }
  throw new Error('expected an exception');
}

describe('the shared rule: what default argument promotions never pass', () => {
  it('float arrives as double; char, short and _Bool (any signedness) as int; the rest as themselves', () => {
    const as = (t: string) => promotedAs(parseType(t));
    expect(['float'].map(as)).toEqual(['double']);
    expect(['char', 'signed char', 'unsigned char', 'short', 'unsigned short', '_Bool', 'bool', 'uint8_t', 'int16_t'].map(as))
      .toEqual(Array(9).fill('int'));
    expect(['int', 'unsigned', 'long', 'long long', 'double', 'long double', 'wchar_t', 'char *', 'float *', 'enum { A }', 'struct { char c; }']
      .map(as)).toEqual(Array(11).fill(undefined));
  });

  it('names what to use instead, for types no argument has too', () => {
    expect(variadicTypeProblem(parseType('float'))).toBe("a type that default argument promotions pass (float arrives as double: use 'double')");
    expect(variadicTypeProblem(parseType('unsigned short'))).toBe("a type that default argument promotions pass (unsigned short arrives as int: use 'int')");
    expect(variadicTypeProblem(parseType('uint8_t'))).toBe("a type that default argument promotions pass (uint8_t arrives as int: use 'int')");
    expect(variadicTypeProblem(parseType('void'))).toBe('a type with values (void has none)');
    expect(variadicTypeProblem(parseType('int[4]'))).toBe("a pointer type (an array is passed as a pointer to its first element: use 'int *')");
    expect(variadicTypeProblem(parseType('int (int)'))).toBe("a pointer type (a function is passed as a pointer: use 'int (*)(int)')");
    expect(variadicTypeProblem(parseType('struct Opaque'))).toBe("a complete type ('struct Opaque' is incomplete: declare its members first)");
    for (const ok of ['int', 'double', 'long long', 'const char *', 'struct { char c; }', 'long double', 'int (*)(int)']) {
      expect(variadicTypeProblem(parseType(ok))).toBeUndefined();
    }
  });

  it('splitTypedVarargs pairs types and values after the fixed arguments', () => {
    const sig = parseSignature('int printf_like(const char *fmt, ...)');
    expect(splitTypedVarargs(sig, ['%d %f', 'int', 5, 'double', 2.5, 'const char *', 'hi'], (t) => parseType(t)))
      .toMatchObject({ args: ['%d %f', 5, 2.5, 'hi'], types: ['int', 'double', 'const char *'] });
    expect(splitTypedVarargs(sig, ['only fixed'], (t) => parseType(t))).toEqual({ args: ['only fixed'], types: [], parsed: [] });
    // too few for the fixed parameters: left to the call's own count check
    expect(splitTypedVarargs(sig, [], (t) => parseType(t))).toEqual({ args: [], types: [], parsed: [] });
  });
});

describe.each(TARGETS)('variadic call-outs on $abi ($dir)', ({ abi, dir }) => {
  let sb: Sandbox;
  let sumInts: ForeignFunction;
  let sumDoubles: ForeignFunction;
  let sumLlongs: ForeignFunction;
  let sumMixed: ForeignFunction;
  beforeAll(async () => {
    sb = await Sandbox.open(abi, { poison: 0xa5 });
    sb.declare(fixtureTypes());
    sb.load(...fixtureObjects(dir));
    sumInts = sb.func('int sum_ints(int n, ...)');
    sumDoubles = sb.func('double sum_doubles(int n, ...)');
    sumLlongs = sb.func('long long sum_llongs(int n, ...)');
    sumMixed = sb.func('double sum_mixed(const char *fmt, ...)');
  });
  afterAll(() => sb?.close());

  it('each value after its C type: ints, doubles, long longs', () => {
    expect(sumInts(3, 'int', 10, 'int', 20, 'int', 30)).toBe(10 + 40 + 90);
    // 1.0 is a double here (inference made it an int), and a decimal string a long long (inference: char *)
    expect(sumDoubles(3, 'double', 1, 'double', 2.5, 'double', -0.25)).toBe(1 + 5 - 0.75);
    expect(sumLlongs(2, 'long long', '1099511627776', 'long long', -3n)).toBe(2n ** 40n - 6n);
    expect(sumLlongs(1, 'long long', 5)).toBe(5n); // a small number, as a long long
    expect(sumInts(0)).toBe(0);
  });

  it('mixed types in one call, as printf takes them', () => {
    // 'i' int, 'u' unsigned, 'c' char (passed as int), 'l' long long, 'L' long, 'd' double, 'p' const int *, 's' string
    const v = sumMixed('iucdlLps',
      'int', -2, 'unsigned int', 4000000000, 'int', 65, 'double', 0.5, 'long long', 2n ** 40n, 'long', -7,
      'const int *', [9], 'const char *', 'hello'); // an array is encoded per element (a typed array would be raw host-order bytes)
    expect(v).toBe(-2 * 1 + 4000000000 * 2 + 65 * 3 + 0.5 * 4 + 2 ** 40 * 5 - 7 * 6 + 9 * 7 + 5 * 8);
    // typedef names and a double right after a long long: alignment on ARM and PPC
    expect(sumMixed('ldl', 'int64_t', '4294967297', 'double', 1, 'long long', -1)).toBe(4294967297 + 2 - 3);
  });

  it('a fixed double before the variadic ones, structs and long doubles through ...', () => {
    expect(sb.func('double scaled_sum(double scale, int n, ...)')(0.5, 2, 'double', 1, 'double', 3)).toBe(0.5 * (1 + 6));
    expect(sb.func('int sum_points(int n, ...)')(2, 'struct Point', { x: 1, y: 2 }, 'struct Point', { x: 3, y: 4 })).toBe(8 + 2 * 18);
    expect(sb.func('double sum_double2s(int n, ...)')(2, 'struct Double2', { a: 1, b: 2 }, 'struct Double2', { a: 0.5, b: 0.25 })).toBe(5 + 2 * 1);
    expect(sb.func('long double sum_ldoubles(int n, ...)')(2, 'long double', 1.5, 'long double', 2)).toBe(5.5);
    expect(sb.func('int count_until_zero(int first, ...)')(5, 'int', 6, 'int', 0)).toBe(2 * 1000 + 11);
  });

  it('the types may use declarations written before the prototype', () => {
    const f = sb.func('struct VP { int x; int y; }; typedef struct VP vp_t; int sum_points(int n, ...)');
    expect(f(2, 'struct VP', { x: 1, y: 1 }, 'vp_t', { x: 2, y: 0 })).toBe(5 + 2 * 4);
    // an unnamed prototype with { symbol }, its declarations used the same way
    expect(sb.func('struct VQ { int a, b; }; int (int n, ...)', { symbol: 'sum_points' })(1, 'struct VQ', { a: 10, b: 1 })).toBe(23);
  });

  it('the typed form in async, into(target) and on(thread)', async () => {
    await expect(sumDoubles.async(2, 'double', 1, 'double', 2)).resolves.toBe(5);
    const slot = sb.alloc(8);
    try {
      expect(sumDoubles.into(slot)(1, 'double', 4)).toBe(4);
      expect(sb.read('double', slot)).toBe(4);
    } finally {
      sb.free(slot);
    }
    const worker = sb.thread(`variadic worker ${dir}`);
    const { value, record } = sumLlongs.on(worker).callWithRecord([2, 'long long', 1n, 'long long', 2n]);
    expect(value).toBe(5n);
    expect(record.args.map((a) => a.type)).toEqual(['int', 'long long', 'long long']);
  });

  it('callWithRecord(args, types) and plan(types) keep the explicit form; types typed or explicit plan the same', () => {
    const explicit = sumMixed.callWithRecord(['dl', 1, '4294967297'], ['double', 'long long']);
    const typed = sumMixed.callWithRecord(['dl', 'double', 1, 'long long', '4294967297']);
    expect(explicit.value).toBe(1 + 2 * 4294967297);
    expect(typed.value).toBe(explicit.value);
    expect(typed.plan).toEqual(explicit.plan);
    expect(explicit.plan).toEqual(sumMixed.plan(['double', 'long long']));
    expect(explicit.record.args.map((a) => a.type)).toEqual(['const char *', 'double', 'long long']);
    // explicit types are the C caller's: a float is promoted by the convention, as C does
    expect(sumDoubles.callWithRecord([1, 1.5], ['float']).value).toBe(1.5);
    // wrong counts in the explicit form are the call's count error
    expect(() => sumInts.callWithRecord([2, 1, 2], ['int'])).toThrow(/sum_ints.*expected at least 1 argument, got 3/);
  });

  it('an untyped value is a VariadicArgumentError naming its position and how to type it', () => {
    const e = thrown(() => sumDoubles(2, 1.5, 2.5));
    expect(e).toBeInstanceOf(VariadicArgumentError);
    expect(e).toBeInstanceOf(ValueError);
    expect(e).toBeInstanceOf(Exported);
    expect(e).toBeInstanceOf(ExportedValueError);
    expect(e.name).toBe('VariadicArgumentError');
    expect(e.message).toBe("variadic argument 1 of double sum_doubles(int n, ...) (argument 2 of the call): expected its C type as a string here: "
      + "each value passed for '...' to follow its C type as a string, as in sum_doubles(n, 'int', 5, 'double', 2.5, 'const char *', 'hi'), got number 1.5");
    expect(e).toMatchObject({ index: 1, argument: 1 });
    // a non-string where the second type is expected
    const second = thrown(() => sumInts(2, 'int', 1, 2, 'int'));
    expect(second.message).toMatch(/^variadic argument 2 of int sum_ints\(int n, \.\.\.\) \(argument 4 of the call\): expected its C type as a string here: .*, got number 2$/);
    expect(second).toMatchObject({ index: 2, argument: 3 });
    // the old guesses: a string, a bigint, a boolean, an object are all values, not types
    for (const v of [10n, true, null, { x: 1 }, new Int32Array(1)]) expect(thrown(() => sumLlongs(1, v))).toBeInstanceOf(VariadicArgumentError);
  });

  it('a string that is not a type, and a type with no value after it', () => {
    const notType = thrown(() => sumMixed('s', 'hello'));
    expect(notType).toBeInstanceOf(VariadicArgumentError);
    expect(notType.message).toMatch(/^variadic argument 1 of double sum_mixed\(const char \*fmt, \.\.\.\) \(argument 2 of the call\): expected its C type as a string here \(unknown type name 'hello'\): each value passed for '\.\.\.' to follow its C type as a string, as in sum_mixed\(fmt, 'int', 5, .*\), got "hello"$/);
    expect(thrown(() => sumMixed('s', 'int (', 'x')).message).toMatch(/^variadic argument 1 .*: expected its C type as a string here \(expected .*\): .*, got "int \("$/);
    const odd = thrown(() => sumInts(2, 'int', 1, 'int'));
    expect(odd.message).toBe("variadic argument 2 of int sum_ints(int n, ...) (argument 4 of the call): expected a value after its type 'int': "
      + "each value passed for '...' to follow its C type as a string, as in sum_ints(n, 'int', 5, 'double', 2.5, 'const char *', 'hi'), got nothing");
    expect(odd).toMatchObject({ index: 2, argument: 3 });
  });

  it('types that default promotions never pass are refused, saying what they arrive as', async () => {
    for (const [t, as] of [['float', 'double'], ['char', 'int'], ['signed char', 'int'], ['unsigned char', 'int'], ['short', 'int'],
      ['unsigned short', 'int'], ['_Bool', 'int'], ['bool', 'int'], ['int8_t', 'int']] as const) {
      const e = thrown(() => sumMixed('i', t, 1));
      expect(e).toBeInstanceOf(VariadicArgumentError);
      expect(e.message).toBe(`variadic argument 1 of double sum_mixed(const char *fmt, ...) (argument 2 of the call): `
        + `expected a type that default argument promotions pass (${t} arrives as ${as}: use '${as}'), got "${t}"`);
    }
    expect(thrown(() => sumInts(1, 'void', 1)).message).toMatch(/expected a type with values \(void has none\), got "void"$/);
    expect(thrown(() => sumInts(1, 'int[2]', [1, 2])).message).toMatch(/use 'int \*'\), got "int\[2\]"$/);
    expect(thrown(() => sumInts(1, 'struct NotDeclared', {})).message).toMatch(/'struct NotDeclared' is incomplete/);
    // also in async and on(thread): the same check, before anything runs
    await expect(sumDoubles.async(1, 'float', 1)).rejects.toThrow(VariadicArgumentError);
    expect(() => sumDoubles.on(sb.mainThread)(1, 'float', 1)).toThrow(/float arrives as double/);
  });

  it('the sandbox is usable after each refusal, and a non-variadic function takes no variadic types', () => {
    expect(() => sumInts(1, 2)).toThrow(VariadicArgumentError);
    expect(sumInts(1, 'int', 2)).toBe(2);
    const add = sb.func('int weigh_int2(int a, int b)');
    expect(() => add.plan(['int'])).toThrow(/variadic types for int weigh_int2\(int a, int b\): expected none: the function is not variadic/);
    expect(() => add.callWithRecord([1, 2, 3], ['int'])).toThrow(ValueError);
    expect(add.callWithRecord([1, 2], []).value).toBe(8);
    // strings to a non-variadic function are values as always (too many is the count error)
    expect(() => add(1, 'int', 2)).toThrow(/weigh_int2.*expected 2 arguments, got 3/);
  });
});

describe.each(TARGETS)('the same rule reading variadic call-back arguments on $abi ($dir)', ({ abi, dir }) => {
  let sb: Sandbox;
  beforeAll(async () => {
    sb = await Sandbox.open(abi);
    sb.declare(fixtureTypes());
    sb.load(...fixtureObjects(dir));
  });
  afterAll(() => sb?.close());

  it('va.next refuses what never arrives, with the same words, and reads the promoted type', () => {
    const call = sb.func('int call_variadic_cb(int (*f)(int n, ...))');
    for (const [t, as] of [['short', 'int'], ['_Bool', 'int'], ['float', 'double']] as const) {
      const e = thrown(() => call((_n: JsValue, va: JsValue | VarArgs) => (va as VarArgs).next(t)));
      expect(e).toBeInstanceOf(CallbackError);
      expect((e as CallbackError).original).toBeInstanceOf(ValueError);
      expect(((e as CallbackError).original as Error).message)
        .toMatch(new RegExp(`^variadic argument 1 of .*: expected a type that default argument promotions pass \\(${t} arrives as ${as}: use '${as}'\\), got "${t}"$`));
    }
    const seen: JsValue[] = [];
    expect(call((n: JsValue, va: JsValue | VarArgs) => {
      for (let k = 0; k < (n as number); k++) seen.push((va as VarArgs).next('int'));
      return 61;
    })).toBe(61);
    expect(seen).toEqual([10, 20, 30]);
  });
});
