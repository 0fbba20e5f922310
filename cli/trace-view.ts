// The view `abiscope trace` prints of a trace, in the manner of pwndbg's and GEF's context at a
// breakpoint on the callee's first instruction: the call; the arguments where the callee finds
// them; a telescope over the frame, one word a line, each word said what it is; every recorded
// instruction with what it changed; a summary. Everything comes from the trace (its JSON holds
// the same), nothing from the machine.
import type { Colors } from './colors.js';
import type { Json } from '../layout/json.ts';
import type { CallEvent, FrameSnapshot, HostWriteEvent, InstructionEvent, MemoryEvent, Trace, TraceCall, TraceEvent } from '../sandbox/trace-format.ts';

const hex = (n: number | bigint) => `0x${n.toString(16)}`;
const json = (v: Json | undefined) => JSON.stringify(v ?? null);
/** An error's first line (a fault's message goes on with the pc, the call chain and the registers: stderr has it all). */
const firstLine = (text: string) => text.split('\n')[0];
const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
/** "[sp+8]", "[sp-8]": an address as an offset from the frame base (the stack pointer at the call). */
const spOffset = (address: number, base: number) => (address >= base ? `[sp+${address - base}]` : `[sp-${base - address}]`);

/** The events of a trace, indexed for the view. */
class Index {
  readonly enter = new Map<number, CallEvent>();
  readonly exit = new Map<number, CallEvent>();
  readonly instructions: InstructionEvent[] = [];
  /** Position in `instructions` of each instruction event, by seq. */
  readonly position = new Map<number, number>();
  readonly memoryBy = new Map<number, MemoryEvent[]>();
  readonly hostWrites = new Map<number, HostWriteEvent[]>();

  constructor(readonly trace: Trace) {
    for (const e of trace.events) {
      if (e.kind === 'enter') this.enter.set(e.call, e);
      else if (e.kind === 'exit') this.exit.set(e.call, e);
      else if (e.kind === 'instruction') {
        this.position.set(e.seq, this.instructions.length);
        this.instructions.push(e);
      } else if (e.kind === 'memory') push(this.memoryBy, e.by, e);
      else push(this.hostWrites, e.call, e);
    }
  }

  /** The callee's first instruction event of a call-out (undefined when it was not recorded). */
  entryOf(call: TraceCall): InstructionEvent | undefined {
    const m = / \((0x[0-9a-f]+)\)$/.exec(call.function);
    const enter = this.enter.get(call.id);
    // A call-back's `function` is the code that called back, not an entry.
    if (!m || !enter || call.kind !== 'call-out') return undefined;
    const entry = Number(m[1]) & (this.trace.target === 'arm' ? ~1 : ~0);
    return this.instructions.find((i) => i.seq > enter.seq && i.address === entry);
  }

  /**
   * A register's value just before an instruction ran, read off the changes around it: the
   * `new` of its last change since `since` (a call-out's stub loading it), else the `old` of
   * its next change, else the `new` of any change before. Undefined when the trace never saw
   * the register change. (The host changes registers without an instruction when it switches
   * guest threads: hence the stub's own changes first.)
   */
  registerBefore(reg: string, at: InstructionEvent, since: number): bigint | undefined {
    const i = this.position.get(at.seq) ?? 0;
    const change = (k: number) => this.instructions[k].changes.find((x) => x.reg === reg);
    for (let k = i - 1; k >= 0 && this.instructions[k].seq > since; k--) {
      const c = change(k);
      if (c) return BigInt(c.new);
    }
    for (let k = i; k < this.instructions.length; k++) {
      const c = change(k);
      if (c) return BigInt(c.old);
    }
    for (let k = i - 1; k >= 0; k--) {
      const c = change(k);
      if (c) return BigInt(c.new);
    }
    return undefined;
  }
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

export function traceView(trace: Trace, c: Colors): string {
  const ix = new Index(trace);
  const out: string[] = [];
  out.push(`${c.bold('abiscope trace')}  ${c.bold(trace.abi)}  ${c.dim(`(${trace.target}, ${trace.endian}-endian, ${trace.pointerSize}-byte pointers)`)}`);
  const top = trace.calls[0];
  if (top) out.push(...callHeader(ix, top, c));
  if (trace.streamed) out.push('', c.dim('the events were streamed to a file: nothing more to show'));
  for (const call of trace.calls) {
    if (!call.frame) continue;
    out.push('', ...argumentsView(ix, call, call.frame, c), '', ...telescope(ix, call, call.frame, c));
  }
  out.push('', ...instructionsView(ix, c), '', ...summary(trace, ix, c));
  return `${out.map((l) => l.trimEnd()).join('\n')}\n`;
}

function callHeader(ix: Index, call: TraceCall, c: Colors): string[] {
  const exit = ix.exit.get(call.id);
  const outcome = !exit ? c.dim('(did not return)') : exit.error !== undefined ? c.red(`error: ${firstLine(exit.error)}`) : `${c.dim('result')} ${c.yellow(json(exit.result))}`;
  return [
    `${c.bold(`call-out #${call.id}`)}  ${call.signature}`,
    `  ${c.dim('callee')} ${call.function}  ${c.dim('thread')} ${call.thread}`,
    `  ${c.dim('args')}   ${c.yellow(json(ix.enter.get(call.id)?.args ?? []))}`,
    `  ${outcome}`,
  ];
}

const calleeName = (call: TraceCall) => call.function.replace(/ \(0x[0-9a-f]+\)$/, '');

/** The arguments where the callee finds them at its first instruction (frame.args), with the return address. */
function argumentsView(ix: Index, call: TraceCall, frame: FrameSnapshot, c: Colors): string[] {
  const t = ix.trace;
  const entry = ix.entryOf(call);
  const memory = frameMemory(ix, call, frame, entry);
  const width = t.pointerSize * 2 + 2;
  const rows: [string, string, string][] = [];
  const since = ix.enter.get(call.id)?.seq ?? -1;
  for (const a of frame.args) {
    const values = placeValues(a, t.pointerSize, t.endian);
    a.locations.forEach((loc, i) => {
      const value = values[i] ?? locationValue(ix, loc, frame, memory, entry, since);
      const ref = loc.startsWith('*[');
      const piece = ref ? c.dim(' (the copy it points to)') : a.locations.length > 1 && !values.byReference ? c.dim(` (part ${i + 1} of ${a.locations.length})`) : '';
      const what = i === 0 ? `${c.green(a.name)}  ${c.dim(a.type)} = ${c.yellow(json(a.value))}${values.byReference ? c.dim(' (a pointer to its copy)') : piece}` : `${c.green(a.name)}${piece}`;
      rows.push([loc, value ?? c.dim(`bytes ${a.bytes || '?'}`), what]);
    });
    if (a.locations.length === 0) rows.push(['?', c.dim(`bytes ${a.bytes || '?'}`), `${c.green(a.name)}  ${c.dim(a.type)} = ${c.yellow(json(a.value))}`]);
  }
  const sp = frame.entrySp - frame.base;
  rows.push(['sp', word(BigInt(frame.entrySp), t.pointerSize), c.dim(`at the callee's entry: the frame base 0x${frame.base.toString(16)}${sp ? ` - ${-sp}` : ''}`)]);
  const onStack = frame.entrySp < frame.base;
  rows.push([onStack ? spOffset(frame.entrySp, frame.base) : 'lr', word(BigInt(frame.returnAddress), t.pointerSize), `${c.green('return address:')} ${frame.returnAddressSymbol}`]);
  const locWidth = Math.max(...rows.map((r) => r[0].length));
  return [
    c.bold(`call-out #${call.id} ${calleeName(call)}: the arguments at the callee's entry${entry ? '' : c.dim(' (its first instruction was not recorded)')}`),
    ...rows.map(([loc, value, what]) => `  ${c.cyan(loc.padEnd(locWidth))}  ${value.padEnd(width)}  ${what}`),
  ];
}

const word = (v: bigint, size: number) => `0x${v.toString(16).padStart(size * 2, '0')}`;

/** Bytes in memory order (hex) as the number they hold, in hex of their width. */
function bytesValue(bytes: string, endian: 'little' | 'big'): string {
  const pairs = bytes.match(/../g) ?? [];
  return `0x${(endian === 'little' ? pairs.reverse() : pairs).join('')}`;
}

/** How many of an argument's bytes a place holds: a register its width (an SSE or VFP double register one eightbyte), a stack slot the rest. */
function placeSize(loc: string, pointerSize: number): number {
  if (/^(xmm\d+|d\d+|f\d+)$/.test(loc)) return 8;
  if (/^s\d+$/.test(loc)) return 4;
  if (loc.startsWith('[')) return Infinity;
  return pointerSize;
}

/**
 * The value each place of an argument holds, from the bytes the callee received (exact, where
 * the trace's registers could have been changed by the host without an instruction): by value,
 * the bytes in the order of the places, each taking its size; by reference (a place `*[address]`
 * holds the copy's bytes), the other place holds the copy's address.
 */
function placeValues(a: FrameSnapshot['args'][number], pointerSize: number, endian: 'little' | 'big'): (string | undefined)[] & { byReference?: boolean } {
  const ref = a.locations.find((l) => l.startsWith('*['));
  if (ref) {
    const address = BigInt(ref.slice(2, -1));
    return Object.assign(a.locations.map((l) => (l === ref ? `bytes ${a.bytes}` : word(address, pointerSize))), { byReference: true });
  }
  let at = 0;
  return a.locations.map((l) => {
    const n = Math.min(placeSize(l, pointerSize), a.bytes.length / 2 - at);
    const part = a.bytes.slice(2 * at, 2 * (at + n));
    at += n;
    return part ? bytesValue(part, endian) : undefined;
  });
}

/** An argument location's value at the callee's entry: a register's from the changes, a stack slot's from the frame's bytes. */
function locationValue(ix: Index, loc: string, frame: FrameSnapshot, memory: Map<number, number>, entry: InstructionEvent | undefined, since: number): string | undefined {
  const t = ix.trace;
  const stack = /^\[sp\+(\d+)\]$/.exec(loc);
  if (stack) return wordAt(memory, frame.base + Number(stack[1]), t.pointerSize, t.endian).text;
  if (!entry) return undefined;
  if (t.registers.includes(loc)) {
    const v = ix.registerBefore(loc, entry, since);
    return v === undefined ? undefined : word(v, t.registers.includes(loc) && /^(xmm|q|fp)/.test(loc) ? 16 : t.pointerSize);
  }
  // VFP: s2k and s2k+1 are the low and high halves of dk (the trace records the d registers).
  const s = /^s(\d+)$/.exec(loc);
  if (s && t.registers.includes(`d${Number(s[1]) >> 1}`)) {
    const d = ix.registerBefore(`d${Number(s[1]) >> 1}`, entry, since);
    return d === undefined ? undefined : word((d >> BigInt(32 * (Number(s[1]) & 1))) & 0xffffffffn, 4);
  }
  return undefined;
}

/**
 * The frame's bytes as the callee found them, as far as the trace knows: the host's writes,
 * then every memory access (the stub's saves, the return address a call pushed) before the
 * callee's first instruction. Bytes nothing wrote or read are absent.
 */
function frameMemory(ix: Index, call: TraceCall, frame: FrameSnapshot, entry: InstructionEvent | undefined): Map<number, number> {
  const t = ix.trace;
  const bytes = new Map<number, number>();
  for (const w of ix.hostWrites.get(call.id) ?? []) {
    for (let i = 0; i < w.size; i++) bytes.set(w.address + i, parseInt(w.bytes.slice(2 * i, 2 * i + 2), 16));
  }
  const from = ix.enter.get(call.id)?.seq ?? 0;
  const until = entry?.seq ?? ix.exit.get(call.id)?.seq ?? Infinity;
  const lo = Math.min(frame.entrySp, frame.base);
  const hi = frame.regions[frame.regions.length - 1]?.end ?? frame.base;
  for (const e of ix.trace.events) {
    if (e.seq <= from || e.seq >= until || e.kind !== 'memory' || e.address + e.size <= lo || e.address >= hi) continue;
    const v = BigInt(e.value);
    for (let i = 0; i < e.size; i++) {
      const shift = BigInt(8 * (t.endian === 'little' ? i : e.size - 1 - i));
      bytes.set(e.address + i, Number((v >> shift) & 0xffn));
    }
  }
  return bytes;
}

/** A pointer-sized word of the frame: its hex text (?? for bytes not known) and its value if every byte is known. */
function wordAt(memory: Map<number, number>, address: number, size: number, endian: 'little' | 'big'): { text: string; value?: bigint } {
  const order = Array.from({ length: size }, (_, i) => (endian === 'little' ? address + size - 1 - i : address + i));
  const known = order.map((a) => memory.get(a));
  const text = `0x${known.map((b) => (b === undefined ? '??' : b.toString(16).padStart(2, '0'))).join('')}`;
  if (known.some((b) => b === undefined)) return { text };
  return { text, value: known.reduce<bigint>((v, b) => (v << 8n) | BigInt(b!), 0n) };
}

/** What a host write is, in the telescope's words: "register image: rsi (b)", "region 2: &b". */
function hostWriteLabel(w: HostWriteEvent, frame: FrameSnapshot): string {
  const arg = w.arg !== undefined ? frame.args[w.arg]?.name : undefined;
  // `what` is "<what it is> to <region>[, image slot <reg>| , stack slot [sp+N]]".
  const what = w.what.replace(/ to (stack arguments|register image|region 2|region 1|canary).*$/, '');
  const slot = /image slot (\S+)/.exec(w.what)?.[1];
  switch (w.region) {
    case 'register image': return `register image: ${slot ?? '?'} (${arg ?? what})`;
    case 'region 2': return `region 2: &${arg ?? what}`;
    case 'stack arguments': return `stack arguments: ${arg ?? what}`;
    case 'region 1': return `region 1: ${arg !== undefined ? `copy of ${arg}` : what}`;
    case 'canary': return 'canary';
  }
}

/** A memory event's "region 3: image slot rbx (saved) of call-out #0" in the telescope's words: "register image: rbx (saved)". */
function stubWriteLabel(touched: string): string {
  return touched.replace(/ of call-out #\d+$/, '').replace(/^region 3: image slot /, 'register image: ').replace(/^region 3: stack slot /, 'stack arguments: ');
}

/** The frame, one word a line from the lowest address the callee sees to the canary, each word said what it is. */
function telescope(ix: Index, call: TraceCall, frame: FrameSnapshot, c: Colors): string[] {
  const t = ix.trace;
  const ptr = t.pointerSize;
  const entry = ix.entryOf(call);
  const memory = frameMemory(ix, call, frame, entry);
  const writes = ix.hostWrites.get(call.id) ?? [];
  const from = ix.enter.get(call.id)?.seq ?? 0;
  const until = entry?.seq ?? Infinity;
  const guestWrites = t.events.filter((e): e is MemoryEvent => e.kind === 'memory' && e.access === 'write' && e.seq > from && e.seq < until);
  const lo = Math.min(frame.entrySp, frame.base);
  const hi = frame.regions[frame.regions.length - 1]?.end ?? frame.base;
  const out = [c.bold(`call-out #${call.id} ${calleeName(call)}: the frame at the callee's entry`) + c.dim(` (stack grows down; [sp+N] from the stack pointer at the call, 0x${frame.base.toString(16)})`)];
  let region: string | undefined;
  let quiet = 0;
  // Runs of words the stub saved with one value (callee-saved registers, most often zero) are
  // shown by their first word and a line for the rest.
  let saved: { count: number; value: string; last: string; at: number } | undefined;
  const flush = () => {
    const why = region === 'canary' ? 'the canary (its value is not in the trace)' : 'not written before the call';
    if (quiet) out.push(c.dim(`  ${' '.repeat(10)}... ${plural(quiet, 'word')}: ${why}`));
    quiet = 0;
    if (saved && saved.count > 1) out.push(c.dim(`  ${' '.repeat(10)}... ${plural(saved.count - 1, 'more word')} the stub saved, to ${spOffset(saved.at, frame.base)} (${saved.last}), all ${saved.value}`));
    saved = undefined;
  };
  for (let a = lo; a < hi; a += ptr) {
    const r = frame.regions.find((x) => a >= x.start && a < x.end);
    const name = r?.name ?? (a < frame.base ? 'below the frame' : 'between the regions');
    if (name !== region) {
      flush();
      region = name;
      out.push(c.dim(`  -- ${name}${r ? `: ${spOffset(r.start, frame.base)} to ${spOffset(r.end, frame.base)}, ${r.end - r.start} bytes` : ''} --`));
    }
    const w = wordAt(memory, a, ptr, t.endian);
    const host = writes.find((x) => x.address < a + ptr && x.address + x.size > a);
    const guest = guestWrites.find((x) => x.address < a + ptr && x.address + x.size > a);
    let label: string | undefined;
    if (a === frame.entrySp && frame.entrySp < frame.base) label = `return address: ${frame.returnAddressSymbol}`;
    else if (host) label = hostWriteLabel(host, frame);
    else if (guest) {
      const what = stubWriteLabel(guest.touched).replace(/ \(saved\)$/, '');
      const slot = what.replace(/^register image: /, '');
      if (saved && saved.value === w.text) {
        Object.assign(saved, { count: saved.count + 1, last: slot, at: a });
        continue;
      }
      flush();
      saved = { count: 1, value: w.text, last: slot, at: a };
      label = `${what} ${c.dim('(saved by the stub)')}`;
    }
    if (!label && w.value === undefined) {
      if (saved) flush();
      quiet++;
      continue;
    }
    if (!guest) flush();
    if (quiet) flush();
    const points = w.value !== undefined && w.value >= BigInt(lo) && w.value < BigInt(hi) ? c.dim(` -> ${spOffset(Number(w.value), frame.base)}`) : '';
    out.push(`  ${c.dim(hex(a).padEnd(10))}  ${spOffset(a, frame.base).padEnd(9)}  ${c.yellow(w.text)}  ${c.green(label ?? name)}${points}`);
  }
  flush();
  return out;
}

/** Every recorded instruction in order, under the code it belongs to, with what it changed and touched; calls entered and left. */
function instructionsView(ix: Index, c: Colors): string[] {
  const t = ix.trace;
  const out = [c.bold(`instructions (${ix.instructions.length} recorded)`) + c.dim('  ; registers changed, memory read (r) and written (w)')];
  const entries = new Set(t.calls.map((call) => ix.entryOf(call)?.seq).filter((s): s is number => s !== undefined));
  let depth = 0;
  let owner: string | undefined;
  const pad = () => '  '.repeat(depth);
  for (const e of t.events) {
    if (e.kind === 'enter' || e.kind === 'exit') {
      const call = t.calls[e.call];
      const what = `${call.kind} #${call.id} ${call.kind === 'call-out' ? calleeName(call) : `${call.signature} from ${call.function}`}`;
      if (e.kind === 'enter') {
        out.push(`${pad()}  ${c.magenta(`>> ${what}`)} ${c.yellow(json(e.args ?? []))}${call.thread !== 'main' ? c.dim(` on thread ${call.thread}`) : ''}`);
        const writes = ix.hostWrites.get(call.id)?.length ?? 0;
        if (writes) out.push(c.dim(`${pad()}     the host wrote the frame: ${plural(writes, 'part')}`));
        depth++;
      } else {
        depth = Math.max(0, depth - 1);
        out.push(`${pad()}  ${c.magenta(`<< ${what}`)} ${e.error !== undefined ? c.red(`error: ${firstLine(e.error)}`) : `returns ${c.yellow(json(e.result))}`}`);
      }
      owner = undefined;
      continue;
    }
    if (e.kind !== 'instruction') continue;
    const m = /^(.*)\+(0x[0-9a-f]+)$/.exec(e.owner);
    const base = m ? m[1] : e.owner;
    if (base !== owner) {
      owner = base;
      out.push(`${pad()}  ${c.bold(base)}${e.thumb ? c.dim(' (thumb)') : ''}${entries.has(e.seq) ? c.green("  <- the callee's entry") : ''}`);
    }
    out.push(`${pad()}    ${c.dim(hex(e.address).padEnd(10))} ${(m ? `+${m[2]}` : '+0x0').padEnd(7)} ${e.text.padEnd(36)}${marks(ix, e, c)}`);
  }
  return out;
}

/** "; rdi=0x5  r 0x7feffdf0=0x5": what an instruction changed and touched. */
function marks(ix: Index, e: InstructionEvent, c: Colors): string {
  const regs = e.changes.map((x) => `${c.cyan(x.reg)}=${c.yellow(x.new)}`);
  const mem = (ix.memoryBy.get(e.seq) ?? []).map((m) => c.dim(`${m.access === 'read' ? 'r' : 'w'} ${hex(m.address)}=${m.value}`));
  const all = [...regs, ...mem];
  return all.length ? ` ; ${all.join('  ')}` : '';
}

function summary(trace: Trace, ix: Index, c: Colors): string[] {
  const n = trace.counts;
  const outs = trace.calls.filter((x) => x.kind === 'call-out').length;
  const threads = new Set(trace.calls.map((x) => x.thread)).size;
  const only = trace.options.only !== 'all' ? ` (--trace-only ${trace.options.only})` : '';
  const state = trace.truncated
    ? c.red(`truncated: the first ${ix.instructions.length} instructions were recorded, the rest counted (raise --trace-max, now ${trace.options.maxInstructions})`)
    : c.green('complete');
  const events: TraceEvent[] = trace.events;
  return [
    c.bold('summary'),
    `  ${ix.instructions.length} of ${n.instructions} executed instructions recorded${only}, ${n.memory} memory ${n.memory === 1 ? 'access' : 'accesses'} (${events.filter((e) => e.kind === 'memory').length} recorded), ${plural(n.hostWrites, 'host write')}`,
    `  ${plural(n.calls, 'call')}: ${plural(outs, 'call-out')}, ${plural(n.calls - outs, 'call-back')}, on ${plural(threads, 'thread')}`,
    `  ${state}`,
  ];
}
