// How long guest code may run. Two bounds, both validated when a sandbox opens:
//  - the instruction budget of one uninterrupted emulator run (from a call-out's start or a
//    call-back's return to the next call-back or the return): Unicorn counts it exactly and
//    stops the run at it;
//  - the time limit of one top-level call-out: one deadline for it, all its call-backs and the
//    call-outs they make, checked whenever the guest stops (each call-back, each return), so
//    guest code calling a call-back in a loop is stopped too.
// Why the budget is per run and not per call-out: Unicorn 2.0.1 does not tell how many
// instructions a run executed before it stopped at a call-back's trap, and counting them in a
// hook costs about 1 µs per instruction (measured), so only runs can have an exact budget.
// Within one run the budget also bounds the time; a time limit given explicitly is passed to
// Unicorn for every run as well (Unicorn then runs a watchdog thread, ~150 µs per run).
import { UsageError } from '../errors.ts';
import { TimeoutFault } from '../emu/faults.ts';
import type { Machine, RunLimits } from '../emu/machine.ts';

export interface CallLimits {
  /** Instructions one uninterrupted run of guest code may execute (default 50,000,000). */
  budget?: number;
  /**
   * Milliseconds one top-level call-out may take, with its call-backs and nested call-outs
   * (default 60,000: checked whenever the guest stops; given explicitly, also inside each run).
   */
  timeoutMs?: number;
}

export const DEFAULT_BUDGET = 50_000_000;
export const DEFAULT_TIMEOUT_MS = 60_000;
const MAX_TIMEOUT_MS = 24 * 3600 * 1000;

export interface CheckedLimits { budget: number; timeoutMs: number; exactTime: boolean }

/** The limits of a sandbox, or a UsageError naming the option and the accepted range. */
export function checkLimits(opts: CallLimits): CheckedLimits {
  const { budget = DEFAULT_BUDGET, timeoutMs } = opts;
  if (!Number.isSafeInteger(budget) || budget < 1) {
    throw new UsageError(`budget ${String(budget)}: expected a whole number of instructions from 1 to 2^53-1 (default ${DEFAULT_BUDGET})`);
  }
  if (timeoutMs !== undefined && !(typeof timeoutMs === 'number' && Number.isFinite(timeoutMs) && timeoutMs > 0 && timeoutMs <= MAX_TIMEOUT_MS)) {
    throw new UsageError(`timeoutMs ${String(timeoutMs)}: expected milliseconds above 0, at most ${MAX_TIMEOUT_MS} (24 hours; default ${DEFAULT_TIMEOUT_MS})`);
  }
  return { budget, timeoutMs: timeoutMs ?? DEFAULT_TIMEOUT_MS, exactTime: timeoutMs !== undefined };
}

/** The call-out took longer than its time limit. */
export class CallTimeoutFault extends TimeoutFault {
  constructor(timeoutMs: number, readonly call: string, context: ConstructorParameters<typeof TimeoutFault>[1]) {
    super(timeoutMs, context);
    this.name = 'CallTimeoutFault';
    this.message = `${call} exceeded its time limit of ${timeoutMs} ms (with its call-backs and nested call-outs)\n${this.message.split('\n').slice(1).join('\n')}`;
  }
}

/** The deadline of one top-level call-out, shared by everything it runs. */
export class ChainClock {
  private readonly deadline: number;

  private readonly budgetOnly: RunLimits;

  /** `call` names the top-level call-out in a report (built only then). */
  constructor(private readonly limits: CheckedLimits, private readonly call: () => string) {
    this.deadline = performance.now() + limits.timeoutMs;
    this.budgetOnly = { budget: limits.budget };
  }

  /** What the next emulator run may use. */
  run(): RunLimits {
    if (!this.limits.exactTime) return this.budgetOnly;
    return { budget: this.limits.budget, timeoutMs: Math.max(1, Math.ceil(this.deadline - performance.now())) };
  }

  /** Throws CallTimeoutFault once the deadline has passed (the guest is stopped: its state is reported). */
  check(m: Machine): void {
    if (performance.now() >= this.deadline) throw new CallTimeoutFault(this.limits.timeoutMs, this.call(), m.faultContext());
  }
}
