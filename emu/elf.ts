// ELF reader and static linker, pure TypeScript (no emulator dependency).
//
// parseElf() describes one file. linkElf() produces the memory image to write into the guest:
// ET_EXEC files are loaded at their PT_LOAD addresses; ET_REL objects (gcc -c) and the archive
// members they need are placed from opts.base, one page-aligned segment per permission (code
// 'rx', read-only data 'r', writable data + bss + COMMON 'rw'), in input order, then relocated.
// Position-independent objects get a GOT built here, and ARM branches that cannot switch
// between ARM and Thumb state get veneers (elf-synth.ts). Symbol resolution, in order: the
// inputs' own definitions, opts.resolve (earlier loads), the inputs' archives, opts.libraries
// (abiscope's runtime), opts.fallback (host functions). Choosing inputs is elf-inputs.ts, the
// reading elf-read.ts and elf-archive.ts, the relocation formulas elf-reloc-<arch>.ts.

import {
  ElfError, ET_DYN, ET_EXEC, ET_REL, hex, PF_W, PF_X, PT_LOAD, readElf, readerFor, sectionBytes,
  SHF_EXECINSTR, SHF_WRITE, SHN_ABS, SHN_COMMON, SHN_LORESERVE, SHN_UNDEF, SHT_NOBITS,
  STB_LOCAL, STB_WEAK, STT_COMMON, STT_FILE, STT_FUNC, STT_GNU_IFUNC, STT_OBJECT, STT_SECTION,
  STT_TLS, type ElfMachine, type RawElf, type RawReloc, type RawSection, type RawSymbol,
} from './elf-read.ts';
import { isTlsRelocation, Place, relocName, type RelocArch } from './elf-reloc.ts';
import { GuestMemoryError } from './memory-map.ts';
import { chooseInputs, isLoaded, relocationSections, relocationsOf, UNWIND_SECTION, type Input, type LinkInput, type PulledMember } from './elf-inputs.ts';
import { GOT_SYMBOL, gotKey, GotLayout, planSynthetic, VeneerArea, type SyntheticPlan, type TargetHint } from './elf-synth.ts';
import { AARCH64_RELOCS } from './elf-reloc-aarch64.ts';
import { ARM_RELOCS } from './elf-reloc-arm.ts';
import { PPC_RELOCS } from './elf-reloc-ppc.ts';
import { I386_RELOCS, X86_64_RELOCS } from './elf-reloc-x86.ts';

export { ElfError, type ElfMachine, type LinkInput, type PulledMember };

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

export interface LoadedSegment {
  address: number;
  /** The segment's memory image, .bss included (as zeros). */
  bytes: Uint8Array;
  perms: 'rx' | 'rw' | 'r';
  name: string;
  /** Bytes from the start that may be non-zero (the rest is .bss, COMMON or p_memsz beyond p_filesz). */
  initialized: number;
}

export interface LinkedImage {
  machine: ElfMachine; endian: 'little' | 'big'; class: 32 | 64;
  segments: LoadedSegment[]; // what must be written into guest memory (bss as zero bytes)
  symbols: Map<string, ElfSymbol>; // global+weak defined symbols, final addresses (Thumb bit kept)
  end: number; // first free page after everything placed (page aligned)
  /** Where each loaded section of each relocatable input went (for disassembly and debugging). */
  sections: { file?: string; name: string; address: number; size: number }[];
  /** Archive members linked in, in order, with the symbol that pulled each. */
  members: PulledMember[];
  /** The GOT built for position-independent code: its origin (_GLOBAL_OFFSET_TABLE_) and entry count. */
  got?: { origin: number; entries: number };
  /** ARM interworking veneers made. */
  veneers: number;
  /** Functions of .init_array/.ctors sections, in the order a loader runs them. */
  initializers: number[];
  /** Local (static) functions, final addresses: for naming code addresses, never for resolving. */
  locals: ElfSymbol[];
}

export interface LinkOptions {
  /** Where to start placing sections of relocatable objects (page aligned). */
  base: number;
  /** Symbols already known (earlier loads, provided ones): they win over archive members. */
  resolve?: (name: string) => number | undefined;
  /** abiscope's runtime archives: searched after the inputs' archives; an input's definition always wins over theirs. */
  libraries?: LinkInput[];
  /** Last resort, after every archive, for a symbol still undefined (host-implemented functions). */
  fallback?: (name: string) => number | undefined;
  /** Symbols wanted from the archives although no object refers to them (`ld -u`). */
  roots?: readonly string[];
  /** The machine every input must be for (the link may hold only archives). */
  machine?: ElfMachine;
  /** Largest image to build, in bytes (default and most 256 MiB): checked before the memory is allocated. */
  maxBytes?: number;
}

const PAGE = 0x1000;
/** Largest image one linkElf call builds: corrupt sizes must not turn into huge allocations. */
const MAX_IMAGE_BYTES = 256 * 1024 * 1024;
const MAX_SECTION_ALIGN = 0x100000;

const RELOCS: Record<ElfMachine, RelocArch> = {
  x86: I386_RELOCS, x86_64: X86_64_RELOCS, arm: ARM_RELOCS, ppc32: PPC_RELOCS, aarch64: AARCH64_RELOCS,
};

/** The relocation formulas of one machine. */
export function relocArch(machine: ElfMachine): RelocArch {
  return RELOCS[machine];
}

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

export function toElfSymbol(elf: RawElf, s: RawSymbol, address: number): ElfSymbol {
  const sym: ElfSymbol = {
    name: s.name, address, size: s.size, kind: symbolKind(s),
    binding: s.bind === STB_LOCAL ? 'local' : s.bind === STB_WEAK ? 'weak' : 'global',
    thumb: isThumbFunc(elf, s), defined: s.shndx !== SHN_UNDEF,
  };
  if (s.shndx !== SHN_UNDEF && s.shndx < SHN_LORESERVE) sym.section = elf.sections[s.shndx].name;
  return sym;
}

// --- linkElf ----------------------------------------------------------------------------------

interface Definition { input: Input; sym: RawSymbol }
type Perms = LoadedSegment['perms'];
interface Chunk { input: Input; sec: RawSection }
interface CommonAlloc { name: string; size: number; align: number; address: number }

export function linkElf(inputs: LinkInput[], opts: LinkOptions): LinkedImage {
  if (!Array.isArray(inputs) || (inputs.length === 0 && !opts.roots?.length)) throw new ElfError('linkElf: no input files');
  if (!Number.isSafeInteger(opts.base) || opts.base < 0 || opts.base % PAGE !== 0) {
    throw new ElfError(`linkElf: base ${opts.base} must be a non-negative multiple of ${hex(PAGE)}`);
  }
  const resolvedElsewhere = (name: string): boolean => name === GOT_SYMBOL || opts.resolve?.(name) !== undefined;
  const expected = opts.machine ? { machine: opts.machine, label: 'this machine' } : undefined;
  const { files, members } = chooseInputs(inputs, opts.libraries ?? [], opts.roots ?? [], resolvedElsewhere, expected);
  const empty: LinkedImage = {
    machine: opts.machine ?? 'x86', endian: 'little', class: 32, segments: [], symbols: new Map(), end: opts.base,
    sections: [], members, veneers: 0, initializers: [], locals: [],
  };
  if (!files.length) return empty;
  const first = files[0].elf;
  const addressLimit = first.class === 32 ? 2 ** 32 : Number.MAX_SAFE_INTEGER;
  const arch = RELOCS[first.machine];

  const objects = files.filter((f) => f.elf.type === ET_REL);
  const globals = collectGlobals(files);
  const maxBytes = Math.min(opts.maxBytes ?? MAX_IMAGE_BYTES, MAX_IMAGE_BYTES);
  const segments: LoadedSegment[] = files.filter((f) => f.elf.type === ET_EXEC).flatMap((f) => loadExecutable(f, maxBytes));
  const planning: LinkContext = { globals, commons: new Map(), resolve: opts.resolve, fallback: opts.fallback, addressLimit, arch, files: objects };
  const hint = (input: Input, sym: RawSymbol): TargetHint => {
    const t = resolveTarget(input, sym, planning, true, true);
    if ('missing' in t) return { thumb: undefined };
    const defined = sym.bind === STB_LOCAL || globals.has(sym.name);
    return defined ? { thumb: t.thumb } : { thumb: t.thumb, external: t.S };
  };
  const synthetic = planSynthetic(objects, arch, first.endian, hint, [opts.base, opts.base + imageSpan(objects)]);
  const placed = placeObjects(objects, globals, opts.base, addressLimit, synthetic, first.class === 64 ? 8 : 4, maxBytes);
  segments.push(...placed.segments);
  checkOverlaps(segments);

  const { commons, sections, got, veneers } = placed;
  const ctx: LinkContext = {
    globals, commons, resolve: opts.resolve, fallback: opts.fallback, addressLimit, arch, files: objects, got, veneers,
  };
  relocate(objects, segments, ctx);
  writeSynthetic(segments, ctx, first.endian);

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
    segments, symbols, end: alignUp(top, PAGE), sections, members,
    got: got ? { origin: got.origin, entries: got.plan.gotEntries.length } : undefined,
    veneers: veneers?.count ?? 0,
    initializers: initializers(objects, segments, first),
    locals: files.flatMap((f) => localFunctions(f)),
  };
}

/** STT_FUNC locals of a loaded input (a static function, GCC's `f.cold` parts), at their final addresses. */
function localFunctions(input: Input): ElfSymbol[] {
  const out: ElfSymbol[] = [];
  for (const s of input.elf.symbols) {
    if (s.bind !== STB_LOCAL || s.type !== STT_FUNC || !s.name) continue;
    const at = definedAddress(input, s);
    if (at !== undefined) out.push(toElfSymbol(input.elf, s, at));
  }
  return out;
}

/** At most how many bytes the loaded sections of `objects` take once placed (sizes, alignment, a page per segment). */
function imageSpan(objects: Input[]): number {
  let n = 3 * PAGE;
  for (const input of objects) for (const sec of input.elf.sections) if (isLoaded(input, sec)) n += sec.size + Math.max(sec.align, 1);
  return n;
}

function alignUp(value: number, align: number): number {
  return Math.ceil(value / align) * align;
}

/**
 * The global symbol table: for each name, the definition that wins. A strong definition beats
 * COMMON, which beats a weak definition; two strong definitions are an error; several COMMON
 * symbols merge (largest size, strictest alignment, see placeObjects). Any definition in the
 * user's files beats one in abiscope's runtime libraries (as a user's malloc would beat libc's).
 */
function collectGlobals(files: Input[]): Map<string, Definition> {
  const rank = (input: Input, s: RawSymbol): number => (input.library ? 0 : s.bind === STB_WEAK ? 1 : s.shndx === SHN_COMMON ? 2 : 3);
  const globals = new Map<string, Definition>();
  const duplicates: string[] = [];
  for (const input of files) {
    for (const sym of input.elf.symbols) {
      if (sym.bind === STB_LOCAL || sym.shndx === SHN_UNDEF || sym.name === '') continue;
      if (sym.type === STT_SECTION || sym.type === STT_FILE) continue;
      if (input.discarded.has(sym.shndx)) continue; // its COMDAT group came from an earlier file
      const old = globals.get(sym.name);
      if (!old || rank(input, sym) > rank(old.input, old.sym)) globals.set(sym.name, { input, sym });
      else if (rank(input, sym) === 3 && rank(old.input, old.sym) === 3) duplicates.push(`\`${sym.name}\` (${old.input.label} and ${input.label})`);
    }
  }
  if (duplicates.length) throw new ElfError(`multiple definitions of ${duplicates.join(', ')}`);
  return globals;
}

function loadExecutable(input: Input, maxBytes: number): LoadedSegment[] {
  const { elf } = input;
  const r = readerFor(elf);
  let total = 0;
  return elf.segments.filter((p) => p.type === PT_LOAD && p.memsz > 0).map((p, i) => {
    if (p.filesz > p.memsz) r.fail(`PT_LOAD ${i}: file size ${hex(p.filesz)} exceeds memory size ${hex(p.memsz)}`);
    total += p.memsz;
    if (total > maxBytes) {
      if (maxBytes < MAX_IMAGE_BYTES) throw new GuestMemoryError(`${input.label}: its PT_LOAD segments need more than the ${maxBytes} bytes the machine has left of its memory limit`);
      r.fail(`PT_LOAD segments total more than ${maxBytes} bytes`);
    }
    if (p.vaddr + p.memsz > (elf.class === 32 ? 2 ** 32 : Number.MAX_SAFE_INTEGER)) r.fail(`PT_LOAD ${i} ends beyond the address space`);
    r.need(p.offset, p.filesz, `PT_LOAD ${i}`);
    const bytes = new Uint8Array(p.memsz);
    bytes.set(elf.bytes.subarray(p.offset, p.offset + p.filesz));
    const names = elf.sections
      .filter((s) => s.flags & 0x2 && s.addr >= p.vaddr && s.addr < p.vaddr + p.memsz)
      .map((s) => s.name);
    const perms: Perms = p.flags & PF_X ? 'rx' : p.flags & PF_W ? 'rw' : 'r';
    return { address: p.vaddr, bytes, perms, name: names.length ? names.join(' ') : `${input.label} PT_LOAD ${i}`, initialized: p.filesz };
  });
}

function sectionPerms(sec: RawSection): Perms {
  return sec.flags & SHF_EXECINSTR ? 'rx' : sec.flags & SHF_WRITE ? 'rw' : 'r';
}

/**
 * Assigns addresses to the loaded sections of the relocatable inputs, to COMMON symbols and to
 * what the linker makes: veneers after the code, the GOT after the read-only data (after the
 * code on PowerPC, where it starts with an instruction).
 */
function placeObjects(files: Input[], globals: Map<string, Definition>, base: number, addressLimit: number, synthetic: SyntheticPlan, pointerSize: number, maxBytes: number) {
  const chunks: Record<Perms, Chunk[]> = { rx: [], r: [], rw: [] };
  const bss: Chunk[] = [];
  for (const input of files) {
    const r = readerFor(input.elf);
    for (const sec of input.elf.sections) {
      if (!isLoaded(input, sec)) continue;
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
  let got: GotLayout | undefined;
  let veneers: VeneerArea | undefined;
  const grow = (size: number): void => {
    cursor += size;
    if (cursor - base > maxBytes) {
      if (maxBytes < MAX_IMAGE_BYTES) throw new GuestMemoryError(`the objects need more than the ${maxBytes} bytes the machine has left of its memory limit`);
      throw new ElfError(`relocatable objects need more than ${maxBytes} bytes`);
    }
    if (cursor > addressLimit) throw new ElfError(`relocatable objects do not fit in the address space above ${hex(base)}`);
  };
  const placeGot = (): void => {
    cursor = alignUp(cursor, pointerSize);
    got = new GotLayout(cursor, synthetic, pointerSize);
    sections.push({ name: '.got', address: cursor, size: got.size });
    grow(got.size);
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
    if (perms === 'rx' && synthetic.veneerSlots && synthetic.veneerKind) {
      cursor = alignUp(cursor, 4);
      veneers = new VeneerArea(cursor, synthetic.veneerSlots, synthetic.veneerKind);
      sections.push({ name: '.veneers', address: cursor, size: veneers.size });
      grow(veneers.size);
    }
    if (synthetic.needsGot && perms === (synthetic.gotExecutable ? 'rx' : 'r')) placeGot();
    if (perms === 'rw') {
      for (const c of commons.values()) {
        cursor = alignUp(cursor, c.align);
        c.address = cursor;
        grow(c.size);
      }
    }
    if (cursor === start) continue;
    const bytes = new Uint8Array(cursor - start);
    let initialized = cursor - start; // code and read-only segments: all of it (the GOT and veneers are filled later)
    if (perms === 'rw') initialized = 0;
    for (const { input, sec } of list) {
      if (sec.type === SHT_NOBITS) continue;
      const at = input.placed.get(sec.index)! - start;
      bytes.set(sectionBytes(input.elf, sec), at);
      if (perms === 'rw') initialized = Math.max(initialized, at + sec.size);
    }
    segments.push({ address: start, bytes, perms, name, initialized });
  }
  return { segments, commons, sections, got: got as GotLayout | undefined, veneers: veneers as VeneerArea | undefined };
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
  fallback?: (name: string) => number | undefined;
  addressLimit: number;
  arch: RelocArch;
  files: Input[];
  got?: GotLayout;
  veneers?: VeneerArea;
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

/**
 * `fromUnwind`: the relocation is in an unwind table, where a reference into a discarded
 * COMDAT copy (the entry of a function another file supplied) is 0, as GNU ld makes it.
 */
function resolveTarget(input: Input, sym: RawSymbol, ctx: LinkContext, fromUnwind = false, stateOnly = false): Target {
  const isArm = input.elf.machine === 'arm';
  const fnState = (elf: RawElf, s: RawSymbol): boolean | undefined =>
    isArm && (s.type === STT_FUNC || s.type === STT_GNU_IFUNC) ? isThumbFunc(elf, s) : undefined;
  if (sym.index === 0) return { S: 0, thumb: undefined, weakUndef: false }; // no symbol (R_*_NONE, V4BX)
  if (sym.bind === STB_LOCAL && input.discarded.has(sym.shndx)) {
    if (fromUnwind) return { S: 0, thumb: undefined, weakUndef: false };
    throw new ElfError(`\`${sym.name}\` is in a COMDAT group discarded in favour of an earlier file's copy, but is referred to directly`, input.label);
  }
  const def = sym.bind === STB_LOCAL ? (sym.shndx === SHN_UNDEF ? undefined : { input, sym }) : ctx.globals.get(sym.name);
  if (def) {
    // Before placement only the state is asked for (veneers are sized from it).
    if (stateOnly) return { S: 0, thumb: fnState(def.input.elf, def.sym), weakUndef: false };
    const S = definitionAddress(def, ctx);
    if (S === undefined) {
      const where = def.sym.shndx < def.input.elf.sections.length ? def.input.elf.sections[def.sym.shndx].name || def.sym.shndx : hex(def.sym.shndx);
      throw new ElfError(`symbol \`${sym.name}\` is defined in section ${where}, which is not loaded`, def.input.label);
    }
    return { S, thumb: fnState(def.input.elf, def.sym), weakUndef: false };
  }
  if (sym.name === GOT_SYMBOL && ctx.got) return { S: ctx.got.origin, thumb: undefined, weakUndef: false };
  const external = ctx.resolve?.(sym.name) ?? (sym.bind === STB_WEAK ? undefined : ctx.fallback?.(sym.name));
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
  const tls = new Set<string>();
  const missing = new Map<string, Set<string>>();
  const pending: Pending[] = [];
  for (const input of files) {
    const { elf } = input;
    for (const { relSec, target } of relocationSections(input)) {
      if (target.type === SHT_NOBITS) {
        readerFor(elf).fail(`relocation section ${relSec.name} applies to ${target.name}, which has no contents`);
      }
      for (const reloc of relocationsOf(input, relSec)) {
        if (!ctx.arch.handlers.has(reloc.type)) {
          const name = relocName(ctx.arch, reloc.type);
          if (isTlsRelocation(name)) {
            tls.add(`${elf.symbols[reloc.sym]?.name || 'a thread-local variable'} (${name} in ${input.label})`);
            continue;
          }
          const key = `${name} (${reloc.type}) in ${input.label} section ${target.name}`;
          unsupported.set(key, (unsupported.get(key) ?? 0) + 1);
          continue;
        }
        const unwind = UNWIND_SECTION.test(target.name);
        const t = reloc.type === 0 ? { S: 0, thumb: undefined, weakUndef: false } : resolveTarget(input, elf.symbols[reloc.sym], ctx, unwind);
        if ('missing' in t) {
          const users = missing.get(t.missing) ?? new Set<string>();
          missing.set(t.missing, users.add(input.label));
          continue;
        }
        pending.push({ input, relSec, target, reloc, ...t });
      }
    }
  }
  if (tls.size) {
    throw new ElfError(`thread-local storage (__thread / _Thread_local) is not supported; used by: ${[...tls].join(', ')}`);
  }
  if (unsupported.size) {
    const lines = [...unsupported].map(([k, n]) => `  ${k}${n > 1 ? ` (${n} sites)` : ''}`);
    throw new ElfError(`unsupported relocation types:\n${lines.join('\n')}`);
  }
  if (missing.size) {
    const lines = [...missing].map(([name, users]) => `  ${name} (referenced from ${[...users].join(', ')})`);
    throw new ElfError(`undefined symbols:\n${lines.join('\n')}`);
  }
  const views = new Map(segments.map((s) => [s, new DataView(s.bytes.buffer, s.bytes.byteOffset, s.bytes.byteLength)]));
  for (const p of pending) applyOne(p, segments, views, ctx);
}

function applyOne(p: Pending, segments: LoadedSegment[], views: Map<LoadedSegment, DataView>, ctx: LinkContext): void {
  const { input, relSec, target, reloc } = p;
  const { arch } = ctx;
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
  const { got, veneers } = ctx;
  const gotIndex = arch.gotTypes?.has(reloc.type) ? got?.plan.gotIndex.get(gotKey(arch, input, ctx.files, sym, reloc.addend ?? 0)) : undefined;
  arch.handlers.get(reloc.type)!({
    type: reloc.type, name, P: secAddr + reloc.offset, S: p.S, A: reloc.addend ?? 0, rela: reloc.addend !== undefined,
    thumb: p.thumb, weakUndef: p.weakUndef, symbol: sym.name || `symbol ${reloc.sym}`, place, fail,
    G: gotIndex === undefined ? Number.NaN : got!.entryAddress(gotIndex),
    GOT: got?.origin ?? Number.NaN,
    veneer: () => {
      const from = arch.veneers?.types.get(reloc.type);
      const at = from && veneers?.veneer(from, p.S);
      if (at === undefined) return fail(`\`${sym.name}\` at ${hex(p.S)} is out of this branch's reach, and no veneer was planned for it (is the code larger than the branch reaches?)`);
      return at;
    },
  });
}

/** Writes the GOT entries (each symbol's final address) and the veneers into their segments. */
function writeSynthetic(segments: LoadedSegment[], ctx: LinkContext, endian: 'little' | 'big'): void {
  const put = (address: number, bytes: Uint8Array): void => {
    const seg = segments.find((s) => address >= s.address && address + bytes.length <= s.address + s.bytes.length)!;
    seg.bytes.set(bytes, address - seg.address);
  };
  const { got, veneers } = ctx;
  if (got) {
    const values = got.plan.gotEntries.map(({ input, sym, addend }) => {
      const t = resolveTarget(input, sym, ctx);
      return 'missing' in t ? 0 : t.S + addend; // missing symbols were reported by relocate()
    });
    put(got.address, got.bytes(values, endian));
  }
  for (const v of veneers?.code ?? []) put(v.address, v.bytes);
}

/**
 * Constructors, in the order the gABI and GNU ld give them: .preinit_array, then
 * .init_array.NNNNN and .ctors.NNNNN by priority, then plain .init_array and .ctors, each in
 * input order. Entries are read from the relocated image.
 */
function initializers(files: Input[], segments: LoadedSegment[], first: RawElf): number[] {
  const ptr = first.class === 64 ? 8 : 4;
  const rank = (name: string): number | undefined => {
    if (name === '.preinit_array') return -1;
    const m = /^\.(init_array|ctors)(?:\.(\d+))?$/.exec(name);
    if (!m) return undefined;
    return m[2] === undefined ? 100000 : Number(m[2]);
  };
  const found: { rank: number; order: number; address: number; size: number }[] = [];
  for (const input of files) {
    for (const sec of input.elf.sections) {
      const r = rank(sec.name);
      const at = input.placed.get(sec.index);
      if (r !== undefined && at !== undefined && sec.type !== SHT_NOBITS) found.push({ rank: r, order: found.length, address: at, size: sec.size });
    }
  }
  found.sort((a, b) => a.rank - b.rank || a.order - b.order);
  const out: number[] = [];
  for (const f of found) {
    const seg = segments.find((s) => f.address >= s.address && f.address + f.size <= s.address + s.bytes.length)!;
    const dv = new DataView(seg.bytes.buffer, seg.bytes.byteOffset + (f.address - seg.address), f.size);
    for (let o = 0; o + ptr <= f.size; o += ptr) {
      const v = ptr === 8 ? Number(dv.getBigUint64(o, first.endian === 'little')) : dv.getUint32(o, first.endian === 'little');
      if (v !== 0 && v !== (ptr === 8 ? Number.MAX_SAFE_INTEGER : 0xffffffff)) out.push(v);
    }
  }
  return out;
}
