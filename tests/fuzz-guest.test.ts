// Random guest programs: whatever the guest does, a call-out returns a result or throws a
// typed abiscope error (an AbiscopeError subclass), never anything else, never crashes the
// process and never hangs; and the sandbox calls GCC code correctly right after.
//
// Two kinds of program, written into one executable region and called through faults.c's
// `int call_fnptr(int (*f)(void))` with a small instruction budget:
//  - random machine words or bytes (whatever they decode to);
//  - random mixes of instructions from templates: jumps and calls to random places (the
//    program itself, trap slots, abiscope's stub and thunk, unmapped memory), loads and stores
//    to random addresses (heap, unaligned, unmapped, read-only code, the stack), halts, traps,
//    breakpoints, system calls, privileged instructions, divisions, then a return.
// Fixed seed; about 1,000 programs per convention (6 conventions/states, > 5,000 in all).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { join } from 'node:path';
import { Sandbox } from '../sandbox/sandbox.ts';
import type { AbiName } from '../backends/registry.ts';
import { Assembler } from '../emu/asm.ts';
import { AbiscopeError } from '../errors.ts';
import { FIXTURES } from '../sandbox/fixtures.ts';

interface Convention { abi: AbiName; dir: string; isa: 'x86' | 'x86_64' | 'arm' | 'thumb' | 'ppc32' | 'aarch64' }
const CONVENTIONS: Convention[] = [
  { abi: 'i386-sysv', dir: 'i386', isa: 'x86' },
  { abi: 'x86_64-sysv', dir: 'x86_64', isa: 'x86_64' },
  { abi: 'arm-aapcs', dir: 'armel', isa: 'arm' },
  { abi: 'arm-aapcs-vfp', dir: 'armhf', isa: 'thumb' },
  { abi: 'arm-aapcs-vfp', dir: 'armhf-arm', isa: 'arm' },
  { abi: 'ppc32-sysv', dir: 'ppc32', isa: 'ppc32' },
  { abi: 'aarch64-aapcs64', dir: 'aarch64', isa: 'aarch64' },
];
const RUNS = 900;
const SEED = 0x5eed_2024;
const BUDGET = 3000;

/** Places a program may point at, filled in once the sandbox is open. */
interface Places { heap: number; code: number; stub: number; thunk: number; trap: number; stackish: number }

const hex = (n: number) => `0x${(n >>> 0).toString(16)}`;

/** A 32-bit constant into `reg` for each ISA (Keystone's ARM mode has no movw/movt). */
function load(isa: Convention['isa'], reg: string, value: number): string[] {
  const v = value >>> 0;
  switch (isa) {
    case 'x86': return [`mov ${reg}, ${hex(v)}`];
    case 'x86_64': return [`mov ${reg}, ${hex(v)}`];
    case 'thumb': return [`movw ${reg}, #${hex(v & 0xffff)}`, `movt ${reg}, #${hex(v >>> 16)}`];
    case 'arm': {
      const parts = [24, 16, 8, 0].map((sh) => ((v >>> sh) & 0xff) << sh >>> 0).filter((p) => p !== 0);
      return parts.length ? [`mov ${reg}, #${hex(parts[0])}`, ...parts.slice(1).map((p) => `orr ${reg}, ${reg}, #${hex(p)}`)] : [`mov ${reg}, #0`];
    }
    case 'ppc32': return [`lis ${reg}, ${(v >>> 16) & 0xffff}`, `ori ${reg}, ${reg}, ${v & 0xffff}`];
    case 'aarch64': return [`movz ${reg}, #${hex(v & 0xffff)}`, `movk ${reg}, #${hex(v >>> 16)}, lsl #16`];
  }
}

/** An address a program may touch or jump to. */
function addressArb(p: Places): fc.Arbitrary<number> {
  return fc.oneof(
    fc.constantFrom(0, 0x10, 0x3000_0000, 0xdead_bee0, p.heap, p.heap + 1, p.heap + 2, p.heap + 3, p.code, p.code + 2, p.stub, p.stub + 4,
      p.thunk, p.stackish, p.trap, p.trap + 16, p.trap + 6, p.trap + 37 * 16, p.trap + 0xff0),
    fc.integer({ min: 0, max: 0xffff_ffff }),
    fc.integer({ min: 0, max: 255 }).map((k) => p.trap + 16 * k),
  );
}

type Template = (a: { addr: number; imm: number; label: number; reg: number }) => string[];

/** Instruction templates per ISA: each yields a few lines; `L<n>` labels mark every template. */
function templates(isa: Convention['isa']): Template[] {
  if (isa === 'x86' || isa === 'x86_64') {
    const R = isa === 'x86' ? ['eax', 'ecx', 'edx'] : ['rax', 'rcx', 'rdx', 'rsi', 'rdi', 'r8', 'r9', 'r10', 'r11'];
    const sp = isa === 'x86' ? 'esp' : 'rsp';
    const c = R[1];
    return [
      () => ['nop'],
      ({ imm, reg }) => [`mov ${R[reg % R.length]}, ${hex(imm)}`],
      ({ reg }) => [`add ${R[0]}, ${R[reg % R.length]}`, `imul ${R[0]}, ${R[1]}`],
      ({ addr }) => [...load(isa, c, addr), `mov eax, dword ptr [${c}]`],
      ({ addr }) => [...load(isa, c, addr), `mov dword ptr [${c}], eax`],
      ({ addr }) => [...load(isa, c, addr), `lock xadd dword ptr [${c}], eax`],
      ({ addr }) => [...load(isa, c, addr), `jmp ${c}`],
      ({ addr }) => [...load(isa, c, addr), `call ${c}`],
      ({ label }) => [`jz L${label}`],
      ({ label }) => [`jmp L${label}`],
      ({ imm }) => [`mov ecx, ${hex(imm & 3)}`, 'xor edx, edx', 'mov eax, 0x64', 'div ecx'],
      () => ['hlt'], () => ['int3'], () => ['ud2'], () => ['int 0x80'], () => ['syscall'], () => ['sysenter'], () => ['int 0x41'],
      () => ['cli'], () => ['in al, 0x60'], () => ['out 0x80, al'], () => [isa === 'x86' ? 'mov eax, cr0' : 'mov rax, cr0'], () => ['wrmsr'],
      () => ['rdtsc'], () => ['cpuid'], () => [`push ${R[0]}`], () => [`pop ${R[1]}`], () => ['ret'],
      () => [isa === 'x86' ? 'pushfd' : 'pushfq', `or dword ptr [${sp}], 0x100`, isa === 'x86' ? 'popfd' : 'popfq', 'nop'],
      () => ['fldz', 'fld1', 'fdivrp st(1)', 'fstp st(0)'],
      ({ imm }) => [`mov dword ptr [${sp} + ${hex((imm & 0x3c))}], eax`],
    ];
  }
  if (isa === 'arm' || isa === 'thumb') {
    const w = isa === 'thumb' ? '.w' : '';
    return [
      () => ['nop'],
      ({ imm, reg }) => [...load(isa, `r${reg % 4}`, imm)],
      ({ reg }) => [`add${isa === 'thumb' ? 's' : ''} r0, r0, r${reg % 4}`, 'mul r0, r1, r0'],
      ({ addr }) => [...load(isa, 'r1', addr), 'ldr r0, [r1]'],
      ({ addr }) => [...load(isa, 'r1', addr), 'str r0, [r1]'],
      ({ addr }) => [...load(isa, 'r1', addr), 'ldrex r0, [r1]'],
      ({ addr }) => [...load(isa, 'r1', addr), 'ldrd r2, r3, [r1]'],
      ({ addr }) => [...load(isa, 'r1', addr), 'ldm r1, {r2, r3}'],
      ({ addr }) => [...load(isa, 'r12', addr), 'bx r12'],
      ({ addr }) => [...load(isa, 'r12', addr), 'blx r12'],
      ({ label }) => [`b${w} L${label}`],
      ({ label }) => [`beq${w} L${label}`],
      () => ['wfi'], () => ['wfe'], () => ['yield'], () => ['bkpt #1'], () => ['udf #2'], () => ['svc #0'],
      () => ['mrc p15, 0, r0, c0, c0, 0'], ({ imm }) => [...load(isa, 'r0', imm), 'mcr p15, 0, r0, c13, c0, 3'],
      () => ['push {r0}'], () => ['pop {r1}'], () => ['bx lr'],
      ({ imm }) => [...load(isa, 'r0', imm), 'msr apsr_nzcvq, r0'],
      () => ['vmov.f64 d0, #1.0', 'vsub.f64 d1, d1, d1', 'vdiv.f64 d2, d0, d1'],
    ];
  }
  if (isa === 'aarch64') {
    return [
      () => ['nop'],
      ({ imm, reg }) => [...load(isa, `x${reg % 8}`, imm)],
      ({ reg }) => [`add x0, x0, x${reg % 8}`, 'mul x0, x1, x0'],
      ({ addr }) => [...load(isa, 'x1', addr), 'ldr x0, [x1]'],
      ({ addr }) => [...load(isa, 'x1', addr), 'str w0, [x1]'],
      ({ addr }) => [...load(isa, 'x1', addr), 'ldxr x0, [x1]'],
      ({ addr }) => [...load(isa, 'x1', addr), 'ldp x2, x3, [x1]'],
      ({ addr }) => [...load(isa, 'x1', addr), 'ldr q0, [x1]'],
      ({ addr }) => [...load(isa, 'x16', addr), 'br x16'],
      ({ addr }) => [...load(isa, 'x16', addr), 'blr x16'],
      ({ label }) => [`b L${label}`],
      ({ label }) => [`b.eq L${label}`],
      ({ label }) => [`cbz x0, L${label}`],
      () => ['wfi'], () => ['wfe'], () => ['yield'], () => ['brk #1'], () => ['.long 0'], () => ['svc #0'], () => ['hvc #0'],
      () => ['mrs x0, sctlr_el1'], ({ imm }) => [...load(isa, 'x0', imm), 'msr tpidr_el0, x0'],
      () => ['stp x29, x30, [sp, #-16]!'], () => ['ldp x29, x30, [sp], #16'], () => ['ret'],
      ({ imm }) => [`mov x1, #${imm & 3}`, 'mov x0, #100', 'udiv x0, x0, x1'],
      () => ['fmov d0, #1.0', 'fsub d1, d1, d1', 'fdiv d2, d0, d1'],
    ];
  }
  return [
    () => ['nop'],
    ({ imm, reg }) => [...load(isa, `${3 + (reg % 8)}`, imm)],
    ({ reg }) => [`add 3, 3, ${3 + (reg % 8)}`, 'mullw 3, 3, 4'],
    ({ addr }) => [...load(isa, '4', addr), 'lwz 3, 0(4)'],
    ({ addr }) => [...load(isa, '4', addr), 'stw 3, 0(4)'],
    ({ addr }) => [...load(isa, '4', addr), 'lwarx 3, 0, 4'],
    ({ addr }) => [...load(isa, '4', addr), 'stwcx. 3, 0, 4'],
    ({ addr }) => [...load(isa, '4', addr), 'lfd 1, 0(4)'],
    ({ addr }) => [...load(isa, '12', addr), 'mtctr 12', 'bctr'],
    ({ addr }) => [...load(isa, '12', addr), 'mtctr 12', 'bctrl'],
    ({ label }) => [`b L${label}`],
    ({ label }) => [`beq L${label}`],
    () => ['trap'], ({ imm }) => [`li 3, ${imm & 7}`, 'twi 4, 3, 3'], () => ['li 0, 1', 'sc'], () => ['.long 0'],
    ({ imm }) => [`li 4, ${imm & 1}`, 'li 3, 9', 'divw 3, 3, 4'],
    () => ['mfmsr 5', 'mtmsr 5'], () => ['fadd 1, 1, 1', 'fdiv 2, 1, 3'], () => ['blr'],
    ({ imm }) => [`li 3, ${imm & 0x7fff}`, 'stwu 1, -16(1)', 'stw 3, 8(1)', 'addi 1, 1, 16'],
  ];
}

function returnOf(isa: Convention['isa']): string {
  return isa === 'x86' || isa === 'x86_64' || isa === 'aarch64' ? 'ret' : isa === 'ppc32' ? 'blr' : 'bx lr';
}

describe.each(CONVENTIONS)('random guest programs on $dir ($isa)', (c) => {
  let sb: Sandbox;
  let asm: Assembler;
  let region: number;
  let places: Places;
  beforeAll(async () => {
    sb = await Sandbox.open(c.abi, { budget: BUDGET, timeoutMs: 5_000 });
    const o = (f: string) => join(FIXTURES, 'obj', c.dir, f);
    sb.load(o('scalars.o'), o('faults.o'));
    asm = await Assembler.create(c.isa);
    region = sb.machine.reserveCode(0x2000, 'fuzz program');
    const own = (name: string) => sb.machine.regions.find((r) => r.name === `${c.abi} ${name}`)!.start;
    places = {
      heap: sb.alloc(256), code: sb.machine.symbol('weigh_int2').address & ~1, stub: own('call stub'), thunk: own('call-back thunk'),
      trap: sb.machine.trapAddress(0), stackish: sb.machine.mainStack.top - 0x400,
    };
  });
  afterAll(() => sb.close());

  /** A program's bytes: random words, or a random template mix with labels and a final return. */
  function programArb(): fc.Arbitrary<{ kind: string; bytes: Uint8Array }> {
    const be = c.isa === 'ppc32';
    const unit = c.isa === 'x86' || c.isa === 'x86_64' ? 1 : c.isa === 'thumb' ? 2 : 4;
    const words = fc.array(fc.integer({ min: 0, max: 2 ** (8 * unit) - 1 }), { minLength: 1, maxLength: 48 }).map((ws) => {
      const bytes = new Uint8Array(ws.length * unit);
      const dv = new DataView(bytes.buffer);
      ws.forEach((w, i) => (unit === 1 ? dv.setUint8(i, w) : unit === 2 ? dv.setUint16(2 * i, w, true) : dv.setUint32(4 * i, w, !be)));
      return { kind: 'words', bytes };
    });
    const ts = templates(c.isa);
    const step = fc.record({
      t: fc.integer({ min: 0, max: ts.length - 1 }),
      addr: addressArb(places),
      imm: fc.integer({ min: 0, max: 0xffff_ffff }),
      label: fc.nat(),
      reg: fc.nat(15),
    });
    const mix = fc.array(step, { minLength: 1, maxLength: 12 }).map((steps) => {
      const lines: string[] = [];
      steps.forEach((s, i) => {
        lines.push(`L${i}:`, ...ts[s.t]({ ...s, label: s.label % (steps.length + 1) }));
      });
      lines.push(`L${steps.length}:`, returnOf(c.isa));
      return { kind: 'mix', bytes: asm.assemble(lines.join('\n'), region) };
    });
    return fc.oneof({ weight: 2, arbitrary: words }, { weight: 3, arbitrary: mix });
  }

  it(`${RUNS} programs: each a result or a typed abiscope error, and the sandbox works after`, () => {
    const outcomes = new Map<string, number>();
    const callFn = sb.func('int call_fnptr(int (*f)(void))');
    const weigh = sb.func('int weigh_int2(int, int)');
    const entry = c.isa === 'thumb' ? region | 1 : region;
    const started = performance.now();
    fc.assert(
      fc.property(programArb(), ({ kind, bytes }) => {
        sb.machine.write(region, bytes);
        let outcome: string;
        try {
          const r = callFn(entry);
          outcome = `${kind}: result`;
          expect(typeof r).toBe('number');
        } catch (e) {
          if (!(e instanceof AbiscopeError)) throw new Error(`not an abiscope error: ${String(e)}\n${(e as Error).stack ?? ''}`);
          outcome = `${kind}: ${e.name}`;
        }
        outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
        // Nothing the program did survives its call-out.
        expect(weigh(5, 7)).toBe(31);
        expect(sb.mainThread.idle).toBe(true);
      }),
      { seed: SEED, numRuns: RUNS },
    );
    const ms = performance.now() - started;
    console.log(`${c.dir} (${c.isa}): ${RUNS} programs in ${ms.toFixed(0)} ms: ${[...outcomes].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${n}`).join(', ')}`);
    // Both kinds of program ran and reached more than one kind of outcome.
    expect(outcomes.size).toBeGreaterThan(4);
  });
});
