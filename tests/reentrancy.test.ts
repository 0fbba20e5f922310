// Reentrancy on every convention, against GCC-compiled callers: variadic call-backs,
// guest threads (synchronous nesting across threads, and async interleaving), returns
// out of LIFO order, the moving-object hazard with a naive variant that must fail,
// and bad input leaving the sandbox usable. Registers and stacks are poisoned first.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Sandbox } from '../sandbox/sandbox.ts';
import { HAND_FIXTURE_DIRS, HAND_FIXTURE_ABIS, fixtureObjects, fixtureTypes } from '../sandbox/fixtures.ts';
import { CallbackError, type VarArgs } from '../sandbox/callback.ts';
import { FrameStackExhaustedError, ReturnOrderError, type GuestThread } from '../sandbox/guest-thread.ts';
import { FrameCorruptedError } from '../sandbox/callout.ts';
import { MovingObjectHeap, EVACUATED } from '../sandbox/object-heap.ts';
import { ValueError, type JsValue } from '../layout/values.ts';
import { ArgumentCountError } from '../sandbox/callout.ts';
import { UnicornClosedError } from '../emu/unicorn.ts';

const types = fixtureTypes();
const num = (v: JsValue | VarArgs) => v as number;

/** djb2 as checksum_after_cb computes it, in 32-bit unsigned arithmetic. */
function djb2(s: string): number {
  let h = 5381;
  for (const b of new TextEncoder().encode(s)) h = (Math.imul(h, 33) + b) >>> 0;
  return h;
}

describe.each(HAND_FIXTURE_ABIS.flatMap((abi) => HAND_FIXTURE_DIRS[abi].map((dir) => ({ abi, dir }))))('reentrancy on $abi ($dir)', ({ abi, dir }) => {
  let sb: Sandbox;
  let A: GuestThread;
  let B: GuestThread;
  beforeAll(async () => {
    sb = await Sandbox.open(abi, { poison: 0xa5, checkFrames: 'all' });
    sb.declare(types);
    sb.load(...fixtureObjects(dir));
    A = sb.thread('A', { stackSize: 1024 * 1024 });
    B = sb.thread('B', { stackSize: 256 * 1024 });
  });
  afterAll(() => sb.close());
  // Every test ends balanced: no level left on any thread, the CPU back on the main stack's top.
  afterEach(() => {
    expect(sb.threads.every((t) => t.idle)).toBe(true);
    expect(sb.machine.sp).toBe(sb.mainThread.stack.top);
  });
  const poison = () => {
    sb.machine.poisonRegisters(0x5a);
    for (const t of sb.threads) sb.machine.poisonMemory(t.stack.top, Math.min(64 * 1024, t.stack.top - t.stack.bottom), 0x5a);
  };
  const allIdle = () => sb.threads.every((t) => t.idle);
  const apply = () => sb.func('int apply_n(int (*f)(int), int n, int x)');

  describe('variadic call-backs', () => {
    it('reads int variadic arguments (f(3, 10, 20, 30))', () => {
      poison();
      const seen: JsValue[] = [];
      const f = sb.callback('int (int n, ...)', (n, va) => {
        for (let k = 0; k < num(n); k++) seen.push((va as VarArgs).next('int'));
        return 1000 + seen.reduce<number>((a, b) => a + (b as number), 0);
      });
      expect(sb.func('int call_variadic_cb(int (*f)(int n, ...))')(f)).toBe(1060);
      expect(seen).toEqual([10, 20, 30]);
    });

    it('reads double variadic arguments (f(2, 1.5, 2.5))', () => {
      poison();
      const f = sb.callback('double (int n, ...)', (n, va) => {
        const v = va as VarArgs;
        const xs = Array.from({ length: num(n) }, () => v.next('double') as number);
        expect(xs).toEqual([1.5, 2.5]);
        return xs[0] * 100 + xs[1];
      });
      expect(sb.func('double call_variadic_double_cb(double (*f)(int n, ...))')(f)).toBe(152.5);
    });

    it('reads int, double, long long and a promoted float in order', () => {
      poison();
      let got: JsValue[] = [];
      const f = sb.callback('double (int n, ...)', (n, va) => {
        const v = va as VarArgs;
        got = [n as JsValue, v.next('int'), v.next('double'), v.next('long long'), v.next('double')];
        return 3.5;
      });
      expect(sb.func('double call_variadic_mixed_cb(double (*f)(int n, ...))')(f)).toBe(7);
      expect(got).toEqual([4, 7, 2.5, 2n ** 40n, 0.25]);
    });

    it('reads a struct passed through the variadic part', () => {
      poison();
      const f = sb.callback('int (int n, ...)', (_n, va) => {
        const p = (va as VarArgs).next('struct Point') as { x: number; y: number };
        return p.x * 1000 + p.y;
      });
      expect(sb.func('int call_variadic_struct_cb(int (*f)(int n, ...), int x, int y)')(f, 12, -34)).toBe(12 * 1000 - 34);
    });

    it('refuses a type that default promotions never pass, and the next call works', () => {
      poison();
      const f = sb.callback('int (int n, ...)', (_n, va) => (va as VarArgs).next('float') as number);
      const call = sb.func('int call_variadic_cb(int (*f)(int n, ...))');
      let err: unknown;
      try { call(f); } catch (e) { err = e; }
      expect(err).toBeInstanceOf(CallbackError);
      expect((err as CallbackError).original).toBeInstanceOf(ValueError);
      expect((err as Error).message).toMatch(/variadic argument 1 .*float arrives as double/);
      expect(apply()((x: JsValue) => num(x) + 1, 2, 1)).toBe(3);
      expect(allIdle()).toBe(true);
    });
  });

  describe('guest threads', () => {
    it('thread B makes call-outs while thread A is inside a call-back; A\'s stack is untouched', () => {
      poison();
      const onA = apply().on(A);
      const onB = apply().on(B);
      let snapshot: Uint8Array = new Uint8Array();
      let low = 0;
      const r = onA((x: JsValue) => {
        const level = A.levels[A.levels.length - 1];
        expect(level.kind).toBe('call-back');
        low = level.low;
        snapshot = sb.machine.read(low, A.stack.top - low);
        // On B, with B's own nested call-back; the call-outs made from there default to B.
        const fromB = onB((y: JsValue) => {
          expect(sb.currentThread).toBe(B);
          const inner = apply()((z: JsValue) => num(z) * 2, 3, num(y));
          expect(B.levels.length).toBe(2);
          return inner;
        }, 2, num(x));
        for (const l of B.levels) expect(l.low).toBeGreaterThanOrEqual(B.stack.bottom);
        expect(B.idle).toBe(true);
        expect(sb.machine.read(low, A.stack.top - low)).toEqual(snapshot);
        return fromB;
      }, 1, 1);
      expect(r).toBe(64); // x=1 -> B: y=1 -> *8 = 8 -> *8 = 64
      expect(allIdle()).toBe(true);
      expect(low).toBeLessThan(A.stack.top);
      expect(low).toBeGreaterThan(A.stack.bottom);
    });

    it('nests across threads: frames of each thread stay in its own stack, below its previous level', () => {
      poison();
      const fs = [sb.mainThread, A, B].map((t) => apply().on(t));
      const seen: { thread: string; low: number }[] = [];
      const go = (depth: number): number => num(fs[depth % 3]((x: JsValue) => {
        const t = sb.currentThread;
        const level = t.levels[t.levels.length - 1];
        seen.push({ thread: t.name, low: level.low });
        expect(level.low).toBeGreaterThan(t.stack.bottom);
        expect(level.low).toBeLessThan(t.stack.top);
        return depth >= 11 ? num(x) + 1 : go(depth + 1) + num(x);
      }, 1, depth));
      // level d adds d, innermost adds 1: 1 + sum(0..11)
      expect(go(0)).toBe(1 + 66);
      for (const name of ['main', 'A', 'B']) {
        const lows = seen.filter((s) => s.thread === name).map((s) => s.low);
        expect(lows.length).toBe(4);
        for (let i = 1; i < lows.length; i++) expect(lows[i]).toBeLessThan(lows[i - 1]);
      }
      expect(allIdle()).toBe(true);
    });

    it('interleaves two threads\' async call-backs: A returns while B is still inside one', async () => {
      poison();
      let openB!: () => void;
      const gateB = new Promise<void>((r) => { openB = r; });
      const order: string[] = [];
      const b = apply().on(B).async(async (x: JsValue) => {
        order.push('B in');
        await gateB;
        order.push('B out');
        return num(x) + 100;
      }, 1, 1);
      const a = apply().on(A).async(async (x: JsValue) => {
        order.push('A in');
        await Promise.resolve();
        order.push('A out');
        return num(x) * 3;
      }, 2, 5);
      expect(await a).toBe(45);
      expect(B.levels.map((l) => l.kind)).toEqual(['call-out', 'call-back']);
      openB();
      expect(await b).toBe(101);
      expect(order).toEqual(['B in', 'A in', 'A out', 'A in', 'A out', 'B out']);
      expect(allIdle()).toBe(true);
    });

    it('nests async call-backs to depth 1000 on thread A while thread B keeps calling out', async () => {
      poison();
      const nested = sb.func('int call_nested(int (*f)(int depth), int depth)');
      const onA = nested.on(A);
      let bCalls = 0;
      const lows: number[] = [];
      const cb = async (d: JsValue): Promise<number> => {
        lows.push(A.levels[A.levels.length - 1].low);
        if (num(d) % 100 === 0) {
          // Another thread's work between levels: its frames never touch A's stack.
          expect(apply().on(B)((x: JsValue) => num(x) + 1, 2, num(d))).toBe(num(d) + 2);
          bCalls++;
          await new Promise((r) => setTimeout(r, 0));
        }
        return num(d) <= 0 ? 0 : 1 + num(await onA.async(cb, num(d) - 1));
      };
      const r = await onA.async(cb, 1000);
      // call_nested returns f(depth) + depth, so each level adds 1 + (its depth - 1)
      expect(r).toBe(1000 + 1000 * 1001 / 2);
      expect(bCalls).toBe(11);
      expect(lows.length).toBe(1001);
      for (let i = 1; i < lows.length; i++) expect(lows[i]).toBeLessThan(lows[i - 1]);
      expect(lows[lows.length - 1]).toBeGreaterThan(A.stack.bottom);
      expect(allIdle()).toBe(true);
    });

    it('a thread whose stack cannot hold another frame reports it, and stays usable', () => {
      poison();
      const small = sb.thread('small', { stackSize: 16 * 1024 });
      const nested = sb.func('int call_nested(int (*f)(int depth), int depth)').on(small);
      const cb = (d: JsValue): number => (num(d) <= 0 ? 0 : 1 + num(nested(cb, num(d) - 1)));
      let err: unknown;
      try { nested(cb, 500); } catch (e) { err = e; }
      expect(err).toBeInstanceOf(CallbackError);
      expect((err as CallbackError).original).toBeInstanceOf(FrameStackExhaustedError);
      expect((err as Error).message).toMatch(/thread 'small': a call frame down to 0x[0-9a-f]+ does not fit above the stack bottom/);
      expect(small.idle).toBe(true);
      expect(nested(cb, 3)).toBe(3 + 3 + 2 + 1);
    });

    it('a call-back released while it runs finishes its call; the next call through it is an error', () => {
      poison();
      const self = sb.callback('int (int)', (x) => { self.release(); return num(x) + 1; });
      const call = apply();
      expect(call(self, 1, 1)).toBe(2);
      expect(() => call(self, 1, 1)).toThrow(/was called after release/);
      expect(allIdle()).toBe(true);
    });

    it('reports an async call-back that returns while a deeper one on its thread is active', async () => {
      poison();
      const onA = apply().on(A);
      let openInner!: () => void;
      const gate = new Promise<void>((r) => { openInner = r; });
      let inner: Promise<JsValue> | undefined;
      const outer = onA.async(async (x: JsValue) => {
        inner = onA.async(async (y: JsValue) => { await gate; return num(y) + 1; }, 1, 1);
        await Promise.resolve();
        return num(x) + 1;
      }, 1, 10);
      const err = await outer.then(() => undefined, (e: unknown) => e);
      expect(err).toBeInstanceOf(ReturnOrderError);
      expect((err as Error).message).toMatch(/thread 'A' returned while deeper levels are still active/);
      expect((err as ReturnOrderError).live.length).toBe(2);
      // The deeper call still completes correctly; then the thread is empty again.
      expect(A.levels.length).toBe(4);
      openInner();
      expect(await inner).toBe(2);
      expect(A.idle).toBe(true);
      expect(onA((x: JsValue) => num(x) + 1, 3, 0)).toBe(3);
    });

    it('with outOfOrderReturn "wait", holds such a return until the deeper call has returned', async () => {
      const sw = await Sandbox.open(abi, { poison: 0xa5, checkFrames: 'all', outOfOrderReturn: 'wait' });
      try {
        sw.load(...fixtureObjects(dir));
        const T = sw.thread('T');
        const onT = sw.func('int apply_n(int (*f)(int), int n, int x)').on(T);
        let openInner!: () => void;
        const gate = new Promise<void>((r) => { openInner = r; });
        const order: string[] = [];
        let inner: Promise<JsValue> | undefined;
        const outer = onT.async(async (x: JsValue) => {
          inner = onT.async(async (y: JsValue) => { await gate; return num(y) + 1; }, 1, 1).then((v) => { order.push('inner'); return v; });
          await Promise.resolve();
          order.push('outer call-back returns');
          return num(x) + 1;
        }, 1, 10).then((v) => { order.push('outer'); return v; });
        await new Promise((r) => setTimeout(r, 5));
        expect(order).toEqual(['outer call-back returns']);
        expect(T.levels.length).toBe(4);
        openInner();
        expect(await outer).toBe(11);
        expect(await inner).toBe(2);
        expect(order).toEqual(['outer call-back returns', 'inner', 'outer']);
        expect(T.idle).toBe(true);
      } finally {
        sw.close();
      }
    });

    it('closing the sandbox while an async call-back awaits ends that call with a clear error, not a crash', async () => {
      const sc = await Sandbox.open(abi);
      sc.load(...fixtureObjects(dir));
      let open!: () => void;
      const gate = new Promise<void>((r) => { open = r; });
      const pending = sc.func('int apply_n(int (*f)(int), int n, int x)').async(async (x: JsValue) => { await gate; return num(x) + 1; }, 1, 1);
      sc.close();
      open();
      await expect(pending).rejects.toThrow(UnicornClosedError);
      expect(() => sc.func('int apply_n(int (*f)(int), int n, int x)')((x: JsValue) => x, 1, 1)).toThrow(UnicornClosedError);
    });

    it('reports a guest longjmp that returns from an outer call-out while an inner one is active', () => {
      poison();
      const escapeNow = sb.func('void escape_now(void)');
      const through = sb.func('int escape_through(int (*f)(int), int x)');
      // Without the jump it is an ordinary call.
      expect(through((x: JsValue) => num(x) * 2, 21)).toBe(43);
      let err: unknown;
      try {
        through(() => { escapeNow(); return 0; }, 1);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(CallbackError);
      const original = (err as CallbackError).original;
      expect(original).toBeInstanceOf(ReturnOrderError);
      expect((original as Error).message).toMatch(/call-out escape_through .* returned while deeper levels are still active: call-out escape_now/);
      expect(allIdle()).toBe(true);
      expect(apply()((x: JsValue) => num(x) + 5, 2, 0)).toBe(10);
    });

    it('leaves every register as it found it: after a result, and after an exception from depth 5', () => {
      poison();
      const regs = Object.entries(sb.machine.target.registers).filter(([, r]) => r.kind === 'int' || r.kind === 'fp' || r.kind === 'vec').map(([n]) => n);
      const snapshot = () => Object.fromEntries(regs.map((r) => [r, Array.from(sb.machine.readRegBytes(r)).join(' ')]));
      const before = snapshot();
      expect(apply()((x: JsValue) => num(x) * 2, 3, 1)).toBe(8);
      expect(snapshot()).toEqual(before);
      const nested = sb.func('int call_nested(int (*f)(int depth), int depth)');
      const cb = (d: JsValue): number => {
        if (num(d) === 0) throw new Error('at the bottom');
        return num(nested(cb, num(d) - 1));
      };
      expect(() => nested(cb, 5)).toThrow(/at the bottom/);
      expect(snapshot()).toEqual(before);
      expect(allIdle()).toBe(true);
    });

    it('a write into an outer frame is caught at the next return (canaries of every frame checked)', () => {
      poison();
      const onMain = apply();
      let err: unknown;
      try {
        onMain(() => {
          const outer = sb.mainThread.levels[0];
          sb.machine.write(outer.canary!, new Uint8Array([0]));
          return apply()((y: JsValue) => num(y), 1, 1);
        }, 1, 1);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(CallbackError);
      expect((err as CallbackError).original).toBeInstanceOf(FrameCorruptedError);
      expect((err as Error).message).toMatch(/call-out apply_n on thread 'main' \(checked when call-back #\d+ int \(int\) called from apply_n/);
      expect(allIdle()).toBe(true);
      expect(onMain((x: JsValue) => num(x) + 1, 1, 1)).toBe(2);
    });
  });

  describe('the moving-object hazard', () => {
    // filler | target | victim in one space; a call-back frees the filler and collects twice,
    // so every object moves and the target's old address now lies inside live objects.
    const setup = (target: Uint8Array | string) => {
      const heap = new MovingObjectHeap(sb.machine, 4096);
      const filler = heap.allocate(new Uint8Array(48).fill(0x11));
      const obj = heap.allocate(target);
      const victim = heap.allocate(new Uint8Array(64).fill(0x77));
      const before = obj.location;
      const during = () => {
        heap.free(filler);
        heap.collect();
        heap.collect();
      };
      const victimIntact = () => victim.contents().every((b) => b === 0x77);
      return { heap, obj, victim, before, during, victimIntact };
    };

    it('string arguments are copied into region 1 and survive a collection during the call', () => {
      poison();
      const text = 'the quick brown fox jumps over the lazy dog';
      const { heap, obj, before, during, victimIntact } = setup(text);
      const f = sb.func('unsigned checksum_after_cb(const char *s, void (*during)(void))');
      const { value, record } = f.callWithRecord([obj, during]);
      expect(value).toBe(djb2(text));
      expect(obj.location).not.toBe(before);
      expect(heap.collections).toBe(2);
      expect(victimIntact()).toBe(true);
      // The pointer the callee got points into region 1 of the frame, not into the object heap.
      const passed = sb.machine.readPointer(record.args[0].pieces[0].address);
      expect(passed).toBeGreaterThanOrEqual(record.frameBase);
      expect(passed).toBeLessThan(record.frameTop);
      expect(heap.contains(passed)).toBe(false);
    });

    it('naive variant: a pointer into the object heap kept across the call reads moved memory', () => {
      poison();
      const text = 'the quick brown fox jumps over the lazy dog';
      const { obj, during } = setup(text);
      const f = sb.func('unsigned checksum_after_cb(const char *s, void (*during)(void))');
      expect(f(obj.location, during)).not.toBe(djb2(text));
    });

    it('buffers are copied back to where the object is after the call', () => {
      poison();
      const { obj, before, during, victimIntact } = setup(new Uint8Array(24));
      const f = sb.func('int fill_after_cb(char *buf, int n, char first, void (*during)(void))');
      expect(f(obj, 24, 65, during)).toBe(24);
      expect(obj.location).not.toBe(before);
      expect(Array.from(obj.contents())).toEqual(Array.from({ length: 24 }, (_, k) => 65 + k));
      expect(victimIntact()).toBe(true);
    });

    it('naive variant: the callee writes a buffer at its old address and hits the victim', () => {
      poison();
      const { obj, during, victimIntact } = setup(new Uint8Array(24));
      const f = sb.func('int fill_after_cb(char *buf, int n, char first, void (*during)(void))');
      f(obj.location, 24, 65, during);
      expect(Array.from(obj.contents())).not.toEqual(Array.from({ length: 24 }, (_, k) => 65 + k));
      expect(victimIntact()).toBe(false);
    });

    const s24 = (x: number) => ({ a: BigInt(x) << 33n, b: x + 1, c: x + 2, d: x + 3, e: x + 4, f: x * 0.5 });

    it('a struct result is built in region 1 and copied to the object\'s new place', () => {
      poison();
      const { heap, obj, before, during, victimIntact } = setup(new Uint8Array(32));
      const f = sb.func('struct S24 s24_after_cb(void (*during)(void), int x)');
      const { record } = f.callWithRecord([during, 9]);
      expect(record.resultAddress).toBeGreaterThanOrEqual(record.frameBase);
      expect(record.resultAddress).toBeLessThan(record.frameTop);
      const moved = obj.location;
      expect(f.into(obj)(() => heap.collect(), 5)).toEqual(s24(5));
      expect(obj.location).not.toBe(moved);
      expect(obj.location).not.toBe(before);
      expect(sb.read('struct S24', obj.location)).toEqual(s24(5));
      expect(victimIntact()).toBe(true);
    });

    it('naive variant: the hidden pointer kept across the call writes into moved memory', () => {
      poison();
      const { obj, during, victimIntact } = setup(new Uint8Array(32));
      const f = sb.func('struct S24 s24_after_cb(void (*during)(void), int x)');
      f.into(obj.location)(during, 5);
      expect(sb.read('struct S24', obj.location)).not.toEqual(s24(5));
      expect(victimIntact()).toBe(false);
    });

    it('the evacuated space is poisoned, so stale reads cannot pass by luck', () => {
      const { heap, obj, before } = setup('x');
      heap.collect();
      expect(sb.machine.read(before, 2).every((b) => b === EVACUATED)).toBe(true);
      expect(obj.contents()).toEqual(new TextEncoder().encode('x\0'));
    });
  });

  describe('bad input leaves the sandbox usable', () => {
    it('wrong argument count, JS type, range, struct field and call-back result: each named, then the next call works', () => {
      poison();
      const f = apply();
      const tries: [() => unknown, RegExp, unknown][] = [
        [() => f((x: JsValue) => x, 1), /expected 3 arguments, got 2/, ArgumentCountError],
        [() => f((x: JsValue) => x, 'two', 1), /argument 2 'n' \(int\): expected/, ValueError],
        [() => f((x: JsValue) => x, 2 ** 31, 1), /argument 2 'n' \(int\)/, ValueError],
        [() => sb.func('int visit_points(const struct Point *pts, int n, int (*visit)(struct Point p, int index))')([{ x: 1, y: 'no' }], 1, () => 0), /argument 1 'pts'.*\[0\]\.y/, ValueError],
        [() => f(() => 'not a number', 1, 1), /call-back result/, CallbackError],
        [() => f(() => 2 ** 40, 1, 1), /call-back result/, CallbackError],
      ];
      for (const [call, message, type] of tries) {
        let err: unknown;
        try { call(); } catch (e) { err = e; }
        expect(err).toBeInstanceOf(type as new () => Error);
        expect((err as Error).message).toMatch(message);
        expect(allIdle()).toBe(true);
        expect(f((x: JsValue) => num(x) + 1, 4, 0)).toBe(4);
      }
    });
  });
});
