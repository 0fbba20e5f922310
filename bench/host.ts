// Host cost of a call, next to the floor: the same guest code run by one bare, hook-stopped
// uc_emu_start (Machine.runBare) with the arguments put in their registers by hand, measured in
// the same run on the same machine (these machines are noisy: only the ratios mean much).
//
//   node --import tsx bench/host.ts              tables on the console (BENCH_MS per task, default 300)
//   node --import tsx bench/host.ts --markdown   the same as docs/bench-host.md
//
// Rows, per convention and back end:
// - call-out: weigh_int2(int, int) (tests/fixtures/src/scalars.c) through sb.func().
//   Floor: argument registers (or stack words) and the return address written, one run to the
//   return sentinel, the result register read.
// - call-back round trip: apply_n(f, 100, 0) (callbacks.c) with f a registered call-back
//   x => x + 1, per call-back. Floor: f is a bare trap slot; at each stop the host reads the
//   argument, writes the result register, returns by hand (pops the return address or takes
//   the link register) and starts the run again.
// - plain-function call-back: the same with a plain JS function passed for f (planned once
//   per signature: it should cost what a registered one does).
// - nesting level: call_nested(f, d) whose f calls call_nested again, depth 100, per level.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { machine as osMachine } from 'node:os';
import { Bench } from 'tinybench';
import { Sandbox } from '../sandbox/sandbox.ts';
// The conventions with hand-written fixtures (and native builds): the i386 attribute variants have neither.
import { FIXTURE_DIRS, HAND_FIXTURE_ABIS, fixtureObjects, fixtureTypes, type HandFixtureAbi as AbiName } from '../sandbox/fixtures.ts';
import { LAYOUT } from '../emu/memory-map.ts';
import type { Machine } from '../emu/machine.ts';
import type { Backend } from '../backends/compiled.ts';
import type { JsValue } from '../layout/values.ts';

const TIME = Number(process.env.BENCH_MS ?? 300);
const CALLBACKS = 100;
const DEPTH = 100;
/** The targets: call-out within 3x of the floor, call-back round trip within 4x. */
const CALLOUT_MAX = 3;
const CALLBACK_MAX = 4;

/** How a bare run passes two ints, returns, and answers a call-back, per convention (by hand, for the floor only). */
interface Bare {
  /** Puts a and b where the callee reads them and the sentinel as the return address; returns nothing. */
  enter(m: Machine, a: number, b: number, sp: number, ret: number): void;
  result(m: Machine): number;
  /** The register of the third int argument (apply_n's x), or null: on the stack (i386). */
  third: string | null;
  /** At a call-back trap: the int argument. */
  arg(m: Machine, word: Uint8Array): number;
  /** At a call-back trap: puts the result and returns the pc to go on at. */
  answer(m: Machine, value: number, word: Uint8Array): number;
}

/** The bare runs' own bytes, made once (a fresh typed array would cost more than the run). */
const STACK_WORDS = new Uint8Array(new ArrayBuffer(16));
const STACK_VIEW = new DataView(STACK_WORDS.buffer);

const WORD = new Uint8Array(new ArrayBuffer(4));
const WORD_VIEW = new DataView(WORD.buffer);
const word32 = (m: Machine, _w: Uint8Array, at: number): number => {
  m.readInto(at, WORD);
  return WORD_VIEW.getUint32(0, true);
};

const BARE: Record<AbiName, Bare> = {
  'i386-sysv': {
    third: null,
    enter(m, a, b, sp, ret) {
      STACK_VIEW.setUint32(0, ret, true); STACK_VIEW.setInt32(4, a, true); STACK_VIEW.setInt32(8, b, true);
      m.write(sp, STACK_WORDS.subarray(0, 12));
      m.writeReg('esp', sp);
    },
    result: (m) => m.readRegNumber('eax') | 0,
    arg: (m, w) => word32(m, w, m.readRegNumber('esp') + 4) | 0,
    answer(m, value, w) {
      const sp = m.readRegNumber('esp');
      m.writeReg('eax', value >>> 0);
      m.writeReg('esp', sp + 4);
      return word32(m, w, sp);
    },
  },
  'x86_64-sysv': x64Bare(['rdi', 'rsi', 'rdx'], 0),
  // The 32-byte shadow space the callee may write lies above the return address, below sp.
  'x86_64-win64': x64Bare(['rcx', 'rdx', 'r8'], 32),
  'arm-aapcs': linkBare(['r0', 'r1', 'r2'], 'lr'), // lr odd: back to Thumb code (runBare starts in Thumb state)
  'arm-aapcs-vfp': linkBare(['r0', 'r1', 'r2'], 'lr'),
  'ppc32-sysv': {
    third: 'r5',
    enter(m, a, b, sp, ret) {
      m.writeReg('r1', sp);
      STACK_VIEW.setUint32(0, 0);
      m.write(sp, STACK_WORDS.subarray(0, 4)); // a null back chain
      m.writeReg('r3', a >>> 0);
      m.writeReg('r4', b >>> 0);
      m.writeReg('lr', ret);
    },
    result: (m) => m.readRegNumber('r3') | 0,
    arg: (m) => m.readRegNumber('r3') | 0,
    answer(m, value) {
      m.writeReg('r3', value >>> 0);
      return m.readRegNumber('lr');
    },
  },
  'aarch64-aapcs64': linkBare(['x0', 'x1', 'x2'], 'x30'),
};

/** x86-64 (SysV and Windows): the int arguments in `regs`, the return address pushed `shadow` bytes below sp. */
function x64Bare(regs: [string, string, string], shadow: number): Bare {
  const [first, second, third] = regs;
  return {
    third,
    enter(m, a, b, sp, ret) {
      STACK_VIEW.setUint32(0, ret, true); STACK_VIEW.setUint32(4, 0, true);
      m.write(sp - 8 - shadow, STACK_WORDS.subarray(0, 8));
      m.writeReg('rsp', sp - 8 - shadow);
      m.writeReg(first, a >>> 0);
      m.writeReg(second, b >>> 0);
    },
    result: (m) => Number(BigInt.asIntN(32, m.readReg('rax'))),
    arg: (m) => Number(BigInt.asIntN(32, m.readReg(first))),
    answer(m, value, w) {
      const sp = m.readRegNumber('rsp');
      m.writeReg('rax', value >>> 0);
      m.writeReg('rsp', sp + 8);
      return word32(m, w, sp);
    },
  };
}

/** ARM and AArch64: the int arguments and the result in `regs`, the return address in a link register. */
function linkBare(regs: [string, string, string], link: string): Bare {
  const [first, second, third] = regs;
  return {
    third,
    enter(m, a, b, sp, ret) {
      m.writeReg('sp', sp);
      m.writeReg(first, a >>> 0);
      m.writeReg(second, b >>> 0);
      m.writeReg(link, ret);
    },
    result: (m) => Number(BigInt.asIntN(32, m.readReg(first))),
    arg: (m) => Number(BigInt.asIntN(32, m.readReg(first))),
    answer(m, value) {
      m.writeReg(first, value >>> 0);
      return m.readRegNumber(link);
    },
  };
}

interface Row { abi: AbiName; work: string; unit: string; abiscope: Record<Backend, number>; floor?: number; target?: number }

/** Median µs per unit of a function, over tinybench samples. */
async function measure(tasks: { name: string; units: number; fn: () => unknown }[]): Promise<Map<string, number>> {
  const bench = new Bench({ time: TIME, warmup: true });
  for (const t of tasks) bench.add(t.name, t.fn);
  await bench.run();
  const out = new Map<string, number>();
  for (const [i, t] of bench.tasks.entries()) {
    const r = t.result;
    if (r.state !== 'completed') throw new Error(`${t.name}: ${r.state === 'errored' ? r.error.message : r.state}`);
    out.set(t.name, (r.latency.p50 * 1000) / tasks[i].units);
  }
  return out;
}

async function conventionRows(abi: AbiName): Promise<Row[]> {
  const dir = FIXTURE_DIRS[abi][0];
  const open = async (backend: Backend) => {
    const sb = await Sandbox.open(abi, { backend });
    sb.declare(fixtureTypes());
    sb.load(...fixtureObjects(dir));
    return sb;
  };
  const sbs = { compiled: await open('compiled'), interpreted: await open('interpreted') };
  try {
    const tasks: { name: string; units: number; fn: () => unknown }[] = [];
    for (const backend of ['compiled', 'interpreted'] as const) {
      const sb = sbs[backend];
      const add = sb.func('int weigh_int2(int, int)');
      const apply = sb.func('int apply_n(int (*f)(int), int n, int x)');
      const nested = sb.func('int call_nested(int (*f)(int depth), int depth)');
      const inc = sb.callback('int (int)', (x) => (x as number) + 1);
      const plain = (x: JsValue) => (x as number) + 1;
      const deep = (d: JsValue): number => ((d as number) <= 0 ? 0 : (nested(deep, (d as number) - 1) as number) + 1);
      if (add(5, 7) !== 31 || apply(inc, CALLBACKS, 0) !== CALLBACKS || apply(plain, CALLBACKS, 0) !== CALLBACKS) throw new Error(`${abi} ${backend}: wrong result`);
      tasks.push({ name: `callout ${backend}`, units: 1, fn: () => add(5, 7) });
      tasks.push({ name: `callback ${backend}`, units: CALLBACKS, fn: () => apply(inc, CALLBACKS, 0) });
      tasks.push({ name: `plain ${backend}`, units: CALLBACKS, fn: () => apply(plain, CALLBACKS, 0) });
      tasks.push({ name: `nesting ${backend}`, units: DEPTH, fn: () => nested(deep, DEPTH - 1) });
    }

    // The floor, in the compiled sandbox's machine (the same loaded code).
    const sb = sbs.compiled;
    const m = sb.machine;
    const bare = BARE[abi];
    const sentinel = m.returnSentinel;
    const weigh = sb.symbolAddress('weigh_int2');
    const applyAt = sb.symbolAddress('apply_n');
    const trapSlot = m.allocateTrapSlot();
    const trap = m.trapAddress(trapSlot);
    const sp = LAYOUT.stackTop - 0x10000;
    const w = new Uint8Array(4);
    const bareCallOut = () => {
      bare.enter(m, 5, 7, sp, sentinel);
      if (m.runBare(weigh) !== 0) throw new Error('bare call-out did not reach the sentinel');
      return bare.result(m);
    };
    const bareCallBacks = () => {
      // apply_n(f = the trap slot, n, 0): the first argument is a pointer, then n, then x.
      bare.enter(m, trap, CALLBACKS, sp, sentinel);
      if (bare.third === null) {
        STACK_VIEW.setUint32(12, 0, true);
        m.write(sp + 12, STACK_WORDS.subarray(12, 16));
      } else m.writeReg(bare.third, 0);
      let pc = applyAt;
      for (;;) {
        const slot = m.runBare(pc);
        if (slot === 0) return bare.result(m);
        if (slot !== trapSlot) throw new Error(`bare call-back run stopped at slot ${slot}`);
        pc = bare.answer(m, bare.arg(m, w) + 1, w);
      }
    };
    if (bareCallOut() !== 31) throw new Error(`${abi}: bare call-out returned ${bareCallOut()}`);
    if (bareCallBacks() !== CALLBACKS) throw new Error(`${abi}: bare call-backs returned ${bareCallBacks()}`);
    tasks.push({ name: 'callout bare', units: 1, fn: bareCallOut });
    tasks.push({ name: 'callback bare', units: CALLBACKS, fn: bareCallBacks });

    const t = await measure(tasks);
    const both = (k: string) => ({ compiled: t.get(`${k} compiled`)!, interpreted: t.get(`${k} interpreted`)! });
    return [
      { abi, work: 'call-out int weigh_int2(int, int)', unit: 'call', abiscope: both('callout'), floor: t.get('callout bare'), target: CALLOUT_MAX },
      { abi, work: `call-back round trip (apply_n x${CALLBACKS}), registered`, unit: 'call-back', abiscope: both('callback'), floor: t.get('callback bare'), target: CALLBACK_MAX },
      { abi, work: `call-back round trip (apply_n x${CALLBACKS}), plain JS function`, unit: 'call-back', abiscope: both('plain'), floor: t.get('callback bare'), target: CALLBACK_MAX },
      { abi, work: `nesting call-out -> call-back, depth ${DEPTH}`, unit: 'level', abiscope: both('nesting') },
    ];
  } finally {
    sbs.compiled.close();
    sbs.interpreted.close();
  }
}

const fmt = (n: number | undefined, digits = 2) => (n === undefined ? '' : n.toFixed(digits));

function tableOf(rows: Row[]): Record<string, string>[] {
  return rows.map((r) => {
    const ratio = r.floor ? r.abiscope.compiled / r.floor : undefined;
    return {
      convention: r.abi,
      work: r.work,
      'µs compiled': fmt(r.abiscope.compiled),
      'µs interpreted': fmt(r.abiscope.interpreted),
      'µs bare run': fmt(r.floor),
      'compiled / bare': ratio === undefined ? '' : `${ratio.toFixed(1)}x`,
      target: r.target ? `<= ${r.target}x: ${ratio !== undefined && ratio <= r.target ? 'yes' : 'NO'}` : '',
      per: r.unit,
    };
  });
}

function markdown(rows: Record<string, string>[]): string {
  const heads = Object.keys(rows[0]);
  return [`| ${heads.join(' | ')} |`, `|${heads.map((_, i) => (i < 2 ? '---' : '---:')).join('|')}|`, ...rows.map((r) => `| ${heads.map((h) => r[h]).join(' | ')} |`)].join('\n');
}

function cpuModel(): string {
  const line = readFileSync('/proc/cpuinfo', 'utf8').split('\n').find((l) => /^model name\s*:/.test(l));
  return line ? line.replace(/^model name\s*:\s*/, '').trim() : 'unknown CPU';
}

const rows: Row[] = [];
for (const abi of HAND_FIXTURE_ABIS) rows.push(...(await conventionRows(abi)));
const table = tableOf(rows);
const notes = [
  'Median µs per unit over tinybench samples (BENCH_MS per task); all tasks of a convention measured in one run, interleaved by tinybench.',
  'bare run: Machine.runBare, one uc_emu_start with no budget, stopped by the host-trap hook; the arguments, return address and call-back answers written by hand with Machine.writeReg/write. No frame, no checks, no JS values.',
  'compiled / interpreted: Sandbox.open(abi, { backend }); call-outs and call-back thunks of that back end.',
];
if (process.argv.includes('--markdown')) {
  const date = execFileSync('date', ['-u'], { encoding: 'utf8' }).trim();
  process.stdout.write([
    '# Host cost of call-outs and call-backs',
    '',
    'Generated by `node --import tsx bench/host.ts --markdown > docs/bench-host.md`; do not edit by hand.',
    '',
    `- date: ${date}`,
    `- machine: ${osMachine()}, ${cpuModel()}, Node ${process.version}`,
    '',
    markdown(table),
    '',
    ...notes.map((n) => `- ${n}`),
    '',
  ].join('\n'));
} else {
  console.table(table);
  for (const n of notes) console.log(`* ${n}`);
}
