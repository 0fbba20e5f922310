// ELF reader and static linker, pure TypeScript (no emulator dependency).
//
// parseElf() describes one file. linkElf() produces the memory image to write into the guest:
// ET_EXEC files are loaded at their PT_LOAD addresses; ET_REL objects (gcc -c) are placed from
// opts.base, one page-aligned segment per permission (code 'rx', read-only data 'r', writable
// data + bss + COMMON 'rw'), in input order, then relocated. Several objects in one call resolve
// each other's globals; anything else comes from opts.resolve. The low-level reading lives in
// elf-read.ts and the relocation formulas in elf-reloc-<arch>.ts.

import {
  ElfError, ET_DYN, ET_EXEC, ET_REL, hex, PF_W, PF_X, PT_LOAD, readElf, readerFor, readRelocations, sectionBytes,
  SHF_ALLOC, SHF_EXECINSTR, SHF_WRITE, SHN_ABS, SHN_COMMON, SHN_LORESERVE, SHN_UNDEF, SHT_GROUP, SHT_NOBITS, SHT_REL,
  SHT_RELA, STB_LOCAL, STB_WEAK, STT_COMMON, STT_FILE, STT_FUNC, STT_GNU_IFUNC, STT_OBJECT, STT_SECTION,
  STT_TLS, type ElfMachine, type RawElf, type RawReloc, type RawSection, type RawSymbol,
} from './elf-read.ts';
import { Place, relocName, type RelocArch } from './elf-reloc.ts';
import { AARCH64_RELOCS } from './elf-reloc-aarch64.ts';
import { ARM_RELOCS } from './elf-reloc-arm.ts';
import { PPC_RELOCS } from './elf-reloc-ppc.ts';
import { I386_RELOCS, X86_64_RELOCS } from './elf-reloc-x86.ts';

export { ElfError, type ElfMachine };

export interface ElfSymbol {
  name: string;
  address: number; // final address (parseElf: st_value); ARM Thumb functions keep bit 0 set
  size: number;
  kind: 'func' | 'object' | 'notype' | 'section' | 'file' | 'common' | 'tls';
  binding: 'local' | 'global' | 'weak';
  thumb: boolean; // ARM: STT_FUNC with bit 0 set
  defined: boolean;
  section?: string; // name of the section it is defined in
}

export interface ElfFile {
  file?: string; class: 32 | 64; endian: 'little' | 'big'; machine: ElfMachine;
  type: 'exec' | 'rel' | 'dyn' | 'other'; entry: number; flags: number;
  sections: { name: string; type: number; flags: number; addr: number; offset: number; size: number; align: number }[];
  symbols: ElfSymbol[]; // the .symtab without its null entry 0
}

export interface LoadedSegment { address: number; bytes: Uint8Array; perms: 'rx' | 'rw' | 'r'; name: string }

export interface LinkedImage {
  machine: ElfMachine; endian: 'little' | 'big'; class: 32 | 64;
  segments: LoadedSegment[]; // what must be written into guest memory (bss as zero bytes)
  symbols: Map<string, ElfSymbol>; // global+weak defined symbols, final addresses (Thumb bit kept)
  end: number; // first free page after everything placed (page aligned)
  /** Where each loaded section of each relocatable input went (for disassembly and debugging). */
  sections: { file?: string; name: string; address: number; size: number }[];
}

export interface LinkOptions {
  base: number; // where to start placing sections of relocatable objects (page aligned)
  resolve?: (name: string) => number | undefined; // symbols already known (earlier loads, host stubs)
}

const PAGE = 0x1000;
/** Largest image one linkElf call builds: corrupt sizes must not turn into huge allocations. */
const MAX_IMAGE_BYTES = 256 * 1024 * 1024;
const MAX_SECTION_ALIGN = 0x100000;

const RELOCS: Record<ElfMachine, RelocArch> = {
  x86: I386_RELOCS, x86_64: X86_64_RELOCS, arm: ARM_RELOCS, ppc32: PPC_RELOCS, aarch64: AARCH64_RELOCS,
};

// --- parseElf ---------------------------------------------------------------------------------

export function parseElf(bytes: Uint8Array, file?: string): ElfFile {
  const elf = readElf(bytes, file);
  return {
    file, class: elf.class, endian: elf.endian, machine: elf.machine,
    type: elf.type === ET_EXEC ? 'exec' : elf.type === ET_REL ? 'rel' : elf.type === ET_DYN ? 'dyn' : 'other',
    entry: elf.entry, flags: elf.flags,
    sections: elf.sections.map(({ name, type, flags, addr, offset, size, align }) => ({ name, type, flags, addr, offset, size, align })),
    symbols: elf.symbols.slice(1).map((s) => toElfSymbol(elf, s, s.value)),
  };
}

function symbolKind(s: RawSymbol): ElfSymbol['kind'] {
  if (s.shndx === SHN_COMMON || s.type === STT_COMMON) return 'common';
  switch (s.type) {
    case STT_FUNC: case STT_GNU_IFUNC: return 'func';
    case STT_OBJECT: return 'object';
    case STT_SECTION: return 'section';
    case STT_FILE: return 'file';
    case STT_TLS: return 'tls';
    default: return 'notype';
  }
}

function isThumbFunc(elf: RawElf, s: RawSymbol): boolean {
  return elf.machine === 'arm' && s.type === STT_FUNC && (s.value & 1) === 1;
}

function toElfSymbol(elf: RawElf, s: RawSymbol, address: number): ElfSymbol {
  const sym: ElfSymbol = {
    name: s.name, address, size: s.size, kind: symbolKind(s),
    binding: s.bind === STB_LOCAL ? 'local' : s.bind === STB_WEAK ? 'weak' : 'global',
    thumb: isThumbFunc(elf, s), defined: s.shndx !== SHN_UNDEF,
  };
  if (s.shndx !== SHN_UNDEF && s.shndx < SHN_LORESERVE) sym.section = elf.sections[s.shndx].name;
  return sym;
}

// --- linkElf ----------------------------------------------------------------------------------

interface Input { elf: RawElf; label: string; placed: Map<number, number> } // section index -> address
interface Definition { input: Input; sym: RawSymbol }
type Perms = LoadedSegment['perms'];
interface Chunk { input: Input; sec: RawSection }
interface CommonAlloc { name: string; size: number; align: number; address: number }

export function linkElf(inputs: { bytes: Uint8Array; file?: string }[], opts: LinkOptions): LinkedImage {
  if (!Array.isArray(inputs) || inputs.length === 0) throw new ElfError('linkElf: no input files');
  if (!Number.isSafeInteger(opts.base) || opts.base < 0 || opts.base % PAGE !== 0) {
    throw new ElfError(`linkElf: base ${opts.base} must be a non-negative multiple of ${hex(PAGE)}`);
  }
  const files: Input[] = inputs.map((inp, i) => ({
    elf: readElf(inp.bytes, inp.file), label: inp.file ?? `input #${i}`, placed: new Map(),
  }));
  const first = files[0].elf;
  for (const f of files) {
    const e = f.elf;
    if (e.machine !== first.machine || e.class !== first.class || e.endian !== first.endian) {
      const describe = (x: RawElf): string => `${x.machine} ELF${x.class} ${x.endian}-endian`;
      throw new ElfError(`${describe(e)} cannot be linked with ${files[0].label} (${describe(first)})`, f.label);
    }
    if (e.type !== ET_REL && e.type !== ET_EXEC) {
      const what = `ELF type ${e.type}${e.type === ET_DYN ? ' (shared object or PIE)' : ''}`;
      throw new ElfError(`${what} is not supported: only static executables and relocatable objects`, f.label);
    }
    // BE8 ARM and big-endian AArch64 keep instructions little-endian: not handled.
    if (e.type === ET_REL && e.endian === 'big' && (e.machine === 'arm' || e.machine === 'aarch64')) {
      throw new ElfError(`big-endian ${e.machine} objects are not supported`, f.label);
    }
  }
  const addressLimit = first.class === 32 ? 2 ** 32 : Number.MAX_SAFE_INTEGER;

  const objects = files.filter((f) => f.elf.type === ET_REL);
  const globals = collectGlobals(files);
  const segments: LoadedSegment[] = files.filter((f) => f.elf.type === ET_EXEC).flatMap(loadExecutable);
  const placed = placeObjects(objects, globals, opts.base, addressLimit);
  segments.push(...placed.segments);
  checkOverlaps(segments);

  const { commons, sections } = placed;
  const ctx: LinkContext = { globals, commons, resolve: opts.resolve, addressLimit, arch: RELOCS[first.machine] };
  relocate(objects, segments, ctx);

  const symbols = new Map<string, ElfSymbol>();
  for (const [name, def] of globals) {
    const address = definitionAddress(def, ctx);
    if (address === undefined) continue; // defined in a section that is not loaded
    const sym = toElfSymbol(def.input.elf, def.sym, address);
    symbols.set(name, commons.has(name) ? { ...sym, kind: 'object', defined: true, section: '.bss' } : sym);
  }
  const top = Math.max(opts.base, ...segments.map((s) => s.address + s.bytes.length));
  return {
    machine: first.machine, endian: first.endian, class: first.class,
    segments, symbols, end: alignUp(top, PAGE), sections,
  };
}

function alignUp(value: number, align: number): number {
  return Math.ceil(value / align) * align;
}

/**
 * The global symbol table: for each name, the definition that wins. A strong definition beats
 * COMMON, which beats a weak definition; two strong definitions are an error; several COMMON
 * symbols merge (largest size, strictest alignment, see placeObjects).
 */
function collectGlobals(files: Input[]): Map<string, Definition> {
  const rank = (s: RawSymbol): number => (s.bind === STB_WEAK ? 1 : s.shndx === SHN_COMMON ? 2 : 3);
  const globals = new Map<string, Definition>();
  const duplicates: string[] = [];
  for (const input of files) {
    for (const sym of input.elf.symbols) {
      if (sym.bind === STB_LOCAL || sym.shndx === SHN_UNDEF || sym.name === '') continue;
      if (sym.type === STT_SECTION || sym.type === STT_FILE) continue;
      const old = globals.get(sym.name);
      if (!old || rank(sym) > rank(old.sym)) globals.set(sym.name, { input, sym });
      else if (rank(sym) === 3 && rank(old.sym) === 3) duplicates.push(`\`${sym.name}\` (${old.input.label} and ${input.label})`);
    }
  }
  if (duplicates.length) throw new ElfError(`multiple definitions of ${duplicates.join(', ')}`);
  return globals;
}

function loadExecutable(input: Input): LoadedSegment[] {
  const { elf } = input;
  const r = readerFor(elf);
  let total = 0;
  return elf.segments.filter((p) => p.type === PT_LOAD && p.memsz > 0).map((p, i) => {
    if (p.filesz > p.memsz) r.fail(`PT_LOAD ${i}: file size ${hex(p.filesz)} exceeds memory size ${hex(p.memsz)}`);
    total += p.memsz;
    if (total > MAX_IMAGE_BYTES) r.fail(`PT_LOAD segments total more than ${MAX_IMAGE_BYTES} bytes`);
    if (p.vaddr + p.memsz > (elf.class === 32 ? 2 ** 32 : Number.MAX_SAFE_INTEGER)) r.fail(`PT_LOAD ${i} ends beyond the address space`);
    r.need(p.offset, p.filesz, `PT_LOAD ${i}`);
    const bytes = new Uint8Array(p.memsz);
    bytes.set(elf.bytes.subarray(p.offset, p.offset + p.filesz));
    const names = elf.sections
      .filter((s) => s.flags & SHF_ALLOC && s.addr >= p.vaddr && s.addr < p.vaddr + p.memsz)
      .map((s) => s.name);
    const perms: Perms = p.flags & PF_X ? 'rx' : p.flags & PF_W ? 'rw' : 'r';
    return { address: p.vaddr, bytes, perms, name: names.length ? names.join(' ') : `${input.label} PT_LOAD ${i}` };
  });
}

function sectionPerms(sec: RawSection): Perms {
  return sec.flags & SHF_EXECINSTR ? 'rx' : sec.flags & SHF_WRITE ? 'rw' : 'r';
}

/** Assigns addresses to the SHF_ALLOC sections of the relocatable inputs and to COMMON symbols. */
function placeObjects(files: Input[], globals: Map<string, Definition>, base: number, addressLimit: number) {
  const chunks: Record<Perms, Chunk[]> = { rx: [], r: [], rw: [] };
  const bss: Chunk[] = [];
  for (const input of files) {
    const r = readerFor(input.elf);
    for (const sec of input.elf.sections) {
      if (!(sec.flags & SHF_ALLOC) || sec.type === SHT_GROUP || sec.type === SHT_REL || sec.type === SHT_RELA) continue;
      const align = Math.max(sec.align, 1);
      if ((align & (align - 1)) !== 0 || align > MAX_SECTION_ALIGN) r.fail(`section ${sec.name}: bad alignment ${sec.align}`);
      const perms = sectionPerms(sec);
      (perms === 'rw' && sec.type === SHT_NOBITS ? bss : chunks[perms]).push({ input, sec });
    }
  }
  // COMMON symbols that won over any definition: merged per name, allocated after .bss.
  const commons = new Map<string, CommonAlloc>();
  for (const input of files) {
    for (const sym of input.elf.symbols) {
      if (sym.shndx !== SHN_COMMON || sym.bind === STB_LOCAL || globals.get(sym.name)?.sym.shndx !== SHN_COMMON) continue;
      const align = Math.max(sym.value, 1); // st_value of a COMMON symbol is its alignment
      if ((align & (align - 1)) !== 0 || align > MAX_SECTION_ALIGN) {
        readerFor(input.elf).fail(`COMMON symbol ${sym.name}: bad alignment ${sym.value}`);
      }
      const c = commons.get(sym.name) ?? { name: sym.name, size: 0, align: 1, address: 0 };
      commons.set(sym.name, { ...c, size: Math.max(c.size, sym.size), align: Math.max(c.align, align) });
    }
  }

  const segments: LoadedSegment[] = [];
  const sections: LinkedImage['sections'] = [];
  let cursor = base;
  const grow = (size: number): void => {
    cursor += size;
    if (cursor - base > MAX_IMAGE_BYTES) throw new ElfError(`relocatable objects need more than ${MAX_IMAGE_BYTES} bytes`);
    if (cursor > addressLimit) throw new ElfError(`relocatable objects do not fit in the address space above ${hex(base)}`);
  };
  const groups: [Perms, string, Chunk[]][] = [
    ['rx', '.text', chunks.rx], ['r', '.rodata', chunks.r], ['rw', '.data', [...chunks.rw, ...bss]],
  ];
  for (const [perms, name, list] of groups) {
    const start = alignUp(cursor, PAGE);
    cursor = start;
    for (const { input, sec } of list) {
      cursor = alignUp(cursor, Math.max(sec.align, 1));
      input.placed.set(sec.index, cursor);
      sections.push({ file: input.elf.file, name: sec.name, address: cursor, size: sec.size });
      grow(sec.size);
    }
    if (perms === 'rw') {
      for (const c of commons.values()) {
        cursor = alignUp(cursor, c.align);
        c.address = cursor;
        grow(c.size);
      }
    }
    if (cursor === start) continue;
    const bytes = new Uint8Array(cursor - start);
    for (const { input, sec } of list) {
      if (sec.type !== SHT_NOBITS) bytes.set(sectionBytes(input.elf, sec), input.placed.get(sec.index)! - start);
    }
    segments.push({ address: start, bytes, perms, name });
  }
  return { segments, commons, sections };
}

function checkOverlaps(segments: LoadedSegment[]): void {
  const sorted = [...segments].sort((a, b) => a.address - b.address);
  for (let i = 1; i < sorted.length; i++) {
    const a = sorted[i - 1], b = sorted[i];
    if (a.address + a.bytes.length > b.address) {
      const range = `[${hex(a.address)}, ${hex(a.address + a.bytes.length)})`;
      throw new ElfError(`segments overlap: ${a.name} ${range} and ${b.name} at ${hex(b.address)}`);
    }
  }
}

// --- symbol resolution and relocation -----------------------------------------------------

interface LinkContext {
  globals: Map<string, Definition>;
  commons: Map<string, CommonAlloc>;
  resolve?: (name: string) => number | undefined;
  addressLimit: number;
  arch: RelocArch;
}

/** Address of a symbol defined in `input`, or undefined when its section is not loaded. */
function definedAddress(input: Input, sym: RawSymbol): number | undefined {
  if (input.elf.type === ET_EXEC || sym.shndx === SHN_ABS) return sym.value;
  if (sym.shndx >= SHN_LORESERVE) return undefined; // other reserved indexes (e.g. large COMMON)
  const at = input.placed.get(sym.shndx);
  return at === undefined ? undefined : at + sym.value;
}

function definitionAddress(def: Definition, ctx: LinkContext): number | undefined {
  const common = ctx.commons.get(def.sym.name);
  if (def.sym.shndx === SHN_COMMON) return common?.address;
  return definedAddress(def.input, def.sym);
}

/** S and T for a relocation's symbol; `missing` when it cannot be resolved. */
type Target = { S: number; thumb: boolean | undefined; weakUndef: boolean } | { missing: string };

function resolveTarget(input: Input, sym: RawSymbol, ctx: LinkContext): Target {
  const isArm = input.elf.machine === 'arm';
  const fnState = (elf: RawElf, s: RawSymbol): boolean | undefined =>
    isArm && (s.type === STT_FUNC || s.type === STT_GNU_IFUNC) ? isThumbFunc(elf, s) : undefined;
  if (sym.index === 0) return { S: 0, thumb: undefined, weakUndef: false }; // no symbol (R_*_NONE, V4BX)
  const def = sym.bind === STB_LOCAL ? (sym.shndx === SHN_UNDEF ? undefined : { input, sym }) : ctx.globals.get(sym.name);
  if (def) {
    const S = definitionAddress(def, ctx);
    if (S === undefined) {
      const where = def.sym.shndx < def.input.elf.sections.length ? def.sym.shndx : hex(def.sym.shndx);
      throw new ElfError(`symbol \`${sym.name}\` is defined in section ${where}, which is not loaded`, def.input.label);
    }
    return { S, thumb: fnState(def.input.elf, def.sym), weakUndef: false };
  }
  const external = ctx.resolve?.(sym.name);
  if (external !== undefined) {
    if (!Number.isSafeInteger(external) || external < 0 || external >= ctx.addressLimit) {
      throw new ElfError(`resolve(${sym.name}) returned ${external}, which is not an address`);
    }
    return { S: external, thumb: isArm ? (external & 1) === 1 : undefined, weakUndef: false };
  }
  if (sym.bind === STB_WEAK) return { S: 0, thumb: undefined, weakUndef: true };
  return { missing: sym.name };
}

interface Pending {
  input: Input; relSec: RawSection; target: RawSection; reloc: RawReloc;
  S: number; thumb: boolean | undefined; weakUndef: boolean;
}

/**
 * Reads every relocation of the loaded sections, reports all unsupported types and all
 * unresolved symbols at once, then applies them in place in the segment bytes.
 */
function relocate(files: Input[], segments: LoadedSegment[], ctx: LinkContext): void {
  const unsupported = new Map<string, number>();
  const missing = new Map<string, Set<string>>();
  const pending: Pending[] = [];
  for (const input of files) {
    const { elf } = input;
    for (const relSec of elf.sections) {
      if (relSec.type !== SHT_REL && relSec.type !== SHT_RELA) continue;
      if (relSec.info >= elf.sections.length) {
        readerFor(elf).fail(`relocation section ${relSec.name}: target section ${relSec.info} is out of range`);
      }
      const target = elf.sections[relSec.info];
      if (!input.placed.has(target.index)) continue; // debug info and other sections we do not load
      if (target.type === SHT_NOBITS) {
        readerFor(elf).fail(`relocation section ${relSec.name} applies to ${target.name}, which has no contents`);
      }
      for (const reloc of readRelocations(elf, relSec)) {
        if (!ctx.arch.handlers.has(reloc.type)) {
          const key = `${relocName(ctx.arch, reloc.type)} (${reloc.type}) in ${input.label} section ${target.name}`;
          unsupported.set(key, (unsupported.get(key) ?? 0) + 1);
          continue;
        }
        const t = resolveTarget(input, elf.symbols[reloc.sym], ctx);
        if ('missing' in t) {
          const users = missing.get(t.missing) ?? new Set<string>();
          missing.set(t.missing, users.add(input.label));
          continue;
        }
        pending.push({ input, relSec, target, reloc, ...t });
      }
    }
  }
  if (unsupported.size) {
    const lines = [...unsupported].map(([k, n]) => `  ${k}${n > 1 ? ` (${n} sites)` : ''}`);
    const hint = 'GOT/PLT ones come from -fPIC code: build with -fno-pic; TLS is not supported';
    throw new ElfError(`unsupported relocation types (${hint}):\n${lines.join('\n')}`);
  }
  if (missing.size) {
    const lines = [...missing].map(([name, users]) => `  ${name} (referenced from ${[...users].join(', ')})`);
    throw new ElfError(`undefined symbols:\n${lines.join('\n')}`);
  }
  const views = new Map(segments.map((s) => [s, new DataView(s.bytes.buffer, s.bytes.byteOffset, s.bytes.byteLength)]));
  for (const p of pending) applyOne(p, segments, views, ctx.arch);
}

function applyOne(p: Pending, segments: LoadedSegment[], views: Map<LoadedSegment, DataView>, arch: RelocArch): void {
  const { input, relSec, target, reloc } = p;
  const name = relocName(arch, reloc.type);
  const sym = input.elf.symbols[reloc.sym];
  const fail = (message: string): never => {
    throw new ElfError(`${relSec.name}[${hex(reloc.offset)}] (${name}): ${message}`, input.label);
  };
  if (reloc.offset >= target.size) fail(`offset is outside section ${target.name} (size ${hex(target.size)})`);
  // A non-empty placed section always lies inside the segment built for it.
  const secAddr = input.placed.get(target.index)!;
  const seg = segments.find((s) => secAddr >= s.address && secAddr + target.size <= s.address + s.bytes.length)!;
  const start = secAddr - seg.address;
  const place = new Place(views.get(seg)!, start + reloc.offset, start + target.size, input.elf.endian === 'little', fail);
  arch.handlers.get(reloc.type)!({
    type: reloc.type, name, P: secAddr + reloc.offset, S: p.S, A: reloc.addend ?? 0, rela: reloc.addend !== undefined,
    thumb: p.thumb, weakUndef: p.weakUndef, symbol: sym.name || `symbol ${reloc.sym}`, place, fail,
  });
}
