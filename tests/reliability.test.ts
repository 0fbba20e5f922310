// What a careless or hostile user can do must end in a result or a typed error, never a
// crash of the host process, a hang, or a silently wrong answer: large and overlapping
// images, region and memory limits, time limits across call-backs, validated options,
// code rewritten after it ran, and function pointers kept by C after their call.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  Sandbox, ElfError, GuestMemoryError, MAX_REGIONS, UsageError, CallTimeoutFault, CallbackError, CallbackReleasedError, BudgetExhaustedFault, type AbiName,
} from '../index.ts';
import { Machine } from '../emu/machine.ts';
import { FIXTURE_DIRS, FIXTURES, fixtureObjects } from '../sandbox/fixtures.ts';

const SAMPLES = join(FIXTURES, '..', 'elf-samples');
const CONVENTIONS: [AbiName, string, string][] = [
  ['i386-sysv', 'i386', 'i386'], ['x86_64-sysv', 'x86_64', 'x86_64'], ['arm-aapcs', 'armel', 'armel'],
  ['arm-aapcs-vfp', 'armhf', 'armhf'], ['ppc32-sysv', 'ppc32', 'ppc'], ['aarch64-aapcs64', 'aarch64', 'aarch64'],
];

describe.each(CONVENTIONS)('limits and guarantees on %s', (abi, dir, samples) => {
  let sb: Sandbox;
  beforeAll(async () => {
    sb = await Sandbox.open(abi, { timeoutMs: 500 });
    sb.load(...fixtureObjects(dir));
  });
  afterAll(() => sb.close());
  const works = () => expect(sb.func('int weigh_int2(int, int)')(5, 7)).toBe(31);

  it('an object with 16 MiB of .bss loads as one region per permission, and runs', () => {
    const before = sb.machine.regions.length;
    sb.load(join(SAMPLES, samples, 'big.o'));
    const added = sb.machine.regions.slice(before);
    expect(added.length).toBeLessThanOrEqual(3); // code, data (+ read-only data): not one per page
    expect(added.some((r) => r.end - r.start >= 16 << 20)).toBe(true);
    const touch = sb.func('int big_touch(int i, int v)');
    expect(touch(123, 7)).toBe(7);
    expect(touch((16 << 20) - 1, 5)).toBe(10); // the last byte of the buffer is mapped and zeroed
    works();
  });

  it('guest code calling a call-back in an endless loop is stopped by the call-out time limit', () => {
    let calls = 0;
    const spin = sb.callback('int (int)', (x) => {
      calls++;
      return x;
    });
    let e: unknown;
    try {
      sb.func('int apply_n(int (*f)(int), int n, int x)')(spin, 0x7fffffff, 1);
    } catch (x) {
      e = x;
    }
    expect(e).toBeInstanceOf(CallTimeoutFault);
    expect((e as Error).message).toMatch(/apply_n .* exceeded its time limit of 500 ms \(with its call-backs and nested call-outs\)/);
    expect(calls).toBeGreaterThan(10);
    spin.release();
    works();
  });

  it('a C function pointer kept after its call never reaches another function', () => {
    const keep = sb.func('void keep_cb(int (*f)(int))');
    keep((x: number) => x + 1); // a plain function: a call-back for that call only
    // Many later calls with other plain functions: none may get the kept entry.
    const apply = sb.func('int apply_n(int (*f)(int), int n, int x)');
    for (let i = 0; i < 1100; i++) expect(apply((x: number) => x * 2 + i, 1, 1)).toBe(2 + i);
    let e: unknown;
    try {
      sb.func('int call_kept(int x)')(1);
    } catch (x) {
      e = x;
    }
    expect(e).toBeInstanceOf(CallbackError);
    expect((e as CallbackError).original).toBeInstanceOf(CallbackReleasedError);
    // The same function passed again is the same call-back: live again while that call runs.
    const twice = (x: number) => x * 3;
    expect(apply(twice, 2, 1)).toBe(9);
    expect(apply(twice, 1, 2)).toBe(6);
    works();
  });

  it('typed arrays reach the guest element by element in its byte order, and come back the same way', () => {
    expect(sb.func('int deref(int *p)')(new Int32Array([10]))).toBe(10);
    const out = new Int32Array([0]);
    sb.func('void store(int *p, int v)')(out, -123456);
    expect(out[0]).toBe(-123456);
    const v = new Int32Array([30, -1, 20, 10]);
    const cmp = (a: number, b: number) => (sb.read('int', a) as number) - (sb.read('int', b) as number);
    sb.func('void sort_ints(int *v, int n, int (*cmp)(const void *, const void *))')(v, 4, cmp);
    expect(Array.from(v)).toEqual([-1, 10, 20, 30]);
    expect(() => sb.func('int deref(int *p)')(new Int16Array([10, 0]))).toThrow(/int \*: a typed array of 4-byte elements \(a Int16Array has 2-byte ones\)/);
    expect(sb.func('int deref(int *p)')(Uint8Array.from(sb.cc.dataModel.endian === 'big' ? [0, 0, 0, 10] : [10, 0, 0, 0]))).toBe(10); // bytes are bytes
    works();
  });

  it('an executable linked over abiscope\'s own pages is an ElfError naming both ranges', () => {
    // prog.elf is linked at 0x10000; moved to 0x100000 it would lie over the call stub.
    const bytes = new Uint8Array(readFileSync(join(SAMPLES, samples, 'prog.elf')));
    const moved = relink(bytes, 0x100000 - 0x10000);
    expect(() => sb.load(moved)).toThrow(ElfError);
    expect(() => sb.load(moved)).toThrow(/\[0x10[0-9a-f]{4}, 0x[0-9a-f]+\) overlaps .*call stub \[0x100000, 0x101000\)/);
    works();
  });
});

/** Moves every PT_LOAD and SHF_ALLOC section of a static executable by `delta` (the bytes are not relocated: it is not run). */
function relink(bytes: Uint8Array, delta: number): Uint8Array {
  const out = bytes.slice();
  const dv = new DataView(out.buffer);
  const is64 = out[4] === 2, le = out[5] === 1;
  const word = (o: number) => (is64 ? Number(dv.getBigUint64(o, le)) : dv.getUint32(o, le));
  const setWord = (o: number, v: number) => (is64 ? dv.setBigUint64(o, BigInt(v), le) : dv.setUint32(o, v, le));
  const phoff = word(is64 ? 32 : 28), phentsize = dv.getUint16(is64 ? 54 : 42, le), phnum = dv.getUint16(is64 ? 56 : 44, le);
  for (let i = 0; i < phnum; i++) {
    const o = phoff + i * phentsize;
    if (dv.getUint32(o, le) !== 1) continue; // PT_LOAD
    const vaddr = is64 ? o + 16 : o + 8;
    setWord(vaddr, word(vaddr) + delta);
  }
  return out;
}

describe('machine limits', () => {
  it(`refuses the region after MAX_REGIONS (${MAX_REGIONS}) with a typed error instead of letting Unicorn abort the process`, async () => {
    const sb = await Sandbox.open('x86_64-sysv');
    try {
      sb.load(join(FIXTURES, 'obj', 'x86_64', 'scalars.o'));
      let e: unknown;
      for (let i = 0; i < MAX_REGIONS + 10 && !e; i++) {
        try {
          sb.thread(`t${i}`, { stackSize: 0x4000 });
        } catch (x) {
          e = x;
        }
      }
      expect(e).toBeInstanceOf(GuestMemoryError);
      expect((e as Error).message).toMatch(/the most abiscope maps \(MAX_REGIONS: Unicorn aborts the process past about 4,096/);
      expect(() => sb.load(join(SAMPLES, 'x86_64', 'big.o'))).toThrow(GuestMemoryError);
      expect(sb.func('int weigh_int2(int, int)')(5, 7)).toBe(31);
    } finally {
      sb.close();
    }
  });

  it('a memory limit bounds what may be mapped, checked before anything is mapped', async () => {
    const sb = await Sandbox.open('x86_64-sysv', { memoryLimit: 128 << 20 });
    try {
      sb.load(join(FIXTURES, 'obj', 'x86_64', 'scalars.o'));
      // Loading one object twice is refused (its symbols would be defined twice): each load gets
      // a copy of big.o whose two symbols end in the load's number instead.
      const big = readFileSync(join(SAMPLES, 'x86_64', 'big.o'));
      const renamed = (n: number) => {
        const bytes = new Uint8Array(big);
        for (const name of ['big_touch', 'big_buffer']) bytes[big.indexOf(`${name}\0`) + name.length - 1] = 0x30 + n;
        return bytes;
      };
      let e: unknown;
      let loads = 0;
      for (; loads < 8 && !e; loads++) {
        const regions = sb.machine.regions.length;
        try {
          sb.load(renamed(loads));
        } catch (x) {
          e = x;
          expect(sb.machine.regions.length).toBe(regions); // nothing of the refused image was mapped
        }
      }
      expect(e).toBeInstanceOf(GuestMemoryError);
      expect((e as Error).message).toMatch(/memory limit/);
      expect(loads).toBeLessThanOrEqual(3);
      expect(() => sb.thread('huge', { stackSize: 64 << 20 })).toThrow(/memory limit/);
      expect(sb.func('int weigh_int2(int, int)')(5, 7)).toBe(31);
    } finally {
      sb.close();
    }
  });

  it.each([0, -5, 1e20, 1.5, Number.NaN])('refuses budget %s when the sandbox opens', async (budget) => {
    await expect(Sandbox.open('i386-sysv', { budget })).rejects.toThrow(UsageError);
    await expect(Sandbox.open('i386-sysv', { budget })).rejects.toThrow(/budget .*: expected a whole number of instructions from 1/);
  });

  it.each([0, -1, Infinity, 1e12])('refuses timeoutMs %s when the sandbox opens', async (timeoutMs) => {
    await expect(Sandbox.open('i386-sysv', { timeoutMs })).rejects.toThrow(/timeoutMs .*: expected milliseconds above 0/);
  });

  it('refuses memoryLimit and calleeSaved values out of range', async () => {
    await expect(Sandbox.open('i386-sysv', { memoryLimit: 1000 })).rejects.toThrow(/memoryLimit 1000: expected a whole number of bytes/);
    await expect(Sandbox.open('i386-sysv', { calleeSaved: 'ignore' as 'warn' })).rejects.toThrow(/calleeSaved "ignore": expected 'error', 'warn' or 'off'/);
  });

  it('an instruction budget stops one run of guest code exactly', async () => {
    const sb = await Sandbox.open('x86_64-sysv', { budget: 10_000 });
    try {
      sb.load(...fixtureObjects(FIXTURE_DIRS['x86_64-sysv'][0]));
      expect(() => sb.func('void loop_forever(void)')()).toThrow(BudgetExhaustedFault);
      expect(sb.func('int weigh_int2(int, int)')(5, 7)).toBe(31);
    } finally {
      sb.close();
    }
  });
});

describe('code written after it ran', () => {
  it.each(['x86', 'x86_64', 'arm', 'ppc32'] as const)('%s: the host rewriting code drops Unicorn\'s translation of it', async (target) => {
    const m = await Machine.open(target);
    try {
      const text: Record<string, [string, string]> = {
        x86: ['mov eax, 1', 'mov eax, 2'], x86_64: ['mov eax, 1', 'mov eax, 2'],
        arm: ['mov r0, #1', 'mov r0, #2'], ppc32: ['li 3, 1', 'li 3, 2'],
      };
      const ret: Record<string, string> = { x86: `mov ecx, ${'0x' + m.returnSentinel.toString(16)}\njmp ecx`, x86_64: `mov rcx, ${'0x' + m.returnSentinel.toString(16)}\njmp rcx`, arm: 'bx lr', ppc32: 'blr' };
      const code = m.reserveCode(0x1000, 'patched code');
      const result = m.target.name === 'x86' ? 'eax' : m.target.name === 'x86_64' ? 'rax' : m.target.name === 'arm' ? 'r0' : 'r3';
      const runOnce = (): bigint => {
        if (m.target.linkRegister) m.writeReg(m.target.linkRegister, m.returnSentinel);
        m.sp = m.mainStack.top - 0x100;
        m.run(code);
        return m.readReg(result) & 0xffffffffn;
      };
      m.assembleAt(`${text[target][0]}\n${ret[target]}`, code, 0x100);
      expect(runOnce()).toBe(1n);
      m.assembleAt(`${text[target][1]}\n${ret[target]}`, code, 0x100);
      expect(runOnce()).toBe(2n); // without dropping the cached translation this stays 1
    } finally {
      m.close();
    }
  });
});
