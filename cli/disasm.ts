// `abiscope disasm`: one symbol of an ELF file, or abiscope's own compiled call stub or
// call-back thunk for a convention and a prototype.
//
// A symbol is disassembled where a sandbox linked it, not from the file's bytes: in an
// object a call's operand is a relocation (0 before linking), and once the loader has
// applied it the operand is the callee's address, which Machine.symbolize names. So the
// relocation sections are read once, by the loader, and never again here.
import { readFileSync } from 'node:fs';
import { pc } from './colors.js';
import { UsageError } from '../errors.ts';
import { parseElf, type ElfMachine } from '../emu/elf.ts';
import { readElf, readRelocations } from '../emu/elf-read.ts';
import { targetProfile, type TargetProfile } from '../emu/targets.ts';
import { readInput } from '../sandbox/loader.ts';
import { Sandbox } from '../sandbox/sandbox.ts';
import { Disassembler, type Instruction } from '../emu/asm.ts';
import { ABI_NAMES, conventionBackend, type AbiName } from '../backends/registry.ts';
import type { CodeLine } from '../backends/backend.ts';
import { compiledLines, opText, planFor } from './explain.ts';
import type { ThunkOp } from '../abis/plan.ts';
import { splitTypeList } from './call.ts';
import type { Machine } from '../emu/machine.ts';

export interface DisasmOptions {
  /** Overrides the target the ELF header names; a different one is an error naming both. */
  target?: string;
  /** The convention of --stub / --thunk. */
  abi?: string;
  /** A prototype: print the compiled call stub abiscope runs for it. */
  stub?: string;
  /** A prototype: print the compiled call-back thunk abiscope runs for it. */
  thunk?: string;
  varargs?: string;
}

/**
 * The convention a sandbox is opened with to link an object of `machine`, only so that it
 * can be loaded: disassembly does not depend on it (AArch64 has no convention: no sandbox).
 * ARM soft- and hard-float objects carry the same e_flags (EABI5), and load alike.
 */
/** ELF section types of relocation tables (without and with addends). */
const SHT_REL = 9;
const SHT_RELA = 4;

const LOADING_ABI: Partial<Record<ElfMachine, AbiName>> = {
  x86: 'i386-sysv', x86_64: 'x86_64-sysv', arm: 'arm-aapcs', ppc32: 'ppc32-sysv',
};

export async function runDisasm(file: string | undefined, symbol: string | undefined, o: DisasmOptions): Promise<void> {
  if (o.stub !== undefined || o.thunk !== undefined) {
    if (file !== undefined) throw new UsageError('--stub and --thunk print abiscope\'s own code: give no <file> and <symbol>');
    if (o.abi === undefined) throw new UsageError(`--stub and --thunk need --abi <abi>: ${ABI_NAMES.join(' | ')}`);
    process.stdout.write(compiledListing(o.abi, o));
    return;
  }
  if (file === undefined || symbol === undefined) throw new UsageError('disasm needs <file> and <symbol> (or --abi with --stub or --thunk)');
  if (o.abi !== undefined) throw new UsageError('--abi is for --stub and --thunk: the ELF file names its own target');
  process.stdout.write(await symbolListing(file, symbol, o.target));
}

/** The compiled stub and/or thunk of one prototype, each line beside the plan operations it performs. */
function compiledListing(abi: string, o: DisasmOptions): string {
  const out: string[] = [];
  // Each line names the plan operations it performs, as explain prints them, so a load reads as the plan's load.
  const block = (title: string, lines: CodeLine[], none: string, describe: (op: number) => string) => {
    out.push(pc.bold(`${title} (${lines.length} instructions)`));
    const width = Math.max(0, ...lines.map((l) => l.asm.length));
    for (const l of lines) out.push(`  ${l.asm.padEnd(width)}  ${pc.dim(l.ops.length ? `; ${l.ops.map((k) => `op ${k}: ${describe(k)}`).join('; ')}` : none)}`);
    out.push('');
  };
  const varargs = o.varargs ? splitTypeList(o.varargs) : [];
  if (o.stub !== undefined) {
    const plan = planFor(abi, o.stub, varargs);
    block(`${abi} call stub for ${plan.signature}`, compiledLines(plan), '; back to the host', (k) => opText(plan, plan.ops[k]));
  }
  if (o.thunk !== undefined) {
    const plan = planFor(abi, o.thunk, varargs);
    // The trap the thunk's save part jumps to is a sandbox's host-trap slot; 0 in a listing, as explain's sentinel.
    const { save, restore } = conventionBackend(abi).compileThunk(plan, 0);
    const describe = (k: number) => thunkOpText(plan.thunk[k]);
    block(`${abi} call-back thunk for ${plan.signature}: save (entry to the host)`, save, '; to the host', describe);
    block(`${abi} call-back thunk for ${plan.signature}: restore (host back to the caller)`, restore, '; back to the caller', describe);
  }
  return out.join('\n');
}

/** One call-back thunk operation, in the location notation of explain ([sp+N] from the thunk's frame). */
function thunkOpText(op: ThunkOp): string {
  switch (op.op) {
    case 'receive': return `store ${op.reg} to [sp+${op.to}] (${op.size} bytes)`;
    case 'give': return `load ${op.reg} from [sp+${op.from}] (${op.size} bytes${op.format === 'x87' ? ', x87' : ''})`;
    case 'return': return op.pops ? `return, popping ${op.pops} bytes` : 'return';
  }
}

/** The target of `file` from its ELF header, checked against --target if given. */
function targetOf(file: string, machine: ElfMachine, override: string | undefined): TargetProfile {
  const own = targetProfile(machine);
  if (override === undefined) return own;
  const wanted = targetProfile(override);
  if (wanted.name !== own.name) throw new UsageError(`--target ${wanted.name} does not match ${file}, which is ${own.name} code (its ELF e_machine): drop --target or give --target ${own.name}`);
  return own;
}

async function symbolListing(file: string, symbol: string, override: string | undefined): Promise<string> {
  const bytes = readInput(file);
  const elf = parseElf(bytes, file);
  const target = targetOf(file, elf.machine, override);
  const sym = elf.symbols.find((s) => s.name === symbol && s.defined);
  if (!sym) throw new UsageError(`no defined symbol '${symbol}' in ${file}`);
  const sec = elf.sections.find((s) => s.name === sym.section);
  if (!sec) throw new UsageError(`symbol '${symbol}' has no section`);
  const dis = Disassembler.for(sym.thumb ? 'thumb' : target.isa);
  const size = Math.max(sym.size, 4);
  const head = `${symbol}${sym.thumb ? ' (thumb)' : ''}:\n`;
  const abi = LOADING_ABI[elf.machine];
  const linked = abi ? await linkedLines(abi, bytes, symbol, size, dis) : undefined;
  if (linked) return head + linked;
  // Not loadable here (AArch64, a symbol the loader does not export): the file's bytes, operands unresolved.
  // In an object, symbol values are section offsets; in an executable, addresses.
  const start = (sym.address & ~(sym.thumb ? 1 : 0)) - (elf.type === 'rel' ? 0 : sec.addr);
  const code = bytes.subarray(sec.offset + start, sec.offset + start + size);
  const relocs = elf.type === 'rel' ? relocationNames(bytes, file, sym.section) : new Map<number, string>();
  return head + dis.disassemble(code, sym.address & ~1).map((i) => line(i, withRelocation(i, relocs))).join('');
}

/**
 * In an unlinked object, the symbol each relocation of section `section` refers to, by the
 * offset it patches: a call's operand there is a placeholder, and this is its real target.
 */
function relocationNames(bytes: Uint8Array, file: string, section: string | undefined): Map<number, string> {
  const raw = readElf(bytes, file);
  const out = new Map<number, string>();
  for (const rel of raw.sections) {
    if ((rel.type !== SHT_REL && rel.type !== SHT_RELA) || raw.sections[rel.info]?.name !== section) continue;
    for (const r of readRelocations(raw, rel)) {
      const s = raw.symbols[r.sym];
      // A section symbol (a static function, a string): the section's name and the addend.
      const name = s?.name || raw.sections[s?.shndx ?? 0]?.name;
      if (name) out.set(r.offset, r.addend ? `${name}${r.addend < 0 ? '-' : '+'}0x${Math.abs(r.addend).toString(16)}` : name);
    }
  }
  return out;
}

/** The instruction's text, with `<symbol>` after a branch whose bytes hold a relocation. */
function withRelocation(i: Instruction, relocs: Map<number, string>): string {
  if (!BRANCH.test(i.mnemonic)) return i.text;
  for (let at = i.address; at < i.address + i.size; at++) {
    const name = relocs.get(at);
    if (name) return `${i.text} ${pc.cyan(`<${name}>`)}`;
  }
  return i.text;
}

/** The symbol's code as the loader linked it (relocations applied) at its loaded address, or undefined if it cannot be loaded alone. */
async function linkedLines(abi: AbiName, bytes: Uint8Array, symbol: string, size: number, dis: Disassembler): Promise<string | undefined> {
  const sb = await Sandbox.open(abi);
  let code: { address: number; bytes: Uint8Array };
  try {
    sb.load(bytes);
    const address = sb.machine.codeAddress(sb.symbolAddress(symbol));
    code = { address, bytes: sb.machine.read(address, size) };
  } catch {
    sb.close();
    return undefined; // e.g. a local symbol the loader does not export: the unlinked bytes instead
  }
  try {
    return dis.disassemble(code.bytes, code.address).map((i) => line(i, named(i, sb.machine))).join('');
  } finally {
    sb.close();
  }
}

/**
 * Branch and call mnemonics of the five instruction sets (x86 call/jmp/jcc; ARM, Thumb,
 * AArch64 and PowerPC b, bl, bcc, bdnz...; Thumb cbz/cbnz): their absolute operands are code addresses.
 */
const BRANCH = /^(call|j[a-z]*|b[a-z.]*|cbn?z)$/;

/** The instruction's text, with `<name>` after an absolute branch target that is a symbol. */
function named(i: Instruction, m: Machine): string {
  if (!BRANCH.test(i.mnemonic)) return i.text;
  const target = /(?:^|[\s,#])(0x[0-9a-f]+)\s*$/.exec(i.operands);
  if (!target) return i.text;
  const where = m.symbolize(Number.parseInt(target[1], 16));
  // symbolize gives 'name (0x...)' or 'name+0x4 (0x...)' for a symbol, the bare address otherwise.
  const name = /^(.*) \(0x[0-9a-f]+\)$/.exec(where)?.[1];
  return name ? `${i.text} ${pc.cyan(`<${name}>`)}` : i.text;
}

function line(i: Instruction, text: string): string {
  const hex = Array.from(i.bytes, (b) => b.toString(16).padStart(2, '0')).join(' ');
  return `  ${pc.dim(`0x${i.address.toString(16).padStart(8, '0')}`)}  ${hex.padEnd(24)} ${text}\n`;
}
