// Call-outs against GCC callees: every generated signature (tests/gen) is called
// through the Sandbox with its literal arguments; the GCC-compiled check_<id>
// compares each received argument with the literal and returns a mask of the wrong
// ones. make_<id> returns a struct computed from the arguments. Registers and the
// stack are poisoned before each call; the stack bookkeeping is checked after it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Sandbox } from '../sandbox/sandbox.ts';
import { FIXTURE_DIRS, fixtureObjects, fixtureTypes, hasHandFixtures } from '../sandbox/fixtures.ts';
import { CONVENTIONS, type AbiName } from '../backends/registry.ts';
import { BACKENDS, type Backend } from '../backends/compiled.ts';
import type { JsValue } from '../layout/values.ts';
import { casesFor, diffValues, loadGenCases, show, type GenCase } from './gen/cases.ts';

const POISON = 0xa5;
const GEN = loadGenCases();
const FIXTURE_TYPES = fixtureTypes();

/** Every convention and fixture build, through both back ends (the same plan, compiled and interpreted). */
const TARGETS: { abi: AbiName; dir: string; backend: Backend }[] = (Object.keys(FIXTURE_DIRS) as AbiName[])
  .flatMap((abi) => FIXTURE_DIRS[abi].flatMap((dir) => BACKENDS.map((backend) => ({ abi, dir, backend }))));

/** Calls with poisoned registers and stack; checks sp bookkeeping and the bytes above the frame. */
function guardedCall(sb: Sandbox, prototype: string, args: unknown[], variadicTypes?: string[]): JsValue {
  const m = sb.machine;
  const top = m.mainStack.top;
  m.poisonRegisters(POISON);
  m.poisonMemory(top, 64 * 1024, POISON);
  const before = m.read(top - 1024, 1024);
  const f = sb.func(prototype);
  const { value, record } = f.callWithRecord(args, variadicTypes);
  expect(record.spBefore).toBe(top);
  // the bytes between the frame (and its canary) and the stack top are untouched
  const from = record.frameTop;
  const to = Math.min(record.frameTop + 256, top);
  expect(from).toBeLessThanOrEqual(top);
  if (to > from) expect(Buffer.from(m.read(from, to - from)).equals(Buffer.from(before.subarray(from - (top - 1024), to - (top - 1024))))).toBe(true);
  return value;
}

function wrongArgs(c: GenCase, mask: number): string {
  const names = [];
  for (let i = 0; i < c.args.length; i++) if (mask & (1 << i)) names.push(`a${i} = ${show(c.args[i])}`);
  return `${c.prototype}${c.variadicTypes ? ` with ... = (${c.variadicTypes.join(', ')})` : ''}: wrong ${names.join('; ')}`;
}

const label = (c: GenCase) => `${c.callee}${c.note ? ` (${c.note})` : ''}`;

describe.each(TARGETS)('conformance $abi ($dir, $backend)', ({ abi, dir, backend }) => {
  let sb: Sandbox;
  beforeAll(async () => {
    sb = await Sandbox.open(abi, { poison: POISON, backend });
    sb.declare(FIXTURE_TYPES);
    sb.declare(GEN.types);
    sb.load(...fixtureObjects(dir));
  });
  afterAll(() => sb?.close());

  it.each(casesFor(GEN, abi).map((c) => [label(c), c] as const))('%s', (_name, c) => {
    const mask = guardedCall(sb, c.prototype, c.args, c.variadicTypes) as number;
    if (mask !== 0) expect.fail(wrongArgs(c, mask));
    if (c.result) {
      const got = guardedCall(sb, c.result.prototype, c.args.slice(0, c.args.length - (c.variadicTypes?.length ?? 0)));
      const d = diffValues(c.result.expected, got, 'result');
      if (d.length) expect.fail(`${c.result.prototype}: ${d.join('; ')}`);
    }
  });

  // Hand-written fixtures whose results are easy to compute here: plain C, built for the
  // target's default convention only (the i386 attribute variants have generated fixtures only).
  if (!hasHandFixtures(abi)) return;
  const wrap32 = (n: bigint) => Number(BigInt.asIntN(32, n));
  const long64 = CONVENTIONS[abi].dataModel.scalars.long.size === 8;
  it('weigh_* and sum_int12 / sum_llong12 / sum_double10', () => {
    expect(guardedCall(sb, 'int weigh_int2(int a, int b)', [-123456, 98765])).toBe(2 * -123456 + 3 * 98765);
    expect(guardedCall(sb, 'unsigned int weigh_uint3(unsigned int a, unsigned int b, unsigned int c)', [0xfedcba98, 0x12345678, 0x87654321]))
      .toBe(Number(BigInt.asUintN(32, 5n * 0xfedcba98n + 7n * 0x12345678n + 11n * 0x87654321n)));
    const l = guardedCall(sb, 'long weigh_long3(long a, long b, long c)', [-1000000, 2000000, -3000000]);
    expect(BigInt(l as number)).toBe(2n * -1000000n + 3n * 2000000n + 5n * -3000000n);
    const ul = guardedCall(sb, 'unsigned long weigh_ulong3(unsigned long a, unsigned long b, unsigned long c)', [0xffffff01, 0x7fffff02, 0x3fffff03]);
    expect(BigInt(ul as number)).toBe(BigInt.asUintN(long64 ? 64 : 32, 3n * 0xffffff01n + 5n * 0x7fffff02n + 7n * 0x3fffff03n));
    expect(guardedCall(sb, 'long long weigh_llong2(long long a, long long b)', [0x123456789abcdefn, -0x1122334455667n]))
      .toBe(BigInt.asIntN(64, 3n * 0x123456789abcdefn + 7n * -0x1122334455667n));
    const ints = [11, -22, 33, -44, 55, -66, 77, -88, 99, -110, 121, -132];
    const primes = [2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37];
    expect(guardedCall(sb, 'int sum_int12(int a, int b, int c, int d, int e, int f, int g, int h, int i, int j, int k, int l)', ints))
      .toBe(wrap32(ints.reduce((s, v, i) => s + BigInt(v * primes[i]), 0n)));
    const lls = ints.map((v, i) => BigInt(v) * 0x100000001n + BigInt(i));
    expect(guardedCall(sb, 'long long sum_llong12(long long a, long long b, long long c, long long d, long long e, long long f, long long g, long long h, long long i, long long j, long long k, long long l)', lls))
      .toBe(BigInt.asIntN(64, lls.reduce((s, v, i) => s + v * BigInt(primes[i]), 0n)));
    const ds = [1.5, -2.25, 3.125, -4.5, 5.75, -6.0625, 7.5, -8.25, 9.125, -10.5];
    expect(guardedCall(sb, 'double sum_double10(double a, double b, double c, double d, double e, double f, double g, double h, double i, double j)', ds))
      .toBe(ds.reduce((s, v, i) => s + v * (i + 1), 0));
  });

  it('struct S1..S16: sum_sN and make_sN', () => {
    const primes = [2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53];
    const names = 'abcdefghijklmnop';
    for (let n = 1; n <= 16; n++) {
      const s = Object.fromEntries([...names.slice(0, n)].map((k, i) => [k, 10 + 7 * i]));
      expect(guardedCall(sb, `int sum_s${n}(struct S${n} s)`, [s]), `sum_s${n}`).toBe(Object.values(s).reduce((t, v, i) => t + v * primes[i], 0));
      const made = guardedCall(sb, `struct S${n} make_s${n}(int base, int step)`, [20, 3]);
      expect(made, `make_s${n}`).toEqual(Object.fromEntries([...names.slice(0, n)].map((k, i) => [k, 20 + i * 3])));
    }
    const a = Array.from({ length: 12 }, (_, k) => 1000 - 37 * k);
    expect(guardedCall(sb, 'int sum_s48(struct S48 s)', [{ a }])).toBe(a.reduce((t, v, k) => t + v * (k + 1), 0));
    expect(guardedCall(sb, 'struct S48 make_s48(int base, int step)', [-50, 9])).toEqual({ a: Array.from({ length: 12 }, (_, k) => -50 + 9 * k) });
  });
});
