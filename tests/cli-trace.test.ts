// `abiscope trace` and the trace outputs of `call` (--trace-out, --tenet, --chrome-trace), run as
// a user runs them (tests/cli-run.ts). The view is checked against `explain` (where each argument
// goes, where the frame's regions are) and against the trace's own JSON; --trace-out against
// f.trace() in this process for the same call, streamed and whole.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { errorOf, resultOf, run } from './cli-run.ts';
import { HAND_FIXTURE_DIRS, HAND_FIXTURE_ABIS, FIXTURES } from '../sandbox/fixtures.ts';
import { Sandbox } from '../sandbox/sandbox.ts';
import type { AbiName } from '../backends/registry.ts';
import type { Trace, TraceEvent } from '../sandbox/trace-format.ts';
import type { FramePlan } from '../abis/plan.ts';
import { where } from '../cli/explain.ts';
import { traceView } from '../cli/trace-view.ts';
import { createColors } from 'picocolors';

const CONVENTIONS = HAND_FIXTURE_ABIS.map((abi) => ({ abi, dir: HAND_FIXTURE_DIRS[abi][0] }));
const objects = (dir: string) => ['scalars.o', 'callbacks.o', 'faults.o', 'libgcc-helpers.o', 'runtime.o'].map((o) => join(FIXTURES, 'obj', dir, o));
const callArgs = (abi: AbiName, dir: string) => ['--abi', abi, ...objects(dir).flatMap((f) => ['--elf', f])];
const WEIGH = ['--sig', 'int weigh_int2(int a, int b)', '--args', '[5, 7]'];

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'abiscope-cli-trace-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const readJson = <T>(file: string): T => JSON.parse(readFileSync(file, 'utf8')) as T;
/** Events without their host times (the only thing two runs of one call do not share). */
const timeless = (events: TraceEvent[]) => events.map((e) => (e.kind === 'enter' || e.kind === 'exit' ? { ...e, time: 0 } : e));
const asFile = (t: Trace) => ({ ...t, events: timeless(t.events) });

/** The trace f.trace() gives in this process for the same objects and call. */
async function libraryTrace(abi: AbiName, dir: string, sig: string, args: unknown[]): Promise<Trace> {
  const sb = await Sandbox.open(abi);
  try {
    sb.load(...objects(dir));
    return sb.func(sig).trace(args).trace;
  } finally {
    sb.close();
  }
}

describe.each(CONVENTIONS)('abiscope trace on $abi ($dir)', ({ abi, dir }) => {
  it('names each argument with the register or stack slot explain gives, shows the frame regions, no escape codes', async () => {
    const plan = JSON.parse((await run('explain', '--abi', abi, '--json', 'int weigh_int2(int a, int b)')).stdout) as FramePlan;
    const r = await run('trace', ...callArgs(abi, dir), ...WEIGH);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
    const out = r.stdout;
    expect(out).not.toMatch(/\x1b\[/);
    expect(out).toMatch(/^abiscope trace {2}\S+/);
    expect(out).toContain(`call-out #0  int weigh_int2(int a, int b)`);
    expect(out).toMatch(/\n {2}result 31\n/);
    // (b) each argument where explain says it goes, with its value
    const [a, b] = plan.args.map((x) => x.pieces.map(where));
    expect(a.length).toBe(1);
    const esc = (s: string) => s.replace(/[[\]+]/g, '\\$&');
    expect(out).toMatch(new RegExp(`\\n {2}${esc(a[0])} +0x0*5 +a {2}int = 5\\n`));
    expect(out).toMatch(new RegExp(`\\n {2}${esc(b[0])} +0x0*7 +b {2}int = 7\\n`));
    if (abi === 'x86_64-sysv') expect([a[0], b[0]]).toEqual(['rdi', 'rsi']);
    expect(out).toMatch(/\n {2}(\[sp-\d+\]|lr) +0x[0-9a-f]+ +return address: \S+ compiled call stub #1\+0x[0-9a-f]+/);
    // (c) the telescope: a heading per region where the plan puts it, each argument's words labelled
    const spans: [string, { offset: number; size: number }][] = [['stack arguments', plan.stackArea], ['register image', plan.imageArea], ['region 2', plan.region2]];
    for (const [name, { offset, size }] of spans) {
      const heading = `-- ${name}: [sp+${offset}] to [sp+${offset + size}], ${size} bytes --`;
      if (size > 0) expect(out).toContain(heading);
      else expect(out).not.toContain(`-- ${name}:`);
    }
    for (const [arg, loc] of [['a', a[0]], ['b', b[0]]]) {
      // the word the argument's region 2 pointer points to is the word that holds the argument
      const holder = new RegExp(`\\n {2}0x[0-9a-f]+ +(\\[sp\\+\\d+\\]) +0x[0-9a-f]+ +(register image: ${esc(loc)} \\(${arg}\\)|stack arguments: ${arg})\\n`).exec(out);
      expect(holder, `the word of ${arg}`).not.toBeNull();
      expect(out).toMatch(new RegExp(`\\[sp\\+\\d+\\] +0x[0-9a-f]+ +region 2: &${arg} -> ${esc(holder![1])}\\n`));
    }
    // (d) the disassembly, the callee's entry marked, (e) the summary
    expect(out).toMatch(/\n {4}weigh_int2(?: \(thumb\))? {2}<- the callee's entry\n/);
    expect(out).toContain('>> call-out #0 weigh_int2 [5,7]');
    expect(out).toContain('<< call-out #0 weigh_int2 returns 31');
    expect(out).toMatch(/\n {2}(\d+) of \1 executed instructions recorded/);
    expect(out).toMatch(/\n {2}complete\n$/);
  });

  it("with --trace-out, the view lists the JSON trace's instructions in order and its counts", async () => {
    const file = join(tmp, `view-${abi}.json`);
    const r = await run('trace', ...callArgs(abi, dir), ...WEIGH, '--trace-out', file);
    expect(r.code).toBe(0);
    const t = readJson<Trace>(file);
    const ins = t.events.filter((e) => e.kind === 'instruction');
    expect(ins.length).toBe(t.counts.instructions);
    let at = 0;
    for (const e of ins) {
      at = r.stdout.indexOf(`${e.text}`, at);
      expect(at, `${e.owner}: ${e.text} in order`).toBeGreaterThan(0);
    }
    expect(r.stdout).toContain(`  ${ins.length} of ${t.counts.instructions} executed instructions recorded, ${t.counts.memory} memory accesses`);
  });

  it('call --trace-out writes the trace f.trace() gives for the call, streamed (alone) and whole (with --tenet)', async () => {
    const streamed = join(tmp, `call-${abi}.json`);
    const whole = join(tmp, `call-whole-${abi}.json`);
    const tenet = join(tmp, `call-${abi}.tenet`);
    expect(resultOf(await run('call', ...callArgs(abi, dir), ...WEIGH, '--trace-out', streamed))).toBe(31);
    expect(resultOf(await run('call', ...callArgs(abi, dir), ...WEIGH, '--trace-out', whole, '--tenet', tenet))).toBe(31);
    const ref = await libraryTrace(abi, dir, 'int weigh_int2(int a, int b)', [5, 7]);
    expect(ref.events.length).toBeGreaterThan(20);
    for (const file of [streamed, whole]) {
      const t = readJson<Trace>(file);
      expect(t.format).toBe('abiscope-trace/1');
      expect(t.streamed).toBe(false);
      expect(asFile(t)).toEqual(asFile(ref));
    }
    const lines = readFileSync(tenet, 'utf8').trimEnd().split('\n');
    expect(lines.length).toBe(ref.events.filter((e) => e.kind === 'instruction').length);
  });
});

describe('abiscope call --trace-out, large and failing', () => {
  const abi: AbiName = 'x86_64-sysv';
  const dir = 'x86_64';
  const APPLY = 'int apply_n(int (*f)(int), int n, int x)';

  /** apply_n(id_int, n, 3): a guest function pointer, so a big trace from the command line. */
  async function applyArgs(n: number): Promise<string[]> {
    const sb = await Sandbox.open(abi);
    try {
      sb.load(...objects(dir));
      return ['--sig', APPLY, '--args', JSON.stringify([sb.func('int id_int(int x)').address, n, 3])];
    } finally {
      sb.close();
    }
  }

  it('a streamed trace of 200 calls through a pointer is valid JSON, one event a line, seq in order', async () => {
    const file = join(tmp, 'big.json');
    expect(resultOf(await run('call', ...callArgs(abi, dir), ...(await applyArgs(200)), '--trace-out', file))).toBe(3);
    const text = readFileSync(file, 'utf8');
    const t = JSON.parse(text) as Trace;
    expect(t.truncated).toBe(false);
    const c = t.counts;
    expect(t.events.length).toBe(c.instructions + c.memory + c.hostWrites + 2 * c.calls);
    expect(t.events.map((e) => e.seq)).toEqual(t.events.map((_, i) => i));
    expect(t.events.filter((e) => e.kind === 'instruction' && e.owner === 'id_int').length).toBe(200);
    expect(text.trimEnd().split('\n').length).toBe(t.events.length + 2); // the header line, one line per event, the rest
    // the same call with --trace-max: the first 100 instructions recorded, all counted
    const capped = join(tmp, 'capped.json');
    expect(resultOf(await run('call', ...callArgs(abi, dir), ...(await applyArgs(200)), '--trace-out', capped, '--trace-max', '100'))).toBe(3);
    const k = readJson<Trace>(capped);
    expect(k.truncated).toBe(true);
    expect(k.options.maxInstructions).toBe(100);
    expect(k.events.filter((e) => e.kind === 'instruction').length).toBe(100);
    expect(k.counts.instructions).toBe(c.instructions);
  });

  it('--trace-only and --no-trace-* say what is recorded', async () => {
    const file = join(tmp, 'callee.json');
    expect(resultOf(await run('call', ...callArgs(abi, dir), ...(await applyArgs(3)), '--trace-out', file, '--trace-only', 'callee', '--no-trace-memory', '--no-trace-registers'))).toBe(3);
    const t = readJson<Trace>(file);
    expect(t.options).toEqual({ maxInstructions: 100000, only: 'callee', memory: false, registers: false });
    const ins = t.events.filter((e) => e.kind === 'instruction');
    expect(ins.length).toBeGreaterThan(10);
    expect(ins.every((e) => !e.abiscope && e.changes.length === 0)).toBe(true);
    expect(t.events.some((e) => e.kind === 'memory')).toBe(false);
  });

  it('a call that faults still writes its trace, ending in the error; trace shows it, then fails', async () => {
    const file = join(tmp, 'fault.json');
    const e = errorOf(await run('call', ...callArgs(abi, dir), '--sig', 'int deref(int *p)', '--args', '[16]', '--trace-out', file));
    expect(e.type).toBe('MemoryFault');
    const t = readJson<Trace>(file);
    const last = t.events[t.events.length - 1];
    expect(last.kind === 'exit' && last.error).toMatch(/^MemoryFault: guest read of unmapped memory at 0x10/);
    const v = await run('trace', ...callArgs(abi, dir), '--sig', 'int deref(int *p)', '--args', '[16]');
    expect(v.code).toBe(1);
    expect(v.stdout).toContain('<< call-out #0 deref error: MemoryFault: guest read of unmapped memory at 0x10\n');
    expect(v.stdout).toMatch(/\n {2}p {2}int \* = 16\n|\n {2}rdi +0x0*10 +p {2}int \* = 16\n/);
    expect(v.stderr).toMatch(/^abiscope: MemoryFault: guest read of unmapped memory at 0x10/);
  });

  it('trace --tenet --chrome-trace: a Tenet line per instruction, Chrome JSON with a B/E pair per call', async () => {
    const json = join(tmp, 'both.json');
    const tenet = join(tmp, 'both.tenet');
    const chrome = join(tmp, 'both.chrome.json');
    const r = await run('trace', ...callArgs(abi, dir), ...(await applyArgs(2)), '--trace-out', json, '--tenet', tenet, '--chrome-trace', chrome);
    expect(r.code).toBe(0);
    const t = readJson<Trace>(json);
    const lines = readFileSync(tenet, 'utf8').trimEnd().split('\n');
    expect(lines.length).toBe(t.events.filter((e) => e.kind === 'instruction').length);
    expect(lines.every((l) => /(^|,)rip=0x[0-9a-f]+(,|$)/.test(l))).toBe(true);
    const c = readJson<{ traceEvents: { ph: string; name: string; tid: number; args?: { name?: string } }[] }>(chrome);
    expect(c.traceEvents.filter((e) => e.ph === 'B').map((e) => e.name)).toEqual(['apply_n']);
    expect(c.traceEvents.filter((e) => e.ph === 'E').length).toBe(1);
    expect(c.traceEvents.find((e) => e.ph === 'M' && e.name === 'thread_name')?.args?.name).toBe('main');
  });

  it('--html writes the trace page: one self-contained file holding the trace and its plan', async () => {
    const file = join(tmp, 'page.html');
    const r = await run('call', ...callArgs(abi, dir), ...WEIGH, '--html', file);
    expect(resultOf(r)).toBe(31);
    const html = readFileSync(file, 'utf8');
    expect(html).toMatch(/^<!doctype html>/i);
    expect(html).toContain('default-src &#39;none&#39;');
    expect(html).not.toMatch(/<script[^>]+src=|<link[^>]+href=|(src|href)=["']?https?:/); // the SVG namespace URI is no request
    expect(html).toContain('int weigh_int2(int a, int b)');
    expect(html).toContain('abiscope-plan/2'); // the call-out's plan travels in the trace
  });

  it('wrong trace options: each a usage error naming what to do, no file left behind', async () => {
    const x = join(tmp, 'never.json');
    expect(errorOf(await run('call', ...callArgs(abi, dir), ...WEIGH, '--trace-max', '5'))).toEqual({ type: 'UsageError',
      message: '--trace-max, --trace-only, --no-trace-memory and --no-trace-registers say what a trace records: give --trace-out, --tenet, --chrome-trace or --html too' });
    expect(errorOf(await run('call', ...callArgs(abi, dir), ...WEIGH, '--tenet', x, '--trace-only', 'memory')).message)
      .toBe('--tenet writes one line per instruction, and --trace-only memory records none: drop one of them');
    expect(errorOf(await run('call', ...callArgs(abi, dir), ...WEIGH, '--trace-out', join(tmp, 'no', 'such', 'dir.json'))).message)
      .toMatch(/^--trace-out \S+no\/such\/dir\.json: cannot write the file \(ENOENT/);
    const bad = await run('call', ...callArgs(abi, dir), ...WEIGH, '--trace-only', 'bogus');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("argument 'bogus' is invalid. Allowed choices are all, stubs, callee, memory.");
    const neg = await run('call', ...callArgs(abi, dir), ...WEIGH, '--trace-out', x, '--trace-max', '-1');
    expect(neg.code).toBe(1);
    expect(neg.stderr).toContain("option '--trace-max <n>' argument '-1' is invalid. expected a whole number from 0");
    // an argument that does not encode: the call never began, so there is no trace and no file
    expect(errorOf(await run('call', ...callArgs(abi, dir), '--sig', 'int weigh_int2(int a, int b)', '--args', '["x", 1]', '--trace-out', x)).type).toBe('ValueError');
    expect(existsSync(x)).toBe(false);
  });
});

describe('the view of call-backs, nested call-outs and by-reference arguments', () => {
  it('enters and leaves each call-back and each call-out it makes, indented; entries marked for call-outs only', async () => {
    const sb = await Sandbox.open('x86_64-sysv');
    try {
      sb.load(...objects('x86_64'));
      const weigh = sb.func('int weigh_int2(int a, int b)');
      const worker = sb.thread('worker');
      const { trace } = sb.func('int apply_n(int (*f)(int), int n, int x)').trace([(x: number) => weigh.on(worker)(x, 1), 2, 0]);
      const out = traceView(trace, createColors(false));
      expect(out).not.toMatch(/\x1b\[/);
      const calls = out.split('\n').filter((l) => /^ *(>>|<<) /.test(l)).map((l) => l.replace(/0x[0-9a-f]+/g, 'ADDR'));
      expect(calls).toEqual([
        '  >> call-out #0 apply_n ["[function anonymous]",2,0]',
        '    >> call-back #1 int (int) from apply_n+ADDR (ADDR) [0]',
        '      >> call-out #2 weigh_int2 [0,1] on thread worker',
        '      << call-out #2 weigh_int2 returns 3',
        '    << call-back #1 int (int) from apply_n+ADDR (ADDR) returns 3',
        '    >> call-back #3 int (int) from apply_n+ADDR (ADDR) [3]',
        '      >> call-out #4 weigh_int2 [3,1] on thread worker',
        '      << call-out #4 weigh_int2 returns 9',
        '    << call-back #3 int (int) from apply_n+ADDR (ADDR) returns 9',
        '  << call-out #0 apply_n returns 9',
      ]);
      expect(out.match(/<- the callee's entry/g)?.length).toBe(3);
      // each nested call-out has its own arguments and frame, read at its own entry on its own thread
      expect(out).toMatch(/call-out #4 weigh_int2: the arguments at the callee's entry\n {2}rdi +0x0+3 +a {2}int = 3\n {2}rsi +0x0+1 +b {2}int = 1\n/);
      expect(out).toContain('call-out #2 weigh_int2: the frame at the callee\'s entry');
      expect(out).toContain('  5 calls: 3 call-outs, 2 call-backs, on 2 threads\n');
    } finally {
      sb.close();
    }
  });

  it('ppc32 passes a struct by reference: the register holds the address of its copy in region 1', async () => {
    const r = await run('trace', '--abi', 'ppc32-sysv', '--elf', join(FIXTURES, 'obj', 'ppc32', 'structs.o'), '--sig', 'struct S3 { char a, b, c; }; int sum_s3(struct S3 s)', '--args', '[{"a": 1, "b": 2, "c": 3}]');
    expect(r.code).toBe(0);
    const pointer = /\n {2}r3 +(0x[0-9a-f]+) +s {2}struct S3 = \{"a":1,"b":2,"c":3\} \(a pointer to its copy\)\n {2}\*\[(0x[0-9a-f]+)\] +bytes 010203 +s \(the copy it points to\)\n/.exec(r.stdout);
    expect(pointer, r.stdout).not.toBeNull();
    expect(Number(pointer![1])).toBe(Number(pointer![2]));
    expect(r.stdout).toMatch(new RegExp(`\\n {2}0x${Number(pointer![1]).toString(16)} +\\[sp\\+\\d+\\] +0x010203[0-9a-f?]{2} +region 1: copy of s\\n`));
  });
});
