// abiscope's guest C runtime (runtime/): its snprintf, run in the emulator on every
// convention, against glibc's. runtime/test/printf_cases.c has one snprintf call per case
// with literal arguments; GCC compiled it as a user would (obj/<dir>/printf_cases.o: PIC,
// glibc's headers), so GCC itself passes every variadic argument, and the runtime is linked
// from runtime/lib. expected/<dir>.json is what glibc printed for the same object, run under
// qemu-user (runtime/build.sh). Every case compares the bytes written into the buffer (also
// past the terminator), whether anything past n was written, the result, errno and what %n
// stored.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { Sandbox } from '../sandbox/sandbox.ts';
import type { AbiName } from '../backends/registry.ts';

const CONVENTIONS: [AbiName, string][] = [
  ['i386-sysv', 'i386'], ['x86_64-sysv', 'x86_64'], ['arm-aapcs', 'armel'], ['arm-aapcs-vfp', 'armhf'], ['ppc32-sysv', 'ppc32'], ['aarch64-aapcs64', 'aarch64'],
];
const ROOT = new URL('../runtime/test/', import.meta.url);
interface CaseMeta { fmt: string; args: string; n: number; nullBuffer?: boolean }
interface Result { r: number; e: number; a: number; o: number; b: string }
const cases: CaseMeta[] = JSON.parse(readFileSync(new URL('printf_cases.json', ROOT), 'utf8'));

// as in runtime/test/driver.c
const BUF = 600;
const FILL = 0xa5;
const NO_AUX = -1234567n;
const CHUNK = 1500;

describe.each(CONVENTIONS)('runtime snprintf on %s (%s) equals glibc', (abi, dir) => {
  const expected: Result[] = JSON.parse(readFileSync(new URL(`expected/${dir}.json`, ROOT), 'utf8'));
  let sb: Sandbox;
  let run: (i: number) => Result;

  beforeAll(async () => {
    sb = await Sandbox.open(abi);
    // errno through our own word, so each case can reset and read it
    const errno = sb.alloc(4);
    sb.provide('__errno_location', sb.callback('int *(void)', () => errno));
    const lib = sb.load(new URL(`obj/${dir}/printf_cases.o`, ROOT).pathname);
    const printfCase = lib.func('int printf_case(int i, char *buf, unsigned long n)');
    const count = lib.func('int printf_case_count(void)')();
    expect(count).toBe(cases.length);
    const aux = lib.symbol('printf_case_aux');
    const buf = sb.alloc(BUF);
    const fill = new Uint8Array(BUF).fill(FILL);
    run = (i) => {
      sb.machine.write(buf, fill);
      sb.write('long long', aux, NO_AUX);
      sb.write('int', errno, 0);
      const r = printfCase(i, buf, cases[i].n) as number;
      const bytes = sb.machine.read(buf, BUF);
      let last = BUF - 1;
      while (last >= 0 && bytes[last] === FILL) last--;
      const a = sb.read('long long', aux) as bigint;
      return {
        r, e: sb.read('int', errno) as number, a: a === NO_AUX ? 0 : Number(a), o: last >= cases[i].n ? 1 : 0,
        b: Buffer.from(bytes.subarray(0, last + 1)).toString('latin1'),
      };
    };
  });
  afterAll(() => sb?.close());

  it('has one expected result per case', () => {
    expect(expected.length).toBe(cases.length);
    expect(cases.length).toBeGreaterThan(5000);
  });

  for (let from = 0; from < cases.length; from += CHUNK) {
    const to = Math.min(from + CHUNK, cases.length);
    it(`cases ${from}..${to - 1}`, () => {
      const mismatches: unknown[] = [];
      for (let i = from; i < to; i++) {
        const got = run(i), want = expected[i];
        if (got.r !== want.r || got.b !== want.b || got.e !== want.e || got.a !== want.a || got.o !== want.o)
          mismatches.push({ case: i, format: cases[i].fmt, args: cases[i].args, n: cases[i].n, glibc: want, runtime: got });
      }
      expect(mismatches).toEqual([]);
    });
  }
});
