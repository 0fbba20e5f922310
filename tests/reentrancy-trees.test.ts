// Random trees of interleaved call-outs and call-backs (fast-check) on every
// convention. Each node is a GCC-compiled C function that calls back; each call-back
// makes the node's child call-outs, possibly on another guest thread, and may throw.
// A JS model computes the expected result. At every call-back entry the chains of
// all threads are checked; the sandbox checks the canary of every active frame on
// every thread at each return. A second property runs one tree per thread with
// async call-backs, in orders a fast-check scheduler picks.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Sandbox, type ForeignFunction } from '../sandbox/sandbox.ts';
import { HAND_FIXTURE_DIRS, HAND_FIXTURE_ABIS, fixtureObjects, fixtureTypes } from '../sandbox/fixtures.ts';
import { CallbackError } from '../sandbox/callback.ts';
import type { GuestThread } from '../sandbox/guest-thread.ts';
import type { JsValue } from '../layout/values.ts';

const types = fixtureTypes();

type Driver = 'apply' | 'compose' | 'pair' | 'nested';
interface Tree {
  driver: Driver;
  thread: number;
  x: number;
  n: number;
  throws: boolean;
  body: Tree[];
}

const treeAt = (depth: number): fc.Arbitrary<Tree> =>
  fc.record({
    driver: fc.constantFrom<Driver>('apply', 'compose', 'pair', 'nested'),
    thread: fc.integer({ min: 0, max: 2 }),
    x: fc.integer({ min: -5000, max: 5000 }),
    n: fc.integer({ min: 1, max: 2 }),
    throws: fc.oneof({ weight: 12, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
    body: depth === 0 ? fc.constant([]) : fc.array(treeAt(depth - 1), { maxLength: 2 }),
  });

/** A call-back threw at this many call-back levels below the top call. */
class ModelThrow {
  constructor(readonly depth: number) {}
}

/**
 * What a node computes; `body(level)` runs the call-back body (the child calls) and
 * returns the sum S of their results. The C side of each driver is in callbacks.c.
 */
function evaluate(t: Tree, body: () => number): number {
  const cb = (v: number) => (v + 1 + body()) | 0;
  switch (t.driver) {
    case 'apply': { let v = t.x; for (let k = 0; k < t.n; k++) v = cb(v); return v; }
    case 'compose': return Math.imul(cb(t.x), 3);
    case 'pair': { const s = body(); return (Math.imul((t.x + s) | 0, 10) + Math.imul((t.x + 1 - s) | 0, 100)) | 0; }
    case 'nested': return ((t.x + body()) | 0) + t.x | 0;
  }
}

function model(t: Tree, depth = 1): number {
  return evaluate(t, () => {
    if (t.throws) throw new ModelThrow(depth);
    return t.body.reduce((s, c) => (s + model(c, depth + 1)) | 0, 0);
  });
}

describe.each(HAND_FIXTURE_ABIS.flatMap((abi) => HAND_FIXTURE_DIRS[abi].map((dir) => ({ abi, dir }))))('random call trees on $abi ($dir)', ({ abi, dir }) => {
  let sb: Sandbox;
  let threads: GuestThread[];
  let fns: Record<Driver, ForeignFunction>;
  beforeAll(async () => {
    sb = await Sandbox.open(abi, { poison: 0xa5, checkFrames: 'all' });
    sb.declare(types);
    sb.load(...fixtureObjects(dir));
    threads = [sb.mainThread, sb.thread('A', { stackSize: 512 * 1024 }), sb.thread('B', { stackSize: 512 * 1024 })];
    fns = {
      apply: sb.func('int apply_n(int (*f)(int), int n, int x)'),
      compose: sb.func('int compose(int (*f)(int), int (*g)(int), int x)'),
      pair: sb.func('struct Pair call_returning_struct(struct Pair (*f)(int, int), int a, int b)'),
      nested: sb.func('int call_nested(int (*f)(int depth), int depth)'),
    };
  });
  afterAll(() => sb.close());

  const poison = () => {
    sb.machine.poisonRegisters(0x5a);
    for (const t of threads) sb.machine.poisonMemory(t.stack.top, 32 * 1024, 0x5a);
  };

  /** What the generated trees exercised, so a degenerate generator cannot pass quietly. */
  const seen = { levels: 0, busyThreads: 0, crossThread: 0, throws: 0 };

  /** Every thread's chain: call-out, call-back, call-out...; each level inside its stack and below the previous one. */
  const checkChains = () => {
    seen.levels = Math.max(seen.levels, threads.reduce((n, t) => n + t.levels.length, 0));
    seen.busyThreads = Math.max(seen.busyThreads, threads.filter((t) => !t.idle).length);
    for (const t of threads) {
      let above = t.stack.top + 1;
      t.levels.forEach((l, i) => {
        expect(l.kind).toBe(i % 2 === 0 ? 'call-out' : 'call-back');
        expect(l.low).toBeLessThan(above);
        expect(l.low).toBeGreaterThan(t.stack.bottom);
        expect(l.high).toBeLessThanOrEqual(t.stack.top);
        above = l.low;
      });
    }
  };

  /** Runs a tree for real: the same arithmetic as `model`, done by the C drivers. */
  const run = (t: Tree): number => {
    const thread = threads[t.thread];
    const body = (): number => {
      expect(sb.currentThread).toBe(thread);
      const level = thread.levels[thread.levels.length - 1];
      expect(level.kind).toBe('call-back');
      expect(sb.machine.sp).toBe(level.low);
      checkChains();
      if (t.throws) {
        seen.throws++;
        throw new Error(`thrown by a ${t.driver} call-back`);
      }
      seen.crossThread += t.body.filter((c) => c.thread !== t.thread).length;
      return t.body.reduce((s, c) => (s + run(c)) | 0, 0);
    };
    return call(t, thread, body, (fn, args) => fn.on(thread)(...args) as JsValue);
  };

  it('matches the model, with every frame in place, for random trees across three threads', () => {
    fc.assert(
      fc.property(treeAt(3), (t) => {
        poison();
        let expected: number | ModelThrow;
        try {
          expected = model(t);
        } catch (e) {
          expected = e as ModelThrow;
        }
        let got: number | CallbackError;
        try {
          got = run(t);
        } catch (e) {
          if (!(e instanceof CallbackError)) throw e;
          got = e;
        }
        if (expected instanceof ModelThrow) {
          expect(got).toBeInstanceOf(CallbackError);
          expect((got as CallbackError).chain.length).toBe(expected.depth);
        } else {
          expect(got).toBe(expected);
        }
        for (const th of threads) expect(th.idle).toBe(true);
      }),
      { numRuns: 40, seed: 0x5eed + abi.length + dir.length },
    );
    expect(seen.levels).toBeGreaterThanOrEqual(8);
    expect(seen.crossThread).toBeGreaterThan(10);
    expect(seen.throws).toBeGreaterThan(2);
  });

  it('matches the model when threads interleave async call-backs in scheduler-chosen orders, one failing without disturbing the others', async () => {
    const perThread = (th: number) => treeAt(2).map(function pin(t: Tree): Tree {
      return { ...t, thread: th, body: t.body.map(pin) };
    });
    let asyncThrows = 0;
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), perThread(0), perThread(1), perThread(2), async (s, ...trees) => {
        poison();
        const runAsync = async (t: Tree): Promise<number> => {
          const thread = threads[t.thread];
          const body = async (): Promise<number> => {
            await s.schedule(Promise.resolve(), `${thread.name} ${t.driver}`);
            expect(sb.currentThread).toBe(thread);
            checkChains();
            if (t.throws) {
              asyncThrows++;
              throw new Error(`thrown by an async ${t.driver} call-back`);
            }
            let sum = 0;
            for (const c of t.body) sum = (sum + (await runAsync(c))) | 0;
            return sum;
          };
          return call(t, thread, body, (fn, args) => fn.on(thread).async(...args));
        };
        const outcome = (p: Promise<number>) => p.then((v) => v, (e: unknown) => {
          if (!(e instanceof CallbackError)) throw e;
          return `thrown through ${e.chain.length} call-backs`;
        });
        const expected = (t: Tree) => {
          try {
            return model(t);
          } catch (e) {
            return `thrown through ${(e as ModelThrow).depth} call-backs`;
          }
        };
        const results = await s.waitFor(Promise.all(trees.map((t) => outcome(runAsync(t)))));
        expect(results).toEqual(trees.map(expected));
        for (const th of threads) expect(th.idle).toBe(true);
        expect(sb.machine.sp).toBe(sb.mainThread.stack.top);
      }),
      { numRuns: 25, seed: 0xa5 + abi.length + dir.length },
    );
    expect(seen.busyThreads).toBe(3);
    expect(asyncThrows).toBeGreaterThan(2);
  });

  /** One node: the driver's C function with a call-back whose body is `body` (sync or async). */
  function call<R extends number | Promise<number>>(t: Tree, _thread: GuestThread, body: () => R, invoke: (fn: ForeignFunction, args: unknown[]) => JsValue | Promise<JsValue>): R {
    const after = <V>(v: R | V, f: (s: number) => V): V | Promise<V> => (v instanceof Promise ? v.then(f) : f(v as number));
    const cb = (v: JsValue) => after(body(), (s) => ((v as number) + 1 + s) | 0);
    const done = (r: JsValue | Promise<JsValue>, f: (x: JsValue) => number) => (r instanceof Promise ? r.then(f) : f(r)) as R;
    switch (t.driver) {
      case 'apply': return done(invoke(fns.apply, [cb, t.n, t.x]), (r) => r as number);
      case 'compose': return done(invoke(fns.compose, [cb, (v: JsValue) => Math.imul(v as number, 3), t.x]), (r) => r as number);
      case 'pair': return done(invoke(fns.pair, [(a: JsValue, b: JsValue) => after(body(), (s) => ({ first: ((a as number) + s) | 0, second: ((b as number) - s) | 0 })), t.x, t.x + 1]),
        (r) => ((r as { first: number; second: number }).first + (r as { first: number; second: number }).second) | 0);
      case 'nested': return done(invoke(fns.nested, [(d: JsValue) => after(body(), (s) => ((d as number) + s) | 0), t.x]), (r) => r as number);
    }
  }
});
