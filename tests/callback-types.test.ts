// A call-back passed for a function pointer is checked against the pointer's function type
// before the call; CallbackError carries the JS error as `cause`. GCC-compiled callers
// (tests/fixtures/src/callbacks.c) on every convention.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Sandbox } from '../sandbox/sandbox.ts';
import { HAND_FIXTURE_DIRS, HAND_FIXTURE_ABIS, fixtureObjects } from '../sandbox/fixtures.ts';
import { CallbackError, type VarArgs } from '../sandbox/callback.ts';
import { FunctionPointerTypeError, ValueError, type JsValue } from '../layout/values.ts';
import { functionTypeDifference } from '../layout/function-types.ts';
import { parseDeclarations, parseType } from '../ctypes/parse.ts';
import { DATA_MODELS } from '../layout/datamodel.ts';
import type { FunctionType } from '../ctypes/ctypes.ts';

const POINT = 'struct Point { int x; int y; };';
const VISIT = `${POINT} int visit_points(const struct Point *pts, int n, int (*visit)(struct Point p, int index))`;

function refusal(f: () => unknown): FunctionPointerTypeError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(FunctionPointerTypeError);
    expect(e).toBeInstanceOf(ValueError);
    return e as FunctionPointerTypeError;
  }
  throw new Error('the call was not refused');
}

describe.each(HAND_FIXTURE_ABIS.map((abi) => ({ abi, dir: HAND_FIXTURE_DIRS[abi][0] })))('call-back types on $abi', ({ abi, dir }) => {
  let sb: Sandbox;
  beforeAll(async () => {
    sb = await Sandbox.open(abi);
    sb.load(...fixtureObjects(dir));
  });
  afterAll(() => sb.close());
  const pts = [{ x: 1, y: 2 }, { x: 3, y: 4 }];
  const byPoint = (p: JsValue | VarArgs, k: JsValue | VarArgs) => (p as { x: number; y: number }).x * 10 + (k as number);

  it('the same function type is accepted: parameter names and a struct declared again with the same tag and layout do not matter', () => {
    const visit = sb.func(VISIT);
    // the call-back's struct Point is its own declaration's, not the prototype's: same tag, same layout
    const cb = sb.callback(`${POINT} int (struct Point q, int i)`, byPoint);
    expect(visit(pts, 2, cb)).toBe((10 + 0) * 31 + 30 + 1);
    // a pointer to the function type, unnamed parameters
    expect(visit(pts, 2, sb.callback(`${POINT} int (*)(struct Point, int)`, byPoint))).toBe(341);
  });

  it('another function type is refused before the call, naming the argument, both types and the difference', () => {
    const visit = sb.func(VISIT);
    let ran = 0;
    const count = () => ++ran;
    const cases: [string, string, string][] = [
      ['double (int)', 'double (int)', "the pointer's function type has 2 parameters, the call-back's 1 parameter"],
      [`${POINT} int (struct Point, long long)`, 'int (struct Point, long long)', "parameter 2 is int in the pointer's function type, long long in the call-back's"],
      [`${POINT} double (struct Point, int)`, 'double (struct Point, int)', "the result is int in the pointer's function type, double in the call-back's"],
      ['struct Q { int x; int y; }; int (struct Q, int)', 'int (struct Q, int)', "parameter 1 is struct Point in the pointer's function type, struct Q in the call-back's"],
      ['struct Point { int x; short y; }; int (struct Point, int)', 'int (struct Point, int)', "parameter 1 is struct Point in the pointer's function type, struct Point in the call-back's"],
      [`${POINT} int (struct Point, int, ...)`, 'int (struct Point, int, ...)', "the call-back's function type is variadic (...), the pointer's is not"],
    ];
    for (const [proto, text, difference] of cases) {
      const e = refusal(() => visit(pts, 2, sb.callback(proto, count)));
      expect(e).toMatchObject({ name: 'FunctionPointerTypeError', expectedType: 'int (struct Point, int)', callbackType: text, difference });
      expect(e.message).toBe(`argument 3 'visit' (int (*)(struct Point, int)): expected a call-back of type int (struct Point, int), got a call-back of type ${text}: ${difference}`);
    }
    expect(ran).toBe(0);
    // the sandbox is as before: the right call-back works
    expect(visit(pts, 1, sb.callback(`${POINT} int (struct Point, int)`, byPoint))).toBe(10);
    expect(sb.machine.sp).toBe(sb.mainThread.stack.top);
  });

  it('nothing runs when one of two call-backs is wrong; variadic and const differences count; plain functions and addresses are not typed', () => {
    const compose = sb.func('int compose(int (*f)(int), int (*g)(int), int x)');
    let ran = 0;
    const f = sb.callback('int (int)', (x) => { ran++; return (x as number) + 1; });
    const e = refusal(() => compose(f, sb.callback('int (int, int)', () => 0), 5));
    expect(e.path).toBe("argument 2 'g' (int (*)(int))");
    expect(ran).toBe(0); // refused while the arguments were encoded: f was never called
    expect(compose(f, sb.callback('int (int x)', (x) => (x as number) * 2), 5)).toBe(12);
    expect(ran).toBe(1);
    // a variadic pointer takes a variadic call-back only
    const variadic = sb.func('int call_variadic_cb(int (*f)(int n, ...))');
    expect(refusal(() => variadic(sb.callback('int (int)', () => 0))).difference).toBe("the pointer's function type is variadic (...), the call-back's is not");
    // qualifiers of what a pointer parameter points to are part of the type
    const sort = sb.func('void sort_ints(int *v, int n, int (*cmp)(const void *, const void *))');
    expect(refusal(() => sort(new Int32Array(2), 2, sb.callback('int (void *, void *)', () => 0))).difference)
      .toBe("parameter 1 is const void * in the pointer's function type, void * in the call-back's");
    // a plain JS function gets the pointer's type; a guest address is taken as it is
    expect(compose((x: JsValue) => (x as number) * 3, f.address, 2)).toBe(7);
  });

  it('CallbackError carries the JS error as the standard cause (and as original)', () => {
    const apply = sb.func('int apply_n(int (*f)(int), int n, int x)');
    const boom = new TypeError('boom');
    let err: unknown;
    try {
      apply(sb.callback('int (int)', () => { throw boom; }), 1, 0);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CallbackError);
    expect((err as CallbackError).cause).toBe(boom);
    expect((err as CallbackError).original).toBe(boom);
    // nested: the cause stays the innermost JS error
    const inner = sb.callback('int (int)', () => { throw boom; });
    const outer = sb.callback('int (int)', (x) => apply(inner, 1, x as number));
    try {
      apply(outer, 1, 0);
    } catch (e) {
      err = e;
    }
    expect((err as CallbackError).chain.length).toBeGreaterThanOrEqual(2);
    expect((err as CallbackError).cause).toBe(boom);
  });
});

describe('functionTypeDifference', () => {
  const dm = DATA_MODELS.x86_64;
  const fn = (text: string) => {
    const t = parseType(text);
    if (t.kind !== 'pointer' || t.to.kind !== 'function') throw new Error(text);
    return t.to;
  };
  it('compares structurally: typedefs resolved, names ignored, nested function pointers compared', () => {
    expect(functionTypeDifference(fn('int (*)(int32_t a)'), fn('int (*)(int b)'), dm)).toBeUndefined();
    expect(functionTypeDifference(fn('void (*)(int (*)(double))'), fn('void (*)(int (*cb)(double d))'), dm)).toBeUndefined();
    expect(functionTypeDifference(fn('void (*)(int (*)(double))'), fn('void (*)(int (*)(float))'), dm))
      .toBe("parameter 1 is int (*)(double) in the pointer's function type, int (*)(float) in the call-back's");
    // distinct types in C, though one size on this target
    expect(functionTypeDifference(fn('void (*)(long)'), fn('void (*)(long long)'), dm)).toMatch(/parameter 1 is long .* long long/);
  });
  it('structs: the same object, or the same tag and layout; a self-referencing struct does not recurse forever', () => {
    const a = parseDeclarations('struct N { struct N *next; int v; }; void f(struct N);').signature! as FunctionType;
    const b = parseDeclarations('struct N { struct N *next; int v; }; void g(struct N n);').signature! as FunctionType;
    expect(functionTypeDifference(a, b, dm)).toBeUndefined();
    const c = parseDeclarations('struct N { struct N *next; long v; }; void g(struct N n);').signature! as FunctionType;
    expect(functionTypeDifference(a, c, dm)).toMatch(/parameter 1 is struct N .* struct N/);
  });
});
