// Typed errors for everything that can stop a guest run other than a normal return.

import { AbiscopeError } from '../errors.ts';
export interface FaultContext {
  target: string;
  pc: number;
  /** The instruction at pc, disassembled ('??' if it could not be read). */
  instruction: string;
  /** Register values at the fault, by ABI name. */
  registers: Record<string, bigint>;
  /** Innermost first: `symbol+0xoff (0xaddr)` strings, from pc, link register and a stack scan. */
  callChain: string[];
}

/** Base class: the guest stopped for a reason other than returning. The machine stays usable. */
export class GuestFault extends AbiscopeError {
  constructor(readonly kind: string, readonly detail: string, readonly context: FaultContext) {
    super(
      `${detail}\n  at pc 0x${context.pc.toString(16)}: ${context.instruction}\n` +
        `  call chain: ${context.callChain.join(' <- ') || '(unknown)'}\n` +
        `  registers: ${Object.entries(context.registers).map(([k, v]) => `${k}=0x${v.toString(16)}`).join(' ')}`,
    );
    this.name = 'GuestFault';
  }
  get pc(): number {
    return this.context.pc;
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
  constructor(readonly access: 'read' | 'write' | 'fetch', readonly address: number, readonly protectedPage: boolean, context: FaultContext) {
    super('memory', `guest ${access} of ${protectedPage ? 'protected' : 'unmapped'} memory at 0x${address.toString(16)}`, context);
    this.name = 'MemoryFault';
  }
}

/** A write into the guard page below a guest stack. */
export class StackOverflowFault extends GuestFault {
  constructor(readonly address: number, readonly stackName: string, context: FaultContext) {
    super('stack-overflow', `guest stack '${stackName}' overflowed into its guard page at 0x${address.toString(16)}`, context);
    this.name = 'StackOverflowFault';
  }
}

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

/** Any other Unicorn stop (CPU exception, unaligned access...). */
export class CpuExceptionFault extends GuestFault {
  constructor(readonly ucError: string, context: FaultContext) {
    super('cpu-exception', `guest stopped: ${ucError}`, context);
    this.name = 'CpuExceptionFault';
  }
}
