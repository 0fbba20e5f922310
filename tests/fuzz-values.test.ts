// Random JS values against random C types on six conventions (one per target data model and float ABI): numbers (-0, NaN,
// Infinity, huge, fractions), BigInts, strings (long, non-ASCII), typed arrays of every kind
// (also detached), DataViews, nested objects with cycles, proxies (revoked, throwing traps),
// throwing getters, frozen objects, arrays of the wrong length, functions, null and undefined.
// Every outcome is a result or an AbiscopeError: encoding alone (encodeToBytes, strict or not),
// sb.write/sb.read, a call of a GCC-compiled function taking the value, and a call-back
// returning it. After each, a known call (weigh_int2(a, b) = 2a + 3b) still gives the right
// value, and the guest heap holds what it held.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { AbiscopeError } from '../errors.ts';
import { Sandbox, type ForeignFunction } from '../sandbox/sandbox.ts';
import { formatType, parseDeclarations } from '../ctypes/parse.ts';
import { decodeBytes, encodeToBytes } from '../layout/values.ts';
import { layoutOf } from '../layout/layout.ts';
import type { AbiName } from '../backends/registry.ts';
import type { CType, RecordType, ScalarName } from '../ctypes/ctypes.ts';

const CONVENTIONS: [AbiName, string][] = [['i386-sysv', 'i386'], ['x86_64-sysv', 'x86_64'], ['arm-aapcs', 'armel'], ['arm-aapcs-vfp', 'armhf'], ['ppc32-sysv', 'ppc32'], ['aarch64-aapcs64', 'aarch64']];
const RUNS = 5000;
const SEED = 424242;

/** Declared in every sandbox, and parsed here for the same types as CType objects. */
const PRELUDE = 'struct node { int v; struct node *next; }; struct Point { int x; int y; }; union IU { int i; unsigned char b[4]; };';
const prelude = parseDeclarations(PRELUDE).scope;
const node = prelude.tags.get('node') as RecordType;
const point = prelude.tags.get('Point') as RecordType;
const iu = prelude.tags.get('IU') as RecordType;

// ---- random C types -------------------------------------------------------------------

const SCALARS: ScalarName[] = ['_Bool', 'char', 'signed char', 'unsigned char', 'short', 'unsigned short', 'int', 'unsigned int',
  'long', 'unsigned long', 'long long', 'unsigned long long', 'float', 'double', 'long double', 'wchar_t'];
let enumCount = 0;

const { type: typeArb } = fc.letrec<{ type: CType; record: CType }>((tie) => ({
  type: fc.oneof({ depthSize: 'small', withCrossShrink: true },
    { weight: 6, arbitrary: fc.constantFrom(...SCALARS).map((name): CType => ({ kind: 'scalar', name })) },
    { weight: 1, arbitrary: fc.array(fc.integer({ min: -3, max: 2 ** 33 }), { minLength: 1, maxLength: 3 })
      // enumerator names unique in the sandbox: each enum its own
      .map((vs): CType => { const k = ++enumCount; return { kind: 'enum', members: vs.map((value, i) => ({ name: `E${k}_${i}`, value })) }; }) },
    { weight: 2, arbitrary: fc.constantFrom<CType>(node, point, iu) },
    { weight: 3, arbitrary: fc.tuple(fc.oneof(tie('type'), fc.constant<CType>({ kind: 'void' })), fc.boolean())
      .map(([to, isConst]): CType => (isConst ? { kind: 'pointer', to, isConst } : { kind: 'pointer', to })) },
    { weight: 2, arbitrary: fc.tuple(tie('type'), fc.integer({ min: 0, max: 4 })).map(([element, length]): CType => ({ kind: 'array', element, length })) },
    { weight: 2, arbitrary: tie('record') },
  ),
  record: fc.tuple(fc.constantFrom<'struct' | 'union'>('struct', 'union'), fc.array(tie('type'), { minLength: 1, maxLength: 3 }))
    .map(([kind, types]): CType => ({ kind, fields: types.map((type, i) => ({ name: ['a', 'b', '__proto__'][i], type })) })),
}));

// ---- random JS values -----------------------------------------------------------------

const TYPED = [Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array, Float32Array, Float64Array, BigInt64Array, BigUint64Array] as const;

function detach<T extends ArrayBufferView>(v: T): T {
  structuredClone(v.buffer, { transfer: [v.buffer as ArrayBuffer] });
  return v;
}

/**
 * A value fast-check must not hold itself (it inspects and prints what it generates, and a
 * revoked proxy or a throwing getter would break it): a recipe, made real by materialize()
 * inside the property.
 */
class Recipe {
  constructor(readonly make: () => unknown, readonly label: string) {}
  toString(): string { return this.label; }
}

const typedArray: fc.Arbitrary<unknown> = fc.tuple(fc.integer({ min: 0, max: TYPED.length - 1 }), fc.integer({ min: 0, max: 6 }), fc.integer({ min: 0, max: 3 }))
  .map(([k, n, how]) => {
    const T = TYPED[k];
    if (how === 1) return new Recipe(() => detach(new T(n)), `detached ${T.name}(${n})`);
    if (how === 2) return new Recipe(() => new DataView(new ArrayBuffer(n)), `DataView(${n})`);
    if (how === 3) return new Recipe(() => Buffer.from(Array.from({ length: n }, (_, i) => i * 37)), `Buffer(${n})`);
    return new Recipe(() => new T(n), `${T.name}(${n})`);
  });

const number = fc.oneof(fc.constantFrom(0, -0, 1, -1, NaN, Infinity, -Infinity, 2 ** 31, 2 ** 32, 2 ** 53, 2 ** 53 + 2, -(2 ** 53), 1e300, 5e-324, 0.5, -2.5, 65, 0x10ffff),
  fc.integer(), fc.double(), fc.integer({ min: -300, max: 300 }));
const bigint = fc.oneof(fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }), fc.constantFrom(0n, 1n, -1n, 2n ** 63n, 2n ** 64n - 1n, 2n ** 64n, 10n ** 400n));
const LONG = ['x'.repeat(100_000), '9'.repeat(1_000_000), `-${'0'.repeat(30)}7`];
const string = fc.oneof(fc.string({ maxLength: 8 }), fc.string({ unit: 'grapheme', maxLength: 6 }), fc.string({ unit: 'binary', maxLength: 6 }),
  fc.constantFrom('', 'A', '\u20ac', '\u{1F600}', '0', '-0', ' 12 ', '0x10', '1e3', '12345678901234567890123', 'E1_0', ...LONG));

/** Objects that fight back: proxies, throwing getters, frozen, strange prototypes. */
const HOSTILE: [string, () => unknown][] = [
  ['revoked proxy', () => { const r = Proxy.revocable({ v: 1, x: 1, y: 2 }, {}); r.revoke(); return r.proxy; }],
  ['revoked array proxy', () => { const r = Proxy.revocable([1, 2, 3, 4], {}); r.revoke(); return r.proxy; }],
  ['throwing get trap', () => new Proxy({ x: 1, y: 2 }, { get() { throw new Error('get trap'); } })],
  ['throwing ownKeys', () => new Proxy([1, 2], { ownKeys() { throw new RangeError('ownKeys trap'); }, getOwnPropertyDescriptor() { throw new TypeError('gOPD trap'); } })],
  ['throwing getter', () => ({ get x() { throw new Error('getter x'); }, y: 1, v: 0, next: null })],
  ['frozen object', () => Object.freeze({ x: 1, y: 2, v: 3, next: null, i: 4 })],
  ['frozen array', () => Object.freeze([1, 2, 3, 4])],
  ['movable, update throws', () => ({ movable: true, contents: () => new Uint8Array(8), update: () => { throw new Error('update refuses'); } })],
  ['movable, contents not bytes', () => ({ movable: true, contents: () => 42 })],
  ['address getter throws', () => ({ get address() { throw new Error('address getter'); } })],
  ['null prototype', () => Object.create(null)],
  ['array with a huge length', () => new Proxy([0, 0, 0, 0], { get(t, key) { return key === 'length' ? 2 ** 32 - 1 : Reflect.get(t, key); } })],
  ['sparse huge array', () => { const a: unknown[] = []; a.length = 2 ** 32 - 1; return a; }],
];
const hostile: fc.Arbitrary<unknown> = fc.constantFrom(...HOSTILE).map(([label, make]) => new Recipe(make, label));

const { value: chaos } = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof({ depthSize: 'small' },
    { weight: 4, arbitrary: number }, { weight: 2, arbitrary: bigint }, { weight: 3, arbitrary: string },
    { weight: 1, arbitrary: fc.constantFrom<unknown>(true, false, null, undefined, Symbol('s'), () => 1) },
    { weight: 1, arbitrary: fc.constantFrom(new Recipe(() => new Map(), 'Map'), new Recipe(() => new Date(0), 'Date'), new Recipe(() => new ArrayBuffer(4), 'ArrayBuffer')) },
    { weight: 2, arbitrary: typedArray }, { weight: 2, arbitrary: hostile },
    { weight: 1, arbitrary: fc.oneof(number, bigint, fc.constant(0x2000_0000)).map((address) => ({ address })) },
    { weight: 2, arbitrary: fc.array(tie('value'), { maxLength: 5 }) },
    { weight: 2, arbitrary: fc.dictionary(fc.constantFrom('a', 'b', 'x', 'y', 'v', 'i', 'next', '__proto__', 'zz'), tie('value'), { maxKeys: 3 }) },
  ),
}));

/** A value made for `t`: mostly right, with chaos in some slots, cycles through pointers. */
function valueFor(t: CType, depth = 0): fc.Arbitrary<unknown> {
  // Built eagerly: `struct node` points to itself, so the depth ends the recursion here.
  if (depth > 4) return chaos;
  return fc.oneof({ weight: 1, arbitrary: chaos }, { weight: 5, arbitrary: right(t, depth) });
}

function right(t: CType, depth: number): fc.Arbitrary<unknown> {
  switch (t.kind) {
    case 'void': case 'function': return chaos;
    case 'scalar':
      if (t.name === '_Bool') return fc.constantFrom(true, false, 0, 1);
      if (t.name === 'float' || t.name === 'double' || t.name === 'long double') return number;
      return fc.oneof(fc.integer({ min: -128, max: 255 }), bigint, fc.constantFrom('A', '123', '-5'));
    case 'enum': return fc.oneof(fc.constantFrom(...t.members.map((m) => m.name)), fc.constantFrom(...t.members.map((m) => m.value)));
    case 'pointer': {
      const to = t.to;
      return fc.oneof(fc.constant(null), fc.integer({ min: 0, max: 0xffff }), string, typedArray,
        to.kind === 'struct' || to.kind === 'union' ? valueFor(to, depth + 1) : fc.array(valueFor(to, depth + 1), { maxLength: 3 }),
        // a cycle: the object given for the pointee refers back to itself
        valueFor(to, depth + 1).map((v) => new Recipe(() => {
          const o = materialize(v);
          if (o && typeof o === 'object' && !ArrayBuffer.isView(o)) {
            try { (o as Record<string, unknown>).next = o; } catch { /* frozen, or a proxy that refuses */ }
          }
          return o;
        }, 'cycle')));
    }
    case 'array':
      return fc.oneof(fc.array(valueFor(t.element, depth + 1), { minLength: t.length, maxLength: t.length }),
        fc.array(valueFor(t.element, depth + 1), { maxLength: t.length + 2 }), string, typedArray);
    case 'struct': case 'union': {
      const fields = t.fields.map((f) => fc.tuple(fc.constant(f.name), valueFor(f.type, depth + 1), fc.integer({ min: 0, max: 9 })));
      return fc.tuple(...fields).map((entries) => new Recipe(() => {
        const o: Record<string, unknown> = {};
        for (const [name, v, how] of t.kind === 'union' ? entries.slice(0, 1) : entries) {
          if (how === 0) continue; // a field left out
          if (how === 1) Object.defineProperty(o, name, { get() { throw new Error(`getter ${name}`); }, enumerable: true });
          else Object.defineProperty(o, name, { value: materialize(v), enumerable: true, writable: how !== 2, configurable: true });
        }
        return o;
      }, `${t.kind} value`));
    }
  }
}

/** The real value of what the generators made: recipes run, plain arrays and objects copied. */
function materialize(v: unknown): unknown {
  if (v instanceof Recipe) return v.make();
  if (Array.isArray(v)) return v.map(materialize);
  if (v !== null && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) {
    const o: Record<string, unknown> = {};
    for (const k of Object.keys(v)) Object.defineProperty(o, k, { value: materialize((v as Record<string, unknown>)[k]), enumerable: true, writable: true, configurable: true });
    return o;
  }
  return v;
}

const caseArb = typeArb.chain((type) => fc.tuple(fc.constant(type), valueFor(type), fc.integer({ min: 0, max: CONVENTIONS.length - 1 }),
  fc.integer({ min: -1000, max: 1000 }), fc.integer({ min: -1000, max: 1000 })));

// ---- checks ---------------------------------------------------------------------------

/** Runs `f`: a result, or an AbiscopeError (anything else fails the property, with the case). */
function outcome<T>(what: string, f: () => T): T | AbiscopeError {
  try {
    return f();
  } catch (e) {
    if (e instanceof AbiscopeError) return e;
    throw new Error(`${what}: not an AbiscopeError: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`, { cause: e });
  }
}

describe('fuzzed values on six conventions', () => {
  /** What the call-back of each sandbox returns next. */
  let result: unknown;
  const sandboxes: { sb: Sandbox; weigh: ForeignFunction; apply: () => unknown; funcs: Map<string, ForeignFunction | AbiscopeError> }[] = [];
  beforeAll(async () => {
    for (const [abi, dir] of CONVENTIONS) {
      const sb = await Sandbox.open(abi);
      for (const o of ['scalars', 'faults', 'callbacks']) sb.load(`tests/fixtures/obj/${dir}/${o}.o`);
      sb.declare(PRELUDE);
      // One call-back for all cases (a temporary one per call would assemble an entry stub each time).
      const cb = sb.callback('int (int)', () => result);
      const applyN = sb.func('int apply_n(int (*f)(int), int n, int x)');
      sandboxes.push({ sb, weigh: sb.func('int weigh_int2(int, int)'), apply: () => applyN(cb, 1, 0), funcs: new Map() });
    }
  });
  afterAll(() => { for (const s of sandboxes) s.sb.close(); });

  it(`${RUNS} random values against random C types: encoded, written, passed and returned, each a result or an AbiscopeError`, () => {
    let encoded = 0;
    let called = 0;
    fc.assert(fc.property(caseArb, ([type, recipe, which, a, b]) => {
      const text = formatType(type);
      const value = materialize(recipe);
      // Encoding alone, on every data model, loose (arguments) and strict (call-back results).
      for (const { sb } of sandboxes) {
        const dm = sb.cc.dataModel;
        const bytes = outcome(`encodeToBytes(${text})`, () => encodeToBytes(type, value, 'v', { dm }));
        const strict = outcome(`encodeToBytes(${text}, strict)`, () => encodeToBytes(type, value, 'v', { dm, strict: true }));
        if (!(strict instanceof AbiscopeError)) {
          // What strict mode takes, loose mode takes too, with the same bytes.
          expect(bytes).toBeInstanceOf(Uint8Array);
          expect(strict).toEqual(bytes);
        }
        if (!(bytes instanceof AbiscopeError)) {
          encoded++;
          outcome(`decodeBytes(${text})`, () => decodeBytes(type, bytes, { dm }));
        }
      }
      const { sb, weigh, apply, funcs } = sandboxes[which];
      const heap = sb.heapStats();
      // sb.write into a block of the type's size: the bytes encodeToBytes gives, and sb.read reads them.
      const size = outcome('layout', () => layoutOf(type, sb.cc.dataModel).size);
      if (typeof size === 'number' && size > 0 && size <= 4096) {
        const p = sb.alloc(size);
        try {
          if (!(outcome(`write ${text}`, () => sb.write(type, p, value)) instanceof AbiscopeError)) {
            const image = Uint8Array.from(sb.read(`unsigned char [${size}]`, p) as number[]);
            expect(image).toEqual(encodeToBytes(type, value, 'v', { dm: sb.cc.dataModel }));
            expect(sb.read(type, p)).toEqual(decodeBytes(type, image, { dm: sb.cc.dataModel }));
          }
        } finally {
          sb.free(p);
        }
      }
      // A call with the value as the argument: deref only reads (its argument as an int *), so
      // a wrong address is a typed fault, never a write into the sandbox.
      const proto = `int deref(${formatType(type, 'p')})`;
      let f = funcs.get(proto);
      if (f === undefined) {
        f = outcome(proto, () => sb.func(proto));
        funcs.set(proto, f);
      }
      if (!(f instanceof AbiscopeError)) {
        const fn = f;
        if (!(outcome(proto, () => fn(value)) instanceof AbiscopeError)) called++;
      }
      // A call-back returning the value as an int result: strict, so anything accepted is an exact int.
      result = value;
      const r = outcome('apply_n', apply);
      if (!(r instanceof AbiscopeError)) {
        expect(typeof value === 'number' && Number.isSafeInteger(value) && value >= -(2 ** 31) && value < 2 ** 31).toBe(true);
        expect(r).toBe(Object.is(value, -0) ? 0 : value);
      }
      // The sandbox still works, and nothing leaked on its heap.
      expect(weigh(a, b)).toBe(2 * a + 3 * b);
      expect(sb.heapStats()).toEqual(heap);
    }), { seed: SEED, numRuns: RUNS });
    // Both outcomes are common: the generators do not only make errors.
    expect(encoded).toBeGreaterThan(RUNS);
    expect(called).toBeGreaterThan(RUNS / 10);
  });
});
