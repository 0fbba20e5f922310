// Named CPU profiles: how to open Unicorn for each, its registers by the names
// the ABI documents use, and what must be switched on after reset.
import { UsageError } from '../errors.ts';
import { UC } from './unicorn.ts';
import type { Unicorn } from './unicorn.ts';
import type { Isa } from './asm.ts';

export type TargetName = 'x86' | 'x86_64' | 'arm' | 'ppc32' | 'aarch64';

/** int: general purpose; fp: scalar float (s, d, f); vec: 128-bit; x87: 80-bit stack slot; sys: flags and control. */
export type RegisterKind = 'int' | 'fp' | 'vec' | 'x87' | 'sys';
export interface RegisterInfo { id: number; bytes: number; kind: RegisterKind }

export interface TargetProfile {
  name: TargetName;
  arch: number;
  mode: number;
  endian: 'little' | 'big';
  pointerSize: 4 | 8;
  isa: Isa;
  registers: Record<string, RegisterInfo>;
  pc: string;
  sp: string;
  /** Register that receives the return address at a call, if any (else it is pushed on the stack). */
  linkRegister?: string;
  /** Registers printed in a fault report. */
  reportRegisters: string[];
  /** Registers a trace compares after every instruction (its "changed registers"): general, flags, FP and vector argument registers. */
  traceRegisters: string[];
  /** Enable FPU/VFP after reset (docs/unicorn-notes.md: both are off at reset on ARM and PPC). */
  powerOn(uc: Unicorn): void;
}

function range(prefix: string, n: number, id0: number, bytes: number, kind: RegisterKind, namePrefix = prefix): Record<string, RegisterInfo> {
  const out: Record<string, RegisterInfo> = {};
  for (let i = 0; i < n; i++) out[`${namePrefix}${i}`] = { id: id0 + i, bytes, kind };
  return out;
}
function named(table: Record<string, number>, prefix: string, names: string[], bytes: number, kind: RegisterKind): Record<string, RegisterInfo> {
  const out: Record<string, RegisterInfo> = {};
  for (const n of names) {
    const id = table[`${prefix}${n.toUpperCase()}`];
    if (id === undefined) throw new Error(`no Unicorn register ${prefix}${n.toUpperCase()}`);
    out[n] = { id, bytes, kind };
  }
  return out;
}

const X = UC.x86 as Record<string, number>;
const A = UC.arm as Record<string, number>;
const P = UC.ppc as Record<string, number>;
const A64 = UC.arm64 as Record<string, number>;

const x86: TargetProfile = {
  name: 'x86', arch: UC.arch.UC_ARCH_X86, mode: UC.mode.UC_MODE_32, endian: 'little', pointerSize: 4, isa: 'x86',
  registers: {
    ...named(X, 'UC_X86_REG_', ['eax', 'ebx', 'ecx', 'edx', 'esi', 'edi', 'ebp', 'esp', 'eip', 'eflags'], 4, 'int'),
    ...named(X, 'UC_X86_REG_', ['fpsw', 'fpcw', 'fptag'], 2, 'sys'),
    ...range('fp', 8, X.UC_X86_REG_FP0, 10, 'x87'),
    ...range('xmm', 8, X.UC_X86_REG_XMM0, 16, 'vec'),
  },
  pc: 'eip', sp: 'esp',
  reportRegisters: ['eax', 'ebx', 'ecx', 'edx', 'esi', 'edi', 'ebp', 'esp', 'eip', 'eflags'],
  traceRegisters: ['eax', 'ebx', 'ecx', 'edx', 'esi', 'edi', 'ebp', 'esp', 'eflags', ...Array.from({ length: 8 }, (_, i) => `fp${i}`), ...Array.from({ length: 8 }, (_, i) => `xmm${i}`)],
  powerOn() {},
};

const x86_64: TargetProfile = {
  name: 'x86_64', arch: UC.arch.UC_ARCH_X86, mode: UC.mode.UC_MODE_64, endian: 'little', pointerSize: 8, isa: 'x86_64',
  registers: {
    ...named(X, 'UC_X86_REG_', ['rax', 'rbx', 'rcx', 'rdx', 'rsi', 'rdi', 'rbp', 'rsp', 'rip', 'rflags',
      'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15'], 8, 'int'),
    ...named(X, 'UC_X86_REG_', ['al'], 1, 'int'),
    ...named(X, 'UC_X86_REG_', ['fpsw', 'fpcw', 'fptag'], 2, 'sys'),
    ...range('fp', 8, X.UC_X86_REG_FP0, 10, 'x87'),
    ...range('xmm', 16, X.UC_X86_REG_XMM0, 16, 'vec'),
  },
  pc: 'rip', sp: 'rsp',
  reportRegisters: ['rax', 'rbx', 'rcx', 'rdx', 'rsi', 'rdi', 'rbp', 'rsp', 'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15', 'rip'],
  traceRegisters: ['rax', 'rbx', 'rcx', 'rdx', 'rsi', 'rdi', 'rbp', 'rsp', 'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15', 'rflags', ...Array.from({ length: 16 }, (_, i) => `xmm${i}`), ...Array.from({ length: 8 }, (_, i) => `fp${i}`)],
  powerOn() {},
};

const arm: TargetProfile = {
  name: 'arm', arch: UC.arch.UC_ARCH_ARM, mode: UC.mode.UC_MODE_ARM, endian: 'little', pointerSize: 4, isa: 'arm',
  registers: {
    ...range('r', 13, A.UC_ARM_REG_R0, 4, 'int'),
    ...named(A, 'UC_ARM_REG_', ['sp', 'lr', 'pc', 'cpsr'], 4, 'int'),
    ...named(A, 'UC_ARM_REG_', ['fpscr', 'fpexc', 'c1_c0_2'], 4, 'sys'),
    ...range('s', 32, A.UC_ARM_REG_S0, 4, 'fp'),
    ...range('d', 32, A.UC_ARM_REG_D0, 8, 'fp'),
    ...range('q', 16, A.UC_ARM_REG_Q0, 16, 'vec'),
  },
  pc: 'pc', sp: 'sp', linkRegister: 'lr',
  reportRegisters: ['r0', 'r1', 'r2', 'r3', 'r4', 'r5', 'r6', 'r7', 'r8', 'r9', 'r10', 'r11', 'r12', 'sp', 'lr', 'pc', 'cpsr'],
  traceRegisters: [...Array.from({ length: 13 }, (_, i) => `r${i}`), 'sp', 'lr', 'cpsr', ...Array.from({ length: 16 }, (_, i) => `d${i}`)],
  powerOn(uc) {
    // Cortex-A15: VFPv4-D32 with NEON. CPACR grants cp10/cp11, then FPEXC.EN enables VFP.
    const le32 = (v: number) => new Uint8Array(new Uint32Array([v >>> 0]).buffer);
    const cpacr = new DataView(uc.regRead(A.UC_ARM_REG_C1_C0_2, 4).slice().buffer).getUint32(0, true);
    uc.regWrite(A.UC_ARM_REG_C1_C0_2, le32(cpacr | (0xf << 20)));
    uc.regWrite(A.UC_ARM_REG_FPEXC, le32(0x40000000));
  },
};

const ppc32: TargetProfile = {
  name: 'ppc32', arch: UC.arch.UC_ARCH_PPC, mode: UC.mode.UC_MODE_PPC32 | UC.mode.UC_MODE_BIG_ENDIAN, endian: 'big', pointerSize: 4,
  isa: 'ppc32',
  registers: {
    ...range('r', 32, P.UC_PPC_REG_0, 4, 'int'),
    ...range('f', 32, P.UC_PPC_REG_FPR0, 8, 'fp'),
    ...named(P, 'UC_PPC_REG_', ['pc', 'lr', 'ctr', 'cr', 'xer', 'msr', 'fpscr'], 4, 'int'),
  },
  pc: 'pc', sp: 'r1', linkRegister: 'lr',
  reportRegisters: [...Array.from({ length: 32 }, (_, i) => `r${i}`), 'pc', 'lr', 'ctr', 'cr'],
  traceRegisters: [...Array.from({ length: 32 }, (_, i) => `r${i}`), 'lr', 'ctr', 'cr', 'xer', ...Array.from({ length: 32 }, (_, i) => `f${i}`)],
  powerOn(uc) {
    // MSR.FP (0x2000) enables the FPU; reset MSR is 0x40 (docs/unicorn-notes.md).
    const msr = new DataView(uc.regRead(P.UC_PPC_REG_MSR, 4).slice().buffer).getUint32(0, true);
    uc.regWrite(P.UC_PPC_REG_MSR, new Uint8Array(new Uint32Array([(msr | 0x2000) >>> 0]).buffer));
  },
};

const aarch64: TargetProfile = {
  name: 'aarch64', arch: UC.arch.UC_ARCH_ARM64, mode: UC.mode.UC_MODE_ARM, endian: 'little', pointerSize: 8, isa: 'aarch64',
  registers: {
    ...range('x', 29, A64.UC_ARM64_REG_X0, 8, 'int'),
    ...named(A64, 'UC_ARM64_REG_', ['x29', 'x30', 'sp', 'pc', 'nzcv', 'fpcr', 'fpsr'], 8, 'int'),
    ...range('s', 32, A64.UC_ARM64_REG_S0, 4, 'fp'),
    ...range('d', 32, A64.UC_ARM64_REG_D0, 8, 'fp'),
    ...range('q', 32, A64.UC_ARM64_REG_Q0, 16, 'vec'),
  },
  pc: 'pc', sp: 'sp', linkRegister: 'x30',
  reportRegisters: [...Array.from({ length: 31 }, (_, i) => `x${i}`), 'sp', 'pc'],
  traceRegisters: [...Array.from({ length: 31 }, (_, i) => `x${i}`), 'sp', 'nzcv', ...Array.from({ length: 16 }, (_, i) => `q${i}`)],
  powerOn() {},
};

export const TARGETS: Readonly<Record<TargetName, TargetProfile>> = { x86, x86_64, arm, ppc32, aarch64 };

export function targetProfile(name: string): TargetProfile {
  const t = (TARGETS as Record<string, TargetProfile>)[name];
  if (!t) throw new UsageError(`unknown target '${name}': expected one of ${Object.keys(TARGETS).join(', ')}`);
  return t;
}
