// Running a call-out: the stub runs until the guest returns to the sentinel or enters
// a call-back. A call-back trap only stops the emulator (never a nested emulation,
// docs/unicorn-notes.md); the host then runs the JS function, which may call out again on the
// same thread (below the call-back's block) or on another one, and resumes the guest.
//
// The steps are a generator so that one description serves two drivers: `runSync`
// runs call-back functions inline, `runAsync` awaits them, letting the host switch
// to other guest threads meanwhile. The generator's locals and the guest frame are
// the whole state of a call: nothing is kept between calls.
import { UsageError } from '../errors.ts';
import { AbiscopeError } from '../errors.ts';
import type { Machine } from '../emu/machine.ts';
import type { RegisterImage } from '../abis/register-image.ts';
import type { TypedPlan } from '../abis/plan.ts';
import {
  CalleeSavedViolation, finishCallOut, liveViolations, prepareCallOut,
  type CallOutOptions, type CallRecord, type CallSite, type PreparedCallOut, type StubEntry,
} from './callout.ts';
import { GuestFault } from '../emu/faults.ts';
import {
  enterCallback, returnFromCallback, wrapCallbackFailure,
  type CallbackRecord, type LoadedThunk, type TypeContext,
} from './callback.ts';
import { GuestOutputCapture, ReturnOrderError, type FrameLevel, type GuestThread } from './guest-thread.ts';
import { CallTimeoutFault, ChainClock, type CheckedLimits } from './limits.ts';
import { TimeoutFault, WildJumpFault } from '../emu/faults.ts';
import type { JsValue } from '../layout/values.ts';
import type { TraceRecorder } from './trace.ts';

/** Everything a call-out needs from its sandbox. */
export interface ChainEnv {
  site: CallSite;
  thunk: LoadedThunk;
  image: RegisterImage;
  /** The host-trap slot the thunk jumps to. */
  trapSlot: number;
  /** The slot the call stub jumps to when the callee did not preserve the image register. */
  clobberedSlot: number;
  /** The call stub's code, [start, end): a fault in it after the call is a clobbered image register. */
  stubCode: [number, number];
  lookup(id: number): CallbackRecord | undefined;
  types: TypeContext;
  /** Runs a call-back's JS function with `level` as its context: call-outs it makes go below it. */
  invoke(level: FrameLevel, fn: () => unknown): unknown;
  /** Checks, when a level returns, more frames than its own (checkFrames 'all'). */
  verifyFrames(returning: FrameLevel): void;
  /** A call-back returning while deeper levels of its thread are live: report it, or wait for them. */
  outOfOrderReturn: 'error' | 'wait';
  /**
   * A call-out begins a chain on an idle thread; the chain ends when the thread is idle again.
   * When the first chain on any thread begins, the CPU registers are saved; when the last one
   * ends, also by an exception, they are put back. Inner levels need not: each call-back level
   * restores the registers it trapped with.
   */
  chainBegins(): void;
  chainEnds(): void;
  /** The trace being recorded, while a traced call runs (trace.ts). */
  trace(): TraceRecorder | undefined;
}

export interface CallOutRequest {
  typed: TypedPlan;
  /** The stub that runs the call: the sandbox's generic one, or one compiled for this plan. */
  stub: StubEntry;
  fn: number;
  args: unknown[];
  thread: GuestThread;
  /** 'call-out f on thread 'main'': for reports, built only when one needs it. */
  describe: () => string;
  options?: CallOutOptions;
}

export interface CallOutResult {
  value: JsValue;
  /** Where each argument went and what was printed: built when asked for. */
  record: () => CallRecord;
}

/**
 * What the driver must do: run a call-back's JS function (the generator resumes with its
 * result), or wait until a call-back may return (deeper levels of its thread are live).
 */
export type CallbackStep =
  | { kind: 'invoke'; invoke(): unknown }
  | { kind: 'wait'; until: Promise<void> };

/** The guest reached the sentinel with a stack pointer the callee should not have left. */
export class StackImbalanceError extends AbiscopeError {
  constructor(readonly call: string, readonly sp: number, readonly expected: number) {
    const d = sp - expected;
    super(`${call}: the callee returned with sp ${d > 0 ? '+' : ''}${d} bytes from where it was called (sp 0x${sp.toString(16)}, expected 0x${expected.toString(16)}): it popped ${d > 0 ? 'arguments it does not own' : 'too little'} (a calling-convention mismatch?)`);
    this.name = 'StackImbalanceError';
  }
}

/** One call-out, from writing its frame to reading its result. */
export function* callOutSteps(env: ChainEnv, req: CallOutRequest): Generator<CallbackStep, CallOutResult, unknown> {
  const m = env.site.machine;
  const { thread } = req;
  const begins = thread.idle;
  if (begins) env.chainBegins(); // before the frame is written: that sets sp and the image register
  let call: PreparedCallOut;
  try {
    call = prepareCallOut(env.site, req.typed, req.stub, req.fn, req.args, thread.sp, req.options, thread);
  } catch (e) {
    if (begins) env.chainEnds();
    throw e;
  }
  const level = thread.enter('call-out', req.describe, call.base, call.frameTop);
  level.canary = call.canary;
  // One deadline for the top-level call-out and everything it runs (limits.ts).
  if (begins || !thread.clock) thread.clock = new ChainClock(env.site.limits, req.describe);
  const clock = thread.clock;
  const recorder = env.trace();
  const traced = recorder?.callOutBegins(req.typed, req.fn, req.args, thread.name, thread.levels.length - 1, { base: call.base, top: call.frameTop });
  let outcome: { result: unknown } | { error: unknown } = { error: 'the call did not finish' };
  try {
    let pc = req.stub.address;
    for (;;) {
      clock.check(m);
      let stop: ReturnType<Machine['run']>;
      try {
        stop = runGuest(m, pc, clock, env.site.limits, req.describe);
        recorder?.reached(); // the registers are still the guest's: the last instruction's changes are complete
      } catch (e) {
        recorder?.reached();
        // A generic stub touches memory only through its image register: a fault in it means the callee lost it.
        if (e instanceof GuestFault && req.stub.imageRegister && e.pc >= env.stubCode[0] && e.pc < env.stubCode[1]) throw calleeSavedViolation(env, call, req.fn, e);
        throw e;
      }
      if (stop.slot === 0) break;
      if (stop.slot === env.clobberedSlot) throw calleeSavedViolation(env, call, req.fn);
      // Machine.run reports slots nobody allocated; this one is allocated, but not to this sandbox's thunk.
      if (stop.slot !== env.trapSlot) {
        throw new WildJumpFault(`host-trap slot ${stop.slot}, which no call-back of this sandbox uses (during ${req.describe()})`, m.faultContext(BigInt(stop.address)));
      }
      pc = yield* callbackSteps(env, thread);
    }
    checkReturnSp(m, thread, level, call.spAtReturn, req.describe);
    env.verifyFrames(level);
    const done = finishCallOut(env.site, call);
    const warning = done.violations.length ? new CalleeSavedViolation(m.symbolize(req.fn), done.violations, env.site.cc.name) : undefined;
    if (warning && env.site.calleeSaved === 'error') throw warning;
    const output = level.output;
    outcome = { result: done.value };
    return {
      value: done.value,
      record: () => {
        const r = done.record();
        if (output) r.output = output.result();
        if (warning) r.warnings.push(warning.message);
        return r;
      },
    };
  } catch (e) {
    outcome = { error: e };
    throw e;
  } finally {
    if (traced !== undefined) recorder?.callEnds(traced, outcome);
    // The frame is given back by leaving the level: the thread's next frame starts above it again,
    // and the registers are put back by the call-back level around this call or at the chain's end.
    thread.leave(level);
    // The thread's chain ends when its last live level returns (not necessarily this one: see leave).
    if (thread.idle) {
      thread.clock = undefined;
      env.chainEnds();
    }
  }
}

/**
 * The stub found its image register changed by the callee (or faulted using it): every
 * callee-saved register the callee changed, compared with the saved values in the frame.
 */
function calleeSavedViolation(env: ChainEnv, call: PreparedCallOut, fn: number, fault?: GuestFault): CalleeSavedViolation {
  const m = env.site.machine;
  const found = liveViolations(m, call);
  const e = new CalleeSavedViolation(m.symbolize(fn), found, env.site.cc.name);
  if (fault) e.cause = fault;
  return e;
}

/** One emulator run; Unicorn's own timeout (an explicit time limit) is the call-out's, and says so. */
function runGuest(m: Machine, pc: number, clock: ChainClock, limits: CheckedLimits, call: () => string): ReturnType<Machine['run']> {
  try {
    return m.run(pc, clock.run());
  } catch (e) {
    if (e instanceof TimeoutFault && !(e instanceof CallTimeoutFault)) throw new CallTimeoutFault(limits.timeoutMs, call(), e.context);
    throw e;
  }
}

/** The sentinel was reached: by this call-out's stub, or by an outer one the guest jumped back to (longjmp). */
function checkReturnSp(m: Machine, thread: GuestThread, level: FrameLevel, expected: number, call: () => string): void {
  const sp = m.sp;
  if (sp === expected) return;
  const outer = thread.levels.find((l) => l.kind === 'call-out' && l !== level && sp >= l.low && sp <= l.high);
  if (outer) {
    const skipped = thread.deeperThan(outer).map((l) => l.describe).reverse();
    throw new ReturnOrderError(outer.describe, skipped, thread.name);
  }
  throw new StackImbalanceError(call(), sp, expected);
}

/** One call-back trap: decode, yield the JS function to the driver, write its result, resume. */
function* callbackSteps(env: ChainEnv, thread: GuestThread): Generator<CallbackStep, number, unknown> {
  const m = env.site.machine;
  const entered = enterCallback(m, env.image, env.thunk, env.lookup, env.types, env.site.blocks);
  const level = thread.enter('call-back', () => entered.describe, entered.trapSp, entered.entrySp);
  const recorder = env.trace();
  const traced = recorder?.callBackBegins(entered.record.signature.text, entered.caller, entered.args, thread.name, thread.levels.length - 1, { start: entered.block, end: entered.block + env.image.blockSize });
  let outcome: { result: unknown } | { error: unknown } = { error: 'the call-back did not finish' };
  try {
    let value: unknown;
    try {
      value = yield { kind: 'invoke', invoke: () => env.invoke(level, () => entered.record.fn.apply(entered.context, entered.args)) };
    } catch (e) {
      outcome = { error: e };
      throw wrapCallbackFailure(entered, e);
    }
    outcome = { result: value };
    if (env.outOfOrderReturn === 'wait' && thread.deeperThan(level).length) yield { kind: 'wait', until: thread.whenInnermost(level) };
    thread.checkReturn(level);
    env.verifyFrames(level);
    return returnFromCallback(m, env.site.scratch, entered, value);
  } finally {
    // Registers as they were at the trap: an unwinding exception leaves the CPU as the outer level had it.
    if (traced !== undefined) recorder?.callEnds(traced, outcome);
    entered.saved.restore();
    entered.saved.free();
    entered.varargs?.close();
    env.site.blocks.give(entered.blockBytes);
    thread.leave(level);
  }
}

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return (typeof v === 'object' || typeof v === 'function') && v !== null && typeof (v as { then?: unknown }).then === 'function';
}

/** Runs a call-out's steps, calling each call-back's JS function inline (it cannot wait: a wait ends in ReturnOrderError). */
export function runSync<T>(steps: Generator<CallbackStep, T, unknown>): T {
  let next = steps.next();
  while (!next.done) {
    const step = next.value;
    if (step.kind === 'wait') {
      next = steps.next();
      continue;
    }
    let value: unknown;
    try {
      value = step.invoke();
      if (isThenable(value)) {
        throw new UsageError('the call-back returned a Promise, but this call-out is synchronous: call the function with .async(...) to let call-backs await');
      }
    } catch (e) {
      next = steps.throw(e);
      continue;
    }
    next = steps.next(value);
  }
  return next.value;
}

/** Runs a call-out's steps, awaiting each call-back's JS function: other threads may run meanwhile. */
export async function runAsync<T>(steps: Generator<CallbackStep, T, unknown>): Promise<T> {
  let next = steps.next();
  while (!next.done) {
    const step = next.value;
    if (step.kind === 'wait') {
      await step.until;
      next = steps.next();
      continue;
    }
    let value: unknown;
    try {
      value = await step.invoke();
    } catch (e) {
      next = steps.throw(e);
      continue;
    }
    next = steps.next(value);
  }
  return next.value;
}
