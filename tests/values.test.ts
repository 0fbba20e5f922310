// Property-based tests of layout/values.ts (JS values <-> the in-memory image of C values) on every data
// model: round trips, range and shape errors with their paths, byte layout against layoutOf, byte order.
// The expected images are built here independently (integers byte by byte, long doubles from the bits of
// the double), not with values.ts. Every property has a fixed seed, so a failure reproduces.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ABI_NAMES, convention } from '../backends/registry.ts';
import { DATA_MODELS, type DataModel } from '../layout/datamodel.ts';
import type { CType, EnumType, Field, RecordType, ScalarName, ScalarType } from '../ctypes/ctypes.ts';
import { enumScalar, layoutOf } from '../layout/layout.ts';
import { typeText } from '../ctypes/type-text.ts';
import { decodeBytes, encodeToBytes, encodeValue, ValueError } from '../layout/values.ts';

// ---------------------------------------------------------------------------
// Data models: one per convention, plus any model no convention uses yet (aarch64, binary128 long double).

const MODELS: [string, DataModel][] = ABI_NAMES.map((abi): [string, DataModel] => [abi, convention(abi).dataModel]);
for (const dm of Object.values(DATA_MODELS)) {
  if (!MODELS.some(([, m]) => m.name === dm.name)) MODELS.push([`${dm.name} data model`, dm]);
}

const params = (seed: number, numRuns = 150) => ({ numRuns, seed });

const SCALARS: ScalarName[] = [
  '_Bool', 'char', 'signed char', 'unsigned char', 'short', 'unsigned short', 'int', 'unsigned int', 'long', 'unsigned long',
  'long long', 'unsigned long long', 'float', 'double', 'long double', 'wchar_t',
];
const FLOATS: ScalarName[] = ['float', 'double', 'long double'];
const INTS = SCALARS.filter((n) => n !== '_Bool' && !FLOATS.includes(n));

// C identifiers, including ones that are also names of Object.prototype members.
const NAMES = ['a', 'b', 'x', 'y', 'len', 'data', 'next', 'constructor', 'toString', 'valueOf', 'hasOwnProperty', '__proto__'];
const TAGS = ['S', 'Point', 'node'];

// ---------------------------------------------------------------------------
// The integer types' sizes and ranges, from the data model alone.

interface IntSpec { size: number; signed: boolean; lo: bigint; hi: bigint }

function intSpec(size: number, signed: boolean): IntSpec {
  const bits = BigInt(size * 8);
  return signed ? { size, signed, lo: -(1n << (bits - 1n)), hi: (1n << (bits - 1n)) - 1n } : { size, signed, lo: 0n, hi: (1n << bits) - 1n };
}

/** Integer scalars and enums (by the type GCC gives the enum); undefined for _Bool, floats and the rest. */
function intSpecOf(t: CType, dm: DataModel): IntSpec | undefined {
  if (t.kind === 'enum') return intSpecOf({ kind: 'scalar', name: enumScalar(t) }, dm);
  if (t.kind !== 'scalar' || t.name === '_Bool' || FLOATS.includes(t.name)) return undefined;
  const signed = t.name === 'char' ? dm.charSigned : t.name === 'wchar_t' ? dm.wcharSigned : !t.name.startsWith('unsigned');
  return intSpec(dm.scalars[t.name].size, signed);
}

/** The largest pointer value + 1 that values.ts accepts (addresses stay exact as JS numbers). */
const pointerLimit = (dm: DataModel) => (dm.pointerSize === 8 ? 2 ** 53 : 2 ** 32);

// ---------------------------------------------------------------------------
// Random C types.

const scalarT = (name: ScalarName): ScalarType => ({ kind: 'scalar', name });

const enumValueArb = fc.oneof(
  { weight: 4, arbitrary: fc.integer({ min: -3, max: 20 }) },
  { weight: 2, arbitrary: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }) },
  { weight: 1, arbitrary: fc.integer({ min: 2 ** 31, max: 2 ** 32 - 1 }) }, // unsigned int
  { weight: 1, arbitrary: fc.integer({ min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER }) }, // (unsigned) long long
);
const enumArb = (tagged: boolean): fc.Arbitrary<EnumType> =>
  fc.record({
    tag: tagged ? fc.constantFrom('E', 'Color') : fc.option(fc.constantFrom('E', 'Color')),
    values: fc.array(enumValueArb, { minLength: 1, maxLength: 4 }),
  }).map(({ tag, values }) => {
    const members = values.map((value, i) => ({ name: `M${i}`, value }));
    return tag === null ? { kind: 'enum', members } : { kind: 'enum', tag, members };
  });

const pointerArb = fc.constantFrom<CType>(
  { kind: 'pointer', to: scalarT('int') },
  { kind: 'pointer', to: { kind: 'void' }, isConst: true },
);

const leafArb: fc.Arbitrary<CType> = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom(...SCALARS).map(scalarT) },
  { weight: 1, arbitrary: enumArb(false) },
  { weight: 1, arbitrary: pointerArb },
);

const alignAttrArb = fc.oneof({ weight: 6, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.constantFrom(1, 2, 4, 8, 16, 32) });

/** Types built from scalars, enums and pointers with arrays, structs and (if `unions`) unions, to depth 3. */
function typeArb(unions: boolean, id: string): fc.Arbitrary<CType> {
  return fc.letrec<{ t: CType; arr: CType; rec: CType }>((tie) => ({
    t: fc.oneof({ maxDepth: 3, depthIdentifier: id },
      { weight: 5, arbitrary: leafArb }, { weight: 1, arbitrary: tie('arr') }, { weight: 2, arbitrary: tie('rec') }),
    arr: fc.record({ element: tie('t'), length: fc.integer({ min: 0, max: 4 }) })
      .map(({ element, length }): CType => ({ kind: 'array', element, length })),
    rec: fc.record({
      kind: unions ? fc.constantFrom<'struct' | 'union'>('struct', 'struct', 'union') : fc.constant<'struct'>('struct'),
      tag: fc.option(fc.constantFrom(...TAGS)),
      fields: fc.uniqueArray(
        fc.record({ name: fc.constantFrom(...NAMES), type: tie('t'), alignAttr: alignAttrArb, packed: fc.integer({ min: 0, max: 7 }) }),
        { selector: (f) => f.name, minLength: 0, maxLength: 4 }),
      packed: fc.integer({ min: 0, max: 7 }).map((n) => n === 0),
      alignAttr: alignAttrArb,
    }).map(({ kind, tag, fields, packed, alignAttr }): CType => {
      const fs = fields.map(({ name, type, alignAttr: a, packed: p }) => {
        const f: Field = { name, type };
        if (a !== undefined) f.alignAttr = a;
        if (p === 0) f.packed = true;
        return f;
      });
      // a union value names exactly one member, so a union needs one
      const r: RecordType = { kind: kind === 'union' && fs.length === 0 ? 'struct' : kind, fields: fs };
      if (tag !== null) r.tag = tag;
      if (packed) r.packed = true;
      if (alignAttr !== undefined) r.alignAttr = alignAttr;
      return r;
    }),
  })).t;
}

const anyType = typeArb(true, 'any');
const unionFreeType = typeArb(false, 'union-free');

// ---------------------------------------------------------------------------
// Random valid values, each with the value decoding must give back.

type Exp =
  | { k: 'int'; v: bigint; js: 'number' | 'bigint' }
  | { k: 'bool'; v: boolean }
  | { k: 'float'; v: number }
  | { k: 'array'; items: Exp[] }
  /** `names`: every field the decoded object has; `checked`: the ones written (one, in a union). */
  | { k: 'record'; names: string[]; checked: [string, Exp][] };

interface Sample { input: unknown; exp: Exp }

const utf8 = (s: string) => new TextEncoder().encode(s);

function intSample(v: bigint, spec: IntSpec, extra: unknown[] = []): fc.Arbitrary<Sample> {
  const exp: Exp = { k: 'int', v, js: spec.size === 8 ? 'bigint' : 'number' };
  const inputs: unknown[] = [v, ...extra];
  if (Number.isSafeInteger(Number(v))) inputs.push(Number(v), Number(v)); // the usual form, twice as likely
  if (spec.size === 8) inputs.push(String(v));
  if (v === 0n || v === 1n) inputs.push(v === 1n);
  return fc.constantFrom(...inputs).map((input) => ({ input, exp }));
}

function bigintIn(spec: IntSpec): fc.Arbitrary<bigint> {
  return fc.oneof(fc.bigInt({ min: spec.lo, max: spec.hi }), fc.constantFrom(spec.lo, spec.hi, spec.lo + 1n, spec.hi - 1n, 0n));
}

function valueArb(t: CType, dm: DataModel): fc.Arbitrary<Sample> {
  switch (t.kind) {
    case 'scalar': {
      if (t.name === '_Bool') {
        return fc.constantFrom<unknown>(true, false, 0, 1, 0n, 1n).map((input) => ({ input, exp: { k: 'bool', v: input === true || input === 1 || input === 1n } }));
      }
      if (t.name === 'float') {
        return fc.oneof(fc.double(), fc.float()).map((input) => ({ input, exp: { k: 'float', v: Math.fround(input) } }));
      }
      if (t.name === 'double' || t.name === 'long double') {
        // every double is exact in x87 extended, IEEE double, IBM double-double and binary128
        return fc.oneof(fc.double(), fc.constantFrom(-0, 0, Number.MIN_VALUE, -Number.MAX_VALUE, Infinity, NaN, 2 ** -1022, 1 / 3))
          .map((input) => ({ input, exp: { k: 'float', v: input } }));
      }
      const spec = intSpecOf(t, dm)!;
      const name = t.name;
      return bigintIn(spec).chain((v) => {
        // a one-character string is accepted for the char types, one code point for wchar_t
        const extra: unknown[] = [];
        if ((name === 'char' || name === 'signed char' || name === 'unsigned char') && v >= 0n) extra.push(String.fromCharCode(Number(v)));
        if (name === 'wchar_t' && v >= 0n && v <= 0x10ffffn) extra.push(String.fromCodePoint(Number(v)));
        return intSample(v, spec, extra);
      });
    }
    case 'enum': {
      const spec = intSpecOf(t, dm)!;
      const members = t.members;
      return fc.oneof(
        fc.constantFrom(...members).map((m): Sample => ({ input: m.name, exp: { k: 'int', v: BigInt(m.value), js: spec.size === 8 ? 'bigint' : 'number' } })),
        fc.constantFrom(...members).chain((m) => intSample(BigInt(m.value), spec)),
        bigintIn(spec).chain((v) => intSample(v, spec)),
      );
    }
    case 'pointer':
      return fc.oneof(
        fc.constant<Sample>({ input: null, exp: { k: 'int', v: 0n, js: 'number' } }),
        fc.oneof(fc.integer({ min: 0, max: 0xffff }), fc.double({ min: 0, max: pointerLimit(dm) - 1, noNaN: true }).map(Math.floor))
          .map((a): Sample => ({ input: a, exp: { k: 'int', v: BigInt(a), js: 'number' } })),
      );
    case 'array': {
      const el = t.element;
      const items = fc.tuple(...Array.from({ length: t.length }, () => valueArb(el, dm)))
        .map((xs): Sample => ({ input: xs.map((x) => x.input), exp: { k: 'array', items: xs.map((x) => x.exp) } }));
      const charSpec = el.kind === 'scalar' && el.name !== '_Bool' && dm.scalars[el.name].size === 1 ? intSpecOf(el, dm) : undefined;
      if (!charSpec) return items;
      // arrays of char take a string: its UTF-8 bytes, then NULs
      const str = fc.oneof(fc.string({ maxLength: t.length }), fc.string({ unit: 'binary', maxLength: t.length }))
        .filter((s) => utf8(s).length <= t.length)
        .map((s): Sample => {
          const bytes = utf8(s);
          const exps = Array.from({ length: t.length }, (_, i): Exp => {
            const b = BigInt(bytes[i] ?? 0);
            return { k: 'int', v: charSpec.signed ? BigInt.asIntN(8, b) : b, js: 'number' };
          });
          return { input: s, exp: { k: 'array', items: exps } };
        });
      return fc.oneof({ weight: 3, arbitrary: items }, { weight: 1, arbitrary: str });
    }
    case 'struct': case 'union': {
      const names = t.fields.map((f) => f.name);
      if (t.kind === 'union') {
        return fc.integer({ min: 0, max: t.fields.length - 1 }).chain((i) => {
          const f = t.fields[i];
          return valueArb(f.type, dm).map((s): Sample => ({ input: Object.fromEntries([[f.name, s.input]]), exp: { k: 'record', names, checked: [[f.name, s.exp]] } }));
        });
      }
      return fc.tuple(...t.fields.map((f) => valueArb(f.type, dm))).map((xs): Sample => ({
        // Object.fromEntries makes own properties, even '__proto__'
        input: Object.fromEntries(xs.map((x, i) => [names[i], x.input])),
        exp: { k: 'record', names, checked: xs.map((x, i): [string, Exp] => [names[i], x.exp]) },
      }));
    }
    case 'void': case 'function':
      throw new Error(`no values of ${t.kind}`);
  }
}

const typedSample = (types: fc.Arbitrary<CType>, dm: DataModel) =>
  types.chain((type) => valueArb(type, dm).map((s) => ({ type, ...s })));

/** Checks a decoded value against the expected one; throws naming the path of the first difference. */
function check(got: unknown, exp: Exp, path = '$'): void {
  const fail = (what: string) => { throw new Error(`${path}: ${what}, got ${typeof got === 'bigint' ? `${got}n` : String(got)} (${typeof got})`); };
  switch (exp.k) {
    case 'int':
      if (typeof got !== exp.js) fail(`expected a ${exp.js}`);
      if (BigInt(got as number | bigint) !== exp.v) fail(`expected ${exp.v}`);
      return;
    case 'bool':
      if (got !== exp.v) fail(`expected ${exp.v}`);
      return;
    case 'float':
      if (typeof got !== 'number' || !Object.is(got, exp.v)) fail(`expected ${Object.is(exp.v, -0) ? '-0' : exp.v}`);
      return;
    case 'array':
      if (!Array.isArray(got) || got.length !== exp.items.length) fail(`expected an array of ${exp.items.length}`);
      exp.items.forEach((x, i) => check((got as unknown[])[i], x, `${path}[${i}]`));
      return;
    case 'record': {
      if (got === null || typeof got !== 'object' || Array.isArray(got)) fail('expected an object');
      const keys = Object.keys(got as object);
      if (keys.join() !== exp.names.join()) fail(`expected the fields ${exp.names.join(', ')}, has ${keys.join(', ')}`);
      for (const [name, x] of exp.checked) {
        if (!Object.hasOwn(got as object, name)) fail(`expected an own field ${name}`);
        check((got as Record<string, unknown>)[name], x, `${path}.${name}`);
      }
    }
  }
}

// ---------------------------------------------------------------------------
// Reference images, written here without values.ts.

function intBytes(v: bigint, size: number, le: boolean): Uint8Array {
  const u = v < 0n ? v + (1n << BigInt(size * 8)) : v;
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i++) out[le ? i : size - 1 - i] = Number((u >> BigInt(8 * i)) & 0xffn);
  return out;
}

function pow2(e: number): number {
  const dv = new DataView(new ArrayBuffer(8));
  if (e >= -1022) dv.setBigUint64(0, BigInt(e + 1023) << 52n);
  else dv.setBigUint64(0, 1n << BigInt(e + 1074));
  return dv.getFloat64(0);
}

/** Finite non-zero v as ±m·2^(e-52), 2^52 <= m < 2^53. */
function splitDouble(v: number): { neg: boolean; m: bigint; e: number } {
  const a = Math.abs(v);
  let e = Math.floor(Math.log2(a));
  while (pow2(e) > a) e--;
  while (e < 1023 && pow2(e + 1) <= a) e++;
  return { neg: v < 0, m: BigInt(a / pow2(e) * 2 ** 52), e };
}

function doubleBytes(v: number, le: boolean, single = false): Uint8Array {
  const out = new Uint8Array(single ? 4 : 8);
  const dv = new DataView(out.buffer);
  if (single) dv.setFloat32(0, v, le); else dv.setFloat64(0, v, le);
  return out;
}

/** The image of a (non-NaN) double as a long double of the model, padded to its size. */
function longDoubleBytes(v: number, dm: DataModel): Uint8Array {
  const le = dm.endian === 'little';
  const out = new Uint8Array(dm.scalars['long double'].size);
  const neg = v < 0 || Object.is(v, -0);
  switch (dm.longDoubleFormat) {
    case 'binary64': out.set(doubleBytes(v, le)); break;
    case 'ibm-double-double': out.set(doubleBytes(v, le)); out.set(doubleBytes(0, le), 8); break; // GCC: {v, +0} for a double
    case 'x87-80': {
      // 64-bit significand with an explicit integer bit, then sign and 15-bit exponent (bias 16383)
      let mant = 0n; let exp = 0;
      if (v === Infinity || v === -Infinity) { mant = 1n << 63n; exp = 0x7fff; }
      else if (v !== 0) { const s = splitDouble(v); mant = s.m << 11n; exp = s.e + 16383; }
      out.set(intBytes(mant, 8, true), 0);
      out.set(intBytes(BigInt(exp | (neg ? 0x8000 : 0)), 2, true), 8);
      break;
    }
    case 'binary128': {
      // sign, 15-bit exponent (bias 16383), 112-bit fraction: doubles' subnormals are normal here
      let q = neg ? 1n << 127n : 0n;
      if (v === Infinity || v === -Infinity) q |= 0x7fffn << 112n;
      else if (v !== 0) { const s = splitDouble(v); q |= (BigInt(s.e + 16383) << 112n) | ((s.m - (1n << 52n)) << 60n); }
      out.set(intBytes(q, 16, le));
      break;
    }
  }
  return out;
}

/** Whether a long double image is a NaN of the model's format. */
function longDoubleIsNaN(b: Uint8Array, dm: DataModel): boolean {
  const le = dm.endian === 'little';
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  switch (dm.longDoubleFormat) {
    case 'binary64': case 'ibm-double-double': return Number.isNaN(dv.getFloat64(0, le));
    case 'x87-80': return (dv.getUint16(8, true) & 0x7fff) === 0x7fff && dv.getBigUint64(0, true) > 1n << 63n;
    case 'binary128': {
      const hi = dv.getBigUint64(le ? 8 : 0, le); const lo = dv.getBigUint64(le ? 0 : 8, le);
      return ((hi >> 48n) & 0x7fffn) === 0x7fffn && ((hi & 0xffff_ffff_ffffn) !== 0n || lo !== 0n);
    }
  }
}

interface Leaf { type: CType; offset: number; size: number; exp: Exp }

/** The scalar, enum and pointer leaves a value writes, at their offsets by layoutOf. */
function leavesOf(t: CType, exp: Exp, dm: DataModel, offset = 0, out: Leaf[] = []): Leaf[] {
  if (t.kind === 'array') {
    if (exp.k !== 'array') throw new Error('not an array sample');
    const el = layoutOf(t.element, dm).size;
    exp.items.forEach((x, i) => leavesOf(t.element, x, dm, offset + i * el, out));
  } else if (t.kind === 'struct' || t.kind === 'union') {
    if (exp.k !== 'record') throw new Error('not a record sample');
    const fields = layoutOf(t, dm).fields!;
    for (const [name, x] of exp.checked) {
      const f = fields.find((g) => g.name === name)!;
      leavesOf(f.type, x, dm, offset + f.offset, out);
    }
  } else out.push({ type: t, offset, size: layoutOf(t, dm).size, exp });
  return out;
}

/** A leaf's reference image, or 'nan' for a NaN (whose payload bits are the host's business). */
function leafBytes(l: Leaf, dm: DataModel): Uint8Array | 'nan' {
  const le = dm.endian === 'little';
  const { exp } = l;
  if (exp.k === 'int') return intBytes(exp.v, l.size, le);
  if (exp.k === 'bool') return Uint8Array.of(exp.v ? 1 : 0);
  if (exp.k !== 'float' || l.type.kind !== 'scalar') throw new Error('not a scalar sample');
  if (Number.isNaN(exp.v)) return 'nan';
  if (l.type.name === 'float') return doubleBytes(exp.v, le, true);
  if (l.type.name === 'double') return doubleBytes(exp.v, le);
  return longDoubleBytes(exp.v, dm);
}

const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(' ');

// ---------------------------------------------------------------------------
// Properties 1, 3, 5: round trips and layout, per data model.

for (const [label, dm] of MODELS) {
  describe(`${label}: ${dm.endian}-endian, long double ${dm.longDoubleFormat}`, () => {
    it('round trip: decodeBytes(encodeToBytes(v)) is v for random types and values', () => {
      fc.assert(fc.property(typedSample(anyType, dm), ({ type, input, exp }) => {
        check(decodeBytes(type, encodeToBytes(type, input, 'v', { dm }), { dm }), exp);
      }), params(101));
    });

    it('layout: the image has layoutOf(type).size bytes, each leaf at its offset in the model\'s byte order, zeros elsewhere', () => {
      fc.assert(fc.property(typedSample(anyType, dm), ({ type, input, exp }) => {
        const image = encodeToBytes(type, input, 'v', { dm });
        expect(image.length).toBe(layoutOf(type, dm).size);
        const expected = new Uint8Array(image.length);
        for (const l of leavesOf(type, exp, dm)) {
          const slice = image.subarray(l.offset, l.offset + l.size);
          // each scalar decodes on its own from its slot
          check(decodeBytes(l.type, slice, { dm }), l.exp, `leaf at ${l.offset}`);
          const ref = leafBytes(l, dm);
          if (ref === 'nan') {
            const isNaN = l.type.kind === 'scalar' && l.type.name === 'long double' ? longDoubleIsNaN(slice, dm) : Number.isNaN(decodeBytes(l.type, slice, { dm }));
            expect(isNaN, `NaN at ${l.offset}: ${hex(slice)}`).toBe(true);
            expected.set(slice, l.offset);
          } else expected.set(ref, l.offset);
        }
        expect(hex(image)).toBe(hex(expected));
      }), params(102));
    });

    it('decoding any image of a union-free type and encoding the value gives the image back', () => {
      const le = dm.endian === 'little';
      const leafImage = (t: CType): fc.Arbitrary<Uint8Array> => {
        const size = layoutOf(t, dm).size;
        const spec = intSpecOf(t, dm);
        if (spec) return fc.bigInt({ min: spec.lo, max: spec.hi }).map((v) => intBytes(v, size, le));
        if (t.kind === 'pointer') return fc.bigInt({ min: 0n, max: BigInt(pointerLimit(dm) - 1) }).map((v) => intBytes(v, size, le));
        if (t.kind === 'scalar' && t.name === '_Bool') return fc.constantFrom(Uint8Array.of(0), Uint8Array.of(1));
        if (t.kind === 'scalar' && t.name === 'float') return fc.float({ noNaN: true }).map((v) => doubleBytes(v, le, true));
        if (t.kind === 'scalar' && t.name === 'double') return fc.double({ noNaN: true }).map((v) => doubleBytes(v, le));
        if (t.kind === 'scalar' && t.name === 'long double') return fc.double({ noNaN: true }).map((v) => longDoubleBytes(v, dm));
        throw new Error(`no leaf ${typeText(t)}`);
      };
      const slots = (t: CType, offset: number, out: { t: CType; offset: number }[]): typeof out => {
        if (t.kind === 'array') {
          const el = layoutOf(t.element, dm).size;
          for (let i = 0; i < t.length; i++) slots(t.element, offset + i * el, out);
        } else if (t.kind === 'struct') {
          for (const f of layoutOf(t, dm).fields!) slots(f.type, offset + f.offset, out);
        } else out.push({ t, offset });
        return out;
      };
      const sample = unionFreeType.chain((type) => {
        const ss = slots(type, 0, []);
        return fc.tuple(...ss.map((s) => leafImage(s.t))).map((parts) => {
          const image = new Uint8Array(layoutOf(type, dm).size);
          parts.forEach((p, i) => image.set(p, ss[i].offset));
          return { type, image };
        });
      });
      fc.assert(fc.property(sample, ({ type, image }) => {
        const value = decodeBytes(type, image, { dm });
        expect(hex(encodeToBytes(type, value, 'v', { dm }))).toBe(hex(image));
      }), params(103));
    });

    it('encodeValue into a used buffer writes only its slot; a struct or union clears its padding', () => {
      fc.assert(fc.property(typedSample(anyType, dm), fc.integer({ min: 0, max: 40 }), ({ type, input, exp }, at) => {
        const clean = encodeToBytes(type, input, 'v', { dm });
        const buf = new Uint8Array(at + clean.length + 8).fill(0xff);
        encodeValue(type, input, new DataView(buf.buffer), at, 'v', { dm });
        expect(buf.subarray(0, at).every((b) => b === 0xff)).toBe(true);
        expect(buf.subarray(at + clean.length).every((b) => b === 0xff)).toBe(true);
        if (type.kind === 'struct' || type.kind === 'union') expect(hex(buf.subarray(at, at + clean.length))).toBe(hex(clean));
        else check(decodeBytes(type, buf.subarray(at, at + clean.length), { dm }), exp);
      }), params(105));
    });

    it('long double: doubles survive exactly, with -0, subnormals, infinities and NaN', () => {
      const ld = scalarT('long double');
      fc.assert(fc.property(fc.double(), (v) => {
        const image = encodeToBytes(ld, v, 'v', { dm });
        expect(Object.is(decodeBytes(ld, image, { dm }), v)).toBe(true);
        if (Number.isNaN(v)) expect(longDoubleIsNaN(image, dm)).toBe(true);
        else expect(hex(image)).toBe(hex(longDoubleBytes(v, dm)));
      }), params(104));
    });
  });
}

// ---------------------------------------------------------------------------
// Property 2: wrong values are ValueErrors naming the path and the expected type or range.

interface Bad { type: CType; value: unknown; path: string; expected: string; got: string }

const ROOT = "argument 1 'v'";

function got(v: unknown): string {
  if (v === undefined) return 'undefined';
  if (v === null) return 'null';
  if (typeof v === 'bigint') return `${v}n`;
  if (typeof v === 'string') return JSON.stringify(v);
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (typeof v === 'object') return 'an object';
  return `${typeof v} ${String(v)}`;
}
const bad = (type: CType, value: unknown, path: string, expected: string): Bad => ({ type, value, path, expected, got: got(value) });

const isCharName = (n: ScalarName) => n === 'char' || n === 'signed char' || n === 'unsigned char';
/** Strings no integer type takes as a number (nor as a character or an enumerator). */
const nonNumeric = fc.string({ maxLength: 12 }).filter((s) => !/^-?\d+$/.test(s.trim()));

function intFaults(dm: DataModel): fc.Arbitrary<Bad> {
  const t = fc.oneof(fc.constantFrom(...INTS).map((n): CType => scalarT(n)), enumArb(true));
  return t.chain((type) => {
    const spec = intSpecOf(type, dm)!;
    const name = type.kind === 'enum' ? `enum ${type.tag}` : (type as ScalarType).name;
    const expected = `${name} (an integer from ${spec.lo} to ${spec.hi}${spec.size === 8 ? ', as number, BigInt or decimal string' : ''})`;
    const members = type.kind === 'enum' ? type.members.map((m) => m.name) : [];
    const outside = fc.oneof(
      fc.constantFrom(spec.lo - 1n, spec.hi + 1n),
      fc.bigInt({ min: spec.hi + 1n, max: spec.hi * 3n + 5n }),
      fc.bigInt({ min: spec.lo * 3n - 5n, max: spec.lo - 1n }),
    ).chain((n) => {
      const forms: unknown[] = [n];
      if (Number.isSafeInteger(Number(n))) forms.push(Number(n));
      if (spec.size === 8) forms.push(String(n));
      return fc.constantFrom(...forms);
    });
    // char types take a one-character string as that character, wchar_t one code point
    const asChar = (s: string) => (type.kind === 'scalar' && isCharName(type.name) && s.length === 1)
      || (type.kind === 'scalar' && type.name === 'wchar_t' && [...s].length === 1);
    const strings = nonNumeric.filter((s) => !asChar(s) && !members.includes(s));
    return fc.oneof(
      outside.map((v) => bad(type, v, '', expected)),
      fc.double({ noNaN: true }).filter((x) => !Number.isInteger(x)).map((v) => bad(type, v, '', expected)),
      fc.constant(bad(type, NaN, '', expected)),
      fc.oneof(fc.double({ min: 2 ** 53, max: 1e300, noNaN: true }), fc.double({ min: -1e300, max: -(2 ** 53), noNaN: true }))
        .map((v) => bad(type, v, '', `${expected}; ${v} is beyond 2^53, pass a BigInt`)),
      strings.map((s) => bad(type, s, '', type.kind === 'enum' ? `a member of enum ${type.tag} (${members.join(', ')}) or an int` : expected)),
      fc.constantFrom<unknown>(null, undefined, {}, [1]).map((v) => bad(type, v, '', expected)),
      // decimal strings only for the 64-bit types
      ...(spec.size === 8 ? [] : [bigintIn(spec).map(String).filter((s) => !asChar(s)).map((s) => bad(type, s, '', expected))]),
    );
  });
}

function boolFaults(): fc.Arbitrary<Bad> {
  const b = scalarT('_Bool');
  return fc.oneof(fc.integer({ min: -1000, max: 1000 }).filter((n) => n !== 0 && n !== 1), fc.constantFrom(-1n, 2n, 256n), fc.double(), nonNumeric,
    fc.constantFrom<unknown>('0', '1', 'true', null, undefined, {}))
    .filter((v) => !Object.is(v, 0) && !Object.is(v, -0) && v !== 1)
    .map((v) => bad(b, v, '', '_Bool (true/false, 0 or 1)'));
}

function floatFaults(): fc.Arbitrary<Bad> {
  return fc.tuple(fc.constantFrom(...FLOATS), fc.oneof(fc.string({ maxLength: 10 }), fc.bigInt({ min: -9n, max: 9n }), fc.constantFrom<unknown>(true, null, undefined, {}, [], [1.5])))
    .map(([name, v]) => bad(scalarT(name), v, '', `${name} (a number)`));
}

function pointerFaults(dm: DataModel): fc.Arbitrary<Bad> {
  const max = pointerLimit(dm);
  return fc.tuple(pointerArb, fc.oneof(fc.constantFrom(-1, max, 0.5, -(2 ** 40), 2 ** 60), fc.constant(BigInt(max))))
    .map(([type, v]) => bad(type, v, '', `${typeText(type)} (a guest address from 0 to ${max - 1})`));
}

function recordFaults(dm: DataModel): fc.Arbitrary<Bad> {
  const recordType = fc.record({
    kind: fc.constantFrom<'struct' | 'union'>('struct', 'union'),
    tag: fc.option(fc.constantFrom(...TAGS)),
    fields: fc.uniqueArray(fc.record({ name: fc.constantFrom(...NAMES), type: anyType }), { selector: (f) => f.name, minLength: 1, maxLength: 4 }),
  }).map(({ kind, tag, fields }): RecordType => (tag === null ? { kind, fields } : { kind, tag, fields }));
  return recordType.chain((type) => {
    const title = `${type.kind} ${type.tag ?? '(anonymous)'}`;
    const names = type.fields.map((f) => f.name);
    const valid = valueArb(type, dm);
    const faults: fc.Arbitrary<Bad>[] = [
      // an unknown key, anywhere among the members
      fc.tuple(valid, fc.constantFrom(...NAMES.filter((n) => !names.includes(n)), 'zz'), fc.nat()).map(([s, extra, at]) => {
        const entries = Object.entries(s.input as object);
        entries.splice(at % (entries.length + 1), 0, [extra, 1]);
        return { type, value: Object.fromEntries(entries), path: `.${extra}`, expected: `a field of ${title} (${names.join(', ')})`, got: 'number 1' };
      }),
      fc.constantFrom<unknown>(null, 7, 'abc', [], [1, 2], true).map((v) => bad(type, v, '', `an object for ${title} with fields ${names.join(', ')}`)),
    ];
    if (type.kind === 'struct') {
      // one field left out: the error names it, its type and the struct
      faults.push(fc.tuple(valid, fc.integer({ min: 0, max: type.fields.length - 1 })).map(([s, i]) => {
        const f = type.fields[i];
        const value = Object.fromEntries(Object.entries(s.input as object).filter(([k]) => k !== f.name));
        return { type, value, path: `.${f.name}`, expected: `a value for field '${f.name}' (${typeText(f.type)}) of ${title}`, got: 'undefined' };
      }));
    } else {
      // a union value names exactly one member
      const members = type.fields.length >= 2
        ? fc.tuple(valueArb({ ...type, fields: [type.fields[0]] }, dm), valueArb({ ...type, fields: [type.fields[1]] }, dm))
          .map(([x, y]) => ({ ...(x.input as object), ...(y.input as object) }))
        : fc.constant({});
      faults.push(fc.oneof(fc.constant({}), members).map((v) => bad(type, v, '', `an object with exactly one member of ${title} (${names.join(', ')})`)));
    }
    return fc.oneof(...faults);
  });
}

function arrayFaults(dm: DataModel): fc.Arbitrary<Bad> {
  return fc.tuple(anyType, fc.integer({ min: 0, max: 4 })).chain(([element, length]) => {
    const type: CType = { kind: 'array', element, length };
    const text = typeText(element);
    const bytewise = element.kind === 'scalar' && dm.scalars[element.name].size === 1;
    const faults: fc.Arbitrary<Bad>[] = [
      fc.integer({ min: 0, max: 6 }).filter((n) => n !== length).map((n) => bad(type, Array.from({ length: n }, () => 0), '', `an array of exactly ${length} ${text}`)),
      fc.constantFrom<unknown>(null, 3, {}, true, new Map()).map((v) => bad(type, v, '', `an array of ${length} ${text}`)),
    ];
    if (!bytewise) faults.push(fc.constant(bad(type, 'abc', '', `an array of ${length} ${text}`)));
    else {
      faults.push(fc.oneof(
        fc.string({ unit: 'binary', minLength: 1, maxLength: 20 }).filter((s) => utf8(s).length > length),
        fc.constantFrom('x'.repeat(length + 1), `${'x'.repeat(length)}\u00e9`, `${'x'.repeat(Math.max(length - 1, 0))}\u00e9`).filter((s) => utf8(s).length > length),
      ).map((s) => bad(type, s, '', `a string of at most ${length} UTF-8 bytes`)));
    }
    return fc.oneof(...faults);
  });
}

/** Puts a wrong value inside a struct field, a union member or an array element. */
function wrap(b: Bad, dm: DataModel): fc.Arbitrary<Bad> {
  const sibling = typedSample(anyType, dm);
  const inStruct = fc.tuple(fc.uniqueArray(fc.constantFrom(...NAMES), { minLength: 1, maxLength: 4 }), fc.nat(), fc.array(sibling, { minLength: 3, maxLength: 3 }), fc.option(fc.constantFrom(...TAGS)))
    .map(([names, at, sibs, tag]): Bad => {
      const i = at % names.length;
      const fields: Field[] = names.map((name, j) => ({ name, type: j === i ? b.type : sibs[j % 3].type }));
      const value = Object.fromEntries(names.map((name, j) => [name, j === i ? b.value : sibs[j % 3].input]));
      const type: RecordType = tag === null ? { kind: 'struct', fields } : { kind: 'struct', tag, fields };
      return { ...b, type, value, path: `.${names[i]}${b.path}` };
    });
  const inUnion = fc.tuple(fc.uniqueArray(fc.constantFrom(...NAMES), { minLength: 1, maxLength: 3 }), fc.nat(), fc.array(anyType, { minLength: 3, maxLength: 3 }))
    .map(([names, at, others]): Bad => {
      const i = at % names.length;
      const fields: Field[] = names.map((name, j) => ({ name, type: j === i ? b.type : others[j] }));
      return { ...b, type: { kind: 'union', fields }, value: Object.fromEntries([[names[i], b.value]]), path: `.${names[i]}${b.path}` };
    });
  const inArray = fc.integer({ min: 1, max: 3 }).chain((length) => fc.tuple(fc.integer({ min: 0, max: length - 1 }), fc.array(valueArb(b.type, dm), { minLength: length, maxLength: length })))
    .map(([i, items]): Bad => {
      const value = items.map((s, j) => (j === i ? b.value : s.input));
      return { ...b, type: { kind: 'array', element: b.type, length: items.length }, value, path: `[${i}]${b.path}` };
    });
  return fc.oneof(inStruct, inUnion, inArray);
}

function faultArb(dm: DataModel): fc.Arbitrary<Bad> {
  const base = fc.oneof(
    { weight: 4, arbitrary: intFaults(dm) }, { weight: 1, arbitrary: boolFaults() }, { weight: 1, arbitrary: floatFaults() },
    { weight: 1, arbitrary: pointerFaults(dm) }, { weight: 3, arbitrary: recordFaults(dm) }, { weight: 2, arbitrary: arrayFaults(dm) },
  );
  const wrapN = (b: Bad, n: number): fc.Arbitrary<Bad> => (n === 0 ? fc.constant(b) : wrap(b, dm).chain((w) => wrapN(w, n - 1)));
  return fc.tuple(base, fc.integer({ min: 0, max: 3 })).chain(([b, n]) => wrapN(b, n));
}

function expectValueError(b: Bad, dm: DataModel): void {
  let err: unknown;
  try {
    encodeToBytes(b.type, b.value, ROOT, { dm });
  } catch (e) {
    err = e;
  }
  if (!(err instanceof ValueError)) throw new Error(`expected a ValueError at ${ROOT}${b.path}, got ${err === undefined ? 'no error' : String(err)}`);
  expect(err.path).toBe(`${ROOT}${b.path}`);
  expect(err.expected).toBe(b.expected);
  expect(err.message).toBe(`${ROOT}${b.path}: expected ${b.expected}, got ${b.got}`);
}

for (const [label, dm] of MODELS) {
  describe(`${label}: wrong values`, () => {
    it('each is a ValueError naming its path (fields, members, indices) and the expected type or range', () => {
      fc.assert(fc.property(faultArb(dm), (b) => expectValueError(b, dm)), params(201, 400));
    });

    it('integers: the range ends are accepted, one past them is not', () => {
      const types = fc.oneof(fc.constantFrom(...INTS).map((n): CType => scalarT(n)), enumArb(true));
      fc.assert(fc.property(types, fc.boolean(), (type, atMax) => {
        const spec = intSpecOf(type, dm)!;
        const end = atMax ? spec.hi : spec.lo;
        check(decodeBytes(type, encodeToBytes(type, end, 'v', { dm }), { dm }), { k: 'int', v: end, js: spec.size === 8 ? 'bigint' : 'number' });
        const past = atMax ? spec.hi + 1n : spec.lo - 1n;
        const value = Number.isSafeInteger(Number(past)) ? Number(past) : past;
        const name = type.kind === 'enum' ? `enum ${type.tag}` : (type as ScalarType).name;
        expectValueError(bad(type, value, '', `${name} (an integer from ${spec.lo} to ${spec.hi}${spec.size === 8 ? ', as number, BigInt or decimal string' : ''})`), dm);
      }), params(202));
    });
  });
}

// ---------------------------------------------------------------------------
// Property 4: byte order. ppc32-sysv is big-endian, the others little-endian.

describe('endianness', () => {
  const big = convention('ppc32-sysv').dataModel;
  it('ppc32-sysv is the only big-endian convention', () => {
    expect(ABI_NAMES.filter((abi) => convention(abi).dataModel.endian === 'big')).toEqual(['ppc32-sysv']);
  });

  for (const abi of ABI_NAMES.filter((a) => a !== 'ppc32-sysv')) {
    const little = convention(abi).dataModel;
    it(`the same integer or float encodes to byte-reversed images on ppc32-sysv and ${abi}`, () => {
      // types of one size and format on both (not long, long double or pointers on x86-64)
      const sameSize = (t: CType) => layoutOf(t, big).size === layoutOf(t, little).size;
      const types = fc.oneof(
        fc.constantFrom(...INTS, 'float', 'double').map((n): CType => scalarT(n)),
        enumArb(false),
      ).filter(sameSize);
      const sample = types.chain((type) => {
        const a = intSpecOf(type, big); const b = intSpecOf(type, little);
        if (!a || !b) return fc.double().map((v) => ({ type, value: v as number | bigint }));
        // in range on both (plain char and wchar_t differ in signedness)
        const spec = { ...a, lo: a.lo > b.lo ? a.lo : b.lo, hi: a.hi < b.hi ? a.hi : b.hi };
        return bigintIn(spec).map((v) => ({ type, value: a.size === 8 ? v : Number(v) as number | bigint }));
      });
      fc.assert(fc.property(sample, ({ type, value }) => {
        const be = encodeToBytes(type, value, 'v', { dm: big });
        const le = encodeToBytes(type, value, 'v', { dm: little });
        expect(be.length).toBe(le.length);
        expect(hex(be)).toBe(hex(le.slice().reverse()));
        // and the low-order byte is first on the little-endian side
        if (typeof value === 'bigint' || intSpecOf(type, little)) {
          const v = BigInt(value);
          expect(le[0]).toBe(Number(BigInt.asUintN(8, v)));
          expect(be[be.length - 1]).toBe(Number(BigInt.asUintN(8, v)));
        }
      }), params(301));
    });

    it(`arrays and structs of integers: each element byte-reversed in place, ppc32-sysv vs ${abi}`, () => {
      const sample = fc.tuple(
        fc.constantFrom<ScalarName>('short', 'unsigned short', 'int', 'unsigned int', 'long long', 'unsigned long long'),
        fc.integer({ min: 1, max: 4 }),
      ).chain(([name, length]) => {
        const el = scalarT(name);
        const spec = intSpecOf(el, big)!;
        return fc.array(bigintIn(spec), { minLength: length, maxLength: length }).map((vs) => ({ el, spec, vs }));
      });
      fc.assert(fc.property(sample, ({ el, spec, vs }) => {
        const values = vs.map((v) => (spec.size === 8 ? v : Number(v)));
        const type: CType = { kind: 'array', element: el, length: vs.length };
        const be = encodeToBytes(type, values, 'v', { dm: big });
        const le = encodeToBytes(type, values, 'v', { dm: little });
        vs.forEach((v, i) => {
          const at = i * spec.size;
          expect(hex(be.subarray(at, at + spec.size))).toBe(hex(intBytes(v, spec.size, false)));
          expect(hex(le.subarray(at, at + spec.size))).toBe(hex(intBytes(v, spec.size, true)));
        });
        // in a struct after a char, each at its own offset (long long is 4-aligned on i386, 8 elsewhere)
        const st: RecordType = { kind: 'struct', fields: [{ name: 'c', type: scalarT('unsigned char') }, { name: 'n', type: el }] };
        const sb = encodeToBytes(st, { c: 0xab, n: values[0] }, 'v', { dm: big });
        const sl = encodeToBytes(st, { c: 0xab, n: values[0] }, 'v', { dm: little });
        const ob = layoutOf(st, big).fields![1].offset;
        const ol = layoutOf(st, little).fields![1].offset;
        expect(sb[0]).toBe(0xab);
        expect(sl[0]).toBe(0xab);
        expect(hex(sb.subarray(ob, ob + spec.size))).toBe(hex(sl.subarray(ol, ol + spec.size).slice().reverse()));
      }), params(302));
    });
  }
});

describe('__int128 (x86-64, AArch64)', () => {
  const i128: CType = { kind: 'scalar', name: '__int128' };
  const u128: CType = { kind: 'scalar', name: 'unsigned __int128' };
  for (const dm of [DATA_MODELS.x86_64, DATA_MODELS.aarch64]) {
    it(`${dm.name}: 16 little-endian bytes, low half first; BigInt, number or decimal string in, BigInt out; range checked`, () => {
      const v = -(1n << 100n) + 12345n;
      const bytes = encodeToBytes(i128, v, 'x', { dm });
      expect(bytes.length).toBe(16);
      const u = BigInt.asUintN(128, v);
      const dv = new DataView(bytes.buffer);
      expect(dv.getBigUint64(0, true)).toBe(u & ((1n << 64n) - 1n));
      expect(dv.getBigUint64(8, true)).toBe(u >> 64n);
      expect(decodeBytes(i128, bytes, { dm })).toBe(v);
      expect(decodeBytes(u128, encodeToBytes(u128, ((1n << 128n) - 1n).toString(), 'x', { dm }), { dm })).toBe((1n << 128n) - 1n);
      expect(decodeBytes(i128, encodeToBytes(i128, -7, 'x', { dm }), { dm })).toBe(-7n);
      expect(() => encodeToBytes(i128, 1n << 127n, 'x', { dm })).toThrow(ValueError);
      expect(() => encodeToBytes(u128, -1n, 'x', { dm })).toThrow(ValueError);
      expect(layoutOf(i128, dm)).toEqual({ size: 16, align: 16 });
    });
  }
  it('is refused on the 32-bit data models, naming the type and the model', () => {
    for (const dm of [DATA_MODELS.i386, DATA_MODELS.arm, DATA_MODELS.ppc32]) expect(() => layoutOf(i128, dm)).toThrow(/__int128: not available on/);
  });
});
