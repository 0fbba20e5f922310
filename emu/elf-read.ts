// ELF structure reader: file header, section and program headers, symbol and relocation tables.
// Field offsets follow the System V gABI (ELF32 and ELF64 layouts). Every offset and size read
// from the file is checked against the buffer before use, so a truncated or corrupt file ends in
// an ElfError: never a RangeError, never a hang, never an allocation sized by a corrupt field.

import { AbiscopeError } from '../errors.ts';
import { isCoffAmd64, readCoff } from './coff-read.ts';
export type ElfMachine = 'x86' | 'x86_64' | 'arm' | 'ppc32' | 'aarch64';

export class ElfError extends AbiscopeError {
  override readonly name = 'ElfError';
  constructor(message: string, public readonly file?: string) {
    super(file === undefined ? message : `${file}: ${message}`);
  }
}

// e_type
export const ET_REL = 1;
export const ET_EXEC = 2;
export const ET_DYN = 3;
// e_machine -> our name, and the ELF class each machine must use
const MACHINES: ReadonlyMap<number, { name: ElfMachine; class: 32 | 64 }> = new Map([
  [3, { name: 'x86', class: 32 }], // EM_386
  [20, { name: 'ppc32', class: 32 }], // EM_PPC
  [40, { name: 'arm', class: 32 }], // EM_ARM
  [62, { name: 'x86_64', class: 64 }], // EM_X86_64
  [183, { name: 'aarch64', class: 64 }], // EM_AARCH64
]);
// sh_type
export const SHT_PROGBITS = 1;
export const SHT_SYMTAB = 2;
export const SHT_RELA = 4;
export const SHT_NOBITS = 8;
export const SHT_REL = 9;
export const SHT_GROUP = 17;
export const SHT_SYMTAB_SHNDX = 18;
// sh_flags
export const SHF_WRITE = 0x1;
export const SHF_ALLOC = 0x2;
export const SHF_EXECINSTR = 0x4;
// special section indexes
export const SHN_UNDEF = 0;
export const SHN_LORESERVE = 0xff00;
export const SHN_ABS = 0xfff1;
export const SHN_COMMON = 0xfff2;
export const SHN_XINDEX = 0xffff;
// st_info: type (low nibble) and binding (high nibble)
export const STT_NOTYPE = 0;
export const STT_OBJECT = 1;
export const STT_FUNC = 2;
export const STT_SECTION = 3;
export const STT_FILE = 4;
export const STT_COMMON = 5;
export const STT_TLS = 6;
export const STT_GNU_IFUNC = 10;
export const STB_LOCAL = 0;
export const STB_GLOBAL = 1;
export const STB_WEAK = 2;
// program headers
export const PT_LOAD = 1;
export const PF_X = 0x1;
export const PF_W = 0x2;

export interface RawSection {
  index: number; name: string; type: number; flags: number; addr: number; offset: number;
  size: number; link: number; info: number; align: number; entsize: number;
}
export interface RawSymbol {
  index: number; name: string; value: number; size: number;
  type: number; bind: number;
  shndx: number; // a section index (< SHN_LORESERVE, SHN_XINDEX already resolved) or a reserved SHN_* value
}
export interface RawSegment { type: number; flags: number; offset: number; vaddr: number; filesz: number; memsz: number }
export interface RawReloc { offset: number; type: number; sym: number; addend: number | undefined } // addend: RELA only
export interface RawElf {
  file?: string; bytes: Uint8Array; class: 32 | 64; endian: 'little' | 'big'; machine: ElfMachine;
  /** 'coff': read from a COFF object by emu/coff-read.ts (synthesized tables appended to `bytes`). */
  format?: 'coff';
  type: number; entry: number; flags: number;
  sections: RawSection[]; segments: RawSegment[];
  symtab?: RawSection; symbols: RawSymbol[]; // symbols[0] is the null symbol when a .symtab exists
}

export function hex(n: number): string {
  return n < 0 ? `-0x${(-n).toString(16)}` : `0x${n.toString(16)}`;
}

const utf8 = new TextDecoder('utf-8');

/** Bounds-checked reads of the file; every read failure is an ElfError naming the file. */
export class ElfReader {
  private readonly view: DataView;
  constructor(readonly bytes: Uint8Array, readonly le: boolean, readonly is64: boolean, readonly file?: string) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  fail(message: string): never {
    throw new ElfError(message, this.file);
  }
  /** Throws unless [offset, offset+size) lies inside the file. */
  need(offset: number, size: number, what: string): void {
    if (!(Number.isSafeInteger(offset) && Number.isSafeInteger(size) && offset >= 0 && size >= 0
      && offset + size <= this.bytes.length)) {
      this.fail(`${what} (offset ${hex(offset)}, size ${hex(size)}) extends beyond the end of the file (${this.bytes.length} bytes)`);
    }
  }
  u8(o: number): number { this.need(o, 1, 'field'); return this.view.getUint8(o); }
  u16(o: number): number { this.need(o, 2, 'field'); return this.view.getUint16(o, this.le); }
  u32(o: number): number { this.need(o, 4, 'field'); return this.view.getUint32(o, this.le); }
  s32(o: number): number { this.need(o, 4, 'field'); return this.view.getInt32(o, this.le); }
  /** 64-bit fields become numbers; values above 2^53 cannot be addresses we place, so they are errors. */
  u64(o: number): number {
    this.need(o, 8, 'field');
    const v = this.view.getBigUint64(o, this.le);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) this.fail(`64-bit value 0x${v.toString(16)} at offset ${hex(o)} is too large`);
    return Number(v);
  }
  s64(o: number): number {
    this.need(o, 8, 'field');
    const v = this.view.getBigInt64(o, this.le);
    const max = BigInt(Number.MAX_SAFE_INTEGER);
    if (v > max || v < -max) this.fail(`64-bit value ${v} at offset ${hex(o)} is too large`);
    return Number(v);
  }
  /** An address-sized field: Elf32_Addr/Off/Word or Elf64_Addr/Off/Xword. */
  word(o: number): number { return this.is64 ? this.u64(o) : this.u32(o); }
  /** Low 32 bits of an address-sized field (sh_flags: the defined flags all live there). */
  word32(o: number): number { return this.is64 ? this.u32(this.le ? o : o + 4) : this.u32(o); }
  /** A NUL-terminated string at `offset` inside string table `strtab`. */
  string(strtab: RawSection, offset: number, what: string): string {
    if (offset === 0) return '';
    if (strtab.type === SHT_NOBITS) this.fail(`${what}: string table ${strtab.name || strtab.index} has no contents`);
    this.need(strtab.offset, strtab.size, `string table ${strtab.name || strtab.index}`);
    if (offset >= strtab.size) this.fail(`${what}: name offset ${hex(offset)} is outside its string table (size ${hex(strtab.size)})`);
    const start = strtab.offset + offset;
    const end = this.bytes.indexOf(0, start);
    if (end < 0 || end >= strtab.offset + strtab.size) this.fail(`${what}: name is not NUL-terminated inside its string table`);
    return utf8.decode(this.bytes.subarray(start, end));
  }
}

/** Parses headers, sections, program headers and the symbol table. No relocation is read here. */
export function readElf(bytes: Uint8Array, file?: string): RawElf {
  if (!(bytes instanceof Uint8Array)) throw new ElfError('input is not a Uint8Array', file);
  // A COFF object (x86_64-w64-mingw32): read into the same structure, linked the same way.
  if (isCoffAmd64(bytes)) return readCoff(bytes, file);
  if (bytes.length < 16 || bytes[0] !== 0x7f || bytes[1] !== 0x45 || bytes[2] !== 0x4c || bytes[3] !== 0x46) {
    throw new ElfError('not an ELF file (bad magic)', file);
  }
  const eiClass = bytes[4], eiData = bytes[5];
  if (eiClass !== 1 && eiClass !== 2) throw new ElfError(`bad ELF class ${eiClass} (EI_CLASS must be 1 or 2)`, file);
  if (eiData !== 1 && eiData !== 2) throw new ElfError(`bad ELF data encoding ${eiData} (EI_DATA must be 1 or 2)`, file);
  const is64 = eiClass === 2;
  const r: ElfReader = new ElfReader(bytes, eiData === 1, is64, file);
  const w = is64 ? 8 : 4;
  r.need(0, is64 ? 64 : 52, 'ELF header');

  const type = r.u16(16);
  const emachine = r.u16(18);
  const m = MACHINES.get(emachine);
  if (!m) r.fail(`unsupported machine ${emachine} (${hex(emachine)}): abiscope handles x86, x86-64, ARM, PowerPC and AArch64`);
  if (m.class !== (is64 ? 64 : 32)) r.fail(`${m.name} objects must be ELF${m.class}, this one is ELF${is64 ? 64 : 32}`);
  const entry = r.word(24);
  const phoff = r.word(24 + w);
  const shoff = r.word(24 + 2 * w);
  const flags = r.u32(24 + 3 * w);
  const phentsize = r.u16(30 + 3 * w);
  const phnum = r.u16(32 + 3 * w);
  const shentsize = r.u16(34 + 3 * w);
  const shnum = r.u16(36 + 3 * w);
  const shstrndx = r.u16(38 + 3 * w);

  const sections = readSectionHeaders(r, shoff, shentsize, shnum, shstrndx);
  const segments = type === ET_REL ? [] : readProgramHeaders(r, phoff, phentsize, phnum);
  const elf: RawElf = {
    file, bytes, class: is64 ? 64 : 32, endian: r.le ? 'little' : 'big', machine: m.name,
    type, entry, flags, sections, segments, symbols: [],
  };
  elf.symtab = sections.find((s) => s.type === SHT_SYMTAB);
  if (elf.symtab) elf.symbols = readSymbols(r, sections, elf.symtab);
  return elf;

  function readSectionHeaders(r: ElfReader, shoff: number, entsize: number, count: number, strndx: number): RawSection[] {
    if (shoff === 0) return [];
    const min = is64 ? 64 : 40;
    if (entsize < min) r.fail(`section header size ${entsize} is smaller than ${min}`);
    r.need(shoff, entsize, 'section header table');
    // Extended numbering: more than 0xff00 sections keep the real count/index in section 0.
    if (count === 0) count = r.word(shoff + 8 + 3 * w);
    if (strndx === SHN_XINDEX) strndx = r.u32(shoff + 8 + 4 * w);
    if (count > Math.floor((r.bytes.length - shoff) / entsize)) {
      r.fail(`section header table (${count} entries of ${entsize} bytes at ${hex(shoff)}) extends beyond the end of the file`);
    }
    const out: RawSection[] = [];
    for (let i = 0; i < count; i++) {
      const o = shoff + i * entsize;
      out.push({
        index: i, name: '', type: r.u32(o + 4), flags: r.word32(o + 8), addr: r.word(o + 8 + w),
        offset: r.word(o + 8 + 2 * w), size: r.word(o + 8 + 3 * w), link: r.u32(o + 8 + 4 * w),
        info: r.u32(o + 12 + 4 * w), align: r.word(o + 16 + 4 * w), entsize: r.word(o + 16 + 5 * w),
      });
    }
    if (strndx !== SHN_UNDEF) {
      if (strndx >= count) r.fail(`section name table index ${strndx} is out of range (${count} sections)`);
      const strtab = out[strndx];
      for (const s of out) s.name = r.string(strtab, r.u32(shoff + s.index * entsize), `section ${s.index} name`);
    }
    return out;
  }

  function readProgramHeaders(r: ElfReader, phoff: number, entsize: number, count: number): RawSegment[] {
    if (phoff === 0 || count === 0) return [];
    const min = is64 ? 56 : 32;
    if (entsize < min) r.fail(`program header size ${entsize} is smaller than ${min}`);
    r.need(phoff, count * entsize, 'program header table');
    const out: RawSegment[] = [];
    for (let i = 0; i < count; i++) {
      const o = phoff + i * entsize;
      out.push(is64
        ? { type: r.u32(o), flags: r.u32(o + 4), offset: r.u64(o + 8), vaddr: r.u64(o + 16), filesz: r.u64(o + 32), memsz: r.u64(o + 40) }
        : { type: r.u32(o), flags: r.u32(o + 24), offset: r.u32(o + 4), vaddr: r.u32(o + 8), filesz: r.u32(o + 16), memsz: r.u32(o + 20) });
    }
    return out;
  }
}

/** Reads a table of fixed-size entries (symbols, relocations) after checking it lies in the file. */
function tableEntries(r: ElfReader, sec: RawSection, minEntsize: number, what: string): { entsize: number; count: number } {
  const entsize = sec.entsize === 0 ? minEntsize : sec.entsize;
  if (entsize < minEntsize) r.fail(`${what} ${sec.name}: entry size ${sec.entsize} is smaller than ${minEntsize}`);
  if (sec.type === SHT_NOBITS) r.fail(`${what} ${sec.name} has no contents`);
  r.need(sec.offset, sec.size, `${what} ${sec.name}`);
  return { entsize, count: Math.floor(sec.size / entsize) };
}

function readSymbols(r: ElfReader, sections: RawSection[], symtab: RawSection): RawSymbol[] {
  const { entsize, count } = tableEntries(r, symtab, r.is64 ? 24 : 16, 'symbol table');
  if (symtab.link >= sections.length) r.fail(`symbol table: string table index ${symtab.link} is out of range`);
  const strtab = sections[symtab.link];
  const shndxTable = sections.find((s) => s.type === SHT_SYMTAB_SHNDX && s.link === symtab.index);
  const out: RawSymbol[] = [];
  for (let i = 0; i < count; i++) {
    const o = symtab.offset + i * entsize;
    // Elf32_Sym: name, value, size, info, other, shndx. Elf64_Sym: name, info, other, shndx, value, size.
    const info = r.u8(r.is64 ? o + 4 : o + 12);
    let shndx = r.u16(r.is64 ? o + 6 : o + 14);
    const value = r.is64 ? r.u64(o + 8) : r.u32(o + 4);
    const size = r.is64 ? r.u64(o + 16) : r.u32(o + 8);
    let name = r.string(strtab, r.u32(o), `symbol ${i}`);
    if (shndx === SHN_XINDEX) {
      if (!shndxTable) r.fail(`symbol ${i} (${name}) uses SHN_XINDEX but there is no SHT_SYMTAB_SHNDX section`);
      const at = shndxTable.offset + 4 * i;
      if (4 * i + 4 > shndxTable.size) r.fail(`symbol ${i} (${name}): SHT_SYMTAB_SHNDX table is too short`);
      shndx = r.u32(at);
      // Indexes >= SHN_LORESERVE keep their reserved meaning everywhere else: refuse the ambiguity.
      if (shndx >= SHN_LORESERVE) r.fail(`symbol ${i} (${name}) is in section ${shndx}: more than ${SHN_LORESERVE} sections are not supported`);
    }
    if (shndx !== SHN_UNDEF && shndx < SHN_LORESERVE && shndx >= sections.length) {
      r.fail(`symbol ${i} (${name}): section index ${shndx} is out of range (${sections.length} sections)`);
    }
    const type = info & 0xf;
    if (type === STT_SECTION && name === '' && shndx < sections.length) name = sections[shndx].name;
    out.push({ index: i, name, value, size, type, bind: info >> 4, shndx });
  }
  return out;
}

/** Reads one SHT_REL or SHT_RELA section; symbol indexes are checked against the symbol table. */
export function readRelocations(elf: RawElf, sec: RawSection): RawReloc[] {
  const r: ElfReader = readerFor(elf);
  const rela = sec.type === SHT_RELA;
  const w = r.is64 ? 8 : 4;
  const { entsize, count } = tableEntries(r, sec, (rela ? 3 : 2) * w, 'relocation section');
  if (!elf.symtab || sec.link !== elf.symtab.index) {
    r.fail(`relocation section ${sec.name} refers to symbol table ${sec.link}, which is not the .symtab`);
  }
  const out: RawReloc[] = [];
  for (let i = 0; i < count; i++) {
    const o = sec.offset + i * entsize;
    // r_info: ELF32 = sym << 8 | type (8 bits); ELF64 = sym << 32 | type (32 bits).
    let sym: number, type: number;
    if (r.is64) {
      const hi = r.u32(r.le ? o + 12 : o + 8), lo = r.u32(r.le ? o + 8 : o + 12);
      sym = hi; type = lo;
    } else {
      const info = r.u32(o + 4);
      sym = info >>> 8; type = info & 0xff;
    }
    if (sym >= elf.symbols.length) {
      r.fail(`relocation ${i} in ${sec.name}: symbol index ${sym} is out of range (${elf.symbols.length} symbols)`);
    }
    out.push({ offset: r.word(o), type, sym, addend: rela ? (r.is64 ? r.s64(o + 16) : r.s32(o + 8)) : undefined });
  }
  return out;
}

/** The file bytes of a section (not for SHT_NOBITS). */
export function sectionBytes(elf: RawElf, sec: RawSection): Uint8Array {
  readerFor(elf).need(sec.offset, sec.size, `section ${sec.name || sec.index}`);
  return elf.bytes.subarray(sec.offset, sec.offset + sec.size);
}

export function readerFor(elf: RawElf): ElfReader {
  return new ElfReader(elf.bytes, elf.endian === 'little', elf.class === 64, elf.file);
}
