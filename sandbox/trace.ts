// Recording a trace (the format: trace-format.ts, docs/trace-json.md). A recorder lives for one
// top-level traced call-out and everything it runs: the sandbox attaches it to the machine's
// hooks when the call begins and detaches it when the call ends. It is told of each call-out
// (with its frame, from which it derives the host's writes: the host writes the frame in one
// guest write, and the plan says what each part is) and each call-back, and hears every
// instruction and memory access from the hooks. All its state is its own: nothing is kept
// between traces.
import { UsageError } from '../errors.ts';
import type { Machine, TraceSink } from '../emu/machine.ts';
import { Disassembler, type Isa } from '../emu/asm.ts';
import { LAYOUT } from '../emu/memory-map.ts';
import type { FramePlan, PlanOp, TypedPlan } from '../abis/plan.ts';
import { readIncoming, liveRegisters } from '../backends/incoming.ts';
import { toJson, type Json } from '../layout/json.ts';
import type { JsValue } from '../layout/values.ts';
import {
  TRACE_FORMAT, type FrameSnapshot, type InstructionEvent, type MemoryEvent, type Trace, type TraceCall, type TraceEvent, type TraceOptions,
} from './trace-format.ts';

const DEFAULT_MAX_INSTRUCTIONS = 100_000;
const ONLY = ['all', 'stubs', 'callee', 'memory'] as const;

const hex = (bytes: Uint8Array): string => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
const hexValue = (v: bigint): string => `0x${v.toString(16)}`;

/** Bytes per register in a trace's register buffers: the widest traced register (xmm, q). */
const REG_STRIDE = 16;

/** A register's little-endian bytes (as Unicorn gives them) as a hex number. */
function registerHex(bytes: Uint8Array, at: number): string {
  let end = at + REG_STRIDE;
  while (end > at + 1 && bytes[end - 1] === 0) end--;
  let s = '';
  for (let k = end - 1; k >= at; k--) s += bytes[k].toString(16).padStart(2, '0');
  return `0x${s.replace(/^0+(?=.)/, '')}`;
}

/** A JS value as trace JSON (anything that is not a C value, e.g. a function, by its description). */
function jsonOf(v: unknown): Json {
  if (typeof v === 'function') return `[function ${v.name || 'anonymous'}]`;
  if (v instanceof Uint8Array || ArrayBuffer.isView(v)) return `[${v.constructor.name} of ${(v as ArrayBufferView).byteLength} bytes]`;
  try {
    return toJson(v as JsValue);
  } catch {
    return String(v);
  }
}

/** A call's frame or block while it runs: what memory accesses are classified against. */
interface ActiveCall {
  id: number;
  plan?: FramePlan;
  base: number;
  top: number;
  block?: { start: number; end: number };
  /** Call-outs: the callee's first instruction, until the snapshot is taken. */
  entry?: number;
  typed?: TypedPlan;
  spAtCall?: number;
  returnAddress?: number;
}

/** Trace options, checked before any work (a bad one is a UsageError naming it). */
export function checkTraceOptions(options: TraceOptions & { onTrace?: unknown }): void {
  if (typeof options !== 'object' || options === null) throw new UsageError(`trace options ${String(options)}: expected true, false or an object`);
  const max = options.maxInstructions ?? DEFAULT_MAX_INSTRUCTIONS;
  if (!Number.isSafeInteger(max) || max < 0) throw new UsageError(`trace option maxInstructions ${String(max)}: expected an integer from 0`);
  if (options.only !== undefined && !ONLY.includes(options.only)) throw new UsageError(`trace option only ${JSON.stringify(options.only)}: expected one of ${ONLY.join(', ')}`);
  for (const k of ['memory', 'registers'] as const) {
    if (options[k] !== undefined && typeof options[k] !== 'boolean') throw new UsageError(`trace option ${k} ${JSON.stringify(options[k])}: expected true or false`);
  }
  if (options.onEvent !== undefined && typeof options.onEvent !== 'function') throw new UsageError('trace option onEvent: expected a function');
  if (options.onTrace !== undefined && typeof options.onTrace !== 'function') throw new UsageError('trace option onTrace: expected a function');
}

export class TraceRecorder implements TraceSink {
  private readonly trace: Trace;
  private readonly opts: Required<Omit<TraceOptions, 'onEvent'>> & Pick<TraceOptions, 'onEvent'>;
  private readonly regNames: string[];
  /** The trace registers' bytes before the pending instruction, and now: REG_STRIDE bytes each. */
  private regBefore: Uint8Array | undefined;
  private readonly regViews: [Uint8Array, Uint8Array];
  private pending: InstructionEvent | undefined;
  private lastInstruction = -1;
  private keepCurrent = false;
  private seq = 0;
  private keptInstructions = 0;
  private readonly active: ActiveCall[] = [];
  private readonly owners = new Map<number, string>();
  private readonly texts = new Map<string, string>();
  private detach: (() => void) | undefined;

  constructor(private readonly m: Machine, abi: string, options: TraceOptions = {}) {
    checkTraceOptions(options);
    const max = options.maxInstructions ?? DEFAULT_MAX_INSTRUCTIONS;
    this.opts = { maxInstructions: max, only: options.only ?? 'all', memory: options.memory ?? true, registers: options.registers ?? true, onEvent: options.onEvent };
    this.regNames = m.target.traceRegisters.filter((r) => m.target.registers[r]);
    const n = this.regNames.length * REG_STRIDE;
    this.regViews = [new Uint8Array(n), new Uint8Array(n)];
    this.trace = {
      format: TRACE_FORMAT,
      abi,
      target: m.target.name,
      endian: m.target.endian,
      pointerSize: m.target.pointerSize,
      registers: this.regNames,
      initialRegisters: {},
      options: { maxInstructions: max, only: this.opts.only, memory: this.opts.memory, registers: this.opts.registers },
      truncated: false,
      streamed: options.onEvent !== undefined,
      counts: { instructions: 0, memory: 0, hostWrites: 0, calls: 0 },
      calls: [],
      events: [],
    };
  }

  private readonly began = performance.now();
  private now(): number {
    return Math.round((performance.now() - this.began) * 1000);
  }

  get recording(): boolean {
    return this.detach !== undefined;
  }

  start(): void {
    if (this.opts.registers) {
      this.readRegisters(this.regViews[1]);
      this.regBefore = this.regViews[1];
      this.regNames.forEach((r, i) => { this.trace.initialRegisters[r] = registerHex(this.regViews[1], i * REG_STRIDE); });
    }
    this.detach = this.m.attachTrace(this);
  }

  /** Detaches the hooks and returns the finished trace. */
  stop(): Trace {
    this.detach?.();
    this.detach = undefined;
    this.completePending();
    return this.trace;
  }

  // ---- calls (told by call-chain.ts) ----

  callOutBegins(typed: TypedPlan, fn: number, args: unknown[], thread: string, depth: number, frame: { base: number; top: number }): number {
    const id = this.addCall({ kind: 'call-out', thread, depth, signature: typed.plan.signature, function: this.m.symbolize(fn), plan: typed.plan });
    this.active.push({ id, plan: typed.plan, typed, base: frame.base, top: frame.top, entry: this.m.codeAddress(fn) });
    this.emit({ seq: this.seq++, kind: 'enter', call: id, time: this.now(), args: args.map(jsonOf) });
    this.hostWrites(id, typed.plan, frame.base);
    return id;
  }

  callBackBegins(signature: string, caller: number, args: unknown[], thread: string, depth: number, block: { start: number; end: number }): number {
    const id = this.addCall({ kind: 'call-back', thread, depth, signature, function: this.m.symbolize(caller, { returnAddress: true }), block });
    this.active.push({ id, base: block.start, top: block.end, block });
    this.emit({ seq: this.seq++, kind: 'enter', call: id, time: this.now(), args: args.map(jsonOf) });
    return id;
  }

  callEnds(id: number, outcome: { result: unknown } | { error: unknown }): void {
    const at = this.active.findIndex((a) => a.id === id);
    if (at >= 0) this.active.splice(at, 1);
    if ('error' in outcome) {
      const e = outcome.error;
      this.emit({ seq: this.seq++, kind: 'exit', call: id, time: this.now(), error: e instanceof Error ? `${e.name}: ${e.message}` : String(e) });
    } else {
      this.emit({ seq: this.seq++, kind: 'exit', call: id, time: this.now(), result: jsonOf(outcome.result) });
    }
  }

  private addCall(c: Omit<TraceCall, 'id' | 'parent'>): number {
    const id = this.trace.calls.length;
    const parent = this.active.length ? this.active[this.active.length - 1].id : null;
    this.trace.calls.push({ id, parent, ...c });
    this.trace.counts.calls++;
    return id;
  }

  /** The host's writes of a call-out's frame, one event per host operation before the call. */
  private hostWrites(call: number, plan: FramePlan, base: number): void {
    plan.ops.forEach((op, index) => {
      const w = writeOf(plan, op);
      if (!w) return;
      this.trace.counts.hostWrites++;
      const address = base + w.to;
      const region = regionOf(plan, w.to);
      this.emit({
        seq: this.seq++, kind: 'host-write', call, address, size: w.size, bytes: hex(this.m.read(address, w.size)),
        what: `${w.what} to ${region}${slotName(plan, w.to)}`, region, ...(w.arg !== undefined ? { arg: w.arg } : {}), op: index,
      });
    });
  }

  // ---- hooks ----

  instruction(address: number, size: number): void {
    this.trace.counts.instructions++;
    this.snapshotAtEntry(address);
    this.completePending();
    const abiscope = this.m.isAbiscopeCode(address);
    const only = this.opts.only;
    const wanted = only === 'all' || (only === 'stubs' && abiscope) || (only === 'callee' && !abiscope);
    this.keepCurrent = false;
    this.lastInstruction = -1;
    if (!wanted || this.trace.truncated) return;
    if (this.keptInstructions >= this.opts.maxInstructions) {
      this.trace.truncated = true;
      return;
    }
    this.keptInstructions++;
    const bytes = this.m.read(address, size);
    const thumb = this.m.target.name === 'arm' ? (this.m.readRegNumber('cpsr') & 0x20) !== 0 : undefined;
    const event: InstructionEvent = {
      seq: this.seq++, kind: 'instruction', address, bytes: hex(bytes), text: this.disassemble(address, bytes, thumb),
      owner: this.ownerOf(address), abiscope, ...(thumb !== undefined ? { thumb } : {}), changes: [],
    };
    this.lastInstruction = event.seq;
    this.keepCurrent = true;
    this.pending = event;
    // Kept in order now; its register changes are filled in when the next instruction comes.
    if (!this.opts.onEvent) this.trace.events.push(event);
  }

  /** At a host trap the registers are still the guest's: the last instruction's changes are complete. */
  reached(): void {
    this.completePending();
  }

  memory(write: boolean, address: number, size: number, value: bigint): void {
    this.trace.counts.memory++;
    if (!this.opts.memory || this.trace.truncated) return;
    if (this.opts.only !== 'memory' && !this.keepCurrent) return;
    let v: bigint;
    if (write) v = BigInt.asUintN(size * 8, value);
    else {
      const b = this.m.read(address, size);
      v = 0n;
      for (let i = 0; i < size; i++) v = (v << 8n) | BigInt(b[this.m.littleEndian ? size - 1 - i : i]);
    }
    const { touched, call } = this.touched(address);
    const event: MemoryEvent = { seq: this.seq++, kind: 'memory', access: write ? 'write' : 'read', address, size, value: hexValue(v), touched, ...(call !== undefined ? { call } : {}), by: this.lastInstruction };
    this.emit(event);
  }

  // ---- helpers ----

  private emit(event: TraceEvent): void {
    if (this.opts.onEvent) this.opts.onEvent(event);
    else this.trace.events.push(event);
  }

  /** The previous instruction's register changes (registers now against registers then). */
  private completePending(): void {
    const before = this.regBefore;
    if (!this.opts.registers || !before) {
      if (this.pending && this.opts.onEvent) this.opts.onEvent(this.pending);
      this.pending = undefined;
      return;
    }
    // Registers are compared as bytes (two buffers, swapped): values are made only for changes.
    const now = before === this.regViews[0] ? this.regViews[1] : this.regViews[0];
    this.readRegisters(now);
    const p = this.pending;
    if (p) {
      for (let i = 0; i < this.regNames.length; i++) {
        const at = i * REG_STRIDE;
        let same = true;
        for (let k = at; k < at + REG_STRIDE; k++) if (now[k] !== before[k]) { same = false; break; }
        if (!same) p.changes.push({ reg: this.regNames[i], old: registerHex(before, at), new: registerHex(now, at) });
      }
      if (this.opts.onEvent) this.opts.onEvent(p);
    }
    this.regBefore = now;
    this.pending = undefined;
  }

  private readRegisters(out: Uint8Array): void {
    out.fill(0);
    for (let i = 0; i < this.regNames.length; i++) this.m.readRegInto(this.regNames[i], out.subarray(i * REG_STRIDE, (i + 1) * REG_STRIDE));
  }

  /** At a call-out's callee's first instruction: the frame as the callee receives it. */
  private snapshotAtEntry(address: number): void {
    const call = this.active[this.active.length - 1];
    if (!call || call.entry === undefined || this.m.codeAddress(address) !== call.entry || !call.typed || !call.plan) return;
    call.entry = undefined;
    const m = this.m;
    const plan = call.plan;
    const sp = m.sp;
    const returnAddress = m.target.linkRegister ? m.readRegNumber(m.target.linkRegister) : m.readPointer(sp);
    let incoming: ReturnType<typeof readIncoming> = [];
    try {
      incoming = readIncoming(m, call.typed, sp, liveRegisters(m));
    } catch {
      incoming = [];
    }
    const ptr = plan.dataModel.pointerSize;
    const frame: FrameSnapshot = {
      base: call.base,
      entrySp: sp,
      returnAddress,
      returnAddressSymbol: m.symbolize(returnAddress, { returnAddress: true }),
      regions: [
        { name: 'stack arguments', start: call.base + plan.stackArea.offset, end: call.base + plan.stackArea.offset + plan.stackArea.size },
        { name: 'register image', start: call.base + plan.imageArea.offset, end: call.base + plan.imageArea.offset + plan.imageArea.size },
        { name: 'region 2', start: call.base + plan.region2.offset, end: call.base + plan.region2.offset + plan.region2.size },
        { name: 'region 1', start: call.base + plan.region1.offset, end: call.top - 16 },
        { name: 'canary', start: call.top - 16, end: call.top },
      ],
      args: plan.args.map((a, i) => {
        const got = incoming[i];
        const at = plan.region2.offset + i * ptr;
        const to = Number(m.readPointer(call.base + at));
        return {
          name: a.name, type: a.type, locations: got?.from.map((f) => locationText(f, call.base)) ?? [],
          bytes: got ? hex(got.bytes) : '', value: got ? jsonOf(got.value) : null, pointer: { at: call.base + at, to },
        };
      }),
    };
    this.trace.calls[call.id].frame = frame;
  }

  private ownerOf(address: number): string {
    let o = this.owners.get(address);
    if (o === undefined) {
      o = this.m.symbolize(address).replace(/ \(0x[0-9a-f]+\)$/, '');
      this.owners.set(address, o);
    }
    return o;
  }

  private disassemble(address: number, bytes: Uint8Array, thumb: boolean | undefined): string {
    const key = `${address}:${hex(bytes)}:${thumb ? 't' : ''}`;
    let t = this.texts.get(key);
    if (t === undefined) {
      const isa: Isa = thumb ? 'thumb' : this.m.target.isa;
      t = Disassembler.for(isa).disassemble(bytes, address, 1)[0]?.text ?? '(undecodable)';
      this.texts.set(key, t);
    }
    return t;
  }

  /** What a guest memory access touched, innermost call first. */
  private touched(address: number): { touched: string; call?: number } {
    const ptr = this.m.target.pointerSize;
    for (let i = this.active.length - 1; i >= 0; i--) {
      const c = this.active[i];
      if (c.block) {
        if (address >= c.block.start && address < c.block.end) return { touched: `call-back #${c.id}'s thunk block`, call: c.id };
        continue;
      }
      if (!c.plan) continue;
      if (address >= c.base && address < c.top) return { touched: `${frameText(c.plan, address - c.base)} of call-out #${c.id}`, call: c.id };
      if (!this.m.target.linkRegister && address >= c.base - ptr && address < c.base) return { touched: `the return address pushed by call-out #${c.id}'s stub`, call: c.id };
    }
    // A call-back's thunk saves the argument registers before the host knows which call-back it is.
    if (this.pending?.abiscope && /thunk|call-back return/.test(this.pending.owner)) return { touched: "a call-back thunk's block" };
    if (address >= LAYOUT.heapBase && address < LAYOUT.heapBase + LAYOUT.heapSize) return { touched: 'guest heap' };
    const region = this.m.regionAt(address);
    const innermost = [...this.active].reverse().find((c) => c.plan);
    if (region?.kind === 'stack') {
      if (innermost && address < innermost.base && address >= innermost.base - 0x10000) return { touched: "the callee's own frame", call: innermost.id };
      return { touched: `stack (${region.name})` };
    }
    const global = this.m.objectAt(address);
    if (global) return { touched: `global ${global}` };
    return { touched: region ? `${region.name}` : 'unmapped memory' };
  }
}

/** The bytes a host operation writes into the frame. */
function writeOf(plan: FramePlan, op: PlanOp): { to: number; size: number; what: string; arg?: number } | undefined {
  const arg = (i: number) => `argument ${plan.args[i]?.name ?? i} (${plan.args[i]?.type ?? '?'})`;
  switch (op.op) {
    case 'move': return { to: op.to, size: op.slotSize, what: `${arg(op.arg)}${op.valueOffset || op.size !== plan.args[op.arg]?.size ? ` bytes ${op.valueOffset}..${op.valueOffset + op.size - 1}` : ''}`, arg: op.arg };
    case 'copy': return { to: op.to, size: op.size, what: `a copy of ${arg(op.arg)}`, arg: op.arg };
    case 'address': return { to: op.to, size: op.size, what: `the address of a copy (${op.why})` };
    case 'result-pointer': return { to: op.to, size: op.size, what: 'the hidden struct-result pointer' };
    case 'arg-pointer': return { to: op.to, size: op.size, what: `the pointer to ${arg(op.arg)}`, arg: op.arg };
    case 'constant': return { to: op.to, size: op.size, what: `constant ${op.value} (${op.why})` };
    case 'function': return { to: op.to, size: op.size, what: "the callee's address" };
    case 'back-chain': return { to: op.to, size: op.size, what: "the back chain (the caller's sp)" };
    default: return undefined;
  }
}

function regionOf(plan: FramePlan, off: number): 'stack arguments' | 'register image' | 'region 2' | 'region 1' | 'canary' {
  if (off < plan.stackArea.offset + plan.stackArea.size) return 'stack arguments';
  if (off >= plan.imageArea.offset && off < plan.imageArea.offset + plan.imageArea.size) return 'register image';
  if (off >= plan.region2.offset && off < plan.region2.offset + plan.region2.size) return 'region 2';
  return off >= plan.region1.offset ? 'region 1' : 'register image';
}

/** ", image slot d0" for an offset in the register image. */
function slotName(plan: FramePlan, off: number): string {
  if (off < plan.imageArea.offset || off >= plan.imageArea.offset + plan.imageArea.size) return off < plan.stackArea.size ? `, stack slot [sp+${off}]` : '';
  const rel = off - plan.imageArea.offset;
  const s = plan.image.slots.find((x) => rel >= x.offset && rel < x.offset + x.size);
  return s ? `, image slot ${s.reg}${s.role === 'arg' ? '' : ` (${s.role})`}` : '';
}

/** "region 3: stack slot [sp+8] (argument b)" for a frame offset. */
function frameText(plan: FramePlan, off: number): string {
  const region = regionOf(plan, off);
  if (region === 'stack arguments') {
    const a = plan.args.find((x) => x.pieces.some((p) => p.kind === 'stack' && off >= p.offset && off < p.offset + p.slotSize));
    return `region 3: stack slot [sp+${off}]${a ? ` (argument ${a.name})` : ''}`;
  }
  if (region === 'register image') {
    const rel = off - plan.imageArea.offset;
    const s = plan.image.slots.find((x) => rel >= x.offset && rel < x.offset + x.size);
    const a = s && plan.args.find((x) => x.pieces.some((p) => p.kind === 'reg' && (p.reg === s.reg || plan.image.aliases[p.reg]?.reg === s.reg)));
    return `region 3: image slot ${s ? `${s.reg} (${s.role})` : `+${rel}`}${a && s?.role === 'arg' ? ` (argument ${a.name})` : ''}`;
  }
  if (region === 'region 2') {
    const i = Math.floor((off - plan.region2.offset) / plan.region2.entrySize);
    return `region 2: pointer to argument ${plan.args[i]?.name ?? i}`;
  }
  if (off >= plan.region1.offset) return 'region 1 (copies)';
  return 'the frame';
}

/** readIncoming's "0x7fef0010" stack locations as [sp+N] from the frame base; registers as they are. */
function locationText(from: string, base: number): string {
  const m = /^(\*?)0x([0-9a-f]+)$/.exec(from);
  if (!m) return from;
  const a = parseInt(m[2], 16);
  return m[1] ? `*[0x${a.toString(16)}]` : `[sp+${a - base}]`;
}
