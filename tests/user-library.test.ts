// A user's own library, compiled the way users compile (tests/fixtures/user/src/mylib.c with
// each cross compiler's default flags: position-independent, calling strlen, memcpy, malloc,
// printf, snprintf, soft-float and 64-bit division helpers), called through the package API
// on every convention from the object, from an archive holding it and from a shared object.
// What it leaves undefined comes from abiscope's runtime (runtime/lib) and host functions.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Sandbox, GuestAbort, GuestExit, type JsValue } from '../index.ts';
import { run } from './cli-run.ts';
import { FIXTURES } from '../sandbox/fixtures.ts';
import { CONVENTIONS, type AbiName } from '../backends/registry.ts';

const BUILDS: [string, AbiName][] = [
  ['i386', 'i386-sysv'], ['x86_64', 'x86_64-sysv'], ['armel', 'arm-aapcs'],
  ['armhf', 'arm-aapcs-vfp'], ['armhf-arm', 'arm-aapcs-vfp'], ['ppc32', 'ppc32-sysv'], ['aarch64', 'aarch64-aapcs64'],
];
const FORMS = ['mylib.o', 'libmylib.a', 'libmylib.so'] as const;
const PERSON = 'struct person { char name[16]; int age; double height; };';

const text = (bytes: ArrayLike<number>): string => {
  const b = Array.from(bytes);
  const end = b.indexOf(0);
  return Buffer.from(end < 0 ? b : b.slice(0, end)).toString('latin1');
};

describe.each(BUILDS)('a user library built for %s (%s)', (dir, abi) => {
  describe.each(FORMS)('loaded as %s', (form) => {
    let sb: Sandbox;
    const printed: string[] = [];
    beforeAll(async () => {
      sb = await Sandbox.open(abi, { poison: 0xa5, onOutput: (fd, t) => printed.push(`${fd}:${t}`) });
      sb.declare(PERSON);
      sb.load(join(FIXTURES, 'obj', dir, 'user', form));
    });
    afterAll(() => sb.close());
    const call = (proto: string, ...args: unknown[]): JsValue => sb.func(proto)(...args);

    it('strlen, memcpy, ctype and static data behave as compiled', () => {
      expect(call('size_t name_length(const char *s)', 'hello, world')).toEqual(sb.cc.dataModel.pointerSize === 8 ? 12n : 12);
      const dst = new Uint8Array(12);
      call('void *copy_bytes(void *dst, const void *src, size_t n)', dst, Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9]), 9);
      expect(Array.from(dst)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 0, 0]);
      const out = sb.alloc(32);
      call('void copy_person(struct person *dst, const struct person *src)', out, { name: 'Ada', age: 36, height: 1.7 });
      const p = sb.read('struct person', out) as { name: number[]; age: number; height: number };
      expect([text(p.name), p.age, p.height]).toEqual(['Ada', 36, 1.7]);
      sb.free(out);
      expect(call('int count_words(const char *s)', '  the quick\tbrown  fox\n')).toBe(4);
      expect(call('int add_to_total(int x)', 5)).toBe(5);
      expect(call('int add_to_total(int x)', 7)).toBe(12);
      const greeting = sb.read('const char *', sb.symbolAddress('greeting')) as number;
      expect(sb.readCString(greeting)).toBe('hello');
    });

    it('malloc and free go to the guest heap, whose state the host sees', () => {
      const before = sb.heapStats();
      const p = call('char *shout(const char *s)', 'abc xyz') as number;
      expect(sb.readCString(p)).toBe('ABC XYZ!');
      expect(sb.heapStats().liveBlocks).toBe(before.liveBlocks + 1);
      call('void release(void *p)', p);
      expect(sb.heapStats()).toEqual(before);
      // free() of something malloc did not return is glibc's "invalid pointer" abort, typed here.
      expect(() => call('void release(void *p)', p)).toThrow(GuestAbort);
      expect(() => call('void release(void *p)', p)).toThrow(/free\(\): invalid pointer/);
    });

    it('printf and fprintf(stderr) output reaches the host, captured per call', () => {
      const f = sb.func('int greet(const char *who, int times)');
      const { value, record } = f.callWithRecord(['world', 3]);
      expect(record.output).toEqual({ stdout: 'hello, world x3 (1.00)\n', stderr: '' });
      expect(value).toBe('hello, world x3 (1.00)\n'.length);
      expect(f.callWithRecord(['abiscope', 7]).record.output.stdout).toBe('hello, abiscope x7 (2.33)\n');
      const w = sb.func('int warn(const char *msg)').callWithRecord(['careful']);
      expect(w.record.output).toEqual({ stdout: '', stderr: 'warning: careful (2 calls)\n' });
      expect(printed.slice(-3).join('')).toContain('2:careful (2 calls)\n');
      expect(sb.read('int', sb.symbolAddress('calls'))).toBe(2);
    });

    it('snprintf formats into a caller buffer', () => {
      const buf = new Uint8Array(64);
      const n = call('int describe(char *buf, size_t len, const struct person *p)', buf, 64, { name: 'Grace', age: 85, height: 1.52 });
      expect(text(buf)).toBe('Grace is 85, 1.5 m tall');
      expect(n).toBe(23);
      const small = new Uint8Array(8).fill(0x55);
      expect(call('int describe(char *buf, size_t len, const struct person *p)', small, 6, { name: 'Grace', age: 85, height: 1.52 })).toBe(23);
      expect(Array.from(small)).toEqual([...Buffer.from('Grace'), 0, 0x55, 0x55]);
    });

    it('float arithmetic and 64-bit division (libgcc helpers on 32-bit targets, soft-float on armel)', () => {
      expect(call('float scale(float x, int k)', 1.5, 3)).toBe(4.75);
      expect(call('double average(const double *v, int n)', [1, 2, 3.5], 3)).toBe(6.5 / 3);
      expect(call('long long ratio(long long a, long long b)', -(2n ** 40n) - 3n, 7n)).toBe((-(2n ** 40n) - 3n) / 7n);
      expect(call('unsigned long long remainder_u64(unsigned long long a, unsigned long long b)', 2n ** 63n + 12345n, 1000n)).toBe((2n ** 63n + 12345n) % 1000n);
    });

    it('errno is set by the guest and read back; strtol parses', () => {
      expect(call('int safe_div(int a, int b)', 7, 0)).toBe(0);
      expect(call('int last_errno(void)')).toBe(33); // EDOM
      expect(Number(call('long parse_number(const char *s)', '0x1f'))).toBe(31);
      expect(Number(call('long parse_number(const char *s)', '-0755'))).toBe(-493);
    });

    it('errno is one word per guest thread', () => {
      const worker = sb.thread(`errno worker ${form}`);
      const div = sb.func('int safe_div(int a, int b)');
      const errno = sb.func('int last_errno(void)');
      div(7, 0); // EDOM on main
      expect(errno.on(worker)()).toBe(0);
      sb.write('int', sb.func('int *__errno_location(void)')() as number, 0);
      expect(errno()).toBe(0);
      div.on(worker)(1, 0);
      expect(errno.on(worker)()).toBe(33);
      expect(errno()).toBe(0);
      const location = sb.func('int *__errno_location(void)');
      expect(location.on(worker)()).not.toBe(location());
    });

    it('a failed assert and exit() are typed errors, and the sandbox goes on working', () => {
      expect(call('int checked_double(int x)', 21)).toBe(42);
      let abort: unknown;
      try {
        call('int checked_double(int x)', -1);
      } catch (e) {
        abort = e;
      }
      expect(abort).toBeInstanceOf(GuestAbort);
      expect((abort as GuestAbort).assertion).toMatchObject({ expression: 'x >= 0', file: 'mylib.c', function: 'checked_double' });
      expect((abort as GuestAbort).calledFrom).toMatch(/checked_double/);
      let exit: unknown;
      try {
        call('void stop(int status)', 3);
      } catch (e) {
        exit = e;
      }
      expect(exit).toBeInstanceOf(GuestExit);
      expect((exit as GuestExit).status).toBe(3);
      expect(call('size_t name_length(const char *s)', 'still here')).toEqual(sb.cc.dataModel.pointerSize === 8 ? 10n : 10);
    });
  });
});

// The same library through `abiscope call`: one command, one sandbox per call.
describe.each(BUILDS)('abiscope call on the user library built for %s (%s)', (dir, abi) => {
  describe.each(FORMS)('from %s', (form) => {
    const call = (sig: string, args: unknown[]) =>
      run('call', '--abi', abi, '--elf', join(FIXTURES, 'obj', dir, 'user', form), '--sig', `${PERSON} ${sig}`, '--args', JSON.stringify(args));
    /** A call that succeeds: its JSON, and what the guest printed to stderr. */
    const ok = async (sig: string, args: unknown[]) => {
      const r = await call(sig, args);
      expect(r.code, r.stderr).toBe(0);
      const json = JSON.parse(r.stdout) as { result: unknown; stdout: string; stderr: string };
      expect(r.stderr).toBe(json.stdout + json.stderr); // printed as it happened, and kept in the JSON
      return json;
    };

    it('every function, with results, printed output and typed errors', async () => {
      expect((await ok('size_t name_length(const char *s)', ['hello'])).result).toBe(sb64(abi) ? '5' : 5);
      expect((await ok('void *copy_bytes(void *dst, const void *src, size_t n)', [null, null, 0])).result).toBe(0);
      expect((await ok('void copy_person(struct person *dst, const struct person *src)', [{ name: '', age: 0, height: 0 }, { name: 'Ada', age: 36, height: 1.7 }])).result).toBe(null);
      expect((await ok('char *shout(const char *s)', ['abc'])).result).toBeGreaterThan(0);
      expect((await ok('void release(void *p)', [null])).result).toBe(null);
      expect(await ok('int greet(const char *who, int times)', ['cli', 4])).toEqual({ result: 'hello, cli x4 (1.33)\n'.length, stdout: 'hello, cli x4 (1.33)\n', stderr: '' });
      expect((await ok('int describe(char *buf, size_t len, const struct person *p)', ['x'.repeat(40), 40, { name: 'Grace', age: 85, height: 1.52 }])).result).toBe(23);
      expect(await ok('int warn(const char *msg)', ['careful'])).toEqual({ result: 'careful (0 calls)\n'.length, stdout: '', stderr: 'warning: careful (0 calls)\n' });
      expect((await ok('float scale(float x, int k)', [1.5, 3])).result).toBe(4.75);
      expect((await ok('double average(const double *v, int n)', [[1, 2, 3.5], 3])).result).toBe(6.5 / 3);
      expect((await ok('long long ratio(long long a, long long b)', ['-1099511627779', '7'])).result).toBe(String(-1099511627779n / 7n));
      expect((await ok('unsigned long long remainder_u64(unsigned long long a, unsigned long long b)', ['9223372036854788153', '1000'])).result).toBe('153');
      expect((await ok('int count_words(const char *s)', [' a bb  ccc '])).result).toBe(3);
      expect((await ok('int add_to_total(int x)', [5])).result).toBe(5);
      expect((await ok('int safe_div(int a, int b)', [7, 2])).result).toBe(3);
      expect((await ok('int last_errno(void)', [])).result).toBe(0);
      expect((await ok('long parse_number(const char *s)', ['0x1f'])).result).toBe(sb64(abi) ? '31' : 31);
      expect((await ok('int checked_double(int x)', [21])).result).toBe(42);

      const assertFailed = await call('int checked_double(int x)', [-1]);
      expect(assertFailed.code).toBe(1);
      expect(JSON.parse(assertFailed.stderr).error).toMatchObject({ type: 'GuestAbort', assertion: { expression: 'x >= 0', file: 'mylib.c' } });
      const exited = await call('void stop(int status)', [3]);
      expect(exited.code).toBe(1);
      expect(JSON.parse(exited.stderr).error).toMatchObject({ type: 'GuestExit', status: 3, message: 'the guest called exit(3)' });
    });
  });
});

/** size_t and long are 64-bit: the CLI prints them as decimal strings. */
function sb64(abi: AbiName): boolean {
  return CONVENTIONS[abi].dataModel.scalars.long.size === 8;
}
