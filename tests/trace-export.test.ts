// The Tenet and Chrome exports of traces recorded on every convention (cli/trace-export.ts,
// docs/trace-exports.md): the Tenet file read back line by line as Tenet reads it, and checked
// against the trace's instruction, register and memory events; the Chrome file's slices
// against the trace's calls, threads and times.
import { beforeAll, afterAll, describe, expect, it } from 'vitest';
import { Sandbox, type ForeignFunction } from '../sandbox/sandbox.ts';
import { HAND_FIXTURE_DIRS, fixtureObjects, fixtureTypes } from '../sandbox/fixtures.ts';
import type { AbiName } from '../backends/registry.ts';
import type { InstructionEvent, MemoryEvent, Trace } from '../sandbox/trace-format.ts';
import { TENET_ARCH, chromeName, chromeTrace, tenetText, type ChromeEvent } from '../cli/trace-export.ts';

const BUILDS = (Object.entries(HAND_FIXTURE_DIRS) as [AbiName, readonly string[]][]).flatMap(([abi, dirs]) => dirs.map((dir) => ({ abi, dir })));

interface TenetLine { regs: Map<string, bigint>; pcs: bigint[]; mem: { access: 'mr' | 'mw'; address: number; bytes: string }[] }

/** A Tenet line as Tenet's parser reads it: comma-separated name=value, memory as mr/mw=ADDRESS:HEX. */
function parseTenet(line: string, pc: string): TenetLine {
  const out: TenetLine = { regs: new Map(), pcs: [], mem: [] };
  for (const item of line.split(',')) {
    const [name, value, ...rest] = item.split('=');
    expect(rest, `one '=' in '${item}'`).toEqual([]);
    if (name === 'mr' || name === 'mw') {
      const [address, bytes] = value.split(':');
      expect(address).toMatch(/^0x[0-9a-f]+$/);
      expect(bytes).toMatch(/^([0-9a-f]{2})+$/);
      out.mem.push({ access: name, address: Number(address), bytes });
    } else {
      expect(value, `${name}'s value`).toMatch(/^0x[0-9a-f]+$/);
      if (name === pc) out.pcs.push(BigInt(value));
      else {
        expect(out.regs.has(name), `${name} once in a line`).toBe(false);
        out.regs.set(name, BigInt(value));
      }
    }
  }
  return out;
}

/** A memory value in memory order, by Node's Buffer (not the export's code). */
function bufferBytes(m: MemoryEvent, endian: 'little' | 'big'): string {
  const b = Buffer.alloc(m.size);
  const v = BigInt(m.value);
  if (m.size === 8) {
    if (endian === 'little') b.writeBigUInt64LE(v);
    else b.writeBigUInt64BE(v);
  } else if (m.size <= 6) {
    if (endian === 'little') b.writeUIntLE(Number(v), 0, m.size);
    else b.writeUIntBE(Number(v), 0, m.size);
  } else throw new Error(`a memory access of ${m.size} bytes: not expected in these traces`);
  return b.toString('hex');
}

const instructionsOf = (t: Trace) => t.events.filter((e): e is InstructionEvent => e.kind === 'instruction');

/** The checks that hold for every Tenet export; returns the parsed lines. */
function checkTenet(t: Trace): TenetLine[] {
  const arch = TENET_ARCH[t.target];
  const exported = new Set(arch.registers);
  const text = tenetText(t);
  expect(text.endsWith('\n')).toBe(true);
  const lines = text.slice(0, -1).split('\n').map((l) => parseTenet(l, arch.pc));
  const ins = instructionsOf(t);
  expect(lines.length).toBe(ins.length);
  expect(ins.length).toBeGreaterThan(5);
  const byInstruction = new Map<number, MemoryEvent[]>();
  for (const e of t.events) if (e.kind === 'memory') byInstruction.set(e.by, [...(byInstruction.get(e.by) ?? []), e]);
  // Replayed as Tenet does, the state at line k is the state the k-th instruction started from.
  const state = new Map<string, bigint>();
  lines.forEach((line, k) => {
    expect(line.pcs, `line ${k}: one pc`).toEqual([BigInt(ins[k].address)]);
    for (const r of line.regs.keys()) expect(exported.has(r), `${r} is a register Tenet knows`).toBe(true);
    for (const [r, v] of line.regs) state.set(r, v);
    for (const c of ins[k].changes) if (exported.has(c.reg)) expect(state.get(c.reg), `line ${k}: ${c.reg} before ${ins[k].text}`).toBe(BigInt(c.old));
    // The memory on a line is what the instruction before it read and wrote, in order, bytes in memory order.
    const mem = k === 0 ? [] : byInstruction.get(ins[k - 1].seq) ?? [];
    expect(line.mem).toEqual(mem.map((m) => ({ access: m.access === 'read' ? 'mr' : 'mw', address: m.address, bytes: bufferBytes(m, t.endian) })));
  });
  // The first line is the whole initial state: a register's first change's old value, 0 for one that never changes.
  const first = new Map(arch.registers.map((r) => [r, 0n]));
  for (const r of arch.registers) {
    const c = ins.flatMap((i) => i.changes).find((x) => x.reg === r);
    if (c) first.set(r, BigInt(c.old));
  }
  expect(lines[0].regs).toEqual(first);
  return lines;
}

describe.each(BUILDS)('exports of traces on $abi ($dir)', ({ abi, dir }) => {
  let sb: Sandbox;
  let weigh: ForeignFunction;
  let apply: ForeignFunction;
  beforeAll(async () => {
    sb = await Sandbox.open(abi);
    sb.declare(fixtureTypes());
    sb.load(...fixtureObjects(dir));
    weigh = sb.func('int weigh_int2(int a, int b)');
    apply = sb.func('int apply_n(int (*f)(int), int n, int x)');
  });
  afterAll(() => sb.close());

  it('Tenet: one line per instruction, each with its pc; registers and memory as the trace recorded them', () => {
    const { value, trace } = weigh.trace([5, 7]);
    expect(value).toBe(31);
    const lines = checkTenet(trace);
    const ins = instructionsOf(trace);
    const exported = new Set(TENET_ARCH[trace.target].registers);
    // Nothing unrecorded ran between two instructions: a line's registers are exactly what the instruction before changed.
    for (let k = 1; k < lines.length; k++) {
      expect(lines[k].regs).toEqual(new Map(ins[k - 1].changes.filter((c) => exported.has(c.reg)).map((c) => [c.reg, BigInt(c.new)])));
    }
    // The stub loads a from the register image (or the callee reads it from the stack): the bytes read are the bytes the host wrote there.
    const hostA = trace.events.find((e) => e.kind === 'host-write' && e.arg === 0 && e.region !== 'region 2');
    expect(hostA?.kind).toBe('host-write');
    if (hostA?.kind !== 'host-write') return;
    const readA = lines.flatMap((l) => l.mem).find((m) => m.access === 'mr' && m.address === hostA.address);
    expect(readA?.bytes.length, 'a is read where the host wrote it').toBeGreaterThan(0);
    expect(hostA.bytes.startsWith(readA!.bytes)).toBe(true);
    expect(lines.some((l) => l.mem.length > 0)).toBe(true);
  });

  it('Tenet: call-backs and a callee-only trace: lines say the value each instruction started from', () => {
    const all = apply.trace([(x: number) => x + 1, 3, 0]).trace;
    expect(all.calls.map((c) => c.kind)).toEqual(['call-out', 'call-back', 'call-back', 'call-back']);
    checkTenet(all);
    // With the stubs and thunks left out, registers change between recorded instructions; replayed,
    // the Tenet lines still give each instruction the state it began from (checkTenet's replay).
    const callee = apply.trace([(x: number) => x + 1, 3, 0], { only: 'callee' }).trace;
    expect(instructionsOf(callee).every((i) => !i.abiscope)).toBe(true);
    checkTenet(callee);
    // Without register changes, lines carry the pc and memory only.
    const bare = weigh.trace([5, 7], { registers: false }).trace;
    const pcOnly = tenetText(bare).trim().split('\n').map((l) => parseTenet(l, TENET_ARCH[bare.target].pc));
    expect(pcOnly.every((l) => l.regs.size === 0 && l.pcs.length === 1)).toBe(true);
    expect(pcOnly.length).toBe(instructionsOf(bare).length);
  });

  it('Chrome: a B/E pair per call on its thread\'s track, named, nested, with thread names and the JS values', () => {
    const worker = sb.threads.find((t) => t.name === 'worker') ?? sb.thread('worker');
    const { value, trace } = apply.trace([(x: number) => weigh.on(worker)(x, 1), 2, 0]);
    const w = (a: number, b: number) => 2 * a + 3 * b; // weigh_int2
    expect(value).toBe(w(w(0, 1), 1));
    expect(trace.calls.map((c) => `${c.kind} ${c.thread}`)).toEqual(['call-out main', 'call-back main', 'call-out worker', 'call-back main', 'call-out worker']);
    const chrome = JSON.parse(JSON.stringify(chromeTrace(trace))) as { traceEvents: ChromeEvent[]; otherData: { format: string } };
    expect(chrome.otherData.format).toBe('abiscope-trace/1');
    const events = chrome.traceEvents;
    const names = new Map(events.filter((e) => e.ph === 'M' && e.name === 'thread_name').map((e) => [e.tid, e.args?.name]));
    expect([...names.values()].sort()).toEqual(['main', 'worker']);
    const slices = events.filter((e) => e.ph === 'B' || e.ph === 'E');
    expect(slices.length).toBe(2 * trace.calls.length);
    for (const e of slices) {
      expect(names.has(e.tid), `tid ${e.tid} has a thread_name`).toBe(true);
      expect(e.pid).toBe(1);
      expect(Number.isInteger(e.ts) && e.ts! >= 0).toBe(true);
    }
    // Per thread, every E closes the innermost open B of the same call.
    const open = new Map<number, ChromeEvent[]>();
    const seen: number[] = [];
    for (const e of slices) {
      const stack = open.get(e.tid) ?? [];
      open.set(e.tid, stack);
      if (e.ph === 'B') {
        stack.push(e);
        seen.push(e.args!.call as number);
        continue;
      }
      const b = stack.pop();
      expect(b?.name).toBe(e.name);
      expect(e.ts!).toBeGreaterThanOrEqual(b!.ts!);
    }
    expect([...open.values()].every((s) => s.length === 0)).toBe(true);
    expect(seen).toEqual(trace.calls.map((c) => c.id));
    for (const c of trace.calls) {
      const b = slices.find((e) => e.ph === 'B' && e.args!.call === c.id)!;
      const enter = trace.events.find((e) => e.kind === 'enter' && e.call === c.id);
      const exit = trace.events.find((e) => e.kind === 'exit' && e.call === c.id);
      if (enter?.kind !== 'enter' || exit?.kind !== 'exit') throw new Error(`call #${c.id} has no enter and exit events`);
      expect(b.name).toBe(chromeName(c));
      expect(b.name).toBe(c.kind === 'call-out' ? (c.signature.includes('apply_n') ? 'apply_n' : 'weigh_int2') : 'call-back int (int)');
      expect(b.cat).toBe(c.kind);
      expect(names.get(b.tid)).toBe(c.thread);
      expect(b.ts).toBe(enter.time);
      expect(b.args!.args).toEqual(enter.args);
      // Its E: the first E after it on its track that closes it (slices nest, so the first with the same depth of nesting).
      let depth = 0;
      const e = slices.slice(slices.indexOf(b) + 1).find((x) => x.tid === b.tid && (x.ph === 'B' ? (depth++, false) : depth-- === 0));
      expect(e?.ts).toBe(exit.time);
      expect(e?.args?.result).toEqual(exit.result);
    }
    // Every recorded instruction is counted in exactly one slice.
    const counted = slices.filter((e) => e.ph === 'E').reduce((n, e) => n + (e.args!.instructions as number), 0);
    expect(counted).toBe(instructionsOf(trace).length);
  });
});
