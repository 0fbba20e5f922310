// Inputs that once escaped as untyped errors (TypeError, RangeError), were silently rounded or
// accepted, or took seconds before being refused. Each is now a typed AbiscopeError that names
// what it concerns, refused before the work it would have cost (and before the C function runs),
// and the sandbox goes on working.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AbiscopeError } from '../errors.ts';
import { Sandbox } from '../sandbox/sandbox.ts';
import { parseDeclarations, parseSignature, parseType, PARSE_LIMITS, SignatureError } from '../ctypes/parse.ts';
import { layoutOf, LayoutError } from '../layout/layout.ts';
import { encodeToBytes, encodeValue, ValueError, VALUE_LIMITS } from '../layout/values.ts';
import { HeapError } from '../emu/heap.ts';
import { CallbackError } from '../sandbox/callback.ts';
import { UsageError } from '../errors.ts';
import { convention } from '../backends/registry.ts';
import type { AbiName } from '../backends/registry.ts';

const CONVENTIONS: [AbiName, string][] = [['i386-sysv', 'i386'], ['x86_64-sysv', 'x86_64'], ['arm-aapcs', 'armel'], ['arm-aapcs-vfp', 'armhf'], ['ppc32-sysv', 'ppc32'], ['aarch64-aapcs64', 'aarch64']];
const dm32 = convention('i386-sysv').dataModel;
const dm64 = convention('x86_64-sysv').dataModel;
const dmBig = convention('ppc32-sysv').dataModel;

/** The error `f` throws, which must be of `type` (never a TypeError or RangeError). */
function thrown<E extends Error>(f: () => unknown, type: abstract new (...a: never[]) => E): E {
  let caught: unknown;
  try {
    f();
  } catch (e) {
    caught = e;
  }
  if (caught === undefined) throw new Error('expected an error, got none');
  if (!(caught instanceof type)) throw new Error(`expected a ${type.name}, got ${String(caught)}`, { cause: caught });
  expect(caught).toBeInstanceOf(AbiscopeError);
  return caught;
}

/** Milliseconds `f` takes. */
function timed(f: () => void): number {
  const t0 = performance.now();
  f();
  return performance.now() - t0;
}

describe('1. nesting: a SignatureError at the level past the limit, never a stack overflow', () => {
  const limit = PARSE_LIMITS.depth;
  const nest = (open: string, inner: string, close: string, n: number) => open.repeat(n) + inner + close.repeat(n);

  it(`function pointer parameters ${3000} deep, and just below the limit`, () => {
    const deep = `int f(${nest('int (*)(', 'int', ')', 3000)})`;
    const e = thrown(() => parseSignature(deep), SignatureError);
    expect(e.reason).toContain(`nesting deeper than ${limit} levels`);
    // `int f(` and each `int (*)(` leave a parameter list open: 200 levels at the 199th; the
    // 200th's `(*)` is level 201.
    expect(e.offset).toBe('int f('.length + 199 * 'int (*)('.length + 'int '.length);
    expect(e.column).toBe(e.offset + 1);
    // The types are deeper still: a pointer and a function for each, and the int. 99 of them
    // make f's type exactly 200 deep; with 100, f's parameter alone is 201 deep, refused where it starts.
    expect(parseSignature(`int f(${nest('int (*)(', 'int', ')', 99)})`).params).toHaveLength(1);
    const deepType = thrown(() => parseSignature(`int f(${nest('int (*)(', 'int', ')', 100)})`), SignatureError);
    expect(deepType.reason).toBe(`the type is nested ${limit + 1} levels deep; abiscope allows ${limit} (each pointer, array, function and struct/union level adds one)`);
    expect(deepType.offset).toBe('int f(int ('.length); // its `*`
  });

  it('struct definitions, parentheses, expressions and unary operators', () => {
    const cases: [string, () => unknown][] = [
      ['struct', () => parseDeclarations(nest('struct A { ', 'int x;', ' } a;', 3000))],
      ['declarator parentheses', () => parseType(`int ${nest('(', '*p', ')', 3000)}`)],
      ['expression parentheses', () => parseType(`char [${nest('(', '1', ')', 3000)}]`)],
      ['unary minus', () => parseType(`char [${'-'.repeat(3001)}1]`)],
      ['enum value expression', () => parseDeclarations(`enum E { A = ${nest('(', '1', ')', 5000)} };`)],
      ['aligned() expression', () => parseDeclarations(`struct S { int x; } __attribute__((aligned(${nest('(', '8', ')', 5000)})));`)],
    ];
    for (const [what, f] of cases) {
      const e = thrown(f, SignatureError);
      expect(e.reason, what).toContain(`nesting deeper than ${limit} levels`);
    }
    // 200 levels of struct bodies are fine (each is a level of the type too: 200 deep).
    expect(() => parseDeclarations(nest('struct A { ', 'int x;', ' } a;', limit - 1))).not.toThrow();
  });

  it('pointers and array suffixes: refused as they are written', () => {
    const stars = thrown(() => parseType(`int ${'*'.repeat(100_000)}`), SignatureError);
    expect(stars.reason).toBe(`more than ${limit} levels of pointers in one declarator`);
    expect(stars.offset).toBe(4 + limit);
    const arrays = thrown(() => parseType(`int x${'[1]'.repeat(3000)}`), SignatureError);
    expect(arrays.reason).toBe(`more than ${limit} array and function suffixes in one declarator`);
    // 199 stars make a type 200 deep (the int is one level): fine; 200 stars are one too many.
    expect(parseType(`int ${'*'.repeat(limit - 1)}`).kind).toBe('pointer');
    expect(thrown(() => parseType(`int ${'*'.repeat(limit)}`), SignatureError).reason)
      .toBe(`the type is nested ${limit + 1} levels deep; abiscope allows ${limit} (each pointer, array, function and struct/union level adds one)`);
  });

  it('typedefs that each add a pointer: the type that is too deep is named', () => {
    let text = 'typedef int T0;';
    for (let i = 1; i < 3000; i++) text += ` typedef T${i - 1} *T${i};`;
    const e = thrown(() => parseDeclarations(text), SignatureError);
    expect(e.reason).toMatch(new RegExp(`^the type of 'T${limit}' is nested ${limit + 1} levels deep; abiscope allows ${limit}`));
    expect(text.slice(e.offset, e.offset + `T${limit};`.length)).toBe(`T${limit};`);
  });

  it('a hand-made CType that contains itself, or is too deep, is a LayoutError', () => {
    const s: { kind: 'struct'; tag: string; fields: { name: string; type: unknown }[] } = { kind: 'struct', tag: 'Loop', fields: [] };
    s.fields.push({ name: 'self', type: s });
    expect(thrown(() => layoutOf(s as never, dm64), LayoutError).message).toContain('contains itself');
    let deep: unknown = { kind: 'scalar', name: 'int' };
    for (let i = 0; i < 10_000; i++) deep = { kind: 'array', element: deep, length: 1 };
    expect(thrown(() => layoutOf(deep as never, dm64), LayoutError).message).toMatch(/nested more than \d+ levels deep/);
  });
});

describe('2. sizes beyond 2^53 or the target: refused, never rounded', () => {
  it('array dimensions and integer constants', () => {
    expect(thrown(() => parseType('char [9007199254740993]'), SignatureError).reason).toBe('array size 9007199254740993 is out of range');
    expect(thrown(() => parseType('char [1e300]'), SignatureError).reason).toBe("floating-point constant '1e300' is not allowed here");
    // A 300-digit constant: too large for any C integer type, refused before BigInt reads it.
    const huge = thrown(() => parseType(`char [1${'0'.repeat(300)}]`), SignatureError);
    expect(huge.reason).toMatch(/^integer constant '10{27}\.\.\.0{28}' is too large \(the largest is 18446744073709551615\)$/);
    expect(thrown(() => parseType('char [0x10000000000000000]'), SignatureError).reason).toContain('is too large');
    expect(parseType('char [0xffffffffffffffff / 4096 / 4096 / 4096]')).toMatchObject({ length: 2 ** 28 - 1 });
    // Products of dimensions: each is below 2^53, the array is not.
    const product = thrown(() => parseDeclarations('struct S { char a[4503599627370496][4]; };'), SignatureError);
    expect(product.reason).toBe(`'a': 18014398509481984 array elements in all, more than ${Number.MAX_SAFE_INTEGER} (2^53 - 1), the largest size abiscope computes exactly`);
    // Intermediate values of a constant expression stay within 64 bits (a million-digit BigInt otherwise).
    expect(thrown(() => parseType(`char [${Array(5000).fill('4294967295').join(' * ')}]`), SignatureError).reason)
      .toBe("the constant expression overflows 64 bits at '*'");
  });

  it('enumerator values: implicit ones past 2^53 - 1 are refused by name', () => {
    const e = thrown(() => parseType('enum { A = 9007199254740990, B, C }'), SignatureError);
    expect(e.reason).toBe(`enumerator 'C' would have the value 9007199254740992, beyond ${Number.MAX_SAFE_INTEGER} (2^53 - 1), the largest abiscope represents exactly`);
    expect(e.offset).toBe('enum { A = 9007199254740990, B, '.length);
    expect(parseType('enum { A = 9007199254740990, B }')).toMatchObject({ members: [{ value: 9007199254740990 }, { value: 9007199254740991 }] });
  });

  it('types larger than the target allows, as GCC refuses them', () => {
    // GCC: "size of array 'b' is too large" on i386 beyond 2^31 - 1; x86-64 allows it.
    const big = parseType('char [2147483648]');
    expect(thrown(() => layoutOf(big, dm32), LayoutError).reason).toBe('size 2147483648 bytes exceeds 2147483647, the largest object on a 32-bit target');
    expect(layoutOf(big, dm64).size).toBe(2147483648);
    expect(layoutOf(parseType('char [2147483647]'), dm32).size).toBe(2147483647);
    // GCC: "type 'struct S' is too large": the member that crosses the limit is named.
    const s = parseType('struct S { char a[2147483640]; int b[4]; }');
    const e = thrown(() => layoutOf(s, dm32), LayoutError);
    expect({ type: e.typeName, field: e.field }).toEqual({ type: 'struct S', field: 'b' });
    expect(layoutOf(s, dm64).size).toBe(2147483656);
    // On 64-bit targets sizes are exact up to 2^53 - 1: one more byte is refused, not rounded.
    const edge = parseType('struct T { char a[9007199254740991]; int b; }');
    expect(thrown(() => layoutOf(edge, dm64), LayoutError)).toMatchObject({ typeName: 'struct T', field: 'b' });
    // 2^51 elements are fine for the parser (each has at least a byte); 2^54 bytes are not.
    expect(thrown(() => layoutOf(parseType('long long [1125899906842624][2]'), dm64), LayoutError).reason)
      .toBe(`size about ${2 ** 54} bytes exceeds ${Number.MAX_SAFE_INTEGER} (2^53 - 1), the largest size abiscope computes exactly`);
    expect(thrown(() => parseType('char [4503599627370496][2][2]'), SignatureError).reason).toContain('array elements in all');
  });

  it('a value larger than VALUE_LIMITS.bytes is refused before its bytes are filled (was 28 s for 2 GB)', () => {
    const big = parseType('struct Big { char a[2147483000]; }');
    let e: ValueError | undefined;
    expect(timed(() => { e = thrown(() => encodeToBytes(big, { a: 'x' }, 'v', { dm: dm32 }), ValueError); })).toBeLessThan(500);
    expect(e!.expected).toBe(`a value of at most ${VALUE_LIMITS.bytes} bytes (struct Big has 2147483000)`);
    // The path a call-out takes: encodeValue into its own buffer.
    expect(thrown(() => encodeValue(big, { a: 'x' }, new DataView(new ArrayBuffer(8)), 0, 'arg', { dm: dm32 }), ValueError).path).toBe('arg');
  });

  it('aligned(N): a power of two judged on the whole number, at most 2^28 (GCC\'s maximum)', () => {
    // 3 * 2^31 looks like a power of two to `n & (n - 1)`, which sees its low 32 bits.
    expect(thrown(() => parseDeclarations('struct S { int x; } __attribute__((aligned(6442450944)));'), SignatureError).reason)
      .toBe('requested alignment 6442450944 is not a positive power of 2');
    expect(thrown(() => parseDeclarations('struct S { int x; } __attribute__((aligned(536870912)));'), SignatureError).reason)
      .toBe('requested alignment 536870912 exceeds the maximum 268435456 (as in GCC for ELF targets)');
    expect(layoutOf(parseType('struct { char c; } __attribute__((aligned(268435456)))'), dm32).align).toBe(268435456);
  });
});

describe('3. many members: linear, with limits checked as they are reached', () => {
  it(`an enum of ${PARSE_LIMITS.members} members parses in well under a second; one more is refused`, () => {
    const members = (n: number) => Array.from({ length: n }, (_, i) => `E${i}`).join(', ');
    let parsed: ReturnType<typeof parseDeclarations> | undefined;
    // Was quadratic (a scan for duplicates per member): 100,000 members took 59 s.
    expect(timed(() => { parsed = parseDeclarations(`enum Big { ${members(PARSE_LIMITS.members)} };`); })).toBeLessThan(3000);
    expect(parsed!.scope.constants.get(`E${PARSE_LIMITS.members - 1}`)).toBe(PARSE_LIMITS.members - 1);
    const big = parsed!.scope.tags.get('Big')!;
    expect(layoutOf(big, dm64).size).toBe(4);
    const e = thrown(() => parseDeclarations(`enum Big { ${members(100_000)} };`), SignatureError);
    expect(e.reason).toBe(`more than ${PARSE_LIMITS.members} enumerators in one enum`);
  });

  it('declarations per text, members per struct, parameters per function', () => {
    const decls = Array.from({ length: PARSE_LIMITS.declarations + 1 }, (_, i) => `int v${i};`).join(' ');
    expect(thrown(() => parseDeclarations(decls), SignatureError).reason).toBe(`more than ${PARSE_LIMITS.declarations} declarations in one text`);
    const comma = `int ${Array.from({ length: PARSE_LIMITS.declarations + 1 }, (_, i) => `w${i}`).join(', ')};`;
    expect(thrown(() => parseDeclarations(comma), SignatureError).reason).toBe(`more than ${PARSE_LIMITS.declarations} declarations in one text`);
    const fields = `struct F { ${Array.from({ length: PARSE_LIMITS.members + 1 }, (_, i) => `int f${i};`).join(' ')} };`;
    expect(thrown(() => parseDeclarations(fields), SignatureError).reason).toBe(`more than ${PARSE_LIMITS.members} members in one struct`);
    const params = `void f(${Array.from({ length: PARSE_LIMITS.members + 1 }, () => 'int').join(', ')})`;
    expect(thrown(() => parseSignature(params), SignatureError).reason).toBe(`more than ${PARSE_LIMITS.members} parameters in one parameter list`);
  });

  it('a text longer than the limit is refused before it is tokenized; a long line is shown in part', () => {
    const text = ' '.repeat(PARSE_LIMITS.textLength) + 'int f(void)';
    const e = thrown(() => parseSignature(text), SignatureError);
    expect(e.reason).toBe(`the text has ${text.length} characters; abiscope parses texts of at most ${PARSE_LIMITS.textLength}`);
    const long = thrown(() => parseSignature(`int f(int a, ${'x'.repeat(500_000)})`), SignatureError);
    expect(long.message.length).toBeLessThan(3000);
  });

  it('a prototype that is not a string is a UsageError', () => {
    expect(thrown(() => parseSignature(42 as unknown as string), UsageError).message).toContain('not number');
  });
});

describe('4. long decimal strings for 64-bit integers: refused by their length at once', () => {
  it('ten million digits take no time; 20 digits is the most', () => {
    const ll = parseType('long long');
    const digits = '1'.repeat(10_000_000);
    let e: ValueError | undefined;
    expect(timed(() => { e = thrown(() => encodeToBytes(ll, digits, 'x', { dm: dm64 }), ValueError); })).toBeLessThan(200);
    expect(e!.expected).toContain(`a decimal string has at most ${VALUE_LIMITS.decimalDigits} digits`);
    expect(thrown(() => encodeToBytes(ll, `-${'9'.repeat(21)}`, 'x', { dm: dm64 }), ValueError).expected).toContain('at most 20 digits');
    // Leading zeros do not count; the range is checked as before.
    expect(encodeToBytes(ll, `-${'0'.repeat(30)}5`, 'x', { dm: dm64 })[0]).toBe(0xfb);
    expect(thrown(() => encodeToBytes(ll, '9223372036854775808', 'x', { dm: dm64 }), ValueError).expected).not.toContain('digits');
    expect([...encodeToBytes(parseType('unsigned long long'), '18446744073709551615', 'x', { dm: dm64 })]).toEqual(Array(8).fill(255));
  });
});

describe('on every convention', () => {
  for (const [abi, dir] of CONVENTIONS) {
    describe(abi, () => {
      let sb: Sandbox;
      const weigh = () => sb.func('int weigh_int2(int, int)')(5, 7);
      beforeAll(async () => {
        sb = await Sandbox.open(abi);
        for (const o of ['scalars', 'strings', 'faults', 'callbacks', 'many']) sb.load(`tests/fixtures/obj/${dir}/${o}.o`);
      });
      afterAll(() => sb.close());

      it('5. alloc: size and alignment validated before the heap changes; free of a non-block', () => {
        const before = sb.heapStats();
        const { size } = before;
        for (const [bytes, align] of [[16, 0], [16, 3], [16, -16], [16, 8192], [16, 1.5], [16, NaN], [-1, 16], [1.5, 16], [NaN, 16],
          [Infinity, 16], [size + 1, 16], [2 ** 53, 16]] as const) {
          const e = thrown(() => sb.alloc(bytes, align), HeapError);
          expect(e.message).toMatch(bytes === 16 ? /alignment .* must be a power of two from 1 to 4096/ : /cannot allocate .* bytes/);
        }
        expect(thrown(() => sb.alloc('16' as unknown as number), HeapError).message).toContain('"16"');
        expect(sb.heapStats()).toEqual(before);
        for (const align of [1, 2, 4, 8, 16, 64, 4096]) {
          const p = sb.alloc(24, align);
          expect(p % align).toBe(0);
          sb.write('int', p, 7);
          expect(sb.read('int', p)).toBe(7);
          sb.free(p);
        }
        const p = sb.alloc(0);
        sb.free(p);
        expect(thrown(() => sb.free(p), HeapError).message).toContain('not an allocated block');
        for (const bad of [p + 16, -1, NaN, undefined, '0x20000000']) thrown(() => sb.free(bad as number), HeapError);
        expect(sb.heapStats()).toEqual(before);
        expect(weigh()).toBe(31);
      });

      it('6. guest addresses: integers within the pointer range, as GuestPointerLike too', () => {
        const deref = sb.func('int deref(int *p)');
        const p = sb.alloc(4, 4);
        sb.write('int', p, 4242);
        expect(deref({ address: p })).toBe(4242);
        const max = sb.cc.dataModel.pointerSize === 8 ? 2 ** 53 : 2 ** 32;
        for (const address of [-1, 2 ** 40, 2 ** 53, 2 ** 64, 1.5, NaN, Infinity]) {
          if (address === 2 ** 40 && max > 2 ** 40) continue; // a valid (unmapped) address on x86-64
          const e = thrown(() => deref({ address }), ValueError);
          expect(e.path).toBe("argument 1 'p' (int *).address");
          expect(e.expected).toBe(`int * (a guest address from 0 to ${max - 1})`);
        }
        // sb.read and sb.write: an address, and the bytes from it within mapped memory.
        for (const address of [NaN, -4, 1.5, 2 ** 64, '0x10']) {
          expect(thrown(() => sb.read('int', address as number), ValueError).path).toBe('read int: address');
        }
        expect(thrown(() => sb.read('char [1000000000]', p), ValueError).expected).toContain('is not all mapped');
        expect(thrown(() => sb.write('int', 0, 1), ValueError).expected).toContain('is not all mapped');
        sb.free(p);
        expect(weigh()).toBe(31);
      });

      it('1. proxies, throwing getters and detached buffers: a ValueError naming the path', () => {
        const setPoint = sb.func('struct Point { int x; int y; }; struct Point *set_point(struct Point *p, int x, int y)');
        const fill = sb.func('void fill_ints(int *v, int n, int start)');
        const revoked = Proxy.revocable({ x: 1, y: 2 }, {});
        revoked.revoke();
        let e = thrown(() => setPoint(revoked.proxy, 1, 2), ValueError);
        expect(e.path).toBe("argument 1 'p' (struct Point *)");
        expect(e.cause).toBeInstanceOf(TypeError);
        const boom = new Error('getter says no');
        const getter = { x: 1, get y(): number { throw boom; } };
        e = thrown(() => setPoint(getter, 1, 2), ValueError);
        expect(e.path).toBe("(*argument 1 'p' (struct Point *)).y");
        expect(e.cause).toBe(boom);
        const trap = new Proxy({ x: 1, y: 2 }, { ownKeys() { throw new RangeError('no keys'); } });
        expect(thrown(() => setPoint(trap, 1, 2), ValueError).cause).toBeInstanceOf(RangeError);
        const revokedArray = Proxy.revocable([1, 2, 3], {});
        revokedArray.revoke();
        expect(thrown(() => fill(revokedArray.proxy, 3, 0), ValueError).path).toBe("argument 1 'v' (int *)");
        const elementTrap = new Proxy([1, 2, 3], { get(t, k) { if (k === '1') throw new Error('element 1'); return Reflect.get(t, k); } });
        expect(thrown(() => fill(elementTrap, 3, 0), ValueError).path).toBe("argument 1 'v' (int *)[1]");
        // Detached: transferred away by structuredClone (Node 20 has no ArrayBuffer.prototype.transfer).
        const ints = new Int32Array(3);
        structuredClone(ints.buffer, { transfer: [ints.buffer] });
        e = thrown(() => fill(ints, 3, 0), ValueError);
        expect(e.expected).toContain('is not detached');
        const buf = Buffer.alloc(8);
        structuredClone(buf.buffer, { transfer: [buf.buffer] });
        thrown(() => sb.func('int total_len(int argc, const char **argv)')(1, [buf]), ValueError);
        expect(weigh()).toBe(31);
      });

      it('1. a buffer detached during the call (by a call-back) is a ValueError after it, not a TypeError', () => {
        const f = sb.func('int fill_after_cb(char *buf, int n, char first, void (*during)(void))');
        const buf = new Uint8Array(4);
        const e = thrown(() => f(buf, 4, 65, () => { structuredClone(buf.buffer, { transfer: [buf.buffer] }); }), ValueError);
        expect(e.expected).toContain('was detached or shrunk during the call');
        const ok = new Uint8Array(4);
        expect(f(ok, 4, 65, () => undefined)).toBe(4);
        expect([...ok]).toEqual([65, 66, 67, 68]);
      });

      it('1. cyclic and too deep object graphs behind struct pointers', () => {
        const deref = sb.func('struct node { int v; struct node *next; }; int deref(struct node *p)');
        const loop: { v: number; next: unknown } = { v: 1, next: null };
        loop.next = loop;
        let e = thrown(() => deref(loop), ValueError);
        expect(e.path).toBe("(*argument 1 'p' (struct node *)).next");
        expect(e.expected).toContain("this object is also argument 1 'p' (struct node *), which points to it again");
        const a: { v: number; next: unknown } = { v: 1, next: null };
        a.next = { v: 2, next: { v: 3, next: a } };
        e = thrown(() => deref(a), ValueError);
        expect(e.path).toBe("(*(*(*argument 1 'p' (struct node *)).next).next).next");
        // A list (a DAG, no cycle) of the limit's length works; one more node is refused.
        const list = (n: number) => {
          let head: unknown = null;
          for (let i = n; i >= 1; i--) head = { v: i, next: head };
          return head;
        };
        expect(deref(list(VALUE_LIMITS.pointeeDepth))).toBe(1);
        e = thrown(() => deref(list(VALUE_LIMITS.pointeeDepth + 1)), ValueError);
        expect(e.expected).toContain(`at most ${VALUE_LIMITS.pointeeDepth} levels of objects behind pointers`);
        // The same object twice, not inside itself: no cycle.
        const shared = { v: 5, next: null };
        const pair = sb.func('struct node { int v; struct node *next; }; struct pair { struct node *a; struct node *b; }; int deref(struct pair *p)');
        expect(typeof pair({ a: shared, b: shared })).toBe('number');
        // An array containing itself behind `int **`.
        const self: unknown[] = [];
        self.push(self);
        thrown(() => sb.func('int deref(int **p)')(self), ValueError);
        expect(weigh()).toBe(31);
      });

      it('1. frozen or read-only out-parameters: refused before the C function runs', () => {
        const f = sb.func('int fill_after_cb(char *buf, int n, char first, void (*during)(void))');
        let ran = 0;
        const during = () => { ran++; };
        let e = thrown(() => f(Object.freeze([0, 0, 0]), 3, 65, during), ValueError);
        expect(e.path).toBe("argument 1 'buf' (char *)[0]");
        expect(e.expected).toContain('it is frozen');
        const partly = [0, 0, 0];
        Object.defineProperty(partly, 2, { value: 0, writable: false });
        e = thrown(() => f(partly, 3, 65, during), ValueError);
        expect(e.path).toBe("argument 1 'buf' (char *)[2]");
        expect(e.expected).toContain("'2' is read-only");
        expect(ran).toBe(0);
        const setPoint = sb.func('struct Point { int x; int y; }; struct Point *set_point(struct Point *p, int x, int y)');
        e = thrown(() => setPoint(Object.freeze({ x: 0, y: 0 }), 1, 2), ValueError);
        expect(e.path).toBe("(*argument 1 'p' (struct Point *)).x");
        const getterOnly = { x: 0, get y() { return 0; } };
        expect(thrown(() => setPoint(getterOnly, 1, 2), ValueError).path).toBe("(*argument 1 'p' (struct Point *)).y");
        // Copy-backs that can happen still do; a const pointer takes a frozen value.
        const p = { x: 0, y: 0 };
        setPoint(p, 3, 4);
        expect(p).toEqual({ x: 3, y: 4 });
        expect(sb.func('int deref(const int *p)')(Object.freeze([77]))).toBe(77);
        const arr = [0, 0, 0];
        expect(f(arr, 3, 65, during)).toBe(3);
        expect(arr).toEqual([65, 66, 67]);
        expect(ran).toBe(1);
      });

      it('copy-back keeps the JS values of pointers the C function left alone', () => {
        // total_len reads argv; argv is `const char **`, a pointer to non-const pointers:
        // it is copied back, and its strings are not replaced by the copies' (dead) addresses.
        const argv = ['ab', 'cde'];
        expect(sb.func('int total_len(int argc, const char **argv)')(2, argv)).toBe(2 + 3 * 2);
        expect(argv).toEqual(['ab', 'cde']);
        const node = { v: 9, next: { v: 10, next: null } };
        sb.func('struct node { int v; struct node *next; }; int deref(struct node *p)')(node);
        expect(node).toEqual({ v: 9, next: { v: 10, next: null } });
      });

      it('7. a call-back result is exactly its type: no boolean or BigInt for an int', () => {
        const apply = sb.func('int apply_n(int (*f)(int), int n, int x)');
        for (const bad of [true, 5n, 1.5, '5', null]) {
          const e = thrown(() => apply(() => bad, 1, 0), CallbackError);
          expect(e.original).toBeInstanceOf(ValueError);
          const v = e.original as ValueError;
          expect(v.path).toBe('call-back result of int (int)');
          expect(v.expected).toBe('int (an integer from -2147483648 to 2147483647, as a number)');
        }
        expect(apply((x: unknown) => (x as number) + 1, 3, 0)).toBe(3);
        expect(sb.func('int call_bool_cb(_Bool (*f)(int), int x)')(() => true, 1)).toBe(7);
        const ll = sb.func('long long call_llong_cb(long long (*f)(long long), long long x)');
        expect(typeof ll(() => 5n, 1n)).toBe('bigint');
        const e = thrown(() => ll(() => true, 1n), CallbackError);
        expect((e.original as ValueError).path).toBe('call-back result of long long (long long)');
        const schar = sb.func('int call_schar_cb(signed char (*f)(int), int x)');
        expect(thrown(() => schar(() => false, 1), CallbackError).original).toBeInstanceOf(ValueError);
        expect(weigh()).toBe(31);
      });

      it('4. a ten-million-digit long long argument is refused at once', () => {
        const f = sb.func('long long int_then_llong(int a, long long b)');
        const digits = '7'.repeat(10_000_000);
        expect(f(1, '2')).toBe(1002n);
        // Was 6.4 s (BigInt() of the whole string before the range check).
        expect(timed(() => thrown(() => f(1, digits), ValueError))).toBeLessThan(500);
        expect(weigh()).toBe(31);
      });
    });
  }
});

describe('decoding: a 64-bit pointer above 2^53 is a BigInt, not rounded', () => {
  it('(void *)-1 reads back exactly', async () => {
    const bytes = new Uint8Array(8).fill(0xff);
    const { decodeBytes } = await import('../layout/values.ts');
    expect(decodeBytes(parseType('void *'), bytes, { dm: dm64 })).toBe(2n ** 64n - 1n);
    expect(decodeBytes(parseType('void *'), bytes.subarray(0, 4), { dm: dmBig })).toBe(2 ** 32 - 1);
  });
});
