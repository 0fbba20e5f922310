// The compiled call-back thunks (ConventionBackend.compileThunk), for every convention and a
// set of signatures. Checked on the machine code itself (assembled by Keystone, read back by
// Capstone, one instruction per line): each receive and give of plan.thunk is one store or load
// of its register, of its slot's width, at its block offset from the stack pointer, and no
// other line touches an argument or result register; the frame, the id store and the jump to
// the trap are the generic thunk's (whose block(sp), entrySp(sp) and entry stubs serve both);
// a variadic thunk receives every argument register, any other only those its arguments use;
// the code is straight-line and never longer than the generic thunk's.
import { beforeAll, describe, expect, it } from 'vitest';
import { ABI_NAMES, REGISTRY, type AbiName } from '../backends/registry.ts';
import { planCall, type FramePlan } from '../abis/plan.ts';
import { parsePrototype } from '../ctypes/parse.ts';
import { Assembler, Disassembler, type Instruction } from '../emu/asm.ts';
import { TARGETS, type TargetName } from '../emu/targets.ts';
import { at, type CodeLine } from '../backends/backend.ts';

const SIGNATURES = [
  'int (int, int)',
  'double (int, double, float)',
  'struct V { float x, y; }; float (struct V, struct V)',
  'struct T { int a, b, c, d, e, f; }; struct T (int)', // 24 bytes: returned through a hidden pointer everywhere
  'long double (long double)',
  'double (double, double, double, double, double, double, double, double, double, double)',
  'int (const char *, ...)',
  'void (void)',
  'long long (long long, char, short)',
  'struct M { double d; long l; }; struct M (struct M, int)',
];

/** Where the thunks are assembled, and the trap they jump to (any addresses: nothing runs). */
const ADDRESS = 0x1000_0000;
const TRAP = 0x3000_0040;

interface Facts {
  /** The stack pointer, as Capstone names it. */
  sp: string;
  /** Bytes between the stack pointer and the block (PowerPC: the frame header). */
  header: number;
  /** The register the call-back id is stored from (x86: loaded first from the word the entry stub pushed). */
  id: string;
  /** Bytes the entry stub pushes (x86: the id, since regparm(3) leaves no register free): the frame is that much bigger than the thunk's own `sub`. */
  pushed: number;
  /** Instructions that set the frame up before the first receive. */
  setup: number;
  /** The return instruction, by the bytes the call-back pops. */
  ret: (pops: number) => string;
  /** A control transfer. */
  branch: RegExp;
}

const FACTS: Record<TargetName, Facts> = {
  x86: { sp: 'esp', header: 0, id: 'eax', pushed: 4, setup: 1, ret: (pops) => (pops ? `ret ${pops > 9 ? `0x${pops.toString(16)}` : pops}` : 'ret'), branch: /^(j\w+|call|ret|loop\w*)$/ },
  x86_64: { pushed: 0, sp: 'rsp', header: 0, id: 'r11', setup: 1, ret: () => 'ret', branch: /^(j\w+|call|ret|loop\w*)$/ },
  arm: { pushed: 0, sp: 'sp', header: 0, id: 'r12', setup: 1, ret: () => 'bx lr', branch: /^(b|bl|bx|blx)(eq|ne|cs|hs|cc|lo|mi|pl|vs|vc|hi|ls|ge|lt|gt|le|al)?$/ },
  ppc32: { pushed: 0, sp: 'r1', header: 8, id: 'r11', setup: 3, ret: () => 'blr', branch: /^b/ },
  aarch64: { pushed: 0, sp: 'sp', header: 0, id: 'x16', setup: 1, ret: () => 'ret', branch: /^(b|bl|br|blr|ret|cbn?z|tbn?z)(\.\w+)?$/ },
};

/** Capstone's ARM names of r9-r12. */
const ARM_NAMES: Record<string, string> = { sb: 'r9', sl: 'r10', fp: 'r11', ip: 'r12' };

/** A number as Capstone prints it (decimal below 10, else 0x-prefixed; maybe negative). */
const num = (t: string) => (t.startsWith('-') ? -Number(t.slice(1)) : Number(t));

/** One load or store of a register at base + disp, read from a disassembled instruction. */
interface Access { dir: 'store' | 'load'; reg: string; width: number; base: string; disp: number }

const X86_WIDTH: Record<string, number> = { dword: 4, qword: 8, xmmword: 16, xword: 10 };

function access(target: TargetName, insn: Instruction): Access | undefined {
  const { mnemonic, operands } = insn;
  if (target === 'x86' || target === 'x86_64') {
    const mem = (op: string) => {
      const m = /^(\w+) ptr \[(\w+)(?: \+ (\w+))?\]$/.exec(op);
      return m ? { width: X86_WIDTH[m[1]] ?? -1, base: m[2], disp: m[3] ? num(m[3]) : 0 } : undefined;
    };
    const ops = operands.split(', ');
    if (mnemonic === 'fld' || mnemonic === 'fstp') {
      const m = mem(ops[0]);
      return m && ops.length === 1 ? { dir: mnemonic === 'fld' ? 'load' : 'store', reg: 'st0', ...m } : undefined;
    }
    if (!/^mov(ups|aps|sd|ss|q)?$/.test(mnemonic) || ops.length !== 2) return undefined;
    const to = mem(ops[0]), from = mem(ops[1]);
    if (to && !from) return { dir: 'store', reg: ops[1], ...to };
    if (from && !to) return { dir: 'load', reg: ops[0], ...from };
    return undefined;
  }
  if (target === 'aarch64') {
    const m = /^(\w+), \[(\w+)(?:, #(-?\w+))?\]$/.exec(operands);
    if (!m || !/^(str|ldr)$/.test(mnemonic)) return undefined;
    const width = ({ x: 8, w: 4, q: 16, d: 8, s: 4 } as Record<string, number>)[m[1][0]] ?? -1;
    return { dir: mnemonic === 'str' ? 'store' : 'load', reg: m[1], width, base: m[2], disp: m[3] ? num(m[3]) : 0 };
  }
  if (target === 'arm') {
    const m = /^(\w+), \[(\w+)(?:, #(-?\w+))?\]$/.exec(operands);
    if (!m || !/^v?(str|ldr)$/.test(mnemonic)) return undefined;
    const reg = ARM_NAMES[m[1]] ?? m[1];
    const width = mnemonic.startsWith('v') ? (reg.startsWith('d') ? 8 : 4) : 4;
    return { dir: mnemonic.includes('str') ? 'store' : 'load', reg, width, base: ARM_NAMES[m[2]] ?? m[2], disp: m[3] ? num(m[3]) : 0 };
  }
  const m = /^(\w+), (-?\w+)\((\w+)\)$/.exec(operands);
  if (!m || !/^(stw|lwz|stfd|lfd)$/.test(mnemonic)) return undefined;
  return { dir: mnemonic.startsWith('st') ? 'store' : 'load', reg: m[1], width: mnemonic.endsWith('d') ? 8 : 4, base: m[3], disp: num(m[2]) };
}

/** Every register an instruction names (x87 loads and stores name st0 implicitly). */
function registersOf(target: TargetName, insn: Instruction): Set<string> {
  const regs = new Set<string>();
  for (const token of insn.operands.match(/\b[a-z][a-z0-9]*\b/g) ?? []) {
    const name = target === 'arm' ? ARM_NAMES[token] ?? token : token;
    if (name in TARGETS[target].registers) regs.add(name);
  }
  if (/^f(ld|stp?)$/.test(insn.mnemonic)) regs.add('st0');
  return regs;
}

/** The first immediate of an instruction: the frame size of `sub`, `add`, `stwu`, `addi`. */
function frameImmediate(target: TargetName, insn: Instruction): number {
  const m = target === 'ppc32' ? /^(?:\w+, \w+, |\w+, -)(\w+)/.exec(insn.operands) : /(?:#|, )(-?0x[0-9a-f]+|\d+)$/.exec(insn.operands);
  if (!m) throw new Error(`no immediate in ${insn.text}`);
  return num(m[1]);
}

describe.each(ABI_NAMES)('compiled call-back thunks: %s', (abi: AbiName) => {
  const { convention: cc, backend } = REGISTRY[abi];
  const target = cc.target;
  const facts = FACTS[target];
  const argRegs = new Set([...cc.registers.intArgs, ...cc.registers.fpArgs]);
  const resultRegs = new Set(cc.registers.results.map((r) => cc.registers.aliases?.[r]?.reg ?? r));
  let assembler: Assembler;
  beforeAll(async () => {
    assembler = await Assembler.create(TARGETS[target].isa);
  });
  /** The machine code of some lines, one instruction per line. */
  const code = (lines: string[]): Instruction[] =>
    Disassembler.for(TARGETS[target].isa).disassemble(assembler.assemble(lines.join('\n'), ADDRESS), ADDRESS);
  const compile = (text: string) => {
    const plan = planCall(cc, parsePrototype(text).signature);
    const thunk = backend.compileThunk(plan, TRAP);
    const save = code(thunk.save.map((l) => l.asm));
    const restore = code(thunk.restore.map((l) => l.asm));
    expect(save.map((i) => i.text), 'one instruction per save line').toHaveLength(thunk.save.length);
    expect(restore.map((i) => i.text), 'one instruction per restore line').toHaveLength(thunk.restore.length);
    return { plan, thunk, save, restore };
  };
  const stored = (lines: CodeLine[], insns: Instruction[], plan: FramePlan, op: 'receive' | 'give') =>
    insns.filter((_, k) => lines[k].ops.some((i) => plan.thunk[i].op === op)).map((i) => access(target, i)?.reg);

  it.each(SIGNATURES)('%s', (text) => {
    const { plan, thunk, save, restore } = compile(text);
    const generic = { save: code(backend.thunk(plan.image, TRAP).save.split('\n')), restore: code(backend.thunk(plan.image, TRAP).restore.split('\n')) };

    // Every line performs thunk operations of its part (save: receives; restore: gives and the return).
    thunk.save.forEach((l) => l.ops.forEach((i) => expect(plan.thunk[i]?.op, thunk.save.map((x) => x.asm).join('\n')).toBe('receive')));
    thunk.restore.forEach((l) => {
      expect(l.ops, `restore line ${l.asm} performs no operation`).toHaveLength(1);
      expect(['give', 'return']).toContain(plan.thunk[l.ops[0]]?.op);
    });

    // Each receive and give: exactly one line, one load or store of its register, slot width and block offset.
    plan.thunk.forEach((op, i) => {
      if (op.op === 'return') return;
      const [lines, insns] = op.op === 'receive' ? [thunk.save, save] : [thunk.restore, restore];
      const where = lines.flatMap((l, k) => (l.ops.includes(i) ? [k] : []));
      expect(where, `${op.op} ${op.reg}: one line`).toHaveLength(1);
      const insn = insns[where[0]];
      expect(lines[where[0]].ops).toEqual([i]);
      const x87 = op.op === 'give' && op.format === 'x87';
      expect(access(target, insn), insn.text).toEqual({
        dir: op.op === 'receive' ? 'store' : 'load',
        reg: op.reg,
        width: x87 ? 10 : op.size,
        base: facts.sp,
        disp: (op.op === 'receive' ? op.to : op.from) + facts.header,
      });
      expect(registersOf(target, insn)).toEqual(new Set([op.reg, facts.sp]));
    });

    // No other line touches an argument register (save) or a result register (restore).
    // (Once every receive is done an argument register is free: x86 loads the pushed id into eax.)
    const received = thunk.save.reduce((last, l, k) => (l.ops.length ? k : last), -1);
    save.forEach((insn, k) => {
      if (thunk.save[k].ops.length || (facts.pushed && k > received)) return;
      for (const r of registersOf(target, insn)) expect(argRegs.has(r), `${insn.text} touches argument register ${r}`).toBe(false);
    });
    restore.forEach((insn, k) => {
      if (plan.thunk[thunk.restore[k].ops[0]].op !== 'return') return;
      for (const r of registersOf(target, insn)) expect(resultRegs.has(r), `${insn.text} touches result register ${r}`).toBe(false);
    });

    // Received: every argument register if variadic, else those the arguments (and the hidden pointer) arrive in.
    const base = (r: string) => plan.image.aliases[r]?.reg ?? r;
    const res = plan.result;
    const expected = parsePrototype(text).signature.variadic ? [...argRegs]
      : [...(res.kind === 'memory' && res.pointer.kind === 'reg' ? [res.pointer.reg] : []), ...plan.args.flatMap((a) => a.pieces.flatMap((p) => (p.kind === 'reg' ? [base(p.reg)] : [])))];
    expect(new Set(stored(thunk.save, save, plan, 'receive'))).toEqual(new Set(expected));
    // Given: the result registers (the hidden pointer where the convention returns it).
    const given = res.kind === 'registers' ? res.pieces.flatMap((p) => (p.kind === 'reg' ? [base(p.reg)] : []))
      : res.kind === 'memory' && res.returnedIn ? [res.returnedIn] : [];
    expect(new Set(stored(thunk.restore, restore, plan, 'give'))).toEqual(new Set(given));

    // The generic thunk's frame: the same set-up, the same size freed on return.
    expect(save.slice(0, facts.setup).map((i) => i.text)).toEqual(generic.save.slice(0, facts.setup).map((i) => i.text));
    const frame = frameImmediate(target, generic.save[0]);
    expect(Math.abs(frameImmediate(target, save[0]))).toBe(Math.abs(frame));
    expect(frame).not.toBe(0);
    const free = restore[restore.length - 2];
    expect(free.mnemonic).toBe(target === 'ppc32' ? 'addi' : 'add');
    expect(registersOf(target, free)).toEqual(new Set([facts.sp]));
    expect(frameImmediate(target, free)).toBe(Math.abs(frame) + facts.pushed);

    // Then the id into the 'function' control slot and the jump to the trap, as the generic thunk does.
    const tail = save.slice(facts.setup + plan.thunk.filter((op) => op.op === 'receive').length);
    // x86: the pushed id, loaded from just above the thunk's own frame.
    if (facts.pushed) expect(access(target, tail[0])).toEqual({ dir: 'load', reg: facts.id, width: 4, base: facts.sp, disp: Math.abs(frame) });
    expect(access(target, tail[facts.pushed ? 1 : 0])).toEqual({ dir: 'store', reg: facts.id, width: TARGETS[target].pointerSize, base: facts.sp, disp: at(plan.image, 'function', 'control') + facts.header });
    expect(tail.map((i) => i.text)).toEqual(generic.save.slice(-tail.length).map((i) => i.text));

    // The return, popping what the plan says; all of it straight-line.
    const ret = plan.thunk[plan.thunk.length - 1];
    expect(ret.op).toBe('return');
    expect(restore[restore.length - 1].text).toBe(facts.ret(ret.op === 'return' ? ret.pops : 0));
    for (const part of [save, restore]) part.slice(0, -1).forEach((i) => expect(facts.branch.test(i.mnemonic), `${i.text}: a branch`).toBe(false));

    // Never more code than the generic thunk's.
    expect(save.length).toBeLessThanOrEqual(generic.save.length);
    expect(restore.length).toBeLessThanOrEqual(generic.restore.length);
  });

  // Written out rather than derived: what `int (int, int)` receives and gives on each convention.
  const INT_INT: Record<AbiName, { receive: string[]; give: string[] }> = {
    'i386-sysv': { receive: [], give: ['eax'] },
    'x86_64-sysv': { receive: ['rdi', 'rsi'], give: ['rax'] },
    'arm-aapcs': { receive: ['r0', 'r1'], give: ['r0'] },
    'arm-aapcs-vfp': { receive: ['r0', 'r1'], give: ['r0'] },
    'ppc32-sysv': { receive: ['r3', 'r4'], give: ['r3'] },
    'aarch64-aapcs64': { receive: ['x0', 'x1'], give: ['x0'] },
    'i386-stdcall': { receive: [], give: ['eax'] },
    'i386-fastcall': { receive: ['ecx', 'edx'], give: ['eax'] },
    'i386-thiscall': { receive: ['ecx'], give: ['eax'] },
    'i386-regparm3': { receive: ['eax', 'edx'], give: ['eax'] },
    'i386-sysv-regstruct': { receive: [], give: ['eax'] },
    'x86_64-win64': { receive: ['rcx', 'rdx'], give: ['rax'] },
  };
  it('int (int, int): the registers its two arguments and its result use, no others', () => {
    const { plan, thunk, save, restore } = compile('int (int, int)');
    expect(stored(thunk.save, save, plan, 'receive')).toEqual(INT_INT[abi].receive);
    expect(stored(thunk.restore, restore, plan, 'give')).toEqual(INT_INT[abi].give);
  });

  it('int (const char *, ...): every argument register', () => {
    const { plan, thunk, save } = compile('int (const char *, ...)');
    expect(stored(thunk.save, save, plan, 'receive')).toEqual([...cc.registers.intArgs, ...cc.registers.fpArgs]);
  });

  if (target === 'arm') {
    it(abi === 'arm-aapcs' ? 'armel: no VFP register anywhere' : 'armhf: VFP arguments and results in d registers', () => {
      const regs = SIGNATURES.flatMap((s) => {
        const { save, restore } = compile(s);
        return [...save, ...restore].flatMap((i) => [...registersOf('arm', i)]);
      });
      const vfp = regs.filter((r) => /^[sdq]\d/.test(r));
      if (abi === 'arm-aapcs') expect(vfp).toEqual([]);
      else expect(new Set(vfp)).toEqual(new Set(['d0', 'd1', 'd2', 'd3', 'd4', 'd5', 'd6', 'd7']));
    });
  }

  if (abi === 'i386-sysv') {
    it('i386: st0 pushed for a floating-point result only, ret 4 for a struct returned in memory', () => {
      expect(compile('long double (long double)').restore.map((i) => i.mnemonic)).toEqual(['fld', 'add', 'ret']);
      expect(compile('int (int, int)').restore.map((i) => i.mnemonic)).toEqual(['mov', 'add', 'ret']);
      expect(compile('struct T { int a, b, c, d, e, f; }; struct T (int)').restore.map((i) => i.text).pop()).toBe('ret 4');
    });
  }
  // Written out: the bytes each i386 variant's call-back pops, read off GCC's `ret` for the same prototypes.
  const I386_POPS: Partial<Record<AbiName, [string, string][]>> = {
    'i386-stdcall': [['int (int, long long, char)', 'ret 0x10'], ['struct T { int a, b, c; }; struct T (int, int)', 'ret 0xc'], ['int (int, ...)', 'ret']],
    'i386-fastcall': [['int (int, int, int)', 'ret 4'], ['int (long long, int)', 'ret 0xc'], ['struct T { int a, b, c; }; struct T (int, int)', 'ret 4']],
    'i386-thiscall': [['int (int *, int, int)', 'ret 8'], ['int (double, int)', 'ret 8'], ['struct T { int a, b, c; }; struct T (int, int, ...)', 'ret']],
    'i386-regparm3': [['int (int, long long, int)', 'ret'], ['struct T { int a, b, c; }; struct T (int)', 'ret']],
  };
  const pops = I386_POPS[abi];
  if (pops) {
    it.each(pops)(`${abi}: %s returns with %s`, (text, ret) => {
      expect(compile(text).restore.map((i) => i.text).pop()).toBe(ret);
    });
  }
});
