// `abiscope call` and `explain` as a user runs them: main(argv) from cli/main.ts, in this
// process, with stdout and stderr captured (independent of how bin/abiscope.js starts it).
// Variadic arguments take their types from --varargs, never from the JSON; prototypes may
// be unnamed after declarations.
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { errorOf, resultOf, run } from './cli-run.ts';
import { splitTypeList } from '../cli/call.ts';
import { FIXTURES } from '../sandbox/fixtures.ts';
import type { AbiName } from '../backends/registry.ts';

const CONVENTIONS: { abi: AbiName; dir: string }[] = [
  { abi: 'i386-sysv', dir: 'i386' }, { abi: 'x86_64-sysv', dir: 'x86_64' }, { abi: 'arm-aapcs', dir: 'armel' },
  { abi: 'arm-aapcs-vfp', dir: 'armhf' }, { abi: 'ppc32-sysv', dir: 'ppc32' }, { abi: 'aarch64-aapcs64', dir: 'aarch64' },
  { abi: 'x86_64-win64', dir: 'win64' },
];

/** --abi and --elf for variadic.o (with the soft-float and long-long helpers some targets need). */
const elf = (abi: AbiName, dir: string) => ['--abi', abi, ...['variadic.o', 'libgcc-helpers.o', 'runtime.o', 'scalars.o', 'callbacks.o']
  .flatMap((o) => ['--elf', join(FIXTURES, 'obj', dir, o)])];

describe.each(CONVENTIONS)('abiscope call, variadic, on $abi ($dir)', ({ abi, dir }) => {
  const call = (...rest: string[]) => run('call', ...elf(abi, dir), ...rest);

  it('a double and a long long through ... arrive as the types --varargs names', async () => {
    // 'd' reads a double, 'l' a long long: 1 * 1.0 + 2 * (2^32 + 1); the 1 is integral and the long long a decimal string
    expect(resultOf(await call('--sig', 'double sum_mixed(const char *fmt, ...)', '--args', '["dl", 1, "4294967297"]', '--varargs', 'double,long long')))
      .toBe(1 + 2 * 4294967297);
    // the other order, spaces around the types, and a negative long long
    expect(resultOf(await call('--sig', 'double sum_mixed(const char *fmt, ...)', '--args', '["ld", "-4294967296", 0.5]', '--varargs', ' long long , double ')))
      .toBe(-4294967296 + 1);
    expect(resultOf(await call('--sig', 'double sum_doubles(int n, ...)', '--args', '[3, 1, 2, -0.5]', '--varargs', 'double,double,double'))).toBe(1 + 4 - 1.5);
    expect(resultOf(await call('--sig', 'long long sum_llongs(int n, ...)', '--args', '[2, "1099511627776", -3]', '--varargs', 'long long,long long')))
      .toBe(String(2 ** 40 - 6)); // 64-bit results print as decimal strings
    expect(resultOf(await call('--sig', 'double scaled_sum(double scale, int n, ...)', '--args', '[0.5, 2, 1, 3]', '--varargs', 'double,double'))).toBe(3.5);
  });

  it('the old guessing is gone: without --varargs a variadic call is an error naming the counts and the option', async () => {
    const e = errorOf(await call('--sig', 'double sum_doubles(int n, ...)', '--args', '[2, 1, 2.5]'));
    expect(e).toEqual({ type: 'UsageError', message: "double sum_doubles(int n, ...) is variadic: --args has 2 arguments after its 1 fixed one, "
      + "and each needs its C type in --varargs, e.g. --varargs 'int,double'" });
    const s = errorOf(await call('--sig', 'long long sum_llongs(int n, ...)', '--args', '[1, "1099511627776"]'));
    expect(s.message).toMatch(/^long long sum_llongs\(int n, \.\.\.\) is variadic: --args has 1 argument after its 1 fixed one, .* --varargs 'int'$/);
    // no variadic arguments: nothing to type, no option needed (or an empty one)
    expect(resultOf(await call('--sig', 'int sum_ints(int n, ...)', '--args', '[0]'))).toBe(0);
    expect(resultOf(await call('--sig', 'int sum_ints(int n, ...)', '--args', '[0]', '--varargs', ''))).toBe(0);
  });

  it('a count mismatch names both counts; a non-variadic function takes no --varargs', async () => {
    const few = errorOf(await call('--sig', 'int sum_ints(int n, ...)', '--args', '[3, 1, 2, 3]', '--varargs', 'int,int'));
    expect(few).toEqual({ type: 'UsageError', message: '--varargs gives 2 types, but --args has 3 arguments after the 1 fixed one of int sum_ints(int n, ...): '
      + "give one type per variadic argument, e.g. --varargs 'int,double,const char *'" });
    const many = errorOf(await call('--sig', 'int sum_ints(int n, ...)', '--args', '[1, 1]', '--varargs', 'int,int,int'));
    expect(many.message).toMatch(/^--varargs gives 3 types, but --args has 1 argument after the 1 fixed one of int sum_ints/);
    const fixed = errorOf(await call('--sig', 'int weigh_int2(int a, int b)', '--args', '[5, 7]', '--varargs', 'int'));
    expect(fixed).toEqual({ type: 'UsageError', message: '--varargs is given, but int weigh_int2(int a, int b) is not variadic: drop --varargs' });
    // and without it, the same function works
    expect(resultOf(await call('--sig', 'int weigh_int2(int a, int b)', '--args', '[5, 7]'))).toBe(31);
  });

  it('types --varargs cannot name: promoted away, not a type, empty', async () => {
    const f = errorOf(await call('--sig', 'double sum_doubles(int n, ...)', '--args', '[1, 2.5]', '--varargs', 'float'));
    expect(f).toEqual({ type: 'VariadicArgumentError', message: '--varargs type 1 (for argument 2 of --args): '
      + "expected a type that default argument promotions pass (float arrives as double: use 'double'), got \"float\"" });
    expect(errorOf(await call('--sig', 'int sum_ints(int n, ...)', '--args', '[2, 1, 2]', '--varargs', 'int,short')).message)
      .toBe("--varargs type 2 (for argument 3 of --args): expected a type that default argument promotions pass (short arrives as int: use 'int'), got \"short\"");
    expect(errorOf(await call('--sig', 'int sum_ints(int n, ...)', '--args', '[1, 1]', '--varargs', 'integer')).message)
      .toBe("--varargs type 1 (for argument 2 of --args): expected a C type (unknown type name 'integer'), got \"integer\"");
    expect(errorOf(await call('--sig', 'int sum_ints(int n, ...)', '--args', '[2, 1, 2]', '--varargs', 'int,')).message)
      .toBe('--varargs type 2 (for argument 3 of --args): expected a C type, got ""');
  });

  it('struct types in --varargs from the declarations before the prototype, and an unnamed prototype with --symbol', async () => {
    expect(resultOf(await call('--sig', 'struct P { int x, y; }; int sum_points(int n, ...)', '--args', '[2, {"x": 1, "y": 2}, {"x": 3, "y": 4}]',
      '--varargs', 'struct P,struct P'))).toBe(8 + 2 * 18);
    expect(resultOf(await call('--sig', 'struct P { int x, y; }; int (int n, ...)', '--symbol', 'sum_points', '--args', '[1, {"x": 1, "y": 2}]',
      '--varargs', 'struct P'))).toBe(8);
  });
});

describe('abiscope call and explain take declarations, then one prototype, named or not', () => {
  const x86 = ['--abi', 'x86_64-sysv', '--elf', join(FIXTURES, 'obj', 'x86_64', 'scalars.o')];

  it('call --sig: unnamed after struct, union, enum and typedef declarations, with --symbol', async () => {
    for (const sig of ['struct Q { int x; }; int (int a, int b)', 'union U { int i; }; int (int, int)', 'enum E { K }; int (int a, int b)',
      'typedef int T; T (T a, T b)', 'struct Q { int x; }; union U { char c; }; enum E { K }; typedef struct Q Q_t; int (int a, int b)']) {
      expect(resultOf(await run('call', ...x86, '--sig', sig, '--symbol', 'weigh_int2', '--args', '[5, 7]'))).toBe(31);
    }
    expect(resultOf(await run('call', ...x86, '--sig', 'struct Q { int x; }; int weigh_int2(int a, int b)', '--args', '[5, 7]'))).toBe(31);
  });

  it('call --sig errors: no name without --symbol, two prototypes, declarations only, garbage', async () => {
    const cases: [string, string][] = [
      ['struct Q { int x; }; int (int a, int b)', 'the prototype has no function name: name the function, or give --symbol at column 22'],
      ['struct Q { int x; }; int f(int); int g(int)', "expected one function prototype, found a second one after 'int f(int)' (give the prototype last, after the declarations it uses) at column 34"],
      ['struct Q { int x; };', 'expected a function prototype after the declarations at end of input at column 21'],
      ['struct Q { int x; }; int (int a) b', "expected ';' before 'b' at column 34"],
    ];
    for (const [sig, message] of cases) {
      const e = errorOf(await run('call', ...x86, '--sig', sig, '--args', '[5, 7]'));
      expect(e.type).toBe('SignatureError');
      expect(e.message.split('\n')[0]).toBe(message);
    }
  });

  it('explain: an unnamed prototype after declarations, and --varargs types from those declarations', async () => {
    const text = await run('explain', '--abi', 'x86_64-sysv', 'struct Q { int x; }; int (struct Q q, double d)');
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^x86_64-sysv {2}int \(struct Q q, double d\)\n/);
    expect(text.stdout).toMatch(/\nq +struct Q +rdi /);
    expect(text.stdout).toMatch(/\nd +double +xmm0 /);
    const json = await run('explain', '--abi', 'ppc32-sysv', '--json', 'struct P { int x, y; }; int (int n, ...)', '--varargs', 'struct P,double');
    expect(json.code).toBe(0);
    const plan = JSON.parse(json.stdout) as { format: string; signature: string; args: { type: string; variadic: boolean }[] };
    expect(plan.format).toBe('abiscope-plan/2');
    expect(plan.signature).toBe('int (int n, ...)');
    expect(plan.args.map((a) => [a.type, a.variadic])).toEqual([['int', false], ['struct P', true], ['double', true]]);
    const bad = await run('explain', '--abi', 'x86_64-sysv', 'struct Q { int x; }; int (int); int (double)');
    expect(bad.code).toBe(1);
    expect(bad.stdout).toBe('');
    expect(bad.stderr).toContain("SignatureError: expected one function prototype, found a second one after 'int (int)'");
  });
});

describe('splitTypeList', () => {
  it('splits at top-level commas only', () => {
    expect(splitTypeList('int,double,long long')).toEqual(['int', 'double', 'long long']);
    expect(splitTypeList(' int , int (*)(int, int), struct { int a, b; }, char [2] ')).toEqual(['int', 'int (*)(int, int)', 'struct { int a, b; }', 'char [2]']);
    expect(splitTypeList('')).toEqual([]);
    expect(splitTypeList('  ')).toEqual([]);
    expect(splitTypeList('int,')).toEqual(['int', '']);
  });
});

describe('explain maps the members of a struct to the pieces that carry them', () => {
  it('x86-64: two SSE eightbytes; ARM: core registers then the stack; one piece: no list', async () => {
    const x = await run('explain', '--abi', 'x86_64-sysv', 'struct V { float x, y; double z; }; double f(int a, struct V v)');
    expect(x.code).toBe(0);
    expect(x.stdout).toMatch(/\nv +struct V +xmm0 \(x, y\) \+ xmm1 \(z\) /);
    const arm = await run('explain', '--abi', 'arm-aapcs', 'struct S { int a[5]; char c; }; int f(int k, struct S s)');
    expect(arm.stdout).toMatch(/\ns +struct S +r1 \(a\[0\]\) \+ r2 \(a\[1\]\) \+ r3 \(a\[2\]\) \+ \[sp\+0\] \(a\[3\], a\[4\], c\) /);
    const one = await run('explain', '--abi', 'x86_64-sysv', 'struct P { int x, y; }; int g(struct P p)');
    expect(one.stdout).toMatch(/\np +struct P +rdi +\[sp/);
  });
});
