// Random prototypes and declaration texts: grammar-aware ones (types, qualifiers, nesting,
// struct/union/enum/typedef declarations, function pointers, arrays, variadic lists, GCC
// attributes), mutations of them, and raw random strings. Whatever the text, the parser gives
// a signature or an AbiscopeError (never a TypeError, RangeError or a hang), a parsed
// signature prints back to text that parses to the same type, and laying it out and planning
// a call on every convention gives a plan or an AbiscopeError.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { AbiscopeError } from '../errors.ts';
import { emptyScope, formatType, parseDeclarations, parsePrototype, parseType, SignatureError, type TypeScope } from '../ctypes/parse.ts';
import { planCall } from '../abis/plan.ts';
import { layoutOf } from '../layout/layout.ts';
import { ABI_NAMES, convention } from '../backends/registry.ts';
import type { AbiName } from '../backends/registry.ts';
import type { CType, EnumType, RecordType, Signature } from '../ctypes/ctypes.ts';

const ABIS: AbiName[] = [...ABI_NAMES];
const CCS = ABIS.map((a) => convention(a));
const RUNS = 5000;
const SEED = 20240607;

// ---- a grammar of C declarations, as text --------------------------------------------

const TAGS = ['S', 'T', 'U', 'node', 'V'];
const NAMES = ['a', 'b', 'x', 'y', 'next', 'cb', 'f', 'g', 'len', '__proto__', 'constructor'];

const qualifier = fc.constantFrom('const', 'volatile', 'restrict', '__restrict', '__const', '');
const VALID_BASIC = ['char', 'signed char', 'unsigned char', 'short', 'unsigned short int', 'int', 'unsigned',
  'long', 'unsigned long', 'long long', 'long long unsigned int', 'float', 'double', 'long double', '_Bool'];
// wrong on purpose: the parser must say why
const BAD_BASIC = ['void', 'long long long', 'signed unsigned', 'short double', 'unsigned float', '__int128', '_Complex double'];

/** Integer constants: ordinary, at the edges of 2^53 and 2^64, in every base, expressions. */
const constant: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 0, max: 16 }).map(String) },
  { weight: 1, arbitrary: fc.constantFrom('0x10', '017', '0b101', '10UL', "'A'", '9007199254740991', '9007199254740992', '9007199254740993',
    '18446744073709551615', '18446744073709551616', '0xffffffffffffffff', '1e3', '-1', '2147483648', '4294967296', '1' + '0'.repeat(40), '08', '1 << 63', '1 << 64') },
  { weight: 1, arbitrary: fc.tuple(fc.integer({ min: 0, max: 99 }), fc.constantFrom('+', '-', '*', '/', '%', '<<', '>>', '&', '|', '^'), fc.integer({ min: -3, max: 40 }))
    .map(([a, op, b]) => `(${a} ${op} ${b})`) },
);
const smallConstant = fc.oneof(fc.integer({ min: 1, max: 9 }).map(String), fc.constantFrom('0x4', '010', "'\\003'", '(2 * 3)', 'B', '1 << 2'));

const ATTRIBUTES = ['', '', '', ' __attribute__((packed))', ' __attribute__((aligned(8)))', ' __attribute__((unused))', ' __attribute__((aligned(16), packed))'];
const BAD_ATTRIBUTES = [' __attribute__((aligned(3)))', ' __attribute__((aligned(536870912)))', ' __attribute__((mode(SI)))', ' __attribute__((aligned))'];

/**
 * The grammar. Well-formed: valid type words, tags that the prefix defines (struct S, union U,
 * enum T, struct node), small array sizes; else also wrong words, undefined and incomplete tags,
 * huge and negative sizes, refused attributes: texts the parser must refuse, and say where.
 */
function grammar(wellFormed: boolean) {
  const pick = <T>(good: T[], bad: T[]) => fc.constantFrom(...(wellFormed ? good : [...good, ...bad]));
  const basic = pick(VALID_BASIC, BAD_BASIC);
  const attribute = pick(ATTRIBUTES, BAD_ATTRIBUTES);
  const size = wellFormed ? smallConstant : constant;
  const tagRef = pick(['struct S', 'union U', 'enum T', 'struct node', 'td_a', 'td_b'], ['struct T', 'union S', 'enum V', 'struct V', 'union node']);
  return fc.letrec<{ spec: string; declarator: string; params: string; record: string }>((tie) => ({
    // declaration specifiers: qualifiers around a basic type, a typedef name, or a tag (defined here or not)
    spec: fc.tuple(qualifier, fc.oneof(
      { weight: 5, arbitrary: basic },
      { weight: 2, arbitrary: fc.constantFrom('size_t', 'uint32_t', 'int64_t', 'bool', 'wchar_t') },
      { weight: 3, arbitrary: tagRef },
      { weight: 2, arbitrary: tie('record') },
      { weight: 1, arbitrary: fc.tuple(fc.option(fc.constantFrom('E1', 'E2')), fc.uniqueArray(fc.constantFrom('M1', 'M2', 'M3', 'M4', 'M5'), { minLength: wellFormed ? 1 : 0, maxLength: 4 }), fc.array(fc.option(wellFormed ? smallConstant : constant), { minLength: 5, maxLength: 5 }))
        // enumerator names are unique per text in well-formed mode: each enum gets its own prefix
        .map(([tag, ms, vs]) => { const p = `${tag ?? 'anon'}_${Math.abs(vs.join().length)}`; return `enum ${tag ?? ''} { ${ms.map((n, i) => (vs[i] === null ? `${p}${n}` : `${p}${n} = ${vs[i]}`)).join(', ')} }`; }) },
    ), qualifier).map(([q1, t, q2]) => `${q1} ${t} ${q2}`.trim()),
    // a declarator: pointers (qualified), a name or none, or a parenthesized declarator, then suffixes
    declarator: fc.tuple(
      fc.array(qualifier.map((q) => `*${q ? ` ${q} ` : ''}`), { maxLength: 3 }),
      fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...NAMES, '') }, { weight: 1, arbitrary: tie('declarator').map((d) => `(${d})`) }),
      fc.array(fc.oneof(
        fc.oneof(size, fc.constant('')).map((n) => `[${n}]`),
        tie('params').map((p) => `(${p})`),
      ), { maxLength: 2 }),
    ).map(([ptrs, core, suffixes]) => `${ptrs.join('')}${core}${suffixes.join('')}`),
    params: fc.oneof(
      fc.constantFrom('', 'void', ...(wellFormed ? ['int, ...'] : ['...', 'void, int'])),
      fc.tuple(fc.array(fc.tuple(tie('spec'), tie('declarator')).map(([s, d]) => `${s} ${d}`), { minLength: 1, maxLength: 3 }), fc.boolean())
        .map(([ps, v]) => ps.join(', ') + (v ? ', ...' : '')),
    ),
    record: fc.tuple(fc.constantFrom('struct', 'union'), attribute, fc.option(fc.constantFrom(...(wellFormed ? ['R1', 'R2'] : TAGS))),
      fc.array(fc.tuple(tie('spec'), tie('declarator')).map(([s, d]) => `${s} ${d};`), { maxLength: 3 }), attribute)
      .map(([k, a1, tag, members, a2]) => `${k}${a1} ${tag ?? ''} { ${members.join(' ')} }${a2}`),
  }));
}

/** What every well-formed text starts with: the tags and typedefs its types use. */
const PRELUDE = 'struct S { int a; double b; }; union U { char c; long long l; }; enum T { A, B = 5 }; struct node { int v; struct node *next; }; typedef int td_a; typedef struct S *td_b;';

function texts(wellFormed: boolean): fc.Arbitrary<string> {
  const gen = grammar(wellFormed);
  /** A declaration: a struct/union/enum definition, a typedef, an object or a prototype. */
  const declaration = fc.oneof(
    fc.tuple(gen.spec).map(([s]) => `${s};`),
    // New typedef names never shadow the builtin ones (size_t, bool...): a scalar keeps the spelling
    // it was written with, which would then print as the user's type, and the round trip not hold.
    fc.tuple(gen.spec, gen.declarator, fc.constantFrom('td_c', 'td_d')).map(([s, d, n]) => `typedef ${s} ${d.replace(/[A-Za-z_]\w*/, '') || ''}${n};`),
    fc.tuple(gen.spec, gen.declarator).map(([s, d]) => `${s} ${d};`),
    fc.tuple(gen.spec, fc.constantFrom(...NAMES), gen.params).map(([s, n, p]) => `extern ${s} ${n}(${p});`),
  );
  /** The prototype that ends the text: named or not, its result a spec plus pointers. */
  const prototype = fc.tuple(gen.spec, fc.array(fc.constant('*'), { maxLength: 2 }), fc.constantFrom('fn', 'weigh_int2', ''), gen.params)
    .map(([s, ptrs, name, p]) => `${s} ${ptrs.join('')}${name}(${p})`);
  return fc.tuple(fc.array(declaration, { maxLength: wellFormed ? 1 : 3 }), prototype)
    .map(([ds, p]) => `${wellFormed ? PRELUDE : ''} ${ds.join(' ')} ${p}`);
}

const validText = fc.oneof({ weight: 3, arbitrary: texts(true) }, { weight: 2, arbitrary: texts(false) });

/** Mutations of a text: a slice deleted, duplicated or replaced, a token inserted, a character flipped. */
const mutated = fc.tuple(validText, fc.array(fc.tuple(fc.nat(), fc.nat({ max: 12 }), fc.integer({ min: 0, max: 4 }),
  fc.constantFrom('(', ')', '[', ']', '{', '}', '*', ',', ';', '...', 'struct', 'int', '0x', '9', "'", '"', '/*', '\\', '#', '\u00e9', '\0', '__attribute__(('),
), { minLength: 1, maxLength: 4 })).map(([text, edits]) => {
  let t = text;
  for (const [at, len, kind, tok] of edits) {
    const i = t.length ? at % t.length : 0;
    if (kind === 0) t = t.slice(0, i) + t.slice(i + len);
    else if (kind === 1) t = t.slice(0, i) + t.slice(i, i + len) + t.slice(i);
    else if (kind === 2) t = t.slice(0, i) + tok + t.slice(i);
    else if (kind === 3) t = t.slice(0, i) + tok + t.slice(i + len);
    else t = t.slice(0, i) + String.fromCharCode((t.charCodeAt(i) || 32) ^ 1) + t.slice(i + 1);
  }
  return t;
});

/** Deep and repeated forms: nesting around and beyond the limit. */
const deep = fc.tuple(fc.constantFrom('int (*)(', '(', 'struct A { ', '-', '*', '[1]', '((', 'int (*f)('), fc.integer({ min: 1, max: 400 }))
  .map(([unit, n]) => {
    switch (unit) {
      case 'int (*)(': case 'int (*f)(': return `int g(${unit.repeat(n)}int${')'.repeat(n)})`;
      case '(': return `int g(int ${'('.repeat(n)}*p${')'.repeat(n)})`;
      case 'struct A { ': return `${unit.repeat(n)}int x;${' } a;'.repeat(n)} int g(void)`;
      case '-': return `int g(char a[${'-'.repeat(n)}1])`;
      case '*': return `int ${'*'.repeat(n)}g(void)`;
      case '[1]': return `int g(int a${'[1]'.repeat(n)})`;
      default: return `int g(char a[${'('.repeat(n)}1${')'.repeat(n)}])`;
    }
  });

const rawText = fc.oneof(fc.string({ maxLength: 60 }), fc.string({ unit: 'binary', maxLength: 60 }),
  fc.array(fc.constantFrom(...'()[]{}*,;.=+-<>\'"/\\#: \nabcintstructunionenum0123456789xX_'), { maxLength: 80 }).map((cs) => cs.join('')));

const anyText = fc.oneof({ weight: 4, arbitrary: validText }, { weight: 3, arbitrary: mutated }, { weight: 1, arbitrary: deep }, { weight: 2, arbitrary: rawText });

// ---- checks ---------------------------------------------------------------------------

/** Runs `f`; an error must be an AbiscopeError, with a position within the text if it is a SignatureError. */
function outcome<T>(text: string, f: () => T): T | AbiscopeError {
  try {
    return f();
  } catch (e) {
    if (!(e instanceof AbiscopeError)) throw new Error(`not an AbiscopeError for ${JSON.stringify(text)}: ${String(e)}`, { cause: e });
    if (e instanceof SignatureError) {
      expect(e.source).toBe(text);
      expect(e.offset).toBeGreaterThanOrEqual(0);
      expect(e.offset).toBeLessThanOrEqual(text.length);
      expect(e.column).toBeGreaterThanOrEqual(1);
    }
    return e;
  }
}

/** A scope knowing the tags (and enumeration constants) a type uses, as the text that made it did. */
function scopeOf(type: CType): TypeScope {
  const tags = new Map<string, RecordType | EnumType>();
  const constants = new Map<string, number>();
  const seen = new Set<CType>();
  const walk = (t: CType): void => {
    if (seen.has(t)) return;
    seen.add(t);
    switch (t.kind) {
      case 'pointer': return walk(t.to);
      case 'array': return walk(t.element);
      case 'function': walk(t.result); return t.params.forEach((p) => walk(p.type));
      case 'enum':
        if (t.tag !== undefined) tags.set(t.tag, t);
        for (const m of t.members) constants.set(m.name, m.value);
        return;
      case 'struct': case 'union':
        if (t.tag !== undefined) tags.set(t.tag, t);
        return t.fields.forEach((f) => walk(f.type));
      default:
    }
  };
  walk(type);
  return { ...emptyScope(), tags, constants };
}

const asFunction = (s: Signature): CType => ({ kind: 'function', result: s.result, params: s.params, variadic: s.variadic });

/** A parsed signature prints to a prototype that parses, in the scope it made, to a signature printing the same. */
function roundTrip(sig: Signature, scope: TypeScope): void {
  const printed = formatType(asFunction(sig), sig.name ?? 'fn');
  const again = parsePrototype(printed, scope).signature;
  expect(formatType(asFunction(again), again.name ?? 'fn')).toBe(printed);
  expect(again.variadic).toBe(sig.variadic);
  expect(again.params.length).toBe(sig.params.length);
}

/** Layout of every parameter and planning the call on every convention: a plan or an AbiscopeError. */
function plans(text: string, sig: Signature): void {
  for (const cc of CCS) {
    outcome(text, () => planCall(cc, sig));
    for (const p of sig.params) outcome(text, () => layoutOf(p.type, cc.dataModel));
  }
}

describe('fuzzed prototypes and declarations', () => {
  it(`parsePrototype: ${RUNS} texts, each a signature (printing back to itself) or an AbiscopeError`, () => {
    let parsed = 0;
    fc.assert(fc.property(anyText, (text) => {
      const r = outcome(text, () => parsePrototype(text));
      if (r instanceof AbiscopeError) return;
      parsed++;
      expect(r.signature.kind).toBe('function');
      roundTrip(r.signature, r.scope);
      plans(text, r.signature);
    }), { seed: SEED, numRuns: RUNS });
    // The generators reach both outcomes often (a generator that only makes errors tests little).
    expect(parsed).toBeGreaterThan(RUNS / 20);
  });

  it(`parseDeclarations and parseType: ${RUNS} texts, each a result or an AbiscopeError`, () => {
    let parsed = 0;
    const gen = grammar(false);
    const typeText = fc.tuple(gen.spec, gen.declarator).map(([s, d]) => `${s} ${d}`);
    fc.assert(fc.property(fc.oneof(anyText, typeText), fc.boolean(), (text, asType) => {
      if (asType) {
        const t = outcome(text, () => parseType(text));
        if (t instanceof AbiscopeError) return;
        parsed++;
        // A type prints to text that parses, where its tags are known, to a type printing the same.
        const printed = formatType(t);
        const again = parseType(printed, scopeOf(t));
        expect(formatType(again)).toBe(printed);
        for (const cc of CCS) outcome(text, () => layoutOf(t, cc.dataModel));
        return;
      }
      const r = outcome(text, () => parseDeclarations(text));
      if (r instanceof AbiscopeError) return;
      parsed++;
      if (r.signature) plans(text, r.signature);
      for (const tag of r.scope.tags.values()) for (const cc of CCS) outcome(text, () => layoutOf(tag, cc.dataModel));
      for (const td of r.scope.typedefs.values()) for (const cc of CCS) outcome(text, () => layoutOf(td, cc.dataModel));
    }), { seed: SEED + 1, numRuns: RUNS });
    expect(parsed).toBeGreaterThan(RUNS / 20);
  });

  it('function-pointer prototypes (call-backs) and prototypes after a sandbox-like scope', () => {
    const base = parseDeclarations('struct S { int a; double b; }; typedef int td_a; typedef struct S td_b; enum T { A, B = 5 };').scope;
    fc.assert(fc.property(anyText, (text) => {
      for (const opts of [{ functionPointer: true }, {}]) {
        const r = outcome(text, () => parsePrototype(text, base, opts));
        if (!(r instanceof AbiscopeError)) {
          roundTrip(r.signature, r.scope);
          plans(text, r.signature);
        }
      }
    }), { seed: SEED + 2, numRuns: RUNS });
  });
});
