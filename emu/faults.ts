// Typed errors for everything that can stop a guest run other than a normal return.
// Every one carries the exact pc (a bigint: a 64-bit address does not fit a JS number),
// the instruction there, the registers and the call chain; emu/stop-reasons.ts says which
// one a Unicorn stop is.

import { AbiscopeError } from '../errors.ts';

export interface FaultContext {
  target: string;
  /** The pc of the instruction that stopped the guest, exact (on x86-64 it may be any 64-bit value). */
  pc: bigint;
  /** The instruction at pc, disassembled, or why there is none ('(unmapped)', '(undecodable)'). */
  instruction: string;
  /** Register values at the fault, by ABI name (pc included, as it was when the guest stopped). */
  registers: Record<string, bigint>;
  /** Innermost first: `symbol+0xoff (0xaddr)` strings, from pc, link register and live frames on the stack. */
  callChain: string[];
}

/** `0x` and the hex digits of an exact address. */
export function hexAddress(a: bigint | number): string {
  return `0x${a.toString(16)}`;
}

/**
 * A bigint as a JS number where that is exact (below 2^53: every 32-bit value, and all of
 * abiscope's own mappings, which are in the low 2 GiB); NaN beyond, so that a 64-bit address
 * is never silently rounded to a neighbouring one.
 */
export function safeNumber(v: bigint): number {
  return v >= 0n && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : Number.NaN;
}

/** Base class: the guest stopped for a reason other than returning. The machine stays usable. */
export class GuestFault extends AbiscopeError {
  constructor(readonly kind: string, readonly detail: string, readonly context: FaultContext) {
    super(
      `${detail}\n  at pc ${hexAddress(context.pc)}: ${context.instruction}\n` +
        `  call chain: ${context.callChain.join(' <- ') || '(unknown)'}\n` +
        `  registers: ${Object.entries(context.registers).map(([k, v]) => `${k}=${hexAddress(v)}`).join(' ')}`,
    );
    this.name = 'GuestFault';
  }
  /** The pc, exact. */
  get exactPc(): bigint {
    return this.context.pc;
  }
  /**
   * The pc as a JS number: exact below 2^53 (always on 32-bit targets, and for any address
   * abiscope maps); NaN for a larger 64-bit pc (a wild jump on x86-64), which `exactPc` holds.
   */
  get pc(): number {
    return safeNumber(this.context.pc);
  }
  get instruction(): string {
    return this.context.instruction;
  }
  get callChain(): string[] {
    return this.context.callChain;
  }
}

/** Unmapped or protected access; `access` is read, write or fetch. */
export class MemoryFault extends GuestFault {
  constructor(readonly access: 'read' | 'write' | 'fetch', readonly exactAddress: bigint, readonly protectedPage: boolean, context: FaultContext) {
    super('memory', `guest ${access} of ${protectedPage ? 'protected' : 'unmapped'} memory at ${hexAddress(exactAddress)}`, context);
    this.name = 'MemoryFault';
  }
  /** The address accessed, as a number where exact (see GuestFault.pc); `exactAddress` always is. */
  get address(): number {
    return safeNumber(this.exactAddress);
  }
}

/** A write into the guard page below a guest stack. */
export class StackOverflowFault extends GuestFault {
  constructor(readonly address: number, readonly stackName: string, context: FaultContext) {
    super('stack-overflow', `guest stack '${stackName}' overflowed into its guard page at ${hexAddress(address)}`, context);
    this.name = 'StackOverflowFault';
  }
}

/** An instruction the CPU cannot execute: undefined (ud2, udf, an illegal PPC word) or not emulated. */
export class InvalidInstructionFault extends GuestFault {
  constructor(context: FaultContext, reason = 'invalid instruction') {
    super('invalid-instruction', `guest executed an ${reason}`, context);
    this.name = 'InvalidInstructionFault';
  }
}

/** The instruction budget of one call ran out (likely an endless loop). */
export class BudgetExhaustedFault extends GuestFault {
  constructor(readonly budget: number, context: FaultContext) {
    super('budget', `guest ran out of its instruction budget (${budget} instructions)`, context);
    this.name = 'BudgetExhaustedFault';
  }
}

export class TimeoutFault extends GuestFault {
  constructor(readonly timeoutMs: number, context: FaultContext) {
    super('timeout', `guest run exceeded its wall-clock timeout of ${timeoutMs} ms`, context);
    this.name = 'TimeoutFault';
  }
}

/** Any other CPU exception: `ucError` names it (Unicorn's words, or the architecture's exception). */
export class CpuExceptionFault extends GuestFault {
  constructor(readonly ucError: string, context: FaultContext) {
    super('cpu-exception', `guest stopped: ${ucError}`, context);
    this.name = 'CpuExceptionFault';
  }
}

/**
 * The guest halted the CPU (x86 `hlt`, ARM `wfi`): it would wait for an interrupt that never
 * comes. Reported at the halting instruction, before (x86) or just after (ARM) it ran.
 */
export class HaltFault extends GuestFault {
  constructor(readonly mnemonic: string, context: FaultContext) {
    super('halt', `the guest executed ${mnemonic}, which halts the CPU until an interrupt (none ever comes here)`, context);
    this.name = 'HaltFault';
  }
}

/**
 * An instruction Linux lets only the kernel run (x86 `cli`, `in`, `out`, `mov cr0, ...`,
 * `wrmsr`...): in user space it raises SIGSEGV. Unicorn runs x86 code at privilege level 0, where
 * it would simply execute; abiscope stops before it does.
 */
export class PrivilegedInstructionFault extends GuestFault {
  constructor(readonly mnemonic: string, context: FaultContext) {
    super('privileged-instruction', `the guest executed the privileged instruction ${mnemonic} (only an operating-system kernel may)`, context);
    this.name = 'PrivilegedInstructionFault';
  }
}

/** A breakpoint instruction (x86 `int3`, ARM `bkpt`): no debugger is attached to catch it. */
export class BreakpointFault extends GuestFault {
  constructor(readonly mnemonic: string, context: FaultContext) {
    super('breakpoint', `the guest executed the breakpoint instruction ${mnemonic} (no debugger is attached)`, context);
    this.name = 'BreakpointFault';
  }
}

/**
 * A trap instruction whose condition held: PowerPC `trap`/`tw`/`twi` (what __builtin_trap
 * compiles to there), x86 `into` with OF set, `bound` with the index outside its bounds.
 */
export class TrapInstructionFault extends GuestFault {
  constructor(readonly mnemonic: string, context: FaultContext, why = 'a trap instruction whose condition held') {
    super('trap', `the guest executed ${mnemonic}: ${why}`, context);
    this.name = 'TrapInstructionFault';
  }
}

/** An x86 `int n` other than a system call or a breakpoint: no interrupt handler exists here. */
export class SoftwareInterruptFault extends GuestFault {
  constructor(readonly vector: number, context: FaultContext) {
    super('software-interrupt', `the guest raised software interrupt ${hexAddress(vector)} (int ${hexAddress(vector)}): no operating system handles it here`, context);
    this.name = 'SoftwareInterruptFault';
  }
}

/**
 * A system-call instruction: x86-64 `syscall` (number in rax), i386 `int 0x80` and `sysenter`
 * (eax), ARM `svc #0` (r7, EABI) or an OABI `svc #0x900000+n`, PowerPC `sc` (r0). abiscope is
 * no operating system: guest code reaches the host only through the C functions it links.
 */
export class SystemCallFault extends GuestFault {
  constructor(readonly mnemonic: string, readonly number: bigint, readonly numberFrom: string, context: FaultContext) {
    super('system-call', `the guest made Linux system call ${number} (${mnemonic}, number from ${numberFrom}): abiscope runs no operating system (guest code reaches the host only through the C functions it links)`, context);
    this.name = 'SystemCallFault';
  }
}

/** x86 #DE: integer division by zero, or a quotient too large for its register. */
export class DivisionFault extends GuestFault {
  constructor(readonly mnemonic: string, readonly reason: 'division by zero' | 'quotient overflow' | 'division by zero or quotient overflow', context: FaultContext) {
    super('division', `the guest's integer division (${mnemonic}) faulted: ${reason} (x86 #DE)`, context);
    this.name = 'DivisionFault';
  }
}

/**
 * An access the CPU requires to be aligned was not: ARM exclusive loads and stores
 * (ldrex/strex), PowerPC lwarx/stwcx. Ordinary unaligned loads and stores are allowed on
 * both, as in Linux user space, and do not fault.
 */
export class AlignmentFault extends GuestFault {
  constructor(readonly mnemonic: string, context: FaultContext) {
    super('alignment', `the guest's ${mnemonic} accessed memory at an address not aligned as it requires`, context);
    this.name = 'AlignmentFault';
  }
}

/**
 * A floating-point trap: PowerPC with FP exceptions enabled (MSR.FE0/FE1 and an FPSCR enable
 * bit), or its FPU switched off (MSR.FP = 0). Masked FP exceptions (the default everywhere)
 * give IEEE results and never fault; Unicorn raises none for x87, SSE or VFP even when unmasked.
 */
export class FloatingPointFault extends GuestFault {
  constructor(readonly mnemonic: string, reason: string, context: FaultContext) {
    super('floating-point', `the guest's floating-point instruction ${mnemonic} trapped: ${reason}`, context);
    this.name = 'FloatingPointFault';
  }
}

/**
 * The guest jumped where no code of its own is: into abiscope's host-trap page at a slot
 * nothing uses, or into abiscope's own stubs at a place nothing enters them. `reached` names it.
 */
export class WildJumpFault extends GuestFault {
  constructor(readonly reached: string, context: FaultContext) {
    super('wild-jump', `the guest jumped into ${reached}`, context);
    this.name = 'WildJumpFault';
  }
}
