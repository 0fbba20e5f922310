// abiscope's guest C runtime (runtime/): the stdio and _FORTIFY_SOURCE entry points that GCC
// emits for ordinary C code. runtime/test/user_calls.c is compiled as Ubuntu's GCC does by
// default (-O2 -D_FORTIFY_SOURCE=2, PIC, glibc's headers: user_calls.o) and as Debian's does
// (-O2: user_calls_plain.o), so printf("hello\n") arrives as puts, printf("%c") as putchar,
// glibc's inline putc_unlocked as __overflow, printf with arguments as __printf_chk or printf...
// Every byte the runtime hands to the host (__abiscope_write) is recorded with its descriptor,
// so the tests see the order and the split of the writes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { Sandbox } from '../sandbox/sandbox.ts';
import { parseElf } from '../emu/elf.ts';
import type { AbiName } from '../backends/registry.ts';

const CONVENTIONS: [AbiName, string][] = [
  ['i386-sysv', 'i386'], ['x86_64-sysv', 'x86_64'], ['arm-aapcs', 'armel'], ['arm-aapcs-vfp', 'armhf'], ['ppc32-sysv', 'ppc32'], ['aarch64-aapcs64', 'aarch64'],
];
const OVERFLOW = '*** buffer overflow detected ***: terminated';
// what GCC turned the calls of user_calls.c into (see the comments there)
const COMMON = ['puts', 'putchar', 'putc', 'fputc', 'fputs', 'fwrite', 'fflush', '__overflow', '__uflow', '__ctype_b_loc',
  '__ctype_toupper_loc', 'strtol', 'stdout', 'stderr', 'stdin'];
const VARIANTS = [
  { object: 'user_calls', fortified: true, entryPoints: [...COMMON, '__printf_chk', '__fprintf_chk', '__vfprintf_chk', '__dprintf_chk',
    '__vdprintf_chk', '__snprintf_chk', '__vsnprintf_chk', '__sprintf_chk', '__vsprintf_chk', '__stpcpy_chk'] },
  { object: 'user_calls_plain', fortified: false, entryPoints: [...COMMON, 'printf', 'fprintf', 'vfprintf', 'dprintf', 'vdprintf',
    'snprintf', 'vsnprintf', 'sprintf', 'vsprintf', 'stpcpy'] },
];

describe.each(CONVENTIONS.flatMap(([abi, dir]) => VARIANTS.map((v) => ({ abi, dir, ...v }))))('runtime stdio on $abi ($object)', ({ abi, dir, object, fortified, entryPoints }) => {
  const path = new URL(`../runtime/test/obj/${dir}/${object}.o`, import.meta.url).pathname;
  let sb: Sandbox;
  let writes: [number, string][] = [];
  let failures: string[] = [];
  const f = (proto: string) => sb.func(proto);
  /** Runs a call and returns its result and the writes it made. */
  const run = (call: () => unknown): { r: unknown; w: [number, string][] } => {
    writes = [];
    const r = call();
    return { r, w: writes };
  };

  beforeAll(async () => {
    sb = await Sandbox.open(abi);
    sb.provide('__abiscope_write', sb.callback('long (int fd, const void *buf, unsigned long len)', (fd, buf, len) => {
      writes.push([fd as number, Buffer.from(sb.machine.read(buf as number, Number(len))).toString('latin1')]);
      return len;
    }));
    sb.provide('__abiscope_fail', sb.callback('void (const char *message)', (m) => {
      failures.push(sb.readCString(m as number));
      throw new Error('__abiscope_fail');
    }));
    sb.load(path);
  });
  afterAll(() => sb?.close());

  it('is compiled into the entry points the runtime defines', () => {
    const undefinedNames = parseElf(readFileSync(path)).symbols.filter((s) => !s.defined && s.name).map((s) => s.name);
    for (const name of entryPoints) expect(undefinedNames).toContain(name);
    // and no _chk function in the plain build
    if (!fortified) expect(undefinedNames.filter((n) => n.endsWith('_chk'))).toEqual([]);
  });

  it('printf as puts and putchar, fprintf as fwrite, fputc, fputs, putc', () => {
    expect(run(() => f('void say_hello(void)')()).w).toEqual([[1, 'hello\n']]);
    expect(run(() => f('void say_char(int c)')(65)).w).toEqual([[1, 'A']]);
    expect(run(() => f('void say_line(const char *s)')('a line')).w).toEqual([[1, 'a line\n']]);
    expect(run(() => f('void err_text(void)')()).w).toEqual([[2, 'to stderr\n']]);
    expect(run(() => f('void err_char(int c)')(0x42)).w).toEqual([[2, 'B']]);
    expect(run(() => f('void out_text(const char *s)')('xyz')).w).toEqual([[1, 'xyz']]);
    expect(run(() => f('void out_char(int c)')(0x17f)).w).toEqual([[1, '\x7f']]);
  });

  it('glibc\'s inline putc_unlocked reaches __overflow once per character; getc_unlocked sees end of file', () => {
    expect(run(() => f('void out_unlocked(const char *s)')('abc')).w).toEqual([[1, 'a'], [1, 'b'], [1, 'c']]);
    expect(run(() => f('int read_char(void)')()).r).toBe(-1);
  });

  it('the checked printf family formats and returns the length', () => {
    const a = run(() => f('int say_numbers(int n, double d, long long q)')(7, 2.5, -3n));
    expect(a.w).toEqual([[1, 'n=7 d=2.500 q=-3\n']]);
    expect(a.r).toBe('n=7 d=2.500 q=-3\n'.length);
    const b = run(() => f('int err_format(const char *s)')('e'));
    expect(b).toEqual({ r: 4, w: [[2, '[e]\n']] });
    expect(run(() => f('int fd_format(int fd, int v)')(5, 9))).toEqual({ r: 4, w: [[5, 'fd9\n']] });
    expect(run(() => f('int err_vformat(const char *fmt, ...)')('%s-%05.1f', 'const char *', 'v', 'double', -2.25))).toEqual({ r: 7, w: [[2, 'v--02.2']] });
  });

  it('fwrite passes bytes as they are; fflush has nothing to do', () => {
    const bytes = Uint8Array.from([0, 1, 0xff, 0x80, 10, 0]);
    expect(run(() => f('int out_block(const void *p, size_t n)')(bytes, bytes.length))).toEqual({ r: 6, w: [[1, Buffer.from(bytes).toString('latin1')]] });
    expect(run(() => f('int out_flush(void)')())).toEqual({ r: 0, w: [] });
  });

  it('refuses writes to stdin', () => {
    expect(run(() => f('int write_stdin(int v)')(5))).toEqual({ r: -2, w: [] });
  });

  it('keeps the order of stdout and stderr across calls', () => {
    expect(run(() => f('void interleaved(void)')()).w).toEqual([[1, '1'], [2, '2'], [1, '3'], [2, '4'], [1, '5\n']]);
  });

  it('a line longer than the formatting buffer arrives whole, in order, in buffer-sized writes', () => {
    const { r, w } = run(() => f('int long_line(char c, int n)')(0x78, 1500));
    const text = 'x' + ' '.repeat(1499) + 'x|\n';
    expect(r).toBe(text.length);
    expect(w.map(([fd]) => fd)).toEqual(w.map(() => 1));
    expect(w.map(([, s]) => s).join('')).toBe(text);
    expect(w.length).toBeGreaterThan(1);
    for (const [, s] of w) expect(s.length).toBeLessThanOrEqual(512);
  });

  it('the v- forms, each with its own va_list', () => {
    const out = sb.alloc(128);
    const vForms = f('int v_forms(char *out, const char *fmt, ...)');
    expect(run(() => vForms(out, '%s=%d', 'const char *', 'abc', 'int', -7))).toEqual({ r: 24, w: [[1, 'abc=-7'], [2, 'abc=-7']] });
    expect(sb.readCString(out)).toBe('abc=-7');
    expect(sb.readCString(out + 64)).toBe('abc=-7');
    // the local buffer holds 12 bytes: vsnprintf truncates and still counts 15
    expect(run(() => vForms(out, '%s%d', 'const char *', 'abcdefghij', 'int', 12345)).r).toBe(60);
    expect(sb.readCString(out)).toBe('abcdefghij12345');
    expect(sb.readCString(out + 64)).toBe('abcdefghij1');
    expect(f('int into(char *out, unsigned long n, int v)')(out, 5, 13)).toBe(9);
    expect(sb.readCString(out)).toBe('0001');
    expect(sb.readCString(out + 32)).toBe('d');
  });

  it('snprintf and string copies into local buffers within their size', () => {
    const out = sb.alloc(32);
    expect(f('int to_buffer(char *out, int v)')(out, -2147483647)).toBe(13);
    expect(sb.readCString(out)).toBe('<-2147483647>');
    failures = [];
    expect(f('int sprintf_small(int v)')(123)).toBe(3 + 0x31);
    expect(f('int copy_small(const char *s)')('1234567')).toBe(7);
    expect(failures).toEqual([]);
  });

  // (the plain build would overflow its stack buffers here: only the fortified one is run)
  if (fortified) it('the checked sprintf and stpcpy are fatal past the object', () => {
    failures = [];
    expect(() => f('int sprintf_small(int v)')(1234)).toThrow();
    expect(failures).toEqual([OVERFLOW]);
    failures = [];
    expect(() => f('int copy_small(const char *s)')('12345678')).toThrow();
    expect(failures).toEqual([OVERFLOW]);
  });

  it('ctype macros and the inline atoi/atol', () => {
    expect(f('int count_upper(const char *s)')(Uint8Array.from([...Buffer.from('Hello World ZA'), 0xc0, 0xde, 0]))).toBe(4);
    const s = Uint8Array.from([...Buffer.from('abc xyz {}'), 0xe9, 0]);
    f('void upcase(char *s)')(s);
    expect(Buffer.from(s).toString('latin1')).toBe('ABC XYZ {}\xe9\0');
    expect(Number(f('long parse(const char *s)')('  -12x'))).toBe(-24);
  });
});
