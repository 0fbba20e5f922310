// What the trace page derives from a trace before drawing it: the registers at an instant (a
// trace records only changes, so a register's value is known from its first change on: before
// it, the change's `old`), where each call begins and ends, and the callee's entry of a
// call-out. Pure functions of the trace, shared by the page's pictures (the page's script
// does the same reconstruction step by step in the browser).
import type { InstructionEvent, Trace, TraceCall } from '../sandbox/trace-format.ts';

const isInstruction = (e: Trace['events'][number]): e is InstructionEvent => e.kind === 'instruction';

/**
 * The registers as they were just before event `seq` ran (after every instruction before it).
 * A register no instruction of the trace changed is absent: its value was never recorded.
 */
export function registersBefore(trace: Trace, seq: number): Map<string, string> {
  const known = new Map<string, string>();
  // First the value each register had when the trace began (the `old` of its first change)...
  for (const e of trace.events) {
    if (!isInstruction(e)) continue;
    for (const c of e.changes) if (!known.has(c.reg)) known.set(c.reg, c.old);
  }
  // ...then every change made before `seq`.
  for (const e of trace.events) {
    if (e.seq >= seq) break;
    if (isInstruction(e)) for (const c of e.changes) known.set(c.reg, c.new);
  }
  return known;
}

/** A call's extent in the trace: its enter and exit events (exit: the last event if it never left). */
export interface CallSpan {
  call: TraceCall;
  enter: number;
  exit: number;
  enterTime: number;
  exitTime: number;
  /** Seq of the first instruction recorded after it was entered, or -1. */
  firstInstruction: number;
}

export function callSpans(trace: Trace): CallSpan[] {
  const last = trace.events.at(-1);
  return trace.calls.map((call) => {
    const enter = trace.events.find((e) => e.kind === 'enter' && e.call === call.id);
    const exit = trace.events.find((e) => e.kind === 'exit' && e.call === call.id);
    const from = enter?.seq ?? 0;
    const to = exit?.seq ?? last?.seq ?? 0;
    // A JS call-back runs no guest code between its enter and exit: its first instruction is the thunk's, giving back the result.
    const first = trace.events.find((e) => e.seq > from && e.kind === 'instruction');
    const time = (e: typeof enter) => (e && 'time' in e ? e.time : 0);
    return { call, enter: from, exit: to, enterTime: time(enter), exitTime: time(exit ?? enter), firstInstruction: first?.seq ?? -1 };
  });
}

/** The callee's address, from the symbolized `function` ("weigh_int2 (0x1218e30)"). */
export function calleeAddress(call: TraceCall): number | null {
  const m = /\((0x[0-9a-f]+)\)\s*$/i.exec(call.function);
  return m ? Number.parseInt(m[1], 16) : null;
}

/**
 * The seq of the callee's first instruction in a call-out (the instant the frame snapshot
 * shows), or -1 when it was not recorded (only: 'stubs', truncated). Found by the callee's
 * address; failing that, the first guest instruction inside the call.
 */
export function calleeEntry(trace: Trace, span: CallSpan): number {
  const inside = trace.events.filter((e): e is InstructionEvent => isInstruction(e) && e.seq > span.enter && e.seq < span.exit);
  const addr = calleeAddress(span.call);
  const hit = inside.find((e) => e.address === addr) ?? inside.find((e) => !e.abiscope);
  return hit?.seq ?? -1;
}

export const hex = (n: number): string => `0x${n.toString(16)}`;

/** The trace register a location names, if the trace has it ("rdi"; not "[sp+4]" nor ARM's "s0"). */
export function tracedRegister(trace: Trace, location: string): string | null {
  return trace.registers.includes(location) ? location : null;
}
