// The inputs of one static link and how they are chosen, the way GNU ld chooses them:
// every relocatable object given is linked; an archive member is linked only when it defines
// a symbol that something already linked needs (and then its own needs count too, until
// nothing new is needed); of COMDAT groups with the same signature, only the first is kept.
// Which sections are loaded at all is decided here as well.

import { isArchive, readArchive, type Archive, type ArchiveMember } from './elf-archive.ts';
import {
  ElfError, ET_DYN, ET_EXEC, ET_REL, readElf, readerFor, readRelocations, SHF_ALLOC, SHN_UNDEF, SHT_GROUP,
  SHT_REL, SHT_RELA, STB_LOCAL, STB_WEAK, STT_FILE, STT_SECTION,
  type ElfMachine, type RawElf, type RawReloc, type RawSection,
} from './elf-read.ts';

export interface LinkInput { bytes: Uint8Array; file?: string }

export interface Input {
  elf: RawElf;
  /** 'mylib.o', or 'libgcc.a(_divdi3.o)' for an archive member. */
  label: string;
  /** Loaded section index -> address, filled by placement. */
  placed: Map<number, number>;
  /** Sections of COMDAT groups an earlier input already supplied. */
  discarded: Set<number>;
  /** A member of abiscope's own runtime archives: any definition of the user's wins over its. */
  library: boolean;
  /** Relocation sections already read, by index. */
  relocations: Map<number, RawReloc[]>;
}

export interface PulledMember { archive: string; member: string; symbol: string; library: boolean }

const SHF_TLS = 0x400;
const GRP_COMDAT = 1;

/** Unwind tables: kept (GNU ld keeps them), but what they refer to never pulls code in. */
export const UNWIND_SECTION = /^(\.eh_frame|\.ARM\.exidx|\.ARM\.extab)(\.|$)/;

/** Whether `sec` becomes part of the guest image. */
export function isLoaded(input: Input, sec: RawSection): boolean {
  if (!(sec.flags & SHF_ALLOC) || sec.type === SHT_GROUP || sec.type === SHT_REL || sec.type === SHT_RELA) return false;
  return !input.discarded.has(sec.index);
}

/** Relocations of `relSec` (read once). */
export function relocationsOf(input: Input, relSec: RawSection): RawReloc[] {
  let list = input.relocations.get(relSec.index);
  if (!list) {
    list = readRelocations(input.elf, relSec);
    input.relocations.set(relSec.index, list);
  }
  return list;
}

/** The loaded sections' relocation sections, with the section each applies to. */
export function* relocationSections(input: Input): Generator<{ relSec: RawSection; target: RawSection }> {
  const { elf } = input;
  for (const relSec of elf.sections) {
    if (relSec.type !== SHT_REL && relSec.type !== SHT_RELA) continue;
    if (relSec.info >= elf.sections.length) readerFor(elf).fail(`relocation section ${relSec.name}: target section ${relSec.info} is out of range`);
    const target = elf.sections[relSec.info];
    if (isLoaded(input, target)) yield { relSec, target };
  }
}

function describe(x: { machine: ElfMachine; class: 32 | 64; endian: 'little' | 'big'; format?: 'coff' }): string {
  return x.format === 'coff' ? `${x.machine} COFF` : `${x.machine} ELF${x.class} ${x.endian}-endian`;
}

/** Every check an input file must pass before it is linked. */
function checkInput(elf: RawElf, label: string, like: { machine: ElfMachine; class: 32 | 64; endian: 'little' | 'big'; format?: 'coff'; label: string } | undefined): void {
  // COFF (Windows x64) and ELF (SysV) objects of one machine follow different conventions: never mixed.
  if (like && (elf.machine !== like.machine || elf.class !== like.class || elf.endian !== like.endian || elf.format !== like.format)) {
    throw new ElfError(`${describe(elf)} cannot be linked with ${like.label} (${describe(like)})`, label);
  }
  if (elf.type === ET_DYN) throw new ElfError('ELF type 3 (shared object or PIE) cannot be linked statically: load it as a shared object', label);
  if (elf.type !== ET_REL && elf.type !== ET_EXEC) throw new ElfError(`ELF type ${elf.type} is not supported: only static executables, relocatable objects and shared objects`, label);
  // BE8 ARM and big-endian AArch64 keep instructions little-endian: not handled.
  if (elf.type === ET_REL && elf.endian === 'big' && (elf.machine === 'arm' || elf.machine === 'aarch64')) {
    throw new ElfError(`big-endian ${elf.machine} objects are not supported`, label);
  }
  for (const sec of elf.sections) {
    if (sec.flags & SHF_TLS && sec.flags & SHF_ALLOC) {
      throw new ElfError(`section ${sec.name} holds thread-local variables (__thread / _Thread_local), which abiscope does not support`, label);
    }
  }
}

interface ArchiveSource { archive: Archive; label: string; library: boolean; pulled: Set<ArchiveMember> }

export interface ChosenInputs {
  files: Input[];
  members: PulledMember[];
}

/**
 * Reads the inputs (objects, executables, archives), then pulls archive members for what the
 * linked objects (and `roots`) need and `resolved` does not supply: the inputs' own archives
 * first, in order, then `libraries`. Finally drops duplicate COMDAT groups.
 */
export function chooseInputs(
  inputs: LinkInput[], libraries: LinkInput[], roots: readonly string[],
  resolved: (name: string) => boolean, expected?: { machine: ElfMachine; label: string },
): ChosenInputs {
  const files: Input[] = [];
  const sources: ArchiveSource[] = [];
  let like: Parameters<typeof checkInput>[2];
  const add = (elf: RawElf, label: string, library: boolean): Input => {
    if (!like && expected && elf.machine !== expected.machine) {
      throw new ElfError(`${label} is ${elf.machine} code, but ${expected.label} is ${expected.machine}`);
    }
    checkInput(elf, label, like);
    like ??= { machine: elf.machine, class: elf.class, endian: elf.endian, ...(elf.format ? { format: elf.format } : {}), label };
    const input: Input = { elf, label, placed: new Map(), discarded: new Set(), library, relocations: new Map() };
    files.push(input);
    return input;
  };
  inputs.forEach((inp, i) => {
    const label = inp.file ?? `input #${i}`;
    if (isArchive(inp.bytes)) sources.push(archiveSource(inp, label, false));
    else add(readElf(inp.bytes, inp.file), label, false);
  });
  for (const lib of libraries) sources.push(archiveSource(lib, lib.file ?? 'library', true));

  // Names defined so far, and names needed: referenced by a relocation (or a root) and not defined.
  const defined = new Set<string>();
  const needed = new Set<string>(roots);
  const account = (input: Input): void => {
    for (const s of input.elf.symbols) {
      if (s.bind !== STB_LOCAL && s.shndx !== SHN_UNDEF && s.name && s.type !== STT_SECTION && s.type !== STT_FILE) {
        defined.add(s.name);
        needed.delete(s.name);
      }
    }
    for (const name of strongReferences(input)) if (!defined.has(name)) needed.add(name);
  };
  files.forEach(account);

  const members: PulledMember[] = [];
  for (let progress = true; progress;) {
    progress = false;
    for (const name of [...needed]) {
      if (!needed.has(name)) continue;
      if (resolved(name)) {
        needed.delete(name);
        continue;
      }
      const source = sources.find((s) => s.archive.index.has(name));
      if (!source) continue;
      const member = source.archive.index.get(name)![0];
      if (source.pulled.has(member)) continue; // pulled already: it did not define `name` after all
      source.pulled.add(member);
      const label = `${source.label}(${member.name})`;
      let elf: RawElf;
      try {
        elf = readElf(member.bytes, label);
      } catch (e) {
        throw e instanceof ElfError ? new ElfError(`archive member pulled in for \`${name}\`: ${e.message}`) : e;
      }
      if (elf.type !== ET_REL) throw new ElfError(`archive member ${label} is not a relocatable object (ELF type ${elf.type})`);
      account(add(elf, label, source.library));
      members.push({ archive: source.label, member: member.name, symbol: name, library: source.library });
      progress = true;
    }
  }
  dropDuplicateGroups(files);
  return { files, members };
}

function archiveSource(inp: LinkInput, label: string, library: boolean): ArchiveSource {
  const archive = readArchive(inp.bytes, label);
  if (!archive.indexed) indexMembers(archive, label);
  return { archive, label, library, pulled: new Set() };
}

/** An archive without a symbol index (ar without s): index its members' definitions ourselves. */
function indexMembers(archive: Archive, label: string): void {
  for (const member of archive.members) {
    const elf = readElf(member.bytes, `${label}(${member.name})`);
    for (const s of elf.symbols) {
      if (s.bind === STB_LOCAL || s.shndx === SHN_UNDEF || !s.name || s.type === STT_SECTION || s.type === STT_FILE) continue;
      const list = archive.index.get(s.name) ?? [];
      list.push(member);
      archive.index.set(s.name, list);
    }
  }
}

/**
 * Global names the loaded sections of `input` refer to without a weak reference. R_*_NONE
 * (type 0 on every target; ARM unwind tables use it to name personality routines) and unwind
 * tables refer to nothing that must be linked.
 */
function strongReferences(input: Input): Set<string> {
  const out = new Set<string>();
  const { elf } = input;
  for (const { relSec, target } of relocationSections(input)) {
    if (UNWIND_SECTION.test(target.name)) continue;
    for (const r of relocationsOf(input, relSec)) {
      if (r.type === 0) continue;
      const s = elf.symbols[r.sym];
      if (r.sym !== 0 && s.shndx === SHN_UNDEF && s.bind !== STB_LOCAL && s.bind !== STB_WEAK && s.name) out.add(s.name);
    }
  }
  return out;
}

/** Of several COMDAT groups with one signature (e.g. i386's __x86.get_pc_thunk.bx), the first is kept. */
function dropDuplicateGroups(files: Input[]): void {
  const taken = new Set<string>();
  for (const input of files) {
    const { elf } = input;
    const r = readerFor(elf);
    for (const g of elf.sections) {
      if (g.type !== SHT_GROUP) continue;
      r.need(g.offset, g.size, `group section ${g.name}`);
      if (g.size < 4 || r.u32(g.offset) !== GRP_COMDAT) continue;
      if (g.info >= elf.symbols.length) r.fail(`group section ${g.name}: signature symbol ${g.info} is out of range`);
      const signature = elf.symbols[g.info].name;
      if (!taken.has(signature)) {
        taken.add(signature);
        continue;
      }
      for (let o = 4; o + 4 <= g.size; o += 4) input.discarded.add(r.u32(g.offset + o));
    }
  }
}
