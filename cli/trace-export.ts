// Two exports of an `abiscope-trace/1` trace (sandbox/trace-format.ts) for other tools, as pure
// functions of the trace (docs/trace-exports.md):
// - Tenet's text trace (the trace explorer for IDA Pro): one line per recorded instruction,
//   register and memory deltas, so the guest's execution can be scrubbed back and forth;
// - Chrome's trace-event JSON (Perfetto, chrome://tracing): one slice per call-out and
//   call-back on a track per guest thread, with the JS values in and out.
import type { Json } from '../layout/json.ts';
import type { CallEvent, InstructionEvent, MemoryEvent, Trace, TraceCall } from '../sandbox/trace-format.ts';

// ---- Tenet ----

/**
 * The registers a Tenet line carries, per Unicorn target, and the name of its pc. Tenet's own
 * architectures are x86, AMD64 and ARM32 (general-purpose registers only, all of the pointer's
 * size; a name it does not know stops its parser), so flags, x87, SSE and VFP registers are
 * left out. Tenet has no PowerPC architecture and allows 32 registers at most: ppc32 gives
 * r0, r1, r3..r31 and pc (r2 is the thread pointer, which no call changes), which a 32-register
 * definition of one's own can load. AArch64 gives x0-x30 and sp, 32 registers, likewise.
 */
export const TENET_ARCH: Readonly<Record<string, { pc: string; registers: readonly string[] }>> = {
  x86: { pc: 'eip', registers: ['eax', 'ebx', 'ecx', 'edx', 'ebp', 'esp', 'esi', 'edi'] },
  x86_64: { pc: 'rip', registers: ['rax', 'rbx', 'rcx', 'rdx', 'rbp', 'rsp', 'rsi', 'rdi', 'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15'] },
  arm: { pc: 'pc', registers: [...Array.from({ length: 13 }, (_, i) => `r${i}`), 'sp', 'lr'] },
  ppc32: { pc: 'pc', registers: ['r0', 'r1', ...Array.from({ length: 29 }, (_, i) => `r${i + 3}`)] },
  aarch64: { pc: 'pc', registers: [...Array.from({ length: 31 }, (_, i) => `x${i}`), 'sp'] },
};

export function tenetArch(target: string): { pc: string; registers: readonly string[] } {
  const arch = TENET_ARCH[target];
  if (!arch) throw new RangeError(`no Tenet register set for target '${target}': expected one of ${Object.keys(TENET_ARCH).join(', ')}`);
  return arch;
}

const isInstruction = (e: Trace['events'][number]): e is InstructionEvent => e.kind === 'instruction';

/** A memory event's value (a number in hex) as its bytes in memory order, in hex. */
export function memoryBytes(value: string, size: number, endian: 'little' | 'big'): string {
  const v = BigInt(value);
  const bytes: string[] = [];
  for (let i = 0; i < size; i++) bytes.push(((v >> BigInt(8 * i)) & 0xffn).toString(16).padStart(2, '0'));
  return (endian === 'little' ? bytes : bytes.reverse()).join('');
}

/**
 * Every register's value before the first recorded instruction, as far as the trace tells:
 * a trace records changes only, so a register's first change gives its value before (`old`),
 * and a register that never changes reads 0 (its value is not in the trace).
 */
export function tenetInitialRegisters(trace: Trace): Map<string, string> {
  const { registers } = tenetArch(trace.target);
  const initial = new Map<string, string>(registers.map((r) => [r, '0x0']));
  const seen = new Set<string>();
  for (const e of trace.events) {
    if (!isInstruction(e)) continue;
    for (const c of e.changes) {
      if (initial.has(c.reg) && !seen.has(c.reg)) {
        seen.add(c.reg);
        initial.set(c.reg, c.old);
      }
    }
    if (seen.size === registers.length) break;
  }
  return initial;
}

/**
 * Tenet's lines, one per recorded instruction event. A Tenet line is the state at which its pc
 * is about to run, as its reference tracers write it: the registers that changed since the
 * line before (that is, what the previous instruction did), the pc, and the memory the
 * previous instruction read and wrote. The first line holds every register (Tenet's initial
 * state); the last instruction's own changes have no line after it to go into.
 */
export function* tenetLines(trace: Trace): Generator<string> {
  const arch = tenetArch(trace.target);
  const exported = new Set(arch.registers);
  const withRegisters = trace.options.registers;
  const memory = new Map<number, MemoryEvent[]>();
  for (const e of trace.events) {
    if (e.kind !== 'memory') continue;
    const list = memory.get(e.by);
    if (list) list.push(e);
    else memory.set(e.by, [e]);
  }
  const state = new Map<string, bigint>();
  let previous: InstructionEvent | undefined;
  for (const e of trace.events) {
    if (!isInstruction(e)) continue;
    const delta = new Map<string, string>();
    if (!previous) {
      if (withRegisters) for (const [r, v] of tenetInitialRegisters(trace)) delta.set(r, v);
    } else {
      for (const c of previous.changes) if (exported.has(c.reg)) delta.set(c.reg, c.new);
    }
    // An instruction's `old` is the register's value just before it ran. It differs from what the
    // lines so far make of it when something unrecorded changed the register in between (the
    // instructions a --trace-only filter leaves out, the host between a call-back's halves): the
    // line then says the value the instruction really started from.
    for (const c of e.changes) {
      if (!exported.has(c.reg)) continue;
      const known = delta.get(c.reg) ?? state.get(c.reg);
      if (known === undefined || BigInt(known) !== BigInt(c.old)) delta.set(c.reg, c.old);
    }
    const parts: string[] = [];
    for (const [r, v] of delta) {
      state.set(r, BigInt(v));
      parts.push(`${r}=${v}`);
    }
    parts.push(`${arch.pc}=0x${e.address.toString(16)}`);
    for (const m of previous ? memory.get(previous.seq) ?? [] : []) {
      parts.push(`${m.access === 'read' ? 'mr' : 'mw'}=0x${m.address.toString(16)}:${memoryBytes(m.value, m.size, trace.endian)}`);
    }
    yield parts.join(',');
    previous = e;
  }
}

/** The whole Tenet text trace (one line per instruction event, each ending in a newline). */
export function tenetText(trace: Trace): string {
  let out = '';
  for (const line of tenetLines(trace)) out += `${line}\n`;
  return out;
}

// ---- Chrome trace events ----

/** One event of Chrome's trace-event format (the subset this export writes). */
export interface ChromeEvent {
  name: string;
  /** B: a slice begins; E: the innermost open slice of its thread ends; M: metadata. */
  ph: 'B' | 'E' | 'M';
  pid: number;
  tid: number;
  /** Microseconds. Metadata events have none. */
  ts?: number;
  cat?: string;
  args?: Record<string, Json>;
}

export interface ChromeTrace {
  traceEvents: ChromeEvent[];
  displayTimeUnit: 'ms';
  otherData: Record<string, Json>;
}

const PID = 1;

/** A slice's name: the callee of a call-out ("weigh_int2"), the signature of a call-back. */
export function chromeName(c: TraceCall): string {
  return c.kind === 'call-out' ? c.function.replace(/ \(0x[0-9a-f]+\)$/, '') : `call-back ${c.signature}`;
}

/**
 * The calls of a trace as Chrome trace events: each call-out and call-back a B/E pair on the
 * track (tid) of its guest thread, with its JS arguments, result or error and the number of
 * instructions recorded while it was the innermost call. Events go in the trace's order, so
 * the slices of one thread nest as the calls did.
 */
export function chromeTrace(trace: Trace): ChromeTrace {
  const tids = new Map<string, number>();
  const meta: ChromeEvent[] = [{ name: 'process_name', ph: 'M', pid: PID, tid: 0, args: { name: `abiscope ${trace.abi}` } }];
  const tidOf = (thread: string): number => {
    let tid = tids.get(thread);
    if (tid === undefined) {
      tid = tids.size + 1;
      tids.set(thread, tid);
      meta.push({ name: 'thread_name', ph: 'M', pid: PID, tid, args: { name: thread } });
      meta.push({ name: 'thread_sort_index', ph: 'M', pid: PID, tid, args: { sort_index: tid } });
    }
    return tid;
  };
  const slices: ChromeEvent[] = [];
  const open: { call: TraceCall; began: number; instructions: number }[] = [];
  let last = 0;
  const end = (at: number, extra: Record<string, Json>) => {
    const o = open.pop()!;
    const ts = Math.max(at, o.began);
    slices.push({ name: chromeName(o.call), cat: o.call.kind, ph: 'E', pid: PID, tid: tidOf(o.call.thread), ts, args: { ...extra, instructions: o.instructions } });
  };
  for (const e of trace.events) {
    if (e.kind === 'instruction') {
      if (open.length) open[open.length - 1].instructions++;
      continue;
    }
    if (e.kind !== 'enter' && e.kind !== 'exit') continue;
    const ev: CallEvent = e;
    const call = trace.calls[ev.call];
    last = Math.max(last, ev.time);
    if (ev.kind === 'enter') {
      open.push({ call, began: ev.time, instructions: 0 });
      slices.push({
        name: chromeName(call), cat: call.kind, ph: 'B', pid: PID, tid: tidOf(call.thread), ts: ev.time,
        args: { call: call.id, signature: call.signature, function: call.function, parent: call.parent, depth: call.depth, args: ev.args ?? [] },
      });
      continue;
    }
    // Calls end innermost first; one left open below this one (never expected) ends with it.
    while (open.length && open[open.length - 1].call.id !== ev.call) end(ev.time, { unfinished: true });
    if (open.length) end(ev.time, ev.error !== undefined ? { error: ev.error } : { result: ev.result ?? null });
  }
  while (open.length) end(last, { unfinished: true });
  return {
    traceEvents: [...meta, ...slices],
    displayTimeUnit: 'ms',
    otherData: { format: trace.format, abi: trace.abi, target: trace.target, truncated: trace.truncated, counts: { ...trace.counts } },
  };
}
