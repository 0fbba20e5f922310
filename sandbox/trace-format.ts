// The trace of a call, as plain JSON (format `abiscope-trace/1`, documented in docs/trace-json.md,
// schema docs/trace.schema.json generated from these types by scripts/json-schemas.mjs).
// Addresses are numbers (every guest address abiscope maps is below 2^31); register values,
// memory values and bytes are hex strings (64-bit and 128-bit values do not fit a JS number):
// bytes in memory order, register values as numbers in hex ("0x2a").
import type { Json } from '../layout/json.ts';
import type { FramePlan } from '../abis/plan.ts';

export const TRACE_FORMAT = 'abiscope-trace/1';

/** What a trace records (Sandbox option `trace`, func option `trace`, or `f.trace(args, options)`). */
export interface TraceOptions {
  /** Instruction events kept at most (default 100,000); past it the trace is `truncated`, counting goes on. */
  maxInstructions?: number;
  /**
   * 'all' (default); 'stubs': only instructions of abiscope's own code (call stubs, thunks,
   * call-back entries); 'callee': only the guest's code; 'memory': no instruction events.
   */
  only?: 'all' | 'stubs' | 'callee' | 'memory';
  /** Guest memory reads and writes (default true). */
  memory?: boolean;
  /** The registers each instruction changed (default true; the dearest part of a trace). */
  registers?: boolean;
  /**
   * Streams every event to this function as it happens instead of keeping it: the returned
   * trace then has `streamed: true` and no events (large traces; the CLI writes them to a file).
   */
  onEvent?: (event: TraceEvent) => void;
}

export interface Trace {
  format: typeof TRACE_FORMAT;
  abi: string;
  /** Unicorn target: x86, x86_64, arm, ppc32. */
  target: string;
  endian: 'little' | 'big';
  pointerSize: number;
  /** The registers instruction events report changes of. */
  registers: string[];
  /** Their values when the trace began (with `registers: false`, empty). */
  initialRegisters: Record<string, string>;
  options: { maxInstructions: number; only: 'all' | 'stubs' | 'callee' | 'memory'; memory: boolean; registers: boolean };
  /** The instruction budget ran out: later instructions were counted, not recorded. */
  truncated: boolean;
  /** Events were given to `onEvent` and are not in `events`. */
  streamed: boolean;
  /** Everything that happened, recorded or not. */
  counts: { instructions: number; memory: number; hostWrites: number; calls: number };
  /** Every call-out and call-back of the trace, by `id` (the index in this list). */
  calls: TraceCall[];
  events: TraceEvent[];
}

/** A call-out (the host calls guest code) or a call-back (guest code calls a JS function). */
export interface TraceCall {
  id: number;
  kind: 'call-out' | 'call-back';
  /** The call it runs inside (a call-back's call-out, a nested call-out's call-back), or null. */
  parent: number | null;
  thread: string;
  /** Nesting depth on its thread: 0 for a top-level call-out. */
  depth: number;
  signature: string;
  /** The callee (a call-out) or the caller (a call-back), symbolized. */
  function: string;
  /** Call-outs: the frame plan the call ran (docs/plan-json.md): a trace draws its frames without abiscope. */
  plan?: FramePlan;
  /** Call-outs: the frame as the callee received it. */
  frame?: FrameSnapshot;
  /** Call-backs: where the thunk stored the argument registers. */
  block?: { start: number; end: number };
}

/** A call-out's frame at the instant its callee received control. */
export interface FrameSnapshot {
  /** Frame base: the stack pointer at the call. */
  base: number;
  /** The stack pointer at the callee's first instruction (x86: below the pushed return address). */
  entrySp: number;
  returnAddress: number;
  returnAddressSymbol: string;
  /** The frame's parts, low to high. */
  regions: { name: 'stack arguments' | 'register image' | 'region 2' | 'region 1' | 'canary'; start: number; end: number }[];
  args: SnapshotArg[];
}

export interface SnapshotArg {
  name: string;
  type: string;
  /** Where each piece was read: a register name or `[sp+N]` from the frame base. */
  locations: string[];
  /** The argument's bytes as the callee received them (a by-reference argument: the copy's). */
  bytes: string;
  value: Json;
  /** Frame offset of its region 2 pointer, and where that pointer points. */
  pointer: { at: number; to: number };
}

export type TraceEvent = CallEvent | HostWriteEvent | InstructionEvent | MemoryEvent;

interface EventBase {
  /** Position in the trace, from 0. */
  seq: number;
}

/** A call-out or call-back entered (with the JS values in) or left (with the value out, or the error). */
export interface CallEvent extends EventBase {
  kind: 'enter' | 'exit';
  call: number;
  /** Host wall time, microseconds since the trace began (tracing slows the guest down: compare calls with each other only). */
  time: number;
  /** enter: the JS arguments. */
  args?: Json[];
  /** exit: the JS result. */
  result?: Json;
  /** exit: the error that ended the call. */
  error?: string;
}

/** The host wrote part of a call-out's frame (the whole frame goes in one guest write: these say what each part is). */
export interface HostWriteEvent extends EventBase {
  kind: 'host-write';
  call: number;
  address: number;
  size: number;
  bytes: string;
  /** "argument b (double) to region 3, image slot d0". */
  what: string;
  region: 'stack arguments' | 'register image' | 'region 2' | 'region 1' | 'canary';
  /** The argument it belongs to, if any. */
  arg?: number;
  /** Index of the plan operation that wrote it. */
  op?: number;
}

export interface InstructionEvent extends EventBase {
  kind: 'instruction';
  address: number;
  bytes: string;
  /** Disassembly (Capstone). */
  text: string;
  /** The stub, thunk, function or symbol: "weigh_int2+0x4", "x86_64-sysv compiled call stub #1+0x8". */
  owner: string;
  /** True for abiscope's own code (stubs, thunks, call-back entries). */
  abiscope: boolean;
  /** ARM: Thumb code. */
  thumb?: boolean;
  /** The registers this instruction changed. */
  changes: RegisterChange[];
}

export interface RegisterChange {
  reg: string;
  old: string;
  new: string;
}

export interface MemoryEvent extends EventBase {
  kind: 'memory';
  access: 'read' | 'write';
  address: number;
  size: number;
  /** The value read or written, as a number in hex in target byte order. */
  value: string;
  /** What it touched: "region 3 of call-out #0: stack slot [sp+8] (argument b)", "the callee's own frame", "guest heap", "global counter+0x4". */
  touched: string;
  /** The call whose frame or block it touched, if any. */
  call?: number;
  /** The instruction event (seq) that made the access. */
  by: number;
}
