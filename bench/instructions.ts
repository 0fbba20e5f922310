// Emulated instructions per call-out, counted in the emulator, callee included: GCC's direct
// call, abiscope's compiled stub, abiscope's generic (interpreted) stub and libffi's ffi_call,
// for seven signatures on every convention.
//
//   node --import tsx bench/instructions.ts              tables on the console
//   node --import tsx bench/instructions.ts --markdown   the same as docs/bench-instructions.md
//   node --import tsx bench/instructions.ts --trace <abi> <row> <column>
//                                                        every instruction one count ran
//                                                        (row: add, mix...; column: direct, compiled, generic, libffi)
//
// How each column is counted (Machine.countInstructions: a UC_HOOK_CODE over all addresses
// outside the host-trap page, for the duration of one call-out, after dropping Unicorn's
// translated blocks; every count is taken twice and must be equal):
// - compiled, generic: one call-out of the callee (sb.func(prototype, { backend })), from the
//   stub's entry to the return sentinel: the stub, then the callee, then the stub again.
// - direct: one call-out of direct_<row>() (bench/native/src/callers.c, GCC -O2; the callees
//   are in another object, callees.c, and noinline) as a void (void) function, minus
//   abiscope's stub for a void (void) call-out. That overhead is measured with nop(): the
//   count of a void (void) call-out of nop minus nop's own instructions (its disassembly:
//   one return instruction on every target). So a direct count is GCC's caller (argument
//   set-up, the call, storing the result in a global, its prologue and return) plus the callee.
//   Checked on every convention: direct add equals the straight-line disassembly of
//   direct_add plus that of add (see checkDirectAdd). Read off the disassembly
//   (`--trace x86_64-sysv add direct`): x86-64 is 8 = direct_add's sub rsp / mov esi,3 /
//   mov edi,2 / call add / mov [sink_i],eax / add rsp / ret (6) + add's lea / ret (2); ppc32
//   is 14 = direct_add's stwu / mflr / li r4,3 / li r3,2 / stw r0 / bl add / lwz r0 /
//   lis / mtlr / stw [sink_i] / addi r1 / blr (12) + add's add / blr (2).
// - libffi: the same for ffi_bench_<row>() (bench/libffi/driver.c: one ffi_call of the callee
//   with a cif ffi_bench_init() prepared before, which is not counted): the wrapper's few
//   instructions, ffi_call (ffi_prep_cif_machdep's work is in the cif already) and the callee.
import { existsSync, readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { machine as osMachine } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Sandbox } from '../sandbox/sandbox.ts';
// The conventions with hand-written fixtures (and native builds): the i386 attribute variants have neither.
import { HAND_FIXTURE_ABIS as ABI_NAMES, type HandFixtureAbi as AbiName } from '../sandbox/fixtures.ts';
import { Disassembler, type Instruction, type Isa } from '../emu/asm.ts';
import type { Machine } from '../emu/machine.ts';
import { unicornVersion } from '../emu/unicorn.ts';
import type { ForeignFunction } from '../sandbox/sandbox.ts';
import type { JsValue } from '../layout/values.ts';

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO = join(HERE, '..');
const NATIVE = join(HERE, 'native', 'obj');
const LIBFFI = join(HERE, 'libffi', 'out');
const LIBFFI_MISSING = 'libffi not built: run bash bench/libffi/build.sh';

/** bench/native/obj and bench/libffi/out directory of each convention (armhf: ARM state). */
const DIRS: Record<AbiName, string> = {
  'i386-sysv': 'i386',
  'x86_64-sysv': 'x86_64',
  'arm-aapcs': 'armel',
  'arm-aapcs-vfp': 'armhf',
  'ppc32-sysv': 'ppc32',
  'aarch64-aapcs64': 'aarch64',
  'x86_64-win64': 'win64',
};

const TYPES = 'struct V2 { float x, y; }; struct S24 { int a, b, c, d, e, f; };';

/** The targets the issue sets. */
const COMPILED_OVER_DIRECT_MAX = 1.5;
const LIBFFI_OVER_COMPILED_MIN = 5;

interface Row {
  /** direct_<name>, ffi_bench_<name> */
  name: string;
  /** what the table says */
  label: string;
  prototype: string;
  /** the call's arguments, as abiscope takes them (variadic ones typed) */
  args: unknown[];
  /** the C type of the result, and the global GCC's caller stores it in */
  result: 'int' | 'double' | 'float' | 'struct S24';
  expect: JsValue;
}

const ROWS: Row[] = [
  { name: 'add', label: 'int add(int, int)', prototype: 'int add(int, int)', args: [2, 3], result: 'int', expect: 5 },
  { name: 'mix', label: 'double mix(int, double, float)', prototype: 'double mix(int, double, float)', args: [2, 1.5, 0.25], result: 'double', expect: 3.25 },
  { name: 'dot', label: 'float dot(struct V2 {float x, y}, struct V2)', prototype: 'float dot(struct V2, struct V2)', args: [{ x: 1, y: 2 }, { x: 3, y: 4 }], result: 'float', expect: 11 },
  { name: 's24_sum', label: 'int s24_sum(struct S24 {int a..f}) (24 bytes by value)', prototype: 'int s24_sum(struct S24)', args: [{ a: 1, b: 2, c: 3, d: 4, e: 5, f: 6 }], result: 'int', expect: 21 },
  { name: 's24_make', label: 'struct S24 s24_make(int) (24 bytes returned)', prototype: 'struct S24 s24_make(int)', args: [7], result: 'struct S24', expect: { a: 7, b: 8, c: 9, d: 10, e: 11, f: 12 } },
  {
    name: 'sum10', label: 'double sum10(double x 10)',
    prototype: `double sum10(${Array(10).fill('double').join(', ')})`, args: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], result: 'double', expect: 55,
  },
  {
    name: 'vsum', label: 'int vsum(int n, ...) (3 int, 1 double)', prototype: 'int vsum(int, ...)',
    args: [3, 'int', 1, 'int', 2, 'int', 3, 'double', 4.5], result: 'int', expect: 10,
  },
];

const SINKS: Record<Row['result'], string> = { int: 'sink_i', double: 'sink_d', float: 'sink_f', 'struct S24': 'sink_s' };

type Column = 'direct' | 'compiled' | 'unchecked' | 'generic' | 'libffi';
const COLUMNS: Column[] = ['direct', 'compiled', 'unchecked', 'generic', 'libffi'];

/** One convention's measurements. */
interface Measured {
  abi: AbiName;
  /** Instructions of abiscope's stub for a void (void) call-out (subtracted from direct and libffi). */
  overhead: number;
  nopOwn: number;
  libffi: 'built' | 'missing' | string;
  rows: { row: Row; counts: Record<Column, number | string> }[];
}

/** Counts one call-out twice; the counts must be equal. */
function countCall(m: Machine, call: () => unknown, what: string, trace?: (address: bigint, size: number) => void): { count: number; value: unknown } {
  const first = m.countInstructions(call);
  const second = m.countInstructions(call, trace);
  if (first.count !== second.count) throw new Error(`${what}: not deterministic (${first.count}, then ${second.count} instructions)`);
  return { count: first.count, value: first.result };
}

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** The ISA of the code at a function symbol. */
function isaOf(m: Machine, thumb: boolean): Isa {
  return thumb ? 'thumb' : m.target.isa;
}

/** What ends a straight-line function, and what would make it not straight-line. */
function classify(isa: Isa, insn: Instruction): 'return' | 'call' | 'branch' | 'other' {
  const mn = insn.mnemonic.toLowerCase();
  const ops = insn.operands.toLowerCase();
  if (isa === 'x86' || isa === 'x86_64') {
    if (mn === 'ret') return 'return';
    if (mn === 'call') return 'call';
    if (mn.startsWith('j') || mn.startsWith('loop')) return 'branch';
    return 'other';
  }
  if (isa === 'arm' || isa === 'thumb') {
    if ((mn === 'bx' && ops === 'lr') || (/^(pop|ldm)/.test(mn) && /\bpc\b/.test(ops))) return 'return';
    if (mn === 'bl' || mn === 'blx') return 'call';
    if (/^(b|bx|cbn?z|tb[bh])([a-z]{2})?(\.w|\.n)?$/.test(mn) || /^(ldr|mov)/.test(mn) && /^pc\b/.test(ops)) return 'branch';
    return 'other';
  }
  if (isa === 'ppc32') {
    if (mn === 'blr') return 'return';
    if (mn === 'bl') return 'call';
    if (/^b/.test(mn)) return 'branch';
    return 'other';
  }
  if (isa === 'aarch64') {
    if (mn === 'ret') return 'return';
    if (mn === 'bl' || mn === 'blr') return 'call';
    if (/^(b|br|cbn?z|tbn?z)(\.\w+)?$/.test(mn)) return 'branch';
    return 'other';
  }
  throw new Error(`no rules for ${isa}`);
}

/**
 * The instructions a straight-line function runs: its disassembly from its symbol to its
 * first return. A branch before it (other than a call) is an error: the count would depend on it.
 */
function straightLine(m: Machine, name: string): Instruction[] {
  const sym = m.symbol(name);
  const address = m.codeAddress(sym.address);
  const isa = isaOf(m, sym.thumb);
  const insns = Disassembler.for(isa).disassemble(m.read(address, sym.size), address);
  const out: Instruction[] = [];
  for (const insn of insns) {
    out.push(insn);
    const kind = classify(isa, insn);
    if (kind === 'return') return out;
    if (kind === 'branch') throw new Error(`${name} is not straight-line code: ${insn.text} at 0x${insn.address.toString(16)}`);
  }
  throw new Error(`${name}: no return instruction in its ${sym.size} bytes`);
}

function libffiFiles(dir: string): string[] | undefined {
  const files = [join(LIBFFI, dir, 'driver.o'), join(LIBFFI, dir, 'lib', 'libffi.a')];
  return files.every((f) => existsSync(f)) ? files : undefined;
}

function message(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0];
}

interface TraceRequest { abi: AbiName; row: string; column: Column }

async function measure(abi: AbiName, trace?: TraceRequest): Promise<Measured> {
  const dir = DIRS[abi];
  const sb = await Sandbox.open(abi);
  // The same call without the callee-saved check (no register saves in the stub).
  const off = await Sandbox.open(abi, { calleeSaved: 'off' });
  try {
    sb.declare(TYPES);
    sb.load(join(NATIVE, dir, 'callees.o'), join(NATIVE, dir, 'callers.o'));
    off.declare(TYPES);
    off.load(join(NATIVE, dir, 'callees.o'), join(NATIVE, dir, 'callers.o'));
    const m = sb.machine;
    let libffi: Measured['libffi'] = 'missing';
    const ffiFiles = libffiFiles(dir);
    if (ffiFiles) {
      try {
        // AArch64's ffi.o refers to ffi_data_to_code_pointer (closures only), which would pull in
        // libffi's closure allocator and the libc it needs (mmap, pthreads, ...): ffi_call never
        // calls it, so a host function that refuses stands in.
        if (abi === 'aarch64-aapcs64') {
          sb.provide('ffi_data_to_code_pointer', sb.callback('void *(void *)', () => { throw new Error('libffi closures are not part of the bench'); }));
        }
        sb.load(...ffiFiles);
        const status = sb.func('int ffi_bench_init(void)')();
        libffi = status === 0 ? 'built' : `error: ffi_prep_cif of row ${status} failed`;
      } catch (e) {
        libffi = `error: ${message(e)}`;
      }
    }

    // abiscope's own cost of a void (void) call-out (the compiled stub, as for direct and libffi)
    const nopOwn = straightLine(m, 'nop').length;
    const nop = sb.func('void nop(void)');
    nop();
    const overhead = countCall(m, () => nop(), 'nop').count - nopOwn;

    const tracer = (row: Row, column: Column) => {
      if (!trace || trace.abi !== abi || trace.row !== row.name || trace.column !== column) return undefined;
      return (address: bigint, size: number) => {
        const a = Number(address);
        const isa: Isa = m.target.name === 'arm' && m.thumb ? 'thumb' : m.target.isa;
        const [insn] = Disassembler.for(isa).disassemble(m.read(a, size), a, 1);
        console.log(`  ${m.symbolize(a).padEnd(44)} ${insn ? insn.text : '(?)'}`);
      };
    };
    const voidCall = (symbol: string, row: Row, column: Column): number => {
      const f = sb.func(`void ${symbol}(void)`);
      f();
      if (tracer(row, column)) console.log(`${abi} ${row.name} ${column}: ${symbol} as void (void), stub included (subtracted: ${overhead})`);
      return countCall(m, () => f(), `${abi} ${symbol}`, tracer(row, column)).count - overhead;
    };
    const check = (value: unknown, row: Row, column: Column) => {
      if (!same(value, row.expect)) throw new Error(`${abi} ${row.name} ${column}: result ${JSON.stringify(value)}, expected ${JSON.stringify(row.expect)}`);
    };
    const sinkOf = (row: Row, symbol: string) => sb.read(row.result, sb.symbolAddress(symbol));

    const rows: Measured['rows'] = [];
    for (const row of ROWS) {
      const counts = {} as Record<Column, number | string>;
      counts.direct = voidCall(`direct_${row.name}`, row, 'direct');
      check(sinkOf(row, SINKS[row.result]), row, 'direct');
      for (const [column, backend] of [['compiled', 'compiled'], ['generic', 'interpreted']] as const) {
        const f: ForeignFunction = sb.func(row.prototype, { backend });
        f(...row.args);
        if (tracer(row, column)) console.log(`${abi} ${row.name} ${column}: ${row.prototype}, stub included`);
        const { count, value } = countCall(m, () => f(...row.args), `${abi} ${row.name} ${column}`, tracer(row, column));
        check(value, row, column);
        counts[column] = count;
      }
      {
        const f = off.func(row.prototype);
        f(...row.args);
        const { count, value } = countCall(off.machine, () => f(...row.args), `${abi} ${row.name} unchecked`, tracer(row, 'unchecked'));
        check(value, row, 'unchecked');
        counts.unchecked = count;
      }
      if (libffi === 'built') {
        try {
          counts.libffi = voidCall(`ffi_bench_${row.name}`, row, 'libffi');
          check(sinkOf(row, 'ffi_bench_rv'), row, 'libffi');
        } catch (e) {
          counts.libffi = `error: ${message(e)}`;
        }
      } else {
        counts.libffi = libffi === 'missing' ? LIBFFI_MISSING : libffi;
      }
      rows.push({ row, counts });
    }
    checkDirectAdd(m, rows[0].counts.direct as number, abi);
    return { abi, overhead, nopOwn, libffi, rows };
  } finally {
    sb.close();
    off.close();
  }
}

/**
 * The direct count of add must be what the disassembly says: direct_add and add are
 * straight-line on every target, so it is their instruction counts added (this checks the
 * counting hook and the subtraction of the void (void) stub).
 */
function checkDirectAdd(m: Machine, measured: number, abi: AbiName): void {
  const expected = straightLine(m, 'direct_add').length + straightLine(m, 'add').length;
  if (measured !== expected) throw new Error(`${abi}: direct add counted ${measured} instructions, its disassembly has ${expected}`);
}

// ---- output ----

const ratio = (a: number | string, b: number | string) => (typeof a === 'number' && typeof b === 'number' ? a / b : undefined);
const fmtRatio = (r: number | undefined) => (r === undefined ? 'n/a' : `${r.toFixed(2)}x`);
const verdict = (ok: boolean | undefined) => (ok === undefined ? 'n/a' : ok ? 'yes' : 'NO');

const HEADERS = [
  'call', 'GCC direct', 'abiscope compiled', 'compiled, no check', 'abiscope generic', 'libffi ffi_call',
  'compiled / direct', 'no check / direct', 'libffi / compiled', `compiled <= ${COMPILED_OVER_DIRECT_MAX}x direct`, `libffi >= ${LIBFFI_OVER_COMPILED_MIN}x compiled`,
] as const;

function tableRows(m: Measured): Record<(typeof HEADERS)[number], string | number>[] {
  return m.rows.map(({ row, counts }) => {
    const cd = ratio(counts.compiled, counts.direct);
    const ud = ratio(counts.unchecked, counts.direct);
    const lc = ratio(counts.libffi, counts.compiled);
    return {
      call: row.label,
      'GCC direct': counts.direct,
      'abiscope compiled': counts.compiled,
      'compiled, no check': counts.unchecked,
      'abiscope generic': counts.generic,
      'libffi ffi_call': counts.libffi,
      'compiled / direct': fmtRatio(cd),
      'no check / direct': fmtRatio(ud),
      'libffi / compiled': fmtRatio(lc),
      [HEADERS[9]]: verdict(cd === undefined ? undefined : cd <= COMPILED_OVER_DIRECT_MAX),
      [HEADERS[10]]: verdict(lc === undefined ? undefined : lc >= LIBFFI_OVER_COMPILED_MIN),
    } as Record<(typeof HEADERS)[number], string | number>;
  });
}

function footnotes(all: Measured[]): string[] {
  return [
    'Emulated instructions per call-out, counted in Unicorn (UC_HOOK_CODE over every address but the host-trap page, for one call-out; each count taken twice, equal), callee included.',
    'abiscope compiled / generic: sb.func(prototype, { backend: \'compiled\' | \'interpreted\' }), from the stub\'s entry to the return sentinel. Both save every callee-saved register before and after the call so that the host can check them (issue 11); "compiled, no check" is the compiled stub of a sandbox opened with calleeSaved: \'off\', the call alone.',
    'GCC direct: direct_<row>() (bench/native/src/callers.c, -O2, callees in another object, noinline) called through abiscope as void (void), minus abiscope\'s stub for a void (void) call-out: the count of nop() called that way minus nop\'s own instructions; what remains is the caller (set-up, call, storing the result in a global, prologue, return) and the callee.',
    'libffi ffi_call: ffi_bench_<row>() (bench/libffi/driver.c: one ffi_call with a cif prepared beforehand, not counted) called the same way, minus the same stub cost: the wrapper, ffi_call and the callee.',
    `Subtracted void (void) stub cost per convention: ${all.map((m) => `${m.abi} ${m.overhead} (nop ${m.nopOwn})`).join(', ')}. Checked: direct add equals the disassembly of direct_add plus add on every convention.`,
    'An x86 rep instruction counts once per iteration; an ARM instruction whose condition fails counts too.',
  ];
}

function compilers(): string {
  const f = join(NATIVE, 'compilers.tsv');
  if (!existsSync(f)) return 'unknown GCC';
  const lines = readFileSync(f, 'utf8').trim().split('\n').map((l) => l.split('\t'));
  const versions = [...new Set(lines.map((l) => l[2]))];
  return `GCC ${versions.join('/')} (${lines.map((l) => `${l[0]}: ${l[1]}${l[3] ? ` ${l[3]}` : ''}`).join(', ')})`;
}

function libffiVersion(): string {
  for (const dir of Object.values(DIRS)) {
    const h = join(LIBFFI, dir, 'include', 'ffi.h');
    if (!existsSync(h)) continue;
    const v = /libffi\s+([0-9][0-9.]*)/.exec(readFileSync(h, 'utf8'));
    if (v) return `libffi ${v[1]} (Debian's source package, bench/libffi/build.sh)`;
  }
  return 'libffi not built';
}

function cpuModel(): string {
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8').split('\n').find((l) => /^model name\s*:/.test(l));
    return line ? line.replace(/^model name\s*:\s*/, '').trim() : 'unknown CPU';
  } catch {
    return 'unknown CPU';
  }
}

function dateUtc(): string {
  try {
    return execFileSync('date', ['-u'], { encoding: 'utf8' }).trim();
  } catch {
    return new Date().toUTCString();
  }
}

function markdownTable(rows: Record<string, string | number>[]): string {
  const cell = (v: string | number) => String(v).replace(/\|/g, '\\|');
  const lines = [`| ${HEADERS.join(' | ')} |`, `|${HEADERS.map((_, i) => (i === 0 ? '---' : '---:')).join('|')}|`];
  for (const r of rows) lines.push(`| ${HEADERS.map((h) => cell(r[h])).join(' | ')} |`);
  return lines.join('\n');
}

function summary(all: Measured[]): string[] {
  const rows = all.flatMap((m) => tableRows(m));
  const met = (h: (typeof HEADERS)[number]) => {
    const judged = rows.filter((r) => r[h] !== 'n/a');
    return `${judged.filter((r) => r[h] === 'yes').length} of ${judged.length} rows${judged.length < rows.length ? ` (${rows.length - judged.length} not measured)` : ''}`;
  };
  const unchecked = rows.filter((r) => typeof r['no check / direct'] === 'string' && r['no check / direct'] !== 'n/a' && parseFloat(String(r['no check / direct'])) <= COMPILED_OVER_DIRECT_MAX).length;
  const libffiUnchecked = all.flatMap((m) => m.rows).filter(({ counts }) => {
    const r = ratio(counts.libffi, counts.unchecked);
    return r !== undefined && r >= LIBFFI_OVER_COMPILED_MIN;
  }).length;
  return [
    `libffi at least ${LIBFFI_OVER_COMPILED_MIN}x the compiled stub without the check: ${libffiUnchecked} of ${rows.length} rows.`,
    `Targets: compiled (with the callee-saved check) within ${COMPILED_OVER_DIRECT_MAX}x of direct: ${met(HEADERS[9])}; without the check: ${unchecked} of ${rows.length} rows; libffi at least ${LIBFFI_OVER_COMPILED_MIN}x compiled: ${met(HEADERS[10])}.`,
  ];
}

function parseArgs(argv: string[]): { markdown: boolean; trace?: TraceRequest } {
  const i = argv.indexOf('--trace');
  if (i >= 0) {
    const [abi, row, column] = argv.slice(i + 1, i + 4);
    if (!ABI_NAMES.includes(abi as AbiName) || !ROWS.some((r) => r.name === row) || !COLUMNS.includes(column as Column)) {
      throw new Error(`--trace <abi> <row> <column>: abi one of ${ABI_NAMES.join(', ')}; row one of ${ROWS.map((r) => r.name).join(', ')}; column one of ${COLUMNS.join(', ')}`);
    }
    return { markdown: false, trace: { abi: abi as AbiName, row, column: column as Column } };
  }
  for (const a of argv) if (a !== '--markdown') throw new Error(`unknown argument ${a} (use --markdown or --trace <abi> <row> <column>)`);
  return { markdown: argv.includes('--markdown') };
}

const opts = parseArgs(process.argv.slice(2));
if (opts.trace) {
  await measure(opts.trace.abi, opts.trace);
} else {
  const all: Measured[] = [];
  for (const abi of ABI_NAMES) {
    // A convention whose native bench objects are not built yet (x86_64-win64) is left out, and said so.
    if (!existsSync(join(NATIVE, DIRS[abi], 'callees.o'))) {
      process.stderr.write(`bench: no bench/native/obj/${DIRS[abi]} for ${abi}: left out\n`);
      continue;
    }
    all.push(await measure(abi));
  }
  const missing = all.filter((m) => m.libffi === 'missing').map((m) => DIRS[m.abi]);
  if (opts.markdown) {
    const out = [
      '# Emulated instructions per call-out',
      '',
      'Generated by `node --import tsx bench/instructions.ts --markdown > docs/bench-instructions.md`',
      `(${relative(REPO, fileURLToPath(import.meta.url))}); do not edit by hand.`,
      '',
      `- date: ${dateUtc()}`,
      `- machine: ${osMachine()}, ${cpuModel()}`,
      `- Unicorn ${unicornVersion()}; ${compilers()}; ${libffiVersion()}${missing.length ? ` (not built for ${missing.join(', ')})` : ''}`,
      '',
      ...all.flatMap((m) => [`## ${m.abi}`, '', markdownTable(tableRows(m)), '']),
      ...summary(all),
      '',
      ...footnotes(all).map((f) => `- ${f}`),
      '',
    ];
    process.stdout.write(out.join('\n'));
  } else {
    for (const m of all) {
      console.log(`\n${m.abi}: emulated instructions per call-out (callee included)`);
      console.table(tableRows(m));
    }
    console.log(`\n${summary(all).join('\n')}`);
    for (const f of footnotes(all)) console.log(`* ${f}`);
    console.log(`* Unicorn ${unicornVersion()}; ${compilers()}; ${libffiVersion()}${missing.length ? ` (not built for ${missing.join(', ')})` : ''}`);
  }
}
