import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { DATA_MODELS, type DataModel, type DataModelName } from '../layout/datamodel.ts';
import type { CType, Field, RecordType, ScalarName } from '../ctypes/ctypes.ts';
import {
  LayoutCache, LayoutError, alignOf, enumScalar, flattenScalars, layoutOf, offsetOf, sizeOf,
} from '../layout/layout.ts';
import { emptyScope, parseDeclarations, parseType, type TypeScope } from '../ctypes/parse.ts';

// ---------------------------------------------------------------------------
// Ground truth from GCC (tests/layout-truth/gen.mjs)

interface Truth {
  target: DataModelName;
  endian: 'little' | 'big';
  charSigned: boolean;
  wcharSigned: boolean;
  scalars: Record<string, { model: ScalarName | 'pointer'; size: number; align: number; structAlign: number }>;
  types: Record<string, { size: number; align: number; fields?: Record<string, number> }>;
}

const dir = new URL('./layout-truth/', import.meta.url);
const header = readFileSync(new URL('types.h', dir), 'utf8');
const TARGETS: DataModelName[] = ['i386', 'x86_64', 'arm', 'ppc32', 'aarch64', 'llp64'];
const truths = TARGETS.map((t) => JSON.parse(readFileSync(new URL(`${t}.json`, dir), 'utf8')) as Truth);

/** 'struct point' -> the tag's type, 'td_char' -> the typedef's. */
function lookup(scope: TypeScope, key: string): CType {
  const m = /^(struct|union|enum) (\w+)$/.exec(key);
  const t = m ? scope.tags.get(m[2]) : scope.typedefs.get(key);
  if (!t) throw new Error(`types.h: '${key}' not found by the parser`);
  if (m && t.kind !== m[1]) throw new Error(`'${key}' parsed as a ${t.kind}`);
  return t;
}

/** Names offsetof accepts: members, and the members of anonymous members. */
function memberNames(r: RecordType): string[] {
  return r.fields.flatMap((f: Field) =>
    f.name === '' && (f.type.kind === 'struct' || f.type.kind === 'union') ? memberNames(f.type) : [f.name]);
}

describe('layout matches GCC 12 on every target', () => {
  const { scope } = parseDeclarations(header);

  it('the JSON files cover the same types for every target', () => {
    const keys = Object.keys(truths[0].types);
    expect(keys.length).toBeGreaterThanOrEqual(40);
    for (const t of truths) expect(Object.keys(t.types)).toEqual(keys);
  });

  for (const truth of truths) {
    const dm = DATA_MODELS[truth.target];
    describe(truth.target, () => {
      it('data model scalars, signedness and byte order', () => {
        expect(dm.name).toBe(truth.target);
        expect(dm.endian).toBe(truth.endian);
        expect(dm.charSigned).toBe(truth.charSigned);
        expect(dm.wcharSigned).toBe(truth.wcharSigned);
        for (const [spelling, s] of Object.entries(truth.scalars)) {
          const l = s.model === 'pointer' ? { size: dm.pointerSize, align: dm.pointerSize } : dm.scalars[s.model];
          expect({ spelling, size: l.size, align: l.align }).toEqual({ spelling, size: s.size, align: s.structAlign });
          expect({ spelling, align: s.align }).toEqual({ spelling, align: s.structAlign });
        }
      });

      it(`every type of types.h (${Object.keys(truth.types).length} types)`, () => {
        const mismatches: string[] = [];
        let fieldsChecked = 0;
        // types.h as a compiler for this target reads it (LLP64: size_t is 8 bytes without long).
        const own = dm.typedefs ? parseDeclarations(header, emptyScope(dm.typedefs)).scope : scope;
        for (const [key, want] of Object.entries(truth.types)) {
          const type = lookup(own, key);
          const got = layoutOf(type, dm);
          if (got.size !== want.size || got.align !== want.align) {
            mismatches.push(`${key}: size/align ${got.size}/${got.align}, GCC ${want.size}/${want.align}`);
          }
          if (type.kind === 'enum') continue;
          if (type.kind !== 'struct' && type.kind !== 'union') throw new Error(`${key} is a ${type.kind}`);
          const wantFields = want.fields ?? {};
          expect({ key, names: memberNames(type) }).toEqual({ key, names: Object.keys(wantFields) });
          for (const [name, offset] of Object.entries(wantFields)) {
            const o = offsetOf(type, name, dm);
            fieldsChecked++;
            if (o !== offset) mismatches.push(`${key}.${name}: offset ${o}, GCC ${offset}`);
          }
        }
        expect(mismatches).toEqual([]);
        expect(fieldsChecked).toBeGreaterThan(300);
      });
    });
  }
});

/** The cross compilers are optional: the committed JSON is the ground truth the tests use. */
function haveCompilers(): boolean {
  try {
    for (const cc of ['i686-linux-gnu-gcc', 'gcc', 'arm-linux-gnueabihf-gcc', 'arm-linux-gnueabi-gcc', 'powerpc-linux-gnu-gcc', 'aarch64-linux-gnu-gcc', 'x86_64-w64-mingw32-gcc']) {
      execFileSync(cc, ['-dumpversion'], { stdio: 'ignore' });
    }
    return true;
  } catch {
    return false;
  }
}

describe.runIf(haveCompilers())('the committed JSON', () => {
  it('is what the installed compilers produce (gen.mjs --check)', () => {
    const out = execFileSync(process.execPath, [fileURLToPath(new URL('gen.mjs', dir)), '--check'], { encoding: 'utf8' });
    expect(out.trim().split('\n')).toHaveLength(TARGETS.length);
  });
});

// ---------------------------------------------------------------------------
// Hand-checked examples and API behaviour

const { i386, x86_64, arm, ppc32, aarch64 } = DATA_MODELS;

describe('layoutOf', () => {
  it('lays out fields with padding and reports it', () => {
    const t = parseType('struct { char c; double d; short s; }');
    expect(layoutOf(t, x86_64)).toEqual({
      size: 24, align: 8, fields: [
        { name: 'c', type: { kind: 'scalar', name: 'char' }, offset: 0, size: 1, align: 1 },
        { name: 'd', type: { kind: 'scalar', name: 'double' }, offset: 8, size: 8, align: 8 },
        { name: 's', type: { kind: 'scalar', name: 'short' }, offset: 16, size: 2, align: 2 },
      ],
    });
    expect(layoutOf(t, i386)).toMatchObject({ size: 16, align: 4, fields: [{ offset: 0 }, { offset: 4 }, { offset: 12 }] });
  });

  it('long double differs on every target', () => {
    const ld = parseType('long double');
    expect([i386, x86_64, arm, ppc32, aarch64].map((dm) => [sizeOf(ld, dm), alignOf(ld, dm)]))
      .toEqual([[12, 4], [16, 16], [8, 8], [16, 16], [16, 16]]);
  });

  it('pointers and pointer-sized typedefs follow the target', () => {
    for (const dm of [i386, arm, ppc32]) expect(sizeOf(parseType('size_t'), dm)).toBe(4);
    for (const dm of [x86_64, aarch64]) expect(sizeOf(parseType('int (*)(void)'), dm)).toBe(8);
  });

  it('arrays: size is length times element size', () => {
    expect(layoutOf(parseType('struct { char c; short m[3][5]; }'), arm)).toMatchObject({ size: 32, align: 2 });
    expect(sizeOf(parseType('struct { char c; } [7]'), arm)).toBe(7);
  });

  it('unions take the largest member, rounded to the strictest alignment', () => {
    const u = parseType('union { char a[5]; int i; }');
    expect(layoutOf(u, x86_64)).toMatchObject({ size: 8, align: 4, fields: [{ offset: 0 }, { offset: 0 }] });
  });

  it('packed and aligned', () => {
    expect(layoutOf(parseType('struct __attribute__((packed)) { char c; double d; }'), x86_64)).toMatchObject({ size: 9, align: 1 });
    expect(layoutOf(parseType('struct { char c; } __attribute__((aligned(16)))'), arm)).toMatchObject({ size: 16, align: 16 });
    expect(layoutOf(parseType('struct { char c; int i __attribute__((aligned(2))); } __attribute__((packed))'), arm))
      .toMatchObject({ size: 6, align: 2, fields: [{ offset: 0 }, { offset: 2 }] });
  });

  it('an empty struct has size 0 (GNU C)', () => {
    expect(layoutOf(parseType('struct {}'), ppc32)).toEqual({ size: 0, align: 1, fields: [] });
  });

  it('enums are 4 bytes, wider only when their values need it', () => {
    const e = parseType('enum { A = -1, B = 0x7fffffff }');
    expect(e.kind === 'enum' && enumScalar(e)).toBe('int');
    const u = parseType('enum { C = 0xffffffff }');
    expect(u.kind === 'enum' && enumScalar(u)).toBe('unsigned int');
    const w = parseType('enum { D = 0x100000000 }');
    expect(w.kind === 'enum' && enumScalar(w)).toBe('unsigned long long');
    expect([sizeOf(w, i386), alignOf(w, i386), alignOf(w, arm)]).toEqual([8, 4, 8]);
  });

  it('is memoized per type object by a LayoutCache', () => {
    const cache = new LayoutCache(arm);
    const t = parseType('struct { int a[4]; }');
    expect(cache.layoutOf(t)).toBe(cache.layoutOf(t));
    expect(Object.isFrozen(cache.layoutOf(t))).toBe(true);
  });

  it('offsetOf follows member designators and anonymous members', () => {
    const t = parseType('struct { char c; union { int i; struct { char a; double d; }; }; struct { short s[3]; } arr[2]; }');
    if (t.kind !== 'struct') throw new Error();
    expect(offsetOf(t, 'd', x86_64)).toBe(16);
    expect(offsetOf(t, 'arr[1].s[2]', x86_64)).toBe(24 + 6 + 4);
    expect(() => offsetOf(t, 'nope', x86_64)).toThrow(/no member named 'nope'/);
  });
});

describe('LayoutError', () => {
  it('names the type and the field', () => {
    const inner: RecordType = { kind: 'struct', tag: 'Inner', fields: [], incomplete: true };
    const outer: RecordType = { kind: 'struct', tag: 'Outer', fields: [{ name: 'a', type: { kind: 'struct', fields: [{ name: 'in', type: inner }] } }] };
    let err: unknown;
    try { layoutOf(outer, arm); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(LayoutError);
    expect(err).toMatchObject({ name: 'LayoutError', typeName: 'struct Outer', field: 'a.in' });
    expect((err as Error).message).toMatch(/struct Outer: field 'a.in': incomplete type/);
  });

  it('void fields, void and functions have no layout', () => {
    const withVoid: RecordType = { kind: 'struct', tag: 'V', fields: [{ name: 'v', type: { kind: 'void' } }] };
    expect(() => layoutOf(withVoid, x86_64)).toThrow(/struct V: field 'v'/);
    expect(() => sizeOf({ kind: 'void' }, x86_64)).toThrow(LayoutError);
    expect(() => sizeOf(parseType('int (int)'), x86_64)).toThrow(/function has no size/);
  });

  it('rejects alignments that are not powers of two', () => {
    const t: RecordType = { kind: 'struct', fields: [{ name: 'x', type: { kind: 'scalar', name: 'int' }, alignAttr: 3 }] };
    expect(() => layoutOf(t, arm)).toThrow(/alignment 3/);
  });
});

describe('flattenScalars', () => {
  it('lists every leaf with its offset, expanding arrays and nested records', () => {
    const t = parseType('struct { char c; struct { float x, y; } p[2]; int *q; }');
    expect(flattenScalars(t, x86_64).map((l) => [l.offset, l.type.kind === 'scalar' ? l.type.name : l.type.kind, l.size]))
      .toEqual([[0, 'char', 1], [4, 'float', 4], [8, 'float', 4], [12, 'float', 4], [16, 'float', 4], [24, 'pointer', 8]]);
  });

  it('lists all members of a union, overlapping', () => {
    const t = parseType('union { double d; struct { int lo, hi; } w; enum { A } e; }');
    expect(flattenScalars(t, ppc32).map((l) => [l.offset, l.type.kind, l.size]))
      .toEqual([[0, 'scalar', 8], [0, 'scalar', 4], [4, 'scalar', 4], [0, 'enum', 4]]);
  });

  it('a scalar is its own single leaf; zero-length arrays have none', () => {
    expect(flattenScalars(parseType('long double'), i386)).toEqual([{ offset: 0, type: { kind: 'scalar', name: 'long double' }, size: 12 }]);
    expect(flattenScalars(parseType('struct { int n; char d[0]; }'), arm)).toHaveLength(1);
  });
});

// ---------------------------------------------------------------------------
// Properties over random nested types

const SCALAR_NAMES: ScalarName[] = ['_Bool', 'char', 'signed char', 'unsigned char', 'short', 'unsigned short',
  'int', 'unsigned int', 'long', 'unsigned long', 'long long', 'unsigned long long', 'float', 'double',
  'long double', 'wchar_t'];

const alignArb = fc.constantFrom(1, 2, 4, 8, 16, 32);

const typeArb: fc.Arbitrary<CType> = fc.letrec<{ type: CType; record: RecordType }>((tie) => ({
  type: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constantFrom(...SCALAR_NAMES).map((name): CType => ({ kind: 'scalar', name })),
    fc.constant<CType>({ kind: 'pointer', to: { kind: 'void' } }),
    fc.record({ kind: fc.constant('array' as const), element: tie('type'), length: fc.integer({ min: 0, max: 4 }) }),
    tie('record'),
  ),
  record: fc.record({
    kind: fc.constantFrom('struct' as const, 'union' as const),
    fields: fc.array(fc.record({
      type: tie('type'),
      alignAttr: fc.option(alignArb, { nil: undefined, freq: 5 }),
    }), { maxLength: 5 }).map((fs) => fs.map((f, i): Field => (
      f.alignAttr === undefined ? { name: `f${i}`, type: f.type } : { name: `f${i}`, type: f.type, alignAttr: f.alignAttr }))),
    packed: fc.option(fc.constant(true), { nil: undefined, freq: 4 }),
    alignAttr: fc.option(alignArb, { nil: undefined, freq: 5 }),
  }).map((r): RecordType => {
    const out: RecordType = { kind: r.kind, fields: r.fields };
    if (r.packed) out.packed = true;
    if (r.alignAttr !== undefined) out.alignAttr = r.alignAttr;
    return out;
  }),
})).type;

const recordArb = typeArb.filter((t): t is RecordType => t.kind === 'struct' || t.kind === 'union');
const dmArb = fc.constantFrom<DataModel>(...Object.values(DATA_MODELS));

describe('layout properties', () => {
  it('offsets are aligned, struct fields do not overlap and stay in order, size is a multiple of align', () => {
    let nested = 0; // guard against a generator that only produces trivial records
    fc.assert(fc.property(recordArb, dmArb, (r, dm) => {
      if (r.fields.length >= 2 && r.fields.some((f) => f.type.kind === 'struct' || f.type.kind === 'union')) nested++;
      const l = layoutOf(r, dm);
      expect(l.size % l.align).toBe(0);
      expect(Number.isInteger(Math.log2(l.align))).toBe(true);
      let end = 0;
      for (const f of l.fields!) {
        expect(f.offset % f.align).toBe(0);
        expect(f.offset + f.size).toBeLessThanOrEqual(l.size);
        expect(l.align % f.align).toBe(0);
        if (r.kind === 'struct') {
          expect(f.offset).toBeGreaterThanOrEqual(end);
          end = f.offset + f.size;
        } else expect(f.offset).toBe(0);
      }
    }), { numRuns: 500 });
    expect(nested).toBeGreaterThan(50);
  });

  it('a packed struct without aligned attributes is the sum of its members', () => {
    const plain = (t: CType): CType => t.kind === 'struct' || t.kind === 'union'
      ? { kind: t.kind, fields: t.fields.map((f) => ({ name: f.name, type: f.type })), ...(t.packed ? { packed: true } : {}) }
      : t;
    fc.assert(fc.property(recordArb, dmArb, (r, dm) => {
      const packed: RecordType = { kind: 'struct', fields: r.fields.map((f) => ({ name: f.name, type: plain(f.type) })), packed: true };
      const sum = packed.fields.reduce((n, f) => n + sizeOf(f.type, dm), 0);
      expect(layoutOf(packed, dm)).toMatchObject({ size: sum, align: 1 });
    }), { numRuns: 300 });
  });

  it('flattenScalars leaves lie inside the type, aligned to their own alignment unless packed', () => {
    const hasPacked = (t: CType): boolean => t.kind === 'array' ? hasPacked(t.element)
      : (t.kind === 'struct' || t.kind === 'union') && (!!t.packed || t.fields.some((f) => hasPacked(f.type)));
    fc.assert(fc.property(typeArb, dmArb, (t, dm) => {
      const size = sizeOf(t, dm);
      for (const leaf of flattenScalars(t, dm)) {
        expect(leaf.offset + leaf.size).toBeLessThanOrEqual(size);
        if (!hasPacked(t)) expect(leaf.offset % alignOf(leaf.type, dm)).toBe(0);
      }
    }), { numRuns: 300 });
  });

  it('the data models agree with each other where the C standard says they must', () => {
    for (const dm of Object.values(DATA_MODELS)) {
      for (const n of SCALAR_NAMES) {
        const s = dm.scalars[n];
        expect(s.size % s.align).toBe(0);
        if (n.startsWith('unsigned ')) expect(dm.scalars[n.slice(9) as ScalarName]).toEqual(s);
      }
      // LP64 and ILP32 keep long as wide as a pointer; LLP64 (Windows x64) keeps it 4 bytes.
      expect(dm.scalars.long.size).toBe(dm.name === 'llp64' ? 4 : dm.pointerSize);
      expect(dm.scalars.char).toEqual({ size: 1, align: 1 });
    }
  });
});
