// Call-backs on every convention, called by GCC-compiled C callers: struct arguments
// and results, nested call-outs from call-backs to depth 1000, exceptions unwinding
// through guest frames, released call-backs. Stack and registers poisoned first.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Sandbox } from '../sandbox/sandbox.ts';
import { BACKENDS } from '../backends/compiled.ts';
import { HAND_FIXTURE_DIRS, HAND_FIXTURE_ABIS, fixtureObjects, fixtureTypes } from '../sandbox/fixtures.ts';
import { CallbackError, type CallbackContext } from '../sandbox/callback.ts';
import type { JsValue } from '../layout/values.ts';

const types = fixtureTypes();

describe.each(HAND_FIXTURE_ABIS.flatMap((abi) => HAND_FIXTURE_DIRS[abi].flatMap((dir) => BACKENDS.map((backend) => ({ abi, dir, backend })))))('call-backs on $abi ($dir, $backend)', ({ abi, dir, backend }) => {
  let sb: Sandbox;
  beforeAll(async () => {
    sb = await Sandbox.open(abi, { poison: 0xa5, backend });
    sb.declare(types);
    sb.load(...fixtureObjects(dir));
  });
  afterAll(() => sb.close());
  const poison = () => {
    sb.machine.poisonRegisters(0x5a);
    sb.machine.poisonMemory(sb.machine.mainStack.top, 256 * 1024, 0x5a);
  };
  /** After a top-level call: the stack pointer given back, no level left on the chain. */
  const balanced = () => {
    expect(sb.machine.sp).toBe(sb.mainThread.stack.top);
    expect(sb.mainThread.idle).toBe(true);
  };
  afterEach(balanced);

  it('sorts through a C comparator call-back', () => {
    poison();
    const cmp = sb.callback('int (const void *a, const void *b)', (a, b) => (sb.read('int', a as number) as number) - (sb.read('int', b as number) as number));
    const v = new Int32Array([5, -3, 9, 1, 7, 0]);
    sb.func('void sort_ints(int *v, int n, int (*cmp)(const void *, const void *))')(v, v.length, cmp);
    expect(Array.from(v)).toEqual([-3, 0, 1, 5, 7, 9]);
    expect(cmp.address).toBeGreaterThan(0);
  });

  it('receives structs by value from a visitor', () => {
    poison();
    const seen: JsValue[] = [];
    const pts = [{ x: 1, y: -2 }, { x: 30, y: 40 }, { x: -500, y: 600 }];
    const r = sb.func('int visit_points(const struct Point *pts, int n, int (*visit)(struct Point p, int index))')(
      pts, 3, (p: JsValue, i: JsValue) => { seen.push(p, i); return (p as { x: number }).x + 7 * (i as number); });
    expect(seen).toEqual([pts[0], 0, pts[1], 1, pts[2], 2]);
    // acc = acc * 31 + visit(pts[k], k)
    let acc = 0;
    pts.forEach((p, k) => { acc = (acc * 31 + p.x + 7 * k) | 0; });
    expect(r).toBe(acc);
  });

  it('receives mixed int/double/float/long long/struct arguments and returns a double', () => {
    poison();
    let got: JsValue[] = [];
    const r = sb.func('double call_mixed(double (*f)(int, double, float, long long, struct Mixed), int i, double d, float fl, long long ll, struct Mixed m)')(
      (...xs: JsValue[]) => { got = xs; return -1.25; }, -7, 2.5, 3.75, -(2n ** 40n), { i: 9, f: 0.5, d: 1e100 });
    expect(got).toEqual([-7, 2.5, 3.75, -(2n ** 40n), { i: 9, f: 0.5, d: 1e100 }]);
    expect(r).toBe(-1.25);
  });

  it('tells a call-back where its arguments arrived (this), as the convention places them', () => {
    poison();
    let ctx: CallbackContext | undefined;
    sb.func('double call_mixed(double (*f)(int, double, float, long long, struct Mixed), int i, double d, float fl, long long ll, struct Mixed m)')(
      function (this: CallbackContext) { ctx = this; return 0; }, 1, 2, 3, 4n, { i: 5, f: 6, d: 7 });
    const plan = sb.func('double f(int, double, float, long long, struct Mixed)', { symbol: 'call_mixed' }).plan();
    expect(ctx!.describe).toMatch(/^call-back #\d+ double \(int, double, float, long long, struct Mixed\) called from /);
    expect(ctx!.args.map((a) => a.type)).toEqual(['int', 'double', 'float', 'long long', 'struct Mixed']);
    ctx!.args.forEach((a, i) => {
      const pieces = plan.args[i].pieces;
      // Register pieces are named as the plan names them; stack pieces at the plan's offset above the entry sp (and return address).
      expect(a.from.length).toBeGreaterThanOrEqual(pieces.length);
      pieces.forEach((p, k) => {
        if (p.kind === 'reg') expect(a.from[k]).toBe(p.reg);
        else {
          expect(a.from[k]).toBe(`[sp+${p.offset + p.slotOffset}]`); // the notation of explain
          expect(a.at[k]).toBe(ctx!.entrySp + (sb.machine.target.linkRegister ? 0 : sb.machine.target.pointerSize) + p.offset + p.slotOffset);
        }
        if (p.kind === 'reg') expect(a.at[k]).toBeNull();
      });
    });
  });

  it('returns a struct from a call-back', () => {
    poison();
    const r = sb.func('struct Pair call_returning_struct(struct Pair (*f)(int, int), int a, int b)')((a: JsValue, b: JsValue) => ({ first: (a as number) * 10, second: (b as number) * 100 }), 3, 4);
    // call_returning_struct scales the call-back's result: first *= 10, second *= 100.
    expect(r).toEqual({ first: 300, second: 40000 });
  });

  it('returns sub-word results extended as the C caller expects', () => {
    poison();
    // The C callers add the result as a full register: f(x) + 1000, f(x) + 100000, f(x) ? 7 : 0.
    expect(sb.func('int call_schar_cb(signed char (*f)(int), int x)')(() => -3, 1)).toBe(997);
    expect(sb.func('int call_ushort_cb(unsigned short (*f)(int), int x)')(() => 65535, 1)).toBe(165535);
    expect(sb.func('int call_bool_cb(_Bool (*f)(int), int x)')(() => true, 1)).toBe(7);
    expect(sb.func('int call_bool_cb(_Bool (*f)(int), int x)')(() => false, 1)).toBe(0);
  });

  it('receives ten int arguments, some on the stack, and returns long long', () => {
    poison();
    let got: JsValue[] = [];
    const r = sb.func('long long call_many_cb(long long (*f)(int, int, int, int, int, int, int, int, int, int), int a)')(
      (...xs: JsValue[]) => { got = xs; return -(2n ** 35n) + BigInt(xs.reduce<number>((s, x) => s + (x as number), 0)); }, 100);
    expect(got).toEqual(Array.from({ length: 10 }, (_, k) => 100 + k));
    expect(r).toBe((-(2n ** 35n) + 1045n) * 2n);
  });

  it('receives float, double, float (armhf back-fills s1) and returns a float', () => {
    poison();
    let got: JsValue[] = [];
    const r = sb.func('float call_float_cb(float (*f)(float, double, float), float x)')((...xs: JsValue[]) => { got = xs; return 0.75; }, 1.5);
    expect(got).toEqual([1.5, 3, 4.5]);
    expect(r).toBe(1.25);
  });

  it('receives a homogeneous double aggregate by value', () => {
    poison();
    let got: JsValue = null;
    const v = { a: 1.5, b: -2.25, c: 1e10, d: 0.125 };
    const r = sb.func('double call_hfa_cb(double (*f)(struct Double4), struct Double4 v)')((p: JsValue) => { got = p; return 21.5; }, v);
    expect(got).toEqual(v);
    expect(r).toBe(43);
  });

  it('returns a three-double struct (x86-64 memory, armhf d0-d2)', () => {
    poison();
    const r = sb.func('double call_ret_double3_cb(struct Double3 (*f)(double, double, double), double a, double b, double c)')(
      (a: JsValue, b: JsValue, c: JsValue) => ({ a: (a as number) + 1, b: (b as number) + 2, c: (c as number) + 3 }), 0.5, 0.25, 0.125);
    expect(r).toBe(1.5 + 2.25 * 2 + 3.125 * 3);
  });

  it('returns a 24-byte struct through the caller\'s hidden pointer', () => {
    poison();
    const r = sb.func('double call_ret_s24_cb(struct S24 (*f)(int), int x)')(
      (x: JsValue) => ({ a: BigInt(x as number) * 3n, b: -7, c: 300, d: 9, e: 10, f: 0.5 }), 11);
    expect(r).toBe(33 * 2 + -7 * 3 + 300 * 5 + 9 * 7 + 10 * 11 + 0.5 * 13);
  });

  it('composes two different call-backs', () => {
    poison();
    expect(sb.func('int compose(int (*f)(int), int (*g)(int), int x)')((x: JsValue) => (x as number) + 5, (x: JsValue) => (x as number) * -3, 4)).toBe(-27);
  });

  it('passes a context pointer through to a void call-back', () => {
    poison();
    const ctx = sb.alloc(16);
    const seen: JsValue[] = [];
    const n = sb.func('int for_each_index(void (*cb)(void *ctx, int k), void *ctx, int n)')((c: JsValue, k: JsValue) => { seen.push(c, k); }, ctx, 3);
    expect(n).toBe(3);
    expect(seen).toEqual([ctx, 0, ctx, 1, ctx, 2]);
    sb.free(ctx);
  });

  it('passes and returns long long (register pairs on 32-bit targets)', () => {
    poison();
    let got: JsValue = null;
    const r = sb.func('long long call_llong_cb(long long (*f)(long long), long long x)')((x: JsValue) => { got = x; return (x as bigint) * -2n; }, 2n ** 50n + 3n);
    expect(got).toBe(2n ** 50n + 3n);
    expect(r).toBe(-(2n ** 51n) - 7n);
  });

  it('passes and returns long double (x87 st0 on x86)', () => {
    poison();
    let got: JsValue = null;
    const r = sb.func('long double call_ldouble_cb(long double (*f)(long double), long double x)')((x: JsValue) => { got = x; return (x as number) + 0.5; }, 1.25);
    expect(got).toBe(1.25);
    expect(r).toBe(3.5);
  });

  it('takes call-backs in struct fields, by value and behind a pointer', () => {
    poison();
    const mul = sb.callback('int (int, int)', (a, b) => (a as number) * (b as number));
    expect(sb.func('int run_ops(struct Ops ops, int a, int b)')({ combine: mul, bias: 5 }, 6, 7)).toBe(47);
    expect(sb.func('int run_ops_ptr(const struct Ops *ops, int a, int b)')({ combine: (a: JsValue, b: JsValue) => (a as number) - (b as number), bias: 100 }, 50, 8)).toBe(134);
  });

  it('nests call-outs inside call-backs to depth 1000, each frame below the previous', () => {
    poison();
    const nested = sb.func('int call_nested(int (*f)(int depth), int depth)');
    const sps: number[] = [];
    let cb: (d: JsValue) => number;
    cb = (d) => {
      sps.push(sb.machine.sp);
      return (d as number) <= 0 ? 0 : 1 + (nested(cb, (d as number) - 1) as number);
    };
    const r = nested(cb, 1000) as number;
    expect(sps.length).toBe(1001);
    for (let i = 1; i < sps.length; i++) expect(sps[i]).toBeLessThan(sps[i - 1]);
    // call_nested returns f(depth) + depth (see callbacks.c); each level adds 1 + its depth.
    const expected = (d: number): number => (d <= 0 ? 0 : 1 + expected(d - 1) + (d - 1)) ;
    expect(r).toBe(expected(1000) + 1000);
    balanced();
    // The next top-level call starts from the top of the stack again and works.
    expect(sb.func('int apply_n(int (*f)(int), int n, int x)')((x: JsValue) => (x as number) + 1, 3, 10)).toBe(13);
  });

  it('unwinds a JS exception through the guest frames to the first call-out, with the chain', () => {
    poison();
    const nested = sb.func('int call_nested(int (*f)(int depth), int depth)');
    let cb: (d: JsValue) => number;
    cb = (d) => {
      if ((d as number) === 0) throw new Error('boom at the bottom');
      return nested(cb, (d as number) - 1) as number;
    };
    let err: unknown;
    try {
      nested(cb, 5);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CallbackError);
    expect((err as CallbackError).chain.length).toBe(6);
    expect((err as Error).message).toMatch(/boom at the bottom/);
    expect((err as Error).message).toMatch(/call_nested/);
    balanced();
    expect(sb.func('int apply_n(int (*f)(int), int n, int x)')((x: JsValue) => (x as number) * 2, 3, 1)).toBe(8);
  });

  it('a plain JS function is a call-back for its call only: C code that kept the pointer gets a clear error', () => {
    poison();
    const keep = sb.func('void keep_cb(int (*f)(int))');
    const callKept = sb.func('int call_kept(int x)');
    keep((x: JsValue) => (x as number) + 1);
    expect(() => callKept(1)).toThrow(/was called after release/);
    // Later temporaries do not take over its entry at once.
    for (let k = 0; k < 50; k++) expect(sb.func('int apply_n(int (*f)(int), int n, int x)')((x: JsValue) => (x as number) + k, 1, 0)).toBe(k);
    expect(() => callKept(1)).toThrow(/was called after release/);
    const kept = sb.callback('int (int)', (x) => (x as number) * 7);
    keep(kept);
    expect(callKept(3)).toBe(21);
  });

  it('a released call-back is a clear error in the caller\'s call-out, not a crash', () => {
    poison();
    const f = sb.callback('int (int)', (x) => (x as number) + 1);
    const apply = sb.func('int apply_n(int (*f)(int), int n, int x)');
    expect(apply(f, 2, 5)).toBe(7);
    f.release();
    expect(() => apply(f, 2, 5)).toThrow(/was called after release/);
    balanced();
    expect(apply((x: JsValue) => (x as number) + 2, 2, 5)).toBe(9);
  });
});
