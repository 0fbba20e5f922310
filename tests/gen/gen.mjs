// Generates random call signatures (in the spirit of GCC's struct-layout tests)
// plus a hand list of hard cases, as GCC sources and a JSON description:
//
//   tests/gen/cases.json          types, prototypes, argument literals, results
//   tests/gen/src/gen_callees.c   check_<id>: 0 when every argument arrived right
//                                 make_<id>: a struct result computed from the args
//   tests/gen/src/gen_callers.c   call_<id>: returns the extern rec_<id> called with the literals
//                                 callm_<id>: returns the extern rec_make_<id>'s struct
//                                 (rec_* are host traps or call-backs; built without
//                                 sibling calls, so Thumb callers reach them by bl)
//
//   node tests/gen/gen.mjs [N]    (default N = 220 random cases: at least 200 per convention;
//                                 the generated objects of all 7 targets take ~1.6 MB. Fixed seed:
//                                 deterministic output, and N random cases are a prefix of N+1)
//
// Values: exactly representable, distinct per argument, every integer byte non-zero
// (a misplaced argument reads poison or a neighbour and shows). No long double in
// the random set; variadic parts hold only int, long long and double.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
const N = Number(process.argv[2] ?? 220);

// ---- deterministic PRNG (mulberry32) ----
let seed = 0x5eed1234;
function rnd() {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const ri = (lo, hi) => lo + Math.floor(rnd() * (hi - lo + 1)); // inclusive
const pick = (a) => a[Math.floor(rnd() * a.length)];
const chance = (p) => rnd() < p;

// ---- scalar types ----
// bits: value range used on every target (long: 32 bits, valid on ILP32 and LP64)
const SCALARS = {
  char: { kind: 'int', bits: 7, signed: false, c: 'char' }, // 1..127: plain char's sign varies
  'signed char': { kind: 'int', bits: 8, signed: true },
  'unsigned char': { kind: 'int', bits: 8, signed: false },
  short: { kind: 'int', bits: 16, signed: true },
  'unsigned short': { kind: 'int', bits: 16, signed: false },
  int: { kind: 'int', bits: 32, signed: true },
  unsigned: { kind: 'int', bits: 32, signed: false },
  long: { kind: 'int', bits: 32, signed: true },
  'unsigned long': { kind: 'int', bits: 32, signed: false },
  'long long': { kind: 'int', bits: 64, signed: true },
  'unsigned long long': { kind: 'int', bits: 64, signed: false },
  _Bool: { kind: 'bool' },
  float: { kind: 'float' },
  double: { kind: 'double' },
  'long double': { kind: 'ldouble' },
  'int *': { kind: 'ptr' },
  // GCC's 128-bit integers exist on 64-bit targets only: cases using them are emitted under
  // #ifdef GEN_INT128 (gen_types.h) and marked `int128` in cases.json (hand cases only).
  __int128: { kind: 'int', bits: 128, signed: true, int128: true },
  'unsigned __int128': { kind: 'int', bits: 128, signed: false, int128: true },
};
const RANDOM_SCALARS = Object.keys(SCALARS).filter((t) => t !== 'long double' && !SCALARS[t].int128);

// ---- type descriptors ----
// { k: 'scalar', name } | { k: 'struct'|'union', tag, fields: [{name, type}] } | { k: 'array', el, n }
const typeDefs = []; // C text of every record, in definition order
function cName(t) {
  if (t.k === 'scalar') return t.name;
  return `${t.k} ${t.tag}`;
}
function decl(t, name) {
  if (t.k === 'array') return `${cName(t.el)} ${name}[${t.n}]`;
  if (t.k === 'scalar' && t.name === 'int *') return `int *${name}`;
  return `${cName(t)} ${name}`;
}
function defineRecord(kind, tag, fields) {
  const t = { k: kind, tag, fields };
  typeDefs.push(`${kind} ${tag} { ${fields.map((f) => `${decl(f.type, f.name)};`).join(' ')} };`);
  return t;
}
const scalar = (name) => ({ k: 'scalar', name });

/** A random struct (1-6 fields: scalars, small arrays, nested structs, unions). */
function randomStruct(prefix, depth, counter) {
  const tag = `${prefix}_${counter.n++}`;
  const nf = ri(1, 6);
  const fields = [];
  for (let i = 0; i < nf; i++) {
    let type;
    const r = rnd();
    if (depth < 2 && r < 0.12) type = randomStruct(prefix, depth + 1, counter);
    else if (depth < 2 && r < 0.18) type = randomUnion(prefix, counter);
    else if (r < 0.28) type = { k: 'array', el: scalar(pick(RANDOM_SCALARS.filter((s) => s !== '_Bool'))), n: ri(2, 4) };
    else type = scalar(pick(RANDOM_SCALARS));
    fields.push({ name: `f${i}`, type });
  }
  return defineRecord('struct', tag, fields);
}
function randomUnion(prefix, counter) {
  const tag = `${prefix}_${counter.n++}`;
  const nm = ri(2, 3);
  const fields = [];
  for (let i = 0; i < nm; i++) fields.push({ name: `m${i}`, type: scalar(pick(RANDOM_SCALARS.filter((s) => s !== '_Bool'))) });
  return defineRecord('union', tag, fields);
}

// ---- values ----
// JSON form: numbers; {"$bigint": "<decimal>"} for 64-bit integers; true for _Bool;
// objects for records (unions: exactly the member written); arrays.
let used = new Set(); // distinct values within one case
function uniq(gen) {
  for (;;) {
    const v = gen();
    const key = String(v);
    if (!used.has(key)) { used.add(key); return v; }
  }
}
function nonzeroBytes(nbytes, topMax = 255) {
  let v = 0n;
  for (let i = 0; i < nbytes; i++) v = (v << 8n) | BigInt(i === 0 ? ri(1, topMax) : ri(1, 255));
  return v;
}
function intValue(info) {
  return uniq(() => {
    if (info.bits === 7) return ri(1, 127);
    const bytes = info.bits / 8;
    let u = nonzeroBytes(bytes);
    if (info.signed) u = BigInt.asIntN(info.bits, u);
    return info.bits >= 64 ? u : Number(u);
  });
}
function floatValue(kind) {
  // few mantissa bits: sums with small integers stay exact (also in x87 extended precision)
  return uniq(() => {
    const mbits = kind === 'float' ? 8 : 20;
    const m = 1 + ri(1, (1 << mbits) - 1) / (1 << mbits);
    const e = kind === 'float' ? ri(-4, 10) : ri(-4, 20);
    return (chance(0.35) ? -1 : 1) * m * 2 ** e;
  });
}
function valueOf(t) {
  if (t.k === 'scalar') {
    const info = SCALARS[t.name];
    switch (info.kind) {
      case 'int': return intValue(info);
      case 'bool': return true;
      case 'float': case 'double': case 'ldouble': return floatValue(info.kind === 'float' ? 'float' : 'double');
      case 'ptr': return uniq(() => Number(nonzeroBytes(4, 0x7f)) & ~3);
    }
  }
  if (t.k === 'array') return Array.from({ length: t.n }, () => valueOf(t.el));
  if (t.k === 'struct') return Object.fromEntries(t.fields.map((f) => [f.name, valueOf(f.type)]));
  // union: one member, chosen at random
  const f = pick(t.fields);
  return { [f.name]: valueOf(f.type) };
}

// ---- C text of values and checks ----
/** The exact decimal expansion of a dyadic value (also exact as a long double literal). */
function numText(v) {
  const neg = v < 0 || Object.is(v, -0);
  let a = Math.abs(v);
  let k = 0;
  while (!Number.isInteger(a)) { a *= 2; k++; }
  const scaled = BigInt(a) * 5n ** BigInt(k); // value = scaled / 10^k
  let s = scaled.toString().padStart(k + 1, '0');
  s = k ? `${s.slice(0, s.length - k)}.${s.slice(s.length - k)}` : `${s}.0`;
  return (neg ? '-' : '') + s;
}
function scalarLit(name, v) {
  const info = SCALARS[name];
  switch (info.kind) {
    case 'int': {
      const big = BigInt(v);
      if (info.bits === 128) {
        // C has no 128-bit literals: the two halves, put together
        const u = BigInt.asUintN(128, big);
        return `(${name})(((unsigned __int128)0x${(u >> 64n).toString(16)}ULL << 64) | 0x${(u & ((1n << 64n) - 1n)).toString(16)}ULL)`;
      }
      const lit = info.signed || big < 0n ? `${big}LL` : `${big}ULL`;
      return `(${name})${big < 0n ? `(${lit})` : lit}`;
    }
    case 'bool': return '1';
    case 'float': return `${numText(v)}f`;
    case 'double': return numText(v);
    case 'ldouble': return `${numText(v)}L`;
    case 'ptr': return `(int *)0x${v.toString(16)}`;
  }
}
function initText(t, v, top) {
  if (t.k === 'scalar') return scalarLit(t.name, v);
  if (t.k === 'array') return `{ ${v.map((x) => initText(t.el, x, false)).join(', ')} }`;
  const body = `{ ${Object.keys(v).map((k) => `.${k} = ${initText(t.fields.find((f) => f.name === k).type, v[k], false)}`).join(', ')} }`;
  return top ? `(${cName(t)})${body}` : body;
}
/** C statements comparing expression `e` of type t with value v; sets bit `bit` of m when wrong. */
function checks(t, v, e, bit, out) {
  if (t.k === 'scalar') {
    const info = SCALARS[t.name];
    let cond;
    switch (info.kind) {
      case 'int': case 'bool': case 'ptr': cond = `${e} != ${scalarLit(t.name, v)}`; break;
      case 'float': cond = `gen_fbits(${e}) != gen_fbits(${scalarLit(t.name, v)})`; break;
      case 'double': cond = `gen_dbits(${e}) != gen_dbits(${scalarLit(t.name, v)})`; break;
      case 'ldouble': cond = `!gen_ldeq(${e}, ${scalarLit(t.name, v)})`; break;
    }
    out.push(`  if (${cond}) m |= 1u << ${bit};`);
    return;
  }
  if (t.k === 'array') { v.forEach((x, i) => checks(t.el, x, `${e}[${i}]`, bit, out)); return; }
  for (const k of Object.keys(v)) checks(t.fields.find((f) => f.name === k).type, v[k], `${e}.${k}`, bit, out);
}
function toJson(v) {
  if (typeof v === 'bigint') return { $bigint: v.toString() };
  if (Array.isArray(v)) return v.map(toJson);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, toJson(x)]));
  return v;
}

// ---- struct results (make_<id>) ----
const RESULT_TYPES = ['signed char', 'unsigned char', 'short', 'unsigned short', 'int', 'unsigned', 'long long', 'unsigned long long', 'float', 'double'];
function wrap(name, big) {
  const info = SCALARS[name];
  const w = info.signed ? BigInt.asIntN(info.bits, big) : BigInt.asUintN(info.bits, big);
  return info.bits === 64 ? w : Number(w);
}
/** Result struct: field k = (T)(a_j + k) for the first unused scalar argument a_j of the same type, else a literal. */
function makeResult(id, params, values) {
  const size = pick(['small', 'medium', 'large']);
  const nf = size === 'small' ? ri(1, 2) : size === 'medium' ? ri(2, 4) : ri(5, 9);
  const fields = [];
  const exprs = [];
  const expected = {};
  const usedArgs = new Set();
  for (let k = 0; k < nf; k++) {
    let name = pick(RESULT_TYPES);
    if (size === 'small' && chance(0.5)) name = pick(['signed char', 'short', 'float', 'unsigned char']);
    const fname = `r${k}`;
    fields.push({ name: fname, type: scalar(name) });
    const j = params.findIndex((p, i) => !usedArgs.has(i) && p.type.k === 'scalar' && p.type.name === name);
    const info = SCALARS[name];
    if (j >= 0) {
      usedArgs.add(j);
      const a = values[j];
      if (info.kind === 'int') {
        expected[fname] = wrap(name, BigInt(a) + BigInt(k));
        exprs.push(`r.${fname} = (${name})(a${j} + ${k});`);
      } else {
        expected[fname] = name === 'float' ? Math.fround(a + k) : a + k;
        exprs.push(`r.${fname} = (${name})(a${j} + ${k});`);
      }
    } else {
      const v = info.kind === 'int' ? intValue(info) : floatValue(name);
      expected[fname] = v;
      exprs.push(`r.${fname} = ${scalarLit(name, v)};`);
    }
  }
  const t = defineRecord('struct', `R${id}`, fields);
  return { type: t, expected, exprs };
}

// ---- cases ----
const cases = [];
const callees = [];
const callers = [];

/** C 6.5.2.2 default argument promotions, for va_arg. */
function promoted(t) {
  if (t.k !== 'scalar') return t;
  if (t.name === 'float') return scalar('double');
  if (['char', 'signed char', 'unsigned char', 'short', 'unsigned short', '_Bool'].includes(t.name)) return scalar('int');
  return t;
}

/**
 * The C text of a prototype with the GEN_CC macro before the function's name: every generated
 * function, callers and recorders too, follows the convention the fixture build selects with it
 * (tests/fixtures/build.sh: empty, or __attribute__((stdcall)) and the like). JSON keeps the plain text.
 */
function cc(proto) {
  return proto.replace(/ (\w+)\(/, ' GEN_CC $1(');
}

/** Whether a type is or holds a 128-bit integer. */
function usesInt128(t) {
  if (t.k === 'scalar') return !!SCALARS[t.name].int128;
  if (t.k === 'array') return usesInt128(t.el);
  return t.fields.some((f) => usesInt128(f.type));
}

function emitCase({ id, params, values, variadic = [], vvalues = [], make = false, note }) {
  const int128 = [...params.map((p) => p.type), ...variadic].some(usesInt128);
  const calleesBefore = callees.length, callersBefore = callers.length;
  const fixed = params.map((p, i) => decl(p.type, `a${i}`)).join(', ') || 'void';
  const plist = variadic.length ? `${fixed}, ...` : fixed;
  const checkProto = `unsigned check_${id}(${plist})`;
  const recProto = `unsigned rec_${id}(${plist})`;
  const allTypes = [...params.map((p) => p.type), ...variadic];
  const allValues = [...values, ...vvalues];
  // callee
  const body = [];
  body.push(`${cc(checkProto)}\n{`);
  body.push('  unsigned m = 0;');
  if (variadic.length) {
    body.push('  __builtin_va_list ap;');
    body.push(`  __builtin_va_start(ap, a${params.length - 1});`);
    variadic.forEach((t, k) => {
      const i = params.length + k;
      // default promotions: float travels as double, char/short as int
      const pt = promoted(t);
      body.push(`  ${decl(pt, `a${i}`)} = __builtin_va_arg(ap, ${cName(pt)});`);
    });
    body.push('  __builtin_va_end(ap);');
  }
  allTypes.forEach((t, i) => {
    const pt = i >= params.length ? promoted(t) : t;
    checks(pt, allValues[i], `a${i}`, i, body);
  });
  body.push('  return m;\n}\n');
  callees.push(body.join('\n'));
  // caller
  const lits = allTypes.map((t, i) => initText(t, allValues[i], true));
  callers.push(`extern ${cc(recProto)};\n${cc(`unsigned call_${id}(void)`)}\n{\n  return rec_${id}(${lits.join(', ')});\n}\n`);
  const c = {
    id: String(id),
    prototype: checkProto,
    callee: `check_${id}`,
    caller: `call_${id}`,
    recorder: recProto,
    args: toJson(allValues),
  };
  if (note) c.note = note;
  if (int128) c.int128 = true;
  if (variadic.length) c.variadicTypes = variadic.map(cName);
  if (make) {
    const r = makeResult(id, params, values);
    const makeProto = `struct R${id} make_${id}(${fixed})`;
    const recMake = `struct R${id} rec_make_${id}(${fixed})`;
    callees.push(`${cc(makeProto)}\n{\n  struct R${id} r;\n  ${r.exprs.join('\n  ')}\n  return r;\n}\n`);
    callers.push(`extern ${cc(recMake)};\n${cc(`struct R${id} callm_${id}(void)`)}\n{\n  return rec_make_${id}(${lits.slice(0, params.length).join(', ')});\n}\n`);
    c.result = { prototype: makeProto, callee: `make_${id}`, caller: `callm_${id}`, recorder: recMake, expected: toJson(r.expected) };
  }
  if (int128) {
    for (const [list, from] of [[callees, calleesBefore], [callers, callersBefore]]) {
      list[from] = `#ifdef GEN_INT128\n${list[from]}`;
      list[list.length - 1] = `${list[list.length - 1]}#endif\n`;
    }
  }
  cases.push(c);
}

// ---- the hand list (hard cases: struct, float and alignment corners each convention gets wrong easily) ----
const hand = [];
let handN = 0;
function H(note, paramTypes, opts = {}) {
  hand.push({ note, paramTypes, ...opts });
}
const variantHand = [];
function V(note, paramTypes, opts = {}) {
  variantHand.push({ note, paramTypes, ...opts });
}
const S = (fields, kind = 'struct') => defineRecord(kind, `H_${handN++}`, fields.map(([type, name]) => ({ name, type: typeof type === 'string' ? scalar(type) : type })));
const arr = (el, n) => ({ k: 'array', el: scalar(el), n });
const T = (n) => scalar(n);
{
  const DblLong = S([['double', 'd'], ['long', 'l']]);
  const LongDbl = S([['long', 'l'], ['double', 'd']]);
  const IntFloatDbl = S([['int', 'i'], ['float', 'f'], ['double', 'd']]);
  const FloatPair = S([['float', 'x'], ['float', 'y']]);
  const Float3 = S([['float', 'a'], ['float', 'b'], ['float', 'c']]);
  const Double2 = S([['double', 'a'], ['double', 'b']]);
  const Double4 = S([['double', 'a'], ['double', 'b'], ['double', 'c'], ['double', 'd']]);
  const Float4 = S([['float', 'a'], ['float', 'b'], ['float', 'c'], ['float', 'd']]);
  const LL2 = S([['long', 'a'], ['long', 'b']]);
  const C12 = S([[arr('unsigned char', 12), 'c']]);
  const S16 = S([['int', 'a'], ['short', 'b'], ['char', 'c'], ['long long', 'd']]);
  const S24 = S([['long long', 'a'], ['double', 'b'], ['int', 'c']]);
  const S40 = S([[arr('int', 10), 'a']]);
  const Small3 = S([['char', 'a'], ['char', 'b'], ['char', 'c']]);
  const ShortInt = S([['short', 's'], ['int', 'i']]);
  const FloatInt = S([['float', 'f'], ['int', 'i']]);
  const UDL = S([['double', 'd'], ['long long', 'l']], 'union');
  const LdS = S([['long double', 'x'], ['int', 'i']]);
  const d = T('double'), f = T('float'), i = T('int'), l = T('long'), ll = T('long long'), c = T('char'), sh = T('short');
  H('x86-64: {double; long} goes xmm + gpr', [DblLong, i, DblLong], { make: true });
  H('x86-64: {long; double} goes gpr + xmm', [LongDbl, d, LongDbl], { make: true });
  H('x86-64: INTEGER+SSE eightbytes {int,float,double}', [IntFloatDbl, f, IntFloatDbl]);
  H('x86-64: GPRs run out mid-struct: the struct goes to memory, the next long still takes r9', [l, l, l, l, l, LL2, l]);
  H('x86-64: SSE registers run out mid-struct', [d, d, d, d, d, d, d, Double2, d]);
  H('x86-64: mixed struct when only one GPR is left', [l, l, l, l, l, DblLong, d, l]);
  H('9-16 and >16 byte structs', [C12, S16, S24, S40, i]);
  H('9-16 byte structs after 5 ints', [i, i, i, i, i, S16, C12], { make: true });
  H('ARM VFP: HFAs {float x2}, {float x3}, {double x4}', [FloatPair, Float3, Double4, f], { make: true });
  H('ARM VFP: back-filling s2 after d0 (int, double, float)', [i, d, f]);
  H('ARM VFP: float, double, float, double, float back-fills', [f, d, f, d, f, FloatPair, f]);
  H('ARM VFP: HFA does not fit after regs are used: goes to the stack, later floats too', [d, d, d, d, d, d, Double4, f, d]);
  H('ARM VFP: 17 floats (more than s0-s15)', Array(17).fill(f));
  H('ARM VFP: 10 doubles (more than d0-d7)', Array(10).fill(d));
  H('ARM VFP: Float4 x 4 (16 sregs), then a float on the stack', [Float4, Float4, Float4, Float4, f]);
  H('long long alignment: (int, long long) skips r1 on ARM, r4 on PPC', [i, ll, i, ll]);
  H('long long on the stack after 3 ints (ARM: 8-aligned stack slot)', [i, i, i, ll, i, ll]);
  H('double alignment in pairs (armel r2:r3) and on the stack', [i, d, i, d, i, d]);
  H('PPC: long long pairs run out: r10 skipped, stack 8-aligned', [i, i, i, i, i, i, i, ll, i]);
  H('sub-word values on big-endian stack slots', [i, i, i, i, i, i, i, i, c, sh, T('unsigned char'), T('unsigned short'), T('signed char')]);
  H('sub-word values after registers (x86-64: 7th+ on the stack)', [l, l, l, l, l, l, c, sh, T('_Bool'), T('unsigned short')]);
  H('small structs 3 and 8 bytes, union of double/long long', [Small3, ShortInt, FloatInt, UDL, Small3]);
  H('variadic: float promotion to double', [i], { variadic: [f, d, f] });
  H('variadic: char/short promotion to int, long long alignment', [c, i], { variadic: [c, sh, ll, i, ll] });
  H('variadic: many doubles (x86-64 al, ppc CR6)', [i], { variadic: [d, d, d, d, d, d, d, d, d, d] });
  H('variadic: struct arguments', [i], { variadic: [Small3, DblLong, S24] });
  H('variadic: long long after odd int count', [i, i, i], { variadic: [ll, d, ll, i] });
  H('long double arguments', [T('long double'), i, T('long double')]);
  H('long double in a struct and after doubles', [d, LdS, d, T('long double')]);
  H('struct results: large', [S24, i, d], { make: true });
  H('struct result: small with no args', [c], { make: true });
  const S20 = S([[arr('int', 5), 'a']]);
  H('AArch64: 20-byte structs by reference (B.4), HFA of four doubles in d0-d3 (C.2)', [S20, Double4, i, S20, f], { make: true });
  H('AArch64: a 16-byte struct when one x register is left goes on the stack, and so does the next long (C.11)', [l, l, l, l, l, l, l, LL2, l]);
  H('AArch64: HFA of 3 floats on the stack after 7 doubles (C.3), no later float in a register', [d, d, d, d, d, d, d, Float3, f, d]);
  // The i386 attribute variants (emitted after the random cases: the earlier ids and values stay).
  V('i386-stdcall: the callee pops 4+8+4+8+4 bytes of stack arguments (ret $28)', [i, ll, Small3, d, c], { make: true });
  V('i386-stdcall: ret N counts a 12-byte long double as 3 words', [T('long double'), sh, FloatInt]);
  V('i386-thiscall: a pointer first goes in ecx, the rest on the stack', [T('int *'), i, d, ShortInt], { make: true });
  V('i386-thiscall: a first struct or long long goes on the stack and uses up ecx', [ShortInt, i, i]);
  V('i386-thiscall / fastcall: a double leaves ecx free for the next int', [d, i, c, i]);
  V('i386-regparm3: int, long long, int: eax, then edx:ecx, then the stack', [i, ll, i], { make: true });
  V('i386-regparm3: a long long that does not fit goes on the stack, and no register is left', [i, i, ll, i, i]);
  V('i386-regparm3: long long first in eax:edx, an int in ecx', [ll, i, i]);
  V('i386-regparm3: a 12-byte struct in eax, edx, ecx; a 3-byte one in one register', [C12, i, Small3]);
  V('i386-regparm3: a struct of one double takes no register', [S([['double', 'd']]), i, i, i, i]);
  V('i386-fastcall: char in ecx, long long on the stack using up edx, the rest on the stack', [c, ll, i, i]);
  V('i386-fastcall: a 4-byte struct goes on the stack and uses up ecx; a short takes edx', [S([['short', 'a'], ['short', 'b']]), sh, i]);
  V('i386-fastcall: _Bool and a pointer in ecx, edx', [T('_Bool'), T('int *'), i], { make: true });
  // 128-bit integers (x86-64, AArch64 only: emitted under #ifdef GEN_INT128)
  const i128 = T('__int128'), u128 = T('unsigned __int128');
  V('__int128 after an int: AArch64 an even pair x2:x3 (C.8, C.9), x86-64 rsi:rdx (INTEGER+INTEGER)', [i, i128, i, u128], { make: true });
  V('__int128 with one register left: on the stack, 16-aligned, and (AArch64) no later x register', [i, i, i, i, i, i, i, i128, i, l]);
  V('__int128 as a variadic argument', [i], { variadic: [i128, d, u128] });
}

// ---- generate ----
let id = 0;
function emitHand(h) {
  used = new Set();
  const params = h.paramTypes.map((type) => ({ type }));
  const values = params.map((p) => valueOf(p.type));
  const variadic = h.variadic ?? [];
  const vvalues = variadic.map((t) => valueOf(t));
  emitCase({ id: id++, params, values, variadic, vvalues, make: !!h.make, note: h.note });
}
hand.forEach(emitHand);
const HAND_BEFORE = id;
for (let n = 0; n < N; n++) {
  used = new Set();
  const cid = id++;
  const counter = { n: 1 };
  const isVariadic = chance(0.15);
  const nargs = ri(1, 16);
  const params = [];
  const nfixed = isVariadic ? ri(1, Math.max(1, Math.min(nargs, 8))) : nargs;
  for (let i = 0; i < nfixed; i++) {
    const r = rnd();
    const type = r < 0.3 ? randomStruct(`G${cid}`, 0, counter) : r < 0.33 ? randomUnion(`G${cid}`, counter) : scalar(pick(RANDOM_SCALARS));
    params.push({ type });
  }
  const values = params.map((p) => valueOf(p.type));
  const variadic = isVariadic ? Array.from({ length: Math.max(1, nargs - nfixed) }, () => scalar(pick(['int', 'long long', 'double']))) : [];
  const vvalues = variadic.map((t) => valueOf(t));
  emitCase({ id: cid, params, values, variadic, vvalues, make: !isVariadic && chance(0.3) });
}
variantHand.forEach(emitHand);
const HAND = HAND_BEFORE + variantHand.length;

// ---- write ----
const HEADER = `/* Generated by tests/gen/gen.mjs (seed 0x5eed1234, ${HAND} hand cases + ${N} random): do not edit. */\n`;
const HELPERS = `
/* Bit images: float compares without soft-float helpers, exact to the last bit. */
static unsigned gen_fbits(float x) { union { float f; unsigned u; } v; v.f = x; return v.u; }
static unsigned long long gen_dbits(double x) { union { double d; unsigned long long u; } v; v.d = x; return v.u; }
/* long double: the significant bytes (x87: 10; IBM double-double: 16; ARM: 8). */
static int gen_ldeq(long double a, long double b)
{
#if defined(__i386__) || defined(__x86_64__)
  const unsigned n = 10;
#else
  const unsigned n = sizeof(long double);
#endif
  union { long double x; unsigned char c[sizeof(long double)]; } u, v;
  unsigned i;
  for (i = 0; i < sizeof(long double); i++) { u.c[i] = 0; v.c[i] = 0; }
  u.x = a; v.x = b;
  for (i = 0; i < n; i++) if (u.c[i] != v.c[i]) return 0;
  return 1;
}
`;
const types = typeDefs.join('\n') + '\n';
mkdirSync(join(HERE, 'src'), { recursive: true });
const CC_MACRO = `
/* The calling convention of every generated function: the target's default, or a GCC
   x86 function attribute such as __attribute__((stdcall)) (tests/fixtures/build.sh). */
#ifndef GEN_CC
#define GEN_CC
#endif
/* The cases with 128-bit integers: where GCC has them and abiscope models them
   (DataModel.int128: x86-64 and AArch64 Linux; not yet the Windows x64 convention). */
#if defined(__SIZEOF_INT128__) && !defined(_WIN64)
#define GEN_INT128 1
#endif

`;
writeFileSync(join(HERE, 'src', 'gen_types.h'), HEADER + CC_MACRO + types);
writeFileSync(join(HERE, 'src', 'gen_callees.c'), `${HEADER}#include "gen_types.h"\n${HELPERS}\n${callees.join('\n')}`);
writeFileSync(join(HERE, 'src', 'gen_callers.c'), `${HEADER}#include "gen_types.h"\n\n${callers.join('\n')}`);
writeFileSync(join(HERE, 'cases.json'), JSON.stringify({ comment: HEADER.trim(), hand: HAND, random: N, types, cases }, null, 1) + '\n');
process.stdout.write(`gen: ${cases.length} cases (${HAND} hand, ${N} random), ${cases.filter((c) => c.result).length} with struct results, ${cases.filter((c) => c.variadicTypes).length} variadic\n`);
