// Fault reports say what happened: every way guest code can stop other than returning is a
// typed GuestFault at the exact pc of the instruction that did it, with that instruction's
// text and a call chain of live frames only; the sandbox works after each.
//
// Guest code comes from GCC (tests/fixtures/src/faults.c, faults2.c) or, for instructions C
// never emits, from small snippets assembled into the sandbox's machine and called through
// faults.c's `int call_fnptr(int (*f)(void))`, so every snippet fault has the chain
// snippet <- call_fnptr <- abiscope's call stub.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Sandbox } from '../sandbox/sandbox.ts';
import { Machine } from '../emu/machine.ts';
import type { AbiName } from '../backends/registry.ts';
import { Assembler } from '../emu/asm.ts';
import { X86_INSN } from '../emu/unicorn.ts';
import { callBefore } from '../emu/backtrace.ts';
import {
  AlignmentFault, BreakpointFault, BudgetExhaustedFault, DivisionFault, FloatingPointFault, GuestFault, HaltFault,
  InvalidInstructionFault, MemoryFault, PrivilegedInstructionFault, SoftwareInterruptFault, SystemCallFault,
  TrapInstructionFault, WildJumpFault,
} from '../emu/faults.ts';
import { FIXTURES } from '../sandbox/fixtures.ts';
// @ts-expect-error: plain .mjs helper shared with the constant generator
import { HEADER_DIR, headersPresent, readEnums } from '../scripts/uc-headers.mjs';

interface Convention { abi: AbiName; dir: string }
const CONVENTIONS: Convention[] = [
  { abi: 'i386-sysv', dir: 'i386' },
  { abi: 'x86_64-sysv', dir: 'x86_64' },
  { abi: 'arm-aapcs', dir: 'armel' },
  { abi: 'arm-aapcs-vfp', dir: 'armhf' },
  { abi: 'arm-aapcs-vfp', dir: 'armhf-arm' },
  { abi: 'ppc32-sysv', dir: 'ppc32' },
  { abi: 'aarch64-aapcs64', dir: 'aarch64' },
];
const X86 = CONVENTIONS.filter((c) => c.dir === 'i386' || c.dir === 'x86_64');
const ARM = CONVENTIONS.filter((c) => c.abi.startsWith('arm'));
const PPC = CONVENTIONS.filter((c) => c.dir === 'ppc32');

const obj = (dir: string, f: string) => join(FIXTURES, 'obj', dir, f);

/** The thrown value of `f`, which must throw. */
function thrown(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  throw new Error('expected a throw');
}

/** A fault of class `cls`, with everything every report must have. */
function fault<T extends GuestFault>(e: unknown, cls: abstract new (...args: never[]) => T): T {
  expect(e).toBeInstanceOf(cls);
  const f = e as T;
  expect(typeof f.exactPc).toBe('bigint');
  expect(f.message).toContain(`at pc 0x${f.exactPc.toString(16)}: ${f.instruction}`);
  expect(Object.values(f.context.registers).every((v) => typeof v === 'bigint')).toBe(true);
  return f;
}

/** One sandbox per convention with the fault fixtures; `works()` after every fault. */
class Rig {
  sb!: Sandbox;
  private thumbAsm?: Assembler;
  constructor(readonly c: Convention) {}
  async open(): Promise<void> {
    this.sb = await Sandbox.open(this.c.abi);
    this.sb.load(obj(this.c.dir, 'scalars.o'), obj(this.c.dir, 'floats.o'), obj(this.c.dir, 'faults.o'), obj(this.c.dir, 'faults2.o'));
    if (this.c.abi.startsWith('arm')) this.thumbAsm = await Assembler.create('thumb');
  }
  get m() { return this.sb.machine; }
  get stub(): RegExp { return new RegExp(`^${this.c.abi} (call stub|compiled call stub #\\d+)\\+0x[0-9a-f]+ \\(0x[0-9a-f]+\\)$`); }
  /** The sandbox still calls GCC code correctly: weigh_int2(a, b) = 2a + 3b. */
  works(): void {
    expect(this.sb.func('int weigh_int2(int, int)')(5, 7)).toBe(31);
    expect(this.sb.func('int weigh_int2(int, int)')(-4, 100)).toBe(292);
  }
  /**
   * Assembles `lines` into fresh guest code (Thumb on request) and returns its address (odd for
   * Thumb) and the address of line `mark` (the instruction a fault must name).
   */
  code(lines: string[], mark: number, thumb = false): { entry: number; at: bigint } {
    const text = lines.join('\n');
    if (!thumb) {
      const { address } = this.m.loadAssembly(text, 'fault snippet');
      const before = mark === 0 ? 0 : this.m.assembler.assemble(lines.slice(0, mark).join('\n'), address).length;
      return { entry: address, at: BigInt(address + before) };
    }
    const address = this.m.reserveCode(0x1000, 'fault snippet');
    const bytes = this.thumbAsm!.assemble(text, address);
    this.m.write(address, bytes);
    const before = mark === 0 ? 0 : this.thumbAsm!.assemble(lines.slice(0, mark).join('\n'), address).length;
    return { entry: address | 1, at: BigInt(address + before) };
  }
  /** Calls guest code at `entry` through call_fnptr and returns what it threw. */
  callThrough(entry: number): unknown {
    return thrown(() => this.sb.func('int call_fnptr(int (*f)(void))')(entry));
  }
  /** A snippet fault: at `at`, chain snippet <- call_fnptr <- call stub. */
  expectSnippetChain(f: GuestFault, at: bigint): void {
    expect(f.exactPc).toBe(at);
    expect(f.callChain).toHaveLength(3);
    expect(f.callChain[0]).toMatch(new RegExp(`^fault snippet\\+0x[0-9a-f]+ \\(0x${at.toString(16)}\\)$`));
    expect(f.callChain[1]).toMatch(/^call_fnptr\+0x[0-9a-f]+ \(0x[0-9a-f]+\)$/);
    expect(f.callChain[2]).toMatch(this.stub);
  }
  /** Runs a snippet that must fault with `cls` at line `mark`; checks pc, instruction, chain, then the sandbox. */
  snippet<T extends GuestFault>(lines: string[], mark: number, cls: abstract new (...args: never[]) => T, instruction: RegExp, thumb = false): T {
    const { entry, at } = this.code(lines, mark, thumb);
    const f = fault(this.callThrough(entry), cls);
    this.expectSnippetChain(f, at);
    expect(f.instruction).toMatch(instruction);
    this.works();
    return f;
  }
  close(): void {
    this.sb.close();
  }
}

/** mov/orr of a 32-bit constant in ARM state (Keystone's ARM mode has no movw/movt). */
function armConst(reg: string, value: number): string[] {
  const parts = [24, 16, 8, 0].map((sh) => ((value >>> sh) & 0xff) << sh >>> 0).filter((p) => p !== 0);
  if (!parts.length) return [`mov ${reg}, #0`];
  return [`mov ${reg}, #0x${parts[0].toString(16)}`, ...parts.slice(1).map((p) => `orr ${reg}, ${reg}, #0x${p.toString(16)}`)];
}
const ppcConst = (reg: number, value: number) => [`lis ${reg}, ${(value >>> 16) & 0xffff}`, `ori ${reg}, ${reg}, ${value & 0xffff}`];

describe('Unicorn constants for UC_HOOK_INSN', () => {
  it('the x86 instruction ids match unicorn/x86.h', () => {
    expect(headersPresent(), 'install libunicorn-dev to verify the ids against the header').toBe(true);
    const insn = (readEnums(`${HEADER_DIR}/x86.h`) as Record<string, Record<string, number>>).uc_x86_insn;
    expect(X86_INSN.UC_X86_INS_SYSCALL).toBe(insn.UC_X86_INS_SYSCALL);
    expect(X86_INSN.UC_X86_INS_SYSENTER).toBe(insn.UC_X86_INS_SYSENTER);
  });
});

describe.each(CONVENTIONS)('fault reports on $dir', (c) => {
  const rig = new Rig(c);
  beforeAll(async () => {
    expect(existsSync(obj(c.dir, 'faults2.o')), 'run bash tests/fixtures/build.sh').toBe(true);
    await rig.open();
  });
  afterAll(() => rig.close());

  it('a call chain is the live frames: chain_c <- chain_b <- chain_a <- the call stub', () => {
    const f = fault(thrown(() => rig.sb.func('int chain_a(int *p)')(0x10)), MemoryFault);
    expect(f.access).toBe('read');
    expect(f.exactAddress).toBe(0x10n);
    expect(f.callChain).toHaveLength(4);
    expect(f.callChain[0]).toMatch(new RegExp(`^chain_c(\\+0x[0-9a-f]+)? \\(0x${f.exactPc.toString(16)}\\)$`));
    expect(f.callChain[1]).toMatch(/^chain_b\+0x[0-9a-f]+ \(0x[0-9a-f]+\)$/);
    expect(f.callChain[2]).toMatch(/^chain_a\+0x[0-9a-f]+ \(0x[0-9a-f]+\)$/);
    expect(f.callChain[3]).toMatch(rig.stub);
    rig.works();
  });

  it('a dead return address left on the stack is not in the chain', () => {
    const f = fault(thrown(() => rig.sb.func('int stale_chain(int x, int *p)')(1, 0x10)), MemoryFault);
    expect(f.callChain).toHaveLength(3);
    expect(f.callChain[0]).toMatch(/^stale_fault\+0x[0-9a-f]+ /);
    expect(f.callChain[1]).toMatch(/^stale_chain\+0x[0-9a-f]+ /);
    expect(f.callChain[2]).toMatch(rig.stub);
    // The engineered case is real: where the chain searches (the stack above sp, or on PowerPC
    // the back chain's LR save words), a word is the return address of a call to a function
    // that had returned (stale_mid, stale_inner or stale_leaf), and such a word lies below the
    // live return into stale_chain (a stack scan that trusted it would have named it).
    const m = rig.m;
    const word = m.target.pointerSize;
    const sp = Number(f.context.registers[m.target.sp]);
    const live = Number(/\((0x[0-9a-f]+)\)$/.exec(f.callChain[1])![1]);
    const stale: string[] = [];
    const slots: number[] = [];
    if (m.target.name === 'ppc32') {
      for (let frame = sp, i = 0; i < 4; i++) {
        const next = m.readU32(frame);
        if (next <= frame || next + 8 > m.mainStack.top) break;
        slots.push(next + 4);
        frame = next;
      }
    } else {
      for (let a = sp; a < Math.min(sp + 1024, m.mainStack.top); a += word) slots.push(a);
    }
    for (const a of slots) {
      const v = m.readPointer(a);
      if (v === live) break;
      const site = callBefore(m, v);
      if (site?.target !== undefined && /^stale_(mid|inner|leaf)\b/.test(m.symbolize(site.target))) stale.push(m.symbolize(v, { returnAddress: true }));
    }
    expect(stale.length, 'a dead return address on the stack').toBeGreaterThan(0);
    for (const s of stale) expect(f.callChain).not.toContain(s);
    const ten = rig.sb.alloc(4);
    rig.sb.write('int', ten, 10);
    expect(rig.sb.func('int stale_chain(int x, int *p)')(2, ten)).toBe(2 * 3 + 2 + 10);
    rig.sb.free(ten);
    rig.works();
  });

  it('a caller whose callee tail-called the faulting function stays in the chain', () => {
    // tail_outer -> tail_mid -(jump)-> tail_end: the return into tail_outer follows a call to
    // tail_mid, which has no frame; tail_mid's code jumps to tail_end, so the frame is live.
    const f = fault(thrown(() => rig.sb.func('int tail_outer(int *p)')(0x10)), MemoryFault);
    expect(f.callChain).toHaveLength(3);
    expect(f.callChain[0]).toMatch(/^tail_end(\+0x[0-9a-f]+)? /);
    expect(f.callChain[1]).toMatch(/^tail_outer\+0x[0-9a-f]+ /);
    expect(f.callChain[2]).toMatch(rig.stub);
    rig.works();
  });

  it('a jump into an unallocated host-trap slot is a WildJumpFault naming it, with the chain', () => {
    const slot = 37;
    const f = fault(rig.callThrough(rig.m.trapAddress(slot)), WildJumpFault);
    expect(f.reached).toBe(`host-trap slot ${slot}, which is not allocated`);
    expect(f.exactPc).toBe(BigInt(rig.m.trapAddress(slot)));
    expect(f.instruction).toBe("(abiscope's host-trap page: no instruction)");
    expect(f.callChain).toHaveLength(3);
    expect(f.callChain[0]).toBe(`host-trap slot ${slot} (0x${rig.m.trapAddress(slot).toString(16)})`);
    expect(f.callChain[1]).toMatch(/^call_fnptr\+0x/);
    expect(f.callChain[2]).toMatch(rig.stub);
    rig.works();
    // The last slot is Unicorn's `until` address of every run: reaching it is no return either.
    const last = fault(rig.callThrough(rig.m.trapAddress(255)), WildJumpFault);
    expect(last.reached).toBe('host-trap slot 255, which is not allocated');
    rig.works();
    // Inside a slot, not at its start.
    const inside = fault(rig.callThrough(rig.m.trapAddress(1) + 8), WildJumpFault);
    expect(inside.reached).toMatch(/^abiscope's host-trap page at offset 0x18, inside slot 1 but not at its start$/);
    rig.works();
  });

  it("a jump into a trap slot another user of the machine allocated is a WildJumpFault", () => {
    const slot = rig.m.allocateTrapSlot();
    const f = fault(rig.callThrough(rig.m.trapAddress(slot)), WildJumpFault);
    expect(f.reached).toMatch(new RegExp(`^host-trap slot ${slot}, which no call-back of this sandbox uses \\(during `));
    expect(f.callChain[1]).toMatch(/^call_fnptr\+0x/);
    rig.works();
  });

  it("a jump into abiscope's call-back thunk without an entry stub is a WildJumpFault", () => {
    const thunk = rig.m.regions.find((r) => r.name === `${c.abi} call-back thunk`)!.start;
    const id = 0x7777;
    const lines = c.dir === 'x86_64' ? [`mov r11, 0x${id.toString(16)}`, `mov rax, 0x${thunk.toString(16)}`, 'jmp rax']
      // i386: the entry stub pushes the id (regparm(3) leaves no register free)
      : c.dir === 'i386' ? [`push 0x${id.toString(16)}`, `mov ecx, 0x${thunk.toString(16)}`, 'jmp ecx']
        : c.dir === 'ppc32' ? [...ppcConst(11, id), ...ppcConst(12, thunk), 'mtctr 12', 'bctr']
          : c.dir === 'aarch64' ? [`movz x16, #0x${id.toString(16)}`, `movz x1, #0x${(thunk & 0xffff).toString(16)}`, `movk x1, #0x${(thunk >>> 16).toString(16)}, lsl #16`, 'br x1']
            : [...armConst('r12', id), ...armConst('r3', thunk), 'bx r3'];
    const { entry } = rig.code(lines, 0);
    const f = fault(rig.callThrough(entry), WildJumpFault);
    expect(f.reached).toBe(`abiscope's call-back thunk entered without an entry stub (the id an entry stub passes was ${id}, which is no call-back of this sandbox)`);
    expect(f.callChain.join(' <- ')).toMatch(/call_fnptr\+0x/);
    rig.works();
  });

  it('__builtin_trap (trap_now) is reported at the trap instruction itself', () => {
    const e = thrown(() => rig.sb.func('void trap_now(void)')());
    // GCC's trap: ud2 (x86), udf (ARM), trap (PowerPC), brk #0x3e8 (AArch64).
    const f = fault(e, c.dir === 'ppc32' ? TrapInstructionFault : c.dir === 'aarch64' ? BreakpointFault : InvalidInstructionFault);
    // trap_now is just the trap (and padding): its first instruction.
    expect(f.exactPc).toBe(BigInt(rig.m.codeAddress(rig.sb.machine.symbol('trap_now').address)));
    expect(f.instruction).toMatch(c.dir === 'ppc32' ? /^trap$/ : c.dir.startsWith('arm') ? /^udf/ : c.dir === 'aarch64' ? /^brk #0x3e8$/ : /^ud2$/);
    expect(f.callChain).toEqual([rig.m.symbolize(f.exactPc), expect.stringMatching(rig.stub)]);
    rig.works();
  });

  it('an endless loop still ends in BudgetExhaustedFault', async () => {
    const sb = await Sandbox.open(c.abi, { budget: 100_000 });
    try {
      sb.load(obj(c.dir, 'scalars.o'), obj(c.dir, 'faults.o'));
      const f = fault(thrown(() => sb.func('void loop_forever(void)')()), BudgetExhaustedFault);
      expect(f.budget).toBe(100_000);
      expect(f.callChain[0]).toMatch(/^loop_forever\+0x/);
      expect(sb.func('int weigh_int2(int, int)')(5, 7)).toBe(31);
    } finally {
      sb.close();
    }
  });
});

describe.each(X86)('x86 events on $dir', (c) => {
  const rig = new Rig(c);
  const x64 = c.dir === 'x86_64';
  const acc = x64 ? 'rax' : 'eax';
  beforeAll(() => rig.open());
  afterAll(() => rig.close());

  it('hlt is a HaltFault at the hlt, before it runs (not a spent budget)', () => {
    const f = rig.snippet(['mov eax, 0x1234', 'hlt', 'ret'], 1, HaltFault, /^hlt$/);
    expect(f.mnemonic).toBe('hlt');
    expect(f.message).toMatch(/^the guest executed hlt/);
    expect(f.context.registers[acc] & 0xffffffffn).toBe(0x1234n);
    // Again, the same code: the block with the hlt must not stay translated (a cached block is not seen again).
    const { entry, at } = rig.code(['nop', 'hlt'], 1);
    for (let round = 0; round < 2; round++) {
      expect(fault(rig.callThrough(entry), HaltFault).exactPc).toBe(at);
      rig.works();
    }
  });

  it('a loop that spends its budget right after a 0xf4 byte is still BudgetExhaustedFault', async () => {
    // `add al, 0xf4` ends in the hlt opcode byte: with one of two budgets of different parity
    // the run stops at the jmp right after it (the stub's instructions before the loop are counted too).
    const afterF4: boolean[] = [];
    for (const budget of [20_000, 20_001]) {
      const sb = await Sandbox.open(c.abi, { budget });
      try {
        sb.load(obj(c.dir, 'scalars.o'), obj(c.dir, 'faults.o'));
        const { address } = sb.machine.loadAssembly('l: add al, 0xf4\njmp l', 'loop');
        const f = fault(thrown(() => sb.func('int call_fnptr(int (*f)(void))')(address)), BudgetExhaustedFault);
        expect(f.budget).toBe(budget);
        afterF4.push(sb.machine.readU8(f.pc - 1) === 0xf4);
        expect(sb.func('int weigh_int2(int, int)')(5, 7)).toBe(31);
      } finally {
        sb.close();
      }
    }
    expect(afterF4.sort()).toEqual([false, true]);
  });

  it('ud2 is an InvalidInstructionFault at the ud2', () => {
    rig.snippet(['nop', 'ud2'], 1, InvalidInstructionFault, /^ud2$/);
  });

  it('int3 and int 3 are BreakpointFaults at themselves (Unicorn stops after them)', () => {
    expect(rig.snippet(['nop', 'int3', 'ret'], 1, BreakpointFault, /^int3$/).mnemonic).toBe('int3');
    // Keystone writes `int 3` as int3: the two-byte form (cd 03) is written out.
    expect(rig.snippet(['nop', '.byte 0xcd, 0x03', 'ret'], 1, BreakpointFault, /^int 3$/).mnemonic).toBe('int 3');
  });

  it('int 0x41 is a SoftwareInterruptFault at the int', () => {
    expect(rig.snippet(['nop', 'int 0x41', 'ret'], 1, SoftwareInterruptFault, /^int 0x41$/).vector).toBe(0x41);
  });

  it('system calls are SystemCallFaults with the number from the right register', () => {
    const int80 = rig.snippet(['mov eax, 0x4', 'int 0x80', 'ret'], 1, SystemCallFault, /^int 0x80$/);
    expect(int80.number).toBe(4n);
    expect(int80.numberFrom).toBe(x64 ? 'eax (the i386 system-call table)' : 'eax');
    if (x64) {
      const sc = rig.snippet(['mov eax, 0x3c', 'mov edi, 0x7', 'syscall', 'ret'], 2, SystemCallFault, /^syscall$/);
      expect([sc.mnemonic, sc.number, sc.numberFrom]).toEqual(['syscall', 60n, 'rax']);
      expect(sc.message).toMatch(/^the guest made Linux system call 60 \(syscall, number from rax\)/);
      const se = rig.snippet(['mov eax, 0x1', 'sysenter'], 1, SystemCallFault, /^sysenter$/);
      expect(se.number).toBe(1n);
    } else {
      const se = rig.snippet(['mov eax, 0x14', 'sysenter', 'ret'], 1, SystemCallFault, /^sysenter$/);
      expect([se.mnemonic, se.number, se.numberFrom]).toEqual(['sysenter', 20n, 'eax']);
      const sc = rig.snippet(['mov eax, 0x14', 'syscall', 'ret'], 1, SystemCallFault, /^syscall$/);
      expect(sc.number).toBe(20n);
    }
  });

  it('privileged instructions are PrivilegedInstructionFaults before they run, every time', () => {
    const cr = x64 ? 'mov rax, cr0' : 'mov eax, cr0';
    for (const [insn, text] of [['cli', /^cli$/], ['in al, 0x60', /^in al, 0x60$/], ['out 0x80, al', /^out 0x80, al$/],
      [cr, /^mov [er]ax, cr0$/], ['wrmsr', /^wrmsr$/], ['lidt [eax]', /^lidt/]] as const) {
      const { entry, at } = rig.code(['mov eax, 0x1234', 'mov ecx, 0x5678', insn, 'ret'], 2);
      // The same code twice: the block holding it must not stay translated (a cached block is not seen again).
      for (let round = 0; round < 2; round++) {
        const f = fault(rig.callThrough(entry), PrivilegedInstructionFault);
        rig.expectSnippetChain(f, at);
        expect(f.instruction).toMatch(text);
        // eax shows that the instructions before ran, and that the privileged one did not (in/mov would change it).
        expect(f.context.registers[acc] & 0xffffffffn).toBe(0x1234n);
        expect(f.context.registers[x64 ? 'rcx' : 'ecx'] & 0xffffffffn).toBe(0x5678n);
        rig.works();
      }
    }
    // At the start of a block too.
    rig.snippet(['cli'], 0, PrivilegedInstructionFault, /^cli$/);
  });

  it('integer division by zero and quotient overflow are DivisionFaults at the idiv (x86 #DE)', () => {
    const div = rig.sb.func('int div_by(int a, int b)');
    const zero = fault(thrown(() => div(1, 0)), DivisionFault);
    expect(zero.reason).toBe('division by zero');
    expect(zero.instruction).toMatch(/^idiv /);
    expect(zero.callChain).toEqual([expect.stringMatching(/^div_by\+0x/), expect.stringMatching(rig.stub)]);
    rig.works();
    const over = fault(thrown(() => div(-0x80000000, -1)), DivisionFault);
    expect(over.reason).toBe('quotient overflow');
    expect(over.exactPc).toBe(zero.exactPc);
    rig.works();
    expect(div(-7, 2)).toBe(-3);
  });

  it('unmasked x87 and SSE division by zero give IEEE results: Unicorn raises no FP exception', () => {
    // fldcw 0 unmasks every x87 exception; ldmxcsr 0x1d00 unmasks SSE divide-by-zero.
    const slot = rig.sb.alloc(16);
    rig.m.writeU32(slot, 0);
    rig.m.writeU32(slot + 4, 0x1d00);
    const lines = [`mov ecx, 0x${slot.toString(16)}`, 'fldcw word ptr [ecx]', 'fldz', 'fld1', 'fdivrp st(1)', 'fstp st(0)',
      'ldmxcsr dword ptr [ecx + 4]', 'xorps xmm0, xmm0', 'mov eax, 0x1', 'cvtsi2ss xmm1, eax', 'divss xmm1, xmm0',
      'mov dword ptr [ecx + 4], 0x1f80', 'ldmxcsr dword ptr [ecx + 4]', 'mov word ptr [ecx], 0x37f', 'fldcw word ptr [ecx]',
      'mov eax, 0x7', 'ret'];
    const { entry } = rig.code(lines, 0);
    expect(rig.sb.func('int call_fnptr(int (*f)(void))')(entry)).toBe(8);
    rig.sb.free(slot);
    rig.works();
  });

  it('a jump to a 64-bit address above 2^53 keeps every digit', () => {
    if (!x64) return;
    const wild = 0x4141414141414141n;
    const f = fault(thrown(() => rig.sb.func('int call_fnptr(unsigned long long f)')(wild)), MemoryFault);
    expect(f.access).toBe('fetch');
    expect(f.exactPc).toBe(wild);
    expect(f.exactAddress).toBe(wild);
    expect(f.context.registers.rip).toBe(wild);
    expect(f.pc).toBeNaN(); // not a JS number: never rounded to a neighbour
    expect(f.message).toContain('at 0x4141414141414141');
    expect(f.message).toContain('at pc 0x4141414141414141: (unmapped: no instruction there)');
    expect(f.message).not.toContain('4141414141414000');
    expect(f.callChain).toHaveLength(3);
    expect(f.callChain[0]).toBe('0x4141414141414141');
    expect(f.callChain[1]).toMatch(/^call_fnptr\+0x/);
    expect(f.callChain[2]).toMatch(rig.stub);
    rig.works();
  });
});

describe.each(ARM)('ARM events on $dir', (c) => {
  const rig = new Rig(c);
  beforeAll(() => rig.open());
  afterAll(() => rig.close());
  const states = c.dir === 'armel' ? [false] : [false, true];

  it.each(states)('udf is an InvalidInstructionFault at the udf (Thumb: %s)', (thumb) => {
    rig.snippet(['nop', 'udf #3'], 1, InvalidInstructionFault, /^udf #3$/, thumb);
  });

  it.each(states)('bkpt is a BreakpointFault at the bkpt (Thumb: %s)', (thumb) => {
    expect(rig.snippet(['nop', 'bkpt #7', 'bx lr'], 1, BreakpointFault, /^bkpt #7$/, thumb).mnemonic).toBe('bkpt #7');
  });

  it.each(states)('wfi is a HaltFault at the wfi (Unicorn halts after it) (Thumb: %s)', (thumb) => {
    const f = rig.snippet(['movs r0, #5', 'wfi', 'bx lr'], 1, HaltFault, /^wfi$/, thumb);
    expect(f.mnemonic).toBe('wfi');
    expect(f.context.registers.r0).toBe(5n);
  });

  it.each(states)('wfe and yield, which Unicorn cannot run, are reported at themselves (Thumb: %s)', (thumb) => {
    const f = rig.snippet(['nop', 'yield', 'bx lr'], 1, InvalidInstructionFault, /^yield$/, thumb);
    expect(f.message).toMatch(/a hint that waits for an event/);
    rig.snippet(['nop', 'wfe', 'bx lr'], 1, InvalidInstructionFault, /^wfe$/, thumb);
  });

  it.each(states)('svc #0 is a SystemCallFault with the number from r7 (Thumb: %s)', (thumb) => {
    const f = rig.snippet(['movs r7, #1', 'svc #0', 'bx lr'], 1, SystemCallFault, /^svc #0$/, thumb);
    expect([f.number, f.numberFrom]).toEqual([1n, 'r7']);
  });

  it('an OABI svc #0x900004 takes the number from the immediate', () => {
    const f = rig.snippet(['mov r7, #1', 'svc #0x900004', 'bx lr'], 1, SystemCallFault, /^svc #0x900004$/);
    expect([f.number, f.numberFrom]).toEqual([4n, 'the svc immediate (OABI)']);
  });

  it('an unaligned ldrex is an AlignmentFault; unaligned ldr, ldrd and ldm are not faults (as in Linux)', () => {
    const block = rig.sb.alloc(32);
    rig.m.write(block, Uint8Array.from({ length: 32 }, (_, i) => i + 1));
    const at = block + 1;
    const f = rig.snippet([...armConst('r0', at), 'ldrex r1, [r0]', 'bx lr'], armConst('r0', at).length, AlignmentFault, /^ldrex r1, \[r0\]$/);
    expect(f.mnemonic).toBe('ldrex r1, [r0]');
    const { entry } = rig.code([...armConst('r0', at), 'ldrd r2, r3, [r0]', 'ldm r0, {r1, r2}', 'ldr r0, [r0]', 'bx lr'], 0);
    expect(rig.sb.func('int call_fnptr(int (*f)(void))')(entry)).toBe(0x05040302 + 1); // call_fnptr returns f() + 1
    rig.sb.free(block);
    rig.works();
  });
});

describe.each(PPC)('PowerPC events on $dir', (c) => {
  const rig = new Rig(c);
  beforeAll(() => rig.open());
  afterAll(() => rig.close());
  const doubles = () => expect(rig.sb.func('double weigh_double2(double a, double b)')(1.5, 2.25)).toBe(6);

  it('trap, tw and twi are TrapInstructionFaults at themselves (Unicorn stops after them)', () => {
    rig.snippet(['nop', 'trap', 'blr'], 1, TrapInstructionFault, /^trap$/);
    rig.snippet(['li 3, 5', 'li 4, 5', 'tweq 3, 4', 'blr'], 2, TrapInstructionFault, /^tweq r3, r4$/);
    rig.snippet(['li 3, 5', 'twi 4, 3, 5', 'blr'], 1, TrapInstructionFault, /^tweqi r3, 5$/);
    // Not taken: no fault.
    const { entry } = rig.code(['li 3, 5', 'twi 4, 3, 6', 'li 3, 9', 'blr'], 0);
    expect(rig.sb.func('int call_fnptr(int (*f)(void))')(entry)).toBe(10);
  });

  it('sc is a SystemCallFault with the number from r0', () => {
    const f = rig.snippet(['li 0, 4', 'sc', 'blr'], 1, SystemCallFault, /^sc$/);
    expect([f.mnemonic, f.number, f.numberFrom]).toEqual(['sc', 4n, 'r0']);
  });

  it('an illegal word is an InvalidInstructionFault at itself', () => {
    const f = rig.snippet(['nop', '.long 0', 'blr'], 1, InvalidInstructionFault, /undecodable/);
    expect(f.message).toMatch(/illegal instruction/);
  });

  it('an unaligned lwarx is an AlignmentFault; an unaligned lwz is not a fault (as in Linux)', () => {
    const block = rig.sb.alloc(32);
    rig.m.write(block, Uint8Array.from({ length: 32 }, (_, i) => i + 1));
    rig.snippet([...ppcConst(3, block + 1), 'lwarx 4, 0, 3', 'blr'], 2, AlignmentFault, /^lwarx r4, 0, r3$/);
    const { entry } = rig.code([...ppcConst(3, block + 1), 'lwz 3, 0(3)', 'blr'], 0);
    expect(rig.sb.func('int call_fnptr(int (*f)(void))')(entry)).toBe(0x02030405 + 1); // call_fnptr returns f() + 1
    rig.sb.free(block);
  });

  it('an enabled FP exception and a switched-off FPU are FloatingPointFaults; FP works after', () => {
    // MSR.FE0|FE1 on, FPSCR VE/OE/UE/ZE on, then 1.0 / 0.0.
    const one = rig.sb.alloc(8);
    rig.m.writeU32(one, 0x3f800000);
    const f = rig.snippet(['mfmsr 3', 'ori 3, 3, 0x900', 'mtmsr 3', 'mtfsfi 6, 15', ...ppcConst(5, one), 'lfs 1, 0(5)', 'fsub 2, 2, 2',
      'fdiv 3, 1, 2', 'blr'], 8, FloatingPointFault, /^fdiv f3, f1, f2$/);
    expect(f.message).toMatch(/FP exception enabled/);
    doubles();
    rig.sb.free(one);
    const off = rig.snippet(['mfmsr 3', 'rlwinm 3, 3, 0, 19, 17', 'mtmsr 3', 'fadd 1, 1, 1', 'blr'], 3, FloatingPointFault, /^fadd f1, f1, f1$/);
    expect(off.message).toMatch(/MSR\.FP = 0/);
    doubles();
    rig.works();
  });

  it('integer division by zero is no fault on PowerPC', () => {
    expect(typeof rig.sb.func('int div_by(int a, int b)')(1, 0)).toBe('number');
  });
});

describe('AArch64 events (machine level: no AArch64 convention yet)', () => {
  it.each([
    ['mov x8, #93\nsvc #0', 4, SystemCallFault, 'svc #0'],
    ['nop\nbrk #5', 4, BreakpointFault, 'brk #5'],
    ['nop\nwfi\nnop', 4, HaltFault, 'wfi'],
  ] as const)('%s', async (text, offset, cls, instruction) => {
    const m = await Machine.open('aarch64');
    try {
      const { address } = m.loadAssembly(text, 'aarch64 snippet');
      m.sp = m.mainStack.top - 0x100;
      m.writeReg('x30', m.returnSentinel);
      const f = fault(thrown(() => m.run(address, { budget: 1000 })), cls);
      expect(f.exactPc).toBe(BigInt(address + offset));
      expect(f.instruction).toBe(instruction);
      if (f instanceof SystemCallFault) expect([f.number, f.numberFrom]).toEqual([93n, 'x8']);
      // The machine runs the next program normally.
      const ok = m.loadAssembly('mov x0, #7\nret', 'aarch64 return');
      expect(m.run(ok.address).slot).toBe(0);
      expect(m.readReg('x0')).toBe(7n);
    } finally {
      m.close();
    }
  });
});

describe('the first block a machine ever runs is checked too', () => {
  it.each(['x86', 'x86_64'] as const)('%s: a privileged instruction in the first block of the first run', async (target) => {
    // Unicorn reports a translated block only once some block has run to its end: Machine
    // primes that when it opens, or the very first block would run unchecked.
    const m = await Machine.open(target);
    try {
      const { address } = m.loadAssembly('mov eax, 0x1\ncli\nmov eax, 0x2', 'first');
      m.sp = m.mainStack.top - 0x100;
      const f = fault(thrown(() => m.run(address, { budget: 100 })), PrivilegedInstructionFault);
      expect(f.exactPc).toBe(BigInt(address + 5));
      expect(f.instruction).toBe('cli');
    } finally {
      m.close();
    }
  });
});
