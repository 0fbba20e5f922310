#!/usr/bin/env node
// Writes printf_cases.c (one snprintf call per case, literal arguments, so
// GCC itself passes the variadic arguments) and printf_cases.json (what each
// case is: format, argument text, buffer size). Deterministic: a fixed seed.
//
//   node gen-printf-cases.mjs [outdir]     (default: this directory)
//
// printf_cases.c defines
//   int printf_case(int i, char *buf, unsigned long n)   snprintf's result
//   int printf_case_count(void)
//   unsigned long printf_case_size(int i)                the n to pass
//   long long printf_case_aux                            what %n stored
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
const OUT = process.argv[2] ?? HERE;
const BUF = 512; // largest n; the driver's buffer is larger, to see writes past n

// mulberry32: small, deterministic
let seed = 0x5eed2026;
function rnd() {
  seed |= 0; seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const pick = (a) => a[Math.floor(rnd() * a.length)];
const chance = (p) => rnd() < p;
const int = (lo, hi) => lo + Math.floor(rnd() * (hi - lo + 1));

const cases = []; // { fmt, args: [C expr], n, body? (custom), note }
const add = (fmt, args = [], n = BUF, extra = {}) => cases.push({ fmt, args, n, ...extra });

// ---- values ----
const INTS = ['0', '1', '-1', '7', '-7', '42', '-42', '255', '256', '1000', '-1000', '65535', '65536',
  '123456789', '-987654321', 'INT_MAX', 'INT_MIN', 'INT_MAX - 1', 'INT_MIN + 1'];
const UINTS = ['0u', '1u', '7u', '255u', '4096u', '65535u', '65536u', '3000000000u', 'UINT_MAX', '0x80000000u', '0xdeadbeefu'];
const CHARS_AS_INT = ['0', '127', '128', '255', '256', '-1', '-128', '-129', '300', '65'];
const SHORTS_AS_INT = ['0', '32767', '32768', '65535', '65536', '-32768', '-32769', '70000', '-1'];
const LONGS = ['0L', '-1L', '1L', 'LONG_MAX', 'LONG_MIN', '2147483647L', '(-2147483647L - 1)', '123456789L'];
const ULONGS = ['0UL', '1UL', 'ULONG_MAX', '4294967295UL', '0xabcdefUL'];
const LLONGS = ['0LL', '-1LL', '1LL', 'LLONG_MAX', 'LLONG_MIN', '1099511627776LL', '-1099511627776LL', '9999999999LL',
  '-9223372036854775807LL', '1000000000000000000LL', '4294967296LL', '4294967295LL'];
const ULLONGS = ['0ULL', 'ULLONG_MAX', '18446744073709551615ULL', '0x8000000000000000ULL', '1000000000ULL', '12345678901234567890ULL', '4294967296ULL'];

const DOUBLES = ['0.0', '-0.0', '1.0', '-1.0', '0.5', '1.5', '2.5', '3.5', '-2.5', '0.125', '0.375', '0.625', '1e-300', '1e22', '1e23',
  '9.9999999e-5', '0.0001', '0.00001', '123.456', '-123.456', '1.0/3', '2.0/3', 'DBL_MAX', '-DBL_MAX', 'DBL_MIN', '__DBL_DENORM_MIN__',
  '0x1.fffffffffffffp-1022', '0x0.0000000000001p-1022', '1e308', '1e-5', '0.1', '0.2', '0.3', '100.0', '1e15', '1e16', '1e17', '9.5', '99.5',
  '999.5', '0.05', '0.15', '0.25', '0.35', '0.45', '9223372036854775808.0', '18446744073709551616.0', '123456789.0', '5e-324',
  '0.999999', '0.9999995', '9.9999995', '99999.95', '999999.5', '1e100', '1e-100', '3.141592653589793', '2.718281828459045',
  '__builtin_inf()', '-__builtin_inf()', '__builtin_nan("")', '-__builtin_nan("")', '0x1.8p+1', '0x1.fffffffffffffp+0', '0x1.08p+0', '0x1.18p+0',
  '65536.0', '1e-10', '4.5', '5.5', '0.0625', '1e21', '1e-7', '0.000123456'];
const LDOUBLES = ['0.0L', '-0.0L', '1.0L', '-1.0L', '0.5L', '2.5L', '0.1L', '1.0L/3', '2.0L/3', 'LDBL_MAX', '-LDBL_MAX', 'LDBL_MIN', '__LDBL_DENORM_MIN__',
  'LDBL_EPSILON', '1e300L', '1e-300L', '123.456L', '1e22L', '3.14159265358979323846264338327950288L', '__builtin_infl()',
  '-__builtin_infl()', '__builtin_nanl("")', '-__builtin_nanl("")', '0x1.fffffffffffffffep+0L', '0x1.0000000000000002p+0L', '1e-5L',
  '9.9999999e-5L', '100.0L', '0.125L', '18446744073709551615.0L'];

// long double values only some targets can hold: [condition, value, value elsewhere]
const LD_SPECIAL = [
  ['__LDBL_MAX_EXP__ > 1024', '1e4000L', '1e300L'],
  ['__LDBL_MAX_EXP__ > 1024', '1e-4000L', '1e-300L'],
  ['__LDBL_MAX_EXP__ > 1024', '0x1p-16445L', '0x1p-1074L'],
  ['__LDBL_MAX_EXP__ > 1024', '0x1p-16385L', '0x1p-1023L'],
  ['__LDBL_MAX_EXP__ > 1024', '0x1.234p+16000L', '0x1.234p+1000L'],
  // IBM double-double with a low part far below the high one (glibc keeps
  // only 7 bits of it), with opposite signs (a borrow), and ordinary ones
  ['__LDBL_MANT_DIG__ == 106', 'DD(1.0, 0x1p-60)', '1.0L'],
  ['__LDBL_MANT_DIG__ == 106', 'DD(1.0, 0x1p-200)', '1.0L'],
  ['__LDBL_MANT_DIG__ == 106', 'DD(1.0, -0x1p-60)', '1.0L'],
  ['__LDBL_MANT_DIG__ == 106', 'DD(1.0, -0x1p-54)', '1.0L'],
  ['__LDBL_MANT_DIG__ == 106', 'DD(0x1p+100, -0x1p+40)', '0x1p+100L'],
  ['__LDBL_MANT_DIG__ == 106', 'DD(3.0, 0x1p-53)', '3.0L'],
  ['__LDBL_MANT_DIG__ == 106', 'DD(-1.5, 0x1.8p-70)', '-1.5L'],
  ['__LDBL_MANT_DIG__ == 106', 'DD(1e300, 1e280)', '1e300L'],
  ['__LDBL_MANT_DIG__ == 106', 'DD(1.0, 0x1p-1074)', '1.0L'],
  ['__LDBL_MANT_DIG__ == 106', 'DD(0x1p-1000, 0x1p-1060)', '0x1p-1000L'],
  // x87 values whose leading hex nibble rounds up (%La)
  ['__LDBL_MANT_DIG__ == 64', '0x1.ffffffffffffffffp+0L', '2.0L'],
  ['__LDBL_MANT_DIG__ == 64', '0x1.fp+0L', '0x1.fp+0L'],
];

// ---- helpers for specs ----
const FLAGSETS = ['', '-', '+', ' ', '#', '0', '-+', '+0', ' 0', '#0', '-#', "'", '+ ', '-0', '#-+ 0'];
const WIDTHS = ['', '1', '5', '12', '25'];
const PRECS = ['', '.0', '.1', '.3', '.10', '.20'];
const FPRECS = ['', '.0', '.1', '.2', '.3', '.6', '.10', '.17', '.20', '.30'];

// integer conversions, every length modifier with values of its type
const INT_GROUPS = [
  ['', INTS, UINTS], ['hh', CHARS_AS_INT, CHARS_AS_INT], ['h', SHORTS_AS_INT, SHORTS_AS_INT],
  ['l', LONGS, ULONGS], ['ll', LLONGS, ULLONGS], ['q', LLONGS, ULLONGS], ['L', LLONGS, ULLONGS],
  ['j', ['(intmax_t)0', 'INTMAX_MAX', 'INTMAX_MIN', '(intmax_t)-5'], ['(uintmax_t)0', 'UINTMAX_MAX', '(uintmax_t)12345']],
  ['z', ['(ssize_t)-1', '(ssize_t)0', '(ssize_t)SSIZE_MAX'], ['(size_t)0', 'SIZE_MAX', '(size_t)4096']],
  ['t', ['(ptrdiff_t)-1', 'PTRDIFF_MIN', 'PTRDIFF_MAX'], ['(ptrdiff_t)0', '(ptrdiff_t)123']],
];
for (const [mod, signed, unsigned] of INT_GROUPS) {
  for (const conv of ['d', 'i', 'u', 'o', 'x', 'X']) {
    const vals = conv === 'd' || conv === 'i' ? signed : unsigned;
    for (const v of vals) add(`%${mod}${conv}`, [v]);
    // a spread of flags, widths and precisions over a few values
    for (let k = 0; k < (mod === '' ? 40 : 10); k++) {
      const spec = `%${pick(FLAGSETS)}${pick(WIDTHS)}${pick(PRECS)}${mod}${conv}`;
      add(spec, [pick(vals)]);
    }
  }
}
// precision 0 with value 0, with and without '#'
for (const conv of ['d', 'i', 'u', 'o', 'x', 'X'])
  for (const spec of ['%.0', '%#.0', '%5.0', '%-5.0', '%#5.0', '%#.1', '%#.3', '%#', '%.0l', '%#.0ll'])
    add(`[${spec}${conv}]`, [spec.includes('ll') ? '0LL' : spec.endsWith('l') ? '0L' : '0']);
for (const conv of ['o', 'x', 'X'])
  for (const spec of ['%#', '%#10', '%#-10', '%#010', '%#.5', '%#10.5', '%#.0'])
    add(`[${spec}${conv}]`, ['1']), add(`[${spec}${conv}]`, ['0777']), add(`[${spec}${conv}]`, ['UINT_MAX']);
// binary (glibc 2.35+)
for (const spec of ['%b', '%#b', '%#B', '%10b', '%-10b|', '%.12b', '%#.0b', '%lb', '%llb', '%hhb'])
  add(spec, [spec.includes('ll') ? '0x8000000000000001ULL' : spec.includes('l') ? '5UL' : '5']),
  add(spec, [spec.includes('ll') ? '0ULL' : spec.includes('l') ? '0UL' : '0']);
// '*' width and precision, negative ones
for (const [w, p] of [['5', null], ['-5', null], ['0', null], [null, '3'], [null, '-1'], [null, '0'], ['8', '4'], ['-8', '4'], ['-300', null]]) {
  const spec = `[%${w !== null ? '*' : ''}${p !== null ? '.*' : ''}d]`;
  add(spec, [...(w !== null ? [w] : []), ...(p !== null ? [p] : []), '42']);
  add(spec.replace('d]', 'f]'), [...(w !== null ? [w] : []), ...(p !== null ? [p] : []), '3.14159']);
  add(spec.replace('d]', 's]'), [...(w !== null ? [w] : []), ...(p !== null ? [p] : []), '"abcdef"']);
}
add('[%0*d]', ['6', '-42']);
add('[%-*.*e]', ['20', '3', '12345.678']);

// ---- floating point ----
const FCONVS = ['f', 'F', 'e', 'E', 'g', 'G', 'a', 'A'];
for (const conv of FCONVS) {
  for (const v of DOUBLES) add(`%${conv}`, [v]);
  for (const p of FPRECS) for (const v of DOUBLES) if (chance(0.35)) add(`%${p}${conv}`, [v]);
  for (let k = 0; k < 40; k++) add(`%${pick(FLAGSETS)}${pick(WIDTHS)}${pick(FPRECS)}${conv}`, [pick(DOUBLES)]);
  for (const v of LDOUBLES) add(`%L${conv}`, [v]);
  for (let k = 0; k < 25; k++) add(`%${pick(FLAGSETS)}${pick(WIDTHS)}${pick(FPRECS)}L${conv}`, [pick(LDOUBLES)]);
  for (const [cond, v, other] of LD_SPECIAL) {
    add(`%L${conv}`, [v], BUF, { cond, other: [other] });
    add(`%.25L${conv}`, [v], BUF, { cond, other: [other] });
    add(`%.3L${conv}`, [v], BUF, { cond, other: [other] });
  }
  for (const v of ['1.5', '-2.25', '1e10']) add(`%l${conv}`, [v]); // 'l' is ignored
  add(`%ll${conv}`, ['2.75L']); // glibc: "ll" means long double here too
  add(`%q${conv}`, ['-3.5L']);
}
// ties at precision 0 and others: round half to even on the exact binary value
for (const v of ['0.5', '1.5', '2.5', '3.5', '4.5', '-0.5', '-1.5', '1e22 + 0.5', '0.125', '0.375', '2.675', '1.005', '1.115',
  '2.5e21', '3.5e21', '1.25e22', '2.5e10'])
  for (const spec of ['%.0f', '%.0e', '%.2f', '%.1e', '%.0g', '%.1g', '%#.0f', '%#.0e', '%.2e'])
    add(spec, [v]);
// huge precision and width within the buffer
for (const [spec, v] of [['%.30f', '1e308'], ['%f', 'DBL_MAX'], ['%.400e', '__DBL_DENORM_MIN__'], ['%.300f', '1e-300'],
  ['%.480f', '__DBL_DENORM_MIN__'], ['%.100e', '1.0/3'], ['%.60g', '0.1'], ['%.400f', '0.1'], ['%#.300g', '1e-300'],
  ['%500.3f', '1.5'], ['%-500.3e', '-1.5'], ['%0500.2a', '1.0'], ['%.500d', '42'], ['%500s', '"x"'], ['%.300a', '1.0'],
  ['%.200Lf', '1.0L/3'], ['%.450Le', '__LDBL_DENORM_MIN__'], ['%Lf', 'LDBL_MAX'], ['%.490Lf', 'LDBL_MIN'], ['%.0Lf', '1e300L'],
  ['%.40La', '1.0L/3'], ['%510f', '0.0'], ['%.508e', '2.0/3'], ['%.17g', '0.1'], ['%.17g', '1.0/3'], ['%.16g', '0.3'],
  ['%.1000000f', '1.0'], ['%.70000Le', '1.0L/3']])
  add(spec, [v]);

// ---- the FPU's rounding mode (glibc rounds printed values in it) ----
// mode: 1 upward, 2 downward, 3 toward zero, 0 nearest (set by SET_ROUNDING in the case)
const RM_VALUES = ['0.5', '1.5', '2.5', '-0.5', '-2.5', '0.125', '-0.125', '1.0/3', '-1.0/3', '2.0/3', '-2.0/3', '1e-300', '-1e-300',
  '0.0', '-0.0', '9.5', '-99.95', '0x1.8p+0', '-0x1.08p+0', '1e22', '123456.789', 'DBL_MAX', '__DBL_DENORM_MIN__', '0x1.fffffffffffffp+0'];
for (const mode of [1, 2, 3, 0])
  for (const spec of ['%.0f', '%.2f', '%.3e', '%.4g', '%g', '%.0e', '%.1a', '%.0a', '%a', '%.17g'])
    for (const v of RM_VALUES) if (mode !== 0 || chance(0.2)) add(spec, [v], BUF, { rounding: mode });
for (const mode of [1, 2, 3])
  for (const spec of ['%.0Lf', '%.20Lf', '%.3Le', '%.2La', '%.5Lg'])
    for (const v of ['1.0L/3', '-1.0L/3', '2.5L', '-2.5L', '0.1L', 'LDBL_MAX', '-__LDBL_DENORM_MIN__', '1e-300L'])
      add(spec, [v], BUF, { rounding: mode });

// ---- characters, strings, pointers ----
for (const spec of ['%c', '%5c', '%-5c|', '%05c', '%.0c', '%lc', '%5lc', '%-3lc|', '%C'])
  for (const v of spec.includes('l') || spec === '%C' ? ["L'x'", '0', "L' '", '0x7f'] : ["'A'", '0', '255', '-1', "' '", '0x141'])
    add(`[${spec}]`, [v]);
for (const v of ['0xe9', '0x20ac', '0x80', '-1']) add('[ab%lc]', [v]), add('[%3lc]', [v]);
const STRS = ['""', '"a"', '"hello"', '"hello, world"', '"tab\\there"', '"\\x80\\xff high"', '(char *)0'];
for (const spec of ['%s', '%.0s', '%.3s', '%.5s', '%.6s', '%.10s', '%8s', '%-8s', '%8.3s', '%-8.3s', '%08s', '%#s', '%+ s', '%1s', '%20.6s'])
  for (const v of STRS) add(`[${spec}]`, [v]);
for (const spec of ['%ls', '%.2ls', '%8ls', '%-8ls', '%8.2ls', '%S', '%.0ls', '%.6ls', '%.5ls'])
  for (const v of ['L""', 'L"wide"', 'L"ab\\u00e9"', 'L"\\u00e9"', '(wchar_t *)0', 'L"x\\u20acy"'])
    add(`[${spec}]`, [v]);
for (const spec of ['%p', '%20p', '%-20p|', '%+p', '% p', '%#p', '%020p', '%.10p', '%.3p', '%10p', '%-10p|', '%.0p', '%.6p', '%hp', '%lp'])
  for (const v of ['(void *)0', '(void *)1', '(void *)0x1234', '(void *)-1', '(void *)0xdeadbeef'])
    add(`[${spec}]`, [v]);
for (const spec of ['%%', '%5%', '%-5%', '%.3%', 'a%%b%%c', '100%%']) add(spec, []);

// ---- %n ----
for (const [mod, type] of [['hh', 'signed char'], ['h', 'short'], ['', 'int'], ['l', 'long'], ['ll', 'long long'],
  ['j', 'intmax_t'], ['z', 'ssize_t'], ['t', 'ptrdiff_t'], ['q', 'long long']]) {
  add(`abc%${mod}ndef`, [], BUF, { nType: type });
  add(`%300d%${mod}n!`, ['5'], BUF, { nType: type, nFirst: false });
  add(`%s%${mod}n`, ['"truncated output"'], 4, { nType: type });
}

// ---- positional arguments ----
for (const [fmt, args] of [
  ['%2$s %1$s', ['"world"', '"hello"']], ['%1$d %1$x %1$o', ['255']], ['%3$s%1$s%2$s', ['"b"', '"c"', '"a"']],
  ['%1$*2$d|', ['42', '8']], ['%1$-*2$d|', ['42', '8']], ['%2$*1$d|', ['-6', '7']], ['%1$.*2$f', ['3.14159265', '3']],
  ['%2$lld %1$d', ['1', '-5LL']], ['%2$Lf %1$f', ['1.5', '2.25L']], ['%1$s %2$c %3$lu %4$e', ['"x"', "'y'", '7UL', '1e10']],
  ['%1$*2$.*3$e|', ['1234.5678', '15', '2']], ['%4$d %3$d %2$d %1$d', ['1', '2', '3', '4']], ['%1$hhd %1$hd %1$d', ['-129']],
  ['%1$p %2$#x', ['(void *)0x10', '16']], ['%1$s%%%2$d', ['"p"', '9']],
]) add(fmt, args);

// ---- edge cases of the engine ----
add('abc%', []); // ends inside a specification: -1 (EINVAL)
add('x%2147483648d', ['1']); // width beyond INT_MAX: -1 (EOVERFLOW)
add('x%.2147483648d', ['1']);
add('%y|%5.2y|%#-+ 08.3y', []);
add('', []);
add('plain text, no conversions', []);
add('%d%s%c%x%f%e%g%a%p%%', ['-1', '"s"', "'c'", '255', '1.5', '1.5', '1.5', '1.5', '(void *)0x42']);
add('%5d|%-5d|%05d|%+5d|% 5d|%+05d|%-+5d|', ['1', '2', '3', '4', '5', '6', '7']);
add("%'d %'.2f %'i", ['1234567', '1234567.891', '-1000']);
add('%Id %I5d', ['123', '45']);

// ---- random specifications ----
const RFLAGS = ['-', '+', ' ', '#', '0', "'"];
function randFlags() { let s = ''; for (const f of RFLAGS) if (chance(0.25)) s += f; return s; }
function randWidth() { return chance(0.5) ? '' : String(pick([int(0, 9), int(10, 40), int(41, 120)])); }
function randPrec(max = 40) { return chance(0.45) ? '' : chance(0.2) ? '.' : `.${pick([int(0, 6), int(7, 20), int(21, max)])}`; }
// exact hex literal of a random double bit pattern (finite)
function randDouble() {
  const hi = Math.floor(rnd() * 2 ** 32), lo = Math.floor(rnd() * 2 ** 32);
  const bits = (BigInt(hi) << 32n) | BigInt(lo);
  const sign = bits >> 63n ? '-' : '';
  let exp = Number((bits >> 52n) & 0x7ffn);
  // favour moderate exponents: they exercise more digits of %f
  if (chance(0.7)) exp = 1023 + int(-70, 70);
  if (exp === 0x7ff) exp = 0x7fe;
  const frac = (bits & ((1n << 52n) - 1n)).toString(16).padStart(13, '0');
  return exp === 0 ? `${sign}0x0.${frac}p-1022` : `${sign}0x1.${frac}p${exp - 1023}`;
}
function randLongDouble() {
  const frac = Array.from({ length: 16 }, () => int(0, 15).toString(16)).join('');
  return `${chance(0.5) ? '-' : ''}0x1.${frac}p${int(-300, 300)}L`;
}
const R_INT = () => pick([String(int(-1000, 1000)), String(int(-(2 ** 31), 2 ** 31 - 1)), pick(INTS)]);
const R_LL = () => `${BigInt.asIntN(64, BigInt(Math.floor(rnd() * 2 ** 32)) << 32n | BigInt(Math.floor(rnd() * 2 ** 32)))}LL`.replace(/^(-9223372036854775808)LL$/, 'LLONG_MIN');
for (let k = 0; k < 1400; k++) {
  const kind = pick(['int', 'int', 'll', 'unsigned', 'double', 'double', 'double', 'ldouble', 'string', 'char']);
  let flags = randFlags(), w = randWidth(), p;
  switch (kind) {
    case 'int': add(`%${flags}${w}${randPrec()}${pick(['', 'h', 'hh', 'l'])}${pick(['d', 'i'])}`, [R_INT()]); break;
    case 'll': add(`%${flags}${w}${randPrec()}ll${pick(['d', 'i', 'u', 'x', 'X', 'o'])}`, [R_LL()]); break;
    case 'unsigned': add(`%${flags}${w}${randPrec()}${pick(['', 'h', 'hh'])}${pick(['u', 'x', 'X', 'o'])}`, [`${Math.floor(rnd() * 2 ** 32)}u`]); break;
    case 'double': p = randPrec(60); add(`%${flags}${w}${p}${pick(FCONVS)}`, [chance(0.85) ? randDouble() : pick(DOUBLES)]); break;
    case 'ldouble': p = randPrec(50); add(`%${flags}${w}${p}L${pick(FCONVS)}`, [chance(0.8) ? randLongDouble() : pick(LDOUBLES)]); break;
    case 'string': add(`%${flags.replace(/[0#+ ']/g, '')}${w}${randPrec(12)}s`, [pick(STRS.slice(0, 6))]); break;
    case 'char': add(`%${flags.replace(/[0#+ ']/g, '')}${w}c`, [pick(["'q'", "'Z'", '33'])]); break;
  }
}

// ---- truncation: the same outputs into small buffers ----
const TRUNC = [['%d', ['-123456']], ['%s', ['"truncate me"']], ['%.3f', ['3.14159']], ['%e', ['-1e100']], ['%10s|', ['"pad"']],
  ['%x %X', ['0xabcdef', '0xABCDEF']], ['%g', ['1e-10']], ['%La', ['1.0L']], ['%p', ['(void *)0x1234']], ['abc%cdef', ["'Z'"]],
  ['%lld', ['LLONG_MIN']], ['%.20f', ['0.1']], ['%ls', ['L"wide"']], ['%5%|%5d', ['1']]];
for (const [fmt, args] of TRUNC)
  for (const n of [0, 1, 2, 3, 5, 8, 11, 12, 13, 20]) add(fmt, args, n);
for (const n of [0, 1, 2]) add('%s', ['"null buffer"'], n, { nullBuffer: n === 0 });
add('%d', ['12345'], 0, { nullBuffer: true });
add('%.0f|%s', ['1e22', '"x"'], 0, { nullBuffer: true });

// ---- write the files ----
function cString(s) {
  return '"' + s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n') + '"';
}
const lines = [];
lines.push('/* Generated by gen-printf-cases.mjs: do not edit. */');
lines.push('#include <stdio.h>', '#include <stddef.h>', '#include <stdint.h>', '#include <limits.h>', '#include <float.h>',
  '#include <wchar.h>', '#include <sys/types.h>', '');
lines.push('#ifndef SSIZE_MAX', '#define SSIZE_MAX LONG_MAX', '#endif');
lines.push('/* an IBM double-double from its two halves, exactly */');
lines.push('#define DD(hi, lo) (((union { double d[2]; long double ld; }){ { (hi), (lo) } }).ld)');
lines.push('/* The FPU rounding mode for one call: 1 upward, 2 downward, 3 toward zero (what fesetround',
  '   sets, without libm). Soft-float ARM has no mode: there the cases run to nearest. */');
lines.push('#if defined(__i386__) || defined(__x86_64__)',
  'typedef unsigned short rm_t;',
  'static rm_t rm_set(int m) {',
  '  rm_t cw, n;',
  '  __asm__ volatile("fnstcw %0" : "=m"(cw));',
  '  n = (rm_t)((cw & ~0xc00) | (m == 1 ? 0x800 : m == 2 ? 0x400 : m == 3 ? 0xc00 : 0));',
  '  __asm__ volatile("fldcw %0" : : "m"(n));',
  '  return cw;',
  '}',
  'static void rm_restore(rm_t cw) { __asm__ volatile("fldcw %0" : : "m"(cw)); }',
  '#elif defined(__arm__) && defined(__ARM_PCS_VFP)',
  'typedef unsigned rm_t;',
  'static rm_t rm_set(int m) {',
  '  rm_t old, n;',
  '  __asm__ volatile("vmrs %0, fpscr" : "=r"(old));',
  '  n = (old & ~(3u << 22)) | (rm_t)(m == 1 ? 1 : m == 2 ? 2 : m == 3 ? 3 : 0) << 22;',
  '  __asm__ volatile("vmsr fpscr, %0" : : "r"(n));',
  '  return old;',
  '}',
  'static void rm_restore(rm_t old) { __asm__ volatile("vmsr fpscr, %0" : : "r"(old)); }',
  '#elif defined(__powerpc__)',
  'typedef int rm_t;',
  'static rm_t rm_set(int m) {',
  '  switch (m) {',
  '  case 1: __asm__ volatile("mtfsfi 7, 2"); break; /* RN 10: toward +inf */',
  '  case 2: __asm__ volatile("mtfsfi 7, 3"); break; /* RN 11: toward -inf */',
  '  case 3: __asm__ volatile("mtfsfi 7, 1"); break; /* RN 01: toward zero */',
  '  }',
  '  return 0;',
  '}',
  'static void rm_restore(rm_t old) { (void)old; __asm__ volatile("mtfsfi 7, 0"); }',
  '#else',
  'typedef int rm_t;',
  'static rm_t rm_set(int m) { (void)m; return 0; }',
  'static void rm_restore(rm_t old) { (void)old; }',
  '#endif');
lines.push('', 'long long printf_case_aux;', '');
lines.push(`int printf_case_count(void) { return ${cases.length}; }`, '');
lines.push('static const unsigned short sizes[] = {');
for (let i = 0; i < cases.length; i += 20) lines.push('  ' + cases.slice(i, i + 20).map((c) => c.n).join(', ') + ',');
lines.push('};', 'unsigned long printf_case_size(int i) { return sizes[i]; }', '');
lines.push('int printf_case(int i, char *buf, unsigned long n) {', '  switch (i) {');
cases.forEach((c, i) => {
  const dst = c.nullBuffer ? '(char *)0' : 'buf';
  const call = (args) => `snprintf(${dst}, n, ${cString(c.fmt)}${args.map((a) => ', ' + a).join('')})`;
  if (c.nType) {
    const args = c.nFirst === false ? [...c.args, '&k'] : c.fmt.startsWith('%s') ? [...c.args, '&k'] : ['&k'];
    lines.push(`  case ${i}: { ${c.nType} k = (${c.nType})-77; int r = ${call(args)}; printf_case_aux = k; return r; }`);
  } else if (c.rounding) {
    lines.push(`  case ${i}: { rm_t s = rm_set(${c.rounding}); int r = ${call(c.args)}; rm_restore(s); return r; }`);
  } else if (c.cond) {
    lines.push(`  case ${i}:`, `#if ${c.cond}`, `    return ${call(c.args)};`, '#else', `    return ${call(c.other)};`, '#endif');
  } else {
    lines.push(`  case ${i}: return ${call(c.args)};`);
  }
});
lines.push('  }', '  return -2;', '}', '');
writeFileSync(join(OUT, 'printf_cases.c'), lines.join('\n'));
const meta = cases.map((c) => ({
  fmt: c.fmt, args: c.args.join(', ') + (c.cond ? ` when ${c.cond}, else ${c.other.join(', ')}` : '') + (c.nType ? ` (%n into ${c.nType})` : '') +
    (c.rounding ? ` (rounding ${['to nearest', 'upward', 'downward', 'toward zero'][c.rounding]})` : ''),
  n: c.n, ...(c.nullBuffer ? { nullBuffer: true } : {}),
}));
writeFileSync(join(OUT, 'printf_cases.json'), '[\n' + meta.map((m) => JSON.stringify(m)).join(',\n') + '\n]\n');
console.log(`printf cases: ${cases.length}`);
