// abiscope's guest C runtime (runtime/): the string, memory, wide-string, ctype, strto*,
// abs, qsort and bsearch functions, run in the emulator on every convention and compared with
// reference semantics written here in JS (C11 and glibc's documented behaviour, e.g. strtol's
// "0x" without hex digits). Property tests (fast-check, fixed seed) with unaligned pointers,
// overlapping memmove, n = 0, bytes >= 0x80 (char is signed on x86, unsigned on ARM and PPC,
// and the comparisons must be of unsigned char either way); ctype exhaustively over -128..255.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Sandbox } from '../sandbox/sandbox.ts';
import type { AbiName } from '../backends/registry.ts';

// [convention, long is 64-bit, big-endian, wchar_t is signed] (GCC's __WCHAR_TYPE__: long
// int on i386 and ppc32, int on x86-64, unsigned int on ARM and AArch64)
const CONVENTIONS: [AbiName, boolean, boolean, boolean][] = [
  ['i386-sysv', false, false, true], ['x86_64-sysv', true, false, true], ['arm-aapcs', false, false, false],
  ['arm-aapcs-vfp', false, false, false], ['ppc32-sysv', false, true, true], ['aarch64-aapcs64', true, false, false],
];
const RUNS = { seed: 0x5eed, numRuns: 300 };
const ERANGE = 34, EINVAL = 22, ERRNO_SENTINEL = 12345;
const ARENA = 1024;

const sign = (x: number): number => (x > 0 ? 1 : x < 0 ? -1 : 0);
const cmpBytes = (a: Uint8Array, b: Uint8Array): number => {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
};
/** Byte-array equality; the deep comparison (and its readable diff) only when they differ. */
const expectBytes = (got: Uint8Array, want: Uint8Array, what?: string): void => {
  if (got.length !== want.length || Buffer.compare(got, want) !== 0) expect(got, what).toEqual(want);
};

// strings of non-zero bytes, biased to a small alphabet so that comparisons and searches meet
const byteArb = fc.oneof({ weight: 6, arbitrary: fc.constantFrom(0x61, 0x62, 0x63, 0x41, 0x20) },
  { weight: 1, arbitrary: fc.constantFrom(0x80, 0xff, 0xe9, 0x7f) }, { weight: 2, arbitrary: fc.integer({ min: 1, max: 255 }) });
const strArb = (max = 40) => fc.array(byteArb, { maxLength: max }).map((a) => Uint8Array.from(a));
const offArb = fc.integer({ min: 0, max: 15 }); // misalignment
const charArgArb = fc.oneof(byteArb, fc.constant(0), fc.integer({ min: -300, max: 600 }));

// ---- reference semantics of strtol and friends (C11 7.22.1.4 with glibc's choices) ----
const digitOf = (c: number): number =>
  c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0x61 && c <= 0x7a ? c - 0x61 + 10 : c >= 0x41 && c <= 0x5a ? c - 0x41 + 10 : 99;
const isSpace = (c: number): boolean => c === 0x20 || (c >= 9 && c <= 13);
function refStrto(s: Uint8Array, base: number, bits: number, signed: boolean): { value: bigint; end: number; errno: number | null } {
  if (base < 0 || base === 1 || base > 36) return { value: 0n, end: 0, errno: EINVAL };
  let i = 0;
  while (isSpace(s[i] ?? 0)) i++;
  let neg = false;
  if (s[i] === 0x2b || s[i] === 0x2d) neg = s[i++] === 0x2d;
  if ((base === 0 || base === 16) && s[i] === 0x30 && ((s[i + 1] ?? 0) | 0x20) === 0x78) {
    if (digitOf(s[i + 2] ?? 0) < 16) { i += 2; base = 16; } else return { value: 0n, end: i + 1, errno: null };
  } else if (base === 0) base = s[i] === 0x30 ? 8 : 10;
  const start = i;
  let v = 0n;
  for (; i < s.length && digitOf(s[i]) < base; i++) v = v * BigInt(base) + BigInt(digitOf(s[i]));
  if (i === start) return { value: 0n, end: 0, errno: null };
  if (signed) {
    const max = (1n << BigInt(bits - 1)) - 1n;
    if (!neg && v > max) return { value: max, end: i, errno: ERANGE };
    if (neg && v > max + 1n) return { value: -max - 1n, end: i, errno: ERANGE };
    return { value: neg ? -v : v, end: i, errno: null };
  }
  const umax = (1n << BigInt(bits)) - 1n;
  if (v > umax) return { value: umax, end: i, errno: ERANGE };
  return { value: neg ? (umax + 1n - v) & umax : v, end: i, errno: null };
}
const numberTextArb = fc.tuple(
  fc.constantFrom('', ' ', '\t\n ', '\v\f\r'), fc.constantFrom('', '+', '-'), fc.constantFrom('', '', '0', '0x', '0X', '00'),
  fc.oneof(fc.stringMatching(/^[0-9]{0,25}$/), fc.stringMatching(/^[0-9a-fA-F]{0,20}$/), fc.stringMatching(/^[0-9a-zA-Z]{0,16}$/),
    fc.constantFrom('2147483647', '2147483648', '4294967295', '4294967296', '9223372036854775807', '9223372036854775808',
      '18446744073709551615', '18446744073709551616', '99999999999999999999999', '7fffffff', '80000000', 'ffffffffffffffff')),
  fc.constantFrom('', 'g', ' 1', 'x', '9', '.5'),
).map(([ws, sg, pre, digits, tail]) => new TextEncoder().encode(ws + sg + pre + digits + tail));
const baseArb = fc.oneof({ weight: 5, arbitrary: fc.constantFrom(0, 10, 16, 8, 2, 36) },
  { weight: 2, arbitrary: fc.integer({ min: 2, max: 36 }) }, { weight: 1, arbitrary: fc.constantFrom(1, 37, -1, 100) });

// ---- glibc's C-locale ctype classes ----
const CLASS_BITS = ['upper', 'lower', 'alpha', 'digit', 'xdigit', 'space', 'print', 'graph', 'blank', 'cntrl', 'punct', 'alnum'] as const;
function classesOf(c: number): Set<string> {
  const s = new Set<string>();
  if (c < 0 || c > 127) return s;
  const up = c >= 65 && c <= 90, lo = c >= 97 && c <= 122, di = c >= 48 && c <= 57;
  if (up) s.add('upper');
  if (lo) s.add('lower');
  if (up || lo) s.add('alpha');
  if (di) s.add('digit');
  if (di || (c >= 65 && c <= 70) || (c >= 97 && c <= 102)) s.add('xdigit');
  if (c === 32 || (c >= 9 && c <= 13)) s.add('space');
  if (c >= 32 && c < 127) s.add('print');
  if (c > 32 && c < 127) s.add('graph');
  if (c === 32 || c === 9) s.add('blank');
  if (c < 32 || c === 127) s.add('cntrl');
  if (c > 32 && c < 127 && !up && !lo && !di) s.add('punct');
  if (up || lo || di) s.add('alnum');
  return s;
}
// glibc's _ISbit: the bit order of a big-endian short on every target
const bitOf = (i: number, bigEndian: boolean): number => (bigEndian ? 1 << i : i < 8 ? (1 << i) << 8 : (1 << i) >> 8);

describe.each(CONVENTIONS)('runtime string functions on %s', (abi, long64, bigEndian, wcharSigned) => {
  let sb: Sandbox;
  let arena: number;
  let errno: number;
  const failures: string[] = [];
  const mallocs: number[] = [];
  const put = (off: number, bytes: Uint8Array): void => sb.machine.write(arena + off, bytes);
  const get = (off: number, n: number): Uint8Array => sb.machine.read(arena + off, n);
  const fresh = (): Uint8Array => { const b = new Uint8Array(ARENA); for (let i = 0; i < ARENA; i++) b[i] = (i * 37 + 11) & 0xff; put(0, b); return b; };
  const withNul = (b: Uint8Array): Uint8Array => { const r = new Uint8Array(b.length + 1); r.set(b); return r; };
  const ptr = (v: unknown): number => Number(v as number | bigint);
  const fn = (proto: string) => sb.func(proto);

  beforeAll(async () => {
    sb = await Sandbox.open(abi);
    arena = sb.alloc(ARENA);
    errno = sb.alloc(4);
    // errno and fatal errors through our own call-backs, so each test sees them
    sb.provide('__errno_location', sb.callback('int *(void)', () => errno));
    // malloc and free too: strdup must ask for exactly the bytes it copies
    sb.provide('malloc', sb.callback('void *malloc(size_t n)', (n) => { mallocs.push(Number(n)); return sb.alloc(Math.max(Number(n), 1)); }));
    sb.provide('free', sb.callback('void free(void *p)', (p) => { if (p) sb.free(p as number); }));
    sb.provide('__abiscope_fail', sb.callback('void (const char *message)', (m) => {
      failures.push(sb.readCString(m as number));
      throw new Error('__abiscope_fail');
    }));
  });
  afterAll(() => sb?.close());

  it('memcpy copies n bytes between unaligned non-overlapping places and returns dst', () => {
    const memcpy = fn('void *memcpy(void *d, const void *s, size_t n)');
    fc.assert(fc.property(fc.integer({ min: 0, max: 200 }), fc.integer({ min: 0, max: 300 }), fc.integer({ min: 0, max: 300 }), (n, a, b) => {
      fc.pre(Math.abs(a - b) >= n && a + n <= ARENA && b + n <= ARENA);
      const model = fresh();
      model.copyWithin(b, a, a + n);
      expect(ptr(memcpy(arena + b, arena + a, n))).toBe(arena + b);
      expectBytes(get(0, ARENA), model);
    }), RUNS);
  });

  it('memmove is correct for every overlap and direction', () => {
    const memmove = fn('void *memmove(void *d, const void *s, size_t n)');
    fc.assert(fc.property(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 0, max: 400 }), fc.integer({ min: -40, max: 40 }), (n, a, delta) => {
      const b = a + delta;
      fc.pre(b >= 0 && a + n <= ARENA && b + n <= ARENA);
      const model = fresh();
      model.copyWithin(b, a, a + n);
      expect(ptr(memmove(arena + b, arena + a, n))).toBe(arena + b);
      expectBytes(get(0, ARENA), model);
    }), RUNS);
  });

  it('memset stores (unsigned char)c into n bytes', () => {
    const memset = fn('void *memset(void *d, int c, size_t n)');
    fc.assert(fc.property(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 0, max: 500 }), fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), (off, n, c) => {
      fc.pre(off + n <= ARENA);
      const model = fresh();
      model.fill(c & 0xff, off, off + n);
      expect(ptr(memset(arena + off, c, n))).toBe(arena + off);
      expectBytes(get(0, ARENA), model);
    }), RUNS);
  });

  it('memcmp and memchr compare and search unsigned bytes', () => {
    const memcmp = fn('int memcmp(const void *a, const void *b, size_t n)');
    const memchr = fn('void *memchr(const void *s, int c, size_t n)');
    fc.assert(fc.property(strArb(60), fc.option(fc.tuple(fc.nat(), byteArb)), offArb, offArb, charArgArb, (x, change, oa, ob, c) => {
      const y = x.slice();
      if (change && y.length) y[change[0] % y.length] = change[1];
      put(oa, x); put(100 + ob, y);
      for (const n of [0, x.length, Math.floor(x.length / 2)]) {
        expect(sign(memcmp(arena + oa, arena + 100 + ob, n) as number)).toBe(sign(cmpBytes(x.subarray(0, n), y.subarray(0, n))));
        const at = x.subarray(0, n).indexOf(c & 0xff);
        expect(ptr(memchr(arena + oa, c, n))).toBe(at < 0 ? 0 : arena + oa + at);
      }
    }), RUNS);
  });

  it('strlen, strnlen, strcmp and strncmp', () => {
    const strlen = fn('size_t strlen(const char *s)');
    const strnlen = fn('size_t strnlen(const char *s, size_t max)');
    const strcmp = fn('int strcmp(const char *a, const char *b)');
    const strncmp = fn('int strncmp(const char *a, const char *b, size_t n)');
    fc.assert(fc.property(strArb(), strArb(), offArb, offArb, fc.integer({ min: 0, max: 50 }), (x, y, oa, ob, n) => {
      if (y.length > 3 && n % 3 === 0) y = Uint8Array.from([...x, ...y.subarray(0, 2)]); // shared prefixes
      put(oa, withNul(x)); put(200 + ob, withNul(y));
      expect(Number(strlen(arena + oa))).toBe(x.length);
      expect(Number(strnlen(arena + oa, n))).toBe(Math.min(n, x.length));
      expect(sign(strcmp(arena + oa, arena + 200 + ob) as number)).toBe(sign(cmpBytes(x, y)));
      expect(sign(strncmp(arena + oa, arena + 200 + ob, n) as number)).toBe(sign(cmpBytes(x.subarray(0, n), y.subarray(0, n))));
    }), RUNS);
  });

  it('strcpy, stpcpy, strncpy, strcat and strncat write exactly what C says', () => {
    const strcpy = fn('char *strcpy(char *d, const char *s)');
    const stpcpy = fn('char *stpcpy(char *d, const char *s)');
    const strncpy = fn('char *strncpy(char *d, const char *s, size_t n)');
    const strcat = fn('char *strcat(char *d, const char *s)');
    const strncat = fn('char *strncat(char *d, const char *s, size_t n)');
    fc.assert(fc.property(strArb(), strArb(), offArb, offArb, fc.integer({ min: 0, max: 60 }), (src, dst, os, od, n) => {
      const S = 600 + os, D = od;
      const check = (call: () => unknown, expectRet: number, edit: (m: Uint8Array) => void) => {
        const model = fresh();
        model.set(withNul(src), S); model.set(withNul(dst), D); put(0, model);
        edit(model);
        expect(ptr(call())).toBe(arena + expectRet);
        expectBytes(get(0, ARENA), model);
      };
      check(() => strcpy(arena + D, arena + S), D, (m) => m.set(withNul(src), D));
      check(() => stpcpy(arena + D, arena + S), D + src.length, (m) => m.set(withNul(src), D));
      check(() => strncpy(arena + D, arena + S, n), D, (m) => { for (let i = 0; i < n; i++) m[D + i] = i < src.length ? src[i] : 0; });
      check(() => strcat(arena + D, arena + S), D, (m) => m.set(withNul(src), D + dst.length));
      check(() => strncat(arena + D, arena + S, n), D, (m) => m.set(withNul(src.subarray(0, n)), D + dst.length));
    }), { ...RUNS, numRuns: 200 });
  });

  it('strchr, strrchr, strstr, strspn, strcspn and strpbrk', () => {
    const strchr = fn('char *strchr(const char *s, int c)');
    const strrchr = fn('char *strrchr(const char *s, int c)');
    const strstr = fn('char *strstr(const char *h, const char *n)');
    const strspn = fn('size_t strspn(const char *s, const char *set)');
    const strcspn = fn('size_t strcspn(const char *s, const char *set)');
    const strpbrk = fn('char *strpbrk(const char *s, const char *set)');
    fc.assert(fc.property(strArb(50), strArb(5), offArb, charArgArb, fc.nat(), (s, set, o, c, cut) => {
      const needle = cut % 4 === 0 || s.length === 0 ? set : s.subarray(cut % s.length, (cut % s.length) + (cut % 5));
      put(o, withNul(s)); put(300, withNul(set)); put(400, withNul(needle));
      const S = arena + o, whole = withNul(s), ch = c & 0xff;
      const first = whole.indexOf(ch), last = whole.lastIndexOf(ch);
      expect(ptr(strchr(S, c))).toBe(first < 0 ? 0 : S + first);
      expect(ptr(strrchr(S, c))).toBe(last < 0 ? 0 : S + last);
      const at = Buffer.from(s).indexOf(Buffer.from(needle));
      expect(ptr(strstr(S, arena + 400))).toBe(at < 0 ? 0 : S + at);
      const inSet = (b: number) => set.includes(b);
      let span = 0; while (span < s.length && inSet(s[span])) span++;
      let cspan = 0; while (cspan < s.length && !inSet(s[cspan])) cspan++;
      expect(Number(strspn(S, arena + 300))).toBe(span);
      expect(Number(strcspn(S, arena + 300))).toBe(cspan);
      expect(ptr(strpbrk(S, arena + 300))).toBe(cspan < s.length ? S + cspan : 0);
    }), RUNS);
  });

  it('strdup and strndup copy into fresh malloc blocks', () => {
    const strdup = fn('char *strdup(const char *s)');
    const strndup = fn('char *strndup(const char *s, size_t n)');
    fc.assert(fc.property(strArb(), offArb, fc.integer({ min: 0, max: 50 }), (s, o, n) => {
      put(o, withNul(s));
      for (const [call, want] of [[() => strdup(arena + o), s], [() => strndup(arena + o, n), s.subarray(0, n)]] as const) {
        mallocs.length = 0;
        const p = ptr(call());
        expect(mallocs).toEqual([want.length + 1]);
        expect(p).not.toBe(0);
        expect(sb.machine.read(p, want.length + 1)).toEqual(withNul(want));
        sb.free(p);
      }
    }), { ...RUNS, numRuns: 150 });
  });

  it('wcslen, wcscpy and wcscmp on 4-byte wchar_t of the target\'s signedness', () => {
    const wcslen = fn('size_t wcslen(const wchar_t *s)');
    const wcscpy = fn('wchar_t *wcscpy(wchar_t *d, const wchar_t *s)');
    const wcscmp = fn('int wcscmp(const wchar_t *a, const wchar_t *b)');
    const wArb = fc.array(fc.oneof(fc.integer({ min: 1, max: 0x7f }), fc.constantFrom(0x80000000, 0xffffffff, 0x7fffffff, 0x10ffff, 0x41)), { maxLength: 12 });
    const bytes = (w: number[]): Uint8Array => {
      const b = new Uint8Array(4 * (w.length + 1)), v = new DataView(b.buffer);
      w.forEach((x, i) => v.setUint32(4 * i, x, !bigEndian));
      return b;
    };
    const value = (x: number): number => (wcharSigned ? x | 0 : x >>> 0);
    fc.assert(fc.property(wArb, wArb, fc.boolean(), (a, b, share) => {
      if (share) b = [...a, ...b.slice(0, 2)];
      put(0, bytes(a)); put(200, bytes(b));
      expect(Number(wcslen(arena))).toBe(a.length);
      let want = 0;
      for (let i = 0; ; i++) {
        const x = value(a[i] ?? 0), y = value(b[i] ?? 0);
        if (x !== y) { want = x < y ? -1 : 1; break; }
        if (x === 0) break;
      }
      expect(sign(wcscmp(arena, arena + 200) as number)).toBe(want);
      expect(ptr(wcscpy(arena + 400, arena + 200))).toBe(arena + 400);
      expect(get(400, 4 * (b.length + 1))).toEqual(bytes(b));
    }), RUNS);
  });

  it('ctype tables and functions: glibc\'s C locale for every index -128..255', () => {
    const loc = (name: string) => ptr(sb.read('unsigned long', ptr(fn(`const void **${name}(void)`)()))); // the pointer the macros index
    const classes = loc('__ctype_b_loc'), upper = loc('__ctype_toupper_loc'), lower = loc('__ctype_tolower_loc');
    const le = !bigEndian;
    const table = (at: number, size: number) => new DataView(sb.machine.read(at - 128 * size, 384 * size).buffer);
    const cls = table(classes, 2), up = table(upper, 4), lo = table(lower, 4);
    const funcs = Object.fromEntries(['alnum', 'alpha', 'blank', 'cntrl', 'digit', 'graph', 'lower', 'print', 'punct', 'space', 'upper', 'xdigit']
      .map((n) => [n, fn(`int is${n}(int c)`)]));
    const toupper = fn('int toupper(int c)'), tolower = fn('int tolower(int c)');
    const isascii = fn('int isascii(int c)'), toascii = fn('int toascii(int c)');
    for (let c = -128; c < 256; c++) {
      const set = classesOf(c);
      const word = CLASS_BITS.reduce((w, name, i) => (set.has(name) ? w | bitOf(i, bigEndian) : w), 0);
      expect(cls.getUint16(2 * (c + 128), le), `class of ${c}`).toBe(word);
      const mapped = (f: (x: number) => number) => (c === -1 ? -1 : c < 0 ? c + 256 : f(c));
      const U = mapped((x) => (x >= 97 && x <= 122 ? x - 32 : x)), L = mapped((x) => (x >= 65 && x <= 90 ? x + 32 : x));
      expect(up.getInt32(4 * (c + 128), le), `toupper table ${c}`).toBe(U);
      expect(lo.getInt32(4 * (c + 128), le), `tolower table ${c}`).toBe(L);
      for (const [name, f] of Object.entries(funcs))
        expect(f(c), `is${name}(${c})`).toBe(set.has(name) ? bitOf(CLASS_BITS.indexOf(name as typeof CLASS_BITS[number]), bigEndian) : 0);
      expect(toupper(c)).toBe(U);
      expect(tolower(c)).toBe(L);
      expect(isascii(c) !== 0).toBe(c >= 0 && c < 128);
      expect(toascii(c)).toBe(c & 0x7f);
    }
    for (const c of [256, 1000, -129, -1000, 2 ** 31 - 1, -(2 ** 31)]) {
      expect(toupper(c)).toBe(c);
      expect(funcs.alpha(c)).toBe(0);
    }
  });

  it('strtol, strtoul, strtoll, strtoull: value, end pointer and errno', () => {
    const lbits = long64 ? 64 : 32;
    const variants = [
      ['long strtol(const char *s, char **end, int base)', lbits, true], ['unsigned long strtoul(const char *s, char **end, int base)', lbits, false],
      ['long long strtoll(const char *s, char **end, int base)', 64, true], ['unsigned long long strtoull(const char *s, char **end, int base)', 64, false],
    ] as const;
    const fns = variants.map(([p]) => fn(p));
    const endSlot = sb.alloc(8);
    fc.assert(fc.property(numberTextArb, baseArb, offArb, (text, base, o) => {
      put(o, withNul(text));
      variants.forEach(([, bits, signed], k) => {
        const want = refStrto(text, base, bits, signed);
        sb.write('int', errno, ERRNO_SENTINEL);
        sb.write('unsigned long', endSlot, 7);
        const got = BigInt(fns[k](arena + o, endSlot, base) as number | bigint);
        expect(got, `${variants[k][0]} "${Buffer.from(text).toString('latin1')}" base ${base}`).toBe(want.value);
        expect(ptr(sb.read('unsigned long', endSlot)) - (arena + o)).toBe(want.end);
        expect(sb.read('int', errno)).toBe(want.errno ?? ERRNO_SENTINEL);
      });
    }), { ...RUNS, numRuns: 500 });
  });

  it('atoi, atol and atoll are strtol(s, NULL, 10) in their types', () => {
    const atoi = fn('int atoi(const char *s)'), atol = fn('long atol(const char *s)'), atoll = fn('long long atoll(const char *s)');
    fc.assert(fc.property(numberTextArb, (text) => {
      put(0, withNul(text));
      const l = refStrto(text, 10, long64 ? 64 : 32, true).value;
      expect(BigInt(atoi(arena) as number)).toBe(BigInt.asIntN(32, l));
      expect(BigInt(atol(arena) as number | bigint)).toBe(l);
      expect(BigInt(atoll(arena) as number | bigint)).toBe(refStrto(text, 10, 64, true).value);
    }), RUNS);
  });

  it('abs, labs and llabs (the most negative value stays itself)', () => {
    const abs = fn('int abs(int x)'), labs = fn('long labs(long x)'), llabs = fn('long long llabs(long long x)');
    const lbits = long64 ? 64 : 32;
    fc.assert(fc.property(fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n }), fc.constantFrom(0, 1, 2), (x, pick) => {
      const edge = [x, -(1n << 31n), -(1n << 63n)][pick];
      const i32 = BigInt.asIntN(32, edge), il = BigInt.asIntN(lbits, edge), i64 = BigInt.asIntN(64, edge);
      const absIn = (v: bigint, bits: number) => BigInt.asIntN(bits, v < 0n ? -v : v);
      expect(BigInt(abs(Number(i32)) as number)).toBe(absIn(i32, 32));
      expect(BigInt(labs(lbits === 64 ? il : Number(il)) as number | bigint)).toBe(absIn(il, lbits));
      expect(BigInt(llabs(i64) as number | bigint)).toBe(absIn(i64, 64));
    }), RUNS);
  });

  it('qsort sorts with the C comparator, stably (as glibc\'s merge sort), and bsearch finds', () => {
    const qsort = fn('void qsort(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *))');
    const bsearch = fn('void *bsearch(const void *key, const void *base, size_t n, size_t size, int (*cmp)(const void *, const void *))');
    const le = !bigEndian;
    const keyAt = (p: number) => new DataView(sb.machine.read(p, 4).buffer).getInt32(0, le);
    const byKey = sb.callback('int (const void *a, const void *b)', (a, b) => sign(keyAt(a as number) - keyAt(b as number)));
    fc.assert(fc.property(fc.array(fc.integer({ min: -5, max: 5 }), { maxLength: 60 }), fc.constantFrom(8, 12), (keys, size) => {
      // records: key, original index, padding
      const rec = new Uint8Array(keys.length * size), v = new DataView(rec.buffer);
      keys.forEach((k, i) => { v.setInt32(i * size, k, le); v.setInt32(i * size + 4, i, le); });
      put(0, rec);
      qsort(arena, keys.length, size, byKey);
      const out = new DataView(get(0, rec.length).slice().buffer);
      const got = keys.map((_, i) => [out.getInt32(i * size, le), out.getInt32(i * size + 4, le)]);
      const want = keys.map((k, i) => [k, i]).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
      expect(got).toEqual(want);
      // bsearch over the sorted distinct keys
      const distinct = [...new Set(keys)].sort((a, b) => a - b);
      const arr = new Uint8Array(4 * distinct.length), av = new DataView(arr.buffer);
      distinct.forEach((k, i) => av.setInt32(4 * i, k, le));
      put(512, arr);
      for (const k of [-6, -5, 0, 3, 5, 6]) {
        const kb = new Uint8Array(4); new DataView(kb.buffer).setInt32(0, k, le); put(1000, kb);
        const at = distinct.indexOf(k);
        expect(ptr(bsearch(arena + 1000, arena + 512, distinct.length, 4, byKey))).toBe(at < 0 ? 0 : arena + 512 + 4 * at);
      }
    }), { ...RUNS, numRuns: 150 });
  });

  it('the _FORTIFY_SOURCE checked copies work within bounds and fail past them', () => {
    const chk = {
      memcpy: fn('void *__memcpy_chk(void *d, const void *s, size_t n, size_t dlen)'),
      memmove: fn('void *__memmove_chk(void *d, const void *s, size_t n, size_t dlen)'),
      memset: fn('void *__memset_chk(void *d, int c, size_t n, size_t dlen)'),
      strcpy: fn('char *__strcpy_chk(char *d, const char *s, size_t dlen)'),
      stpcpy: fn('char *__stpcpy_chk(char *d, const char *s, size_t dlen)'),
      strncpy: fn('char *__strncpy_chk(char *d, const char *s, size_t n, size_t dlen)'),
      strcat: fn('char *__strcat_chk(char *d, const char *s, size_t dlen)'),
      strncat: fn('char *__strncat_chk(char *d, const char *s, size_t n, size_t dlen)'),
    };
    fc.assert(fc.property(strArb(20), strArb(10), fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: 25 }), (src, dst, dlen, n) => {
      const S = 600, D = 8;
      const fits: Record<keyof typeof chk, boolean> = {
        memcpy: n <= dlen, memmove: n <= dlen, memset: n <= dlen, strcpy: src.length < dlen, stpcpy: src.length < dlen, strncpy: n <= dlen,
        strcat: dst.length + src.length < dlen, strncat: dst.length + Math.min(n, src.length) < dlen,
      };
      for (const name of Object.keys(chk) as (keyof typeof chk)[]) {
        const model = fresh();
        model.set(withNul(src), S); model.set(withNul(dst), D); put(0, model);
        const args = name === 'strcpy' || name === 'stpcpy' || name === 'strcat' ? [arena + D, arena + S, dlen]
          : name === 'memset' ? [arena + D, 0x41, n, dlen] : [arena + D, arena + S, n, dlen];
        failures.length = 0;
        if (fits[name]) {
          chk[name](...args);
          expect(failures).toEqual([]);
        } else {
          expect(() => chk[name](...args), `${name} n=${n} dlen=${dlen}`).toThrow();
          expect(failures).toEqual(['*** buffer overflow detected ***: terminated']);
          expectBytes(get(0, ARENA), model, `${name} wrote nothing before failing`);
        }
      }
    }), { ...RUNS, numRuns: 200 });
  });
});
