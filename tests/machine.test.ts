// The emulated machine on every target: GCC-compiled functions called with
// arguments placed by hand (registers and stack poisoned first), faults,
// budgets, timeouts, and a usable machine after each.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { Machine } from '../emu/machine.ts';
import type { TargetName } from '../emu/targets.ts';
import { BudgetExhaustedFault, InvalidInstructionFault, MemoryFault, StackOverflowFault, TimeoutFault } from '../emu/faults.ts';
import { fixtureObjects } from '../sandbox/fixtures.ts';
import { AssemblyError } from '../emu/asm.ts';

const POISON = 0xa5;

interface Case { dir: string; target: TargetName }
const CASES: Case[] = [
  { dir: 'i386', target: 'x86' },
  { dir: 'x86_64', target: 'x86_64' },
  { dir: 'armhf', target: 'arm' },
  { dir: 'armhf-arm', target: 'arm' },
  { dir: 'armel', target: 'arm' },
  { dir: 'ppc32', target: 'ppc32' },
  { dir: 'aarch64', target: 'aarch64' },
];

/** Places integer arguments by hand the way each target's C convention wants them, and calls. */
function callInts(m: Machine, fn: string, args: number[], limits = {}): bigint {
  m.poisonRegisters(POISON);
  const top = m.mainStack.top;
  m.poisonMemory(top, 0x4000, POISON);
  const address = m.symbol(fn).address;
  const ret = m.returnSentinel;
  const t = m.target.name;
  let sp = top - 0x1000;
  if (t === 'x86') {
    // i386: every argument on the stack, return address below them.
    sp -= 4 * args.length + 4;
    sp &= ~15;
    args.forEach((a, i) => m.writeU32(sp + 4 + 4 * i, a));
    sp -= 0; // esp at entry points at the return address
    m.writeU32(sp, ret);
  } else if (t === 'x86_64') {
    ['rdi', 'rsi', 'rdx', 'rcx', 'r8', 'r9'].forEach((r, i) => i < args.length && m.writeReg(r, BigInt.asUintN(64, BigInt(args[i]))));
    sp = (sp & ~15) - 8; // rsp % 16 == 8 at entry
    m.writeU64(sp, BigInt(ret));
  } else if (t === 'arm') {
    args.forEach((a, i) => m.writeReg(`r${i}`, a >>> 0));
    m.writeReg('lr', ret);
  } else if (t === 'ppc32') {
    args.forEach((a, i) => m.writeReg(`r${i + 3}`, a >>> 0));
    m.writeReg('lr', ret);
    sp &= ~15;
    m.writeU32(sp, 0); // back chain
  } else {
    args.forEach((a, i) => m.writeReg(`x${i}`, BigInt.asUintN(64, BigInt(a))));
    m.writeReg('x30', ret);
  }
  m.sp = sp;
  const stop = m.run(address, limits);
  expect(stop.slot).toBe(0);
  const r = t === 'x86' ? 'eax' : t === 'x86_64' ? 'rax' : t === 'arm' ? 'r0' : t === 'ppc32' ? 'r3' : 'x0';
  return m.readReg(r);
}

describe.each(CASES)('machine on $dir', ({ dir, target }) => {
  let m: Machine;
  beforeAll(async () => {
    m = await Machine.open(target);
    m.load(fixtureObjects(dir).map((f) => ({ bytes: readFileSync(f), file: f })));
  });
  afterAll(() => m.close());

  it('calls GCC-compiled functions with hand-placed arguments', () => {
    // weigh_int2(a, b) = 2a + 3b (see tests/fixtures/src/scalars.c)
    expect(Number(BigInt.asIntN(32, callInts(m, 'weigh_int2', [5, 7])))).toBe(2 * 5 + 3 * 7);
    expect(Number(BigInt.asIntN(32, callInts(m, 'weigh_int2', [-4, 100])))).toBe(2 * -4 + 3 * 100);
    // a function that calls another object's function (fx_strlen) through the loader's relocations
    const s = m.heap.allocate(32);
    m.write(s, new TextEncoder().encode('banana\0'));
    expect(Number(callInts(m, 'count_chars', [s, 'a'.charCodeAt(0)]) & 0xffffffffn)).toBe(3);
    m.heap.release(s);
  });

  it('links libgcc helpers (ARM has no divide instruction: __aeabi_idiv)', () => {
    expect(Number(BigInt.asIntN(32, callInts(m, 'div_int', [-100, 7])))).toBe(-14);
  });

  it('reports an unmapped read with pc, instruction and call chain, then works again', () => {
    let err: unknown;
    try {
      callInts(m, 'chain_a', [0x10]);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(MemoryFault);
    const f = err as MemoryFault;
    expect(f.access).toBe('read');
    expect(f.address).toBe(0x10);
    expect(f.callChain[0]).toMatch(/^chain_c/);
    expect(f.callChain.join(' ')).toMatch(/chain_b/);
    expect(f.instruction).not.toMatch(/unreadable|undecodable/);
    expect(m.symbolize(f.pc)).toMatch(/^chain_c/);
    expect(Number(BigInt.asIntN(32, callInts(m, 'weigh_int2', [1, 1])))).toBe(5);
  });

  it('reports a write to read-only code as a protected-memory fault', () => {
    const code = m.symbol('weigh_int2').address & ~1;
    const err = (() => { try { callInts(m, 'store', [code, 1]); } catch (e) { return e; } })();
    expect(err).toBeInstanceOf(MemoryFault);
    expect((err as MemoryFault).protectedPage).toBe(true);
    expect((err as MemoryFault).access).toBe('write');
    expect(Number(BigInt.asIntN(32, callInts(m, 'weigh_int2', [2, 2])))).toBe(10);
  });

  it('stops an endless loop at its instruction budget, and at its timeout', () => {
    expect(() => callInts(m, 'loop_forever', [], { budget: 100_000 })).toThrow(BudgetExhaustedFault);
    expect(() => callInts(m, 'loop_forever', [], { budget: 2 ** 31, timeoutMs: 50 })).toThrow(TimeoutFault);
    expect(Number(BigInt.asIntN(32, callInts(m, 'weigh_int2', [3, 3])))).toBe(15);
  });

  it('detects stack overflow into the guard page', () => {
    const err = (() => { try { callInts(m, 'recurse_deep', [1]); } catch (e) { return e; } })();
    expect(err).toBeInstanceOf(StackOverflowFault);
    expect((err as StackOverflowFault).stackName).toBe('main');
    expect(Number(BigInt.asIntN(32, callInts(m, 'weigh_int2', [4, 4])))).toBe(20);
  });

  it('reports an invalid instruction (__builtin_trap)', () => {
    const err = (() => { try { callInts(m, 'trap_now', []); } catch (e) { return e; } })();
    expect(err).toBeInstanceOf(Error);
    expect((err as InvalidInstructionFault).pc).toBeGreaterThan(0);
    expect(Number(BigInt.asIntN(32, callInts(m, 'weigh_int2', [0, 1])))).toBe(3);
  });
});

describe('machine services', () => {
  it('typed registers by ABI name, x87 st0 and endianness', async () => {
    const ppc = await Machine.open('ppc32');
    ppc.writeU32(0x2000_0000, 0x11223344);
    expect(Array.from(ppc.read(0x2000_0000, 4))).toEqual([0x11, 0x22, 0x33, 0x44]);
    ppc.writeRegF64('f1', 1.5);
    expect(ppc.readRegF64('f1')).toBe(1.5);
    ppc.close();
    const x = await Machine.open('x86');
    const code = x.loadAssembly(`fld qword ptr [0x20000000]\nmov eax, 0x${x.returnSentinel.toString(16)}\njmp eax`, 'test');
    x.writeF64(0x2000_0000, -2.25);
    x.run(code.address);
    expect(x.readX87(0)).toBe(-2.25);
    x.close();
  });

  it('assembly errors name the line', async () => {
    const m = await Machine.open('x86_64');
    expect(() => m.assembler.assemble('nop\nmov rax, rbx\nbogus rax\nret')).toThrow(AssemblyError);
    try {
      m.assembler.assemble('nop\nmov rax, rbx\nbogus rax\nret');
    } catch (e) {
      expect((e as AssemblyError).line).toBe(3);
    }
    m.close();
  });

  it('ARM and PPC FPUs are enabled at power-on', async () => {
    const arm = await Machine.open('arm');
    expect(Number(arm.readReg('fpexc')) & 0x40000000).toBe(0x40000000);
    arm.close();
    const ppc = await Machine.open('ppc32');
    expect(Number(ppc.readReg('msr')) & 0x2000).toBe(0x2000);
    ppc.close();
  });
});
