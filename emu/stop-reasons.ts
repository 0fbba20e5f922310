// What stopped a guest run, as a typed fault. Unicorn 2.0.1 reports each event its own way
// (measured on this machine, see tests/faults.test.ts):
//
//   event                          how uc_emu_start ends         pc afterwards
//   x86 hlt                        UC_ERR_OK (CPU halted)         after hlt
//   x86 ud2, int1, monitor, mwait  UC_ERR_INSN_INVALID            at the instruction
//   x86 int3, int n, into          UC_HOOK_INTR (3, n, 4)         after the instruction
//   x86 div/idiv fault (#DE)       UC_HOOK_INTR 0                 at the division
//   x86 bound (#BR), #GP...        UC_HOOK_INTR 5, 13...          at the instruction
//   x86 syscall, sysenter (i386)   UC_HOOK_INSN                   at it inside the hook
//   x86-64 sysenter                UC_ERR_INSN_INVALID            at it
//   x86 cli, in, out, mov crN...   nothing: Unicorn runs x86 at privilege level 0
//   ARM udf (ARM, Thumb)           UC_ERR_INSN_INVALID            at it
//   ARM wfe, yield                 UC_ERR_INSN_INVALID            after it
//   ARM wfi                        UC_ERR_OK (CPU halted)         after it
//   ARM bkpt                       UC_HOOK_INTR 7 (EXCP_BKPT)     at it
//   ARM svc                        UC_HOOK_INTR 2 (EXCP_SWI)      after it
//   ARM ldrex/strex unaligned      UC_HOOK_INTR 4 (data abort)    at it
//   PPC trap, tw, twi (taken)      UC_HOOK_INTR 6 (program)       after it (Unicorn adds 4 to nip)
//   PPC sc                         UC_HOOK_INTR 8                 after it
//   PPC illegal word               UC_HOOK_INTR 96 (HV_EMU)       after it
//   PPC lwarx unaligned            UC_HOOK_INTR 5 (alignment)     after it
//   PPC FP enabled exception       UC_HOOK_INTR 6                 after it
//   PPC FP with MSR.FP off         UC_HOOK_INTR 7                 after it
//   unmapped/protected access      UC_ERR_*_UNMAPPED/_PROT + mem hook, at the access
//
// Without an UC_HOOK_INTR hook every interrupt ends the run with UC_ERR_EXCEPTION and no
// number; with one, the hook gets the number and the run goes on unless the hook stops it.
// Not faults at all (as in Linux user space): unaligned ldr/ldrd/ldm/vldr on ARM, unaligned
// lwz/lfd/lmw on PowerPC, masked FP exceptions (x87, SSE and VFP raise none even unmasked),
// division by zero on ARM (sdiv/udiv give 0) and PowerPC (divw gives an undefined value).
import { Disassembler, type Instruction } from './asm.ts';
import {
  AlignmentFault, BreakpointFault, CpuExceptionFault, DivisionFault, FloatingPointFault, HaltFault, InvalidInstructionFault,
  PrivilegedInstructionFault, SoftwareInterruptFault, SystemCallFault, TrapInstructionFault, type GuestFault,
} from './faults.ts';
import type { Machine } from './machine.ts';

/** A fault is built for the instruction at `pc` (its own address: Unicorn may stop after it). */
export type FaultAt = (pc: bigint) => ReturnType<Machine['faultContext']>;

/** x86 exception vectors raised at the faulting instruction (not after it), with their names. */
const X86_VECTORS: Record<number, string> = {
  0: 'divide error (#DE)', 1: 'debug exception (#DB: the trap flag TF is set)', 5: 'bound range exceeded (#BR)',
  6: 'invalid opcode (#UD)', 7: 'device not available (#NM)', 8: 'double fault (#DF)', 10: 'invalid TSS (#TS)',
  11: 'segment not present (#NP)', 12: 'stack-segment fault (#SS)', 13: 'general-protection exception (#GP)',
  14: 'page fault (#PF)', 16: 'x87 floating-point exception (#MF)', 17: 'alignment check (#AC)', 18: 'machine check (#MC)',
  19: 'SIMD floating-point exception (#XM)', 20: 'virtualization exception (#VE)', 21: 'control protection exception (#CP)',
};

const ARM_EXCEPTIONS: Record<number, string> = {
  1: 'undefined instruction', 2: 'supervisor call', 3: 'prefetch abort', 4: 'data abort', 5: 'IRQ', 6: 'FIQ', 7: 'breakpoint',
  11: 'hypervisor call', 12: 'hypervisor trap', 13: 'secure monitor call', 16: 'semihosting call', 17: 'coprocessor not present',
  18: 'invalid state', 22: 'unaligned access',
};

const PPC_EXCEPTIONS: Record<number, string> = {
  0: 'critical input', 1: 'machine check', 2: 'data storage', 3: 'instruction storage', 4: 'external input', 5: 'alignment',
  6: 'program', 7: 'floating-point unavailable', 8: 'system call', 10: 'decrementer', 15: 'debug', 73: 'vector unavailable',
  94: 'VSX unavailable', 96: 'illegal instruction (hypervisor emulation assistance)',
};

/** The one instruction at `address` in `isa`, or undefined where nothing decodes. */
export function decodeAt(m: Machine, address: bigint, isa: Disassembler['isa'] = m.target.isa): Instruction | undefined {
  if (address < 0n || address > BigInt(Number.MAX_SAFE_INTEGER)) return undefined;
  const a = Number(address);
  const region = m.regionAt(a);
  if (!region || region.kind !== 'code' && region.kind !== 'trap') return undefined;
  try {
    const [insn] = Disassembler.for(isa).disassemble(m.read(a, Math.min(16, region.end - a)), a, 1);
    return insn;
  } catch {
    return undefined;
  }
}

function bytesAt(m: Machine, address: bigint, n: number): Uint8Array | undefined {
  if (address < 0n || address > BigInt(Number.MAX_SAFE_INTEGER)) return undefined;
  const a = Number(address);
  const region = m.regionAt(a);
  if (!region || region.kind === 'guard' || a + n > region.end) return undefined;
  try {
    return m.read(a, n);
  } catch {
    return undefined;
  }
}

/**
 * The instruction at `address` as text, or the bytes there when Capstone cannot decode them
 * (`(undecodable: 0f ff c0 3e)`): a fault message always says what the guest executed.
 */
export function describeAt(m: Machine, address: bigint, isa: Disassembler['isa'] = m.target.isa): string {
  const insn = decodeAt(m, address, isa);
  if (insn) return insn.text;
  const unit = isa === 'x86' || isa === 'x86_64' ? 8 : isa === 'thumb' ? 4 : 4;
  const bytes = bytesAt(m, address, unit) ?? bytesAt(m, address, isa === 'x86' || isa === 'x86_64' ? 1 : 2);
  return bytes ? `(undecodable: ${[...bytes].map((b) => b.toString(16).padStart(2, '0')).join(' ')})` : '(unreadable)';
}

/** A Thumb instruction ending at `end`: 16-bit or 32-bit (the first halfword says which). */
function thumbEndingAt(m: Machine, end: bigint): Instruction | undefined {
  for (const len of [2, 4]) {
    const insn = decodeAt(m, end - BigInt(len), 'thumb');
    if (insn && insn.size === len) return insn;
  }
  return undefined;
}

/** A fault for UC_HOOK_INTR number `intno`, the guest stopped with its pc at `pc`. */
export function interruptFault(m: Machine, intno: number, pc: bigint, at: FaultAt): GuestFault {
  switch (m.target.name) {
    case 'x86':
    case 'x86_64': return x86Interrupt(m, intno, pc, at);
    case 'arm': return armInterrupt(m, intno, pc, at);
    case 'ppc32': return ppcInterrupt(m, intno, pc, at);
    default: return aarch64Interrupt(m, intno, pc, at);
  }
}

/** Whether the instruction at pc can raise x86 vector `v` itself (then it is reported there). */
function raises(insn: Instruction | undefined, v: number): boolean {
  if (!insn) return false;
  const mn = insn.mnemonic.replace(/^(lock|rep|repne|repe) /, '');
  switch (v) {
    case 0: return /^i?div$/.test(mn);
    case 5: return mn === 'bound';
    case 16: return /^f/.test(mn) || mn === 'wait';
    case 7: case 19: return /^f/.test(mn) || /xmm|ymm/.test(insn.operands);
    case 1: return false;
    default: return true;
  }
}

function x86Interrupt(m: Machine, v: number, pc: bigint, at: FaultAt): GuestFault {
  const here = decodeAt(m, pc);
  // int n, int3 and into are traps: Unicorn leaves pc after them (exception_next_eip).
  const two = bytesAt(m, pc - 2n, 2);
  const one = bytesAt(m, pc - 1n, 1);
  const intN = two !== undefined && two[0] === 0xcd && two[1] === v;
  if (v === 3 && one?.[0] === 0xcc) return new BreakpointFault('int3', at(pc - 1n));
  if (v === 4 && one?.[0] === 0xce) return new TrapInstructionFault('into', at(pc - 1n), 'the overflow flag was set');
  if (v === 0x80 && intN) {
    const eax = BigInt.asUintN(32, m.readReg(m.target.name === 'x86' ? 'eax' : 'rax'));
    return new SystemCallFault('int 0x80', eax, m.target.name === 'x86' ? 'eax' : 'eax (the i386 system-call table)', at(pc - 2n));
  }
  if (intN && (v >= 32 || !raises(here, v) || v === 3 || v === 4)) {
    return v === 3 ? new BreakpointFault('int 3', at(pc - 2n)) : new SoftwareInterruptFault(v, at(pc - 2n));
  }
  const text = describeAt(m, pc);
  if (v === 0) {
    return new DivisionFault(text, divisionReason(m, here), at(pc));
  }
  if (v === 5) return new TrapInstructionFault(text, at(pc), 'the index was outside its bounds (#BR)');
  if (v === 1 && !intN) {
    // A trap after the instruction that ran with TF set: the one at pc has not run.
    return new CpuExceptionFault(`debug exception (#DB): the trap flag (TF) is set, so the CPU stopped after one instruction; the next would be ${text}`, at(pc));
  }
  if (v === 16 || v === 19) return new FloatingPointFault(text, `${X86_VECTORS[v]}, unmasked in the FPU control word`, at(pc));
  const name = X86_VECTORS[v] ?? (v >= 32 ? `interrupt ${v}` : `exception ${v}`);
  return new CpuExceptionFault(`${name} in ${text}`, at(pc));
}

/** For #DE: whether the divisor (a register operand) is zero; a memory operand is not read. */
function divisionReason(m: Machine, insn: Instruction | undefined): DivisionFault['reason'] {
  const either = 'division by zero or quotient overflow';
  if (!insn) return either;
  const reg = insn.operands.trim();
  const names: Record<string, [string, number]> = {};
  for (const [full, lo32, lo16, lo8] of [
    ['rax', 'eax', 'ax', 'al'], ['rbx', 'ebx', 'bx', 'bl'], ['rcx', 'ecx', 'cx', 'cl'], ['rdx', 'edx', 'dx', 'dl'],
    ['rsi', 'esi', 'si', 'sil'], ['rdi', 'edi', 'di', 'dil'], ['rbp', 'ebp', 'bp', 'bpl'], ['rsp', 'esp', 'sp', 'spl'],
  ]) {
    const base = m.target.name === 'x86' ? lo32 : full;
    names[full] = [base, 64]; names[lo32] = [base, 32]; names[lo16] = [base, 16]; names[lo8] = [base, 8];
  }
  for (let i = 8; i < 16; i++) {
    names[`r${i}`] = [`r${i}`, 64]; names[`r${i}d`] = [`r${i}`, 32]; names[`r${i}w`] = [`r${i}`, 16]; names[`r${i}b`] = [`r${i}`, 8];
  }
  const value = (name: string): bigint | undefined => {
    const found = names[name];
    return found && found[0] in m.target.registers ? BigInt.asUintN(found[1], m.readReg(found[0])) : undefined;
  };
  let divisor = value(reg);
  // A memory divisor at [base], [base + d] or [base - d] (i386 code divides by a stack argument).
  const mem = /^(byte|word|dword|qword) ptr \[(\w+)(?: ([+-]) (0x[0-9a-f]+|\d+))?\]$/.exec(reg);
  if (divisor === undefined && mem) {
    const base = value(mem[2]);
    const size = { byte: 1, word: 2, dword: 4, qword: 8 }[mem[1] as 'byte' | 'word' | 'dword' | 'qword'];
    if (base !== undefined) {
      const d = mem[4] ? BigInt(mem[4]) * (mem[3] === '-' ? -1n : 1n) : 0n;
      const address = BigInt.asUintN(m.target.pointerSize * 8, base + d);
      const region = address <= BigInt(Number.MAX_SAFE_INTEGER) ? m.regionAt(Number(address)) : undefined;
      if (region && region.kind !== 'guard' && Number(address) + size <= region.end) {
        const bytes = m.read(Number(address), size);
        divisor = bytes.reduceRight((v, b) => (v << 8n) | BigInt(b), 0n);
      }
    }
  }
  if (divisor === undefined) return either;
  return divisor === 0n ? 'division by zero' : 'quotient overflow';
}

function armInterrupt(m: Machine, intno: number, pc: bigint, at: FaultAt): GuestFault {
  const thumb = m.thumb;
  const isa = thumb ? 'thumb' : 'arm';
  if (intno === 2) {
    // svc: the pc is already past it (2 bytes in Thumb, 4 in ARM).
    const own = pc - (thumb ? 2n : 4n);
    const insn = decodeAt(m, own, isa);
    const imm = insn ? Number(/#?(0x[0-9a-f]+|\d+)/i.exec(insn.operands)?.[1] ?? 0) : 0;
    const text = describeAt(m, own, isa);
    // OABI encodes the number in the immediate (0x900000 + n); EABI (Debian's armel and armhf) in r7.
    if (!thumb && imm >= 0x900000 && imm < 0xa00000) return new SystemCallFault(text, BigInt(imm - 0x900000), 'the svc immediate (OABI)', at(own));
    return new SystemCallFault(text, m.readReg('r7'), 'r7', at(own));
  }
  const here = decodeAt(m, pc, isa);
  const text = describeAt(m, pc, isa);
  if (intno === 7) return new BreakpointFault(text, at(pc));
  if (intno === 4 && here && /^(ldrex|strex|ldaex|stlex)/.test(here.mnemonic)) return new AlignmentFault(text, at(pc));
  if (intno === 11 || intno === 13) return new PrivilegedInstructionFault(text, at(pc));
  return new CpuExceptionFault(`ARM exception ${intno} (${ARM_EXCEPTIONS[intno] ?? 'unknown'}) in ${text}`, at(pc));
}

function ppcInterrupt(m: Machine, intno: number, pc: bigint, at: FaultAt): GuestFault {
  // Unicorn adds 4 to nip before calling the hook (cpu-exec.c): the instruction is the one before.
  const own = pc - 4n;
  const insn = decodeAt(m, own);
  const text = describeAt(m, own);
  switch (intno) {
    case 8: return new SystemCallFault(text, m.readReg('r0'), 'r0', at(own));
    case 96: return new InvalidInstructionFault(at(own), `illegal instruction ${text}`);
    case 5: return new AlignmentFault(text, at(own));
    case 7: return new FloatingPointFault(text, 'the FPU is switched off (MSR.FP = 0)', at(own));
    case 6:
      if (insn && /^(tw|td|trap)/.test(insn.mnemonic)) return new TrapInstructionFault(text, at(own));
      if (insn && /^(f|mtfs)/.test(insn.mnemonic)) return new FloatingPointFault(text, 'an FP exception enabled in MSR (FE0/FE1) and the FPSCR', at(own));
      return new CpuExceptionFault(`PowerPC program exception in ${text}`, at(own));
    default:
      return new CpuExceptionFault(`PowerPC exception ${intno} (${PPC_EXCEPTIONS[intno] ?? 'unknown'}) in ${text}`, at(own));
  }
}

function aarch64Interrupt(m: Machine, intno: number, pc: bigint, at: FaultAt): GuestFault {
  if (intno === 2) {
    const own = pc - 4n;
    return new SystemCallFault(describeAt(m, own), m.readReg('x8'), 'x8', at(own));
  }
  const text = describeAt(m, pc);
  if (intno === 7) return new BreakpointFault(text, at(pc));
  return new CpuExceptionFault(`AArch64 exception ${intno} (${ARM_EXCEPTIONS[intno] ?? 'unknown'}) in ${text}`, at(pc));
}

/** UC_ERR_INSN_INVALID: at pc, except ARM wfe/yield, which Unicorn reports after themselves. */
export function invalidInstructionFault(m: Machine, pc: bigint, at: FaultAt): GuestFault {
  if (m.target.name === 'x86_64' || m.target.name === 'x86') {
    const insn = decodeAt(m, pc);
    if (insn && (insn.mnemonic === 'sysenter' || insn.mnemonic === 'syscall')) {
      // x86-64 sysenter: the CPU refuses it in 64-bit mode, but the guest meant a system call.
      const name = m.target.name === 'x86' ? 'eax' : 'rax';
      return new SystemCallFault(`${insn.mnemonic} (refused by the CPU in ${m.target.name === 'x86' ? '32' : '64'}-bit mode)`, m.readReg(name), name, at(pc));
    }
    return new InvalidInstructionFault(at(pc), `invalid instruction ${insn ? `(${insn.text})` : describeAt(m, pc)}`);
  }
  if (m.target.name === 'arm') {
    const thumb = m.thumb;
    const here = decodeAt(m, pc, thumb ? 'thumb' : 'arm');
    const prev = thumb ? thumbEndingAt(m, pc) : decodeAt(m, pc - 4n, 'arm');
    // Unicorn stops wfe and yield (EXCP_YIELD) as invalid, with pc already past them.
    if (prev && /^(wfe|yield)(\.w)?$/.test(prev.mnemonic) && here && !/^udf/.test(here.mnemonic)) {
      return new InvalidInstructionFault(at(BigInt(prev.address)), `instruction Unicorn cannot run: ${prev.text} (a hint that waits for an event)`);
    }
    return new InvalidInstructionFault(at(pc), `undefined instruction ${here ? `(${here.text})` : describeAt(m, pc, thumb ? 'thumb' : 'arm')}`);
  }
  const here = decodeAt(m, pc);
  return new InvalidInstructionFault(at(pc), `invalid instruction ${here ? `(${here.text})` : describeAt(m, pc)}`);
}

// ---- instructions found when a block is translated ----

/** x86 instructions only a kernel may run (Linux: SIGSEGV in user space); Capstone's mnemonics. */
const X86_PRIVILEGED = new Set([
  'hlt', 'cli', 'sti', 'in', 'out', 'insb', 'insw', 'insd', 'outsb', 'outsw', 'outsd', 'lgdt', 'lidt', 'lldt', 'ltr', 'lmsw',
  'clts', 'invd', 'wbinvd', 'invlpg', 'invlpga', 'invpcid', 'rdmsr', 'wrmsr', 'rdpmc', 'swapgs', 'sysexit', 'sysret', 'xsetbv',
  'vmcall', 'vmlaunch', 'vmresume', 'vmxoff', 'vmxon', 'vmread', 'vmwrite', 'vmptrld', 'vmptrst', 'vmclear', 'invept',
  'invvpid', 'vmrun', 'vmload', 'vmsave', 'vmmcall', 'stgi', 'clgi', 'skinit', 'rsm', 'wbnoinvd',
]);

/** Opcode bytes that may start one of them: a block without any is not decoded. */
function mayHoldPrivileged(bytes: Uint8Array): boolean {
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    if (b === 0xf4 || b === 0xfa || b === 0xfb || (b >= 0xe4 && b <= 0xe7) || (b >= 0xec && b <= 0xef) || (b >= 0x6c && b <= 0x6f)) return true;
    if (b === 0x0f && i + 1 < bytes.length) {
      const c = bytes[i + 1];
      if (c <= 0x01 || (c >= 0x06 && c <= 0x09) || (c >= 0x20 && c <= 0x23) || c === 0x30 || c === 0x32 || c === 0x33 || c === 0x35 || c === 0x07 || c === 0x78 || c === 0x79 || c === 0xaa) return true;
    }
  }
  return false;
}

export interface PrivilegedSite {
  address: number;
  text: string;
  mnemonic: string;
  /** Instructions of the block before it (run them, then stop at it). */
  before: number;
}

/** The first privileged x86 instruction of a freshly translated block at [start, start+size), if any. */
export function privilegedInBlock(m: Machine, start: number, size: number): PrivilegedSite | undefined {
  let bytes: Uint8Array;
  try {
    bytes = m.read(start, size);
  } catch {
    return undefined;
  }
  if (!mayHoldPrivileged(bytes)) return undefined;
  let insns: Instruction[];
  try {
    insns = Disassembler.for(m.target.isa).disassemble(bytes, start);
  } catch {
    return undefined;
  }
  for (let i = 0; i < insns.length; i++) {
    const insn = insns[i];
    const mn = insn.mnemonic.replace(/^(rep|repne|repe|lock) /, '');
    const privileged = X86_PRIVILEGED.has(mn) || (/^mov/.test(mn) && /(^|[ ,])[cd]r\d+\b/.test(insn.operands));
    if (privileged) return { address: insn.address, text: insn.text, mnemonic: mn, before: i };
  }
  return undefined;
}

/** The fault for a privileged instruction reached (the run stopped right before it). */
export function privilegedFault(site: PrivilegedSite, at: FaultAt): GuestFault {
  return site.mnemonic === 'hlt' ? new HaltFault('hlt', at(BigInt(site.address))) : new PrivilegedInstructionFault(site.text, at(BigInt(site.address)));
}

export interface HaltSite { address: number; mnemonic: string }

/**
 * ARM and AArch64 `wfi` end their translation block and halt the CPU after running (Unicorn
 * returns UC_ERR_OK as for a finished budget): a block ending in one is remembered by its end.
 */
export function haltEndingBlock(m: Machine, start: number, size: number): HaltSite | undefined {
  if (size < 2) return undefined;
  const end = start + size;
  let tail: Uint8Array;
  try {
    tail = m.read(end - Math.min(4, size), Math.min(4, size));
  } catch {
    return undefined;
  }
  const dv = new DataView(tail.buffer, tail.byteOffset, tail.byteLength);
  if (m.target.name === 'aarch64') return tail.length === 4 && dv.getUint32(0, true) === 0xd503207f ? { address: end - 4, mnemonic: 'wfi' } : undefined;
  if (tail.length === 4) {
    const w = dv.getUint32(0, true);
    if ((w & 0x0fffffff) === 0x0320f003 && w >>> 28 !== 0xf) return { address: end - 4, mnemonic: 'wfi' };
    if (dv.getUint16(0, true) === 0xf3af && dv.getUint16(2, true) === 0x8003) return { address: end - 4, mnemonic: 'wfi.w' };
  }
  if (dv.getUint16(tail.length - 2, true) === 0xbf30) return { address: end - 2, mnemonic: 'wfi' };
  return undefined;
}

/** The fault for a halt found after the run (pc just past the `wfi`). */
export function haltFault(site: HaltSite, at: FaultAt): GuestFault {
  return new HaltFault(site.mnemonic, at(BigInt(site.address)));
}
