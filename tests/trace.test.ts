// Traces checked against the plan, for generated conformance signatures on every convention:
// the host's writes into the frame are the plan's operations at the plan's offsets; the stub's
// loads read the image slots the plan names; the snapshot at the callee's entry lists every
// argument where the plan placed it, with the bytes and value that were passed; the trace
// follows docs/trace.schema.json. Then the options (limits, filters) and nested call-backs.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Sandbox } from '../sandbox/sandbox.ts';
import { HAND_FIXTURE_DIRS, HAND_FIXTURE_ABIS, fixtureObjects, fixtureTypes } from '../sandbox/fixtures.ts';
import { UsageError } from '../errors.ts';
import type { FramePlan } from '../abis/plan.ts';
import type { HostWriteEvent, InstructionEvent, MemoryEvent, Trace, TraceEvent } from '../sandbox/trace-format.ts';
import { casesFor, loadGenCases } from './gen/cases.ts';
import { toJson } from '../layout/json.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const validate = new Ajv({ allErrors: true, strict: true }).compile(JSON.parse(readFileSync(join(ROOT, 'docs', 'trace.schema.json'), 'utf8')) as object);
const GEN = loadGenCases();
/** Every fifth generated case (the suite stays fast; the choice is fixed, so failures reproduce). */
const casesOf = (abi: string) => casesFor(GEN, abi).filter((_, i) => i % 5 === 0);

const of = <K extends TraceEvent['kind']>(t: Trace, kind: K) => t.events.filter((e): e is Extract<TraceEvent, { kind: K }> => e.kind === kind);
const where = (p: FramePlan['args'][number]['pieces'][number]) => (p.kind === 'reg' ? p.reg : `[sp+${p.offset + p.slotOffset}]`);

describe('docs/trace.schema.json', () => {
  it('is what the types say (scripts/json-schemas.mjs --check trace)', () => {
    expect(() => execFileSync(process.execPath, [join(ROOT, 'scripts', 'json-schemas.mjs'), '--check', 'trace'], { stdio: 'pipe' })).not.toThrow();
  });
});

describe.each(HAND_FIXTURE_ABIS.map((abi) => ({ abi, dir: HAND_FIXTURE_DIRS[abi][0] })))('traces on $abi ($dir)', ({ abi, dir }) => {
  let sb: Sandbox;
  beforeAll(async () => {
    sb = await Sandbox.open(abi, { poison: 0xa5 });
    sb.declare(fixtureTypes());
    sb.declare(GEN.types);
    sb.load(...fixtureObjects(dir));
  });
  afterAll(() => sb.close());

  it(`${casesOf(abi).length} generated signatures: host writes, stub loads and the entry snapshot are the plan's`, () => {
    for (const c of casesOf(abi)) {
      const f = sb.func(c.prototype);
      const plan = f.plan(c.variadicTypes);
      const { value, trace } = f.trace(c.args, {}, c.variadicTypes);
      const label = c.prototype;
      expect(value, `${label}: the callee saw every argument right while traced`).toBe(0);
      if (!validate(trace)) expect.fail(`${label}: ${JSON.stringify(validate.errors?.slice(0, 3))}`);
      expect(trace.calls).toHaveLength(1);
      const frame = trace.calls[0].frame!;
      expect(frame, `${label}: a snapshot at the callee's entry`).toBeDefined();

      // The host's writes: one per host operation before the call, at base + offset, of its size.
      const writes = of(trace, 'host-write') as HostWriteEvent[];
      for (const [index, op] of plan.ops.entries()) {
        if (op.op !== 'move' && op.op !== 'arg-pointer' && op.op !== 'function') continue;
        const w = writes.find((x) => x.op === index);
        expect(w, `${label}: a host write for op ${index} (${op.op})`).toBeDefined();
        expect(w!.address).toBe(frame.base + op.to);
        expect(w!.size).toBe(op.op === 'move' ? op.slotSize : op.size);
        if (op.op !== 'function') expect(w!.arg).toBe(op.arg);
      }

      // The stub's loads read the slots the plan names.
      const reads = (of(trace, 'memory') as MemoryEvent[]).filter((e) => e.access === 'read');
      for (const op of plan.ops) {
        if (op.op !== 'load') continue;
        const r = reads.find((e) => e.address === frame.base + op.from);
        expect(r, `${label}: a read of ${op.reg}'s slot at [sp+${op.from}]`).toBeDefined();
        expect(r!.touched).toContain(`image slot`);
      }

      // The snapshot: every argument, where the plan put it, with the value passed.
      expect(frame.args.map((a) => a.name)).toEqual(plan.args.map((a) => a.name));
      for (const [i, a] of plan.args.entries()) {
        const got = frame.args[i];
        expect(got.type).toBe(a.type);
        if (a.passing === 'value') expect(got.locations, `${label}: ${a.name}`).toEqual(a.pieces.map(where));
        else expect(got.locations.slice(0, a.pieces.length)).toEqual(a.pieces.map(where));
        expect(got.bytes.length).toBe(2 * a.size);
        const arg = c.args[i];
        // Scalars: the value the callee received is the literal (floats may round: compared by the callee itself above).
        if (typeof arg === 'bigint' || (typeof arg === 'number' && !/float|_Bool/.test(a.type))) expect(String(got.value), `${label}: ${a.name}`).toBe(String(toJson(arg)));
        expect(got.pointer.at).toBe(frame.base + plan.region2.offset + i * plan.dataModel.pointerSize);
      }
      expect(frame.returnAddressSymbol).toMatch(/call stub/);
    }
  });

  it('register changes follow the values: the load of the first integer argument register', () => {
    const f = sb.func('int weigh_int2(int a, int b)');
    const plan = f.plan();
    const { trace } = f.trace([1234, -5]);
    const first = plan.args[0].pieces[0];
    const insns = of(trace, 'instruction') as InstructionEvent[];
    if (first.kind === 'reg') {
      const change = insns.flatMap((e) => e.changes).find((c) => c.reg === first.reg || (abi === 'x86_64-sysv' && c.reg === 'rdi'));
      expect(change, `a change of ${first.reg}`).toBeDefined();
      expect(BigInt(change!.new) & 0xffffffffn).toBe(1234n);
    } else {
      // i386: on the stack; the callee reads it from [sp+0] of the frame
      const frame = trace.calls[0].frame!;
      const read = (of(trace, 'memory') as MemoryEvent[]).find((e) => e.access === 'read' && e.address === frame.base && !insns.find((i) => i.seq === e.by)?.abiscope);
      expect(read?.value).toBe('0x4d2');
      expect(read?.touched).toMatch(/stack slot \[sp\+0\] \(argument a\)/);
    }
    expect(insns.some((e) => e.abiscope) && insns.some((e) => !e.abiscope && e.owner.startsWith('weigh_int2'))).toBe(true);
  });

  it('options: an instruction budget truncates, filters keep their part, and the sandbox goes on untraced', () => {
    const f = sb.func('int weigh_int2(int a, int b)');
    const full = f.trace([5, 7]).trace;
    const n = of(full, 'instruction').length;
    expect(n).toBe(full.counts.instructions);
    const short = f.trace([5, 7], { maxInstructions: 3 }).trace;
    expect(short.truncated).toBe(true);
    expect(of(short, 'instruction')).toHaveLength(3);
    expect(short.counts.instructions).toBe(n);
    const stubs = f.trace([5, 7], { only: 'stubs' }).trace;
    expect(of(stubs, 'instruction').every((e) => e.abiscope)).toBe(true);
    const callee = f.trace([5, 7], { only: 'callee' }).trace;
    expect(of(callee, 'instruction').length).toBeGreaterThan(0);
    expect(of(callee, 'instruction').every((e) => !e.abiscope)).toBe(true);
    expect(of(stubs, 'instruction').length + of(callee, 'instruction').length).toBe(n);
    expect(of(f.trace([5, 7], { memory: false }).trace, 'memory')).toHaveLength(0);
    expect(of(f.trace([5, 7], { registers: false }).trace, 'instruction').every((e) => e.changes.length === 0)).toBe(true);
    const streamed: TraceEvent[] = [];
    const s = f.trace([5, 7], { onEvent: (e) => streamed.push(e) }).trace;
    expect(s.streamed).toBe(true);
    expect(s.events).toHaveLength(0);
    expect(streamed.map((e) => e.seq).sort((a, b) => a - b)).toEqual(full.events.map((e) => e.seq));
    expect(f(5, 7)).toBe(31);
    expect(() => f.trace([5, 7], { maxInstructions: -1 })).toThrow(UsageError);
    expect(() => f.trace([5, 7], { only: 'everything' as 'all' })).toThrow(/only "everything": expected one of all, stubs, callee, memory/);
  });

  it('a call-out with call-backs: every call with its parent, entered and left in order', () => {
    const apply = sb.func('int apply_n(int (*f)(int), int n, int x)');
    const { value, trace } = apply.trace([(x: number) => x * 2 + 1, 3, 0]);
    expect(value).toBe(7);
    expect(trace.calls.map((c) => [c.kind, c.parent, c.depth])).toEqual([['call-out', null, 0], ['call-back', 0, 1], ['call-back', 0, 1], ['call-back', 0, 1]]);
    const calls = trace.events.flatMap((e) => (e.kind === 'enter' || e.kind === 'exit' ? [`${e.kind} ${e.call}`] : []));
    expect(calls).toEqual(['enter 0', 'enter 1', 'exit 1', 'enter 2', 'exit 2', 'enter 3', 'exit 3', 'exit 0']);
    const enters = trace.events.filter((e) => e.kind === 'enter');
    expect(enters.slice(1).map((e) => (e.kind === 'enter' ? e.args : undefined))).toEqual([[0], [1], [3]]);
    const blockWrites = (of(trace, 'memory') as MemoryEvent[]).filter((e) => e.touched === "a call-back thunk's block");
    expect(blockWrites.some((e) => e.access === 'write') && blockWrites.some((e) => e.access === 'read')).toBe(true);
    expect(blockWrites.length).toBeGreaterThan(0);
    expect(validate(trace), JSON.stringify(validate.errors?.slice(0, 3))).toBe(true);
  });

  it('a call that faults: its trace ends with the error, the hooks are gone, the sandbox works', () => {
    const got: Trace[] = [];
    const deref = sb.func('int deref(int *p)', { trace: { onTrace: (t) => got.push(t) } });
    expect(() => deref(16)).toThrow(/MemoryFault|memory/i);
    expect(got).toHaveLength(1);
    const last = got[0].events.filter((e) => e.kind === 'exit').at(-1);
    expect(last?.kind === 'exit' && last.error).toMatch(/Fault/);
    expect(of(got[0], 'instruction').some((e) => e.owner.startsWith('deref'))).toBe(true);
    // untraced again: a call counts no trace events, and the machine still counts what runs
    const f = sb.func('int weigh_int2(int a, int b)');
    expect(f(5, 7)).toBe(31);
    const { count } = sb.machine.countInstructions(() => f(5, 7));
    expect(count).toBe(f.trace([5, 7]).trace.counts.instructions);
  });

  it('a sandbox traces every call when asked, and gives each trace to onTrace', async () => {
    const got: Trace[] = [];
    const t = await Sandbox.open(abi, { trace: { onTrace: (x) => got.push(x), memory: false } });
    try {
      t.load(...fixtureObjects(dir));
      const f = t.func('int weigh_int2(int a, int b)');
      expect(f(1, 2)).toBe(8);
      expect(f.callWithRecord([2, 3]).trace?.format).toBe('abiscope-trace/1');
      expect(got).toHaveLength(2);
      expect(got.every((x) => of(x, 'memory').length === 0 && of(x, 'instruction').length > 0)).toBe(true);
      expect(t.func('int weigh_int2(int a, int b)', { trace: false }).callWithRecord([1, 1]).trace).toBeUndefined();
    } finally {
      t.close();
    }
    await expect(Sandbox.open(abi, { trace: { maxInstructions: 1.5 } })).rejects.toThrow(UsageError);
  });
});
